//! Writing audit events inside the transactions of the changes they record.
//!
//! Every repository that changes something holds an [`AuditTrail`] and writes its event through
//! it, on the connection of the change: the event commits with the change or not at all.

use std::fmt;
use std::sync::Arc;

use diesel::prelude::*;
use diesel::sql_types::{Int8, Nullable, Text};
use gatehouse_domain::{
    ApiKeyId, Audit, AuditEntity, DomainError, NewAuditEvent, Snapshot, SnapshotView, UserId,
};

use crate::error::on_query;

/// Writes events, showing their objects through the driving adapter's [`SnapshotView`], so that
/// an event shows an object as reading it does.
#[derive(Clone)]
pub struct AuditTrail {
    view: Arc<dyn SnapshotView>,
}

impl fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditTrail").finish_non_exhaustive()
    }
}

impl AuditTrail {
    /// A trail showing objects through `view`.
    pub fn new(view: Arc<dyn SnapshotView>) -> Self {
        Self { view }
    }

    /// Writes the event of a change of `entity` number `id` by `audit`, from `before` to `after`
    /// (`None` where there is no object), on `conn`: call it inside the change's transaction.
    pub(crate) fn change(
        &self,
        conn: &mut PgConnection,
        audit: &Audit,
        entity: AuditEntity,
        id: i64,
        before: Option<Snapshot>,
        after: Option<Snapshot>,
    ) -> Result<(), DomainError> {
        self.write(
            conn,
            NewAuditEvent {
                actor: audit.actor.clone(),
                action: audit.action,
                entity,
                entity_id: Some(id),
                before,
                after,
            },
        )
    }

    /// Writes `event` on `conn`.
    pub(crate) fn write(
        &self,
        conn: &mut PgConnection,
        event: NewAuditEvent,
    ) -> Result<(), DomainError> {
        let render = |snapshot: Option<Snapshot>| snapshot.map(|s| self.view.render(&s));
        // Raw SQL for the casts to `inet` and `json`: diesel binds neither from text.
        diesel::sql_query(
            "INSERT INTO audit_events (actor_user, actor_key, actor_address, request_id, action, \
             entity_type, entity_id, before, after) \
             VALUES ($1, $2, $3::inet, $4, $5, $6, $7, $8::json, $9::json)",
        )
        .bind::<Nullable<Int8>, _>(event.actor.user.map(UserId::get))
        .bind::<Nullable<Int8>, _>(event.actor.key.map(ApiKeyId::get))
        .bind::<Nullable<Text>, _>(event.actor.address.map(|address| address.to_string()))
        .bind::<Nullable<Text>, _>(event.actor.request_id.map(|id| id.as_str().to_owned()))
        .bind::<Text, _>(event.action.as_str())
        .bind::<Text, _>(event.entity.as_str())
        .bind::<Nullable<Int8>, _>(event.entity_id)
        .bind::<Nullable<Text>, _>(render(event.before))
        .bind::<Nullable<Text>, _>(render(event.after))
        .execute(conn)
        .map(drop)
        .map_err(on_query)
    }
}
