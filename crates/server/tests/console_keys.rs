//! The web console's key pages: one's own keys (create, shown once, delete) and, for admins,
//! everyone's; the new key works as a bearer key, and no page but "Key created" shows it whole.

#![allow(clippy::unwrap_used)]

mod support;

use std::num::NonZeroU32;

use gatehouse_domain::chrono::{TimeDelta, Utc};
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::TestApp;
use support::console::{Browser, Page};

const PASSWORD: &str = "correct horse battery";

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

/// A user without permissions, signed in: `(their id, their browser)`.
async fn signed_in(app: &TestApp, email: &str) -> (i64, Browser) {
    let role = app.create_role(&format!("role of {email}"), &[]).await;
    let user = app.create_user(email, role, None).await;
    let mut browser = Browser::new(app);
    browser.sign_in(email, PASSWORD).await;
    (user, browser)
}

/// `GET /v1/me/info` with `key`.
async fn me(app: &TestApp, key: &str) -> support::Answer {
    app.call(Method::GET, "/v1/me/info", Some(key), None).await
}

/// The key a "Key created" page shows, after checking the page.
fn shown_key(page: &Page) -> String {
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.heading().as_deref(), Some("Key created"));
    assert_eq!(page.header("cache-control"), Some("no-store"));
    assert_eq!(
        page.attribute("code#new-key", "class").as_deref(),
        Some("secret")
    );
    assert_eq!(
        page.text("button[data-copy=new-key]").as_deref(),
        Some("Copy")
    );
    assert_eq!(
        page.attribute("button[data-copy=new-key]", "type")
            .as_deref(),
        Some("button")
    );
    assert_eq!(
        page.attribute("p#new-key-status", "role").as_deref(),
        Some("status")
    );
    assert!(
        page.texts("p")
            .contains(&"Copy it now: it will not be shown again.".to_owned())
    );
    page.text("code#new-key").unwrap()
}

#[tokio::test]
async fn a_person_creates_a_key_that_works_and_is_shown_whole_only_once() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = signed_in(&app, "ada@example.com").await;
    let list = browser.get("/console/keys").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.heading().as_deref(), Some("Keys"));
    // The session's own key is listed like any other.
    assert_eq!(list.texts("tbody td:nth-child(2)"), ["playground"]);
    assert_eq!(list.attribute("#expires", "type").as_deref(), Some("date"));

    let expires = date_in(20);
    let created = browser
        .post(
            "/console/keys",
            &[("name", " laptop "), ("expires", &expires), ("project", "")],
        )
        .await;
    let key = shown_key(&created);
    assert!(key.starts_with("sk-"), "{key}");
    assert_eq!(
        created
            .attribute("a[href='/console/keys']", "href")
            .as_deref(),
        Some("/console/keys")
    );

    let info = me(&app, &key).await;
    assert_eq!(info.status, StatusCode::OK, "{}", info.text);
    assert_eq!(info.body["email"], "ada@example.com");
    let mine = app
        .call(Method::GET, "/v1/me/keys?order_by=id", Some(&key), None)
        .await;
    let stored = &mine.body["data"][1];
    assert_eq!(stored["name"], "laptop");
    assert_eq!(stored["project"], json!(null));
    assert_eq!(stored["expires"].as_i64().unwrap() % 86_400, 0);

    let list = browser.get("/console/keys").await;
    assert_eq!(
        list.texts("tbody td:nth-child(2)"),
        ["playground", "laptop"]
    );
    let masked = stored["token"].as_str().unwrap();
    assert_eq!(list.texts("tbody td:nth-child(3)")[1], masked);
    assert!(!list.html.contains(&key));
    assert_eq!(list.texts("tbody td:nth-child(4)"), ["None", "None"]);
    assert_eq!(
        list.texts("tbody td:nth-child(5)")[1],
        format!("{expires} 00:00")
    );
}

#[tokio::test]
async fn a_key_may_act_in_a_project_its_owner_is_a_member_of() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let role = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", role, Some(acme)).await;
    let project = app
        .create_project_with(json!({"name": "Apollo", "organization": acme}))
        .await;
    let other = app
        .create_project_with(json!({"name": "Gemini", "organization": acme}))
        .await;
    app.add_project_member(project, ada).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("ada@example.com", PASSWORD).await;
    let list = browser.get("/console/keys").await;
    assert_eq!(list.text("label[for=project]").as_deref(), Some("Project"));
    // Only the projects Ada is a member of are offered.
    assert_eq!(
        list.texts("#project option"),
        ["None: the key acts as you", "Apollo"]
    );

    let id = project.to_string();
    let created = browser
        .post("/console/keys", &[("name", "apollo"), ("project", &id)])
        .await;
    let key = shown_key(&created);
    let info = me(&app, &key).await;
    assert_eq!(info.body["project"], json!(project), "{}", info.text);

    let other = other.to_string();
    let refused = browser
        .post("/console/keys", &[("name", "gemini"), ("project", &other)])
        .await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        refused.field_error("project").as_deref(),
        Some("Project not found.")
    );
    // A project she is not a member of (sent by hand) stays chosen, shown by its id, next to
    // its sentence.
    assert_eq!(
        refused.attribute("#project option[selected]", "value"),
        Some(other.clone())
    );
    assert_eq!(
        refused.attribute("#name", "value").as_deref(),
        Some("gemini")
    );
    let list = browser.get("/console/keys").await;
    assert_eq!(list.texts("tbody td:nth-child(4)"), ["None".to_owned(), id]);
}

#[tokio::test]
async fn a_refused_key_shows_the_apis_sentence_next_to_its_field() {
    let app = TestApp::spawn().await;
    let (_, mut browser) = signed_in(&app, "ada@example.com").await;
    browser.get("/console/keys").await;
    let empty = browser
        .post("/console/keys", &[("name", "  "), ("expires", "")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.field_error("name").is_some(), "{}", empty.html);
    assert_eq!(
        empty.attribute("#name", "aria-invalid").as_deref(),
        Some("true")
    );
    let past = browser
        .post(
            "/console/keys",
            &[("name", "old"), ("expires", "2000-01-01")],
        )
        .await;
    assert_eq!(past.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(past.field_error("expires").is_some(), "{}", past.html);
    assert_eq!(
        past.attribute("#expires", "value").as_deref(),
        Some("2000-01-01")
    );
    // Only the session's key exists.
    let list = browser.get("/console/keys").await;
    assert_eq!(list.texts("tbody tr").len(), 1);

    // The master user is not stored and has no keys of its own: the API's sentence, above.
    let mut master = Browser::new(&app);
    master.sign_in_as_master().await;
    master.get("/console/keys").await;
    let refused = master.post("/console/keys", &[("name", "mine")]).await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(
        refused.alerts(),
        ["Master is not allowed to process this action."]
    );
}

#[tokio::test]
async fn an_expiry_beyond_the_configured_maximum_is_refused_next_to_the_field() {
    let app = TestApp::spawn_with(|settings| {
        settings.key_max_expiration_days = NonZeroU32::new(30);
    })
    .await;
    let role = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", role, None).await;
    let mut browser = Browser::new(&app);
    browser.sign_in("ada@example.com", PASSWORD).await;
    browser.get("/console/keys").await;
    let far = date_in(60);
    let sentence = "Token expiration timestamp cannot be greater than 30 days from now.";
    let refused = browser
        .post("/console/keys", &[("name", "far"), ("expires", &far)])
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.field_error("expires").as_deref(), Some(sentence));

    let mut admin = Browser::new(&app);
    admin.sign_in_as_master().await;
    admin.get("/console/admin/keys").await;
    let user = ada.to_string();
    let refused = admin
        .post(
            "/console/admin/keys",
            &[("name", "far"), ("user", &user), ("expires", &far)],
        )
        .await;
    assert_eq!(refused.status, StatusCode::BAD_REQUEST);
    assert_eq!(refused.field_error("expires").as_deref(), Some(sentence));
    let keys = app.get(&format!("/v1/admin/tokens?user={ada}")).await;
    assert_eq!(keys.body["total"], 1, "only the session's key");
}

#[tokio::test]
async fn a_person_deletes_a_key_after_a_confirmation_and_it_stops_working() {
    let app = TestApp::spawn().await;
    let (ada, mut browser) = signed_in(&app, "ada@example.com").await;
    let (id, key) = app.create_key_with_id(ada).await;
    let bob = app
        .create_user("bob@example.com", app.create_role("b", &[]).await, None)
        .await;
    let (bobs, _) = app.create_key_with_id(bob).await;

    let list = browser.get("/console/keys").await;
    let link = format!("/console/keys/{id}/delete");
    assert!(
        list.attribute(&format!("a[href='{link}']"), "href")
            .is_some()
    );
    let confirm = browser.get(&link).await;
    assert_eq!(confirm.heading().as_deref(), Some("Delete key “test key”?"));
    assert!(!confirm.html.contains("signs you out"));
    assert_eq!(
        confirm.attribute("main a.secondary", "href").as_deref(),
        Some("/console/keys")
    );
    let deleted = browser.post(&link, &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(deleted.location(), Some("/console/keys"));
    let list = browser.follow(&deleted).await;
    assert_eq!(list.flash().as_deref(), Some("Key deleted."));
    assert_eq!(me(&app, &key).await.status, StatusCode::UNAUTHORIZED);

    // Another person's key is not found, and stays.
    let other = format!("/console/keys/{bobs}/delete");
    let page = browser.get(&other).await;
    assert_eq!(page.status, StatusCode::NOT_FOUND);
    assert_eq!(page.alerts(), ["Token not found."]);
    browser.get("/console/keys").await;
    let refused = browser.post(&other, &[]).await;
    assert_eq!(refused.status, StatusCode::NOT_FOUND);
    assert_eq!(
        app.get(&format!("/v1/admin/tokens/{bobs}")).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn deleting_the_sessions_own_key_says_so_and_signs_the_person_out() {
    let app = TestApp::spawn().await;
    let (ada, mut browser) = signed_in(&app, "ada@example.com").await;
    let session = app.get(&format!("/v1/admin/tokens?user={ada}")).await;
    let id = session.body["data"][0]["id"].as_i64().unwrap();
    let link = format!("/console/keys/{id}/delete");
    let confirm = browser.get(&link).await;
    assert_eq!(
        confirm.heading().as_deref(),
        Some("Delete key “playground”?")
    );
    assert!(
        confirm.html.contains("deleting it signs you out"),
        "{}",
        confirm.html
    );
    let deleted = browser.post(&link, &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    let next = browser.follow(&deleted).await;
    assert_eq!(next.status, StatusCode::SEE_OTHER);
    assert_eq!(next.location(), Some("/console/login"));
}

#[tokio::test]
async fn an_admin_lists_everyones_keys_by_user_and_creates_one_for_a_user() {
    let app = TestApp::spawn().await;
    let role = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", role, None).await;
    let bob = app.create_user("bob@example.com", role, None).await;
    let (adas, _) = app.create_key_with_id(ada).await;
    let (bobs, _) = app.create_key_with_id(bob).await;
    let mut browser = Browser::new(&app);
    browser.sign_in_as_master().await;

    let list = browser.get("/console/admin/keys").await;
    assert_eq!(list.status, StatusCode::OK);
    assert_eq!(list.heading().as_deref(), Some("All keys"));
    assert_eq!(
        headers(&list),
        ["Id", "Name", "Key", "User", "Expires", "Created", ""]
    );
    assert_eq!(
        list.texts("tbody td:nth-child(1)"),
        [adas.to_string(), bobs.to_string()]
    );
    let filtered = browser
        .get(&format!("/console/admin/keys?user={bob}"))
        .await;
    assert_eq!(filtered.texts("tbody td:nth-child(1)"), [bobs.to_string()]);
    assert_eq!(filtered.texts("tbody td:nth-child(4)"), [bob.to_string()]);
    assert_eq!(
        filtered.attribute("#filter-user", "value"),
        Some(bob.to_string())
    );
    let blank = browser.get("/console/admin/keys?user=").await;
    assert_eq!(blank.texts("tbody tr").len(), 2);

    browser.get("/console/admin/keys").await;
    let user = ada.to_string();
    let created = browser
        .post(
            "/console/admin/keys",
            &[("name", "for ada"), ("user", &user), ("expires", "")],
        )
        .await;
    let key = shown_key(&created);
    assert_eq!(
        created
            .attribute("main a[href='/console/admin/keys']", "href")
            .as_deref(),
        Some("/console/admin/keys")
    );
    let info = me(&app, &key).await;
    assert_eq!(info.body["email"], "ada@example.com");
    let list = browser
        .get(&format!("/console/admin/keys?user={ada}"))
        .await;
    assert_eq!(list.texts("tbody td:nth-child(2)"), ["test key", "for ada"]);
    assert!(!list.html.contains(&key));

    let missing = browser
        .post(
            "/console/admin/keys",
            &[("name", "nobody's"), ("user", "9999")],
        )
        .await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(
        missing.field_error("user").as_deref(),
        Some("User not found.")
    );
    assert_eq!(missing.attribute("#user", "value").as_deref(), Some("9999"));
    let invalid = browser
        .post("/console/admin/keys", &[("name", ""), ("user", "")])
        .await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(invalid.field_error("name").is_some(), "{}", invalid.html);
    assert!(invalid.field_error("user").is_some(), "{}", invalid.html);
}

#[tokio::test]
async fn an_admin_deletes_anyones_key_after_a_confirmation() {
    let app = TestApp::spawn().await;
    let role = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", role, None).await;
    let (id, key) = app.create_key_with_id(ada).await;
    let mut browser = Browser::new(&app);
    browser.sign_in_as_master().await;
    let link = format!("/console/admin/keys/{id}/delete");
    let confirm = browser.get(&link).await;
    assert_eq!(
        confirm.heading().as_deref(),
        Some(format!("Delete key “test key” of user {ada}?").as_str())
    );
    assert_eq!(me(&app, &key).await.status, StatusCode::OK);
    let deleted = browser.post(&link, &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(deleted.location(), Some("/console/admin/keys"));
    let list = browser.follow(&deleted).await;
    assert_eq!(list.flash().as_deref(), Some("Key deleted."));
    assert_eq!(me(&app, &key).await.status, StatusCode::UNAUTHORIZED);
    let gone = browser.get(&link).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.alerts(), ["Token not found."]);
}

#[tokio::test]
async fn people_without_the_admin_permission_cannot_reach_everyones_keys() {
    let app = TestApp::spawn().await;
    let (ada, mut browser) = signed_in(&app, "ada@example.com").await;
    let (id, key) = app.create_key_with_id(ada).await;
    for path in [
        "/console/admin/keys".to_owned(),
        format!("/console/admin/keys/{id}/delete"),
    ] {
        let page = browser.get(&path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(page.alerts(), ["Insufficient rights."], "{path}");
    }
    browser.get("/console/keys").await;
    let user = ada.to_string();
    let refused = browser
        .post("/console/admin/keys", &[("name", "x"), ("user", &user)])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    let refused = browser
        .post(&format!("/console/admin/keys/{id}/delete"), &[])
        .await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);
    assert_eq!(me(&app, &key).await.status, StatusCode::OK);
}
