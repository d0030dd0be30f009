//! Integer ids in the path.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use gatehouse_domain::ValueError;

use crate::error::{ApiError, LocPart};

/// The integer id of the route's single path parameter (`/organizations/{organization}`).
///
/// Anything that is not a 64-bit integer is 422 located at `["path", name]`; a well-formed id that
/// matches nothing is left to the handler (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub i64);

impl PathId {
    fn read(request: &HttpRequest) -> Result<Self, ApiError> {
        let (name, raw) = request.match_info().iter().next().ok_or_else(|| {
            ApiError::Domain(gatehouse_domain::DomainError::unexpected(
                "route has no path parameter",
            ))
        })?;
        raw.parse().map(Self).map_err(|_| {
            ApiError::invalid(
                vec![LocPart::from("path"), LocPart::from(name)],
                ValueError::new(
                    "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer",
                ),
            )
        })
    }
}

impl FromRequest for PathId {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(Self::read(request))
    }
}
