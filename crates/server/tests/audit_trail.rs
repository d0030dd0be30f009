//! What the audit log records of the changes made through the API and of logins: one event per
//! change, written with it, showing the object as `GET` did before and after, and never a secret.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{MASTER_KEY, TestApp};

/// The address every test client calls from.
const LOOPBACK: &str = "127.0.0.1";

/// The events matching `query` (without paging), oldest first.
async fn events(app: &TestApp, query: &str) -> Vec<Value> {
    let answer = app.get(&format!("/v1/admin/audit?limit=100&{query}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"].as_array().expect("data").clone()
}

/// Every event, oldest first.
async fn all_events(app: &TestApp) -> Vec<Value> {
    let mut all = Vec::new();
    loop {
        let answer = app
            .get(&format!("/v1/admin/audit?limit=100&offset={}", all.len()))
            .await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        let page = answer.body["data"].as_array().expect("data").clone();
        if page.is_empty() {
            return all;
        }
        all.extend(page);
    }
}

/// How many events there are.
async fn count(app: &TestApp) -> i64 {
    let answer = app.get("/v1/admin/audit?limit=1").await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["total"].as_i64().expect("a total")
}

/// Sends `method path` with `key`, `body` and an `X-Request-Id` of `request_id`.
async fn call_as(
    app: &TestApp,
    method: Method,
    path: &str,
    key: &str,
    request_id: &str,
    body: Option<Value>,
) -> support::Answer {
    let mut request = app
        .client
        .request(method, app.url(path))
        .bearer_auth(key)
        .header("X-Request-Id", request_id);
    if let Some(body) = body {
        request = request.json(&body);
    }
    app.send(request).await
}

/// Checks the parts of `event` a test names.
fn assert_event(
    event: &Value,
    action: &str,
    entity: (&str, &Value),
    before: &Value,
    after: &Value,
) {
    assert_eq!(event["object"], "auditEvent", "{event}");
    assert_eq!(event["action"], action, "{event}");
    assert_eq!(event["entity"]["type"], entity.0, "{event}");
    assert_eq!(&event["entity"]["id"], entity.1, "{event}");
    assert_eq!(&event["before"], before, "{event}");
    assert_eq!(&event["after"], after, "{event}");
}

#[tokio::test]
async fn an_organizations_life_is_recorded_with_who_did_it_from_where_and_what_it_was() {
    let app = TestApp::spawn().await;
    let created = call_as(
        &app,
        Method::POST,
        "/v1/admin/organizations",
        MASTER_KEY,
        "create-acme",
        Some(json!({"name": "Acme"})),
    )
    .await;
    assert_eq!(created.status, StatusCode::CREATED);
    let id = created.body["id"].as_i64().unwrap();
    let path = format!("/v1/admin/organizations/{id}");
    let renamed = app
        .patch_returning(&path, json!({"name": "Acme Corp"}))
        .await;
    assert_eq!(renamed.status, StatusCode::OK);
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);

    let events = events(&app, &format!("entity_type=organization&entity_id={id}")).await;
    assert_eq!(events.len(), 3, "{events:?}");
    assert_event(
        &events[0],
        "create",
        ("organization", &json!(id)),
        &Value::Null,
        &created.body,
    );
    assert_event(
        &events[1],
        "update",
        ("organization", &json!(id)),
        &created.body,
        &renamed.body,
    );
    assert_event(
        &events[2],
        "delete",
        ("organization", &json!(id)),
        &renamed.body,
        &Value::Null,
    );
    // The master key acts as user 0, with no stored key.
    assert_eq!(
        events[0]["actor"],
        json!({"user": 0, "key": null, "address": LOOPBACK})
    );
    assert_eq!(events[0]["request_id"], "create-acme");
    // A request without a usable id gets one made up, and it is the one the answer carried.
    assert!(
        events[1]["request_id"]
            .as_str()
            .is_some_and(|id| id.len() == 36)
    );
    assert!(events[0]["created"].as_i64().unwrap() <= events[2]["created"].as_i64().unwrap());
    assert!(events[0]["id"].as_i64().unwrap() < events[1]["id"].as_i64().unwrap());
}

#[tokio::test]
async fn a_change_made_with_a_users_key_names_the_user_and_the_key() {
    let app = TestApp::spawn().await;
    let role = app.create_role("admins", &["admin"]).await;
    let admin = app.create_user("ada@example.com", role, None).await;
    let (key_id, key) = app.create_key_with_id(admin).await;
    let answer = call_as(
        &app,
        Method::POST,
        "/v1/admin/roles",
        &key,
        "by-ada",
        Some(json!({"name": "readers", "permissions": ["read_metric"]})),
    )
    .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    let events = events(&app, &format!("actor={admin}")).await;
    assert_eq!(events.len(), 1, "{events:?}");
    assert_event(
        &events[0],
        "create",
        ("role", &answer.body["id"]),
        &Value::Null,
        &answer.body,
    );
    assert_eq!(
        events[0]["actor"],
        json!({"user": admin, "key": key_id, "address": LOOPBACK})
    );
    assert_eq!(events[0]["request_id"], "by-ada");
}

#[tokio::test]
async fn roles_users_and_their_changes_are_recorded_as_get_shows_them() {
    let app = TestApp::spawn().await;
    let role = app
        .post(
            "/v1/admin/roles",
            json!({"name": "members", "limits": [{"router_id": 1, "type": "rpm", "value": 5}]}),
        )
        .await
        .body;
    let role_id = role["id"].as_i64().unwrap();
    let changed_role = app
        .call(
            Method::PATCH,
            &format!("/v1/admin/roles/{role_id}"),
            Some(MASTER_KEY),
            Some(json!({"permissions": ["read_metric"]})),
        )
        .await
        .body;
    let user = app
        .post(
            "/v1/admin/users",
            json!({"email": "bob@example.com", "password": "first password", "role": role_id}),
        )
        .await;
    assert_eq!(user.status, StatusCode::CREATED, "{}", user.text);
    let user_id = user.body["id"].as_i64().unwrap();
    let path = format!("/v1/admin/users/{user_id}");
    let renamed = app
        .patch_returning(&path, json!({"name": "Bob"}))
        .await
        .body;
    let with_password = app
        .patch_returning(&path, json!({"password": "second password", "priority": 3}))
        .await
        .body;

    let role_events = events(&app, &format!("entity_type=role&entity_id={role_id}")).await;
    assert_eq!(role_events.len(), 2, "{role_events:?}");
    // The role as read when the user was not there yet: `users` is 0 in both.
    assert_event(
        &role_events[1],
        "update",
        ("role", &json!(role_id)),
        &role,
        &changed_role,
    );

    let user_events = events(&app, &format!("entity_type=user&entity_id={user_id}")).await;
    assert_eq!(user_events.len(), 3, "{user_events:?}");
    assert_event(
        &user_events[0],
        "create",
        ("user", &json!(user_id)),
        &Value::Null,
        &user.body,
    );
    assert_event(
        &user_events[1],
        "update",
        ("user", &json!(user_id)),
        &user.body,
        &renamed,
    );
    // A password change says so, never what the password is.
    let mut shown = with_password.clone();
    shown["password"] = json!("changed");
    assert_event(
        &user_events[2],
        "password_change",
        ("user", &json!(user_id)),
        &renamed,
        &shown,
    );
    assert_eq!(app.delete(&path).await.status, StatusCode::NO_CONTENT);
    let deleted = events(
        &app,
        &format!("entity_type=user&entity_id={user_id}&action=delete"),
    )
    .await;
    assert_event(
        &deleted[0],
        "delete",
        ("user", &json!(user_id)),
        &with_password,
        &Value::Null,
    );
}

#[tokio::test]
async fn keys_are_recorded_masked_whoever_makes_or_deletes_them() {
    let app = TestApp::spawn().await;
    let (user, key) = app.user_with_key("kim@example.com", &[]).await;
    let tokens = events(&app, "entity_type=token").await;
    assert_eq!(tokens.len(), 1, "{tokens:?}");
    let admin_made = &tokens[0];
    assert_eq!(admin_made["action"], "create");
    assert_eq!(admin_made["after"]["user"], json!(user));
    assert_ne!(admin_made["after"]["token"], json!(key));
    assert!(
        admin_made["after"]["token"]
            .as_str()
            .unwrap()
            .contains("...")
    );

    let own = app
        .call(
            Method::POST,
            "/v1/me/keys",
            Some(&key),
            Some(json!({"name": "laptop"})),
        )
        .await;
    assert_eq!(own.status, StatusCode::CREATED, "{}", own.text);
    let own_id = own.body["id"].as_i64().unwrap();
    let shown = app.get(&format!("/v1/admin/tokens/{own_id}")).await.body;
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/v1/me/keys/{own_id}"),
            Some(&key),
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);

    let own_events = events(&app, &format!("entity_type=token&entity_id={own_id}")).await;
    assert_eq!(own_events.len(), 2, "{own_events:?}");
    assert_event(
        &own_events[0],
        "create",
        ("token", &json!(own_id)),
        &Value::Null,
        &shown,
    );
    assert_event(
        &own_events[1],
        "delete",
        ("token", &json!(own_id)),
        &shown,
        &Value::Null,
    );
    assert_eq!(own_events[1]["actor"]["user"], json!(user));
    assert_eq!(own_events[1]["actor"]["key"], admin_made["entity"]["id"]);
}

#[tokio::test]
async fn projects_and_their_memberships_are_recorded_on_the_project() {
    let app = TestApp::spawn().await;
    let organization = app.create_organization("Acme").await;
    let role = app.create_role("members", &[]).await;
    let user = app
        .create_user("lea@example.com", role, Some(organization))
        .await;
    let project = app
        .post(
            "/v1/admin/projects",
            json!({"name": "Apollo", "organization": organization}),
        )
        .await
        .body;
    let id = project["id"].as_i64().unwrap();
    let member_path = format!("/v1/admin/projects/{id}/members/{user}");
    for _ in 0..2 {
        let added = app
            .call(Method::PUT, &member_path, Some(MASTER_KEY), None)
            .await;
        assert_eq!(added.status, StatusCode::NO_CONTENT);
    }
    let member = app
        .get(&format!("/v1/admin/projects/{id}/members"))
        .await
        .body["data"][0]
        .clone();
    assert_eq!(
        app.delete(&member_path).await.status,
        StatusCode::NO_CONTENT
    );
    let renamed = app
        .patch_returning(&format!("/v1/admin/projects/{id}"), json!({"budget": 12.5}))
        .await
        .body;
    assert_eq!(
        app.delete(&format!("/v1/admin/projects/{id}")).await.status,
        StatusCode::NO_CONTENT
    );

    let events = events(&app, &format!("entity_type=project&entity_id={id}")).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    // Adding a member twice changes something once.
    assert_eq!(
        actions,
        ["create", "add_member", "remove_member", "update", "delete"]
    );
    assert_event(
        &events[0],
        "create",
        ("project", &json!(id)),
        &Value::Null,
        &project,
    );
    assert_event(
        &events[1],
        "add_member",
        ("project", &json!(id)),
        &Value::Null,
        &member,
    );
    assert_event(
        &events[2],
        "remove_member",
        ("project", &json!(id)),
        &member,
        &Value::Null,
    );
    assert_event(
        &events[4],
        "delete",
        ("project", &json!(id)),
        &renamed,
        &Value::Null,
    );
}

#[tokio::test]
async fn a_users_own_changes_are_recorded_as_theirs() {
    let app = TestApp::spawn().await;
    let (user, key) = app.user_with_key("max@example.com", &[]).await;
    let key_id = events(&app, "entity_type=token").await[0]["entity"]["id"].clone();
    let renamed = app
        .call(
            Method::PATCH,
            "/v1/me/info",
            Some(&key),
            Some(json!({"name": "Max"})),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::NO_CONTENT, "{}", renamed.text);
    let changed = app
        .call(
            Method::PATCH,
            "/v1/me/info",
            Some(&key),
            Some(
                json!({"current_password": "correct horse battery", "password": "a new password"}),
            ),
        )
        .await;
    assert_eq!(changed.status, StatusCode::NO_CONTENT, "{}", changed.text);

    let events = events(&app, &format!("actor={user}")).await;
    let actions: Vec<&str> = events
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["update", "password_change"]);
    for event in &events {
        assert_eq!(event["entity"], json!({"type": "user", "id": user}));
        assert_eq!(
            event["actor"],
            json!({"user": user, "key": key_id, "address": LOOPBACK})
        );
    }
    assert_eq!(events[0]["after"]["name"], "Max");
    assert_eq!(events[1]["after"]["password"], "changed");
    assert!(events[1]["before"].get("password").is_none());
}

#[tokio::test]
async fn logins_are_recorded_and_a_failed_one_keeps_the_email_as_typed() {
    let app = TestApp::spawn().await;
    let role = app.create_role("members", &[]).await;
    let user = app.create_user("nia@example.com", role, None).await;
    let login = |email: &'static str, password: &'static str| {
        let app = &app;
        async move {
            app.call(
                Method::POST,
                "/v1/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await
        }
    };
    let session = login("nia@example.com", "correct horse battery").await;
    assert_eq!(session.status, StatusCode::OK, "{}", session.text);
    let again = login("nia@example.com", "correct horse battery").await;
    assert_eq!(
        login(" NIA@example.com", "wrong password").await.status,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(login("master", MASTER_KEY).await.status, StatusCode::OK);

    let logins = events(&app, "entity_type=session").await;
    let actions: Vec<&str> = logins
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["login", "login", "login_failed", "login"]);
    let first = &logins[0];
    assert_eq!(first["entity"]["id"], session.body["id"]);
    assert_eq!(
        first["actor"],
        json!({"user": user, "key": null, "address": LOOPBACK})
    );
    assert_eq!(first["before"], Value::Null);
    assert_eq!(first["after"]["object"], "token");
    assert_eq!(first["after"]["name"], "playground");
    // The second login's session replaces the first, which its event shows as `before`.
    assert_eq!(logins[1]["entity"]["id"], again.body["id"]);
    assert_eq!(logins[1]["before"], first["after"]);
    let failed = &logins[2];
    assert_eq!(
        failed["actor"],
        json!({"user": null, "key": null, "address": LOOPBACK})
    );
    assert_eq!(failed["after"], json!({"email": " NIA@example.com"}));
    assert_eq!(failed["entity"], json!({"type": "session", "id": null}));
    assert_eq!(logins[3]["actor"]["user"], 0);
}

#[tokio::test]
async fn a_change_that_fails_leaves_no_event() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    app.create_organization("Globex").await;
    let role = app.create_role("members", &[]).await;
    app.create_user("ola@example.com", role, Some(acme)).await;
    let before = count(&app).await;
    let refused = [
        app.post("/v1/admin/organizations", json!({"name": "Acme"}))
            .await
            .status,
        app.patch(
            &format!("/v1/admin/organizations/{acme}"),
            json!({"name": "Globex"}),
        )
        .await
        .status,
        app.patch(
            &format!("/v1/admin/organizations/{acme}"),
            json!({"name": ""}),
        )
        .await
        .status,
        app.delete(&format!("/v1/admin/organizations/{acme}"))
            .await
            .status,
        app.delete(&format!("/v1/admin/roles/{role}")).await.status,
        app.delete("/v1/admin/users/999999").await.status,
        app.post(
            "/v1/admin/users",
            json!({"email": "ola@example.com", "password": "long enough", "role": role}),
        )
        .await
        .status,
    ];
    assert_eq!(
        refused.map(|status| status.as_u16()),
        [409, 409, 422, 409, 409, 404, 409]
    );
    // An empty patch changes nothing, and records nothing.
    let empty = app
        .patch(&format!("/v1/admin/organizations/{acme}"), json!({}))
        .await;
    assert_eq!(empty.status, StatusCode::NO_CONTENT);
    assert_eq!(count(&app).await, before);
}

#[tokio::test]
async fn gateway_calls_are_not_audit_events() {
    let app = TestApp::spawn().await;
    let (_, key) = app.user_with_key("gus@example.com", &[]).await;
    let before = count(&app).await;
    let decision = app
        .authorize(
            MASTER_KEY,
            json!({"key": key, "router": 1, "request_id": "call-1"}),
        )
        .await;
    assert_eq!(decision.status, StatusCode::OK, "{}", decision.text);
    let usage = app
        .report_usage(
            MASTER_KEY,
            json!({"request_id": "call-1", "prompt_tokens": 1, "completion_tokens": 1, "cost": 0}),
        )
        .await;
    assert_eq!(usage.status, StatusCode::CREATED, "{}", usage.text);
    assert_eq!(count(&app).await, before);
}

#[tokio::test]
async fn no_event_holds_a_password_a_key_or_a_hash() {
    let app = TestApp::spawn().await;
    let role = app.create_role("members", &["admin"]).await;
    let user = app
        .post(
            "/v1/admin/users",
            json!({"email": "sue@example.com", "password": "first secret pw", "role": role}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let (_, key) = app.create_key_with_id(user).await;
    let own = app
        .call(
            Method::POST,
            "/v1/me/keys",
            Some(&key),
            Some(json!({"name": "own"})),
        )
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.patch(
        &format!("/v1/admin/users/{user}"),
        json!({"password": "second secret pw"}),
    )
    .await;
    let session = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "sue@example.com", "password": "second secret pw"})),
        )
        .await
        .body["key"]
        .as_str()
        .unwrap()
        .to_owned();
    app.call(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(json!({"email": "sue@example.com", "password": "third secret pw"})),
    )
    .await;
    app.call(
        Method::PATCH,
        "/v1/me/info",
        Some(&session),
        Some(json!({"current_password": "second secret pw", "password": "fourth secret pw"})),
    )
    .await;

    let text = serde_json::to_string(&all_events(&app).await).unwrap();
    assert!(text.contains("password_change"), "{text}");
    for secret in [
        "first secret pw",
        "second secret pw",
        "third secret pw",
        "fourth secret pw",
        key.as_str(),
        own.as_str(),
        session.as_str(),
        MASTER_KEY,
        "$argon2",
    ] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
}

#[tokio::test]
async fn two_concurrent_updates_of_one_object_both_appear_one_after_the_other() {
    let app = TestApp::spawn().await;
    let id = app.create_organization("Start").await;
    let path = format!("/v1/admin/organizations/{id}");
    let (first, second) = tokio::join!(
        app.patch(&path, json!({"name": "First"})),
        app.patch(&path, json!({"name": "Second"})),
    );
    assert_eq!(
        (first.status, second.status),
        (StatusCode::NO_CONTENT, StatusCode::NO_CONTENT)
    );
    let updates = events(
        &app,
        &format!("entity_id={id}&entity_type=organization&action=update"),
    )
    .await;
    assert_eq!(updates.len(), 2, "{updates:?}");
    // Whichever committed first, the second saw what the first left.
    assert_eq!(updates[0]["before"]["name"], "Start");
    assert_eq!(updates[1]["before"], updates[0]["after"]);
    let last = app.get(&path).await.body;
    assert_eq!(updates[1]["after"], last);
}
