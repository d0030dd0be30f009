//! Isolated test databases: each test gets a fresh database of its own, cloned from a migrated
//! template, so that tests run in parallel and never see each other's rows.
//!
//! The template is named after a fingerprint of the migration files
//! (`gatehouse_template_<hash>`): it is built once, by whichever test gets there first, under a
//! PostgreSQL advisory lock, and reused by every later test and run until the migrations change.
//! Cloning it (`CREATE DATABASE ... TEMPLATE`) takes a few milliseconds, far less than migrating.

use std::time::Duration;

use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::sql_types::{BigInt, Bool, Text};
use diesel_migrations::MigrationHarness;

use crate::db::{MIGRATIONS, PgPool};

/// Fingerprint of the migration files, computed by the build script.
const MIGRATIONS_HASH: &str = env!("GATEHOUSE_MIGRATIONS_HASH");

/// Advisory lock key held while a template is built ("gatehous" in ASCII).
const TEMPLATE_LOCK: i64 = 0x6761_7465_686f_7573;

/// Connections in a test database's pool: enough for a test's concurrent calls.
const POOL_SIZE: u32 = 4;

/// A fresh, migrated database, dropped with everything in it when the value is dropped.
#[derive(Debug)]
pub struct TestDatabase {
    name: String,
    url: String,
    admin_url: String,
    pool: Option<PgPool>,
}

impl TestDatabase {
    /// Creates a database of its own for one test, from the server `DATABASE_URL` points at.
    ///
    /// Blocks for the time of a few statements (longer the first time, while the template is
    /// migrated); fine in a test, even an async one.
    ///
    /// # Panics
    /// When `DATABASE_URL` is not set or the server refuses the work: a test cannot run without
    /// its database.
    pub fn new() -> Self {
        let admin_url = std::env::var("DATABASE_URL").unwrap_or_else(|_| {
            panic!(
                "DATABASE_URL is not set: the infrastructure tests need a PostgreSQL server \
                 (run `DATABASE_URL=$(scripts/db.sh) cargo test`)"
            )
        });
        let mut admin = establish(&admin_url);
        let template = ensure_template(&mut admin, &admin_url);
        let name = format!("gatehouse_test_{:016x}", rand::random::<u64>());
        execute(
            &mut admin,
            &format!("CREATE DATABASE {name} TEMPLATE {template}"),
        );
        let url = with_database(&admin_url, &name);
        // Connections are made on demand only: a pool warming up in the background could still be
        // connecting when the test ends and its database is dropped.
        let pool = Pool::builder()
            .max_size(POOL_SIZE)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(10))
            .build_unchecked(ConnectionManager::new(&url))
            .into();
        Self {
            name,
            url,
            admin_url,
            pool: Some(pool),
        }
    }

    /// The URL of this test's database.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A small pool of connections to this test's database.
    pub fn pool(&self) -> PgPool {
        match &self.pool {
            Some(pool) => pool.clone(),
            None => unreachable!("the pool is only taken when the database is dropped"),
        }
    }

    /// Runs `sql` on this test's database: for what no API can do, such as dating a row back
    /// instead of waiting for the database's own clock to move.
    ///
    /// # Panics
    /// When the statement fails: the test cannot go on.
    pub fn execute(&self, sql: &str) {
        let mut conn = self
            .pool()
            .get()
            .unwrap_or_else(|error| panic!("no connection to {}: {error}", self.name));
        execute(&mut conn, sql);
    }
}

impl TestDatabase {
    /// The process ids of the sessions on this database named `application` (their
    /// `application_name`).
    ///
    /// # Panics
    /// When the query fails: the test cannot go on.
    pub fn pids_of(&self, application: &str) -> Vec<i64> {
        #[derive(QueryableByName)]
        struct Pid {
            #[diesel(sql_type = BigInt)]
            pid: i64,
        }
        let mut conn = self
            .pool()
            .get()
            .unwrap_or_else(|error| panic!("no connection to {}: {error}", self.name));
        diesel::sql_query(
            "SELECT pid::bigint AS pid FROM pg_stat_activity \
             WHERE application_name = $1 AND datname = current_database()",
        )
        .bind::<Text, _>(application)
        .load::<Pid>(&mut conn)
        .unwrap_or_else(|error| panic!("pg_stat_activity: {error}"))
        .into_iter()
        .map(|row| row.pid)
        .collect()
    }
}

/// How many rows `SELECT count(*) FROM {from}` counts on `pool` (`from` may carry a `WHERE`).
///
/// # Panics
/// When the statement fails: the test cannot go on.
pub fn count_rows(pool: &PgPool, from: &str) -> i64 {
    #[derive(QueryableByName)]
    struct Count {
        #[diesel(sql_type = BigInt)]
        count: i64,
    }
    let mut conn = pool
        .get()
        .unwrap_or_else(|error| panic!("no connection: {error}"));
    diesel::sql_query(format!("SELECT count(*) AS count FROM {from}"))
        .get_result::<Count>(&mut conn)
        .unwrap_or_else(|error| panic!("SELECT count(*) FROM {from}: {error}"))
        .count
}

impl Default for TestDatabase {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // Close this pool first so that it does not reconnect to a database being dropped.
        drop(self.pool.take());
        if let Ok(mut admin) = PgConnection::establish(&self.admin_url) {
            let _ = admin.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

/// Returns the name of the migrated template, building it first if no one has.
fn ensure_template(admin: &mut PgConnection, admin_url: &str) -> String {
    let template = format!("gatehouse_template_{MIGRATIONS_HASH}");
    if database_exists(admin, &template) {
        return template;
    }
    // Build it under a lock, so that parallel tests and test binaries do not race; whoever waited
    // finds it built. The session lock goes with the connection if this process dies.
    diesel::sql_query("SELECT pg_advisory_lock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK)
        .execute(admin)
        .unwrap_or_else(|error| panic!("cannot take the template lock: {error}"));
    if !database_exists(admin, &template) {
        // Built under another name and renamed once migrated, so that a run killed half-way
        // never leaves a half-migrated template behind.
        let building = format!("{template}_building");
        execute(
            admin,
            &format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"),
        );
        execute(admin, &format!("CREATE DATABASE {building}"));
        {
            let mut conn = establish(&with_database(admin_url, &building));
            conn.run_pending_migrations(MIGRATIONS)
                .unwrap_or_else(|error| panic!("cannot migrate the template database: {error}"));
        }
        execute(
            admin,
            &format!("ALTER DATABASE {building} RENAME TO {template}"),
        );
    }
    diesel::sql_query("SELECT pg_advisory_unlock($1)")
        .bind::<BigInt, _>(TEMPLATE_LOCK)
        .execute(admin)
        .unwrap_or_else(|error| panic!("cannot release the template lock: {error}"));
    template
}

#[derive(QueryableByName)]
struct Exists {
    #[diesel(sql_type = Bool)]
    exists: bool,
}

fn database_exists(admin: &mut PgConnection, name: &str) -> bool {
    diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
        .bind::<Text, _>(name)
        .get_result::<Exists>(admin)
        .unwrap_or_else(|error| panic!("cannot look for database {name}: {error}"))
        .exists
}

fn establish(url: &str) -> PgConnection {
    PgConnection::establish(url)
        .unwrap_or_else(|error| panic!("cannot connect to the test server: {error}"))
}

fn execute(conn: &mut PgConnection, sql: &str) {
    conn.batch_execute(sql)
        .unwrap_or_else(|error| panic!("`{sql}` failed: {error}"));
}

/// `url` with its database replaced by `name`, query parameters kept.
fn with_database(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (url, None),
    };
    let authority_start = base.find("://").map_or(0, |i| i + 3);
    let server = match base[authority_start..].find('/') {
        Some(slash) => &base[..authority_start + slash],
        None => base,
    };
    match query {
        Some(query) => format!("{server}/{name}?{query}"),
        None => format!("{server}/{name}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_database_of_a_url_is_replaced_and_its_parameters_kept() {
        assert_eq!(
            with_database("postgres://u@127.0.0.1:5432/gatehouse", "t"),
            "postgres://u@127.0.0.1:5432/t"
        );
        assert_eq!(
            with_database("postgres://u@h/gatehouse?sslmode=disable", "t"),
            "postgres://u@h/t?sslmode=disable"
        );
        assert_eq!(with_database("postgres://u@h", "t"), "postgres://u@h/t");
    }
}
