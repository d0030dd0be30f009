//! API.md's Self-service section: `GET /v1/me/info` (who one is, with what one's role grants) and
//! `PATCH /v1/me/info` (one's own name, email and password, nothing else), over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::collections::BTreeSet;
use std::sync::Arc;

use gatehouse_domain::chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp, TestClock, unix_now};

const INFO: &str = "/v1/me/info";
const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// `GET /v1/me/info` with `key`.
async fn info(app: &TestApp, key: &str) -> Answer {
    app.call(Method::GET, INFO, Some(key), None).await
}

/// `GET /v1/me/info` with `key`, which must answer 200: the userInfo object.
async fn read_info(app: &TestApp, key: &str) -> Value {
    let answer = info(app, key).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// `PATCH /v1/me/info` with `key` and `body`.
async fn update(app: &TestApp, key: &str, body: Value) -> Answer {
    app.call(Method::PATCH, INFO, Some(key), Some(body)).await
}

/// `PATCH /v1/me/info` with `key` and `body`, which must answer 204 with no body.
async fn update_ok(app: &TestApp, key: &str, body: Value) {
    let answer = update(app, key, body).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(answer.text, "");
}

/// `POST /v1/auth/login`, without any key.
async fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    app.call(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

/// Asserts that `email` logs in with `password`.
async fn assert_logs_in(app: &TestApp, email: &str, password: &str) {
    let answer = login(app, email, password).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{email} with {password:?}: {}",
        answer.text
    );
}

/// Asserts that `email` does not log in with `password`.
async fn assert_refused(app: &TestApp, email: &str, password: &str) {
    login(app, email, password)
        .await
        .assert_detail(401, "Invalid email or password.");
}

/// User `id` as an admin sees them.
async fn admin_view(app: &TestApp, id: i64) -> Value {
    let answer = app.get(&format!("/v1/admin/users/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// A user of a role without permissions, and a key of theirs: `(user id, key)`.
async fn member(app: &TestApp, email: &str) -> (i64, String) {
    app.user_with_key(email, &[]).await
}

/// Makes user `id`'s account expire a minute after `clock`'s now, checks that `key` (theirs)
/// still works until then, and moves the clock to that expiry, which it returns.
async fn expire(app: &TestApp, clock: &TestClock, id: i64, key: &str) -> i64 {
    let expires = clock.unix() + 60;
    let answer = app
        .patch(
            &format!("/v1/admin/users/{id}"),
            json!({ "expires": expires }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let active = app.call(Method::GET, "/v1/me/keys", Some(key), None).await;
    assert_eq!(active.status, StatusCode::OK, "{}", active.text);
    clock.advance(TimeDelta::seconds(60));
    expires
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

/// Exactly the fields of a userInfo object, sorted.
/// The contract's fields, with `project` (the Projects section: `null` unless the key is bound).
const USER_INFO_FIELDS: [&str; 13] = [
    "budget",
    "created",
    "email",
    "expires",
    "id",
    "limits",
    "name",
    "object",
    "organization",
    "permissions",
    "priority",
    "project",
    "updated",
];

/// Asserts that `body` is a userInfo object with exactly the contract's fields.
#[track_caller]
fn assert_user_info_shape(body: &Value) {
    assert_eq!(keys(body), USER_INFO_FIELDS, "{body}");
    assert_eq!(body["object"], "userInfo", "{body}");
}

/// The permissions of a userInfo or role, as a set: the contract gives them no order.
fn permissions(body: &Value) -> BTreeSet<String> {
    body["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("a permissions list in {body}"))
        .iter()
        .map(|permission| permission.as_str().expect("a word").to_owned())
        .collect()
}

fn set(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|&word| word.to_owned()).collect()
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

// ---------------------------------------------------------------------------------------------
// GET /v1/me/info

#[tokio::test]
async fn info_shows_the_callers_account_with_the_permissions_and_limits_of_their_role() {
    let app = TestApp::spawn().await;
    let organization = app.create_organization("Acme").await;
    let role = app
        .post(
            "/v1/admin/roles",
            json!({
                "name": "analysts",
                "permissions": ["read_metric", "provide_models"],
                "limits": [{"router_id": 1, "type": "rpm", "value": 10}],
            }),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let expires = unix_now() + 3600;
    let created = app
        .post(
            "/v1/admin/users",
            json!({
                "email": "Ada@Example.com",
                "name": "Ada Lovelace",
                "password": PASSWORD,
                "role": role.body["id"],
                "organization": organization,
                "budget": 12.5,
                "expires": expires,
                "priority": 3,
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    let key = app.create_key(id).await;

    let answer = info(&app, &key).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let body = &answer.body;
    assert_user_info_shape(body);
    assert_eq!(body["id"], id);
    assert_eq!(body["email"], "Ada@Example.com");
    assert_eq!(body["name"], "Ada Lovelace");
    assert_eq!(body["organization"], organization);
    assert_eq!(body["budget"], 12.5);
    assert_eq!(body["expires"], expires);
    assert_eq!(body["priority"], 3);
    assert_eq!(body["created"], created.body["created"]);
    assert_eq!(body["updated"], created.body["updated"]);
    assert_eq!(permissions(body), set(&["read_metric", "provide_models"]));
    assert_eq!(
        body["limits"],
        json!([{"router_id": 1, "router": 1, "type": "rpm", "value": 10}])
    );
    assert_eq!(body["limits"], role.body["limits"]);

    // Never a password or its hash.
    assert!(!has_password_field(body), "{}", answer.text);
    assert!(!answer.text.contains(PASSWORD), "{}", answer.text);
    assert!(!answer.text.contains("argon2"), "{}", answer.text);
}

#[tokio::test]
async fn info_of_a_user_with_a_bare_account_has_nulls_and_empty_lists() {
    let app = TestApp::spawn().await;
    let (id, key) = member(&app, "ada@example.com").await;
    let body = read_info(&app, &key).await;
    assert_user_info_shape(&body);
    assert_eq!(body["id"], id);
    assert_eq!(body["email"], "ada@example.com");
    assert_eq!(body["name"], Value::Null);
    assert_eq!(body["organization"], Value::Null);
    assert_eq!(body["budget"], Value::Null);
    assert_eq!(body["expires"], Value::Null);
    assert_eq!(body["priority"], 0);
    assert_eq!(body["permissions"], json!([]));
    assert_eq!(body["limits"], json!([]));
    let admin = admin_view(&app, id).await;
    assert_eq!(body["created"], admin["created"]);
    assert_eq!(body["updated"], admin["updated"]);
}

#[tokio::test]
async fn info_without_a_key_is_401_not_authenticated_and_with_an_unknown_key_401_invalid_api_key() {
    let app = TestApp::spawn().await;
    let (_, key) = member(&app, "ada@example.com").await;

    let answer = app.call(Method::GET, INFO, None, None).await;
    answer.assert_detail(401, "Not authenticated");
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));

    for unknown in ["sk-unknown-key-0123456789", &format!("{key}x"), "master"] {
        let answer = info(&app, unknown).await;
        answer.assert_detail(401, "Invalid API key.");
        assert_eq!(
            answer.header("www-authenticate"),
            Some("Bearer"),
            "{unknown}"
        );
    }
}

#[tokio::test]
async fn an_expired_account_still_reads_its_info_but_nothing_else() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let (id, key) = member(&app, "late@example.com").await;
    let expires = expire(&app, &clock, id, &key).await;

    let body = read_info(&app, &key).await;
    assert_user_info_shape(&body);
    assert_eq!(body["id"], id);
    assert_eq!(body["email"], "late@example.com");
    assert_eq!(body["expires"], expires);

    app.call(Method::GET, "/v1/me/keys", Some(&key), None)
        .await
        .assert_detail(403, "Account expired.");
}

#[tokio::test]
async fn the_master_key_is_user_0_named_master_with_every_permission() {
    let app = TestApp::spawn().await;
    let body = read_info(&app, MASTER_KEY).await;
    assert_user_info_shape(&body);
    assert_eq!(body["id"], 0);
    assert_eq!(body["email"], "master");
    assert_eq!(
        permissions(&body),
        set(&[
            "admin",
            "create_public_collection",
            "read_metric",
            "provide_models",
            "gateway"
        ])
    );
    assert_eq!(body["permissions"].as_array().unwrap().len(), 5);
    assert!(body["limits"].is_array(), "{body}");
    assert_eq!(body["expires"], Value::Null);
}

#[tokio::test]
async fn a_role_change_by_an_admin_shows_in_the_next_info_at_once() {
    let app = TestApp::spawn().await;
    let first = app.create_role("readers", &["read_metric"]).await;
    let second = app.create_role("providers", &["provide_models"]).await;
    let id = app.create_user("ada@example.com", first, None).await;
    let key = app.create_key(id).await;
    assert_eq!(
        permissions(&read_info(&app, &key).await),
        set(&["read_metric"])
    );

    // The role's permissions and limits change.
    let answer = app
        .patch(
            &format!("/v1/admin/roles/{first}"),
            json!({
                "permissions": ["admin", "read_metric"],
                "limits": [{"router_id": 1, "type": "rpm", "value": 10}],
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let body = read_info(&app, &key).await;
    assert_eq!(permissions(&body), set(&["admin", "read_metric"]));
    assert_eq!(
        body["limits"],
        json!([{"router_id": 1, "router": 1, "type": "rpm", "value": 10}])
    );

    // The user gets another role.
    let answer = app
        .patch(&format!("/v1/admin/users/{id}"), json!({ "role": second }))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let body = read_info(&app, &key).await;
    assert_eq!(permissions(&body), set(&["provide_models"]));
    assert_eq!(body["limits"], json!([]));
}

// ---------------------------------------------------------------------------------------------
// PATCH /v1/me/info

#[tokio::test]
async fn changing_ones_name_and_email_answers_204_and_shows_in_info_and_in_the_admin_view() {
    let app = TestApp::spawn().await;
    let (id, key) = member(&app, "ada@example.com").await;
    let before = admin_view(&app, id).await;

    update_ok(
        &app,
        &key,
        json!({
            "name": "  Ada Lovelace ",
            "email": "Countess@Example.org",
            "current_password": PASSWORD,
        }),
    )
    .await;

    let body = read_info(&app, &key).await;
    assert_eq!(body["id"], id);
    assert_eq!(body["name"], "Ada Lovelace");
    assert_eq!(body["email"], "Countess@Example.org");
    let after = admin_view(&app, id).await;
    assert_eq!(after["name"], "Ada Lovelace");
    assert_eq!(after["email"], "Countess@Example.org");
    assert!(after["updated"].as_i64().unwrap() >= before["updated"].as_i64().unwrap());
    assert_eq!(after["created"], before["created"]);
    assert_eq!(body["updated"], after["updated"]);

    // The new address is the one to log in with, in any case; the old one is gone.
    assert_logs_in(&app, "countess@example.org", PASSWORD).await;
    assert_refused(&app, "ada@example.com", PASSWORD).await;

    // Only the email: the name stays.
    update_ok(
        &app,
        &key,
        json!({"email": "ada@example.com", "current_password": PASSWORD}),
    )
    .await;
    let after = admin_view(&app, id).await;
    assert_eq!(after["email"], "ada@example.com");
    assert_eq!(after["name"], "Ada Lovelace");
}

#[tokio::test]
async fn prefer_return_representation_answers_200_with_the_updated_user_info() {
    let app = TestApp::spawn().await;
    let (id, key) = member(&app, "ada@example.com").await;
    let answer = app
        .send(
            app.client
                .patch(app.url(INFO))
                .bearer_auth(&key)
                .header("Prefer", "return=representation")
                .json(&json!({
                    "name": "Ada",
                    "email": "lovelace@example.com",
                    "current_password": PASSWORD,
                })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let body = &answer.body;
    assert_user_info_shape(body);
    assert_eq!(body["id"], id);
    assert_eq!(body["name"], "Ada");
    assert_eq!(body["email"], "lovelace@example.com");
    assert_eq!(body["permissions"], json!([]));
    assert!(!has_password_field(body), "{}", answer.text);
    assert_eq!(*body, read_info(&app, &key).await);
}

#[tokio::test]
async fn a_null_name_clears_it() {
    let app = TestApp::spawn().await;
    let role = app.create_role("members", &[]).await;
    let created = app
        .post(
            "/v1/admin/users",
            json!({
                "email": "ada@example.com",
                "name": "Ada",
                "password": PASSWORD,
                "role": role,
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    let key = app.create_key(id).await;
    assert_eq!(read_info(&app, &key).await["name"], "Ada");

    update_ok(&app, &key, json!({"name": null})).await;
    assert_eq!(read_info(&app, &key).await["name"], Value::Null);
    let after = admin_view(&app, id).await;
    assert_eq!(after["name"], Value::Null);
    assert_eq!(after["email"], "ada@example.com");
}

#[tokio::test]
async fn role_organization_budget_expires_and_priority_in_the_body_are_ignored() {
    let app = TestApp::spawn().await;
    let organization = app.create_organization("Acme").await;
    let other_organization = app.create_organization("Globex").await;
    let members = app.create_role("members", &["read_metric"]).await;
    let admins = app.create_role("admins", &["admin"]).await;
    let expires = unix_now() + 3600;
    let created = app
        .post(
            "/v1/admin/users",
            json!({
                "email": "ada@example.com",
                "password": PASSWORD,
                "role": members,
                "organization": organization,
                "budget": 10.5,
                "expires": expires,
                "priority": 2,
            }),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    let key = app.create_key(id).await;

    update_ok(
        &app,
        &key,
        json!({
            "name": "Ada",
            "role": admins,
            "organization": other_organization,
            "budget": 1_000_000,
            "expires": unix_now() + 999_999,
            "priority": 9,
        }),
    )
    .await;
    let after = admin_view(&app, id).await;
    assert_eq!(after["name"], "Ada");
    assert_eq!(after["role"], members);
    assert_eq!(after["organization"], organization);
    assert_eq!(after["budget"], 10.5);
    assert_eq!(after["expires"], expires);
    assert_eq!(after["priority"], 2);

    // Nor can they be cleared, nor does a role or organization that does not exist matter.
    update_ok(
        &app,
        &key,
        json!({
            "role": 999_999,
            "organization": null,
            "budget": null,
            "expires": null,
            "priority": 0,
        }),
    )
    .await;
    let again = admin_view(&app, id).await;
    assert_eq!(again, after);

    // The caller did not become an admin.
    let body = read_info(&app, &key).await;
    assert_eq!(permissions(&body), set(&["read_metric"]));
    assert_eq!(body["organization"], organization);
    app.call(Method::GET, "/v1/admin/users", Some(&key), None)
        .await
        .assert_detail(403, "Insufficient rights.");
}

#[tokio::test]
async fn a_new_password_with_the_right_current_password_replaces_the_old_one() {
    let app = TestApp::spawn().await;
    let (id, key) = member(&app, "ada@example.com").await;
    update_ok(
        &app,
        &key,
        json!({"password": NEW_PASSWORD, "current_password": PASSWORD}),
    )
    .await;

    assert_logs_in(&app, "ada@example.com", NEW_PASSWORD).await;
    assert_refused(&app, "ada@example.com", PASSWORD).await;
    let after = admin_view(&app, id).await;
    assert!(!has_password_field(&after), "{after}");

    // And once more, proving the new one.
    update_ok(
        &app,
        &key,
        json!({"password": "a third passphrase", "current_password": NEW_PASSWORD}),
    )
    .await;
    assert_logs_in(&app, "ada@example.com", "a third passphrase").await;
    assert_refused(&app, "ada@example.com", NEW_PASSWORD).await;
}

#[tokio::test]
async fn a_new_password_without_the_right_current_password_is_401_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (id, key) = member(&app, "ada@example.com").await;
    let before = admin_view(&app, id).await;
    for body in [
        json!({"password": NEW_PASSWORD}),
        json!({"password": NEW_PASSWORD, "current_password": null}),
        json!({"password": NEW_PASSWORD, "current_password": "not the password"}),
        json!({"password": NEW_PASSWORD, "current_password": ""}),
        json!({"password": NEW_PASSWORD, "current_password": NEW_PASSWORD}),
        json!({"password": NEW_PASSWORD, "current_password": "CORRECT HORSE BATTERY"}),
        // Along with other changes, which do not happen either.
        json!({
            "password": NEW_PASSWORD,
            "current_password": "wrong",
            "name": "Mallory",
            "email": "mallory@example.com",
        }),
    ] {
        update(&app, &key, body)
            .await
            .assert_detail(401, "Invalid current password.");
    }
    assert_eq!(admin_view(&app, id).await, before);
    assert_logs_in(&app, "ada@example.com", PASSWORD).await;
    assert_refused(&app, "ada@example.com", NEW_PASSWORD).await;
    assert_refused(&app, "mallory@example.com", NEW_PASSWORD).await;
    // The key still works: a wrong current password is not a wrong key.
    assert_eq!(read_info(&app, &key).await["id"], id);
}

#[tokio::test]
async fn the_master_key_cannot_change_its_info() {
    let app = TestApp::spawn().await;
    let before = read_info(&app, MASTER_KEY).await;
    for body in [
        json!({}),
        json!({"name": "boss"}),
        json!({"email": "boss@example.com"}),
        json!({"password": NEW_PASSWORD, "current_password": MASTER_KEY}),
    ] {
        update(&app, MASTER_KEY, body)
            .await
            .assert_detail(400, "Master is not allowed to process this action.");
    }
    assert_eq!(read_info(&app, MASTER_KEY).await, before);
    // Nobody was stored, and the master key still logs in as it did.
    assert_eq!(app.get("/v1/admin/users").await.body["total"], 0);
    let answer = login(&app, "master", MASTER_KEY).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_refused(&app, "master", NEW_PASSWORD).await;
}

#[tokio::test]
async fn an_email_taken_by_another_user_in_another_letter_case_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (ada, _) = member(&app, "ada@example.com").await;
    let (bob, bob_key) = member(&app, "bob@example.com").await;
    let ada_before = admin_view(&app, ada).await;
    let bob_before = admin_view(&app, bob).await;

    for body in [
        json!({"email": "ada@example.com", "current_password": PASSWORD}),
        json!({"email": "ADA@Example.COM", "current_password": PASSWORD}),
        json!({
            "email": "Ada@example.com",
            "name": "Bob the builder",
            "current_password": PASSWORD,
        }),
    ] {
        update(&app, &bob_key, body)
            .await
            .assert_detail(409, "User already exists.");
    }
    assert_eq!(admin_view(&app, ada).await, ada_before);
    assert_eq!(admin_view(&app, bob).await, bob_before);
    assert_logs_in(&app, "bob@example.com", PASSWORD).await;

    // One's own address in another case is no conflict.
    update_ok(
        &app,
        &bob_key,
        json!({"email": "Bob@Example.com", "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(admin_view(&app, bob).await["email"], "Bob@Example.com");
}

#[tokio::test]
async fn an_invalid_body_is_422_listing_every_invalid_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (id, key) = member(&app, "ada@example.com").await;
    let before = admin_view(&app, id).await;
    let loc = |field: &str| json!(["body", field]);

    update(
        &app,
        &key,
        json!({
            "email": "not-an-email",
            "password": "short",
            "current_password": PASSWORD,
            "name": "",
        }),
    )
    .await
    .assert_invalid(&[
        (loc("email"), "value_error"),
        (loc("password"), "string_too_short"),
        (loc("name"), "string_too_short"),
    ]);
    update(
        &app,
        &key,
        json!({
            "email": format!("{}@example.com", "a".repeat(250)),
            "password": "p".repeat(129),
            "current_password": PASSWORD,
            "name": "n".repeat(256),
        }),
    )
    .await
    .assert_invalid(&[
        (loc("email"), "string_too_long"),
        (loc("password"), "string_too_long"),
        (loc("name"), "string_too_long"),
    ]);
    update(
        &app,
        &key,
        json!({"email": "master", "name": "  ", "password": NEW_PASSWORD, "current_password": 7}),
    )
    .await
    .assert_invalid(&[
        (loc("email"), "value_error"),
        (loc("name"), "string_too_short"),
        (loc("current_password"), "string_type"),
    ]);
    update(
        &app,
        &key,
        json!({"email": null, "password": null, "name": 5}),
    )
    .await
    .assert_invalid(&[
        (loc("email"), "string_type"),
        (loc("password"), "string_type"),
        (loc("name"), "string_type"),
    ]);
    update(&app, &key, json!({"name": "nul\u{0}", "email": 42}))
        .await
        .assert_invalid(&[(loc("name"), "value_error"), (loc("email"), "string_type")]);

    let not_json = app
        .send(
            app.client
                .patch(app.url(INFO))
                .bearer_auth(&key)
                .header("Content-Type", "application/json")
                .body(r#"{"name": "Ada""#),
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

    assert_eq!(admin_view(&app, id).await, before);
    assert_logs_in(&app, "ada@example.com", PASSWORD).await;
}

#[tokio::test]
async fn changing_ones_info_without_a_key_is_401_even_with_an_invalid_body() {
    let app = TestApp::spawn().await;
    let (id, _) = member(&app, "ada@example.com").await;
    let before = admin_view(&app, id).await;
    for key in [None, Some("sk-unknown-key-0123456789")] {
        let answer = app
            .call(Method::PATCH, INFO, key, Some(json!({"name": ""})))
            .await;
        let detail = if key.is_some() {
            "Invalid API key."
        } else {
            "Not authenticated"
        };
        answer.assert_detail(401, detail);
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    }
    assert_eq!(admin_view(&app, id).await, before);
}

#[tokio::test]
async fn an_expired_account_cannot_change_its_info_and_nothing_changes() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let (id, key) = member(&app, "late@example.com").await;
    expire(&app, &clock, id, &key).await;
    let before = admin_view(&app, id).await;
    for body in [
        json!({"name": "Still here"}),
        json!({"email": "renewed@example.com"}),
        json!({"password": NEW_PASSWORD, "current_password": PASSWORD}),
        json!({"expires": null}),
    ] {
        update(&app, &key, body)
            .await
            .assert_detail(403, "Account expired.");
    }
    assert_eq!(admin_view(&app, id).await, before);
    // Its info still answers, unchanged.
    let body = read_info(&app, &key).await;
    assert_eq!(body["name"], Value::Null);
    assert_eq!(body["email"], "late@example.com");
}
