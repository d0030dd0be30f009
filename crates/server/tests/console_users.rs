//! The web console's user pages, for admins: the list with its search and filters, creating,
//! changing and deleting a user, each refusal with the API's sentence next to its field.

#![allow(clippy::unwrap_used)]

mod support;

use gatehouse_domain::chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use serde_json::json;
use support::TestApp;
use support::console::{Browser, Page};

/// The column headers of a list, without the sort mark.
fn headers(page: &Page) -> Vec<String> {
    page.texts("thead th")
        .into_iter()
        .map(|header| header.trim_end_matches(['▲', '▼', ' ']).to_owned())
        .collect()
}

/// A day `days` from now as a date input sends it.
fn date_in(days: i64) -> String {
    (Utc::now() + TimeDelta::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

/// An admin's browser on `app`.
async fn admin(app: &TestApp) -> Browser {
    let mut browser = Browser::new(app);
    browser.sign_in_as_master().await;
    browser
}

#[tokio::test]
async fn the_list_shows_role_and_organization_names_and_filters_as_the_api_does() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let people = app.create_role("people", &[]).await;
    let admins = app.create_role("admins", &["admin"]).await;
    let ada = app.create_user("ada@example.com", people, Some(acme)).await;
    let bob = app.create_user("bob@example.com", admins, None).await;
    let mut browser = admin(&app).await;

    let list = browser.get("/console/admin/users").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.heading().as_deref(), Some("Users"));
    assert_eq!(
        list.attribute("a[href='/console/admin/users/new']", "href")
            .as_deref(),
        Some("/console/admin/users/new")
    );
    assert_eq!(
        headers(&list),
        [
            "Id",
            "Email",
            "Name",
            "Role",
            "Organization",
            "Expires",
            "Created",
            ""
        ]
    );
    assert_eq!(
        list.texts("tbody td:nth-child(2)"),
        ["ada@example.com", "bob@example.com"]
    );
    assert_eq!(list.texts("tbody td:nth-child(4)"), ["people", "admins"]);
    assert_eq!(list.texts("tbody td:nth-child(5)"), ["Acme", "None"]);
    assert_eq!(list.texts("tbody td:nth-child(6)"), ["Never", "Never"]);
    // The filter form: a GET form with the search, the selects (all, then each by name).
    assert_eq!(
        list.attribute("form.filters", "method").as_deref(),
        Some("get")
    );
    assert_eq!(list.texts("#role option"), ["All", "admins", "people"]);
    assert_eq!(list.texts("#organization option"), ["All", "Acme"]);
    assert_eq!(list.text("form.filters button").as_deref(), Some("Filter"));

    // The search is the API's: the exact address, in any case.
    let found = browser
        .get("/console/admin/users?email=ADA%40Example.com&organization=&role=")
        .await;
    assert_eq!(found.status, StatusCode::OK, "{}", found.html);
    assert_eq!(found.texts("tbody td:nth-child(1)"), [ada.to_string()]);
    assert_eq!(
        found.attribute("#email", "value").as_deref(),
        Some("ADA@Example.com")
    );
    let partial = browser.get("/console/admin/users?email=ada").await;
    assert!(partial.texts("tbody tr").is_empty());

    let by_role = browser
        .get(&format!("/console/admin/users?role={admins}"))
        .await;
    assert_eq!(by_role.texts("tbody td:nth-child(1)"), [bob.to_string()]);
    assert_eq!(
        by_role.attribute("#role option[selected]", "value"),
        Some(admins.to_string())
    );
    let by_organization = browser
        .get(&format!("/console/admin/users?organization={acme}"))
        .await;
    assert_eq!(
        by_organization.texts("tbody td:nth-child(1)"),
        [ada.to_string()]
    );
    // Sorting keeps the filters.
    let link = by_organization
        .attribute("thead a[href*='order_by=email']", "href")
        .unwrap();
    assert!(link.contains(&format!("organization={acme}")), "{link}");

    let sorted = browser
        .get("/console/admin/users?order_by=email&order_direction=desc")
        .await;
    assert_eq!(
        sorted.texts("tbody td:nth-child(2)"),
        ["bob@example.com", "ada@example.com"]
    );
    let invalid = browser.get("/console/admin/users?role=admins").await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn an_admin_creates_a_user_with_every_field() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let people = app.create_role("people", &[]).await;
    let mut browser = admin(&app).await;

    let new = browser.get("/console/admin/users/new").await;
    assert_eq!(new.status, StatusCode::OK);
    assert_eq!(new.heading().as_deref(), Some("New user"));
    assert_eq!(
        new.texts("#organization option"),
        ["None", "Acme"],
        "{}",
        new.html
    );
    assert_eq!(new.attribute("#role", "required").as_deref(), Some(""));
    assert_eq!(new.attribute("#expires", "type").as_deref(), Some("date"));
    assert_eq!(new.attribute("#priority", "value").as_deref(), Some("0"));

    let expires = date_in(30);
    let (role, organization) = (people.to_string(), acme.to_string());
    let created = browser
        .post(
            "/console/admin/users/new",
            &[
                ("email", "carol@example.com"),
                ("name", " Carol "),
                ("password", "correct horse battery"),
                ("role", &role),
                ("organization", &organization),
                ("budget", "12.50"),
                ("expires", &expires),
                ("priority", "3"),
            ],
        )
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER, "{}", created.html);
    let list = browser.follow(&created).await;
    assert_eq!(
        list.flash().as_deref(),
        Some("User “carol@example.com” created.")
    );
    let users = app.get("/v1/admin/users?email=carol@example.com").await;
    let user = &users.body["data"][0];
    assert_eq!(user["name"], "Carol");
    assert_eq!(user["role"], json!(people));
    assert_eq!(user["organization"], json!(acme));
    assert_eq!(user["budget"], json!(12.5));
    assert_eq!(user["priority"], 3);
    let midnight = gatehouse_domain::chrono::NaiveDate::parse_from_str(&expires, "%Y-%m-%d")
        .unwrap()
        .and_hms_opt(0, 0, 0)
        .unwrap()
        .and_utc()
        .timestamp();
    assert_eq!(user["expires"], json!(midnight));

    // Empty budget and expiry are no limit and never; an empty organization is none.
    let minimal = browser
        .post(
            "/console/admin/users/new",
            &[
                ("email", "dan@example.com"),
                ("name", ""),
                ("password", "correct horse battery"),
                ("role", &role),
                ("organization", ""),
                ("budget", ""),
                ("expires", ""),
                ("priority", ""),
            ],
        )
        .await;
    assert_eq!(minimal.status, StatusCode::SEE_OTHER, "{}", minimal.html);
    let users = app.get("/v1/admin/users?email=dan@example.com").await;
    let user = &users.body["data"][0];
    for field in ["name", "organization", "budget", "expires"] {
        assert_eq!(user[field], json!(null), "{field}");
    }
    assert_eq!(user["priority"], 0);
}

#[tokio::test]
async fn a_refused_user_shows_each_api_sentence_next_to_its_field_and_keeps_the_values() {
    let app = TestApp::spawn().await;
    let people = app.create_role("people", &[]).await;
    app.create_user("ada@example.com", people, None).await;
    let role = people.to_string();
    let mut browser = admin(&app).await;
    browser.get("/console/admin/users/new").await;

    let invalid = browser
        .post(
            "/console/admin/users/new",
            &[
                ("email", "not an address"),
                ("name", "Eve"),
                ("password", "short"),
                ("role", &role),
            ],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.field_error("email").is_some(), "{}", invalid.html);
    assert!(
        invalid.field_error("password").is_some(),
        "{}",
        invalid.html
    );
    assert_eq!(
        invalid.attribute("#password", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        invalid.attribute("#email", "value").as_deref(),
        Some("not an address")
    );
    assert_eq!(invalid.attribute("#name", "value").as_deref(), Some("Eve"));
    assert_eq!(invalid.attribute("#password", "value").as_deref(), Some(""));
    assert_eq!(
        invalid.attribute("#role option[selected]", "value"),
        Some(role.clone())
    );

    let taken = browser
        .post(
            "/console/admin/users/new",
            &[
                ("email", "ADA@example.com"),
                ("password", "correct horse battery"),
                ("role", &role),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        taken.field_error("email").as_deref(),
        Some("User already exists.")
    );

    let no_role = browser
        .post(
            "/console/admin/users/new",
            &[
                ("email", "eve@example.com"),
                ("password", "correct horse battery"),
                ("role", "9999"),
            ],
        )
        .await;
    assert_eq!(no_role.status, StatusCode::NOT_FOUND);
    assert_eq!(
        no_role.field_error("role").as_deref(),
        Some("Role not found.")
    );
    let users = app.get("/v1/admin/users").await;
    assert_eq!(users.body["total"], 1);
}

#[tokio::test]
async fn an_admin_changes_a_user_and_what_they_leave_alone_stays() {
    let app = TestApp::spawn().await;
    let people = app.create_role("people", &[]).await;
    let admins = app.create_role("admins", &[]).await;
    // An expiry that is not a UTC midnight: a date input cannot show it exactly.
    let expires = Utc::now().timestamp() + 10 * 86_400 + 3_600;
    let ada = app
        .create_user_with(json!({
            "email": "ada@example.com", "name": "Ada", "role": people,
            "budget": 10, "expires": expires, "priority": 2,
        }))
        .await;
    let mut browser = admin(&app).await;
    let path = format!("/console/admin/users/{ada}");

    let page = browser.get(&path).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.heading().as_deref(), Some("User “ada@example.com”"));
    assert_eq!(
        page.attribute("#email", "value").as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(page.attribute("#budget", "value").as_deref(), Some("10.0"));
    assert_eq!(page.attribute("#priority", "value").as_deref(), Some("2"));
    assert_eq!(page.attribute("#password", "required"), None);
    assert_eq!(
        page.text("#password-hint").as_deref(),
        Some("Leave empty to keep the current password.")
    );
    assert!(
        page.attribute(&format!("a[href='/console/admin/keys?user={ada}']"), "href")
            .is_some(),
        "{}",
        page.html
    );

    // Meanwhile usage debits the budget: saving the form must not give it back.
    app.patch(&format!("/v1/admin/users/{ada}"), json!({"budget": 4}))
        .await;
    let shown = |name: &str| page.attribute(&format!("[name={name}]"), "value").unwrap();
    let (budget_was, expires_was, expires_shown) =
        (shown("budget_was"), shown("expires_was"), shown("expires"));
    let admins_id = admins.to_string();
    let saved = browser
        .post(
            &path,
            &[
                ("email", "ada@example.com"),
                ("name", "Ada Lovelace"),
                ("password", ""),
                ("role", &admins_id),
                ("organization", ""),
                ("budget", "10.0"),
                ("budget_was", &budget_was),
                ("expires", &expires_shown),
                ("expires_was", &expires_was),
                ("priority", "5"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    assert_eq!(
        browser.follow(&saved).await.flash().as_deref(),
        Some("User saved.")
    );
    let user = app.get(&format!("/v1/admin/users/{ada}")).await.body;
    assert_eq!(user["name"], "Ada Lovelace");
    assert_eq!(user["role"], json!(admins));
    assert_eq!(user["priority"], 5);
    assert_eq!(user["budget"], json!(4.0));
    assert_eq!(user["expires"], json!(expires));
    // The password was left empty: it is unchanged.
    Browser::new(&app)
        .sign_in("ada@example.com", "correct horse battery")
        .await;

    // Changed fields are sent: a new password, no budget, no expiry.
    browser.get(&path).await;
    let saved = browser
        .post(
            &path,
            &[
                ("email", "ada@example.com"),
                ("name", ""),
                ("password", "a brand new password"),
                ("role", &admins_id),
                ("organization", ""),
                ("budget", ""),
                ("budget_was", "4.0"),
                ("expires", ""),
                ("expires_was", &expires_was),
                ("priority", "5"),
            ],
        )
        .await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER, "{}", saved.html);
    let user = app.get(&format!("/v1/admin/users/{ada}")).await.body;
    for field in ["name", "budget", "expires"] {
        assert_eq!(user[field], json!(null), "{field}");
    }
    Browser::new(&app)
        .sign_in("ada@example.com", "a brand new password")
        .await;
}

#[tokio::test]
async fn a_refused_change_shows_the_sentence_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let people = app.create_role("people", &[]).await;
    app.create_user("ada@example.com", people, None).await;
    let bob = app.create_user("bob@example.com", people, None).await;
    let mut browser = admin(&app).await;
    let path = format!("/console/admin/users/{bob}");
    browser.get(&path).await;
    let role = people.to_string();

    let taken = browser
        .post(
            &path,
            &[
                ("email", "ada@example.com"),
                ("name", "Bob"),
                ("role", &role),
                ("priority", "0"),
            ],
        )
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        taken.field_error("email").as_deref(),
        Some("User already exists.")
    );
    // The form keeps what was typed; the page still shows the stored user's heading.
    assert_eq!(
        taken.attribute("#email", "value").as_deref(),
        Some("ada@example.com")
    );
    assert_eq!(taken.heading().as_deref(), Some("User “bob@example.com”"));

    let invalid = browser
        .post(
            &path,
            &[
                ("email", "bob@example.com"),
                ("password", "short"),
                ("role", "9999"),
                ("priority", "-1"),
            ],
        )
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        invalid.field_error("password").is_some(),
        "{}",
        invalid.html
    );
    assert!(
        invalid.field_error("priority").is_some(),
        "{}",
        invalid.html
    );

    let no_role = browser
        .post(
            &path,
            &[
                ("email", "bob@example.com"),
                ("role", "9999"),
                ("priority", "0"),
            ],
        )
        .await;
    assert_eq!(no_role.status, StatusCode::NOT_FOUND);
    assert_eq!(
        no_role.field_error("role").as_deref(),
        Some("Role not found.")
    );
    let user = app.get(&format!("/v1/admin/users/{bob}")).await.body;
    assert_eq!(user["email"], "bob@example.com");
    assert_eq!(user["name"], json!(null));

    let missing = browser.get("/console/admin/users/9999").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.alerts(), ["User not found."]);
}

#[tokio::test]
async fn a_user_is_deleted_after_a_confirmation_and_their_keys_stop_working() {
    let app = TestApp::spawn().await;
    let people = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", people, None).await;
    let key = app.create_key(ada).await;
    let mut browser = admin(&app).await;

    let list = browser.get("/console/admin/users").await;
    let link = list.attribute("tbody a[href$='/delete']", "href").unwrap();
    assert_eq!(link, format!("/console/admin/users/{ada}/delete"));
    let confirm = browser.get(&link).await;
    assert_eq!(
        confirm.heading().as_deref(),
        Some("Delete user “ada@example.com”?")
    );
    assert_eq!(confirm.texts("main form button"), ["Delete"]);
    assert_eq!(
        confirm.attribute("main a.secondary", "href"),
        Some(format!("/console/admin/users/{ada}"))
    );
    // Nothing is deleted until the confirmation is sent.
    assert_eq!(
        app.get(&format!("/v1/admin/users/{ada}")).await.status,
        StatusCode::OK
    );

    let deleted = browser.post(&link, &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(deleted.location(), Some("/console/admin/users"));
    let list = browser.follow(&deleted).await;
    assert_eq!(list.flash().as_deref(), Some("User deleted."));
    assert!(list.texts("tbody tr").is_empty());
    let me = app
        .call(reqwest::Method::GET, "/v1/me/info", Some(&key), None)
        .await;
    assert_eq!(me.status, StatusCode::UNAUTHORIZED);
    let again = browser.get(&link).await;
    assert_eq!(again.status, StatusCode::NOT_FOUND);
    assert_eq!(again.alerts(), ["User not found."]);
}

#[tokio::test]
async fn people_without_the_admin_permission_cannot_reach_the_user_pages() {
    let app = TestApp::spawn().await;
    let people = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", people, None).await;
    let mut browser = Browser::new(&app);
    browser
        .sign_in("ada@example.com", "correct horse battery")
        .await;
    for path in [
        "/console/admin/users".to_owned(),
        "/console/admin/users/new".to_owned(),
        format!("/console/admin/users/{ada}"),
        format!("/console/admin/users/{ada}/delete"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(page.alerts(), ["Insufficient rights."], "{path}");
    }
    let role = people.to_string();
    let refused = browser
        .post(
            "/console/admin/users/new",
            &[
                ("email", "mallory@example.com"),
                ("password", "correct horse battery"),
                ("role", &role),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = browser
        .post(&format!("/console/admin/users/{ada}/delete"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/v1/admin/users").await.body["total"], 1);
}
