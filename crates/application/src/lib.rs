//! Gatehouse's use cases, written against the domain's ports only.
//!
//! Each service checks who is calling (a [`Principal`]), applies the rules of the contract that do
//! not belong to one entity (existence of what is referenced, expiry in the future, key lifetime),
//! and delegates storage to the ports. Services hold `Arc<dyn Port>`, so that the server wires
//! PostgreSQL adapters and tests wire mocks.
//!
//! Other services of the gateway authenticate callers with [`AuthService`], charge what their
//! requests cost with [`BudgetService`] (the [`budgets`] module shows how), and a gateway written
//! in Rust asks for access decisions and reports usage with [`GatewayService`] (the [`gateway`]
//! module shows how), under the same rules as over HTTP.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod budgets;
pub mod gateway;
pub mod login;
pub mod login_throttle;
pub mod organizations;
pub mod principal;
pub mod projects;
pub mod roles;
mod sessions;
pub mod sign_on;
pub mod sign_on_flow;
pub mod usage;
pub mod users;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod secrets_in_debug;

pub use account::{AccountInfo, AccountService, MASTER_EMAIL, UpdateAccount};
pub use api_keys::{ApiKeyService, CreateApiKey, CreatedApiKey};
pub use audit::{AuditService, Retention};
pub use auth::AuthService;
pub use budgets::{BudgetService, Charge, Charged};
pub use gateway::{AuthorizeCall, GatewayService, ReportUsage, Reported};
pub use login::{LoginService, SESSION_KEY_NAME, Session};
pub use login_throttle::{FAILURE_WINDOW, LoginLimits};
pub use organizations::OrganizationService;
pub use principal::{Principal, ProjectScope};
pub use projects::ProjectService;
pub use roles::RoleService;
pub use sign_on::SignOnService;
pub use sign_on_flow::{SIGN_ON_LIFETIME, SignOnFlow, SignOnStart};
pub use usage::UsageService;
pub use users::{CreateUser, UpdateUser, UserService};

use gatehouse_domain::{DateTime, DomainError, Expiry, Utc};

/// Turns a requested expiry into one that lies in the future, reporting `field` otherwise.
fn future_expiry(
    field: &str,
    at: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Expiry, DomainError> {
    Expiry::future(at, now).map_err(|error| DomainError::invalid(field, error))
}
