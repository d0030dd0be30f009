//! Reading the audit log over HTTP: `GET /v1/admin/audit`, its filters, pages and orders, the CSV
//! export of the same page, and the retention purge at start-up.
//!
//! Events are inserted with SQL, dated in 2020, and every list but those testing `from`/`to`
//! ends before 2021: the events the API itself records while a test sets up (a user, a key) are
//! written now, and stay out of the way.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::time::Duration;

use gatehouse_domain::chrono::{DateTime, TimeDelta, TimeZone, Utc};
use gatehouse_infrastructure::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp, TestClock, ids as ids_of};

const AUDIT: &str = "/v1/admin/audit";

/// Far enough for events dated in 2020 not to be purged while a test runs.
const CENTURY: u32 = 36_500;

/// 2020-01-01 at 00:`minute`, UTC: when the test events are written.
fn t(minute: i64) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2020, 1, 1, 0, 0, 0).unwrap() + TimeDelta::minutes(minute)
}

/// The end of the test events' year: lists bounded by it see only them.
fn end_of_2020() -> i64 {
    Utc.with_ymd_and_hms(2021, 1, 1, 0, 0, 0)
        .unwrap()
        .timestamp()
}

/// One event to insert with SQL; `None`s are `NULL`s.
#[derive(Clone, Copy, Default)]
struct Event {
    created: Option<DateTime<Utc>>,
    user: Option<i64>,
    key: Option<i64>,
    address: Option<&'static str>,
    request_id: Option<&'static str>,
    action: &'static str,
    entity: &'static str,
    entity_id: Option<i64>,
    before: Option<&'static str>,
    after: Option<&'static str>,
}

/// Inserts `event` into `db`'s `audit_events`.
fn insert(db: &TestDatabase, event: Event) {
    fn sql<T: ToString>(value: Option<T>, quoted: bool) -> String {
        match value {
            Some(value) if quoted => format!("'{}'", value.to_string().replace('\'', "''")),
            Some(value) => value.to_string(),
            None => "NULL".to_owned(),
        }
    }
    let created = event.created.map_or_else(
        || "DEFAULT".to_owned(),
        |at| format!("'{}'", at.to_rfc3339()),
    );
    db.execute(&format!(
        "INSERT INTO audit_events (created, actor_user, actor_key, actor_address, request_id, \
         action, entity_type, entity_id, before, after) \
         VALUES ({created}, {}, {}, {}, {}, '{}', '{}', {}, {}, {})",
        sql(event.user, false),
        sql(event.key, false),
        sql(event.address, true),
        sql(event.request_id, true),
        event.action,
        event.entity,
        sql(event.entity_id, false),
        sql(event.before, true),
        sql(event.after, true),
    ));
}

/// Five events, a minute apart from [`t`]`(0)`; the `before`/`after` texts hold what CSV must
/// quote (commas, quotes, line breaks) and keep their own spacing.
fn five_events(db: &TestDatabase) {
    let events = [
        Event {
            user: Some(9001),
            key: Some(91),
            address: Some("192.0.2.1"),
            request_id: Some("req-1"),
            action: "create",
            entity: "user",
            entity_id: Some(501),
            after: Some(r#"{"object": "user", "name": "Ada, \"the\" first"}"#),
            ..Event::default()
        },
        Event {
            user: Some(9001),
            key: Some(91),
            address: Some("2001:db8::1"),
            request_id: Some("req-2"),
            action: "update",
            entity: "user",
            entity_id: Some(501),
            before: Some(r#"{"object": "user", "name": "Ada, \"the\" first"}"#),
            after: Some("{\"object\": \"user\",\n \"name\": \"Ada\"}"),
            ..Event::default()
        },
        Event {
            user: Some(9002),
            action: "delete",
            entity: "role",
            entity_id: Some(502),
            before: Some(r#"{"object": "role", "permissions": ["admin"]}"#),
            ..Event::default()
        },
        Event {
            address: Some("198.51.100.7"),
            action: "login_failed",
            entity: "session",
            after: Some(r#"{"email": "Who@Example.com "}"#),
            ..Event::default()
        },
        Event {
            user: Some(0),
            action: "add_member",
            entity: "project",
            entity_id: Some(503),
            after: Some(r#"{"object": "projectMember", "user": 9001}"#),
            ..Event::default()
        },
    ];
    for (minute, event) in (0..).zip(events) {
        insert(
            db,
            Event {
                created: Some(t(minute)),
                ..event
            },
        );
    }
}

/// A server keeping events a century, with the five test events; and their ids, in order.
async fn app_with_events() -> (TestApp, Vec<i64>) {
    let app = TestApp::spawn_with(|settings| {
        settings.audit_retention_days = CENTURY.try_into().unwrap();
    })
    .await;
    five_events(&app.db);
    let all = list(&app, "").await;
    let ids = ids_of(&all);
    assert_eq!(ids.len(), 5, "{all}");
    (app, ids)
}

/// The list of test events matching `query` (more parameters, `&`-separated), as JSON.
async fn list(app: &TestApp, query: &str) -> Value {
    let answer = app
        .get(&format!("{AUDIT}?to={}&limit=100{query}", end_of_2020()))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// `GET path` as the master key, with `Accept: accept`.
async fn get_accepting(app: &TestApp, path: &str, accept: &str) -> Answer {
    app.send(
        app.client
            .get(app.url(path))
            .bearer_auth(MASTER_KEY)
            .header("Accept", accept),
    )
    .await
}

#[tokio::test]
async fn the_log_is_for_admins_only() {
    let app = TestApp::spawn().await;
    app.call(Method::GET, AUDIT, None, None)
        .await
        .assert_detail(401, "Not authenticated");
    let (_, key) = app
        .user_with_key("reader@example.com", &["read_metric"])
        .await;
    for path in [AUDIT.to_owned(), format!("{AUDIT}?action=nonsense&limit=0")] {
        app.call(Method::GET, &path, Some(&key), None)
            .await
            .assert_detail(403, "Insufficient rights.");
    }
    let answer = app.get(AUDIT).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["object"], "list");
}

#[tokio::test]
async fn every_invalid_parameter_is_reported() {
    let app = TestApp::spawn().await;
    let cases = [
        ("action=token", "action", "enum"),
        ("action=CREATE", "action", "enum"),
        ("entity_type=key", "entity_type", "enum"),
        ("actor=ada", "actor", "int_parsing"),
        ("entity_id=1.5", "entity_id", "int_parsing"),
        ("from=yesterday", "from", "int_parsing"),
        ("to=-1", "to", "greater_than_equal"),
        ("offset=-1", "offset", "greater_than_equal"),
        ("offset=x", "offset", "int_parsing"),
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=101", "limit", "less_than_equal"),
        ("order_by=created", "order_by", "enum"),
        ("order_direction=up", "order_direction", "enum"),
    ];
    for (query, param, kind) in cases {
        app.get(&format!("{AUDIT}?{query}"))
            .await
            .assert_invalid(&[(json!(["query", param]), kind)]);
    }
    // All at once, one bad value per parameter: every one is reported.
    let answer = app
        .get(&format!(
            "{AUDIT}?action=token&entity_type=key&actor=ada&entity_id=1.5&from=yesterday&to=-1\
             &offset=-1&limit=101&order_by=created&order_direction=up"
        ))
        .await;
    answer.assert_invalid(&[
        (json!(["query", "action"]), "enum"),
        (json!(["query", "entity_type"]), "enum"),
        (json!(["query", "actor"]), "int_parsing"),
        (json!(["query", "entity_id"]), "int_parsing"),
        (json!(["query", "from"]), "int_parsing"),
        (json!(["query", "to"]), "greater_than_equal"),
        (json!(["query", "offset"]), "greater_than_equal"),
        (json!(["query", "limit"]), "less_than_equal"),
        (json!(["query", "order_by"]), "enum"),
        (json!(["query", "order_direction"]), "enum"),
    ]);
}

#[tokio::test]
async fn an_event_shows_who_did_what_to_which_object_and_the_object_before_and_after() {
    let (app, ids) = app_with_events().await;
    let all = list(&app, "").await;
    assert_eq!(all["object"], "list");
    assert_eq!(all["total"], 5);
    let second = &all["data"][1];
    assert_eq!(
        *second,
        json!({
            "object": "auditEvent",
            "id": ids[1],
            "created": t(1).timestamp(),
            "actor": {"user": 9001, "key": 91, "address": "2001:db8::1"},
            "request_id": "req-2",
            "action": "update",
            "entity": {"type": "user", "id": 501},
            "before": {"object": "user", "name": "Ada, \"the\" first"},
            "after": {"object": "user", "name": "Ada"},
        })
    );
    let failed = &all["data"][3];
    assert_eq!(
        failed["actor"],
        json!({"user": null, "key": null, "address": "198.51.100.7"})
    );
    assert_eq!(failed["request_id"], Value::Null);
    assert_eq!(failed["entity"], json!({"type": "session", "id": null}));
    assert_eq!(failed["before"], Value::Null);
    assert_eq!(failed["after"], json!({"email": "Who@Example.com "}));
}

#[tokio::test]
async fn every_filter_narrows_the_list_and_its_total() {
    let (app, ids) = app_with_events().await;
    let from = t(1).timestamp();
    let to = t(3).timestamp();
    let cases = [
        ("&actor=9001".to_owned(), vec![ids[0], ids[1]]),
        ("&actor=0".to_owned(), vec![ids[4]]),
        ("&actor=42".to_owned(), vec![]),
        ("&entity_type=user".to_owned(), vec![ids[0], ids[1]]),
        ("&entity_type=role&entity_id=502".to_owned(), vec![ids[2]]),
        ("&entity_type=user&entity_id=502".to_owned(), vec![]),
        ("&entity_id=503".to_owned(), vec![ids[4]]),
        ("&action=login_failed".to_owned(), vec![ids[3]]),
        ("&action=update&actor=9001".to_owned(), vec![ids[1]]),
        // `from` is inclusive, `to` exclusive (this `to` replaces the list's).
        (format!("&from={from}&to={to}"), vec![ids[1], ids[2]]),
        (format!("&from={}", t(4).timestamp()), vec![ids[4]]),
    ];
    for (query, expected) in cases {
        let found = list(&app, &query).await;
        assert_eq!(ids_of(&found), expected, "{query}: {found}");
        assert_eq!(found["total"], json!(expected.len()), "{query}");
    }
}

#[tokio::test]
async fn pages_go_by_id_either_way_and_tell_the_total() {
    let (app, ids) = app_with_events().await;
    let desc = list(&app, "&order_direction=desc").await;
    let mut reversed = ids.clone();
    reversed.reverse();
    assert_eq!(ids_of(&desc), reversed);
    let asc = list(&app, "&order_by=id&order_direction=asc").await;
    assert_eq!(ids_of(&asc), ids);

    let answer = app
        .get(&format!("{AUDIT}?to={}&offset=1&limit=2", end_of_2020()))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(ids_of(&answer.body), ids[1..3].to_vec());
    assert_eq!(
        (
            &answer.body["total"],
            &answer.body["offset"],
            &answer.body["limit"]
        ),
        (&json!(5), &json!(1), &json!(2))
    );
    let answer = app
        .get(&format!(
            "{AUDIT}?to={}&offset=4&order_direction=desc",
            end_of_2020()
        ))
        .await;
    assert_eq!(ids_of(&answer.body), vec![ids[0]]);
    assert_eq!(answer.body["limit"], 10);
}

/// The rows of a CSV export, the header row apart.
fn csv_rows(text: &str) -> (Vec<String>, Vec<Vec<String>>) {
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let rows = reader
        .records()
        .map(|record| record.unwrap().iter().map(str::to_owned).collect())
        .collect();
    (header, rows)
}

/// A CSV field as the JSON value it shows: empty is `null`.
fn field_as_json(field: &str, json_text: bool) -> Value {
    match (field, json_text) {
        ("", _) => Value::Null,
        (text, true) => serde_json::from_str(text).unwrap(),
        (text, false) => text
            .parse::<i64>()
            .map_or_else(|_| Value::from(text), Value::from),
    }
}

#[tokio::test]
async fn a_csv_export_is_the_same_page_as_the_json_list() {
    let (app, _) = app_with_events().await;
    for query in [
        format!("?to={}&limit=100", end_of_2020()),
        format!(
            "?to={}&offset=1&limit=3&order_direction=desc",
            end_of_2020()
        ),
        format!("?to={}&entity_type=user", end_of_2020()),
        format!("?to={}&action=delete&actor=1", end_of_2020()),
    ] {
        let path = format!("{AUDIT}{query}");
        let json_page = app.get(&path).await.body;
        let answer = get_accepting(&app, &path, "text/csv").await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(
            answer.header("content-type"),
            Some("text/csv; charset=utf-8")
        );
        assert_eq!(answer.header("vary"), Some("Accept"));
        for (header, field) in [
            ("x-total-count", "total"),
            ("x-offset", "offset"),
            ("x-limit", "limit"),
        ] {
            assert_eq!(
                answer.header(header),
                Some(json_page[field].to_string().as_str()),
                "{header} of {query}"
            );
        }
        let (header, rows) = csv_rows(&answer.text);
        assert_eq!(
            header,
            [
                "id",
                "created",
                "actor_user",
                "actor_key",
                "actor_address",
                "request_id",
                "action",
                "entity_type",
                "entity_id",
                "before",
                "after"
            ]
        );
        let events = json_page["data"].as_array().unwrap();
        assert_eq!(rows.len(), events.len(), "{query}");
        for (row, event) in rows.iter().zip(events) {
            let shown = [
                &event["id"],
                &event["created"],
                &event["actor"]["user"],
                &event["actor"]["key"],
                &event["actor"]["address"],
                &event["request_id"],
                &event["action"],
                &event["entity"]["type"],
                &event["entity"]["id"],
                &event["before"],
                &event["after"],
            ];
            for (column, (field, value)) in row.iter().zip(shown).enumerate() {
                assert_eq!(
                    field_as_json(field, column >= 9),
                    *value,
                    "column {} of {query}",
                    header[column]
                );
            }
        }
    }
}

#[tokio::test]
async fn csv_is_sent_to_clients_that_ask_for_it_over_json() {
    let (app, _) = app_with_events().await;
    let path = format!("{AUDIT}?to={}", end_of_2020());
    for accept in [
        "text/csv",
        "application/json;q=0.5, text/csv",
        "text/csv, application/json",
    ] {
        let answer = get_accepting(&app, &path, accept).await;
        assert!(
            answer
                .header("content-type")
                .unwrap()
                .starts_with("text/csv"),
            "{accept}"
        );
    }
    for accept in [
        "application/json",
        "*/*",
        "application/json, text/csv;q=0.9",
        "text/html",
    ] {
        let answer = get_accepting(&app, &path, accept).await;
        assert_eq!(
            answer.header("content-type"),
            Some("application/json"),
            "{accept}"
        );
        assert_eq!(answer.body["total"], 5, "{accept}");
    }
    // An invalid query is 422 in JSON, whatever was asked for.
    let answer = get_accepting(&app, &format!("{AUDIT}?limit=0"), "text/csv").await;
    answer.assert_invalid(&[(json!(["query", "limit"]), "greater_than_equal")]);
}

#[tokio::test]
async fn events_older_than_the_retention_are_purged_when_the_server_starts() {
    let now = Utc.with_ymd_and_hms(2031, 3, 1, 12, 0, 0).unwrap();
    let retention = 30;
    let db = TestDatabase::new();
    let old = [TimeDelta::days(400), TimeDelta::days(31)];
    let kept = [TimeDelta::days(29), TimeDelta::hours(1)];
    for (n, age) in (0..).zip(old.iter().chain(&kept)) {
        insert(
            &db,
            Event {
                created: Some(now - *age),
                user: Some(7),
                action: "update",
                entity: "organization",
                entity_id: Some(n),
                ..Event::default()
            },
        );
    }
    let app = TestApp::spawn_on_database(db, TestClock::at(now), |settings| {
        settings.audit_retention_days = retention.try_into().unwrap();
    })
    .await;
    let path = format!("{AUDIT}?actor=7");
    // The purge runs beside the server: wait for it, a bounded time.
    let mut found = Vec::new();
    for _ in 0..200 {
        let answer = app.get(&path).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        found = answer.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|event| event["entity"]["id"].as_i64().unwrap())
            .collect();
        if found.len() < 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        found,
        vec![2, 3],
        "only the events within the retention stay"
    );
}

#[tokio::test]
async fn the_server_starts_with_a_retention_of_a_year_by_default() {
    let now = Utc.with_ymd_and_hms(2031, 3, 1, 12, 0, 0).unwrap();
    let db = TestDatabase::new();
    for (n, days) in [(0, 366), (1, 364)] {
        insert(
            &db,
            Event {
                created: Some(now - TimeDelta::days(days)),
                user: Some(7),
                action: "delete",
                entity: "token",
                entity_id: Some(n),
                ..Event::default()
            },
        );
    }
    let app = TestApp::spawn_on_database(db, TestClock::at(now), |_| {}).await;
    let path = format!("{AUDIT}?actor=7");
    let mut total = Value::Null;
    for _ in 0..200 {
        total = app.get(&path).await.body["total"].clone();
        if total == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(total, 1);
    assert_eq!(ids_of(&app.get(&path).await.body).len(), 1);
    assert_eq!(app.get(&path).await.body["data"][0]["entity"]["id"], 1);
}
