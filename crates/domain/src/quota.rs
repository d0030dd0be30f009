//! Rate limits at work: the fixed windows they count in, and the quotas a call is held to.

use chrono::{DateTime, TimeDelta, Utc};

use crate::error::ValueError;
use crate::ids::Holder;
use crate::role::LimitType;

/// Checks a count of tokens: 0 or more.
///
/// # Errors
/// `greater_than_equal` below 0.
pub fn tokens(count: i64) -> Result<i64, ValueError> {
    if count < 0 {
        return Err(ValueError::new(
            "greater_than_equal",
            "Input should be greater than or equal to 0.",
        ));
    }
    Ok(count)
}

/// The period a rate limit counts over. Windows are fixed and aligned on UTC: a minute starts at
/// second 0, a day at midnight UTC.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Period {
    /// `rpm` and `tpm`.
    Minute,
    /// `rpd` and `tpd`.
    Day,
}

impl Period {
    /// The length of a window, in seconds.
    pub fn seconds(self) -> i64 {
        match self {
            Self::Minute => 60,
            Self::Day => 86_400,
        }
    }

    /// The window of this period that holds `at`.
    pub fn window(self, at: DateTime<Utc>) -> Window {
        let length = self.seconds();
        let start = at.timestamp() - at.timestamp().rem_euclid(length);
        Window {
            start: DateTime::from_timestamp(start, 0).unwrap_or(DateTime::UNIX_EPOCH),
            length: TimeDelta::seconds(length),
        }
    }
}

/// One window of a period: counts in it start from zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    start: DateTime<Utc>,
    length: TimeDelta,
}

impl Window {
    /// When it starts.
    pub fn start(self) -> DateTime<Utc> {
        self.start
    }

    /// When it ends and the next one starts: when its counts reset.
    pub fn end(self) -> DateTime<Utc> {
        self.start + self.length
    }
}

impl LimitType {
    /// The period the limit counts over.
    pub fn period(self) -> Period {
        match self {
            Self::Rpm | Self::Tpm => Period::Minute,
            Self::Rpd | Self::Tpd => Period::Day,
        }
    }

    /// Whether the limit counts tokens (`tpm`, `tpd`) rather than requests.
    pub fn counts_tokens(self) -> bool {
        matches!(self, Self::Tpm | Self::Tpd)
    }
}

/// A rate limit a call is held to: a ceiling on one counter of a user (their role's limit, for all
/// their keys together) or of a project (its own limit, for all its members together).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Quota {
    /// Whose counter it is.
    pub holder: Holder,
    /// What it counts, and over which period.
    pub kind: LimitType,
    /// The most the window may hold.
    pub limit: i64,
}

/// A quota as it stood when a call was decided: what its window holds, and when it resets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QuotaState {
    /// The quota.
    pub quota: Quota,
    /// What the current window holds: with the call for an allowed one, without it otherwise.
    pub used: i64,
    /// When the window ends.
    pub reset: DateTime<Utc>,
}

impl QuotaState {
    /// What the window still admits; never below zero.
    pub fn remaining(&self) -> i64 {
        (self.quota.limit - self.used).max(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn windows_are_fixed_and_aligned_on_utc() {
        let at = Utc.with_ymd_and_hms(2026, 12, 3, 10, 41, 59).unwrap();
        let minute = Period::Minute.window(at);
        assert_eq!(
            minute.start(),
            Utc.with_ymd_and_hms(2026, 12, 3, 10, 41, 0).unwrap()
        );
        assert_eq!(
            minute.end(),
            Utc.with_ymd_and_hms(2026, 12, 3, 10, 42, 0).unwrap()
        );
        let day = Period::Day.window(at);
        assert_eq!(
            day.start(),
            Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap()
        );
        assert_eq!(
            day.end(),
            Utc.with_ymd_and_hms(2026, 12, 4, 0, 0, 0).unwrap()
        );
        // The first second of a window belongs to it, not to the one before.
        let next = Period::Minute.window(minute.end());
        assert_eq!(next.start(), minute.end());
    }

    #[test]
    fn each_limit_type_counts_requests_or_tokens_per_minute_or_per_day() {
        assert_eq!(LimitType::Rpm.period(), Period::Minute);
        assert_eq!(LimitType::Tpm.period(), Period::Minute);
        assert_eq!(LimitType::Rpd.period(), Period::Day);
        assert_eq!(LimitType::Tpd.period(), Period::Day);
        assert!(LimitType::Tpm.counts_tokens() && LimitType::Tpd.counts_tokens());
        assert!(!LimitType::Rpm.counts_tokens() && !LimitType::Rpd.counts_tokens());
    }

    #[test]
    fn remaining_never_goes_below_zero() {
        let quota = Quota {
            holder: Holder::User(crate::UserId(1)),
            kind: LimitType::Tpm,
            limit: 10,
        };
        let state = |used| QuotaState {
            quota,
            used,
            reset: DateTime::UNIX_EPOCH,
        };
        assert_eq!(state(4).remaining(), 6);
        assert_eq!(state(12).remaining(), 0);
    }
}
