//! User bodies.

use gatehouse_application::{CreateUser, UpdateUser};
use gatehouse_domain::{Budget, DateTime, Name, OrganizationId, RoleId, User, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::money::{Amount, Money};
use super::schema::{EmailText, ExpiryTime, NameText, PasswordText, PriorityLevel};
use super::unix;
use crate::input::{Id, Nullable, Optional, Required, request_body};

/// A user. Never the password or its hash.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = User)]
pub struct UserResponse {
    /// Always `user`.
    #[schema(value_type = String, example = "user")]
    pub object: &'static str,
    /// Its id.
    pub id: i64,
    /// Its email address.
    pub email: String,
    /// Its display name.
    pub name: Option<String>,
    /// OAuth2/OpenID Connect subject; `null` for email/password accounts.
    pub sub: Option<String>,
    /// OAuth2/OpenID Connect issuer; `null` for email/password accounts.
    pub iss: Option<String>,
    /// Its role id.
    pub role: i64,
    /// Its organization id.
    pub organization: Option<i64>,
    /// What it may still spend; `null` for no limit.
    pub budget: Option<Amount>,
    /// When the account stops working, Unix seconds; `null` for never.
    pub expires: Option<i64>,
    /// Scheduling priority.
    pub priority: i64,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Last change, Unix seconds.
    pub updated: i64,
}

impl From<User> for UserResponse {
    fn from(user: User) -> Self {
        Self {
            object: "user",
            id: user.id.get(),
            email: user.email.into_string(),
            name: user.name.map(Name::into_string),
            sub: user.sub,
            iss: user.iss,
            role: user.role.get(),
            organization: user.organization.map(OrganizationId::get),
            budget: user.budget.map(Amount::from),
            expires: user.expires.map(unix),
            priority: user.priority.get(),
            created: unix(user.created),
            updated: unix(user.updated),
        }
    }
}

request_body! {
    /// What creates a user.
    pub struct CreateUserRequest(DateTime<Utc>) -> CreateUser {
        /// Its address, unique without regard to case.
        email: Required<EmailText>,
        /// Its display name, or `null` for none.
        name: Nullable<NameText>,
        /// Its password.
        password: Required<PasswordText>,
        /// An existing role id.
        role: Required<Id<RoleId>>,
        /// An existing organization id, or `null` for none.
        organization: Nullable<Id<OrganizationId>>,
        /// A number >= 0; `null` for no limit.
        budget: Nullable<Money<Budget>>,
        /// When the account stops working; `null` for never.
        expires: Nullable<ExpiryTime>,
        /// An integer >= 0, default 0; not `null`.
        priority: Optional<PriorityLevel>,
    }
}

impl From<CreateUserRequest> for CreateUser {
    fn from(body: CreateUserRequest) -> Self {
        Self {
            email: body.email,
            name: body.name.apply(None),
            password: body.password,
            role: body.role,
            organization: body.organization.apply(None),
            budget: body.budget.apply(None),
            expires: body.expires.apply(None),
            priority: body.priority.unwrap_or_default(),
        }
    }
}

request_body! {
    /// A merge patch of a user: absent fields stay as they are, `null` clears a nullable field.
    pub struct UpdateUserRequest(DateTime<Utc>) -> UpdateUser {
        /// A new address, unique without regard to case; not `null`.
        email: Optional<EmailText>,
        /// A new display name, or `null` for none.
        name: Nullable<NameText>,
        /// A new password; no current password is needed. Ends the user's login sessions. Not
        /// `null`.
        password: Optional<PasswordText>,
        /// A new role id; not `null`.
        role: Optional<Id<RoleId>>,
        /// A new organization id, or `null` for none.
        organization: Nullable<Id<OrganizationId>>,
        /// A new budget >= 0, or `null` for no limit.
        budget: Nullable<Money<Budget>>,
        /// A new expiry, or `null` for never.
        expires: Nullable<ExpiryTime>,
        /// A new priority >= 0; not `null`.
        priority: Optional<PriorityLevel>,
    }
}

impl From<UpdateUserRequest> for UpdateUser {
    fn from(body: UpdateUserRequest) -> Self {
        Self {
            email: body.email,
            name: body.name,
            password: body.password,
            role: body.role,
            organization: body.organization,
            budget: body.budget,
            expires: body.expires,
            priority: body.priority,
        }
    }
}
