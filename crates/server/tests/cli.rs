//! The `gatehouse` binary itself: configuration errors, migrations, `create-admin`, logs and
//! graceful shutdown (requests in flight finish; open connections are drained, not dropped).

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use gatehouse_infrastructure::testing::TestDatabase;
use reqwest::StatusCode;
use serde_json::Value;
use support::{MASTER_KEY, TestApp};

fn gatehouse() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
    for variable in [
        "DATABASE_URL",
        "MASTER_KEY",
        "LISTEN_ADDR",
        "KEY_MAX_EXPIRATION_DAYS",
        "LOG_FORMAT",
        "RUST_LOG",
        "PUBLIC_URL",
        "OIDC_ISSUER_URL",
        "OIDC_CLIENT_ID",
        "OIDC_CLIENT_SECRET",
        "OIDC_SCOPES",
        "OIDC_DEFAULT_ROLE",
        "OIDC_DEFAULT_ORGANIZATION",
        "OIDC_ALLOWED_EMAIL_DOMAINS",
    ] {
        command.env_remove(variable);
    }
    command
}

fn run(command: &mut Command) -> (Output, String) {
    let output = command.output().expect("gatehouse runs");
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output, stderr)
}

#[test]
fn serve_refuses_a_master_key_shorter_than_16_characters_and_says_so() {
    let (output, stderr) = run(gatehouse()
        .arg("serve")
        .env("DATABASE_URL", "postgres://127.0.0.1:1/none")
        .env("MASTER_KEY", "short-key"));
    assert!(!output.status.success());
    assert!(stderr.contains("master-key"), "{stderr}");
    assert!(stderr.contains("at least 16 characters"), "{stderr}");
}

#[test]
fn serve_without_a_master_key_names_the_missing_setting() {
    let (output, stderr) = run(gatehouse()
        .arg("serve")
        .env("DATABASE_URL", "postgres://127.0.0.1:1/none"));
    assert!(!output.status.success());
    assert!(stderr.contains("--master-key"), "{stderr}");
}

#[test]
fn serve_with_an_unreachable_database_stops_with_a_clear_error() {
    let (output, stderr) = run(gatehouse()
        .arg("serve")
        .env("DATABASE_URL", "postgres://gatehouse@127.0.0.1:1/none")
        .env("MASTER_KEY", MASTER_KEY));
    assert!(!output.status.success());
    assert!(stderr.contains("cannot migrate the database"), "{stderr}");
}

#[test]
fn migrate_succeeds_on_a_database_that_is_already_up_to_date() {
    let db = TestDatabase::new();
    let (output, stderr) = run(gatehouse().arg("migrate").env("DATABASE_URL", db.url()));
    assert!(output.status.success(), "{stderr}");
}

#[tokio::test]
async fn create_admin_makes_an_admin_who_can_then_administer_and_refuses_a_taken_email() {
    let app = TestApp::spawn().await;
    let create = |email: &str| {
        run(gatehouse()
            .args(["create-admin", "--email", email, "--name", "First admin"])
            .args(["--password", "correct horse battery"])
            .env("DATABASE_URL", app.db.url()))
    };

    let (output, stderr) = create("root@example.com");
    assert!(output.status.success(), "{stderr}");
    let users = app.get("/v1/admin/users?email=root@example.com").await;
    assert_eq!(users.body["total"], 1);
    let user = &users.body["data"][0];
    assert_eq!(user["name"], "First admin");
    let role = app.get(&format!("/v1/admin/roles/{}", user["role"])).await;
    assert_eq!(role.body["name"], "admin");
    assert_eq!(role.body["permissions"], serde_json::json!(["admin"]));

    // The new admin's own key can administer.
    let key = app.create_key(user["id"].as_i64().unwrap()).await;
    let answer = app
        .call(
            reqwest::Method::GET,
            "/v1/admin/organizations",
            Some(&key),
            None,
        )
        .await;
    assert_eq!(answer.status, StatusCode::OK);

    let (output, stderr) = create("ROOT@example.com");
    assert!(!output.status.success());
    assert!(stderr.contains("already exists"), "{stderr}");

    // A second admin reuses the role.
    let (output, stderr) = create("second@example.com");
    assert!(output.status.success(), "{stderr}");
    let roles = app.get("/v1/admin/roles").await;
    assert_eq!(roles.body["total"], 1);
    assert_eq!(roles.body["data"][0]["users"], 2);
}

#[test]
fn create_admin_refuses_a_password_outside_the_policy() {
    let db = TestDatabase::new();
    let (output, stderr) = run(gatehouse()
        .args([
            "create-admin",
            "--email",
            "root@example.com",
            "--password",
            "short",
        ])
        .env("DATABASE_URL", db.url()));
    assert!(!output.status.success());
    assert!(stderr.contains("--password"), "{stderr}");
}

/// Starts `gatehouse serve` on a free port; returns the process, its address, and its log lines.
fn serve(db: &TestDatabase) -> (Child, String, mpsc::Receiver<String>) {
    serve_with(db, &[])
}

/// As [`serve`], with more environment.
fn serve_with(db: &TestDatabase, env: &[(&str, &str)]) -> (Child, String, mpsc::Receiver<String>) {
    let mut child = gatehouse()
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env("MASTER_KEY", MASTER_KEY)
        .env("LISTEN_ADDR", "127.0.0.1:0")
        .env("LOG_FORMAT", "json")
        .envs(env.iter().copied())
        .stderr(Stdio::piped())
        .spawn()
        .expect("gatehouse starts");
    let (lines, received) = mpsc::channel();
    let stderr = child.stderr.take().expect("stderr");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });
    let address = loop {
        let line = received
            .recv_timeout(Duration::from_secs(30))
            .expect("the server logs its address");
        let event: Value = serde_json::from_str(&line).expect("JSON logs");
        if event["message"] == "gatehouse is serving" {
            break event["address"].as_str().expect("an address").to_owned();
        }
    };
    (child, address, received)
}

#[tokio::test]
async fn serve_logs_json_without_secrets_and_stops_gracefully_on_sigterm() {
    let db = TestDatabase::new();
    let (mut child, address, logs) = serve(&db);
    let client = reqwest::Client::new();
    let answer = client
        .post(format!("http://{address}/v1/admin/organizations"))
        .bearer_auth(MASTER_KEY)
        .json(&serde_json::json!({"name": "Acme"}))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::CREATED);

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");

    // Every line up to the end of stderr: the reader thread may still be forwarding the last ones
    // after the process has exited, and it drops its sender at end of file.
    let mut lines = Vec::new();
    while let Ok(line) = logs.recv_timeout(Duration::from_secs(10)) {
        lines.push(line);
    }
    assert!(
        lines.iter().any(|line| line.contains("stopped gracefully")),
        "{lines:#?}"
    );
    let request = lines
        .iter()
        .find(|line| line.contains(r#""route":"/v1/admin/organizations""#))
        .unwrap_or_else(|| panic!("no request log in {lines:#?}"));
    let event: Value = serde_json::from_str(request).unwrap();
    assert_eq!(event["status"], 201);
    assert!(event["latency_ms"].is_number());
    for line in &lines {
        serde_json::from_str::<Value>(line).expect("every log line is JSON");
        assert!(!line.contains(MASTER_KEY), "the master key leaked: {line}");
    }
}

/// One answer read off `stream`: its head (lower case) and its body, by its `content-length`.
fn read_answer(stream: &mut TcpStream) -> (String, String) {
    let mut received = Vec::new();
    let mut chunk = [0; 4096];
    let head_end = loop {
        if let Some(end) = received.windows(4).position(|window| window == b"\r\n\r\n") {
            break end + 4;
        }
        let read = stream.read(&mut chunk).expect("the answer comes");
        assert!(
            read > 0,
            "the connection closed before an answer: {received:?}"
        );
        received.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8_lossy(&received[..head_end]).to_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .map_or(0, |value| value.trim().parse().unwrap());
    while received.len() < head_end + length {
        let read = stream.read(&mut chunk).unwrap();
        assert!(read > 0, "the connection closed in the body");
        received.extend_from_slice(&chunk[..read]);
    }
    let body = String::from_utf8_lossy(&received[head_end..head_end + length]).into_owned();
    (head, body)
}

/// What a load balancer does with its pooled connections during a rolling restart: a request
/// sent on an open connection after SIGTERM is answered, and the answer closes the connection.
/// Closing idle connections at SIGTERM made nginx answer 502 to POSTs it had just sent on them.
#[test]
fn after_sigterm_a_request_on_an_open_connection_is_answered_with_connection_close() {
    let db = TestDatabase::new();
    let (mut child, address, _logs) = serve(&db);
    let mut stream = TcpStream::connect(&address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(stream, "GET /health HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let (head, _) = read_answer(&mut stream);
    assert!(head.starts_with("http/1.1 200"), "{head}");
    assert!(!head.contains("connection: close"), "{head}");

    // A load balancer's health check, on a connection of its own.
    let mut checks = TcpStream::connect(&address).unwrap();
    checks
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    write!(checks, "GET /health HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    assert!(read_answer(&mut checks).0.starts_with("http/1.1 200"));

    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    // The listener closes once the shutdown has begun: new connections are refused.
    let deadline = Instant::now() + Duration::from_secs(5);
    while TcpStream::connect(&address).is_ok() {
        assert!(
            Instant::now() < deadline,
            "still accepting 5 s after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(20));
    }

    // The health check says the instance is going, so that the balancer sends nothing more.
    write!(checks, "GET /health HTTP/1.1\r\nHost: {address}\r\n\r\n").unwrap();
    let (head, answer) = read_answer(&mut checks);
    assert!(head.starts_with("http/1.1 503"), "{head}{answer}");
    assert!(answer.contains(r#""status":"draining""#), "{answer}");

    let body = r#"{"name": "Sent during the shutdown"}"#;
    write!(
        stream,
        "POST /v1/admin/organizations HTTP/1.1\r\nHost: {address}\r\n\
         Authorization: Bearer {MASTER_KEY}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    )
    .unwrap();
    let (head, answer) = read_answer(&mut stream);
    assert!(head.starts_with("http/1.1 201"), "{head}{answer}");
    assert!(head.contains("connection: close"), "{head}");
    assert_eq!(
        stream.read(&mut [0; 16]).unwrap(),
        0,
        "the server closes it"
    );
    let status = child.wait().unwrap();
    assert!(status.success(), "exit status {status}");
}

#[test]
fn half_a_sign_on_configuration_stops_serve_before_the_database_is_touched() {
    let (output, stderr) = run(gatehouse()
        .arg("serve")
        .env("DATABASE_URL", "postgres://gatehouse@127.0.0.1:1/none")
        .env("MASTER_KEY", MASTER_KEY)
        .env("OIDC_ISSUER_URL", "https://id.example")
        .env("OIDC_CLIENT_SECRET", "sso-secret-never-logged"));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "single sign-on is half configured: OIDC_ISSUER_URL and OIDC_CLIENT_SECRET set, \
             OIDC_CLIENT_ID missing"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("sso-secret-never-logged"), "{stderr}");
}

#[tokio::test]
async fn serve_with_an_unreachable_identity_provider_serves_and_warns_without_the_secret() {
    let db = TestDatabase::new();
    let secret = "sso-secret-never-logged";
    let (mut child, address, logs) = serve_with(
        &db,
        &[
            ("OIDC_ISSUER_URL", "http://127.0.0.1:1/realm"),
            ("OIDC_CLIENT_ID", "gatehouse"),
            ("OIDC_CLIENT_SECRET", secret),
            ("PUBLIC_URL", "http://127.0.0.1:8000"),
        ],
    );
    let health = reqwest::get(format!("http://{address}/health"))
        .await
        .unwrap();
    assert_eq!(health.status(), StatusCode::OK);

    let mut lines = Vec::new();
    let warned = loop {
        let Ok(line) = logs.recv_timeout(Duration::from_secs(30)) else {
            break false;
        };
        let found =
            line.contains("single sign-on is unavailable until the identity provider answers");
        lines.push(line);
        if found {
            break true;
        }
    };
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    child.wait().unwrap();
    assert!(warned, "{lines:#?}");
    for line in &lines {
        assert!(!line.contains(secret), "the client secret leaked: {line}");
    }
}

#[test]
fn serve_on_an_address_in_use_names_it_and_the_setting_to_change_and_fails() {
    let db = TestDatabase::new();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let address = taken.local_addr().unwrap().to_string();
    let (output, stderr) = run(gatehouse()
        .arg("serve")
        .env("DATABASE_URL", db.url())
        .env("MASTER_KEY", MASTER_KEY)
        .env("LISTEN_ADDR", &address));
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let expected = format!(
        "error: cannot listen on {address}: address already in use; set LISTEN_ADDR to another \
         address"
    );
    assert!(
        stderr.lines().any(|line| line == expected),
        "{expected:?} not in:\n{stderr}"
    );
    assert!(!stderr.contains("gatehouse is serving"), "{stderr}");
    // Not a terminal: no colour codes in the logs.
    assert!(!stderr.contains('\u{1b}'), "{stderr:?}");
}
