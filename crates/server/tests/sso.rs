//! Single sign-on against a real OpenID provider (npm `oidc-provider` on loopback, started by
//! `scripts/oidc-provider.sh`): the whole code flow through its sign-in form, the accounts it
//! finds, links and creates, every refusal with the contract's answer and nothing created, and
//! `POST /v1/auth/sso/login` with ID tokens good and bad.

#![allow(clippy::unwrap_used)]

mod support;

use std::sync::Arc;

use gatehouse_domain::chrono::TimeDelta;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT, COOKIE, LOCATION, SET_COOKIE};
use serde_json::{Value, json};
use support::oidc::{self, Return};
use support::{Answer, TestApp, TestClock, unix_now};

/// A client that shows redirects instead of following them.
fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .pool_idle_timeout(gatehouse::startup::KEEP_ALIVE / 2)
        .build()
        .unwrap()
}

/// A server with sign-on on, creating users with a new role `sso-users`, and that role's id.
async fn app() -> (TestApp, i64) {
    let clock = TestClock::now();
    app_with(clock).await
}

async fn app_with(clock: Arc<TestClock>) -> (TestApp, i64) {
    // The role must exist before the server that creates users with it: make it on a first
    // server of the same database, then start the sign-on server on that database.
    let setup = TestApp::spawn().await;
    let role = setup.create_role("sso-users", &[]).await;
    let app = TestApp::spawn_on_database_with_clock(setup, clock, |settings| {
        oidc::enable(settings, Some(role));
    })
    .await;
    (app, role)
}

/// The provider's authorization URL the server redirects `redirect` to.
async fn start(app: &TestApp, redirect: &str) -> String {
    let answer = client()
        .get(app.url(&format!("/v1/auth/oidc/login?redirect={redirect}")))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    answer.headers()[LOCATION].to_str().unwrap().to_owned()
}

/// The callback's answer to a client that wants JSON.
async fn finish(app: &TestApp, back: &Return) -> Answer {
    app.send(
        client()
            .get(app.url(&back.callback()))
            .header(ACCEPT, "application/json"),
    )
    .await
}

/// The whole flow for `login`, ending with the callback's JSON answer.
async fn sign_in(app: &TestApp, login: &str) -> Answer {
    let authorize = start(app, "/console/").await;
    let back = oidc::sign_in_at_provider(&authorize, login).await;
    finish(app, &back).await
}

/// The users whose email is `email`.
async fn users_with_email(app: &TestApp, email: &str) -> Vec<Value> {
    let list = app.get("/v1/admin/users?limit=100").await;
    assert_eq!(list.status, StatusCode::OK, "{}", list.text);
    list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|user| user["email"] == email)
        .cloned()
        .collect()
}

async fn user_count(app: &TestApp) -> i64 {
    app.get("/v1/admin/users?limit=1").await.body["total"]
        .as_i64()
        .unwrap()
}

/// `GET /v1/me/info` with `key`.
async fn me(app: &TestApp, key: &str) -> Answer {
    app.send(client().get(app.url("/v1/me/info")).bearer_auth(key))
        .await
}

#[tokio::test]
async fn the_login_redirects_to_the_provider_with_pkce_state_and_nonce() {
    let (app, _) = app().await;

    let authorize = reqwest::Url::parse(&start(&app, "/console/keys").await).unwrap();

    assert!(
        authorize
            .as_str()
            .starts_with(&format!("{}/auth?", oidc::issuer()))
    );
    let param = |name: &str| {
        authorize
            .query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    assert_eq!(param("response_type").as_deref(), Some("code"));
    assert_eq!(param("client_id").as_deref(), Some(oidc::CLIENT_ID));
    assert_eq!(
        param("redirect_uri"),
        Some(format!("{}/v1/auth/oidc/callback", oidc::PUBLIC_URL))
    );
    assert_eq!(param("code_challenge_method").as_deref(), Some("S256"));
    assert_eq!(param("code_challenge").map(|c| c.len()), Some(43));
    assert!(param("state").is_some_and(|state| state.len() >= 16));
    assert!(param("nonce").is_some_and(|nonce| nonce.len() >= 16));
    let scopes = param("scope").unwrap();
    assert!(scopes.split(' ').any(|s| s == "openid"), "{scopes}");
    assert!(scopes.split(' ').any(|s| s == "email"), "{scopes}");
}

#[tokio::test]
async fn the_first_sign_in_creates_the_user_and_the_second_finds_it() {
    let (app, role) = app().await;
    let login = "ada@example.org";
    let claims = oidc::account(login).await;
    let before = user_count(&app).await;

    let first = sign_in(&app, login).await;

    assert_eq!(first.status, StatusCode::OK, "{}", first.text);
    assert_eq!(first.header("cache-control"), Some("no-store"));
    let key = first.body["key"].as_str().unwrap().to_owned();
    assert!(first.body["id"].as_i64().unwrap() > 0);
    let users = users_with_email(&app, login).await;
    assert_eq!(users.len(), 1);
    let user = &users[0];
    assert_eq!(user["sub"], claims["sub"]);
    assert_eq!(user["iss"], oidc::issuer());
    assert_eq!(user["role"], role);
    assert_eq!(user["name"], "ada");
    assert_eq!(user_count(&app).await, before + 1);
    let info = me(&app, &key).await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text);
    assert_eq!(info.body["id"], user["id"]);

    let second = sign_in(&app, login).await;

    assert_eq!(second.status, StatusCode::OK, "{}", second.text);
    assert_ne!(second.body["key"], first.body["key"]);
    assert_eq!(user_count(&app).await, before + 1);
    let info = me(&app, second.body["key"].as_str().unwrap()).await;
    assert_eq!(info.body["id"], user["id"]);
    // One session per person: the second replaced the first.
    assert_eq!(me(&app, &key).await.status, StatusCode::UNAUTHORIZED);
    // A user made by sign-on has no password: a password login is refused as a wrong one.
    let login_answer = app
        .post(
            "/v1/auth/login",
            json!({"email": login, "password": "any password at all"}),
        )
        .await;
    login_answer.assert_detail(401, "Invalid email or password.");
}

#[tokio::test]
async fn a_password_user_with_the_same_verified_email_is_linked() {
    let (app, role) = app().await;
    let login = "grace@example.org";
    let id = app.create_user(login, role, None).await;
    let before = user_count(&app).await;

    let answer = sign_in(&app, login).await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(user_count(&app).await, before);
    let user = app.get(&format!("/v1/admin/users/{id}")).await;
    assert_eq!(user.body["sub"], oidc::account(login).await["sub"]);
    assert_eq!(user.body["iss"], oidc::issuer());
    let info = me(&app, answer.body["key"].as_str().unwrap()).await;
    assert_eq!(info.body["id"], id);
}

#[tokio::test]
async fn an_unverified_email_links_nothing_and_is_refused() {
    let (app, role) = app().await;
    let login = "unverified-alan@example.org";
    let id = app.create_user(login, role, None).await;
    let before = user_count(&app).await;

    let answer = sign_in(&app, login).await;

    answer.assert_detail(403, "Not allowed to sign in.");
    assert_eq!(user_count(&app).await, before);
    let user = app.get(&format!("/v1/admin/users/{id}")).await;
    assert_eq!(user.body["sub"], Value::Null);
    assert_eq!(user.body["iss"], Value::Null);
}

/// What a browser sends to the callback: its `Accept`, and the cookie `start` set, if any.
fn browser_callback(app: &TestApp, back: &Return, cookie: Option<&str>) -> reqwest::RequestBuilder {
    let request = client()
        .get(app.url(&back.callback()))
        .header(ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8");
    match cookie {
        Some(cookie) => request.header(COOKIE, cookie),
        None => request,
    }
}

/// As a browser starts a sign-in: the provider's address, and the cookie the answer set.
async fn start_in_browser(app: &TestApp, redirect: &str) -> (String, String) {
    let answer = client()
        .get(app.url(&format!("/v1/auth/oidc/login?redirect={redirect}")))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
    let cookie = answer.headers()[SET_COOKIE].to_str().unwrap().to_owned();
    assert!(cookie.starts_with("gatehouse_sign_on="), "{cookie}");
    for attribute in [
        "HttpOnly",
        "Path=/v1/auth/oidc",
        "SameSite=Lax",
        "Max-Age=600",
    ] {
        assert!(cookie.contains(attribute), "{attribute} in {cookie}");
    }
    let location = answer.headers()[LOCATION].to_str().unwrap().to_owned();
    (location, cookie.split(';').next().unwrap().to_owned())
}

#[tokio::test]
async fn a_browser_lands_on_its_redirect_signed_in_to_the_console() {
    let (app, _) = app().await;
    let (authorize, state_cookie) = start_in_browser(&app, "/console/keys").await;
    let back = oidc::sign_in_at_provider(&authorize, "barbara@example.org").await;

    let answer = browser_callback(&app, &back, Some(&state_cookie))
        .send()
        .await
        .unwrap();

    assert_eq!(answer.status(), StatusCode::FOUND);
    assert_eq!(answer.headers()[LOCATION], "/console/keys");
    assert_eq!(answer.headers()["cache-control"], "no-store");
    let cookies: Vec<&str> = answer
        .headers()
        .get_all(SET_COOKIE)
        .iter()
        .map(|value| value.to_str().unwrap())
        .collect();
    assert!(
        cookies
            .iter()
            .any(|cookie| cookie.starts_with("gatehouse_sign_on=;") && cookie.contains("Max-Age=0")),
        "the sign-in's cookie is removed: {cookies:?}"
    );
    let cookie = cookies
        .iter()
        .find(|cookie| cookie.starts_with("gatehouse_session="))
        .unwrap()
        .to_string();
    assert!(cookie.contains("HttpOnly"), "{cookie}");
    assert!(cookie.contains("Path=/console"), "{cookie}");
    let session = cookie.split(';').next().unwrap().to_owned();
    let page = client()
        .get(app.url("/console/account"))
        .header("cookie", session)
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("barbara@example.org"));
}

#[tokio::test]
async fn a_browser_without_the_sign_ins_cookie_is_refused_and_the_sign_in_kept() {
    let (app, _) = app().await;
    // Someone signs in at the provider and sends their callback address to another's browser.
    let (authorize, cookie) = start_in_browser(&app, "/console/").await;
    let back = oidc::sign_in_at_provider(&authorize, "mallory@example.org").await;
    let (_, other_cookie) = start_in_browser(&app, "/console/").await;
    let before = user_count(&app).await;

    for cookie in [None, Some(other_cookie.as_str())] {
        let answer = app.send(browser_callback(&app, &back, cookie)).await;
        answer.assert_detail(400, "Invalid sign-in.");
        assert!(answer.header("set-cookie").is_none());
    }
    assert_eq!(user_count(&app).await, before);

    // The browser that started it still finishes it: the refusals consumed nothing.
    let answer = browser_callback(&app, &back, Some(&cookie))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::FOUND);
}

#[tokio::test]
async fn a_state_works_once() {
    let (app, _) = app().await;
    let authorize = start(&app, "/console/").await;
    let back = oidc::sign_in_at_provider(&authorize, "edsger@example.org").await;
    assert_eq!(finish(&app, &back).await.status, StatusCode::OK);
    let before = user_count(&app).await;

    let replayed = finish(&app, &back).await;

    replayed.assert_detail(400, "Invalid sign-in.");
    assert_eq!(user_count(&app).await, before);
}

#[tokio::test]
async fn an_unknown_or_missing_state_or_code_is_an_invalid_sign_in() {
    let (app, _) = app().await;
    let before = user_count(&app).await;

    for path in [
        "/v1/auth/oidc/callback?code=abc&state=never-sent",
        "/v1/auth/oidc/callback?code=abc",
        "/v1/auth/oidc/callback?state=abc",
        "/v1/auth/oidc/callback?error=access_denied&state=abc",
        "/v1/auth/oidc/callback",
    ] {
        let answer = app
            .send(
                client()
                    .get(app.url(path))
                    .header(ACCEPT, "application/json"),
            )
            .await;
        answer.assert_detail(400, "Invalid sign-in.");
    }
    assert_eq!(user_count(&app).await, before);
}

#[tokio::test]
async fn a_state_older_than_ten_minutes_is_refused() {
    let clock = TestClock::now();
    let (app, _) = app_with(clock.clone()).await;
    let authorize = start(&app, "/console/").await;
    let back = oidc::sign_in_at_provider(&authorize, "john@example.org").await;
    let before = user_count(&app).await;

    clock.advance(TimeDelta::minutes(10));
    let late = finish(&app, &back).await;

    late.assert_detail(400, "Invalid sign-in.");
    assert_eq!(user_count(&app).await, before);
}

#[tokio::test]
async fn a_wrong_nonce_is_refused_and_creates_nobody() {
    let (app, _) = app().await;
    let mut authorize = reqwest::Url::parse(&start(&app, "/console/").await).unwrap();
    let pairs: Vec<(String, String)> = authorize
        .query_pairs()
        .map(|(key, value)| {
            let value = if key == "nonce" {
                "another-nonce-than-the-servers".to_owned()
            } else {
                value.into_owned()
            };
            (key.into_owned(), value)
        })
        .collect();
    authorize.query_pairs_mut().clear().extend_pairs(pairs);
    let back = oidc::sign_in_at_provider(authorize.as_str(), "tony@example.org").await;
    let before = user_count(&app).await;

    let answer = finish(&app, &back).await;

    answer.assert_detail(400, "Invalid sign-in.");
    assert_eq!(user_count(&app).await, before);
    assert!(users_with_email(&app, "tony@example.org").await.is_empty());
}

#[tokio::test]
async fn bad_id_tokens_from_the_token_endpoint_are_refused_and_create_nobody() {
    let (app, _) = app().await;
    let before = user_count(&app).await;

    for kind in [
        "foreign-key",
        "foreign-key-same-kid",
        "expired",
        "other-audience",
        "other-issuer",
        "unsigned",
    ] {
        let login = format!("id-token-{kind}-ada@example.org");
        let answer = sign_in(&app, &login).await;
        assert_eq!(
            answer.status,
            StatusCode::BAD_REQUEST,
            "{kind}: {}",
            answer.text
        );
        answer.assert_detail(400, "Invalid sign-in.");
        assert!(users_with_email(&app, &login).await.is_empty(), "{kind}");
    }
    assert_eq!(user_count(&app).await, before);
}

#[tokio::test]
async fn an_id_token_signs_in_through_the_front_end_endpoint() {
    let (app, _) = app().await;
    let login = "margaret@example.org";
    let token = oidc::token("valid", login, unix_now()).await;

    let answer = app
        .post("/v1/auth/sso/login", json!({ "token": token }))
        .await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    let users = users_with_email(&app, login).await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0]["sub"], oidc::account(login).await["sub"]);
    let info = me(&app, answer.body["key"].as_str().unwrap()).await;
    assert_eq!(info.body["id"], users[0]["id"]);
}

#[tokio::test]
async fn bad_id_tokens_are_refused_by_the_front_end_endpoint() {
    let (app, _) = app().await;
    let before = user_count(&app).await;

    for kind in [
        "foreign-key",
        "foreign-key-same-kid",
        "expired",
        "other-audience",
        "other-issuer",
        "unsigned",
    ] {
        let token = oidc::token(kind, "mallory@example.org", unix_now()).await;
        let answer = app
            .post("/v1/auth/sso/login", json!({ "token": token }))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNAUTHORIZED,
            "{kind}: {}",
            answer.text
        );
        answer.assert_detail(401, "Invalid sign-in.");
    }
    let answer = app
        .post("/v1/auth/sso/login", json!({ "token": "not a jwt" }))
        .await;
    answer.assert_detail(401, "Invalid sign-in.");
    let answer = app.post("/v1/auth/sso/login", json!({})).await;
    answer.assert_invalid(&[(json!(["body", "token"]), "missing")]);
    assert_eq!(user_count(&app).await, before);
}

#[tokio::test]
async fn a_token_signed_with_a_rotated_key_makes_the_server_fetch_the_keys_again() {
    let (app, _) = app().await;
    // The server has the provider's keys of now...
    let token = oidc::token("valid", "lynn@example.org", unix_now()).await;
    let answer = app
        .post("/v1/auth/sso/login", json!({ "token": token }))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);

    // ...then the provider publishes a new key and signs with it.
    oidc::rotate_keys().await;
    let token = oidc::token("rotated", "lynn@example.org", unix_now()).await;
    let answer = app
        .post("/v1/auth/sso/login", json!({ "token": token }))
        .await;

    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

#[tokio::test]
async fn the_server_judges_token_expiry_by_its_own_clock() {
    let clock = TestClock::now();
    let (app, _) = app_with(clock.clone()).await;
    let token = oidc::token("valid", "radia@example.org", clock.unix()).await;

    // The provider's tokens live an hour.
    clock.advance(TimeDelta::hours(2));
    let answer = app
        .post("/v1/auth/sso/login", json!({ "token": token }))
        .await;

    answer.assert_detail(401, "Invalid sign-in.");
}

#[tokio::test]
async fn the_redirect_must_be_a_path_of_this_server() {
    let (app, _) = app().await;

    for redirect in [
        "https://evil.example/",
        "//evil.example/",
        "/%5Cevil.example",
        "console",
    ] {
        let answer = app
            .send(client().get(app.url(&format!("/v1/auth/oidc/login?redirect={redirect}"))))
            .await;
        answer.assert_invalid(&[(json!(["query", "redirect"]), "value_error")]);
    }
}

#[tokio::test]
async fn the_allowed_email_domains_and_the_default_role_decide_who_may_sign_in() {
    let setup = TestApp::spawn().await;
    let role = setup.create_role("sso-users", &[]).await;
    let app = TestApp::spawn_on_database_with_clock(setup, TestClock::now(), |settings| {
        oidc::enable(settings, Some(role));
        settings.sso.oidc_allowed_email_domains =
            gatehouse::config::EmailDomains(vec!["example.org".to_owned()]);
    })
    .await;
    let before = user_count(&app).await;

    sign_in(&app, "eve@elsewhere.org")
        .await
        .assert_detail(403, "Not allowed to sign in.");
    assert_eq!(user_count(&app).await, before);
    assert_eq!(
        sign_in(&app, "ken@example.org").await.status,
        StatusCode::OK
    );

    // Without a default role, only people who have an account may sign in.
    let closed = TestApp::spawn_with(|settings| oidc::enable(settings, None)).await;
    let before = user_count(&closed).await;
    sign_in(&closed, "dennis@example.org")
        .await
        .assert_detail(403, "Not allowed to sign in.");
    assert_eq!(user_count(&closed).await, before);
}

#[tokio::test]
async fn an_expired_account_cannot_sign_on() {
    let clock = TestClock::now();
    let (app, role) = app_with(clock.clone()).await;
    let login = "niklaus@example.org";
    app.create_user_with(json!({
        "email": login,
        "role": role,
        "expires": clock.unix() + 60,
    }))
    .await;
    assert_eq!(sign_in(&app, login).await.status, StatusCode::OK);

    clock.advance(TimeDelta::minutes(2));
    let answer = sign_in(&app, login).await;

    answer.assert_detail(403, "Account expired.");
}

#[tokio::test]
async fn without_sign_on_its_endpoints_do_not_exist_and_the_console_offers_no_button() {
    let app = TestApp::spawn().await;

    for answer in [
        app.send(client().get(app.url("/v1/auth/oidc/login"))).await,
        app.send(client().get(app.url("/v1/auth/oidc/callback?code=a&state=b")))
            .await,
        app.post("/v1/auth/sso/login", json!({"token": "x"})).await,
    ] {
        answer.assert_detail(404, "Not Found");
    }
    let page = reqwest::get(app.url("/console/login")).await.unwrap();
    assert!(!page.text().await.unwrap().contains("Sign in with SSO"));

    let (with_sso, _) = app_with(TestClock::now()).await;
    let page = reqwest::get(with_sso.url("/console/login")).await.unwrap();
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"href="/v1/auth/oidc/login?redirect=/console/account""#),
        "{html}"
    );
    assert!(html.contains("Sign in with SSO"));
}

#[tokio::test]
async fn an_unreachable_provider_is_a_503_and_password_logins_go_on() {
    let app = TestApp::spawn_with(|settings| {
        oidc::enable(settings, None);
        // Nothing listens on port 1.
        settings.sso.oidc_issuer_url = Some("http://127.0.0.1:1".to_owned());
    })
    .await;

    let answer = app.send(client().get(app.url("/v1/auth/oidc/login"))).await;
    answer.assert_detail(503, "Service unavailable.");
    let answer = app
        .post("/v1/auth/sso/login", json!({"token": "x.y.z"}))
        .await;
    answer.assert_detail(503, "Service unavailable.");

    let login = app
        .post(
            "/v1/auth/login",
            json!({"email": "master", "password": support::MASTER_KEY}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
}
