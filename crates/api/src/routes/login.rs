//! `/v1/auth/login`: email and password for a session key.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::dto::login::{LoginRequest, LoginResponse};
use crate::error::{ApiError, ErrorBody, ValidationErrorBody};
use crate::input::JsonObject;
use crate::origin::origin_of;
use crate::routes::{carrying_secret, method_not_allowed};
use crate::state::AppState;

/// Mounts the login endpoint.
pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/v1/auth/login")
            .post(login)
            .default_service(method_not_allowed("POST")),
    );
}

/// Exchanges an email and a password for a fresh `playground` key, which replaces the previous
/// one and expires after `SESSION_DURATION` seconds. The master user logs in with email `master`
/// and the master key, and gets the master key back with id 0.
#[utoipa::path(
    post, path = "/v1/auth/login", tag = "auth",
    request_body = LoginRequest,
    responses(
        (status = 200, description = "The session key, shown this once.", body = LoginResponse),
        (status = 401, description = "`Invalid email or password.`, the same for an unknown email, a wrong password and an account without a password.", body = ErrorBody),
        (status = 403, description = "`Account expired.`", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
        (status = 429, description = "`Too many failed login attempts. Try again later.`: too many failures for the email or from the client address within 15 minutes, whatever the password; `Retry-After` tells when the window ends.", body = ErrorBody),
        (status = 503, description = "`Service unavailable.`: too many password checks waiting (`Retry-After`), or the database is unreachable.", body = ErrorBody),
    ),
)]
pub async fn login(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let (email, password) = LoginRequest::parse(body)?;
    let origin = origin_of(&request, &state.trusted_proxies);
    let session = state.login.login(&email, password, origin).await?;
    Ok(carrying_secret(
        HttpResponse::Ok().json(LoginResponse::from(session)),
    ))
}
