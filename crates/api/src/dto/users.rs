//! User bodies.

use gatehouse_application::{CreateUser, UpdateUser};
use gatehouse_domain::{
    Budget, DateTime, Email, Name, OrganizationId, Password, Patch, Priority, RoleId, User, Utc,
};
use serde::Serialize;
use utoipa::ToSchema;

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
    pub budget: Option<f64>,
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
            budget: user.budget.map(Budget::get),
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
    /// A valid address of at most 254 characters, unique without regard to case.
    #[schema(example = "ada@example.com", max_length = 254)]
    pub email: String,
    /// Display name: trimmed, 1 to 255 characters.
    pub name: Option<String>,
    /// 8 to 128 characters; stored only as an Argon2id hash.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
    /// An existing role id.
    pub role: i64,
    /// An existing organization id.
    pub organization: Option<i64>,
    /// A number >= 0; `null` for no limit.
    #[schema(minimum = 0)]
    pub budget: Option<f64>,
    /// Unix seconds in the future; `null` for never.
    pub expires: Option<i64>,
    /// An integer >= 0, default 0.
    #[schema(minimum = 0)]
    pub priority: Option<i64>,
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
    /// A new address, unique without regard to case.
    pub email: Option<String>,
    /// A new display name, or `null`.
    pub name: Option<String>,
    /// A new password (8 to 128 characters); no current password is needed.
    pub password: Option<String>,
    /// A new role id.
    pub role: Option<i64>,
    /// A new organization id, or `null`.
    pub organization: Option<i64>,
    /// A new budget, or `null` for no limit.
    pub budget: Option<f64>,
    /// A new expiry in the future, or `null` for never.
    pub expires: Option<i64>,
    /// A new priority (`null` is refused).
    pub priority: Option<i64>,
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
