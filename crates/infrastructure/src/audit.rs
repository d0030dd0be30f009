//! Writing audit events inside the transactions of the changes they record.
//!
//! Every repository that changes something holds an [`AuditTrail`] and writes its event through
//! it, on the connection of the change: the event commits with the change or not at all.

use std::fmt;
use std::sync::Arc;

use diesel::prelude::*;
use gatehouse_domain::{
    ApiKeyId, Audit, AuditAction, AuditEntity, DomainError, NewAuditEvent, RequestId, Snapshot,
    SnapshotView, UserId,
};
use ipnet::IpNet;

use crate::error::on_query;
use crate::grants::{GRANT_CHANNEL, GrantChanges, after_commit};
use crate::rows::audit::{JsonText, NewAuditEventRow};
use crate::schema::audit_events;

/// Writes events, showing their objects through the driving adapter's [`SnapshotView`], so that
/// an event shows an object as reading it does.
#[derive(Clone)]
pub struct AuditTrail {
    view: Arc<dyn SnapshotView>,
    grants: Option<Arc<GrantChanges>>,
}

impl fmt::Debug for AuditTrail {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AuditTrail").finish_non_exhaustive()
    }
}

impl AuditTrail {
    /// A trail showing objects through `view`.
    pub fn new(view: Arc<dyn SnapshotView>) -> Self {
        Self { view, grants: None }
    }

    /// The same trail, moving `grants`' epoch after each change it records commits: a change
    /// takes effect on this instance's cached grants at once, not when its notification comes
    /// back.
    #[must_use]
    pub fn moving(self, grants: Arc<GrantChanges>) -> Self {
        Self {
            grants: Some(grants),
            ..self
        }
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

    /// Writes `event` on `conn`. Every change but a refused login may alter what a key grants
    /// (a key deleted, a user moved, a role changed, a session replaced...): it is announced on
    /// [`GRANT_CHANNEL`] in the same transaction, so that every instance drops its cached grants
    /// when (and only if) it commits. Announcing every change, rather than choosing, means a new
    /// kind of change cannot be forgotten; changes are rare next to reads.
    pub(crate) fn write(
        &self,
        conn: &mut PgConnection,
        event: NewAuditEvent,
    ) -> Result<(), DomainError> {
        if event.action != AuditAction::LoginFailed {
            diesel::sql_query(format!("NOTIFY {GRANT_CHANNEL}"))
                .execute(conn)
                .map_err(on_query)?;
            if let Some(grants) = &self.grants {
                after_commit(grants);
            }
        }
        let render = |snapshot: Option<Snapshot>| snapshot.map(|s| JsonText(self.view.render(&s)));
        diesel::insert_into(audit_events::table)
            .values(NewAuditEventRow {
                actor_user: event.actor.user.map(UserId::get),
                actor_key: event.actor.key.map(ApiKeyId::get),
                actor_address: event.actor.address.map(IpNet::from),
                request_id: event.actor.request_id.as_ref().map(RequestId::as_str),
                action: event.action.as_str(),
                entity_type: event.entity.as_str(),
                entity_id: event.entity_id,
                before: render(event.before),
                after: render(event.after),
            })
            .execute(conn)
            .map(drop)
            .map_err(on_query)
    }
}
