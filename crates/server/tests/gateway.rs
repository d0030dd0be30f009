//! The gateway's two calls, over HTTP: `POST /v1/auth/authorize` (may this key call this router
//! now? its validity, account, router, rate limits and budget) and `POST /v1/auth/usage` (what an
//! authorized call used and cost), down to their atomicity across two server processes on one
//! database.
//!
//! Times come from a test clock the tests move, 2030-06-15 unless said otherwise; only the tests
//! with two real processes use the real clock.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use gatehouse_domain::chrono::{DateTime, TimeDelta, TimeZone, Utc};
use gatehouse_infrastructure::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{AUTHORIZE, Answer, MASTER_KEY, REPORT, TestApp, TestClock, unix_now};
use tokio::sync::Barrier;
use tokio::task::JoinSet;

/// The router most tests call.
const ROUTER: i64 = 1;

/// Every permission there is, in the contract's order.
const ALL_PERMISSIONS: [&str; 5] = [
    "admin",
    "create_public_collection",
    "read_metric",
    "provide_models",
    "gateway",
];

/// Exactly the fields of an authorization, sorted.
const AUTHORIZATION_FIELDS: [&str; 14] = [
    "allowed",
    "budget",
    "detail",
    "key",
    "limits",
    "object",
    "organization",
    "permissions",
    "project",
    "request_id",
    "retry_after",
    "role",
    "status",
    "user",
];

/// Exactly the fields of a usage record, sorted.
const USAGE_FIELDS: [&str; 16] = [
    "budget",
    "charged",
    "completion_tokens",
    "cost",
    "created",
    "id",
    "key",
    "object",
    "organization",
    "overrun",
    "project",
    "prompt_tokens",
    "request_id",
    "router",
    "total_tokens",
    "user",
];

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

/// The keys of a JSON object, sorted.
fn keys(object: &Value) -> Vec<&str> {
    let mut keys: Vec<&str> = object
        .as_object()
        .unwrap_or_else(|| panic!("an object: {object}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    keys
}

/// The gateway's own key: a user whose role has `gateway` and nothing else.
async fn gateway_key(app: &TestApp) -> String {
    app.user_with_key("gateway@example.com", &["gateway"])
        .await
        .1
}

/// A gateway's client: a user, their role and a key of theirs.
struct Client {
    user: i64,
    role: i64,
    key_id: i64,
    key: String,
}

/// A client of a role without permissions and with `limits`, in `organization`, with `budget`.
async fn client_in(
    app: &TestApp,
    email: &str,
    organization: Option<i64>,
    limits: Value,
    budget: Value,
) -> Client {
    let role = app
        .create_role_with_limits(&format!("role of {email}"), &[], limits)
        .await;
    let user = app
        .create_user_with(json!({
            "email": email,
            "role": role,
            "organization": organization,
            "budget": budget,
        }))
        .await;
    let (key_id, key) = app.create_key_with_id(user).await;
    Client {
        user,
        role,
        key_id,
        key,
    }
}

/// A client in no organization.
async fn client(app: &TestApp, email: &str, limits: Value, budget: Value) -> Client {
    client_in(app, email, None, limits, budget).await
}

/// A limit of a role or project on `ROUTER`.
fn limit(kind: &str, value: i64) -> Value {
    json!({ "router_id": ROUTER, "type": kind, "value": value })
}

/// A call to `ROUTER` without tokens or cost.
fn call(key: &str, request_id: &str) -> Value {
    json!({ "key": key, "router": ROUTER, "request_id": request_id })
}

/// A call to `ROUTER` with `tokens` and `cost`.
fn costly(key: &str, request_id: &str, tokens: i64, cost: f64) -> Value {
    json!({
        "key": key,
        "router": ROUTER,
        "request_id": request_id,
        "tokens": tokens,
        "cost": cost,
    })
}

/// One counter of a decision's `limits`, on `ROUTER`.
fn quota(scope: &str, kind: &str, limit: i64, remaining: i64, reset: DateTime<Utc>) -> Value {
    json!({
        "scope": scope,
        "router": ROUTER,
        "type": kind,
        "limit": limit,
        "remaining": remaining,
        "reset": reset.timestamp(),
    })
}

/// The counters of a decision, as a set of their JSON texts: the contract gives them no order.
fn quotas(decision: &Value) -> BTreeSet<String> {
    decision["limits"]
        .as_array()
        .unwrap_or_else(|| panic!("a limits list in {decision}"))
        .iter()
        .map(Value::to_string)
        .collect()
}

/// Counters as a set of their JSON texts.
fn set(items: &[Value]) -> BTreeSet<String> {
    items.iter().map(Value::to_string).collect()
}

/// Asserts that `decision` allows the call, with exactly these counters.
#[track_caller]
fn assert_allowed(decision: &Value, limits: &[Value]) {
    assert_eq!(keys(decision), AUTHORIZATION_FIELDS, "{decision}");
    assert_eq!(decision["allowed"], json!(true), "{decision}");
    assert_eq!(decision["status"], json!(200), "{decision}");
    assert_eq!(decision["detail"], Value::Null, "{decision}");
    assert_eq!(decision["retry_after"], Value::Null, "{decision}");
    assert_eq!(quotas(decision), set(limits), "{decision}");
}

/// Asserts that `decision` refuses the call with `status` and `detail`, showing these counters.
#[track_caller]
fn assert_refused(decision: &Value, status: u16, detail: &str, limits: &[Value]) {
    assert_eq!(keys(decision), AUTHORIZATION_FIELDS, "{decision}");
    assert_eq!(decision["allowed"], json!(false), "{decision}");
    assert_eq!(decision["status"], json!(status), "{decision}");
    assert_eq!(decision["detail"], json!(detail), "{decision}");
    if status != 429 {
        assert_eq!(decision["retry_after"], Value::Null, "{decision}");
    }
    assert_eq!(quotas(decision), set(limits), "{decision}");
}

/// The decision for an invalid key: nobody, nothing.
fn invalid_key_decision(request_id: &str) -> Value {
    json!({
        "object": "authorization",
        "request_id": request_id,
        "allowed": false,
        "status": 401,
        "detail": "Invalid API key.",
        "user": null,
        "organization": null,
        "project": null,
        "key": null,
        "role": null,
        "permissions": [],
        "budget": null,
        "limits": [],
        "retry_after": null,
    })
}

/// A usage report of `request_id`.
fn usage(request_id: &str, prompt: i64, completion: i64, cost: f64) -> Value {
    json!({
        "request_id": request_id,
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "cost": cost,
    })
}

/// A usage report of a call never authorized, with its key and router.
fn unasked(key: &str, request_id: &str, prompt: i64, completion: i64, cost: f64) -> Value {
    let mut body = usage(request_id, prompt, completion, cost);
    body["key"] = json!(key);
    body["router"] = json!(ROUTER);
    body
}

/// Asserts that a usage report answered `status` with a usage record: the record.
#[track_caller]
fn assert_record(answer: &Answer, status: StatusCode) -> Value {
    assert_eq!(answer.status, status, "{}", answer.text);
    assert_eq!(keys(&answer.body), USAGE_FIELDS, "{}", answer.text);
    assert_eq!(answer.body["object"], "usage", "{}", answer.text);
    assert!(
        answer.body["id"].as_i64().is_some_and(|id| id > 0),
        "{}",
        answer.text
    );
    answer.body.clone()
}

/// How many usage records there are, as an admin counts them.
async fn records(app: &TestApp) -> i64 {
    let answer = app.get("/v1/admin/usage").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["total"].as_i64().expect("a total")
}

/// `PATCH /v1/admin/users/{id}` with `body`, which must answer 204.
async fn patch_user(app: &TestApp, id: i64, body: Value) {
    let answer = app.patch(&format!("/v1/admin/users/{id}"), body).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
}

// ---------------------------------------------------------------------------------------------
// The gateway's credential

#[tokio::test]
async fn the_gateway_credential_is_checked_before_the_body_and_a_refused_one_changes_nothing() {
    let (app, clock) = app_at(at(12, 0, 10)).await;
    let ada = client(&app, "ada@example.com", json!([limit("rpm", 1)]), json!(10)).await;
    let (_, worker) = app
        .user_with_key(
            "worker@example.com",
            &[
                "admin",
                "create_public_collection",
                "read_metric",
                "provide_models",
            ],
        )
        .await;
    let (retired, expired) = app.user_with_key("retired@example.com", &["gateway"]).await;
    patch_user(
        &app,
        retired,
        json!({ "expires": at(12, 0, 40).timestamp() }),
    )
    .await;
    // A project-bound key whose role has `gateway`.
    let acme = app.create_organization("Acme").await;
    let role = app.create_role("bound gateways", &["gateway"]).await;
    let member = app
        .create_user("member@example.com", role, Some(acme))
        .await;
    let member_key = app.create_key(member).await;
    let project = app
        .create_project_with(json!({ "name": "Apollo", "organization": acme }))
        .await;
    app.add_project_member(project, member).await;
    let (_, bound) = app.create_bound_key(&member_key, project).await;
    clock.set(at(12, 0, 50));

    let bodies = [
        (AUTHORIZE, costly(&ada.key, "call-1", 10, 1.0)),
        (
            AUTHORIZE,
            json!({ "router": 0, "request_id": "not valid!" }),
        ),
        (AUTHORIZE, json!([])),
        (REPORT, unasked(&ada.key, "call-1", 10, 10, 1.0)),
        (REPORT, json!({ "prompt_tokens": -1 })),
    ];
    let credentials = [
        (None, 401, "Not authenticated"),
        (Some("sk-not-a-key-of-ours"), 401, "Invalid API key."),
        (Some(worker.as_str()), 403, "Insufficient rights."),
        (Some(expired.as_str()), 403, "Account expired."),
        (Some(bound.as_str()), 403, "Insufficient rights."),
    ];
    for (path, body) in bodies {
        for (credential, status, detail) in credentials {
            app.call(Method::POST, path, credential, Some(body.clone()))
                .await
                .assert_detail(status, detail);
        }
    }

    // Nothing was counted, reserved or recorded: `call-1` is still free, and it is the client's
    // first and only request of the minute.
    assert_eq!(records(&app).await, 0);
    assert_eq!(app.user_budget(ada.user).await, json!(10.0));
    let decision = app
        .decide(MASTER_KEY, costly(&ada.key, "call-1", 10, 1.0))
        .await;
    assert_allowed(&decision, &[quota("user", "rpm", 1, 0, at(12, 1, 0))]);
    assert_eq!(decision["budget"], json!(9.0));
    assert_eq!(app.user_budget(ada.user).await, json!(9.0));
}

// ---------------------------------------------------------------------------------------------
// Allowed decisions

#[tokio::test]
async fn an_allowed_decision_names_the_user_organization_key_role_permissions_budget_and_limits() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let acme = app.create_organization("Acme").await;
    let role = app
        .create_role_with_limits("developers", &["read_metric"], json!([limit("rpm", 5)]))
        .await;
    let ada = app
        .create_user_with(json!({
            "email": "ada@example.com", "role": role, "organization": acme, "budget": 2,
        }))
        .await;
    let (key_id, key) = app.create_key_with_id(ada).await;

    let decision = app.decide(&gateway, costly(&key, "call-1", 0, 0.5)).await;
    assert_eq!(
        decision,
        json!({
            "object": "authorization",
            "request_id": "call-1",
            "allowed": true,
            "status": 200,
            "detail": null,
            "user": ada,
            "organization": acme,
            "project": null,
            "key": key_id,
            "role": role,
            "permissions": ["read_metric"],
            "budget": 1.5,
            "limits": [quota("user", "rpm", 5, 4, at(12, 1, 0))],
            "retry_after": null,
        })
    );
    assert_eq!(app.user_budget(ada).await, json!(1.5));

    // The master key is a gateway credential too; `tokens` and `cost` default to 0.
    let decision = app.decide(MASTER_KEY, call(&key, "call-2")).await;
    assert_allowed(&decision, &[quota("user", "rpm", 5, 3, at(12, 1, 0))]);
    assert_eq!(decision["budget"], json!(1.5));
    assert_eq!(decision["user"], json!(ada));
    assert_eq!(app.user_budget(ada).await, json!(1.5));
}

#[tokio::test]
async fn the_master_key_as_the_key_is_always_allowed_as_user_0_with_every_permission() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    for (index, (tokens, cost)) in [(0, 0.0), (1_000_000, 1e12), (5, 0.5)].iter().enumerate() {
        let request_id = format!("master-{index}");
        let mut decision = app
            .decide(
                &gateway,
                json!({
                    "key": MASTER_KEY,
                    "router": 7,
                    "request_id": request_id,
                    "tokens": tokens,
                    "cost": cost,
                }),
            )
            .await;
        let permissions: BTreeSet<&str> = decision["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .map(|p| p.as_str().expect("a permission"))
            .collect();
        assert_eq!(
            permissions,
            ALL_PERMISSIONS.into_iter().collect(),
            "{decision}"
        );
        decision["permissions"] = Value::Null;
        assert_eq!(
            decision,
            json!({
                "object": "authorization",
                "request_id": request_id,
                "allowed": true,
                "status": 200,
                "detail": null,
                "user": 0,
                "organization": null,
                "project": null,
                "key": null,
                "role": null,
                "permissions": null,
                "budget": null,
                "limits": [],
                "retry_after": null,
            })
        );
    }
}

// ---------------------------------------------------------------------------------------------
// The body

#[tokio::test]
async fn an_invalid_decision_body_is_422_with_every_invalid_field_and_counts_nothing() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(&app, "ada@example.com", json!([limit("rpm", 1)]), json!(5)).await;
    let cases = [
        (
            json!({}),
            vec![
                (json!(["body", "key"]), "missing"),
                (json!(["body", "router"]), "missing"),
                (json!(["body", "request_id"]), "missing"),
            ],
        ),
        (
            json!({ "key": 7, "router": "3", "request_id": "", "tokens": -1, "cost": -0.5 }),
            vec![
                (json!(["body", "key"]), "string_type"),
                (json!(["body", "router"]), "int_type"),
                (json!(["body", "request_id"]), "string_too_short"),
                (json!(["body", "tokens"]), "greater_than_equal"),
                (json!(["body", "cost"]), "greater_than_equal"),
            ],
        ),
        (
            json!({
                "key": ada.key, "router": 0, "request_id": "x".repeat(129),
                "tokens": 1.5, "cost": 1_000_000_000_001.0,
            }),
            vec![
                (json!(["body", "router"]), "greater_than_equal"),
                (json!(["body", "request_id"]), "string_too_long"),
                (json!(["body", "tokens"]), "int_from_float"),
                (json!(["body", "cost"]), "less_than_equal"),
            ],
        ),
        // A valid request id with an invalid field: the id stays free.
        (
            json!({ "key": ada.key, "router": -3, "request_id": "call-1", "cost": 1 }),
            vec![(json!(["body", "router"]), "greater_than_equal")],
        ),
    ];
    for (body, expected) in cases {
        app.authorize(&gateway, body)
            .await
            .assert_invalid(&expected);
    }
    for request_id in ["a b", "call/1", "call;1", "café", "call\n1", "\u{1F600}"] {
        app.authorize(&gateway, call(&ada.key, request_id))
            .await
            .assert_invalid(&[(json!(["body", "request_id"]), "string_pattern_mismatch")]);
    }

    // Nothing was counted or reserved: `call-1` is free, and the only call of the minute.
    let decision = app
        .decide(&gateway, costly(&ada.key, "call-1", 0, 1.0))
        .await;
    assert_allowed(&decision, &[quota("user", "rpm", 1, 0, at(12, 1, 0))]);
    assert_eq!(app.user_budget(ada.user).await, json!(4.0));

    // Every allowed character, 128 of them, is a request id; any text is a key.
    let longest = "Az09._:-".repeat(16);
    assert_eq!(longest.len(), 128);
    let decision = app.decide(&gateway, call(MASTER_KEY, &longest)).await;
    assert_allowed(&decision, &[]);
    for (index, key) in ["", "not a key", "sk-", "Bearer sk-1"].iter().enumerate() {
        let request_id = format!("odd-{index}");
        let decision = app.decide(&gateway, call(key, &request_id)).await;
        assert_eq!(decision, invalid_key_decision(&request_id));
    }
}

// ---------------------------------------------------------------------------------------------
// Refusals, in their order

#[tokio::test]
async fn an_unknown_deleted_or_expired_key_is_a_401_decision_naming_nobody() {
    let (app, clock) = app_at(at(12, 0, 0)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(&app, "ada@example.com", json!([]), json!(10)).await;
    let expiring = |user: i64| {
        app.post(
            "/v1/admin/tokens",
            json!({ "name": "short", "user": user, "expires": at(12, 1, 0).timestamp() }),
        )
    };
    let answer = expiring(ada.user).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let expired_key = answer.body["token"].as_str().unwrap().to_owned();
    let (deleted_id, deleted_key) = app.create_key_with_id(ada.user).await;
    assert_eq!(
        app.delete(&format!("/v1/admin/tokens/{deleted_id}"))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    // A user deleted with their key; a user whose account and key both expired.
    let gone = client(&app, "gone@example.com", json!([]), json!(10)).await;
    assert_eq!(
        app.delete(&format!("/v1/admin/users/{}", gone.user))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    let old = client(&app, "old@example.com", json!([]), json!(10)).await;
    patch_user(
        &app,
        old.user,
        json!({ "expires": at(12, 1, 0).timestamp() }),
    )
    .await;
    let answer = expiring(old.user).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let old_expired_key = answer.body["token"].as_str().unwrap().to_owned();
    clock.set(at(12, 1, 0));

    let invalid = [
        format!("sk-{}", "0".repeat(64)),
        deleted_key,
        expired_key,
        gone.key,
        old_expired_key,
    ];
    for (index, key) in invalid.iter().enumerate() {
        let request_id = format!("invalid-{index}");
        let decision = app
            .decide(&gateway, costly(key, &request_id, 10, 1.0))
            .await;
        assert_eq!(decision, invalid_key_decision(&request_id), "key {index}");
    }
    // Ada's own key still works, and her budget was not touched.
    let decision = app.decide(&gateway, call(&ada.key, "valid")).await;
    assert_allowed(&decision, &[]);
    assert_eq!(decision["budget"], json!(10.0));
}

#[tokio::test]
async fn an_expired_account_is_403_before_the_router_and_the_budget_are_looked_at() {
    let (app, clock) = app_at(at(12, 0, 0)).await;
    let gateway = gateway_key(&app).await;
    let acme = app.create_organization("Acme").await;
    // Router 1 is closed to the role, and the budget is empty.
    let ada = client_in(
        &app,
        "ada@example.com",
        Some(acme),
        json!([limit("rpm", 0)]),
        json!(0),
    )
    .await;
    patch_user(
        &app,
        ada.user,
        json!({ "expires": at(13, 0, 0).timestamp() }),
    )
    .await;

    // Before the expiry: router 1 is refused for itself, router 2 for the budget.
    let closed = app.decide(&gateway, call(&ada.key, "before-1")).await;
    assert_refused(&closed, 403, "Access to this router is not allowed.", &[]);
    let mut other_router = call(&ada.key, "before-2");
    other_router["router"] = json!(2);
    let poor = app.decide(&gateway, other_router).await;
    assert_refused(&poor, 400, "Insufficient budget.", &[]);

    clock.set(at(13, 0, 1));
    for (router, request_id) in [(ROUTER, "after-1"), (2, "after-2")] {
        let mut body = costly(&ada.key, request_id, 10, 0.0);
        body["router"] = json!(router);
        let decision = app.decide(&gateway, body).await;
        assert_refused(&decision, 403, "Account expired.", &[]);
        assert_eq!(decision["user"], json!(ada.user), "{decision}");
        assert_eq!(decision["organization"], json!(acme), "{decision}");
        assert_eq!(decision["key"], json!(ada.key_id), "{decision}");
        assert_eq!(decision["role"], json!(ada.role), "{decision}");
        assert_eq!(decision["budget"], json!(0.0), "{decision}");
    }
    assert_eq!(app.user_budget(ada.user).await, json!(0.0));
}

#[tokio::test]
async fn a_limit_of_0_closes_its_router_with_403_before_counting_and_a_null_limit_is_no_limit() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(
        &app,
        "ada@example.com",
        json!([
            limit("tpd", 0),
            limit("rpm", 5),
            {"router_id": 2, "type": "rpm", "value": 1},
            {"router_id": 3, "type": "rpm", "value": null},
            {"router_id": 3, "type": "tpm"},
        ]),
        json!(10),
    )
    .await;
    let on = |router: i64, request_id: &str| {
        let mut body = costly(&ada.key, request_id, 10, 1.0);
        body["router"] = json!(router);
        body
    };
    for request_id in ["closed-1", "closed-2", "closed-3"] {
        let decision = app.decide(&gateway, on(ROUTER, request_id)).await;
        assert_refused(&decision, 403, "Access to this router is not allowed.", &[]);
        assert_eq!(decision["budget"], json!(10.0), "{decision}");
    }
    assert_eq!(app.user_budget(ada.user).await, json!(10.0));

    // Router 2 has its own counter, untouched by the refusals.
    let decision = app.decide(&gateway, on(2, "open-1")).await;
    let mut expected = quota("user", "rpm", 1, 0, at(12, 1, 0));
    expected["router"] = json!(2);
    assert_allowed(&decision, &[expected]);
    assert_eq!(decision["budget"], json!(9.0));

    // Router 3's limits have no value: no limit, and none listed.
    for request_id in ["free-1", "free-2", "free-3"] {
        let decision = app.decide(&gateway, on(3, request_id)).await;
        assert_allowed(&decision, &[]);
    }
    assert_eq!(app.user_budget(ada.user).await, json!(6.0));
}

// ---------------------------------------------------------------------------------------------
// Rate limits and their windows

#[tokio::test]
async fn rpm_admits_its_limit_per_utc_minute_for_all_of_a_users_keys_then_429_until_the_next_minute()
 {
    let (app, clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(
        &app,
        "ada@example.com",
        json!([limit("rpm", 3)]),
        json!(null),
    )
    .await;
    let second_key = app.create_key(ada.user).await;
    // Another user of the same role counts on their own.
    let grace = app.create_user("grace@example.com", ada.role, None).await;
    let grace_key = app.create_key(grace).await;

    let keys = [&ada.key, &second_key, &ada.key];
    for (index, key) in keys.iter().enumerate() {
        let decision = app
            .decide(&gateway, call(key, &format!("call-{index}")))
            .await;
        let remaining = 2 - i64::try_from(index).unwrap();
        assert_allowed(
            &decision,
            &[quota("user", "rpm", 3, remaining, at(12, 1, 0))],
        );
    }
    let full = [quota("user", "rpm", 3, 0, at(12, 1, 0))];
    let refused = app.decide(&gateway, call(&second_key, "call-3")).await;
    assert_refused(&refused, 429, "Rate limit exceeded.", &full);
    assert_eq!(refused["retry_after"], json!(30), "{refused}");

    let decision = app.decide(&gateway, call(&grace_key, "grace-1")).await;
    assert_allowed(&decision, &[quota("user", "rpm", 3, 2, at(12, 1, 0))]);

    clock.set(at(12, 0, 59));
    let refused = app.decide(&gateway, call(&ada.key, "call-4")).await;
    assert_refused(&refused, 429, "Rate limit exceeded.", &full);
    assert_eq!(refused["retry_after"], json!(1), "{refused}");

    // At the next minute, counts start again from 0.
    clock.set(at(12, 1, 0));
    let decision = app.decide(&gateway, call(&ada.key, "call-5")).await;
    assert_allowed(&decision, &[quota("user", "rpm", 3, 2, at(12, 2, 0))]);
}

#[tokio::test]
async fn rpd_counts_per_utc_day_across_minutes_and_resets_at_midnight() {
    let (app, clock) = app_at(at(23, 58, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(
        &app,
        "ada@example.com",
        json!([limit("rpm", 10), limit("rpd", 2)]),
        json!(null),
    )
    .await;
    let midnight = at(0, 0, 0) + TimeDelta::days(1);
    let first = app.decide(&gateway, call(&ada.key, "call-1")).await;
    assert_allowed(
        &first,
        &[
            quota("user", "rpm", 10, 9, at(23, 59, 0)),
            quota("user", "rpd", 2, 1, midnight),
        ],
    );
    let second = app.decide(&gateway, call(&ada.key, "call-2")).await;
    assert_allowed(
        &second,
        &[
            quota("user", "rpm", 10, 8, at(23, 59, 0)),
            quota("user", "rpd", 2, 0, midnight),
        ],
    );

    // A new minute, but not a new day: only rpd is full, and it resets at midnight.
    clock.set(at(23, 59, 10));
    let refused = app.decide(&gateway, call(&ada.key, "call-3")).await;
    assert_refused(
        &refused,
        429,
        "Rate limit exceeded.",
        &[
            quota("user", "rpm", 10, 10, midnight),
            quota("user", "rpd", 2, 0, midnight),
        ],
    );
    assert_eq!(refused["retry_after"], json!(50), "{refused}");

    clock.set(midnight);
    let decision = app.decide(&gateway, call(&ada.key, "call-4")).await;
    assert_allowed(
        &decision,
        &[
            quota("user", "rpm", 10, 9, midnight + TimeDelta::minutes(1)),
            quota("user", "rpd", 2, 1, midnight + TimeDelta::days(1)),
        ],
    );
}

#[tokio::test]
async fn tpm_and_tpd_count_the_tokens_of_allowed_calls_and_refuse_a_call_that_does_not_fit() {
    let (app, clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(
        &app,
        "ada@example.com",
        json!([limit("tpm", 1000), limit("tpd", 1500)]),
        json!(null),
    )
    .await;
    let midnight = at(0, 0, 0) + TimeDelta::days(1);
    let counters = |tpm: i64, tpd: i64, minute: DateTime<Utc>| {
        [
            quota("user", "tpm", 1000, tpm, minute),
            quota("user", "tpd", 1500, tpd, midnight),
        ]
    };

    let decision = app
        .decide(&gateway, costly(&ada.key, "call-1", 600, 0.0))
        .await;
    assert_allowed(&decision, &counters(400, 900, at(12, 1, 0)));
    let refused = app
        .decide(&gateway, costly(&ada.key, "call-2", 500, 0.0))
        .await;
    assert_refused(
        &refused,
        429,
        "Rate limit exceeded.",
        &counters(400, 900, at(12, 1, 0)),
    );
    assert_eq!(refused["retry_after"], json!(30), "{refused}");
    let decision = app
        .decide(&gateway, costly(&ada.key, "call-3", 400, 0.0))
        .await;
    assert_allowed(&decision, &counters(0, 500, at(12, 1, 0)));

    // The next minute's tpm is empty, but the day has 500 tokens left.
    clock.set(at(12, 1, 0));
    let refused = app
        .decide(&gateway, costly(&ada.key, "call-4", 600, 0.0))
        .await;
    assert_refused(
        &refused,
        429,
        "Rate limit exceeded.",
        &counters(1000, 500, at(12, 2, 0)),
    );
    let until_midnight = midnight.timestamp() - at(12, 1, 0).timestamp();
    assert_eq!(refused["retry_after"], json!(until_midnight), "{refused}");
    let decision = app
        .decide(&gateway, costly(&ada.key, "call-5", 500, 0.0))
        .await;
    assert_allowed(&decision, &counters(500, 0, at(12, 2, 0)));
}

#[tokio::test]
async fn limits_list_every_counter_with_a_value_on_the_called_router_and_nothing_else() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(
        &app,
        "ada@example.com",
        json!([
            limit("tpm", 100),
            {"router_id": ROUTER, "type": "tpd", "value": null},
            limit("rpm", 5),
            limit("rpd", 50),
            {"router_id": 2, "type": "rpm", "value": 1},
        ]),
        json!(null),
    )
    .await;
    let midnight = at(0, 0, 0) + TimeDelta::days(1);
    let decision = app
        .decide(&gateway, costly(&ada.key, "call-1", 10, 0.0))
        .await;
    assert_allowed(
        &decision,
        &[
            quota("user", "tpm", 100, 90, at(12, 1, 0)),
            quota("user", "rpm", 5, 4, at(12, 1, 0)),
            quota("user", "rpd", 50, 49, midnight),
        ],
    );
    assert_eq!(decision["limits"].as_array().unwrap().len(), 3);

    let mut elsewhere = call(&ada.key, "call-2");
    elsewhere["router"] = json!(9);
    assert_allowed(&app.decide(&gateway, elsewhere).await, &[]);
}

// ---------------------------------------------------------------------------------------------
// Atomicity: all or nothing

#[tokio::test]
async fn a_refused_call_counts_nothing_and_reserves_nothing() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let minute = at(12, 1, 0);

    // A 429 on rpm takes no tokens and no money.
    let ada = client(
        &app,
        "ada@example.com",
        json!([limit("tpm", 1000), limit("rpm", 2)]),
        json!(1),
    )
    .await;
    for request_id in ["ada-1", "ada-2"] {
        let decision = app
            .decide(&gateway, costly(&ada.key, request_id, 100, 0.1))
            .await;
        assert!(decision["allowed"].as_bool().unwrap(), "{decision}");
    }
    for request_id in ["ada-3", "ada-4"] {
        let refused = app
            .decide(&gateway, costly(&ada.key, request_id, 100, 0.1))
            .await;
        assert_refused(
            &refused,
            429,
            "Rate limit exceeded.",
            &[
                quota("user", "tpm", 1000, 800, minute),
                quota("user", "rpm", 2, 0, minute),
            ],
        );
        assert_eq!(refused["budget"], json!(0.8), "{refused}");
    }
    assert_eq!(app.user_budget(ada.user).await, json!(0.8));

    // A 429 on tpm takes no request.
    let grace = client(
        &app,
        "grace@example.com",
        json!([limit("tpm", 100), limit("rpm", 3)]),
        json!(null),
    )
    .await;
    let refused = app
        .decide(&gateway, costly(&grace.key, "grace-1", 150, 0.0))
        .await;
    let tpm_full = [
        quota("user", "tpm", 100, 100, minute),
        quota("user", "rpm", 3, 3, minute),
    ];
    assert_refused(&refused, 429, "Rate limit exceeded.", &tpm_full);
    let decision = app.decide(&gateway, call(&grace.key, "grace-2")).await;
    assert_allowed(
        &decision,
        &[
            quota("user", "tpm", 100, 100, minute),
            quota("user", "rpm", 3, 2, minute),
        ],
    );

    // A 400 on the budget takes no request and no tokens.
    let alan = client(
        &app,
        "alan@example.com",
        json!([limit("tpm", 1000), limit("rpm", 2)]),
        json!(0.1),
    )
    .await;
    let poor = app
        .decide(&gateway, costly(&alan.key, "alan-1", 500, 0.5))
        .await;
    assert_refused(
        &poor,
        400,
        "Insufficient budget.",
        &[
            quota("user", "tpm", 1000, 1000, minute),
            quota("user", "rpm", 2, 2, minute),
        ],
    );
    assert_eq!(poor["budget"], json!(0.1), "{poor}");
    let decision = app
        .decide(&gateway, costly(&alan.key, "alan-2", 0, 0.1))
        .await;
    assert_allowed(
        &decision,
        &[
            quota("user", "tpm", 1000, 1000, minute),
            quota("user", "rpm", 2, 1, minute),
        ],
    );
    assert_eq!(decision["budget"], json!(0.0));
    // A budget of 0 refuses even a call that costs nothing.
    let empty = app.decide(&gateway, call(&alan.key, "alan-3")).await;
    assert_refused(
        &empty,
        400,
        "Insufficient budget.",
        &[
            quota("user", "tpm", 1000, 1000, minute),
            quota("user", "rpm", 2, 1, minute),
        ],
    );
    assert_eq!(app.user_budget(alan.user).await, json!(0.0));
}

#[tokio::test]
async fn the_rate_limit_is_checked_before_the_budget() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(&app, "ada@example.com", json!([limit("rpm", 1)]), json!(1)).await;
    let decision = app.decide(&gateway, call(&ada.key, "call-1")).await;
    assert_allowed(&decision, &[quota("user", "rpm", 1, 0, at(12, 1, 0))]);
    patch_user(&app, ada.user, json!({ "budget": 0 })).await;
    let refused = app
        .decide(&gateway, costly(&ada.key, "call-2", 0, 5.0))
        .await;
    assert_refused(
        &refused,
        429,
        "Rate limit exceeded.",
        &[quota("user", "rpm", 1, 0, at(12, 1, 0))],
    );
    assert_eq!(refused["retry_after"], json!(30), "{refused}");
}

#[tokio::test]
async fn an_allowed_call_reserves_its_cost_at_once_exactly_and_an_unlimited_budget_is_untouched() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(&app, "ada@example.com", json!([]), json!(0.3)).await;
    let steps = [
        ("call-0", 0.0, Some(0.3)),
        ("call-1", 0.1, Some(0.2)),
        ("call-2", 0.1, Some(0.1)),
        ("call-3", 0.2, None),
        ("call-4", 0.1, Some(0.0)),
        ("call-5", 0.0, None),
    ];
    for (request_id, cost, left) in steps {
        let decision = app
            .decide(&gateway, costly(&ada.key, request_id, 0, cost))
            .await;
        if let Some(left) = left {
            assert_allowed(&decision, &[]);
            assert_eq!(decision["budget"], json!(left), "{decision}");
            assert_eq!(app.user_budget(ada.user).await, json!(left));
        } else {
            assert_refused(&decision, 400, "Insufficient budget.", &[]);
            assert_eq!(
                decision["budget"],
                app.user_budget(ada.user).await,
                "{decision}"
            );
        }
    }

    let rich = client(&app, "rich@example.com", json!([]), json!(null)).await;
    for request_id in ["rich-1", "rich-2"] {
        let decision = app
            .decide(&gateway, costly(&rich.key, request_id, 0, 1e12))
            .await;
        assert_allowed(&decision, &[]);
        assert_eq!(decision["budget"], Value::Null, "{decision}");
    }
    assert_eq!(app.user_budget(rich.user).await, Value::Null);
}

#[tokio::test]
async fn money_is_exact_to_the_millionth_rounded_half_away_from_zero_and_written_with_a_dot() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let role = app.create_role("spenders", &[]).await;
    for (index, (given, read)) in [
        (json!(1.000_000_5), json!(1.000_001)),
        (json!(1.000_000_4), json!(1.0)),
        (json!(5), json!(5.0)),
        (json!(0.1), json!(0.1)),
        (json!(1e12), json!(1e12)),
        (json!(0), json!(0.0)),
    ]
    .into_iter()
    .enumerate()
    {
        let user = app
            .create_user_with(json!({
                "email": format!("user{index}@example.com"), "role": role, "budget": given,
            }))
            .await;
        assert_eq!(app.user_budget(user).await, read, "budget {given}");
    }
    let answer = app
        .post(
            "/v1/admin/users",
            json!({
                "email": "too-rich@example.com", "password": "correct horse battery",
                "role": role, "budget": 1_000_000_000_001.0,
            }),
        )
        .await;
    answer.assert_invalid(&[(json!(["body", "budget"]), "less_than_equal")]);

    // Costs are rounded the same way before they are reserved.
    let ada = client(&app, "ada@example.com", json!([]), json!(2.000_001)).await;
    for (request_id, cost, left) in [
        ("half-up", 0.000_000_5, json!(2.0)),
        ("below-half", 0.000_000_4, json!(2.0)),
        ("long", 0.100_000_000_1, json!(1.9)),
        ("whole", 1.0, json!(0.9)),
    ] {
        let decision = app
            .decide(&gateway, costly(&ada.key, request_id, 0, cost))
            .await;
        assert_allowed(&decision, &[]);
        assert_eq!(decision["budget"], left, "{request_id}: {decision}");
        assert_eq!(app.user_budget(ada.user).await, left, "{request_id}");
    }
    let answer = app
        .authorize(&gateway, costly(&ada.key, "whole-again", 0, 0.9))
        .await;
    assert!(
        answer.text.contains(r#""budget":0.0"#),
        "a whole amount is written with .0: {}",
        answer.text
    );
}

// ---------------------------------------------------------------------------------------------
// Idempotence

#[tokio::test]
async fn asking_again_with_the_same_request_id_and_key_replays_the_first_decision_and_counts_nothing()
 {
    let (app, clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(&app, "ada@example.com", json!([limit("rpm", 2)]), json!(1)).await;

    let first = app
        .decide(&gateway, costly(&ada.key, "call-1", 100, 0.25))
        .await;
    assert_allowed(&first, &[quota("user", "rpm", 2, 1, at(12, 1, 0))]);
    assert_eq!(first["budget"], json!(0.75));
    // Asked again, by either credential, even with other figures: the first decision.
    let mut other_figures = call(&ada.key, "call-1");
    other_figures["router"] = json!(2);
    other_figures["cost"] = json!(0.5);
    for (credential, body) in [
        (gateway.as_str(), costly(&ada.key, "call-1", 100, 0.25)),
        (gateway.as_str(), other_figures),
        (MASTER_KEY, costly(&ada.key, "call-1", 100, 0.25)),
    ] {
        assert_eq!(app.decide(credential, body).await, first);
    }
    assert_eq!(app.user_budget(ada.user).await, json!(0.75));
    // The replays counted nothing: one request is left this minute.
    let second = app.decide(&gateway, call(&ada.key, "call-2")).await;
    assert_allowed(&second, &[quota("user", "rpm", 2, 0, at(12, 1, 0))]);
    let limited = app.decide(&gateway, call(&ada.key, "call-3")).await;
    assert_refused(
        &limited,
        429,
        "Rate limit exceeded.",
        &[quota("user", "rpm", 2, 0, at(12, 1, 0))],
    );

    // In the next minute, with money again, the decisions are still the first ones, verbatim.
    clock.set(at(12, 1, 10));
    patch_user(&app, ada.user, json!({ "budget": 0 })).await;
    assert_eq!(
        app.decide(&gateway, call(&ada.key, "call-3")).await,
        limited
    );
    assert_eq!(
        app.decide(&gateway, costly(&ada.key, "call-1", 100, 0.25))
            .await,
        first
    );
    let poor = app
        .decide(&gateway, costly(&ada.key, "call-4", 0, 1.0))
        .await;
    assert_refused(
        &poor,
        400,
        "Insufficient budget.",
        &[quota("user", "rpm", 2, 2, at(12, 2, 0))],
    );
    patch_user(&app, ada.user, json!({ "budget": 10 })).await;
    assert_eq!(
        app.decide(&gateway, costly(&ada.key, "call-4", 0, 1.0))
            .await,
        poor
    );
    assert_eq!(app.user_budget(ada.user).await, json!(10.0));
    // None of the replays of this minute counted.
    let decision = app.decide(&gateway, call(&ada.key, "call-5")).await;
    assert_allowed(&decision, &[quota("user", "rpm", 2, 1, at(12, 2, 0))]);
}

#[tokio::test]
async fn the_same_request_id_with_another_key_is_409_and_changes_nothing() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(&app, "ada@example.com", json!([limit("rpm", 5)]), json!(1)).await;
    let grace = client(
        &app,
        "grace@example.com",
        json!([limit("rpm", 1)]),
        json!(1),
    )
    .await;
    let ada_second_key = app.create_key(ada.user).await;

    let first = app
        .decide(&gateway, costly(&ada.key, "call-1", 0, 0.5))
        .await;
    assert!(first["allowed"].as_bool().unwrap(), "{first}");
    // A refusal (an unknown key) is a decision too: its id is taken.
    let unknown = app.decide(&gateway, call("sk-unknown", "call-2")).await;
    assert_eq!(unknown, invalid_key_decision("call-2"));
    assert_eq!(
        app.decide(&gateway, call("sk-unknown", "call-2")).await,
        unknown
    );

    for request_id in ["call-1", "call-2"] {
        for key in [
            grace.key.as_str(),
            ada_second_key.as_str(),
            MASTER_KEY,
            "sk-someone-else",
        ] {
            app.authorize(&gateway, costly(key, request_id, 0, 0.5))
                .await
                .assert_detail(409, "Request id already used.");
        }
    }
    app.authorize(&gateway, costly(&ada.key, "call-2", 0, 0.5))
        .await
        .assert_detail(409, "Request id already used.");

    // Nobody was counted or charged; the first decisions stand.
    assert_eq!(app.user_budget(ada.user).await, json!(0.5));
    assert_eq!(app.user_budget(grace.user).await, json!(1.0));
    let decision = app.decide(&gateway, call(&grace.key, "grace-1")).await;
    assert_allowed(&decision, &[quota("user", "rpm", 1, 0, at(12, 1, 0))]);
    let decision = app.decide(&gateway, call(&ada.key, "ada-2")).await;
    assert_allowed(&decision, &[quota("user", "rpm", 5, 3, at(12, 1, 0))]);
    assert_eq!(
        app.decide(&gateway, costly(&ada.key, "call-1", 0, 0.5))
            .await,
        first
    );
}

// ---------------------------------------------------------------------------------------------
// Usage reports

#[tokio::test]
async fn reporting_an_authorized_call_refunds_what_it_did_not_use_and_answers_201_then_200() {
    let (app, clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let acme = app.create_organization("Acme").await;
    let ada = client_in(&app, "ada@example.com", Some(acme), json!([]), json!(1)).await;
    let decision = app
        .decide(&gateway, costly(&ada.key, "call-1", 1200, 0.05))
        .await;
    assert_eq!(decision["budget"], json!(0.95));

    clock.set(at(12, 0, 35));
    let answer = app
        .report_usage(&gateway, usage("call-1", 1200, 250, 0.03))
        .await;
    let record = assert_record(&answer, StatusCode::CREATED);
    let id = record["id"].clone();
    assert_eq!(
        record,
        json!({
            "object": "usage",
            "id": id,
            "request_id": "call-1",
            "user": ada.user,
            "organization": acme,
            "project": null,
            "key": ada.key_id,
            "router": ROUTER,
            "prompt_tokens": 1200,
            "completion_tokens": 250,
            "total_tokens": 1450,
            "cost": 0.03,
            "charged": 0.03,
            "overrun": 0.0,
            "budget": 0.97,
            "created": at(12, 0, 35).timestamp(),
        })
    );
    assert_eq!(app.user_budget(ada.user).await, json!(0.97));

    // Again, even with other figures, or naming the same key and router: the same record, 200.
    clock.set(at(12, 3, 0));
    let mut same_call = usage("call-1", 1200, 250, 0.03);
    same_call["key"] = json!(ada.key);
    same_call["router"] = json!(ROUTER);
    for body in [
        usage("call-1", 1200, 250, 0.03),
        usage("call-1", 0, 0, 5.0),
        same_call,
    ] {
        let answer = app.report_usage(MASTER_KEY, body).await;
        assert_eq!(assert_record(&answer, StatusCode::OK), record);
    }
    assert_eq!(app.user_budget(ada.user).await, json!(0.97));
    assert_eq!(records(&app).await, 1);
}

#[tokio::test]
async fn a_cost_above_the_reservation_is_debited_as_far_as_the_budget_goes_and_the_rest_is_overrun()
{
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    // (budget, reserved, cost, charged, overrun, what is left)
    let cases = [
        (json!(1), 0.5, 2.0, json!(1.0), json!(1.0), json!(0.0)),
        (json!(1), 0.2, 0.7, json!(0.7), json!(0.0), json!(0.3)),
        (json!(1), 0.4, 0.4, json!(0.4), json!(0.0), json!(0.6)),
        (json!(1), 0.4, 0.0, json!(0.0), json!(0.0), json!(1.0)),
        (json!(null), 0.5, 3.0, json!(3.0), json!(0.0), Value::Null),
    ];
    for (index, (budget, reserved, cost, charged, overrun, left)) in cases.into_iter().enumerate() {
        let email = format!("user{index}@example.com");
        let user = client(&app, &email, json!([]), budget).await;
        let request_id = format!("call-{index}");
        let decision = app
            .decide(&gateway, costly(&user.key, &request_id, 0, reserved))
            .await;
        assert!(decision["allowed"].as_bool().unwrap(), "{decision}");
        let answer = app
            .report_usage(&gateway, usage(&request_id, 10, 20, cost))
            .await;
        let record = assert_record(&answer, StatusCode::CREATED);
        assert_eq!(record["cost"], json!(cost), "case {index}: {record}");
        assert_eq!(record["charged"], charged, "case {index}: {record}");
        assert_eq!(record["overrun"], overrun, "case {index}: {record}");
        assert_eq!(record["budget"], left, "case {index}: {record}");
        assert_eq!(app.user_budget(user.user).await, left, "case {index}");
    }
}

#[tokio::test]
async fn tokens_beyond_those_authorized_are_added_to_tpm_and_tpd_of_the_current_windows() {
    let (app, clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(
        &app,
        "ada@example.com",
        json!([
            limit("tpm", 10_000),
            limit("tpd", 100_000),
            limit("rpm", 100)
        ]),
        json!(null),
    )
    .await;
    let midnight = at(0, 0, 0) + TimeDelta::days(1);
    let counters = |tpm: i64, tpd: i64, rpm: i64, minute: DateTime<Utc>| {
        [
            quota("user", "tpm", 10_000, tpm, minute),
            quota("user", "tpd", 100_000, tpd, midnight),
            quota("user", "rpm", 100, rpm, minute),
        ]
    };
    let decision = app
        .decide(&gateway, costly(&ada.key, "call-1", 1000, 0.0))
        .await;
    assert_allowed(&decision, &counters(9000, 99_000, 99, at(12, 1, 0)));
    let answer = app
        .report_usage(&gateway, usage("call-1", 1000, 500, 0.0))
        .await;
    assert_record(&answer, StatusCode::CREATED);
    let decision = app.decide(&gateway, call(&ada.key, "call-2")).await;
    assert_allowed(&decision, &counters(8500, 98_500, 98, at(12, 1, 0)));

    // Fewer tokens than authorized: nothing is given back.
    let decision = app
        .decide(&gateway, costly(&ada.key, "call-3", 2000, 0.0))
        .await;
    assert_allowed(&decision, &counters(6500, 96_500, 97, at(12, 1, 0)));
    let answer = app
        .report_usage(&gateway, usage("call-3", 100, 100, 0.0))
        .await;
    assert_record(&answer, StatusCode::CREATED);
    let decision = app.decide(&gateway, call(&ada.key, "call-4")).await;
    assert_allowed(&decision, &counters(6500, 96_500, 96, at(12, 1, 0)));

    // Reported in the next minute: the extra tokens go to the new minute, and to the day.
    clock.set(at(12, 1, 10));
    let answer = app
        .report_usage(&gateway, usage("call-4", 0, 300, 0.0))
        .await;
    assert_record(&answer, StatusCode::CREATED);
    let decision = app.decide(&gateway, call(&ada.key, "call-5")).await;
    assert_allowed(&decision, &counters(9700, 96_200, 99, at(12, 2, 0)));

    // Reported again: counted once.
    let answer = app
        .report_usage(&gateway, usage("call-4", 0, 300, 0.0))
        .await;
    assert_record(&answer, StatusCode::OK);
    let decision = app.decide(&gateway, call(&ada.key, "call-6")).await;
    assert_allowed(&decision, &counters(9700, 96_200, 98, at(12, 2, 0)));

    // Reported tokens are counted even beyond the limit: the minute is then full.
    let answer = app
        .report_usage(&gateway, usage("call-6", 20_000, 0, 0.0))
        .await;
    assert_record(&answer, StatusCode::CREATED);
    let refused = app
        .decide(&gateway, costly(&ada.key, "call-7", 1, 0.0))
        .await;
    assert_eq!(refused["status"], json!(429), "{refused}");
    assert_eq!(refused["retry_after"], json!(50), "{refused}");
}

#[tokio::test]
async fn an_authorized_call_never_reported_keeps_its_reservation_charged() {
    let (app, clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(&app, "ada@example.com", json!([]), json!(1)).await;
    let decision = app
        .decide(&gateway, costly(&ada.key, "call-1", 100, 0.4))
        .await;
    assert_eq!(decision["budget"], json!(0.6));
    clock.advance(TimeDelta::days(3));
    let later = app.decide(&gateway, call(&ada.key, "call-2")).await;
    assert_allowed(&later, &[]);
    assert_eq!(later["budget"], json!(0.6));
    assert_eq!(app.user_budget(ada.user).await, json!(0.6));
    assert_eq!(records(&app).await, 0);
}

#[tokio::test]
async fn a_call_never_authorized_is_reported_with_its_key_and_router_counted_and_charged() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let acme = app.create_organization("Acme").await;
    let ada = client_in(
        &app,
        "ada@example.com",
        Some(acme),
        json!([limit("tpm", 1000), limit("rpm", 4)]),
        json!(1),
    )
    .await;
    let minute = at(12, 1, 0);
    let counters = |tpm: i64, rpm: i64| {
        [
            quota("user", "tpm", 1000, tpm, minute),
            quota("user", "rpm", 4, rpm, minute),
        ]
    };
    // A first call opens the user's counters on the router.
    let decision = app.decide(&gateway, call(&ada.key, "call-0")).await;
    assert_allowed(&decision, &counters(1000, 3));

    let answer = app
        .report_usage(&gateway, unasked(&ada.key, "unasked-1", 100, 200, 0.2))
        .await;
    let record = assert_record(&answer, StatusCode::CREATED);
    let id = record["id"].clone();
    assert_eq!(
        record,
        json!({
            "object": "usage",
            "id": id,
            "request_id": "unasked-1",
            "user": ada.user,
            "organization": acme,
            "project": null,
            "key": ada.key_id,
            "router": ROUTER,
            "prompt_tokens": 100,
            "completion_tokens": 200,
            "total_tokens": 300,
            "cost": 0.2,
            "charged": 0.2,
            "overrun": 0.0,
            "budget": 0.8,
            "created": at(12, 0, 30).timestamp(),
        })
    );
    assert_eq!(app.user_budget(ada.user).await, json!(0.8));
    // One request and all its tokens were counted.
    let decision = app.decide(&gateway, call(&ada.key, "call-1")).await;
    assert_allowed(&decision, &counters(700, 1));
    // Reported again, with or without its key: the same record, counted and charged once.
    for body in [
        unasked(&ada.key, "unasked-1", 100, 200, 0.2),
        usage("unasked-1", 100, 200, 0.2),
    ] {
        let answer = app.report_usage(&gateway, body).await;
        assert_eq!(assert_record(&answer, StatusCode::OK), record);
    }
    let decision = app.decide(&gateway, call(&ada.key, "call-2")).await;
    assert_allowed(&decision, &counters(700, 0));
    assert_eq!(app.user_budget(ada.user).await, json!(0.8));

    // A refused decision is no authorization: its report needs the key, and is charged in full,
    // as far as the budget goes.
    let refused = app.decide(&gateway, call(&ada.key, "call-3")).await;
    assert_eq!(refused["status"], json!(429), "{refused}");
    app.report_usage(&gateway, usage("call-3", 1, 1, 0.1))
        .await
        .assert_detail(404, "Authorization not found.");
    let answer = app
        .report_usage(&gateway, unasked(&ada.key, "call-3", 1, 1, 1.5))
        .await;
    let record = assert_record(&answer, StatusCode::CREATED);
    assert_eq!(record["request_id"], "call-3");
    assert_eq!(record["cost"], json!(1.5));
    assert_eq!(record["charged"], json!(0.8));
    assert_eq!(record["overrun"], json!(0.7));
    assert_eq!(record["budget"], json!(0.0));
    assert_eq!(app.user_budget(ada.user).await, json!(0.0));

    // An unlimited budget: charged is the cost, nothing overruns.
    let rich = client(&app, "rich@example.com", json!([]), json!(null)).await;
    let answer = app
        .report_usage(&gateway, unasked(&rich.key, "rich-1", 5, 5, 2.5))
        .await;
    let record = assert_record(&answer, StatusCode::CREATED);
    assert_eq!(record["charged"], json!(2.5));
    assert_eq!(record["overrun"], json!(0.0));
    assert_eq!(record["budget"], Value::Null);
    assert_eq!(records(&app).await, 3);
}

#[tokio::test]
async fn a_report_never_authorized_without_key_is_404_without_router_or_with_an_unknown_key_422() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(&app, "ada@example.com", json!([limit("rpm", 1)]), json!(1)).await;

    app.report_usage(&gateway, usage("ghost", 1, 1, 0.5))
        .await
        .assert_detail(404, "Authorization not found.");
    let mut without_router = usage("ghost", 1, 1, 0.5);
    without_router["key"] = json!(ada.key);
    app.report_usage(&gateway, without_router)
        .await
        .assert_invalid(&[(json!(["body", "router"]), "missing")]);
    for key in ["sk-unknown", ""] {
        app.report_usage(&gateway, unasked(key, "ghost", 1, 1, 0.5))
            .await
            .assert_invalid(&[(json!(["body", "key"]), "value_error")]);
    }

    // Nothing was recorded, counted or charged; the id is still free.
    assert_eq!(records(&app).await, 0);
    assert_eq!(app.user_budget(ada.user).await, json!(1.0));
    let decision = app.decide(&gateway, call(&ada.key, "ghost")).await;
    assert_allowed(&decision, &[quota("user", "rpm", 1, 0, at(12, 1, 0))]);
}

#[tokio::test]
async fn a_report_naming_another_key_or_router_than_the_authorized_call_is_409_and_changes_nothing()
{
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(&app, "ada@example.com", json!([]), json!(1)).await;
    let grace = client(&app, "grace@example.com", json!([]), json!(1)).await;
    let decision = app
        .decide(&gateway, costly(&ada.key, "call-1", 0, 0.5))
        .await;
    assert!(decision["allowed"].as_bool().unwrap(), "{decision}");

    let mut other_router = unasked(&ada.key, "call-1", 1, 1, 0.1);
    other_router["router"] = json!(2);
    let mut only_router = usage("call-1", 1, 1, 0.1);
    only_router["router"] = json!(2);
    for body in [
        unasked(&grace.key, "call-1", 1, 1, 0.1),
        unasked(MASTER_KEY, "call-1", 1, 1, 0.1),
        other_router.clone(),
        only_router,
    ] {
        app.report_usage(&gateway, body)
            .await
            .assert_detail(409, "Request id already used.");
    }
    assert_eq!(records(&app).await, 0);
    assert_eq!(app.user_budget(ada.user).await, json!(0.5));
    assert_eq!(app.user_budget(grace.user).await, json!(1.0));

    let answer = app
        .report_usage(&gateway, unasked(&ada.key, "call-1", 1, 1, 0.1))
        .await;
    let record = assert_record(&answer, StatusCode::CREATED);
    assert_eq!(record["budget"], json!(0.9));
    // Once recorded, a replay under another key or router is refused the same way.
    for (label, body) in [
        ("another key", unasked(&grace.key, "call-1", 1, 1, 0.1)),
        ("another router", other_router),
    ] {
        let answer = app.report_usage(&gateway, body).await;
        assert_eq!(
            answer.status,
            StatusCode::CONFLICT,
            "{label}: {}",
            answer.text
        );
        answer.assert_detail(409, "Request id already used.");
    }
    assert_eq!(app.user_budget(ada.user).await, json!(0.9));
    assert_eq!(app.user_budget(grace.user).await, json!(1.0));
}

#[tokio::test]
async fn an_invalid_usage_report_is_422_with_every_invalid_field_and_records_nothing() {
    let (app, _clock) = app_at(at(12, 0, 30)).await;
    let gateway = gateway_key(&app).await;
    let ada = client(&app, "ada@example.com", json!([]), json!(1)).await;
    let decision = app
        .decide(&gateway, costly(&ada.key, "call-1", 0, 0.5))
        .await;
    assert!(decision["allowed"].as_bool().unwrap(), "{decision}");
    let cases = [
        (
            json!({}),
            vec![
                (json!(["body", "request_id"]), "missing"),
                (json!(["body", "prompt_tokens"]), "missing"),
                (json!(["body", "completion_tokens"]), "missing"),
                (json!(["body", "cost"]), "missing"),
            ],
        ),
        (
            json!({
                "request_id": "a b", "prompt_tokens": -1, "completion_tokens": 1.5,
                "cost": -1, "router": 0,
            }),
            vec![
                (json!(["body", "request_id"]), "string_pattern_mismatch"),
                (json!(["body", "prompt_tokens"]), "greater_than_equal"),
                (json!(["body", "completion_tokens"]), "int_from_float"),
                (json!(["body", "cost"]), "greater_than_equal"),
                (json!(["body", "router"]), "greater_than_equal"),
            ],
        ),
        (
            json!({
                "request_id": "x".repeat(129), "prompt_tokens": "1", "completion_tokens": -5,
                "cost": 1_000_000_000_001.0, "key": 5,
            }),
            vec![
                (json!(["body", "request_id"]), "string_too_long"),
                (json!(["body", "prompt_tokens"]), "int_type"),
                (json!(["body", "completion_tokens"]), "greater_than_equal"),
                (json!(["body", "cost"]), "less_than_equal"),
                (json!(["body", "key"]), "string_type"),
            ],
        ),
        (
            json!({ "request_id": "call-1", "prompt_tokens": 1, "completion_tokens": 1 }),
            vec![(json!(["body", "cost"]), "missing")],
        ),
        (
            json!({ "request_id": "", "prompt_tokens": 1, "completion_tokens": 1, "cost": 1 }),
            vec![(json!(["body", "request_id"]), "string_too_short")],
        ),
    ];
    for (body, expected) in cases {
        app.report_usage(&gateway, body)
            .await
            .assert_invalid(&expected);
    }
    assert_eq!(records(&app).await, 0);
    assert_eq!(app.user_budget(ada.user).await, json!(0.5));
    let answer = app
        .report_usage(&gateway, usage("call-1", 1, 1, 0.25))
        .await;
    assert_eq!(
        assert_record(&answer, StatusCode::CREATED)["budget"],
        json!(0.75)
    );
}

// ---------------------------------------------------------------------------------------------
// Two real server processes on one database, with the real clock

/// A `gatehouse serve` process, killed when dropped.
struct Server {
    child: Child,
    /// `http://127.0.0.1:<port>`.
    address: String,
}

impl Server {
    /// Starts `gatehouse serve` on `db`, on a free port, and waits until it serves.
    fn start(db: &TestDatabase) -> Self {
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        for variable in [
            "DATABASE_POOL_SIZE",
            "KEY_MAX_EXPIRATION_DAYS",
            "HTTP_WORKERS",
            "RUST_LOG",
        ] {
            command.env_remove(variable);
        }
        let mut child = command
            .arg("serve")
            .env("DATABASE_URL", db.url())
            .env("MASTER_KEY", MASTER_KEY)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("LOG_FORMAT", "json")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gatehouse starts");
        // Reads the log to its end (a full pipe would stall the server), passing on the address.
        let (found, address) = mpsc::channel();
        let stderr = child.stderr.take().expect("stderr");
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let Ok(event) = serde_json::from_str::<Value>(&line) else {
                    continue;
                };
                if event["message"] == "gatehouse is serving" {
                    let address = event["address"].as_str().unwrap_or_default().to_owned();
                    let _ = found.send(address);
                }
            }
        });
        let address = address
            .recv_timeout(Duration::from_mins(1))
            .expect("the server logs its address");
        Self {
            child,
            address: format!("http://{address}"),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Two servers on one database, and a client to call them.
struct Cluster {
    servers: [Server; 2],
    client: reqwest::Client,
    _db: TestDatabase,
}

impl Cluster {
    fn start() -> Self {
        let db = TestDatabase::new();
        // One after the other: each applies the (already applied) migrations at start.
        let first = Server::start(&db);
        let second = Server::start(&db);
        Self {
            servers: [first, second],
            client: support::client(),
            _db: db,
        }
    }

    /// `method path` on server `server` with `key`, and `body`.
    async fn call(
        &self,
        server: usize,
        method: Method,
        path: &str,
        key: &str,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.servers[server].address))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        read(request.send().await.expect("the server answers")).await
    }

    /// `POST path` as the master key on the first server, which must answer 201: the object.
    async fn create(&self, path: &str, body: Value) -> Value {
        let answer = self
            .call(0, Method::POST, path, MASTER_KEY, Some(body))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body
    }

    /// A user of a new role with `permissions` and `limits`, with `budget`, in `organization`:
    /// `(user id, key)`.
    async fn user(
        &self,
        email: &str,
        permissions: &[&str],
        limits: Value,
        budget: Value,
        organization: Option<i64>,
    ) -> (i64, String) {
        let role = self
            .create(
                "/v1/admin/roles",
                json!({
                    "name": format!("role of {email}"),
                    "permissions": permissions,
                    "limits": limits,
                }),
            )
            .await;
        let user = self
            .create(
                "/v1/admin/users",
                json!({
                    "email": email,
                    "password": "correct horse battery",
                    "role": role["id"],
                    "budget": budget,
                    "organization": organization,
                }),
            )
            .await;
        let key = self
            .create(
                "/v1/admin/tokens",
                json!({ "name": "key", "user": user["id"] }),
            )
            .await;
        (
            user["id"].as_i64().unwrap(),
            key["token"].as_str().unwrap().to_owned(),
        )
    }

    /// `GET path` as the master key on the second server, which must answer 200.
    async fn read(&self, path: &str) -> Value {
        let answer = self.call(1, Method::GET, path, MASTER_KEY, None).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.body
    }

    /// Sends every `(path, body)` at once as `credential`, alternating between the servers; the
    /// answers in the order of `requests`.
    async fn burst(&self, credential: &str, requests: Vec<(&str, Value)>) -> Vec<Answer> {
        let barrier = Arc::new(Barrier::new(requests.len()));
        let mut tasks = JoinSet::new();
        for (index, (path, body)) in requests.into_iter().enumerate() {
            let barrier = Arc::clone(&barrier);
            let request = self
                .client
                .post(format!("{}{path}", self.servers[index % 2].address))
                .bearer_auth(credential)
                .json(&body);
            tasks.spawn(async move {
                barrier.wait().await;
                let response = request.send().await.expect("the server answers");
                (index, read(response).await)
            });
        }
        let mut answers: Vec<Option<Answer>> =
            std::iter::repeat_with(|| None).take(tasks.len()).collect();
        while let Some(joined) = tasks.join_next().await {
            let (index, answer) = joined.expect("the request task ends");
            answers[index] = Some(answer);
        }
        answers.into_iter().map(Option::unwrap).collect()
    }
}

async fn read(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// The decisions of a burst, each checked to be a 200 authorization.
#[track_caller]
fn authorizations(answers: &[Answer]) -> Vec<Value> {
    answers
        .iter()
        .map(|answer| {
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
            assert_eq!(answer.body["object"], "authorization", "{}", answer.text);
            answer.body.clone()
        })
        .collect()
}

/// The `reset` of a decision's counter of `kind`, scope `user`.
fn reset_of(decision: &Value, kind: &str) -> i64 {
    decision["limits"]
        .as_array()
        .unwrap()
        .iter()
        .find(|limit| limit["scope"] == "user" && limit["type"] == kind)
        .unwrap_or_else(|| panic!("no user {kind} in {decision}"))["reset"]
        .as_i64()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_60_of_100_concurrent_calls_are_allowed_under_rpm_60_across_two_processes() {
    let cluster = Cluster::start();
    let (_, gateway) = cluster
        .user(
            "gateway@example.com",
            &["gateway"],
            json!([]),
            json!(null),
            None,
        )
        .await;
    for attempt in 0..4 {
        let (_, key) = cluster
            .user(
                &format!("client{attempt}@example.com"),
                &[],
                json!([limit("rpm", 60)]),
                json!(null),
                None,
            )
            .await;
        let requests = (0..100)
            .map(|index| (AUTHORIZE, call(&key, &format!("a{attempt}-{index}"))))
            .collect();
        let started = unix_now();
        let answers = cluster.burst(&gateway, requests).await;
        let ended = unix_now();
        let decisions = authorizations(&answers);
        let windows: BTreeSet<i64> = decisions.iter().map(|d| reset_of(d, "rpm")).collect();
        if windows.len() > 1 {
            // A minute began during the burst: try again, with a fresh user, in one window.
            continue;
        }
        let reset = *windows.first().unwrap();
        let allowed: Vec<&Value> = decisions.iter().filter(|d| d["allowed"] == true).collect();
        let refused: Vec<&Value> = decisions.iter().filter(|d| d["allowed"] == false).collect();
        assert_eq!(allowed.len(), 60, "{decisions:#?}");
        assert_eq!(refused.len(), 40, "{decisions:#?}");
        // Each allowed call took one place of the 60: they saw 59 to 0 remaining, once each.
        let mut remaining: Vec<i64> = allowed
            .iter()
            .map(|d| d["limits"][0]["remaining"].as_i64().unwrap())
            .collect();
        remaining.sort_unstable();
        assert_eq!(remaining, (0..60).collect::<Vec<i64>>());
        for decision in refused {
            assert_refused(
                decision,
                429,
                "Rate limit exceeded.",
                &[json!({
                    "scope": "user", "router": ROUTER, "type": "rpm", "limit": 60,
                    "remaining": 0, "reset": reset,
                })],
            );
            let retry_after = decision["retry_after"].as_i64().unwrap();
            assert!((1..=60).contains(&retry_after), "{decision}");
            let decided = reset - retry_after;
            assert!(
                (started - 1..=ended + 1).contains(&decided),
                "{decision} decided at {decided}, not in {started}..={ended}"
            );
        }
        return;
    }
    panic!("every attempt straddled a minute boundary");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn exactly_10_of_40_concurrent_reservations_of_1_pass_on_a_budget_of_10_user_or_project() {
    let cluster = Cluster::start();
    let (_, gateway) = cluster
        .user(
            "gateway@example.com",
            &["gateway"],
            json!([]),
            json!(null),
            None,
        )
        .await;
    let (ada, ada_key) = cluster
        .user("ada@example.com", &[], json!([]), json!(10), None)
        .await;
    let acme = cluster
        .create("/v1/admin/organizations", json!({ "name": "Acme" }))
        .await["id"]
        .as_i64()
        .unwrap();
    let (grace, grace_key) = cluster
        .user("grace@example.com", &[], json!([]), json!(5), Some(acme))
        .await;
    let project = cluster
        .create(
            "/v1/admin/projects",
            json!({ "name": "Apollo", "organization": acme, "budget": 10 }),
        )
        .await["id"]
        .as_i64()
        .unwrap();
    let member = cluster
        .call(
            0,
            Method::PUT,
            &format!("/v1/admin/projects/{project}/members/{grace}"),
            MASTER_KEY,
            None,
        )
        .await;
    assert_eq!(member.status, StatusCode::NO_CONTENT, "{}", member.text);
    let bound = cluster
        .call(
            1,
            Method::POST,
            "/v1/me/keys",
            &grace_key,
            Some(json!({ "name": "apollo", "project": project })),
        )
        .await;
    assert_eq!(bound.status, StatusCode::CREATED, "{}", bound.text);
    let bound_key = bound.body["token"].as_str().unwrap().to_owned();

    for (name, key) in [("user", &ada_key), ("project", &bound_key)] {
        let requests = (0..40)
            .map(|index| (AUTHORIZE, costly(key, &format!("{name}-{index}"), 0, 1.0)))
            .collect();
        let decisions = authorizations(&cluster.burst(&gateway, requests).await);
        let (allowed, refused): (Vec<&Value>, Vec<&Value>) =
            decisions.iter().partition(|d| d["allowed"] == true);
        assert_eq!(allowed.len(), 10, "{name}: {decisions:#?}");
        let mut left: Vec<f64> = allowed
            .iter()
            .map(|d| d["budget"].as_f64().unwrap())
            .collect();
        left.sort_by(f64::total_cmp);
        let expected: Vec<f64> = (0..10).map(f64::from).collect();
        assert_eq!(left, expected, "{name}: each reservation took one unit");
        for decision in refused {
            assert_refused(decision, 400, "Insufficient budget.", &[]);
            assert_eq!(decision["budget"], json!(0.0), "{decision}");
        }
    }
    assert_eq!(
        cluster.read(&format!("/v1/admin/users/{ada}")).await["budget"],
        json!(0.0)
    );
    assert_eq!(
        cluster.read(&format!("/v1/admin/projects/{project}")).await["budget"],
        json!(0.0)
    );
    // The project paid for its member's bound key, not the member.
    assert_eq!(
        cluster.read(&format!("/v1/admin/users/{grace}")).await["budget"],
        json!(5.0)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_request_id_retried_concurrently_on_two_processes_is_counted_and_charged_once() {
    let cluster = Cluster::start();
    let (_, gateway) = cluster
        .user(
            "gateway@example.com",
            &["gateway"],
            json!([]),
            json!(null),
            None,
        )
        .await;
    for attempt in 0..3 {
        let (user, key) = cluster
            .user(
                &format!("client{attempt}@example.com"),
                &[],
                json!([limit("tpd", 10_000), limit("rpd", 100)]),
                json!(10),
                None,
            )
            .await;
        let request_id = format!("retried-{attempt}");
        let retries = (0..20)
            .map(|_| (AUTHORIZE, costly(&key, &request_id, 10, 1.0)))
            .collect();
        let decisions = authorizations(&cluster.burst(&gateway, retries).await);
        let first = &decisions[0];
        for decision in &decisions {
            assert_eq!(decision, first, "every retry gets the one decision");
        }
        assert_eq!(first["allowed"], json!(true), "{first}");
        assert_eq!(first["budget"], json!(9.0), "{first}");
        let budget = cluster.read(&format!("/v1/admin/users/{user}")).await["budget"].clone();
        assert_eq!(budget, json!(9.0));

        // The next call finds one request and 10 tokens counted today.
        let next = cluster
            .call(
                1,
                Method::POST,
                AUTHORIZE,
                &gateway,
                Some(call(&key, &format!("next-{attempt}"))),
            )
            .await;
        let next = decisions_of(&next);
        if reset_of(&next, "rpd") != reset_of(first, "rpd") {
            continue; // Midnight UTC passed in between: try again with a fresh user.
        }
        let remaining = |kind: &str| {
            next["limits"]
                .as_array()
                .unwrap()
                .iter()
                .find(|limit| limit["type"] == kind)
                .unwrap()["remaining"]
                .clone()
        };
        assert_eq!(remaining("rpd"), json!(98), "{next}");
        assert_eq!(remaining("tpd"), json!(9990), "{next}");

        // Its report, retried concurrently too, is recorded and refunded once.
        let reports = (0..20)
            .map(|_| (REPORT, usage(&request_id, 10, 5, 0.5)))
            .collect();
        let answers = cluster.burst(&gateway, reports).await;
        let created = answers
            .iter()
            .filter(|answer| answer.status == StatusCode::CREATED)
            .count();
        assert_eq!(created, 1, "{answers:#?}");
        for answer in &answers {
            assert!(
                answer.status == StatusCode::CREATED || answer.status == StatusCode::OK,
                "{}",
                answer.text
            );
            assert_eq!(answer.body, answers[0].body);
        }
        assert_eq!(answers[0].body["charged"], json!(0.5));
        assert_eq!(answers[0].body["budget"], json!(9.5));
        let budget = cluster.read(&format!("/v1/admin/users/{user}")).await["budget"].clone();
        assert_eq!(budget, json!(9.5));
        let listed = cluster.read(&format!("/v1/admin/usage?user={user}")).await;
        assert_eq!(listed["total"], json!(1), "{listed}");
        return;
    }
    panic!("every attempt straddled midnight");
}

/// The decision of a single answer, checked to be a 200 authorization.
#[track_caller]
fn decisions_of(answer: &Answer) -> Value {
    authorizations(std::slice::from_ref(answer)).remove(0)
}
