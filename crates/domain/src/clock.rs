//! Time: the clock port, so that rules about expiry can be tested at a fixed instant, and expiry
//! dates that are known to lie in the future.

use chrono::{DateTime, Utc};

use crate::error::ValueError;

/// Tells the current time.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait Clock: Send + Sync {
    /// The current instant.
    fn now(&self) -> DateTime<Utc>;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// An expiry instant that was in the future when it was set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Expiry(DateTime<Utc>);

impl Expiry {
    /// Accepts `at` only if it lies strictly after `now`.
    ///
    /// # Errors
    /// `value_error` when `at` is now or in the past.
    pub fn future(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<Self, ValueError> {
        if at > now {
            Ok(Self(at))
        } else {
            Err(ValueError::new(
                "value_error",
                "Expiration timestamp must be in the future.",
            ))
        }
    }

    /// The instant.
    pub fn at(self) -> DateTime<Utc> {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    #[test]
    fn only_instants_after_now_are_future_expiries() {
        let now = Utc::now();
        assert!(Expiry::future(now + TimeDelta::seconds(1), now).is_ok());
        assert_eq!(Expiry::future(now, now).unwrap_err().code, "value_error");
        assert!(Expiry::future(now - TimeDelta::days(1), now).is_err());
    }
}
