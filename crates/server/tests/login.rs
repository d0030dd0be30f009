//! API.md's login: `POST /v1/auth/login` exchanges an email and a password for a `playground`
//! session key that replaces the previous one and expires after `SESSION_DURATION`, over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::num::NonZeroU32;
use std::sync::Arc;

use gatehouse_api::AuditView;
use gatehouse_domain::chrono::TimeDelta;
use gatehouse_domain::{
    Actor, Audit, AuditAction, Email, NewUser, Priority, RoleId, UserRepository,
};
use gatehouse_infrastructure::{AuditTrail, PgUserRepository};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp, TestClock, ids, unix_now};

const LOGIN: &str = "/v1/auth/login";
const PASSWORD: &str = "correct horse battery";

/// `POST /v1/auth/login` with `body`, without any key.
async fn login_with(app: &TestApp, body: Value) -> Answer {
    app.call(Method::POST, LOGIN, None, Some(body)).await
}

/// `POST /v1/auth/login` with `email` and `password`.
async fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    login_with(app, json!({ "email": email, "password": password })).await
}

/// Logs in, which must succeed: `(key id, key)`.
async fn session(app: &TestApp, email: &str, password: &str) -> (i64, String) {
    let answer = login(app, email, password).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    (
        answer.body["id"].as_i64().expect("an integer id"),
        answer.body["key"].as_str().expect("a key").to_owned(),
    )
}

async fn as_key(app: &TestApp, path: &str, key: &str) -> Answer {
    app.call(Method::GET, path, Some(key), None).await
}

/// `GET /v1/me/keys` with `key`, which must answer 200.
async fn own_keys(app: &TestApp, key: &str) -> Value {
    let answer = as_key(app, "/v1/me/keys", key).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// Every stored key, as the master key sees them (at most 100).
async fn all_tokens(app: &TestApp) -> Value {
    let answer = app.get("/v1/admin/tokens?limit=100").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// The items of a list named `name`.
fn named<'a>(list: &'a Value, name: &str) -> Vec<&'a Value> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .filter(|item| item["name"] == name)
        .collect()
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

/// A user of a role without permissions: their id.
async fn member(app: &TestApp, email: &str) -> i64 {
    let role = app.create_role(&format!("role of {email}"), &[]).await;
    app.create_user(email, role, None).await
}

/// A user stored without a password (as an `OpenID` Connect account would be), which the HTTP API
/// cannot make: their id.
async fn user_without_password(app: &TestApp, email: &str) -> i64 {
    let role = app.create_role(&format!("role of {email}"), &[]).await;
    let trail = AuditTrail::new(Arc::new(AuditView));
    let user = PgUserRepository::new(app.db.pool(), trail)
        .create(
            NewUser {
                email: Email::parse(email).unwrap(),
                name: None,
                password: None,
                role: RoleId(role),
                organization: None,
                budget: None,
                expires: None,
                priority: Priority::default(),
            },
            Audit::new(Actor::default(), AuditAction::Create),
        )
        .await
        .unwrap();
    user.id.get()
}

#[track_caller]
fn assert_invalid_credentials(answer: &Answer) {
    answer.assert_detail(401, "Invalid email or password.");
}

// ---------------------------------------------------------------------------------------------
// Success

#[tokio::test]
async fn the_right_email_in_any_letter_case_and_password_give_a_working_session_key() {
    let app = TestApp::spawn().await;
    let id = member(&app, "Ada@Example.com").await;
    for email in ["Ada@Example.com", "ada@example.com", "ADA@EXAMPLE.COM"] {
        let answer = login(&app, email, PASSWORD).await;
        assert_eq!(answer.status, StatusCode::OK, "{email}: {}", answer.text);
        assert_eq!(keys(&answer.body), ["id", "key"], "{}", answer.text);
        let key_id = answer.body["id"].as_i64().expect("an integer id");
        assert!(key_id > 0, "{key_id}");
        let key = answer.body["key"].as_str().expect("a key");
        assert!(key.starts_with("sk-"), "{key}");
        assert!(
            key.len() > "sk-".len() + 16,
            "{key} is too short to be secret"
        );

        // The key works as a bearer, as the user.
        let info = as_key(&app, "/v1/me/info", key).await;
        assert_eq!(info.status, StatusCode::OK, "{}", info.text);
        assert_eq!(info.body["id"], id);
        assert_eq!(info.body["email"], "Ada@Example.com");
        let listed = own_keys(&app, key).await;
        assert_eq!(ids(&listed), [key_id]);
    }
}

#[tokio::test]
async fn the_session_key_is_named_playground_and_expires_after_the_session_duration() {
    let app = TestApp::spawn_with(|settings| {
        settings.session_duration = NonZeroU32::new(120).unwrap();
    })
    .await;
    let user = member(&app, "ada@example.com").await;
    let before = unix_now();
    let (id, key) = session(&app, "ada@example.com", PASSWORD).await;
    let after = unix_now();

    let listed = own_keys(&app, &key).await;
    assert_eq!(listed["total"], 1);
    let item = &listed["data"][0];
    assert_eq!(item["object"], "key");
    assert_eq!(item["id"], id);
    assert_eq!(item["name"], "playground");
    let expires = item["expires"].as_i64().expect("an integer expires");
    assert!(
        (before + 118..=after + 122).contains(&expires),
        "{expires} is not about {before} + 120"
    );
    let created = item["created"].as_i64().expect("an integer created");
    assert!((before - 2..=after + 2).contains(&created), "{created}");

    // The admin view agrees: it is the user's.
    let token = app.get(&format!("/v1/admin/tokens/{id}")).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text);
    assert_eq!(token.body["user"], user);
    assert_eq!(token.body["name"], "playground");
    assert_eq!(token.body["expires"], expires);
}

#[tokio::test]
async fn the_session_key_lasts_an_hour_by_default() {
    let app = TestApp::spawn().await;
    member(&app, "ada@example.com").await;
    let before = unix_now();
    let (_, key) = session(&app, "ada@example.com", PASSWORD).await;
    let after = unix_now();
    let expires = own_keys(&app, &key).await["data"][0]["expires"]
        .as_i64()
        .expect("an integer expires");
    assert!(
        (before + 3598..=after + 3602).contains(&expires),
        "{expires} is not about {before} + 3600"
    );
}

#[tokio::test]
async fn a_session_key_stops_working_once_the_session_duration_has_passed() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock_and(Arc::clone(&clock), |settings| {
        settings.session_duration = NonZeroU32::new(60).unwrap();
    })
    .await;
    member(&app, "ada@example.com").await;
    let (_, key) = session(&app, "ada@example.com", PASSWORD).await;
    // It works until the session duration has passed, and not a second longer.
    clock.advance(TimeDelta::seconds(59));
    let answer = as_key(&app, "/v1/me/info", &key).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    clock.advance(TimeDelta::seconds(1));
    let answer = as_key(&app, "/v1/me/info", &key).await;
    answer.assert_detail(401, "Invalid API key.");
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    // Logging in again gives a fresh one.
    let (_, fresh) = session(&app, "ada@example.com", PASSWORD).await;
    let answer = as_key(&app, "/v1/me/info", &fresh).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[tokio::test]
async fn a_second_login_replaces_the_first_session_key_and_leaves_other_keys_alone() {
    let app = TestApp::spawn().await;
    let user = member(&app, "ada@example.com").await;
    let other = app.create_key(user).await;
    let (first_id, first) = session(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(
        as_key(&app, "/v1/me/info", &first).await.status,
        StatusCode::OK
    );

    let (second_id, second) = session(&app, "ada@example.com", PASSWORD).await;
    assert_ne!(second_id, first_id);
    assert_ne!(second, first);

    let answer = as_key(&app, "/v1/me/info", &first).await;
    answer.assert_detail(401, "Invalid API key.");
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    app.get(&format!("/v1/admin/tokens/{first_id}"))
        .await
        .assert_detail(404, "Token not found.");

    for key in [&second, &other] {
        let answer = as_key(&app, "/v1/me/info", key).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(answer.body["id"], user);
    }
    let listed = own_keys(&app, &other).await;
    assert_eq!(listed["total"], 2, "{listed}");
    let playground = named(&listed, "playground");
    assert_eq!(playground.len(), 1, "{listed}");
    assert_eq!(playground[0]["id"], second_id);
    assert_eq!(named(&listed, "test key").len(), 1, "{listed}");
}

#[tokio::test]
async fn one_users_login_does_not_replace_another_users_session() {
    let app = TestApp::spawn().await;
    member(&app, "ada@example.com").await;
    member(&app, "bob@example.com").await;
    let (_, ada) = session(&app, "ada@example.com", PASSWORD).await;
    let (_, bob) = session(&app, "bob@example.com", PASSWORD).await;
    for key in [&ada, &bob] {
        let answer = as_key(&app, "/v1/me/info", key).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    }
    assert_eq!(named(&all_tokens(&app).await, "playground").len(), 2);
}

#[tokio::test]
async fn concurrent_logins_leave_exactly_one_working_session_key() {
    let app = TestApp::spawn().await;
    let user = member(&app, "ada@example.com").await;
    let logins: Vec<_> = (0..6)
        .map(|_| {
            let request = app
                .client
                .post(app.url(LOGIN))
                .json(&json!({"email": "ada@example.com", "password": PASSWORD}));
            tokio::spawn(async move {
                let response = request.send().await.expect("the server answers");
                assert_eq!(response.status(), StatusCode::OK);
                let body: Value = response.json().await.expect("a JSON body");
                (
                    body["id"].as_i64().expect("an id"),
                    body["key"].as_str().expect("a key").to_owned(),
                )
            })
        })
        .collect();
    let mut sessions = Vec::new();
    for login in logins {
        sessions.push(login.await.expect("the login task ends"));
    }

    let tokens = all_tokens(&app).await;
    assert_eq!(tokens["total"], 1, "{tokens}");
    assert_eq!(tokens["data"][0]["user"], user);
    let kept = tokens["data"][0]["id"].as_i64().unwrap();
    let mut working = 0;
    for (id, key) in &sessions {
        let answer = as_key(&app, "/v1/me/info", key).await;
        if *id == kept {
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
            working += 1;
        } else {
            answer.assert_detail(401, "Invalid API key.");
        }
    }
    assert_eq!(working, 1);
}

// ---------------------------------------------------------------------------------------------
// Failures

#[tokio::test]
async fn an_unknown_email_a_wrong_password_and_an_account_without_password_fail_alike() {
    let app = TestApp::spawn().await;
    member(&app, "ada@example.com").await;
    user_without_password(&app, "oidc@example.com").await;

    let answers = [
        login(&app, "nobody@example.com", PASSWORD).await,
        login(&app, "ada@example.com", "not the password").await,
        login(&app, "ada@example.com", "Correct Horse Battery").await,
        login(&app, "ada@example.com", "").await,
        login(&app, "oidc@example.com", PASSWORD).await,
        login(&app, "oidc@example.com", "").await,
        login(&app, "not-an-email", PASSWORD).await,
        login(&app, "", "").await,
        login(&app, " ada@example.com", PASSWORD).await,
    ];
    for answer in &answers {
        assert_invalid_credentials(answer);
        assert_eq!(answer.text, answers[0].text);
    }
    assert_eq!(all_tokens(&app).await["total"], 0);
}

#[tokio::test]
async fn an_expired_account_is_403_with_the_right_password_and_401_with_a_wrong_one() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let user = member(&app, "late@example.com").await;
    let answer = app
        .patch(
            &format!("/v1/admin/users/{user}"),
            json!({ "expires": clock.unix() + 60 }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    // Until its expiry, the account logs in.
    session(&app, "late@example.com", PASSWORD).await;
    let tokens = all_tokens(&app).await;
    assert_eq!(tokens["total"], 1, "{tokens}");
    clock.advance(TimeDelta::seconds(60));

    login(&app, "late@example.com", PASSWORD)
        .await
        .assert_detail(403, "Account expired.");
    login(&app, "LATE@example.com", PASSWORD)
        .await
        .assert_detail(403, "Account expired.");
    assert_invalid_credentials(&login(&app, "late@example.com", "not the password").await);
    // No new session, and the old one is not replaced.
    assert_eq!(all_tokens(&app).await, tokens);

    // Renewed by an admin, it logs in again.
    let answer = app
        .patch(
            &format!("/v1/admin/users/{user}"),
            json!({ "expires": null }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    session(&app, "late@example.com", PASSWORD).await;
}

#[tokio::test]
async fn the_master_logs_in_with_the_master_key_and_gets_it_back() {
    let app = TestApp::spawn().await;
    let answer = login(&app, "master", MASTER_KEY).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body, json!({"id": 0, "key": MASTER_KEY}));
    // Nothing is stored for it.
    assert_eq!(all_tokens(&app).await["total"], 0);
    assert_eq!(app.get("/v1/me/keys").await.body["total"], 0);
}

#[tokio::test]
async fn the_master_with_a_wrong_key_is_401_invalid_email_or_password() {
    // Six failures: more than throttling allows by default (see throttling.rs).
    let app = TestApp::spawn_with(|settings| settings.login_max_failures = 10).await;
    let (_, key) = app.user_with_key("ada@example.com", &["admin"]).await;
    for password in [
        "not-the-master-key",
        "",
        &MASTER_KEY[..MASTER_KEY.len() - 1],
        &format!("{MASTER_KEY}x"),
        &key,
        PASSWORD,
    ] {
        let answer = login(&app, "master", password).await;
        assert_invalid_credentials(&answer);
        assert!(!answer.text.contains(MASTER_KEY), "{}", answer.text);
    }
    assert_eq!(all_tokens(&app).await["total"], 1);
}

#[tokio::test]
async fn missing_or_non_string_fields_are_422_listing_both() {
    let app = TestApp::spawn().await;
    member(&app, "ada@example.com").await;
    let email = json!(["body", "email"]);
    let password = json!(["body", "password"]);

    login_with(&app, json!({}))
        .await
        .assert_invalid(&[(email.clone(), "missing"), (password.clone(), "missing")]);
    login_with(&app, json!({"email": 42, "password": ["x"]}))
        .await
        .assert_invalid(&[
            (email.clone(), "string_type"),
            (password.clone(), "string_type"),
        ]);
    login_with(&app, json!({"email": null, "password": null}))
        .await
        .assert_invalid(&[
            (email.clone(), "string_type"),
            (password.clone(), "string_type"),
        ]);
    login_with(&app, json!({"password": 12_345_678}))
        .await
        .assert_invalid(&[
            (email.clone(), "missing"),
            (password.clone(), "string_type"),
        ]);
    login_with(&app, json!({"email": "ada@example.com"}))
        .await
        .assert_invalid(&[(password.clone(), "missing")]);
    login_with(&app, json!({"email": true, "password": PASSWORD}))
        .await
        .assert_invalid(&[(email.clone(), "string_type")]);

    let not_json = app
        .send(
            app.client
                .post(app.url(LOGIN))
                .header("Content-Type", "application/json")
                .body(r#"{"email": "ada@example.com", "password": "#),
        )
        .await;
    assert_eq!(
        not_json.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        not_json.text
    );
    let errors = not_json.body["detail"].as_array().expect("a list");
    assert_eq!(errors.len(), 1, "{}", not_json.text);
    assert_eq!(errors[0]["type"], "json_invalid");
    assert_eq!(errors[0]["loc"][0], "body");

    assert_eq!(all_tokens(&app).await["total"], 0);
}

#[tokio::test]
async fn a_deleted_users_session_key_stops_working() {
    let app = TestApp::spawn().await;
    let user = member(&app, "ada@example.com").await;
    let (_, key) = session(&app, "ada@example.com", PASSWORD).await;
    assert_eq!(
        as_key(&app, "/v1/me/info", &key).await.status,
        StatusCode::OK
    );

    let answer = app.delete(&format!("/v1/admin/users/{user}")).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);

    for path in ["/v1/me/info", "/v1/me/keys"] {
        let answer = as_key(&app, path, &key).await;
        answer.assert_detail(401, "Invalid API key.");
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    }
    assert_invalid_credentials(&login(&app, "ada@example.com", PASSWORD).await);
    assert_eq!(all_tokens(&app).await["total"], 0);
}

#[tokio::test]
async fn the_login_answer_hides_the_password_and_the_key_list_masks_the_session_key() {
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

    let answer = login(&app, "ada@example.com", password).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(!answer.text.contains(password), "{}", answer.text);
    assert!(!answer.text.contains("argon2"), "{}", answer.text);
    for (name, value) in &answer.headers {
        let value = value.to_str().unwrap_or("");
        assert!(
            !value.contains(password),
            "header {name} shows the password"
        );
    }
    let key = answer.body["key"].as_str().unwrap().to_owned();
    let random = key.strip_prefix("sk-").unwrap();

    for path in ["/v1/me/keys", "/v1/admin/tokens"] {
        let caller = if path.starts_with("/v1/me") {
            key.as_str()
        } else {
            MASTER_KEY
        };
        let listed = as_key(&app, path, caller).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
        assert!(!listed.text.contains(random), "{path} shows the key");
        let item = &listed.body["data"][0];
        let token = item["token"].as_str().expect("a masked token");
        assert!(token.starts_with("sk-"), "{token}");
        assert_ne!(token, key);
        assert!(token.len() < key.len(), "{token}");
        assert!(item.get("key").is_none_or(Value::is_null), "{item}");
    }
    let id = answer.body["id"].as_i64().unwrap();
    let read = as_key(&app, &format!("/v1/me/keys/{id}"), &key).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert!(!read.text.contains(random), "{}", read.text);
}
