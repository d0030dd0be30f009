//! Wiring: the adapters into the services, the services into the HTTP app, and the server.

use std::io::ErrorKind;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_http::error::DispatchError;
use actix_http::{ConnectionType, HttpService};
use actix_server::Server;
use actix_service::{ServiceFactoryExt, fn_service, map_config};
use actix_web::body::MessageBody;
use actix_web::dev::{AppConfig, ServiceRequest, ServiceResponse};
use actix_web::middleware::{Next, from_fn};
use actix_web::rt::net::TcpStream;
use actix_web::{App, web};
use async_trait::async_trait;
use gatehouse_api::routes::operations::ShuttingDown;
use gatehouse_api::routes::sign_on::BrowserSessions;
use gatehouse_api::{AppState, AuditView, StorageProbe, http_metrics};
use gatehouse_application::{
    AccountService, ApiKeyService, AuditService, AuthService, GatewayService, LoginService,
    OrganizationService, ProjectService, Retention, RoleService, SignOnFlow, SignOnService,
    UsageService, UserService,
};
use gatehouse_console::ConsoleSettings;
use gatehouse_domain::{ApiKeyRepository, Clock, DomainError, SystemClock};
use gatehouse_infrastructure::grants::{CachedGrants, GrantChanges};
use gatehouse_infrastructure::oidc::OpenIdProvider;
use gatehouse_infrastructure::{
    Argon2PasswordHasher, AuditTrail, PgAccessLedger, PgApiKeyRepository, PgAuditLog,
    PgLoginFailures, PgOrganizationRepository, PgPendingSignOns, PgPool, PgProjectRepository,
    PgRoleRepository, PgUsageRepository, PgUserRepository, Sha256KeyGenerator, ping,
};
use prometheus::Registry;
use tracing_actix_web::TracingLogger;

use crate::config::ServeSettings;
use crate::pool_metrics::PoolCollector;
use crate::silence::{SILENCE_TIMEOUT, Watched};
use crate::telemetry::{RequestSpan, access_log};

/// Seconds a graceful shutdown waits for requests in flight.
const SHUTDOWN_TIMEOUT_SECS: u64 = 10;

/// How long a client may take to send the head (request line and headers) of the first request
/// on a connection; then it gets 408 and the connection is closed. Without it, a client that
/// sends its headers a byte at a time ("slowloris") holds a connection for ever. The body has its
/// own bound, [`gatehouse_api::input::BODY_READ_TIMEOUT`].
pub const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(5);

/// How long an idle connection is kept open for a next request. Once the first byte of that
/// request has come, actix-web bounds its head no more: [`SILENCE_TIMEOUT`] does.
pub const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// How long a connection being closed waits for the client to take the last bytes before it is
/// dropped, so that a client that stops reading cannot hold it either.
pub const DISCONNECT_TIMEOUT: Duration = Duration::from_secs(1);

/// How long, after SIGTERM, the connections already open are left to their client: the listener
/// closes at once (a load balancer retries a refused connection on another instance), every
/// answer meanwhile says `Connection: close`, and only then are the connections still idle
/// closed. A server cannot close an idle keep-alive connection without racing a request the
/// client may be sending on it, and a load balancer does not retry a POST that got no answer
/// (nginx answers 502): closing them at once failed POSTs in every rolling restart behind nginx.
/// Over this delay the client closes each connection itself, after an answer that says `close`,
/// or once it has been idle longer than its own keep-alive, which must be shorter than this (4 s
/// in `scripts/cluster.sh`'s nginx). Equal to [`KEEP_ALIVE`], after which the server closes an
/// idle connection anyway.
pub const SHUTDOWN_DRAIN: Duration = KEEP_ALIVE;

/// A worker's blocking threads: room for the Argon2 computations (fewer than one per core run at
/// once). Database calls run on the pool's own threads.
const MAX_HASHING_THREADS: usize = 2;

/// How often an instance removes the rate limit counters of past days: they read as zero anyway,
/// and without the sweep, those of users and projects that stopped calling (or were deleted)
/// would pile up. Every instance sweeps; the work is idempotent.
pub const COUNTER_SWEEP_INTERVAL: Duration = Duration::from_hours(1);

/// How often an instance asks for the audit log's purge. The purge itself runs once a day
/// across all instances (the database marks the day done); asking every hour lets it happen soon
/// after midnight UTC whichever instance is up.
pub const AUDIT_PURGE_INTERVAL: Duration = Duration::from_hours(1);

/// Any error of start-up.
pub type StartupError = Box<dyn std::error::Error + Send + Sync>;

/// The use cases, wired to PostgreSQL, Argon2id and `clock`.
///
/// # Errors
/// When the password hasher cannot be built.
pub fn services(
    pool: &PgPool,
    settings: &ServeSettings,
    clock: Arc<dyn Clock>,
    grants: &Arc<GrantChanges>,
) -> Result<AppState, StartupError> {
    // Every change is recorded showing its objects as the API shows them, and drops this
    // instance's cached grants once committed.
    let trail = AuditTrail::new(Arc::new(AuditView)).moving(Arc::clone(grants));
    let organizations = Arc::new(PgOrganizationRepository::new(pool.clone(), trail.clone()));
    let users = Arc::new(PgUserRepository::new(pool.clone(), trail.clone()));
    let roles = Arc::new(PgRoleRepository::new(pool.clone(), trail.clone()));
    let stored_keys = Arc::new(PgApiKeyRepository::new(pool.clone(), trail.clone()));
    let keys: Arc<dyn ApiKeyRepository> = match settings.grant_cache_size {
        0 => stored_keys,
        size => Arc::new(CachedGrants::new(
            stored_keys,
            size,
            Duration::from_secs(settings.grant_cache_ttl.get().into()),
            Arc::clone(grants),
        )),
    };
    let projects = Arc::new(PgProjectRepository::new(pool.clone(), trail.clone()));
    let audit_log = Arc::new(PgAuditLog::new(pool.clone(), trail.clone()));
    let generator = Arc::new(Sha256KeyGenerator::new());
    let hasher = Arc::new(Argon2PasswordHasher::new()?);
    let sign_on = sign_on(
        pool,
        settings,
        &clock,
        SignOnService::new(
            users.clone(),
            keys.clone(),
            generator.clone(),
            clock.clone(),
            settings.session_duration,
        ),
    )?;
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
        account: AccountService::new(
            users.clone(),
            projects.clone(),
            hasher.clone(),
            clock.clone(),
        ),
        sign_on,
        login: LoginService::new(
            users,
            keys.clone(),
            hasher,
            generator.clone(),
            clock.clone(),
            auth.clone(),
            settings.session_duration,
            Arc::new(PgLoginFailures::new(pool.clone(), trail)),
            settings.login_limits()?,
            audit_log.clone(),
        ),
        api_keys: ApiKeyService::new(
            keys,
            projects,
            generator,
            clock.clone(),
            settings.key_max_expiration_days,
        ),
        gateway: GatewayService::new(
            auth.clone(),
            Arc::new(PgAccessLedger::new(pool.clone())),
            clock.clone(),
        ),
        usage: UsageService::new(
            Arc::new(PgUsageRepository::new(pool.clone())),
            clock.clone(),
        ),
        audit: AuditService::new(
            audit_log,
            clock.clone(),
            Retention::days(settings.audit_retention_days),
        ),
        auth,
        clock,
        storage: Arc::new(PgProbe(pool.clone())),
        trusted_proxies: settings.trusted_proxies.clone(),
    })
}

/// Binds `address`. When it cannot, the error says which address, why in words, and which
/// setting to change: the one thing a person starting the server for the first time needs.
fn listen(address: SocketAddr) -> Result<TcpListener, StartupError> {
    TcpListener::bind(address).map_err(|error| {
        let reason = match error.kind() {
            ErrorKind::AddrInUse => "address already in use".to_owned(),
            ErrorKind::AddrNotAvailable => "no such address on this machine".to_owned(),
            ErrorKind::PermissionDenied => "permission denied".to_owned(),
            _ => error.to_string(),
        };
        format!("cannot listen on {address}: {reason}; set LISTEN_ADDR to another address").into()
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

/// Single sign-on as configured, `None` when it is off.
///
/// # Errors
/// When it is half configured or its URLs are not URLs.
fn sign_on(
    pool: &PgPool,
    settings: &ServeSettings,
    clock: &Arc<dyn Clock>,
    accounts: SignOnService,
) -> Result<Option<SignOnFlow>, StartupError> {
    let Some(config) = settings.sso.sign_on(settings.public_url.as_deref())? else {
        return Ok(None);
    };
    let provider = OpenIdProvider::new(config.provider, clock.clone())?;
    Ok(Some(SignOnFlow::new(
        Arc::new(provider),
        Arc::new(PgPendingSignOns::new(pool.clone())),
        clock.clone(),
        config.policy,
        accounts,
    )))
}

/// Marks the answer `Connection: close` once a graceful shutdown has begun, so that the client
/// closes the connection after it rather than send another request the server might not read.
async fn close_when_draining(
    draining: ShuttingDown,
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let mut response = next.call(request).await?;
    if draining.has_begun() {
        response
            .response_mut()
            .head_mut()
            .set_connection_type(ConnectionType::Close);
    }
    Ok(response)
}

/// A bound, not yet running, HTTP server.
pub struct Application {
    server: Server,
    address: SocketAddr,
    gateway: GatewayService,
    audit: AuditService,
    sign_on: Option<SignOnFlow>,
    /// The database to listen on for grant changes, and what they move; `None` without a cache.
    grant_listener: Option<(String, Arc<GrantChanges>)>,
}

impl Application {
    /// Wires everything on `pool` and binds `settings.listen_addr` (port 0 picks a free port).
    /// Migrations are not run here.
    ///
    /// # Errors
    /// When the address cannot be bound or a component cannot be built.
    pub fn build(settings: &ServeSettings, pool: PgPool) -> Result<Self, StartupError> {
        Self::build_with_clock(settings, pool, Arc::new(SystemClock))
    }

    /// As [`Application::build`], with the time told by `clock`: tests move it instead of
    /// waiting for it.
    ///
    /// # Errors
    /// When the address cannot be bound or a component cannot be built.
    pub fn build_with_clock(
        settings: &ServeSettings,
        pool: PgPool,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StartupError> {
        let grants = GrantChanges::new();
        let services = services(&pool, settings, clock, &grants)?;
        let gateway = services.gateway.clone();
        let audit = services.audit.clone();
        let sign_on = services.sign_on.clone();
        let state = web::Data::new(services);
        let console_settings = ConsoleSettings {
            secure_cookies: settings
                .public_url
                .as_deref()
                .is_some_and(|url| url.starts_with("https://")),
        };
        // The sign-on callback lands browsers in the console with its session cookie.
        let browser_sessions: web::Data<dyn BrowserSessions> =
            web::Data::from(Arc::new(console_settings.clone()) as Arc<dyn BrowserSessions>);
        let console = web::Data::new(console_settings);
        let registry = Registry::new();
        registry.register(Box::new(PoolCollector::new(pool)?))?;
        let metrics = http_metrics(&registry)?;
        let registry = web::Data::new(registry);
        let listener = listen(settings.listen_addr)?;
        let address = listener.local_addr()?;
        // What actix-web's `HttpServer` does, spelled out so that each connection can be
        // `Watched` (`HttpServer` takes no wrapper). `AppConfig::default()` only names the host
        // of a request that gives none, which no handler reads.
        // A worker's blocking work is Argon2 alone (database calls run on the pool's threads): a
        // cap keeps a burst of logins from growing threads, each with its stack and allocator cache.
        let builder = Server::build()
            .workers(settings.workers())
            .worker_max_blocking_threads(MAX_HASHING_THREADS);
        let shutdown = builder.graceful_shutdown_signal();
        // Set once a graceful shutdown has begun: from then on, every answer closes its
        // connection (see `SHUTDOWN_DRAIN`) and `/health` answers 503.
        let draining = ShuttingDown::default();
        let shutting_down = web::Data::new(draining.clone());
        let server = builder
            .listen("gatehouse", listener, move || {
                let closing = draining.clone();
                let app = App::new()
                    .wrap(from_fn(access_log))
                    .wrap(metrics.clone())
                    .wrap(TracingLogger::<RequestSpan>::new())
                    .wrap(from_fn(gatehouse_api::request_id::assign))
                    .wrap(from_fn(move |request, next| {
                        close_when_draining(closing.clone(), request, next)
                    }))
                    .app_data(state.clone())
                    .app_data(registry.clone())
                    .app_data(console.clone())
                    .app_data(browser_sessions.clone())
                    .app_data(shutting_down.clone())
                    .configure(gatehouse_console::configure)
                    .configure(gatehouse_api::configure);
                let shutdown = shutdown.clone();
                let draining = draining.clone();
                let http = HttpService::build()
                    .client_request_timeout(REQUEST_HEAD_TIMEOUT)
                    .keep_alive(KEEP_ALIVE)
                    .client_disconnect_timeout(DISCONNECT_TIMEOUT)
                    .local_addr(address)
                    .graceful_shutdown_signal(move || {
                        let shutdown = shutdown.clone();
                        let draining = draining.clone();
                        async move {
                            shutdown.notified().await;
                            draining.begin();
                            actix_web::rt::time::sleep(SHUTDOWN_DRAIN).await;
                        }
                    })
                    .h1(map_config(app, |()| AppConfig::default()));
                fn_service(|stream: TcpStream| async move {
                    let peer = stream.peer_addr().ok();
                    Ok::<_, DispatchError>((Watched::new(stream, SILENCE_TIMEOUT), peer))
                })
                .and_then(http)
            })?
            .shutdown_timeout(SHUTDOWN_TIMEOUT_SECS)
            .run();
        Ok(Self {
            server,
            address,
            gateway,
            audit,
            sign_on,
            grant_listener: (settings.grant_cache_size > 0).then(|| {
                let url = settings
                    .grant_listen_url
                    .clone()
                    .unwrap_or_else(|| settings.database.database_url.clone());
                (url, grants)
            }),
        })
    }

    /// Where the server listens.
    pub fn address(&self) -> SocketAddr {
        self.address
    }

    /// Serves until SIGTERM or Ctrl-C, then finishes the requests in flight. Meanwhile, sweeps
    /// the rate limit counters of past days every [`COUNTER_SWEEP_INTERVAL`], and asks for the
    /// audit log's daily purge at start-up and every [`AUDIT_PURGE_INTERVAL`]. Neither task
    /// stops the server when it fails: it logs a warning and tries again next time.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let gateway = self.gateway;
        let sweeper = async move {
            let mut every = tokio::time::interval(COUNTER_SWEEP_INTERVAL);
            loop {
                every.tick().await;
                match gateway.sweep_counters().await {
                    Ok(removed) => tracing::debug!(removed, "rate limit counters swept"),
                    Err(error) => tracing::warn!(%error, "rate limit counters not swept"),
                }
            }
        };
        let audit = self.audit;
        let purger = async move {
            let mut every = tokio::time::interval(AUDIT_PURGE_INTERVAL);
            loop {
                every.tick().await;
                match audit.purge().await {
                    Ok(Some(deleted)) => tracing::info!(deleted, "audit events purged"),
                    Ok(None) => tracing::debug!("audit events already purged today"),
                    Err(error) => tracing::warn!(%error, "audit events not purged"),
                }
            }
        };
        if let Some((url, grants)) = self.grant_listener {
            tokio::spawn(gatehouse_infrastructure::grants::listen(url, grants));
        }
        if let Some(sign_on) = self.sign_on {
            // Not awaited before serving: an identity provider that is down must not keep
            // password logins and gateways from being served. Sign-on tries again at each
            // sign-in until discovery succeeds.
            tokio::spawn(async move {
                match sign_on.discover().await {
                    Ok(()) => {
                        tracing::info!("single sign-on is ready: the identity provider answered");
                    }
                    Err(error) => tracing::warn!(
                        %error,
                        "single sign-on is unavailable until the identity provider answers: sign-ins answer 503 meanwhile"
                    ),
                }
            });
        }
        tokio::select! {
            served = self.server => served,
            () = sweeper => Ok(()),
            () = purger => Ok(()),
        }
    }
}
