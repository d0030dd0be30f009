//! Two instances on one database, as behind a load balancer, each with its cache of grants: a
//! change made through one takes effect on the other within a second (on the first at once),
//! and a lost LISTEN connection never lets a stale grant through.

#![allow(clippy::unwrap_used)]

mod support;

use std::time::{Duration, Instant};

use gatehouse_domain::chrono::TimeDelta;
use gatehouse_infrastructure::testing::count_rows;
use reqwest::{Method, StatusCode};
use serde_json::json;
use support::{MASTER_KEY, TestApp, TestClock};

/// The contract: a change takes effect on every instance within this.
const WITHIN: Duration = Duration::from_secs(1);

/// The status of `GET path` with `key` on `app`.
async fn status(app: &TestApp, path: &str, key: &str) -> StatusCode {
    app.client
        .get(app.url(path))
        .bearer_auth(key)
        .send()
        .await
        .unwrap()
        .status()
}

/// How long until `GET path` with `key` on `app` answers `expected`, polling; panics past
/// [`WITHIN`]. Once it does, it must keep doing so.
async fn until(app: &TestApp, path: &str, key: &str, expected: StatusCode) -> Duration {
    let start = Instant::now();
    loop {
        let got = status(app, path, key).await;
        if got == expected {
            let delay = start.elapsed();
            for _ in 0..3 {
                assert_eq!(status(app, path, key).await, expected, "{path} went back");
            }
            return delay;
        }
        assert!(
            start.elapsed() < WITHIN,
            "{path} still answers {got}, not {expected}, after {:?}",
            start.elapsed()
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

/// Two instances of one database, sharing `clock`.
async fn pair(clock: std::sync::Arc<TestClock>) -> (TestApp, TestApp) {
    let a = TestApp::spawn_with_clock(clock.clone()).await;
    let b = a.spawn_beside(clock).await;
    (a, b)
}

/// Reads through `b` until its cache holds the grant of `key`.
async fn warm(b: &TestApp, path: &str, key: &str, expected: StatusCode) {
    for _ in 0..2 {
        assert_eq!(
            status(b, path, key).await,
            expected,
            "{path} before the change"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_deleted_through_one_instance_is_refused_by_the_other_within_a_second() {
    let (a, b) = pair(TestClock::now()).await;
    let (user, _) = a.user_with_key("ada@example.com", &[]).await;
    let mut delays = Vec::new();

    for _ in 0..200 {
        let (id, key) = a.create_key_with_id(user).await;
        warm(&b, "/v1/me/info", &key, StatusCode::OK).await;

        a.delete(&format!("/v1/admin/tokens/{id}")).await;

        // At once on the instance that made the change...
        assert_eq!(
            status(&a, "/v1/me/info", &key).await,
            StatusCode::UNAUTHORIZED
        );
        // ...within a second on the other.
        delays.push(until(&b, "/v1/me/info", &key, StatusCode::UNAUTHORIZED).await);
    }

    delays.sort();
    eprintln!(
        "revocation seen by the other instance after: p50 {:?}, p99 {:?}, max {:?}",
        delays[delays.len() / 2],
        delays[delays.len() * 99 / 100],
        delays[delays.len() - 1]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_role_losing_admin_through_one_instance_loses_it_on_the_other() {
    let (a, b) = pair(TestClock::now()).await;
    let role = a.create_role("operators", &["admin"]).await;
    let user = a.create_user("grace@example.com", role, None).await;
    let key = a.create_key(user).await;
    warm(&b, "/v1/admin/organizations", &key, StatusCode::OK).await;

    let answer = a
        .patch(
            &format!("/v1/admin/roles/{role}"),
            json!({"permissions": []}),
        )
        .await;
    assert!(answer.status.is_success(), "{}", answer.text);

    assert_eq!(
        status(&a, "/v1/admin/organizations", &key).await,
        StatusCode::FORBIDDEN
    );
    until(&b, "/v1/admin/organizations", &key, StatusCode::FORBIDDEN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_expired_through_one_instance_is_expired_on_the_other() {
    let clock = TestClock::now();
    let (a, b) = pair(clock.clone()).await;
    let role = a.create_role("operators", &["admin"]).await;
    let user = a.create_user("alan@example.com", role, None).await;
    let key = a.create_key(user).await;
    warm(&b, "/v1/admin/organizations", &key, StatusCode::OK).await;

    let answer = a
        .patch(
            &format!("/v1/admin/users/{user}"),
            json!({"expires": clock.unix() + 60}),
        )
        .await;
    assert!(answer.status.is_success(), "{}", answer.text);
    clock.advance(TimeDelta::minutes(2));

    assert_eq!(
        status(&a, "/v1/admin/organizations", &key).await,
        StatusCode::FORBIDDEN
    );
    until(&b, "/v1/admin/organizations", &key, StatusCode::FORBIDDEN).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_membership_ended_through_one_instance_ends_its_key_on_the_other() {
    let (a, b) = pair(TestClock::now()).await;
    let organization = a.create_organization("Acme").await;
    let role = a.create_role("members", &[]).await;
    let user = a
        .create_user("barbara@example.com", role, Some(organization))
        .await;
    let own = a.create_key(user).await;
    let project = a
        .post(
            "/v1/admin/projects",
            json!({"name": "Apollo", "organization": organization}),
        )
        .await;
    let project = project.body["id"].as_i64().unwrap();
    let joined = a
        .call(
            Method::PUT,
            &format!("/v1/admin/projects/{project}/members/{user}"),
            Some(MASTER_KEY),
            None,
        )
        .await;
    assert!(joined.status.is_success(), "{}", joined.text);
    let created = a
        .send(
            a.client
                .post(a.url("/v1/me/keys"))
                .bearer_auth(&own)
                .json(&json!({"name": "apollo", "project": project})),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.text);
    let key = created.body["key"].as_str().unwrap().to_owned();
    warm(&b, "/v1/me/info", &key, StatusCode::OK).await;

    a.delete(&format!("/v1/admin/projects/{project}/members/{user}"))
        .await;

    assert_eq!(
        status(&a, "/v1/me/info", &key).await,
        StatusCode::UNAUTHORIZED
    );
    until(&b, "/v1/me/info", &key, StatusCode::UNAUTHORIZED).await;
    // The owner's own key was not bound to the project: it goes on working everywhere.
    assert_eq!(status(&b, "/v1/me/info", &own).await, StatusCode::OK);
}

/// Sends `signal` to the process `pid` (a PostgreSQL backend: the tests run as its owner or root).
fn signal(pid: i64, signal: &str) {
    let sent = std::process::Command::new("kill")
        .args([signal, &pid.to_string()])
        .status()
        .unwrap();
    assert!(sent.success(), "kill {signal} {pid}");
}

/// Wakes a stopped backend up again when dropped, whatever the test's outcome.
struct Stopped(i64);

impl Drop for Stopped {
    fn drop(&mut self) {
        signal(self.0, "-CONT");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listening_connection_that_stops_answering_stops_the_cache() {
    let (a, b) = pair(TestClock::now()).await;
    let (user, _) = a.user_with_key("tony@example.com", &[]).await;
    let (id, key) = a.create_key_with_id(user).await;
    warm(&b, "/v1/me/info", &key, StatusCode::OK).await;
    // Both listeners' backends frozen, as by a network cut: their sockets say nothing.
    let pids = a.db.pids_of("gatehouse-grant-listener");
    assert_eq!(pids.len(), 2, "both instances listen");
    let _frozen: Vec<Stopped> = pids
        .into_iter()
        .map(|pid| {
            signal(pid, "-STOP");
            Stopped(pid)
        })
        .collect();

    a.delete(&format!("/v1/admin/tokens/{id}")).await;

    // B hears nothing, but its connection stopped proving itself alive: it reads afresh.
    until(&b, "/v1/me/info", &key, StatusCode::UNAUTHORIZED).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_listening_connection_never_lets_a_revoked_key_through() {
    let (a, b) = pair(TestClock::now()).await;
    let (user, _) = a.user_with_key("edsger@example.com", &[]).await;
    let pool = a.db.pool();

    for _ in 0..20 {
        let (id, key) = a.create_key_with_id(user).await;
        warm(&b, "/v1/me/info", &key, StatusCode::OK).await;
        let killed = count_rows(
            &pool,
            // OFFSET 0 keeps the filter inside: terminate only the listeners, never this session.
            "(SELECT pid FROM pg_stat_activity \
              WHERE application_name = 'gatehouse-grant-listener' \
              AND datname = current_database() OFFSET 0) AS listener \
             WHERE pg_terminate_backend(listener.pid)",
        );
        assert_eq!(killed, 2, "both instances listen");

        a.delete(&format!("/v1/admin/tokens/{id}")).await;

        // No notification of the deletion can reach B: it refuses the key because it noticed
        // the loss (and reads every grant afresh) or listens again (and dropped what it read
        // before), within the second the contract allows, and for good.
        until(&b, "/v1/me/info", &key, StatusCode::UNAUTHORIZED).await;
        // Both listen again soon.
        let start = Instant::now();
        while count_rows(
            &pool,
            "pg_stat_activity \
             WHERE application_name = 'gatehouse-grant-listener' AND datname = current_database()",
        ) < 2
        {
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "not listening again"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}
