//! Password hashing with Argon2id, off the async workers.

use std::fmt;
use std::sync::Arc;

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, SaltString};
use argon2::{Algorithm, Argon2, Params, PasswordHasher as _, PasswordVerifier as _, Version};
use async_trait::async_trait;
use gatehouse_domain::{DomainError, Password, PasswordHash, PasswordHasher, Secret};
use tokio::sync::Semaphore;

use crate::blocking::spawn_blocking_in_span;

/// Argon2id with OWASP's minimum parameters (19 MiB of memory, 2 passes, 1 lane), a random salt per
/// password, and hashes stored as PHC strings (`$argon2id$v=19$m=19456,t=2,p=1$...`), which carry
/// their own parameters so that stronger ones can be adopted later without breaking old hashes.
#[derive(Clone)]
pub struct Argon2PasswordHasher {
    argon2: Argon2<'static>,
    /// Verified against when there is no real hash, so that unknown accounts take as long.
    dummy: Arc<str>,
    /// One permit per core: hashing is CPU-bound and takes 19 MiB each, so more at once would only
    /// add memory (and give a flood of logins a way to exhaust it). Callers wait asynchronously.
    permits: Arc<Semaphore>,
}

impl Argon2PasswordHasher {
    /// Memory cost in KiB (OWASP: 19 MiB).
    pub const MEMORY_KIB: u32 = 19_456;
    /// Number of passes (OWASP: 2).
    pub const ITERATIONS: u32 = 2;
    /// Degree of parallelism (OWASP: 1).
    pub const PARALLELISM: u32 = 1;

    /// A hasher with OWASP's parameters.
    ///
    /// Computes the dummy hash at once, which takes a few tens of milliseconds: build it at
    /// start-up, not on an async worker.
    pub fn new() -> Result<Self, DomainError> {
        let params = Params::new(Self::MEMORY_KIB, Self::ITERATIONS, Self::PARALLELISM, None)
            .map_err(DomainError::unexpected)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let dummy = hash_password(&argon2, "gatehouse dummy password")?;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        Ok(Self {
            argon2,
            dummy: dummy.into(),
            permits: Arc::new(Semaphore::new(cores)),
        })
    }
}

impl fmt::Debug for Argon2PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2PasswordHasher")
            .field("params", self.argon2.params())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl PasswordHasher for Argon2PasswordHasher {
    async fn hash(&self, password: Password) -> Result<PasswordHash, DomainError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(DomainError::unexpected)?;
        let argon2 = self.argon2.clone();
        spawn_blocking_in_span(move || {
            hash_password(&argon2, password.expose()).map(PasswordHash::new)
        })
        .await
    }

    async fn verify(
        &self,
        candidate: Secret,
        hash: Option<PasswordHash>,
    ) -> Result<bool, DomainError> {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(DomainError::unexpected)?;
        let argon2 = self.argon2.clone();
        let dummy = Arc::clone(&self.dummy);
        spawn_blocking_in_span(move || match hash {
            Some(hash) => verify_password(&argon2, candidate.expose(), hash.as_str()),
            None => {
                // Spend the time of a real verification; the answer is no whatever it finds.
                verify_password(&argon2, candidate.expose(), &dummy).map(|_| false)
            }
        })
        .await
    }
}

fn hash_password(argon2: &Argon2<'_>, password: &str) -> Result<String, DomainError> {
    let salt = SaltString::generate(&mut OsRng);
    argon2
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(DomainError::unexpected)
}

fn verify_password(argon2: &Argon2<'_>, candidate: &str, phc: &str) -> Result<bool, DomainError> {
    let hash = password_hash::PasswordHash::new(phc).map_err(DomainError::unexpected)?;
    match argon2.verify_password(candidate.as_bytes(), &hash) {
        Ok(()) => Ok(true),
        Err(password_hash::Error::Password) => Ok(false),
        Err(error) => Err(DomainError::unexpected(error)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn password(raw: &str) -> Password {
        Password::new(raw).unwrap()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_owasp_parameters() {
        let hasher = Argon2PasswordHasher::new().unwrap();
        let hash = hasher.hash(password("correct horse")).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "unexpected PHC prefix"
        );
    }

    #[tokio::test]
    async fn the_right_password_verifies_and_a_wrong_one_does_not() {
        let hasher = Argon2PasswordHasher::new().unwrap();
        let hash = hasher.hash(password("correct horse")).await.unwrap();
        let right = hasher
            .verify(Secret::new("correct horse"), Some(hash.clone()))
            .await;
        assert!(right.unwrap());
        let wrong = hasher
            .verify(Secret::new("battery staple"), Some(hash))
            .await;
        assert!(!wrong.unwrap());
    }

    #[tokio::test]
    async fn the_same_password_hashes_differently_each_time() {
        let hasher = Argon2PasswordHasher::new().unwrap();
        let first = hasher.hash(password("correct horse")).await.unwrap();
        let second = hasher.hash(password("correct horse")).await.unwrap();
        assert_ne!(first, second);
    }

    #[tokio::test]
    async fn without_a_hash_nothing_verifies_not_even_the_dummy_password() {
        let hasher = Argon2PasswordHasher::new().unwrap();
        for candidate in ["", "correct horse", "gatehouse dummy password"] {
            let verified = hasher.verify(Secret::new(candidate), None).await;
            assert!(!verified.unwrap(), "{candidate:?} verified");
        }
    }

    #[tokio::test]
    async fn an_unparsable_stored_hash_is_unexpected() {
        let hasher = Argon2PasswordHasher::new().unwrap();
        let result = hasher
            .verify(
                Secret::new("correct horse"),
                Some(PasswordHash::new("not a phc string")),
            )
            .await;
        assert!(matches!(result, Err(DomainError::Unexpected(_))));
    }

    #[test]
    fn debug_output_shows_the_parameters_but_no_hash() {
        let hasher = Argon2PasswordHasher::new().unwrap();
        let debug = format!("{hasher:?}");
        assert!(debug.contains("19456"), "{debug}");
        assert!(!debug.contains("$argon2id$"), "{debug}");
    }
}
