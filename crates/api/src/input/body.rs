//! The request body as a JSON object.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use actix_web::error::PayloadError;
use actix_web::http::StatusCode;
use actix_web::web::{Bytes, PayloadConfig};
use actix_web::{FromRequest, HttpRequest, dev::Payload};
use gatehouse_domain::ValueError;
use serde_json::{Map, Value};

use super::fields::{Fields, FromJson};
use crate::error::{ApiError, LocPart};

/// Largest body accepted; larger ones are 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// The longest a request body may take to arrive, counted from when the handler starts reading
/// it (once the caller is authenticated); then the answer is 408 `Request timeout.` and the
/// connection is closed. actix-web bounds the time a client takes to send the request head, not
/// the body: without this, a client that announces a `Content-Length` and sends less, or sends it
/// a byte at a time, would hold its connection and its request for ever. The largest body
/// ([`MAX_BODY_BYTES`]) in this time is 6.4 KiB/s, far below any real client.
pub const BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// A request body that is a JSON object, whatever its content type says.
#[derive(Debug)]
pub struct JsonObject(pub Map<String, Value>);

impl JsonObject {
    /// Its fields, to read one by one.
    pub fn fields(self) -> Fields {
        Fields::new(self.0, vec![LocPart::from("body")])
    }

    /// Parses raw bytes: not JSON, empty, or not an object are 422 in FastAPI's shape.
    ///
    /// # Errors
    /// [`ApiError::Invalid`] located at `body`.
    pub fn parse(bytes: &[u8]) -> Result<Self, ApiError> {
        if bytes.iter().all(u8::is_ascii_whitespace) {
            return Err(ApiError::invalid(
                vec![LocPart::from("body")],
                ValueError::new("missing", "Field required"),
            ));
        }
        let value: Value = serde_json::from_slice(bytes).map_err(|error| {
            ApiError::invalid(
                vec![LocPart::from("body"), LocPart::Index(error.column())],
                ValueError::new("json_invalid", "JSON decode error"),
            )
        })?;
        Map::from_json(value)
            .map(Self)
            .map_err(|error| ApiError::invalid(vec![LocPart::from("body")], error))
    }
}

impl FromRequest for JsonObject {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let bytes = Bytes::from_request(request, payload);
        Box::pin(async move {
            let bytes = actix_web::rt::time::timeout(BODY_READ_TIMEOUT, bytes)
                .await
                .map_err(|_| ApiError::status(StatusCode::REQUEST_TIMEOUT, "Request timeout."))?
                .map_err(|error| match error.as_error::<PayloadError>() {
                    Some(PayloadError::Overflow) => {
                        ApiError::status(StatusCode::PAYLOAD_TOO_LARGE, "Request body too large.")
                    }
                    _ => {
                        ApiError::status(StatusCode::BAD_REQUEST, "Request body could not be read.")
                    }
                })?;
            Self::parse(&bytes)
        })
    }
}

/// The body size limit, for the application's data.
pub fn payload_config() -> PayloadConfig {
    PayloadConfig::new(MAX_BODY_BYTES)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kind(result: Result<JsonObject, ApiError>) -> String {
        match result {
            Err(ApiError::Invalid(errors)) => errors[0].kind.clone(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn malformed_json_is_json_invalid() {
        assert_eq!(kind(JsonObject::parse(b"{\"name\": ")), "json_invalid");
    }

    #[test]
    fn an_empty_body_is_missing() {
        assert_eq!(kind(JsonObject::parse(b"  ")), "missing");
    }

    #[test]
    fn a_body_that_is_not_an_object_is_refused() {
        assert_eq!(kind(JsonObject::parse(b"[1, 2]")), "model_attributes_type");
    }

    #[test]
    fn an_object_is_read() {
        let object = JsonObject::parse(br#"{"name": "Acme"}"#).unwrap();
        assert_eq!(object.0["name"], "Acme");
    }
}
