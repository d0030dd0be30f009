//! API.md's Projects section, over HTTP: projects and their members, keys bound to a project, what
//! such a key sees in `/v1/me/info`, and how organizations and user moves affect them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::collections::BTreeSet;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp, ids, unix_now};

const PROJECTS: &str = "/v1/admin/projects";
const PASSWORD: &str = "correct horse battery";

fn project_path(id: i64) -> String {
    format!("{PROJECTS}/{id}")
}

fn members_path(project: i64) -> String {
    format!("{PROJECTS}/{project}/members")
}

fn member_path(project: i64, user: i64) -> String {
    format!("{PROJECTS}/{project}/members/{user}")
}

fn user_path(user: i64) -> String {
    format!("/v1/admin/users/{user}")
}

/// A limit as the server writes it: `router_id` and `router` both.
fn limit(router: i64, kind: &str, value: Option<i64>) -> Value {
    json!({ "router_id": router, "router": router, "type": kind, "value": value })
}

/// Limits as a set of their JSON texts: the contract gives them no order.
fn limit_set(items: &[Value]) -> BTreeSet<String> {
    items.iter().map(Value::to_string).collect()
}

/// The limits of a project or a userInfo, as a set.
fn limits_of(body: &Value) -> BTreeSet<String> {
    limit_set(
        body["limits"]
            .as_array()
            .unwrap_or_else(|| panic!("a limits list in {body}")),
    )
}

/// Checks the shape of a project object and its plain fields.
#[track_caller]
fn assert_project(body: &Value, name: &str, organization: i64, members: i64) {
    let mut keys: Vec<&str> = body
        .as_object()
        .unwrap_or_else(|| panic!("an object, got {body}"))
        .keys()
        .map(String::as_str)
        .collect();
    keys.sort_unstable();
    assert_eq!(
        keys,
        [
            "budget",
            "created",
            "id",
            "limits",
            "members",
            "name",
            "object",
            "organization",
            "updated"
        ],
        "{body}"
    );
    assert_eq!(body["object"], json!("project"), "{body}");
    assert!(body["id"].as_i64().is_some_and(|id| id > 0), "{body}");
    assert_eq!(body["name"], json!(name), "{body}");
    assert_eq!(body["organization"], json!(organization), "{body}");
    assert_eq!(body["members"], json!(members), "{body}");
    let created = body["created"].as_i64().expect("integer created");
    let updated = body["updated"].as_i64().expect("integer updated");
    assert!(
        (unix_now() - 60..=unix_now() + 1).contains(&created),
        "{body}"
    );
    assert!(updated >= created, "{body}");
}

/// `POST /v1/admin/projects` with `body`, which must answer 201: the project.
async fn create(app: &TestApp, body: Value) -> Value {
    let answer = app.post(PROJECTS, body).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.body
}

/// A project without budget or limits: its id.
async fn create_project(app: &TestApp, name: &str, organization: i64) -> i64 {
    create(app, json!({ "name": name, "organization": organization })).await["id"]
        .as_i64()
        .expect("an id")
}

/// `GET /v1/admin/projects/{id}`, which must answer 200: the project.
async fn read_project(app: &TestApp, id: i64) -> Value {
    let answer = app.get(&project_path(id)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// Every project (at most 100).
async fn all_projects(app: &TestApp) -> Value {
    let answer = app.get(&format!("{PROJECTS}?limit=100")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// `PUT .../members/{user}`, which must answer 204 with no body.
async fn add_member(app: &TestApp, project: i64, user: i64) {
    let answer = app
        .call(
            Method::PUT,
            &member_path(project, user),
            Some(MASTER_KEY),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(answer.text, "");
}

async fn put_member(app: &TestApp, project: i64, user: i64) -> Answer {
    app.call(
        Method::PUT,
        &member_path(project, user),
        Some(MASTER_KEY),
        None,
    )
    .await
}

/// The members list of a project (at most 100), which must answer 200.
async fn members(app: &TestApp, project: i64) -> Value {
    let answer = app
        .get(&format!("{}?limit=100", members_path(project)))
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// The user ids of a members list, in order.
fn member_ids(list: &Value) -> Vec<i64> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| item["user"].as_i64().expect("a user id"))
        .collect()
}

/// `POST /v1/me/keys` with `key` and `body`.
async fn create_own(app: &TestApp, key: &str, body: Value) -> Answer {
    app.call(Method::POST, "/v1/me/keys", Some(key), Some(body))
        .await
}

/// A key of the owner of `key`, bound to `project`: `(key id, key)`.
async fn bound_key(app: &TestApp, key: &str, project: i64) -> (i64, String) {
    let answer = create_own(app, key, json!({ "name": "bound", "project": project })).await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    (
        answer.body["id"].as_i64().expect("an id"),
        answer.body["token"].as_str().expect("a key").to_owned(),
    )
}

/// `GET /v1/me/info` with `key`.
async fn info(app: &TestApp, key: &str) -> Answer {
    app.call(Method::GET, "/v1/me/info", Some(key), None).await
}

/// `GET /v1/me/info` with `key`, which must answer 200.
async fn read_info(app: &TestApp, key: &str) -> Value {
    let answer = info(app, key).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// Asserts that an answer to a call with a key is 200: the key authenticates.
#[track_caller]
fn assert_works(answer: &Answer) {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
}

/// Asserts that `key` works, on `/v1/me/info` and `/v1/me/keys`.
async fn assert_key_works(app: &TestApp, key: &str) {
    assert_works(&info(app, key).await);
    assert_works(&app.call(Method::GET, "/v1/me/keys", Some(key), None).await);
}

/// Asserts that `key` is refused at once, as an invalid key, everywhere.
async fn assert_key_dead(app: &TestApp, key: &str) {
    for path in ["/v1/me/info", "/v1/me/keys"] {
        let answer = app.call(Method::GET, path, Some(key), None).await;
        answer.assert_detail(401, "Invalid API key.");
        assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
    }
}

/// Every API key (at most 100), in the admin view.
async fn all_tokens(app: &TestApp) -> Value {
    let answer = app.get("/v1/admin/tokens?limit=100").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// Two organizations, a role without permissions, users in them and one without, each with a
/// key of their own (unbound), and a project of Acme.
struct World {
    acme: i64,
    globex: i64,
    role: i64,
    /// In Acme.
    ada: i64,
    ada_key: String,
    /// In Acme.
    grace: i64,
    grace_key: String,
    /// In Globex.
    linus: i64,
    /// In no organization.
    alan: i64,
    /// A project of Acme, without members.
    apollo: i64,
}

impl World {
    async fn new(app: &TestApp) -> Self {
        let acme = app.create_organization("Acme").await;
        let globex = app.create_organization("Globex").await;
        let role = app.create_role("member", &[]).await;
        let ada = app.create_user("ada@example.com", role, Some(acme)).await;
        let grace = app.create_user("grace@example.com", role, Some(acme)).await;
        let linus = app
            .create_user("linus@example.com", role, Some(globex))
            .await;
        let alan = app.create_user("alan@example.com", role, None).await;
        let apollo = create_project(app, "Apollo", acme).await;
        Self {
            acme,
            globex,
            role,
            ada,
            ada_key: app.create_key(ada).await,
            grace,
            grace_key: app.create_key(grace).await,
            linus,
            alan,
            apollo,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Create

#[tokio::test]
async fn creating_a_project_answers_201_with_the_whole_project_and_its_location() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let before = unix_now();
    let answer = app
        .post(
            PROJECTS,
            json!({
                "name": "  Apollo ",
                "organization": acme,
                "budget": 12.5,
                "limits": [
                    {"router_id": 1, "type": "rpm", "value": 10},
                    {"router": 2, "type": "tpd", "value": null},
                ],
            }),
        )
        .await;
    let after = unix_now();
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let project = &answer.body;
    assert_project(project, "Apollo", acme, 0);
    assert_eq!(project["budget"], json!(12.5));
    assert_eq!(
        limits_of(project),
        limit_set(&[limit(1, "rpm", Some(10)), limit(2, "tpd", None)])
    );
    let created = project["created"].as_i64().unwrap();
    assert!(
        (before..=after).contains(&created),
        "{created} not in {before}..={after}"
    );
    let id = project["id"].as_i64().unwrap();
    assert_eq!(answer.header("location"), Some(project_path(id).as_str()));

    assert_eq!(&read_project(&app, id).await, project);
    let all = all_projects(&app).await;
    assert_eq!(all["total"], json!(1));
    assert_eq!(&all["data"][0], project);
}

#[tokio::test]
async fn a_project_created_without_budget_or_limits_has_a_null_budget_and_no_limits() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    for (name, extra) in [
        ("absent", json!({})),
        ("null", json!({ "budget": null, "limits": [] })),
    ] {
        let mut body = json!({ "name": name, "organization": acme });
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        let project = create(&app, body).await;
        assert_project(&project, name, acme, 0);
        assert_eq!(project["budget"], Value::Null, "{project}");
        assert_eq!(project["limits"], json!([]), "{project}");
        let read = read_project(&app, project["id"].as_i64().unwrap()).await;
        assert_eq!(read, project);
    }
    let zero = create(
        &app,
        json!({ "name": "zero", "organization": acme, "budget": 0 }),
    )
    .await;
    assert_eq!(zero["budget"], json!(0.0));
}

#[tokio::test]
async fn creating_a_project_in_a_missing_organization_is_404_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    for missing in [acme + 1, 0, i64::MAX] {
        app.post(
            PROJECTS,
            json!({ "name": "Apollo", "organization": missing }),
        )
        .await
        .assert_detail(404, "Organization not found.");
    }
    assert_eq!(all_projects(&app).await["total"], json!(0));
}

#[tokio::test]
async fn a_project_name_is_unique_within_its_organization_only() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let globex = app.create_organization("Globex").await;
    let apollo = create_project(&app, "Apollo", acme).await;
    let before = read_project(&app, apollo).await;
    for name in ["Apollo", "  Apollo  "] {
        app.post(
            PROJECTS,
            json!({ "name": name, "organization": acme, "budget": 5 }),
        )
        .await
        .assert_detail(409, "Project already exists.");
    }
    assert_eq!(all_projects(&app).await["total"], json!(1));
    assert_eq!(read_project(&app, apollo).await, before);

    let other = create(&app, json!({ "name": "Apollo", "organization": globex })).await;
    assert_project(&other, "Apollo", globex, 0);
    assert_ne!(other["id"], json!(apollo));
    assert_eq!(all_projects(&app).await["total"], json!(2));
}

#[tokio::test]
async fn an_invalid_project_body_is_422_with_every_field_and_stores_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let duplicate = json!([
        {"router_id": 1, "type": "rpm", "value": 1},
        {"router": 1, "type": "rpm", "value": 2},
    ]);
    let cases = [
        (
            json!({}),
            vec![
                (json!(["body", "name"]), "missing"),
                (json!(["body", "organization"]), "missing"),
            ],
        ),
        (
            json!({ "name": "", "budget": -1, "limits": duplicate }),
            vec![
                (json!(["body", "name"]), "string_too_short"),
                (json!(["body", "budget"]), "greater_than_equal"),
                (json!(["body", "limits"]), "value_error"),
                (json!(["body", "organization"]), "missing"),
            ],
        ),
        (
            json!({ "name": "   ", "organization": acme, "budget": -0.01 }),
            vec![
                (json!(["body", "name"]), "string_too_short"),
                (json!(["body", "budget"]), "greater_than_equal"),
            ],
        ),
        (
            json!({ "name": "x".repeat(256), "organization": "1" }),
            vec![
                (json!(["body", "name"]), "string_too_long"),
                (json!(["body", "organization"]), "int_type"),
            ],
        ),
        (
            json!({ "name": "a\u{0}b", "organization": acme,
                    "limits": [{"router_id": 1, "type": "rps", "value": 1}] }),
            vec![
                (json!(["body", "name"]), "value_error"),
                (json!(["body", "limits", 0, "type"]), "enum"),
            ],
        ),
        (
            json!({ "name": null, "organization": null, "limits": null }),
            vec![
                (json!(["body", "name"]), "string_type"),
                (json!(["body", "organization"]), "int_type"),
                (json!(["body", "limits"]), "list_type"),
            ],
        ),
    ];
    for (body, expected) in cases {
        let answer = app.post(PROJECTS, body.clone()).await;
        answer.assert_invalid(&expected);
    }
    assert_eq!(all_projects(&app).await["total"], json!(0));
}

// ---------------------------------------------------------------------------------------------
// Authentication and permissions

/// Every project endpoint, with a body where it takes one.
fn every_endpoint(
    project: i64,
    organization: i64,
    user: i64,
) -> Vec<(Method, String, Option<Value>)> {
    vec![
        (
            Method::POST,
            PROJECTS.to_owned(),
            Some(json!({ "name": "Intruders", "organization": organization })),
        ),
        (Method::GET, PROJECTS.to_owned(), None),
        (Method::GET, project_path(project), None),
        (
            Method::PATCH,
            project_path(project),
            Some(json!({ "name": "Hacked", "budget": 1e9 })),
        ),
        (Method::DELETE, project_path(project), None),
        (Method::GET, members_path(project), None),
        (Method::PUT, member_path(project, user), None),
        (Method::DELETE, member_path(project, user), None),
    ]
}

#[tokio::test]
async fn a_key_without_the_admin_permission_gets_403_on_every_project_endpoint_and_changes_nothing()
{
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let (_, key) = app
        .user_with_key(
            "worker@example.com",
            &["create_public_collection", "read_metric", "provide_models"],
        )
        .await;
    let before = all_projects(&app).await;
    let before_members = members(&app, world.apollo).await;
    for (method, path, body) in every_endpoint(world.apollo, world.acme, world.ada) {
        let answer = app.call(method.clone(), &path, Some(&key), body).await;
        answer.assert_detail(403, "Insufficient rights.");
    }
    // Ada's own (unbound) key is not an admin's either.
    for (method, path, body) in every_endpoint(world.apollo, world.acme, world.ada) {
        let answer = app
            .call(method.clone(), &path, Some(&world.ada_key), body)
            .await;
        answer.assert_detail(403, "Insufficient rights.");
    }
    assert_eq!(all_projects(&app).await, before);
    assert_eq!(members(&app, world.apollo).await, before_members);
}

#[tokio::test]
async fn project_endpoints_without_a_valid_key_are_401_and_change_nothing() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let before = all_projects(&app).await;
    let before_members = members(&app, world.apollo).await;
    for (method, path, body) in every_endpoint(world.apollo, world.acme, world.ada) {
        let anonymous = app.call(method.clone(), &path, None, body.clone()).await;
        anonymous.assert_detail(401, "Not authenticated");
        assert_eq!(anonymous.header("www-authenticate"), Some("Bearer"));
        let unknown = app
            .call(method.clone(), &path, Some("sk-not-a-real-key"), body)
            .await;
        unknown.assert_detail(401, "Invalid API key.");
        assert_eq!(unknown.header("www-authenticate"), Some("Bearer"));
    }
    assert_eq!(all_projects(&app).await, before);
    assert_eq!(members(&app, world.apollo).await, before_members);
}

#[tokio::test]
async fn a_user_with_the_admin_permission_manages_projects_with_their_key() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    let (_, key) = app.user_with_key("admin@example.com", &["admin"]).await;
    let created = app
        .call(
            Method::POST,
            PROJECTS,
            Some(&key),
            Some(json!({ "name": "Gemini", "organization": world.acme })),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let id = created.body["id"].as_i64().unwrap();
    let put = app
        .call(Method::PUT, &member_path(id, world.ada), Some(&key), None)
        .await;
    assert_eq!(put.status, StatusCode::NO_CONTENT, "{}", put.text);
    let listed = app
        .call(Method::GET, &members_path(id), Some(&key), None)
        .await;
    assert_eq!(member_ids(&listed.body), [world.ada]);
    let deleted = app
        .call(Method::DELETE, &project_path(id), Some(&key), None)
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.text);
    assert_eq!(ids(&all_projects(&app).await), [world.apollo]);
}

#[tokio::test]
async fn a_method_a_project_resource_does_not_have_is_405() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    for (method, path) in [
        (Method::PUT, PROJECTS.to_owned()),
        (Method::DELETE, PROJECTS.to_owned()),
        (Method::POST, project_path(world.apollo)),
        (Method::PUT, project_path(world.apollo)),
        (Method::POST, members_path(world.apollo)),
        (Method::DELETE, members_path(world.apollo)),
        (Method::GET, member_path(world.apollo, world.ada)),
        (Method::POST, member_path(world.apollo, world.ada)),
    ] {
        let answer = app
            .call(method.clone(), &path, Some(MASTER_KEY), Some(json!({})))
            .await;
        assert_eq!(
            answer.status,
            StatusCode::METHOD_NOT_ALLOWED,
            "{method} {path}: {}",
            answer.text
        );
    }
    assert_eq!(members(&app, world.apollo).await["total"], json!(0));
}

// ---------------------------------------------------------------------------------------------
// List

#[tokio::test]
async fn projects_are_listed_in_the_envelope_and_filtered_by_organization() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let globex = app.create_organization("Globex").await;
    let empty = app.create_organization("Empty").await;
    let apollo = create_project(&app, "Apollo", acme).await;
    let hermes = create_project(&app, "Hermes", globex).await;
    let gemini = create_project(&app, "Gemini", acme).await;

    let all = app.get(PROJECTS).await;
    assert_eq!(all.status, StatusCode::OK, "{}", all.text);
    assert_eq!(all.body["object"], json!("list"));
    assert_eq!(all.body["total"], json!(3));
    assert_eq!(all.body["offset"], json!(0));
    assert_eq!(all.body["limit"], json!(10));
    assert_eq!(ids(&all.body), [apollo, hermes, gemini]);
    for item in all.body["data"].as_array().unwrap() {
        let organization = item["organization"].as_i64().unwrap();
        assert_project(item, item["name"].as_str().unwrap(), organization, 0);
    }

    for (organization, expected) in [
        (acme, vec![apollo, gemini]),
        (globex, vec![hermes]),
        (empty, vec![]),
        (empty + 100, vec![]),
    ] {
        let answer = app
            .get(&format!("{PROJECTS}?organization={organization}"))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_eq!(ids(&answer.body), expected, "organization={organization}");
        assert_eq!(answer.body["total"], json!(expected.len()));
    }

    let page = app
        .get(&format!("{PROJECTS}?offset=1&limit=1&order_direction=desc"))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(ids(&page.body), [hermes]);
    assert_eq!(page.body["total"], json!(3));
    assert_eq!(page.body["offset"], json!(1));
    assert_eq!(page.body["limit"], json!(1));

    let past_the_end = app
        .get(&format!("{PROJECTS}?organization={acme}&offset=5"))
        .await;
    assert_eq!(ids(&past_the_end.body), Vec::<i64>::new());
    assert_eq!(past_the_end.body["total"], json!(2));
}

#[tokio::test]
async fn listing_projects_orders_by_each_allowed_field_in_both_directions() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let globex = app.create_organization("Globex").await;
    let names = [
        "delta", "alpha", "golf", "charlie", "echo", "bravo", "foxtrot",
    ];
    let mut created = Vec::new();
    for (index, name) in names.into_iter().enumerate() {
        let organization = if index % 2 == 0 { acme } else { globex };
        created.push(create_project(&app, name, organization).await);
    }
    // Renaming the first two makes them the most recently updated, in this order, to the
    // second: within one second, `updated` sorts by id.
    for (id, name) in [(created[1], "alpha2"), (created[0], "delta2")] {
        let answer = app.patch(&project_path(id), json!({ "name": name })).await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    }
    // By name: alpha2, bravo, charlie, delta2, echo, foxtrot, golf.
    let by_name = [1, 5, 3, 0, 4, 6, 2].map(|i| created[i]).to_vec();
    let all = app.get(&format!("{PROJECTS}?limit=100")).await;
    let by_updated = support::ids_by_shown(&all.body, "updated");
    for (order_by, ascending) in [
        ("id", &created),
        ("name", &by_name),
        ("created", &created),
        ("updated", &by_updated),
    ] {
        let asc = app
            .get(&format!("{PROJECTS}?order_by={order_by}&limit=100"))
            .await;
        assert_eq!(asc.status, StatusCode::OK, "{}", asc.text);
        assert_eq!(&ids(&asc.body), ascending, "order_by={order_by} asc");
        let explicit = app
            .get(&format!(
                "{PROJECTS}?order_by={order_by}&order_direction=asc&limit=100"
            ))
            .await;
        assert_eq!(&ids(&explicit.body), ascending, "order_by={order_by} asc");
        let desc = app
            .get(&format!(
                "{PROJECTS}?order_by={order_by}&order_direction=desc&limit=100"
            ))
            .await;
        let mut descending = ascending.clone();
        descending.reverse();
        assert_eq!(ids(&desc.body), descending, "order_by={order_by} desc");
    }
    let mut descending = created.clone();
    descending.reverse();
    let by_default_field = app.get(&format!("{PROJECTS}?order_direction=desc")).await;
    assert_eq!(ids(&by_default_field.body), descending);

    // Ordered within a filter too.
    let acme_by_name = app
        .get(&format!(
            "{PROJECTS}?organization={acme}&order_by=name&order_direction=desc"
        ))
        .await;
    // Acme holds delta2, golf, echo, foxtrot.
    assert_eq!(
        ids(&acme_by_name.body),
        [2, 6, 4, 0].map(|i| created[i]).to_vec()
    );
}

#[tokio::test]
async fn listing_projects_with_a_bad_query_parameter_is_422_located_in_the_query() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    create_project(&app, "Apollo", acme).await;
    for (query, field, kind) in [
        ("order_by=members", "order_by", "enum"),
        ("order_by=organization", "order_by", "enum"),
        ("order_by=", "order_by", "enum"),
        ("order_direction=up", "order_direction", "enum"),
        ("organization=acme", "organization", "int_parsing"),
        (
            "organization=99999999999999999999",
            "organization",
            "int_parsing",
        ),
        ("offset=-1", "offset", "greater_than_equal"),
        ("limit=0", "limit", "greater_than_equal"),
        ("limit=101", "limit", "less_than_equal"),
    ] {
        let answer = app.get(&format!("{PROJECTS}?{query}")).await;
        answer.assert_invalid(&[(json!(["query", field]), kind)]);
    }
    app.get(&format!(
        "{PROJECTS}?organization=x&offset=x&limit=0&order_by=color&order_direction=up"
    ))
    .await
    .assert_invalid(&[
        (json!(["query", "organization"]), "int_parsing"),
        (json!(["query", "offset"]), "int_parsing"),
        (json!(["query", "limit"]), "greater_than_equal"),
        (json!(["query", "order_by"]), "enum"),
        (json!(["query", "order_direction"]), "enum"),
    ]);
}

// ---------------------------------------------------------------------------------------------
// Get

#[tokio::test]
async fn getting_a_project_answers_it_with_its_member_count() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    add_member(&app, world.apollo, world.grace).await;
    let project = read_project(&app, world.apollo).await;
    assert_project(&project, "Apollo", world.acme, 2);
    assert_eq!(project["id"], json!(world.apollo));
    assert_eq!(project["budget"], Value::Null);
    assert_eq!(project["limits"], json!([]));
}

#[tokio::test]
async fn getting_a_missing_project_is_404_project_not_found() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let id = create_project(&app, "Apollo", acme).await;
    for missing in [id + 1, 0, i64::MAX] {
        app.get(&project_path(missing))
            .await
            .assert_detail(404, "Project not found.");
    }
}

#[tokio::test]
async fn a_project_or_user_id_that_is_not_a_64_bit_integer_is_422_located_in_the_path() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let before = read_project(&app, world.apollo).await;
    let project_loc = json!(["path", "project"]);
    let user_loc = json!(["path", "user"]);
    for bad in [
        "abc",
        "1.5",
        "1e3",
        "9223372036854775808",
        "99999999999999999999",
    ] {
        let path = format!("{PROJECTS}/{bad}");
        app.get(&path)
            .await
            .assert_invalid(&[(project_loc.clone(), "int_parsing")]);
        app.patch(&path, json!({ "name": "Renamed" }))
            .await
            .assert_invalid(&[(project_loc.clone(), "int_parsing")]);
        app.delete(&path)
            .await
            .assert_invalid(&[(project_loc.clone(), "int_parsing")]);
        app.get(&format!("{path}/members"))
            .await
            .assert_invalid(&[(project_loc.clone(), "int_parsing")]);
        for method in [Method::PUT, Method::DELETE] {
            let bad_project = format!("{path}/members/{}", world.ada);
            app.call(method.clone(), &bad_project, Some(MASTER_KEY), None)
                .await
                .assert_invalid(&[(project_loc.clone(), "int_parsing")]);
            let bad_user = format!("{PROJECTS}/{}/members/{bad}", world.apollo);
            app.call(method.clone(), &bad_user, Some(MASTER_KEY), None)
                .await
                .assert_invalid(&[(user_loc.clone(), "int_parsing")]);
            let both = format!("{path}/members/{bad}");
            app.call(method, &both, Some(MASTER_KEY), None)
                .await
                .assert_invalid(&[
                    (project_loc.clone(), "int_parsing"),
                    (user_loc.clone(), "int_parsing"),
                ]);
        }
    }
    assert_eq!(read_project(&app, world.apollo).await, before);
    assert_eq!(member_ids(&members(&app, world.apollo).await), [world.ada]);
}

// ---------------------------------------------------------------------------------------------
// Update

#[tokio::test]
async fn patching_a_project_answers_204_and_changes_its_name_budget_and_limits() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let project = create(
        &app,
        json!({
            "name": "Apollo",
            "organization": acme,
            "budget": 10,
            "limits": [
                {"router_id": 1, "type": "rpm", "value": 10},
                {"router_id": 2, "type": "tpd", "value": 100},
            ],
        }),
    )
    .await;
    let id = project["id"].as_i64().unwrap();
    let answer = app
        .patch(
            &project_path(id),
            json!({
                "name": " Artemis ",
                "budget": 2.25,
                "limits": [{"router": 3, "type": "tpm", "value": 7}],
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(answer.text, "");

    let after = read_project(&app, id).await;
    assert_project(&after, "Artemis", acme, 0);
    assert_eq!(after["budget"], json!(2.25));
    // The limits were replaced, not merged.
    assert_eq!(limits_of(&after), limit_set(&[limit(3, "tpm", Some(7))]));
    assert_eq!(after["created"], project["created"]);
    assert!(after["updated"].as_i64() >= project["updated"].as_i64());

    // The old name is free again, the new one taken.
    create_project(&app, "Apollo", acme).await;
    app.post(PROJECTS, json!({ "name": "Artemis", "organization": acme }))
        .await
        .assert_detail(409, "Project already exists.");

    // An empty list clears the limits.
    let answer = app.patch(&project_path(id), json!({ "limits": [] })).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(read_project(&app, id).await["limits"], json!([]));
}

#[tokio::test]
async fn patching_a_project_with_prefer_return_representation_answers_200_with_it() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let answer = app
        .patch_returning(
            &project_path(world.apollo),
            json!({ "budget": 3.5, "limits": [{"router_id": 4, "type": "rpd", "value": 40}] }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    assert_project(&answer.body, "Apollo", world.acme, 1);
    assert_eq!(answer.body["id"], json!(world.apollo));
    assert_eq!(answer.body["budget"], json!(3.5));
    assert_eq!(
        limits_of(&answer.body),
        limit_set(&[limit(4, "rpd", Some(40))])
    );
    assert_eq!(read_project(&app, world.apollo).await, answer.body);
}

#[tokio::test]
async fn a_null_budget_clears_it_and_absent_fields_stay_as_they_were() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let limits = json!([{"router_id": 1, "type": "rpm", "value": 10}]);
    let project = create(
        &app,
        json!({ "name": "Apollo", "organization": acme, "budget": 10, "limits": limits }),
    )
    .await;
    let id = project["id"].as_i64().unwrap();

    let answer = app.patch(&project_path(id), json!({})).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let same = read_project(&app, id).await;
    for field in [
        "name",
        "organization",
        "budget",
        "limits",
        "members",
        "created",
    ] {
        assert_eq!(same[field], project[field], "{field}");
    }

    let answer = app
        .patch(&project_path(id), json!({ "budget": null }))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let cleared = read_project(&app, id).await;
    assert_eq!(cleared["budget"], Value::Null);
    assert_eq!(cleared["name"], json!("Apollo"));
    assert_eq!(limits_of(&cleared), limit_set(&[limit(1, "rpm", Some(10))]));
}

#[tokio::test]
async fn organization_in_a_project_patch_is_422_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let before = read_project(&app, world.apollo).await;
    let loc = json!(["body", "organization"]);
    for body in [
        json!({ "organization": world.globex }),
        json!({ "organization": world.acme }),
        json!({ "organization": null }),
        json!({ "organization": world.globex, "name": "Moved", "budget": 1 }),
    ] {
        app.patch(&project_path(world.apollo), body.clone())
            .await
            .assert_invalid(&[(loc.clone(), "extra_forbidden")]);
        app.patch_returning(&project_path(world.apollo), body)
            .await
            .assert_invalid(&[(loc.clone(), "extra_forbidden")]);
    }
    // Reported together with the other invalid fields.
    app.patch(
        &project_path(world.apollo),
        json!({ "organization": world.globex, "name": "" }),
    )
    .await
    .assert_invalid(&[
        (loc.clone(), "extra_forbidden"),
        (json!(["body", "name"]), "string_too_short"),
    ]);
    assert_eq!(read_project(&app, world.apollo).await, before);
    assert_eq!(member_ids(&members(&app, world.apollo).await), [world.ada]);
    let globex_projects = app
        .get(&format!("{PROJECTS}?organization={}", world.globex))
        .await;
    assert_eq!(globex_projects.body["total"], json!(0));
}

#[tokio::test]
async fn an_invalid_project_patch_is_422_with_every_field_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let project = create(
        &app,
        json!({ "name": "Apollo", "organization": acme, "budget": 10,
                "limits": [{"router_id": 1, "type": "rpm", "value": 10}] }),
    )
    .await;
    let id = project["id"].as_i64().unwrap();
    for (body, expected) in [
        (
            json!({ "name": null }),
            vec![(json!(["body", "name"]), "string_type")],
        ),
        (
            json!({ "name": "", "budget": -1 }),
            vec![
                (json!(["body", "name"]), "string_too_short"),
                (json!(["body", "budget"]), "greater_than_equal"),
            ],
        ),
        (
            json!({ "name": "x".repeat(256), "limits": null }),
            vec![
                (json!(["body", "name"]), "string_too_long"),
                (json!(["body", "limits"]), "list_type"),
            ],
        ),
        (
            json!({ "budget": "ten", "limits": [
                {"router_id": 2, "type": "tpm", "value": 1},
                {"router": 2, "type": "tpm", "value": 2},
            ] }),
            vec![
                (json!(["body", "budget"]), "float_type"),
                (json!(["body", "limits"]), "value_error"),
            ],
        ),
        (
            json!({ "limits": [{"router_id": 2, "type": "tpm", "value": -5}] }),
            vec![(json!(["body", "limits", 0, "value"]), "greater_than_equal")],
        ),
    ] {
        app.patch(&project_path(id), body.clone())
            .await
            .assert_invalid(&expected);
        assert_eq!(read_project(&app, id).await, project, "after {body}");
    }
}

#[tokio::test]
async fn renaming_a_project_to_a_name_taken_in_its_organization_is_409_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let globex = app.create_organization("Globex").await;
    let apollo = create_project(&app, "Apollo", acme).await;
    let gemini = create_project(&app, "Gemini", acme).await;
    create_project(&app, "Hermes", globex).await;
    let before = read_project(&app, gemini).await;
    for name in ["Apollo", " Apollo "] {
        app.patch(&project_path(gemini), json!({ "name": name, "budget": 1 }))
            .await
            .assert_detail(409, "Project already exists.");
    }
    assert_eq!(read_project(&app, gemini).await, before);
    assert_eq!(read_project(&app, apollo).await["name"], json!("Apollo"));

    // A name taken in another organization only is free here, and its own name is no conflict.
    for name in ["Hermes", "Hermes"] {
        let answer = app
            .patch(&project_path(gemini), json!({ "name": name }))
            .await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    }
    assert_eq!(read_project(&app, gemini).await["name"], json!("Hermes"));
}

#[tokio::test]
async fn patching_a_missing_project_is_404_and_creates_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let id = create_project(&app, "Apollo", acme).await;
    let before = all_projects(&app).await;
    for missing in [id + 1, 0, i64::MAX] {
        app.patch(&project_path(missing), json!({ "name": "Ghost" }))
            .await
            .assert_detail(404, "Project not found.");
        app.patch_returning(&project_path(missing), json!({ "budget": null }))
            .await
            .assert_detail(404, "Project not found.");
    }
    assert_eq!(all_projects(&app).await, before);
}

// ---------------------------------------------------------------------------------------------
// Delete

#[tokio::test]
async fn deleting_a_project_answers_204_and_it_is_gone() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    let gemini = create_project(&app, "Gemini", world.acme).await;
    let answer = app.delete(&project_path(world.apollo)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(answer.text, "");

    app.get(&project_path(world.apollo))
        .await
        .assert_detail(404, "Project not found.");
    app.delete(&project_path(world.apollo))
        .await
        .assert_detail(404, "Project not found.");
    app.patch(&project_path(world.apollo), json!({ "name": "Back" }))
        .await
        .assert_detail(404, "Project not found.");
    app.get(&members_path(world.apollo))
        .await
        .assert_detail(404, "Project not found.");
    put_member(&app, world.apollo, world.ada)
        .await
        .assert_detail(404, "Project not found.");
    assert_eq!(ids(&all_projects(&app).await), [gemini]);
    // Its name is free again.
    create_project(&app, "Apollo", world.acme).await;
}

#[tokio::test]
async fn deleting_a_missing_project_is_404_and_deletes_nothing() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let id = create_project(&app, "Apollo", acme).await;
    for missing in [id + 1, 0, i64::MAX] {
        app.delete(&project_path(missing))
            .await
            .assert_detail(404, "Project not found.");
    }
    assert_eq!(ids(&all_projects(&app).await), [id]);
}

#[tokio::test]
async fn deleting_a_project_ends_its_memberships_and_its_keys_stop_working_at_once() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    let gemini = create_project(&app, "Gemini", world.acme).await;
    for project in [world.apollo, gemini] {
        add_member(&app, project, world.ada).await;
    }
    add_member(&app, world.apollo, world.grace).await;
    let (_, apollo_key) = bound_key(&app, &world.ada_key, world.apollo).await;
    let (_, grace_apollo_key) = bound_key(&app, &world.grace_key, world.apollo).await;
    let (_, gemini_key) = bound_key(&app, &world.ada_key, gemini).await;
    assert_key_works(&app, &apollo_key).await;
    assert_key_works(&app, &grace_apollo_key).await;

    let answer = app.delete(&project_path(world.apollo)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);

    assert_key_dead(&app, &apollo_key).await;
    assert_key_dead(&app, &grace_apollo_key).await;
    assert_key_works(&app, &gemini_key).await;
    assert_key_works(&app, &world.ada_key).await;
    assert_key_works(&app, &world.grace_key).await;

    // The memberships went: no key can be bound to it any more, the other project keeps its own.
    create_own(
        &app,
        &world.ada_key,
        json!({ "name": "late", "project": world.apollo }),
    )
    .await
    .assert_detail(404, "Project not found.");
    assert_eq!(member_ids(&members(&app, gemini).await), [world.ada]);
    assert_eq!(read_project(&app, gemini).await["members"], json!(1));
    // The users themselves stay.
    for user in [world.ada, world.grace] {
        assert_eq!(app.get(&user_path(user)).await.status, StatusCode::OK);
    }
}

// ---------------------------------------------------------------------------------------------
// Members

#[tokio::test]
async fn members_are_listed_with_their_project_user_and_joining_time() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    let empty = members(&app, world.apollo).await;
    assert_eq!(empty["object"], json!("list"));
    assert_eq!(empty["data"], json!([]));
    assert_eq!(empty["total"], json!(0));

    let before = unix_now();
    add_member(&app, world.apollo, world.grace).await;
    add_member(&app, world.apollo, world.ada).await;
    let after = unix_now();

    let answer = app.get(&members_path(world.apollo)).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    let list = &answer.body;
    assert_eq!(list["object"], json!("list"));
    assert_eq!(list["total"], json!(2));
    assert_eq!(list["offset"], json!(0));
    assert_eq!(list["limit"], json!(10));
    let mut users = member_ids(list);
    users.sort_unstable();
    let mut expected = vec![world.ada, world.grace];
    expected.sort_unstable();
    assert_eq!(users, expected);
    for item in list["data"].as_array().unwrap() {
        let mut keys: Vec<&str> = item
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        keys.sort_unstable();
        assert_eq!(keys, ["created", "object", "project", "user"], "{item}");
        assert_eq!(item["object"], json!("projectMember"));
        assert_eq!(item["project"], json!(world.apollo));
        let created = item["created"].as_i64().expect("integer created");
        assert!((before..=after).contains(&created), "{item}");
    }

    let page = app
        .get(&format!("{}?offset=1&limit=1", members_path(world.apollo)))
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.text);
    assert_eq!(page.body["total"], json!(2));
    assert_eq!(page.body["offset"], json!(1));
    assert_eq!(page.body["limit"], json!(1));
    assert_eq!(page.body["data"].as_array().unwrap().len(), 1);
    assert_eq!(page.body["data"][0], list["data"][1]);

    // Another project's members are its own.
    let gemini = create_project(&app, "Gemini", world.acme).await;
    assert_eq!(members(&app, gemini).await["total"], json!(0));
    assert_eq!(read_project(&app, world.apollo).await["members"], json!(2));
    assert_eq!(read_project(&app, gemini).await["members"], json!(0));
}

#[tokio::test]
async fn listing_the_members_of_a_missing_project_is_404() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    for missing in [world.apollo + 1, 0, i64::MAX] {
        app.get(&members_path(missing))
            .await
            .assert_detail(404, "Project not found.");
    }
}

#[tokio::test]
async fn adding_a_member_twice_is_204_both_times_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    // The date the member joined is the database's: dated back a day, a rewritten `created`
    // would show without waiting for that clock to move.
    app.db.execute(&format!(
        "UPDATE project_members SET created = created - interval '1 day' \
         WHERE project_id = {} AND user_id = {}",
        world.apollo, world.ada
    ));
    let first = members(&app, world.apollo).await;
    assert_eq!(member_ids(&first), [world.ada]);
    let created = first["data"][0]["created"].as_i64().unwrap();
    assert!(created < unix_now() - 86_000, "{first}");
    let project = read_project(&app, world.apollo).await;
    assert_eq!(project["members"], json!(1));

    add_member(&app, world.apollo, world.ada).await;
    let second = members(&app, world.apollo).await;
    assert_eq!(second, first);
    assert_eq!(second["total"], json!(1));
    assert_eq!(second["data"][0]["created"], first["data"][0]["created"]);
    assert_eq!(read_project(&app, world.apollo).await["members"], json!(1));
}

#[tokio::test]
async fn adding_a_member_to_a_missing_project_or_a_missing_user_is_404_and_adds_nothing() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    for missing in [world.apollo + 1, 0, i64::MAX] {
        put_member(&app, missing, world.ada)
            .await
            .assert_detail(404, "Project not found.");
    }
    for missing in [world.alan + 1, 0, i64::MAX] {
        put_member(&app, world.apollo, missing)
            .await
            .assert_detail(404, "User not found.");
    }
    assert_eq!(members(&app, world.apollo).await["total"], json!(0));
    assert_eq!(read_project(&app, world.apollo).await["members"], json!(0));
}

#[tokio::test]
async fn a_user_of_another_organization_or_of_none_cannot_be_a_member_409() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    for user in [world.linus, world.alan] {
        put_member(&app, world.apollo, user)
            .await
            .assert_detail(409, "User is not in the project's organization.");
    }
    assert_eq!(members(&app, world.apollo).await["total"], json!(0));
    assert_eq!(read_project(&app, world.apollo).await["members"], json!(0));

    // Linus may join a project of his own organization.
    let hermes = create_project(&app, "Hermes", world.globex).await;
    add_member(&app, hermes, world.linus).await;
    assert_eq!(member_ids(&members(&app, hermes).await), [world.linus]);
}

#[tokio::test]
async fn removing_a_member_answers_204_and_their_keys_bound_to_the_project_stop_working_at_once() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    let gemini = create_project(&app, "Gemini", world.acme).await;
    for project in [world.apollo, gemini] {
        add_member(&app, project, world.ada).await;
    }
    add_member(&app, world.apollo, world.grace).await;
    let (_, apollo_key) = bound_key(&app, &world.ada_key, world.apollo).await;
    let (_, gemini_key) = bound_key(&app, &world.ada_key, gemini).await;
    let (_, grace_apollo_key) = bound_key(&app, &world.grace_key, world.apollo).await;
    assert_key_works(&app, &apollo_key).await;

    let answer = app.delete(&member_path(world.apollo, world.ada)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(answer.text, "");

    assert_key_dead(&app, &apollo_key).await;
    assert_key_works(&app, &gemini_key).await;
    assert_key_works(&app, &world.ada_key).await;
    assert_key_works(&app, &grace_apollo_key).await;

    assert_eq!(
        member_ids(&members(&app, world.apollo).await),
        [world.grace]
    );
    assert_eq!(read_project(&app, world.apollo).await["members"], json!(1));
    assert_eq!(member_ids(&members(&app, gemini).await), [world.ada]);
    // Ada can no longer bind a key to it.
    create_own(
        &app,
        &world.ada_key,
        json!({ "name": "again", "project": world.apollo }),
    )
    .await
    .assert_detail(404, "Project not found.");
}

#[tokio::test]
async fn removing_a_member_names_the_missing_project_user_or_membership_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let (_, bound) = bound_key(&app, &world.ada_key, world.apollo).await;
    let before = members(&app, world.apollo).await;

    for user in [world.grace, world.linus, world.alan] {
        app.delete(&member_path(world.apollo, user))
            .await
            .assert_detail(404, "Member not found.");
    }
    for missing in [world.alan + 1, 0, i64::MAX] {
        app.delete(&member_path(world.apollo, missing))
            .await
            .assert_detail(404, "User not found.");
    }
    for missing in [world.apollo + 1, 0, i64::MAX] {
        app.delete(&member_path(missing, world.ada))
            .await
            .assert_detail(404, "Project not found.");
    }
    assert_eq!(members(&app, world.apollo).await, before);
    assert_key_works(&app, &bound).await;

    // Removing twice: the second time, Ada is no longer a member.
    let answer = app.delete(&member_path(world.apollo, world.ada)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    app.delete(&member_path(world.apollo, world.ada))
        .await
        .assert_detail(404, "Member not found.");
    assert_eq!(members(&app, world.apollo).await["total"], json!(0));
}

#[tokio::test]
async fn the_members_count_of_a_project_follows_its_members() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    let count = |project: Value| project["members"].clone();
    assert_eq!(count(read_project(&app, world.apollo).await), json!(0));
    add_member(&app, world.apollo, world.ada).await;
    assert_eq!(count(read_project(&app, world.apollo).await), json!(1));
    add_member(&app, world.apollo, world.grace).await;
    assert_eq!(count(read_project(&app, world.apollo).await), json!(2));
    let listed = all_projects(&app).await;
    assert_eq!(listed["data"][0]["members"], json!(2));
    let answer = app.delete(&member_path(world.apollo, world.grace)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(count(read_project(&app, world.apollo).await), json!(1));
    let answer = app.delete(&user_path(world.ada)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(count(read_project(&app, world.apollo).await), json!(0));
    assert_eq!(members(&app, world.apollo).await["total"], json!(0));
}

// ---------------------------------------------------------------------------------------------
// Organizations and user moves

#[tokio::test]
async fn deleting_an_organization_with_projects_is_409_until_its_projects_are_deleted() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let apollo = create_project(&app, "Apollo", acme).await;
    let gemini = create_project(&app, "Gemini", acme).await;
    let organization = format!("/v1/admin/organizations/{acme}");
    let before = app.get(&organization).await.body;
    assert_eq!(before["users"], json!(0));

    app.delete(&organization)
        .await
        .assert_detail(409, "Delete organization with projects is not allowed.");
    assert_eq!(app.get(&organization).await.body, before);
    assert_eq!(ids(&all_projects(&app).await), [apollo, gemini]);

    let answer = app.delete(&project_path(apollo)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    app.delete(&organization)
        .await
        .assert_detail(409, "Delete organization with projects is not allowed.");

    let answer = app.delete(&project_path(gemini)).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let answer = app.delete(&organization).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    app.get(&organization)
        .await
        .assert_detail(404, "Organization not found.");
}

/// Ada, member of Apollo, with a key bound to it; after `move_body` is applied to her account,
/// her membership and that key are gone, her unbound key still works.
async fn assert_a_move_ends_the_membership(move_body: impl FnOnce(&World) -> Value) {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    add_member(&app, world.apollo, world.grace).await;
    let (_, bound) = bound_key(&app, &world.ada_key, world.apollo).await;
    assert_key_works(&app, &bound).await;

    let body = move_body(&world);
    let answer = app.patch(&user_path(world.ada), body.clone()).await;
    assert_eq!(
        answer.status,
        StatusCode::NO_CONTENT,
        "{body}: {}",
        answer.text
    );
    assert_eq!(
        app.get(&user_path(world.ada)).await.body["organization"],
        body["organization"]
    );

    assert_eq!(
        member_ids(&members(&app, world.apollo).await),
        [world.grace],
        "{body}"
    );
    assert_eq!(read_project(&app, world.apollo).await["members"], json!(1));
    assert_key_dead(&app, &bound).await;
    assert_key_works(&app, &world.ada_key).await;
    create_own(
        &app,
        &world.ada_key,
        json!({ "name": "again", "project": world.apollo }),
    )
    .await
    .assert_detail(404, "Project not found.");

    // Moving back does not bring the membership back.
    let answer = app
        .patch(&user_path(world.ada), json!({ "organization": world.acme }))
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(
        member_ids(&members(&app, world.apollo).await),
        [world.grace]
    );
}

#[tokio::test]
async fn moving_a_user_to_another_organization_ends_their_memberships_in_the_old_ones_projects() {
    assert_a_move_ends_the_membership(|world| json!({ "organization": world.globex })).await;
}

#[tokio::test]
async fn taking_a_user_out_of_any_organization_ends_their_memberships() {
    assert_a_move_ends_the_membership(|_| json!({ "organization": null })).await;
}

#[tokio::test]
async fn a_moved_user_may_join_the_projects_of_their_new_organization() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let hermes = create_project(&app, "Hermes", world.globex).await;
    put_member(&app, hermes, world.ada)
        .await
        .assert_detail(409, "User is not in the project's organization.");
    let answer = app
        .patch(
            &user_path(world.ada),
            json!({ "organization": world.globex }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    add_member(&app, hermes, world.ada).await;
    assert_eq!(member_ids(&members(&app, hermes).await), [world.ada]);
    assert_eq!(members(&app, world.apollo).await["total"], json!(0));
    let (_, bound) = bound_key(&app, &world.ada_key, hermes).await;
    assert_eq!(read_info(&app, &bound).await["project"], json!(hermes));
}

#[tokio::test]
async fn setting_a_users_organization_to_the_same_value_keeps_their_memberships() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let (_, bound) = bound_key(&app, &world.ada_key, world.apollo).await;
    let before = members(&app, world.apollo).await;
    for body in [
        json!({ "organization": world.acme }),
        json!({ "name": "Ada King", "budget": 3 }),
        json!({ "role": world.role, "organization": world.acme }),
    ] {
        let answer = app.patch(&user_path(world.ada), body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::NO_CONTENT,
            "{body}: {}",
            answer.text
        );
        assert_eq!(members(&app, world.apollo).await, before, "{body}");
        assert_key_works(&app, &bound).await;
    }
    assert_eq!(read_project(&app, world.apollo).await["members"], json!(1));
}

#[tokio::test]
async fn a_user_patch_that_fails_keeps_their_memberships() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let (_, bound) = bound_key(&app, &world.ada_key, world.apollo).await;
    app.patch(
        &user_path(world.ada),
        json!({ "organization": world.globex + 100 }),
    )
    .await
    .assert_detail(404, "Organization not found.");
    app.patch(
        &user_path(world.ada),
        json!({ "organization": world.globex, "email": "grace@example.com" }),
    )
    .await
    .assert_detail(409, "User already exists.");
    assert_eq!(member_ids(&members(&app, world.apollo).await), [world.ada]);
    assert_key_works(&app, &bound).await;
}

// ---------------------------------------------------------------------------------------------
// Keys bound to a project

#[tokio::test]
async fn a_member_creates_a_key_bound_to_the_project_and_it_shows_everywhere() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let answer = create_own(
        &app,
        &world.ada_key,
        json!({ "name": "apollo key", "project": world.apollo }),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["object"], json!("key"));
    assert_eq!(answer.body["name"], json!("apollo key"));
    assert_eq!(answer.body["project"], json!(world.apollo));
    let id = answer.body["id"].as_i64().unwrap();
    let secret = answer.body["token"].as_str().unwrap().to_owned();
    assert_eq!(answer.body["key"], answer.body["token"]);

    let own = app
        .call(
            Method::GET,
            "/v1/me/keys?limit=100",
            Some(&world.ada_key),
            None,
        )
        .await;
    assert_eq!(own.status, StatusCode::OK, "{}", own.text);
    let projects: Vec<(i64, Value)> = own.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|key| (key["id"].as_i64().unwrap(), key["project"].clone()))
        .collect();
    assert_eq!(projects.len(), 2, "{}", own.text);
    for (key, project) in &projects {
        let expected = if *key == id {
            json!(world.apollo)
        } else {
            Value::Null
        };
        assert_eq!(project, &expected, "{}", own.text);
    }
    let one = app
        .call(
            Method::GET,
            &format!("/v1/me/keys/{id}"),
            Some(&secret),
            None,
        )
        .await;
    assert_eq!(one.status, StatusCode::OK, "{}", one.text);
    assert_eq!(one.body["project"], json!(world.apollo));

    let tokens = all_tokens(&app).await;
    for token in tokens["data"].as_array().unwrap() {
        let expected = if token["id"] == json!(id) {
            json!(world.apollo)
        } else {
            Value::Null
        };
        assert_eq!(token["project"], expected, "{token}");
    }
    let token = app.get(&format!("/v1/admin/tokens/{id}")).await;
    assert_eq!(token.status, StatusCode::OK, "{}", token.text);
    assert_eq!(token.body["object"], json!("token"));
    assert_eq!(token.body["user"], json!(world.ada));
    assert_eq!(token.body["project"], json!(world.apollo));

    // The key works, in its project.
    assert_eq!(
        read_info(&app, &secret).await["project"],
        json!(world.apollo)
    );
}

#[tokio::test]
async fn an_own_key_without_a_project_or_with_a_null_one_is_unbound() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    for body in [
        json!({ "name": "plain" }),
        json!({ "name": "null", "project": null }),
    ] {
        let answer = create_own(&app, &world.ada_key, body.clone()).await;
        assert_eq!(
            answer.status,
            StatusCode::CREATED,
            "{body}: {}",
            answer.text
        );
        assert_eq!(answer.body["project"], Value::Null, "{body}");
        let secret = answer.body["token"].as_str().unwrap();
        assert_eq!(read_info(&app, secret).await["project"], Value::Null);
    }
}

#[tokio::test]
async fn a_key_for_a_project_one_is_not_a_member_of_is_404_project_not_found_and_no_key_is_created()
{
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.grace).await;
    let hermes = create_project(&app, "Hermes", world.globex).await;
    let before = all_tokens(&app).await;
    // Ada is in Acme but not in Apollo; Hermes is Globex's; the others do not exist.
    for project in [world.apollo, hermes, hermes + 1, 0, i64::MAX] {
        create_own(
            &app,
            &world.ada_key,
            json!({ "name": "sneaky", "project": project }),
        )
        .await
        .assert_detail(404, "Project not found.");
    }
    assert_eq!(all_tokens(&app).await, before);
}

#[tokio::test]
async fn an_own_key_with_a_project_that_is_not_an_id_is_422() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let before = all_tokens(&app).await;
    create_own(
        &app,
        &world.ada_key,
        json!({ "name": "", "project": "apollo" }),
    )
    .await
    .assert_invalid(&[
        (json!(["body", "name"]), "string_too_short"),
        (json!(["body", "project"]), "int_type"),
    ]);
    create_own(&app, &world.ada_key, json!({ "name": "x", "project": 1.5 }))
        .await
        .assert_invalid(&[(json!(["body", "project"]), "int_from_float")]);
    assert_eq!(all_tokens(&app).await, before);
}

#[tokio::test]
async fn an_admin_creates_a_token_bound_to_a_project_for_a_member_only() {
    let app = TestApp::spawn().await;
    let world = World::new(&app).await;
    add_member(&app, world.apollo, world.ada).await;
    let answer = app
        .post(
            "/v1/admin/tokens",
            json!({ "name": "bound", "user": world.ada, "project": world.apollo }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    assert_eq!(answer.body["object"], json!("token"));
    assert_eq!(answer.body["user"], json!(world.ada));
    assert_eq!(answer.body["project"], json!(world.apollo));
    let id = answer.body["id"].as_i64().unwrap();
    let secret = answer.body["token"].as_str().unwrap().to_owned();
    assert_eq!(
        app.get(&format!("/v1/admin/tokens/{id}")).await.body["project"],
        json!(world.apollo)
    );
    assert_eq!(
        read_info(&app, &secret).await["project"],
        json!(world.apollo)
    );

    let before = all_tokens(&app).await;
    for (user, project) in [
        (world.grace, world.apollo),
        (world.linus, world.apollo),
        (world.ada, world.apollo + 1),
    ] {
        app.post(
            "/v1/admin/tokens",
            json!({ "name": "bound", "user": user, "project": project }),
        )
        .await
        .assert_detail(404, "Project not found.");
    }
    assert_eq!(all_tokens(&app).await, before);
}

// ---------------------------------------------------------------------------------------------
// GET /v1/me/info with a project-bound key

/// A role with limits, Ada in Acme under it with a budget of 50, and Apollo with a budget of
/// 7.5 and limits of its own; Ada is a member. `(ada, ada's unbound key, apollo)`.
async fn limited_world(app: &TestApp) -> (i64, String, i64) {
    let acme = app.create_organization("Acme").await;
    let role = app
        .post(
            "/v1/admin/roles",
            json!({
                "name": "limited",
                "permissions": ["read_metric"],
                "limits": [
                    {"router_id": 1, "type": "rpm", "value": 100},
                    {"router_id": 1, "type": "tpm", "value": null},
                    {"router_id": 2, "type": "rpd", "value": 3},
                    {"router_id": 3, "type": "tpd", "value": 1000},
                ],
            }),
        )
        .await;
    assert_eq!(role.status, StatusCode::CREATED, "{}", role.text);
    let user = app
        .post(
            "/v1/admin/users",
            json!({
                "email": "ada@example.com",
                "password": PASSWORD,
                "role": role.body["id"],
                "organization": acme,
                "budget": 50,
            }),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.text);
    let ada = user.body["id"].as_i64().unwrap();
    let project = create(
        app,
        json!({
            "name": "Apollo",
            "organization": acme,
            "budget": 7.5,
            "limits": [
                {"router_id": 1, "type": "rpm", "value": 10},
                {"router_id": 2, "type": "tpd", "value": 5},
                {"router_id": 2, "type": "rpd", "value": 30},
                {"router_id": 3, "type": "tpd", "value": null},
            ],
        }),
    )
    .await;
    let apollo = project["id"].as_i64().unwrap();
    add_member(app, apollo, ada).await;
    (ada, app.create_key(ada).await, apollo)
}

/// The role's limits of `limited_world`.
fn role_limits() -> BTreeSet<String> {
    limit_set(&[
        limit(1, "rpm", Some(100)),
        limit(1, "tpm", None),
        limit(2, "rpd", Some(3)),
        limit(3, "tpd", Some(1000)),
    ])
}

#[tokio::test]
async fn a_project_bound_key_shows_the_project_its_budget_and_the_stricter_limits() {
    let app = TestApp::spawn().await;
    let (ada, unbound, apollo) = limited_world(&app).await;
    let (_, bound) = bound_key(&app, &unbound, apollo).await;

    let inside = read_info(&app, &bound).await;
    assert_eq!(inside["object"], json!("userInfo"));
    assert_eq!(inside["id"], json!(ada));
    assert_eq!(inside["email"], json!("ada@example.com"));
    assert_eq!(inside["project"], json!(apollo));
    assert_eq!(inside["budget"], json!(7.5));
    assert_eq!(inside["permissions"], json!(["read_metric"]));
    assert_eq!(
        limits_of(&inside),
        limit_set(&[
            // Both: the smaller value.
            limit(1, "rpm", Some(10)),
            // The role's only, unlimited.
            limit(1, "tpm", None),
            // The project's only.
            limit(2, "tpd", Some(5)),
            // Both, the role's is smaller.
            limit(2, "rpd", Some(3)),
            // Both, the project's is unlimited: the role's value holds.
            limit(3, "tpd", Some(1000)),
        ])
    );

    let outside = read_info(&app, &unbound).await;
    assert_eq!(outside["project"], Value::Null);
    assert_eq!(outside["budget"], json!(50.0));
    assert_eq!(limits_of(&outside), role_limits());
    // Everything else is the same account.
    for field in [
        "object",
        "id",
        "email",
        "name",
        "organization",
        "permissions",
        "expires",
        "priority",
        "created",
        "updated",
    ] {
        assert_eq!(inside[field], outside[field], "{field}");
    }
}

#[tokio::test]
async fn a_project_without_a_budget_gives_its_keys_no_budget_whatever_the_users() {
    let app = TestApp::spawn().await;
    let (_, unbound, apollo) = limited_world(&app).await;
    let answer = app
        .patch(
            &project_path(apollo),
            json!({ "budget": null, "limits": [] }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let (_, bound) = bound_key(&app, &unbound, apollo).await;
    let inside = read_info(&app, &bound).await;
    assert_eq!(inside["project"], json!(apollo));
    assert_eq!(inside["budget"], Value::Null);
    // No limits of its own: the role's.
    assert_eq!(limits_of(&inside), role_limits());
    assert_eq!(read_info(&app, &unbound).await["budget"], json!(50.0));
}

#[tokio::test]
async fn a_change_of_the_projects_budget_or_limits_shows_at_once_in_me_info() {
    let app = TestApp::spawn().await;
    let (ada, unbound, apollo) = limited_world(&app).await;
    let (_, bound) = bound_key(&app, &unbound, apollo).await;
    assert_eq!(read_info(&app, &bound).await["budget"], json!(7.5));

    let answer = app
        .patch(
            &project_path(apollo),
            json!({
                "budget": 1.25,
                "limits": [
                    {"router_id": 1, "type": "rpm", "value": 1},
                    {"router_id": 4, "type": "tpm", "value": 9},
                ],
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    let inside = read_info(&app, &bound).await;
    assert_eq!(inside["budget"], json!(1.25));
    assert_eq!(
        limits_of(&inside),
        limit_set(&[
            limit(1, "rpm", Some(1)),
            limit(1, "tpm", None),
            limit(2, "rpd", Some(3)),
            limit(3, "tpd", Some(1000)),
            limit(4, "tpm", Some(9)),
        ])
    );

    // The user's budget does not reach a bound key, and the unbound one keeps the role's.
    let answer = app.patch(&user_path(ada), json!({ "budget": 2 })).await;
    assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    assert_eq!(read_info(&app, &bound).await["budget"], json!(1.25));
    let outside = read_info(&app, &unbound).await;
    assert_eq!(outside["budget"], json!(2.0));
    assert_eq!(limits_of(&outside), role_limits());
}
