//! Wiring: the adapters into the services, the services into the HTTP app, and the server.

use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};
use async_trait::async_trait;
use gatehouse_api::{AppState, StorageProbe, http_metrics};
use gatehouse_application::{
    AccountService, ApiKeyService, AuthService, LoginService, OrganizationService, ProjectService,
    RoleService, UserService,
};
use gatehouse_domain::{Clock, DomainError, SystemClock};
use gatehouse_infrastructure::{
    Argon2PasswordHasher, PgApiKeyRepository, PgOrganizationRepository, PgPool,
    PgProjectRepository, PgRoleRepository, PgUserRepository, Sha256KeyGenerator, ping,
};
use prometheus::Registry;
use tracing_actix_web::TracingLogger;

use crate::config::ServeSettings;
use crate::pool_metrics::PoolCollector;
use crate::telemetry::access_log;

/// Seconds a graceful shutdown waits for requests in flight.
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// Any error of start-up.
pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// The use cases, wired to PostgreSQL, Argon2id and the system clock.
///
/// # Errors
/// When the password hasher cannot be built.
pub fn services(pool: &PgPool, settings: &ServeSettings) -> Result<AppState, StartupError> {
    let clock: Arc<dyn Clock> = Arc::new(SystemClock);
    let organizations = Arc::new(PgOrganizationRepository::new(pool.clone()));
    let users = Arc::new(PgUserRepository::new(pool.clone()));
    let roles = Arc::new(PgRoleRepository::new(pool.clone()));
    let keys = Arc::new(PgApiKeyRepository::new(pool.clone()));
    let projects = Arc::new(PgProjectRepository::new(pool.clone()));
    let generator = Arc::new(Sha256KeyGenerator::new());
    let hasher = Arc::new(Argon2PasswordHasher::new()?);
    let auth = AuthService::new(
        keys.clone(),
        generator.clone(),
        clock.clone(),
        &settings.master_key,
    );
    Ok(AppState {
        organizations: OrganizationService::new(organizations.clone(), clock.clone()),
        projects: ProjectService::new(
            projects.clone(),
            organizations.clone(),
            users.clone(),
            clock.clone(),
        ),
        users: UserService::new(
            users.clone(),
            roles.clone(),
            organizations,
            hasher.clone(),
            clock.clone(),
        ),
        roles: RoleService::new(roles, clock.clone()),
        account: AccountService::new(users.clone(), hasher.clone(), clock.clone()),
        login: LoginService::new(
            users,
            keys.clone(),
            hasher,
            generator.clone(),
            clock.clone(),
            auth.clone(),
            settings.session_duration,
        ),
        api_keys: ApiKeyService::new(
            keys,
            projects,
            generator,
            clock.clone(),
            settings.key_max_expiration_days,
        ),
        auth,
        clock,
        storage: Arc::new(PgProbe(pool.clone())),
    })
}

/// The database as seen by `/health`.
struct PgProbe(PgPool);

#[async_trait]
impl StorageProbe for PgProbe {
    async fn ping(&self) -> Result<(), DomainError> {
        ping(&self.0).await
    }
}

/// A bound, not yet running, HTTP server.
pub struct Application {
    server: Server,
    address: SocketAddr,
}

impl Application {
    /// Wires everything on `pool` and binds `settings.listen_addr` (port 0 picks a free port).
    /// Migrations are not run here.
    ///
    /// # Errors
    /// When the address cannot be bound or a component cannot be built.
    pub fn build(settings: &ServeSettings, pool: PgPool) -> Result<Self, StartupError> {
        let state = web::Data::new(services(&pool, settings)?);
        let registry = Registry::new();
        registry.register(Box::new(PoolCollector::new(pool)?))?;
        let metrics = http_metrics(&registry)?;
        let registry = web::Data::new(registry);
        let listener = TcpListener::bind(settings.listen_addr)?;
        let address = listener.local_addr()?;
        let server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(access_log))
                .wrap(metrics.clone())
                .wrap(TracingLogger::default())
                .app_data(state.clone())
                .app_data(registry.clone())
                .configure(gatehouse_api::configure)
        })
        .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
        .listen(listener)?
        .run();
        Ok(Self { server, address })
    }

    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}
