//! The console's project pages, as a browser without scripts sees them: the list by
//! organization, creation, a project's page with its budget, limits and members, and the
//! deletions (of a project, of a membership) after a confirmation.

mod support;

use reqwest::StatusCode;
use serde_json::json;
use support::TestApp;
use support::console::Browser;

async fn admin(app: &TestApp) -> Browser {
    let mut browser = Browser::new(app);
    browser.sign_in_as_master().await;
    browser
}

#[tokio::test]
async fn the_project_list_shows_organizations_budgets_and_members_and_filters_by_organization() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let globex = app.create_organization("Globex").await;
    let rockets = app
        .create_project_with(json!({"name": "Rockets", "organization": acme, "budget": 12.5}))
        .await;
    app.create_project_with(json!({"name": "Lasers", "organization": globex}))
        .await;
    let role = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", role, Some(acme)).await;
    app.add_project_member(rockets, ada).await;
    let mut browser = admin(&app).await;

    let list = browser.get("/console/admin/projects").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.heading().as_deref(), Some("Projects"));
    assert_eq!(list.text("table caption").as_deref(), Some("Projects"));
    assert_eq!(
        list.texts("th[scope=col]"),
        [
            "Id ▲",
            "Name",
            "Organization",
            "Budget",
            "Members",
            "Created",
            ""
        ]
    );
    assert_eq!(list.texts("tbody td:nth-child(2)"), ["Rockets", "Lasers"]);
    assert_eq!(list.texts("tbody td:nth-child(3)"), ["Acme", "Globex"]);
    assert_eq!(list.texts("tbody td:nth-child(4)"), ["12.5", "No limit"]);
    assert_eq!(list.texts("tbody td:nth-child(5)"), ["1", "0"]);
    assert_eq!(
        list.texts("#organization option"),
        ["All organizations", "Acme", "Globex"]
    );
    assert_eq!(
        list.text("label[for=organization]").as_deref(),
        Some("Organization")
    );

    let filtered = browser
        .get(&format!("/console/admin/projects?organization={globex}"))
        .await;
    assert_eq!(filtered.texts("tbody td:nth-child(2)"), ["Lasers"]);
    assert_eq!(
        filtered
            .attribute("#organization option[selected]", "value")
            .as_deref(),
        Some(globex.to_string().as_str())
    );
    // Sorting keeps the filter.
    let sort = filtered
        .attribute("th a[href*='order_by=name']", "href")
        .unwrap();
    assert!(sort.contains(&format!("organization={globex}")), "{sort}");

    let invalid = browser
        .get("/console/admin/projects?organization=acme")
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn a_project_is_created_in_an_organization_with_its_budget_and_limits() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let mut browser = admin(&app).await;
    let page = browser.get("/console/admin/projects/new").await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.heading().as_deref(), Some("New project"));
    assert_eq!(
        page.texts("#organization option"),
        ["Choose an organization", "Acme"]
    );
    assert_eq!(
        page.attribute("#organization", "required").as_deref(),
        Some("")
    );
    assert_eq!(page.text("#limits caption").as_deref(), Some("Limits"));
    assert_eq!(page.texts("#limits tbody tr[hidden]").len(), 2);

    let created = browser
        .post(
            "/console/admin/projects/new",
            &[
                ("name", "Rockets"),
                ("organization", &acme.to_string()),
                ("budget", "25.75"),
                ("limits.0.router_id", "4"),
                ("limits.0.type", "rpm"),
                ("limits.0.value", "60"),
                ("limits.1.router_id", ""),
                ("limits.1.type", "tpm"),
                ("limits.1.value", ""),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let projects = app.get("/v1/admin/projects").await;
    let project = &projects.body["data"][0];
    let id = project["id"].as_i64().unwrap();
    assert_eq!(
        created.location(),
        Some(format!("/console/admin/projects/{id}").as_str())
    );
    assert_eq!(project["name"], "Rockets");
    assert_eq!(project["organization"], acme);
    assert_eq!(project["budget"], json!(25.75));
    assert_eq!(
        project["limits"],
        json!([{"router_id": 4, "router": 4, "type": "rpm", "value": 60}])
    );
    let page = browser.follow(&created).await;
    assert_eq!(page.flash().as_deref(), Some("Project “Rockets” created."));
    assert_eq!(page.heading().as_deref(), Some("Project “Rockets”"));
}

#[tokio::test]
async fn a_refused_project_shows_the_apis_sentences_next_to_its_fields_and_keeps_the_values() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    app.create_project_with(json!({"name": "Rockets", "organization": acme}))
        .await;
    let mut browser = admin(&app).await;
    browser.get("/console/admin/projects/new").await;

    let no_organization = browser
        .post(
            "/console/admin/projects/new",
            &[("name", "Lasers"), ("organization", ""), ("budget", "-1")],
        )
        .await;
    assert_eq!(no_organization.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        no_organization.field_error("organization").as_deref(),
        Some("Field required")
    );
    assert!(no_organization.field_error("budget").is_some());
    assert_eq!(
        no_organization.attribute("#budget", "value").as_deref(),
        Some("-1")
    );
    assert_eq!(
        no_organization.attribute("#name", "value").as_deref(),
        Some("Lasers")
    );

    let unknown = browser
        .post(
            "/console/admin/projects/new",
            &[("name", "Lasers"), ("organization", "999999")],
        )
        .await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(
        unknown.field_error("organization").as_deref(),
        Some("Organization not found.")
    );

    let taken = browser
        .post(
            "/console/admin/projects/new",
            &[
                ("name", "Rockets"),
                ("organization", &acme.to_string()),
                ("limits.0.router_id", "2"),
                ("limits.0.type", "tpd"),
                ("limits.0.value", "3"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        taken.field_error("name").as_deref(),
        Some("Project already exists.")
    );
    assert_eq!(
        taken
            .attribute("#organization option[selected]", "value")
            .as_deref(),
        Some(acme.to_string().as_str())
    );
    assert_eq!(
        taken.attribute("#limits-0-value", "value").as_deref(),
        Some("3")
    );
    assert_eq!(app.get("/v1/admin/projects").await.body["total"], 1);
}

#[tokio::test]
async fn a_project_is_renamed_its_budget_and_limits_changed_but_not_its_organization() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let id = app
        .create_project_with(json!({
            "name": "Rockets", "organization": acme, "budget": 10,
            "limits": [{"router_id": 1, "type": "tpm", "value": 100}],
        }))
        .await;
    app.create_project_with(json!({"name": "Lasers", "organization": acme}))
        .await;
    let mut browser = admin(&app).await;
    let path = format!("/console/admin/projects/{id}");
    let page = browser.get(&path).await;
    assert_eq!(page.heading().as_deref(), Some("Project “Rockets”"));
    assert_eq!(page.text(".facts a").as_deref(), Some("Acme"));
    assert_eq!(page.attribute("#organization", "name"), None);
    assert_eq!(page.attribute("#budget", "value").as_deref(), Some("10.0"));
    assert_eq!(
        page.attribute("#limits-0-router_id", "value").as_deref(),
        Some("1")
    );

    let saved = browser
        .post(
            &path,
            &[
                ("name", "Big rockets"),
                ("budget", ""),
                ("limits.0.router_id", "1"),
                ("limits.0.type", "tpm"),
                ("limits.0.value", ""),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(saved.location(), Some(path.as_str()));
    assert_eq!(
        browser.follow(&saved).await.flash().as_deref(),
        Some("Project saved.")
    );
    let stored = app.get(&format!("/v1/admin/projects/{id}")).await;
    assert_eq!(stored.body["name"], "Big rockets");
    assert_eq!(stored.body["budget"], json!(null));
    assert_eq!(
        stored.body["limits"],
        json!([{"router_id": 1, "router": 1, "type": "tpm", "value": null}])
    );

    // Invalid values: each of the API's sentences in its place, the values kept.
    let invalid = browser
        .post(
            &path,
            &[
                ("name", "Lasers"),
                ("budget", "abc"),
                ("limits.0.router_id", "1"),
                ("limits.0.type", "tpm"),
                ("limits.0.value", "-5"),
            ],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.field_error("budget").is_some(), "{}", invalid.html);
    assert!(invalid.field_error("limits-0-value").is_some());
    assert_eq!(
        invalid.attribute("#name", "value").as_deref(),
        Some("Lasers")
    );

    let taken = browser
        .post(&path, &[("name", "Lasers"), ("budget", "")])
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        taken.field_error("name").as_deref(),
        Some("Project already exists.")
    );
    assert_eq!(
        app.get(&format!("/v1/admin/projects/{id}")).await.body,
        stored.body
    );

    let unknown = browser.get("/console/admin/projects/999999").await;
    assert_eq!(unknown.status, StatusCode::NOT_FOUND);
    assert_eq!(unknown.alerts(), ["Project not found."]);
}

#[tokio::test]
async fn members_are_added_by_user_id_and_removed_after_a_confirmation() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let globex = app.create_organization("Globex").await;
    let id = app
        .create_project_with(json!({"name": "Rockets", "organization": acme}))
        .await;
    let role = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", role, Some(acme)).await;
    let bob = app.create_user("bob@example.com", role, Some(globex)).await;
    let mut browser = admin(&app).await;
    let path = format!("/console/admin/projects/{id}");
    let page = browser.get(&path).await;
    assert_eq!(page.text("label[for=user]").as_deref(), Some("User id *"));
    assert_eq!(
        page.attribute("form[action$='/members'] button", "type")
            .as_deref(),
        Some("submit")
    );
    assert_eq!(page.text("#add-member").as_deref(), Some("Add member"));
    let members = format!("{path}/members");

    let elsewhere = browser.post(&members, &[("user", &bob.to_string())]).await;
    assert_eq!(elsewhere.status, StatusCode::CONFLICT);
    assert_eq!(
        elsewhere.field_error("user").as_deref(),
        Some("User is not in the project's organization.")
    );
    assert_eq!(
        elsewhere.attribute("#user", "value").as_deref(),
        Some(bob.to_string().as_str())
    );
    let nobody = browser.post(&members, &[("user", "999999")]).await;
    assert_eq!(nobody.status, StatusCode::NOT_FOUND);
    assert_eq!(
        nobody.field_error("user").as_deref(),
        Some("User not found.")
    );
    let word = browser.post(&members, &[("user", "ada")]).await;
    assert_eq!(word.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(word.field_error("user").is_some(), "{}", word.html);
    let empty = browser.post(&members, &[("user", "")]).await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(empty.field_error("user").as_deref(), Some("Field required"));

    let added = browser.post(&members, &[("user", &ada.to_string())]).await;
    assert_eq!(added.status, StatusCode::SEE_OTHER, "{}", added.html);
    let page = browser.follow(&added).await;
    assert_eq!(page.flash().as_deref(), Some("Member added."));
    assert_eq!(
        page.texts("#members tbody td:nth-child(1)"),
        [ada.to_string()]
    );
    assert_eq!(
        page.texts("#members tbody td:nth-child(2)"),
        ["ada@example.com"]
    );
    let remove = format!("{path}/members/{ada}/delete");
    assert_eq!(
        page.text(&format!("a[href='{remove}']")).as_deref(),
        Some("Remove ada@example.com")
    );
    let members_api = app.get(&format!("/v1/admin/projects/{id}/members")).await;
    assert_eq!(members_api.body["total"], 1);

    let confirm = browser.get(&remove).await;
    assert_eq!(
        confirm.heading().as_deref(),
        Some("Remove ada@example.com from project “Rockets”?")
    );
    let removed = browser.post(&remove, &[]).await;
    assert_eq!(removed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        browser.follow(&removed).await.flash().as_deref(),
        Some("Member removed.")
    );
    let members_api = app.get(&format!("/v1/admin/projects/{id}/members")).await;
    assert_eq!(members_api.body["total"], 0);
    let again = browser.post(&remove, &[]).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.alerts(), ["Member not found."]);
}

#[tokio::test]
async fn the_members_list_pages() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let id = app
        .create_project_with(json!({"name": "Rockets", "organization": acme}))
        .await;
    let role = app.create_role("people", &[]).await;
    for n in 0..11 {
        let user = app
            .create_user(&format!("user{n:02}@example.com"), role, Some(acme))
            .await;
        app.add_project_member(id, user).await;
    }
    let mut browser = admin(&app).await;
    let first = browser.get(&format!("/console/admin/projects/{id}")).await;
    assert_eq!(first.texts("#members tbody tr").len(), 10);
    assert_eq!(
        first.text("nav[aria-label=Pagination] span").as_deref(),
        Some("1–10 of 11")
    );
    let next = first.attribute("a[rel=next]", "href").unwrap();
    let second = browser.get(&next).await;
    assert_eq!(
        second.texts("#members tbody td:nth-child(2)"),
        ["user10@example.com"]
    );
}

#[tokio::test]
async fn a_project_is_deleted_after_a_confirmation() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let id = app
        .create_project_with(json!({"name": "Rockets", "organization": acme}))
        .await;
    let mut browser = admin(&app).await;
    let list = browser.get("/console/admin/projects").await;
    let delete = format!("/console/admin/projects/{id}/delete");
    assert_eq!(
        list.text(&format!("a[href='{delete}']")).as_deref(),
        Some("Delete Rockets")
    );
    let confirm = browser.get(&delete).await;
    assert_eq!(
        confirm.heading().as_deref(),
        Some("Delete project “Rockets”?")
    );
    let deleted = browser.post(&delete, &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(deleted.location(), Some("/console/admin/projects"));
    assert_eq!(
        browser.follow(&deleted).await.flash().as_deref(),
        Some("Project deleted.")
    );
    assert_eq!(
        app.get(&format!("/v1/admin/projects/{id}")).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn project_pages_are_for_admins_only() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let id = app
        .create_project_with(json!({"name": "Rockets", "organization": acme}))
        .await;
    let role = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", role, Some(acme)).await;
    let mut browser = Browser::new(&app);
    browser
        .sign_in("ada@example.com", "correct horse battery")
        .await;
    for path in [
        "/console/admin/projects".to_owned(),
        "/console/admin/projects/new".to_owned(),
        format!("/console/admin/projects/{id}"),
        format!("/console/admin/projects/{id}/delete"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(page.alerts(), ["Insufficient rights."], "{path}");
    }
    let refused = browser
        .post(
            &format!("/console/admin/projects/{id}/members"),
            &[("user", &ada.to_string())],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let members = app.get(&format!("/v1/admin/projects/{id}/members")).await;
    assert_eq!(members.body["total"], 0);
}
