//! The endpoints, one module per resource, and the answers they share.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod gateway;
pub mod login;
pub mod operations;
pub mod organizations;
pub mod projects;
mod resource;
pub mod roles;
pub mod sign_on;
pub mod usage;
pub mod users;

use actix_web::http::header::HeaderValue;
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, ResponseError, Route, web};
use serde::Serialize;

use crate::error::ApiError;

/// `201 Created` with the whole object and its `Location`.
pub(crate) fn created(location: String, body: impl Serialize) -> HttpResponse {
    HttpResponse::Created()
        .insert_header((header::LOCATION, location))
        .json(body)
}

/// Marks an answer that carries a secret (a new key, a session key) `Cache-Control: no-store`,
/// so that no cache between the server and the client, nor the client's own, keeps a copy of it.
/// Every such answer goes through here, so that none can forget it.
pub(crate) fn carrying_secret(mut response: HttpResponse) -> HttpResponse {
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// The answer to a `PATCH`: `204`, or `200` with the object when the client sent
/// `Prefer: return=representation` (RFC 7240).
pub(crate) fn patched(request: &HttpRequest, body: impl Serialize) -> HttpResponse {
    let wants_representation = request
        .headers()
        .get_all("prefer")
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split([',', ';']))
        .any(|preference| {
            preference
                .trim()
                .eq_ignore_ascii_case("return=representation")
        });
    if wants_representation {
        HttpResponse::Ok()
            .insert_header(("Preference-Applied", "return=representation"))
            .json(body)
    } else {
        HttpResponse::NoContent().finish()
    }
}

/// The answer for a method the resource does not have: 405, with the `Allow` header RFC 9110
/// requires, listing `allow`, the methods the resource does have.
pub(crate) fn method_not_allowed(allow: &'static str) -> Route {
    web::to(move || async move {
        let mut response =
            ApiError::status(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed").error_response();
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(allow));
        response
    })
}

/// The answer for a route that does not exist.
pub(crate) async fn not_found() -> HttpResponse {
    ApiError::status(StatusCode::NOT_FOUND, "Not Found").error_response()
}
