//! Cross-site request forgery: every form that changes something carries a token that a page of
//! another site cannot know, and a change without it is refused (403) before it is read.
//!
//! The token is the SHA-256 of a random per-browser value (the `gatehouse_csrf` cookie, which
//! only this server's pages can read into a form) and of the session's key, so that it also
//! changes with each sign-in. Written here because actix-web has no well-kept CSRF middleware;
//! the pattern is OWASP's "signed double-submit cookie", with the session key as the secret,
//! which works unchanged across several instances.

use actix_web::HttpMessage;
use actix_web::HttpRequest;
use actix_web::body::MessageBody;
use actix_web::cookie::SameSite;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::session::{SESSION_COOKIE, settings};

/// The cookie that holds the browser's random value.
pub const CSRF_COOKIE: &str = "gatehouse_csrf";

/// The form field that carries the token.
pub const CSRF_FIELD: &str = "csrf";

/// The browser's value made for this request, when it had none yet.
#[derive(Clone)]
struct Fresh(String);

/// Gives a browser without the cookie a new random value, for the forms of this answer and the
/// requests that follow.
pub async fn ensure_cookie(
    request: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let fresh = request.cookie(CSRF_COOKIE).is_none().then(|| {
        let mut bytes = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut bytes);
        Fresh(hex::encode(bytes))
    });
    if let Some(fresh) = &fresh {
        request.extensions_mut().insert(fresh.clone());
    }
    let settings = settings(request.request());
    let mut response = next.call(request).await?;
    if let Some(Fresh(value)) = fresh {
        let cookie = settings.cookie(CSRF_COOKIE, value, SameSite::Strict);
        response.response_mut().add_cookie(&cookie)?;
    }
    Ok(response)
}

/// The token that the forms of `request`'s page carry.
pub fn token(request: &HttpRequest) -> String {
    let browser = request
        .extensions()
        .get::<Fresh>()
        .map(|fresh| fresh.0.clone())
        .or_else(|| request.cookie(CSRF_COOKIE).map(|c| c.value().to_owned()))
        .unwrap_or_default();
    let session = request
        .cookie(SESSION_COOKIE)
        .map(|c| c.value().to_owned())
        .unwrap_or_default();
    let mut hash = Sha256::new();
    hash.update(browser.as_bytes());
    hash.update([0]);
    hash.update(session.as_bytes());
    hex::encode(hash.finalize())
}

/// Whether `sent` is the token of `request`: never for a browser without the cookie.
pub fn is_valid(request: &HttpRequest, sent: &str) -> bool {
    request.cookie(CSRF_COOKIE).is_some()
        && bool::from(token(request).as_bytes().ct_eq(sent.as_bytes()))
}
