//! Starts the real application on a random port, against a database of its own, and talks to it
//! over HTTP like any client.

#![allow(dead_code)] // Each test file uses its own part of this module.
#![allow(clippy::expect_used, clippy::unwrap_used)] // Test support: a failure is a failed test.

pub mod console;
pub mod oidc;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use gatehouse::Application;
use gatehouse::config::{DatabaseSettings, ServeSettings, SsoSettings};
use gatehouse_api::TrustedProxies;
use gatehouse_application::{LoginLimits, Retention};
use gatehouse_domain::chrono::{DateTime, TimeDelta, Utc};
use gatehouse_domain::{Clock, Secret};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{DEFAULT_CONNECTION_TIMEOUT, PgPool, connect};
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

/// The master key every test server is configured with.
pub const MASTER_KEY: &str = "test-master-key-0123456789";

/// A running server and its database.
pub struct TestApp {
    /// `http://127.0.0.1:<port>`.
    pub address: String,
    /// The client to call it with.
    pub client: reqwest::Client,
    /// The server's own database, dropped with the app.
    pub db: Arc<TestDatabase>,
}

/// An answer: status, headers and JSON body (`Value::Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    /// The status.
    pub status: StatusCode,
    /// The headers.
    pub headers: reqwest::header::HeaderMap,
    /// The body, parsed.
    pub body: Value,
    /// The body, as received.
    pub text: String,
}

impl Answer {
    /// A header's value as text.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl TestApp {
    /// A server with the default settings.
    pub async fn spawn() -> Self {
        Self::spawn_with(|_| {}).await
    }

    /// A server with settings changed by `configure`. Async because the server is spawned on the
    /// caller's Tokio runtime.
    #[allow(clippy::unused_async)]
    pub async fn spawn_with(configure: impl FnOnce(&mut ServeSettings)) -> Self {
        let db = TestDatabase::new();
        let pool = db.pool();
        let address = start(&db, pool, configure);
        Self {
            address: format!("http://{address}"),
            client: client(),
            db: Arc::new(db),
        }
    }

    /// A server whose time is `clock`'s: the test moves it instead of waiting.
    pub async fn spawn_with_clock(clock: Arc<TestClock>) -> Self {
        Self::spawn_with_clock_and(clock, |_| {}).await
    }

    /// A server whose time is `clock`'s, with settings changed by `configure`: for a test that
    /// needs both (e.g. a short session that must run out).
    #[allow(clippy::unused_async)]
    pub async fn spawn_with_clock_and(
        clock: Arc<TestClock>,
        configure: impl FnOnce(&mut ServeSettings),
    ) -> Self {
        Self::serve(Arc::new(TestDatabase::new()), clock, configure)
    }

    /// A second server on `first`'s database, which it takes over, with `clock` and settings
    /// changed by `configure`: for settings that name rows made through the first (a role).
    #[allow(clippy::unused_async)]
    pub async fn spawn_on_database_with_clock(
        first: TestApp,
        clock: Arc<TestClock>,
        configure: impl FnOnce(&mut ServeSettings),
    ) -> Self {
        Self::serve(first.db, clock, configure)
    }

    /// Another instance beside this one: the same database, its own pool, cache and listener,
    /// as a second server behind a load balancer; its time is `clock`'s.
    #[allow(clippy::unused_async)]
    pub async fn spawn_beside(&self, clock: Arc<TestClock>) -> Self {
        Self::serve(Arc::clone(&self.db), clock, |_| {})
    }

    fn serve(
        db: Arc<TestDatabase>,
        clock: Arc<TestClock>,
        configure: impl FnOnce(&mut ServeSettings),
    ) -> Self {
        let mut settings = settings(&db);
        configure(&mut settings);
        let application = Application::build_with_clock(&settings, db.pool(), clock)
            .expect("the application starts");
        let address = application.address();
        tokio::spawn(application.run_until_stopped());
        Self {
            address: format!("http://{address}"),
            client: client(),
            db,
        }
    }

    /// A server whose pool is `pool` (e.g. one pointed at a proxy the test can cut), with its own
    /// database for the settings.
    #[allow(clippy::unused_async)]
    pub async fn spawn_on_pool(pool: PgPool) -> Self {
        let db = TestDatabase::new();
        let address = start(&db, pool, |_| {});
        Self {
            address: format!("http://{address}"),
            client: client(),
            db: Arc::new(db),
        }
    }

    /// The full URL of `path`.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.address)
    }

    /// Sends a request with an optional bearer key and JSON body.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        key: Option<&str>,
        body: Option<Value>,
    ) -> Answer {
        let mut request = self.client.request(method, self.url(path));
        if let Some(key) = key {
            request = request.bearer_auth(key);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        answer(request.send().await.expect("the server answers")).await
    }

    /// Sends a request built by the caller (raw bodies, custom headers).
    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        answer(request.send().await.expect("the server answers")).await
    }

    /// `GET path` as the master key.
    pub async fn get(&self, path: &str) -> Answer {
        self.call(Method::GET, path, Some(MASTER_KEY), None).await
    }

    /// `POST path` with `body` as the master key.
    pub async fn post(&self, path: &str, body: Value) -> Answer {
        self.call(Method::POST, path, Some(MASTER_KEY), Some(body))
            .await
    }

    /// `PATCH path` with `body` as the master key.
    pub async fn patch(&self, path: &str, body: Value) -> Answer {
        self.call(Method::PATCH, path, Some(MASTER_KEY), Some(body))
            .await
    }

    /// `DELETE path` as the master key.
    pub async fn delete(&self, path: &str) -> Answer {
        self.call(Method::DELETE, path, Some(MASTER_KEY), None)
            .await
    }

    /// Creates an organization and returns its id.
    pub async fn create_organization(&self, name: &str) -> i64 {
        let answer = self
            .post("/v1/admin/organizations", json!({ "name": name }))
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body["id"].as_i64().expect("an id")
    }

    /// Creates a role with these permissions and returns its id.
    pub async fn create_role(&self, name: &str, permissions: &[&str]) -> i64 {
        let answer = self
            .post(
                "/v1/admin/roles",
                json!({ "name": name, "permissions": permissions }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body["id"].as_i64().expect("an id")
    }

    /// Creates a user of `role` (and `organization`, if any) and returns its id.
    pub async fn create_user(&self, email: &str, role: i64, organization: Option<i64>) -> i64 {
        let answer = self
            .post(
                "/v1/admin/users",
                json!({
                    "email": email,
                    "password": "correct horse battery",
                    "role": role,
                    "organization": organization,
                }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body["id"].as_i64().expect("an id")
    }

    /// Creates an API key for `user` and returns the whole key.
    pub async fn create_key(&self, user: i64) -> String {
        let answer = self
            .post(
                "/v1/admin/tokens",
                json!({ "name": "test key", "user": user }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body["token"].as_str().expect("a key").to_owned()
    }

    /// A user with these permissions and a key of theirs: `(user id, key)`.
    pub async fn user_with_key(&self, email: &str, permissions: &[&str]) -> (i64, String) {
        let role = self
            .create_role(&format!("role of {email}"), permissions)
            .await;
        let user = self.create_user(email, role, None).await;
        (user, self.create_key(user).await)
    }
}

/// The HTTP client of a test. It never reuses a connection idle for longer than the server keeps
/// one: reusing one just as the server closes it fails the request (`IncompleteMessage`), a race
/// every keep-alive client has, which slow tests on a busy machine met.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .pool_idle_timeout(gatehouse::startup::KEEP_ALIVE / 2)
        .build()
        .expect("an HTTP client")
}

/// A clock the test sets and moves; it starts at the real time.
#[derive(Debug)]
pub struct TestClock(Mutex<DateTime<Utc>>);

impl TestClock {
    /// A clock at `at`.
    pub fn at(at: DateTime<Utc>) -> Arc<Self> {
        Arc::new(Self(Mutex::new(at)))
    }

    /// A clock at the real time, truncated to the whole second.
    pub fn now() -> Arc<Self> {
        Self::at(DateTime::from_timestamp(unix_now(), 0).expect("a representable time"))
    }

    /// Moves the clock by `by`.
    pub fn advance(&self, by: TimeDelta) {
        let mut now = self.0.lock().expect("the clock's lock");
        *now += by;
    }

    /// Sets the clock to `at`.
    pub fn set(&self, at: DateTime<Utc>) {
        *self.0.lock().expect("the clock's lock") = at;
    }

    /// Unix seconds by this clock: what a body's `expires` must be after, since the server
    /// judges "in the future" by this clock, not by the real one.
    pub fn unix(&self) -> i64 {
        Clock::now(self).timestamp()
    }
}

impl Clock for TestClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().expect("the clock's lock")
    }
}

/// Settings for a test server on a random port of 127.0.0.1.
pub fn settings(db: &TestDatabase) -> ServeSettings {
    ServeSettings {
        database: DatabaseSettings {
            database_url: db.url().to_owned(),
            database_pool_size: 4,
            database_statement_timeout: std::num::NonZeroU32::new(30).unwrap(),
        },
        master_key: Secret::new(MASTER_KEY),
        listen_addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        key_max_expiration_days: None,
        session_duration: std::num::NonZeroU32::new(3600).unwrap(),
        http_workers: None,
        login_max_failures: LoginLimits::DEFAULT_PER_EMAIL,
        login_max_failures_per_address: LoginLimits::DEFAULT_PER_ADDRESS,
        trusted_proxies: TrustedProxies::default(),
        audit_retention_days: Retention::DEFAULT_DAYS,
        public_url: None,
        grant_cache_size: gatehouse::config::DEFAULT_GRANT_CACHE_SIZE,
        grant_listen_url: None,
        grant_cache_ttl: std::num::NonZeroU32::new(60).unwrap(),
        sso: SsoSettings::default(),
    }
}

/// A pool like the server's, on `url`.
pub fn pool(url: &str) -> PgPool {
    connect(url, 4, DEFAULT_CONNECTION_TIMEOUT, None).expect("a pool")
}

fn start(
    db: &TestDatabase,
    pool: PgPool,
    configure: impl FnOnce(&mut ServeSettings),
) -> SocketAddr {
    let mut settings = settings(db);
    configure(&mut settings);
    let application = Application::build(&settings, pool).expect("the application starts");
    let address = application.address();
    tokio::spawn(application.run_until_stopped());
    address
}

async fn answer(response: reqwest::Response) -> Answer {
    let status = response.status();
    let headers = response.headers().clone();
    let text = response.text().await.expect("a body");
    let body = serde_json::from_str(&text).unwrap_or(Value::Null);
    Answer {
        status,
        headers,
        body,
        text,
    }
}

/// Unix seconds now, by the test's clock.
pub fn unix_now() -> i64 {
    let since_epoch = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("the clock is after 1970");
    i64::try_from(since_epoch.as_secs()).expect("seconds fit in i64")
}

impl Answer {
    /// Asserts the status and the body `{"detail": detail}`.
    #[track_caller]
    pub fn assert_detail(&self, status: u16, detail: &str) {
        assert_eq!(self.status.as_u16(), status, "{}", self.text);
        assert_eq!(self.body, json!({ "detail": detail }), "{}", self.text);
    }

    /// Asserts a 422 whose errors are exactly these `(loc, type)` pairs, in any order, each with
    /// a `msg`.
    #[track_caller]
    pub fn assert_invalid(&self, expected: &[(Value, &str)]) {
        assert_eq!(
            self.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{}",
            self.text
        );
        let errors = self.body["detail"]
            .as_array()
            .unwrap_or_else(|| panic!("a list of validation errors, got {}", self.text));
        let mut found: Vec<String> = errors
            .iter()
            .map(|error| {
                assert!(error["msg"].is_string(), "an error without msg: {error}");
                format!("{} {}", error["loc"], error["type"])
            })
            .collect();
        let mut wanted: Vec<String> = expected
            .iter()
            .map(|(loc, kind)| format!("{loc} {}", json!(kind)))
            .collect();
        found.sort();
        wanted.sort();
        assert_eq!(found, wanted, "{}", self.text);
    }
}

/// The ids of `list`'s items in the order the contract sorts them by `field`, a time shown in
/// whole seconds, ascending: by the second shown, then by id. Rows written within one second (a
/// test's are, mostly) share it, so a test cannot tell in advance which of them comes first.
pub fn ids_by_shown(list: &Value, field: &str) -> Vec<i64> {
    let mut items: Vec<(i64, i64)> = list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| {
            let shown = item[field].as_i64().expect("a time in Unix seconds");
            (shown, item["id"].as_i64().expect("an id"))
        })
        .collect();
    items.sort_unstable();
    items.into_iter().map(|(_, id)| id).collect()
}

/// The ids of a list's items, in order.
pub fn ids(list: &Value) -> Vec<i64> {
    list["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| item["id"].as_i64().expect("an id"))
        .collect()
}

impl TestApp {
    /// `PATCH path` with `body` as the master key, asking for the updated object.
    pub async fn patch_returning(&self, path: &str, body: Value) -> Answer {
        self.send(
            self.client
                .patch(self.url(path))
                .bearer_auth(MASTER_KEY)
                .header("Prefer", "return=representation")
                .json(&body),
        )
        .await
    }

    /// A raw body posted as JSON with the master key.
    pub async fn post_raw(&self, path: &str, body: impl Into<reqwest::Body>) -> Answer {
        self.send(
            self.client
                .post(self.url(path))
                .bearer_auth(MASTER_KEY)
                .header("Content-Type", "application/json")
                .body(body),
        )
        .await
    }
}

// ---------------------------------------------------------------------------------------------
// The gateway: access decisions, usage reports, and the projects and budgets they spend.

/// The gateway's access decision.
pub const AUTHORIZE: &str = "/v1/auth/authorize";
/// The gateway's usage report.
pub const REPORT: &str = "/v1/auth/usage";

impl TestApp {
    /// `POST /v1/auth/authorize` with `body`, the gateway presenting `gateway`.
    pub async fn authorize(&self, gateway: &str, body: Value) -> Answer {
        self.call(Method::POST, AUTHORIZE, Some(gateway), Some(body))
            .await
    }

    /// `POST /v1/auth/authorize`, which must answer 200: the decision, checked to be an
    /// authorization of the request id asked about.
    pub async fn decide(&self, gateway: &str, body: Value) -> Value {
        let answer = self.authorize(gateway, body.clone()).await;
        assert_eq!(answer.status, StatusCode::OK, "{body}: {}", answer.text);
        assert_eq!(answer.body["object"], "authorization", "{}", answer.text);
        assert_eq!(
            answer.body["request_id"], body["request_id"],
            "{}",
            answer.text
        );
        answer.body
    }

    /// `POST /v1/auth/usage` with `body`, the gateway presenting `gateway`.
    pub async fn report_usage(&self, gateway: &str, body: Value) -> Answer {
        self.call(Method::POST, REPORT, Some(gateway), Some(body))
            .await
    }

    /// Creates a role with these permissions and limits and returns its id.
    pub async fn create_role_with_limits(
        &self,
        name: &str,
        permissions: &[&str],
        limits: Value,
    ) -> i64 {
        let answer = self
            .post(
                "/v1/admin/roles",
                json!({ "name": name, "permissions": permissions, "limits": limits }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body["id"].as_i64().expect("an id")
    }

    /// Creates a user from `body` (a password is added) and returns its id.
    pub async fn create_user_with(&self, body: Value) -> i64 {
        let mut body = body;
        body["password"] = json!("correct horse battery");
        let answer = self.post("/v1/admin/users", body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body["id"].as_i64().expect("an id")
    }

    /// Creates an API key for `user`: `(key id, key)`.
    pub async fn create_key_with_id(&self, user: i64) -> (i64, String) {
        let answer = self
            .post(
                "/v1/admin/tokens",
                json!({ "name": "test key", "user": user }),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        (
            answer.body["id"].as_i64().expect("an id"),
            answer.body["token"].as_str().expect("a key").to_owned(),
        )
    }

    /// Creates a project from `body` and returns its id.
    pub async fn create_project_with(&self, body: Value) -> i64 {
        let answer = self.post("/v1/admin/projects", body).await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        answer.body["id"].as_i64().expect("an id")
    }

    /// Makes `user` a member of `project`.
    pub async fn add_project_member(&self, project: i64, user: i64) {
        let answer = self
            .call(
                Method::PUT,
                &format!("/v1/admin/projects/{project}/members/{user}"),
                Some(MASTER_KEY),
                None,
            )
            .await;
        assert_eq!(answer.status, StatusCode::NO_CONTENT, "{}", answer.text);
    }

    /// A key bound to `project`, created by the owner of `owner_key` with `POST /v1/me/keys`:
    /// `(key id, key)`.
    pub async fn create_bound_key(&self, owner_key: &str, project: i64) -> (i64, String) {
        let answer = self
            .call(
                Method::POST,
                "/v1/me/keys",
                Some(owner_key),
                Some(json!({ "name": "bound", "project": project })),
            )
            .await;
        assert_eq!(answer.status, StatusCode::CREATED, "{}", answer.text);
        assert_eq!(answer.body["project"], json!(project), "{}", answer.text);
        (
            answer.body["id"].as_i64().expect("an id"),
            answer.body["token"].as_str().expect("a key").to_owned(),
        )
    }

    /// The budget of user `id`, as an admin reads it.
    pub async fn user_budget(&self, id: i64) -> Value {
        let answer = self.get(&format!("/v1/admin/users/{id}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.body["budget"].clone()
    }

    /// The budget of project `id`, as an admin reads it.
    pub async fn project_budget(&self, id: i64) -> Value {
        let answer = self.get(&format!("/v1/admin/projects/{id}")).await;
        assert_eq!(answer.status, StatusCode::OK, "{}", answer.text);
        answer.body["budget"].clone()
    }
}

impl TestApp {
    /// A server on `db`, which the test prepared before it starts (rows its start-up tasks must
    /// find), whose time is `clock`'s, with settings changed by `configure`.
    #[allow(clippy::unused_async)]
    pub async fn spawn_on_database(
        db: TestDatabase,
        clock: Arc<TestClock>,
        configure: impl FnOnce(&mut ServeSettings),
    ) -> Self {
        Self::serve(Arc::new(db), clock, configure)
    }
}
