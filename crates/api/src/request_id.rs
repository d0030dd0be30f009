//! `X-Request-Id`: the name of one request in the logs (and, later, in audit events), taken from
//! the client when it gave a usable one, made up otherwise, and returned on every answer.

use std::convert::Infallible;
use std::future::{Ready, ready};

use actix_web::body::MessageBody;
use actix_web::dev::{Payload, ServiceRequest, ServiceResponse};
use actix_web::error::InternalError;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{FromRequest, HttpMessage, HttpRequest};
use gatehouse_domain::RequestId;

/// The header that carries the id, both ways.
pub const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The id of the request being served. A handler takes it as an argument (it is an extractor);
/// [`assign`] gives every request one before anything else runs.
///
/// The rules of a client's id are those of the gateway's request ids, [`RequestId::parse`]: 1 to
/// 128 characters of `[A-Za-z0-9._:-]`, safe in a header and a log line as they are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XRequestId(pub RequestId);

impl XRequestId {
    /// The client's id in `headers`, when there is exactly one and it is valid; a new one
    /// ([`RequestId::generate`]) otherwise. An invalid id is replaced rather than refused: the
    /// request is still served, and its logs still have a name.
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let mut given = headers.get_all(X_REQUEST_ID);
        let id = match (given.next(), given.next()) {
            (Some(value), None) => value
                .to_str()
                .ok()
                .and_then(|raw| RequestId::parse(raw).ok()),
            _ => None,
        };
        Self(id.unwrap_or_else(RequestId::generate))
    }

    /// The id [`assign`] gave `request`; one made up now (and kept for the rest of the request)
    /// if it went around that middleware, so that every reader of one request sees one id.
    pub fn of(request: &HttpRequest) -> Self {
        if let Some(id) = request.extensions().get::<Self>() {
            return id.clone();
        }
        let id = Self(RequestId::generate());
        request.extensions_mut().insert(id.clone());
        id
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }
}

impl FromRequest for XRequestId {
    type Error = Infallible;
    type Future = Ready<Result<Self, Infallible>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Ok(Self::of(request)))
    }
}

/// Middleware, the outermost one: names the request (see [`XRequestId::from_headers`]) for
/// everything inside it, the log span included, and returns the name in `X-Request-Id` on the
/// answer, whatever the answer is.
///
/// The errors of handlers and extractors are answers by the time they get here. An error that a
/// middleware inside returns instead goes on as an error whose answer is its own answer with the
/// header (the request, needed to make an answer here, is gone with the call: a clone of it kept
/// across the call would stop the router from writing the path's parameters into it).
pub async fn assign(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let id = XRequestId::from_headers(request.headers());
    // A valid id is always a valid header value: visible ASCII only.
    let value = HeaderValue::from_str(id.as_str()).ok();
    request.extensions_mut().insert(id);
    match next.call(request).await {
        Ok(mut response) => {
            if let Some(value) = value {
                response.headers_mut().insert(X_REQUEST_ID, value);
            }
            Ok(response)
        }
        Err(error) => {
            let mut answer = error.error_response();
            if let Some(value) = value {
                answer.headers_mut().insert(X_REQUEST_ID, value);
            }
            Err(InternalError::from_response(error, answer).into())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn id_of(values: &[&str]) -> XRequestId {
        let mut request = TestRequest::default();
        for value in values {
            request = request.append_header((X_REQUEST_ID, *value));
        }
        XRequestId::from_headers(request.to_http_request().headers())
    }

    #[test]
    fn a_valid_id_is_kept_as_it_is() {
        for id in ["a", "call-42:retry.1_A", &"x".repeat(128)] {
            assert_eq!(id_of(&[id]).as_str(), id);
        }
    }

    #[test]
    fn a_missing_invalid_or_repeated_id_is_replaced_by_a_new_one() {
        let too_long = "x".repeat(129);
        for values in [
            &[][..],
            &[""],
            &[too_long.as_str()],
            &["a b"],
            &["a/b"],
            &["a,b"],
            &["one", "two"],
        ] {
            let id = id_of(values);
            assert!(!values.contains(&id.as_str()), "{values:?} kept");
            assert_eq!(id.as_str().len(), 36, "{values:?}: {id:?}");
        }
        assert_ne!(id_of(&[]), id_of(&[]));
    }

    /// An app whose one route answers the id its handler was given, inside `assign`; with
    /// `failing`, a middleware between them returns an error instead of calling the route.
    async fn app(
        failing: bool,
    ) -> impl actix_web::dev::Service<
        actix_http::Request,
        Response = ServiceResponse<impl MessageBody>,
        Error = actix_web::Error,
    > {
        use actix_web::middleware::{Condition, from_fn};
        use actix_web::{App, web};

        async fn fail(
            _: ServiceRequest,
            _: Next<impl MessageBody>,
        ) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
            Err::<ServiceResponse, _>(actix_web::error::ErrorServiceUnavailable("down"))
        }
        actix_web::test::init_service(
            App::new()
                .wrap(Condition::new(failing, from_fn(fail)))
                .wrap(from_fn(assign))
                .route(
                    "/",
                    web::get().to(|id: XRequestId| async move { id.as_str().to_owned() }),
                ),
        )
        .await
    }

    #[actix_web::test]
    async fn the_answer_carries_the_id_the_handler_was_given() {
        let app = app(false).await;
        let request = TestRequest::get()
            .insert_header((X_REQUEST_ID, "given-1"))
            .to_request();
        let response = actix_web::test::call_service(&app, request).await;
        assert_eq!(response.headers().get(X_REQUEST_ID).unwrap(), "given-1");
        let body = actix_web::test::read_body(response).await;
        assert_eq!(body, "given-1");

        let response = actix_web::test::call_service(&app, TestRequest::get().to_request()).await;
        let made_up = response.headers().get(X_REQUEST_ID).unwrap().clone();
        let body = actix_web::test::read_body(response).await;
        assert_eq!(body, made_up.as_bytes());
    }

    #[actix_web::test]
    async fn an_error_from_a_middleware_inside_answers_with_the_id_too() {
        let app = app(true).await;
        let request = TestRequest::get()
            .insert_header((X_REQUEST_ID, "given-2"))
            .to_request();
        let error = actix_web::test::try_call_service(&app, request)
            .await
            .err()
            .unwrap();
        let answer = error.error_response();
        assert_eq!(answer.status(), 503);
        assert_eq!(answer.headers().get(X_REQUEST_ID).unwrap(), "given-2");
    }

    #[test]
    fn one_request_keeps_one_id() {
        let request = TestRequest::default().to_http_request();
        assert_eq!(XRequestId::of(&request), XRequestId::of(&request));
    }
}
