//! User bodies.

use gatehouse_application::{CreateUser, UpdateUser};
use gatehouse_domain::{
    Budget, DateTime, Email, Name, OrganizationId, Password, Patch, Priority, RoleId, User, Utc,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::money::Amount;
use super::schema::{EmailText, ExpiryTime, NameText, PasswordText};
use super::{future_unix, unix};
use crate::error::ApiError;
use crate::input::{Fields, JsonObject};

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

/// What creates a user.
#[derive(Debug, ToSchema)]
pub struct CreateUserRequest {
    /// Its address, unique without regard to case.
    pub email: EmailText,
    /// Its display name, or `null` for none.
    pub name: Option<NameText>,
    /// Its password.
    pub password: PasswordText,
    /// An existing role id.
    pub role: i64,
    /// An existing organization id, or `null` for none.
    pub organization: Option<i64>,
    /// A number >= 0; `null` for no limit.
    pub budget: Option<Amount>,
    /// When the account stops working; `null` for never.
    pub expires: Option<ExpiryTime>,
    /// An integer >= 0, default 0; not `null`.
    #[schema(required = false, minimum = 0)]
    pub priority: i64,
}

impl CreateUserRequest {
    /// Reads and checks the body; an expiry must lie after `now`.
    ///
    /// # Errors
    /// 422 with every invalid field.
    pub fn parse(body: JsonObject, now: DateTime<Utc>) -> Result<CreateUser, ApiError> {
        let mut fields = body.fields();
        let email = fields.required_as("email", |email: String| Email::parse(&email));
        let name = name(&mut fields);
        let password = fields.required_as("password", |password: String| Password::new(password));
        let role = fields.required::<i64>("role").map(RoleId);
        let organization = fields.nullable::<i64>("organization").map(OrganizationId);
        let budget = fields.nullable_as("budget", Budget::new);
        let expires = expires(&mut fields, now);
        let priority = fields.optional_as("priority", Priority::new);
        fields.finish(|| {
            Some(CreateUser {
                email: email?,
                name: name.apply(None),
                password: password?,
                role: role?,
                organization: organization.apply(None),
                budget: budget.apply(None),
                expires: expires.apply(None),
                priority: priority.unwrap_or_default(),
            })
        })
    }
}

/// A merge patch of a user: absent fields stay as they are, `null` clears a nullable field.
#[derive(Debug, ToSchema)]
pub struct UpdateUserRequest {
    /// A new address, unique without regard to case; not `null`.
    #[schema(required = false)]
    pub email: EmailText,
    /// A new display name, or `null` for none.
    pub name: Option<NameText>,
    /// A new password; no current password is needed. Ends the user's login sessions. Not `null`.
    #[schema(required = false)]
    pub password: PasswordText,
    /// A new role id; not `null`.
    #[schema(required = false)]
    pub role: i64,
    /// A new organization id, or `null` for none.
    pub organization: Option<i64>,
    /// A new budget >= 0, or `null` for no limit.
    pub budget: Option<Amount>,
    /// A new expiry, or `null` for never.
    pub expires: Option<ExpiryTime>,
    /// A new priority >= 0; not `null`.
    #[schema(required = false, minimum = 0)]
    pub priority: i64,
}

impl UpdateUserRequest {
    /// Reads and checks the body; an expiry must lie after `now`.
    ///
    /// # Errors
    /// 422 with every invalid field.
    pub fn parse(body: JsonObject, now: DateTime<Utc>) -> Result<UpdateUser, ApiError> {
        let mut fields = body.fields();
        let email = fields.optional_as("email", |email: String| Email::parse(&email));
        let name = name(&mut fields);
        let password = fields.optional_as("password", |password: String| Password::new(password));
        let role = fields.optional::<i64>("role").map(RoleId);
        let organization = fields.nullable::<i64>("organization").map(OrganizationId);
        let budget = fields.nullable_as("budget", Budget::new);
        let expires = expires(&mut fields, now);
        let priority = fields.optional_as("priority", Priority::new);
        fields.finish(|| {
            Some(UpdateUser {
                email,
                name,
                password,
                role,
                organization,
                budget,
                expires,
                priority,
            })
        })
    }
}

fn name(fields: &mut Fields) -> Patch<Name> {
    fields.nullable_as("name", |name: String| Name::parse(&name))
}

fn expires(fields: &mut Fields, now: DateTime<Utc>) -> Patch<DateTime<Utc>> {
    fields.nullable_as("expires", |seconds: i64| future_unix(seconds, now))
}
