//! Self-service bodies: who one is, and what one may change of one's own account.

use gatehouse_application::{AccountInfo, UpdateAccount};
use gatehouse_domain::{Email, Name, OrganizationId, Password, Permission, ProjectId, Secret};
use serde::Serialize;
use utoipa::ToSchema;

use super::money::Amount;
use super::roles::LimitResponse;
use super::schema::{EmailText, NameText, PasswordText};
use super::unix;
use crate::error::ApiError;
use crate::input::JsonObject;

/// Who the caller is, with what their role grants.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UserInfo)]
pub struct UserInfoResponse {
    /// Always `userInfo`.
    #[schema(value_type = String, example = "userInfo")]
    pub object: &'static str,
    /// Their id; 0 for the master key.
    pub id: i64,
    /// Their email address; `master` for the master key.
    pub email: String,
    /// Their display name.
    pub name: Option<String>,
    /// Their organization id.
    pub organization: Option<i64>,
    /// The project the key acts in; `null` for a key that is not bound to one.
    pub project: Option<i64>,
    /// What they may still spend (the project's budget under a project-bound key); `null` for no
    /// limit.
    pub budget: Option<Amount>,
    /// What their role allows.
    pub permissions: Vec<&'static str>,
    /// The rate limits they act under: their role's, or under a project-bound key the stricter of
    /// the role's and the project's for each `(router_id, type)`.
    pub limits: Vec<LimitResponse>,
    /// When their account stops working, Unix seconds; `null` for never.
    pub expires: Option<i64>,
    /// Scheduling priority.
    pub priority: i64,
    /// Creation time, Unix seconds (0 for the master key).
    pub created: i64,
    /// Last change, Unix seconds (0 for the master key).
    pub updated: i64,
}

impl From<AccountInfo> for UserInfoResponse {
    fn from(info: AccountInfo) -> Self {
        Self {
            object: "userInfo",
            id: info.id.get(),
            email: info.email,
            name: info.name.map(Name::into_string),
            organization: info.organization.map(OrganizationId::get),
            project: info.project.map(ProjectId::get),
            budget: info.budget.map(Amount::from),
            permissions: info.permissions.iter().map(Permission::as_str).collect(),
            limits: info
                .limits
                .as_slice()
                .iter()
                .map(LimitResponse::from)
                .collect(),
            expires: info.expires.map(unix),
            priority: info.priority.get(),
            created: unix(info.created),
            updated: unix(info.updated),
        }
    }
}

/// A merge patch of one's own account. Other fields (role, organization, budget, expires,
/// priority...) are ignored: they are an admin's to change.
// No `Debug`: it would hold the passwords in clear.
#[derive(ToSchema)]
pub struct UpdateAccountRequest {
    /// A new display name, or `null` for none.
    pub name: Option<NameText>,
    /// A new address, unique without regard to case; not `null`.
    #[schema(required = false)]
    pub email: EmailText,
    /// A new password; needs `current_password`. Not `null`.
    #[schema(required = false)]
    pub password: PasswordText,
    /// The password the account has now; needed with `password`, ignored without it (`null`
    /// reads as absent).
    pub current_password: Option<String>,
}

impl UpdateAccountRequest {
    /// Reads and checks the body.
    ///
    /// # Errors
    /// 422 with every invalid field.
    pub fn parse(body: JsonObject) -> Result<UpdateAccount, ApiError> {
        let mut fields = body.fields();
        let name = fields.nullable_as("name", |name: String| Name::parse(&name));
        let email = fields.optional_as("email", |email: String| Email::parse(&email));
        let password = fields.optional_as("password", |password: String| Password::new(password));
        // Not a stored field: `null` cannot clear it, so it reads as absent.
        let current_password = fields
            .nullable::<String>("current_password")
            .apply(None)
            .map(Secret::new);
        fields.finish(|| {
            Some(UpdateAccount {
                name,
                email,
                password,
                current_password,
            })
        })
    }
}
