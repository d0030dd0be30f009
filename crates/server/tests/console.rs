//! The web console, as a browser without scripts sees it: signing in and out, the session
//! cookie, CSRF, the security headers, who sees which pages, and the organization pages (the
//! model of every admin section). Each section has its own file (`console_*.rs`); the browser
//! tests (Playwright) walk the same pages with scripts, a screen reader's view and screenshots.

mod support;

use reqwest::StatusCode;
use support::console::Browser;
use support::{MASTER_KEY, TestApp};

#[tokio::test]
async fn the_root_and_the_console_lead_a_visitor_to_the_sign_in_page() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let root = browser.get("/").await;
    assert_eq!(root.status, StatusCode::FOUND);
    assert_eq!(root.location(), Some("/console/"));
    let console = browser.get("/console/").await;
    assert_eq!(console.status, StatusCode::SEE_OTHER);
    assert_eq!(console.location(), Some("/console/login"));
    for path in ["/console/account", "/console/admin/organizations"] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), Some("/console/login"), "{path}");
    }
    let login = browser.get("/console/login").await;
    assert_eq!(login.status, StatusCode::OK);
    assert_eq!(login.heading().as_deref(), Some("Sign in"));
}

#[tokio::test]
async fn every_answer_carries_the_security_headers() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let login = browser.get("/console/login").await;
    let missing = browser.get("/console/nowhere").await;
    let asset = browser.get("/console/assets/console.css").await;
    for page in [&login, &missing, &asset] {
        let policy = page.header("content-security-policy").unwrap();
        assert!(policy.contains("script-src 'self'"), "{policy}");
        assert!(!policy.contains("unsafe-inline"), "{policy}");
        assert_eq!(page.header("x-frame-options"), Some("DENY"));
        assert_eq!(page.header("x-content-type-options"), Some("nosniff"));
        assert_eq!(page.header("referrer-policy"), Some("same-origin"));
    }
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(login.header("cache-control"), Some("no-store"));
    assert_eq!(asset.header("content-type"), Some("text/css"));
    // No inline script or style in a page: the policy would block them.
    assert!(!login.html.contains("<script>") && !login.html.contains("style="));
}

#[tokio::test]
async fn signing_in_sets_an_http_only_session_cookie_and_signing_out_deletes_its_key() {
    let app = TestApp::spawn().await;
    let role = app.create_role("people", &[]).await;
    app.create_user("ada@example.com", role, None).await;
    let mut browser = Browser::new(&app);
    browser.get("/console/login").await;
    let answer = browser
        .post(
            "/console/login",
            &[
                ("email", "ada@example.com"),
                ("password", "correct horse battery"),
            ],
        )
        .await;
    assert_eq!(answer.status, StatusCode::SEE_OTHER);
    let cookie = answer.header("set-cookie").unwrap();
    for part in [
        "gatehouse_session=sk-",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/console",
    ] {
        assert!(cookie.contains(part), "{cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    let key = browser.cookie("gatehouse_session").unwrap();
    let account = browser.follow(&answer).await;
    assert_eq!(account.heading().as_deref(), Some("Account"));
    // Who she is, as /v1/me/info tells it: email, name, then her role by id.
    let facts = account.texts("dl.facts dd");
    assert_eq!(facts[0], "ada@example.com");
    assert_eq!(facts[2], role.to_string());
    // The cookie is the API's session key.
    let info = app
        .call(reqwest::Method::GET, "/v1/me/info", Some(&key), None)
        .await;
    assert_eq!(info.status, StatusCode::OK);

    let out = browser.post("/console/logout", &[]).await;
    assert_eq!(out.status, StatusCode::SEE_OTHER);
    assert_eq!(out.location(), Some("/console/login"));
    let info = app
        .call(reqwest::Method::GET, "/v1/me/info", Some(&key), None)
        .await;
    assert_eq!(info.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        browser.get("/console/account").await.location(),
        Some("/console/login")
    );
}

#[tokio::test]
async fn a_wrong_password_shows_the_apis_sentence_and_keeps_the_email() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    browser.get("/console/login").await;
    let page = browser
        .post(
            "/console/login",
            &[
                ("email", "nobody@example.com"),
                ("password", "wrong-password"),
            ],
        )
        .await;
    assert_eq!(page.status, StatusCode::UNAUTHORIZED);
    assert_eq!(page.alerts(), ["Invalid email or password."]);
    assert_eq!(
        page.attribute("#email", "value").as_deref(),
        Some("nobody@example.com")
    );
    assert_eq!(page.attribute("#password", "value").as_deref(), Some(""));
}

#[tokio::test]
async fn a_form_without_its_csrf_token_is_refused_and_changes_nothing() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    browser.sign_in_as_master().await;
    for fields in [
        vec![("name", "Forged")],
        vec![("name", "Forged"), ("csrf", "0000")],
    ] {
        let page = browser
            .post_raw("/console/admin/organizations", &fields)
            .await;
        assert_eq!(page.status, StatusCode::FORBIDDEN);
        assert_eq!(
            page.alerts(),
            ["The form has expired. Reload the page and try again."]
        );
    }
    // A sign-in without the token neither.
    let mut other = Browser::new(&app);
    other.get("/console/login").await;
    let page = other
        .post_raw(
            "/console/login",
            &[("email", "master"), ("password", MASTER_KEY)],
        )
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    let organizations = app.get("/v1/admin/organizations").await;
    assert_eq!(organizations.body["total"], 0);
}

#[tokio::test]
async fn a_person_without_the_admin_permission_sees_only_their_pages() {
    let app = TestApp::spawn().await;
    let role = app.create_role("people", &[]).await;
    app.create_user("ada@example.com", role, None).await;
    let mut browser = Browser::new(&app);
    let account = browser
        .sign_in("ada@example.com", "correct horse battery")
        .await;
    let links = account.texts("nav[aria-label=Main] a");
    assert_eq!(links, ["Account", "Keys", "Usage"]);
    for path in [
        "/console/admin/organizations",
        "/console/admin/users",
        "/console/admin/organizations/1",
    ] {
        let page = browser.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(page.alerts(), ["Insufficient rights."], "{path}");
    }
    let page = browser
        .post("/console/admin/organizations", &[("name", "Mine")])
        .await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(app.get("/v1/admin/organizations").await.body["total"], 0);
}

#[tokio::test]
async fn organizations_are_created_renamed_and_deleted_with_the_apis_sentences() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    browser.sign_in_as_master().await;
    let list = browser.get("/console/admin/organizations").await;
    assert_eq!(list.heading().as_deref(), Some("Organizations"));

    let created = browser
        .post("/console/admin/organizations", &[("name", "  Acme ")])
        .await;
    assert_eq!(created.status, StatusCode::SEE_OTHER);
    let list = browser.follow(&created).await;
    assert_eq!(
        list.flash().as_deref(),
        Some("Organization “Acme” created.")
    );
    assert!(list.texts("tbody td a").contains(&"Acme".to_owned()));
    // The flash is shown once.
    let again = browser.get("/console/admin/organizations").await;
    assert_eq!(again.flash(), None);

    let taken = browser
        .post("/console/admin/organizations", &[("name", "Acme")])
        .await;
    assert_eq!(taken.status, StatusCode::CONFLICT);
    assert_eq!(
        taken.field_error("name").as_deref(),
        Some("Organization already exists.")
    );
    assert_eq!(
        taken.attribute("#name", "aria-invalid").as_deref(),
        Some("true")
    );
    let empty = browser
        .post("/console/admin/organizations", &[("name", "   ")])
        .await;
    assert_eq!(empty.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(empty.field_error("name").is_some(), "{}", empty.html);

    let id = app.get("/v1/admin/organizations").await.body["data"][0]["id"]
        .as_i64()
        .unwrap();
    let path = format!("/console/admin/organizations/{id}");
    let edit = browser.get(&path).await;
    assert_eq!(edit.attribute("#name", "value").as_deref(), Some("Acme"));
    let saved = browser.post(&path, &[("name", "Acme Corp")]).await;
    assert_eq!(saved.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/v1/admin/organizations/{id}")).await.body["name"],
        "Acme Corp"
    );

    let confirm = browser.get(&format!("{path}/delete")).await;
    assert_eq!(
        confirm.heading().as_deref(),
        Some("Delete organization “Acme Corp”?")
    );
    let role = app.create_role("people", &[]).await;
    let user = app.create_user("ada@example.com", role, Some(id)).await;
    let refused = browser.post(&format!("{path}/delete"), &[]).await;
    assert_eq!(refused.status, StatusCode::CONFLICT);
    assert_eq!(
        refused.alerts(),
        ["Delete organization with users is not allowed."]
    );
    app.delete(&format!("/v1/admin/users/{user}")).await;
    let deleted = browser.post(&format!("{path}/delete"), &[]).await;
    assert_eq!(deleted.status, StatusCode::SEE_OTHER);
    assert_eq!(
        app.get(&format!("/v1/admin/organizations/{id}"))
            .await
            .status,
        StatusCode::NOT_FOUND
    );
    let gone = browser.get(&path).await;
    assert_eq!(gone.status, StatusCode::NOT_FOUND);
    assert_eq!(gone.alerts(), ["Organization not found."]);
}

#[tokio::test]
async fn lists_page_and_sort_as_the_api_does() {
    let app = TestApp::spawn().await;
    for name in ["b", "a", "d", "c", "e", "g", "f", "h", "j", "i", "k", "l"] {
        app.create_organization(name).await;
    }
    let mut browser = Browser::new(&app);
    browser.sign_in_as_master().await;
    let first = browser
        .get("/console/admin/organizations?order_by=name&order_direction=desc")
        .await;
    let names = first.texts("tbody td:nth-child(2)");
    assert_eq!(names, ["l", "k", "j", "i", "h", "g", "f", "e", "d", "c"]);
    assert_eq!(
        first.attribute("th[aria-sort]", "aria-sort").as_deref(),
        Some("descending")
    );
    assert_eq!(
        first.text("nav[aria-label=Pagination] span").as_deref(),
        Some("1–10 of 12")
    );
    let next = first.attribute("a[rel=next]", "href").unwrap();
    let second = browser.get(&next).await;
    assert_eq!(second.texts("tbody td:nth-child(2)"), ["b", "a"]);
    let invalid = browser.get("/console/admin/organizations?limit=1000").await;
    assert_eq!(invalid.status, StatusCode::UNPROCESSABLE_ENTITY);
}

#[tokio::test]
async fn the_master_users_account_shows_why_it_cannot_change_instead_of_forms() {
    let app = TestApp::spawn().await;
    let mut browser = Browser::new(&app);
    let account = browser.sign_in_as_master().await;
    assert_eq!(
        account.text(".alert.info").as_deref(),
        Some("Master is not allowed to process this action.")
    );
    assert!(account.texts("main form").is_empty(), "{}", account.html);
}

#[tokio::test]
async fn a_person_renames_themselves_and_changes_email_and_password_with_the_apis_rules() {
    let app = TestApp::spawn().await;
    let role = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", role, None).await;
    let mut browser = Browser::new(&app);
    browser
        .sign_in("ada@example.com", "correct horse battery")
        .await;

    let renamed = browser
        .post(
            "/console/account",
            &[("name", "Ada"), ("email", "ada@example.com")],
        )
        .await;
    assert_eq!(renamed.status, StatusCode::SEE_OTHER);
    let account = browser.follow(&renamed).await;
    assert_eq!(account.flash().as_deref(), Some("Profile saved."));
    let user = app.get(&format!("/v1/admin/users/{ada}")).await;
    assert_eq!(user.body["name"], "Ada");

    // A new email needs the current password, as PATCH /v1/me/info does.
    let refused = browser
        .post(
            "/console/account",
            &[
                ("name", "Ada"),
                ("email", "lovelace@example.com"),
                ("current_password", "nope"),
            ],
        )
        .await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        refused.field_error("profile-current_password").as_deref(),
        Some("Invalid current password.")
    );
    assert_eq!(
        refused.attribute("#email", "value").as_deref(),
        Some("lovelace@example.com")
    );

    // The session that changes the password goes on (a sign-in replaces the person's previous
    // session, so there is no other console session to end).
    let short = browser
        .post(
            "/console/account/password",
            &[
                ("current_password", "correct horse battery"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(short.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(short.field_error("password").is_some(), "{}", short.html);
    let changed = browser
        .post(
            "/console/account/password",
            &[
                ("current_password", "correct horse battery"),
                ("password", "a much longer passphrase"),
            ],
        )
        .await;
    assert_eq!(changed.status, StatusCode::SEE_OTHER);
    assert_eq!(
        browser.follow(&changed).await.flash().as_deref(),
        Some("Password changed.")
    );
    assert_eq!(browser.get("/console/account").await.status, StatusCode::OK);
    let login = app
        .post(
            "/v1/auth/login",
            serde_json::json!({"email": "ada@example.com", "password": "a much longer passphrase"}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
}
