//! `/v1/auth/authorize` and `/v1/auth/usage`: a gateway asks whether a call may go ahead, and
//! reports what it used and cost.

use actix_web::{HttpResponse, web};

use crate::auth::Gateway;
use crate::dto::gateway::{
    AuthorizationResponse, AuthorizeRequest, UsageReportRequest, UsageResponse,
};
use crate::error::{ApiError, ErrorBody, ValidationErrorBody};
use crate::input::JsonObject;
use crate::routes::method_not_allowed;
use crate::state::AppState;

/// Mounts the gateway endpoints.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/v1/auth/authorize")
                .post(authorize)
                .default_service(method_not_allowed("POST")),
        )
        .service(
            web::resource("/v1/auth/usage")
                .post(report_usage)
                .default_service(method_not_allowed("POST")),
        );
}

/// Decides whether a key may make a model call now: its validity, its account, the router, the
/// rate limits of its role (per user) and project (per project), and the budget that pays. An
/// allowed call's counts and cost are taken at once; a refused one takes nothing. Asked again with
/// the same `request_id` and key, answers as the first time.
#[utoipa::path(
    post, path = "/v1/auth/authorize", tag = "gateway",
    request_body = AuthorizeRequest,
    responses(
        (status = 200, description = "The decision, allowed or not: `status` and `detail` are what the gateway should answer its client.", body = AuthorizationResponse),
        (status = 403, description = "`Insufficient rights.`: the credential lacks the `gateway` permission (or is project-bound); `Account expired.`", body = ErrorBody),
        (status = 409, description = "`Request id already used.`: with another key.", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn authorize(
    state: web::Data<AppState>,
    Gateway(gateway, body): Gateway<JsonObject>,
) -> Result<HttpResponse, ApiError> {
    let call = AuthorizeRequest::parse(body)?;
    let decision = state.gateway.authorize(&gateway, call).await?;
    Ok(HttpResponse::Ok().json(AuthorizationResponse::from(decision)))
}

/// Settles a call: its tokens beyond those counted at authorization are counted, and its cost
/// replaces the reservation (the difference refunded, or debited as far as the budget goes, the
/// rest reported as `overrun`). A call never authorized needs `key` and `router`. Reported again,
/// answers 200 with the first record and charges nothing.
#[utoipa::path(
    post, path = "/v1/auth/usage", tag = "gateway",
    request_body = UsageReportRequest,
    responses(
        (status = 201, description = "Recorded and charged.", body = UsageResponse),
        (status = 200, description = "Recorded earlier under this `request_id`: nothing charged now.", body = UsageResponse),
        (status = 403, description = "`Insufficient rights.`: the credential lacks the `gateway` permission (or is project-bound); `Account expired.`", body = ErrorBody),
        (status = 404, description = "`Authorization not found.`: the `request_id` was never authorized, and no `key` is given.", body = ErrorBody),
        (status = 409, description = "`Request id already used.`: the `request_id` is another key's (or router's) call.", body = ErrorBody),
        (status = 422, description = "Invalid body; a call never authorized without `router`, or with an unknown `key`.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn report_usage(
    state: web::Data<AppState>,
    Gateway(gateway, body): Gateway<JsonObject>,
) -> Result<HttpResponse, ApiError> {
    let usage = UsageReportRequest::parse(body)?;
    let reported = state.gateway.report(&gateway, usage).await?;
    let body = UsageResponse::from(reported.record);
    Ok(if reported.created {
        HttpResponse::Created().json(body)
    } else {
        HttpResponse::Ok().json(body)
    })
}
