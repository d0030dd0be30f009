//! API.md's Roles section: create, list, get, patch and delete, with permissions, limits and the
//! count of users holding each role.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{MASTER_KEY, TestApp, ids, unix_now};

/// The permissions of a role, as a set: the contract gives them no order.
fn permissions(role: &Value) -> BTreeSet<String> {
    role["permissions"]
        .as_array()
        .unwrap_or_else(|| panic!("a permissions list in {role}"))
        .iter()
        .map(|p| p.as_str().expect("a permission word").to_owned())
        .collect()
}

fn set(words: &[&str]) -> BTreeSet<String> {
    words.iter().map(|w| (*w).to_owned()).collect()
}

/// The limits of a role as a set of their JSON texts: the contract gives them no order.
fn limits(role: &Value) -> BTreeSet<String> {
    role["limits"]
        .as_array()
        .unwrap_or_else(|| panic!("a limits list in {role}"))
        .iter()
        .map(Value::to_string)
        .collect()
}

/// A limit as the server writes it: `router_id` and `router` both.
fn limit(router: i64, kind: &str, value: Option<i64>) -> Value {
    json!({ "router_id": router, "router": router, "type": kind, "value": value })
}

fn limit_set(items: &[Value]) -> BTreeSet<String> {
    items.iter().map(Value::to_string).collect()
}

async fn create(app: &TestApp, body: Value) -> Value {
    let answer = app.post("/v1/admin/roles", body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.body
}

async fn get_role(app: &TestApp, id: i64) -> Value {
    let answer = app.get(&format!("/v1/admin/roles/{id}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

async fn role_count(app: &TestApp) -> i64 {
    let answer = app.get("/v1/admin/roles").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["total"].as_i64().expect("a total")
}

async fn list_ids(app: &TestApp, query: &str) -> Vec<i64> {
    let answer = app.get(&format!("/v1/admin/roles{query}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{query}: {}", answer.text);
    ids(&answer.body)
}

async fn patch_with(app: &TestApp, id: i64, body: Value, prefer: Option<&str>) -> support::Answer {
    let mut request = app
        .client
        .patch(app.url(&format!("/v1/admin/roles/{id}")))
        .bearer_auth(MASTER_KEY)
        .json(&body);
    if let Some(prefer) = prefer {
        request = request.header("Prefer", prefer);
    }
    app.send(request).await
}

// ---------------------------------------------------------------------------------------------
// Create

#[tokio::test]
async fn creating_a_role_answers_201_with_the_whole_role_and_its_location() {
    let app = TestApp::spawn().await;
    let before = unix_now();
    let answer = app
        .post(
            "/v1/admin/roles",
            json!({
                "name": "operators",
                "permissions": ["read_metric", "admin"],
                "limits": [
                    {"router_id": 2, "type": "rpm", "value": 60},
                    {"router_id": 1, "type": "tpm", "value": null},
                    {"router_id": 1, "type": "rpd", "value": 0},
                ],
            }),
        )
        .await;
    let after = unix_now();
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let role = &answer.body;
    let id = role["id"].as_i64().expect("an integer id");
    assert!(id > 0);
    assert_eq!(role["object"], "role");
    assert_eq!(role["name"], "operators");
    assert_eq!(permissions(role), set(&["admin", "read_metric"]));
    assert_eq!(
        limits(role),
        limit_set(&[
            limit(2, "rpm", Some(60)),
            limit(1, "tpm", None),
            limit(1, "rpd", Some(0)),
        ])
    );
    assert_eq!(role["users"], 0);
    let created = role["created"].as_i64().expect("integer created");
    let updated = role["updated"].as_i64().expect("integer updated");
    assert!(
        (before..=after).contains(&created),
        "{created} not in {before}..={after}"
    );
    assert!(
        (before..=after).contains(&updated),
        "{updated} not in {before}..={after}"
    );

    let location = answer.header("location").expect("a Location header");
    assert!(
        location.ends_with(&format!("/v1/admin/roles/{id}")),
        "{location}"
    );
    let path = location.find("/v1/").map_or(location, |i| &location[i..]);
    let read = app.get(path).await;
    assert_eq!(read.status, StatusCode::OK, "{}", read.text);
    assert_eq!(read.body["id"], id);
    assert_eq!(read.body["name"], "operators");
    assert_eq!(permissions(&read.body), permissions(role));
    assert_eq!(limits(&read.body), limits(role));
    assert_eq!(read.body["created"], created);
}

#[tokio::test]
async fn a_role_created_without_permissions_or_limits_has_empty_lists() {
    let app = TestApp::spawn().await;
    let role = create(&app, json!({"name": "nobody"})).await;
    assert_eq!(role["permissions"], json!([]));
    assert_eq!(role["limits"], json!([]));
    assert_eq!(role["users"], 0);
    let read = get_role(&app, role["id"].as_i64().unwrap()).await;
    assert_eq!(read["permissions"], json!([]));
    assert_eq!(read["limits"], json!([]));
}

#[tokio::test]
async fn a_role_can_hold_every_permission_of_the_contract() {
    let app = TestApp::spawn().await;
    let all = [
        "admin",
        "create_public_collection",
        "read_metric",
        "provide_models",
    ];
    let role = create(&app, json!({"name": "all", "permissions": all})).await;
    assert_eq!(permissions(&role), set(&all));
    let read = get_role(&app, role["id"].as_i64().unwrap()).await;
    assert_eq!(permissions(&read), set(&all));
}

#[tokio::test]
async fn a_limit_may_name_its_router_with_router_id_or_router_and_is_written_with_both() {
    let app = TestApp::spawn().await;
    let role = create(
        &app,
        json!({
            "name": "routers",
            "limits": [
                {"router": 7, "type": "tpd", "value": 1000},
                {"router_id": 8, "type": "rpm", "value": 5},
            ],
        }),
    )
    .await;
    let expected = limit_set(&[limit(7, "tpd", Some(1000)), limit(8, "rpm", Some(5))]);
    assert_eq!(limits(&role), expected);
    for item in role["limits"].as_array().unwrap() {
        assert_eq!(item["router_id"], item["router"], "{item}");
    }
    let read = get_role(&app, role["id"].as_i64().unwrap()).await;
    assert_eq!(limits(&read), expected);
}

#[tokio::test]
async fn every_limit_type_is_accepted_and_others_are_422_on_the_type() {
    let app = TestApp::spawn().await;
    let role = create(
        &app,
        json!({
            "name": "types",
            "limits": [
                {"router_id": 1, "type": "tpm", "value": 1},
                {"router_id": 1, "type": "tpd", "value": 2},
                {"router_id": 1, "type": "rpm", "value": 3},
                {"router_id": 1, "type": "rpd", "value": 4},
            ],
        }),
    )
    .await;
    assert_eq!(role["limits"].as_array().unwrap().len(), 4);

    let answer = app
        .post(
            "/v1/admin/roles",
            json!({
                "name": "bad type",
                "limits": [
                    {"router_id": 1, "type": "rpm", "value": 1},
                    {"router_id": 1, "type": "rps", "value": 1},
                ],
            }),
        )
        .await;
    answer.assert_invalid(&[(json!(["body", "limits", 1, "type"]), "enum")]);
    assert_eq!(role_count(&app).await, 1);
}

#[tokio::test]
async fn a_limit_value_must_be_an_integer_of_at_least_zero_or_null() {
    let app = TestApp::spawn().await;
    for (value, kind) in [
        (json!(-1), "greater_than_equal"),
        (json!(1.5), "int_from_float"),
        (json!("10"), "int_type"),
    ] {
        let answer = app
            .post(
                "/v1/admin/roles",
                json!({
                    "name": "limited",
                    "limits": [{"router_id": 1, "type": "rpm", "value": value}],
                }),
            )
            .await;
        answer.assert_invalid(&[(json!(["body", "limits", 0, "value"]), kind)]);
    }
    assert_eq!(role_count(&app).await, 0);

    let role = create(
        &app,
        json!({
            "name": "limited",
            "limits": [
                {"router_id": 1, "type": "rpm", "value": 0},
                {"router_id": 1, "type": "tpm", "value": null},
            ],
        }),
    )
    .await;
    assert_eq!(
        limits(&role),
        limit_set(&[limit(1, "rpm", Some(0)), limit(1, "tpm", None)])
    );
}

#[tokio::test]
async fn a_limit_without_a_router_or_with_a_router_id_below_one_is_422_on_the_router_id() {
    let app = TestApp::spawn().await;
    let answer = app
        .post(
            "/v1/admin/roles",
            json!({"name": "r", "limits": [{"type": "rpm", "value": 1}]}),
        )
        .await;
    answer.assert_invalid(&[(json!(["body", "limits", 0, "router_id"]), "missing")]);

    let answer = app
        .post(
            "/v1/admin/roles",
            json!({"name": "r", "limits": [{"router_id": 0, "type": "rpm", "value": 1}]}),
        )
        .await;
    answer.assert_invalid(&[(
        json!(["body", "limits", 0, "router_id"]),
        "greater_than_equal",
    )]);
    assert_eq!(role_count(&app).await, 0);
}

#[tokio::test]
async fn an_unknown_permission_is_422_located_at_its_index() {
    let app = TestApp::spawn().await;
    let answer = app
        .post(
            "/v1/admin/roles",
            json!({
                "name": "rooted",
                "permissions": ["admin", "root", "read_metric", "superuser"],
            }),
        )
        .await;
    answer.assert_invalid(&[
        (json!(["body", "permissions", 1]), "enum"),
        (json!(["body", "permissions", 3]), "enum"),
    ]);
    assert_eq!(role_count(&app).await, 0);
}

#[tokio::test]
async fn two_limits_with_the_same_router_id_and_type_are_422() {
    let app = TestApp::spawn().await;
    for limits in [
        json!([
            {"router_id": 1, "type": "rpm", "value": 10},
            {"router_id": 1, "type": "rpm", "value": 20},
        ]),
        // The same router named both ways is still the same router.
        json!([
            {"router_id": 3, "type": "tpd", "value": 10},
            {"router": 3, "type": "tpd", "value": null},
        ]),
    ] {
        let answer = app
            .post(
                "/v1/admin/roles",
                json!({"name": "twice", "limits": limits}),
            )
            .await;
        answer.assert_invalid(&[(json!(["body", "limits"]), "value_error")]);
    }
    assert_eq!(role_count(&app).await, 0);
}

#[tokio::test]
async fn a_duplicate_role_name_is_409_role_already_exists() {
    let app = TestApp::spawn().await;
    let first = create(&app, json!({"name": "operators", "permissions": ["admin"]})).await;
    for name in ["operators", "  operators  "] {
        let answer = app
            .post(
                "/v1/admin/roles",
                json!({"name": name, "permissions": ["read_metric"]}),
            )
            .await;
        answer.assert_detail(409, "Role already exists.");
    }
    assert_eq!(role_count(&app).await, 1);
    let read = get_role(&app, first["id"].as_i64().unwrap()).await;
    assert_eq!(permissions(&read), set(&["admin"]));
}

#[tokio::test]
async fn role_names_are_trimmed_and_1_to_255_characters_without_nul() {
    let app = TestApp::spawn().await;
    let role = create(&app, json!({"name": "  ops  "})).await;
    assert_eq!(role["name"], "ops");
    let longest = "é".repeat(255);
    let role = create(&app, json!({ "name": longest })).await;
    assert_eq!(role["name"], json!(longest));

    for (name, kind) in [
        (json!(""), "string_too_short"),
        (json!("   "), "string_too_short"),
        (json!("é".repeat(256)), "string_too_long"),
        (json!("a\u{0}b"), "value_error"),
        (json!(5), "string_type"),
        (json!(null), "string_type"),
    ] {
        let answer = app.post("/v1/admin/roles", json!({ "name": name })).await;
        answer.assert_invalid(&[(json!(["body", "name"]), kind)]);
    }
    let answer = app
        .post("/v1/admin/roles", json!({"permissions": ["admin"]}))
        .await;
    answer.assert_invalid(&[(json!(["body", "name"]), "missing")]);
    assert_eq!(role_count(&app).await, 2);
}

#[tokio::test]
async fn every_invalid_field_of_a_role_is_reported() {
    let app = TestApp::spawn().await;
    let answer = app
        .post(
            "/v1/admin/roles",
            json!({
                "name": "",
                "permissions": ["admin", "nope"],
                "limits": [{"router_id": "one", "type": "rpx", "value": 1}],
            }),
        )
        .await;
    answer.assert_invalid(&[
        (json!(["body", "name"]), "string_too_short"),
        (json!(["body", "permissions", 1]), "enum"),
        (json!(["body", "limits", 0, "router_id"]), "int_type"),
        (json!(["body", "limits", 0, "type"]), "enum"),
    ]);
    let answer = app
        .post(
            "/v1/admin/roles",
            json!({"name": "x", "permissions": "admin", "limits": {"router_id": 1}}),
        )
        .await;
    answer.assert_invalid(&[
        (json!(["body", "permissions"]), "list_type"),
        (json!(["body", "limits"]), "list_type"),
    ]);
    assert_eq!(role_count(&app).await, 0);
}

#[tokio::test]
async fn a_role_body_that_is_not_json_is_422_json_invalid() {
    let app = TestApp::spawn().await;
    let answer = app
        .send(
            app.client
                .post(app.url("/v1/admin/roles"))
                .bearer_auth(MASTER_KEY)
                .header("content-type", "application/json")
                .body(r#"{"name": "ops""#),
        )
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    let errors = answer.body["detail"].as_array().expect("validation errors");
    assert_eq!(errors.len(), 1, "{}", answer.text);
    assert_eq!(errors[0]["loc"][0], "body");
    assert_eq!(errors[0]["type"], "json_invalid");
    assert_eq!(role_count(&app).await, 0);
}

// ---------------------------------------------------------------------------------------------
// List

#[tokio::test]
async fn roles_are_listed_in_the_envelope_with_total_offset_and_limit() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for name in ["alpha", "bravo", "charlie"] {
        created.push(create(&app, json!({"name": name, "permissions": ["read_metric"]})).await);
    }
    let answer = app.get("/v1/admin/roles").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["object"], "list");
    assert_eq!(answer.body["total"], 3);
    assert_eq!(answer.body["offset"], 0);
    assert_eq!(answer.body["limit"], 10);
    let data = answer.body["data"].as_array().unwrap();
    assert_eq!(data.len(), 3);
    for (item, role) in data.iter().zip(&created) {
        assert_eq!(item["object"], "role");
        assert_eq!(item["id"], role["id"]);
        assert_eq!(item["name"], role["name"]);
        assert_eq!(item["permissions"], json!(["read_metric"]));
        assert_eq!(item["limits"], json!([]));
        assert_eq!(item["users"], 0);
        assert_eq!(item["created"], role["created"]);
        assert_eq!(item["updated"], role["updated"]);
    }

    let answer = app.get("/v1/admin/roles?offset=1&limit=1").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["total"], 3);
    assert_eq!(answer.body["offset"], 1);
    assert_eq!(answer.body["limit"], 1);
    assert_eq!(ids(&answer.body), [created[1]["id"].as_i64().unwrap()]);

    let answer = app.get("/v1/admin/roles?offset=5").await;
    assert_eq!(answer.body["total"], 3);
    assert_eq!(answer.body["data"], json!([]));
}

#[tokio::test]
async fn roles_are_ordered_by_id_by_default_and_by_name_on_request() {
    let app = TestApp::spawn().await;
    let charlie = create(&app, json!({"name": "charlie"})).await["id"]
        .as_i64()
        .unwrap();
    let alpha = create(&app, json!({"name": "alpha"})).await["id"]
        .as_i64()
        .unwrap();
    let bravo = create(&app, json!({"name": "bravo"})).await["id"]
        .as_i64()
        .unwrap();

    assert_eq!(list_ids(&app, "").await, [charlie, alpha, bravo]);
    assert_eq!(
        list_ids(&app, "?order_by=id").await,
        [charlie, alpha, bravo]
    );
    assert_eq!(
        list_ids(&app, "?order_direction=desc").await,
        [bravo, alpha, charlie]
    );
    assert_eq!(
        list_ids(&app, "?order_by=name").await,
        [alpha, bravo, charlie]
    );
    assert_eq!(
        list_ids(&app, "?order_by=name&order_direction=desc").await,
        [charlie, bravo, alpha]
    );
}

#[tokio::test]
async fn sort_by_and_sort_order_are_accepted_for_order_by_and_order_direction() {
    let app = TestApp::spawn().await;
    let charlie = create(&app, json!({"name": "charlie"})).await["id"]
        .as_i64()
        .unwrap();
    let alpha = create(&app, json!({"name": "alpha"})).await["id"]
        .as_i64()
        .unwrap();
    let bravo = create(&app, json!({"name": "bravo"})).await["id"]
        .as_i64()
        .unwrap();

    assert_eq!(
        list_ids(&app, "?sort_by=name").await,
        [alpha, bravo, charlie]
    );
    assert_eq!(
        list_ids(&app, "?sort_by=name&sort_order=desc").await,
        [charlie, bravo, alpha]
    );
    assert_eq!(
        list_ids(&app, "?sort_order=desc").await,
        [bravo, alpha, charlie]
    );
    assert_eq!(
        list_ids(&app, "?order_by=name&sort_order=desc").await,
        [charlie, bravo, alpha]
    );

    let answer = app.get("/v1/admin/roles?sort_by=email").await;
    answer.assert_invalid(&[(json!(["query", "sort_by"]), "enum")]);
    let answer = app.get("/v1/admin/roles?sort_order=up").await;
    answer.assert_invalid(&[(json!(["query", "sort_order"]), "enum")]);
}

#[tokio::test]
async fn roles_can_be_ordered_by_created_or_updated() {
    let app = TestApp::spawn().await;
    let first = create(&app, json!({"name": "first"})).await["id"]
        .as_i64()
        .unwrap();
    let second = create(&app, json!({"name": "second"})).await["id"]
        .as_i64()
        .unwrap();
    let third = create(&app, json!({"name": "third"})).await["id"]
        .as_i64()
        .unwrap();
    // The first role changes last (to the second: within one second, `updated` sorts by id).
    let answer = app
        .patch(
            &format!("/v1/admin/roles/{first}"),
            json!({"permissions": ["admin"]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);

    assert_eq!(
        list_ids(&app, "?order_by=created").await,
        [first, second, third]
    );
    assert_eq!(
        list_ids(&app, "?order_by=created&order_direction=desc").await,
        [third, second, first]
    );
    let all = app.get("/v1/admin/roles").await;
    let by_updated = support::ids_by_shown(&all.body, "updated");
    assert_eq!(list_ids(&app, "?order_by=updated").await, by_updated);
    let mut descending = by_updated;
    descending.reverse();
    assert_eq!(
        list_ids(&app, "?order_by=updated&order_direction=desc").await,
        descending
    );
}

#[tokio::test]
async fn pages_of_roles_neither_overlap_nor_skip_whatever_the_order() {
    let app = TestApp::spawn().await;
    for name in ["e", "b", "d", "a", "c"] {
        create(&app, json!({ "name": name })).await;
    }
    for order in [
        "order_by=id",
        "order_by=name",
        "order_by=created",
        "order_by=updated",
    ] {
        for direction in ["asc", "desc"] {
            let query = format!("?{order}&order_direction={direction}");
            let whole = list_ids(&app, &query).await;
            assert_eq!(whole.len(), 5);
            let mut paged = Vec::new();
            for offset in (0..5).step_by(2) {
                paged.extend(list_ids(&app, &format!("{query}&offset={offset}&limit=2")).await);
            }
            assert_eq!(paged, whole, "{query}");
        }
    }
}

#[tokio::test]
async fn an_invalid_roles_query_is_422_on_each_parameter() {
    let app = TestApp::spawn().await;
    for (query, loc, kind) in [
        ("offset=-1", "offset", "greater_than_equal"),
        ("offset=x", "offset", "int_parsing"),
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=101", "limit", "less_than_equal"),
        ("limit=ten", "limit", "int_parsing"),
        ("order_by=email", "order_by", "enum"),
        ("order_direction=up", "order_direction", "enum"),
    ] {
        let answer = app.get(&format!("/v1/admin/roles?{query}")).await;
        answer.assert_invalid(&[(json!(["query", loc]), kind)]);
    }
    // Unknown parameters are ignored, and the largest page is allowed.
    let answer = app.get("/v1/admin/roles?colour=blue&limit=100").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["limit"], 100);
}

#[tokio::test]
async fn every_invalid_roles_query_parameter_is_reported_not_only_the_first() {
    let app = TestApp::spawn().await;
    let answer = app
        .get("/v1/admin/roles?offset=x&limit=0&order_by=users&order_direction=sideways")
        .await;
    answer.assert_invalid(&[
        (json!(["query", "offset"]), "int_parsing"),
        (json!(["query", "limit"]), "greater_than_equal"),
        (json!(["query", "order_by"]), "enum"),
        (json!(["query", "order_direction"]), "enum"),
    ]);
}

#[tokio::test]
async fn users_counts_the_users_holding_the_role() {
    let app = TestApp::spawn().await;
    let held = app.create_role("held", &["read_metric"]).await;
    let other = app.create_role("other", &[]).await;
    let ada = app.create_user("ada@example.com", held, None).await;
    app.create_user("bob@example.com", held, None).await;

    assert_eq!(get_role(&app, held).await["users"], 2);
    assert_eq!(get_role(&app, other).await["users"], 0);
    let list = app.get("/v1/admin/roles").await;
    let counts: Vec<(i64, i64)> = list.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["id"].as_i64().unwrap(), r["users"].as_i64().unwrap()))
        .collect();
    assert_eq!(counts, [(held, 2), (other, 0)]);

    let moved = app
        .patch(&format!("/v1/admin/users/{ada}"), json!({ "role": other }))
        .await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT, "{}", moved.text);
    assert_eq!(get_role(&app, held).await["users"], 1);
    assert_eq!(get_role(&app, other).await["users"], 1);

    let deleted = app.delete(&format!("/v1/admin/users/{ada}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(get_role(&app, other).await["users"], 0);
}

// ---------------------------------------------------------------------------------------------
// Get

#[tokio::test]
async fn getting_an_unknown_role_is_404_role_not_found() {
    let app = TestApp::spawn().await;
    let id = app.create_role("exists", &[]).await;
    for missing in [id + 1, 0, 9_223_372_036_854_775_807] {
        let answer = app.get(&format!("/v1/admin/roles/{missing}")).await;
        answer.assert_detail(404, "Role not found.");
    }
}

#[tokio::test]
async fn a_role_id_that_is_not_a_64_bit_integer_is_422_located_in_the_path() {
    let app = TestApp::spawn().await;
    let id = app.create_role("exists", &[]).await;
    for raw in ["abc", "1.5", "9223372036854775808", "1e3"] {
        let path = format!("/v1/admin/roles/{raw}");
        for method in [Method::GET, Method::PATCH, Method::DELETE] {
            let body = (method == Method::PATCH).then(|| json!({"name": "renamed"}));
            let answer = app
                .call(method.clone(), &path, Some(MASTER_KEY), body)
                .await;
            answer.assert_invalid(&[(json!(["path", "role"]), "int_parsing")]);
        }
    }
    assert_eq!(get_role(&app, id).await["name"], "exists");
}

// ---------------------------------------------------------------------------------------------
// Patch

#[tokio::test]
async fn patching_a_role_answers_200_with_the_whole_role() {
    let app = TestApp::spawn().await;
    let role = create(
        &app,
        json!({
            "name": "before",
            "permissions": ["read_metric"],
            "limits": [{"router_id": 1, "type": "rpm", "value": 10}],
        }),
    )
    .await;
    let id = role["id"].as_i64().unwrap();
    let answer = app
        .patch(
            &format!("/v1/admin/roles/{id}"),
            json!({"name": "  after "}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["object"], "role");
    assert_eq!(answer.body["id"], id);
    assert_eq!(answer.body["name"], "after");
    assert_eq!(permissions(&answer.body), set(&["read_metric"]));
    assert_eq!(
        limits(&answer.body),
        limit_set(&[limit(1, "rpm", Some(10))])
    );
    assert_eq!(answer.body["users"], 0);
    assert_eq!(answer.body["created"], role["created"]);
    assert!(answer.body["updated"].is_i64());

    let read = get_role(&app, id).await;
    assert_eq!(read, answer.body);
}

#[tokio::test]
async fn patching_a_role_answers_200_whatever_the_prefer_header_says() {
    let app = TestApp::spawn().await;
    let id = app.create_role("prefer", &[]).await;
    for (index, prefer) in [None, Some("return=minimal"), Some("return=representation")]
        .into_iter()
        .enumerate()
    {
        let name = format!("prefer {index}");
        let answer = patch_with(&app, id, json!({ "name": name }), prefer).await;
        assert_eq!(answer.status, StatusCode::OK, "{prefer:?}: {}", answer.text);
        assert_eq!(answer.body["object"], "role", "{prefer:?}");
        assert_eq!(answer.body["name"], json!(name), "{prefer:?}");
    }
    assert_eq!(get_role(&app, id).await["name"], "prefer 2");
}

#[tokio::test]
async fn permissions_and_limits_in_a_patch_replace_the_whole_lists() {
    let app = TestApp::spawn().await;
    let role = create(
        &app,
        json!({
            "name": "replace",
            "permissions": ["admin", "read_metric"],
            "limits": [
                {"router_id": 1, "type": "rpm", "value": 10},
                {"router_id": 2, "type": "tpm", "value": 20},
            ],
        }),
    )
    .await;
    let id = role["id"].as_i64().unwrap();
    let path = format!("/v1/admin/roles/{id}");

    let answer = app
        .patch(&path, json!({"permissions": ["provide_models"]}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(permissions(&answer.body), set(&["provide_models"]));
    let kept_limits = limit_set(&[limit(1, "rpm", Some(10)), limit(2, "tpm", Some(20))]);
    assert_eq!(limits(&answer.body), kept_limits);

    let answer = app
        .patch(
            &path,
            json!({"limits": [{"router": 3, "type": "rpd", "value": 5}]}),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(permissions(&answer.body), set(&["provide_models"]));
    assert_eq!(limits(&answer.body), limit_set(&[limit(3, "rpd", Some(5))]));
    let read = get_role(&app, id).await;
    assert_eq!(permissions(&read), set(&["provide_models"]));
    assert_eq!(limits(&read), limit_set(&[limit(3, "rpd", Some(5))]));

    let answer = app
        .patch(&path, json!({"permissions": [], "limits": []}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["permissions"], json!([]));
    assert_eq!(answer.body["limits"], json!([]));
    let read = get_role(&app, id).await;
    assert_eq!(read["permissions"], json!([]));
    assert_eq!(read["limits"], json!([]));
    assert_eq!(read["name"], "replace");
}

#[tokio::test]
async fn fields_absent_from_a_role_patch_stay_as_they_are() {
    let app = TestApp::spawn().await;
    let role = create(
        &app,
        json!({
            "name": "stay",
            "permissions": ["admin"],
            "limits": [{"router_id": 4, "type": "tpd", "value": null}],
        }),
    )
    .await;
    let id = role["id"].as_i64().unwrap();
    let path = format!("/v1/admin/roles/{id}");

    let answer = app.patch(&path, json!({})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body, role);
    assert_eq!(get_role(&app, id).await, role);

    let answer = app.patch(&path, json!({"name": "moved"})).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(permissions(&answer.body), set(&["admin"]));
    assert_eq!(limits(&answer.body), limit_set(&[limit(4, "tpd", None)]));
    let read = get_role(&app, id).await;
    assert_eq!(read["name"], "moved");
    assert_eq!(permissions(&read), set(&["admin"]));
    assert_eq!(limits(&read), limit_set(&[limit(4, "tpd", None)]));
}

#[tokio::test]
async fn a_patch_keeps_created_and_never_moves_updated_backwards() {
    let app = TestApp::spawn().await;
    let role = create(&app, json!({"name": "clock"})).await;
    let id = role["id"].as_i64().unwrap();
    let path = format!("/v1/admin/roles/{id}");
    let mut last = role["updated"].as_i64().unwrap();
    for body in [
        json!({"name": "clock 2"}),
        json!({"permissions": ["read_metric"]}),
        json!({"limits": [{"router_id": 1, "type": "rpm", "value": 1}]}),
        json!({}),
    ] {
        let answer = app.patch(&path, body.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{body}: {}", answer.text);
        assert_eq!(answer.body["created"], role["created"], "{body}");
        let updated = answer.body["updated"].as_i64().unwrap();
        assert!(
            updated >= last,
            "{body}: updated went from {last} to {updated}"
        );
        assert!(
            updated >= answer.body["created"].as_i64().unwrap(),
            "{body}"
        );
        last = updated;
    }
    assert!(last <= unix_now());
}

#[tokio::test]
async fn patching_an_unknown_role_is_404_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let id = app.create_role("only", &[]).await;
    for body in [json!({"name": "ghost"}), json!({})] {
        let answer = app
            .patch(&format!("/v1/admin/roles/{}", id + 1), body)
            .await;
        answer.assert_detail(404, "Role not found.");
    }
    assert_eq!(role_count(&app).await, 1);
    assert_eq!(get_role(&app, id).await["name"], "only");
}

#[tokio::test]
async fn renaming_a_role_to_a_taken_name_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.create_role("taken", &[]).await;
    let role = create(
        &app,
        json!({"name": "mine", "permissions": ["read_metric"]}),
    )
    .await;
    let id = role["id"].as_i64().unwrap();
    let answer = app
        .patch(
            &format!("/v1/admin/roles/{id}"),
            json!({"name": " taken ", "permissions": ["admin"]}),
        )
        .await;
    answer.assert_detail(409, "Role already exists.");
    assert_eq!(get_role(&app, id).await, role);

    // A role keeps its own name without conflict.
    let answer = app
        .patch(&format!("/v1/admin/roles/{id}"), json!({"name": "mine"}))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["name"], "mine");
}

#[tokio::test]
async fn an_invalid_role_patch_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let role = create(
        &app,
        json!({
            "name": "guarded",
            "permissions": ["read_metric"],
            "limits": [{"router_id": 1, "type": "rpm", "value": 10}],
        }),
    )
    .await;
    let id = role["id"].as_i64().unwrap();
    let path = format!("/v1/admin/roles/{id}");
    for (body, expected) in [
        (
            json!({"name": null}),
            vec![(json!(["body", "name"]), "string_type")],
        ),
        (
            json!({"name": "  "}),
            vec![(json!(["body", "name"]), "string_too_short")],
        ),
        (
            json!({"permissions": null}),
            vec![(json!(["body", "permissions"]), "list_type")],
        ),
        (
            json!({"limits": null}),
            vec![(json!(["body", "limits"]), "list_type")],
        ),
        (
            json!({"name": "new", "permissions": ["admin", "god"]}),
            vec![(json!(["body", "permissions", 1]), "enum")],
        ),
        (
            json!({"limits": [
                {"router_id": 2, "type": "tpm", "value": 1},
                {"router": 2, "type": "tpm", "value": 2},
            ]}),
            vec![(json!(["body", "limits"]), "value_error")],
        ),
        (
            json!({"limits": [{"router_id": 2, "type": "tpm", "value": -5}]}),
            vec![(json!(["body", "limits", 0, "value"]), "greater_than_equal")],
        ),
    ] {
        let answer = app.patch(&path, body.clone()).await;
        answer.assert_invalid(&expected);
        assert_eq!(get_role(&app, id).await, role, "after {body}");
    }
}

// ---------------------------------------------------------------------------------------------
// Delete

#[tokio::test]
async fn deleting_a_role_answers_204_and_it_is_gone() {
    let app = TestApp::spawn().await;
    let kept = app.create_role("kept", &[]).await;
    let id = create(
        &app,
        json!({
            "name": "doomed",
            "permissions": ["admin"],
            "limits": [{"router_id": 1, "type": "rpm", "value": 1}],
        }),
    )
    .await["id"]
        .as_i64()
        .unwrap();
    let answer = app.delete(&format!("/v1/admin/roles/{id}")).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(answer.text, "");

    app.get(&format!("/v1/admin/roles/{id}"))
        .await
        .assert_detail(404, "Role not found.");
    assert_eq!(list_ids(&app, "").await, [kept]);
    app.delete(&format!("/v1/admin/roles/{id}"))
        .await
        .assert_detail(404, "Role not found.");

    // The name is free again, and the new role starts with nothing of the old one.
    let again = create(&app, json!({"name": "doomed"})).await;
    assert_eq!(again["permissions"], json!([]));
    assert_eq!(again["limits"], json!([]));
}

#[tokio::test]
async fn deleting_an_unknown_role_is_404() {
    let app = TestApp::spawn().await;
    let id = app.create_role("stays", &[]).await;
    app.delete(&format!("/v1/admin/roles/{}", id + 1))
        .await
        .assert_detail(404, "Role not found.");
    assert_eq!(role_count(&app).await, 1);
}

#[tokio::test]
async fn deleting_a_role_held_by_a_user_is_409_and_the_role_stays() {
    let app = TestApp::spawn().await;
    let role = create(
        &app,
        json!({"name": "held", "permissions": ["read_metric"]}),
    )
    .await;
    let id = role["id"].as_i64().unwrap();
    let user = app.create_user("holder@example.com", id, None).await;

    app.delete(&format!("/v1/admin/roles/{id}"))
        .await
        .assert_detail(409, "Delete role with users is not allowed.");
    let read = get_role(&app, id).await;
    assert_eq!(read["users"], 1);
    assert_eq!(read["name"], "held");
    assert_eq!(permissions(&read), set(&["read_metric"]));
    let holder = app.get(&format!("/v1/admin/users/{user}")).await;
    assert_eq!(holder.status, StatusCode::OK, "{}", holder.text);
    assert_eq!(holder.body["role"], id);

    // Once nobody holds it, it can go.
    let answer = app.delete(&format!("/v1/admin/users/{user}")).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let answer = app.delete(&format!("/v1/admin/roles/{id}")).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    app.get(&format!("/v1/admin/roles/{id}"))
        .await
        .assert_detail(404, "Role not found.");
}
