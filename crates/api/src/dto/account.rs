//! Self-service bodies: who one is, and what one may change of one's own account.

use gatehouse_application::{AccountInfo, UpdateAccount};
use gatehouse_domain::{Name, OrganizationId, Permission, ProjectId};
use serde::Serialize;
use utoipa::ToSchema;

use super::money::Amount;
use super::roles::LimitResponse;
use super::schema::{EmailText, NameText, PasswordText};
use super::unix;
use crate::input::{Nullable, Optional, SecretText, request_body};

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

request_body! {
    /// A merge patch of one's own account. Other fields (role, organization, budget, expires,
    /// priority...) are ignored: they are an admin's to change.
    pub struct UpdateAccountRequest -> UpdateAccount {
        /// A new display name, or `null` for none.
        name: Nullable<NameText>,
        /// A new address, unique without regard to case; needs `current_password`. Not `null`.
        email: Optional<EmailText>,
        /// A new password; needs `current_password`, and ends the other login sessions. Not `null`.
        password: Optional<PasswordText>,
        /// The password the account has now; needed with `email` or `password`, ignored without
        /// them (`null` reads as absent).
        current_password: Nullable<SecretText>,
    }
}

impl From<UpdateAccountRequest> for UpdateAccount {
    fn from(body: UpdateAccountRequest) -> Self {
        Self {
            name: body.name,
            email: body.email,
            password: body.password,
            // Not a stored field: `null` cannot clear it, so it reads as absent.
            current_password: body.current_password.apply(None),
        }
    }
}
