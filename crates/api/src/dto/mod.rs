//! Request and response bodies, as OpenGateLLM's clients send and read them.

pub mod api_keys;
pub mod list;
pub mod organizations;
pub mod roles;
pub mod users;

pub use list::ListResponse;

use gatehouse_domain::{DateTime, Utc};

/// Unix seconds, the contract's timestamp format.
pub(crate) fn unix(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

/// Reads Unix seconds; out of the representable range is a value error.
pub(crate) fn from_unix(seconds: i64) -> Result<DateTime<Utc>, gatehouse_domain::ValueError> {
    DateTime::from_timestamp(seconds, 0).ok_or_else(|| {
        gatehouse_domain::ValueError::new("value_error", "Timestamp is out of range.")
    })
}
