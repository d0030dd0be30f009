//! Failed logins, counted so that guessing passwords is throttled: what a failure is counted
//! under, and the port that keeps the counts where every instance of the service sees them.

use std::fmt;
use std::net::IpAddr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::NewAuditEvent;
use crate::error::DomainError;

/// What failed logins are counted under: the email tried, or the client address they came from.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ThrottleKey {
    /// An email as typed at login, known or not, in lower case: the count is the same in any
    /// letter case, as the lookup of the account is.
    Email(String),
    /// A client address; an IPv4 address mapped into IPv6 counts as the IPv4 address.
    Address(IpAddr),
}

impl ThrottleKey {
    /// The key of `email`, whatever its letter case.
    pub fn email(email: &str) -> Self {
        Self::Email(email.to_lowercase())
    }

    /// The key of the client address `address`.
    pub fn address(address: IpAddr) -> Self {
        Self::Address(address.to_canonical())
    }
}

impl fmt::Display for ThrottleKey {
    /// `email:<lower case email>` or `addr:<address>`: one text per key, for storage.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Email(email) => write!(f, "email:{email}"),
            Self::Address(address) => write!(f, "addr:{address}"),
        }
    }
}

/// The failures counted under one key since its window started.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FailureWindow {
    /// What the failures are counted under.
    pub key: ThrottleKey,
    /// When the first failure of the window happened.
    pub start: DateTime<Utc>,
    /// How many failures the window holds, at least one.
    pub failures: u32,
}

/// Keeps the counts of failed logins, shared by every instance that serves one database. The
/// rule (how many failures, how long a window lasts) is the caller's: the port only counts.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait LoginFailures: Send + Sync {
    /// The windows of `keys` that started after `since`, that is the windows still open; a key
    /// with no such window is left out.
    ///
    /// # Errors
    /// `Unavailable` when the storage cannot be reached.
    async fn open_windows(
        &self,
        keys: Vec<ThrottleKey>,
        since: DateTime<Utc>,
    ) -> Result<Vec<FailureWindow>, DomainError>;

    /// Counts one failure at `now` under each of `keys`: in the key's window if it started after
    /// `since`, otherwise in a new window starting at `now`. Each count is one atomic step, so
    /// that concurrent failures all count. An adapter may forget, at the same time, a few windows
    /// of other keys that started at or before `since`: they count for nothing any more.
    /// `event`, the failure's audit event, is written in the same transaction as the counts.
    ///
    /// # Errors
    /// `Unavailable` when the storage cannot be reached.
    async fn record(
        &self,
        keys: Vec<ThrottleKey>,
        now: DateTime<Utc>,
        since: DateTime<Utc>,
        event: NewAuditEvent,
    ) -> Result<(), DomainError>;

    /// Forgets the failures counted under `key`.
    ///
    /// # Errors
    /// `Unavailable` when the storage cannot be reached.
    async fn clear(&self, key: ThrottleKey) -> Result<(), DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{Ipv4Addr, Ipv6Addr};

    #[test]
    fn an_email_is_one_key_in_any_letter_case() {
        assert_eq!(
            ThrottleKey::email("Ada@Example.COM"),
            ThrottleKey::email("ada@example.com")
        );
        assert_eq!(ThrottleKey::email("MASTER").to_string(), "email:master");
    }

    #[test]
    fn an_ipv4_address_mapped_into_ipv6_is_the_ipv4_address() {
        let v4 = IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7));
        let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 7).to_ipv6_mapped());
        assert_eq!(ThrottleKey::address(mapped), ThrottleKey::address(v4));
        assert_eq!(ThrottleKey::address(v4).to_string(), "addr:192.0.2.7");
        assert_eq!(
            ThrottleKey::address(IpAddr::V6(Ipv6Addr::LOCALHOST)).to_string(),
            "addr:::1"
        );
    }

    #[test]
    fn an_email_and_an_address_never_share_a_key() {
        assert_ne!(
            ThrottleKey::email("192.0.2.7").to_string(),
            ThrottleKey::address(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))).to_string()
        );
    }
}
