//! The console's role pages, as a browser without scripts sees them: the list, the form with its
//! permissions and its limits editor (each API sentence in the cell it is about), and deletion
//! after a confirmation.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::TestApp;
use support::console::Browser;

/// The form of a role named `name` with `permissions`, and `limits` as rows (router, type,
/// value) from row 0.
fn role_form(
    name: &str,
    permissions: &[&str],
    limits: &[(&str, &str, &str)],
) -> Vec<(String, String)> {
    let mut form = vec![("name".to_owned(), name.to_owned())];
    form.extend(
        permissions
            .iter()
            .map(|permission| ("permissions".to_owned(), (*permission).to_owned())),
    );
    for (row, (router, kind, value)) in limits.iter().enumerate() {
        form.push((format!("limits.{row}.router_id"), (*router).to_owned()));
        form.push((format!("limits.{row}.type"), (*kind).to_owned()));
        form.push((format!("limits.{row}.value"), (*value).to_owned()));
    }
    form
}

fn pairs(form: &[(String, String)]) -> Vec<(&str, &str)> {
    form.iter()
        .map(|(name, value)| (name.as_str(), value.as_str()))
        .collect()
}

async fn admin(app: &TestApp) -> Browser {
    let mut browser = Browser::new(app);
    browser.sign_in_as_master().await;
    browser
}

/// The id of the role named `name`, through the API.
async fn role_id(app: &TestApp, name: &str) -> i64 {
    let roles = app.get("/v1/admin/roles?limit=100").await;
    roles.body["data"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|role| role["name"] == name)
        .and_then(|role| role["id"].as_i64())
        .unwrap_or_else(|| panic!("no role {name}: {}", roles.text))
}

#[tokio::test]
async fn the_role_list_shows_permissions_and_users_and_sorts_as_the_api_does() {
    let app = TestApp::spawn().await;
    let readers = app.create_role("readers", &["read_metric"]).await;
    app.create_role("admins", &["admin", "provide_models"])
        .await;
    app.create_user("ada@example.com", readers, None).await;
    let mut browser = admin(&app).await;

    let list = browser
        .get("/console/admin/roles?order_by=name&order_direction=asc")
        .await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.heading().as_deref(), Some("Roles"));
    assert_eq!(list.text("table caption").as_deref(), Some("Roles"));
    assert_eq!(
        list.texts("th[scope=col]"),
        ["Id", "Name ▲", "Permissions", "Users", "Created", ""]
    );
    assert_eq!(
        list.attribute("th[aria-sort]", "aria-sort").as_deref(),
        Some("ascending")
    );
    let names = list.texts("tbody td:nth-child(2)");
    let (admins, readers_row) = (
        names.iter().position(|name| name == "admins").unwrap(),
        names.iter().position(|name| name == "readers").unwrap(),
    );
    assert!(admins < readers_row, "{names:?}");
    let row = format!("tbody tr:nth-child({})", readers_row + 1);
    assert_eq!(
        list.texts(&format!("{row} .tag")),
        ["read_metric"],
        "the permissions of readers"
    );
    assert_eq!(
        list.text(&format!("{row} td:nth-child(4) a")).as_deref(),
        Some("1")
    );
    assert_eq!(
        list.attribute("a[href='/console/admin/roles/new']", "class")
            .as_deref(),
        Some("button")
    );
    let invalid = browser.get("/console/admin/roles?order_by=email").await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_new_role_form_has_a_checkbox_per_permission_and_a_limits_editor() {
    let app = TestApp::spawn().await;
    let mut browser = admin(&app).await;
    let page = browser.get("/console/admin/roles/new").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.heading().as_deref(), Some("New role"));
    assert_eq!(page.text("fieldset legend").as_deref(), Some("Permissions"));
    assert_eq!(
        page.texts("fieldset label"),
        [
            "admin",
            "create_public_collection",
            "read_metric",
            "provide_models",
            "gateway"
        ]
    );
    assert_eq!(
        page.attribute("label[for=permissions-gateway]", "for")
            .as_deref(),
        Some("permissions-gateway")
    );
    assert_eq!(page.text("#limits caption").as_deref(), Some("Limits"));
    // No limit yet: one empty row shown, two more for the "Add a limit" button.
    assert_eq!(page.texts("#limits tbody tr").len(), 3);
    assert_eq!(page.texts("#limits tbody tr[hidden]").len(), 2);
    assert_eq!(
        page.texts("#limits-0-type option"),
        ["tpm", "tpd", "rpm", "rpd"]
    );
    for id in ["limits-0-router_id", "limits-0-type", "limits-0-value"] {
        assert!(
            page.text(&format!("label[for={id}]")).is_some(),
            "{id} has a label"
        );
    }
    assert_eq!(
        page.text("button[data-add-row=limits]").as_deref(),
        Some("Add a limit")
    );
    assert_eq!(
        page.text("main form button[type=submit]").as_deref(),
        Some("Create role")
    );
}

#[tokio::test]
async fn a_role_is_created_with_its_permissions_and_limits_and_rows_without_a_router_are_ignored() {
    let app = TestApp::spawn().await;
    let mut browser = admin(&app).await;
    browser.get("/console/admin/roles/new").await;
    let form = role_form(
        " Readers ",
        &["read_metric", "gateway"],
        &[("", "tpm", "5"), ("3", "tpd", "1000"), ("2", "rpm", "")],
    );
    let created = browser
        .post("/console/admin/roles/new", &pairs(&form))
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let list = browser.follow(&created).await;
    assert_eq!(list.flash().as_deref(), Some("Role “Readers” created."));

    let id = role_id(&app, "Readers").await;
    let role = app.get(&format!("/v1/admin/roles/{id}")).await;
    assert_eq!(role.body["permissions"], json!(["read_metric", "gateway"]));
    assert_eq!(
        role.body["limits"],
        json!([
            {"router_id": 2, "router": 2, "type": "rpm", "value": null},
            {"router_id": 3, "router": 3, "type": "tpd", "value": 1000},
        ])
    );

    // The role's page shows them, then one empty row and two hidden ones.
    let page = browser.get(&format!("/console/admin/roles/{id}")).await;
    assert_eq!(page.heading().as_deref(), Some("Role “Readers”"));
    assert_eq!(
        page.attribute("#permissions-read_metric", "checked")
            .as_deref(),
        Some("")
    );
    assert_eq!(page.attribute("#permissions-admin", "checked"), None);
    assert_eq!(
        page.attribute("#limits-0-router_id", "value").as_deref(),
        Some("2")
    );
    assert_eq!(
        page.attribute("#limits-0-type option[selected]", "value")
            .as_deref(),
        Some("rpm")
    );
    assert_eq!(
        page.attribute("#limits-0-value", "value").as_deref(),
        Some("")
    );
    assert_eq!(
        page.attribute("#limits-1-value", "value").as_deref(),
        Some("1000")
    );
    assert_eq!(page.texts("#limits tbody tr").len(), 5);
    assert_eq!(page.texts("#limits tbody tr[hidden]").len(), 2);
}

#[tokio::test]
async fn a_limit_the_api_refuses_is_shown_in_its_own_cell_and_nothing_is_created() {
    let app = TestApp::spawn().await;
    let mut browser = admin(&app).await;
    let roles_before = app.get("/v1/admin/roles").await.body["total"].clone();
    browser.get("/console/admin/roles/new").await;
    // Row 0 has no router and is ignored: the parser's item 0 is the form's row 1.
    let form = role_form(
        "Readers",
        &["read_metric"],
        &[("", "tpm", ""), ("2", "rpm", "-1"), ("3", "tpd", "7")],
    );
    let refused = browser
        .post("/console/admin/roles/new", &pairs(&form))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);

    // The API's own sentence for the same value.
    let api = app
        .post(
            "/v1/admin/roles",
            json!({"name": "x", "limits": [{"router_id": 2, "type": "rpm", "value": -1}]}),
        )
        .await;
    let sentence = api.body["detail"][0]["msg"].as_str().unwrap().to_owned();
    assert_eq!(
        api.body["detail"][0]["loc"],
        json!(["body", "limits", 0, "value"])
    );
    assert_eq!(
        refused.field_error("limits-1-value").as_deref(),
        Some(sentence.as_str())
    );
    assert_eq!(
        refused
            .attribute("#limits-1-value", "aria-invalid")
            .as_deref(),
        Some("true")
    );
    assert_eq!(
        refused
            .attribute("#limits-1-value", "aria-describedby")
            .as_deref(),
        Some("limits-1-value-error")
    );
    assert_eq!(refused.field_error("limits-0-value"), None);
    // The values are kept as typed.
    assert_eq!(
        refused.attribute("#name", "value").as_deref(),
        Some("Readers")
    );
    assert_eq!(
        refused
            .attribute("#permissions-read_metric", "checked")
            .as_deref(),
        Some("")
    );
    assert_eq!(
        refused.attribute("#limits-1-value", "value").as_deref(),
        Some("-1")
    );
    assert_eq!(
        refused.attribute("#limits-2-router_id", "value").as_deref(),
        Some("3")
    );
    assert_eq!(app.get("/v1/admin/roles").await.body["total"], roles_before);

    let duplicate = role_form("Readers", &[], &[("2", "rpm", "1"), ("2", "rpm", "2")]);
    let refused = browser
        .post("/console/admin/roles/new", &pairs(&duplicate))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.field_error("limits").as_deref(),
        Some("Duplicate limit for router_id 2 and type 'rpm'.")
    );
    assert_eq!(refused.alerts(), Vec::<String>::new());

    let unknown_type = role_form("Readers", &[], &[("2", "rpx", "1")]);
    let refused = browser
        .post("/console/admin/roles/new", &pairs(&unknown_type))
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        refused.field_error("limits-0-type").as_deref(),
        Some("Input should be 'tpm', 'tpd', 'rpm' or 'rpd'.")
    );
    assert_eq!(app.get("/v1/admin/roles").await.body["total"], roles_before);
}

#[tokio::test]
async fn a_taken_or_empty_name_is_shown_next_to_the_name() {
    let app = TestApp::spawn().await;
    app.create_role("readers", &[]).await;
    let mut browser = admin(&app).await;
    browser.get("/console/admin/roles/new").await;
    let taken = browser
        .post(
            "/console/admin/roles/new",
            &pairs(&role_form("readers", &["admin"], &[])),
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        taken.field_error("name").as_deref(),
        Some("Role already exists.")
    );
    assert_eq!(
        taken.attribute("#permissions-admin", "checked").as_deref(),
        Some("")
    );
    let empty = browser
        .post(
            "/console/admin/roles/new",
            &pairs(&role_form("  ", &[], &[])),
        )
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.field_error("name").is_some(), "{}", empty.html);
    let unknown = browser
        .post(
            "/console/admin/roles/new",
            &pairs(&role_form("writers", &["root"], &[])),
        )
        .await;
    assert_eq!(unknown.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        unknown
            .field_error("permissions")
            .is_some_and(|sentence| sentence.starts_with("Input should be 'admin'")),
        "{}",
        unknown.html
    );
}

#[tokio::test]
async fn a_role_is_renamed_and_its_permissions_and_limits_replaced() {
    let app = TestApp::spawn().await;
    let id = app
        .create_role_with_limits(
            "readers",
            &["read_metric", "admin"],
            json!([
                {"router_id": 1, "type": "tpm", "value": 100},
                {"router_id": 2, "type": "rpd", "value": 5},
            ]),
        )
        .await;
    let mut browser = admin(&app).await;
    let path = format!("/console/admin/roles/{id}");
    browser.get(&path).await;
    // Row 0 is cleared (removed), row 1 changed, row 2 added.
    let form = role_form(
        "writers",
        &["read_metric"],
        &[("", "tpm", "100"), ("2", "rpd", ""), ("4", "tpd", "9")],
    );
    let saved = browser.post(&path, &pairs(&form)).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location(), Some("/console/admin/roles"));
    assert_eq!(
        browser.follow(&saved).await.flash().as_deref(),
        Some("Role saved.")
    );
    let role = app.get(&format!("/v1/admin/roles/{id}")).await;
    assert_eq!(role.body["name"], "writers");
    assert_eq!(role.body["permissions"], json!(["read_metric"]));
    assert_eq!(
        role.body["limits"],
        json!([
            {"router_id": 2, "router": 2, "type": "rpd", "value": null},
            {"router_id": 4, "router": 4, "type": "tpd", "value": 9},
        ])
    );

    // A refused change changes nothing and shows the form again with its values.
    let refused = browser
        .post(
            &path,
            &pairs(&role_form("admins", &[], &[("x", "tpm", "")])),
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(refused.field_error("limits-0-router_id").is_some());
    assert_eq!(refused.heading().as_deref(), Some("Role “writers”"));
    assert_eq!(
        app.get(&format!("/v1/admin/roles/{id}")).await.body,
        role.body
    );

    let unknown = browser.get("/console/admin/roles/999999").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.alerts(), ["Role not found."]);
}

#[tokio::test]
async fn a_role_is_deleted_after_a_confirmation_unless_users_hold_it() {
    let app = TestApp::spawn().await;
    let id = app.create_role("readers", &[]).await;
    let user = app.create_user("ada@example.com", id, None).await;
    let mut browser = admin(&app).await;
    let list = browser.get("/console/admin/roles").await;
    let delete = format!("/console/admin/roles/{id}/delete");
    assert!(
        list.texts(&format!("a[href='{delete}']"))
            .contains(&"Delete readers".to_owned())
    );
    let confirm = browser.get(&delete).await;
    assert_eq!(confirm.heading().as_deref(), Some("Delete role “readers”?"));
    assert_eq!(
        confirm.text("form button[type=submit].danger").as_deref(),
        Some("Delete")
    );
    assert_eq!(
        confirm.attribute("a.secondary", "href").as_deref(),
        Some(format!("/console/admin/roles/{id}").as_str())
    );

    let refused = browser.post(&delete, &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(refused.alerts(), ["Delete role with users is not allowed."]);
    assert_eq!(
        app.get(&format!("/v1/admin/roles/{id}")).await.status,
        StatusCode::OK
    );

    app.delete(&format!("/v1/admin/users/{user}")).await;
    browser.get(&delete).await;
    let deleted = browser.post(&delete, &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        browser.follow(&deleted).await.flash().as_deref(),
        Some("Role deleted.")
    );
    assert_eq!(
        app.get(&format!("/v1/admin/roles/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn role_pages_are_for_admins_only() {
    let app = TestApp::spawn().await;
    let role = app.create_role("people", &["read_metric"]).await;
    app.create_user("ada@example.com", role, None).await;
    let mut browser = Browser::new(&app);
    browser
        .sign_in("ada@example.com", "correct horse battery")
        .await;
    for path in [
        "/console/admin/roles".to_owned(),
        "/console/admin/roles/new".to_owned(),
        format!("/console/admin/roles/{role}"),
        format!("/console/admin/roles/{role}/delete"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(page.alerts(), ["Insufficient rights."], "{path}");
    }
    let refused = browser
        .post(
            &format!("/console/admin/roles/{role}"),
            &pairs(&role_form("people", &["admin"], &[])),
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let stored = app.get(&format!("/v1/admin/roles/{role}")).await;
    assert_eq!(stored.body["permissions"], json!(["read_metric"]));
}
