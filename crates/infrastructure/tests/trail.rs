//! The audit trail of the adapters: each change writes its event in its own transaction.

#![allow(clippy::unwrap_used)]

mod common;

use std::sync::Arc;

use diesel::RunQueryDsl;
use gatehouse_domain::{
    NewOrganization, OrganizationPatch, OrganizationRepository, Snapshot, SnapshotView,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{AuditTrail, PgOrganizationRepository};

use common::*;

/// Shows every object as text that is not JSON: the database refuses to store such an event.
struct BrokenView;

impl SnapshotView for BrokenView {
    fn render(&self, _: &Snapshot) -> String {
        "not json".to_owned()
    }
}

#[derive(diesel::QueryableByName)]
struct Event {
    #[diesel(sql_type = diesel::sql_types::Text)]
    action: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    before: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    after: Option<String>,
}

fn events(db: &TestDatabase) -> Vec<Event> {
    let mut conn = db.pool().get().unwrap();
    diesel::sql_query("SELECT action, before::text, after::text FROM audit_events ORDER BY id")
        .load(&mut conn)
        .unwrap()
}

#[tokio::test]
async fn a_change_whose_event_cannot_be_written_is_not_made() {
    let db = TestDatabase::new();
    let broken = PgOrganizationRepository::new(db.pool(), AuditTrail::new(Arc::new(BrokenView)));
    let refused = broken
        .create(NewOrganization { name: name("Acme") }, test_audit())
        .await;
    assert!(refused.is_err());
    assert_eq!(count_rows(&db.pool(), "organizations"), 0);

    let acme = create_organization(&db.pool(), "Acme").await;
    let patch = OrganizationPatch {
        name: Some(name("Globex")),
    };
    assert!(broken.update(acme.id, patch, test_audit()).await.is_err());
    assert!(broken.delete(acme.id, test_audit()).await.is_err());
    let kept = broken.find_by_id(acme.id).await.unwrap().unwrap();
    assert_eq!(kept.name.as_str(), "Acme");
    assert_eq!(events(&db).len(), 1);
}

#[tokio::test]
async fn a_change_writes_one_event_with_the_object_before_and_after() {
    let db = TestDatabase::new();
    let organizations = PgOrganizationRepository::new(db.pool(), trail());
    let acme = organizations
        .create(NewOrganization { name: name("Acme") }, test_audit())
        .await
        .unwrap();
    let shown = format!(r#"{{"object":"organization","id":{}}}"#, acme.id.get());
    organizations
        .update(acme.id, OrganizationPatch::default(), test_audit())
        .await
        .unwrap();
    organizations
        .update(
            acme.id,
            OrganizationPatch {
                name: Some(name("Globex")),
            },
            test_audit(),
        )
        .await
        .unwrap();
    organizations.delete(acme.id, test_audit()).await.unwrap();
    let events = events(&db);
    // The empty patch changed nothing and wrote nothing.
    assert_eq!(events.len(), 3);
    assert_eq!(
        (events[0].before.as_deref(), events[0].after.as_deref()),
        (None, Some(shown.as_str()))
    );
    assert_eq!(events[1].before.as_deref(), Some(shown.as_str()));
    assert_eq!(events[1].after.as_deref(), Some(shown.as_str()));
    assert_eq!(
        (events[2].before.as_deref(), events[2].after.as_deref()),
        (Some(shown.as_str()), None)
    );
    // The action is the caller's to say.
    assert!(events.iter().all(|event| event.action == "update"));
}
