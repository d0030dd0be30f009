//! Bearer authentication as extractors: `Authenticated` for any valid key, `Admin` for the
//! `/v1/admin` endpoints.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use gatehouse_application::Principal;
use gatehouse_domain::{DomainError, Permission};

use crate::error::ApiError;
use crate::state::AppState;

/// The caller, authenticated by a bearer key. An expired account still gets here: the use cases
/// refuse it, except reading one's own info.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Principal);

/// An authenticated caller with the `admin` permission and an active account.
///
/// Checked before the body is read, so that a caller without rights learns nothing from
/// validation errors.
#[derive(Debug, Clone)]
pub struct Admin(pub Principal);

/// The credentials of an `Authorization: Bearer <key>` header; anything else is "not
/// authenticated".
fn bearer(request: &HttpRequest) -> Result<String, ApiError> {
    let unauthenticated = || ApiError::Domain(DomainError::Unauthenticated);
    let value = request
        .headers()
        .get(header::AUTHORIZATION)
        .ok_or_else(unauthenticated)?
        .to_str()
        .map_err(|_| unauthenticated())?;
    let (scheme, credentials) = value.split_once(' ').ok_or_else(unauthenticated)?;
    let credentials = credentials.trim();
    if !scheme.eq_ignore_ascii_case("bearer") || credentials.is_empty() {
        return Err(unauthenticated());
    }
    Ok(credentials.to_owned())
}

fn state(request: &HttpRequest) -> Result<web::Data<AppState>, ApiError> {
    request
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::Domain(DomainError::unexpected("application state is missing")))
}

impl FromRequest for Authenticated {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let found = bearer(request).and_then(|key| Ok((key, state(request)?)));
        Box::pin(async move {
            let (key, state) = found?;
            Ok(Self(state.auth.authenticate(&key).await?))
        })
    }
}

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ApiError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let authenticated = Authenticated::from_request(request, payload);
        let state = state(request);
        Box::pin(async move {
            let Authenticated(principal) = authenticated.await?;
            principal.require(Permission::Admin, state?.clock.now())?;
            Ok(Self(principal))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn credentials(header: Option<&str>) -> Result<String, ApiError> {
        let mut request = TestRequest::default();
        if let Some(value) = header {
            request = request.insert_header((header::AUTHORIZATION, value));
        }
        bearer(&request.to_http_request())
    }

    #[test]
    fn a_bearer_header_gives_its_credentials() {
        assert_eq!(credentials(Some("Bearer sk-abc")).unwrap(), "sk-abc");
        assert_eq!(credentials(Some("bearer  sk-abc ")).unwrap(), "sk-abc");
    }

    #[test]
    fn missing_header_other_scheme_or_empty_credentials_are_not_authenticated() {
        for header in [
            None,
            Some("Basic dXNlcjpwYXNz"),
            Some("Bearer"),
            Some("Bearer   "),
            Some("sk-abc"),
        ] {
            assert!(
                matches!(
                    credentials(header),
                    Err(ApiError::Domain(DomainError::Unauthenticated))
                ),
                "{header:?}"
            );
        }
    }
}
