//! Scenario 5 of "Reliability and security, proven": the real `gatehouse serve`, at the debug log
//! level, goes through a whole session over HTTP and its output holds no secret; and keys that are
//! deleted, expired or someone else's are refused at once.
//!
//! Already proven elsewhere, not repeated here: a deleted admin token and an expired admin token
//! are 401 (`authentication.rs`: `a_deleted_key_is_401_invalid_api_key`,
//! `an_expired_key_is_401_invalid_api_key`), a deleted own key and a deleted user's keys are 401
//! (`tokens.rs`: `a_user_deletes_their_own_key_and_it_stops_working_at_once`; `login.rs`:
//! `a_deleted_users_session_key_stops_working`), an expired session key is 401 (`login.rs`:
//! `a_session_key_stops_working_once_the_session_duration_has_passed`), and another user's plain
//! key is 404 under `/v1/me/keys/{id}` and keeps working (`tokens.rs`:
//! `another_users_key_is_404_token_not_found_and_is_not_deleted`). Here: the same for own keys
//! with an expiry, project-bound keys and session keys.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use gatehouse_domain::chrono::TimeDelta;
use gatehouse_infrastructure::testing::TestDatabase;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use support::{Answer, MASTER_KEY, TestApp, TestClock};

const FIRST_PASSWORD: &str = "first secret passphrase";
const SECOND_PASSWORD: &str = "second secret passphrase";
const ADMIN_SET_PASSWORD: &str = "password set by an admin";
const WRONG_PASSWORD: &str = "a wrong guess at the password";
/// An address that only ever travels in query strings (`?email=`): logs carry the path of a
/// request, never its query string's values.
const QUERIED_EMAIL: &str = "queried-7f3a91@example.com";
/// The `X-Request-Id` the session gives its requests with a query string (then `-0`, `-1`...).
const QUERY_REQUEST_ID: &str = "session-query";
/// A key of the right shape that matches nothing: what an attacker would try.
const UNKNOWN_KEY: &str = "sk-00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

// ---------------------------------------------------------------------------------------------
// The real binary and its output

/// `gatehouse serve` on a free port, its stdout and stderr collected line by line.
struct Served {
    child: Child,
    readers: Vec<JoinHandle<()>>,
    lines: Arc<Mutex<Vec<String>>>,
    /// Talks to the server; its database is the server's.
    app: TestApp,
}

/// The log format, as `LOG_FORMAT` takes it.
#[derive(Debug, Clone, Copy)]
enum Format {
    Text,
    Json,
}

impl Served {
    /// Starts the binary on a database of its own, logging at `level` (`RUST_LOG`).
    fn start(format: Format, level: &str) -> Self {
        let db = TestDatabase::new();
        let mut command = Command::new(env!("CARGO_BIN_EXE_gatehouse"));
        for variable in [
            "KEY_MAX_EXPIRATION_DAYS",
            "SESSION_DURATION",
            "DATABASE_POOL_SIZE",
            "NO_COLOR",
        ] {
            command.env_remove(variable);
        }
        let mut child = command
            .arg("serve")
            .env("DATABASE_URL", db.url())
            .env("MASTER_KEY", MASTER_KEY)
            .env("LISTEN_ADDR", "127.0.0.1:0")
            .env("RUST_LOG", level)
            .env(
                "LOG_FORMAT",
                match format {
                    Format::Text => "text",
                    Format::Json => "json",
                },
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("gatehouse starts");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            collect(child.stdout.take().expect("stdout"), Arc::clone(&lines)),
            collect(child.stderr.take().expect("stderr"), Arc::clone(&lines)),
        ];
        let address = wait_for_address(&lines, &mut child);
        let app = TestApp {
            address: format!("http://{address}"),
            client: support::client(),
            db: Arc::new(db),
        };
        Self {
            child,
            readers,
            lines,
            app,
        }
    }

    /// Stops the server with SIGTERM and returns everything it wrote, once it has exited.
    fn stop(mut self) -> (Vec<String>, TestApp) {
        let killed = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(killed.success());
        let status = self.child.wait().expect("gatehouse exits");
        for reader in self.readers.drain(..) {
            reader.join().expect("the output is read to its end");
        }
        let lines = std::mem::take(&mut *self.lines.lock().unwrap());
        assert!(status.success(), "exit status {status}: {lines:#?}");
        (lines, self.app)
    }
}

/// Reads `output` line by line into `lines` until it closes.
fn collect(output: impl Read + Send + 'static, lines: Arc<Mutex<Vec<String>>>) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let mut reader = BufReader::new(output);
        let mut line = Vec::new();
        // Bytes, not `lines()`: output that is not UTF-8 must not end the reading early.
        while reader.read_until(b'\n', &mut line).unwrap_or(0) > 0 {
            lines
                .lock()
                .unwrap()
                .push(String::from_utf8_lossy(&line).trim_end().to_owned());
            line.clear();
        }
    })
}

/// The address in the "gatehouse is serving" line, in either format.
fn wait_for_address(lines: &Mutex<Vec<String>>, child: &mut Child) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found = lines.lock().unwrap().iter().find_map(|line| {
            let line = strip_ansi(line);
            if !line.contains("gatehouse is serving") {
                return None;
            }
            let (_, after) = line.split_once("address")?;
            let address: String = after
                .trim_start_matches(['=', '"', ':'])
                .chars()
                .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == ':')
                .collect();
            Some(address)
        });
        if let Some(address) = found {
            return address;
        }
        if let Some(status) = child.try_wait().expect("the process can be polled") {
            panic!(
                "gatehouse exited with {status}: {:#?}",
                lines.lock().unwrap()
            );
        }
        assert!(
            Instant::now() < deadline,
            "gatehouse did not log its address: {:#?}",
            lines.lock().unwrap()
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `text` without terminal colour codes (`ESC [ ... letter`).
fn strip_ansi(text: &str) -> String {
    let mut plain = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(c);
        }
    }
    plain
}

// ---------------------------------------------------------------------------------------------
// What must never be logged

/// A secret and the forms in which it could show up.
struct Secret {
    what: String,
    forms: Vec<String>,
}

/// A password (or the master key), as given.
fn password(what: &str, password: &str) -> Secret {
    Secret {
        what: what.to_owned(),
        forms: vec![password.to_owned()],
    }
}

/// An API key: whole, its random part whole and in halves (in case it is logged without the `sk-`
/// prefix, or cut), and its SHA-256, which is what the database stores and looks it up by, in hex (either case, as in
/// PostgreSQL's `\x...` bytea form) and as the list of bytes Rust's `Debug` prints for a `Vec<u8>`.
fn api_key(what: &str, key: &str) -> Secret {
    let random = key.strip_prefix("sk-").expect("a key starts with sk-");
    let hash = Sha256::digest(key.as_bytes());
    let hex = hex::encode(hash);
    let bytes: Vec<String> = hash.iter().take(8).map(ToString::to_string).collect();
    Secret {
        what: what.to_owned(),
        forms: vec![
            key.to_owned(),
            random.to_owned(),
            // Half of the random part: 128 bits, still nothing that may appear by chance.
            random[..32].to_owned(),
            random[32..].to_owned(),
            hex.clone(),
            hex.to_uppercase(),
            hex[..32].to_owned(),
            format!("[{}", bytes.join(", ")),
        ],
    }
}

/// Asserts that no line of `lines` holds any form of any secret, nor an Argon2 hash.
#[track_caller]
fn assert_no_secret(lines: &[String], secrets: &[Secret]) {
    let mut leaks = Vec::new();
    for line in lines {
        let plain = strip_ansi(line);
        for secret in secrets {
            for form in &secret.forms {
                if line.contains(form.as_str()) || plain.contains(form.as_str()) {
                    leaks.push(format!("{} ({form}) in: {plain}", secret.what));
                }
            }
        }
        for hash in ["$argon2", "argon2id$", "m=19456", "m=12288"] {
            if plain.contains(hash) {
                leaks.push(format!("an Argon2 hash in: {plain}"));
            }
        }
    }
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// The session

/// A key returned by a creation or a login: `(id, key)`.
fn created_key(answer: &Answer, field: &str) -> (i64, String) {
    assert!(
        answer.status == StatusCode::CREATED || answer.status == StatusCode::OK,
        "{}",
        answer.text
    );
    (
        answer.body["id"].as_i64().expect("an id"),
        answer.body[field].as_str().expect("a key").to_owned(),
    )
}

#[track_caller]
fn assert_status(answer: &Answer, status: StatusCode) {
    assert_eq!(answer.status, status, "{}", answer.text);
}

async fn login(app: &TestApp, email: &str, password: &str) -> Answer {
    app.call(
        Method::POST,
        "/v1/auth/login",
        None,
        Some(json!({ "email": email, "password": password })),
    )
    .await
}

/// Every route the session goes through, as the access log names them.
const ROUTES: &[&str] = &[
    "/v1/admin/organizations",
    "/v1/admin/roles",
    "/v1/admin/users",
    "/v1/admin/users/{user}",
    "/v1/admin/tokens",
    "/v1/admin/tokens/{token}",
    "/v1/admin/projects",
    "/v1/admin/projects/{project}/members/{user}",
    "/v1/auth/login",
    "/v1/me/info",
    "/v1/me/keys",
    "/v1/me/keys/{key}",
];

/// Runs a whole session against the server; returns every secret it used and how many requests
/// it made.
#[allow(clippy::too_many_lines)] // One story, told in order.
async fn session(app: &TestApp) -> (Vec<Secret>, usize) {
    let mut requests = 0;
    let mut count = |n: usize| requests += n;
    let mut secrets = vec![
        password("the master key", MASTER_KEY),
        password("the first password", FIRST_PASSWORD),
        password("the second password", SECOND_PASSWORD),
        password("the password set by an admin", ADMIN_SET_PASSWORD),
        password("a wrong password", WRONG_PASSWORD),
        api_key("an unknown key", UNKNOWN_KEY),
    ];

    // The master key sets up an organization, a role and a user with a password.
    let organization = app.create_organization("Acme").await;
    let role = app.create_role("members", &["read_metric"]).await;
    let created = app
        .post(
            "/v1/admin/users",
            json!({
                "email": "ada@example.com",
                "password": FIRST_PASSWORD,
                "role": role,
                "organization": organization,
            }),
        )
        .await;
    assert_status(&created, StatusCode::CREATED);
    let user = created.body["id"].as_i64().unwrap();
    count(3);

    // Lists filtered by email: the address is in the query string, with a request id.
    secrets.push(Secret {
        what: "an email in a query string".to_owned(),
        forms: vec![QUERIED_EMAIL.to_owned(), QUERIED_EMAIL.replace('@', "%40")],
    });
    for (i, query) in [
        format!("email={QUERIED_EMAIL}"),
        format!(
            "email={}&role={role}&order_by=created",
            QUERIED_EMAIL.replace('@', "%40")
        ),
    ]
    .iter()
    .enumerate()
    {
        let id = format!("{QUERY_REQUEST_ID}-{i}");
        let answer = app
            .send(
                app.client
                    .get(app.url(&format!("/v1/admin/users?{query}")))
                    .bearer_auth(MASTER_KEY)
                    .header("x-request-id", &id),
            )
            .await;
        assert_status(&answer, StatusCode::OK);
        assert_eq!(answer.body["total"], 0, "{}", answer.text);
        assert_eq!(answer.header("x-request-id"), Some(id.as_str()));
        count(1);
    }

    // An admin key for the user.
    let answer = app
        .post(
            "/v1/admin/tokens",
            json!({"name": "admin-made", "user": user}),
        )
        .await;
    let (admin_key_id, admin_key) = created_key(&answer, "token");
    secrets.push(api_key("the admin-made key", &admin_key));
    let answer = app
        .call(Method::GET, "/v1/me/info", Some(&admin_key), None)
        .await;
    assert_status(&answer, StatusCode::OK);
    count(2);

    // A wrong password, then the right one.
    login(app, "ada@example.com", WRONG_PASSWORD)
        .await
        .assert_detail(401, "Invalid email or password.");
    let (_, session_key) = created_key(&login(app, "ADA@example.com", FIRST_PASSWORD).await, "key");
    secrets.push(api_key("the first session key", &session_key));
    let info = app
        .call(Method::GET, "/v1/me/info", Some(&session_key), None)
        .await;
    assert_status(&info, StatusCode::OK);
    assert_eq!(info.body["id"], user);
    count(3);

    // An unknown key and the master key as a password of an ordinary user.
    app.call(Method::GET, "/v1/me/info", Some(UNKNOWN_KEY), None)
        .await
        .assert_detail(401, "Invalid API key.");
    login(app, "ada@example.com", MASTER_KEY)
        .await
        .assert_detail(401, "Invalid email or password.");
    count(2);

    // An own key, used.
    let answer = app
        .call(
            Method::POST,
            "/v1/me/keys",
            Some(&session_key),
            Some(json!({"name": "own"})),
        )
        .await;
    let (own_key_id, own_key) = created_key(&answer, "token");
    secrets.push(api_key("the own key", &own_key));
    let keys = app
        .call(Method::GET, "/v1/me/keys", Some(&own_key), None)
        .await;
    assert_status(&keys, StatusCode::OK);
    assert_eq!(keys.body["total"], 3);
    let one = app
        .call(
            Method::GET,
            &format!("/v1/me/keys/{own_key_id}"),
            Some(&own_key),
            None,
        )
        .await;
    assert_status(&one, StatusCode::OK);
    count(3);

    // The user changes their password, with the current one; a wrong current one is refused.
    let change = |current: &str| json!({"name": "Ada", "current_password": current, "password": SECOND_PASSWORD});
    app.call(
        Method::PATCH,
        "/v1/me/info",
        Some(&own_key),
        Some(change(WRONG_PASSWORD)),
    )
    .await
    .assert_detail(401, "Invalid current password.");
    let changed = app
        .call(
            Method::PATCH,
            "/v1/me/info",
            Some(&own_key),
            Some(change(FIRST_PASSWORD)),
        )
        .await;
    assert_status(&changed, StatusCode::NO_CONTENT);
    login(app, "ada@example.com", FIRST_PASSWORD)
        .await
        .assert_detail(401, "Invalid email or password.");
    let (_, second_session) =
        created_key(&login(app, "ada@example.com", SECOND_PASSWORD).await, "key");
    secrets.push(api_key("the second session key", &second_session));
    count(4);

    // An admin sets another password without the current one.
    let answer = app
        .patch(
            &format!("/v1/admin/users/{user}"),
            json!({"password": ADMIN_SET_PASSWORD, "budget": 10.5}),
        )
        .await;
    assert_status(&answer, StatusCode::NO_CONTENT);
    let (_, third_session) = created_key(
        &login(app, "ada@example.com", ADMIN_SET_PASSWORD).await,
        "key",
    );
    secrets.push(api_key("the third session key", &third_session));
    count(2);

    // A project, the user in it, and a key bound to it, used.
    let project = app
        .post(
            "/v1/admin/projects",
            json!({"name": "Apollo", "organization": organization, "budget": 5}),
        )
        .await;
    assert_status(&project, StatusCode::CREATED);
    let project = project.body["id"].as_i64().unwrap();
    let member = app
        .call(
            Method::PUT,
            &format!("/v1/admin/projects/{project}/members/{user}"),
            Some(MASTER_KEY),
            None,
        )
        .await;
    assert_status(&member, StatusCode::NO_CONTENT);
    let answer = app
        .call(
            Method::POST,
            "/v1/me/keys",
            Some(&third_session),
            Some(json!({"name": "bound", "project": project})),
        )
        .await;
    let (bound_key_id, bound_key) = created_key(&answer, "token");
    secrets.push(api_key("the project-bound key", &bound_key));
    let info = app
        .call(Method::GET, "/v1/me/info", Some(&bound_key), None)
        .await;
    assert_status(&info, StatusCode::OK);
    assert_eq!(info.body["project"], project);
    count(4);

    // The keys are deleted, each by its own endpoint, and stop working.
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/v1/me/keys/{own_key_id}"),
            Some(&third_session),
            None,
        )
        .await;
    assert_status(&deleted, StatusCode::NO_CONTENT);
    let deleted = app
        .delete(&format!("/v1/admin/tokens/{admin_key_id}"))
        .await;
    assert_status(&deleted, StatusCode::NO_CONTENT);
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/v1/me/keys/{bound_key_id}"),
            Some(&bound_key),
            None,
        )
        .await;
    assert_status(&deleted, StatusCode::NO_CONTENT);
    count(3);
    for key in [&own_key, &admin_key, &bound_key] {
        app.call(Method::GET, "/v1/me/info", Some(key), None)
            .await
            .assert_detail(401, "Invalid API key.");
        count(1);
    }

    // The user is deleted: their last session key stops working.
    let deleted = app.delete(&format!("/v1/admin/users/{user}")).await;
    assert_status(&deleted, StatusCode::NO_CONTENT);
    app.call(Method::GET, "/v1/me/info", Some(&third_session), None)
        .await
        .assert_detail(401, "Invalid API key.");
    let users = app.get("/v1/admin/users").await;
    assert_eq!(users.body["total"], 0, "{}", users.text);
    count(3);

    (secrets, requests)
}

/// Runs the session against the binary logging at `level` (`debug` or `trace`) in `format`, then
/// checks its output: every request logged, no secret anywhere.
async fn a_whole_session_leaves_no_secret_in_the_output(format: Format, level: &str) {
    let served = Served::start(format, level);
    let (secrets, requests) = session(&served.app).await;
    let (lines, _app) = served.stop();

    // The logs did record the session, at that level: a check that finds no secret in empty
    // output would prove nothing.
    let plain: Vec<String> = lines.iter().map(|line| strip_ansi(line)).collect();
    let access: Vec<&String> = plain
        .iter()
        .filter(|line| line.contains("/v1/") && line.contains("status"))
        .collect();
    for route in ROUTES {
        let logged = match format {
            Format::Text => format!("route={route} "),
            Format::Json => format!(r#""route":"{route}""#),
        };
        assert!(
            access.iter().any(|line| line.contains(&logged)),
            "no access log for {route}: {plain:#?}"
        );
    }
    let request_events: Vec<&&String> = access
        .iter()
        .filter(|line| match format {
            Format::Text => line.contains(" request "),
            Format::Json => line.contains(r#""message":"request""#),
        })
        .collect();
    assert!(
        request_events.len() >= requests,
        "{} request events for {requests} requests: {plain:#?}",
        request_events.len()
    );
    // Each carries its request's id, and its path; the requests with a query string carry the
    // id the client gave.
    for line in &request_events {
        assert!(line.contains("request_id"), "no request id: {line}");
        assert!(line.contains("path"), "no path: {line}");
    }
    for i in 0..2 {
        let (id, path) = match format {
            Format::Text => (
                format!("request_id={QUERY_REQUEST_ID}-{i} "),
                "path=/v1/admin/users}".to_owned(),
            ),
            Format::Json => (
                format!(r#""request_id":"{QUERY_REQUEST_ID}-{i}""#),
                r#""path":"/v1/admin/users""#.to_owned(),
            ),
        };
        let line = request_events
            .iter()
            .find(|line| line.contains(&id))
            .unwrap_or_else(|| panic!("no request event with {id}: {plain:#?}"));
        assert!(line.contains(&path), "{line}");
        assert!(!line.contains('?'), "a query string in: {line}");
    }
    let level = level.to_uppercase();
    assert!(
        plain.iter().any(|line| line.contains(&level)),
        "nothing at {level} level: {plain:#?}"
    );
    if matches!(format, Format::Json) {
        for line in &lines {
            serde_json::from_str::<Value>(line)
                .unwrap_or_else(|error| panic!("not JSON ({error}): {line}"));
        }
    }
    assert_no_secret(&lines, &secrets);
}

#[tokio::test]
async fn at_debug_level_in_text_a_whole_session_is_logged_without_any_secret() {
    a_whole_session_leaves_no_secret_in_the_output(Format::Text, "debug").await;
}

/// Trace is the most any dependency says (actix-http's request parsing among it): still no secret.
#[tokio::test]
async fn at_trace_level_in_json_a_whole_session_is_logged_without_any_secret() {
    a_whole_session_leaves_no_secret_in_the_output(Format::Json, "trace").await;
}

// ---------------------------------------------------------------------------------------------
// Deleted, expired and someone else's keys, in process

/// Acme with project Apollo, a role without permissions, and `email` in Acme and Apollo with a
/// plain key: `(user, plain key, project)`.
async fn member_of_a_project(app: &TestApp, organization: i64, email: &str) -> (i64, String, i64) {
    let role = app.create_role(&format!("role of {email}"), &[]).await;
    let user = app.create_user(email, role, Some(organization)).await;
    let key = app.create_key(user).await;
    let project = app
        .post(
            "/v1/admin/projects",
            json!({"name": format!("project of {email}"), "organization": organization}),
        )
        .await;
    assert_status(&project, StatusCode::CREATED);
    let project = project.body["id"].as_i64().unwrap();
    let member = app
        .call(
            Method::PUT,
            &format!("/v1/admin/projects/{project}/members/{user}"),
            Some(MASTER_KEY),
            None,
        )
        .await;
    assert_status(&member, StatusCode::NO_CONTENT);
    (user, key, project)
}

/// `POST /v1/me/keys` with `key` and `body`, which must answer 201: `(id, key)`.
async fn own_key(app: &TestApp, key: &str, body: Value) -> (i64, String) {
    let answer = app
        .call(Method::POST, "/v1/me/keys", Some(key), Some(body))
        .await;
    assert_status(&answer, StatusCode::CREATED);
    created_key(&answer, "token")
}

#[track_caller]
fn assert_invalid_key(answer: &Answer) {
    answer.assert_detail(401, "Invalid API key.");
    assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
}

/// Asserts that `key` is refused everywhere a user's key goes, as an invalid key.
async fn assert_key_dead(app: &TestApp, key: &str) {
    for (method, path) in [
        (Method::GET, "/v1/me/info"),
        (Method::GET, "/v1/me/keys"),
        (Method::POST, "/v1/me/keys"),
    ] {
        let body = (method == Method::POST).then(|| json!({"name": "from a dead key"}));
        assert_invalid_key(&app.call(method, path, Some(key), body).await);
    }
}

async fn assert_key_works(app: &TestApp, key: &str) {
    let answer = app.call(Method::GET, "/v1/me/info", Some(key), None).await;
    assert_status(&answer, StatusCode::OK);
}

#[tokio::test]
async fn an_own_key_and_a_project_bound_key_fail_with_401_as_soon_as_they_expire() {
    let clock = TestClock::now();
    let app = TestApp::spawn_with_clock(Arc::clone(&clock)).await;
    let acme = app.create_organization("Acme").await;
    let (_, key, project) = member_of_a_project(&app, acme, "ada@example.com").await;
    let expires = clock.unix() + 60;
    let (_, own) = own_key(&app, &key, json!({"name": "short", "expires": expires})).await;
    let (_, bound) = own_key(
        &app,
        &key,
        json!({"name": "short bound", "project": project, "expires": expires}),
    )
    .await;
    assert_key_works(&app, &own).await;
    assert_key_works(&app, &bound).await;

    // They work until the second before their expiry, and are dead at it.
    clock.advance(TimeDelta::seconds(59));
    assert_key_works(&app, &own).await;
    assert_key_works(&app, &bound).await;
    clock.advance(TimeDelta::seconds(1));
    assert_key_dead(&app, &own).await;
    assert_key_dead(&app, &bound).await;
    // The key without expiry still works, and expired keys create nothing.
    assert_key_works(&app, &key).await;
    let keys = app.call(Method::GET, "/v1/me/keys", Some(&key), None).await;
    assert_eq!(keys.body["total"], 3, "{}", keys.text);
}

#[tokio::test]
async fn a_deleted_project_bound_key_and_a_deleted_session_key_fail_with_401_at_once() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let (user, key, project) = member_of_a_project(&app, acme, "ada@example.com").await;
    let (bound_id, bound) = own_key(&app, &key, json!({"name": "bound", "project": project})).await;
    let (session_id, session) = created_key(
        &login(&app, "ada@example.com", "correct horse battery").await,
        "key",
    );
    assert_key_works(&app, &bound).await;
    assert_key_works(&app, &session).await;

    // The bound key deletes itself; the admin deletes the session key.
    let deleted = app
        .call(
            Method::DELETE,
            &format!("/v1/me/keys/{bound_id}"),
            Some(&bound),
            None,
        )
        .await;
    assert_status(&deleted, StatusCode::NO_CONTENT);
    assert_key_dead(&app, &bound).await;
    let deleted = app.delete(&format!("/v1/admin/tokens/{session_id}")).await;
    assert_status(&deleted, StatusCode::NO_CONTENT);
    assert_key_dead(&app, &session).await;

    assert_key_works(&app, &key).await;
    let tokens = app.get(&format!("/v1/admin/tokens?user={user}")).await;
    assert_eq!(tokens.body["total"], 1, "{}", tokens.text);
}

#[tokio::test]
async fn another_users_session_and_project_bound_keys_are_404_under_me_keys_and_keep_working() {
    let app = TestApp::spawn().await;
    let acme = app.create_organization("Acme").await;
    let (_, ada_key, _) = member_of_a_project(&app, acme, "ada@example.com").await;
    // Bob is an admin: even so, /v1/me/keys reaches only his own keys.
    let (bob, _) = app.user_with_key("bob@example.com", &["admin"]).await;
    let moved = app
        .patch(
            &format!("/v1/admin/users/{bob}"),
            json!({"organization": acme}),
        )
        .await;
    assert_status(&moved, StatusCode::NO_CONTENT);
    let bob_key = app.create_key(bob).await;
    let bob_project = app
        .post(
            "/v1/admin/projects",
            json!({"name": "Bob's", "organization": acme}),
        )
        .await
        .body["id"]
        .as_i64()
        .unwrap();
    let member = app
        .call(
            Method::PUT,
            &format!("/v1/admin/projects/{bob_project}/members/{bob}"),
            Some(MASTER_KEY),
            None,
        )
        .await;
    assert_status(&member, StatusCode::NO_CONTENT);
    let (bound_id, bound) = own_key(
        &app,
        &bob_key,
        json!({"name": "bob bound", "project": bob_project}),
    )
    .await;
    let (session_id, session) = created_key(
        &login(&app, "bob@example.com", "correct horse battery").await,
        "key",
    );

    for id in [bound_id, session_id] {
        let path = format!("/v1/me/keys/{id}");
        app.call(Method::GET, &path, Some(&ada_key), None)
            .await
            .assert_detail(404, "Token not found.");
        app.call(Method::DELETE, &path, Some(&ada_key), None)
            .await
            .assert_detail(404, "Token not found.");
        let read = app.get(&format!("/v1/admin/tokens/{id}")).await;
        assert_status(&read, StatusCode::OK);
    }
    for key in [&bound, &session, &bob_key] {
        assert_key_works(&app, key).await;
    }
    // A project-bound key lists the keys of its project only.
    let keys = app
        .call(Method::GET, "/v1/me/keys", Some(&bound), None)
        .await;
    assert_eq!(keys.body["total"], 1, "{}", keys.text);
    assert_eq!(keys.body["data"][0]["id"], bound_id, "{}", keys.text);
    let keys = app
        .call(Method::GET, "/v1/me/keys", Some(&session), None)
        .await;
    assert_eq!(keys.body["total"], 4, "{}", keys.text);
}
