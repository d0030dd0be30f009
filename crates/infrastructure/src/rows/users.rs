//! Rows of `users`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use gatehouse_domain::{
    Budget, Credentials, DomainError, Email, Expiry, Name, NewUser, OrganizationId, PasswordHash,
    Priority, RoleId, User, UserId, UserPatch,
};

use crate::error::corrupt;
use crate::rows::budget_from_stored;
use crate::schema::users;

/// A user as stored. The password hash is deliberately not read: it is never part of a [`User`].
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UserRow {
    pub id: i64,
    pub email: String,
    pub name: Option<String>,
    pub sub: Option<String>,
    pub iss: Option<String>,
    pub role_id: i64,
    pub organization_id: Option<i64>,
    pub budget_micros: Option<i64>,
    pub expires: Option<DateTime<Utc>>,
    pub priority: i64,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl UserRow {
    /// The domain's user.
    pub fn into_domain(self) -> Result<User, DomainError> {
        Ok(User {
            id: UserId(self.id),
            email: Email::parse(&self.email).map_err(corrupt("users", "email"))?,
            name: self
                .name
                .as_deref()
                .map(Name::parse)
                .transpose()
                .map_err(corrupt("users", "name"))?,
            sub: self.sub,
            iss: self.iss,
            role: RoleId(self.role_id),
            organization: self.organization_id.map(OrganizationId),
            budget: budget_from_stored("users", self.budget_micros)?,
            expires: self.expires,
            priority: Priority::new(self.priority).map_err(corrupt("users", "priority"))?,
            created: self.created,
            updated: self.updated,
        })
    }
}

/// What a login checks: only the columns it needs, so that the hash is read nowhere else. Holds
/// the password hash, so it has no `Debug`.
#[derive(Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub(crate) struct CredentialsRow {
    pub id: i64,
    pub password_hash: Option<String>,
    pub expires: Option<DateTime<Utc>>,
}

impl CredentialsRow {
    /// The domain's credentials.
    pub fn into_domain(self) -> Credentials {
        Credentials {
            user: UserId(self.id),
            password: self.password_hash.map(PasswordHash::new),
            expires: self.expires,
        }
    }
}

/// What is inserted; the database fills in the id and the timestamps. Holds the password hash, so
/// it has no `Debug`.
#[derive(Insertable)]
#[diesel(table_name = users)]
pub(crate) struct NewUserRow {
    pub email: String,
    pub name: Option<String>,
    pub password_hash: Option<String>,
    pub sub: Option<String>,
    pub iss: Option<String>,
    pub role_id: i64,
    pub organization_id: Option<i64>,
    pub budget_micros: Option<i64>,
    pub expires: Option<DateTime<Utc>>,
    pub priority: i64,
}

impl From<NewUser> for NewUserRow {
    fn from(new: NewUser) -> Self {
        Self {
            email: new.email.into_string(),
            name: new.name.map(Name::into_string),
            password_hash: new.password.map(|hash| hash.as_str().to_owned()),
            sub: None,
            iss: None,
            role_id: new.role.get(),
            organization_id: new.organization.map(OrganizationId::get),
            budget_micros: new.budget.map(Budget::micros),
            expires: new.expires.map(Expiry::at),
            priority: new.priority.get(),
        }
    }
}

/// A merge patch in diesel's terms: `None` leaves a column alone, `Some(None)` sets it to NULL,
/// `Some(Some(v))` sets it to `v`. Holds the password hash, so it has no `Debug`.
#[derive(AsChangeset)]
#[diesel(table_name = users)]
#[allow(
    clippy::option_option,
    reason = "the three states of a merge patch field"
)]
pub(crate) struct UserChangeset {
    pub email: Option<String>,
    pub name: Option<Option<String>>,
    pub password_hash: Option<String>,
    pub role_id: Option<i64>,
    pub organization_id: Option<Option<i64>>,
    pub budget_micros: Option<Option<i64>>,
    pub expires: Option<Option<DateTime<Utc>>>,
    pub priority: Option<i64>,
}

impl From<UserPatch> for UserChangeset {
    fn from(patch: UserPatch) -> Self {
        Self {
            email: patch.email.map(Email::into_string),
            name: patch.name.map(Name::into_string).into_change(),
            password_hash: patch.password.map(|hash| hash.as_str().to_owned()),
            role_id: patch.role.map(RoleId::get),
            organization_id: patch.organization.map(OrganizationId::get).into_change(),
            budget_micros: patch.budget.map(Budget::micros).into_change(),
            expires: patch.expires.map(Expiry::at).into_change(),
            priority: patch.priority.map(Priority::get),
        }
    }
}
