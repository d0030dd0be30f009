//! Request and response bodies, as OpenGateLLM's clients send and read them.

pub mod account;
pub mod api_keys;
pub mod list;
pub mod login;
pub mod organizations;
pub mod projects;
pub mod roles;
pub mod schema;
pub mod users;

pub use list::ListResponse;

use gatehouse_domain::{DateTime, Utc};

/// Unix seconds, the contract's timestamp format.
pub(crate) fn unix(at: DateTime<Utc>) -> i64 {
    at.timestamp()
}

/// Reads Unix seconds that must lie after `now`: an expiry. Checked with the other fields, so that
/// a past expiry is reported with them, not after them (the use cases check it again).
pub(crate) fn future_unix(
    seconds: i64,
    now: DateTime<Utc>,
) -> Result<DateTime<Utc>, gatehouse_domain::ValueError> {
    gatehouse_domain::Expiry::future(from_unix(seconds)?, now).map(gatehouse_domain::Expiry::at)
}

/// Reads Unix seconds; out of the representable range is a value error.
fn from_unix(seconds: i64) -> Result<DateTime<Utc>, gatehouse_domain::ValueError> {
    DateTime::from_timestamp(seconds, 0).ok_or_else(|| {
        gatehouse_domain::ValueError::new("value_error", "Timestamp is out of range.")
    })
}
