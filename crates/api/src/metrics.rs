//! Request metrics: counts and latencies by route pattern, method and status.

use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use prometheus::Registry;

/// The middleware that records request metrics.
pub type HttpMetrics = PrometheusMetrics;

/// A middleware recording `gatehouse_http_requests_total` and
/// `gatehouse_http_requests_duration_seconds` in `registry`, labelled by route pattern (not by
/// path, so ids do not explode the label set; unknown routes are `UNKNOWN`), method and status.
///
/// # Errors
/// When the metrics cannot be registered (a name already taken in `registry`).
pub fn http_metrics(
    registry: &Registry,
) -> Result<HttpMetrics, Box<dyn std::error::Error + Send + Sync>> {
    PrometheusMetricsBuilder::new("gatehouse")
        .registry(registry.clone())
        .mask_unmatched_patterns("UNKNOWN")
        .build()
}
