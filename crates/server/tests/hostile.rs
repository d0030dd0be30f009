//! Hostile input, over HTTP: SQL metacharacters and Unicode in every string field, stored and
//! returned verbatim and taken as data by the filters; order fields and filters that are not
//! allowed; bodies over the limit on every endpoint that reads one; and clients that send their
//! requests slowly or never finish them, which must neither slow down the others nor hold their
//! connections for ever.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::time::{Duration, Instant};

use gatehouse::silence::SILENCE_TIMEOUT;
use gatehouse::startup::REQUEST_HEAD_TIMEOUT;
use gatehouse_api::input::BODY_READ_TIMEOUT;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use support::{Answer, MASTER_KEY, TestApp};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Text that breaks code building SQL, `LIKE` patterns or JSON by hand, or that mangles Unicode.
/// None has whitespace around it (names are trimmed) and none holds NUL (refused).
fn hostile_texts() -> Vec<String> {
    let mut texts: Vec<String> = [
        "'; DROP TABLE users; --",
        "\" OR 1=1 --",
        "Robert'); DELETE FROM organizations WHERE ('1'='1",
        "%_\\",
        "100% _real_ \\% \\_ [a-z]*",
        "$$; SELECT pg_sleep(10); $$",
        "$1 ? :name @p0 %s {0}",
        "\\x00 \\u0000 \\n \\\"",
        "{\"$ne\": null}",
        "<script>alert(1)</script>&amp;",
        "🦀 👩‍👩‍👧‍👦 🏳️‍🌈",
        "שלום עולם مرحبا بالعالم",
        "\u{202e}fdp.exe\u{202c} \u{200f}rtl\u{200e}",
        "e\u{301}\u{302}\u{303}\u{304}\u{305} Z\u{335}a\u{336}l\u{337}g\u{338}o",
        "\u{e9}",
        "e\u{301}",
        "tab\tinside, line\nbreak, bell\u{7}, delete\u{7f}",
        "\u{feff}byte order mark, zero\u{200b}width",
    ]
    .map(str::to_owned)
    .to_vec();
    // The longest names accepted: 255 characters of 3 and of 4 bytes each.
    texts.push("日".repeat(255));
    texts.push("🦀".repeat(255));
    texts
}

/// `text` percent-encoded for a query string, every byte but the unreserved ones.
fn query_value(text: &str) -> String {
    text.bytes()
        .map(|byte| {
            if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
                char::from(byte).to_string()
            } else {
                format!("%{byte:02X}")
            }
        })
        .collect()
}

#[track_caller]
fn assert_created(answer: &Answer) -> i64 {
    assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
    answer.body["id"].as_i64().unwrap()
}

/// Asserts that `object` (as answered) holds `field` equal to `expected`, character for character
/// and so byte for byte.
#[track_caller]
fn assert_verbatim(object: &Value, field: &str, expected: &str) {
    let stored = object[field]
        .as_str()
        .unwrap_or_else(|| panic!("no {field} in {object}"));
    assert_eq!(
        stored.as_bytes(),
        expected.as_bytes(),
        "{field} of {object}"
    );
}

/// The items of a list answer, which must be a 200.
#[track_caller]
fn items(answer: &Answer) -> Vec<Value> {
    assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
    answer.body["data"].as_array().unwrap().clone()
}

#[tokio::test]
async fn sql_metacharacters_and_unicode_in_every_name_are_stored_and_returned_verbatim() {
    let app = TestApp::spawn().await;
    let texts = hostile_texts();

    // Organizations, roles, and the projects of one organization: one of each per text.
    let home = app.create_organization("home").await;
    for (collection, extra) in [
        ("/v1/admin/organizations", json!({})),
        ("/v1/admin/roles", json!({"permissions": ["read_metric"]})),
        ("/v1/admin/projects", json!({ "organization": home })),
    ] {
        let mut created = Vec::new();
        for text in &texts {
            let mut body = extra.clone();
            body["name"] = json!(text);
            let answer = app.post(collection, body).await;
            let id = assert_created(&answer);
            assert_verbatim(&answer.body, "name", text);
            assert_verbatim(
                &app.get(&format!("{collection}/{id}")).await.body,
                "name",
                text,
            );
            created.push((id, text));
        }
        let listed = items(&app.get(&format!("{collection}?limit=100")).await);
        for (id, text) in created {
            let item = listed.iter().find(|item| item["id"] == id).unwrap();
            assert_verbatim(item, "name", text);
        }
    }

    // A user's name, set on creation, by an admin's patch and by the user; their keys' names,
    // given by an admin and by the user.
    let role = app.create_role("plain", &[]).await;
    let user = app.create_user("ada@example.com", role, Some(home)).await;
    let key = app.create_key(user).await;
    let path = format!("/v1/admin/users/{user}");
    for text in &texts {
        let answer = app.patch_returning(&path, json!({ "name": text })).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        assert_verbatim(&answer.body, "name", text);
        assert_verbatim(&app.get(&path).await.body, "name", text);
        let listed = items(&app.get("/v1/admin/users?email=ada%40example.com").await);
        assert_verbatim(&listed[0], "name", text);

        let mine = app
            .call(
                Method::PATCH,
                "/v1/me/info",
                Some(&key),
                Some(json!({ "name": text })),
            )
            .await;
        assert_eq!(mine.status, StatusCode::NO_CONTENT, "{}", mine.text);
        let info = app.call(Method::GET, "/v1/me/info", Some(&key), None).await;
        assert_verbatim(&info.body, "name", text);

        let token = app
            .post("/v1/admin/tokens", json!({ "name": text, "user": user }))
            .await;
        let token_id = assert_created(&token);
        assert_verbatim(&token.body, "name", text);
        let read = app.get(&format!("/v1/admin/tokens/{token_id}")).await;
        assert_verbatim(&read.body, "name", text);

        let own = app
            .call(
                Method::POST,
                "/v1/me/keys",
                Some(&key),
                Some(json!({ "name": text })),
            )
            .await;
        let own_id = assert_created(&own);
        assert_verbatim(&own.body, "name", text);
        let read = app
            .call(
                Method::GET,
                &format!("/v1/me/keys/{own_id}"),
                Some(&key),
                None,
            )
            .await;
        assert_verbatim(&read.body, "name", text);
    }
    // Every table is still there, with what was put in it.
    let organizations = app.get("/v1/admin/organizations").await;
    assert_eq!(organizations.body["total"], texts.len() + 1);
    assert_eq!(app.get("/v1/admin/users").await.body["total"], 1);
}

#[tokio::test]
async fn names_that_differ_only_in_unicode_normalisation_or_escaping_are_told_apart_exactly() {
    let app = TestApp::spawn().await;
    // "é" precomposed and decomposed are two names: nothing normalises them.
    let composed = app.create_organization("caf\u{e9}").await;
    let decomposed = app.create_organization("cafe\u{301}").await;
    assert_ne!(composed, decomposed);

    // A JSON escape is the character it stands for: the same name twice is a conflict.
    let escaped = app
        .post_raw(
            "/v1/admin/organizations",
            r#"{"name": "\ud83e\udd80 \u0027quoted\u0027 \"double\""}"#,
        )
        .await;
    assert_created(&escaped);
    assert_verbatim(&escaped.body, "name", "🦀 'quoted' \"double\"");
    let raw = app
        .post(
            "/v1/admin/organizations",
            json!({"name": "🦀 'quoted' \"double\""}),
        )
        .await;
    raw.assert_detail(409, "Organization already exists.");

    // Half a surrogate pair is not text: the body is not valid JSON.
    let lone = app
        .post_raw("/v1/admin/organizations", r#"{"name": "\ud83e crab"}"#)
        .await;
    assert_eq!(
        lone.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        lone.text
    );
    assert_eq!(lone.body["detail"][0]["type"], "json_invalid");
    // Nor is a NUL character a name.
    app.post_raw("/v1/admin/organizations", r#"{"name": "a\u0000b"}"#)
        .await
        .assert_invalid(&[(json!(["body", "name"]), "value_error")]);
    assert_eq!(app.get("/v1/admin/organizations").await.body["total"], 3);
}

#[tokio::test]
async fn emails_with_quotes_and_wildcards_are_stored_verbatim_and_the_filter_matches_them_exactly()
{
    let app = TestApp::spawn().await;
    let role = app.create_role("plain", &[]).await;
    let emails = [
        "o'brien+tag@example.com",
        "'or'1'='1'--@example.com",
        "a%b_c@example.com",
        "axbyc@example.com",
        "$$`{pipe|tilde~}`#!&*/=?^@example.com",
        "ada@bücher.example",
    ];
    let mut ids = Vec::new();
    for email in emails {
        let answer = app
            .post(
                "/v1/admin/users",
                json!({"email": email, "password": "correct horse battery", "role": role}),
            )
            .await;
        ids.push(assert_created(&answer));
        assert_verbatim(&answer.body, "email", email);
        let read = app
            .get(&format!("/v1/admin/users/{}", ids.last().unwrap()))
            .await;
        assert_verbatim(&read.body, "email", email);
    }

    let filtered = |filter: &str| {
        let path = format!("/v1/admin/users?email={}", query_value(filter));
        let app = &app;
        async move {
            items(&app.get(&path).await)
                .iter()
                .map(|user| user["id"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    // Each address finds its user, in any letter case, and only it.
    for (email, id) in emails.iter().zip(&ids) {
        assert_eq!(filtered(email).await, [*id], "{email}");
        // Letter case is ignored (for ASCII letters at least: beyond ASCII, it is the
        // database's locale that says what a letter case is).
        assert_eq!(
            filtered(&email.to_ascii_uppercase()).await,
            [*id],
            "{email}"
        );
    }
    // `%` and `_` are characters, not wildcards; SQL in the filter is text.
    for pattern in [
        "%",
        "%@example.com",
        "_%",
        "a_b_c@example.com",
        "a%",
        "' OR '1'='1",
        "x' OR email LIKE '%",
        "o'brien+tag@example.com' --",
        "*",
        "",
        "ada@bücher.example\0",
    ] {
        assert_eq!(filtered(pattern).await, Vec::<i64>::new(), "{pattern:?}");
    }

    // A log-in with such text is simply wrong.
    for email in [
        "' OR '1'='1",
        "%",
        "o'brien+tag@example.com'--",
        "ada@bücher.example\0",
    ] {
        app.call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": email, "password": "correct horse battery"})),
        )
        .await
        .assert_detail(401, "Invalid email or password.");
    }
    let login = app
        .call(
            Method::POST,
            "/v1/auth/login",
            None,
            Some(json!({"email": "O'BRIEN+TAG@example.com", "password": "correct horse battery"})),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.text);
    assert_eq!(login.body["id"].as_i64().map(|id| id > 0), Some(true));
    assert_eq!(app.get("/v1/admin/users").await.body["total"], emails.len());
}

/// Every list, with the filters that take an id.
async fn lists(app: &TestApp) -> Vec<(String, &'static [&'static str])> {
    let organization = app.create_organization("Acme").await;
    let project = app
        .post(
            "/v1/admin/projects",
            json!({"name": "Apollo", "organization": organization}),
        )
        .await;
    let project = assert_created(&project);
    vec![
        ("/v1/admin/organizations".to_owned(), &[][..]),
        ("/v1/admin/users".to_owned(), &["role", "organization"][..]),
        ("/v1/admin/roles".to_owned(), &[][..]),
        ("/v1/admin/projects".to_owned(), &["organization"][..]),
        (format!("/v1/admin/projects/{project}/members"), &[][..]),
        ("/v1/admin/tokens".to_owned(), &["user"][..]),
        ("/v1/me/keys".to_owned(), &[][..]),
    ]
}

#[tokio::test]
async fn every_list_refuses_an_order_field_it_does_not_allow_and_a_filter_of_the_wrong_type() {
    let app = TestApp::spawn().await;
    for (path, filters) in lists(&app).await {
        for order in [
            "password_hash",
            "hash",
            "id; DROP TABLE users; --",
            "name DESC",
            "id,name",
            "NAME",
            "1",
            "",
        ] {
            let answer = app
                .get(&format!("{path}?order_by={}", query_value(order)))
                .await;
            answer.assert_invalid(&[(json!(["query", "order_by"]), "enum")]);
        }
        for direction in ["DESC", "desc; --", "descending", ""] {
            let answer = app
                .get(&format!(
                    "{path}?order_direction={}",
                    query_value(direction)
                ))
                .await;
            answer.assert_invalid(&[(json!(["query", "order_direction"]), "enum")]);
        }
        for filter in filters {
            for value in ["abc", "1.5", "1 OR 1=1", "", "99999999999999999999", "0x10"] {
                let answer = app
                    .get(&format!("{path}?{filter}={}", query_value(value)))
                    .await;
                answer.assert_invalid(&[(json!(["query", filter]), "int_parsing")]);
            }
        }
        // Every bad parameter at once is every error at once.
        let all = app
            .get(&format!(
                "{path}?order_by=x&order_direction=y&offset=-1&limit=0"
            ))
            .await;
        all.assert_invalid(&[
            (json!(["query", "order_by"]), "enum"),
            (json!(["query", "order_direction"]), "enum"),
            (json!(["query", "offset"]), "greater_than_equal"),
            (json!(["query", "limit"]), "greater_than_equal"),
        ]);
    }
    // The aliases roles take are checked alike.
    app.get("/v1/admin/roles?sort_by=password")
        .await
        .assert_invalid(&[(json!(["query", "sort_by"]), "enum")]);
    app.get("/v1/admin/roles?sort_order=up")
        .await
        .assert_invalid(&[(json!(["query", "sort_order"]), "enum")]);
}

/// Every endpoint that reads a body, with the ids of things that exist.
async fn body_endpoints(app: &TestApp) -> Vec<(Method, String)> {
    let organization = app.create_organization("Acme").await;
    let role = app.create_role("plain", &[]).await;
    let user = app.create_user("ada@example.com", role, None).await;
    let project = app
        .post(
            "/v1/admin/projects",
            json!({"name": "Apollo", "organization": organization}),
        )
        .await;
    let project = assert_created(&project);
    vec![
        (Method::POST, "/v1/admin/organizations".to_owned()),
        (
            Method::PATCH,
            format!("/v1/admin/organizations/{organization}"),
        ),
        (Method::POST, "/v1/admin/users".to_owned()),
        (Method::PATCH, format!("/v1/admin/users/{user}")),
        (Method::POST, "/v1/admin/roles".to_owned()),
        (Method::PATCH, format!("/v1/admin/roles/{role}")),
        (Method::POST, "/v1/admin/projects".to_owned()),
        (Method::PATCH, format!("/v1/admin/projects/{project}")),
        (Method::POST, "/v1/admin/tokens".to_owned()),
        (Method::POST, "/v1/me/keys".to_owned()),
        (Method::PATCH, "/v1/me/info".to_owned()),
        (Method::POST, "/v1/auth/login".to_owned()),
    ]
}

/// A JSON object of exactly `size` bytes, `{"padding": "aaa..."}`: a field every endpoint
/// ignores, so that it changes nothing.
fn json_of_size(size: usize) -> String {
    let frame = r#"{"padding": ""}"#;
    let body = format!(r#"{{"padding": "{}"}}"#, "a".repeat(size - frame.len()));
    assert_eq!(body.len(), size);
    body
}

const LIMIT: usize = 64 * 1024;

#[tokio::test]
async fn a_body_over_64_kib_is_413_on_every_endpoint_that_reads_one_and_64_kib_is_not() {
    let app = TestApp::spawn().await;
    let endpoints = body_endpoints(&app).await;
    let before = app.get("/v1/admin/organizations/1").await.body;
    for (method, path) in &endpoints {
        let send = |body: String| {
            app.send(
                app.client
                    .request(method.clone(), app.url(path))
                    .bearer_auth(MASTER_KEY)
                    .header("content-type", "application/json")
                    .body(body),
            )
        };
        send(json_of_size(LIMIT + 1))
            .await
            .assert_detail(413, "Request body too large.");
        let at_limit = send(json_of_size(LIMIT)).await;
        assert_ne!(
            at_limit.status,
            StatusCode::PAYLOAD_TOO_LARGE,
            "{method} {path}: {}",
            at_limit.text
        );
        assert!(at_limit.status.as_u16() < 500, "{method} {path}");
    }
    assert_eq!(app.get("/v1/admin/organizations/1").await.body, before);
}

/// Opens a raw connection to the app.
async fn connect(app: &TestApp) -> TcpStream {
    TcpStream::connect(app.address.trim_start_matches("http://"))
        .await
        .unwrap()
}

/// Reads until the server closes the connection (a reset counts), at most until `deadline`;
/// `None` if it is still open then.
async fn read_until_closed(stream: &mut TcpStream, deadline: Instant) -> Option<Vec<u8>> {
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        match tokio::time::timeout(left, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0) | Err(_)) => return Some(received),
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
        }
    }
}

/// The status of a raw HTTP answer, if there is one.
fn status_of(raw: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(raw);
    text.strip_prefix("HTTP/1.1 ")?.get(..3)?.parse().ok()
}

/// Sends `request` (the whole of it, in one piece) over a new connection and reads the answer to
/// the end; the request must ask the server to close.
async fn raw_exchange(app: &TestApp, request: &[u8]) -> Vec<u8> {
    let mut stream = connect(app).await;
    stream.write_all(request).await.unwrap();
    read_until_closed(&mut stream, Instant::now() + Duration::from_secs(10))
        .await
        .expect("an answer")
}

#[tokio::test]
async fn a_chunked_body_over_the_limit_or_an_announced_one_is_413_without_waiting_for_it() {
    let app = TestApp::spawn().await;
    for (method, path) in body_endpoints(&app).await {
        // Chunked: no length up front, the limit is found while reading.
        let mut request = format!(
            "{method} {path} HTTP/1.1\r\nHost: gatehouse\r\nAuthorization: Bearer {MASTER_KEY}\r\n\
             Content-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
        )
        .into_bytes();
        for _ in 0..17 {
            request.extend_from_slice(format!("1000\r\n{}\r\n", "a".repeat(4096)).as_bytes());
        }
        request.extend_from_slice(b"0\r\n\r\n");
        let answer = raw_exchange(&app, &request).await;
        assert_eq!(status_of(&answer), Some(413), "{method} {path}");
        assert!(
            String::from_utf8_lossy(&answer).ends_with(r#"{"detail":"Request body too large."}"#),
            "{}",
            String::from_utf8_lossy(&answer)
        );

        // A `Content-Length` over the limit is refused before a byte of the body is sent.
        let started = Instant::now();
        let request = format!(
            "{method} {path} HTTP/1.1\r\nHost: gatehouse\r\nAuthorization: Bearer {MASTER_KEY}\r\n\
             Content-Type: application/json\r\nContent-Length: 1000000000\r\n\r\n"
        );
        let mut stream = connect(&app).await;
        stream.write_all(request.as_bytes()).await.unwrap();
        let mut head = [0_u8; 12];
        tokio::time::timeout(Duration::from_secs(2), stream.read_exact(&mut head))
            .await
            .expect("an answer before the body")
            .unwrap();
        assert_eq!(&head, b"HTTP/1.1 413", "{method} {path}");
        assert!(started.elapsed() < Duration::from_secs(2));
    }
    assert_eq!(app.get("/v1/admin/organizations").await.body["total"], 1);
}

/// How many stalled connections the slow-client tests open at once.
const STALLED: usize = 200;
/// How long the server may take to close a connection stalled in its first request: the longer of
/// the head and body timeouts, and some margin.
const CLOSED_WITHIN: Duration = Duration::from_secs(15);

#[test]
fn the_servers_timeouts_are_within_what_these_tests_wait() {
    let longest = REQUEST_HEAD_TIMEOUT.max(BODY_READ_TIMEOUT);
    assert!(longest + Duration::from_secs(3) <= CLOSED_WITHIN);
}

/// Asserts that the server answers `/health` and creates an organization promptly, each within a
/// second, while clients stall.
async fn assert_prompt(app: &TestApp, round: usize) {
    for attempt in 0..5 {
        let started = Instant::now();
        let health = app.call(Method::GET, "/health", None, None).await;
        assert_eq!(health.status, StatusCode::OK, "{}", health.text);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "/health took {:?} while clients stall",
            started.elapsed()
        );
        let started = Instant::now();
        let created = app
            .post(
                "/v1/admin/organizations",
                json!({ "name": format!("prompt {round}.{attempt}") }),
            )
            .await;
        assert_created(&created);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "a create took {:?} while clients stall",
            started.elapsed()
        );
    }
}

/// Opens [`STALLED`] connections that each send `partial` and then nothing.
async fn stall(app: &TestApp, partial: &[u8]) -> Vec<TcpStream> {
    let mut streams = Vec::with_capacity(STALLED);
    for _ in 0..STALLED {
        let mut stream = connect(app).await;
        stream.write_all(partial).await.unwrap();
        streams.push(stream);
    }
    streams
}

/// Waits for the server to close every stream, before `deadline`; returns what each received.
async fn closed_by_server(streams: Vec<TcpStream>, deadline: Instant) -> Vec<Vec<u8>> {
    let waits = streams.into_iter().map(|mut stream| async move {
        read_until_closed(&mut stream, deadline)
            .await
            .expect("the server closes a stalled connection in time")
    });
    futures_join_all(waits).await
}

/// Runs every future concurrently and collects their outputs in order.
async fn futures_join_all<F: std::future::Future + Send + 'static>(
    futures: impl Iterator<Item = F>,
) -> Vec<F::Output>
where
    F::Output: Send + 'static,
{
    let handles: Vec<_> = futures.map(tokio::spawn).collect();
    let mut outputs = Vec::with_capacity(handles.len());
    for handle in handles {
        outputs.push(handle.await.unwrap());
    }
    outputs
}

#[tokio::test]
async fn clients_stalled_in_their_headers_slow_no_one_down_and_are_cut_off_with_408() {
    let app = TestApp::spawn().await;
    let started = Instant::now();
    let streams = stall(
        &app,
        b"POST /v1/admin/organizations HTTP/1.1\r\nHost: gatehouse\r\nAuthorization: Bea",
    )
    .await;
    assert_prompt(&app, 0).await;
    let answers = closed_by_server(streams, started + CLOSED_WITHIN).await;
    for answer in &answers {
        assert_eq!(
            status_of(answer),
            Some(408),
            "{}",
            String::from_utf8_lossy(answer)
        );
    }
    assert_prompt(&app, 1).await;
    assert_eq!(app.get("/v1/admin/organizations").await.body["total"], 10);
}

#[tokio::test]
async fn clients_that_send_part_of_their_body_slow_no_one_down_and_are_cut_off_with_408() {
    let app = TestApp::spawn().await;
    let started = Instant::now();
    let request = format!(
        "POST /v1/admin/organizations HTTP/1.1\r\nHost: gatehouse\r\nAuthorization: Bearer {MASTER_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 1000\r\n\r\n{{\"name\": \"stalled"
    );
    let streams = stall(&app, request.as_bytes()).await;
    assert_prompt(&app, 0).await;
    let answers = closed_by_server(streams, started + CLOSED_WITHIN).await;
    for answer in &answers {
        let text = String::from_utf8_lossy(answer);
        assert_eq!(status_of(answer), Some(408), "{text}");
        assert!(text.ends_with(r#"{"detail":"Request timeout."}"#), "{text}");
    }
    assert_prompt(&app, 1).await;
    // None of the stalled requests created anything.
    assert_eq!(app.get("/v1/admin/organizations").await.body["total"], 10);
}

#[tokio::test]
async fn a_body_sent_a_byte_at_a_time_is_cut_off_however_steadily_it_comes() {
    let app = TestApp::spawn().await;
    let started = Instant::now();
    let (mut reader, mut writer) = connect(&app).await.into_split();
    let head = format!(
        "POST /v1/admin/organizations HTTP/1.1\r\nHost: gatehouse\r\nAuthorization: Bearer {MASTER_KEY}\r\n\
         Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
    );
    writer.write_all(head.as_bytes()).await.unwrap();
    // One byte every 200 ms: the whole body would take 20 s, longer than the server waits. Real
    // sleeps, as the behaviour under test is a slow client, timed by the clocks of the server's
    // own worker threads, which the test cannot move.
    let trickle = tokio::spawn(async move {
        for _ in 0..100 {
            tokio::time::sleep(Duration::from_millis(200)).await;
            if writer.write_all(b" ").await.is_err() {
                return;
            }
        }
    });
    let mut received = Vec::new();
    let mut buffer = [0_u8; 4096];
    let closed = loop {
        let left = (started + CLOSED_WITHIN).saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, reader.read(&mut buffer)).await {
            Err(_) => break false,
            Ok(Ok(0) | Err(_)) => break true,
            Ok(Ok(read)) => received.extend_from_slice(&buffer[..read]),
        }
    };
    trickle.abort();
    assert!(closed, "the server waited for the whole trickle");
    // The answer is 408, unless the reset of the connection (the server leaves the rest of the
    // trickle unread) overtook it.
    assert!(
        received.is_empty() || status_of(&received) == Some(408),
        "{}",
        String::from_utf8_lossy(&received)
    );
    assert_eq!(app.get("/v1/admin/organizations").await.body["total"], 0);
}

#[tokio::test]
async fn a_later_request_stalled_on_a_kept_alive_connection_is_cut_off_too() {
    let app = TestApp::spawn().await;
    let mut stream = connect(&app).await;
    stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: gatehouse\r\n\r\n")
        .await
        .unwrap();
    let mut first = vec![0_u8; 4096];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut first))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(status_of(&first[..read]), Some(200));

    // The head timeout of actix-web only covers a connection's first request: the next one is
    // bounded by the time the server may stay silent.
    let started = Instant::now();
    stream
        .write_all(b"POST /v1/admin/organizations HTTP/1.1\r\nHost: gate")
        .await
        .unwrap();
    let closed = read_until_closed(
        &mut stream,
        started + SILENCE_TIMEOUT + Duration::from_secs(5),
    )
    .await;
    assert!(closed.is_some(), "the connection is still open");
    assert!(started.elapsed() + Duration::from_secs(1) >= SILENCE_TIMEOUT);
    assert_prompt(&app, 0).await;
}
