//! `/health`, `/metrics`, `/openapi.json`, `/docs` and the front door (`/`, which leads to the
//! web console): for operators, client authors and people, without authentication.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};

use actix_web::http::header::{self, ContentType};
use actix_web::{HttpResponse, web};
use prometheus::{Encoder, Registry, TextEncoder};
use serde::Serialize;
use utoipa::{OpenApi, ToSchema};
use utoipa_swagger_ui::{Config, SwaggerUi};

use crate::error::ApiError;
use crate::openapi::ApiDoc;
use crate::routes::method_not_allowed;
use crate::state::AppState;

/// Mounts the operations endpoints.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/health")
                .get(health)
                .default_service(method_not_allowed("GET")),
        )
        .service(
            web::resource("/metrics")
                .get(metrics)
                .default_service(method_not_allowed("GET")),
        )
        .service(
            web::resource("/openapi.json")
                .get(openapi_json)
                .default_service(method_not_allowed("GET")),
        )
        .service(SwaggerUi::new("/docs/{_:.*}").config(Config::from("/openapi.json")))
        .service(
            web::resource("/docs")
                .get(docs)
                .default_service(method_not_allowed("GET")),
        )
        .service(
            web::resource("/")
                .get(home)
                .default_service(method_not_allowed("GET")),
        );
}

/// Where the web console is served.
pub const CONSOLE: &str = "/console/";

/// A `302 Found` to `location`: temporary, so that neither a browser nor a cache keeps it (where
/// `/` leads may change).
fn found(location: &'static str) -> HttpResponse {
    HttpResponse::Found()
        .insert_header((header::LOCATION, location))
        .finish()
}

/// `/` leads people to the web console.
#[utoipa::path(
    get, path = "/", tag = "operations",
    responses((status = 302, description = "Redirects to `/console/`, the web console.")),
)]
pub async fn home() -> HttpResponse {
    found(CONSOLE)
}

/// The answer of `/health`.
#[derive(Debug, Serialize, ToSchema)]
pub struct Health {
    /// `ok`, `unavailable` or `draining`.
    #[schema(example = "ok")]
    pub status: &'static str,
}

/// Set once the server has begun a graceful shutdown: `/health` then answers 503, so that a
/// load balancer that polls it sends nothing more to this instance while its open connections
/// drain. The server puts one in the app data and sets it on SIGTERM.
#[derive(Debug, Clone, Default)]
pub struct ShuttingDown(Arc<AtomicBool>);

impl ShuttingDown {
    /// Marks the shutdown as begun.
    pub fn begin(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether the shutdown has begun.
    pub fn has_begun(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// Whether the service and its database answer: what a load balancer's health check asks.
#[utoipa::path(
    get, path = "/health", tag = "operations",
    responses(
        (status = 200, description = "The database answers.", body = Health),
        (status = 503, description = "The database does not answer (`unavailable`), or the instance is shutting down (`draining`).", body = Health),
    ),
)]
pub async fn health(
    state: web::Data<AppState>,
    shutting_down: Option<web::Data<ShuttingDown>>,
) -> HttpResponse {
    if shutting_down.is_some_and(|shutdown| shutdown.has_begun()) {
        return HttpResponse::ServiceUnavailable().json(Health { status: "draining" });
    }
    match state.storage.ping().await {
        Ok(()) => HttpResponse::Ok().json(Health { status: "ok" }),
        Err(error) => {
            tracing::warn!(%error, "health check failed");
            HttpResponse::ServiceUnavailable().json(Health {
                status: "unavailable",
            })
        }
    }
}

/// Prometheus metrics: requests by route and status, latencies, database pool state.
#[utoipa::path(
    get, path = "/metrics", tag = "operations",
    responses((status = 200, description = "Prometheus text format.", content_type = "text/plain", body = String)),
)]
pub async fn metrics(registry: web::Data<Registry>) -> Result<HttpResponse, ApiError> {
    let mut buffer = Vec::new();
    TextEncoder::new()
        .encode(&registry.gather(), &mut buffer)
        .map_err(gatehouse_domain::DomainError::unexpected)?;
    Ok(HttpResponse::Ok()
        .content_type(ContentType::plaintext())
        .body(buffer))
}

/// The document, built once.
static OPENAPI: LazyLock<utoipa::openapi::OpenApi> = LazyLock::new(ApiDoc::openapi);

/// This OpenAPI 3.1 document, generated from the code.
#[utoipa::path(
    get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "The OpenAPI 3.1 document of every endpoint.", content_type = "application/json")),
)]
pub async fn openapi_json() -> HttpResponse {
    HttpResponse::Ok().json(&*OPENAPI)
}

/// The Swagger UI of this document, served from the binary (its assets live under `/docs/`).
#[utoipa::path(
    get, path = "/docs", tag = "operations",
    responses((status = 308, description = "Redirects to `/docs/`, the Swagger UI page.")),
)]
pub async fn docs() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header(("Location", "/docs/"))
        .finish()
}
