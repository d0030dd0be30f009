//! A project-bound key is a boundary, over HTTP: it administers nothing, changes no account,
//! makes and reaches only keys of its project, reads its project's usage, spends its project's
//! budget, and is held to its project's limits as well as its owner's role's.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use gatehouse_domain::chrono::{DateTime, TimeZone, Utc};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{AUTHORIZE, Answer, MASTER_KEY, REPORT, TestApp, TestClock, ids};

/// The router the tests call.
const ROUTER: i64 = 1;

/// 2030-06-15 at `hour:minute:second`, UTC.
fn at(hour: u32, minute: u32, second: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, 15, hour, minute, second)
        .unwrap()
}

/// A server whose clock stands at 12:00:30, half a minute into a minute.
async fn app() -> (TestApp, Arc<TestClock>) {
    let clock = TestClock::at(at(12, 0, 30));
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    (app, clock)
}

/// A limit on `ROUTER`.
fn limit(kind: &str, value: i64) -> Value {
    json!({ "router_id": ROUTER, "type": kind, "value": value })
}

/// Acme, its projects Apollo and Gemini, and two users of one role in Acme, Ada and Grace, both
/// members of Apollo (Ada of Gemini too), each with a key of their own and a key bound to Apollo.
struct World {
    acme: i64,
    role: i64,
    apollo: i64,
    gemini: i64,
    ada: i64,
    ada_key: String,
    ada_key_id: i64,
    ada_bound: String,
    ada_bound_id: i64,
    grace: i64,
    grace_key: String,
    grace_bound: String,
    grace_bound_id: i64,
    /// A key whose role has `gateway`, in no organization.
    gateway: String,
}

impl World {
    /// With a role of `permissions` and `role_limits`, users of `budget`, and Apollo created with
    /// `apollo` (its budget and limits).
    async fn new(
        app: &TestApp,
        permissions: &[&str],
        role_limits: Value,
        budget: Value,
        apollo: Value,
    ) -> Self {
        let acme = app.create_organization("Acme").await;
        let role = app
            .create_role_with_limits("members", permissions, role_limits)
            .await;
        let user = |email: &'static str| {
            app.create_user_with(json!({
                "email": email, "role": role, "organization": acme, "budget": budget,
            }))
        };
        let ada = user("ada@example.com").await;
        let grace = user("grace@example.com").await;
        let mut project = apollo;
        project["name"] = json!("Apollo");
        project["organization"] = json!(acme);
        let apollo = app.create_project_with(project).await;
        let gemini = app
            .create_project_with(json!({ "name": "Gemini", "organization": acme }))
            .await;
        app.add_project_member(apollo, ada).await;
        app.add_project_member(apollo, grace).await;
        app.add_project_member(gemini, ada).await;
        let (ada_key_id, ada_key) = app.create_key_with_id(ada).await;
        let (_, grace_key) = app.create_key_with_id(grace).await;
        let (ada_bound_id, ada_bound) = app.create_bound_key(&ada_key, apollo).await;
        let (grace_bound_id, grace_bound) = app.create_bound_key(&grace_key, apollo).await;
        let (_, gateway) = app.user_with_key("gateway@example.com", &["gateway"]).await;
        Self {
            acme,
            role,
            apollo,
            gemini,
            ada,
            ada_key,
            ada_key_id,
            ada_bound,
            ada_bound_id,
            grace,
            grace_key,
            grace_bound,
            grace_bound_id,
            gateway,
        }
    }

    /// A world without limits or budgets.
    async fn plain(app: &TestApp, permissions: &[&str]) -> Self {
        Self::new(app, permissions, json!([]), json!(null), json!({})).await
    }

    /// The decision for a call by `key` on `ROUTER` costing `cost`, which must answer 200.
    async fn decide(&self, app: &TestApp, key: &str, request_id: &str, cost: f64) -> Value {
        app.decide(
            &self.gateway,
            json!({ "key": key, "router": ROUTER, "request_id": request_id, "cost": cost }),
        )
        .await
    }
}

/// One counter of a decision's `limits`, on `ROUTER`, in the minute from 12:00.
fn quota(scope: &str, kind: &str, limit: i64, remaining: i64) -> Value {
    json!({
        "scope": scope,
        "router": ROUTER,
        "type": kind,
        "limit": limit,
        "remaining": remaining,
        "reset": at(12, 1, 0).timestamp(),
    })
}

/// Asserts a decision's outcome and its counters (in any order).
#[track_caller]
fn assert_decision(decision: &Value, status: u16, limits: &[Value]) {
    assert_eq!(decision["status"], json!(status), "{decision}");
    assert_eq!(decision["allowed"], json!(status == 200), "{decision}");
    let found: BTreeSet<String> = decision["limits"]
        .as_array()
        .unwrap_or_else(|| panic!("a limits list in {decision}"))
        .iter()
        .map(Value::to_string)
        .collect();
    let wanted: BTreeSet<String> = limits.iter().map(Value::to_string).collect();
    assert_eq!(found, wanted, "{decision}");
}

/// `GET path` as the master key, which must answer 200.
async fn read(app: &TestApp, path: &str) -> Value {
    let answer = app.get(path).await;
    assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
    answer.body
}

/// `POST /v1/me/keys` with `key` and `body`.
async fn create_own(app: &TestApp, key: &str, body: Value) -> Answer {
    app.call(Method::POST, "/v1/me/keys", Some(key), Some(body))
        .await
}

/// `GET /v1/me/info` with `key`, which must answer 200.
async fn info(app: &TestApp, key: &str) -> Value {
    let answer = app.call(Method::GET, "/v1/me/info", Some(key), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

// ---------------------------------------------------------------------------------------------
// What a bound key may not do

/// Every kind of `/v1/admin/...` request, on `world`'s objects, with bodies that would succeed
/// (and one that would be invalid).
fn admin_requests(world: &World) -> Vec<(Method, String, Option<Value>)> {
    let (apollo, acme, role, ada, grace) =
        (world.apollo, world.acme, world.role, world.ada, world.grace);
    vec![
        (Method::GET, "/v1/admin/users".into(), None),
        (
            Method::POST,
            "/v1/admin/users".into(),
            Some(json!({
                "email": "new@example.com", "password": "correct horse battery", "role": role,
            })),
        ),
        (Method::POST, "/v1/admin/users".into(), Some(json!({}))),
        (Method::GET, format!("/v1/admin/users/{ada}"), None),
        (
            Method::PATCH,
            format!("/v1/admin/users/{ada}"),
            Some(json!({ "budget": 1e9 })),
        ),
        (Method::DELETE, format!("/v1/admin/users/{grace}"), None),
        (Method::GET, "/v1/admin/roles".into(), None),
        (
            Method::POST,
            "/v1/admin/roles".into(),
            Some(json!({ "name": "root", "permissions": ["admin"] })),
        ),
        (
            Method::PATCH,
            format!("/v1/admin/roles/{role}"),
            Some(json!({ "permissions": ["admin", "gateway"] })),
        ),
        (Method::GET, "/v1/admin/organizations".into(), None),
        (
            Method::POST,
            "/v1/admin/organizations".into(),
            Some(json!({ "name": "Intruders" })),
        ),
        (
            Method::DELETE,
            format!("/v1/admin/organizations/{acme}"),
            None,
        ),
        (Method::GET, "/v1/admin/projects".into(), None),
        (
            Method::POST,
            "/v1/admin/projects".into(),
            Some(json!({ "name": "Side", "organization": acme })),
        ),
        (
            Method::PATCH,
            format!("/v1/admin/projects/{apollo}"),
            Some(json!({ "budget": 1e9 })),
        ),
        (Method::DELETE, format!("/v1/admin/projects/{apollo}"), None),
        (
            Method::GET,
            format!("/v1/admin/projects/{apollo}/members"),
            None,
        ),
        (
            Method::DELETE,
            format!("/v1/admin/projects/{apollo}/members/{grace}"),
            None,
        ),
        (Method::GET, "/v1/admin/tokens".into(), None),
        (
            Method::POST,
            "/v1/admin/tokens".into(),
            Some(json!({ "name": "escape", "user": ada })),
        ),
        (Method::GET, "/v1/admin/usage".into(), None),
        (Method::GET, "/v1/admin/usage/summary".into(), None),
    ]
}

#[tokio::test]
async fn a_bound_key_is_403_on_every_admin_endpoint_even_for_an_admin_and_changes_nothing() {
    let (app, _clock) = app().await;
    let world = World::plain(&app, &["admin"]).await;
    let apollo = world.apollo;
    let requests = admin_requests(&world);
    let snapshot = || async {
        let mut state = Vec::new();
        for path in [
            "/v1/admin/users?limit=100",
            "/v1/admin/roles?limit=100",
            "/v1/admin/organizations?limit=100",
            "/v1/admin/projects?limit=100",
            &format!("/v1/admin/projects/{apollo}/members?limit=100"),
            "/v1/admin/tokens?limit=100",
        ] {
            state.push(read(&app, path).await);
        }
        state
    };
    let before = snapshot().await;
    for (method, path, body) in requests {
        let answer = app
            .call(method.clone(), &path, Some(&world.ada_bound), body)
            .await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            answer.text
        );
        answer.assert_detail(403, "Insufficient rights.");
    }
    assert_eq!(snapshot().await, before);

    // The same owner's own key administers.
    let answer = app
        .call(Method::GET, "/v1/admin/users", Some(&world.ada_key), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[tokio::test]
async fn changing_ones_info_is_400_for_the_master_key_then_403_for_a_bound_key_whatever_the_body() {
    let (app, _clock) = app().await;
    let world = World::plain(&app, &[]).await;
    let patch = |key: &str, body: Value| {
        let key = key.to_owned();
        let app = &app;
        async move {
            app.call(Method::PATCH, "/v1/me/info", Some(&key), Some(body))
                .await
        }
    };
    let bodies = [
        json!({ "name": "Ada L." }),
        json!({ "email": null }),
        json!({ "email": "not an email", "name": 5 }),
        json!({ "password": "a new passphrase", "current_password": "correct horse battery" }),
    ];
    let before = read(&app, &format!("/v1/admin/users/{}", world.ada)).await;
    for body in &bodies {
        patch(MASTER_KEY, body.clone())
            .await
            .assert_detail(400, "Master is not allowed to process this action.");
        patch(&world.ada_bound, body.clone())
            .await
            .assert_detail(403, "Insufficient rights.");
    }
    assert_eq!(
        read(&app, &format!("/v1/admin/users/{}", world.ada)).await,
        before
    );
    // The password did not change either.
    let login = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({ "email": "ada@example.com", "password": "correct horse battery" })),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);

    // Ada's own key gets the 422 of an invalid body, and may change her name.
    patch(&world.ada_key, json!({ "email": "not an email" }))
        .await
        .assert_invalid(&[(json!(["body", "email"]), "value_error")]);
    let answer = patch(&world.ada_key, json!({ "name": "Ada L." })).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(info(&app, &world.ada_key).await["name"], json!("Ada L."));
}

// ---------------------------------------------------------------------------------------------
// Keys made and reached with a bound key

#[tokio::test]
async fn a_bound_key_makes_keys_only_in_its_own_project() {
    let (app, _clock) = app().await;
    let world = World::plain(&app, &[]).await;
    let count = || async {
        read(
            &app,
            &format!("/v1/admin/tokens?user={}&limit=100", world.ada),
        )
        .await["total"]
            .as_i64()
            .unwrap()
    };
    let before = count().await;

    for body in [
        json!({ "name": "child" }),
        json!({ "name": "sibling", "project": world.apollo }),
    ] {
        let answer = create_own(&app, &world.ada_bound, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{body}: {}",
            answer.text
        );
        assert_eq!(
            answer.body["project"],
            json!(world.apollo),
            "{}",
            answer.text
        );
        let key = answer.body["token"].as_str().unwrap();
        assert_eq!(info(&app, key).await["project"], json!(world.apollo));
    }
    assert_eq!(count().await, before + 2);

    // Ada is a member of Gemini, but the bound key reaches only Apollo.
    for project in [json!(world.gemini), Value::Null, json!(world.gemini + 1000)] {
        create_own(
            &app,
            &world.ada_bound,
            json!({ "name": "escape", "project": project }),
        )
        .await
        .assert_detail(403, "Insufficient rights.");
    }
    assert_eq!(count().await, before + 2);

    // Her own key may make either.
    for (project, expected) in [
        (json!(world.gemini), json!(world.gemini)),
        (Value::Null, Value::Null),
    ] {
        let answer = create_own(
            &app,
            &world.ada_key,
            json!({ "name": "own", "project": project }),
        )
        .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        assert_eq!(answer.body["project"], expected, "{}", answer.text);
    }
    assert_eq!(count().await, before + 4);
}

#[tokio::test]
async fn a_bound_key_lists_and_reaches_only_the_keys_of_its_project() {
    let (app, _clock) = app().await;
    let world = World::plain(&app, &[]).await;
    let answer = create_own(&app, &world.ada_bound, json!({ "name": "second" })).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let second_id = answer.body["id"].as_i64().unwrap();
    let second = answer.body["token"].as_str().unwrap().to_owned();
    let (gemini_id, gemini_key) = app.create_bound_key(&world.ada_key, world.gemini).await;

    let listed = app
        .call(
            Method::GET,
            "/v1/me/keys?limit=100",
            Some(&world.ada_bound),
            None,
        )
        .await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    let mut listed_ids = ids(&listed.body);
    listed_ids.sort_unstable();
    assert_eq!(
        listed_ids,
        [world.ada_bound_id, second_id],
        "{}",
        listed.text
    );
    assert_eq!(listed.body["total"], json!(2), "{}", listed.text);

    // Ada's own key, her Gemini key and Grace's Apollo key are out of its reach.
    for other in [world.ada_key_id, gemini_id, world.grace_bound_id] {
        let path = format!("/v1/me/keys/{other}");
        app.call(Method::GET, &path, Some(&world.ada_bound), None)
            .await
            .assert_detail(404, "Token not found.");
        app.call(Method::DELETE, &path, Some(&world.ada_bound), None)
            .await
            .assert_detail(404, "Token not found.");
    }
    for key in [&world.ada_key, &gemini_key, &world.grace_bound] {
        info(&app, key).await;
    }

    // Its sibling is within reach.
    let path = format!("/v1/me/keys/{second_id}");
    let one = app
        .call(Method::GET, &path, Some(&world.ada_bound), None)
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["project"], json!(world.apollo), "{}", one.text);
    let deleted = app
        .call(Method::DELETE, &path, Some(&world.ada_bound), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    app.call(Method::GET, "/v1/me/info", Some(&second), None)
        .await
        .assert_detail(401, "Invalid API key.");
}

// ---------------------------------------------------------------------------------------------
// Usage and budgets

#[tokio::test]
async fn a_bound_key_reads_its_projects_usage_of_all_members_and_nothing_else() {
    let (app, _clock) = app().await;
    let world = World::plain(&app, &[]).await;
    let (_, ada_gemini) = app.create_bound_key(&world.ada_key, world.gemini).await;
    let calls = [
        ("ada-own", world.ada_key.as_str(), 1),
        ("ada-apollo", world.ada_bound.as_str(), 1),
        ("grace-apollo", world.grace_bound.as_str(), 2),
        ("grace-own", world.grace_key.as_str(), 1),
        ("ada-gemini", ada_gemini.as_str(), 1),
    ];
    for (request_id, key, router) in calls {
        let answer = app
            .report_usage(
                &world.gateway,
                json!({
                    "request_id": request_id, "key": key, "router": router,
                    "prompt_tokens": 1, "completion_tokens": 1, "cost": 0,
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    }
    let usage = |key: &str, query: &str| {
        let path = format!("/v1/me/usage?order_by=id&limit=100{query}");
        let key = key.to_owned();
        let app = &app;
        async move {
            let answer = app.call(Method::GET, &path, Some(&key), None).await;
            assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
            let request_ids: Vec<String> = answer.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .map(|record| record["request_id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(
                answer.body["total"],
                json!(request_ids.len()),
                "{}",
                answer.text
            );
            request_ids
        }
    };
    let apollo = ["ada-apollo", "grace-apollo"];
    for key in [&world.ada_bound, &world.grace_bound] {
        assert_eq!(usage(key, "").await, apollo);
        assert_eq!(
            usage(key, &format!("&project={}", world.apollo)).await,
            apollo
        );
        assert_eq!(usage(key, "&router=2").await, ["grace-apollo"]);
        assert!(
            usage(key, &format!("&project={}", world.gemini))
                .await
                .is_empty()
        );
    }
    assert_eq!(usage(&ada_gemini, "").await, ["ada-gemini"]);
    // An own key reads its owner's calls, whatever key made them.
    assert_eq!(
        usage(&world.ada_key, "").await,
        ["ada-own", "ada-apollo", "ada-gemini"]
    );
}

#[tokio::test]
async fn a_bound_keys_calls_spend_its_projects_budget_and_never_its_owners() {
    let (app, _clock) = app().await;
    let world = World::new(&app, &[], json!([]), json!(5), json!({ "budget": 1 })).await;
    let project = format!("/v1/admin/projects/{}", world.apollo);

    let decision = world.decide(&app, &world.ada_bound, "call-1", 0.4).await;
    assert_decision(&decision, 200, &[]);
    assert_eq!(decision["user"], json!(world.ada), "{decision}");
    assert_eq!(decision["project"], json!(world.apollo), "{decision}");
    assert_eq!(decision["organization"], json!(world.acme), "{decision}");
    assert_eq!(decision["key"], json!(world.ada_bound_id), "{decision}");
    assert_eq!(decision["budget"], json!(0.6), "{decision}");
    assert_eq!(app.project_budget(world.apollo).await, json!(0.6));
    assert_eq!(app.user_budget(world.ada).await, json!(5.0));

    let answer = app
        .report_usage(
            &world.gateway,
            json!({ "request_id": "call-1", "prompt_tokens": 1, "completion_tokens": 1, "cost": 0.1 }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(
        answer.body["project"],
        json!(world.apollo),
        "{}",
        answer.text
    );
    assert_eq!(
        answer.body["key"],
        json!(world.ada_bound_id),
        "{}",
        answer.text
    );
    assert_eq!(answer.body["charged"], json!(0.1), "{}", answer.text);
    assert_eq!(answer.body["budget"], json!(0.9), "{}", answer.text);
    assert_eq!(app.project_budget(world.apollo).await, json!(0.9));
    assert_eq!(app.user_budget(world.ada).await, json!(5.0));

    // Grace's bound key spends the same budget; Ada's own key spends hers.
    let decision = world.decide(&app, &world.grace_bound, "call-2", 0.5).await;
    assert_eq!(decision["budget"], json!(0.4), "{decision}");
    let decision = world.decide(&app, &world.ada_key, "call-3", 1.0).await;
    assert_eq!(decision["budget"], json!(4.0), "{decision}");
    assert_eq!(decision["project"], Value::Null, "{decision}");
    assert_eq!(app.project_budget(world.apollo).await, json!(0.4));
    assert_eq!(app.user_budget(world.grace).await, json!(5.0));
    // A call reported without authorization is charged to the project too.
    let answer = app
        .report_usage(
            &world.gateway,
            json!({
                "request_id": "call-unasked", "key": world.grace_bound, "router": ROUTER,
                "prompt_tokens": 1, "completion_tokens": 1, "cost": 0.1,
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(
        answer.body["project"],
        json!(world.apollo),
        "{}",
        answer.text
    );
    assert_eq!(answer.body["budget"], json!(0.3), "{}", answer.text);
    assert_eq!(app.project_budget(world.apollo).await, json!(0.3));
    assert_eq!(app.user_budget(world.grace).await, json!(5.0));

    // An empty project budget refuses, whatever the owner holds.
    let answer = app.patch(&project, json!({ "budget": 0 })).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let decision = world.decide(&app, &world.ada_bound, "call-4", 0.0).await;
    assert_decision(&decision, 400, &[]);
    assert_eq!(
        decision["detail"],
        json!("Insufficient budget."),
        "{decision}"
    );
    assert_eq!(decision["budget"], json!(0.0), "{decision}");

    // An unlimited project budget allows, even when the owner has nothing.
    let answer = app.patch(&project, json!({ "budget": null })).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let answer = app
        .patch(
            &format!("/v1/admin/users/{}", world.ada),
            json!({ "budget": 0 }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let decision = world.decide(&app, &world.ada_bound, "call-5", 100.0).await;
    assert_decision(&decision, 200, &[]);
    assert_eq!(decision["budget"], Value::Null, "{decision}");
    assert_eq!(app.project_budget(world.apollo).await, Value::Null);
    assert_eq!(app.user_budget(world.ada).await, json!(0.0));
}

// ---------------------------------------------------------------------------------------------
// Limits: a project narrows, never widens

#[tokio::test]
async fn a_project_with_a_higher_limit_does_not_widen_the_role_limit_of_its_members() {
    let (app, _clock) = app().await;
    let world = World::new(
        &app,
        &[],
        json!([limit("rpm", 2)]),
        json!(null),
        json!({ "limits": [limit("rpm", 10)] }),
    )
    .await;
    let first = world.decide(&app, &world.ada_bound, "call-1", 0.0).await;
    assert_decision(
        &first,
        200,
        &[quota("user", "rpm", 2, 1), quota("project", "rpm", 10, 9)],
    );
    let second = world.decide(&app, &world.ada_bound, "call-2", 0.0).await;
    assert_decision(
        &second,
        200,
        &[quota("user", "rpm", 2, 0), quota("project", "rpm", 10, 8)],
    );
    let third = world.decide(&app, &world.ada_bound, "call-3", 0.0).await;
    assert_decision(
        &third,
        429,
        &[quota("user", "rpm", 2, 0), quota("project", "rpm", 10, 8)],
    );
    assert_eq!(third["detail"], json!("Rate limit exceeded."), "{third}");
    assert_eq!(third["retry_after"], json!(30), "{third}");
}

#[tokio::test]
async fn a_project_with_a_lower_limit_narrows_the_role_limit_of_its_members() {
    let (app, _clock) = app().await;
    let world = World::new(
        &app,
        &[],
        json!([limit("rpm", 10)]),
        json!(null),
        json!({ "limits": [limit("rpm", 2)] }),
    )
    .await;
    let first = world.decide(&app, &world.ada_bound, "call-1", 0.0).await;
    assert_decision(
        &first,
        200,
        &[quota("user", "rpm", 10, 9), quota("project", "rpm", 2, 1)],
    );
    let second = world.decide(&app, &world.ada_bound, "call-2", 0.0).await;
    assert_decision(
        &second,
        200,
        &[quota("user", "rpm", 10, 8), quota("project", "rpm", 2, 0)],
    );
    let third = world.decide(&app, &world.ada_bound, "call-3", 0.0).await;
    assert_decision(
        &third,
        429,
        &[quota("user", "rpm", 10, 8), quota("project", "rpm", 2, 0)],
    );
    assert_eq!(third["retry_after"], json!(30), "{third}");
    // Ada's own key is held to her role only.
    let own = world.decide(&app, &world.ada_key, "call-4", 0.0).await;
    assert_decision(&own, 200, &[quota("user", "rpm", 10, 7)]);
}

#[tokio::test]
async fn members_share_their_projects_counter_and_their_own_keys_do_not_count_against_it() {
    let (app, _clock) = app().await;
    let world = World::new(
        &app,
        &[],
        json!([limit("rpm", 4)]),
        json!(null),
        json!({ "limits": [limit("rpm", 3)] }),
    )
    .await;
    let steps = [
        (
            "ada-own-1",
            &world.ada_key,
            200,
            vec![quota("user", "rpm", 4, 3)],
        ),
        (
            "ada-own-2",
            &world.ada_key,
            200,
            vec![quota("user", "rpm", 4, 2)],
        ),
        (
            "ada-apollo-1",
            &world.ada_bound,
            200,
            vec![quota("user", "rpm", 4, 1), quota("project", "rpm", 3, 2)],
        ),
        (
            "grace-apollo-1",
            &world.grace_bound,
            200,
            vec![quota("user", "rpm", 4, 3), quota("project", "rpm", 3, 1)],
        ),
        (
            "grace-apollo-2",
            &world.grace_bound,
            200,
            vec![quota("user", "rpm", 4, 2), quota("project", "rpm", 3, 0)],
        ),
        (
            "ada-apollo-2",
            &world.ada_bound,
            429,
            vec![quota("user", "rpm", 4, 1), quota("project", "rpm", 3, 0)],
        ),
        (
            "ada-own-3",
            &world.ada_key,
            200,
            vec![quota("user", "rpm", 4, 0)],
        ),
        (
            "ada-own-4",
            &world.ada_key,
            429,
            vec![quota("user", "rpm", 4, 0)],
        ),
        (
            "grace-own-1",
            &world.grace_key,
            200,
            vec![quota("user", "rpm", 4, 1)],
        ),
    ];
    for (request_id, key, status, limits) in steps {
        let decision = world.decide(&app, key, request_id, 0.0).await;
        assert_decision(&decision, status, &limits);
    }
}

#[tokio::test]
async fn tokens_reported_beyond_those_authorized_count_for_the_project_and_the_owner() {
    let (app, _clock) = app().await;
    let world = World::new(
        &app,
        &[],
        json!([limit("tpm", 5000)]),
        json!(null),
        json!({ "limits": [limit("tpm", 1000)] }),
    )
    .await;
    let ask = |request_id: &str, tokens: i64| json!({ "key": world.ada_bound, "router": ROUTER, "request_id": request_id, "tokens": tokens });
    let first = app.decide(&world.gateway, ask("call-1", 100)).await;
    assert_decision(
        &first,
        200,
        &[
            quota("user", "tpm", 5000, 4900),
            quota("project", "tpm", 1000, 900),
        ],
    );
    let answer = app
        .report_usage(
            &world.gateway,
            json!({ "request_id": "call-1", "prompt_tokens": 100, "completion_tokens": 400, "cost": 0 }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let next = app.decide(&world.gateway, ask("call-2", 0)).await;
    assert_decision(
        &next,
        200,
        &[
            quota("user", "tpm", 5000, 4500),
            quota("project", "tpm", 1000, 500),
        ],
    );
    // Grace's bound key finds the project's counter where Ada's calls left it.
    let grace = app
        .decide(
            &world.gateway,
            json!({ "key": world.grace_bound, "router": ROUTER, "request_id": "call-3", "tokens": 600 }),
        )
        .await;
    assert_decision(
        &grace,
        429,
        &[
            quota("user", "tpm", 5000, 5000),
            quota("project", "tpm", 1000, 500),
        ],
    );
}

#[tokio::test]
async fn a_project_limit_of_0_closes_the_router_to_its_bound_keys_only() {
    let (app, _clock) = app().await;
    let world = World::new(
        &app,
        &[],
        json!([limit("rpm", 5)]),
        json!(null),
        json!({ "limits": [limit("tpm", 0)] }),
    )
    .await;
    for (request_id, key) in [("a", &world.ada_bound), ("b", &world.grace_bound)] {
        let decision = world.decide(&app, key, request_id, 0.0).await;
        assert_decision(&decision, 403, &[]);
        assert_eq!(
            decision["detail"],
            json!("Access to this router is not allowed."),
            "{decision}"
        );
    }
    // The refusals counted nothing, and the owner's own key may call the router.
    let own = world.decide(&app, &world.ada_key, "c", 0.0).await;
    assert_decision(&own, 200, &[quota("user", "rpm", 5, 4)]);
    // Another router is open to the bound key.
    let elsewhere = app
        .decide(
            &world.gateway,
            json!({ "key": world.ada_bound, "router": 2, "request_id": "d" }),
        )
        .await;
    assert_eq!(elsewhere["allowed"], json!(true), "{elsewhere}");
}

// ---------------------------------------------------------------------------------------------
// The gateway and a bound key

#[tokio::test]
async fn a_bound_key_is_no_gateway_credential_even_when_its_role_has_gateway() {
    let (app, _clock) = app().await;
    let world = World::plain(&app, &["gateway", "admin"]).await;
    let (_, client) = app.user_with_key("client@example.com", &[]).await;
    let authorize = json!({ "key": client, "router": ROUTER, "request_id": "call-1" });
    let report = json!({
        "request_id": "call-2", "key": client, "router": ROUTER,
        "prompt_tokens": 1, "completion_tokens": 1, "cost": 0,
    });
    for (path, body) in [
        (AUTHORIZE, authorize.clone()),
        (AUTHORIZE, json!({ "router": "x" })),
        (REPORT, report.clone()),
        (REPORT, json!({})),
    ] {
        for key in [&world.ada_bound, &world.grace_bound] {
            app.call(Method::POST, path, Some(key), Some(body.clone()))
                .await
                .assert_detail(403, "Insufficient rights.");
        }
    }
    assert_eq!(
        read(&app, "/v1/admin/usage").await["total"],
        json!(0),
        "nothing was recorded"
    );
    // The owner's own key is a gateway credential.
    let decision = app.decide(&world.ada_key, authorize).await;
    assert_eq!(decision["allowed"], json!(true), "{decision}");
    let answer = app.report_usage(&world.ada_key, report).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
}

#[tokio::test]
async fn a_bound_key_whose_membership_or_project_ended_is_a_401_decision() {
    let (app, _clock) = app().await;
    let world = World::new(&app, &[], json!([]), json!(5), json!({ "budget": 5 })).await;
    let (_, ada_gemini) = app.create_bound_key(&world.ada_key, world.gemini).await;
    for (request_id, key) in [("before-1", &world.ada_bound), ("before-2", &ada_gemini)] {
        let decision = world.decide(&app, key, request_id, 0.0).await;
        assert_decision(&decision, 200, &[]);
    }

    let left = app
        .call(
            Method::DELETE,
            &format!("/v1/admin/projects/{}/members/{}", world.apollo, world.ada),
            Some(MASTER_KEY),
            None,
        )
        .await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.text);
    let gone = app
        .delete(&format!("/v1/admin/projects/{}", world.gemini))
        .await;
    assert_eq!(gone.status, StatusCode::NO_CONTENT, "{}", gone.text);

    for (request_id, key) in [("after-1", &world.ada_bound), ("after-2", &ada_gemini)] {
        let decision = world.decide(&app, key, request_id, 1.0).await;
        assert_eq!(
            decision,
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
        );
    }
    // Nothing was charged; Ada's own key and Grace's bound key still work.
    assert_eq!(app.user_budget(world.ada).await, json!(5.0));
    assert_eq!(app.project_budget(world.apollo).await, json!(5.0));
    let decision = world.decide(&app, &world.ada_key, "own", 1.0).await;
    assert_decision(&decision, 200, &[]);
    let decision = world.decide(&app, &world.grace_bound, "grace", 1.0).await;
    assert_decision(&decision, 200, &[]);
    assert_eq!(app.project_budget(world.apollo).await, json!(4.0));
}
