//! Reliability scenarios against a real Gatehouse server, run by `scripts/reliability.sh`:
//!
//! - `outage`: steady load while PostgreSQL is stopped and started again;
//! - `crash`: a write load, the server killed with SIGKILL in the middle, restarted, and every
//!   object checked;
//! - `soak`: a long mixed load, with the server's memory sampled;
//! - `rolling`: a mixed load through nginx while the instances behind it restart one at a time;
//! - `kill`: a mixed load through nginx while one instance behind it is killed with SIGKILL.
//!
//! Each prints its figures as `name: value` lines on stdout, then `result: pass` or
//! `result: fail`, and exits with 1 when a target is missed (2 when the scenario could not run).
//!
//! ```sh
//! cargo run --release --example reliability -- outage --help
//! ```

use std::collections::{BTreeSet, HashMap};
use std::fmt::Display;
use std::fs::File;
use std::path::PathBuf;
use std::process::{Child, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::{Args, Parser, Subcommand};
use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};
use tokio::task::JoinSet;

type Error = Box<dyn std::error::Error + Send + Sync>;

/// A request that takes longer than this has hung: it counts as a failure.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server may take to answer `/health` after it starts.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(30);
/// What every request of the load carries as password when it creates a user.
const PASSWORD: &str = "correct horse battery staple";
const PERMISSIONS: [&str; 4] = [
    "admin",
    "create_public_collection",
    "read_metric",
    "provide_models",
];
const LIMIT_TYPES: [&str; 4] = ["tpm", "tpd", "rpm", "rpd"];

/// Reliability scenarios for Gatehouse.
#[derive(Parser)]
#[command(name = "reliability")]
struct Cli {
    #[command(subcommand)]
    scenario: Scenario,
}

#[derive(Subcommand)]
enum Scenario {
    /// Scenario 1: PostgreSQL stopped and started again under a steady load.
    Outage(OutageArgs),
    /// Scenario 2: the server killed with SIGKILL during a write load, then restarted.
    Crash(CrashArgs),
    /// Scenario 6: a long mixed load, with the server's resident memory sampled.
    Soak(SoakArgs),
    /// Scenario 7: the instances behind a load balancer restarted one at a time under a mixed load.
    Rolling(RollingArgs),
    /// Scenario 8: one instance behind a load balancer killed with SIGKILL under a mixed load.
    Kill(KillArgs),
}

/// A running server to load.
#[derive(Args)]
struct Target {
    /// Base URL of the server, e.g. `http://127.0.0.1:8000`.
    #[arg(long, env = "GATEHOUSE_URL")]
    url: String,
    /// The server's master key.
    #[arg(long, env = "MASTER_KEY", hide_env_values = true)]
    master_key: String,
}

#[derive(Args)]
struct OutageArgs {
    #[command(flatten)]
    target: Target,
    /// Shell command that stops PostgreSQL and returns once it is down.
    #[arg(long)]
    stop_command: String,
    /// Shell command that starts PostgreSQL again and returns once it accepts connections.
    #[arg(long)]
    start_command: String,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds of load before the stop.
    #[arg(long, default_value_t = 5)]
    warmup_secs: u64,
    /// Seconds PostgreSQL stays down.
    #[arg(long, default_value_t = 10)]
    outage_secs: u64,
    /// Seconds of load after PostgreSQL is back.
    #[arg(long, default_value_t = 10)]
    after_secs: u64,
    /// Longest answer allowed while the database is down, in seconds.
    #[arg(long, default_value_t = 3.0)]
    max_outage_latency: f64,
    /// Longest time allowed, once PostgreSQL is back, until every answer is 2xx, in seconds.
    #[arg(long, default_value_t = 5.0)]
    max_recovery: f64,
}

#[derive(Args)]
struct CrashArgs {
    /// The `gatehouse` binary to start (twice).
    #[arg(long)]
    binary: PathBuf,
    /// The database the server runs on.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: String,
    /// Address the server listens on.
    #[arg(long)]
    listen: String,
    /// The master key the server is started with.
    #[arg(long, env = "MASTER_KEY", hide_env_values = true)]
    master_key: String,
    /// File the server's logs are appended to.
    #[arg(long)]
    log: PathBuf,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds of write load before the kill.
    #[arg(long, default_value_t = 4)]
    kill_after_secs: u64,
}

#[derive(Args)]
struct SoakArgs {
    #[command(flatten)]
    target: Target,
    /// Process id of the server, whose memory is sampled from /proc.
    #[arg(long)]
    pid: u32,
    /// Concurrent clients.
    #[arg(long, default_value_t = 32)]
    clients: usize,
    /// Seconds of load.
    #[arg(long, default_value_t = 60)]
    duration_secs: u64,
    /// Seconds between two memory samples.
    #[arg(long, default_value_t = 5)]
    sample_secs: u64,
    /// The last samples may exceed the highest sample of the first 20 s by this factor.
    #[arg(long, default_value_t = 1.2)]
    rss_tolerance: f64,
}

/// A mixed load through the load balancer in front of several instances.
#[derive(Args)]
struct ClusterLoad {
    #[command(flatten)]
    target: Target,
    /// Concurrent clients.
    #[arg(long, default_value_t = 16)]
    clients: usize,
    /// Seconds of load before the event.
    #[arg(long, default_value_t = 3)]
    warmup_secs: u64,
    /// Seconds of load after the event.
    #[arg(long, default_value_t = 3)]
    after_secs: u64,
}

#[derive(Args)]
struct RollingArgs {
    #[command(flatten)]
    load: ClusterLoad,
    /// Shell command that restarts every instance, one at a time, and returns once the last one
    /// is back.
    #[arg(long)]
    restart_command: String,
}

#[derive(Args)]
struct KillArgs {
    #[command(flatten)]
    load: ClusterLoad,
    /// Shell command that kills one instance with SIGKILL.
    #[arg(long)]
    kill_command: String,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("reliability: cannot start the runtime: {error}");
            return ExitCode::from(2);
        }
    };
    let result = runtime.block_on(async {
        match cli.scenario {
            Scenario::Outage(args) => outage(args).await,
            Scenario::Crash(args) => crash(args).await,
            Scenario::Soak(args) => soak(args).await,
            Scenario::Rolling(args) => rolling(args).await,
            Scenario::Kill(args) => kill(args).await,
        }
    });
    match result {
        Ok(report) => report.finish(),
        Err(error) => {
            eprintln!("reliability: the scenario could not run: {error}");
            figure("result", "error");
            ExitCode::from(2)
        }
    }
}

/// Prints one figure.
fn figure(name: &str, value: impl Display) {
    println!("{name}: {value}");
}

/// Targets checked so far.
#[derive(Default)]
struct Report {
    missed: Vec<String>,
}

impl Report {
    /// Records a target: met when `ok`, otherwise missed, as `what`.
    fn check(&mut self, ok: bool, what: impl Into<String>) {
        if !ok {
            self.missed.push(what.into());
        }
    }

    fn finish(self) -> ExitCode {
        for missed in &self.missed {
            figure("target missed", missed);
        }
        if self.missed.is_empty() {
            figure("result", "pass");
            ExitCode::SUCCESS
        } else {
            figure("result", "fail");
            ExitCode::FAILURE
        }
    }
}

/// A client of the server's HTTP API.
#[derive(Clone)]
struct Api {
    client: Client,
    base: Arc<str>,
    master: Arc<str>,
}

/// An answer: its status and its JSON body (`Null` when empty or not JSON).
struct Answer {
    status: StatusCode,
    body: Value,
}

impl Api {
    fn new(base: &str, master: &str) -> Result<Self, Error> {
        let client = Client::builder()
            .timeout(REQUEST_TIMEOUT)
            .pool_max_idle_per_host(256)
            // Below the server's keep-alive, so that an idle connection is never reused just as
            // the server closes it.
            .pool_idle_timeout(Duration::from_secs(2))
            .build()?;
        Ok(Self {
            client,
            base: base.trim_end_matches('/').into(),
            master: master.into(),
        })
    }

    /// One request with `key` as bearer token.
    async fn call(
        &self,
        method: Method,
        path: &str,
        key: &str,
        body: Option<&Value>,
    ) -> Result<Answer, reqwest::Error> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base))
            .bearer_auth(key);
        if let Some(body) = body {
            request = request.json(body);
        }
        let response = request.send().await?;
        let status = response.status();
        let bytes = response.bytes().await?;
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok(Answer { status, body })
    }

    /// A request with the master key that must answer `expected`: for set-up and checks, where
    /// anything else means the scenario cannot go on.
    async fn must(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
        expected: StatusCode,
    ) -> Result<Value, Error> {
        let answer = self.call(method.clone(), path, &self.master, body).await?;
        if answer.status != expected {
            return Err(format!(
                "{method} {path} answered {} (expected {expected}): {}",
                answer.status, answer.body
            )
            .into());
        }
        Ok(answer.body)
    }

    /// Waits until `/health` answers 200, and says how long that took.
    async fn wait_healthy(&self, within: Duration) -> Result<Duration, Error> {
        let start = Instant::now();
        loop {
            let answer = self
                .client
                .get(format!("{}/health", self.base))
                .timeout(Duration::from_secs(2))
                .send()
                .await;
            if answer.is_ok_and(|answer| answer.status() == StatusCode::OK) {
                return Ok(start.elapsed());
            }
            if start.elapsed() > within {
                return Err(format!("{} did not become healthy in {within:?}", self.base).into());
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Every object of a list endpoint, page by page.
    async fn list_all(&self, path: &str) -> Result<Vec<Value>, Error> {
        let mut all = Vec::new();
        loop {
            let separator = if path.contains('?') { '&' } else { '?' };
            let page = self
                .must(
                    Method::GET,
                    &format!("{path}{separator}limit=100&offset={}", all.len()),
                    None,
                    StatusCode::OK,
                )
                .await?;
            let data = page["data"]
                .as_array()
                .ok_or_else(|| format!("{path}: no data in {page}"))?;
            if data.is_empty() {
                return Ok(all);
            }
            all.extend(data.iter().cloned());
        }
    }
}

/// An id in a JSON object.
fn id_of(object: &Value) -> Result<i64, Error> {
    object["id"]
        .as_i64()
        .ok_or_else(|| format!("no id in {object}").into())
}

/// A tag that makes the names of one run unique, so that runs can share a database.
fn run_tag() -> String {
    let millis = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_millis());
    format!("{millis:x}{:x}", std::process::id())
}

/// Creates a user with a role of `permissions`, and an API key for them.
async fn user_with_key(api: &Api, name: &str, permissions: &[&str]) -> Result<String, Error> {
    let role = api
        .must(
            Method::POST,
            "/v1/admin/roles",
            Some(&json!({"name": name, "permissions": permissions})),
            StatusCode::CREATED,
        )
        .await?;
    let user = api
        .must(
            Method::POST,
            "/v1/admin/users",
            Some(&json!({
                "email": format!("{name}@example.com"),
                "password": PASSWORD,
                "role": id_of(&role)?,
            })),
            StatusCode::CREATED,
        )
        .await?;
    let token = api
        .must(
            Method::POST,
            "/v1/admin/tokens",
            Some(&json!({"name": name, "user": id_of(&user)?})),
            StatusCode::CREATED,
        )
        .await?;
    token["token"]
        .as_str()
        .map(ToOwned::to_owned)
        .ok_or_else(|| format!("no key in {token}").into())
}

/// Runs a shell command, its output on stderr, and fails unless it succeeds.
async fn shell(command: &str) -> Result<Duration, Error> {
    let start = Instant::now();
    let owned = command.to_owned();
    let status = tokio::task::spawn_blocking(move || {
        std::process::Command::new("sh")
            .arg("-c")
            .arg(&owned)
            .stdout(Stdio::null())
            .status()
    })
    .await??;
    if !status.success() {
        return Err(format!("`{command}` failed: {status}").into());
    }
    Ok(start.elapsed())
}

/// One request of a load.
#[derive(Clone, Copy)]
struct Sample {
    /// When it was sent, since the start of the scenario.
    sent: Duration,
    /// How long its answer took.
    elapsed: Duration,
    /// Its status, or `None` when no answer came (connection error or timeout).
    status: Option<StatusCode>,
}

impl Sample {
    fn done(&self) -> Duration {
        self.sent + self.elapsed
    }

    fn is_success(&self) -> bool {
        self.status.is_some_and(|status| status.is_success())
    }

    fn is(&self, expected: StatusCode) -> bool {
        self.status == Some(expected)
    }
}

/// Sends one request and times it.
async fn timed(
    api: &Api,
    origin: Instant,
    method: Method,
    path: &str,
    key: &str,
    body: Option<&Value>,
) -> (Sample, Option<Value>) {
    let sent = origin.elapsed();
    let answer = api.call(method, path, key, body).await;
    let elapsed = origin.elapsed().saturating_sub(sent);
    match answer {
        Ok(answer) => (
            Sample {
                sent,
                elapsed,
                status: Some(answer.status),
            },
            Some(answer.body),
        ),
        Err(_) => (
            Sample {
                sent,
                elapsed,
                status: None,
            },
            None,
        ),
    }
}

fn seconds(duration: Duration) -> String {
    format!("{:.3}", duration.as_secs_f64())
}

fn millis(duration: Duration) -> String {
    format!("{:.1}", duration.as_secs_f64() * 1000.0)
}

/// The `q` quantile (0 to 1) of sorted durations.
fn quantile(sorted: &[Duration], q: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let last = sorted.len() - 1;
    // Both bounds are small: the index fits, and its rounding does not matter.
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let index = ((last as f64) * q).round() as usize;
    sorted[index.min(last)]
}

fn max_latency<'a>(samples: impl Iterator<Item = &'a Sample>) -> Duration {
    samples
        .map(|sample| sample.elapsed)
        .max()
        .unwrap_or_default()
}

/// `count (2xx a, 503 b, other c, no answer d)` for a phase.
fn describe(samples: &[&Sample]) -> String {
    let ok = samples.iter().filter(|s| s.is_success()).count();
    let unavailable = samples
        .iter()
        .filter(|s| s.is(StatusCode::SERVICE_UNAVAILABLE))
        .count();
    let failed = samples.iter().filter(|s| s.status.is_none()).count();
    let other = samples.len() - ok - unavailable - failed;
    format!(
        "{} (2xx {ok}, 503 {unavailable}, other {other}, no answer {failed})",
        samples.len()
    )
}

// ---------------------------------------------------------------------------------------------
// Scenario 1: database outage.

/// An organization a write of the load created.
struct Created {
    id: i64,
    name: String,
}

/// What one client of the outage load saw.
#[derive(Default)]
struct OutageLog {
    samples: Vec<Sample>,
    created: Vec<Created>,
    /// Statuses other than 2xx and 503, with the request and the answer, for the report.
    odd: Vec<String>,
}

/// One client: reads (a page of organizations with the master key, its own account with an API
/// key, which needs a key lookup) and writes (a new organization), in turn, until `stop`.
async fn outage_client(
    api: Api,
    key: String,
    tag: String,
    client: usize,
    origin: Instant,
    stop: Arc<AtomicBool>,
) -> OutageLog {
    let mut log = OutageLog::default();
    let mut n = client;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let (sample, body, what) = match n % 3 {
            0 => {
                let (sample, body) = timed(
                    &api,
                    origin,
                    Method::GET,
                    "/v1/admin/organizations?limit=10",
                    &api.master,
                    None,
                )
                .await;
                (sample, body, "GET /v1/admin/organizations".to_owned())
            }
            1 => {
                let (sample, body) =
                    timed(&api, origin, Method::GET, "/v1/me/info", &key, None).await;
                (sample, body, "GET /v1/me/info".to_owned())
            }
            _ => {
                let name = format!("outage-{tag}-{client}-{n}");
                let (sample, body) = timed(
                    &api,
                    origin,
                    Method::POST,
                    "/v1/admin/organizations",
                    &api.master,
                    Some(&json!({"name": name})),
                )
                .await;
                if sample.is(StatusCode::CREATED)
                    && let Some(id) = body.as_ref().and_then(|body| body["id"].as_i64())
                {
                    log.created.push(Created {
                        id,
                        name: name.clone(),
                    });
                }
                (sample, body, format!("POST /v1/admin/organizations {name}"))
            }
        };
        if let Some(status) = sample.status
            && !status.is_success()
            && status != StatusCode::SERVICE_UNAVAILABLE
        {
            log.odd.push(format!(
                "{what} at {} s: {status} {}",
                seconds(sample.sent),
                body.unwrap_or_default()
            ));
        }
        log.samples.push(sample);
    }
    log
}

/// The moments of the outage, since the start of the scenario.
struct Timeline {
    stop_begin: Duration,
    stop_done: Duration,
    start_begin: Duration,
    start_done: Duration,
}

async fn outage(args: OutageArgs) -> Result<Report, Error> {
    let api = Api::new(&args.target.url, &args.target.master_key)?;
    api.wait_healthy(STARTUP_TIMEOUT).await?;
    let tag = run_tag();
    let key = user_with_key(&api, &format!("outage-{tag}"), &[]).await?;

    let origin = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = JoinSet::new();
    for client in 0..args.clients {
        clients.spawn(outage_client(
            api.clone(),
            key.clone(),
            tag.clone(),
            client,
            origin,
            Arc::clone(&stop),
        ));
    }
    tokio::time::sleep(Duration::from_secs(args.warmup_secs)).await;
    let stop_begin = origin.elapsed();
    shell(&args.stop_command).await?;
    let stop_done = origin.elapsed();
    tokio::time::sleep(Duration::from_secs(args.outage_secs)).await;
    let start_begin = origin.elapsed();
    shell(&args.start_command).await?;
    let start_done = origin.elapsed();
    tokio::time::sleep(Duration::from_secs(args.after_secs)).await;
    stop.store(true, Ordering::Relaxed);

    let mut samples = Vec::new();
    let mut created = Vec::new();
    let mut odd = Vec::new();
    while let Some(log) = clients.join_next().await {
        let log = log?;
        samples.extend(log.samples);
        created.extend(log.created);
        odd.extend(log.odd);
    }
    let timeline = Timeline {
        stop_begin,
        stop_done,
        start_begin,
        start_done,
    };
    let mut report = Report::default();
    figure("clients", args.clients);
    figure(
        "database stop took (s)",
        seconds(stop_done.saturating_sub(stop_begin)),
    );
    figure(
        "database down (s)",
        seconds(start_begin.saturating_sub(stop_done)),
    );
    figure(
        "database start took (s)",
        seconds(start_done.saturating_sub(start_begin)),
    );
    outage_phases(&args, &timeline, &samples, &odd, &mut report);
    outage_writes(&api, &created, &mut report).await?;
    Ok(report)
}

/// Checks the answers of each phase: before the stop, while the database is down, across the
/// stop and the start, and after the start.
fn outage_phases(
    args: &OutageArgs,
    t: &Timeline,
    samples: &[Sample],
    odd: &[String],
    report: &mut Report,
) {
    let before: Vec<&Sample> = samples.iter().filter(|s| s.done() < t.stop_begin).collect();
    let down: Vec<&Sample> = samples
        .iter()
        .filter(|s| s.sent >= t.stop_done && s.done() <= t.start_begin)
        .collect();
    let after: Vec<&Sample> = samples.iter().filter(|s| s.sent >= t.start_done).collect();
    let across: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.done() >= t.stop_begin && !(s.sent >= t.stop_done && s.done() <= t.start_begin)
        })
        .filter(|s| s.sent < t.start_done)
        .collect();
    figure("requests before the stop", describe(&before));
    figure("requests while the database is down", describe(&down));
    figure("requests across the stop and the start", describe(&across));
    figure("requests after the start", describe(&after));

    let failed = samples.iter().filter(|s| s.status.is_none()).count();
    figure(
        "requests without an answer (hung past 10 s or refused)",
        failed,
    );
    report.check(failed == 0, format!("{failed} requests got no answer"));
    figure("answers other than 2xx and 503", odd.len());
    for line in odd.iter().take(10) {
        figure("unexpected answer", line);
    }
    report.check(
        odd.is_empty(),
        format!("{} answers were neither 2xx nor 503", odd.len()),
    );
    report.check(
        before.iter().all(|s| s.is_success()),
        "an answer before the stop was not 2xx",
    );
    report.check(
        !down.is_empty() && down.iter().all(|s| s.is(StatusCode::SERVICE_UNAVAILABLE)),
        "an answer while the database was down was not 503",
    );

    let mut down_latencies: Vec<Duration> = down.iter().map(|s| s.elapsed).collect();
    down_latencies.sort_unstable();
    figure(
        "latency while down, p50 (s)",
        seconds(quantile(&down_latencies, 0.5)),
    );
    figure(
        "latency while down, max (s)",
        seconds(max_latency(down.iter().copied())),
    );
    let outage_window = samples
        .iter()
        .filter(|s| s.sent >= t.stop_begin && s.sent < t.start_done);
    let window_max = max_latency(outage_window);
    figure(
        "latency of requests sent from the stop to the start, max (s)",
        seconds(window_max),
    );
    report.check(
        window_max.as_secs_f64() <= args.max_outage_latency,
        format!(
            "a request sent during the outage took {} s (limit {} s)",
            seconds(window_max),
            args.max_outage_latency
        ),
    );
    figure(
        "latency before the stop, max (s)",
        seconds(max_latency(before.iter().copied())),
    );
    figure(
        "latency after the start, max (s)",
        seconds(max_latency(after.iter().copied())),
    );

    report.check(
        !after.is_empty() && after.iter().filter(|s| s.is_success()).count() * 2 > after.len(),
        "the load did not recover after the start",
    );
    outage_recovery(args, t, samples, report);
}

/// Recovery: from the moment PostgreSQL accepts connections again, until the first 2xx and until
/// the last answer that was not 2xx.
fn outage_recovery(args: &OutageArgs, t: &Timeline, samples: &[Sample], report: &mut Report) {
    let first_ok = samples
        .iter()
        .filter(|s| s.is_success() && s.done() >= t.start_begin)
        .map(Sample::done)
        .min();
    let last_bad = samples
        .iter()
        .filter(|s| !s.is_success() && s.done() >= t.start_begin)
        .map(Sample::done)
        .max();
    let first_ok = first_ok.map(|done| done.saturating_sub(t.start_done));
    let last_bad = last_bad.map_or(Duration::ZERO, |done| done.saturating_sub(t.start_done));
    figure(
        "first 2xx after the database is back (s)",
        first_ok.map_or_else(|| "never".to_owned(), seconds),
    );
    figure(
        "last answer other than 2xx after the database is back (s)",
        seconds(last_bad),
    );
    // Recovered once a 2xx came and no other answer came after.
    let recovered = first_ok.map_or(Duration::MAX, |first_ok| first_ok.max(last_bad));
    figure(
        "recovery, until every answer is 2xx again (s)",
        first_ok.map_or_else(|| "never".to_owned(), |_| seconds(recovered)),
    );
    report.check(
        recovered.as_secs_f64() <= args.max_recovery,
        format!(
            "answers were 2xx again only {} s after the database was back (limit {} s)",
            seconds(recovered),
            args.max_recovery
        ),
    );
}

/// Checks that every organization acknowledged with a 201 is in the database, by GET.
async fn outage_writes(api: &Api, created: &[Created], report: &mut Report) -> Result<(), Error> {
    let mut found = 0;
    let mut missing = Vec::new();
    for chunk in created.chunks(16) {
        let mut gets = JoinSet::new();
        for organization in chunk {
            let api = api.clone();
            let path = format!("/v1/admin/organizations/{}", organization.id);
            let name = organization.name.clone();
            gets.spawn(async move {
                let answer = api.call(Method::GET, &path, &api.master, None).await;
                (path, name, answer)
            });
        }
        while let Some(result) = gets.join_next().await {
            let (path, name, answer) = result?;
            let answer = answer?;
            if answer.status == StatusCode::OK && answer.body["name"] == name.as_str() {
                found += 1;
            } else {
                missing.push(format!(
                    "{path} ({name}): {} {}",
                    answer.status, answer.body
                ));
            }
        }
    }
    figure("writes acknowledged (201)", created.len());
    figure("writes found afterwards", found);
    for line in missing.iter().take(10) {
        figure("acknowledged write missing", line);
    }
    report.check(
        missing.is_empty(),
        format!("{} acknowledged writes are missing", missing.len()),
    );
    report.check(!created.is_empty(), "no write was acknowledged");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Scenario 2: crash.

/// A server process started by the scenario, killed when dropped.
struct ServerProcess(Child);

impl ServerProcess {
    fn start(args: &CrashArgs) -> Result<Self, Error> {
        let log = File::options().create(true).append(true).open(&args.log)?;
        let child = std::process::Command::new(&args.binary)
            .arg("serve")
            .env("DATABASE_URL", &args.database_url)
            .env("MASTER_KEY", &args.master_key)
            .env("LISTEN_ADDR", &args.listen)
            .env("RUST_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        Ok(Self(child))
    }

    /// SIGKILL, and waits for the process to be gone.
    fn kill(&mut self) -> Result<(), Error> {
        self.0.kill()?;
        self.0.wait()?;
        Ok(())
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A role as the load sends it: what must be stored if anything is.
#[derive(Clone, PartialEq, Eq, Debug)]
struct RoleContent {
    name: String,
    permissions: BTreeSet<String>,
    limits: BTreeSet<(i64, String, Option<i64>)>,
}

impl RoleContent {
    /// The `n`th role of `client`: permissions and limits vary with both.
    fn new(tag: &str, client: usize, n: usize) -> Self {
        let mask = (client * 7 + n) % 16;
        let permissions = PERMISSIONS
            .iter()
            .enumerate()
            .filter(|(bit, _)| mask & (1 << bit) != 0)
            .map(|(_, permission)| (*permission).to_owned())
            .collect();
        let count = 1 + (client + n) % 6;
        let limits = (0..count)
            .map(|i| {
                let pair = (n + i) % 8;
                let router = i64::try_from(1 + pair / 4).unwrap_or(1);
                let kind = LIMIT_TYPES[pair % 4].to_owned();
                let value = if (i + n).is_multiple_of(5) {
                    None
                } else {
                    i64::try_from(1000 * (client + 1) + 7 * n + i).ok()
                };
                (router, kind, value)
            })
            .collect();
        Self {
            name: format!("crash-{tag}-role-{client}-{n}"),
            permissions,
            limits,
        }
    }

    fn body(&self) -> Value {
        let limits: Vec<Value> = self
            .limits
            .iter()
            .map(|(router, kind, value)| json!({"router_id": router, "type": kind, "value": value}))
            .collect();
        json!({"name": self.name, "permissions": self.permissions, "limits": limits})
    }

    /// The content of a role as the server shows it.
    fn parse(role: &Value) -> Option<Self> {
        let permissions = role["permissions"]
            .as_array()?
            .iter()
            .map(|p| p.as_str().map(ToOwned::to_owned))
            .collect::<Option<_>>()?;
        let limits = role["limits"]
            .as_array()?
            .iter()
            .map(|limit| {
                Some((
                    limit["router_id"].as_i64()?,
                    limit["type"].as_str()?.to_owned(),
                    limit["value"].as_i64(),
                ))
            })
            .collect::<Option<_>>()?;
        Some(Self {
            name: role["name"].as_str()?.to_owned(),
            permissions,
            limits,
        })
    }
}

/// A user as the load sends it.
#[derive(Clone, PartialEq, Eq, Debug)]
struct UserContent {
    email: String,
    role: i64,
    organization: Option<i64>,
}

impl UserContent {
    fn body(&self) -> Value {
        let mut body = json!({"email": self.email, "password": PASSWORD, "role": self.role});
        if let Some(organization) = self.organization {
            body["organization"] = json!(organization);
        }
        body
    }

    fn parse(user: &Value) -> Option<Self> {
        Some(Self {
            email: user["email"].as_str()?.to_owned(),
            role: user["role"].as_i64()?,
            organization: user["organization"].as_i64(),
        })
    }
}

/// What one client of the crash load sent and what it was told.
#[derive(Default)]
struct CrashLog {
    /// Every role sent, by name, with its id when acknowledged.
    roles: Vec<(RoleContent, Option<i64>)>,
    /// Every user sent, with its id when acknowledged.
    users: Vec<(UserContent, Option<i64>)>,
    /// Answers before the kill that were not 201.
    unexpected: Vec<String>,
    /// Requests whose answer never came because the server was killed.
    cut: usize,
}

/// The roles and organizations users are created with.
#[derive(Clone)]
struct CrashFixtures {
    roles: Arc<[i64]>,
    organizations: Arc<[i64]>,
}

/// One client of the crash load: even clients create roles, odd ones users, so that both are in
/// flight when the server is killed (users wait for an Argon2 hash, roles do not).
async fn crash_client(
    api: Api,
    tag: String,
    fixtures: CrashFixtures,
    client: usize,
    killed: Arc<AtomicBool>,
) -> CrashLog {
    let mut log = CrashLog::default();
    let mut n = 0;
    let roles = client.is_multiple_of(2);
    while !killed.load(Ordering::Relaxed) {
        n += 1;
        let (path, body) = if roles {
            let role = RoleContent::new(&tag, client, n);
            let body = role.body();
            log.roles.push((role, None));
            ("/v1/admin/roles", body)
        } else {
            let pick = client + n;
            let user = UserContent {
                email: format!("crash-{tag}-{client}-{n}@example.com"),
                role: fixtures.roles[pick % fixtures.roles.len()],
                organization: (!pick.is_multiple_of(4))
                    .then(|| fixtures.organizations[pick % fixtures.organizations.len()]),
            };
            let body = user.body();
            log.users.push((user, None));
            ("/v1/admin/users", body)
        };
        match api.call(Method::POST, path, &api.master, Some(&body)).await {
            Ok(answer) if answer.status == StatusCode::CREATED => {
                let id = answer.body["id"].as_i64();
                if roles {
                    if let Some(last) = log.roles.last_mut() {
                        last.1 = id;
                    }
                } else if let Some(last) = log.users.last_mut() {
                    last.1 = id;
                }
            }
            Ok(answer) => log.unexpected.push(format!(
                "POST {path} {body}: {} {}",
                answer.status, answer.body
            )),
            Err(error) => {
                if killed.load(Ordering::Relaxed) {
                    log.cut += 1;
                } else {
                    log.unexpected.push(format!("POST {path} {body}: {error}"));
                }
            }
        }
    }
    log
}

/// The acknowledged, found and whole counts of one kind of object, and those present although
/// never acknowledged.
#[derive(Default)]
struct Tally {
    sent: usize,
    acknowledged: usize,
    found: usize,
    whole: usize,
    present: usize,
    present_unacknowledged: usize,
    broken: Vec<String>,
}

impl Tally {
    fn print(&self, kind: &str, report: &mut Report) {
        figure(&format!("{kind} sent"), self.sent);
        figure(&format!("{kind} acknowledged (201)"), self.acknowledged);
        figure(&format!("{kind} acknowledged and found"), self.found);
        figure(&format!("{kind} acknowledged and whole"), self.whole);
        figure(&format!("{kind} present in the database"), self.present);
        figure(
            &format!("{kind} present without acknowledgement (committed as the server died)"),
            self.present_unacknowledged,
        );
        figure(
            &format!("{kind} half-written or unknown"),
            self.broken.len(),
        );
        for line in self.broken.iter().take(10) {
            figure(&format!("{kind} broken"), line);
        }
        report.check(
            self.found == self.acknowledged,
            format!(
                "{} acknowledged {kind} are missing",
                self.acknowledged - self.found
            ),
        );
        report.check(
            self.whole == self.acknowledged,
            format!(
                "{} acknowledged {kind} are not whole",
                self.acknowledged - self.whole
            ),
        );
        report.check(
            self.broken.is_empty(),
            format!("{} {kind} are half-written or unknown", self.broken.len()),
        );
        report.check(
            self.acknowledged > 0,
            format!("no {kind} were acknowledged"),
        );
    }
}

async fn crash(args: CrashArgs) -> Result<Report, Error> {
    let url = format!("http://{}", args.listen);
    let api = Api::new(&url, &args.master_key)?;
    let mut server = ServerProcess::start(&args)?;
    api.wait_healthy(STARTUP_TIMEOUT).await?;
    let tag = run_tag();

    let mut roles = Vec::new();
    let mut organizations = Vec::new();
    for i in 0..3 {
        let role = api
            .must(
                Method::POST,
                "/v1/admin/roles",
                Some(&json!({"name": format!("crash-{tag}-base-{i}"), "permissions": ["read_metric"]})),
                StatusCode::CREATED,
            )
            .await?;
        roles.push(id_of(&role)?);
        let organization = api
            .must(
                Method::POST,
                "/v1/admin/organizations",
                Some(&json!({"name": format!("crash-{tag}-org-{i}")})),
                StatusCode::CREATED,
            )
            .await?;
        organizations.push(id_of(&organization)?);
    }
    let fixtures = CrashFixtures {
        roles: roles.into(),
        organizations: organizations.into(),
    };

    let killed = Arc::new(AtomicBool::new(false));
    let mut clients = JoinSet::new();
    for client in 0..args.clients {
        clients.spawn(crash_client(
            api.clone(),
            tag.clone(),
            fixtures.clone(),
            client,
            Arc::clone(&killed),
        ));
    }
    tokio::time::sleep(Duration::from_secs(args.kill_after_secs)).await;
    killed.store(true, Ordering::Relaxed);
    server.kill()?;
    let mut logs = Vec::new();
    while let Some(log) = clients.join_next().await {
        logs.push(log?);
    }

    let mut server = ServerProcess::start(&args)?;
    let restart = api.wait_healthy(STARTUP_TIMEOUT).await?;

    let mut report = Report::default();
    figure("clients", args.clients);
    figure("write load before the kill (s)", args.kill_after_secs);
    let cut: usize = logs.iter().map(|log| log.cut).sum();
    figure("requests cut by the kill (in flight or sent after it)", cut);
    let unexpected: Vec<&String> = logs.iter().flat_map(|log| &log.unexpected).collect();
    figure("answers other than 201 before the kill", unexpected.len());
    for line in unexpected.iter().take(10) {
        figure("unexpected answer", line);
    }
    report.check(
        unexpected.is_empty(),
        format!("{} answers before the kill were not 201", unexpected.len()),
    );
    figure("restart until healthy (s)", seconds(restart));

    let sent_roles: Vec<&(RoleContent, Option<i64>)> =
        logs.iter().flat_map(|log| &log.roles).collect();
    let sent_users: Vec<&(UserContent, Option<i64>)> =
        logs.iter().flat_map(|log| &log.users).collect();
    verify_written(&api, &format!("crash-{tag}-role-"), &sent_roles)
        .await?
        .print("roles", &mut report);
    verify_written(&api, &format!("crash-{tag}-"), &sent_users)
        .await?
        .print("users", &mut report);

    // The restarted server takes writes.
    api.must(
        Method::POST,
        "/v1/admin/roles",
        Some(&json!({"name": format!("crash-{tag}-after"), "permissions": ["admin"]})),
        StatusCode::CREATED,
    )
    .await?;
    server.kill()?;
    Ok(report)
}

/// An object the crash load writes.
trait Written: Sized + PartialEq {
    /// Its list endpoint.
    const PATH: &'static str;
    /// The field that tells the objects of a run apart.
    const KEY: &'static str;
    /// The value of that field.
    fn key(&self) -> &str;
    /// The object as the server shows it, as the load would have sent it.
    fn read(object: &Value) -> Option<Self>;
}

impl Written for RoleContent {
    const PATH: &'static str = "/v1/admin/roles";
    const KEY: &'static str = "name";
    fn key(&self) -> &str {
        &self.name
    }
    fn read(object: &Value) -> Option<Self> {
        Self::parse(object)
    }
}

impl Written for UserContent {
    const PATH: &'static str = "/v1/admin/users";
    const KEY: &'static str = "email";
    fn key(&self) -> &str {
        &self.email
    }
    fn read(object: &Value) -> Option<Self> {
        Self::parse(object)
    }
}

/// Lists every object of the kind, then checks that each acknowledged one is there and whole,
/// and that each one of this run (its key starts with `prefix`), acknowledged or not, holds
/// exactly what its request carried.
async fn verify_written<T: Written>(
    api: &Api,
    prefix: &str,
    sent: &[&(T, Option<i64>)],
) -> Result<Tally, Error> {
    let listed = api.list_all(T::PATH).await?;
    let by_id: HashMap<i64, &Value> = listed
        .iter()
        .filter_map(|object| Some((object["id"].as_i64()?, object)))
        .collect();
    let mut tally = Tally {
        sent: sent.len(),
        ..Tally::default()
    };
    for (expected, id) in sent {
        let Some(id) = id else { continue };
        tally.acknowledged += 1;
        let Some(object) = by_id.get(id) else {
            continue;
        };
        tally.found += 1;
        if T::read(object).as_ref() == Some(expected) {
            tally.whole += 1;
        }
    }
    let by_key: HashMap<&str, &(T, Option<i64>)> =
        sent.iter().map(|sent| (sent.0.key(), *sent)).collect();
    for object in &listed {
        let Some(key) = object[T::KEY].as_str() else {
            tally.broken.push(format!("no {}: {object}", T::KEY));
            continue;
        };
        if !key.starts_with(prefix) {
            continue;
        }
        tally.present += 1;
        match by_key.get(key) {
            None => tally.broken.push(format!("never sent: {object}")),
            Some((expected, id)) => {
                if id.is_none() {
                    tally.present_unacknowledged += 1;
                }
                if T::read(object).as_ref() != Some(expected) {
                    tally.broken.push(format!("stored {object}"));
                }
            }
        }
    }
    Ok(tally)
}

// ---------------------------------------------------------------------------------------------
// Scenario 6: soak.

/// The server's resident memory, in KiB, from /proc.
fn rss_kib(pid: u32) -> Result<u64, Error> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
        .ok_or_else(|| format!("no VmRSS for process {pid}").into())
}

fn mib(kib: u64) -> String {
    // Resident sizes are far below 2^52 KiB.
    #[allow(clippy::cast_precision_loss)]
    let mib = kib as f64 / 1024.0;
    format!("{mib:.1}")
}

/// What one client of the soak saw.
#[derive(Default)]
struct SoakLog {
    latencies: Vec<Duration>,
    success: usize,
    client_errors: usize,
    server_errors: usize,
    failed: usize,
    writes: usize,
    odd: Vec<String>,
}

/// The objects the soak reads, and the key it reads some of them with.
#[derive(Clone)]
struct SoakFixtures {
    key: Arc<str>,
    organization: i64,
    role: i64,
}

/// A request of the soak: method, path, whether it goes with the API key rather than the master
/// key, and body.
type SoakRequest = (Method, String, bool, Option<Value>);

/// The `n`th request of `client`: mostly reads, with the master key and with an API key, and
/// writes: organizations created and deleted again (`created` is the last one not deleted yet),
/// roles with limits, and one in 100 a user (an Argon2 hash).
fn soak_request(
    tag: &str,
    fixtures: &SoakFixtures,
    client: usize,
    n: usize,
    created: &mut Option<i64>,
) -> SoakRequest {
    let new_organization = || {
        (
            Method::POST,
            "/v1/admin/organizations".to_owned(),
            false,
            Some(json!({"name": format!("soak-{tag}-{client}-{n}")})),
        )
    };
    if n.is_multiple_of(100) {
        let body = json!({
            "email": format!("soak-{tag}-{client}-{n}@example.com"),
            "password": PASSWORD,
            "role": fixtures.role,
            "organization": fixtures.organization,
        });
        return (Method::POST, "/v1/admin/users".into(), false, Some(body));
    }
    match n % 10 {
        0 => (
            Method::GET,
            "/v1/admin/organizations?limit=10".into(),
            false,
            None,
        ),
        1 | 6 => (Method::GET, "/v1/me/info".into(), true, None),
        2 => (Method::GET, "/v1/admin/users?limit=10".into(), true, None),
        3 => (
            Method::GET,
            format!("/v1/admin/organizations/{}", fixtures.organization),
            true,
            None,
        ),
        4 => (Method::GET, "/v1/admin/roles?limit=10".into(), false, None),
        5 => {
            let role = RoleContent::new(&format!("soak-{tag}"), client, n);
            (
                Method::POST,
                "/v1/admin/roles".into(),
                false,
                Some(role.body()),
            )
        }
        7 => match created.take() {
            Some(id) => (
                Method::DELETE,
                format!("/v1/admin/organizations/{id}"),
                false,
                None,
            ),
            None => new_organization(),
        },
        8 => (Method::GET, "/health".into(), false, None),
        _ => new_organization(),
    }
}

/// One client of the soak, until `until`.
async fn soak_client(
    api: Api,
    tag: String,
    fixtures: SoakFixtures,
    client: usize,
    until: Instant,
) -> SoakLog {
    let mut log = SoakLog::default();
    let mut n = client;
    let mut created: Option<i64> = None;
    while Instant::now() < until {
        n += 1;
        let (method, path, with_key, body) = soak_request(&tag, &fixtures, client, n, &mut created);
        let key = if with_key { &fixtures.key } else { &api.master };
        if method != Method::GET {
            log.writes += 1;
        }
        let start = Instant::now();
        let answer = api.call(method.clone(), &path, key, body.as_ref()).await;
        log.latencies.push(start.elapsed());
        match answer {
            Ok(answer) if answer.status.is_success() => {
                log.success += 1;
                if method == Method::POST && path == "/v1/admin/organizations" {
                    created = answer.body["id"].as_i64();
                }
            }
            Ok(answer) => {
                if answer.status.is_server_error() {
                    log.server_errors += 1;
                } else {
                    log.client_errors += 1;
                }
                log.odd.push(format!(
                    "{method} {path}: {} {}",
                    answer.status, answer.body
                ));
            }
            Err(error) => {
                log.failed += 1;
                log.odd.push(format!("{method} {path}: {error}"));
            }
        }
    }
    log
}

async fn soak(args: SoakArgs) -> Result<Report, Error> {
    let api = Api::new(&args.target.url, &args.target.master_key)?;
    api.wait_healthy(STARTUP_TIMEOUT).await?;
    let tag = run_tag();
    let key = user_with_key(&api, &format!("soak-{tag}"), &["admin"]).await?;
    let organization = api
        .must(
            Method::POST,
            "/v1/admin/organizations",
            Some(&json!({"name": format!("soak-{tag}")})),
            StatusCode::CREATED,
        )
        .await?;
    let role = api
        .must(
            Method::POST,
            "/v1/admin/roles",
            Some(&json!({"name": format!("soak-{tag}-users"), "permissions": ["read_metric"]})),
            StatusCode::CREATED,
        )
        .await?;
    let fixtures = SoakFixtures {
        key: key.into(),
        organization: id_of(&organization)?,
        role: id_of(&role)?,
    };

    let start = Instant::now();
    let duration = Duration::from_secs(args.duration_secs);
    let until = start + duration;
    let mut clients = JoinSet::new();
    for client in 0..args.clients {
        clients.spawn(soak_client(
            api.clone(),
            tag.clone(),
            fixtures.clone(),
            client,
            until,
        ));
    }
    // (seconds since the start, KiB)
    let mut rss = vec![(0, rss_kib(args.pid)?)];
    let step = args.sample_secs.max(1);
    let mut at = step;
    while at <= args.duration_secs {
        tokio::time::sleep_until((start + Duration::from_secs(at)).into()).await;
        rss.push((at, rss_kib(args.pid)?));
        at += step;
    }
    let mut total = SoakLog::default();
    while let Some(log) = clients.join_next().await {
        let log = log?;
        total.latencies.extend(log.latencies);
        total.success += log.success;
        total.client_errors += log.client_errors;
        total.server_errors += log.server_errors;
        total.failed += log.failed;
        total.writes += log.writes;
        total.odd.extend(log.odd);
    }
    let elapsed = start.elapsed();

    let mut report = Report::default();
    let requests = total.latencies.len();
    total.latencies.sort_unstable();
    figure("clients", args.clients);
    figure("duration (s)", seconds(elapsed));
    figure("requests", requests);
    figure("writes", total.writes);
    // Counts are far below 2^52.
    #[allow(clippy::cast_precision_loss)]
    let rate = requests as f64 / elapsed.as_secs_f64();
    figure("requests/s", format!("{rate:.0}"));
    figure("latency p50 (ms)", millis(quantile(&total.latencies, 0.5)));
    figure("latency p99 (ms)", millis(quantile(&total.latencies, 0.99)));
    figure("latency max (ms)", millis(quantile(&total.latencies, 1.0)));
    figure("2xx", total.success);
    figure("4xx", total.client_errors);
    figure("5xx", total.server_errors);
    figure("requests without an answer", total.failed);
    for line in total.odd.iter().take(10) {
        figure("unexpected answer", line);
    }
    report.check(
        total.server_errors == 0,
        format!("{} 5xx answers", total.server_errors),
    );
    report.check(
        total.failed == 0,
        format!("{} requests without an answer", total.failed),
    );
    report.check(
        total.client_errors == 0,
        format!("{} 4xx answers to valid requests", total.client_errors),
    );

    soak_memory(&args, &rss, &mut report);
    Ok(report)
}

/// Memory: the server warms up in the first 20 s (pool connections, blocking threads, the
/// allocator's per-thread pages, Argon2 blocks); after that a leak would show as growth from
/// sample to sample. The last third of the samples must stay within `rss_tolerance` of the
/// highest sample of the first 20 s.
fn soak_memory(args: &SoakArgs, rss: &[(u64, u64)], report: &mut Report) {
    let line: Vec<String> = rss
        .iter()
        .map(|(at, kib)| format!("{at}s={}", mib(*kib)))
        .collect();
    figure("rss samples (MiB)", line.join(" "));
    let start = rss.first().map_or(0, |(_, kib)| *kib);
    let end = rss.last().map_or(0, |(_, kib)| *kib);
    let middle = rss
        .iter()
        .min_by_key(|(at, _)| at.abs_diff(args.duration_secs / 2))
        .map_or(0, |(_, kib)| *kib);
    figure("rss at start (MiB)", mib(start));
    figure("rss in the middle (MiB)", mib(middle));
    figure("rss at the end (MiB)", mib(end));
    let warm = rss
        .iter()
        .filter(|(at, _)| *at > 0 && *at <= 20)
        .map(|(_, kib)| *kib)
        .max()
        .unwrap_or(start);
    let tail_from = args.duration_secs * 2 / 3;
    let tail = rss
        .iter()
        .filter(|(at, _)| *at >= tail_from)
        .map(|(_, kib)| *kib)
        .max()
        .unwrap_or(end);
    // Sizes are far below 2^52 KiB and the limit is positive.
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss
    )]
    let limit = (warm as f64 * args.rss_tolerance) as u64;
    figure("rss highest in the first 20 s (MiB)", mib(warm));
    figure(
        format!("rss highest from {tail_from} s (MiB)").as_str(),
        mib(tail),
    );
    figure("rss limit for the last samples (MiB)", mib(limit));
    report.check(
        tail <= limit,
        format!(
            "memory grew: {} MiB at the end, limit {} MiB",
            mib(tail),
            mib(limit)
        ),
    );
}

// ---------------------------------------------------------------------------------------------
// Scenarios 7 and 8: several instances behind nginx.

/// The requests of the cluster load.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `GET /v1/me/info` with an API key: a key lookup.
    Me,
    /// A page of organizations with the master key.
    Page,
    /// `POST /v1/admin/organizations`: a write, which nginx does not retry once sent.
    Create,
}

impl Kind {
    const ALL: [Self; 3] = [Self::Me, Self::Page, Self::Create];

    fn label(self) -> &'static str {
        match self {
            Self::Me => "GET /v1/me/info",
            Self::Page => "GET /v1/admin/organizations",
            Self::Create => "POST /v1/admin/organizations",
        }
    }
}

/// What one client of the cluster load saw.
#[derive(Default)]
struct ClusterLog {
    samples: Vec<(Kind, Sample)>,
    created: Vec<Created>,
    /// Names of the organizations whose POST got no 2xx.
    failed_creates: Vec<String>,
    /// Answers other than 2xx, and requests without an answer, for the report.
    odd: Vec<String>,
}

/// One client: a page of organizations, its own account with an API key, a new organization, in
/// turn, until `stop`.
async fn cluster_client(
    api: Api,
    key: String,
    tag: String,
    client: usize,
    origin: Instant,
    stop: Arc<AtomicBool>,
) -> ClusterLog {
    let mut log = ClusterLog::default();
    let mut n = client;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let kind = Kind::ALL[n % 3];
        let mut name = None;
        let (sample, body) = match kind {
            Kind::Page => {
                let path = format!(
                    "/v1/admin/organizations?limit=10&offset={}",
                    n / 3 % 20 * 10
                );
                timed(&api, origin, Method::GET, &path, &api.master, None).await
            }
            Kind::Me => timed(&api, origin, Method::GET, "/v1/me/info", &key, None).await,
            Kind::Create => {
                let new = format!("cluster-{tag}-{client}-{n}");
                let body = json!({"name": new});
                name = Some(new);
                let path = "/v1/admin/organizations";
                timed(&api, origin, Method::POST, path, &api.master, Some(&body)).await
            }
        };
        if let Some(name) = name {
            if sample.is(StatusCode::CREATED)
                && let Some(id) = body.as_ref().and_then(|body| body["id"].as_i64())
            {
                log.created.push(Created { id, name });
            } else if !sample.is_success() {
                log.failed_creates.push(name);
            }
        }
        if !sample.is_success() {
            let answer = sample.status.map_or_else(
                || "no answer".to_owned(),
                |status| format!("{status} {}", body.unwrap_or_default()),
            );
            log.odd.push(format!(
                "{} at {} s: {answer}",
                kind.label(),
                seconds(sample.sent)
            ));
        }
        log.samples.push((kind, sample));
    }
    log
}

/// The load's outcome, and when its event (the restart, the kill) began and ended.
struct ClusterRun {
    api: Api,
    samples: Vec<(Kind, Sample)>,
    created: Vec<Created>,
    failed_creates: Vec<String>,
    odd: Vec<String>,
    event_begin: Duration,
    event_end: Duration,
}

/// Runs the load, with `event` (a shell command) after the warm-up.
async fn cluster_run(load: &ClusterLoad, event: &str) -> Result<ClusterRun, Error> {
    let api = Api::new(&load.target.url, &load.target.master_key)?;
    api.wait_healthy(STARTUP_TIMEOUT).await?;
    let tag = run_tag();
    let key = user_with_key(&api, &format!("cluster-{tag}"), &[]).await?;

    let origin = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut clients = JoinSet::new();
    for client in 0..load.clients {
        clients.spawn(cluster_client(
            api.clone(),
            key.clone(),
            tag.clone(),
            client,
            origin,
            Arc::clone(&stop),
        ));
    }
    tokio::time::sleep(Duration::from_secs(load.warmup_secs)).await;
    let event_begin = origin.elapsed();
    let outcome = shell(event).await;
    let event_end = origin.elapsed();
    if outcome.is_ok() {
        tokio::time::sleep(Duration::from_secs(load.after_secs)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let mut run = ClusterRun {
        api,
        samples: Vec::new(),
        created: Vec::new(),
        failed_creates: Vec::new(),
        odd: Vec::new(),
        event_begin,
        event_end,
    };
    while let Some(log) = clients.join_next().await {
        let log = log?;
        run.samples.extend(log.samples);
        run.created.extend(log.created);
        run.failed_creates.extend(log.failed_creates);
        run.odd.extend(log.odd);
    }
    outcome?;
    Ok(run)
}

impl ClusterRun {
    /// The samples of `kind`.
    fn of(&self, kind: Kind) -> Vec<&Sample> {
        self.samples
            .iter()
            .filter(|(k, _)| *k == kind)
            .map(|(_, sample)| sample)
            .collect()
    }

    /// Requests answered with other than 2xx, and requests without an answer, of `kinds`.
    fn failures(&self, kinds: &[Kind]) -> usize {
        self.samples
            .iter()
            .filter(|(kind, sample)| kinds.contains(kind) && !sample.is_success())
            .count()
    }

    /// Counts and latencies: overall, by kind, and of the requests in flight during the event.
    fn print(&self, load: &ClusterLoad, event: &str) {
        figure("clients", load.clients);
        figure(
            &format!("{event} took (s)"),
            seconds(self.event_end.saturating_sub(self.event_begin)),
        );
        let all: Vec<&Sample> = self.samples.iter().map(|(_, sample)| sample).collect();
        figure("requests", describe_status(&all));
        for kind in Kind::ALL {
            figure(
                &format!("requests {}", kind.label()),
                describe_status(&self.of(kind)),
            );
        }
        let during: Vec<&Sample> = all
            .iter()
            .filter(|s| s.done() >= self.event_begin && s.sent <= self.event_end)
            .copied()
            .collect();
        figure(
            &format!("requests in flight during the {event}"),
            describe_status(&during),
        );
        latencies("latency", &all);
        latencies(&format!("latency during the {event}"), &during);
        for line in self.odd.iter().take(10) {
            figure("unexpected answer", line);
        }
    }
}

/// `count (2xx a, other b, no answer c)`.
fn describe_status(samples: &[&Sample]) -> String {
    let ok = samples.iter().filter(|s| s.is_success()).count();
    let failed = samples.iter().filter(|s| s.status.is_none()).count();
    let other = samples.len() - ok - failed;
    format!(
        "{} (2xx {ok}, other {other}, no answer {failed})",
        samples.len()
    )
}

/// p50, p99 and max of `samples`, in milliseconds.
fn latencies(name: &str, samples: &[&Sample]) {
    let mut sorted: Vec<Duration> = samples.iter().map(|s| s.elapsed).collect();
    sorted.sort_unstable();
    figure(
        &format!("{name} p50/p99/max (ms)"),
        format!(
            "{} / {} / {}",
            millis(quantile(&sorted, 0.5)),
            millis(quantile(&sorted, 0.99)),
            millis(quantile(&sorted, 1.0))
        ),
    );
}

async fn rolling(args: RollingArgs) -> Result<Report, Error> {
    let run = cluster_run(&args.load, &args.restart_command).await?;
    let mut report = Report::default();
    run.print(&args.load, "restart");
    let failed = run.failures(&Kind::ALL);
    figure("failed requests (other than 2xx, or no answer)", failed);
    report.check(failed == 0, format!("{failed} requests failed"));
    report.check(
        run.samples
            .iter()
            .any(|(_, s)| s.sent >= run.event_begin && s.done() <= run.event_end),
        "no request was answered during the restart",
    );
    outage_writes(&run.api, &run.created, &mut report).await?;
    Ok(report)
}

async fn kill(args: KillArgs) -> Result<Report, Error> {
    let run = cluster_run(&args.load, &args.kill_command).await?;
    let mut report = Report::default();
    run.print(&args.load, "kill");
    let failed_reads = run.failures(&[Kind::Me, Kind::Page]);
    figure(
        "failed GET requests (other than 2xx, or no answer)",
        failed_reads,
    );
    report.check(
        failed_reads == 0,
        format!("{failed_reads} GET requests failed"),
    );
    let failed_writes = run.failures(&[Kind::Create]);
    figure(
        "failed writes (POST cut on the killed instance; nginx does not retry them)",
        failed_writes,
    );
    // Each client has one request in flight: more failures than clients would mean nginx went
    // on sending writes to the dead instance.
    report.check(
        failed_writes <= args.load.clients,
        format!(
            "{failed_writes} POST requests failed, more than one per client ({})",
            args.load.clients
        ),
    );
    let committed = committed_anyway(&run.api, &run.failed_creates).await?;
    figure(
        "failed writes committed anyway (the same POST again answers 409)",
        committed,
    );
    outage_writes(&run.api, &run.created, &mut report).await?;
    Ok(report)
}

/// How many of the organizations whose POST failed exist anyway: their name is taken (409) when
/// sent again. A load balancer that retried such a POST would have done it twice.
async fn committed_anyway(api: &Api, names: &[String]) -> Result<usize, Error> {
    let mut committed = 0;
    for name in names {
        let answer = api
            .call(
                Method::POST,
                "/v1/admin/organizations",
                &api.master,
                Some(&json!({"name": name})),
            )
            .await?;
        match answer.status {
            StatusCode::CONFLICT => committed += 1,
            StatusCode::CREATED => {}
            status => return Err(format!("POST of {name} again answered {status}").into()),
        }
    }
    Ok(committed)
}
