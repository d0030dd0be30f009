//! `/v1/me/info`: who the caller is, and changes to their own account.

use actix_web::{HttpRequest, HttpResponse, web};

use crate::auth::Authenticated;
use crate::dto::account::{UpdateAccountRequest, UserInfoResponse};
use crate::error::{ApiError, ErrorBody, ValidationErrorBody};
use crate::input::JsonObject;
use crate::routes::{method_not_allowed, patched};
use crate::state::AppState;

/// Mounts the self-service endpoints.
pub fn configure(config: &mut web::ServiceConfig) {
    config.service(
        web::resource("/v1/me/info")
            .get(info)
            .patch(update)
            .default_service(method_not_allowed("GET, PATCH")),
    );
}

/// Who the caller is, with the permissions and limits of their role. Answers for an expired
/// account too.
#[utoipa::path(
    get, path = "/v1/me/info", tag = "me",
    responses(
        (status = 200, body = UserInfoResponse),
        (status = 401, description = "`Not authenticated` or `Invalid API key.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn info(
    state: web::Data<AppState>,
    Authenticated(actor, ()): Authenticated,
) -> Result<HttpResponse, ApiError> {
    let info = state.account.info(&actor).await?;
    Ok(HttpResponse::Ok().json(UserInfoResponse::from(info)))
}

/// Changes the caller's name, email or password (JSON merge patch). A new email or password needs
/// the right `current_password`, checked before the email is (so that a key alone cannot probe
/// which emails are taken); a new password ends the other login sessions. Other fields are
/// ignored.
#[utoipa::path(
    patch, path = "/v1/me/info", tag = "me",
    params(
        ("Prefer" = Option<String>, Header, description = "`return=representation` to get the updated info with 200."),
    ),
    request_body = UpdateAccountRequest,
    responses(
        (status = 204, description = "Updated."),
        (status = 200, description = "Updated, with `Prefer: return=representation`.", body = UserInfoResponse),
        (status = 400, description = "`Master is not allowed to process this action.`", body = ErrorBody),
        (status = 401, description = "`Invalid current password.` (an email or password without the right `current_password`), `Not authenticated` or `Invalid API key.`", body = ErrorBody),
        (status = 403, description = "`Insufficient rights.` for a project-bound key; `Account expired.`", body = ErrorBody),
        (status = 409, description = "`User already exists.`: the email is taken.", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    request: HttpRequest,
    state: web::Data<AppState>,
    Authenticated(actor, body): Authenticated<JsonObject>,
) -> Result<HttpResponse, ApiError> {
    // Who may change their account at all is settled before what they send is read.
    state.account.may_update(&actor)?;
    let update = UpdateAccountRequest::parse(body)?;
    let info = state.account.update(&actor, update).await?;
    Ok(patched(&request, UserInfoResponse::from(info)))
}
