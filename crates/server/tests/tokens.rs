//! API.md's API keys section: `/v1/admin/tokens` (anyone's keys, for admins) and `/v1/me/keys`
//! (one's own), the secret shown once, and `KEY_MAX_EXPIRATION_DAYS`.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::num::NonZeroU32;
use std::sync::Arc;

use gatehouse_domain::chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp, TestClock, ids, unix_now};

const DAY: i64 = 24 * 60 * 60;

/// A user whose role has `permissions`: their id.
async fn user(app: &TestApp, email: &str, permissions: &[&str]) -> i64 {
    let role = app
        .create_role(&format!("role of {email}"), permissions)
        .await;
    app.create_user(email, role, None).await
}

async fn create_token(app: &TestApp, body: Value) -> Answer {
    app.post("/v1/admin/tokens", body).await
}

/// `POST /v1/me/keys` with `key`.
async fn create_own(app: &TestApp, key: &str, body: Value) -> Answer {
    app.call(Method::POST, "/v1/me/keys", Some(key), Some(body))
        .await
}

async fn as_key(app: &TestApp, method: Method, path: &str, key: &str) -> Answer {
    app.call(method, path, Some(key), None).await
}

/// Every key in the admin list (at most 100).
async fn all_tokens(app: &TestApp) -> Value {
    let answer = app.get("/v1/admin/tokens?limit=100").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// Asserts that `token` is a masked form of `secret`: it looks like a key, is not the key, and does
/// not hold its random part.
#[track_caller]
fn assert_masked(token: &Value, secret: &str) {
    let token = token
        .as_str()
        .unwrap_or_else(|| panic!("a token, got {token}"));
    let random = secret.strip_prefix("sk-").expect("a key starts with sk-");
    assert!(token.starts_with("sk-"), "{token}");
    assert_ne!(token, secret);
    assert!(!token.contains(random), "{token} holds the whole key");
    assert!(token.len() < secret.len(), "{token} is as long as the key");
}

/// Asserts that no part of the answer (status line aside) shows `secret`.
#[track_caller]
fn assert_hides(answer: &Answer, secret: &str) {
    let random = secret.strip_prefix("sk-").expect("a key starts with sk-");
    assert!(
        !answer.text.contains(random),
        "the body shows the key: {}",
        answer.text
    );
    for (name, value) in &answer.headers {
        let value = value.to_str().unwrap_or("");
        assert!(!value.contains(random), "header {name} shows the key");
    }
}

// ---------------------------------------------------------------------------------------------
// POST /v1/admin/tokens

#[tokio::test]
async fn creating_a_token_answers_201_with_the_whole_key_under_token_and_key() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let before = unix_now();
    let answer = create_token(&app, json!({"name": " laptop ", "user": owner})).await;
    let after = unix_now();
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let token = &answer.body;
    let id = token["id"].as_i64().expect("an integer id");
    assert!(id > 0);
    assert_eq!(token["object"], "token");
    assert_eq!(token["name"], "laptop");
    assert_eq!(token["user"], owner);
    assert_eq!(token["expires"], Value::Null);
    let created = token["created"].as_i64().expect("integer created");
    assert!((before..=after).contains(&created));
    let secret = token["token"].as_str().expect("the key under token");
    assert!(secret.starts_with("sk-"), "{secret}");
    assert!(
        secret.len() > "sk-".len() + 16,
        "{secret} is too short to be secret"
    );
    assert_eq!(token["key"], token["token"]);

    let location = answer.header("location").expect("a Location header");
    assert!(
        location.ends_with(&format!("/v1/admin/tokens/{id}")),
        "{location}"
    );

    // The key works at once, as its owner.
    let mine = as_key(&app, Method::GET, "/v1/me/keys", secret).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    assert_eq!(ids(&mine.body), [id]);
}

#[tokio::test]
async fn a_token_keeps_the_expiry_it_was_given() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let expires = unix_now() + 3600;
    let answer = create_token(
        &app,
        json!({"name": "hour", "user": owner, "expires": expires}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["expires"], expires);
    let id = answer.body["id"].as_i64().unwrap();
    let read = app.get(&format!("/v1/admin/tokens/{id}")).await;
    assert_eq!(read.body["expires"], expires);

    let answer = create_token(
        &app,
        json!({"name": "never", "user": owner, "expires": null}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["expires"], Value::Null);
}

#[tokio::test]
async fn every_key_is_different() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let first = app.create_key(owner).await;
    let second = app.create_key(owner).await;
    assert_ne!(first, second);
}

#[tokio::test]
async fn a_token_is_masked_everywhere_but_in_the_answer_that_creates_it() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let answer = create_token(&app, json!({"name": "laptop", "user": owner})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let id = answer.body["id"].as_i64().unwrap();
    let secret = answer.body["token"].as_str().unwrap().to_owned();

    let one = app.get(&format!("/v1/admin/tokens/{id}")).await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["object"], "token");
    assert_eq!(one.body["id"], id);
    assert_eq!(one.body["name"], "laptop");
    assert_eq!(one.body["user"], owner);
    assert_eq!(one.body["created"], answer.body["created"]);
    assert_eq!(one.body["expires"], Value::Null);
    assert_masked(&one.body["token"], &secret);
    assert!(
        one.body.get("key").is_none_or(Value::is_null),
        "{}",
        one.text
    );
    let masked = one.body["token"].clone();

    let answers = [
        one,
        app.get("/v1/admin/tokens").await,
        app.get(&format!("/v1/admin/tokens?user={owner}")).await,
        as_key(&app, Method::GET, "/v1/me/keys", &secret).await,
        as_key(&app, Method::GET, &format!("/v1/me/keys/{id}"), &secret).await,
    ];
    for answer in &answers {
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_hides(answer, &secret);
    }
    for list in &answers[1..4] {
        let item = &list.body["data"][0];
        assert_eq!(item["token"], masked, "{}", list.text);
        assert!(item.get("key").is_none_or(Value::is_null), "{}", list.text);
    }
    assert_eq!(answers[4].body["token"], masked);
}

#[tokio::test]
async fn creating_a_token_for_an_unknown_user_is_404_user_not_found() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    for missing in [owner + 1, 0, 9_223_372_036_854_775_807] {
        let answer = create_token(&app, json!({"name": "ghost", "user": missing})).await;
        answer.assert_detail(404, "User not found.");
    }
    assert_eq!(all_tokens(&app).await["total"], 0);
}

#[tokio::test]
async fn a_token_expiry_now_or_in_the_past_is_422() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    for expires in [unix_now(), unix_now() - 1, unix_now() - 365 * DAY, 0] {
        let answer = create_token(
            &app,
            json!({"name": "late", "user": owner, "expires": expires}),
        )
        .await;
        answer.assert_invalid(&[(json!(["body", "expires"]), "value_error")]);
    }
    assert_eq!(all_tokens(&app).await["total"], 0);
}

#[tokio::test]
async fn an_invalid_token_body_is_422_with_every_field() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    create_token(&app, json!({})).await.assert_invalid(&[
        (json!(["body", "name"]), "missing"),
        (json!(["body", "user"]), "missing"),
    ]);
    create_token(
        &app,
        json!({"name": "  ", "user": "1", "expires": "tomorrow"}),
    )
    .await
    .assert_invalid(&[
        (json!(["body", "name"]), "string_too_short"),
        (json!(["body", "user"]), "int_type"),
        (json!(["body", "expires"]), "int_type"),
    ]);
    create_token(
        &app,
        json!({"name": "x".repeat(256), "user": owner, "expires": 1.5}),
    )
    .await
    .assert_invalid(&[
        (json!(["body", "name"]), "string_too_long"),
        (json!(["body", "expires"]), "int_from_float"),
    ]);
    create_token(
        &app,
        json!({"name": "", "user": owner, "expires": unix_now() - 10}),
    )
    .await
    .assert_invalid(&[
        (json!(["body", "name"]), "string_too_short"),
        (json!(["body", "expires"]), "value_error"),
    ]);
    create_token(&app, json!({"name": "a\u{0}b", "user": null}))
        .await
        .assert_invalid(&[
            (json!(["body", "name"]), "value_error"),
            (json!(["body", "user"]), "int_type"),
        ]);
    assert_eq!(all_tokens(&app).await["total"], 0);
}

// ---------------------------------------------------------------------------------------------
// KEY_MAX_EXPIRATION_DAYS

async fn app_with_30_days() -> TestApp {
    TestApp::spawn_with(|settings| settings.key_max_expiration_days = NonZeroU32::new(30)).await
}

#[tokio::test]
async fn with_a_maximum_lifetime_a_key_without_expiry_expires_after_that_many_days() {
    let app = app_with_30_days().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let own_key = app.create_key(owner).await;
    for (endpoint, body) in [
        ("admin", json!({"name": "absent", "user": owner})),
        (
            "admin",
            json!({"name": "null", "user": owner, "expires": null}),
        ),
        ("me", json!({"name": "absent"})),
        ("me", json!({"name": "null", "expires": null})),
    ] {
        let before = unix_now();
        let answer = if endpoint == "admin" {
            create_token(&app, body.clone()).await
        } else {
            create_own(&app, &own_key, body.clone()).await
        };
        let after = unix_now();
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{body}: {}",
            answer.text
        );
        let expires = answer.body["expires"]
            .as_i64()
            .unwrap_or_else(|| panic!("{body}: an expiry, got {}", answer.text));
        assert!(
            (before + 30 * DAY..=after + 30 * DAY).contains(&expires),
            "{body}: {expires} is not 30 days after {before}..={after}"
        );
        let id = answer.body["id"].as_i64().unwrap();
        let read = app.get(&format!("/v1/admin/tokens/{id}")).await;
        assert_eq!(read.body["expires"], expires, "{body}");
    }
}

#[tokio::test]
async fn with_a_maximum_lifetime_an_expiry_beyond_it_is_400_and_within_it_is_kept() {
    let app = app_with_30_days().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let own_key = app.create_key(owner).await;
    let sentence = "Token expiration timestamp cannot be greater than 30 days from now.";
    for expires in [unix_now() + 31 * DAY, unix_now() + 30 * DAY + 120] {
        create_token(
            &app,
            json!({"name": "far", "user": owner, "expires": expires}),
        )
        .await
        .assert_detail(400, sentence);
        create_own(&app, &own_key, json!({"name": "far", "expires": expires}))
            .await
            .assert_detail(400, sentence);
    }
    assert_eq!(all_tokens(&app).await["total"], 1);

    let within = unix_now() + 29 * DAY;
    let answer = create_token(
        &app,
        json!({"name": "near", "user": owner, "expires": within}),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["expires"], within);
    let answer = create_own(&app, &own_key, json!({"name": "near", "expires": within})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["expires"], within);

    // An expiry in the past is still 422, not 400.
    create_token(
        &app,
        json!({"name": "past", "user": owner, "expires": unix_now() - 10}),
    )
    .await
    .assert_invalid(&[(json!(["body", "expires"]), "value_error")]);
    assert_eq!(all_tokens(&app).await["total"], 3);
}

#[tokio::test]
async fn without_a_maximum_lifetime_a_key_without_expiry_never_expires_and_any_future_expiry_is_kept()
 {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let far = unix_now() + 3650 * DAY;
    let answer = create_token(&app, json!({"name": "far", "user": owner, "expires": far})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["expires"], far);
    let own = answer.body["token"].as_str().unwrap().to_owned();
    let answer = create_own(&app, &own, json!({"name": "forever"})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["expires"], Value::Null);
}

// ---------------------------------------------------------------------------------------------
// GET /v1/admin/tokens

#[tokio::test]
async fn tokens_are_listed_in_the_envelope_and_filtered_by_user() {
    let app = TestApp::spawn().await;
    let ada = user(&app, "ada@example.com", &[]).await;
    let bob = user(&app, "bob@example.com", &[]).await;
    let mut of_ada = Vec::new();
    for name in ["one", "two"] {
        let answer = create_token(&app, json!({"name": name, "user": ada})).await;
        of_ada.push(answer.body["id"].as_i64().unwrap());
    }
    let of_bob = create_token(&app, json!({"name": "three", "user": bob}))
        .await
        .body["id"]
        .as_i64()
        .unwrap();

    let all = app.get("/v1/admin/tokens").await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["object"], "list");
    assert_eq!(all.body["total"], 3);
    assert_eq!(all.body["offset"], 0);
    assert_eq!(all.body["limit"], 10);
    assert_eq!(ids(&all.body), [of_ada[0], of_ada[1], of_bob]);
    for item in all.body["data"].as_array().unwrap() {
        assert_eq!(item["object"], "token");
        for field in ["id", "name", "token", "user", "expires", "created"] {
            assert!(item.get(field).is_some(), "{field} missing in {item}");
        }
    }

    let answer = app.get(&format!("/v1/admin/tokens?user={ada}")).await;
    assert_eq!(answer.body["total"], 2);
    assert_eq!(ids(&answer.body), of_ada);
    assert!(
        answer.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t["user"] == ada)
    );

    let answer = app
        .get(&format!("/v1/admin/tokens?user={bob}&limit=1"))
        .await;
    assert_eq!(answer.body["total"], 1);
    assert_eq!(answer.body["limit"], 1);
    assert_eq!(ids(&answer.body), [of_bob]);

    let answer = app.get(&format!("/v1/admin/tokens?user={}", bob + 1)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["total"], 0);
    assert_eq!(answer.body["data"], json!([]));

    let answer = app.get("/v1/admin/tokens?offset=1&limit=1").await;
    assert_eq!(answer.body["total"], 3);
    assert_eq!(answer.body["offset"], 1);
    assert_eq!(ids(&answer.body), [of_ada[1]]);
}

#[tokio::test]
async fn tokens_can_be_ordered_by_id_name_or_created_in_both_directions() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let mut id_of = std::collections::HashMap::new();
    for name in ["bravo", "alpha", "charlie"] {
        let answer = create_token(&app, json!({"name": name, "user": owner})).await;
        id_of.insert(name, answer.body["id"].as_i64().unwrap());
    }
    let (a, b, c) = (id_of["alpha"], id_of["bravo"], id_of["charlie"]);
    for (query, expected) in [
        ("", [b, a, c]),
        ("?order_by=id", [b, a, c]),
        ("?order_by=id&order_direction=desc", [c, a, b]),
        ("?order_by=name", [a, b, c]),
        ("?order_by=name&order_direction=desc", [c, b, a]),
        ("?order_by=created", [b, a, c]),
        ("?order_by=created&order_direction=desc", [c, a, b]),
    ] {
        let answer = app.get(&format!("/v1/admin/tokens{query}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text);
        assert_eq!(ids(&answer.body), expected, "{query}");
    }
}

#[tokio::test]
async fn tokens_with_the_same_name_are_ordered_by_id_in_the_same_direction() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let mut same = Vec::new();
    for name in ["same", "other", "same", "same"] {
        let id = create_token(&app, json!({"name": name, "user": owner}))
            .await
            .body["id"]
            .as_i64()
            .unwrap();
        if name == "same" {
            same.push(id);
        }
    }
    let answer = app.get("/v1/admin/tokens?order_by=name").await;
    assert_eq!(ids(&answer.body)[1..], same[..]);
    let answer = app
        .get("/v1/admin/tokens?order_by=name&order_direction=desc")
        .await;
    let mut reversed = same.clone();
    reversed.reverse();
    assert_eq!(ids(&answer.body)[..3], reversed[..]);
    // Pages of one never overlap nor skip.
    let mut paged = Vec::new();
    for offset in 0..4 {
        let page = app
            .get(&format!(
                "/v1/admin/tokens?order_by=name&limit=1&offset={offset}"
            ))
            .await;
        paged.extend(ids(&page.body));
    }
    assert_eq!(paged[1..], same[..]);
}

#[tokio::test]
async fn an_invalid_token_list_query_is_422_on_each_parameter() {
    let app = TestApp::spawn().await;
    for (query, loc, kind) in [
        ("user=ada", "user", "int_parsing"),
        ("offset=-1", "offset", "greater_than_equal"),
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=101", "limit", "less_than_equal"),
        ("order_by=updated", "order_by", "enum"),
        ("order_by=user", "order_by", "enum"),
        ("order_direction=down", "order_direction", "enum"),
    ] {
        let answer = app.get(&format!("/v1/admin/tokens?{query}")).await;
        answer.assert_invalid(&[(json!(["query", loc]), kind)]);
    }
    let answer = app.get("/v1/admin/tokens?sort_by=name&colour=red").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

// ---------------------------------------------------------------------------------------------
// GET and DELETE /v1/admin/tokens/{id}

#[tokio::test]
async fn getting_an_unknown_token_is_404_and_a_malformed_id_is_422() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let answer = create_token(&app, json!({"name": "k", "user": owner})).await;
    let id = answer.body["id"].as_i64().unwrap();
    for missing in [id + 1, 0] {
        app.get(&format!("/v1/admin/tokens/{missing}"))
            .await
            .assert_detail(404, "Token not found.");
    }
    for raw in ["abc", "1.0", "99999999999999999999"] {
        app.get(&format!("/v1/admin/tokens/{raw}"))
            .await
            .assert_invalid(&[(json!(["path", "token"]), "int_parsing")]);
        app.delete(&format!("/v1/admin/tokens/{raw}"))
            .await
            .assert_invalid(&[(json!(["path", "token"]), "int_parsing")]);
    }
    assert_eq!(all_tokens(&app).await["total"], 1);
}

#[tokio::test]
async fn deleting_a_token_answers_204_and_the_key_stops_working_at_once() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let answer = create_token(&app, json!({"name": "doomed", "user": owner})).await;
    let id = answer.body["id"].as_i64().unwrap();
    let secret = answer.body["token"].as_str().unwrap().to_owned();
    let kept = app.create_key(owner).await;
    assert_eq!(
        as_key(&app, Method::GET, "/v1/me/keys", &secret)
            .await
            .status,
        StatusCode::OK
    );

    let answer = app.delete(&format!("/v1/admin/tokens/{id}")).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(answer.text, "");

    let refused = as_key(&app, Method::GET, "/v1/me/keys", &secret).await;
    refused.assert_detail(401, "Invalid API key.");
    assert_eq!(refused.header("www-authenticate"), Some("Bearer"));
    app.get(&format!("/v1/admin/tokens/{id}"))
        .await
        .assert_detail(404, "Token not found.");
    app.delete(&format!("/v1/admin/tokens/{id}"))
        .await
        .assert_detail(404, "Token not found.");

    // The owner's other key still works.
    let mine = as_key(&app, Method::GET, "/v1/me/keys", &kept).await;
    assert_eq!(mine.status, StatusCode::OK, "{}", mine.text);
    assert_eq!(mine.body["total"], 1);
}

// ---------------------------------------------------------------------------------------------
// /v1/me/keys

#[tokio::test]
async fn a_user_without_any_permission_creates_a_key_for_themselves() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let key = app.create_key(owner).await;
    let before = unix_now();
    let answer = create_own(&app, &key, json!({"name": " cli "})).await;
    let after = unix_now();
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let body = &answer.body;
    let id = body["id"].as_i64().expect("an id");
    assert_eq!(body["object"], "key");
    assert_eq!(body["name"], "cli");
    assert!(
        body.get("user").is_none(),
        "a Key has no user: {}",
        answer.text
    );
    assert_eq!(body["expires"], Value::Null);
    let created = body["created"].as_i64().expect("integer created");
    assert!((before..=after).contains(&created));
    let secret = body["token"].as_str().expect("the key under token");
    assert!(secret.starts_with("sk-"), "{secret}");
    assert_eq!(body["key"], body["token"]);
    assert_ne!(secret, key);
    let location = answer.header("location").expect("a Location header");
    assert!(
        location.ends_with(&format!("/v1/me/keys/{id}")),
        "{location}"
    );

    // It belongs to the caller, and it works.
    let admin_view = app.get(&format!("/v1/admin/tokens/{id}")).await;
    assert_eq!(admin_view.status, StatusCode::OK, "{}", admin_view.text);
    assert_eq!(admin_view.body["user"], owner);
    assert_eq!(admin_view.body["name"], "cli");
    let read = as_key(&app, Method::GET, &format!("/v1/me/keys/{id}"), secret).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["id"], id);
}

#[tokio::test]
async fn a_key_created_for_oneself_cannot_be_given_to_someone_else() {
    let app = TestApp::spawn().await;
    let ada = user(&app, "ada@example.com", &[]).await;
    let bob = user(&app, "bob@example.com", &[]).await;
    let key = app.create_key(ada).await;
    let answer = create_own(&app, &key, json!({"name": "gift", "user": bob})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let id = answer.body["id"].as_i64().unwrap();
    assert_eq!(
        app.get(&format!("/v1/admin/tokens/{id}")).await.body["user"],
        ada
    );
    assert_eq!(
        app.get(&format!("/v1/admin/tokens?user={bob}")).await.body["total"],
        0
    );
}

#[tokio::test]
async fn an_invalid_own_key_body_is_422_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let key = app.create_key(owner).await;
    create_own(&app, &key, json!({}))
        .await
        .assert_invalid(&[(json!(["body", "name"]), "missing")]);
    create_own(&app, &key, json!({"name": "", "expires": "soon"}))
        .await
        .assert_invalid(&[
            (json!(["body", "name"]), "string_too_short"),
            (json!(["body", "expires"]), "int_type"),
        ]);
    create_own(&app, &key, json!({"name": " ", "expires": unix_now() - 60}))
        .await
        .assert_invalid(&[
            (json!(["body", "name"]), "string_too_short"),
            (json!(["body", "expires"]), "value_error"),
        ]);
    for expires in [unix_now(), unix_now() - 60] {
        create_own(&app, &key, json!({"name": "late", "expires": expires}))
            .await
            .assert_invalid(&[(json!(["body", "expires"]), "value_error")]);
    }
    assert_eq!(all_tokens(&app).await["total"], 1);
}

#[tokio::test]
async fn a_user_lists_only_their_own_keys_masked() {
    let app = TestApp::spawn().await;
    let ada = user(&app, "ada@example.com", &[]).await;
    let bob = user(&app, "bob@example.com", &["admin"]).await;
    let ada_first = create_token(&app, json!({"name": "first", "user": ada})).await;
    let ada_key = ada_first.body["token"].as_str().unwrap().to_owned();
    let ada_second = create_own(&app, &ada_key, json!({"name": "second"})).await;
    let ada_second_secret = ada_second.body["token"].as_str().unwrap().to_owned();
    let bob_key = app.create_key(bob).await;

    let answer = as_key(&app, Method::GET, "/v1/me/keys", &ada_key).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["object"], "list");
    assert_eq!(answer.body["total"], 2);
    assert_eq!(answer.body["offset"], 0);
    assert_eq!(answer.body["limit"], 10);
    assert_eq!(
        ids(&answer.body),
        [
            ada_first.body["id"].as_i64().unwrap(),
            ada_second.body["id"].as_i64().unwrap()
        ]
    );
    let data = answer.body["data"].as_array().unwrap();
    for item in data {
        assert_eq!(item["object"], "key");
        assert!(item.get("user").is_none(), "{item}");
        assert!(item.get("key").is_none_or(Value::is_null), "{item}");
    }
    assert_masked(&data[0]["token"], &ada_key);
    assert_masked(&data[1]["token"], &ada_second_secret);
    assert_hides(&answer, &ada_key);
    assert_hides(&answer, &ada_second_secret);
    assert_hides(&answer, &bob_key);

    let answer = as_key(&app, Method::GET, "/v1/me/keys", &bob_key).await;
    assert_eq!(answer.body["total"], 1);
    let answer = as_key(
        &app,
        Method::GET,
        "/v1/me/keys?order_by=name&order_direction=desc&limit=1",
        &ada_key,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["total"], 2);
    assert_eq!(answer.body["data"][0]["name"], "second");
    as_key(&app, Method::GET, "/v1/me/keys?limit=0", &ada_key)
        .await
        .assert_invalid(&[(json!(["query", "limit"]), "greater_than_equal")]);
}

#[tokio::test]
async fn a_user_reads_one_of_their_keys_masked() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let created = create_token(
        &app,
        json!({"name": "mine", "user": owner, "expires": unix_now() + 600}),
    )
    .await;
    let id = created.body["id"].as_i64().unwrap();
    let secret = created.body["token"].as_str().unwrap().to_owned();
    let answer = as_key(&app, Method::GET, &format!("/v1/me/keys/{id}"), &secret).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["object"], "key");
    assert_eq!(answer.body["id"], id);
    assert_eq!(answer.body["name"], "mine");
    assert_eq!(answer.body["expires"], created.body["expires"]);
    assert_eq!(answer.body["created"], created.body["created"]);
    assert!(answer.body.get("user").is_none(), "{}", answer.text);
    assert_masked(&answer.body["token"], &secret);

    as_key(
        &app,
        Method::GET,
        &format!("/v1/me/keys/{}", id + 1),
        &secret,
    )
    .await
    .assert_detail(404, "Token not found.");
    as_key(&app, Method::GET, "/v1/me/keys/first", &secret)
        .await
        .assert_invalid(&[(json!(["path", "key"]), "int_parsing")]);
}

#[tokio::test]
async fn another_users_key_is_404_token_not_found_and_is_not_deleted() {
    let app = TestApp::spawn().await;
    let ada = user(&app, "ada@example.com", &[]).await;
    // Even an admin reaches only their own keys under /v1/me.
    let bob = user(&app, "bob@example.com", &["admin"]).await;
    let ada_key = app.create_key(ada).await;
    let bob_token = create_token(&app, json!({"name": "bob's", "user": bob})).await;
    let bob_id = bob_token.body["id"].as_i64().unwrap();
    let bob_key = bob_token.body["token"].as_str().unwrap().to_owned();
    let path = format!("/v1/me/keys/{bob_id}");

    as_key(&app, Method::GET, &path, &ada_key)
        .await
        .assert_detail(404, "Token not found.");
    as_key(&app, Method::DELETE, &path, &ada_key)
        .await
        .assert_detail(404, "Token not found.");

    let ada_id = app.get(&format!("/v1/admin/tokens?user={ada}")).await.body["data"][0]["id"]
        .as_i64()
        .unwrap();
    as_key(
        &app,
        Method::DELETE,
        &format!("/v1/me/keys/{ada_id}"),
        &bob_key,
    )
    .await
    .assert_detail(404, "Token not found.");

    // Both keys are still there and still work.
    let read = app.get(&format!("/v1/admin/tokens/{bob_id}")).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(all_tokens(&app).await["total"], 2);
    for key in [&ada_key, &bob_key] {
        let answer = as_key(&app, Method::GET, "/v1/me/keys", key).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(answer.body["total"], 1);
    }
}

#[tokio::test]
async fn a_user_deletes_their_own_key_and_it_stops_working_at_once() {
    let app = TestApp::spawn().await;
    let owner = user(&app, "ada@example.com", &[]).await;
    let key = app.create_key(owner).await;
    let other = create_own(&app, &key, json!({"name": "other"})).await;
    let other_id = other.body["id"].as_i64().unwrap();
    let other_key = other.body["token"].as_str().unwrap().to_owned();

    let answer = as_key(
        &app,
        Method::DELETE,
        &format!("/v1/me/keys/{other_id}"),
        &key,
    )
    .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(answer.text, "");
    as_key(&app, Method::GET, "/v1/me/keys", &other_key)
        .await
        .assert_detail(401, "Invalid API key.");
    as_key(&app, Method::GET, &format!("/v1/me/keys/{other_id}"), &key)
        .await
        .assert_detail(404, "Token not found.");
    as_key(
        &app,
        Method::DELETE,
        &format!("/v1/me/keys/{other_id}"),
        &key,
    )
    .await
    .assert_detail(404, "Token not found.");
    app.get(&format!("/v1/admin/tokens/{other_id}"))
        .await
        .assert_detail(404, "Token not found.");

    // A key may delete itself; it stops working for the next request.
    let own_id = app
        .get(&format!("/v1/admin/tokens?user={owner}"))
        .await
        .body["data"][0]["id"]
        .as_i64()
        .unwrap();
    let answer = as_key(&app, Method::DELETE, &format!("/v1/me/keys/{own_id}"), &key).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    as_key(&app, Method::GET, "/v1/me/keys", &key)
        .await
        .assert_detail(401, "Invalid API key.");
    assert_eq!(all_tokens(&app).await["total"], 0);
}

#[tokio::test]
async fn the_master_key_cannot_create_a_key_for_itself() {
    let app = TestApp::spawn().await;
    for body in [
        json!({"name": "master's"}),
        json!({"name": "x", "expires": unix_now() + 60}),
    ] {
        create_own(&app, MASTER_KEY, body)
            .await
            .assert_detail(400, "Master is not allowed to process this action.");
    }
    assert_eq!(all_tokens(&app).await["total"], 0);
    // It owns no key: its own list is empty.
    let answer = app.get("/v1/me/keys").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["total"], 0);
    assert_eq!(answer.body["data"], json!([]));
}

#[tokio::test]
async fn an_expired_account_gets_403_account_expired_on_its_keys_and_nothing_changes() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let role = app.create_role("expiring", &["admin"]).await;
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
    let owner = answer.body["id"].as_i64().unwrap();
    let created = create_token(&app, json!({"name": "mine", "user": owner})).await;
    let id = created.body["id"].as_i64().unwrap();
    let key = created.body["token"].as_str().unwrap().to_owned();
    let works = as_key(&app, Method::GET, "/v1/me/keys", &key).await;
    assert_eq!(works.status, StatusCode::OK, "{}", works.text);

    clock.advance(TimeDelta::seconds(60));

    let path = format!("/v1/me/keys/{id}");
    for (method, path, body) in [
        (Method::GET, "/v1/me/keys", None),
        (Method::POST, "/v1/me/keys", Some(json!({"name": "more"}))),
        (Method::GET, path.as_str(), None),
        (Method::DELETE, path.as_str(), None),
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
    }
    let tokens = all_tokens(&app).await;
    assert_eq!(ids(&tokens), [id]);
}

#[tokio::test]
async fn a_key_created_by_either_endpoint_works_as_a_bearer_on_the_others() {
    let app = TestApp::spawn().await;
    let admin = user(&app, "root@example.com", &["admin"]).await;
    // Made by the master on /v1/admin/tokens, used on /v1/me/keys.
    let from_admin = app.create_key(admin).await;
    let answer = create_own(&app, &from_admin, json!({"name": "self-made"})).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let from_me = answer.body["token"].as_str().unwrap().to_owned();
    let from_me_id = answer.body["id"].as_i64().unwrap();

    // Made on /v1/me/keys, used on /v1/admin/tokens to make another one.
    let answer = app
        .call(
            Method::POST,
            "/v1/admin/tokens",
            Some(&from_me),
            Some(json!({"name": "admin-made", "user": admin})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let from_admin_again = answer.body["token"].as_str().unwrap().to_owned();
    let answer = as_key(&app, Method::GET, "/v1/admin/tokens", &from_me).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["total"], 3);
    let answer = as_key(
        &app,
        Method::GET,
        &format!("/v1/me/keys/{from_me_id}"),
        &from_admin_again,
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["name"], "self-made");
}
