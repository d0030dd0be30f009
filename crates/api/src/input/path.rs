//! Integer ids in the path.

use std::future::{Ready, ready};

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use gatehouse_domain::ValueError;

use crate::error::{ApiError, FieldError, LocPart};

/// The integer id of the route's single path parameter (`/organizations/{organization}`).
///
/// Anything that is not a 64-bit integer is 422 located at `["path", name]`; a well-formed id that
/// matches nothing is left to the handler (404).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathId(pub i64);

/// The integer ids of a route's two path parameters, in route order
/// (`/projects/{project}/members/{user}`); every one that is not an integer is reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PathIds(pub i64, pub i64);

/// Every path parameter as an integer, in route order.
fn read_ids(request: &HttpRequest) -> Result<Vec<i64>, ApiError> {
    let mut ids = Vec::new();
    let mut errors = Vec::new();
    for (name, raw) in request.match_info().iter() {
        match raw.parse() {
            Ok(id) => ids.push(id),
            Err(_) => errors.push(FieldError::new(
                vec![LocPart::from("path"), LocPart::from(name)],
                ValueError::new(
                    "int_parsing",
                    "Input should be a valid integer, unable to parse string as an integer",
                ),
            )),
        }
    }
    if errors.is_empty() {
        Ok(ids)
    } else {
        Err(ApiError::Invalid(errors))
    }
}

fn missing_parameter() -> ApiError {
    ApiError::Domain(gatehouse_domain::DomainError::unexpected(
        "route has fewer path parameters than its extractor reads",
    ))
}

impl FromRequest for PathId {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(read_ids(request).and_then(|ids| match ids[..] {
            [id, ..] => Ok(Self(id)),
            [] => Err(missing_parameter()),
        }))
    }
}

impl FromRequest for PathIds {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        ready(read_ids(request).and_then(|ids| match ids[..] {
            [first, second, ..] => Ok(Self(first, second)),
            _ => Err(missing_parameter()),
        }))
    }
}
