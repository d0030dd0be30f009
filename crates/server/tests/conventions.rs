//! API.md's Conventions: bodies, errors, ids, lists and unknown routes, on any resource.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{MASTER_KEY, TestApp};

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
