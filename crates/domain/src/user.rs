//! Users: the accounts that hold roles, budgets and API keys.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::Audit;
use crate::budget::Budget;
use crate::clock::Expiry;
use crate::email::Email;
use crate::error::{DomainError, ValueError};
use crate::ids::{ApiKeyId, OrganizationId, RoleId, UserId};
use crate::name::Name;
use crate::page::{Page, PageRequest, order_fields};
use crate::password::PasswordHash;
use crate::patch::Patch;
use crate::secret::Redacted;

/// A scheduling priority: an integer >= 0, higher served first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Priority(i64);

impl Priority {
    /// Checks that `value` is >= 0.
    ///
    /// # Errors
    /// `greater_than_equal` for a negative value.
    pub fn new(value: i64) -> Result<Self, ValueError> {
        if value < 0 {
            return Err(ValueError::new(
                "greater_than_equal",
                "Input should be greater than or equal to 0.",
            ));
        }
        Ok(Self(value))
    }

    /// The value.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// A user as stored. Never holds the password or its hash.
#[derive(Debug, Clone, PartialEq)]
pub struct User {
    /// Its id (never 0: that is the master user, which is not stored).
    pub id: UserId,
    /// Its email address, unique without regard to case.
    pub email: Email,
    /// Its display name.
    pub name: Option<Name>,
    /// Subject of an OAuth2/OpenID Connect account; `None` for email/password accounts.
    pub sub: Option<String>,
    /// Issuer of an OAuth2/OpenID Connect account; `None` for email/password accounts.
    pub iss: Option<String>,
    /// Its role.
    pub role: RoleId,
    /// Its organization.
    pub organization: Option<OrganizationId>,
    /// What it may still spend; `None` for no limit.
    pub budget: Option<Budget>,
    /// When the account stops working; `None` for never.
    pub expires: Option<DateTime<Utc>>,
    /// Its scheduling priority.
    pub priority: Priority,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it was last changed.
    pub updated: DateTime<Utc>,
}

/// What is inserted to create a user.
#[derive(Debug, Clone, PartialEq)]
pub struct NewUser {
    /// The email address, unique without regard to case.
    pub email: Email,
    /// The display name.
    pub name: Option<Name>,
    /// The hash of its password; `None` for accounts that log in another way.
    pub password: Option<PasswordHash>,
    /// The role, which must exist.
    pub role: RoleId,
    /// The organization, which must exist.
    pub organization: Option<OrganizationId>,
    /// The budget; `None` for no limit.
    pub budget: Option<Budget>,
    /// When the account stops working; `None` for never.
    pub expires: Option<Expiry>,
    /// The scheduling priority.
    pub priority: Priority,
}

/// A merge patch of a user: `None` and [`Patch::Keep`] keep the stored value.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UserPatch {
    /// A new email address.
    pub email: Option<Email>,
    /// A new display name, or none.
    pub name: Patch<Name>,
    /// The hash of a new password.
    pub password: Option<PasswordHash>,
    /// A new role.
    pub role: Option<RoleId>,
    /// A new organization, or none.
    pub organization: Patch<OrganizationId>,
    /// A new budget, or no limit.
    pub budget: Patch<Budget>,
    /// A new expiry, or never.
    pub expires: Patch<Expiry>,
    /// A new priority.
    pub priority: Option<Priority>,
    /// Keys of the user to delete in the same transaction as the change, so that a change that
    /// must end them (a new password ends the other login sessions) never commits without it.
    pub end_keys: Option<KeysToEnd>,
}

impl UserPatch {
    /// Whether the patch changes nothing, neither the user nor their keys.
    pub fn is_empty(&self) -> bool {
        self.changes_no_field() && self.end_keys.is_none()
    }

    /// Whether the patch leaves every field of the user as it is (it may still end keys).
    pub fn changes_no_field(&self) -> bool {
        self.email.is_none()
            && self.name.is_keep()
            && self.password.is_none()
            && self.role.is_none()
            && self.organization.is_keep()
            && self.budget.is_keep()
            && self.expires.is_keep()
            && self.priority.is_none()
    }
}

/// The keys of a user that a [`UserPatch`] deletes: every key of theirs with one name, but one.
/// Which keys those are is the use case's rule; the storage only carries it out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeysToEnd {
    /// The name of the keys to delete, compared exactly.
    pub name: Name,
    /// A key of that name to keep (the one the change came with); `None` to keep none. A key of
    /// another user, or of another name, is never deleted, whatever this says.
    pub except: Option<ApiKeyId>,
}

/// What a login or a password change checks, read apart from [`User`] so that the hash is read
/// only where it is needed.
///
/// `Debug` is written by hand, not derived, so that it shows whether there is a password, never
/// its hash.
#[derive(Clone, PartialEq, Eq)]
pub struct Credentials {
    /// The account.
    pub user: UserId,
    /// The hash of its password; `None` for accounts that log in another way.
    pub password: Option<PasswordHash>,
    /// When the account stops working; `None` for never.
    pub expires: Option<DateTime<Utc>>,
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credentials")
            .field("user", &self.user)
            .field("password", &self.password.as_ref().map(|_| Redacted))
            .field("expires", &self.expires)
            .finish()
    }
}

/// Filters of a user list; every filter given must match.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserFilter {
    /// Only users holding this role.
    pub role: Option<RoleId>,
    /// Only users of this organization.
    pub organization: Option<OrganizationId>,
    /// Only the user with this email address, compared without regard to case.
    pub email: Option<String>,
    /// Only these users: the people a page names (a project's members), read at once.
    pub ids: Option<Vec<UserId>>,
}

order_fields!(
    /// The fields a user list can be ordered by.
    UserOrder {
        Id => "id",
        Name => "name",
        Email => "email",
        Created => "created",
        Updated => "updated",
    }
);

/// Stores users.
///
/// Every change takes the [`Audit`] of who makes it, and an adapter MUST record it, with the
/// object as it was before and after, in the change's own transaction (see [`crate::audit`]): a
/// change that fails records nothing, and a change that changes nothing (an empty patch)
/// neither.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait UserRepository: Send + Sync {
    /// Inserts a user.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::AlreadyExists`]`(User)` when the email is taken
    /// (without regard to case), [`DomainError::NotFound`]`(Role)` or `(Organization)` when the
    /// role or organization does not exist, [`DomainError::Unavailable`] when the storage cannot be
    /// reached.
    async fn create(&self, new: NewUser, audit: Audit) -> Result<User, DomainError>;

    /// Inserts a user that signed on as `subject` at `issuer`, with its `iss` and `sub` set in
    /// the same insert: a sign-on never leaves an account it created unlinked.
    ///
    /// # Errors
    /// As [`UserRepository::create`], [`DomainError::AlreadyExists`]`(User)` also when another
    /// user holds the pair.
    async fn create_with_subject(
        &self,
        new: NewUser,
        issuer: String,
        subject: String,
        audit: Audit,
    ) -> Result<User, DomainError>;

    /// The user with this id, if any.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached; a missing user is
    /// `Ok(None)`.
    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, DomainError>;

    /// The credentials of the user with this email address, compared without regard to case.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached; an unknown address is
    /// `Ok(None)`.
    async fn find_credentials_by_email(
        &self,
        email: &str,
    ) -> Result<Option<Credentials>, DomainError>;

    /// The user that signed on as `subject` at `issuer`, both compared exactly.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached; an unknown pair is
    /// `Ok(None)`.
    async fn find_by_subject(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, DomainError>;

    /// Links the user `id` to `subject` at `issuer` (sets its `iss` and `sub`), so that sign-on
    /// finds it by them from now on; recorded as an update of the user.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(User)` when there is no such user,
    /// [`DomainError::AlreadyExists`]`(User)` when another user holds the pair.
    async fn link_subject(
        &self,
        id: UserId,
        issuer: String,
        subject: String,
        audit: Audit,
    ) -> Result<User, DomainError>;

    /// The credentials of the user with this id, if any.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached; a missing user is
    /// `Ok(None)`.
    async fn find_credentials(&self, id: UserId) -> Result<Option<Credentials>, DomainError>;

    /// One page of the users matching `filter`, and how many match in all.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn list(
        &self,
        filter: UserFilter,
        page: PageRequest<UserOrder>,
    ) -> Result<Page<User>, DomainError>;

    /// Applies a merge patch and returns the user as stored afterwards. An empty patch changes
    /// nothing, `updated` included.
    ///
    /// A new organization (or none) removes, in the same transaction, the user's memberships of
    /// projects outside it, and with them the keys bound to those projects: a member always
    /// belongs to the project's organization.
    ///
    /// [`UserPatch::end_keys`] deletes, in the same transaction, the user's keys it names: they
    /// stop working at once, and never while the change is not committed. A patch that only ends
    /// keys leaves `updated` alone.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(User)` when there is no such user,
    /// [`DomainError::AlreadyExists`]`(User)` when the new email is taken,
    /// [`DomainError::NotFound`]`(Role)` or `(Organization)` when the new role or organization
    /// does not exist.
    async fn update(&self, id: UserId, patch: UserPatch, audit: Audit)
    -> Result<User, DomainError>;

    /// Deletes a user and, with them, every API key and project membership of theirs.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(User)` when there is no such user.
    async fn delete(&self, id: UserId, audit: Audit) -> Result<(), DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priorities_are_not_negative() {
        assert_eq!(Priority::new(0).unwrap(), Priority::default());
        assert_eq!(Priority::new(-1).unwrap_err().code, "greater_than_equal");
    }

    #[test]
    fn an_empty_patch_is_empty_and_any_field_makes_it_not() {
        assert!(UserPatch::default().is_empty());
        let patch = UserPatch {
            organization: Patch::Clear,
            ..UserPatch::default()
        };
        assert!(!patch.is_empty());
        assert!(!patch.changes_no_field());
    }

    #[test]
    fn a_patch_that_only_ends_keys_is_not_empty_but_changes_no_field() {
        let patch = UserPatch {
            end_keys: Some(KeysToEnd {
                name: Name::parse("playground").unwrap(),
                except: None,
            }),
            ..UserPatch::default()
        };
        assert!(!patch.is_empty());
        assert!(patch.changes_no_field());
    }
}
