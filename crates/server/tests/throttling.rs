//! API.md's login throttling: after `LOGIN_MAX_FAILURES` failures for one email (known or not,
//! any letter case) or `LOGIN_MAX_FAILURES_PER_ADDRESS` from one client address within 15
//! minutes, `POST /v1/auth/login` answers 429 with `Retry-After` until the window ends, even for
//! the right password, over HTTP.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use gatehouse_api::TrustedProxies;
use gatehouse_domain::chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{Answer, MASTER_KEY, TestApp, TestClock};

const LOGIN: &str = "/v1/auth/login";
const PASSWORD: &str = "correct horse battery";
const WRONG: &str = "not the password";
/// The window of failures, in seconds.
const WINDOW_SECONDS: u64 = 15 * 60;

/// `POST /v1/auth/login` with `email` and `password`.
async fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    app.call(
        Method::POST,
        LOGIN,
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

/// `POST /v1/auth/login` with an `X-Forwarded-For` header.
async fn login_forwarded(app: &TestApp, forwarded: &str, email: &str, password: &str) -> Answer {
    app.send(
        app.client
            .post(app.url(LOGIN))
            .header("X-Forwarded-For", forwarded)
            .json(&json!({ "email": email, "password": password })),
    )
    .await
}

/// A user of a role without permissions, whose password is [`PASSWORD`].
async fn member(app: &TestApp, email: &str) {
    let role = app.create_role(&format!("role of {email}"), &[]).await;
    app.create_user(email, role, None).await;
}

#[track_caller]
fn assert_wrong(answer: &Answer) {
    answer.assert_detail(401, "Invalid email or password.");
}

#[track_caller]
fn assert_ok(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert!(answer.body["key"].is_string(), "{}", answer.text);
}

/// Asserts the contract's 429, and returns its `Retry-After` in seconds.
#[track_caller]
fn assert_throttled(answer: &Answer) -> u64 {
    answer.assert_detail(429, "Too many failed login attempts. Try again later.");
    assert_eq!(
        answer.header("content-type"),
        Some("application/json"),
        "{answer:?}"
    );
    let retry_after: u64 = answer
        .header("retry-after")
        .unwrap_or_else(|| panic!("no Retry-After: {answer:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("Retry-After is not whole seconds: {answer:?}"));
    assert!(
        (1..=WINDOW_SECONDS).contains(&retry_after),
        "Retry-After {retry_after}"
    );
    retry_after
}

/// Fails `times` logins of `email` with a wrong password, each answered 401.
async fn fail(app: &TestApp, email: &str, times: usize) {
    for _ in 0..times {
        assert_wrong(&login(app, email, WRONG).await);
    }
}

#[tokio::test]
async fn five_failures_for_an_unknown_email_make_the_sixth_attempt_429() {
    let app = TestApp::spawn().await;
    fail(&app, "nobody@example.com", 5).await;
    assert_throttled(&login(&app, "nobody@example.com", WRONG).await);
    assert_throttled(&login(&app, "nobody@example.com", PASSWORD).await);
}

#[tokio::test]
async fn five_failures_for_a_known_email_refuse_even_the_right_password_as_for_an_unknown_one() {
    let app = TestApp::spawn().await;
    member(&app, "ada@example.com").await;
    fail(&app, "ada@example.com", 5).await;
    fail(&app, "nobody@example.com", 5).await;

    let known = login(&app, "ada@example.com", PASSWORD).await;
    assert_throttled(&known);
    let unknown = login(&app, "nobody@example.com", PASSWORD).await;
    assert_throttled(&unknown);
    // Nothing tells which of the two emails exists.
    assert_eq!(known.text, unknown.text);
    assert_eq!(known.header("retry-after"), unknown.header("retry-after"));
    // Other emails are not throttled.
    member(&app, "bob@example.com").await;
    assert_ok(&login(&app, "bob@example.com", PASSWORD).await);
}

#[tokio::test]
async fn a_success_clears_the_emails_failures() {
    let app = TestApp::spawn().await;
    member(&app, "ada@example.com").await;
    fail(&app, "ada@example.com", 4).await;
    assert_ok(&login(&app, "ada@example.com", PASSWORD).await);
    // Five more failures are needed.
    fail(&app, "ada@example.com", 5).await;
    assert_throttled(&login(&app, "ada@example.com", PASSWORD).await);
}

#[tokio::test]
async fn an_email_in_another_letter_case_shares_the_count() {
    let app = TestApp::spawn().await;
    member(&app, "ada@example.com").await;
    for email in [
        "Ada@Example.com",
        "ADA@EXAMPLE.COM",
        "ada@example.com",
        "aDa@eXample.Com",
        "ada@EXAMPLE.com",
    ] {
        assert_wrong(&login(&app, email, WRONG).await);
    }
    assert_throttled(&login(&app, "ada@example.com", PASSWORD).await);
    assert_throttled(&login(&app, "ADA@example.com", PASSWORD).await);
}

#[tokio::test]
async fn the_master_email_is_throttled_too() {
    let app = TestApp::spawn().await;
    fail(&app, "master", 5).await;
    let answer = login(&app, "master", MASTER_KEY).await;
    assert_throttled(&answer);
    assert!(!answer.text.contains(MASTER_KEY), "{}", answer.text);
    // The master key itself keeps working on the API.
    assert_eq!(app.get("/v1/me/info").await.status, StatusCode::OK);
}

#[tokio::test]
async fn failures_from_one_address_across_emails_throttle_every_login_from_it() {
    let app = TestApp::spawn_with(|settings| settings.login_max_failures_per_address = 3).await;
    member(&app, "ada@example.com").await;
    for email in ["a@example.com", "b@example.com", "ada@example.com"] {
        assert_wrong(&login(&app, email, WRONG).await);
    }
    // Each email has one failure only, but the address has three.
    assert_throttled(&login(&app, "ada@example.com", PASSWORD).await);
    assert_throttled(&login(&app, "c@example.com", WRONG).await);
}

#[tokio::test]
async fn x_forwarded_for_tells_the_client_when_the_peer_is_a_trusted_proxy() {
    let app = TestApp::spawn_with(|settings| {
        settings.login_max_failures_per_address = 2;
        settings.trusted_proxies = TrustedProxies::parse("127.0.0.1").unwrap();
    })
    .await;
    member(&app, "ada@example.com").await;
    // The left-most entry is the client's own word; the proxy added the right-most.
    for email in ["a@example.com", "b@example.com"] {
        assert_wrong(&login_forwarded(&app, "203.0.113.1, 198.51.100.1", email, WRONG).await);
    }
    assert_throttled(&login_forwarded(&app, "198.51.100.1", "ada@example.com", PASSWORD).await);
    // Other clients behind the same proxy, and the proxy itself, are not throttled.
    assert_ok(
        &login_forwarded(
            &app,
            "203.0.113.1, 198.51.100.2",
            "ada@example.com",
            PASSWORD,
        )
        .await,
    );
    assert_ok(&login(&app, "ada@example.com", PASSWORD).await);
}

#[tokio::test]
async fn x_forwarded_for_is_ignored_from_a_peer_that_is_not_a_trusted_proxy() {
    let app = TestApp::spawn_with(|settings| {
        settings.login_max_failures_per_address = 2;
        settings.trusted_proxies = TrustedProxies::parse("10.0.0.0/8").unwrap();
    })
    .await;
    member(&app, "ada@example.com").await;
    assert_wrong(&login_forwarded(&app, "198.51.100.1", "a@example.com", WRONG).await);
    assert_wrong(&login_forwarded(&app, "198.51.100.2", "b@example.com", WRONG).await);
    // Both failures counted for the peer, 127.0.0.1, whatever the header said.
    assert_throttled(&login_forwarded(&app, "198.51.100.3", "ada@example.com", PASSWORD).await);
    assert_throttled(&login(&app, "ada@example.com", PASSWORD).await);
}

#[tokio::test]
async fn the_wait_ends_with_the_window_fifteen_minutes_after_the_first_failure() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    member(&app, "ada@example.com").await;
    fail(&app, "ada@example.com", 1).await;
    clock.advance(TimeDelta::minutes(5));
    fail(&app, "ada@example.com", 4).await;

    // The window started with the first failure: 10 minutes are left, whatever came since.
    assert_eq!(
        assert_throttled(&login(&app, "ada@example.com", PASSWORD).await),
        10 * 60
    );
    clock.advance(TimeDelta::minutes(10) - TimeDelta::seconds(1));
    assert_eq!(
        assert_throttled(&login(&app, "ada@example.com", PASSWORD).await),
        1
    );
    clock.advance(TimeDelta::seconds(1));
    assert_ok(&login(&app, "ada@example.com", PASSWORD).await);
}

#[tokio::test]
async fn a_failure_after_the_window_starts_a_new_count() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(clock.clone()).await;
    member(&app, "ada@example.com").await;
    fail(&app, "ada@example.com", 5).await;
    assert_throttled(&login(&app, "ada@example.com", WRONG).await);
    clock.advance(TimeDelta::minutes(15));
    // A fresh window: five failures again, and it lasts from the first of them.
    fail(&app, "ada@example.com", 5).await;
    assert_eq!(
        assert_throttled(&login(&app, "ada@example.com", PASSWORD).await),
        WINDOW_SECONDS
    );
}
