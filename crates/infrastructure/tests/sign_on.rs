//! What sign-on asks of PostgreSQL, against a real database: of `PgUserRepository`, finding a user
//! by subject and issuer, linking one to them, creating one with them, one user per pair; of
//! `PgPendingSignOns`, keeping a sign-in under way for one callback only.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

mod common;

use std::sync::Arc;

use common::*;
use diesel::RunQueryDsl;
use gatehouse_domain::chrono::{TimeDelta, TimeZone, Utc};
use gatehouse_domain::{
    Actor, Audit, AuditAction, DomainError, Entity, LocalRedirect, PendingSignOn, PendingSignOns,
    RoleId, Secret, Snapshot, SnapshotView, User, UserId, UserRepository,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{AuditTrail, PgPendingSignOns, PgUserRepository};

const ISSUER: &str = "https://id.example";
const SUBJECT: &str = "248289761001";

/// Shows a user as its id, issuer and subject: what these tests read back from the audit log.
/// The values are plain ASCII, for which Rust's quoting is JSON's.
struct SubjectView;

impl SnapshotView for SubjectView {
    fn render(&self, snapshot: &Snapshot) -> String {
        let quoted = |value: &Option<String>| {
            value
                .as_deref()
                .map_or_else(|| "null".to_owned(), |value| format!("{value:?}"))
        };
        match snapshot {
            Snapshot::User(user) | Snapshot::PasswordChanged(user) => format!(
                r#"{{"id":{},"iss":{},"sub":{}}}"#,
                user.id.get(),
                quoted(&user.iss),
                quoted(&user.sub)
            ),
            _ => "{}".to_owned(),
        }
    }
}

fn repository(db: &TestDatabase) -> PgUserRepository {
    PgUserRepository::new(db.pool(), AuditTrail::new(Arc::new(SubjectView)))
}

async fn role(db: &TestDatabase) -> RoleId {
    create_role(&db.pool(), "member").await.id
}

/// The audit of `action` by `user` signing in.
fn by(user: Option<UserId>, action: AuditAction) -> Audit {
    Actor {
        user,
        ..Actor::default()
    }
    .audit(action)
}

#[derive(diesel::QueryableByName, Debug, PartialEq, Eq)]
struct Event {
    #[diesel(sql_type = diesel::sql_types::Text)]
    action: String,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    actor_user: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    entity_id: Option<i64>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    before: Option<String>,
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::Text>)]
    after: Option<String>,
}

fn events(db: &TestDatabase) -> Vec<Event> {
    let mut conn = db.pool().get().unwrap();
    diesel::sql_query(
        "SELECT action, actor_user, entity_id, before::text, after::text FROM audit_events \
         ORDER BY id",
    )
    .load(&mut conn)
    .unwrap()
}

/// Ada, created by sign-on as the test subject.
async fn signed_on_ada(db: &TestDatabase, role: RoleId) -> User {
    repository(db)
        .create_with_subject(
            new_user("ada@example.org", role, None),
            ISSUER.to_owned(),
            SUBJECT.to_owned(),
            by(None, AuditAction::Create),
        )
        .await
        .unwrap()
}

#[tokio::test]
async fn a_user_created_by_sign_on_holds_its_subject_and_no_password() {
    let db = TestDatabase::new();
    let role = role(&db).await;
    let ada = signed_on_ada(&db, role).await;
    assert_eq!(
        (ada.iss.as_deref(), ada.sub.as_deref()),
        (Some(ISSUER), Some(SUBJECT))
    );
    assert_eq!(stored_password_hash(&db.pool(), ada.id), None);
    let created = format!(
        r#"{{"id":{},"iss":"{ISSUER}","sub":"{SUBJECT}"}}"#,
        ada.id.get()
    );
    assert_eq!(
        events(&db).last(),
        Some(&Event {
            action: "create".to_owned(),
            actor_user: None,
            entity_id: Some(ada.id.get()),
            before: None,
            after: Some(created),
        })
    );
}

#[tokio::test]
async fn a_user_is_found_by_its_issuer_and_subject_exactly() {
    let db = TestDatabase::new();
    let role = role(&db).await;
    let ada = signed_on_ada(&db, role).await;
    // A password account has neither, and is found by no pair.
    create_user(&db.pool(), "grace@example.org", role, None).await;
    let users = repository(&db);
    assert_eq!(
        users.find_by_subject(ISSUER, SUBJECT).await.unwrap(),
        Some(ada)
    );
    for (issuer, subject) in [
        (ISSUER, "248289761002"),
        ("https://other.example", SUBJECT),
        ("HTTPS://ID.EXAMPLE", SUBJECT),
        (ISSUER, ""),
    ] {
        assert_eq!(
            users.find_by_subject(issuer, subject).await.unwrap(),
            None,
            "{issuer} {subject}"
        );
    }
}

#[tokio::test]
async fn linking_sets_the_subject_and_records_an_update_by_the_user() {
    let db = TestDatabase::new();
    let role = role(&db).await;
    let grace = create_user(&db.pool(), "grace@example.org", role, None).await;
    let before_link = events(&db).len();
    let users = repository(&db);
    let linked = users
        .link_subject(
            grace.id,
            ISSUER.to_owned(),
            SUBJECT.to_owned(),
            by(Some(grace.id), AuditAction::Update),
        )
        .await
        .unwrap();
    assert_eq!(
        (linked.iss.as_deref(), linked.sub.as_deref()),
        (Some(ISSUER), Some(SUBJECT))
    );
    assert_eq!(
        (&linked.email, linked.role, linked.created),
        (&grace.email, grace.role, grace.created)
    );
    assert_eq!(
        users.find_by_subject(ISSUER, SUBJECT).await.unwrap(),
        Some(linked)
    );
    let id = grace.id.get();
    let events = events(&db);
    assert_eq!(events.len(), before_link + 1);
    assert_eq!(
        events.last(),
        Some(&Event {
            action: "update".to_owned(),
            actor_user: Some(id),
            entity_id: Some(id),
            before: Some(format!(r#"{{"id":{id},"iss":null,"sub":null}}"#)),
            after: Some(format!(
                r#"{{"id":{id},"iss":"{ISSUER}","sub":"{SUBJECT}"}}"#
            )),
        })
    );
}

#[tokio::test]
async fn linking_a_missing_user_is_not_found_and_records_nothing() {
    let db = TestDatabase::new();
    let error = repository(&db)
        .link_subject(
            UserId(4242),
            ISSUER.to_owned(),
            SUBJECT.to_owned(),
            by(None, AuditAction::Update),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(error, DomainError::NotFound(Entity::User)),
        "{error:?}"
    );
    assert!(events(&db).is_empty());
}

#[tokio::test]
async fn one_issuer_and_subject_belong_to_one_user_only() {
    let db = TestDatabase::new();
    let role = role(&db).await;
    signed_on_ada(&db, role).await;
    let grace = create_user(&db.pool(), "grace@example.org", role, None).await;
    let users = repository(&db);
    let recorded = events(&db).len();

    let linked = users
        .link_subject(
            grace.id,
            ISSUER.to_owned(),
            SUBJECT.to_owned(),
            by(Some(grace.id), AuditAction::Update),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(linked, DomainError::AlreadyExists(Entity::User)),
        "{linked:?}"
    );
    let created = users
        .create_with_subject(
            new_user("ada.again@example.org", role, None),
            ISSUER.to_owned(),
            SUBJECT.to_owned(),
            by(None, AuditAction::Create),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(created, DomainError::AlreadyExists(Entity::User)),
        "{created:?}"
    );
    // Nothing of either is left: neither the link, nor the user, nor an event.
    let grace_now = users.find_by_id(grace.id).await.unwrap().unwrap();
    assert_eq!((grace_now.iss, grace_now.sub), (None, None));
    assert_eq!(count_rows(&db.pool(), "users"), 2);
    assert_eq!(events(&db).len(), recorded);

    // The same subject at another issuer is another person.
    let elsewhere = users
        .link_subject(
            grace.id,
            "https://other.example".to_owned(),
            SUBJECT.to_owned(),
            by(Some(grace.id), AuditAction::Update),
        )
        .await
        .unwrap();
    assert_eq!(elsewhere.iss.as_deref(), Some("https://other.example"));
}

#[tokio::test]
async fn the_database_refuses_a_second_user_with_the_same_pair_whatever_writes_it() {
    let db = TestDatabase::new();
    let role = role(&db).await;
    signed_on_ada(&db, role).await;
    assert_refused(
        &db.pool(),
        &format!(
            "INSERT INTO users (email, role_id, iss, sub) \
             VALUES ('eve@example.org', {}, '{ISSUER}', '{SUBJECT}')",
            role.get()
        ),
        diesel::result::DatabaseErrorKind::UniqueViolation,
        "users_iss_sub_key",
    );
    // Password accounts have neither, and any number of them may.
    create_user(&db.pool(), "grace@example.org", role, None).await;
    create_user(&db.pool(), "edsger@example.org", role, None).await;
    assert_eq!(count_rows(&db.pool(), "users"), 3);
}

fn pending(nonce: &str, expires: gatehouse_domain::DateTime<Utc>) -> PendingSignOn {
    PendingSignOn {
        nonce: Secret::new(nonce),
        verifier: Secret::new(format!("verifier-of-{nonce}")),
        redirect: LocalRedirect::parse("/console/keys?page=2").unwrap(),
        expires,
    }
}

#[tokio::test]
async fn a_pending_sign_on_is_taken_once_and_stored_without_its_state() {
    let db = TestDatabase::new();
    let store = PgPendingSignOns::new(db.pool());
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
    store
        .save(
            Secret::new("state-a"),
            pending("nonce-a", now + TimeDelta::minutes(10)),
            now,
        )
        .await
        .unwrap();
    store
        .save(
            Secret::new("state-b"),
            pending("nonce-b", now + TimeDelta::minutes(10)),
            now,
        )
        .await
        .unwrap();
    let pool = db.pool();
    assert_eq!(count_rows(&pool, "pending_sign_ons"), 2);
    assert_eq!(
        count_rows(
            &pool,
            "pending_sign_ons WHERE state_digest = sha256('state-a'::bytea)"
        ),
        1
    );

    let taken = store.take(Secret::new("state-a")).await.unwrap().unwrap();

    assert_eq!(taken.nonce.expose(), "nonce-a");
    assert_eq!(taken.verifier.expose(), "verifier-of-nonce-a");
    assert_eq!(taken.redirect.as_str(), "/console/keys?page=2");
    assert_eq!(taken.expires, now + TimeDelta::minutes(10));
    assert!(store.take(Secret::new("state-a")).await.unwrap().is_none());
    assert!(
        store
            .take(Secret::new("never-sent"))
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        store
            .take(Secret::new("state-b"))
            .await
            .unwrap()
            .unwrap()
            .nonce
            .expose(),
        "nonce-b"
    );
}

#[tokio::test]
async fn saving_a_pending_sign_on_forgets_the_expired_ones() {
    let db = TestDatabase::new();
    let store = PgPendingSignOns::new(db.pool());
    let start = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
    store
        .save(
            Secret::new("old"),
            pending("old", start + TimeDelta::minutes(10)),
            start,
        )
        .await
        .unwrap();
    store
        .save(
            Secret::new("live"),
            pending("live", start + TimeDelta::minutes(20)),
            start,
        )
        .await
        .unwrap();

    let later = start + TimeDelta::minutes(15);
    store
        .save(
            Secret::new("new"),
            pending("new", later + TimeDelta::minutes(10)),
            later,
        )
        .await
        .unwrap();

    assert!(store.take(Secret::new("old")).await.unwrap().is_none());
    assert!(store.take(Secret::new("live")).await.unwrap().is_some());
    assert!(store.take(Secret::new("new")).await.unwrap().is_some());
}

#[tokio::test]
async fn of_two_callbacks_with_one_state_one_gets_the_sign_in() {
    let db = TestDatabase::new();
    let store = Arc::new(PgPendingSignOns::new(db.pool()));
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 0).unwrap();
    store
        .save(
            Secret::new("raced"),
            pending("raced", now + TimeDelta::minutes(10)),
            now,
        )
        .await
        .unwrap();

    let takers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.take(Secret::new("raced")).await.unwrap() })
        })
        .collect();
    let mut won = 0;
    for taker in takers {
        if taker.await.unwrap().is_some() {
            won += 1;
        }
    }

    assert_eq!(won, 1);
}
