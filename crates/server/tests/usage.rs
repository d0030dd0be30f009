//! Reading usage, over HTTP: `GET /v1/me/usage` (one's own calls), `GET /v1/admin/usage`
//! (everyone's) and `GET /v1/admin/usage/summary` (totals per user, organization, project, router
//! or UTC day), with their filters, pages and orders.
//!
//! Records are made by a gateway's usage reports, at times set on the server's test clock.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use gatehouse_domain::chrono::{DateTime, TimeDelta, TimeZone, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp, TestClock};

const MINE: &str = "/v1/me/usage";
const EVERYONES: &str = "/v1/admin/usage";
const SUMMARY: &str = "/v1/admin/usage/summary";

/// 2030-06-15 at `hour:minute:second`, UTC.
fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 15, hour, minute, second)
        .unwrap()
}

/// A server whose clock starts at `start`.
async fn app_at(start: DateTime<Utc>) -> (TestApp, Arc<TestClock>) {
    let clock = TestClock::at(start);
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    (app, clock)
}

/// Reports a call never authorized, made with `key` on `router`, which must answer 201: the
/// record.
async fn record(
    app: &TestApp,
    request_id: &str,
    key: &str,
    router: i64,
    tokens: (i64, i64),
    cost: f64,
) -> Value {
    let answer = app
        .report_usage(
            MASTER_KEY,
            json!({
                "request_id": request_id,
                "key": key,
                "router": router,
                "prompt_tokens": tokens.0,
                "completion_tokens": tokens.1,
                "cost": cost,
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["object"], "usage", "{}", answer.text);
    answer.body
}

/// `GET path` with `key`, which must answer 200 with a list: the list.
async fn list(app: &TestApp, key: &str, path: &str) -> Value {
    let answer = app.call(Method::GET, path, Some(key), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
    assert_eq!(answer.body["object"], "list", "{path}: {}", answer.text);
    answer.body
}

/// The request ids of a list's records, in order.
fn request_ids(list: &Value) -> Vec<&str> {
    list["data"]
        .as_array()
        .unwrap_or_else(|| panic!("a data list in {list}"))
        .iter()
        .map(|record| record["request_id"].as_str().expect("a request id"))
        .collect()
}

/// The request ids listed at `path` with `key`, asserting `total` is their number.
async fn listed(app: &TestApp, key: &str, path: &str) -> Vec<String> {
    let body = list(app, key, path).await;
    let ids: Vec<String> = request_ids(&body).into_iter().map(str::to_owned).collect();
    assert_eq!(body["total"], json!(ids.len()), "{path}: {body}");
    ids
}

/// The groups of a summary at `query`, as the master key reads them.
async fn summary(app: &TestApp, query: &str) -> Value {
    let body = list(app, MASTER_KEY, &format!("{SUMMARY}{query}")).await;
    let mut fields: Vec<&str> = body
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(fields, ["data", "object"], "{body}");
    body["data"].clone()
}

/// A summary group.
fn group(group: Option<i64>, requests: i64, tokens: (i64, i64), cost: f64) -> Value {
    json!({
        "group": group,
        "requests": requests,
        "prompt_tokens": tokens.0,
        "completion_tokens": tokens.1,
        "cost": cost,
    })
}

/// Asserts a 422 whose errors are at exactly these query parameters, each with a type and a msg.
#[track_caller]
fn assert_invalid_params(answer: &Answer, params: &[&str]) {
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    let errors = answer.body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("a list of errors: {}", answer.text));
    let found: BTreeSet<String> = errors
        .iter()
        .map(|error| {
            assert!(error["msg"].is_string(), "{error}");
            assert!(error["type"].is_string(), "{error}");
            error["loc"].to_string()
        })
        .collect();
    let wanted: BTreeSet<String> = params
        .iter()
        .map(|param| json!(["query", param]).to_string())
        .collect();
    assert_eq!(found, wanted, "{}", answer.text);
}

/// Six calls a minute apart from 12:00:30 (`r1` to `r6`), of:
/// - `r1`: the master key, router 1: 7 + 0 tokens, cost 0;
/// - `r2`: Ada (Acme), her own key, router 2: 10 + 20, cost 0.5;
/// - `r3`: Ada, her key bound to Apollo (Acme's project, budget 0.5), router 1: 1 + 2, cost 0.25;
/// - `r4`: Grace (Acme), her key bound to Apollo, router 1: 100 + 200, cost 1 (0.25 charged);
/// - `r5`: Linus (Globex), router 1: 1000 + 0, cost 2;
/// - `r6`: Alan (no organization), router 3: 5 + 5, cost 0.1.
struct World {
    acme: i64,
    globex: i64,
    apollo: i64,
    ada: i64,
    ada_key: String,
    grace: i64,
    linus: i64,
    alan: i64,
    alan_key: String,
    /// A user without calls.
    idle_key: String,
    /// The six records, as reported.
    records: Vec<Value>,
}

impl World {
    async fn new(app: &TestApp, clock: Arc<TestClock>) -> Self {
        let acme = app.create_organization("Acme").await;
        let globex = app.create_organization("Globex").await;
        let role = app.create_role("members", &[]).await;
        let ada = app.create_user("ada@example.com", role, Some(acme)).await;
        let grace = app.create_user("grace@example.com", role, Some(acme)).await;
        let linus = app
            .create_user("linus@example.com", role, Some(globex))
            .await;
        let alan = app.create_user("alan@example.com", role, None).await;
        let idle = app.create_user("idle@example.com", role, Some(acme)).await;
        let apollo = app
            .create_project_with(json!({ "name": "Apollo", "organization": acme, "budget": 0.5 }))
            .await;
        app.add_project_member(apollo, ada).await;
        app.add_project_member(apollo, grace).await;
        let ada_key = app.create_key(ada).await;
        let grace_key = app.create_key(grace).await;
        let linus_key = app.create_key(linus).await;
        let alan_key = app.create_key(alan).await;
        let idle_key = app.create_key(idle).await;
        let (_, ada_bound) = app.create_bound_key(&ada_key, apollo).await;
        let (_, grace_bound) = app.create_bound_key(&grace_key, apollo).await;

        let calls = [
            ("r1", MASTER_KEY, 1, (7, 0), 0.0),
            ("r2", ada_key.as_str(), 2, (10, 20), 0.5),
            ("r3", ada_bound.as_str(), 1, (1, 2), 0.25),
            ("r4", grace_bound.as_str(), 1, (100, 200), 1.0),
            ("r5", linus_key.as_str(), 1, (1000, 0), 2.0),
            ("r6", alan_key.as_str(), 3, (5, 5), 0.1),
        ];
        let mut records = Vec::new();
        for (request_id, key, router, tokens, cost) in calls {
            records.push(record(app, request_id, key, router, tokens, cost).await);
            clock.advance(TimeDelta::minutes(1));
        }
        assert_eq!(records[3]["charged"], json!(0.25), "{}", records[3]);
        assert_eq!(records[3]["overrun"], json!(0.75), "{}", records[3]);
        Self {
            acme,
            globex,
            apollo,
            ada,
            ada_key,
            grace,
            linus,
            alan,
            alan_key,
            idle_key,
            records,
        }
    }

    /// When `r{n}` was recorded.
    fn time_of(n: i64) -> i64 {
        at(12, 0, 30).timestamp() + (n - 1) * 60
    }
}

// ---------------------------------------------------------------------------------------------
// GET /v1/me/usage

#[tokio::test]
async fn my_usage_lists_only_my_own_records_in_a_list_envelope() {
    let (app, clock) = app_at(at(12, 0, 30)).await;
    let world = World::new(&app, clock).await;

    let mine = list(&app, &world.ada_key, &format!("{MINE}?limit=50")).await;
    assert_eq!(
        mine,
        json!({
            "object": "list",
            "data": [world.records[1], world.records[2]],
            "total": 2,
            "offset": 0,
            "limit": 50,
        })
    );
    assert_eq!(
        listed(&app, &world.alan_key, MINE).await,
        ["r6"],
        "Alan's only call"
    );
    // The master key's calls are those made with the master key: user 0, no key, no budget.
    assert_eq!(listed(&app, MASTER_KEY, MINE).await, ["r1"]);
    let master = &world.records[0];
    assert_eq!(
        (
            &master["user"],
            &master["organization"],
            &master["project"],
            &master["key"]
        ),
        (&json!(0), &Value::Null, &Value::Null, &Value::Null),
        "{master}"
    );
    assert_eq!(master["budget"], Value::Null, "{master}");
    let none = list(&app, &world.idle_key, MINE).await;
    assert_eq!(none["data"], json!([]), "{none}");
    assert_eq!(none["total"], json!(0), "{none}");

    app.call(Method::GET, MINE, None, None)
        .await
        .assert_detail(401, "Not authenticated");
    app.call(Method::GET, MINE, Some("sk-nobody"), None)
        .await
        .assert_detail(401, "Invalid API key.");
}

#[tokio::test]
async fn my_usage_filters_by_router_project_and_a_from_to_range_of_unix_seconds() {
    let (app, clock) = app_at(at(12, 0, 0)).await;
    let acme = app.create_organization("Acme").await;
    let role = app.create_role("members", &[]).await;
    let ada = app.create_user("ada@example.com", role, Some(acme)).await;
    let ada_key = app.create_key(ada).await;
    let apollo = app
        .create_project_with(json!({ "name": "Apollo", "organization": acme }))
        .await;
    let gemini = app
        .create_project_with(json!({ "name": "Gemini", "organization": acme }))
        .await;
    app.add_project_member(apollo, ada).await;
    let (_, bound) = app.create_bound_key(&ada_key, apollo).await;
    let calls = [
        ("a", ada_key.as_str(), 1),
        ("b", ada_key.as_str(), 2),
        ("c", ada_key.as_str(), 1),
        ("d", bound.as_str(), 1),
    ];
    for (request_id, key, router) in calls {
        record(&app, request_id, key, router, (1, 1), 0.0).await;
        clock.advance(TimeDelta::minutes(1));
    }
    let t = |minutes: i64| at(12, 0, 0).timestamp() + minutes * 60;

    for (query, expected) in [
        (String::new(), vec!["a", "b", "c", "d"]),
        ("router=1".to_owned(), vec!["a", "c", "d"]),
        ("router=2".to_owned(), vec!["b"]),
        ("router=3".to_owned(), vec![]),
        (format!("project={apollo}"), vec!["d"]),
        (format!("project={gemini}"), vec![]),
        (format!("from={}", t(1)), vec!["b", "c", "d"]),
        (format!("from={}", t(1) + 1), vec!["c", "d"]),
        (format!("to={}", t(2)), vec!["a", "b"]),
        (format!("from={}&to={}", t(1), t(2)), vec!["b"]),
        (format!("from={}&to={}", t(2), t(2)), vec![]),
        (format!("router=1&from={}", t(1)), vec!["c", "d"]),
        (format!("from={}", t(4)), vec![]),
        (format!("to={}", t(0)), vec![]),
    ] {
        let path = format!("{MINE}?order_by=id&order_direction=asc&{query}");
        assert_eq!(listed(&app, &ada_key, &path).await, expected, "{query}");
    }
}

#[tokio::test]
async fn usage_lists_page_and_order_by_id_or_created_in_either_direction() {
    let (app, clock) = app_at(at(12, 5, 0)).await;
    let (_, key) = app.user_with_key("ada@example.com", &[]).await;
    // Recorded in the order first, second, third, at 12:05, 12:03 and 12:04.
    record(&app, "first", &key, 1, (1, 1), 0.0).await;
    clock.set(at(12, 3, 0));
    record(&app, "second", &key, 1, (1, 1), 0.0).await;
    clock.set(at(12, 4, 0));
    record(&app, "third", &key, 1, (1, 1), 0.0).await;

    for (base, reader) in [(MINE, key.as_str()), (EVERYONES, MASTER_KEY)] {
        for (query, expected) in [
            ("", vec!["first", "second", "third"]),
            ("?order_by=id", vec!["first", "second", "third"]),
            (
                "?order_by=id&order_direction=desc",
                vec!["third", "second", "first"],
            ),
            ("?order_by=created", vec!["second", "third", "first"]),
            (
                "?order_by=created&order_direction=asc",
                vec!["second", "third", "first"],
            ),
            (
                "?order_by=created&order_direction=desc",
                vec!["first", "third", "second"],
            ),
        ] {
            let path = format!("{base}{query}");
            assert_eq!(listed(&app, reader, &path).await, expected, "{path}");
        }
        let page = list(&app, reader, &format!("{base}?offset=1&limit=1")).await;
        assert_eq!(request_ids(&page), ["second"], "{page}");
        assert_eq!(
            (&page["total"], &page["offset"], &page["limit"]),
            (&json!(3), &json!(1), &json!(1)),
            "{page}"
        );
        let past_the_end = list(&app, reader, &format!("{base}?offset=5&limit=2")).await;
        assert_eq!(past_the_end["data"], json!([]), "{past_the_end}");
        assert_eq!(
            (
                &past_the_end["total"],
                &past_the_end["offset"],
                &past_the_end["limit"]
            ),
            (&json!(3), &json!(5), &json!(2)),
            "{past_the_end}"
        );
    }
}

#[tokio::test]
async fn bad_usage_query_parameters_are_422_naming_each_one() {
    let (app, _clock) = app_at(at(12, 0, 0)).await;
    let (_, key) = app.user_with_key("ada@example.com", &[]).await;
    let common = [
        ("router=x", "router"),
        ("project=p", "project"),
        ("from=abc", "from"),
        ("to=1.5", "to"),
        ("offset=-1", "offset"),
        ("limit=0", "limit"),
        ("limit=101", "limit"),
        ("order_by=cost", "order_by"),
        ("order_by=", "order_by"),
        ("order_direction=up", "order_direction"),
    ];
    for (query, param) in common {
        let answer = app
            .call(Method::GET, &format!("{MINE}?{query}"), Some(&key), None)
            .await;
        assert_invalid_params(&answer, &[param]);
        assert_invalid_params(&app.get(&format!("{EVERYONES}?{query}")).await, &[param]);
    }
    for (query, param) in [("user=u", "user"), ("organization=o", "organization")] {
        assert_invalid_params(&app.get(&format!("{EVERYONES}?{query}")).await, &[param]);
        assert_invalid_params(&app.get(&format!("{SUMMARY}?{query}")).await, &[param]);
    }
    let answer = app
        .call(
            Method::GET,
            &format!("{MINE}?router=x&from=abc&offset=-1&order_by=cost"),
            Some(&key),
            None,
        )
        .await;
    assert_invalid_params(&answer, &["router", "from", "offset", "order_by"]);
    for group_by in ["week", "id", "", "USER"] {
        let answer = app.get(&format!("{SUMMARY}?group_by={group_by}")).await;
        assert_invalid_params(&answer, &["group_by"]);
    }
    let answer = app
        .get(&format!("{SUMMARY}?group_by=week&router=x&to=soon"))
        .await;
    assert_invalid_params(&answer, &["group_by", "router", "to"]);
}

// ---------------------------------------------------------------------------------------------
// GET /v1/admin/usage

#[tokio::test]
async fn the_admin_usage_endpoints_are_401_without_a_key_and_403_without_the_admin_permission() {
    let (app, clock) = app_at(at(12, 0, 30)).await;
    let world = World::new(&app, clock).await;
    let (_, almost) = app
        .user_with_key(
            "almost@example.com",
            &[
                "create_public_collection",
                "read_metric",
                "provide_models",
                "gateway",
            ],
        )
        .await;
    let (_, admin) = app.user_with_key("admin@example.com", &["admin"]).await;
    for path in [
        EVERYONES.to_owned(),
        format!("{EVERYONES}?limit=1000&order_by=nothing"),
        SUMMARY.to_owned(),
        format!("{SUMMARY}?group_by=week"),
    ] {
        app.call(Method::GET, &path, None, None)
            .await
            .assert_detail(401, "Not authenticated");
        app.call(Method::GET, &path, Some("sk-nobody"), None)
            .await
            .assert_detail(401, "Invalid API key.");
        for key in [&almost, &world.ada_key] {
            app.call(Method::GET, &path, Some(key), None)
                .await
                .assert_detail(403, "Insufficient rights.");
        }
    }
    let everyone = list(&app, &admin, &format!("{EVERYONES}?limit=100")).await;
    assert_eq!(everyone["total"], json!(6), "{everyone}");
    let total = list(&app, &admin, SUMMARY).await;
    assert_eq!(total["data"][0]["requests"], json!(6), "{total}");
}

#[tokio::test]
async fn admin_usage_lists_everyones_records_filtered_by_user_organization_project_router_and_time()
{
    let (app, clock) = app_at(at(12, 0, 30)).await;
    let world = World::new(&app, clock).await;

    let all = list(&app, MASTER_KEY, &format!("{EVERYONES}?limit=100")).await;
    assert_eq!(
        all,
        json!({
            "object": "list",
            "data": world.records,
            "total": 6,
            "offset": 0,
            "limit": 100,
        })
    );
    let t = World::time_of;
    for (query, expected) in [
        (format!("user={}", world.ada), vec!["r2", "r3"]),
        ("user=0".to_owned(), vec!["r1"]),
        (format!("user={}", world.grace), vec!["r4"]),
        (format!("user={}", world.alan), vec!["r6"]),
        ("user=999999".to_owned(), vec![]),
        (
            format!("organization={}", world.acme),
            vec!["r2", "r3", "r4"],
        ),
        (format!("organization={}", world.globex), vec!["r5"]),
        (format!("project={}", world.apollo), vec!["r3", "r4"]),
        ("router=1".to_owned(), vec!["r1", "r3", "r4", "r5"]),
        ("router=3".to_owned(), vec!["r6"]),
        (format!("from={}", t(3)), vec!["r3", "r4", "r5", "r6"]),
        (format!("to={}", t(3)), vec!["r1", "r2"]),
        (format!("from={}&to={}", t(2), t(4)), vec!["r2", "r3"]),
        (
            format!("organization={}&router=1", world.acme),
            vec!["r3", "r4"],
        ),
        (
            format!("user={}&project={}", world.ada, world.apollo),
            vec!["r3"],
        ),
        (
            format!("user={}&organization={}", world.linus, world.acme),
            vec![],
        ),
    ] {
        let path = format!("{EVERYONES}?limit=100&{query}");
        assert_eq!(listed(&app, MASTER_KEY, &path).await, expected, "{query}");
    }
}

// ---------------------------------------------------------------------------------------------
// GET /v1/admin/usage/summary

#[tokio::test]
async fn a_summary_without_group_by_is_one_total_with_a_null_group_even_of_nothing() {
    let (app, clock) = app_at(at(12, 0, 30)).await;
    assert_eq!(
        summary(&app, "").await,
        json!([group(None, 0, (0, 0), 0.0)])
    );
    let world = World::new(&app, clock).await;
    assert_eq!(
        summary(&app, "").await,
        json!([group(None, 6, (1123, 227), 3.85)])
    );
    assert_eq!(
        summary(&app, &format!("?user={}", world.ada)).await,
        json!([group(None, 2, (11, 22), 0.75)])
    );
    assert_eq!(
        summary(&app, "?router=1").await,
        json!([group(None, 4, (1108, 202), 3.25)])
    );
    assert_eq!(
        summary(&app, &format!("?from={}", World::time_of(5))).await,
        json!([group(None, 2, (1005, 5), 2.1)])
    );
    assert_eq!(
        summary(&app, "?user=999999").await,
        json!([group(None, 0, (0, 0), 0.0)])
    );
}

#[tokio::test]
async fn a_summary_groups_by_user_organization_project_or_router_ascending_with_the_ungrouped_last()
{
    let (app, clock) = app_at(at(12, 0, 30)).await;
    let world = World::new(&app, clock).await;

    assert_eq!(
        summary(&app, "?group_by=user").await,
        json!([
            group(Some(0), 1, (7, 0), 0.0),
            group(Some(world.ada), 2, (11, 22), 0.75),
            group(Some(world.grace), 1, (100, 200), 1.0),
            group(Some(world.linus), 1, (1000, 0), 2.0),
            group(Some(world.alan), 1, (5, 5), 0.1),
        ])
    );
    // Grace's call cost 1 though only 0.25 could be charged: the cost counts.
    assert_eq!(
        summary(&app, "?group_by=organization").await,
        json!([
            group(Some(world.acme), 3, (111, 222), 1.75),
            group(Some(world.globex), 1, (1000, 0), 2.0),
            group(None, 2, (12, 5), 0.1),
        ])
    );
    assert_eq!(
        summary(&app, "?group_by=project").await,
        json!([
            group(Some(world.apollo), 2, (101, 202), 1.25),
            group(None, 4, (1022, 25), 2.6),
        ])
    );
    assert_eq!(
        summary(&app, "?group_by=router").await,
        json!([
            group(Some(1), 4, (1108, 202), 3.25),
            group(Some(2), 1, (10, 20), 0.5),
            group(Some(3), 1, (5, 5), 0.1),
        ])
    );
    // Filters narrow the records before they are grouped.
    assert_eq!(
        summary(&app, &format!("?group_by=user&organization={}", world.acme)).await,
        json!([
            group(Some(world.ada), 2, (11, 22), 0.75),
            group(Some(world.grace), 1, (100, 200), 1.0),
        ])
    );
    assert_eq!(
        summary(&app, "?group_by=project&router=1").await,
        json!([
            group(Some(world.apollo), 2, (101, 202), 1.25),
            group(None, 2, (1007, 0), 2.0),
        ])
    );
    assert_eq!(
        summary(&app, &format!("?group_by=router&project={}", world.apollo)).await,
        json!([group(Some(1), 2, (101, 202), 1.25)])
    );
}

#[tokio::test]
async fn a_summary_by_day_groups_on_each_utc_days_first_second() {
    let day = |n: i64| at(0, 0, 0) + TimeDelta::days(n);
    let (app, clock) = app_at(day(0) + TimeDelta::hours(10)).await;
    let (_, key) = app.user_with_key("ada@example.com", &[]).await;
    record(&app, "d0-morning", &key, 1, (1, 2), 0.5).await;
    clock.set(day(1) - TimeDelta::seconds(1));
    record(&app, "d0-last-second", &key, 1, (10, 20), 0.25).await;
    clock.set(day(1));
    record(&app, "d1-first-second", &key, 1, (100, 200), 1.0).await;
    clock.set(day(3) + TimeDelta::hours(12));
    record(&app, "d3-noon", &key, 2, (1000, 2000), 2.0).await;

    let first = |n: i64| Some(day(n).timestamp());
    assert_eq!(
        summary(&app, "?group_by=day").await,
        json!([
            group(first(0), 2, (11, 22), 0.75),
            group(first(1), 1, (100, 200), 1.0),
            group(first(3), 1, (1000, 2000), 2.0),
        ])
    );
    assert_eq!(
        summary(&app, &format!("?group_by=day&from={}", day(1).timestamp())).await,
        json!([
            group(first(1), 1, (100, 200), 1.0),
            group(first(3), 1, (1000, 2000), 2.0),
        ])
    );
    assert_eq!(
        summary(&app, &format!("?group_by=day&to={}", day(1).timestamp())).await,
        json!([group(first(0), 2, (11, 22), 0.75)])
    );
    assert_eq!(
        summary(&app, "?group_by=day&router=2").await,
        json!([group(first(3), 1, (1000, 2000), 2.0)])
    );
}
