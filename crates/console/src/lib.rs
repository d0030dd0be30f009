//! Gatehouse's web console: server-rendered pages for people, at `/console`.
//!
//! A second driving adapter beside the HTTP API, on the same application services: every page
//! calls the use cases with the signed-in person's [`Principal`](gatehouse_application::Principal),
//! and every form is read by the API's own request parsers, so that the console can do nothing the
//! API would refuse that person, and shows the API's sentences. Its assets are in the binary.

mod assets;
mod csrf;
mod error;
mod fields;
mod form;
mod headers;
mod listing;
mod page;
mod pages;
mod session;

use actix_web::middleware::from_fn;
use actix_web::web;

pub use session::ConsoleSettings;

/// Where the console is served.
pub const PATH: &str = "/console";

/// Mounts the console under [`PATH`]: its pages and assets, behind its security headers and its
/// CSRF cookie. Needs `web::Data<AppState>` (the API's) and `web::Data<ConsoleSettings>`.
pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::scope(PATH)
            .app_data(form::config())
            .wrap(from_fn(csrf::ensure_cookie))
            .wrap(headers::security_headers())
            .configure(assets::configure)
            .configure(pages::configure)
            .default_service(web::to(pages::not_found)),
    );
}
