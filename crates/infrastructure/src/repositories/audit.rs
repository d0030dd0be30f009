//! [`AuditLog`] on PostgreSQL: the `audit_events` table, append-only (migration `audit_events`).

use async_trait::async_trait;
use diesel::pg::Pg;
use diesel::prelude::*;
use gatehouse_domain::{
    AuditEvent, AuditFilter, AuditLog, AuditOrder, DateTime, DomainError, NewAuditEvent, Page,
    PageRequest, Utc, chrono::NaiveDate,
};

use crate::audit::AuditTrail;
use crate::db::{PgPool, run_blocking};
use crate::error::on_query;
use crate::repositories::order_by;
use crate::rows::audit::AuditEventRow;
use crate::schema::audit_events;
use crate::sql::purge_audit_events;

/// The events in `audit_events`, written by [`AuditTrail`] in the changes' own transactions, and
/// here for what goes with no other change.
#[derive(Debug, Clone)]
pub struct PgAuditLog {
    pool: PgPool,
    trail: AuditTrail,
}

impl PgAuditLog {
    /// An adapter over `pool`, writing through `trail`.
    pub fn new(pool: PgPool, trail: AuditTrail) -> Self {
        Self { pool, trail }
    }
}

fn filtered(filter: &AuditFilter) -> audit_events::BoxedQuery<'static, Pg> {
    let mut query = audit_events::table.into_boxed();
    if let Some(actor) = filter.actor {
        query = query.filter(audit_events::actor_user.eq(actor.get()));
    }
    if let Some(entity) = filter.entity {
        query = query.filter(audit_events::entity_type.eq(entity.as_str()));
    }
    if let Some(id) = filter.entity_id {
        query = query.filter(audit_events::entity_id.eq(id));
    }
    if let Some(action) = filter.action {
        query = query.filter(audit_events::action.eq(action.as_str()));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_events::created.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_events::created.lt(to));
    }
    query
}

#[async_trait]
impl AuditLog for PgAuditLog {
    async fn record(&self, event: NewAuditEvent) -> Result<(), DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| trail.write(conn, event)).await
    }

    async fn list(
        &self,
        filter: AuditFilter,
        page: PageRequest<AuditOrder>,
    ) -> Result<Page<AuditEvent>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            let total = filtered(&filter)
                .count()
                .get_result::<i64>(conn)
                .map_err(on_query)?;
            let query = filtered(&filter).select(AuditEventRow::as_select());
            let query = match page.order_by() {
                AuditOrder::Id => order_by!(query, page.direction(), audit_events::id),
            };
            let items = query
                .offset(page.offset())
                .limit(page.limit())
                .load::<AuditEventRow>(conn)
                .map_err(on_query)?
                .into_iter()
                .map(AuditEventRow::into_domain)
                .collect::<Result<_, _>>()?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn purge(
        &self,
        before: DateTime<Utc>,
        day: NaiveDate,
    ) -> Result<Option<u64>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            diesel::select(purge_audit_events(before, day))
                .get_result::<Option<i64>>(conn)
                .map_err(on_query)?
                .map(|deleted| u64::try_from(deleted).map_err(DomainError::unexpected))
                .transpose()
        })
        .await
    }
}
