//! `/v1/admin/organizations`, over HTTP, as API.md describes it: every row of the Organizations
//! table, every rule on names, the list conventions, and who may call it.

#![allow(
    clippy::expect_used,
    reason = "helpers of tests: a failed expectation is a failed test"
)]

mod support;

use std::sync::Arc;

use gatehouse_domain::chrono::TimeDelta;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{MASTER_KEY, TestApp, TestClock, ids, unix_now};

const ORGANIZATIONS: &str = "/v1/admin/organizations";

fn organization(id: i64) -> String {
    format!("{ORGANIZATIONS}/{id}")
}

/// The whole list of organizations, as the master key sees it (at most 100).
async fn all_organizations(app: &TestApp) -> Value {
    let answer = app.get(&format!("{ORGANIZATIONS}?limit=100")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// Checks the shape of an organization object.
#[track_caller]
fn assert_organization(body: &Value, name: &str, users: i64) {
    let mut keys: Vec<&str> = body
        .as_object()
        .expect("an object")
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        ["created", "id", "name", "object", "updated", "users"],
        "{body}"
    );
    assert_eq!(body["object"], json!("organization"));
    assert!(body["id"].as_i64().is_some_and(|id| id > 0), "{body}");
    assert_eq!(body["name"], json!(name));
    assert_eq!(body["users"], json!(users));
    let created = body["created"].as_i64().expect("created");
    let updated = body["updated"].as_i64().expect("updated");
    assert!(
        (unix_now() - 60..=unix_now() + 1).contains(&created),
        "{body}"
    );
    assert!(updated >= created, "{body}");
}

// ---------------------------------------------------------------------------------------------
// Create

#[tokio::test]
async fn creating_an_organization_answers_201_with_the_whole_object_and_its_location() {
    let app = TestApp::spawn().await;
    let answer = app.post(ORGANIZATIONS, json!({ "name": "Acme" })).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_organization(&answer.body, "Acme", 0);
    let id = answer.body["id"].as_i64().expect("an id");
    assert_eq!(answer.header("location"), Some(organization(id).as_str()));

    let read = app.get(&organization(id)).await;
    assert_eq!(read.status, StatusCode::OK);
    assert_eq!(read.body, answer.body);
    assert_eq!(all_organizations(&app).await["total"], json!(1));
}

#[tokio::test]
async fn an_organization_name_is_trimmed_when_it_is_created() {
    let app = TestApp::spawn().await;
    let answer = app
        .post(ORGANIZATIONS, json!({ "name": " \t Acme Corp  \n" }))
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["name"], json!("Acme Corp"));
    let id = answer.body["id"].as_i64().expect("an id");
    assert_eq!(app.get(&organization(id)).await.body["name"], "Acme Corp");
}

#[tokio::test]
async fn organization_names_of_1_and_255_characters_are_accepted() {
    let app = TestApp::spawn().await;
    let longest = "é".repeat(255);
    for name in ["A", longest.as_str(), &format!("  {}  ", "z".repeat(255))] {
        let answer = app.post(ORGANIZATIONS, json!({ "name": name })).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        assert_eq!(answer.body["name"], json!(name.trim()));
    }
    assert_eq!(all_organizations(&app).await["total"], json!(3));
}

#[tokio::test]
async fn creating_an_organization_with_an_invalid_name_is_422_and_stores_nothing() {
    let app = TestApp::spawn().await;
    app.create_organization("Existing").await;
    let before = all_organizations(&app).await;
    let name = || json!(["body", "name"]);
    let cases = [
        (json!({ "name": "" }), "string_too_short"),
        (json!({ "name": "   " }), "string_too_short"),
        (json!({ "name": "x".repeat(256) }), "string_too_long"),
        (json!({ "name": "Ac\u{0}me" }), "value_error"),
        (json!({ "name": null }), "string_type"),
        (json!({ "name": 42 }), "string_type"),
        (json!({}), "missing"),
    ];
    for (body, kind) in cases {
        let answer = app.post(ORGANIZATIONS, body).await;
        answer.assert_invalid(&[(name(), kind)]);
    }
    assert_eq!(all_organizations(&app).await, before);
}

#[tokio::test]
async fn creating_an_organization_with_a_taken_name_is_409() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let before = app.get(&organization(id)).await.body;
    for name in ["Acme", "  Acme  "] {
        let answer = app.post(ORGANIZATIONS, json!({ "name": name })).await;
        answer.assert_detail(
            StatusCode::CONFLICT.as_u16(),
            "Organization already exists.",
        );
    }
    let after = all_organizations(&app).await;
    assert_eq!(after["total"], json!(1));
    assert_eq!(after["data"][0], before);
}

#[tokio::test]
async fn creating_an_organization_with_a_body_that_is_not_json_is_422_json_invalid() {
    let app = TestApp::spawn().await;
    let answer = app
        .post_raw(ORGANIZATIONS, r#"{"name": "Acme""#.to_owned())
        .await;
    assert_eq!(
        answer.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        answer.text
    );
    let errors = answer.body["detail"].as_array().expect("a list");
    assert_eq!(errors.len(), 1, "{}", answer.text);
    assert_eq!(errors[0]["type"], json!("json_invalid"));
    assert_eq!(errors[0]["loc"][0], json!("body"));
    assert_eq!(all_organizations(&app).await["total"], json!(0));
}

#[tokio::test]
async fn creating_an_organization_with_a_body_over_64_kib_is_413() {
    let app = TestApp::spawn().await;
    let body = json!({ "name": "a".repeat(70 * 1024) }).to_string();
    let answer = app.post_raw(ORGANIZATIONS, body).await;
    answer.assert_detail(
        StatusCode::PAYLOAD_TOO_LARGE.as_u16(),
        "Request body too large.",
    );
    assert_eq!(all_organizations(&app).await["total"], json!(0));
}

// ---------------------------------------------------------------------------------------------
// List

#[tokio::test]
async fn listing_organizations_answers_a_list_envelope_with_the_default_page() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for n in 0..12 {
        created.push(app.create_organization(&format!("Org {n:02}")).await);
    }
    let answer = app.get(ORGANIZATIONS).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(answer.body["object"], json!("list"));
    assert_eq!(answer.body["total"], json!(12));
    assert_eq!(answer.body["offset"], json!(0));
    assert_eq!(answer.body["limit"], json!(10));
    assert_eq!(ids(&answer.body), created[..10]);
    for (n, item) in answer.body["data"]
        .as_array()
        .expect("data")
        .iter()
        .enumerate()
    {
        assert_organization(item, &format!("Org {n:02}"), 0);
    }
}

#[tokio::test]
async fn an_empty_list_of_organizations_has_a_total_of_0() {
    let app = TestApp::spawn().await;
    let answer = app.get(ORGANIZATIONS).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(
        answer.body,
        json!({ "object": "list", "data": [], "total": 0, "offset": 0, "limit": 10 })
    );
}

#[tokio::test]
async fn listing_organizations_pages_with_offset_and_limit() {
    let app = TestApp::spawn().await;
    let mut created = Vec::new();
    for n in 0..5 {
        created.push(app.create_organization(&format!("Org {n}")).await);
    }
    let answer = app.get(&format!("{ORGANIZATIONS}?offset=1&limit=3")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(ids(&answer.body), created[1..4]);
    assert_eq!(answer.body["total"], json!(5));
    assert_eq!(answer.body["offset"], json!(1));
    assert_eq!(answer.body["limit"], json!(3));

    let tail = app
        .get(&format!("{ORGANIZATIONS}?offset=4&limit=100"))
        .await;
    assert_eq!(ids(&tail.body), created[4..]);
    let beyond = app.get(&format!("{ORGANIZATIONS}?offset=50&limit=1")).await;
    assert_eq!(beyond.status, StatusCode::OK);
    assert_eq!(beyond.body["data"], json!([]));
    assert_eq!(beyond.body["total"], json!(5));
}

/// Creates organizations whose names, creation order and update order all differ, and returns
/// their ids in creation order with the expected order of each sort key (ascending).
async fn scrambled_organizations(app: &TestApp) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
    let names = [
        "delta", "alpha", "golf", "charlie", "echo", "bravo", "foxtrot",
    ];
    let mut created = Vec::new();
    for name in names {
        created.push(app.create_organization(name).await);
    }
    // Renaming the first two makes them the most recently updated, in this order, to the
    // second: within one second, `updated` sorts by id.
    for (id, name) in [(created[1], "alpha2"), (created[0], "delta2")] {
        let answer = app.patch(&organization(id), json!({ "name": name })).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    }
    // By name: alpha2, bravo, charlie, delta2, echo, foxtrot, golf.
    let by_name = [1, 5, 3, 0, 4, 6, 2].map(|i| created[i]).to_vec();
    let all = app.get(&format!("{ORGANIZATIONS}?limit=100")).await;
    let by_updated = support::ids_by_shown(&all.body, "updated");
    (created, by_name, by_updated)
}

#[tokio::test]
async fn listing_organizations_orders_by_each_allowed_field_in_both_directions() {
    let app = TestApp::spawn().await;
    let (created, by_name, by_updated) = scrambled_organizations(&app).await;
    let cases = [
        ("id", &created),
        ("name", &by_name),
        ("created", &created),
        ("updated", &by_updated),
    ];
    for (order_by, ascending) in cases {
        let asc = app
            .get(&format!("{ORGANIZATIONS}?order_by={order_by}&limit=100"))
            .await;
        assert_eq!(asc.status, StatusCode::OK, "{}", asc.text);
        assert_eq!(&ids(&asc.body), ascending, "order_by={order_by} asc");
        let explicit = app
            .get(&format!(
                "{ORGANIZATIONS}?order_by={order_by}&order_direction=asc&limit=100"
            ))
            .await;
        assert_eq!(&ids(&explicit.body), ascending, "order_by={order_by} asc");
        let desc = app
            .get(&format!(
                "{ORGANIZATIONS}?order_by={order_by}&order_direction=desc&limit=100"
            ))
            .await;
        let mut descending = ascending.clone();
        descending.reverse();
        assert_eq!(ids(&desc.body), descending, "order_by={order_by} desc");
    }
    let desc_by_default_field = app
        .get(&format!("{ORGANIZATIONS}?order_direction=desc"))
        .await;
    let mut descending = created.clone();
    descending.reverse();
    assert_eq!(ids(&desc_by_default_field.body), descending);
}

#[tokio::test]
async fn paging_through_organizations_never_overlaps_or_skips_in_any_order() {
    let app = TestApp::spawn().await;
    let (created, ..) = scrambled_organizations(&app).await;
    // Two more created in the same second as others: equal `created` values as clients see them.
    let mut all = created.clone();
    all.push(app.create_organization("hotel").await);
    all.push(app.create_organization("india").await);
    all.sort_unstable();
    for order_by in ["id", "name", "created", "updated"] {
        for direction in ["asc", "desc"] {
            let query = format!("order_by={order_by}&order_direction={direction}");
            let whole = app.get(&format!("{ORGANIZATIONS}?{query}&limit=100")).await;
            for limit in [1, 2, 4] {
                let mut seen = Vec::new();
                let mut offset = 0;
                loop {
                    let page = app
                        .get(&format!(
                            "{ORGANIZATIONS}?{query}&offset={offset}&limit={limit}"
                        ))
                        .await;
                    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
                    assert_eq!(page.body["total"], json!(all.len()));
                    let page_ids = ids(&page.body);
                    if page_ids.is_empty() {
                        break;
                    }
                    assert!(page_ids.len() <= limit);
                    seen.extend(page_ids);
                    offset += limit;
                }
                assert_eq!(seen, ids(&whole.body), "{query} limit={limit}");
                let mut sorted = seen.clone();
                sorted.sort_unstable();
                assert_eq!(sorted, all, "{query} limit={limit}: overlap or skip");
            }
        }
    }
}

#[tokio::test]
async fn listing_organizations_with_a_bad_query_parameter_is_422_located_in_the_query() {
    let app = TestApp::spawn().await;
    app.create_organization("Acme").await;
    let cases = [
        ("offset=-1", "offset", "greater_than_equal"),
        ("offset=abc", "offset", "int_parsing"),
        ("offset=1.5", "offset", "int_parsing"),
        ("offset=99999999999999999999", "offset", "int_parsing"),
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=-5", "limit", "greater_than_equal"),
        ("limit=101", "limit", "less_than_equal"),
        ("limit=ten", "limit", "int_parsing"),
        ("order_by=email", "order_by", "enum"),
        ("order_by=users", "order_by", "enum"),
        ("order_by=", "order_by", "enum"),
        ("order_direction=sideways", "order_direction", "enum"),
        ("order_direction=", "order_direction", "enum"),
    ];
    for (query, field, kind) in cases {
        let answer = app.get(&format!("{ORGANIZATIONS}?{query}")).await;
        answer.assert_invalid(&[(json!(["query", field]), kind)]);
    }
}

#[tokio::test]
async fn listing_organizations_reports_every_bad_query_parameter_at_once() {
    let app = TestApp::spawn().await;
    let both_ranges = app
        .get(&format!("{ORGANIZATIONS}?offset=-1&limit=101"))
        .await;
    both_ranges.assert_invalid(&[
        (json!(["query", "offset"]), "greater_than_equal"),
        (json!(["query", "limit"]), "less_than_equal"),
    ]);
    let all_four = app
        .get(&format!(
            "{ORGANIZATIONS}?offset=x&limit=0&order_by=color&order_direction=up"
        ))
        .await;
    all_four.assert_invalid(&[
        (json!(["query", "offset"]), "int_parsing"),
        (json!(["query", "limit"]), "greater_than_equal"),
        (json!(["query", "order_by"]), "enum"),
        (json!(["query", "order_direction"]), "enum"),
    ]);
}

#[tokio::test]
async fn listing_organizations_ignores_unknown_query_parameters() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let answer = app
        .get(&format!(
            "{ORGANIZATIONS}?colour=blue&sort=sideways&limit=5&page=-3"
        ))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_eq!(ids(&answer.body), [acme]);
    assert_eq!(answer.body["limit"], json!(5));
}

// ---------------------------------------------------------------------------------------------
// Get

#[tokio::test]
async fn getting_an_organization_answers_it_with_its_user_count() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let other = app.create_organization("Other").await;
    let role = app.create_role("member", &[]).await;
    app.create_user("ada@example.com", role, Some(acme)).await;
    app.create_user("grace@example.com", role, Some(acme)).await;
    app.create_user("alan@example.com", role, None).await;

    let answer = app.get(&organization(acme)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_organization(&answer.body, "Acme", 2);
    assert_eq!(answer.body["id"], json!(acme));
    assert_organization(&app.get(&organization(other)).await.body, "Other", 0);
}

#[tokio::test]
async fn getting_a_missing_organization_is_404() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    for missing in [id + 1, 0, 9_223_372_036_854_775_807] {
        let answer = app.get(&organization(missing)).await;
        answer.assert_detail(StatusCode::NOT_FOUND.as_u16(), "Organization not found.");
    }
}

#[tokio::test]
async fn an_organization_id_that_is_not_a_64_bit_integer_is_422_located_in_the_path() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let before = app.get(&organization(id)).await.body;
    for bad in [
        "abc",
        "1.5",
        "1e3",
        "9223372036854775808",
        "99999999999999999999",
    ] {
        let path = format!("{ORGANIZATIONS}/{bad}");
        let loc = json!(["path", "organization"]);
        app.get(&path)
            .await
            .assert_invalid(&[(loc.clone(), "int_parsing")]);
        app.patch(&path, json!({ "name": "Renamed" }))
            .await
            .assert_invalid(&[(loc.clone(), "int_parsing")]);
        app.delete(&path)
            .await
            .assert_invalid(&[(loc, "int_parsing")]);
    }
    assert_eq!(app.get(&organization(id)).await.body, before);
}

// ---------------------------------------------------------------------------------------------
// Update

#[tokio::test]
async fn patching_an_organization_answers_204_and_renames_it() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let before = app.get(&organization(id)).await.body;
    let answer = app
        .patch(&organization(id), json!({ "name": "  Acme Labs " }))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert!(answer.text.is_empty(), "{}", answer.text);

    let after = app.get(&organization(id)).await.body;
    assert_organization(&after, "Acme Labs", 0);
    assert_eq!(after["id"], before["id"]);
    assert_eq!(after["created"], before["created"]);
    assert!(after["updated"].as_i64() >= before["updated"].as_i64());
    // The old name is free again.
    app.create_organization("Acme").await;
}

#[tokio::test]
async fn patching_an_organization_with_prefer_return_representation_answers_200_with_it() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let answer = app
        .patch_returning(&organization(id), json!({ "name": "Renamed" }))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_organization(&answer.body, "Renamed", 0);
    assert_eq!(answer.body["id"], json!(id));
    assert_eq!(app.get(&organization(id)).await.body, answer.body);
}

#[tokio::test]
async fn an_absent_name_leaves_the_organization_as_it_was() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let before = app.get(&organization(id)).await.body;
    let answer = app.patch(&organization(id), json!({})).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let after = app.get(&organization(id)).await.body;
    assert_eq!(after["name"], json!("Acme"));
    assert_eq!(after["created"], before["created"]);

    let represented = app.patch_returning(&organization(id), json!({})).await;
    assert_eq!(represented.status, StatusCode::OK, "{}", represented.text);
    assert_eq!(represented.body["name"], json!("Acme"));
}

#[tokio::test]
async fn patching_an_organization_name_to_null_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let before = app.get(&organization(id)).await.body;
    let answer = app.patch(&organization(id), json!({ "name": null })).await;
    answer.assert_invalid(&[(json!(["body", "name"]), "string_type")]);
    assert_eq!(app.get(&organization(id)).await.body, before);
}

#[tokio::test]
async fn patching_an_organization_with_an_invalid_name_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let before = app.get(&organization(id)).await.body;
    for (name, kind) in [
        (json!(""), "string_too_short"),
        (json!(" \t "), "string_too_short"),
        (json!("n".repeat(256)), "string_too_long"),
        (json!("A\u{0}B"), "value_error"),
        (json!(["Acme"]), "string_type"),
    ] {
        let answer = app.patch(&organization(id), json!({ "name": name })).await;
        answer.assert_invalid(&[(json!(["body", "name"]), kind)]);
    }
    let not_json = app
        .send(
            app.client
                .patch(app.url(&organization(id)))
                .bearer_auth(MASTER_KEY)
                .header("Content-Type", "application/json")
                .body("{name: Acme}"),
        )
        .await;
    assert_eq!(not_json.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(not_json.body["detail"][0]["type"], json!("json_invalid"));
    assert_eq!(not_json.body["detail"][0]["loc"][0], json!("body"));
    assert_eq!(app.get(&organization(id)).await.body, before);
}

#[tokio::test]
async fn renaming_an_organization_to_a_taken_name_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    app.create_organization("Acme").await;
    let id = app.create_organization("Globex").await;
    let before = app.get(&organization(id)).await.body;
    for name in ["Acme", " Acme "] {
        let answer = app.patch(&organization(id), json!({ "name": name })).await;
        answer.assert_detail(
            StatusCode::CONFLICT.as_u16(),
            "Organization name already taken. Please, choose another one.",
        );
    }
    let with_prefer = app
        .patch_returning(&organization(id), json!({ "name": "Acme" }))
        .await;
    with_prefer.assert_detail(
        StatusCode::CONFLICT.as_u16(),
        "Organization name already taken. Please, choose another one.",
    );
    assert_eq!(app.get(&organization(id)).await.body, before);
}

#[tokio::test]
async fn renaming_an_organization_to_its_own_name_is_not_a_conflict() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let answer = app
        .patch(&organization(id), json!({ "name": " Acme " }))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(app.get(&organization(id)).await.body["name"], json!("Acme"));
}

#[tokio::test]
async fn patching_a_missing_organization_is_404() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    for body in [json!({ "name": "Renamed" }), json!({})] {
        let answer = app.patch(&organization(id + 1), body).await;
        answer.assert_detail(StatusCode::NOT_FOUND.as_u16(), "Organization not found.");
    }
    let taken_name = app
        .patch(&organization(id + 1), json!({ "name": "Acme" }))
        .await;
    taken_name.assert_detail(StatusCode::NOT_FOUND.as_u16(), "Organization not found.");
    let list = all_organizations(&app).await;
    assert_eq!(list["total"], json!(1));
    assert_eq!(list["data"][0]["name"], json!("Acme"));
}

// ---------------------------------------------------------------------------------------------
// Delete

#[tokio::test]
async fn deleting_an_organization_answers_204_and_it_is_gone() {
    let app = TestApp::spawn().await;
    let keep = app.create_organization("Keep").await;
    let id = app.create_organization("Acme").await;
    let answer = app.delete(&organization(id)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert!(answer.text.is_empty());

    app.get(&organization(id))
        .await
        .assert_detail(StatusCode::NOT_FOUND.as_u16(), "Organization not found.");
    let list = all_organizations(&app).await;
    assert_eq!(list["total"], json!(1));
    assert_eq!(ids(&list), [keep]);
    // Its name can be used again.
    app.create_organization("Acme").await;
}

#[tokio::test]
async fn deleting_a_missing_organization_is_404() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    app.delete(&organization(id + 1))
        .await
        .assert_detail(StatusCode::NOT_FOUND.as_u16(), "Organization not found.");
    assert_eq!(
        app.delete(&organization(id)).await.status,
        StatusCode::NO_CONTENT
    );
    app.delete(&organization(id))
        .await
        .assert_detail(StatusCode::NOT_FOUND.as_u16(), "Organization not found.");
}

#[tokio::test]
async fn deleting_an_organization_with_users_is_409() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let role = app.create_role("member", &[]).await;
    let user = app.create_user("ada@example.com", role, Some(id)).await;
    let before = app.get(&organization(id)).await.body;

    let answer = app.delete(&organization(id)).await;
    answer.assert_detail(
        StatusCode::CONFLICT.as_u16(),
        "Delete organization with users is not allowed.",
    );
    assert_eq!(app.get(&organization(id)).await.body, before);
    let member = app.get(&format!("/v1/admin/users/{user}")).await;
    assert_eq!(member.body["organization"], json!(id));

    // Once its last user has left, it can go.
    let left = app
        .patch(
            &format!("/v1/admin/users/{user}"),
            json!({ "organization": null }),
        )
        .await;
    assert_eq!(left.status, StatusCode::NO_CONTENT, "{}", left.text);
    assert_eq!(app.get(&organization(id)).await.body["users"], json!(0));
    assert_eq!(
        app.delete(&organization(id)).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(all_organizations(&app).await["total"], json!(0));
}

#[tokio::test]
async fn the_users_count_follows_the_members_of_an_organization() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let globex = app.create_organization("Globex").await;
    let role = app.create_role("member", &[]).await;
    let ada = app.create_user("ada@example.com", role, Some(acme)).await;
    let grace = app.create_user("grace@example.com", role, Some(acme)).await;
    app.create_user("alan@example.com", role, Some(globex))
        .await;

    let count = |list: &Value, id: i64| {
        list["data"]
            .as_array()
            .expect("data")
            .iter()
            .find(|item| item["id"] == json!(id))
            .map(|item| item["users"].clone())
    };
    let list = all_organizations(&app).await;
    assert_eq!(count(&list, acme), Some(json!(2)));
    assert_eq!(count(&list, globex), Some(json!(1)));

    let moved = app
        .patch(
            &format!("/v1/admin/users/{ada}"),
            json!({ "organization": globex }),
        )
        .await;
    assert_eq!(moved.status, StatusCode::NO_CONTENT, "{}", moved.text);
    assert_eq!(app.get(&organization(acme)).await.body["users"], json!(1));
    assert_eq!(app.get(&organization(globex)).await.body["users"], json!(2));

    let deleted = app.delete(&format!("/v1/admin/users/{grace}")).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let list = all_organizations(&app).await;
    assert_eq!(count(&list, acme), Some(json!(0)));
    assert_eq!(count(&list, globex), Some(json!(2)));
}

// ---------------------------------------------------------------------------------------------
// Methods, authentication and permissions

#[tokio::test]
async fn a_method_an_organization_resource_does_not_have_is_405() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    for (method, path) in [
        (Method::PUT, ORGANIZATIONS.to_owned()),
        (Method::DELETE, ORGANIZATIONS.to_owned()),
        (Method::PATCH, ORGANIZATIONS.to_owned()),
        (Method::POST, organization(id)),
        (Method::PUT, organization(id)),
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
    assert_eq!(app.get(&organization(id)).await.body["name"], json!("Acme"));
}

#[tokio::test]
async fn an_unknown_route_under_organizations_is_404_not_found() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    for path in [
        format!("{}/users", organization(id)),
        format!("{ORGANIZATIONS}/{id}/{id}"),
        "/v1/admin/organisations".to_owned(),
    ] {
        app.get(&path)
            .await
            .assert_detail(StatusCode::NOT_FOUND.as_u16(), "Not Found");
    }
}

/// Every organization endpoint, with a body where it takes one.
fn every_endpoint(id: i64) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::POST,
            ORGANIZATIONS.to_owned(),
            Some(json!({ "name": "Intruders" })),
        ),
        (Method::GET, ORGANIZATIONS.to_owned(), None),
        (Method::GET, organization(id), None),
        (
            Method::PATCH,
            organization(id),
            Some(json!({ "name": "Hacked" })),
        ),
        (Method::DELETE, organization(id), None),
    ]
}

#[tokio::test]
async fn organization_endpoints_without_a_valid_key_are_401() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let before = all_organizations(&app).await;
    for (method, path, body) in every_endpoint(id) {
        let anonymous = app.call(method.clone(), &path, None, body.clone()).await;
        anonymous.assert_detail(StatusCode::UNAUTHORIZED.as_u16(), "Not authenticated");
        assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
        let unknown = app
            .call(method.clone(), &path, Some("sk-not-a-real-key"), body)
            .await;
        unknown.assert_detail(StatusCode::UNAUTHORIZED.as_u16(), "Invalid API key.");
        assert_eq!(unknown.header("www-authenticate"), Some("Bearer"));
    }
    assert_eq!(all_organizations(&app).await, before);
}

#[tokio::test]
async fn a_key_without_the_admin_permission_gets_403_on_every_organization_endpoint() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Acme").await;
    let (_, key) = app
        .user_with_key(
            "worker@example.com",
            &["create_public_collection", "read_metric", "provide_models"],
        )
        .await;
    let before = all_organizations(&app).await;
    for (method, path, body) in every_endpoint(id) {
        let answer = app.call(method.clone(), &path, Some(&key), body).await;
        answer.assert_detail(StatusCode::FORBIDDEN.as_u16(), "Insufficient rights.");
    }
    assert_eq!(all_organizations(&app).await, before);
}

#[tokio::test]
async fn a_user_with_the_admin_permission_manages_organizations_with_their_key() {
    let app = TestApp::spawn().await;
    let (_, key) = app.user_with_key("admin@example.com", &["admin"]).await;
    let created = app
        .call(
            Method::POST,
            ORGANIZATIONS,
            Some(&key),
            Some(json!({ "name": "Acme" })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_i64().expect("an id");
    let listed = app.call(Method::GET, ORGANIZATIONS, Some(&key), None).await;
    assert_eq!(ids(&listed.body), [id]);
    let patched = app
        .call(
            Method::PATCH,
            &organization(id),
            Some(&key),
            Some(json!({ "name": "Acme 2" })),
        )
        .await;
    assert_eq!(patched.status, StatusCode::NO_CONTENT, "{}", patched.text);
    let read = app
        .call(Method::GET, &organization(id), Some(&key), None)
        .await;
    assert_eq!(read.body["name"], json!("Acme 2"));
    let deleted = app
        .call(Method::DELETE, &organization(id), Some(&key), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(all_organizations(&app).await["total"], json!(0));
}

#[tokio::test]
async fn an_admin_whose_account_has_expired_gets_403_account_expired() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let id = app.create_organization("Acme").await;
    let (user, key) = app.user_with_key("admin@example.com", &["admin"]).await;
    let expires = clock.unix() + 3;
    let set = app
        .patch(
            &format!("/v1/admin/users/{user}"),
            json!({ "expires": expires }),
        )
        .await;
    assert_eq!(set.status, StatusCode::NO_CONTENT, "{}", set.text);
    let still_active = app.call(Method::GET, ORGANIZATIONS, Some(&key), None).await;
    assert_eq!(still_active.status, StatusCode::OK, "{}", still_active.text);

    clock.advance(TimeDelta::seconds(3));
    let before = all_organizations(&app).await;
    for (method, path, body) in every_endpoint(id) {
        let answer = app.call(method.clone(), &path, Some(&key), body).await;
        answer.assert_detail(StatusCode::FORBIDDEN.as_u16(), "Account expired.");
    }
    assert_eq!(all_organizations(&app).await, before);
}
