//! [`LoginFailures`] on PostgreSQL: the table `login_failures`, one window of failures per key.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, Timestamptz};
use gatehouse_domain::{
    DateTime, DomainError, FailureWindow, LoginFailures, NewAuditEvent, ThrottleKey, Utc,
};
use sha2::{Digest, Sha256};

use crate::audit::AuditTrail;
use crate::db::{PgPool, run_blocking, transaction};
use crate::error::{on_delete, on_query};
use crate::schema::login_failures;

/// The most windows that ended one failure sweeps away: far more than the two windows at most
/// that a failure opens, so that the table never grows beyond the windows still open, and few
/// enough that a failure stays one quick statement.
const SWEEP_LIMIT: i64 = 100;

/// Counts failed logins in one table shared by every instance.
///
/// A failure is one `INSERT ... ON CONFLICT DO UPDATE` per key set, which either adds one to a
/// window still open or starts a new window: concurrent failures queue on the row and all count,
/// without a read-modify-write. Keys are stored as the SHA-256 of their text (see the migration).
#[derive(Debug, Clone)]
pub struct PgLoginFailures {
    pool: PgPool,
    trail: AuditTrail,
}

impl PgLoginFailures {
    /// An adapter over `pool`, recording each failure's event on `trail`.
    pub fn new(pool: PgPool, trail: AuditTrail) -> Self {
        Self { pool, trail }
    }
}

/// What `key` is stored under.
fn digest(key: &ThrottleKey) -> Vec<u8> {
    Sha256::digest(key.to_string().as_bytes()).to_vec()
}

#[async_trait]
impl LoginFailures for PgLoginFailures {
    async fn open_windows(
        &self,
        keys: Vec<ThrottleKey>,
        since: DateTime<Utc>,
    ) -> Result<Vec<FailureWindow>, DomainError> {
        let keyed: Vec<(Vec<u8>, ThrottleKey)> =
            keys.into_iter().map(|key| (digest(&key), key)).collect();
        let digests: Vec<Vec<u8>> = keyed.iter().map(|(digest, _)| digest.clone()).collect();
        let rows = run_blocking(&self.pool, move |conn| {
            login_failures::table
                .filter(login_failures::key.eq_any(digests))
                .filter(login_failures::window_start.gt(since))
                .select((
                    login_failures::key,
                    login_failures::window_start,
                    login_failures::failures,
                ))
                .load::<(Vec<u8>, DateTime<Utc>, i32)>(conn)
                .map_err(on_query)
        })
        .await?;
        rows.into_iter()
            .filter_map(|(stored, start, failures)| {
                let (_, key) = keyed.iter().find(|(digest, _)| *digest == stored)?;
                Some(
                    u32::try_from(failures)
                        .map_err(DomainError::unexpected)
                        .map(|failures| FailureWindow {
                            key: key.clone(),
                            start,
                            failures,
                        }),
                )
            })
            .collect()
    }

    async fn record(
        &self,
        keys: Vec<ThrottleKey>,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
        event: NewAuditEvent,
    ) -> Result<(), DomainError> {
        let trail = self.trail.clone();
        let mut digests: Vec<Vec<u8>> = keys.iter().map(digest).collect();
        // Rows are locked in one order by every failure, so that two never wait for each other.
        digests.sort_unstable();
        digests.dedup();
        // The sweep leaves the keys counted here alone: one statement must not both delete a row
        // and update it.
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                diesel::sql_query(
                    "WITH swept AS ( \
                     DELETE FROM login_failures WHERE key IN ( \
                         SELECT key FROM login_failures \
                         WHERE window_start <= $3 AND key <> ALL($1) \
                         ORDER BY window_start LIMIT $4 FOR UPDATE SKIP LOCKED)) \
                 INSERT INTO login_failures AS f (key, window_start, failures) \
                 SELECT key, $2, 1 FROM unnest($1) AS key ORDER BY key \
                 ON CONFLICT (key) DO UPDATE SET \
                     window_start = CASE WHEN f.window_start <= $3 \
                         THEN EXCLUDED.window_start ELSE f.window_start END, \
                     failures = CASE WHEN f.window_start <= $3 THEN 1 ELSE f.failures + 1 END",
                )
                .bind::<Array<Bytea>, _>(digests)
                .bind::<Timestamptz, _>(now)
                .bind::<Timestamptz, _>(since)
                .bind::<BigInt, _>(SWEEP_LIMIT)
                .execute(conn)
                .map_err(on_query)?;
                trail.write(conn, event)
            })
        })
        .await
    }

    async fn clear(&self, key: ThrottleKey) -> Result<(), DomainError> {
        let digest = digest(&key);
        run_blocking(&self.pool, move |conn| {
            diesel::delete(login_failures::table.find(digest))
                .execute(conn)
                .map(drop)
                .map_err(on_delete)
        })
        .await
    }
}
