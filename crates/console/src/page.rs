//! What every page shares: who is signed in (for the navigation), the CSRF token of its forms,
//! the message left by the change that led here, and how a page becomes an answer.

use actix_web::cookie::SameSite;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse};
use askama::Template;
use gatehouse_domain::DateTime;
use gatehouse_domain::Utc;

use crate::csrf;
use crate::error::ConsoleError;
use crate::session::settings;

/// The cookie that carries a message to the next page ("Organization created.").
const FLASH_COOKIE: &str = "gatehouse_flash";

/// What every page shows besides its own content.
#[derive(Debug, Clone)]
pub struct PageContext {
    /// The signed-in person's email; `None` on the sign-in page.
    pub email: Option<String>,
    /// Whether they see the admin pages.
    pub admin: bool,
    /// The token of every form of the page.
    pub csrf: String,
    /// The message left by the change that led here, shown once.
    pub flash: Option<String>,
    /// The path of the page, for the navigation's `aria-current`.
    pub path: String,
}

impl PageContext {
    /// The context of `request`'s page, for `user` (email and whether an admin) if signed in.
    pub fn new(request: &HttpRequest, user: Option<(String, bool)>) -> Self {
        let flash = request.cookie(FLASH_COOKIE).and_then(|cookie| {
            serde_urlencoded::from_str::<Vec<(String, String)>>(cookie.value())
                .ok()
                .and_then(|pairs| pairs.into_iter().next().map(|(_, message)| message))
        });
        let (email, admin) = match user {
            Some((email, admin)) => (Some(email), admin),
            None => (None, false),
        };
        Self {
            email,
            admin,
            csrf: csrf::token(request),
            flash,
            path: request.path().to_owned(),
        }
    }

    /// Whether the navigation link to `section` is the current page's.
    pub fn current(&self, section: &str) -> bool {
        self.path == section || self.path.starts_with(&format!("{section}/"))
    }
}

/// `page` as an HTML answer with `status`; never cached, since pages show a person's data.
pub fn render(
    context: &PageContext,
    status: StatusCode,
    page: &impl Template,
) -> Result<HttpResponse, ConsoleError> {
    let html = page
        .render()
        .map_err(gatehouse_domain::DomainError::unexpected)?;
    let mut answer = HttpResponse::build(status);
    answer
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if context.flash.is_some() {
        let mut removal = actix_web::cookie::Cookie::new(FLASH_COOKIE, "");
        removal.set_path(crate::PATH);
        removal.make_removal();
        answer.cookie(removal);
    }
    Ok(answer.body(html))
}

/// `page` as a `200 OK`.
pub fn ok(context: &PageContext, page: &impl Template) -> Result<HttpResponse, ConsoleError> {
    render(context, StatusCode::OK, page)
}

/// A `303 See Other` to `location` (a path of the console), leaving `message` for that page.
pub fn done(request: &HttpRequest, location: &str, message: &str) -> HttpResponse {
    let value = serde_urlencoded::to_string([("m", message)]).unwrap_or_default();
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .cookie(settings(request).cookie(FLASH_COOKIE, value, SameSite::Lax))
        .finish()
}

/// A `303 See Other` to `location`.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// A time as the console shows it: UTC, to the minute.
pub fn time(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M").to_string()
}

/// A Unix second as the console shows it; `fallback` when out of range.
pub fn unix_time(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0).map_or_else(|| seconds.to_string(), time)
}

/// A Unix second as a date input's value (`YYYY-MM-DD`).
pub fn date_value(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .map(|at| at.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

/// An amount as the console shows it: the API's exact decimal, or `no_limit` for none.
pub fn money(amount: Option<&gatehouse_api::dto::money::Amount>, none: &str) -> String {
    amount
        .and_then(|amount| serde_json::to_string(amount).ok())
        .unwrap_or_else(|| none.to_owned())
}
