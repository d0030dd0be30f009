//! Request and response bodies, as OpenGateLLM's clients send and read them.

pub mod account;
pub mod api_keys;
pub mod audit;
pub mod gateway;
pub mod list;
pub mod login;
pub mod money;
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

/// A query parameter in Unix seconds (`from`, `to`), from the Unix epoch on: nothing Gatehouse
/// records is older, and PostgreSQL cannot hold the earliest times chrono can.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UnixTime(pub DateTime<Utc>);

impl std::str::FromStr for UnixTime {
    type Err = gatehouse_domain::ValueError;

    fn from_str(raw: &str) -> Result<Self, Self::Err> {
        let seconds = raw.parse::<i64>().map_err(|_| {
            gatehouse_domain::ValueError::new(
                "int_parsing",
                "Input should be a valid integer, unable to parse string as an integer",
            )
        })?;
        if seconds < 0 {
            return Err(gatehouse_domain::ValueError::new(
                "greater_than_equal",
                "Input should be greater than or equal to 0.",
            ));
        }
        from_unix(seconds).map(Self)
    }
}
