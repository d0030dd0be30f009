//! The OpenID provider of the sign-on tests (`scripts/oidc-provider.sh`: npm `oidc-provider` on
//! loopback), and a person signing in at it through its sign-in form, as a browser would.

use std::process::Command;
use std::sync::OnceLock;

use reqwest::StatusCode;
use reqwest::header::LOCATION;
use scraper::{Html, Selector};
use serde_json::Value;

use gatehouse::config::{ServeSettings, SsoSettings};
use gatehouse_domain::Secret;

/// The client the provider knows Gatehouse as.
pub const CLIENT_ID: &str = "gatehouse-test";
/// Its secret (the script's default).
pub const CLIENT_SECRET: &str = "gatehouse-test-secret";
/// The `PUBLIC_URL` of every sign-on test server. The provider accepts its callback on any
/// loopback port (a native client), and the tests carry the code to the server's real address
/// themselves, so that no server needs to listen here.
pub const PUBLIC_URL: &str = "http://127.0.0.1:18123";

/// The provider's issuer: `OIDC_TEST_ISSUER` when the test run started one (scripts/test.sh),
/// else the one `scripts/oidc-provider.sh` starts (once per test binary; it leaves it running).
pub fn issuer() -> &'static str {
    static ISSUER: OnceLock<String> = OnceLock::new();
    ISSUER.get_or_init(|| {
        if let Ok(issuer) = std::env::var("OIDC_TEST_ISSUER") {
            return issuer;
        }
        let script = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../scripts/oidc-provider.sh"
        );
        let output = Command::new(script)
            .output()
            .expect("scripts/oidc-provider.sh runs");
        assert!(
            output.status.success(),
            "scripts/oidc-provider.sh failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8_lossy(&output.stdout)
            .lines()
            .find_map(|line| line.strip_prefix("OIDC_ISSUER_URL="))
            .expect("the script prints OIDC_ISSUER_URL")
            .to_owned()
    })
}

/// Turns sign-on on in `settings`, against the test provider, creating users with `role`.
pub fn enable(settings: &mut ServeSettings, role: Option<i64>) {
    settings.public_url = Some(PUBLIC_URL.to_owned());
    settings.sso = SsoSettings {
        oidc_issuer_url: Some(issuer().to_owned()),
        oidc_client_id: Some(CLIENT_ID.to_owned()),
        oidc_client_secret: Some(Secret::new(CLIENT_SECRET)),
        oidc_default_role: role,
        ..SsoSettings::default()
    };
}

/// What the provider says of the account of `login`: `sub`, `email`, `email_verified`, `name`.
pub async fn account(login: &str) -> Value {
    reqwest::get(format!("{}/test/account?login={login}", issuer()))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// An ID token of `kind` (see provider.mjs) for `login`, issued at `now` (unix seconds).
pub async fn token(kind: &str, login: &str, now: i64) -> String {
    let answer: Value = reqwest::get(format!(
        "{}/test/token?kind={kind}&login={login}&now={now}",
        issuer()
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    answer["id_token"]
        .as_str()
        .unwrap_or_else(|| panic!("no token of kind {kind}: {answer}"))
        .to_owned()
}

/// Publishes a new signing key at the provider; tokens of kind `rotated` are signed with it.
pub async fn rotate_keys() {
    let answer = reqwest::get(format!("{}/test/rotate", issuer()))
        .await
        .unwrap();
    assert_eq!(answer.status(), StatusCode::OK);
}

/// Where the provider sends a person back: the callback's query.
#[derive(Debug, Clone)]
pub struct Return {
    /// The authorization code.
    pub code: String,
    /// The `state` Gatehouse sent.
    pub state: String,
}

impl Return {
    /// The callback's path and query on the server.
    pub fn callback(&self) -> String {
        let mut url = reqwest::Url::parse("http://server/v1/auth/oidc/callback").unwrap();
        url.query_pairs_mut()
            .append_pair("code", &self.code)
            .append_pair("state", &self.state);
        format!("{}?{}", url.path(), url.query().unwrap_or_default())
    }
}

/// A person at the provider: signs in as `login` (any password) at the authorization URL
/// `authorize` (Gatehouse's redirect), and comes back with the code. The URL's `redirect_uri`
/// must be Gatehouse's callback.
pub async fn sign_in_at_provider(authorize: &str, login: &str) -> Return {
    let browser = reqwest::Client::builder()
        .cookie_store(true)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut next = authorize.to_owned();
    let mut form_posted = false;
    for _ in 0..10 {
        let answer = browser.get(&next).send().await.unwrap();
        if answer.status().is_redirection() {
            let location = answer.headers()[LOCATION].to_str().unwrap().to_owned();
            if location.starts_with(PUBLIC_URL) {
                return returned(&location);
            }
            next = absolute(&location);
            continue;
        }
        assert_eq!(answer.status(), StatusCode::OK, "at {next}");
        assert!(!form_posted, "the provider showed a second page");
        let page = answer.text().await.unwrap();
        let (action, mut fields) = form(&page);
        fields.push(("login".to_owned(), login.to_owned()));
        fields.push(("password".to_owned(), "any password".to_owned()));
        let posted = browser
            .post(absolute(&action))
            .form(&fields)
            .send()
            .await
            .unwrap();
        assert!(
            posted.status().is_redirection(),
            "signing in at the provider: {}",
            posted.status()
        );
        form_posted = true;
        let location = posted.headers()[LOCATION].to_str().unwrap().to_owned();
        if location.starts_with(PUBLIC_URL) {
            return returned(&location);
        }
        next = absolute(&location);
    }
    panic!("the provider never sent the person back");
}

fn absolute(location: &str) -> String {
    if location.starts_with("http") {
        location.to_owned()
    } else {
        format!("{}{location}", issuer())
    }
}

fn returned(location: &str) -> Return {
    let url = reqwest::Url::parse(location).unwrap();
    let param = |name: &str| {
        url.query_pairs()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.into_owned())
    };
    assert_eq!(param("error"), None, "{location}");
    Return {
        code: param("code").expect("a code"),
        state: param("state").expect("a state"),
    }
}

/// The sign-in form's action and hidden fields.
fn form(page: &str) -> (String, Vec<(String, String)>) {
    let html = Html::parse_document(page);
    let form = html
        .select(&Selector::parse("form").unwrap())
        .next()
        .expect("a sign-in form");
    let action = form.value().attr("action").expect("an action").to_owned();
    let fields = form
        .select(&Selector::parse("input[type=hidden]").unwrap())
        .filter_map(|input| {
            Some((
                input.value().attr("name")?.to_owned(),
                input.value().attr("value").unwrap_or_default().to_owned(),
            ))
        })
        .collect();
    (action, fields)
}
