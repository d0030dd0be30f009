//! [`AccessLedger`] on PostgreSQL: decisions and settlements are calls of the functions
//! `gatehouse_decide_batch` and `gatehouse_settle` (see their migration), one round trip each.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use async_trait::async_trait;
use chrono::SubsecRound;
use crossbeam_channel::{Receiver, Sender};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, Integer, Nullable, Text, Timestamptz};
use gatehouse_domain::{
    AccessLedger, Admission, ApiKeyId, Budget, DateTime, Decided, DomainError, Holder, KeyHash,
    OrganizationId, Period, Permission, ProjectId, RoleId, Settled, Settlement, Subject, Utc,
};
use tokio::sync::oneshot;

use crate::db::{PgPool, run_blocking, run_detached};
use crate::error::{on_delete, on_query};
use crate::rows::gateway::{BatchDecisionRow, SettleRow, holder_id};
use crate::schema::rate_counters;

/// The most decisions one transaction takes. Measured on one key, 32 clients: 64 gave no more
/// decisions per second than 16 (5,100) and a server 7 MiB larger (66 MiB); 8 gave 4,500.
const MAX_BATCH: usize = 16;

/// How many batches of decisions an instance runs at once: one. A batch locks every row it needs
/// before it decides, so batches running together on the same keys mostly wait for each other,
/// and pay for the lock waits and wake-ups: with a batch per connection (ten), PostgreSQL spent
/// most of its time there. Measured on 2 cores with 32 clients (`docs/benchmarks.md`): one key,
/// 5,500 decisions/s with one runner, 4,800 with two, 2,200 with ten; 50 keys, 4,900 with one,
/// 3,500 with two.
const RUNNERS: usize = 1;

/// A decision waiting for a runner, and where its answer goes.
struct Pending {
    admission: Admission,
    reply: oneshot::Sender<Result<Decided, DomainError>>,
}

/// The decisions waiting, and how many runners take them.
struct Decisions {
    queue: Sender<Pending>,
    waiting: Receiver<Pending>,
    runners: AtomicUsize,
}

impl Decisions {
    /// Takes a runner's place, if one is free.
    fn claim(&self) -> bool {
        self.runners
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |running| {
                (running < RUNNERS).then_some(running + 1)
            })
            .is_ok()
    }

    /// The decisions waiting, up to [`MAX_BATCH`], without those whose caller has gone: nothing
    /// was promised to anyone for them.
    fn take_batch(&self) -> Vec<Pending> {
        self.waiting
            .try_iter()
            .filter(|pending| !pending.reply.is_closed())
            .take(MAX_BATCH)
            .collect()
    }

    /// Answers every decision waiting with `error`.
    fn fail_waiting(&self, error: &DomainError) {
        for pending in self.waiting.try_iter() {
            let _ = pending.reply.send(Err(shared(error)));
        }
    }
}

/// A runner's place, given back however the runner ends (a panic included, or no runner would
/// ever start again once every place was lost).
struct Place<'a>(&'a Decisions);

impl Drop for Place<'_> {
    fn drop(&mut self) {
        self.0.runners.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Access decisions, usage records, rate limit counters and budgets, in one database shared by
/// every instance.
///
/// Decisions are taken in batches: with many calls on one key, each decision locks the same
/// counter and budget rows until its transaction commits, so a commit per decision would bound the
/// decisions of a key to the commits per second of the disk. Callers queue their admissions; a few
/// runners (at most `RUNNERS`) each take every decision waiting into one transaction, until none
/// wait (group commit, without waiting for anyone: a batch is what queued while the previous ran).
#[derive(Clone)]
pub struct PgAccessLedger {
    pool: PgPool,
    decisions: Arc<Decisions>,
}

impl PgAccessLedger {
    /// An adapter over `pool`.
    pub fn new(pool: PgPool) -> Self {
        let (queue, waiting) = crossbeam_channel::unbounded();
        Self {
            pool,
            decisions: Arc::new(Decisions {
                queue,
                waiting,
                runners: AtomicUsize::new(0),
            }),
        }
    }

    /// Makes sure a runner takes the decisions waiting: starts one unless all are running.
    fn run(&self) {
        if !self.decisions.claim() {
            return;
        }
        let ledger = self.clone();
        let started = run_detached(&self.pool, move |conn| ledger.take_decisions(conn));
        if !started {
            self.decisions.runners.fetch_sub(1, Ordering::SeqCst);
            self.decisions
                .fail_waiting(&DomainError::unexpected("no database thread is running"));
        }
    }

    /// A runner: decides batches on `conn` until none wait. Without a connection, answers the
    /// decisions waiting that the database is unavailable.
    fn take_decisions(&self, conn: Result<&mut PgConnection, DomainError>) {
        let place = Place(&self.decisions);
        match conn {
            Err(error) => self.decisions.fail_waiting(&error),
            Ok(conn) => loop {
                let batch = self.decisions.take_batch();
                // After a failed batch, the connection goes back (it may be broken): another
                // runner takes over with another.
                if batch.is_empty() || !decide_and_answer(conn, batch) {
                    break;
                }
            },
        }
        drop(place);
        // A decision queued while this runner was stopping may have found every place taken.
        if !self.decisions.waiting.is_empty() {
            self.run();
        }
    }
}

impl std::fmt::Debug for PgAccessLedger {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgAccessLedger")
            .field("pool", &self.pool)
            .field("waiting", &self.decisions.waiting.len())
            .finish_non_exhaustive()
    }
}

/// The starts of the minute and the day holding `at`: the windows a call at `at` counts in.
fn windows(at: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    (
        Period::Minute.window(at).start(),
        Period::Day.window(at).start(),
    )
}

fn scope(holder: Option<Holder>) -> (Option<&'static str>, Option<i64>) {
    (holder.map(Holder::scope), holder.map(holder_id))
}

/// A subject as the functions take it: one nullable column each.
#[derive(Default)]
struct SubjectColumns {
    user: Option<i64>,
    organization: Option<i64>,
    project: Option<i64>,
    key: Option<i64>,
    role: Option<i64>,
    permissions: Vec<&'static str>,
}

impl From<Option<&Subject>> for SubjectColumns {
    fn from(subject: Option<&Subject>) -> Self {
        subject.map_or_else(Self::default, |subject| Self {
            user: Some(subject.user.get()),
            organization: subject.organization.map(OrganizationId::get),
            project: subject.project.map(ProjectId::get),
            key: subject.key.map(ApiKeyId::get),
            role: subject.role.map(RoleId::get),
            permissions: subject.permissions.iter().map(Permission::as_str).collect(),
        })
    }
}

/// The admissions of one batch as the columns `gatehouse_decide_batch` takes: one element per
/// admission, their quotas one after the other.
#[derive(Default)]
struct BatchColumns {
    request_ids: Vec<String>,
    key_hashes: Vec<Vec<u8>>,
    routers: Vec<i64>,
    outcomes: Vec<&'static str>,
    users: Vec<Option<i64>>,
    organizations: Vec<Option<i64>>,
    projects: Vec<Option<i64>>,
    keys: Vec<Option<i64>>,
    roles: Vec<Option<i64>>,
    permissions: Vec<String>,
    budgets: Vec<Option<i64>>,
    tokens: Vec<i64>,
    payer_scopes: Vec<Option<&'static str>>,
    payer_ids: Vec<Option<i64>>,
    costs: Vec<Option<i64>>,
    at_leasts: Vec<Option<i64>>,
    quota_first: Vec<i32>,
    quota_count: Vec<i32>,
    quota_scopes: Vec<&'static str>,
    quota_holders: Vec<i64>,
    quota_types: Vec<&'static str>,
    quota_limits: Vec<i64>,
    created: Vec<DateTime<Utc>>,
    minute_starts: Vec<DateTime<Utc>>,
    day_starts: Vec<DateTime<Utc>>,
}

impl BatchColumns {
    fn push(&mut self, admission: Admission) -> Result<(), DomainError> {
        let Admission {
            decision,
            quotas,
            reservation,
        } = admission;
        let subject = SubjectColumns::from(decision.subject.as_ref());
        let (minute, day) = windows(decision.created);
        let (payer_scope, payer_id) = scope(decision.payer);
        let too_many = |_| DomainError::unexpected("too many quotas in one batch");
        self.request_ids.push(decision.request_id.to_string());
        self.key_hashes.push(decision.key_hash.as_bytes().to_vec());
        self.routers.push(decision.router);
        self.outcomes.push(decision.outcome.as_str());
        self.users.push(subject.user);
        self.organizations.push(subject.organization);
        self.projects.push(subject.project);
        self.keys.push(subject.key);
        self.roles.push(subject.role);
        self.permissions.push(subject.permissions.join(","));
        self.budgets.push(decision.budget.map(Budget::micros));
        self.tokens.push(decision.tokens);
        self.payer_scopes.push(payer_scope);
        self.payer_ids.push(payer_id);
        self.costs.push(reservation.map(|r| r.cost.micros()));
        self.at_leasts
            .push(reservation.map(|r| r.at_least.micros()));
        // PostgreSQL arrays count from 1.
        self.quota_first
            .push(i32::try_from(self.quota_scopes.len() + 1).map_err(too_many)?);
        self.quota_count
            .push(i32::try_from(quotas.len()).map_err(too_many)?);
        for quota in quotas {
            self.quota_scopes.push(quota.holder.scope());
            self.quota_holders.push(holder_id(quota.holder));
            self.quota_types.push(quota.kind.as_str());
            self.quota_limits.push(quota.limit);
        }
        self.created.push(decision.created);
        self.minute_starts.push(minute);
        self.day_starts.push(day);
        Ok(())
    }
}

/// Decides `admissions` in one transaction (one call of `gatehouse_decide_batch`), in order.
fn decide_batch(
    conn: &mut PgConnection,
    admissions: Vec<Admission>,
) -> Result<Vec<Decided>, DomainError> {
    let count = admissions.len();
    let mut columns = BatchColumns::default();
    for admission in admissions {
        columns.push(admission)?;
    }
    let mut rows = diesel::sql_query(
        "SELECT * FROM gatehouse_decide_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
         $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25)",
    )
    .bind::<Array<Text>, _>(columns.request_ids)
    .bind::<Array<Bytea>, _>(columns.key_hashes)
    .bind::<Array<BigInt>, _>(columns.routers)
    .bind::<Array<Text>, _>(columns.outcomes)
    .bind::<Array<Nullable<BigInt>>, _>(columns.users)
    .bind::<Array<Nullable<BigInt>>, _>(columns.organizations)
    .bind::<Array<Nullable<BigInt>>, _>(columns.projects)
    .bind::<Array<Nullable<BigInt>>, _>(columns.keys)
    .bind::<Array<Nullable<BigInt>>, _>(columns.roles)
    .bind::<Array<Text>, _>(columns.permissions)
    .bind::<Array<Nullable<BigInt>>, _>(columns.budgets)
    .bind::<Array<BigInt>, _>(columns.tokens)
    .bind::<Array<Nullable<Text>>, _>(columns.payer_scopes)
    .bind::<Array<Nullable<BigInt>>, _>(columns.payer_ids)
    .bind::<Array<Nullable<BigInt>>, _>(columns.costs)
    .bind::<Array<Nullable<BigInt>>, _>(columns.at_leasts)
    .bind::<Array<Integer>, _>(columns.quota_first)
    .bind::<Array<Integer>, _>(columns.quota_count)
    .bind::<Array<Text>, _>(columns.quota_scopes)
    .bind::<Array<BigInt>, _>(columns.quota_holders)
    .bind::<Array<Text>, _>(columns.quota_types)
    .bind::<Array<BigInt>, _>(columns.quota_limits)
    .bind::<Array<Timestamptz>, _>(columns.created)
    .bind::<Array<Timestamptz>, _>(columns.minute_starts)
    .bind::<Array<Timestamptz>, _>(columns.day_starts)
    .load::<BatchDecisionRow>(conn)
    .map_err(on_query)?;
    rows.sort_by_key(|row| row.ordinal);
    if rows.len() != count {
        return Err(DomainError::unexpected(format!(
            "gatehouse_decide_batch decided {} of {count} admissions",
            rows.len()
        )));
    }
    rows.into_iter()
        .map(|row| {
            let replayed = row.decision.replayed;
            Ok(Decided {
                decision: row.decision.into_domain()?,
                replayed,
            })
        })
        .collect()
}

/// Decides `batch` in one transaction and answers each of its callers; false when it failed.
fn decide_and_answer(conn: &mut PgConnection, batch: Vec<Pending>) -> bool {
    let (admissions, replies): (Vec<_>, Vec<_>) = batch
        .into_iter()
        .map(|pending| (pending.admission, pending.reply))
        .unzip();
    match decide_batch(conn, admissions) {
        Ok(decisions) => {
            for (reply, decided) in replies.into_iter().zip(decisions) {
                let _ = reply.send(Ok(decided));
            }
            true
        }
        Err(error) => {
            for reply in replies {
                let _ = reply.send(Err(shared(&error)));
            }
            false
        }
    }
}

/// The failure of a batch, once for each of its decisions.
fn shared(error: &DomainError) -> DomainError {
    match error {
        DomainError::Unavailable(cause) => DomainError::Unavailable(cause.to_string().into()),
        other => DomainError::unexpected(other.to_string()),
    }
}

#[async_trait]
impl AccessLedger for PgAccessLedger {
    /// Queues the admission for a runner, starting one if a place is free, and waits for the
    /// answer. A caller that goes away before its turn leaves its admission undecided.
    async fn decide(&self, admission: Admission) -> Result<Decided, DomainError> {
        let (reply, answer) = oneshot::channel();
        self.decisions
            .queue
            .send(Pending { admission, reply })
            .map_err(|_| DomainError::unexpected("the decision queue is closed"))?;
        self.run();
        answer
            .await
            .map_err(|_| DomainError::unexpected("a decision was dropped"))?
    }

    async fn settle(&self, settlement: Settlement) -> Result<Settled, DomainError> {
        run_blocking(&self.pool, move |conn| {
            let Settlement {
                report,
                key_hash,
                router,
                unauthorized,
            } = settlement;
            let (minute, day) = windows(report.created);
            let call = unauthorized.as_ref();
            let subject = SubjectColumns::from(call.map(|c| &c.subject));
            let (payer_scope, payer_id) = scope(call.and_then(|c| c.payer));
            let counted_for = call.map(|c| c.counted_for.as_slice()).unwrap_or_default();
            let row = diesel::sql_query(
                "SELECT * FROM gatehouse_settle($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15, $16, $17, $18, $19)",
            )
            .bind::<Text, _>(report.request_id.as_str())
            .bind::<Nullable<Bytea>, _>(key_hash.as_ref().map(KeyHash::as_bytes))
            .bind::<Nullable<BigInt>, _>(router)
            .bind::<BigInt, _>(report.prompt_tokens)
            .bind::<BigInt, _>(report.completion_tokens)
            .bind::<BigInt, _>(report.cost.micros())
            // Stored at whole seconds, as the API shows it and as every `created` is (see the
            // migration `whole_second_timestamps`): lists sort by the second they show.
            .bind::<Timestamptz, _>(report.created.trunc_subsecs(0))
            .bind::<Timestamptz, _>(minute)
            .bind::<Timestamptz, _>(day)
            .bind::<Nullable<Bytea>, _>(call.map(|c| c.key_hash.as_bytes()))
            .bind::<Nullable<BigInt>, _>(call.map(|c| c.router))
            .bind::<Nullable<BigInt>, _>(subject.user)
            .bind::<Nullable<BigInt>, _>(subject.organization)
            .bind::<Nullable<BigInt>, _>(subject.project)
            .bind::<Nullable<BigInt>, _>(subject.key)
            .bind::<Nullable<Text>, _>(payer_scope)
            .bind::<Nullable<BigInt>, _>(payer_id)
            .bind::<Array<Text>, _>(counted_for.iter().map(|h| h.scope()).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(
                counted_for
                    .iter()
                    .map(|&h| holder_id(h))
                    .collect::<Vec<_>>(),
            )
            .get_result::<SettleRow>(conn)
            .map_err(on_query)?;
            match row.status.as_str() {
                "recorded" => Ok(Settled::Recorded(row.record()?)),
                "replayed" => Ok(Settled::Replayed(row.record()?)),
                "not_authorized" => Ok(Settled::NotAuthorized),
                "mismatch" => Ok(Settled::Mismatch),
                other => Err(DomainError::unexpected(format!(
                    "gatehouse_settle returned an unknown status {other:?}"
                ))),
            }
        })
        .await
    }

    async fn sweep_counters(&self, before: DateTime<Utc>) -> Result<u64, DomainError> {
        run_blocking(&self.pool, move |conn| {
            // A row's minute never starts before its day: a day window over means both are.
            let removed =
                diesel::delete(rate_counters::table.filter(rate_counters::day_start.lt(before)))
                    .execute(conn)
                    .map_err(on_delete)?;
            Ok(u64::try_from(removed).unwrap_or(u64::MAX))
        })
        .await
    }
}
