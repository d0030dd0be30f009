//! API.md's Conventions: bodies, errors, ids, lists and unknown routes, on any resource.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::sync::Arc;

use gatehouse_domain::chrono::{DateTime, TimeDelta};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{MASTER_KEY, TestApp, TestClock};

fn detail_types(body: &Value) -> Vec<(Value, String)> {
    body["detail"]
        .as_array()
        .unwrap_or_else(|| panic!("a validation error, got {body}"))
        .iter()
        .map(|error| {
            (
                error["loc"].clone(),
                error["type"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

#[tokio::test]
async fn a_body_over_64_kib_is_413_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let name = "a".repeat(70 * 1024);
    let answer = app
        .send(
            app.client
                .post(app.url("/v1/admin/organizations"))
                .bearer_auth(MASTER_KEY)
                .header("content-type", "application/json")
                .body(format!(r#"{{"name": "{name}"}}"#)),
        )
        .await;
    assert_eq!(answer.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(answer.body, json!({"detail": "Request body too large."}));
    assert_eq!(app.get("/v1/admin/organizations").await.body["total"], 0);
}

#[tokio::test]
async fn a_body_that_is_not_json_is_422_json_invalid_located_in_the_body() {
    let app = TestApp::spawn().await;
    let answer = app
        .send(
            app.client
                .post(app.url("/v1/admin/organizations"))
                .bearer_auth(MASTER_KEY)
                .header("content-type", "application/json")
                .body(r#"{"name": "Acme",}"#),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    let errors = detail_types(&answer.body);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0[0], "body");
    assert_eq!(errors[0].1, "json_invalid");
    assert_eq!(app.get("/v1/admin/organizations").await.body["total"], 0);
}

#[tokio::test]
async fn a_json_body_that_is_not_an_object_or_is_empty_is_422() {
    let app = TestApp::spawn().await;
    for raw in ["[1, 2]", "\"Acme\"", ""] {
        let answer = app
            .send(
                app.client
                    .post(app.url("/v1/admin/organizations"))
                    .bearer_auth(MASTER_KEY)
                    .header("content-type", "application/json")
                    .body(raw),
            )
            .await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{raw:?}");
        assert_eq!(detail_types(&answer.body)[0].0, json!(["body"]), "{raw:?}");
    }
}

#[tokio::test]
async fn every_invalid_field_is_reported_with_its_location_and_kind() {
    let app = TestApp::spawn().await;
    let answer = app
        .post(
            "/v1/admin/users",
            json!({"email": "not-an-address", "password": "short", "role": "one", "priority": -1}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        detail_types(&answer.body),
        [
            (json!(["body", "email"]), "value_error".to_owned()),
            (json!(["body", "password"]), "string_too_short".to_owned()),
            (json!(["body", "role"]), "int_type".to_owned()),
            (json!(["body", "priority"]), "greater_than_equal".to_owned()),
        ]
    );
    for error in answer.body["detail"].as_array().unwrap() {
        assert!(error["msg"].as_str().is_some_and(|msg| !msg.is_empty()));
    }
}

#[tokio::test]
async fn a_path_id_that_is_not_a_64_bit_integer_is_422_located_in_the_path() {
    let app = TestApp::spawn().await;
    for id in ["abc", "1.5", "18446744073709551616", "9223372036854775808"] {
        let answer = app.get(&format!("/v1/admin/organizations/{id}")).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{id}");
        assert_eq!(
            detail_types(&answer.body),
            [(json!(["path", "organization"]), "int_parsing".to_owned())],
            "{id}"
        );
    }
}

#[tokio::test]
async fn a_well_formed_id_that_matches_nothing_is_404() {
    let app = TestApp::spawn().await;
    for id in ["9223372036854775807", "-1", "0"] {
        let answer = app.get(&format!("/v1/admin/roles/{id}")).await;
        assert_eq!(answer.status, StatusCode::NOT_FOUND, "{id}");
        assert_eq!(answer.body, json!({"detail": "Role not found."}));
    }
}

#[tokio::test]
async fn an_unknown_route_is_404_and_a_wrong_method_405_both_in_json() {
    let app = TestApp::spawn().await;
    let answer = app.get("/v1/admin/nothing-here").await;
    assert_eq!(answer.status, StatusCode::NOT_FOUND);
    assert_eq!(answer.body, json!({"detail": "Not Found"}));

    let answer = app
        .call(
            Method::PUT,
            "/v1/admin/organizations",
            Some(MASTER_KEY),
            Some(json!({})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(answer.body, json!({"detail": "Method Not Allowed"}));

    let answer = app
        .call(
            Method::POST,
            "/v1/admin/organizations/1",
            Some(MASTER_KEY),
            Some(json!({})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
}

#[tokio::test]
async fn lists_default_to_the_first_10_by_id_ascending_and_report_their_window() {
    let app = TestApp::spawn().await;
    for i in 0..12 {
        app.create_organization(&format!("Organization {i:02}"))
            .await;
    }
    let answer = app.get("/v1/admin/organizations").await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["object"], "list");
    assert_eq!(answer.body["total"], 12);
    assert_eq!(answer.body["offset"], 0);
    assert_eq!(answer.body["limit"], 10);
    let ids: Vec<i64> = answer.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids.len(), 10);
    assert!(ids.windows(2).all(|w| w[0] < w[1]));

    let rest = app
        .get("/v1/admin/organizations?offset=10&limit=5&unknown=ignored")
        .await;
    assert_eq!(rest.body["data"].as_array().unwrap().len(), 2);
    assert_eq!(rest.body["offset"], 10);
    assert_eq!(rest.body["limit"], 5);
}

#[tokio::test]
async fn out_of_range_or_unknown_list_parameters_are_422_each_reported() {
    let app = TestApp::spawn().await;
    for (query, field, kind) in [
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=101", "limit", "less_than_equal"),
        ("offset=-1", "offset", "greater_than_equal"),
        ("limit=ten", "limit", "int_parsing"),
        ("order_by=email", "order_by", "enum"),
        ("order_direction=up", "order_direction", "enum"),
    ] {
        let answer = app.get(&format!("/v1/admin/organizations?{query}")).await;
        assert_eq!(answer.status, StatusCode::UNPROCESSABLE_ENTITY, "{query}");
        assert_eq!(
            detail_types(&answer.body),
            [(json!(["query", field]), kind.to_owned())],
            "{query}"
        );
    }
    let answer = app.get("/v1/admin/organizations?limit=0&offset=-5").await;
    assert_eq!(detail_types(&answer.body).len(), 2);
}

#[tokio::test]
async fn pages_ordered_by_a_shared_value_neither_overlap_nor_skip() {
    let app = TestApp::spawn().await;
    let role = app.create_role("everyone", &[]).await;
    let mut created = Vec::new();
    for i in 0..7 {
        created.push(
            app.create_user(&format!("u{i}@example.com"), role, None)
                .await,
        );
    }
    for direction in ["asc", "desc"] {
        let mut seen = Vec::new();
        for offset in (0..7).step_by(3) {
            let page = app
                .get(&format!(
                    "/v1/admin/users?order_by=name&order_direction={direction}&limit=3&offset={offset}"
                ))
                .await;
            seen.extend(
                page.body["data"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|u| u["id"].as_i64().unwrap()),
            );
        }
        let mut expected = created.clone();
        if direction == "desc" {
            expected.reverse();
        }
        // Every name is null, so the order is the id tie-break, in the same direction.
        assert_eq!(seen, expected, "{direction}");
    }
}

#[tokio::test]
async fn objects_carry_their_kind_and_integer_timestamps() {
    let app = TestApp::spawn().await;
    let organization = app.create_organization("Acme").await;
    let answer = app
        .get(&format!("/v1/admin/organizations/{organization}"))
        .await;
    assert_eq!(answer.body["object"], "organization");
    assert!(answer.body["created"].is_i64());
    assert!(answer.body["updated"].is_i64());
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let created = answer.body["created"].as_u64().unwrap();
    assert!(created.abs_diff(now) < 60, "created {created}, now {now}");
}

#[tokio::test]
async fn a_create_answers_201_with_the_object_and_its_location() {
    let app = TestApp::spawn().await;
    let answer = app
        .post("/v1/admin/organizations", json!({"name": "  Acme  "}))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED);
    let id = answer.body["id"].as_i64().unwrap();
    assert_eq!(
        answer.header("location"),
        Some(format!("/v1/admin/organizations/{id}").as_str())
    );
    assert_eq!(answer.body["name"], "Acme");
    let fetched = app.get(answer.header("location").unwrap()).await;
    assert_eq!(fetched.body, answer.body);
}

#[tokio::test]
async fn a_patch_answers_204_or_200_with_the_object_when_asked() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let path = format!("/v1/admin/organizations/{id}");
    let answer = app.patch(&path, json!({"name": "Acme 2"})).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT);
    assert_eq!(answer.text, "");

    let answer = app
        .send(
            app.client
                .patch(app.url(&path))
                .bearer_auth(MASTER_KEY)
                .header("prefer", "return=representation")
                .json(&json!({"name": "Acme 3"})),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body["name"], "Acme 3");
    assert_eq!(answer.body["object"], "organization");
    assert_eq!(app.get(&path).await.body["name"], "Acme 3");
}

// ---------------------------------------------------------------------------------------------
// `order_by=created` and `updated`: by the second the answer shows, then by id

/// The ids of a list read with `query`, and the `field` each shows, in order.
async fn listed_by(app: &TestApp, path: &str, query: &str, field: &str) -> Vec<(i64, i64)> {
    let answer = app.get(&format!("{path}?{query}")).await;
    assert_eq!(
        answer.status,
        StatusCode::OK,
        "{path}?{query}: {}",
        answer.text
    );
    answer.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| (item["id"].as_i64().unwrap(), item[field].as_i64().unwrap()))
        .collect()
}

/// Asserts that `path` lists by `field`, in both directions, in the order of the value shown
/// and, within one shown second, of ids in the same direction.
async fn assert_ordered_by_shown_second_then_id(app: &TestApp, path: &str, field: &str) {
    for direction in ["asc", "desc"] {
        let query = format!("order_by={field}&order_direction={direction}&limit=100");
        let listed = listed_by(app, path, &query, field).await;
        let mut expected = listed.clone();
        expected.sort_by_key(|&(id, second)| (second, id));
        if direction == "desc" {
            expected.reverse();
        }
        assert_eq!(listed, expected, "{path}?{query}");
    }
}

/// Usage records get their `created` from the server's clock: here, the later record (the higher
/// id) has the earlier fraction of the same second. Ordered by the hidden fraction, it would come
/// first.
#[tokio::test]
async fn records_of_one_second_list_by_created_in_id_order_whatever_their_fractions() {
    let second = DateTime::from_timestamp(1_900_000_000, 0).unwrap();
    let clock = TestClock::at(second + TimeDelta::milliseconds(900));
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let (_, key) = app.user_with_key("ada@example.com", &[]).await;
    let mut recorded = Vec::new();
    for (request_id, at) in [
        ("late-fraction", second + TimeDelta::milliseconds(900)),
        ("early-fraction", second + TimeDelta::milliseconds(100)),
        ("second-before", second - TimeDelta::milliseconds(500)),
    ] {
        clock.set(at);
        let answer = app
            .report_usage(
                MASTER_KEY,
                json!({"request_id": request_id, "key": key, "router": 1,
                       "prompt_tokens": 1, "completion_tokens": 1, "cost": 0}),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        assert_eq!(answer.body["created"], at.timestamp(), "{}", answer.text);
        recorded.push(answer.body["id"].as_i64().unwrap());
    }
    let [late, early, before] = recorded[..] else {
        panic!("three records")
    };
    assert!(late < early && early < before, "{recorded:?}");
    for (direction, expected) in [
        ("asc", [before, late, early]),
        ("desc", [early, late, before]),
    ] {
        let query = format!("order_by=created&order_direction={direction}");
        let ids: Vec<i64> = listed_by(&app, "/v1/admin/usage", &query, "created")
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, expected, "{query}");
        let mine = app
            .call(
                Method::GET,
                &format!("/v1/me/usage?{query}"),
                Some(&key),
                None,
            )
            .await;
        assert_eq!(support::ids(&mine.body), expected, "{query}: {}", mine.text);
    }
}

/// `updated` is stamped by the database: updating the higher id first, then the lower, gives
/// the lower id the later fraction of the second. Rows shown with the same second must still come
/// in id order. Tried again in the rare case the second turned between the two updates.
async fn assert_updated_within_a_second_lists_in_id_order(
    app: &TestApp,
    path: &str,
    ids: [i64; 2],
    change: impl Fn(usize, i64) -> Value,
) {
    let [lower, higher] = ids;
    assert!(lower < higher);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let mut shown = Vec::new();
        for id in [higher, lower] {
            let answer = app
                .patch_returning(&format!("{path}/{id}"), change(attempt, id))
                .await;
            assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
            shown.push(answer.body["updated"].as_i64().unwrap());
        }
        if shown[0] == shown[1] {
            break;
        }
        assert!(attempt < 5, "{path}: no two updates within one second");
    }
    for (direction, expected) in [("asc", [lower, higher]), ("desc", [higher, lower])] {
        let query = format!("order_by=updated&order_direction={direction}");
        let ids: Vec<i64> = listed_by(app, path, &query, "updated")
            .await
            .into_iter()
            .map(|(id, _)| id)
            .collect();
        assert_eq!(ids, expected, "{path}?{query}");
    }
    assert_ordered_by_shown_second_then_id(app, path, "created").await;
}

#[tokio::test]
async fn rows_updated_within_one_second_list_by_updated_in_id_order() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let globex = app.create_organization("Globex").await;
    assert_updated_within_a_second_lists_in_id_order(
        &app,
        "/v1/admin/organizations",
        [acme, globex],
        // Names are unique: each row gets a name of its own.
        |attempt, id| json!({"name": format!("Organization {id}, renamed {attempt} times")}),
    )
    .await;
    let role = app.create_role("first", &[]).await;
    let other = app.create_role("second", &[]).await;
    assert_updated_within_a_second_lists_in_id_order(
        &app,
        "/v1/admin/roles",
        [role, other],
        |attempt, _| json!({"permissions": if attempt % 2 == 0 { json!([]) } else { json!(["read_metric"]) }}),
    )
    .await;
    let ada = app.create_user("ada@example.com", role, None).await;
    let grace = app.create_user("grace@example.com", role, None).await;
    assert_updated_within_a_second_lists_in_id_order(
        &app,
        "/v1/admin/users",
        [ada, grace],
        |attempt, _| json!({"name": format!("Name {attempt}")}),
    )
    .await;
    let apollo = app
        .create_project_with(json!({"name": "Apollo", "organization": acme}))
        .await;
    let gemini = app
        .create_project_with(json!({"name": "Gemini", "organization": globex}))
        .await;
    assert_updated_within_a_second_lists_in_id_order(
        &app,
        "/v1/admin/projects",
        [apollo, gemini],
        |attempt, _| json!({"budget": attempt}),
    )
    .await;
}

#[tokio::test]
async fn rows_created_in_a_burst_list_by_created_second_then_id_in_both_directions() {
    let app = TestApp::spawn().await;
    let role = app.create_role("everyone", &[]).await;
    for i in 0..6 {
        app.create_organization(&format!("Organization {i}")).await;
        let user = app
            .create_user(&format!("u{i}@example.com"), role, None)
            .await;
        app.create_key(user).await;
    }
    for path in [
        "/v1/admin/organizations",
        "/v1/admin/users",
        "/v1/admin/tokens",
        "/v1/admin/roles",
    ] {
        assert_ordered_by_shown_second_then_id(&app, path, "created").await;
    }
}

// ---------------------------------------------------------------------------------------------
// Answers that carry a secret

#[tokio::test]
async fn every_answer_that_carries_a_key_is_no_store_and_others_are_not() {
    let app = TestApp::spawn().await;
    let role = app.create_role("members", &[]).await;
    let user = app.create_user("ada@example.com", role, None).await;

    let token = app
        .post(
            "/v1/admin/tokens",
            json!({"name": "admin-made", "user": user}),
        )
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.text);
    assert_eq!(token.header("cache-control"), Some("no-store"));
    let key = token.body["token"].as_str().unwrap();

    let own = app
        .call(
            Method::POST,
            "/v1/me/keys",
            Some(key),
            Some(json!({"name": "own"})),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text);
    assert_eq!(own.header("cache-control"), Some("no-store"));

    let login = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "ada@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    assert_eq!(login.header("cache-control"), Some("no-store"));

    // A key read back is masked: nothing secret, nothing to forbid.
    let read = app
        .get(&format!("/v1/admin/tokens/{}", token.body["id"]))
        .await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.header("cache-control"), None);
}

// ---------------------------------------------------------------------------------------------
// X-Request-Id

/// `request` sent with `X-Request-Id: id` (none when `None`): the answer.
async fn with_request_id(
    app: &TestApp,
    request: reqwest::RequestBuilder,
    id: Option<&str>,
) -> support::Answer {
    let request = match id {
        Some(id) => request.header("x-request-id", id),
        None => request,
    };
    app.send(request).await
}

/// A made-up request id: a UUID's text.
#[track_caller]
fn assert_made_up(id: Option<&str>) -> String {
    let id = id.expect("an X-Request-Id");
    let groups: Vec<usize> = id.split('-').map(str::len).collect();
    assert_eq!(groups, [8, 4, 4, 4, 12], "{id}");
    assert!(
        id.chars().all(|c| c == '-' || c.is_ascii_hexdigit()),
        "{id}"
    );
    id.to_owned()
}

#[tokio::test]
async fn a_valid_request_id_comes_back_as_it_is_on_every_kind_of_answer() {
    let app = TestApp::spawn().await;
    let organizations = app.url("/v1/admin/organizations");
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let requests: Vec<(u16, reqwest::RequestBuilder)> = vec![
        (200, app.client.get(&organizations).bearer_auth(MASTER_KEY)),
        (401, app.client.get(&organizations)),
        (404, app.client.get(app.url("/v1/admin/nothing-here"))),
        (405, app.client.put(&organizations).bearer_auth(MASTER_KEY)),
        (
            413,
            app.client
                .post(&organizations)
                .bearer_auth(MASTER_KEY)
                .header("content-type", "application/json")
                .body(format!(r#"{{"name": "{}"}}"#, "a".repeat(70 * 1024))),
        ),
        (
            422,
            app.client
                .post(&organizations)
                .bearer_auth(MASTER_KEY)
                .json(&json!({"name": ""})),
        ),
        (302, no_redirects.get(app.url("/"))),
    ];
    for (i, (status, request)) in requests.into_iter().enumerate() {
        let id = format!("client-{i}.attempt:1_A");
        let answer = with_request_id(&app, request, Some(&id)).await;
        assert_eq!(answer.status.as_u16(), status, "{}", answer.text);
        assert_eq!(answer.header("x-request-id"), Some(id.as_str()), "{status}");
    }
    let longest = "x".repeat(128);
    let answer = with_request_id(&app, app.client.get(app.url("/health")), Some(&longest)).await;
    assert_eq!(answer.header("x-request-id"), Some(longest.as_str()));
}

#[tokio::test]
async fn an_unexpected_error_answers_500_with_the_request_id() {
    // A database without Gatehouse's tables: every query fails in a way nothing expects.
    let url = std::env::var("DATABASE_URL").expect("DATABASE_URL");
    let (server, _) = url.rsplit_once('/').unwrap();
    let app = TestApp::spawn_on_pool(support::pool(&format!("{server}/postgres"))).await;
    let request = app
        .client
        .get(app.url("/v1/admin/organizations"))
        .bearer_auth(MASTER_KEY);
    let answer = with_request_id(&app, request, Some("the-500")).await;
    answer.assert_detail(500, "Internal server error.");
    assert_eq!(answer.header("x-request-id"), Some("the-500"));
}

#[tokio::test]
async fn a_missing_or_invalid_request_id_is_replaced_by_a_made_up_one() {
    let app = TestApp::spawn().await;
    let too_long = "x".repeat(129);
    let mut made_up = Vec::new();
    for id in [
        None,
        Some(""),
        Some(too_long.as_str()),
        Some("with space"),
        Some("slash/ed"),
        Some("comma,ed"),
        Some("quote\"d"),
    ] {
        let request = app
            .client
            .get(app.url("/v1/admin/organizations"))
            .bearer_auth(MASTER_KEY);
        let answer = with_request_id(&app, request, id).await;
        assert_eq!(answer.status, StatusCode::OK, "{id:?}");
        let returned = assert_made_up(answer.header("x-request-id"));
        assert_ne!(Some(returned.as_str()), id);
        made_up.push(returned);
    }
    // Also on an error answer, and never twice the same.
    let answer = app.get("/v1/admin/nothing-here").await;
    made_up.push(assert_made_up(answer.header("x-request-id")));
    let mut distinct = made_up.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), made_up.len(), "{made_up:?}");
}

// ---------------------------------------------------------------------------------------------
// The front door

#[tokio::test]
async fn the_root_leads_to_the_console_which_leads_a_visitor_to_its_sign_in_page() {
    let app = TestApp::spawn().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    for (path, status, location) in [
        ("/", StatusCode::FOUND, "/console/"),
        ("/console/", StatusCode::SEE_OTHER, "/console/login"),
    ] {
        let answer = app.send(no_redirects.get(app.url(path))).await;
        assert_eq!(answer.status, status, "{path}");
        assert_eq!(answer.header("location"), Some(location), "{path}");
    }
    // A browser following them ends on the sign-in page.
    let answer = app.call(Method::GET, "/", None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(answer.text.contains("<h1>Sign in</h1>"), "{}", answer.text);
    // Other methods are not redirected.
    let answer = app.send(no_redirects.post(app.url("/"))).await;
    assert_eq!(answer.status, StatusCode::METHOD_NOT_ALLOWED);
}

// ---------------------------------------------------------------------------------------------
// Settings at their limits

#[tokio::test]
async fn a_key_created_under_the_longest_key_lifetime_expires_that_far_away() {
    let days = gatehouse::config::MAX_KEY_EXPIRATION_DAYS;
    let app = TestApp::spawn_with(|settings| {
        settings.key_max_expiration_days = std::num::NonZeroU32::new(days);
    })
    .await;
    let (user, key) = app.user_with_key("ada@example.com", &[]).await;
    let before = support::unix_now();
    let longest = before + i64::from(days) * 86_400;
    let token = app
        .post("/v1/admin/tokens", json!({"name": "longest", "user": user}))
        .await;
    assert_eq!(token.status, StatusCode::CREATED, "{}", token.text);
    let expires = token.body["expires"].as_i64().unwrap();
    assert!((longest..longest + 60).contains(&expires), "{expires}");
    let own = app
        .call(
            Method::POST,
            "/v1/me/keys",
            Some(&key),
            Some(json!({"name": "as far as allowed", "expires": longest})),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text);
    assert_eq!(own.body["expires"], longest);
    // The key works, and a day more is refused.
    let own_key = own.body["token"].as_str().unwrap();
    let info = app
        .call(Method::GET, "/v1/me/info", Some(own_key), None)
        .await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text);
    let beyond = app
        .call(
            Method::POST,
            "/v1/me/keys",
            Some(&key),
            Some(json!({"name": "too far", "expires": longest + 86_400 + 60})),
        )
        .await;
    assert_eq!(beyond.status, StatusCode::BAD_REQUEST, "{}", beyond.text);
}
