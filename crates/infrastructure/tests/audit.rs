//! `PgAuditLog` against a real PostgreSQL database: recording, listing with every filter, the
//! append-only table, and the once-a-day purge.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

use std::sync::Arc;

use chrono::{DateTime, NaiveDate, TimeDelta, TimeZone, Utc};
use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use gatehouse_domain::{
    Actor, ApiKeyId, AuditAction, AuditEntity, AuditEvent, AuditFilter, AuditLog, AuditOrder,
    Direction, NewAuditEvent, PageRequest, RequestId, Snapshot, SnapshotView, UserId,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{AuditTrail, PgAuditLog};

/// Shows a snapshot as `{"debug": "<what it is>"}`: the tests need JSON text, not the API's view
/// (the infrastructure does not depend on the API).
struct DebugView;

impl SnapshotView for DebugView {
    fn render(&self, snapshot: &Snapshot) -> String {
        let shown = match snapshot {
            Snapshot::FailedLogin { email } => email.as_str(),
            Snapshot::Organization(_) => "organization",
            Snapshot::User(_) | Snapshot::PasswordChanged(_) => "user",
            Snapshot::Role(_) => "role",
            Snapshot::Token(_) => "token",
            Snapshot::Project(_) => "project",
            Snapshot::Member(_) => "member",
        };
        format!(r#"{{"debug": "{shown}"}}"#)
    }
}

fn log(db: &TestDatabase) -> PgAuditLog {
    PgAuditLog::new(db.pool(), AuditTrail::new(Arc::new(DebugView)))
}

fn page(
    offset: i64,
    limit: i64,
    order_by: AuditOrder,
    direction: Direction,
) -> PageRequest<AuditOrder> {
    PageRequest::new(offset, limit, order_by, direction).unwrap()
}

/// The filter `set` makes of the default one.
fn filter(set: impl FnOnce(&mut AuditFilter)) -> AuditFilter {
    let mut filter = AuditFilter::default();
    set(&mut filter);
    filter
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 12, 9, 0, 0).unwrap()
}

fn day(at: DateTime<Utc>) -> NaiveDate {
    at.date_naive()
}

/// Inserts an event written at `created` with SQL, for what `record` cannot do: date it.
fn insert(
    db: &TestDatabase,
    created: DateTime<Utc>,
    user: Option<i64>,
    action: AuditAction,
    entity: AuditEntity,
    entity_id: Option<i64>,
) {
    let user = user.map_or_else(|| "NULL".to_owned(), |user| user.to_string());
    let entity_id = entity_id.map_or_else(|| "NULL".to_owned(), |id| id.to_string());
    db.execute(&format!(
        "INSERT INTO audit_events (created, actor_user, action, entity_type, entity_id) \
         VALUES ('{}', {user}, '{}', '{}', {entity_id})",
        created.to_rfc3339(),
        action.as_str(),
        entity.as_str(),
    ));
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

fn count(db: &TestDatabase) -> i64 {
    let mut conn = db.pool().get().unwrap();
    diesel::sql_query("SELECT count(*) AS count FROM audit_events")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .count
}

async fn list(
    log: &PgAuditLog,
    filter: AuditFilter,
    request: PageRequest<AuditOrder>,
) -> (Vec<i64>, i64) {
    let found = log.list(filter, request).await.unwrap();
    (
        found.items.iter().map(|event| event.id).collect(),
        found.total,
    )
}

async fn all(log: &PgAuditLog, filter: AuditFilter) -> Vec<i64> {
    list(log, filter, page(0, 100, AuditOrder::Id, Direction::Asc))
        .await
        .0
}

#[tokio::test]
async fn a_recorded_event_is_read_back_whole() {
    let db = TestDatabase::new();
    let log = log(&db);
    let actor = Actor {
        user: None,
        key: None,
        address: Some("2001:db8::7".parse().unwrap()),
        request_id: Some(RequestId::parse("req-42").unwrap()),
    };
    log.record(NewAuditEvent {
        actor: actor.clone(),
        action: AuditAction::LoginFailed,
        entity: AuditEntity::Session,
        entity_id: None,
        before: None,
        after: Some(Snapshot::FailedLogin {
            email: "ada@example.com".to_owned(),
        }),
    })
    .await
    .unwrap();
    let by_key = Actor {
        user: Some(UserId(3)),
        key: Some(ApiKeyId(9)),
        address: Some("192.0.2.1".parse().unwrap()),
        request_id: None,
    };
    log.record(NewAuditEvent {
        actor: by_key.clone(),
        action: AuditAction::Login,
        entity: AuditEntity::Session,
        entity_id: Some(9),
        before: None,
        after: None,
    })
    .await
    .unwrap();

    let found = log
        .list(AuditFilter::default(), PageRequest::default())
        .await
        .unwrap();
    assert_eq!(found.total, 2);
    let [failed, login] = <[AuditEvent; 2]>::try_from(found.items).unwrap();
    assert!(failed.id < login.id);
    assert_eq!(failed.actor, actor);
    assert_eq!(failed.action, AuditAction::LoginFailed);
    assert_eq!(failed.entity, AuditEntity::Session);
    assert_eq!(failed.entity_id, None);
    assert_eq!(failed.before, None);
    assert_eq!(
        failed.after.as_deref(),
        Some(r#"{"debug": "ada@example.com"}"#)
    );
    assert!((Utc::now() - failed.created).abs() < TimeDelta::minutes(1));
    assert_eq!(login.actor, by_key);
    assert_eq!(login.entity_id, Some(9));
    assert_eq!(login.after, None);
}

#[tokio::test]
async fn every_filter_narrows_the_list_and_the_total() {
    use AuditAction::{Create, Delete, Update};
    use AuditEntity::{Role, User};
    let db = TestDatabase::new();
    let log = log(&db);
    // Ids 1 to 5, one minute apart.
    let events = [
        (Some(1), Create, User, Some(10)),
        (Some(1), Update, User, Some(10)),
        (Some(2), Create, Role, Some(10)),
        (Some(2), Delete, User, Some(11)),
        (None, Update, Role, None),
    ];
    for (minute, (user, action, entity, id)) in (0_i64..).zip(events) {
        insert(
            &db,
            t0() + TimeDelta::minutes(minute),
            user,
            action,
            entity,
            id,
        );
    }
    let ids = all(&log, AuditFilter::default()).await;
    assert_eq!(ids.len(), 5);
    let id = |n: usize| ids[n - 1];

    let cases = [
        (filter(|f| f.actor = Some(UserId(1))), vec![id(1), id(2)]),
        (filter(|f| f.entity = Some(Role)), vec![id(3), id(5)]),
        (
            filter(|f| f.entity_id = Some(10)),
            vec![id(1), id(2), id(3)],
        ),
        (
            filter(|f| (f.entity, f.entity_id) = (Some(User), Some(10))),
            vec![id(1), id(2)],
        ),
        (filter(|f| f.action = Some(Update)), vec![id(2), id(5)]),
        // `from` is inclusive, `to` exclusive.
        (
            filter(|f| {
                f.from = Some(t0() + TimeDelta::minutes(1));
                f.to = Some(t0() + TimeDelta::minutes(3));
            }),
            vec![id(2), id(3)],
        ),
        (
            filter(|f| f.from = Some(t0() + TimeDelta::minutes(4))),
            vec![id(5)],
        ),
        (filter(|f| f.to = Some(t0())), vec![]),
        (
            filter(|f| (f.actor, f.action) = (Some(UserId(2)), Some(Create))),
            vec![id(3)],
        ),
    ];
    for (filter, expected) in cases {
        let (found, total) = list(
            &log,
            filter.clone(),
            page(0, 100, AuditOrder::Id, Direction::Asc),
        )
        .await;
        assert_eq!(found, expected, "{filter:?}");
        assert_eq!(total, i64::try_from(expected.len()).unwrap(), "{filter:?}");
    }
}

#[tokio::test]
async fn pages_are_ordered_by_id_either_way_and_count_the_whole_list() {
    let db = TestDatabase::new();
    let log = log(&db);
    for minute in 0..7 {
        insert(
            &db,
            t0() + TimeDelta::minutes(minute),
            Some(1),
            AuditAction::Create,
            AuditEntity::Organization,
            Some(minute),
        );
    }
    let ids = all(&log, AuditFilter::default()).await;
    assert!(ids.is_sorted());
    let (found, total) = list(
        &log,
        AuditFilter::default(),
        page(2, 3, AuditOrder::Id, Direction::Asc),
    )
    .await;
    assert_eq!((found, total), (ids[2..5].to_vec(), 7));
    let (found, total) = list(
        &log,
        AuditFilter::default(),
        page(0, 2, AuditOrder::Id, Direction::Desc),
    )
    .await;
    assert_eq!((found, total), (vec![ids[6], ids[5]], 7));
    let (found, total) = list(
        &log,
        AuditFilter::default(),
        page(6, 10, AuditOrder::Id, Direction::Desc),
    )
    .await;
    assert_eq!((found, total), (vec![ids[0]], 7));
    let (found, total) = list(
        &log,
        AuditFilter::default(),
        page(7, 10, AuditOrder::Id, Direction::Asc),
    )
    .await;
    assert_eq!((found, total), (vec![], 7));
}

#[tokio::test]
async fn the_database_refuses_to_change_or_delete_events() {
    let db = TestDatabase::new();
    insert(
        &db,
        t0(),
        Some(1),
        AuditAction::Create,
        AuditEntity::User,
        Some(1),
    );
    let mut conn = db.pool().get().unwrap();
    for statement in [
        "UPDATE audit_events SET action = 'delete'",
        "DELETE FROM audit_events",
        "DELETE FROM audit_events WHERE id = -1",
        "TRUNCATE audit_events",
    ] {
        let error = diesel::sql_query(statement)
            .execute(&mut conn)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("audit events cannot be changed or deleted"),
            "{statement}: {error}"
        );
    }
    assert_eq!(count(&db), 1);
}

#[tokio::test]
async fn a_purge_deletes_only_older_events_once_a_day() {
    let db = TestDatabase::new();
    let log = log(&db);
    let cutoff = t0() - TimeDelta::days(365);
    for created in [
        cutoff - TimeDelta::days(30),
        cutoff - TimeDelta::seconds(1),
        cutoff,
        t0(),
    ] {
        insert(
            &db,
            created,
            Some(1),
            AuditAction::Update,
            AuditEntity::Role,
            Some(1),
        );
    }
    assert_eq!(log.purge(cutoff, day(t0())).await.unwrap(), Some(2));
    assert_eq!(count(&db), 2);
    let kept = log
        .list(AuditFilter::default(), PageRequest::default())
        .await
        .unwrap();
    let created: Vec<_> = kept.items.iter().map(|event| event.created).collect();
    assert_eq!(created, vec![cutoff, t0()]);

    // The same day, the purge has run: nothing more is deleted, even what is now old enough.
    let later = t0() + TimeDelta::hours(3);
    assert_eq!(log.purge(later, day(later)).await.unwrap(), None);
    assert_eq!(count(&db), 2);

    // The next day, it runs again.
    let tomorrow = t0() + TimeDelta::days(1);
    assert_eq!(
        log.purge(cutoff + TimeDelta::seconds(1), day(tomorrow))
            .await
            .unwrap(),
        Some(1)
    );
    assert_eq!(count(&db), 1);
    // And a day with nothing to delete still counts as run.
    let after = tomorrow + TimeDelta::days(1);
    assert_eq!(log.purge(cutoff, day(after)).await.unwrap(), Some(0));
    assert_eq!(log.purge(t0(), day(after)).await.unwrap(), None);
    assert_eq!(count(&db), 1);
}

#[tokio::test]
async fn of_two_concurrent_purges_for_one_day_exactly_one_runs() {
    let db = TestDatabase::new();
    for days in 1..=3 {
        insert(
            &db,
            t0() - TimeDelta::days(400 + days),
            None,
            AuditAction::Login,
            AuditEntity::Session,
            None,
        );
    }
    let cutoff = t0() - TimeDelta::days(365);
    let (first, second) = (log(&db), log(&db));
    let (a, b) = tokio::join!(
        first.purge(cutoff, day(t0())),
        second.purge(cutoff, day(t0()))
    );
    let mut results = [a.unwrap(), b.unwrap()];
    results.sort();
    assert_eq!(results, [None, Some(3)]);
    assert_eq!(count(&db), 0);
}
