//! `PgLoginFailures` against a real PostgreSQL database.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

mod common;

use std::net::{IpAddr, Ipv4Addr};

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use diesel::RunQueryDsl;
use diesel::sql_types::BigInt;
use gatehouse_domain::{FailureWindow, LoginFailures, ThrottleKey};
use gatehouse_infrastructure::PgLoginFailures;
use gatehouse_infrastructure::testing::TestDatabase;
use tokio::task::JoinSet;

use common::{failed_login_event, trail};

/// The window the tests count in: the application's length, though the adapter is told `since`.
const WINDOW: TimeDelta = TimeDelta::minutes(15);

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 5, 12, 0, 0).unwrap()
}

fn email(raw: &str) -> ThrottleKey {
    ThrottleKey::email(raw)
}

fn address(last: u8) -> ThrottleKey {
    ThrottleKey::address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, last)))
}

/// One failure under `keys` at `at`, in a window of [`WINDOW`].
async fn fail(failures: &PgLoginFailures, keys: &[ThrottleKey], at: DateTime<Utc>) {
    failures
        .record(keys.to_vec(), at, at - WINDOW, failed_login_event())
        .await
        .unwrap();
}

/// The windows of `keys` open at `at`, in the order of `keys`.
async fn open(
    failures: &PgLoginFailures,
    keys: &[ThrottleKey],
    at: DateTime<Utc>,
) -> Vec<FailureWindow> {
    let mut windows = failures
        .open_windows(keys.to_vec(), at - WINDOW)
        .await
        .unwrap();
    windows.sort_by_key(|window| keys.iter().position(|key| *key == window.key));
    windows
}

fn window(key: ThrottleKey, start: DateTime<Utc>, failures: u32) -> FailureWindow {
    FailureWindow {
        key,
        start,
        failures,
    }
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    count: i64,
}

/// The rows of `login_failures`, whether their window is open or not.
fn rows(db: &TestDatabase) -> i64 {
    let mut conn = db.pool().get().unwrap();
    diesel::sql_query("SELECT count(*) AS count FROM login_failures")
        .get_result::<Count>(&mut conn)
        .unwrap()
        .count
}

#[tokio::test]
async fn a_failure_opens_a_window_for_each_key_and_later_ones_count_in_it() {
    let db = TestDatabase::new();
    let failures = PgLoginFailures::new(db.pool(), trail());
    let keys = [email("ada@example.com"), address(7)];
    assert_eq!(open(&failures, &keys, t0()).await, vec![]);

    fail(&failures, &keys, t0()).await;
    assert_eq!(
        open(&failures, &keys, t0()).await,
        vec![
            window(keys[0].clone(), t0(), 1),
            window(keys[1].clone(), t0(), 1),
        ]
    );

    let later = t0() + TimeDelta::minutes(14);
    fail(&failures, &keys[..1], later).await;
    fail(&failures, &keys, later).await;
    assert_eq!(
        open(&failures, &keys, later).await,
        vec![
            window(keys[0].clone(), t0(), 3),
            window(keys[1].clone(), t0(), 2),
        ]
    );
    // Other keys are counted apart.
    assert_eq!(
        open(&failures, &[email("bob@example.com"), address(8)], later).await,
        vec![]
    );
}

#[tokio::test]
async fn a_window_is_open_until_its_length_has_passed_since_its_first_failure() {
    let db = TestDatabase::new();
    let failures = PgLoginFailures::new(db.pool(), trail());
    let keys = [email("ada@example.com")];
    fail(&failures, &keys, t0()).await;
    let last_instant = t0() + WINDOW - TimeDelta::seconds(1);
    assert_eq!(open(&failures, &keys, last_instant).await.len(), 1);
    assert_eq!(open(&failures, &keys, t0() + WINDOW).await, vec![]);
}

#[tokio::test]
async fn a_failure_after_the_window_ended_starts_a_new_one() {
    let db = TestDatabase::new();
    let failures = PgLoginFailures::new(db.pool(), trail());
    let keys = [email("ada@example.com")];
    for _ in 0..5 {
        fail(&failures, &keys, t0()).await;
    }
    let next = t0() + WINDOW;
    fail(&failures, &keys, next).await;
    assert_eq!(
        open(&failures, &keys, next).await,
        vec![window(keys[0].clone(), next, 1)]
    );
}

#[tokio::test]
async fn an_email_in_another_letter_case_counts_under_the_same_key() {
    let db = TestDatabase::new();
    let failures = PgLoginFailures::new(db.pool(), trail());
    fail(&failures, &[email("Ada@Example.COM")], t0()).await;
    fail(&failures, &[email("ADA@EXAMPLE.COM")], t0()).await;
    assert_eq!(
        open(&failures, &[email("ada@example.com")], t0()).await,
        vec![window(email("ada@example.com"), t0(), 2)]
    );
}

#[tokio::test]
async fn clearing_a_key_forgets_its_failures_only() {
    let db = TestDatabase::new();
    let failures = PgLoginFailures::new(db.pool(), trail());
    let keys = [email("ada@example.com"), address(7)];
    fail(&failures, &keys, t0()).await;
    fail(&failures, &keys, t0()).await;
    failures.clear(email("ADA@example.com")).await.unwrap();
    assert_eq!(
        open(&failures, &keys, t0()).await,
        vec![window(keys[1].clone(), t0(), 2)]
    );
    // Clearing a key without failures is no error.
    failures.clear(email("bob@example.com")).await.unwrap();
}

#[tokio::test]
async fn concurrent_failures_all_count() {
    let db = TestDatabase::new();
    let failures = PgLoginFailures::new(db.pool(), trail());
    let ada = email("ada@example.com");
    let mut calls = JoinSet::new();
    for i in 0..24 {
        let failures = failures.clone();
        // Every failure is Ada's; they come from three addresses, in either order of keys.
        let keys = if i % 2 == 0 {
            vec![ada.clone(), address(i % 3)]
        } else {
            vec![address(i % 3), ada.clone()]
        };
        calls.spawn(async move {
            failures
                .record(keys, t0(), t0() - WINDOW, failed_login_event())
                .await
        });
    }
    while let Some(result) = calls.join_next().await {
        result.unwrap().unwrap();
    }
    let keys = [ada.clone(), address(0), address(1), address(2)];
    assert_eq!(
        open(&failures, &keys, t0()).await,
        vec![
            window(ada, t0(), 24),
            window(address(0), t0(), 8),
            window(address(1), t0(), 8),
            window(address(2), t0(), 8),
        ]
    );
}

#[tokio::test]
async fn any_text_typed_at_the_login_can_be_counted() {
    let db = TestDatabase::new();
    let failures = PgLoginFailures::new(db.pool(), trail());
    let long = "a".repeat(64 * 1024);
    let keys = [
        email("nul\0@example.com"),
        email(&long),
        email("ünïcödé@bücher.example"),
    ];
    fail(&failures, &keys, t0()).await;
    assert_eq!(open(&failures, &keys, t0()).await.len(), 3);
}

#[tokio::test]
async fn failures_sweep_away_a_bounded_number_of_windows_that_ended() {
    let db = TestDatabase::new();
    let failures = PgLoginFailures::new(db.pool(), trail());
    let old: Vec<ThrottleKey> = (0..150)
        .map(|i| email(&format!("user{i}@example.com")))
        .collect();
    fail(&failures, &old, t0()).await;
    fail(&failures, &[address(7)], t0() + TimeDelta::minutes(1)).await;
    assert_eq!(rows(&db), 151);

    // Once their window ended, each failure takes up to a hundred of them away with it.
    let later = t0() + WINDOW + TimeDelta::minutes(1);
    fail(&failures, &[email("ada@example.com")], later).await;
    assert_eq!(rows(&db), 50 + 2);
    fail(&failures, &[email("ada@example.com")], later).await;
    // The window of the address, started a minute after the others, ends just now: swept too.
    assert_eq!(rows(&db), 1);
    assert_eq!(
        open(&failures, &[email("ada@example.com")], later).await,
        vec![window(email("ada@example.com"), later, 2)]
    );
}
