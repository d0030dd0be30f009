//! The console's audit log page: the events newest first as `GET /v1/admin/audit` shows them,
//! its filters, its pages, and the export of a page as the API's CSV.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use gatehouse_domain::chrono::{TimeDelta, Utc};
use reqwest::StatusCode;
use scraper::{Html, Selector};
use serde_json::{Value, json};
use support::console::{Browser, Page};
use support::{MASTER_KEY, TestApp};

const PAGE: &str = "/console/admin/audit";

/// A server where the master key created an organization "Acme" and renamed it "Acme Corp",
/// created a role and a user (Ada); then Ada signed in, then the master user: a browser signed
/// in as the master user, the organization's id and Ada's.
async fn events() -> (TestApp, Browser, i64, i64) {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let renamed = app
        .patch(
            &format!("/v1/admin/organizations/{acme}"),
            json!({"name": "Acme Corp"}),
        )
        .await;
    assert_eq!(renamed.status, StatusCode::NO_CONTENT, "{}", renamed.text);
    let role = app.create_role("people", &[]).await;
    let ada = app.create_user("ada@example.com", role, Some(acme)).await;
    Browser::new(&app)
        .sign_in("ada@example.com", "correct horse battery")
        .await;
    let mut browser = Browser::new(&app);
    browser.sign_in_as_master().await;
    (app, browser, acme, ada)
}

/// The cells of the events table, row by row.
fn rows(page: &Page) -> Vec<Vec<String>> {
    let html = Html::parse_document(&page.html);
    let (rows, cells) = (
        Selector::parse("table tbody tr").unwrap(),
        Selector::parse("td").unwrap(),
    );
    html.select(&rows)
        .map(|row| {
            row.select(&cells)
                .map(|cell| cell.text().collect::<String>().trim().to_owned())
                .collect()
        })
        .collect()
}

/// The ids of the events shown, in order.
fn ids(page: &Page) -> Vec<i64> {
    rows(page)
        .iter()
        .map(|row| row[0].parse().expect("an id"))
        .collect()
}

/// The actions of the events shown, in order.
fn actions(page: &Page) -> Vec<String> {
    rows(page).into_iter().map(|row| row[4].clone()).collect()
}

/// `GET /v1/admin/audit?query` as the master key: the list.
async fn api_events(app: &TestApp, query: &str) -> Value {
    let answer = app.get(&format!("/v1/admin/audit?{query}")).await;
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body
}

/// A date `days` from today, as a date input's value.
fn day(days: i64) -> String {
    (Utc::now() + TimeDelta::days(days))
        .format("%Y-%m-%d")
        .to_string()
}

#[tokio::test]
async fn the_log_shows_the_events_newest_first_as_the_api_shows_them() {
    let (app, mut browser, acme, _) = events().await;
    let page = browser.get(PAGE).await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.heading().as_deref(), Some("Audit log"));
    assert_eq!(page.text("table caption").as_deref(), Some("Audit events"));
    assert_eq!(
        page.attribute("th[aria-sort]", "aria-sort").as_deref(),
        Some("descending")
    );

    let api = api_events(&app, "order_direction=desc").await;
    let api_ids: Vec<i64> = api["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["id"].as_i64().unwrap())
        .collect();
    assert_eq!(ids(&page), api_ids);
    assert_eq!(
        actions(&page),
        ["login", "login", "create", "create", "update", "create"]
    );
    assert_eq!(
        page.text("nav[aria-label=Pagination] span").as_deref(),
        Some("1–6 of 6")
    );

    // The rename: who, from where, in which request, and the organization before and after.
    let rename = &api["data"][4];
    let row = &rows(&page)[4];
    assert_eq!(
        row[2], "User 0127.0.0.1",
        "the master user, from the loopback"
    );
    assert_eq!(row[3], rename["request_id"].as_str().unwrap());
    assert_eq!(row[5], format!("organization {acme}"));
    let before: Value = serde_json::from_str(&row[6]).unwrap();
    let after: Value = serde_json::from_str(&row[7]).unwrap();
    assert_eq!(before, rename["before"]);
    assert_eq!(after, rename["after"]);
    assert_eq!(after["name"], "Acme Corp");
    assert!(!row[6].contains('\n'), "compact JSON: {}", row[6]);
    // A creation has nothing before.
    assert_eq!(rows(&page)[5][6], "");
    assert!(!page.html.contains("style="), "no inline style");
}

#[tokio::test]
async fn every_filter_narrows_the_events_and_stays_in_the_form() {
    let (_app, mut browser, acme, ada) = events().await;
    let cases = [
        (
            "entity_type=organization".to_owned(),
            vec!["update", "create"],
        ),
        (
            "entity_type=organization&action=update&actor=&entity_id=".to_owned(),
            vec!["update"],
        ),
        (
            format!("entity_type=organization&entity_id={acme}"),
            vec!["update", "create"],
        ),
        (format!("actor={ada}"), vec!["login"]),
        (
            format!("action=login&from={}&to={}", day(-1), day(1)),
            vec!["login", "login"],
        ),
        (format!("from={}", day(1)), vec![]),
        (format!("to={}", day(-1)), vec![]),
    ];
    for (query, expected) in cases {
        let page = browser.get(&format!("{PAGE}?{query}")).await;
        assert_eq!(page.status, StatusCode::OK, "{query}: {}", page.html);
        assert_eq!(actions(&page), expected, "{query}");
    }
    let page = browser
        .get(&format!(
            "{PAGE}?entity_type=organization&action=update&actor=0&from={}",
            day(-1)
        ))
        .await;
    assert_eq!(
        page.attribute("select#entity_type option[selected]", "value")
            .as_deref(),
        Some("organization")
    );
    assert_eq!(
        page.attribute("select#action option[selected]", "value")
            .as_deref(),
        Some("update")
    );
    assert_eq!(page.attribute("input#actor", "value").as_deref(), Some("0"));
    assert_eq!(page.attribute("input#from", "value"), Some(day(-1)));
    assert_eq!(
        page.attribute("input#from", "type").as_deref(),
        Some("date")
    );
    // "Any" is the first choice of each select.
    assert_eq!(
        page.texts("select#action option")
            .first()
            .map(String::as_str),
        Some("Any")
    );
}

#[tokio::test]
async fn an_invalid_filter_is_shown_next_to_its_field_with_the_apis_sentence() {
    let (_app, mut browser, _, _) = events().await;
    let page = browser
        .get(&format!("{PAGE}?action=explode&entity_id=x&to=tomorrow"))
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.field_error("action").as_deref(),
        Some(
            "Input should be 'create', 'update', 'delete', 'add_member', 'remove_member', \
             'login', 'login_failed', 'password_change'."
        )
    );
    assert_eq!(
        page.field_error("entity_id").as_deref(),
        Some("Input should be a valid integer, unable to parse string as an integer")
    );
    assert_eq!(
        page.field_error("to").as_deref(),
        Some("Input should be a valid date in the format YYYY-MM-DD.")
    );
    assert_eq!(
        page.attribute("input#entity_id", "value").as_deref(),
        Some("x")
    );
    assert!(rows(&page).is_empty());
}

#[tokio::test]
async fn pages_keep_the_filters_and_go_either_way() {
    let (_app, mut browser, _, _) = events().await;
    let page = browser.get(&format!("{PAGE}?action=create&limit=2")).await;
    assert_eq!(actions(&page), ["create", "create"]);
    assert_eq!(
        page.text("nav[aria-label=Pagination] span").as_deref(),
        Some("1–2 of 3")
    );
    let next = page.attribute("a[rel=next]", "href").unwrap();
    assert!(
        next.contains("action=create") && next.contains("offset=2"),
        "{next}"
    );
    let second = browser.get(&next).await;
    assert_eq!(actions(&second), ["create"]);
    assert!(ids(&second)[0] < ids(&page)[1]);
    let oldest_first = browser
        .get(&format!(
            "{PAGE}?action=create&order_by=id&order_direction=asc"
        ))
        .await;
    let mut newest_first = ids(&page);
    newest_first.extend(ids(&second));
    newest_first.reverse();
    assert_eq!(ids(&oldest_first), newest_first);
}

#[tokio::test]
async fn the_export_is_the_apis_csv_of_the_same_filters_and_page() {
    let (app, mut browser, _, _) = events().await;
    let page = browser
        .get(&format!(
            "{PAGE}?entity_type=organization&action=&limit=1&offset=1"
        ))
        .await;
    assert_eq!(actions(&page), ["create"]);
    let link = page
        .attribute("a[download]", "href")
        .expect("an export link");
    assert_eq!(page.text("a[download]").as_deref(), Some("Export CSV"));
    assert_eq!(
        link,
        "/console/admin/audit.csv?entity_type=organization&limit=1&offset=1"
    );

    let export = browser.get(&link).await;
    assert_eq!(export.status, StatusCode::OK, "{}", export.html);
    assert_eq!(
        export.header("content-type"),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        export.header("content-disposition"),
        Some("attachment; filename=\"audit.csv\"")
    );
    let api = app
        .send(
            app.client
                .get(app.url(
                    "/v1/admin/audit?entity_type=organization&limit=1&offset=1&order_direction=desc",
                ))
                .bearer_auth(MASTER_KEY)
                .header("Accept", "text/csv"),
        )
        .await;
    assert_eq!(api.status, StatusCode::OK);
    assert_eq!(export.html, api.text, "the API's very CSV");

    let mut reader = csv::Reader::from_reader(export.html.as_bytes());
    assert_eq!(
        reader.headers().unwrap(),
        vec![
            "id",
            "created",
            "actor_user",
            "actor_key",
            "actor_address",
            "request_id",
            "action",
            "entity_type",
            "entity_id",
            "before",
            "after"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len(), 1);
    assert_eq!(&records[0][0], rows(&page)[0][0].as_str());
    assert_eq!(&records[0][6], "create");
    assert_eq!(&records[0][7], "organization");
    assert_eq!(&records[0][9], "");
    let after: Value = serde_json::from_str(&records[0][10]).unwrap();
    assert_eq!(after["name"], "Acme");
}

#[tokio::test]
async fn the_log_and_its_export_are_for_admins_only() {
    let (app, _, _, _) = events().await;
    let mut ada = Browser::new(&app);
    ada.sign_in("ada@example.com", "correct horse battery")
        .await;
    for path in [PAGE, "/console/admin/audit.csv"] {
        let page = ada.get(path).await;
        assert_eq!(page.status, StatusCode::FORBIDDEN, "{path}");
        assert_eq!(page.alerts(), ["Insufficient rights."], "{path}");
        let mut visitor = Browser::new(&app);
        let page = visitor.get(path).await;
        assert_eq!(page.status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(page.location(), Some("/console/login"), "{path}");
    }
}
