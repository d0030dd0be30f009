//! The console's usage pages: one's own (a chart and a table per day, then the records) and
//! everyone's for admins (a summary per user, organization, project, router or day, then the
//! records), with their filters. Usage is made as a gateway makes it: an authorization, then a
//! usage report, at times set on the server's test clock.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::sync::Arc;

use gatehouse_domain::chrono::{DateTime, TimeZone, Utc};
use reqwest::StatusCode;
use scraper::{Html, Selector};
use serde_json::json;
use support::console::{Browser, Page};
use support::{MASTER_KEY, TestApp, TestClock};

/// 2030-06-`day` at `hour`:00, UTC.
fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 6, day, hour, 0, 0).unwrap()
}

/// One model call as a gateway makes it: authorized (allowed), then reported.
async fn call(
    app: &TestApp,
    key: &str,
    request_id: &str,
    router: i64,
    tokens: (i64, i64),
    cost: f64,
) {
    let decision = app
        .decide(
            MASTER_KEY,
            json!({
                "key": key, "router": router, "request_id": request_id,
                "tokens": tokens.0, "cost": cost,
            }),
        )
        .await;
    assert_eq!(decision["allowed"], true, "{decision}");
    let answer = app
        .report_usage(
            MASTER_KEY,
            json!({
                "request_id": request_id,
                "prompt_tokens": tokens.0,
                "completion_tokens": tokens.1,
                "cost": cost,
            }),
        )
        .await;
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
}

/// The people and their calls: Ada (organization Acme) called on June 13 (twice) and 15, Bob
/// (no organization) on June 15. The clock is then at June 15, noon.
struct Usage {
    app: TestApp,
    ada: i64,
    bob: i64,
    acme: i64,
}

async fn usage() -> Usage {
    let clock = TestClock::at(at(13, 10));
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let role = app.create_role("people", &[]).await;
    let acme = app.create_organization("Acme").await;
    let ada = app.create_user("ada@example.com", role, Some(acme)).await;
    let bob = app.create_user("bob@example.com", role, None).await;
    let (ada_key, bob_key) = (app.create_key(ada).await, app.create_key(bob).await);
    call(&app, &ada_key, "ada-1", 1, (100, 20), 0.25).await;
    clock.set(at(13, 11));
    call(&app, &ada_key, "ada-2", 2, (50, 10), 0.5).await;
    clock.set(at(15, 9));
    call(&app, &ada_key, "ada-3", 1, (10, 5), 1.25).await;
    call(&app, &bob_key, "bob-1", 2, (7, 3), 2.0).await;
    clock.set(at(15, 12));
    Usage {
        app,
        ada,
        bob,
        acme,
    }
}

/// The cells of the body rows of the table captioned `caption`.
fn rows(page: &Page, caption: &str) -> Vec<Vec<String>> {
    rows_in(page, caption, "tbody tr")
}

/// The cells of the rows `rows` (a selector within the table) of the table captioned `caption`.
fn rows_in(page: &Page, caption: &str, rows: &str) -> Vec<Vec<String>> {
    let html = Html::parse_document(&page.html);
    let (tables, captions) = (
        Selector::parse("table").unwrap(),
        Selector::parse("caption").unwrap(),
    );
    let (rows, cells) = (
        Selector::parse(rows).unwrap(),
        Selector::parse("th, td").unwrap(),
    );
    let table = html
        .select(&tables)
        .find(|table| {
            table
                .select(&captions)
                .any(|found| found.text().collect::<String>().trim() == caption)
        })
        .unwrap_or_else(|| panic!("a table “{caption}” in {}", page.html));
    table
        .select(&rows)
        .map(|row| {
            row.select(&cells)
                .map(|cell| cell.text().collect::<String>().trim().to_owned())
                .collect()
        })
        .collect()
}

/// Attribute `name` of every element matching `selector`.
fn attributes(page: &Page, selector: &str, name: &str) -> Vec<String> {
    let selector = Selector::parse(selector).unwrap();
    Html::parse_document(&page.html)
        .select(&selector)
        .filter_map(|element| element.value().attr(name).map(str::to_owned))
        .collect()
}

/// A row of a totals table: the group, then the figures.
fn totals(group: &str, requests: i64, tokens: (i64, i64), cost: &str) -> Vec<String> {
    vec![
        group.to_owned(),
        requests.to_string(),
        tokens.0.to_string(),
        tokens.1.to_string(),
        cost.to_owned(),
    ]
}

/// The request ids of the records table, through the API: its ids in the order shown.
fn record_ids(page: &Page) -> Vec<String> {
    rows(page, "Usage records")
        .into_iter()
        .map(|row| row[0].clone())
        .collect()
}

/// The record ids of `request_ids`, as the API numbers them.
async fn ids_of(app: &TestApp, request_ids: &[&str]) -> Vec<String> {
    let all = app.get("/v1/admin/usage?limit=100").await;
    request_ids
        .iter()
        .map(|wanted| {
            all.body["data"]
                .as_array()
                .unwrap()
                .iter()
                .find(|record| record["request_id"] == *wanted)
                .unwrap_or_else(|| panic!("{wanted} in {}", all.text))["id"]
                .to_string()
        })
        .collect()
}

async fn signed_in_as_ada(app: &TestApp) -> Browser {
    let mut browser = Browser::new(app);
    browser
        .sign_in("ada@example.com", "correct horse battery")
        .await;
    browser
}

#[tokio::test]
async fn ones_usage_page_shows_the_last_thirty_days_per_day_in_a_chart_and_a_table() {
    let Usage { app, .. } = usage().await;
    let mut browser = signed_in_as_ada(&app).await;
    let page = browser.get("/console/usage").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.heading().as_deref(), Some("Usage"));
    assert_eq!(
        page.attribute("form.filters input#from", "value")
            .as_deref(),
        Some("2030-05-17")
    );
    assert_eq!(
        page.attribute("form.filters input#to", "value").as_deref(),
        Some("2030-06-16")
    );
    assert_eq!(
        page.attribute("form.filters input#from", "type").as_deref(),
        Some("date")
    );

    let days = rows(&page, "Per day");
    assert_eq!(days.len(), 30, "every day, those without calls too");
    assert_eq!(days[0], totals("2030-05-17", 0, (0, 0), "0.0"));
    assert_eq!(days[27], totals("2030-06-13", 2, (150, 30), "0.75"));
    assert_eq!(days[28], totals("2030-06-14", 0, (0, 0), "0.0"));
    // Only one's own calls: Bob's of the same day are not there.
    assert_eq!(days[29], totals("2030-06-15", 1, (10, 5), "1.25"));

    // The chart: one bar per day, as tall as the day cost, named by its title.
    let title = page.attribute("svg.chart", "aria-labelledby").unwrap();
    assert!(title.contains("chart-title"), "{title}");
    assert_eq!(page.attribute("svg.chart", "role").as_deref(), Some("img"));
    assert_eq!(
        page.text("svg.chart > title").as_deref(),
        Some("Cost per day, 2030-05-17 to 2030-06-15")
    );
    let heights = attributes(&page, "svg.chart rect.bar", "height");
    assert_eq!(heights.len(), 30);
    assert_eq!(heights[27], "103.20");
    assert_eq!(heights[28], "0.00");
    assert_eq!(heights[29], "172.00");
    assert!(!page.html.contains("style="), "no inline style");

    let ids = ids_of(&app, &["ada-1", "ada-2", "ada-3"]).await;
    let records = rows(&page, "Usage records");
    assert_eq!(record_ids(&page), ids);
    let key = app.get("/v1/admin/usage?limit=100").await.body["data"][0]["key"].to_string();
    assert_eq!(
        records[0],
        [
            ids[0].as_str(),
            "2030-06-13 10:00",
            "1",
            "—",
            key.as_str(),
            "100",
            "20",
            "0.25",
            "0.25"
        ]
    );
    assert_eq!(
        page.text("nav[aria-label=Pagination] span").as_deref(),
        Some("1–3 of 3")
    );
}

#[tokio::test]
async fn ones_usage_follows_the_dates_asked_and_sorts_and_pages_its_records() {
    let Usage { app, .. } = usage().await;
    let mut browser = signed_in_as_ada(&app).await;
    let page = browser
        .get("/console/usage?from=2030-06-14&to=2030-06-16")
        .await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(
        rows(&page, "Per day"),
        [
            totals("2030-06-14", 0, (0, 0), "0.0"),
            totals("2030-06-15", 1, (10, 5), "1.25"),
        ]
    );
    assert_eq!(attributes(&page, "svg.chart rect.bar", "height").len(), 2);
    assert_eq!(
        record_ids(&page),
        ids_of(&app, &["ada-3"]).await,
        "`to` is the first day left out"
    );

    // Newest first, two a page; the pager keeps the dates.
    let page = browser
        .get("/console/usage?from=2030-06-01&to=&order_by=created&order_direction=desc&limit=2")
        .await;
    assert_eq!(record_ids(&page), ids_of(&app, &["ada-3", "ada-2"]).await);
    assert_eq!(
        page.attribute("th[aria-sort]", "aria-sort").as_deref(),
        Some("descending")
    );
    let next = page.attribute("a[rel=next]", "href").unwrap();
    assert!(
        next.contains("from=2030-06-01") && next.contains("offset=2"),
        "{next}"
    );
    let second = browser.get(&next).await;
    assert_eq!(record_ids(&second), ids_of(&app, &["ada-1"]).await);
    // Without `to`, the chart ends on the last day with calls.
    assert_eq!(rows(&second, "Per day").len(), 15);
}

#[tokio::test]
async fn a_date_that_is_not_one_is_shown_next_to_its_field() {
    let Usage { app, .. } = usage().await;
    let mut browser = signed_in_as_ada(&app).await;
    let page = browser.get("/console/usage?from=soon&to=2030-06-16").await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.field_error("from").as_deref(),
        Some("Input should be a valid date in the format YYYY-MM-DD.")
    );
    assert_eq!(
        page.attribute("input#from", "aria-invalid").as_deref(),
        Some("true")
    );
    assert_eq!(
        page.attribute("input#from", "value").as_deref(),
        Some("soon")
    );
    assert!(page.attribute("svg.chart", "role").is_none());
}

#[tokio::test]
async fn everyones_usage_is_summed_per_day_by_default_with_a_chart_and_a_total() {
    let Usage { app, ada, acme, .. } = usage().await;
    let mut browser = Browser::new(&app);
    browser.sign_in_as_master().await;
    let page = browser.get("/console/admin/usage").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(page.heading().as_deref(), Some("All usage"));
    assert_eq!(
        page.attribute("select#group_by option[selected]", "value")
            .as_deref(),
        Some("day")
    );
    assert_eq!(
        rows(&page, "Summary"),
        [
            totals("2030-06-13", 2, (150, 30), "0.75"),
            totals("2030-06-15", 2, (17, 8), "3.25"),
        ]
    );
    assert_eq!(
        rows_in(&page, "Summary", "tfoot tr"),
        [totals("Total", 4, (167, 38), "4.0")]
    );
    let heights = attributes(&page, "svg.chart rect.bar", "height");
    assert_eq!(heights.len(), 30);
    assert_eq!(heights[29], "172.00");
    assert_eq!(record_ids(&page).len(), 4);
    // The records show who called.
    assert_eq!(
        rows(&page, "Usage records")[0][2..4],
        [ada.to_string(), acme.to_string()]
    );
}

#[tokio::test]
async fn everyones_usage_is_summed_per_user_organization_and_router_and_filtered() {
    let Usage {
        app,
        ada,
        bob,
        acme,
    } = usage().await;
    let mut browser = Browser::new(&app);
    browser.sign_in_as_master().await;

    let page = browser.get("/console/admin/usage?group_by=user").await;
    assert_eq!(page.status, StatusCode::OK, "{}", page.html);
    assert_eq!(
        rows(&page, "Summary"),
        [
            totals(&ada.to_string(), 3, (160, 35), "2.0"),
            totals(&bob.to_string(), 1, (7, 3), "2.0"),
        ]
    );
    assert!(
        page.attribute("svg.chart", "role").is_none(),
        "a chart only per day"
    );

    let page = browser
        .get("/console/admin/usage?group_by=organization")
        .await;
    assert_eq!(
        rows(&page, "Summary"),
        [
            totals(&acme.to_string(), 3, (160, 35), "2.0"),
            totals("None", 1, (7, 3), "2.0"),
        ]
    );

    let page = browser
        .get(&format!(
            "/console/admin/usage?group_by=router&user={ada}&organization=&project=&router=1&from=2030-06-01&to=2030-07-01"
        ))
        .await;
    assert_eq!(rows(&page, "Summary"), [totals("1", 2, (110, 25), "1.5")]);
    assert_eq!(record_ids(&page), ids_of(&app, &["ada-1", "ada-3"]).await);
    // The records show who called, and the filters stay in the form.
    let records = rows(&page, "Usage records");
    assert_eq!(
        records[0][2..5],
        [ada.to_string(), acme.to_string(), "1".to_owned()]
    );
    assert_eq!(
        page.attribute("input#user", "value").as_deref(),
        Some(ada.to_string().as_str())
    );

    let page = browser
        .get(&format!("/console/admin/usage?user={bob}&from=2030-06-14"))
        .await;
    assert_eq!(
        rows(&page, "Summary"),
        [totals("2030-06-15", 1, (7, 3), "2.0")]
    );
    assert_eq!(record_ids(&page), ids_of(&app, &["bob-1"]).await);
}

#[tokio::test]
async fn an_invalid_filter_of_everyones_usage_is_shown_next_to_its_field() {
    let Usage { app, .. } = usage().await;
    let mut browser = Browser::new(&app);
    browser.sign_in_as_master().await;
    let page = browser
        .get("/console/admin/usage?user=ada&group_by=week")
        .await;
    assert_eq!(page.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(
        page.field_error("user").as_deref(),
        Some("Input should be a valid integer, unable to parse string as an integer")
    );
    assert_eq!(
        page.field_error("group_by").as_deref(),
        Some("Input should be 'user', 'organization', 'project', 'router', 'day'.")
    );
    assert_eq!(
        page.attribute("input#user", "value").as_deref(),
        Some("ada")
    );
}

#[tokio::test]
async fn everyones_usage_is_for_admins_only() {
    let Usage { app, .. } = usage().await;
    let mut browser = signed_in_as_ada(&app).await;
    let page = browser.get("/console/admin/usage").await;
    assert_eq!(page.status, StatusCode::FORBIDDEN);
    assert_eq!(page.alerts(), ["Insufficient rights."]);
    let mut visitor = Browser::new(&app);
    let page = visitor.get("/console/usage").await;
    assert_eq!(page.status, StatusCode::SEE_OTHER);
    assert_eq!(page.location(), Some("/console/login"));
}
