//! Gatehouse adapters: the domain's repository ports on PostgreSQL with diesel, password hashing
//! with Argon2id, and API key generation.
//!
//! Every database call runs on the pool's own threads (`workers.rs`) and every hash on tokio's
//! blocking pool, so that the async workers never wait on them. Diesel and r2d2 errors become [`gatehouse_domain::DomainError`]s in one place
//! (`error.rs`), by constraint name.

pub mod argon2;
pub mod audit;
mod blocking;
pub mod db;
mod error;
pub mod grants;
pub mod keys;
pub mod oidc;
pub mod repositories;
mod rows;
mod schema;
mod sql;
#[cfg(feature = "testing")]
pub mod testing;
mod workers;

pub use argon2::Argon2PasswordHasher;
pub use audit::AuditTrail;
pub use db::{
    DEFAULT_CONNECTION_TIMEOUT, MIGRATIONS, PgPool, PoolConfigError, connect, ping, run_migrations,
};
pub use keys::Sha256KeyGenerator;
pub use repositories::{
    PgAccessLedger, PgApiKeyRepository, PgAuditLog, PgBudgetLedger, PgLoginFailures,
    PgOrganizationRepository, PgPendingSignOns, PgProjectRepository, PgRoleRepository,
    PgUsageRepository, PgUserRepository,
};
