//! Logs: `tracing` events as text or JSON, levels from `RUST_LOG`, and one line per request.

use std::io::IsTerminal;
use std::time::Instant;

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use gatehouse_api::XRequestId;
use tracing::Span;
use tracing_actix_web::RootSpanBuilder;
use tracing_subscriber::EnvFilter;

use crate::config::LogFormat;

/// Installs the global subscriber. `RUST_LOG` sets the levels (default: `info`). Colours only
/// when stderr is a terminal: in a file or a log collector, escape codes are noise.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    // A second initialisation (tests starting several servers) keeps the first subscriber.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// The span of a request, which every log line of the request carries: its `X-Request-Id` (given
/// by [`gatehouse_api::request_id::assign`], which runs first), method and path. The path only,
/// never the query string, whose values (an `email=` filter) are the client's business.
///
/// In place of `tracing_actix_web`'s default span, which records the query string, the client's
/// address and user agent, and an id of its own that the client never sees.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = XRequestId::of(request.request());
        // ERROR, the most severe level, only so that the span is recorded whenever any event of
        // the request is: a span below the filter's level would leave the events inside it
        // without the request id. Its level shows nowhere.
        tracing::error_span!(
            "HTTP request",
            request_id = %id.as_str(),
            method = %request.method(),
            path = %request.path(),
        )
    }

    /// Nothing to add: [`access_log`] writes the outcome.
    fn on_request_end<B: MessageBody>(
        _span: Span,
        _outcome: &Result<ServiceResponse<B>, actix_web::Error>,
    ) {
    }
}

/// Logs one event per request, inside the request's span (which carries its id): method, route
/// pattern, status and latency. Never headers or bodies, so never a key or a password.
pub async fn access_log(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let method = request.method().clone();
    let response = next.call(request).await?;
    let route = response
        .request()
        .match_pattern()
        .unwrap_or_else(|| "UNKNOWN".to_owned());
    let status = response.status().as_u16();
    let latency_ms = started.elapsed().as_secs_f64() * 1000.0;
    if status >= 500 {
        tracing::error!(%method, %route, status, latency_ms, "request failed");
    } else {
        tracing::info!(%method, %route, status, latency_ms, "request");
    }
    Ok(response)
}
