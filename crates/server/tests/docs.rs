//! The guides' examples, run as written (with bash, curl and jq) against the real server, each
//! command's output compared with the one the guide shows after it.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

mod support;

use std::path::Path;
use std::process::Command;

use gatehouse_domain::chrono::{TimeZone, Utc};
use serde_json::Value;
use support::{MASTER_KEY, TestApp, TestClock};

/// What separates the outputs of two examples in the script's output.
const MARKER: &str = "@@ next example @@";

/// The fenced blocks of a Markdown text: their language and their text, in order.
fn fenced_blocks(markdown: &str) -> Vec<(String, String)> {
    let mut blocks = Vec::new();
    let mut current: Option<(String, String)> = None;
    for line in markdown.lines() {
        match (&mut current, line.strip_prefix("```")) {
            (None, Some(language)) => current = Some((language.trim().to_owned(), String::new())),
            (Some(_), Some(_)) => blocks.extend(current.take()),
            (Some((_, text)), None) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, None) => {}
        }
    }
    blocks
}

/// Every JSON value of `text`, in order, each number as a double: `0.0` from one tool equals `0`
/// from another.
fn values(text: &str) -> Vec<Value> {
    fn numbers_as_doubles(value: Value) -> Value {
        match value {
            Value::Number(number) => number
                .as_f64()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            Value::Array(items) => {
                Value::Array(items.into_iter().map(numbers_as_doubles).collect())
            }
            Value::Object(fields) => Value::Object(
                fields
                    .into_iter()
                    .map(|(key, value)| (key, numbers_as_doubles(value)))
                    .collect(),
            ),
            other => other,
        }
    }
    serde_json::Deserializer::from_str(text)
        .into_iter::<Value>()
        .map(|value| numbers_as_doubles(value.unwrap_or_else(|e| panic!("{e}: {text}"))))
        .collect()
}

/// Runs the `sh` examples of `guide` in one shell against `app`, and checks that each one
/// followed by a `json` block prints those values.
fn run_guide(guide: &str, app: &TestApp) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../docs")
        .join(guide);
    let markdown = std::fs::read_to_string(&path).unwrap();
    let mut script = String::from("set -euo pipefail\n");
    let mut expected = Vec::new();
    for (language, text) in fenced_blocks(&markdown) {
        match language.as_str() {
            "sh" => {
                script.push_str(&text);
                script.push_str("echo '");
                script.push_str(MARKER);
                script.push_str("'\n");
                expected.push((text, None));
            }
            "json" => {
                let last = expected.last_mut().expect("an output follows an example");
                last.1 = Some(text);
            }
            _ => {}
        }
    }
    assert!(expected.len() >= 5, "{guide} has examples");
    let output = Command::new("bash")
        .arg("-c")
        .arg(&script)
        .env("GATEHOUSE", &app.address)
        .env("MASTER_KEY", MASTER_KEY)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the examples of {guide} failed: {}\n{stdout}",
        String::from_utf8_lossy(&output.stderr)
    );
    let outputs: Vec<&str> = stdout.split(&format!("{MARKER}\n")).collect();
    assert_eq!(outputs.len(), expected.len() + 1, "{stdout}");
    for ((example, shown), printed) in expected.iter().zip(&outputs) {
        if let Some(shown) = shown {
            assert_eq!(
                values(printed),
                values(shown),
                "in {guide}, the example\n{example}\nprinted\n{printed}"
            );
        }
    }
}

/// The tools the guides use, which `scripts/test.sh` installs where they are missing.
fn tools_present() {
    for tool in ["bash", "curl", "jq"] {
        let found = Command::new("sh")
            .arg("-c")
            .arg(format!("command -v {tool}"))
            .status()
            .is_ok_and(|status| status.success());
        assert!(found, "{tool} is needed to run the guides' examples");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_gateway_guide_runs_as_written() {
    tools_present();
    // Half a minute into a minute: every call of the guide falls in one rate limit window.
    let clock = TestClock::at(Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 30).unwrap());
    let app = TestApp::spawn_with_clock(clock).await;
    tokio::task::block_in_place(|| run_guide("gateway.md", &app));
}
