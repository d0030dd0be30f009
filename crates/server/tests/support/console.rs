//! A browser for the web console's black-box tests: keeps cookies, does not follow redirects
//! (tests check them), sends each form with the CSRF token of the last page it read, and reads
//! pages with CSS selectors.

use std::sync::Arc;

use reqwest::StatusCode;
use reqwest::cookie::{CookieStore, Jar};
use scraper::{Html, Selector};

use super::TestApp;

/// A browser on one test server.
pub struct Browser {
    /// The client, with its cookie jar.
    pub client: reqwest::Client,
    jar: Arc<Jar>,
    base: String,
    csrf: Option<String>,
}

/// A page as received.
#[derive(Debug)]
pub struct Page {
    /// Its status.
    pub status: StatusCode,
    /// Its headers.
    pub headers: reqwest::header::HeaderMap,
    /// Its body.
    pub html: String,
}

impl Browser {
    /// A browser with no cookie yet.
    pub fn new(app: &TestApp) -> Self {
        let jar = Arc::new(Jar::default());
        Self {
            client: reqwest::Client::builder()
                .cookie_provider(jar.clone())
                .redirect(reqwest::redirect::Policy::none())
                .pool_idle_timeout(gatehouse::startup::KEEP_ALIVE / 2)
                .build()
                .unwrap(),
            jar,
            base: app.address.clone(),
            csrf: None,
        }
    }

    async fn read(&mut self, request: reqwest::RequestBuilder) -> Page {
        let answer = request.send().await.unwrap();
        let status = answer.status();
        let headers = answer.headers().clone();
        let html = answer.text().await.unwrap();
        let page = Page {
            status,
            headers,
            html,
        };
        if let Some(token) = page.attribute("input[name=csrf]", "value") {
            self.csrf = Some(token);
        }
        page
    }

    /// `GET path`.
    pub async fn get(&mut self, path: &str) -> Page {
        let request = self.client.get(format!("{}{path}", self.base));
        self.read(request).await
    }

    /// Posts `fields` to `path` with the CSRF token of the last page read.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let mut form: Vec<(&str, &str)> = fields.to_vec();
        let token = self.csrf.clone().unwrap_or_default();
        form.push(("csrf", &token));
        let request = self.client.post(format!("{}{path}", self.base)).form(&form);
        self.read(request).await
    }

    /// Posts `fields` to `path` as they are: no CSRF token unless they carry one.
    pub async fn post_raw(&mut self, path: &str, fields: &[(&str, &str)]) -> Page {
        let request = self
            .client
            .post(format!("{}{path}", self.base))
            .form(&fields.to_vec());
        self.read(request).await
    }

    /// Follows the redirect `page` answered.
    pub async fn follow(&mut self, page: &Page) -> Page {
        let location = page.location().expect("a redirect").to_owned();
        self.get(&location).await
    }

    /// Signs in through the form; panics unless it leads to the account page.
    pub async fn sign_in(&mut self, email: &str, password: &str) -> Page {
        self.get("/console/login").await;
        let answer = self
            .post(
                "/console/login",
                &[("email", email), ("password", password)],
            )
            .await;
        assert_eq!(answer.status, StatusCode::SEE_OTHER, "{}", answer.html);
        assert_eq!(answer.location(), Some("/console/account"));
        self.follow(&answer).await
    }

    /// Signs in as the master user.
    pub async fn sign_in_as_master(&mut self) -> Page {
        self.sign_in("master", super::MASTER_KEY).await
    }

    /// The value of cookie `name` the browser sends to the console, if any.
    pub fn cookie(&self, name: &str) -> Option<String> {
        let url = format!("{}/console/", self.base).parse().unwrap();
        let cookies = self.jar.cookies(&url)?;
        cookies.to_str().unwrap().split("; ").find_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            (key == name).then(|| value.to_owned())
        })
    }
}

impl Page {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|value| value.to_str().ok())
    }

    /// Where a redirect leads.
    pub fn location(&self) -> Option<&str> {
        self.header("location")
    }

    /// The text of every element matching `selector`, trimmed.
    pub fn texts(&self, selector: &str) -> Vec<String> {
        let selector = Selector::parse(selector).unwrap();
        Html::parse_document(&self.html)
            .select(&selector)
            .map(|element| element.text().collect::<String>().trim().to_owned())
            .collect()
    }

    /// The text of the first element matching `selector`.
    pub fn text(&self, selector: &str) -> Option<String> {
        self.texts(selector).into_iter().next()
    }

    /// Attribute `name` of the first element matching `selector`.
    pub fn attribute(&self, selector: &str, name: &str) -> Option<String> {
        let selector = Selector::parse(selector).unwrap();
        Html::parse_document(&self.html)
            .select(&selector)
            .find_map(|element| element.value().attr(name).map(str::to_owned))
    }

    /// The sentence shown next to the field with element id `id`.
    pub fn field_error(&self, id: &str) -> Option<String> {
        self.text(&format!("[id=\"{id}-error\"]"))
    }

    /// The sentences of the alerts above forms (`role=alert`).
    pub fn alerts(&self) -> Vec<String> {
        self.texts("[role=alert]")
    }

    /// The message left by the change that led here.
    pub fn flash(&self) -> Option<String> {
        self.text("[role=status]")
    }

    /// The page's `<h1>`.
    pub fn heading(&self) -> Option<String> {
        self.text("h1")
    }
}
