//! API.md's "Authentication and permissions": who may call what, and what the answers never show.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::sync::Arc;

use gatehouse_domain::chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp, TestClock};

/// One admin endpoint with a request that succeeds for an admin, and the status it then gets.
struct Endpoint {
    method: Method,
    path: String,
    body: Option<Value>,
    success: StatusCode,
}

impl Endpoint {
    fn new(method: Method, path: impl Into<String>, body: Option<Value>, success: u16) -> Self {
        Self {
            method,
            path: path.into(),
            body,
            success: StatusCode::from_u16(success).expect("a status"),
        }
    }

    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What the admin endpoints act on, made with the master key.
struct Fixture {
    organization: i64,
    empty_organization: i64,
    role: i64,
    unused_role: i64,
    user: i64,
    victim: i64,
    token: i64,
}

async fn fixture(app: &TestApp) -> Fixture {
    let organization = app.create_organization("Acme").await;
    let empty_organization = app.create_organization("Empty").await;
    let role = app.create_role("members", &["read_metric"]).await;
    let unused_role = app.create_role("unused", &[]).await;
    let user = app
        .create_user("member@example.com", role, Some(organization))
        .await;
    let victim = app.create_user("victim@example.com", role, None).await;
    let answer = app
        .post(
            "/v1/admin/tokens",
            json!({"name": "victim's", "user": victim}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    Fixture {
        organization,
        empty_organization,
        role,
        unused_role,
        user,
        victim,
        token: answer.body["id"].as_i64().unwrap(),
    }
}

/// Every `/v1/admin/...` endpoint, each method of each route, with a valid request; in an order
/// in which an admin can run them one after the other (deletes last).
fn admin_endpoints(f: &Fixture) -> Vec<Endpoint> {
    use Method as M;
    vec![
        Endpoint::new(M::GET, "/v1/admin/organizations", None, 200),
        Endpoint::new(
            M::POST,
            "/v1/admin/organizations",
            Some(json!({"name": "Globex"})),
            201,
        ),
        Endpoint::new(
            M::GET,
            format!("/v1/admin/organizations/{}", f.organization),
            None,
            200,
        ),
        Endpoint::new(
            M::PATCH,
            format!("/v1/admin/organizations/{}", f.organization),
            Some(json!({"name": "Acme Renamed"})),
            204,
        ),
        Endpoint::new(M::GET, "/v1/admin/users", None, 200),
        Endpoint::new(
            M::POST,
            "/v1/admin/users",
            Some(json!({
                "email": "intruder@example.com",
                "password": "correct horse battery",
                "role": f.role,
            })),
            201,
        ),
        Endpoint::new(M::GET, format!("/v1/admin/users/{}", f.user), None, 200),
        Endpoint::new(
            M::PATCH,
            format!("/v1/admin/users/{}", f.user),
            Some(json!({"name": "Renamed", "budget": 10})),
            204,
        ),
        Endpoint::new(M::GET, "/v1/admin/roles", None, 200),
        Endpoint::new(
            M::POST,
            "/v1/admin/roles",
            Some(json!({"name": "escalated", "permissions": ["admin"]})),
            201,
        ),
        Endpoint::new(M::GET, format!("/v1/admin/roles/{}", f.role), None, 200),
        Endpoint::new(
            M::PATCH,
            format!("/v1/admin/roles/{}", f.role),
            Some(json!({"permissions": ["admin"]})),
            200,
        ),
        Endpoint::new(M::GET, "/v1/admin/tokens", None, 200),
        Endpoint::new(
            M::POST,
            "/v1/admin/tokens",
            Some(json!({"name": "stolen", "user": f.victim})),
            201,
        ),
        Endpoint::new(M::GET, format!("/v1/admin/tokens/{}", f.token), None, 200),
        Endpoint::new(
            M::DELETE,
            format!("/v1/admin/tokens/{}", f.token),
            None,
            204,
        ),
        Endpoint::new(
            M::DELETE,
            format!("/v1/admin/users/{}", f.victim),
            None,
            204,
        ),
        Endpoint::new(
            M::DELETE,
            format!("/v1/admin/roles/{}", f.unused_role),
            None,
            204,
        ),
        Endpoint::new(
            M::DELETE,
            format!("/v1/admin/organizations/{}", f.empty_organization),
            None,
            204,
        ),
    ]
}

/// Everything the admin API shows, read with the master key: to check that nothing changed.
async fn snapshot(app: &TestApp, f: &Fixture) -> Vec<Value> {
    let mut paths: Vec<String> = [
        "/v1/admin/organizations",
        "/v1/admin/users",
        "/v1/admin/roles",
        "/v1/admin/tokens",
    ]
    .iter()
    .map(|path| format!("{path}?limit=100"))
    .collect();
    paths.extend([
        format!("/v1/admin/organizations/{}", f.organization),
        format!("/v1/admin/organizations/{}", f.empty_organization),
        format!("/v1/admin/users/{}", f.user),
        format!("/v1/admin/users/{}", f.victim),
        format!("/v1/admin/roles/{}", f.role),
        format!("/v1/admin/roles/{}", f.unused_role),
        format!("/v1/admin/tokens/{}", f.token),
    ]);
    let mut seen = Vec::new();
    for path in paths {
        let answer = app.get(&path).await;
        assert_eq!(answer.status, StatusCode::OK, "{path}: {}", answer.text);
        seen.push(answer.body);
    }
    seen
}

/// A user whose role has `permissions`, and a key of theirs.
async fn key_with(app: &TestApp, email: &str, permissions: &[&str]) -> String {
    app.user_with_key(email, permissions).await.1
}

/// A user whose account expires a minute after `clock`'s now, with a key that does not:
/// `(user, key)`.
async fn expiring_account(app: &TestApp, clock: &TestClock, permissions: &[&str]) -> (i64, String) {
    let role = app.create_role("expiring", permissions).await;
    let answer = app
        .post(
            "/v1/admin/users",
            json!({
                "email": "late@example.com",
                "password": "correct horse battery",
                "role": role,
                "expires": clock.unix() + 60,
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let user = answer.body["id"].as_i64().unwrap();
    (user, app.create_key(user).await)
}

/// Sends `method path` with a raw `Authorization` header (or none) and no body.
async fn with_authorization(
    app: &TestApp,
    method: Method,
    path: &str,
    authorization: Option<&str>,
) -> Answer {
    let mut request = app.client.request(method, app.url(path));
    if let Some(value) = authorization {
        request = request.header("Authorization", value);
    }
    app.send(request).await
}

#[track_caller]
fn assert_challenge(answer: &Answer, detail: &str) {
    answer.assert_detail(401, detail);
    assert_eq!(
        answer.header("www-authenticate"),
        Some("Bearer"),
        "{:?}",
        answer.headers
    );
}

/// A request to every kind of authenticated endpoint.
fn protected() -> [(Method, &'static str); 4] {
    [
        (Method::GET, "/v1/admin/roles"),
        (Method::GET, "/v1/admin/tokens/1"),
        (Method::GET, "/v1/me/keys"),
        (Method::DELETE, "/v1/me/keys/1"),
    ]
}

// ---------------------------------------------------------------------------------------------
// 401 Not authenticated

#[tokio::test]
async fn a_request_without_an_authorization_header_is_401_not_authenticated() {
    let app = TestApp::spawn().await;
    for (method, path) in protected() {
        let answer = with_authorization(&app, method, path, None).await;
        assert_challenge(&answer, "Not authenticated");
    }
}

#[tokio::test]
async fn another_scheme_than_bearer_is_401_not_authenticated() {
    let app = TestApp::spawn().await;
    let key = app.user_with_key("ada@example.com", &["admin"]).await.1;
    let basic = format!("Basic {MASTER_KEY}");
    let token = format!("Token {key}");
    for authorization in [
        "Basic dXNlcjpwYXNz",
        basic.as_str(),
        token.as_str(),
        key.as_str(),
        MASTER_KEY,
    ] {
        for (method, path) in protected() {
            let answer = with_authorization(&app, method, path, Some(authorization)).await;
            assert_challenge(&answer, "Not authenticated");
        }
    }
}

#[tokio::test]
async fn empty_bearer_credentials_are_401_not_authenticated() {
    let app = TestApp::spawn().await;
    for authorization in ["Bearer", "Bearer ", "Bearer    ", ""] {
        for (method, path) in protected() {
            let answer = with_authorization(&app, method, path, Some(authorization)).await;
            assert_challenge(&answer, "Not authenticated");
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 401 Invalid API key

#[tokio::test]
async fn an_unknown_key_is_401_invalid_api_key() {
    let app = TestApp::spawn().await;
    let key = app.user_with_key("ada@example.com", &["admin"]).await.1;
    // The same key with its last character changed.
    let last = key.chars().last().unwrap();
    let altered = format!(
        "{}{}",
        &key[..key.len() - 1],
        if last == '0' { '1' } else { '0' }
    );
    let master_like = format!("{MASTER_KEY}x");
    for unknown in [
        format!("sk-{}", "0".repeat(64)),
        altered,
        "not-a-key".to_owned(),
        master_like,
        "sk-".to_owned(),
    ] {
        for (method, path) in protected() {
            let answer = app.call(method, path, Some(&unknown), None).await;
            assert_challenge(&answer, "Invalid API key.");
        }
    }
}

#[tokio::test]
async fn a_deleted_key_is_401_invalid_api_key() {
    let app = TestApp::spawn().await;
    let (user, key) = app.user_with_key("ada@example.com", &["admin"]).await;
    let works = app
        .call(Method::GET, "/v1/admin/roles", Some(&key), None)
        .await;
    assert_eq!(works.status, StatusCode::OK, "{}", works.text);
    let id = app.get(&format!("/v1/admin/tokens?user={user}")).await.body["data"][0]["id"]
        .as_i64()
        .unwrap();
    let deleted = app.delete(&format!("/v1/admin/tokens/{id}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    for (method, path) in protected() {
        let answer = app.call(method, path, Some(&key), None).await;
        assert_challenge(&answer, "Invalid API key.");
    }
}

#[tokio::test]
async fn the_keys_of_a_deleted_user_are_401_invalid_api_key() {
    let app = TestApp::spawn().await;
    let (user, key) = app.user_with_key("ada@example.com", &["admin"]).await;
    let deleted = app.delete(&format!("/v1/admin/users/{user}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    for (method, path) in protected() {
        let answer = app.call(method, path, Some(&key), None).await;
        assert_challenge(&answer, "Invalid API key.");
    }
}

#[tokio::test]
async fn an_expired_key_is_401_invalid_api_key() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let role = app.create_role("admins", &["admin"]).await;
    let user = app.create_user("ada@example.com", role, None).await;
    let answer = app
        .post(
            "/v1/admin/tokens",
            json!({"name": "short", "user": user, "expires": clock.unix() + 60}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let key = answer.body["token"].as_str().unwrap().to_owned();
    let lasting = app.create_key(user).await;
    let works = app
        .call(Method::GET, "/v1/admin/roles", Some(&key), None)
        .await;
    assert_eq!(works.status, StatusCode::OK, "{}", works.text);

    // A second before its expiry it still works; at its expiry it is dead.
    clock.advance(TimeDelta::seconds(59));
    let works = app
        .call(Method::GET, "/v1/admin/roles", Some(&key), None)
        .await;
    assert_eq!(works.status, StatusCode::OK, "{}", works.text);
    clock.advance(TimeDelta::seconds(1));

    for (method, path) in protected() {
        let answer = app.call(method, path, Some(&key), None).await;
        assert_challenge(&answer, "Invalid API key.");
    }
    // Only that key expired: the account and its other key still work.
    let answer = app
        .call(Method::GET, "/v1/admin/roles", Some(&lasting), None)
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

// ---------------------------------------------------------------------------------------------
// 403

#[tokio::test]
async fn a_valid_key_of_an_expired_account_is_403_account_expired() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let (_, key) = expiring_account(&app, &clock, &["admin"]).await;
    let works = app
        .call(Method::GET, "/v1/admin/roles", Some(&key), None)
        .await;
    assert_eq!(works.status, StatusCode::OK, "{}", works.text);
    let before = app.get("/v1/admin/roles").await.body;

    clock.advance(TimeDelta::seconds(60));

    for (method, path, body) in [
        (Method::GET, "/v1/admin/roles", None),
        (
            Method::POST,
            "/v1/admin/roles",
            Some(json!({"name": "late role"})),
        ),
        (Method::GET, "/v1/admin/users", None),
        (Method::GET, "/v1/me/keys", None),
    ] {
        let answer = app.call(method.clone(), path, Some(&key), body).await;
        assert_eq!(
            answer.status,
            StatusCode::FORBIDDEN,
            "{method} {path}: {}",
            answer.text
        );
        assert_eq!(
            answer.body,
            json!({"detail": "Account expired."}),
            "{method} {path}"
        );
        assert!(
            answer.header("www-authenticate").is_none(),
            "{method} {path}"
        );
    }
    assert_eq!(app.get("/v1/admin/roles").await.body, before);
}

#[tokio::test]
async fn a_valid_key_without_the_admin_permission_is_403_insufficient_rights() {
    let app = TestApp::spawn().await;
    let key = key_with(
        &app,
        "ada@example.com",
        &["create_public_collection", "read_metric", "provide_models"],
    )
    .await;
    let answer = app
        .call(Method::GET, "/v1/admin/roles", Some(&key), None)
        .await;
    answer.assert_detail(403, "Insufficient rights.");
    // The same key is authenticated: its own keys answer.
    let answer = app.call(Method::GET, "/v1/me/keys", Some(&key), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[tokio::test]
async fn every_admin_endpoint_needs_the_admin_permission_and_changes_nothing_without_it() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let keys = [
        key_with(&app, "nobody@example.com", &[]).await,
        key_with(
            &app,
            "almost@example.com",
            &["create_public_collection", "read_metric", "provide_models"],
        )
        .await,
    ];
    let before = snapshot(&app, &f).await;
    let mut wrong = Vec::new();
    for key in &keys {
        for endpoint in admin_endpoints(&f) {
            let answer = app
                .call(
                    endpoint.method.clone(),
                    &endpoint.path,
                    Some(key),
                    endpoint.body.clone(),
                )
                .await;
            if answer.status != StatusCode::FORBIDDEN
                || answer.body != json!({"detail": "Insufficient rights."})
            {
                wrong.push(format!(
                    "{}: {} {}",
                    endpoint.name(),
                    answer.status,
                    answer.text
                ));
            }
        }
    }
    assert!(wrong.is_empty(), "not refused:\n{}", wrong.join("\n"));
    assert_eq!(snapshot(&app, &f).await, before);
}

#[tokio::test]
async fn a_caller_without_the_admin_permission_gets_403_not_422_for_an_invalid_request() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    let key = key_with(&app, "reader@example.com", &["read_metric"]).await;
    let before = snapshot(&app, &f).await;

    let mut requests: Vec<(Method, String, Option<&str>)> = Vec::new();
    for path in [
        "/v1/admin/organizations",
        "/v1/admin/users",
        "/v1/admin/roles",
        "/v1/admin/tokens",
    ] {
        for body in [
            "{\"name\": ",
            "[1, 2]",
            "",
            r#"{"name": 5, "email": 7, "user": "x", "role": "y", "permissions": ["god"]}"#,
        ] {
            requests.push((Method::POST, path.to_owned(), Some(body)));
        }
        requests.push((
            Method::GET,
            format!("{path}?limit=0&offset=-1&order_by=nope&user=x"),
            None,
        ));
        for method in [Method::GET, Method::DELETE] {
            requests.push((method, format!("{path}/not-an-id"), None));
        }
    }
    for path in [
        format!("/v1/admin/organizations/{}", f.organization),
        format!("/v1/admin/users/{}", f.user),
        format!("/v1/admin/roles/{}", f.role),
        "/v1/admin/organizations/not-an-id".to_owned(),
        "/v1/admin/users/not-an-id".to_owned(),
        "/v1/admin/roles/not-an-id".to_owned(),
    ] {
        for body in [
            "{\"name\": ",
            r#"{"name": null, "email": 7, "permissions": "admin"}"#,
        ] {
            requests.push((Method::PATCH, path.clone(), Some(body)));
        }
    }

    let mut wrong = Vec::new();
    for (method, path, body) in &requests {
        let mut request = app
            .client
            .request(method.clone(), app.url(path))
            .bearer_auth(&key);
        if let Some(body) = body {
            request = request
                .header("content-type", "application/json")
                .body(*body);
        }
        let answer = app.send(request).await;
        if answer.status != StatusCode::FORBIDDEN
            || answer.body != json!({"detail": "Insufficient rights."})
        {
            wrong.push(format!(
                "{method} {path} {body:?}: {} {}",
                answer.status, answer.text
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {} requests were not refused with 403:\n{}",
        wrong.len(),
        requests.len(),
        wrong.join("\n")
    );
    assert_eq!(snapshot(&app, &f).await, before);
}

#[tokio::test]
async fn an_unknown_key_or_no_key_gets_401_not_422_for_an_invalid_body() {
    let app = TestApp::spawn().await;
    let unknown = format!("sk-{}", "ab".repeat(32));
    let mut wrong = Vec::new();
    for path in [
        "/v1/admin/organizations",
        "/v1/admin/users",
        "/v1/admin/roles",
        "/v1/admin/tokens",
        "/v1/me/keys",
    ] {
        for (key, detail) in [
            (Some(unknown.as_str()), "Invalid API key."),
            (None, "Not authenticated"),
        ] {
            let mut request = app
                .client
                .post(app.url(path))
                .header("content-type", "application/json")
                .body("{\"name\": ");
            if let Some(key) = key {
                request = request.bearer_auth(key);
            }
            let answer = app.send(request).await;
            if answer.status != StatusCode::UNAUTHORIZED
                || answer.body != json!({ "detail": detail })
                || answer.header("www-authenticate") != Some("Bearer")
            {
                wrong.push(format!(
                    "POST {path} with {key:?}: {} {}",
                    answer.status, answer.text
                ));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "not refused with 401:\n{}",
        wrong.join("\n")
    );
    assert_eq!(app.get("/v1/admin/roles").await.body["total"], 0);
    assert_eq!(app.get("/v1/admin/organizations").await.body["total"], 0);
}

// ---------------------------------------------------------------------------------------------
// The master key

#[tokio::test]
async fn the_master_key_can_call_every_admin_endpoint() {
    let app = TestApp::spawn().await;
    let f = fixture(&app).await;
    for endpoint in admin_endpoints(&f) {
        let answer = app
            .call(
                endpoint.method.clone(),
                &endpoint.path,
                Some(MASTER_KEY),
                endpoint.body.clone(),
            )
            .await;
        assert_eq!(
            answer.status,
            endpoint.success,
            "{}: {}",
            endpoint.name(),
            answer.text
        );
    }
    // The writes took effect.
    app.get(&format!("/v1/admin/tokens/{}", f.token))
        .await
        .assert_detail(404, "Token not found.");
    app.get(&format!("/v1/admin/users/{}", f.victim))
        .await
        .assert_detail(404, "User not found.");
    let role = app.get(&format!("/v1/admin/roles/{}", f.role)).await;
    assert_eq!(role.body["permissions"], json!(["admin"]));
}

#[tokio::test]
async fn the_master_key_acts_as_user_0_who_is_not_stored() {
    let app = TestApp::spawn().await;
    // Every permission: admin endpoints answer.
    let answer = app.get("/v1/admin/users").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["total"], 0);
    // User 0 is not a stored user.
    app.get("/v1/admin/users/0")
        .await
        .assert_detail(404, "User not found.");
    app.post("/v1/admin/tokens", json!({"name": "master's", "user": 0}))
        .await
        .assert_detail(404, "User not found.");
    // Its own keys: none, and it cannot make one.
    let answer = app.get("/v1/me/keys").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["total"], 0);
    app.post("/v1/me/keys", json!({"name": "master's"}))
        .await
        .assert_detail(400, "Master is not allowed to process this action.");
    // Keys of user 0 do not exist, so none is listed for it.
    let answer = app.get("/v1/admin/tokens?user=0").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["total"], 0);
}

// ---------------------------------------------------------------------------------------------
// What answers never show

/// Asserts that neither the body nor any header of `answer` shows `secret`.
#[track_caller]
fn assert_hides(answer: &Answer, secret: &str, what: &str) {
    assert!(
        !answer.text.contains(secret),
        "{what}: the body shows {secret:?}: {}",
        answer.text
    );
    for (name, value) in &answer.headers {
        assert!(
            !value.to_str().unwrap_or("").contains(secret),
            "{what}: header {name} shows {secret:?}"
        );
    }
}

#[tokio::test]
async fn no_answer_but_its_creation_shows_a_keys_secret() {
    let app = TestApp::spawn().await;
    let (user, admin_made) = app.user_with_key("ada@example.com", &["admin"]).await;
    let answer = app
        .call(
            Method::POST,
            "/v1/me/keys",
            Some(&admin_made),
            Some(json!({"name": "self-made"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let self_made = answer.body["token"].as_str().unwrap().to_owned();
    let self_made_id = answer.body["id"].as_i64().unwrap();
    let admin_made_id =
        app.get(&format!("/v1/admin/tokens?user={user}")).await.body["data"][0]["id"]
            .as_i64()
            .unwrap();
    let unknown = format!("sk-{}", "cd".repeat(32));

    let mut answers = Vec::new();
    for key in [MASTER_KEY, admin_made.as_str(), self_made.as_str()] {
        for path in [
            "/v1/admin/tokens".to_owned(),
            format!("/v1/admin/tokens?user={user}"),
            format!("/v1/admin/tokens/{admin_made_id}"),
            format!("/v1/admin/tokens/{self_made_id}"),
            "/v1/admin/users".to_owned(),
            format!("/v1/admin/users/{user}"),
            "/v1/me/keys".to_owned(),
            format!("/v1/me/keys/{self_made_id}"),
            format!("/v1/me/keys/{admin_made_id}"),
        ] {
            // The master owns no key: its `/v1/me/keys/{id}` are 404, which shows nothing either.
            if key == MASTER_KEY && path.starts_with("/v1/me/keys/") {
                continue;
            }
            let answer = app.call(Method::GET, &path, Some(key), None).await;
            answers.push((format!("GET {path}"), answer));
        }
    }
    answers.push((
        "an unknown key".to_owned(),
        app.call(Method::GET, "/v1/me/keys", Some(&unknown), None)
            .await,
    ));
    for (what, answer) in &answers {
        assert!(
            answer.status.is_success() || what == "an unknown key",
            "{what}: {}",
            answer.text
        );
        for secret in [&admin_made, &self_made, &unknown] {
            assert_hides(answer, &secret["sk-".len()..], what);
        }
        assert_hides(answer, MASTER_KEY, what);
    }
}

/// Whether any object in `value` has a field about a password or a hash.
fn has_password_field(value: &Value) -> bool {
    match value {
        Value::Object(object) => object.iter().any(|(name, value)| {
            name.contains("password") || name.contains("hash") || has_password_field(value)
        }),
        Value::Array(items) => items.iter().any(has_password_field),
        _ => false,
    }
}

#[tokio::test]
async fn no_answer_shows_a_password_or_its_hash() {
    let app = TestApp::spawn().await;
    let role = app.create_role("members", &[]).await;
    let password = "Tr0ub4dor&3-unique-password";
    let created = app
        .post(
            "/v1/admin/users",
            json!({"email": "ada@example.com", "password": password, "role": role}),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let user = created.body["id"].as_i64().unwrap();
    let key = app.create_key(user).await;

    let new_password = "An0ther-unique-passphrase";
    let patched = app
        .send(
            app.client
                .patch(app.url(&format!("/v1/admin/users/{user}")))
                .bearer_auth(MASTER_KEY)
                .header("Prefer", "return=representation")
                .json(&json!({ "password": new_password })),
        )
        .await;
    assert!(patched.status.is_success(), "{}", patched.text);
    let taken = app
        .post(
            "/v1/admin/users",
            json!({"email": "ada@example.com", "password": password, "role": role}),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT, "{}", taken.text);
    let short = "Zq7!x";
    let refused = app
        .post(
            "/v1/admin/users",
            json!({"email": "bob@example.com", "password": short, "role": role}),
        )
        .await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.text
    );

    let mut answers = vec![
        ("POST /v1/admin/users", created),
        ("PATCH /v1/admin/users", patched),
        ("POST /v1/admin/users (taken)", taken),
        ("POST /v1/admin/users (short password)", refused),
        ("GET /v1/admin/users", app.get("/v1/admin/users").await),
        (
            "GET /v1/admin/users/{id}",
            app.get(&format!("/v1/admin/users/{user}")).await,
        ),
        (
            "GET /v1/admin/users?email",
            app.get("/v1/admin/users?email=ada@example.com").await,
        ),
        ("GET /v1/admin/tokens", app.get("/v1/admin/tokens").await),
        (
            "GET /v1/admin/tokens?user",
            app.get(&format!("/v1/admin/tokens?user={user}")).await,
        ),
        (
            "GET /v1/me/keys",
            app.call(Method::GET, "/v1/me/keys", Some(&key), None).await,
        ),
    ];
    answers.push(("GET /v1/admin/roles", app.get("/v1/admin/roles").await));
    for (what, answer) in &answers {
        for secret in [password, new_password, short, "$argon2", "argon2"] {
            assert_hides(answer, secret, what);
        }
        assert!(
            !has_password_field(&answer.body),
            "{what} has a password field: {}",
            answer.text
        );
    }
}
