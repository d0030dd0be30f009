//! `/health`, `/metrics`, `/openapi.json`, `/docs`, and what happens when the database goes away.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::net::SocketAddr;
use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};
use support::TestApp;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

#[tokio::test]
async fn health_is_ok_when_the_database_answers_without_authentication() {
    let app = TestApp::spawn().await;
    let answer = app.call(reqwest::Method::GET, "/health", None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.body, json!({"status": "ok"}));
}

#[tokio::test]
async fn an_unreachable_database_is_503_and_the_server_keeps_running() {
    // Nothing listens on port 1: every connection is refused.
    let app = TestApp::spawn_on_pool(support::pool("postgres://gatehouse@127.0.0.1:1/none")).await;
    let health = app.call(reqwest::Method::GET, "/health", None, None).await;
    assert_eq!(health.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(health.body, json!({"status": "unavailable"}));

    let answer = app.get("/v1/admin/organizations").await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(answer.body, json!({"detail": "Service unavailable."}));

    // An API key must be looked up: unavailable too, not "invalid".
    let answer = app
        .call(
            reqwest::Method::GET,
            "/v1/me/keys",
            Some("sk-anything"),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(!answer.text.contains("127.0.0.1"), "{}", answer.text);
}

/// A TCP proxy to PostgreSQL that the test can cut and restore, to simulate an outage.
struct Proxy {
    address: SocketAddr,
    target: SocketAddr,
    tasks: JoinSet<()>,
}

impl Proxy {
    async fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let mut proxy = Self {
            address,
            target,
            tasks: JoinSet::new(),
        };
        proxy.serve(listener);
        proxy
    }

    fn serve(&mut self, listener: TcpListener) {
        let target = self.target;
        self.tasks.spawn(async move {
            let mut connections = JoinSet::new();
            while let Ok((mut client, _)) = listener.accept().await {
                connections.spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
            }
        });
    }

    /// Closes the listener and every open connection.
    fn cut(&mut self) {
        self.tasks.abort_all();
    }

    async fn restore(&mut self) {
        while self.tasks.join_next().await.is_some() {}
        let listener = TcpListener::bind(self.address).await.unwrap();
        self.serve(listener);
    }
}

fn database_address(url: &str) -> (SocketAddr, String) {
    // postgres://user@127.0.0.1:PORT/name
    let rest = url.split_once('@').unwrap().1;
    let (host_port, name) = rest.split_once('/').unwrap();
    (host_port.parse().unwrap(), name.to_owned())
}

#[tokio::test]
async fn the_server_recovers_by_itself_when_the_database_comes_back() {
    let seed = TestApp::spawn().await;
    let (target, name) = database_address(seed.db.url());
    let mut proxy = Proxy::start(target).await;
    let app = TestApp::spawn_on_pool(support::pool(&format!(
        "postgres://gatehouse@{}/{name}",
        proxy.address
    )))
    .await;
    assert_eq!(app.get("/health").await.status, StatusCode::OK);

    proxy.cut();
    let down = app.get("/v1/admin/organizations").await;
    assert_eq!(down.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(down.body, json!({"detail": "Service unavailable."}));

    proxy.restore().await;
    // The pool reconnects in its own time: poll for it, 5 s at most.
    let mut status = StatusCode::SERVICE_UNAVAILABLE;
    for _ in 0..20 {
        status = app.get("/v1/admin/organizations").await.status;
        if status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn metrics_count_requests_by_route_pattern_and_status_and_show_the_pool() {
    let app = TestApp::spawn().await;
    app.get("/v1/admin/organizations/12345").await;
    app.get("/v1/admin/organizations/67890").await;
    let answer = app.call(reqwest::Method::GET, "/metrics", None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    let text = answer.text;
    let line = text
        .lines()
        .find(|line| {
            line.starts_with("gatehouse_http_requests_total")
                && line.contains(r#"endpoint="/v1/admin/organizations/{organization}""#)
                && line.contains(r#"status="404""#)
        })
        .unwrap_or_else(|| panic!("no request count in\n{text}"));
    assert!(line.ends_with(" 2"), "{line}");
    assert!(text.contains("gatehouse_http_requests_duration_seconds_bucket"));
    assert!(!text.contains("12345"), "ids must not become labels");
    for gauge in [
        "gatehouse_db_pool_connections",
        "gatehouse_db_pool_idle_connections",
        "gatehouse_db_pool_max_connections 4",
    ] {
        assert!(text.contains(gauge), "{gauge} missing in\n{text}");
    }
}

#[tokio::test]
async fn the_openapi_document_is_3_1_and_lists_every_endpoint() {
    let app = TestApp::spawn().await;
    let answer = app
        .call(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(answer.status, StatusCode::OK);
    let document = answer.body;
    assert!(
        document["openapi"].as_str().unwrap().starts_with("3.1"),
        "{}",
        document["openapi"]
    );
    let expected: &[(&str, &[&str])] = &[
        ("/v1/admin/organizations", &["get", "post"]),
        (
            "/v1/admin/organizations/{organization}",
            &["get", "patch", "delete"],
        ),
        ("/v1/admin/users", &["get", "post"]),
        ("/v1/admin/users/{user}", &["get", "patch", "delete"]),
        ("/v1/admin/roles", &["get", "post"]),
        ("/v1/admin/roles/{role}", &["get", "patch", "delete"]),
        ("/v1/admin/tokens", &["get", "post"]),
        ("/v1/admin/tokens/{token}", &["get", "delete"]),
        ("/v1/admin/projects", &["get", "post"]),
        ("/v1/admin/projects/{project}", &["get", "patch", "delete"]),
        ("/v1/admin/projects/{project}/members", &["get"]),
        (
            "/v1/admin/projects/{project}/members/{user}",
            &["put", "delete"],
        ),
        ("/v1/me/keys", &["get", "post"]),
        ("/v1/me/keys/{key}", &["get", "delete"]),
        ("/v1/me/info", &["get", "patch"]),
        ("/v1/auth/login", &["post"]),
        ("/v1/auth/oidc/login", &["get"]),
        ("/v1/auth/oidc/callback", &["get"]),
        ("/v1/auth/sso/login", &["post"]),
        ("/v1/auth/authorize", &["post"]),
        ("/v1/auth/usage", &["post"]),
        ("/v1/me/usage", &["get"]),
        ("/v1/admin/usage", &["get"]),
        ("/v1/admin/usage/summary", &["get"]),
        ("/v1/admin/audit", &["get"]),
        ("/health", &["get"]),
        ("/metrics", &["get"]),
        ("/openapi.json", &["get"]),
        ("/docs", &["get"]),
        ("/", &["get"]),
    ];
    for (path, methods) in expected {
        for method in *methods {
            assert!(
                document["paths"][path][method].is_object(),
                "{method} {path} is not documented"
            );
        }
    }
    assert_eq!(
        document["paths"].as_object().unwrap().len(),
        expected.len(),
        "every documented path is expected"
    );
    for (path, method) in [
        ("/v1/auth/login", "post"),
        ("/v1/auth/oidc/login", "get"),
        ("/v1/auth/oidc/callback", "get"),
        ("/v1/auth/sso/login", "post"),
    ] {
        assert!(
            document["paths"][path][method]["security"].is_null(),
            "{method} {path} needs no key"
        );
    }
    assert_eq!(
        document["components"]["securitySchemes"]["bearer"]["scheme"],
        Value::from("bearer")
    );
}

#[tokio::test]
async fn the_swagger_ui_is_served_from_the_binary() {
    let app = TestApp::spawn().await;
    let answer = app.call(reqwest::Method::GET, "/docs/", None, None).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert!(
        answer.text.to_lowercase().contains("swagger"),
        "{}",
        answer.text
    );
    let script = app
        .call(
            reqwest::Method::GET,
            "/docs/swagger-ui-bundle.js",
            None,
            None,
        )
        .await;
    assert_eq!(script.status, StatusCode::OK);
    assert!(script.text.len() > 100_000);
    let redirect = app
        .send(
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap()
                .get(app.url("/docs")),
        )
        .await;
    assert!(redirect.status.is_redirection());
    assert_eq!(redirect.header("location"), Some("/docs/"));
}
