//! The pages, one module per section, and what they share.

mod account;
mod audit;
mod chart;
mod choices;
mod filters;
mod keys;
mod limits;
mod login;
mod organizations;
mod projects;
mod roles;
mod usage;
mod users;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;

use crate::error::ConsoleError;
use crate::page::{self, PageContext};
use crate::session::Session;

/// Mounts every page.
pub fn configure(config: &mut web::ServiceConfig) {
    config.route("", web::get().to(index));
    config.route("/", web::get().to(index));
    login::configure(config);
    account::configure(config);
    keys::configure(config);
    organizations::configure(config);
    usage::configure(config);
    users::configure(config);
    roles::configure(config);
    projects::configure(config);
    audit::configure(config);
}

/// The console's front page: one's account when signed in, the sign-in page otherwise.
async fn index(session: Result<Session, ConsoleError>) -> HttpResponse {
    match session {
        Ok(_) => page::see_other("/console/account"),
        Err(_) => page::see_other("/console/login"),
    }
}

/// The console's 404 page.
pub async fn not_found() -> HttpResponse {
    actix_web::ResponseError::error_response(&ConsoleError::Api(gatehouse_api::ApiError::status(
        actix_web::http::StatusCode::NOT_FOUND,
        "Not Found",
    )))
}

/// The page that asks before a delete: one form with a "Delete" button, and a way back.
#[derive(Template)]
#[template(path = "confirm.html")]
pub struct Confirm<'a> {
    /// The page context.
    pub ctx: &'a PageContext,
    /// "Delete organization “Acme”?"
    pub title: String,
    /// What the delete does.
    pub sentence: &'a str,
    /// Where the form posts.
    pub action: String,
    /// Where "Cancel" leads.
    pub cancel: String,
}

impl Confirm<'_> {
    /// The confirmation page as an answer.
    pub fn answer(&self) -> Result<HttpResponse, ConsoleError> {
        page::ok(self.ctx, self)
    }
}

/// The request's path id `{id}`, as the API reads it (422 for one that is not an id).
pub fn path_id(request: &HttpRequest, name: &str) -> Result<i64, ConsoleError> {
    let raw = request.match_info().get(name).unwrap_or_default();
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ConsoleError::Api(gatehouse_api::ApiError::status(
            actix_web::http::StatusCode::NOT_FOUND,
            "Not Found",
        ))
    })
}
