//! Gatehouse's HTTP admin API: the actix-web adapter over the application services.
//!
//! [`configure`] mounts every endpoint of the contract on an actix-web `App`; the server crate
//! adds the middleware (request logs, metrics) and the state.

pub mod audit_view;
pub mod auth;
pub mod client_address;
pub mod dto;
pub mod error;
pub mod input;
pub mod metrics;
pub mod openapi;
pub mod origin;
pub mod request_id;
pub mod routes;
pub mod state;

use actix_web::web;

pub use audit_view::AuditView;
pub use client_address::TrustedProxies;
pub use error::ApiError;
pub use metrics::{HttpMetrics, http_metrics};
pub use openapi::ApiDoc;
pub use request_id::XRequestId;
pub use state::{AppState, StorageProbe};

/// Mounts every endpoint, the body size limit, and JSON answers for unknown routes.
pub fn configure(config: &mut web::ServiceConfig) {
    config.app_data(input::body::payload_config());
    routes::organizations::configure(config);
    routes::users::configure(config);
    routes::roles::configure(config);
    routes::projects::configure(config);
    routes::api_keys::configure(config);
    routes::account::configure(config);
    routes::login::configure(config);
    routes::sign_on::configure(config);
    routes::gateway::configure(config);
    routes::usage::configure(config);
    routes::audit::configure(config);
    routes::operations::configure(config);
    config.default_service(web::to(routes::not_found));
}
