//! The connection pool, the embedded migrations, and the one way repositories reach the database.

use std::fmt;
use std::ops::Deref;
use std::time::{Duration, Instant};

use diesel::RunQueryDsl;
use diesel::connection::SimpleConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, HandleError, Pool};
use diesel::{Connection, PgConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use gatehouse_domain::DomainError;
use tokio::sync::oneshot;

use crate::error;
use crate::workers::Workers;

/// A pool of PostgreSQL connections, shared by every repository (it derefs to the r2d2 pool).
///
/// Its calls run on threads of its own, one per connection (see `workers.rs`): a burst of
/// requests queues as jobs, not as threads, so the process keeps its size under any load.
#[derive(Clone)]
pub struct PgPool {
    connections: Pool<ConnectionManager<PgConnection>>,
    workers: Workers,
}

impl From<Pool<ConnectionManager<PgConnection>>> for PgPool {
    fn from(connections: Pool<ConnectionManager<PgConnection>>) -> Self {
        let workers = Workers::spawn(connections.max_size() as usize);
        Self {
            connections,
            workers,
        }
    }
}

impl Deref for PgPool {
    type Target = Pool<ConnectionManager<PgConnection>>;

    fn deref(&self) -> &Self::Target {
        &self.connections
    }
}

impl fmt::Debug for PgPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PgPool")
            .field("connections", &self.connections)
            .finish_non_exhaustive()
    }
}

/// The schema, embedded in the binary so that `gatehouse migrate` needs no files beside it.
pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("../../migrations");

/// How long a request waits for a connection before the database is deemed unavailable: short, so
/// that an outage answers 503 at once instead of hanging.
pub const DEFAULT_CONNECTION_TIMEOUT: Duration = Duration::from_secs(2);

/// A pool setting that cannot work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolConfigError {
    /// A pool needs room for at least one connection.
    #[error("the pool size must be at least 1")]
    ZeroSize,
    /// Waiting zero time for a connection would always fail.
    #[error("the connection timeout must be longer than zero")]
    ZeroTimeout,
}

/// Builds a pool of at most `max_size` connections to `url`; with `statement_timeout`, a
/// statement running longer is cancelled by PostgreSQL, so that a stuck query cannot hold a pool
/// slot (and a client) for as long as the kernel's TCP timeout.
///
/// No connection is made here: the pool connects in the background and on demand, so that the
/// service starts, and recovers, while the database is down; until then every call answers
/// [`DomainError::Unavailable`] after `connection_timeout`.
pub fn connect(
    url: &str,
    max_size: u32,
    connection_timeout: Duration,
    statement_timeout: Option<Duration>,
) -> Result<PgPool, PoolConfigError> {
    if max_size == 0 {
        return Err(PoolConfigError::ZeroSize);
    }
    if connection_timeout.is_zero() {
        return Err(PoolConfigError::ZeroTimeout);
    }
    let mut builder = Pool::builder()
        .max_size(max_size)
        .connection_timeout(connection_timeout)
        // r2d2 would test each connection with a `SELECT 1` as it is checked out: a round trip
        // per repository call, a third of the statements of an authenticated read. A connection
        // found lost is thrown away when it is given back instead (diesel reads the libpq status
        // after each statement), so only the call that met it answers `Unavailable`.
        .test_on_check_out(false)
        .error_handler(Box::new(TracingErrorHandler));
    if let Some(timeout) = statement_timeout {
        builder = builder.connection_customizer(Box::new(StatementTimeout(timeout)));
    }
    Ok(builder
        .build_unchecked(ConnectionManager::new(without_gss_encryption(url)))
        .into())
}

/// Sets `statement_timeout` on each connection as it is opened: once per connection, not per
/// statement.
#[derive(Debug)]
struct StatementTimeout(Duration);

impl CustomizeConnection<PgConnection, diesel::r2d2::Error> for StatementTimeout {
    fn on_acquire(&self, conn: &mut PgConnection) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(&format!("SET statement_timeout = {}", self.0.as_millis()))
            .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// `url` with GSS encryption off, unless it sets `gssencmode` itself. libpq tries GSS encryption
/// first by default, which initializes Kerberos and its thread-specific data; a process that then
/// exits while a pool thread still closes a connection can abort in Kerberos' destructors
/// (`k5_mutex_lock` assertions, in about 3 % of `gatehouse migrate` runs). Password and TLS
/// connections never use it; a deployment that does can set `gssencmode` in its URL.
fn without_gss_encryption(url: &str) -> String {
    if url.contains("gssencmode") {
        return url.to_owned();
    }
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let separator = if url.contains('?') { '&' } else { '?' };
        format!("{url}{separator}gssencmode=disable")
    } else {
        format!("{url} gssencmode=disable")
    }
}

/// Logs failed connection attempts through `tracing` rather than r2d2's `log` default.
#[derive(Debug)]
struct TracingErrorHandler;

impl HandleError<diesel::r2d2::Error> for TracingErrorHandler {
    fn handle_error(&self, error: diesel::r2d2::Error) {
        tracing::warn!(%error, "database connection failed");
    }
}

/// Applies the migrations not applied yet, and returns their names, oldest first.
///
/// Blocks: call it at start-up, not on an async worker.
///
/// Instances started together on one database take turns (a session advisory lock): the
/// second finds the migrations applied instead of failing on the tables the first creates.
pub fn run_migrations(pool: &PgPool) -> Result<Vec<String>, DomainError> {
    let mut conn = pool.get().map_err(error::on_pool)?;
    conn.batch_execute(&format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .map_err(error::on_query)?;
    let applied = conn
        .run_pending_migrations(MIGRATIONS)
        .map(|applied| applied.iter().map(ToString::to_string).collect());
    // Released with the session anyway, should this fail (the connection is then lost).
    let unlocked = conn
        .batch_execute(&format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .map_err(error::on_query);
    let applied = applied.map_err(error::on_migration)?;
    unlocked?;
    Ok(applied)
}

/// The advisory lock key migrations are run under ("gatehouse" read as a number): any constant
/// no other lock of this database uses (the gateway's locks take two keys, this one).
const MIGRATION_LOCK: i64 = 0x6761_7465_686f_7573;

/// Answers whether the database responds, for the health check.
pub async fn ping(pool: &PgPool) -> Result<(), DomainError> {
    run_blocking(pool, |conn| {
        diesel::sql_query("SELECT 1")
            .execute(conn)
            .map(drop)
            .map_err(error::on_query)
    })
    .await
}

/// Runs `work` with a pooled connection on the pool's threads: both the wait for a connection and
/// the queries stay off the async workers.
///
/// The wait for a thread and then for a connection together last at most the pool's connection
/// timeout, after which the database is deemed unavailable. A call whose caller has gone (the
/// client hung up) before a thread took it is not run.
pub(crate) async fn run_blocking<T, F>(pool: &PgPool, work: F) -> Result<T, DomainError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, DomainError> + Send + 'static,
    T: Send + 'static,
{
    let deadline = Instant::now() + pool.connection_timeout();
    let connections = pool.connections.clone();
    let span = tracing::Span::current();
    let (reply, answer) = oneshot::channel();
    let queued = pool.workers.run(Box::new(move || {
        if reply.is_closed() {
            return;
        }
        let result = span.in_scope(|| {
            let remaining = deadline.saturating_duration_since(Instant::now());
            if remaining.is_zero() {
                return Err(DomainError::Unavailable(
                    "timed out waiting for a database connection".into(),
                ));
            }
            let mut conn = connections.get_timeout(remaining).map_err(error::on_pool)?;
            let result = work(&mut conn);
            // The work's transaction is over: the grant changes it made may now be seen.
            crate::grants::settle_pending();
            if matches!(result, Err(DomainError::Unavailable(_))) {
                mark_if_lost(&mut conn);
            }
            result
        });
        let _ = reply.send(result);
    }));
    if !queued {
        return Err(DomainError::unexpected("no database thread is running"));
    }
    answer
        .await
        .map_err(|_| DomainError::unexpected("a database call panicked"))?
}

/// Makes sure a connection whose server went away is thrown away when it is given back, not handed
/// to the next caller.
///
/// diesel marks a connection broken when a statement fails on it for that reason, and r2d2 then
/// drops it, except when the statement fails while being prepared, on its first run on that
/// connection (diesel 2.3 returns that error before it reads the connection's state). Such a
/// connection would go back to the pool and fail every later call that prepares a statement on
/// it. One more statement reads the state, and marks it; on the error path only, so it costs
/// nothing otherwise.
fn mark_if_lost(conn: &mut PgConnection) {
    let _ = SimpleConnection::batch_execute(conn, "SELECT 1");
}

/// Runs `work` on one of the pool's threads with a pooled connection (or the reason there is
/// none, after the pool's connection timeout), without waiting for it: for work that answers its
/// callers itself. False when no thread is left to run it.
pub(crate) fn run_detached<F>(pool: &PgPool, work: F) -> bool
where
    F: FnOnce(Result<&mut PgConnection, DomainError>) + Send + 'static,
{
    let connections = pool.connections.clone();
    let span = tracing::Span::current();
    pool.workers.run(Box::new(move || {
        span.in_scope(|| match connections.get() {
            Ok(mut conn) => work(Ok(&mut conn)),
            Err(error) => work(Err(error::on_pool(error))),
        });
    }))
}

/// Runs `work` in one transaction, committed if it returns `Ok` and rolled back otherwise. `work`
/// maps its own statements' errors, so that each is read as the statement it came from.
pub(crate) fn transaction<T, F>(conn: &mut PgConnection, work: F) -> Result<T, DomainError>
where
    F: FnOnce(&mut PgConnection) -> Result<T, DomainError>,
{
    conn.transaction::<T, TransactionError, _>(|conn| work(conn).map_err(TransactionError::Domain))
        .map_err(|error| match error {
            TransactionError::Domain(error) => error,
            TransactionError::Diesel(error) => error::on_query(error),
        })
}

/// The error of a transaction: from its work, already mapped, or from `BEGIN`, `COMMIT` or
/// `ROLLBACK`.
enum TransactionError {
    Domain(DomainError),
    Diesel(diesel::result::Error),
}

impl From<diesel::result::Error> for TransactionError {
    fn from(error: diesel::result::Error) -> Self {
        Self::Diesel(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_skip_gss_encryption_unless_the_url_asks_for_it() {
        assert_eq!(
            without_gss_encryption("postgres://u@h:5432/db"),
            "postgres://u@h:5432/db?gssencmode=disable"
        );
        assert_eq!(
            without_gss_encryption("postgresql://u@h/db?sslmode=require"),
            "postgresql://u@h/db?sslmode=require&gssencmode=disable"
        );
        assert_eq!(
            without_gss_encryption("host=h dbname=db"),
            "host=h dbname=db gssencmode=disable"
        );
        assert_eq!(
            without_gss_encryption("postgres://u@h/db?gssencmode=require"),
            "postgres://u@h/db?gssencmode=require"
        );
    }

    #[test]
    fn a_pool_needs_room_for_a_connection_and_time_to_get_one() {
        let url = "postgres://gatehouse@127.0.0.1:1/gatehouse";
        assert_eq!(
            connect(url, 0, DEFAULT_CONNECTION_TIMEOUT, None).unwrap_err(),
            PoolConfigError::ZeroSize
        );
        assert_eq!(
            connect(url, 1, Duration::ZERO, None).unwrap_err(),
            PoolConfigError::ZeroTimeout
        );
        assert!(connect(url, 1, DEFAULT_CONNECTION_TIMEOUT, None).is_ok());
    }

    #[tokio::test]
    async fn a_call_queued_behind_a_busy_pool_gives_up_at_the_same_deadline() {
        // Nothing listens on port 1: each call waits for a connection until its deadline.
        let timeout = Duration::from_millis(300);
        let pool = connect(
            "postgres://gatehouse@127.0.0.1:1/gatehouse",
            1,
            timeout,
            None,
        )
        .unwrap();
        let started = Instant::now();
        let (first, second) = tokio::join!(ping(&pool), ping(&pool));
        assert!(matches!(first, Err(DomainError::Unavailable(_))));
        assert!(matches!(second, Err(DomainError::Unavailable(_))));
        // The second call waited for the one thread behind the first: it gives up at its own
        // deadline, not after a timeout of its own on top of the first's.
        let elapsed = started.elapsed();
        assert!(elapsed < timeout * 2, "took {elapsed:?}");
    }
}
