//! [`AccessLedger`] on PostgreSQL: decisions and settlements are calls of the functions
//! `gatehouse_decide` and `gatehouse_settle` (see their migration), one round trip each.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bytea, Nullable, Text, Timestamptz};
use gatehouse_domain::{
    AccessLedger, Admission, ApiKeyId, Budget, DateTime, Decided, DomainError, Holder, KeyHash,
    OrganizationId, Period, Permission, ProjectId, RoleId, Settled, Settlement, Subject, Utc,
};

use crate::db::{PgPool, run_blocking};
use crate::error::{on_delete, on_query};
use crate::rows::gateway::{DecisionRow, SettleRow, holder_id};
use crate::schema::rate_counters;

/// Access decisions, usage records, rate limit counters and budgets, in one database shared by
/// every instance.
#[derive(Debug, Clone)]
pub struct PgAccessLedger {
    pool: PgPool,
}

impl PgAccessLedger {
    /// An adapter over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
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

#[async_trait]
impl AccessLedger for PgAccessLedger {
    async fn decide(&self, admission: Admission) -> Result<Decided, DomainError> {
        run_blocking(&self.pool, move |conn| {
            let Admission {
                decision,
                quotas,
                reservation,
            } = admission;
            let subject = SubjectColumns::from(decision.subject.as_ref());
            let (minute, day) = windows(decision.created);
            let (payer_scope, payer_id) = scope(decision.payer);
            let row = diesel::sql_query(
                "SELECT * FROM gatehouse_decide($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, \
                 $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)",
            )
            .bind::<Text, _>(decision.request_id.as_str())
            .bind::<Bytea, _>(decision.key_hash.as_bytes())
            .bind::<BigInt, _>(decision.router)
            .bind::<Text, _>(decision.outcome.as_str())
            .bind::<Nullable<BigInt>, _>(subject.user)
            .bind::<Nullable<BigInt>, _>(subject.organization)
            .bind::<Nullable<BigInt>, _>(subject.project)
            .bind::<Nullable<BigInt>, _>(subject.key)
            .bind::<Nullable<BigInt>, _>(subject.role)
            .bind::<Array<Text>, _>(subject.permissions)
            .bind::<Nullable<BigInt>, _>(decision.budget.map(Budget::micros))
            .bind::<BigInt, _>(decision.tokens)
            .bind::<Nullable<Text>, _>(payer_scope)
            .bind::<Nullable<BigInt>, _>(payer_id)
            .bind::<Nullable<BigInt>, _>(reservation.map(|r| r.cost.micros()))
            .bind::<Nullable<BigInt>, _>(reservation.map(|r| r.at_least.micros()))
            .bind::<Array<Text>, _>(quotas.iter().map(|q| q.holder.scope()).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(
                quotas
                    .iter()
                    .map(|q| holder_id(q.holder))
                    .collect::<Vec<_>>(),
            )
            .bind::<Array<Text>, _>(quotas.iter().map(|q| q.kind.as_str()).collect::<Vec<_>>())
            .bind::<Array<BigInt>, _>(quotas.iter().map(|q| q.limit).collect::<Vec<_>>())
            .bind::<Timestamptz, _>(decision.created)
            .bind::<Timestamptz, _>(minute)
            .bind::<Timestamptz, _>(day)
            .get_result::<DecisionRow>(conn)
            .map_err(on_query)?;
            let replayed = row.replayed;
            Ok(Decided {
                decision: row.into_domain()?,
                replayed,
            })
        })
        .await
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
            .bind::<Timestamptz, _>(report.created)
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
