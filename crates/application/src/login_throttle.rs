//! The rule that throttles failed logins: how many failures an email and a client address may
//! have within a window, and how long a throttled caller must wait.
//!
//! It lives here, with the login use case, rather than in an HTTP handler, so that every way in
//! (the API, a web console) is throttled alike.

use std::num::NonZeroU32;

use gatehouse_domain::chrono::TimeDelta;
use gatehouse_domain::{DateTime, FailureWindow, ThrottleKey, Utc};

/// How long a window of failures lasts, from its first failure (a fixed window: failures within
/// it do not extend it).
pub const FAILURE_WINDOW: TimeDelta = TimeDelta::minutes(15);

/// How many failed logins are allowed within [`FAILURE_WINDOW`] before every login of the same
/// email, or from the same client address, is refused until the window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoginLimits {
    /// Failures for one email, known or not, in any letter case.
    pub per_email: NonZeroU32,
    /// Failures from one client address, whatever the emails: guessing across many emails from
    /// one place is throttled too.
    pub per_address: NonZeroU32,
}

impl LoginLimits {
    /// The default of [`LoginLimits::per_email`].
    pub const DEFAULT_PER_EMAIL: u32 = 5;
    /// The default of [`LoginLimits::per_address`].
    pub const DEFAULT_PER_ADDRESS: u32 = 50;

    /// The failures allowed under `key`.
    fn of(self, key: &ThrottleKey) -> NonZeroU32 {
        match key {
            ThrottleKey::Email(_) => self.per_email,
            ThrottleKey::Address(_) => self.per_address,
        }
    }

    /// The whole seconds a login must wait at `now`, given the `windows` of its email and
    /// address: until the last of the full windows ends, at least 1; `None` when none is full.
    /// A window is open while it started less than [`FAILURE_WINDOW`] ago.
    pub fn wait(self, windows: &[FailureWindow], now: DateTime<Utc>) -> Option<u64> {
        windows
            .iter()
            .filter(|window| window.failures >= self.of(&window.key).get())
            .map(|window| window.start + FAILURE_WINDOW - now)
            .filter(|left| *left > TimeDelta::zero())
            .map(|left| whole_seconds(left.min(FAILURE_WINDOW)))
            .max()
    }
}

/// `left` in whole seconds, rounded up: a client that waits that long finds the window over.
fn whole_seconds(left: TimeDelta) -> u64 {
    let millis = u64::try_from(left.num_milliseconds()).unwrap_or(0);
    millis.div_ceil(1000).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::now;
    use std::net::{IpAddr, Ipv4Addr};

    fn limits(per_email: u32, per_address: u32) -> LoginLimits {
        LoginLimits {
            per_email: NonZeroU32::new(per_email).unwrap(),
            per_address: NonZeroU32::new(per_address).unwrap(),
        }
    }

    fn window(key: ThrottleKey, started: TimeDelta, failures: u32) -> FailureWindow {
        FailureWindow {
            key,
            start: now() - started,
            failures,
        }
    }

    fn email() -> ThrottleKey {
        ThrottleKey::email("ada@example.com")
    }

    fn address() -> ThrottleKey {
        ThrottleKey::address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7)))
    }

    #[test]
    fn a_window_below_its_limit_makes_no_one_wait() {
        let windows = [
            window(email(), TimeDelta::minutes(1), 4),
            window(address(), TimeDelta::minutes(1), 49),
        ];
        assert_eq!(limits(5, 50).wait(&windows, now()), None);
    }

    #[test]
    fn a_full_window_makes_logins_wait_until_it_ends() {
        let windows = [window(email(), TimeDelta::minutes(5), 5)];
        assert_eq!(limits(5, 50).wait(&windows, now()), Some(600));
        let windows = [window(address(), TimeDelta::minutes(14), 50)];
        assert_eq!(limits(5, 50).wait(&windows, now()), Some(60));
    }

    #[test]
    fn each_key_has_its_own_limit() {
        let windows = [window(address(), TimeDelta::minutes(1), 5)];
        assert_eq!(limits(5, 50).wait(&windows, now()), None);
        let windows = [window(email(), TimeDelta::minutes(1), 5)];
        assert_eq!(limits(50, 5).wait(&windows, now()), None);
    }

    #[test]
    fn with_both_full_the_later_end_counts() {
        let windows = [
            window(email(), TimeDelta::minutes(10), 5),
            window(address(), TimeDelta::minutes(2), 50),
        ];
        assert_eq!(limits(5, 50).wait(&windows, now()), Some(13 * 60));
    }

    #[test]
    fn the_wait_is_rounded_up_to_a_whole_second_and_never_zero() {
        let windows = [window(
            email(),
            FAILURE_WINDOW - TimeDelta::milliseconds(1),
            5,
        )];
        assert_eq!(limits(5, 50).wait(&windows, now()), Some(1));
        let windows = [window(
            email(),
            FAILURE_WINDOW - TimeDelta::milliseconds(1_001),
            5,
        )];
        assert_eq!(limits(5, 50).wait(&windows, now()), Some(2));
    }

    #[test]
    fn a_window_that_ended_makes_no_one_wait() {
        let windows = [window(email(), FAILURE_WINDOW, 500)];
        assert_eq!(limits(5, 50).wait(&windows, now()), None);
    }

    #[test]
    fn a_window_said_to_start_in_the_future_waits_one_window_at_most() {
        // Another instance's clock may run ahead of this one's.
        let windows = [window(email(), -TimeDelta::minutes(30), 5)];
        assert_eq!(limits(5, 50).wait(&windows, now()), Some(15 * 60));
    }
}
