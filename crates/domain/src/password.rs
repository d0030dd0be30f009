//! Passwords: the policy a new password must meet, its stored hash, and the hasher port.

use std::fmt;

use async_trait::async_trait;

use crate::error::{DomainError, ValueError};
use crate::secret::{Redacted, Secret};

/// A new password that meets the policy: 8 to 128 characters.
///
/// `Debug` is written by hand, not derived, so that it shows no password whatever this holds.
#[derive(Clone, PartialEq, Eq)]
pub struct Password(Secret);

impl Password {
    /// Shortest password accepted, in characters.
    pub const MIN_CHARS: usize = 8;
    /// Longest password accepted, in characters; bounds the cost of hashing it.
    pub const MAX_CHARS: usize = 128;

    /// Checks `raw` against the policy.
    ///
    /// # Errors
    /// `string_too_short` or `string_too_long` outside 8..=128 characters.
    pub fn new(raw: impl Into<String>) -> Result<Self, ValueError> {
        let raw = raw.into();
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(ValueError::new(
                "string_too_short",
                format!(
                    "String should have at least {} characters.",
                    Self::MIN_CHARS
                ),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(ValueError::new(
                "string_too_long",
                format!("String should have at most {} characters.", Self::MAX_CHARS),
            ));
        }
        Ok(Self(Secret::new(raw)))
    }

    /// The password, for the hasher only.
    pub fn expose(&self) -> &str {
        self.0.expose()
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Password").field(&Redacted).finish()
    }
}

/// A password hash in PHC string format (`$argon2id$...`), the only form a password is stored in.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string read from storage or produced by a [`PasswordHasher`].
    pub fn new(phc: impl Into<String>) -> Self {
        Self(phc.into())
    }

    /// The PHC string, for storage and verification only.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PasswordHash").field(&Redacted).finish()
    }
}

/// Hashes and verifies passwords. Hashing is deliberately slow: adapters run it off the async
/// workers.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PasswordHasher: Send + Sync {
    /// Hashes a new password with a fresh random salt.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::Unexpected`] if hashing fails.
    async fn hash(&self, password: Password) -> Result<PasswordHash, DomainError>;

    /// Whether `candidate` matches `hash`.
    ///
    /// With `hash` `None` (unknown account, or an account without a password) an adapter MUST still
    /// spend the time of a real verification, against a dummy hash, and answer `false`, so that
    /// response times do not tell which accounts exist.
    ///
    /// # Errors
    /// An adapter MUST answer `Ok(false)` for a wrong password and return
    /// [`DomainError::Unexpected`] only if the stored hash cannot be parsed or verification fails.
    async fn verify(
        &self,
        candidate: Secret,
        hash: Option<PasswordHash>,
    ) -> Result<bool, DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_of_8_to_128_characters_are_accepted() {
        assert!(Password::new("a".repeat(8)).is_ok());
        assert!(Password::new("ü".repeat(128)).is_ok());
    }

    #[test]
    fn shorter_or_longer_passwords_are_refused() {
        assert_eq!(
            Password::new("a".repeat(7)).unwrap_err().code,
            "string_too_short"
        );
        assert_eq!(
            Password::new("a".repeat(129)).unwrap_err().code,
            "string_too_long"
        );
    }

    #[test]
    fn neither_a_password_nor_its_hash_shows_in_debug_output() {
        let password = Password::new("correct horse").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
        let hash = PasswordHash::new("$argon2id$v=19$secret");
        assert!(!format!("{hash:?}").contains("argon2id"));
    }
}
