//! Gatehouse's domain: the entities, the value types that can only hold valid data, and the ports
//! (repository and service traits) that adapters implement.
//!
//! This crate knows nothing of HTTP, SQL or async runtimes, so that other services of the gateway can
//! depend on it to check keys, permissions and budgets with adapters of their own.
//!
//! With the `mocks` feature, every port also has a mockall mock (`MockOrganizationRepository`...).

pub mod api_key;
pub mod audit;
pub mod budget;
pub mod clock;
pub mod email;
pub mod error;
pub mod gateway;
pub mod identity;
pub mod ids;
pub mod login_throttle;
pub mod name;
pub mod organization;
pub mod page;
pub mod password;
pub mod patch;
pub mod project;
pub mod quota;
pub mod request_id;
pub mod role;
pub mod secret;
pub mod user;

pub use chrono::{self, DateTime, Utc};

pub use api_key::{
    API_KEY_PREFIX, ApiKey, ApiKeyFilter, ApiKeyOrder, ApiKeyRepository, GeneratedKey,
    KeyGenerator, KeyGrant, KeyHash, NewApiKey, ProjectGrant,
};
pub use audit::{
    Actor, Audit, AuditAction, AuditEntity, AuditEvent, AuditFilter, AuditLog, AuditOrder,
    NewAuditEvent, Origin, Snapshot, SnapshotView,
};
pub use budget::{Budget, BudgetLedger, Cost, MAX_AMOUNT_UNITS, MICROS_PER_UNIT};
pub use clock::{Clock, Expiry, SystemClock};
pub use email::Email;
pub use error::{BoxError, DomainError, DomainResult, Entity, ValueError, Violation};
pub use gateway::{
    AccessLedger, Admission, Decided, Decision, Outcome, Reservation, Settled, Settlement, Subject,
    UnauthorizedCall, UsageFilter, UsageGroupBy, UsageOrder, UsageRecord, UsageReport,
    UsageRepository, UsageTotal,
};
pub use identity::{
    Authorization, Identity, IdentityProvider, LocalRedirect, PendingSignOn, PendingSignOns,
    SignOnPolicy,
};
pub use ids::{ApiKeyId, Holder, OrganizationId, ProjectId, RoleId, UsageId, UserId};
pub use login_throttle::{FailureWindow, LoginFailures, ThrottleKey};
pub use name::Name;
pub use organization::{
    NewOrganization, Organization, OrganizationOrder, OrganizationPatch, OrganizationRepository,
};
pub use page::{Direction, Page, PageRequest};
pub use password::{Password, PasswordHash, PasswordHasher};
pub use patch::Patch;
pub use project::{
    MemberOrder, NewProject, Project, ProjectFilter, ProjectMember, ProjectOrder, ProjectPatch,
    ProjectRepository,
};
pub use quota::{Period, Quota, QuotaState, Window, tokens};
pub use request_id::RequestId;
pub use role::{
    Limit, LimitType, Limits, NewRole, Permission, Permissions, Role, RoleOrder, RolePatch,
    RoleRepository, router,
};
pub use secret::{Redacted, Secret};
pub use user::{
    Credentials, KeysToEnd, NewUser, Priority, User, UserFilter, UserOrder, UserPatch,
    UserRepository,
};

#[cfg(feature = "mocks")]
pub use api_key::{MockApiKeyRepository, MockKeyGenerator};
#[cfg(feature = "mocks")]
pub use audit::MockAuditLog;
#[cfg(feature = "mocks")]
pub use budget::MockBudgetLedger;
#[cfg(feature = "mocks")]
pub use clock::MockClock;
#[cfg(feature = "mocks")]
pub use gateway::{MockAccessLedger, MockUsageRepository};
#[cfg(feature = "mocks")]
pub use identity::{MockIdentityProvider, MockPendingSignOns};
#[cfg(feature = "mocks")]
pub use login_throttle::MockLoginFailures;
#[cfg(feature = "mocks")]
pub use organization::MockOrganizationRepository;
#[cfg(feature = "mocks")]
pub use password::MockPasswordHasher;
#[cfg(feature = "mocks")]
pub use project::MockProjectRepository;
#[cfg(feature = "mocks")]
pub use role::MockRoleRepository;
#[cfg(feature = "mocks")]
pub use user::MockUserRepository;
