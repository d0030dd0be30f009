//! `/v1/admin/users`, over HTTP, as API.md describes it: every row of the Users table, every rule
//! on the body fields, the list filters and conventions, merge patches, and who may call it.

#![allow(
    clippy::expect_used,
    reason = "helpers of tests: a failed expectation is a failed test"
)]

mod support;

use std::sync::Arc;

use gatehouse_domain::chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp, TestClock, ids, unix_now};

const USERS: &str = "/v1/admin/users";
const PASSWORD: &str = "correct horse battery";

fn user(id: i64) -> String {
    format!("{USERS}/{id}")
}

fn body_loc(field: &str) -> Value {
    json!(["body", field])
}

/// Every user, as the master key sees them (at most 100).
async fn all_users(app: &TestApp) -> Value {
    let answer = app.get(&format!("{USERS}?limit=100")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// One user, which must exist.
async fn read(app: &TestApp, id: i64) -> Value {
    let answer = app.get(&user(id)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// Creates a user from `body` and returns the answer's body, which must be a 201.
async fn create(app: &TestApp, body: Value) -> Value {
    let answer = app.post(USERS, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.body
}

/// Creates a user with this name (or none) and returns its id.
async fn create_named(app: &TestApp, email: &str, name: Option<&str>, role: i64) -> i64 {
    let body = create(
        app,
        json!({ "email": email, "name": name, "password": PASSWORD, "role": role }),
    )
    .await;
    body["id"].as_i64().expect("an id")
}

/// Checks that `body` is a User object with exactly the contract's fields: never a password or
/// its hash.
#[track_caller]
fn assert_user_shape(body: &Value) {
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap_or_else(|| panic!("an object: {body}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "budget",
            "created",
            "email",
            "expires",
            "id",
            "iss",
            "name",
            "object",
            "organization",
            "priority",
            "role",
            "sub",
            "updated"
        ],
        "{body}"
    );
    assert_eq!(body["object"], json!("user"));
    assert_eq!(body["sub"], Value::Null);
    assert_eq!(body["iss"], Value::Null);
    let created = body["created"].as_i64().expect("created");
    assert!(
        (unix_now() - 60..=unix_now() + 1).contains(&created),
        "{body}"
    );
    assert!(
        body["updated"].as_i64().expect("updated") >= created,
        "{body}"
    );
}

/// A role and two organizations to put users in.
struct World {
    role: i64,
    other_role: i64,
    acme: i64,
    globex: i64,
}

async fn world(app: &TestApp) -> World {
    World {
        role: app.create_role("member", &["read_metric"]).await,
        other_role: app.create_role("guest", &[]).await,
        acme: app.create_organization("Acme").await,
        globex: app.create_organization("Globex").await,
    }
}

/// The body of a user with every field set.
fn ada(world: &World, expires: i64) -> Value {
    json!({
        "email": "ada@example.com",
        "name": "  Ada Lovelace ",
        "password": PASSWORD,
        "role": world.role,
        "organization": world.acme,
        "budget": 12.5,
        "expires": expires,
        "priority": 3,
    })
}

// ---------------------------------------------------------------------------------------------
// Create

#[tokio::test]
async fn creating_a_user_answers_201_with_the_whole_user_and_its_location() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let expires = unix_now() + 86_400;
    let answer = app.post(USERS, ada(&world, expires)).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_user_shape(&answer.body);
    let id = answer.body["id"].as_i64().expect("an id");
    assert!(id > 0);
    assert_eq!(answer.header("location"), Some(user(id).as_str()));
    let created = answer.body["created"].clone();
    assert_eq!(
        answer.body,
        json!({
            "object": "user",
            "id": id,
            "email": "ada@example.com",
            "name": "Ada Lovelace",
            "sub": null,
            "iss": null,
            "role": world.role,
            "organization": world.acme,
            "budget": 12.5,
            "expires": expires,
            "priority": 3,
            "created": created,
            "updated": answer.body["updated"],
        })
    );
    assert_eq!(read(&app, id).await, answer.body);
    assert_eq!(all_users(&app).await["total"], json!(1));
    assert_eq!(
        app.get(&format!("/v1/admin/organizations/{}", world.acme))
            .await
            .body["users"],
        json!(1)
    );
}

#[tokio::test]
async fn a_user_created_with_only_the_required_fields_gets_the_defaults() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let body = create(
        &app,
        json!({ "email": "grace@example.com", "password": PASSWORD, "role": role }),
    )
    .await;
    assert_user_shape(&body);
    assert_eq!(body["email"], json!("grace@example.com"));
    assert_eq!(body["name"], Value::Null);
    assert_eq!(body["role"], json!(role));
    assert_eq!(body["organization"], Value::Null);
    assert_eq!(body["budget"], Value::Null);
    assert_eq!(body["expires"], Value::Null);
    assert_eq!(body["priority"], json!(0));

    let nulls = create(
        &app,
        json!({
            "email": "alan@example.com", "password": PASSWORD, "role": role,
            "name": null, "organization": null, "budget": null, "expires": null,
        }),
    )
    .await;
    for field in ["name", "organization", "budget", "expires"] {
        assert_eq!(nulls[field], Value::Null, "{field}");
    }
    let zero = create(
        &app,
        json!({ "email": "zero@example.com", "password": PASSWORD, "role": role, "budget": 0, "priority": 0 }),
    )
    .await;
    assert_eq!(zero["budget"], json!(0.0));
    assert_eq!(zero["priority"], json!(0));
}

#[tokio::test]
async fn a_user_never_shows_a_password_or_its_hash() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let created = app.post(USERS, ada(&world, unix_now() + 3600)).await;
    let id = created.body["id"].as_i64().expect("an id");
    let patched = app
        .patch_returning(&user(id), json!({ "password": "another secret!" }))
        .await;
    assert_eq!(patched.status, StatusCode::OK, "{}", patched.text);
    let listed = app.get(USERS).await;
    let read = app.get(&user(id)).await;
    for answer in [&created, &patched, &listed, &read] {
        for secret in [PASSWORD, "another secret!", "argon2", "password", "hash"] {
            assert!(!answer.text.contains(secret), "{secret}: {}", answer.text);
        }
    }
    assert_user_shape(&created.body);
    assert_user_shape(&patched.body);
    assert_user_shape(&read.body);
    assert_user_shape(&listed.body["data"][0]);
}

#[tokio::test]
async fn the_email_is_stored_as_given() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let id = app
        .create_user("Grace.Hopper@Example.ORG", role, None)
        .await;
    assert_eq!(
        read(&app, id).await["email"],
        json!("Grace.Hopper@Example.ORG")
    );
}

/// An address of `length` characters, valid but for its length.
fn email_of_length(length: usize) -> String {
    // 64 + 1 + (63 + 1 + 63 + 1 + 57 + 4) = 254.
    let last_label = 57 + length - 254;
    format!(
        "{}@{}.{}.{}.com",
        "a".repeat(64),
        "b".repeat(63),
        "c".repeat(63),
        "d".repeat(last_label)
    )
}

#[tokio::test]
async fn emails_of_254_characters_and_passwords_of_8_and_128_characters_are_accepted() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let email = email_of_length(254);
    assert_eq!(email.chars().count(), 254);
    let long = create(
        &app,
        json!({ "email": email, "password": PASSWORD, "role": role }),
    )
    .await;
    assert_eq!(long["email"], json!(email));
    for (email, password) in [
        ("short@example.com", "8 chars!".to_owned()),
        ("long@example.com", "p".repeat(128)),
        ("wide@example.com", "ü".repeat(8)),
    ] {
        let body = create(
            &app,
            json!({ "email": email, "password": password, "role": role }),
        )
        .await;
        assert_eq!(body["email"], json!(email));
    }
    assert_eq!(all_users(&app).await["total"], json!(4));
}

/// `base` with `field` set to `value`, or removed when `value` is `None`.
fn with(base: &Value, field: &str, value: Option<Value>) -> Value {
    let mut body = base.clone();
    let object = body.as_object_mut().expect("an object");
    match value {
        Some(value) => object.insert(field.to_owned(), value),
        None => object.remove(field),
    };
    body
}

#[tokio::test]
async fn creating_a_user_with_an_invalid_field_is_422_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    app.create_user("existing@example.com", world.role, None)
        .await;
    let before = all_users(&app).await;
    let base = json!({ "email": "ada@example.com", "password": PASSWORD, "role": world.role });
    let cases: Vec<(&str, Option<Value>, &str)> = vec![
        ("email", Some(json!("not-an-email")), "value_error"),
        ("email", Some(json!("ada@")), "value_error"),
        ("email", Some(json!("")), "value_error"),
        ("email", Some(json!("master")), "value_error"),
        (
            "email",
            Some(json!(email_of_length(255))),
            "string_too_long",
        ),
        ("email", Some(Value::Null), "string_type"),
        ("email", None, "missing"),
        ("password", Some(json!("seven77")), "string_too_short"),
        ("password", Some(json!("p".repeat(129))), "string_too_long"),
        ("password", Some(Value::Null), "string_type"),
        ("password", None, "missing"),
        ("role", Some(Value::Null), "int_type"),
        ("role", Some(json!(1.5)), "int_from_float"),
        ("role", None, "missing"),
        ("organization", Some(json!(2.5)), "int_from_float"),
        ("budget", Some(json!(-0.01)), "greater_than_equal"),
        ("budget", Some(json!(-1)), "greater_than_equal"),
        ("expires", Some(json!(unix_now())), "value_error"),
        ("expires", Some(json!(unix_now() - 3600)), "value_error"),
        ("priority", Some(json!(-1)), "greater_than_equal"),
        ("priority", Some(Value::Null), "int_type"),
        ("priority", Some(json!(2.5)), "int_from_float"),
        ("name", Some(json!("")), "string_too_short"),
        ("name", Some(json!("   ")), "string_too_short"),
        ("name", Some(json!("n".repeat(256))), "string_too_long"),
    ];
    for (field, value, kind) in cases {
        let body = with(&base, field, value);
        let answer = app.post(USERS, body.clone()).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        answer.assert_invalid(&[(body_loc(field), kind)]);
    }
    assert_eq!(all_users(&app).await, before);
}

#[tokio::test]
async fn creating_a_user_reports_every_invalid_field_at_once() {
    let app = TestApp::spawn().await;
    app.create_role("member", &[]).await;
    let answer = app
        .post(
            USERS,
            json!({
                "email": "master",
                "name": "  ",
                "password": "short",
                "organization": 1.5,
                "budget": -1,
                "expires": unix_now() - 60,
                "priority": -1,
            }),
        )
        .await;
    answer.assert_invalid(&[
        (body_loc("email"), "value_error"),
        (body_loc("name"), "string_too_short"),
        (body_loc("password"), "string_too_short"),
        (body_loc("role"), "missing"),
        (body_loc("organization"), "int_from_float"),
        (body_loc("budget"), "greater_than_equal"),
        (body_loc("expires"), "value_error"),
        (body_loc("priority"), "greater_than_equal"),
    ]);
    let nothing = app.post(USERS, json!({})).await;
    nothing.assert_invalid(&[
        (body_loc("email"), "missing"),
        (body_loc("password"), "missing"),
        (body_loc("role"), "missing"),
    ]);
    let expiry_and_email = app
        .post(
            USERS,
            json!({ "email": "nope", "password": PASSWORD, "role": 1, "expires": unix_now() - 60 }),
        )
        .await;
    expiry_and_email.assert_invalid(&[
        (body_loc("email"), "value_error"),
        (body_loc("expires"), "value_error"),
    ]);
    assert_eq!(all_users(&app).await["total"], json!(0));
}

#[tokio::test]
async fn creating_a_user_with_a_body_that_is_not_a_json_object_is_422_and_over_64_kib_413() {
    let app = TestApp::spawn().await;
    for raw in [r#"{"email": "ada@example.com""#, "email=ada@example.com"] {
        let answer = app
            .send(
                app.client
                    .post(app.url(USERS))
                    .bearer_auth(MASTER_KEY)
                    .header("Content-Type", "application/json")
                    .body(raw),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            answer.text
        );
        assert_eq!(
            answer.body["detail"][0]["type"],
            json!("json_invalid"),
            "{}",
            answer.text
        );
        assert_eq!(answer.body["detail"][0]["loc"][0], json!("body"));
    }
    let too_large = app
        .post(
            USERS,
            json!({ "email": "ada@example.com", "password": PASSWORD, "role": 1, "name": "n".repeat(70 * 1024) }),
        )
        .await;
    too_large.assert_detail(
        StatusCode::PAYLOAD_TOO_LARGE.as_u16(),
        "Request body too large.",
    );
    let array = app
        .post(USERS, json!([{ "email": "ada@example.com" }]))
        .await;
    assert_eq!(
        array.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        array.text
    );
    assert_eq!(array.body["detail"][0]["loc"][0], json!("body"));
    assert_eq!(all_users(&app).await["total"], json!(0));
}

#[tokio::test]
async fn creating_a_user_with_a_missing_role_is_404_role_not_found() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let body = with(
        &ada(&world, unix_now() + 3600),
        "role",
        Some(json!(world.other_role + 100)),
    );
    let answer = app.post(USERS, body).await;
    answer.assert_detail(StatusCode::NOT_FOUND.as_u16(), "Role not found.");
    assert_eq!(all_users(&app).await["total"], json!(0));
}

#[tokio::test]
async fn creating_a_user_with_a_missing_organization_is_404_organization_not_found() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let body = with(
        &ada(&world, unix_now() + 3600),
        "organization",
        Some(json!(world.globex + 100)),
    );
    let answer = app.post(USERS, body).await;
    answer.assert_detail(StatusCode::NOT_FOUND.as_u16(), "Organization not found.");
    assert_eq!(all_users(&app).await["total"], json!(0));
}

#[tokio::test]
async fn creating_a_user_with_a_taken_email_is_409_whatever_its_case() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let first = create(&app, ada(&world, unix_now() + 3600)).await;
    let before = all_users(&app).await;
    for email in ["ada@example.com", "ADA@example.com", "Ada@Example.Com"] {
        let answer = app
            .post(
                USERS,
                json!({ "email": email, "password": "something else", "role": world.other_role }),
            )
            .await;
        answer.assert_detail(StatusCode::CONFLICT.as_u16(), "User already exists.");
    }
    let after = all_users(&app).await;
    assert_eq!(after, before);
    assert_eq!(after["data"][0], first);
}

// ---------------------------------------------------------------------------------------------
// List

#[tokio::test]
async fn listing_users_answers_a_list_envelope_with_the_default_page() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let mut created = Vec::new();
    for n in 0..12 {
        created.push(
            app.create_user(&format!("user{n:02}@example.com"), role, None)
                .await,
        );
    }
    let answer = app.get(USERS).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["object"], json!("list"));
    assert_eq!(answer.body["total"], json!(12));
    assert_eq!(answer.body["offset"], json!(0));
    assert_eq!(answer.body["limit"], json!(10));
    assert_eq!(ids(&answer.body), created[..10]);
    for item in answer.body["data"].as_array().expect("data") {
        assert_user_shape(item);
        assert_eq!(item, &read(&app, item["id"].as_i64().expect("id")).await);
    }
    let page = app.get(&format!("{USERS}?offset=10&limit=5")).await;
    assert_eq!(ids(&page.body), created[10..]);
    assert_eq!(page.body["offset"], json!(10));
    assert_eq!(page.body["limit"], json!(5));
    assert_eq!(page.body["total"], json!(12));
}

#[tokio::test]
async fn listing_users_filters_by_role_and_by_organization() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let ada = app
        .create_user("ada@example.com", world.role, Some(world.acme))
        .await;
    let grace = app.create_user("grace@example.com", world.role, None).await;
    let alan = app
        .create_user("alan@example.com", world.other_role, Some(world.acme))
        .await;
    let linus = app
        .create_user("linus@example.com", world.other_role, Some(world.globex))
        .await;

    let cases = [
        (format!("role={}", world.role), vec![ada, grace]),
        (format!("role={}", world.other_role), vec![alan, linus]),
        (format!("organization={}", world.acme), vec![ada, alan]),
        (format!("organization={}", world.globex), vec![linus]),
        (
            format!("role={}&organization={}", world.role, world.acme),
            vec![ada],
        ),
        (
            format!("role={}&organization={}", world.role, world.globex),
            vec![],
        ),
        (
            format!("role={}&order_direction=desc", world.other_role),
            vec![linus, alan],
        ),
    ];
    for (query, expected) in cases {
        let answer = app.get(&format!("{USERS}?{query}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text);
        assert_eq!(ids(&answer.body), expected, "{query}");
        assert_eq!(answer.body["total"], json!(expected.len()), "{query}");
    }
    let paged = app
        .get(&format!("{USERS}?role={}&limit=1&offset=1", world.role))
        .await;
    assert_eq!(ids(&paged.body), [grace]);
    assert_eq!(paged.body["total"], json!(2));
}

#[tokio::test]
async fn the_email_filter_ignores_case() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let ada = app
        .create_user("Ada.Lovelace@Example.com", role, None)
        .await;
    app.create_user("grace@example.com", role, None).await;
    for email in [
        "Ada.Lovelace@Example.com",
        "ada.lovelace@example.com",
        "ADA.LOVELACE@EXAMPLE.COM",
    ] {
        let answer = app.get(&format!("{USERS}?email={email}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(ids(&answer.body), [ada], "{email}");
        assert_eq!(answer.body["total"], json!(1));
        assert_eq!(
            answer.body["data"][0]["email"],
            json!("Ada.Lovelace@Example.com")
        );
    }
}

#[tokio::test]
async fn an_email_filter_that_matches_nobody_gives_an_empty_list() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    app.create_user("ada@example.com", role, None).await;
    for email in ["nobody@example.com", "ada@example.co", "ada"] {
        let answer = app.get(&format!("{USERS}?email={email}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(
            answer.body,
            json!({ "object": "list", "data": [], "total": 0, "offset": 0, "limit": 10 }),
            "{email}"
        );
    }
}

#[tokio::test]
async fn listing_users_orders_by_each_allowed_field_in_both_directions() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let mut created = Vec::new();
    for (email, name) in [
        ("carol@example.com", "Bob"),
        ("alice@example.com", "Dave"),
        ("bob@example.com", "Alice"),
        ("dave@example.com", "Carol"),
    ] {
        created.push(create_named(&app, email, Some(name), role).await);
    }
    // The second then the first become the most recently updated (to the second: within one
    // second, `updated` sorts by id).
    for id in [created[1], created[0]] {
        let answer = app.patch(&user(id), json!({ "priority": 1 })).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    }
    let by = |order: [usize; 4]| order.map(|i| created[i]).to_vec();
    let cases = [
        ("id", by([0, 1, 2, 3])),
        ("email", by([1, 2, 0, 3])),
        ("name", by([2, 0, 3, 1])),
        ("created", by([0, 1, 2, 3])),
        (
            "updated",
            support::ids_by_shown(&app.get(USERS).await.body, "updated"),
        ),
    ];
    for (order_by, ascending) in cases {
        let asc = app.get(&format!("{USERS}?order_by={order_by}")).await;
        assert_eq!(asc.status, StatusCode::OK, "{}", asc.text);
        assert_eq!(ids(&asc.body), ascending, "order_by={order_by}");
        let desc = app
            .get(&format!("{USERS}?order_by={order_by}&order_direction=desc"))
            .await;
        let mut descending = ascending.clone();
        descending.reverse();
        assert_eq!(ids(&desc.body), descending, "order_by={order_by} desc");
    }
}

/// Pages through `query` `limit` users at a time and returns the ids seen, checking `total`.
async fn page_through(app: &TestApp, query: &str, limit: usize, total: usize) -> Vec<i64> {
    let mut seen = Vec::new();
    let mut offset = 0;
    loop {
        let page = app
            .get(&format!("{USERS}?{query}&offset={offset}&limit={limit}"))
            .await;
        assert_eq!(page.status, StatusCode::OK, "{}", page.text);
        assert_eq!(page.body["total"], json!(total));
        let page_ids = ids(&page.body);
        if page_ids.is_empty() {
            return seen;
        }
        assert!(page_ids.len() <= limit);
        seen.extend(page_ids);
        offset += limit;
    }
}

#[tokio::test]
async fn paging_through_users_with_equal_names_never_overlaps_or_skips() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let mut same = Vec::new();
    let mut unnamed = Vec::new();
    let zed = create_named(&app, "u0@example.com", Some("Zed"), role).await;
    for n in 1..=4 {
        same.push(create_named(&app, &format!("u{n}@example.com"), Some("Same"), role).await);
        unnamed.push(create_named(&app, &format!("v{n}@example.com"), None, role).await);
    }
    let alpha = create_named(&app, "u9@example.com", Some("Alpha"), role).await;
    let mut all: Vec<i64> = [vec![zed, alpha], same.clone(), unnamed.clone()].concat();
    all.sort_unstable();

    for direction in ["asc", "desc"] {
        let query = format!("order_by=name&order_direction={direction}");
        let whole = app.get(&format!("{USERS}?{query}&limit=100")).await;
        let whole_ids = ids(&whole.body);
        // Named users in name order, equal names in id order, in the same direction.
        let mut named: Vec<i64> = [vec![alpha], same.clone(), vec![zed]].concat();
        let mut unnamed_in_order = unnamed.clone();
        if direction == "desc" {
            named.reverse();
            unnamed_in_order.reverse();
        }
        let named_seen: Vec<i64> = whole_ids
            .iter()
            .copied()
            .filter(|id| named.contains(id))
            .collect();
        assert_eq!(named_seen, named, "{query}");
        let unnamed_seen: Vec<i64> = whole_ids
            .iter()
            .copied()
            .filter(|id| unnamed.contains(id))
            .collect();
        assert_eq!(
            unnamed_seen, unnamed_in_order,
            "{query}: users without a name"
        );
        for limit in [1, 2, 3] {
            let seen = page_through(&app, &query, limit, all.len()).await;
            assert_eq!(seen, whole_ids, "{query} limit={limit}");
            let mut sorted = seen.clone();
            sorted.sort_unstable();
            assert_eq!(sorted, all, "{query} limit={limit}: overlap or skip");
        }
    }
}

#[tokio::test]
async fn listing_users_with_a_bad_query_parameter_is_422_located_in_the_query() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    app.create_user("ada@example.com", role, None).await;
    let cases = [
        ("role=abc", "role", "int_parsing"),
        ("role=1.5", "role", "int_parsing"),
        ("organization=acme", "organization", "int_parsing"),
        (
            "organization=99999999999999999999",
            "organization",
            "int_parsing",
        ),
        ("offset=-1", "offset", "greater_than_equal"),
        ("offset=x", "offset", "int_parsing"),
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=101", "limit", "less_than_equal"),
        ("order_by=password", "order_by", "enum"),
        ("order_by=role", "order_by", "enum"),
        ("order_direction=down", "order_direction", "enum"),
    ];
    for (query, field, kind) in cases {
        let answer = app.get(&format!("{USERS}?{query}")).await;
        answer.assert_invalid(&[(json!(["query", field]), kind)]);
    }
    let several = app
        .get(&format!("{USERS}?role=x&organization=y&limit=500"))
        .await;
    several.assert_invalid(&[
        (json!(["query", "role"]), "int_parsing"),
        (json!(["query", "organization"]), "int_parsing"),
        (json!(["query", "limit"]), "less_than_equal"),
    ]);
}

#[tokio::test]
async fn listing_users_ignores_unknown_query_parameters() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let ada = app.create_user("ada@example.com", role, None).await;
    let answer = app
        .get(&format!("{USERS}?team=7&sort_by=email&user=abc&limit=3"))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(ids(&answer.body), [ada]);
    assert_eq!(answer.body["limit"], json!(3));
}

// ---------------------------------------------------------------------------------------------
// Get

#[tokio::test]
async fn getting_a_user_answers_the_user() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let created = create(&app, ada(&world, unix_now() + 600)).await;
    let id = created["id"].as_i64().expect("an id");
    let answer = app.get(&user(id)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_user_shape(&answer.body);
    assert_eq!(answer.body, created);
}

#[tokio::test]
async fn getting_a_missing_user_is_404() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let id = app.create_user("ada@example.com", role, None).await;
    for missing in [id + 1, 9_223_372_036_854_775_807] {
        app.get(&user(missing))
            .await
            .assert_detail(StatusCode::NOT_FOUND.as_u16(), "User not found.");
    }
}

#[tokio::test]
async fn the_master_user_is_not_stored_so_user_0_is_404() {
    let app = TestApp::spawn().await;
    app.get(&user(0))
        .await
        .assert_detail(StatusCode::NOT_FOUND.as_u16(), "User not found.");
    app.patch(&user(0), json!({ "name": "Master" }))
        .await
        .assert_detail(StatusCode::NOT_FOUND.as_u16(), "User not found.");
    app.delete(&user(0))
        .await
        .assert_detail(StatusCode::NOT_FOUND.as_u16(), "User not found.");
    assert_eq!(all_users(&app).await["total"], json!(0));
    // The master key still works afterwards.
    assert_eq!(app.get(USERS).await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_user_id_that_is_not_a_64_bit_integer_is_422_located_in_the_path() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let id = app.create_user("ada@example.com", role, None).await;
    let before = read(&app, id).await;
    for bad in [
        "ada",
        "1.0",
        "0x1",
        "9223372036854775808",
        "99999999999999999999",
    ] {
        let path = format!("{USERS}/{bad}");
        let loc = json!(["path", "user"]);
        app.get(&path)
            .await
            .assert_invalid(&[(loc.clone(), "int_parsing")]);
        app.patch(&path, json!({ "name": "X" }))
            .await
            .assert_invalid(&[(loc.clone(), "int_parsing")]);
        app.delete(&path)
            .await
            .assert_invalid(&[(loc, "int_parsing")]);
    }
    assert_eq!(read(&app, id).await, before);
}

// ---------------------------------------------------------------------------------------------
// Update

#[tokio::test]
async fn patching_a_user_answers_204_and_changes_every_field_sent() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let before = create(&app, ada(&world, unix_now() + 3600)).await;
    let id = before["id"].as_i64().expect("an id");
    let expires = unix_now() + 7 * 86_400;
    let answer = app
        .patch(
            &user(id),
            json!({
                "email": "countess@example.org",
                "name": " Countess of Lovelace ",
                "password": "a brand new password",
                "role": world.other_role,
                "organization": world.globex,
                "budget": 0,
                "expires": expires,
                "priority": 9,
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert!(answer.text.is_empty(), "{}", answer.text);
    let after = read(&app, id).await;
    assert_user_shape(&after);
    assert_eq!(
        after,
        json!({
            "object": "user",
            "id": id,
            "email": "countess@example.org",
            "name": "Countess of Lovelace",
            "sub": null,
            "iss": null,
            "role": world.other_role,
            "organization": world.globex,
            "budget": 0.0,
            "expires": expires,
            "priority": 9,
            "created": before["created"],
            "updated": after["updated"],
        })
    );
    assert!(after["updated"].as_i64() >= before["updated"].as_i64());
    let orgs = "/v1/admin/organizations";
    assert_eq!(
        app.get(&format!("{orgs}/{}", world.acme)).await.body["users"],
        json!(0)
    );
    assert_eq!(
        app.get(&format!("{orgs}/{}", world.globex)).await.body["users"],
        json!(1)
    );
}

#[tokio::test]
async fn an_admin_patch_of_email_name_and_budget_leaves_organization_and_expires_as_they_were() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let expires = unix_now() + 86_400;
    let before = create(&app, ada(&world, expires)).await;
    let id = before["id"].as_i64().expect("an id");
    let answer = app
        .patch(
            &user(id),
            json!({ "email": "ada@lovelace.org", "name": "Ada King", "budget": 99.25 }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let after = read(&app, id).await;
    assert_eq!(after["email"], json!("ada@lovelace.org"));
    assert_eq!(after["name"], json!("Ada King"));
    assert_eq!(after["budget"], json!(99.25));
    assert_eq!(after["organization"], json!(world.acme));
    assert_eq!(after["expires"], json!(expires));
    for unchanged in [
        "id",
        "role",
        "organization",
        "expires",
        "priority",
        "created",
        "sub",
        "iss",
    ] {
        assert_eq!(after[unchanged], before[unchanged], "{unchanged}");
    }
    let org = app
        .get(&format!("/v1/admin/organizations/{}", world.acme))
        .await;
    assert_eq!(org.body["users"], json!(1));
}

#[tokio::test]
async fn null_clears_the_name_organization_budget_and_expiry_of_a_user() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let before = create(&app, ada(&world, unix_now() + 3600)).await;
    let id = before["id"].as_i64().expect("an id");
    let answer = app
        .patch(
            &user(id),
            json!({ "name": null, "organization": null, "budget": null, "expires": null }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let after = read(&app, id).await;
    for cleared in ["name", "organization", "budget", "expires"] {
        assert_eq!(after[cleared], Value::Null, "{cleared}");
    }
    for unchanged in ["email", "role", "priority", "created"] {
        assert_eq!(after[unchanged], before[unchanged], "{unchanged}");
    }
    let org = app
        .get(&format!("/v1/admin/organizations/{}", world.acme))
        .await;
    assert_eq!(org.body["users"], json!(0));
}

#[tokio::test]
async fn patching_a_user_with_prefer_return_representation_answers_200_with_it() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let before = create(&app, ada(&world, unix_now() + 3600)).await;
    let id = before["id"].as_i64().expect("an id");
    let answer = app
        .patch_returning(&user(id), json!({ "priority": 5, "budget": null }))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_user_shape(&answer.body);
    assert_eq!(answer.body["priority"], json!(5));
    assert_eq!(answer.body["budget"], Value::Null);
    assert_eq!(answer.body["name"], before["name"]);
    assert_eq!(answer.body["organization"], before["organization"]);
    assert_eq!(read(&app, id).await, answer.body);
}

#[tokio::test]
async fn an_empty_patch_leaves_the_user_as_it_was() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let before = create(&app, ada(&world, unix_now() + 3600)).await;
    let id = before["id"].as_i64().expect("an id");
    let answer = app.patch(&user(id), json!({})).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(read(&app, id).await, before);
}

#[tokio::test]
async fn null_for_a_required_user_field_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let before = create(&app, ada(&world, unix_now() + 3600)).await;
    let id = before["id"].as_i64().expect("an id");
    for (field, kind) in [
        ("priority", "int_type"),
        ("email", "string_type"),
        ("role", "int_type"),
        ("password", "string_type"),
    ] {
        let answer = app.patch(&user(id), json!({ field: null })).await;
        answer.assert_invalid(&[(body_loc(field), kind)]);
    }
    assert_eq!(read(&app, id).await, before);
}

#[tokio::test]
async fn patching_a_user_with_invalid_fields_is_422_reports_each_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let before = create(&app, ada(&world, unix_now() + 3600)).await;
    let id = before["id"].as_i64().expect("an id");
    let single = [
        ("email", json!("not an email"), "value_error"),
        ("email", json!("master"), "value_error"),
        ("email", json!(email_of_length(255)), "string_too_long"),
        ("name", json!("   "), "string_too_short"),
        ("name", json!("n".repeat(256)), "string_too_long"),
        ("password", json!("short"), "string_too_short"),
        ("password", json!("p".repeat(129)), "string_too_long"),
        ("budget", json!(-5), "greater_than_equal"),
        ("expires", json!(unix_now()), "value_error"),
        ("expires", json!(unix_now() - 86_400), "value_error"),
        ("priority", json!(-1), "greater_than_equal"),
        ("role", json!(1.5), "int_from_float"),
    ];
    for (field, value, kind) in single {
        let answer = app.patch(&user(id), json!({ field: value })).await;
        answer.assert_invalid(&[(body_loc(field), kind)]);
    }
    let all = app
        .patch(
            &user(id),
            json!({
                "email": "nope", "name": "", "password": "short", "role": 1.5,
                "organization": 1.5, "budget": -1, "expires": unix_now() - 10, "priority": -1,
            }),
        )
        .await;
    all.assert_invalid(&[
        (body_loc("email"), "value_error"),
        (body_loc("name"), "string_too_short"),
        (body_loc("password"), "string_too_short"),
        (body_loc("role"), "int_from_float"),
        (body_loc("organization"), "int_from_float"),
        (body_loc("budget"), "greater_than_equal"),
        (body_loc("expires"), "value_error"),
        (body_loc("priority"), "greater_than_equal"),
    ]);
    assert_eq!(read(&app, id).await, before);
}

#[tokio::test]
async fn an_admin_sets_a_new_password_without_the_current_one() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let before = create(&app, ada(&world, unix_now() + 3600)).await;
    let id = before["id"].as_i64().expect("an id");
    let answer = app
        .patch(&user(id), json!({ "password": "a completely new secret" }))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let after = app.get(&user(id)).await;
    assert_user_shape(&after.body);
    assert!(!after.text.contains("a completely new secret"));
    for unchanged in [
        "email",
        "name",
        "role",
        "organization",
        "budget",
        "expires",
        "priority",
        "created",
    ] {
        assert_eq!(after.body[unchanged], before[unchanged], "{unchanged}");
    }
}

#[tokio::test]
async fn patching_a_missing_user_is_404() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let id = app.create_user("ada@example.com", world.role, None).await;
    let before = all_users(&app).await;
    for body in [
        json!({ "name": "Ghost" }),
        json!({}),
        json!({ "password": "a new password" }),
    ] {
        app.patch(&user(id + 1), body)
            .await
            .assert_detail(StatusCode::NOT_FOUND.as_u16(), "User not found.");
    }
    assert_eq!(all_users(&app).await, before);
}

#[tokio::test]
async fn patching_a_user_to_a_missing_role_or_organization_is_404_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    let before = create(&app, ada(&world, unix_now() + 3600)).await;
    let id = before["id"].as_i64().expect("an id");
    let missing_role = app
        .patch(
            &user(id),
            json!({ "role": world.other_role + 100, "name": "Changed" }),
        )
        .await;
    missing_role.assert_detail(StatusCode::NOT_FOUND.as_u16(), "Role not found.");
    let missing_organization = app
        .patch(
            &user(id),
            json!({ "organization": world.globex + 100, "name": "Changed" }),
        )
        .await;
    missing_organization.assert_detail(StatusCode::NOT_FOUND.as_u16(), "Organization not found.");
    assert_eq!(read(&app, id).await, before);
}

#[tokio::test]
async fn patching_a_user_to_a_taken_email_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let world = world(&app).await;
    app.create_user("grace@example.com", world.role, None).await;
    let before = create(&app, ada(&world, unix_now() + 3600)).await;
    let id = before["id"].as_i64().expect("an id");
    for email in ["grace@example.com", "Grace@Example.COM"] {
        let answer = app
            .patch(&user(id), json!({ "email": email, "name": "Changed" }))
            .await;
        answer.assert_detail(StatusCode::CONFLICT.as_u16(), "User already exists.");
    }
    assert_eq!(read(&app, id).await, before);
}

#[tokio::test]
async fn a_user_may_change_the_case_of_their_own_email() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let id = app.create_user("ada@example.com", role, None).await;
    let answer = app
        .patch(&user(id), json!({ "email": "Ada@Example.com" }))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(read(&app, id).await["email"], json!("Ada@Example.com"));
}

// ---------------------------------------------------------------------------------------------
// Delete

#[tokio::test]
async fn deleting_a_user_answers_204_and_their_api_keys_stop_working_at_once() {
    let app = TestApp::spawn().await;
    let (id, key) = app.user_with_key("admin@example.com", &["admin"]).await;
    let other = app
        .create_user(
            "grace@example.com",
            read(&app, id).await["role"].as_i64().expect("role"),
            None,
        )
        .await;
    let second_key = app.create_key(id).await;
    for key in [&key, &second_key] {
        let before = app.call(Method::GET, USERS, Some(key), None).await;
        assert_eq!(before.status, StatusCode::OK, "{}", before.text);
    }

    let answer = app.delete(&user(id)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert!(answer.text.is_empty());

    for key in [&key, &second_key] {
        let after = app.call(Method::GET, USERS, Some(key), None).await;
        after.assert_detail(StatusCode::UNAUTHORIZED.as_u16(), "Invalid API key.");
        assert_eq!(after.header("www-authenticate"), Some("Bearer"));
    }
    app.get(&user(id))
        .await
        .assert_detail(StatusCode::NOT_FOUND.as_u16(), "User not found.");
    let left = all_users(&app).await;
    assert_eq!(ids(&left), [other]);
    assert_eq!(left["total"], json!(1));
    // The address is free again.
    app.create_user(
        "admin@example.com",
        left["data"][0]["role"].as_i64().expect("role"),
        None,
    )
    .await;
}

#[tokio::test]
async fn deleting_a_missing_user_is_404() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let id = app.create_user("ada@example.com", role, None).await;
    app.delete(&user(id + 1))
        .await
        .assert_detail(StatusCode::NOT_FOUND.as_u16(), "User not found.");
    assert_eq!(all_users(&app).await["total"], json!(1));
    assert_eq!(app.delete(&user(id)).await.status, StatusCode::NO_CONTENT);
    app.delete(&user(id))
        .await
        .assert_detail(StatusCode::NOT_FOUND.as_u16(), "User not found.");
}

// ---------------------------------------------------------------------------------------------
// Methods, authentication and permissions

#[tokio::test]
async fn a_method_a_user_resource_does_not_have_is_405() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let id = app.create_user("ada@example.com", role, None).await;
    let before = all_users(&app).await;
    for (method, path) in [
        (Method::PUT, USERS.to_owned()),
        (Method::PATCH, USERS.to_owned()),
        (Method::DELETE, USERS.to_owned()),
        (Method::POST, user(id)),
        (Method::PUT, user(id)),
    ] {
        let answer = app
            .call(
                method.clone(),
                &path,
                Some(MASTER_KEY),
                Some(json!({ "name": "X" })),
            )
            .await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}"
        );
    }
    assert_eq!(all_users(&app).await, before);
}

/// Every user endpoint, aimed at user `target`, with a valid body where it takes one.
fn every_endpoint(target: i64, role: i64) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::POST,
            USERS.to_owned(),
            Some(json!({ "email": "intruder@example.com", "password": PASSWORD, "role": role })),
        ),
        (Method::GET, USERS.to_owned(), None),
        (Method::GET, user(target), None),
        (
            Method::PATCH,
            user(target),
            Some(json!({ "name": "Hacked", "budget": 1e9 })),
        ),
        (Method::DELETE, user(target), None),
    ]
}

#[tokio::test]
async fn user_endpoints_without_a_valid_key_are_401() {
    let app = TestApp::spawn().await;
    let role = app.create_role("member", &[]).await;
    let id = app.create_user("ada@example.com", role, None).await;
    let before = all_users(&app).await;
    for (method, path, body) in every_endpoint(id, role) {
        let anonymous = app.call(method.clone(), &path, None, body.clone()).await;
        anonymous.assert_detail(StatusCode::UNAUTHORIZED.as_u16(), "Not authenticated");
        assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
        let unknown = app
            .call(method.clone(), &path, Some("sk-unknown"), body)
            .await;
        unknown.assert_detail(StatusCode::UNAUTHORIZED.as_u16(), "Invalid API key.");
        assert_eq!(unknown.header("www-authenticate"), Some("Bearer"));
    }
    assert_eq!(all_users(&app).await, before);
}

#[tokio::test]
async fn a_key_without_the_admin_permission_gets_403_on_every_user_endpoint() {
    let app = TestApp::spawn().await;
    let (_, key) = app
        .user_with_key(
            "worker@example.com",
            &["create_public_collection", "read_metric", "provide_models"],
        )
        .await;
    let role = app.create_role("member", &[]).await;
    let victim = app.create_user("ada@example.com", role, None).await;
    let before = all_users(&app).await;
    for (method, path, body) in every_endpoint(victim, role) {
        let answer = app.call(method.clone(), &path, Some(&key), body).await;
        answer.assert_detail(StatusCode::FORBIDDEN.as_u16(), "Insufficient rights.");
    }
    assert_eq!(all_users(&app).await, before);
}

#[tokio::test]
async fn an_admin_whose_account_has_expired_gets_403_account_expired() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let admin_role = app.create_role("admin", &["admin"]).await;
    let role = app.create_role("member", &[]).await;
    let victim = app.create_user("ada@example.com", role, None).await;
    let admin = create(
        &app,
        json!({ "email": "admin@example.com", "password": PASSWORD, "role": admin_role, "expires": clock.unix() + 3600 }),
    )
    .await;
    let admin = admin["id"].as_i64().expect("an id");
    let key = app.create_key(admin).await;
    let active = app.call(Method::GET, &user(victim), Some(&key), None).await;
    assert_eq!(active.status, StatusCode::OK, "{}", active.text);

    // The expiry comes closer: the account works until then, not after.
    let expires = clock.unix() + 3;
    let set = app.patch(&user(admin), json!({ "expires": expires })).await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    let still_active = app.call(Method::GET, USERS, Some(&key), None).await;
    assert_eq!(still_active.status, StatusCode::OK, "{}", still_active.text);

    clock.advance(TimeDelta::seconds(3));
    let before = all_users(&app).await;
    for (method, path, body) in every_endpoint(victim, role) {
        let answer = app.call(method.clone(), &path, Some(&key), body).await;
        answer.assert_detail(StatusCode::FORBIDDEN.as_u16(), "Account expired.");
    }
    assert_eq!(all_users(&app).await, before);
}

// ---------------------------------------------------------------------------------------------
// The admin flow of OpenGateLLM's documentation, as a client would run it with curl.

/// `curl -X <method> <url> -H "Authorization: Bearer $MASTER_KEY" -H "Content-Type:
/// application/json" -d '<body>'`.
async fn curl(app: &TestApp, method: Method, path: &str, body: Option<&str>) -> Answer {
    let mut request = app
        .client
        .request(method, app.url(path))
        .header("Authorization", format!("Bearer {MASTER_KEY}"));
    if let Some(body) = body {
        request = request
            .header("Content-Type", "application/json")
            .body(body.to_owned());
    }
    app.send(request).await
}

/// Creates, lists, reads and renames an organization; returns its id.
async fn organization_steps(app: &TestApp) -> i64 {
    let created = curl(
        app,
        Method::POST,
        "/v1/admin/organizations",
        Some(r#"{"name": "my-organization"}"#),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let org = created.body["id"].as_i64().expect("an id");
    let path = format!("/v1/admin/organizations/{org}");
    assert_eq!(created.header("location"), Some(path.as_str()));

    let listed = curl(app, Method::GET, "/v1/admin/organizations", None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
    assert_eq!(listed.body["data"][0]["name"], json!("my-organization"));
    assert_eq!(listed.body["total"], json!(1));

    let read = curl(app, Method::GET, &path, None).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, created.body);

    let renamed = curl(
        app,
        Method::PATCH,
        &path,
        Some(r#"{"name": "my-renamed-organization"}"#),
    )
    .await;
    assert_eq!(renamed.status, StatusCode::NO_CONTENT, "{}", renamed.text);
    let read = curl(app, Method::GET, &path, None).await;
    assert_eq!(read.body["name"], json!("my-renamed-organization"));
    org
}

/// Creates a role and a user in `org`, lists, reads, patches and deletes the user.
async fn user_steps(app: &TestApp, org: i64) {
    let role = curl(
        app,
        Method::POST,
        "/v1/admin/roles",
        Some(r#"{"name": "my-role", "permissions": ["read_metric"]}"#),
    )
    .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let role = role.body["id"].as_i64().expect("an id");
    let body = format!(
        r#"{{"email": "john.doe@example.com", "password": "my-secure-password", "role": {role}, "organization": {org}, "budget": 100}}"#
    );
    let created = curl(app, Method::POST, USERS, Some(&body)).await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_i64().expect("an id");
    assert_eq!(created.header("location"), Some(user(id).as_str()));
    assert_eq!(created.body["organization"], json!(org));
    assert_eq!(created.body["budget"], json!(100.0));

    for query in [format!("role={role}"), format!("organization={org}")] {
        let listed = curl(app, Method::GET, &format!("{USERS}?{query}"), None).await;
        assert_eq!(listed.status, StatusCode::OK, "{}", listed.text);
        assert_eq!(ids(&listed.body), [id], "{query}");
    }
    let read = curl(app, Method::GET, &user(id), None).await;
    assert_eq!(read.body, created.body);

    let patched = curl(
        app,
        Method::PATCH,
        &user(id),
        Some(r#"{"name": "John Doe", "budget": 50.5}"#),
    )
    .await;
    assert_eq!(patched.status, StatusCode::NO_CONTENT, "{}", patched.text);
    let read = curl(app, Method::GET, &user(id), None).await;
    assert_eq!(read.body["name"], json!("John Doe"));
    assert_eq!(read.body["budget"], json!(50.5));
    assert_eq!(read.body["organization"], json!(org));

    let deleted = curl(app, Method::DELETE, &user(id), None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let gone = curl(app, Method::GET, &user(id), None).await;
    gone.assert_detail(StatusCode::NOT_FOUND.as_u16(), "User not found.");
}

#[tokio::test]
async fn the_typical_admin_flow_from_the_docs_works_from_start_to_end() {
    let app = TestApp::spawn().await;
    let org = organization_steps(&app).await;
    user_steps(&app, org).await;
    let path = format!("/v1/admin/organizations/{org}");
    let deleted = curl(&app, Method::DELETE, &path, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    let gone = curl(&app, Method::GET, &path, None).await;
    gone.assert_detail(StatusCode::NOT_FOUND.as_u16(), "Organization not found.");
    let listed = curl(&app, Method::GET, "/v1/admin/organizations", None).await;
    assert_eq!(listed.body["total"], json!(0));
}
