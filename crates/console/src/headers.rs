//! The security headers of every console answer: no framing, no sniffing, no referrer outside
//! the server, and a content security policy that allows this server's own scripts and styles
//! only (no inline script or style, no other origin).

use actix_web::middleware::DefaultHeaders;

/// The content security policy: everything from this server, nothing inline, no framing.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; script-src 'self'; \
    style-src 'self'; img-src 'self' data:; form-action 'self'; frame-ancestors 'none'; \
    base-uri 'none'; object-src 'none'";

/// The middleware that adds them (a handler's own value of one of them would be kept).
pub fn security_headers() -> DefaultHeaders {
    DefaultHeaders::new()
        .add(("Content-Security-Policy", CONTENT_SECURITY_POLICY))
        .add(("X-Frame-Options", "DENY"))
        .add(("X-Content-Type-Options", "nosniff"))
        .add(("Referrer-Policy", "same-origin"))
}
