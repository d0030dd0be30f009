//! Bearer authentication as extractors: `Authenticated` for any valid key, `Admin` for the
//! `/v1/admin` endpoints, `Gateway` for the gateway's access decisions and usage reports. Each
//! reads the rest of the request only once the caller is let in.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::header;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use gatehouse_application::Principal;
use gatehouse_domain::{DomainError, Permission};

use crate::error::ApiError;
use crate::origin::origin_of;
use crate::state::AppState;

/// What the extractors' futures resolve to.
type Extraction<T> = Pin<Box<dyn Future<Output = Result<T, actix_web::Error>>>>;

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

/// Authenticates the caller, applies `check` to them, and only then extracts `T` from the request
/// and its payload.
fn extract_after<T>(
    request: &HttpRequest,
    payload: &mut Payload,
    check: fn(&Principal, &AppState) -> Result<(), DomainError>,
) -> Extraction<(Principal, T)>
where
    T: FromRequest + 'static,
    T::Error: Into<actix_web::Error>,
{
    let request = request.clone();
    let mut payload = payload.take();
    Box::pin(async move {
        let key = bearer(&request)?;
        let state = state(&request)?;
        let mut principal = state
            .auth
            .authenticate(&key)
            .await
            .map_err(ApiError::from)?;
        principal.origin = origin_of(&request, &state.trusted_proxies);
        check(&principal, &state).map_err(ApiError::from)?;
        let rest = T::from_request(&request, &mut payload)
            .await
            .map_err(Into::into)?;
        Ok((principal, rest))
    })
}

/// Declares an extractor of an authenticated caller who passes `$check`, a
/// `fn(&Principal, &AppState) -> Result<(), DomainError>`, then `T`; `$name => $permission`
/// checks that the caller holds `$permission` with an active account. The check runs before `T`
/// is extracted, so that a caller without rights learns nothing from validation errors.
macro_rules! extractor {
    ($(#[$doc:meta])* $name:ident => $permission:expr) => {
        extractor!($(#[$doc])* $name, |principal, state| {
            principal.require($permission, state.clock.now()).map(drop)
        });
    };
    ($(#[$doc:meta])* $name:ident, $check:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $name<T = ()>(pub Principal, pub T);

        impl<T> FromRequest for $name<T>
        where
            T: FromRequest + 'static,
            T::Error: Into<actix_web::Error>,
        {
            type Error = actix_web::Error;
            type Future = Extraction<Self>;

            fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
                let extracted = extract_after::<T>(request, payload, $check);
                Box::pin(async move {
                    let (principal, rest) = extracted.await?;
                    Ok(Self(principal, rest))
                })
            }
        }
    };
}

extractor!(
    /// The caller, authenticated by a bearer key, then `T`: what the handler reads from the rest
    /// of the request (path id, query, body).
    ///
    /// `T` is extracted only once the caller is authenticated. actix-web polls a handler's
    /// extractors together, so a separate body extractor could answer 422 before the key lookup
    /// answers 401. An expired account still gets here: the use cases refuse it, except reading
    /// one's own info.
    Authenticated, |_, _| Ok(())
);

extractor!(
    /// A caller with the `admin` permission (never under a project-bound key), then `T`.
    Admin => Permission::Admin
);

extractor!(
    /// A caller with the `gateway` permission (never under a project-bound key): a gateway asking
    /// about its own clients' keys, then `T`.
    Gateway => Permission::Gateway
);

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
