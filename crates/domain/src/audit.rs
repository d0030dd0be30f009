//! The audit log: who changed what, when, from where, and what it was before.
//!
//! An event is never written on its own beside a change: every write port takes an [`Audit`] (who
//! acts, and what the change is to them), and its adapter stores the event in the transaction of
//! the change, with the object as it was before and after. So a change that rolls back leaves no
//! event, no change commits without one, and a use case cannot write without saying who acts.

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::api_key::ApiKey;
use crate::error::{DomainError, ValueError};
use crate::ids::{ApiKeyId, UserId};
use crate::organization::Organization;
use crate::page::{Page, PageRequest, order_fields};
use crate::project::{Project, ProjectMember};
use crate::request_id::RequestId;
use crate::role::Role;
use crate::user::User;

/// Declares an enum of the words the contract uses for it, with `as_str`, `ALL` and `FromStr`
/// (an unknown word is an `enum` error listing the known ones).
macro_rules! words {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident => $word:literal,)+ }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $($(#[$vdoc])* $variant,)+
        }

        impl $name {
            /// Every value, in the order the contract lists them.
            pub const ALL: &'static [Self] = &[$(Self::$variant,)+];

            /// The word the contract uses.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(Self::$variant => $word,)+
                }
            }
        }

        impl FromStr for $name {
            type Err = ValueError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::ALL.iter().copied().find(|value| value.as_str() == s).ok_or_else(|| {
                    let words: Vec<String> =
                        Self::ALL.iter().map(|value| format!("'{}'", value.as_str())).collect();
                    ValueError::new("enum", format!("Input should be {}.", words.join(", ")))
                })
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

words!(
    /// What an event records.
    AuditAction {
        /// An object was created.
        Create => "create",
        /// An object was changed.
        Update => "update",
        /// An object was deleted.
        Delete => "delete",
        /// A user joined a project.
        AddMember => "add_member",
        /// A user left a project.
        RemoveMember => "remove_member",
        /// A login opened a session.
        Login => "login",
        /// A login was refused: wrong email or password, or an expired account.
        LoginFailed => "login_failed",
        /// A user's password was changed (with, maybe, other fields of theirs).
        PasswordChange => "password_change",
    }
);

words!(
    /// The kind of object an event is about.
    AuditEntity {
        /// An organization.
        Organization => "organization",
        /// A user.
        User => "user",
        /// A role.
        Role => "role",
        /// An API key.
        Token => "token",
        /// A project (its memberships included).
        Project => "project",
        /// A login session.
        Session => "session",
    }
);

/// Who acts, from where, in which request: the part of an event the caller knows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Actor {
    /// The acting user (user 0 for the master key); `None` when unknown (a failed login).
    pub user: Option<UserId>,
    /// The key that authenticated the request; `None` for the master key and logins.
    pub key: Option<ApiKeyId>,
    /// The client's address, when known.
    pub address: Option<IpAddr>,
    /// The request the change came with, when it came over HTTP.
    pub request_id: Option<RequestId>,
}

impl Actor {
    /// The [`Audit`] of `action` made by this actor.
    pub fn audit(self, action: AuditAction) -> Audit {
        Audit::new(self, action)
    }
}

/// Where a request comes from, as the driving adapter (HTTP) saw it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Origin {
    /// The client's address, when known.
    pub address: Option<IpAddr>,
    /// The request's id.
    pub request_id: Option<RequestId>,
}

impl Origin {
    /// The actor of a request from here made as `user` without a stored key (the master key, a
    /// login), or by nobody known (a failed login).
    pub fn actor(self, user: Option<UserId>) -> Actor {
        Actor {
            user,
            key: None,
            address: self.address,
            request_id: self.request_id,
        }
    }
}

/// What every write port takes besides the change: who makes it, and what it is to them. The
/// adapter records it, with the object before and after, in the change's own transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Audit {
    /// Who makes the change.
    pub actor: Actor,
    /// What the change is.
    pub action: AuditAction,
}

impl Audit {
    /// `action` made by `actor`.
    pub fn new(actor: Actor, action: AuditAction) -> Self {
        Self { actor, action }
    }
}

/// An object as an event shows it, before or after a change. It holds the object, not its text:
/// how an object is shown is the driving adapter's to say ([`SnapshotView`]), the same way it is
/// shown when read.
#[derive(Debug, Clone, PartialEq)]
pub enum Snapshot {
    /// An organization.
    Organization(Organization),
    /// A user.
    User(User),
    /// A user whose password this change set: shown as the user, with `"password": "changed"`.
    PasswordChanged(User),
    /// A role.
    Role(Role),
    /// An API key, masked.
    Token(ApiKey),
    /// A project.
    Project(Project),
    /// A project membership.
    Member(ProjectMember),
    /// The email a refused login was attempted with, as typed.
    FailedLogin {
        /// The email, as typed.
        email: String,
    },
}

/// Shows a [`Snapshot`] as a JSON object: the driving adapter's view of the object, so that an
/// event shows it as reading it does, never a secret.
pub trait SnapshotView: Send + Sync {
    /// The JSON text of `snapshot`.
    fn render(&self, snapshot: &Snapshot) -> String;
}

/// An event whose every part is known to the caller, for what has no object of its own to change
/// (a login, a failed one).
#[derive(Debug, Clone, PartialEq)]
pub struct NewAuditEvent {
    /// Who acted.
    pub actor: Actor,
    /// What happened.
    pub action: AuditAction,
    /// The kind of object.
    pub entity: AuditEntity,
    /// Its id, when it has one.
    pub entity_id: Option<i64>,
    /// The object before; `None` where there was none.
    pub before: Option<Snapshot>,
    /// The object after; `None` where there is none.
    pub after: Option<Snapshot>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    /// Its id: events are numbered in the order they were written.
    pub id: i64,
    /// When it was written.
    pub created: DateTime<Utc>,
    /// Who acted.
    pub actor: Actor,
    /// What happened.
    pub action: AuditAction,
    /// The kind of object.
    pub entity: AuditEntity,
    /// Its id, when it has one.
    pub entity_id: Option<i64>,
    /// The object before, as JSON text; `None` where there was none.
    pub before: Option<String>,
    /// The object after, as JSON text; `None` where there is none.
    pub after: Option<String>,
}

/// Filters of an event list; every filter given must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AuditFilter {
    /// Only the events of this acting user.
    pub actor: Option<UserId>,
    /// Only the events about this kind of object.
    pub entity: Option<AuditEntity>,
    /// Only the events about the object with this id.
    pub entity_id: Option<i64>,
    /// Only the events of this action.
    pub action: Option<AuditAction>,
    /// Only the events written at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only the events written before this time.
    pub to: Option<DateTime<Utc>>,
}

order_fields!(
    /// The fields an event list can be ordered by: its id, which is the order of writing.
    AuditOrder {
        Id => "id",
    }
);

/// Stores events. Only the retention purge deletes them; nothing changes them.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AuditLog: Send + Sync {
    /// Writes an event that goes with no other change.
    ///
    /// # Errors
    /// `Unavailable` when the storage cannot be reached.
    async fn record(&self, event: NewAuditEvent) -> Result<(), DomainError>;

    /// One page of the events matching `filter`, and how many match in all.
    ///
    /// # Errors
    /// `Unavailable` when the storage cannot be reached.
    async fn list(
        &self,
        filter: AuditFilter,
        page: PageRequest<AuditOrder>,
    ) -> Result<Page<AuditEvent>, DomainError>;

    /// Deletes the events written before `before`, unless a purge already ran on `day` (the UTC
    /// day of the caller's clock), in this or another instance: one purge a day, whoever runs it.
    /// Returns how many events were deleted, or `None` when the day's purge had already run.
    ///
    /// # Errors
    /// `Unavailable` when the storage cannot be reached.
    async fn purge(
        &self,
        before: DateTime<Utc>,
        day: chrono::NaiveDate,
    ) -> Result<Option<u64>, DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn actions_and_entities_parse_from_the_contracts_words() {
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), *action);
        }
        for entity in AuditEntity::ALL {
            assert_eq!(entity.as_str().parse::<AuditEntity>().unwrap(), *entity);
        }
        assert_eq!(AuditAction::ALL.len(), 8);
        assert_eq!(AuditEntity::ALL.len(), 6);
        let error = "token".parse::<AuditAction>().unwrap_err();
        assert_eq!(error.code, "enum");
        assert!(
            error.message.contains("'password_change'"),
            "{}",
            error.message
        );
    }
}
