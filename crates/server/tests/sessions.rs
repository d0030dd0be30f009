//! API.md's account safety, over HTTP: a password change (by the user or by an admin) ends the
//! user's other login sessions (their `playground` keys) but not the key that made it nor their
//! other API keys; and a change of email, like one of password, needs the right
//! `current_password`, checked before whether the email is taken.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp};

const INFO: &str = "/v1/me/info";
const PASSWORD: &str = "correct horse battery";
const NEW_PASSWORD: &str = "a brand new passphrase";

/// `POST /v1/auth/login`, which must succeed: the session key.
async fn log_in(app: &TestApp, email: &str, password: &str) -> String {
    let answer = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({ "email": email, "password": password })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["key"].as_str().expect("a key").to_owned()
}

/// Asserts that `email` does not log in with `password`.
async fn assert_refused(app: &TestApp, email: &str, password: &str) {
    app.call(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
    .assert_detail(401, "Invalid email or password.");
}

/// `PATCH /v1/me/info` with `key` and `body`.
async fn update(app: &TestApp, key: &str, body: Value) -> Answer {
    app.call(Method::PATCH, INFO, Some(key), Some(body)).await
}

/// `PATCH /v1/me/info` with `key` and `body`, which must answer 204.
async fn update_ok(app: &TestApp, key: &str, body: Value) {
    let answer = update(app, key, body).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
}

/// `PATCH /v1/admin/users/{user}` with `key` and `body`, which must answer 204.
async fn admin_update_ok(app: &TestApp, key: &str, user: i64, body: Value) {
    let answer = app
        .call(
            Method::PATCH,
            &format!("/v1/admin/users/{user}"),
            Some(key),
            Some(body),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
}

/// Asserts that `key` works, as user `user`.
async fn assert_works(app: &TestApp, key: &str, user: i64) {
    let answer = app.call(Method::GET, INFO, Some(key), None).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["id"], user);
}

/// Asserts that `key` no longer works.
async fn assert_ended(app: &TestApp, key: &str) {
    let answer = app.call(Method::GET, INFO, Some(key), None).await;
    answer.assert_detail(401, "Invalid API key.");
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
}

/// `POST /v1/me/keys` named `name` with `key`: the new key.
async fn own_key(app: &TestApp, key: &str, name: &str) -> String {
    let answer = app
        .call(
            Method::POST,
            "/v1/me/keys",
            Some(key),
            Some(json!({ "name": name })),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.body["token"].as_str().expect("a key").to_owned()
}

/// The names of `user`'s keys, sorted, as an admin sees them.
async fn key_names(app: &TestApp, user: i64) -> Vec<String> {
    let answer = app.get(&format!("/v1/admin/tokens?user={user}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let mut names: Vec<String> = answer.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|key| key["name"].as_str().expect("a name").to_owned())
        .collect();
    names.sort_unstable();
    names
}

/// User `id` as an admin sees them.
async fn admin_view(app: &TestApp, id: i64) -> Value {
    let answer = app.get(&format!("/v1/admin/users/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// A user of a role with `permissions`, with password [`PASSWORD`] and an API key made by an
/// admin: `(user id, key)`.
async fn user(app: &TestApp, email: &str, permissions: &[&str]) -> (i64, String) {
    app.user_with_key(email, permissions).await
}

// ---------------------------------------------------------------------------------------------
// A password change ends the other sessions

#[tokio::test]
async fn a_password_change_through_another_key_ends_the_session_of_every_device() {
    let app = TestApp::spawn().await;
    let (ada, program_key) = user(&app, "ada@example.com", &[]).await;
    // Two devices log in; the second login replaces the first one's session, so one session
    // (the second device's) is left.
    let first_device = log_in(&app, "ada@example.com", PASSWORD).await;
    let second_device = log_in(&app, "ada@example.com", PASSWORD).await;
    assert_ended(&app, &first_device).await;
    assert_works(&app, &second_device, ada).await;
    let laptop = own_key(&app, &second_device, "laptop").await;

    // The password changes through the key of a program, as whoever leaked the old one could
    // not: the device's session ends; the program's key and the user's other keys go on.
    update_ok(
        &app,
        &program_key,
        json!({"current_password": PASSWORD, "password": NEW_PASSWORD}),
    )
    .await;
    assert_ended(&app, &second_device).await;
    assert_ended(&app, &first_device).await;
    assert_works(&app, &program_key, ada).await;
    assert_works(&app, &laptop, ada).await;
    assert_eq!(key_names(&app, ada).await, ["laptop", "test key"]);

    // The devices log in again with the new password only.
    assert_refused(&app, "ada@example.com", PASSWORD).await;
    let again = log_in(&app, "ada@example.com", NEW_PASSWORD).await;
    assert_works(&app, &again, ada).await;
}

#[tokio::test]
async fn a_password_change_keeps_the_session_that_made_it_and_ends_the_other_playground_keys() {
    let app = TestApp::spawn().await;
    let (ada, program_key) = user(&app, "ada@example.com", &[]).await;
    let (bob, _) = user(&app, "bob@example.com", &[]).await;
    let bobs_session = log_in(&app, "bob@example.com", PASSWORD).await;
    let session = log_in(&app, "ada@example.com", PASSWORD).await;
    // A second session of Ada's: a key named as sessions are (a client may name its keys so; a
    // login would replace it too).
    let other_session = own_key(&app, &session, "playground").await;
    assert_works(&app, &other_session, ada).await;

    update_ok(
        &app,
        &session,
        json!({"current_password": PASSWORD, "password": NEW_PASSWORD}),
    )
    .await;
    assert_ended(&app, &other_session).await;
    assert_works(&app, &session, ada).await;
    assert_works(&app, &program_key, ada).await;
    // Another user's session is not Ada's.
    assert_works(&app, &bobs_session, bob).await;
    assert_eq!(key_names(&app, ada).await, ["playground", "test key"]);

    // The session that made the change goes on: it changes the password once more.
    update_ok(
        &app,
        &session,
        json!({"current_password": NEW_PASSWORD, "password": PASSWORD}),
    )
    .await;
    assert_works(&app, &session, ada).await;
    assert_works(&app, &program_key, ada).await;
}

#[tokio::test]
async fn a_change_that_is_refused_or_sets_no_password_ends_no_session() {
    let app = TestApp::spawn().await;
    let (ada, program_key) = user(&app, "ada@example.com", &[]).await;
    let session = log_in(&app, "ada@example.com", PASSWORD).await;
    // A wrong current password changes nothing, sessions included.
    update(
        &app,
        &program_key,
        json!({"current_password": "not the password", "password": NEW_PASSWORD}),
    )
    .await
    .assert_detail(401, "Invalid current password.");
    assert_works(&app, &session, ada).await;
    // Neither a name nor an email is a password.
    update_ok(&app, &program_key, json!({"name": "Ada"})).await;
    update_ok(
        &app,
        &program_key,
        json!({"email": "lovelace@example.com", "current_password": PASSWORD}),
    )
    .await;
    assert_works(&app, &session, ada).await;
    // Nor an admin's change of anything else.
    admin_update_ok(
        &app,
        MASTER_KEY,
        ada,
        json!({"name": "Ada L.", "priority": 3}),
    )
    .await;
    assert_works(&app, &session, ada).await;
}

#[tokio::test]
async fn an_admins_password_change_ends_every_session_of_the_user_but_no_other_key() {
    let app = TestApp::spawn().await;
    let (ada, program_key) = user(&app, "ada@example.com", &[]).await;
    let (bob, _) = user(&app, "bob@example.com", &[]).await;
    let (admin, _) = user(&app, "admin@example.com", &["admin"]).await;
    let admin_session = log_in(&app, "admin@example.com", PASSWORD).await;
    let bobs_session = log_in(&app, "bob@example.com", PASSWORD).await;

    // With the master key, which has no session of its own.
    let session = log_in(&app, "ada@example.com", PASSWORD).await;
    let other_session = own_key(&app, &session, "playground").await;
    admin_update_ok(&app, MASTER_KEY, ada, json!({"password": NEW_PASSWORD})).await;
    assert_ended(&app, &session).await;
    assert_ended(&app, &other_session).await;
    assert_works(&app, &program_key, ada).await;
    assert_eq!(key_names(&app, ada).await, ["test key"]);

    // With an admin's session, which is not Ada's: it ends hers and goes on itself.
    let session = log_in(&app, "ada@example.com", NEW_PASSWORD).await;
    admin_update_ok(&app, &admin_session, ada, json!({"password": PASSWORD})).await;
    assert_ended(&app, &session).await;
    assert_works(&app, &program_key, ada).await;
    assert_works(&app, &admin_session, admin).await;
    assert_works(&app, &bobs_session, bob).await;
    assert_refused(&app, "ada@example.com", NEW_PASSWORD).await;
    log_in(&app, "ada@example.com", PASSWORD).await;

    // An admin setting their own password keeps the session they do it with, and ends their other.
    let other_admin_session = own_key(&app, &admin_session, "playground").await;
    admin_update_ok(
        &app,
        &admin_session,
        admin,
        json!({"password": NEW_PASSWORD}),
    )
    .await;
    assert_works(&app, &admin_session, admin).await;
    assert_ended(&app, &other_admin_session).await;
    assert_works(&app, &bobs_session, bob).await;
}

// ---------------------------------------------------------------------------------------------
// An email change needs the current password

#[tokio::test]
async fn an_email_change_without_the_right_current_password_is_401_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let (ada, key) = user(&app, "ada@example.com", &[]).await;
    user(&app, "bob@example.com", &[]).await;
    let before = admin_view(&app, ada).await;
    for body in [
        json!({"email": "mallory@example.com"}),
        json!({"email": "mallory@example.com", "current_password": null}),
        json!({"email": "mallory@example.com", "current_password": "not the password"}),
        json!({"email": "mallory@example.com", "current_password": ""}),
        json!({"email": "mallory@example.com", "name": "Mallory"}),
        // A taken address is not told apart from a free one without the password.
        json!({"email": "bob@example.com"}),
        json!({"email": "BOB@example.com", "current_password": "not the password"}),
    ] {
        update(&app, &key, body.clone())
            .await
            .assert_detail(401, "Invalid current password.");
        assert_eq!(admin_view(&app, ada).await, before, "{body}");
    }
    assert_refused(&app, "mallory@example.com", PASSWORD).await;
    log_in(&app, "ada@example.com", PASSWORD).await;
    // The key still works: a wrong current password is not a wrong key.
    assert_works(&app, &key, ada).await;
}

#[tokio::test]
async fn an_email_change_with_the_right_current_password_is_204_or_409_when_taken() {
    let app = TestApp::spawn().await;
    let (ada, key) = user(&app, "ada@example.com", &[]).await;
    let (bob, _) = user(&app, "bob@example.com", &[]).await;
    let bob_before = admin_view(&app, bob).await;

    update_ok(
        &app,
        &key,
        json!({"email": "Lovelace@Example.com", "current_password": PASSWORD}),
    )
    .await;
    assert_eq!(admin_view(&app, ada).await["email"], "Lovelace@Example.com");
    log_in(&app, "lovelace@example.com", PASSWORD).await;
    assert_refused(&app, "ada@example.com", PASSWORD).await;

    let before = admin_view(&app, ada).await;
    update(
        &app,
        &key,
        json!({"email": "Bob@example.com", "current_password": PASSWORD, "name": "Bob"}),
    )
    .await
    .assert_detail(409, "User already exists.");
    assert_eq!(admin_view(&app, ada).await, before);
    assert_eq!(admin_view(&app, bob).await, bob_before);

    // A name alone needs no password.
    update_ok(&app, &key, json!({"name": "Ada"})).await;
    assert_eq!(admin_view(&app, ada).await["name"], "Ada");
}
