//! [`AuditLog`] on PostgreSQL: the `audit_events` table, append-only (migration `audit_events`).

use async_trait::async_trait;
use diesel::dsl::sql;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::{Nullable, Text};
use gatehouse_domain::{
    Actor, ApiKeyId, AuditEvent, AuditFilter, AuditLog, AuditOrder, DateTime, DomainError,
    NewAuditEvent, Page, PageRequest, RequestId, UserId, Utc, chrono::NaiveDate,
};

use crate::audit::AuditTrail;
use crate::db::{PgPool, run_blocking};
use crate::error::{corrupt, on_query};
use crate::repositories::order_by;
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

/// An event as read: its columns, with the address and the objects as text.
type EventRow = (
    i64,
    DateTime<Utc>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<String>,
    String,
    String,
    Option<i64>,
    Option<String>,
    Option<String>,
);

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

fn into_domain(row: EventRow) -> Result<AuditEvent, DomainError> {
    let (id, created, user, key, address, request_id, action, entity, entity_id, before, after) =
        row;
    let address = address
        .map(|text| text.parse())
        .transpose()
        .map_err(DomainError::unexpected)?;
    let request_id = request_id
        .map(|text| RequestId::parse(&text))
        .transpose()
        .map_err(corrupt("audit_events", "request_id"))?;
    Ok(AuditEvent {
        id,
        created,
        actor: Actor {
            user: user.map(UserId),
            key: key.map(ApiKeyId),
            address,
            request_id,
        },
        action: action.parse().map_err(corrupt("audit_events", "action"))?,
        entity: entity
            .parse()
            .map_err(corrupt("audit_events", "entity_type"))?,
        entity_id,
        before,
        after,
    })
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
            let query = filtered(&filter).select((
                audit_events::id,
                audit_events::created,
                audit_events::actor_user,
                audit_events::actor_key,
                sql::<Nullable<Text>>("host(actor_address)"),
                audit_events::request_id,
                audit_events::action,
                audit_events::entity_type,
                audit_events::entity_id,
                sql::<Nullable<Text>>("before::text"),
                sql::<Nullable<Text>>("after::text"),
            ));
            let query = match page.order_by() {
                AuditOrder::Id => order_by!(query, page.direction(), audit_events::id),
            };
            let items = query
                .offset(page.offset())
                .limit(page.limit())
                .load::<EventRow>(conn)
                .map_err(on_query)?
                .into_iter()
                .map(into_domain)
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
