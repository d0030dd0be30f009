//! What every handler can reach: the use cases, the clock, and a probe of the storage.

use std::sync::Arc;

use async_trait::async_trait;
use gatehouse_application::{
    AccountService, ApiKeyService, AuditService, AuthService, GatewayService, LoginService,
    OrganizationService, ProjectService, RoleService, SignOnFlow, UsageService, UserService,
};
use gatehouse_domain::{Clock, DomainError};

use crate::client_address::TrustedProxies;

/// Tells whether the storage answers, for `/health`.
#[async_trait]
pub trait StorageProbe: Send + Sync {
    /// Whether the storage answers now.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when it does not.
    async fn ping(&self) -> Result<(), DomainError>;
}

/// The application's state, shared by every worker.
#[derive(Clone)]
pub struct AppState {
    /// Resolves bearer keys.
    pub auth: AuthService,
    /// Organizations.
    pub organizations: OrganizationService,
    /// Users.
    pub users: UserService,
    /// Roles.
    pub roles: RoleService,
    /// Projects and their members.
    pub projects: ProjectService,
    /// API keys.
    pub api_keys: ApiKeyService,
    /// The caller's own account.
    pub account: AccountService,
    /// Email and password login.
    pub login: LoginService,
    /// Single sign-on with the configured OpenID provider; `None` when it is not configured.
    pub sign_on: Option<SignOnFlow>,
    /// Access decisions and usage reports, for gateways.
    pub gateway: GatewayService,
    /// Usage records and summaries.
    pub usage: UsageService,
    /// The audit log.
    pub audit: AuditService,
    /// The time, for the checks done at the edge: admin rights and account expiry before the
    /// request is read, and expiry dates with the other fields of a body.
    pub clock: Arc<dyn Clock>,
    /// The storage, for `/health`.
    pub storage: Arc<dyn StorageProbe>,
    /// The proxies whose `X-Forwarded-For` tells the client address that failed logins are
    /// counted under.
    pub trusted_proxies: TrustedProxies,
}
