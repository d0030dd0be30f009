//! Password hashing with Argon2id, off the async workers.

use std::fmt;
use std::sync::{Arc, Mutex, PoisonError};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use gatehouse_domain::{DomainError, Password, PasswordHash, PasswordHasher, Secret};
use tokio::sync::Semaphore;

use crate::blocking::spawn_blocking_in_span;

/// Argon2id with one of OWASP's recommended parameter sets (12 MiB of memory, 3 passes, 1 lane), a
/// random salt per password, and hashes stored as PHC strings (`$argon2id$v=19$m=12288,t=3,p=1$...`),
/// which carry their own parameters: hashes made with other parameters (such as OWASP's 19 MiB,
/// 2 passes) still verify.
///
/// Hashing is CPU- and memory-bound, so it runs on the blocking pool, one computation per permit,
/// in memory allocated once per permit and reused: a flood of logins can neither take every core
/// from the requests that only read, nor make the process grow.
#[derive(Clone)]
pub struct Argon2PasswordHasher {
    argon2: Argon2<'static>,
    /// Verified against when there is no real hash, so that unknown accounts take as long.
    dummy: Arc<str>,
    /// How many computations may run at once: one core is left to everything else.
    permits: Arc<Semaphore>,
    /// The memory of the computations, one buffer per permit, reused.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

impl Argon2PasswordHasher {
    /// Memory cost in KiB (OWASP: 12 MiB with 3 passes).
    pub const MEMORY_KIB: u32 = 12_288;
    /// Number of passes (OWASP: 3 with 12 MiB).
    pub const ITERATIONS: u32 = 3;
    /// Degree of parallelism (OWASP: 1).
    pub const PARALLELISM: u32 = 1;

    /// A hasher with OWASP's parameters, running one computation at a time per core but one.
    ///
    /// Computes the dummy hash at once, which takes a few tens of milliseconds: build it at
    /// start-up, not on an async worker.
    pub fn new() -> Result<Self, DomainError> {
        let params = Params::new(Self::MEMORY_KIB, Self::ITERATIONS, Self::PARALLELISM, None)
            .map_err(DomainError::unexpected)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut memory = Vec::new();
        let dummy = hash_password(&argon2, "gatehouse dummy password", &mut memory)?;
        let cores = std::thread::available_parallelism().map_or(1, std::num::NonZeroUsize::get);
        let permits = cores.saturating_sub(1).max(1);
        Ok(Self {
            argon2,
            dummy: dummy.into(),
            permits: Arc::new(Semaphore::new(permits)),
            memory: Arc::new(Mutex::new(vec![memory])),
        })
    }

    /// Runs `work` on the blocking pool with a permit and a reused memory buffer.
    async fn compute<T, F>(&self, work: F) -> Result<T, DomainError>
    where
        F: FnOnce(&Argon2<'static>, &mut Vec<Block>) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(DomainError::unexpected)?;
        let argon2 = self.argon2.clone();
        let pool = Arc::clone(&self.memory);
        spawn_blocking_in_span(move || {
            let mut memory = pool
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .pop()
                .unwrap_or_default();
            let result = work(&argon2, &mut memory);
            // A hash made with more memory than ours grew the buffer: give the excess back.
            let ours = argon2.params().block_count();
            if memory.len() > ours {
                memory.truncate(ours);
                memory.shrink_to_fit();
            }
            pool.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(memory);
            result
        })
        .await
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
        self.compute(move |argon2, memory| {
            hash_password(argon2, password.expose(), memory).map(PasswordHash::new)
        })
        .await
    }

    async fn verify(
        &self,
        candidate: Secret,
        hash: Option<PasswordHash>,
    ) -> Result<bool, DomainError> {
        let dummy = Arc::clone(&self.dummy);
        self.compute(move |_, memory| match hash {
            Some(hash) => verify_password(candidate.expose(), hash.as_str(), memory),
            None => {
                // Spend the time of a real verification; the answer is no whatever it finds.
                verify_password(candidate.expose(), &dummy, memory).map(|_| false)
            }
        })
        .await
    }
}

/// `memory` with room for at least `blocks` blocks.
fn blocks(memory: &mut Vec<Block>, blocks: usize) -> &mut [Block] {
    if memory.len() < blocks {
        memory.resize(blocks, Block::default());
    }
    &mut memory[..blocks]
}

fn hash_password(
    argon2: &Argon2<'_>,
    password: &str,
    memory: &mut Vec<Block>,
) -> Result<String, DomainError> {
    let salt = SaltString::generate(&mut OsRng);
    let mut salt_bytes = [0_u8; password_hash::Salt::MAX_LENGTH];
    let raw_salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(DomainError::unexpected)?;
    let params = argon2.params();
    let mut output = [0_u8; Params::DEFAULT_OUTPUT_LEN];
    argon2
        .hash_password_into_with_memory(
            password.as_bytes(),
            raw_salt,
            &mut output,
            blocks(memory, params.block_count()),
        )
        .map_err(DomainError::unexpected)?;
    let phc = password_hash::PasswordHash {
        algorithm: argon2::ARGON2ID_IDENT,
        version: Some(Version::V0x13.into()),
        params: ParamsString::try_from(params).map_err(DomainError::unexpected)?,
        salt: Some(salt.as_salt()),
        hash: Some(Output::new(&output).map_err(DomainError::unexpected)?),
    };
    Ok(phc.to_string())
}

/// Recomputes the hash of `candidate` with the algorithm, version, parameters and salt of `phc`,
/// and compares the outputs in constant time.
fn verify_password(
    candidate: &str,
    phc: &str,
    memory: &mut Vec<Block>,
) -> Result<bool, DomainError> {
    let hash = password_hash::PasswordHash::new(phc).map_err(DomainError::unexpected)?;
    let algorithm = Algorithm::try_from(hash.algorithm).map_err(DomainError::unexpected)?;
    let version = hash
        .version
        .map(Version::try_from)
        .transpose()
        .map_err(DomainError::unexpected)?
        .unwrap_or_default();
    let params = Params::try_from(&hash).map_err(DomainError::unexpected)?;
    let (Some(salt), Some(expected)) = (hash.salt, hash.hash) else {
        return Err(DomainError::unexpected(
            "the stored hash has no salt or output",
        ));
    };
    let mut salt_bytes = [0_u8; password_hash::Salt::MAX_LENGTH];
    let raw_salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(DomainError::unexpected)?;
    let mut output = vec![0_u8; expected.len()];
    let block_count = params.block_count();
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(
            candidate.as_bytes(),
            raw_salt,
            &mut output,
            blocks(memory, block_count),
        )
        .map_err(DomainError::unexpected)?;
    // `Output`'s equality is constant-time.
    Ok(Output::new(&output).map_err(DomainError::unexpected)? == expected)
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier as _;

    fn password(raw: &str) -> Password {
        Password::new(raw).unwrap()
    }

    #[tokio::test]
    async fn hashes_are_argon2id_phc_strings_with_owasp_parameters() {
        let hasher = Argon2PasswordHasher::new().unwrap();
        let hash = hasher.hash(password("correct horse")).await.unwrap();
        assert!(
            hash.as_str().starts_with("$argon2id$v=19$m=12288,t=3,p=1$"),
            "unexpected PHC prefix"
        );
        // The reference implementation agrees with the hash.
        let parsed = password_hash::PasswordHash::new(hash.as_str()).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
    }

    #[tokio::test]
    async fn hashes_made_with_other_parameters_still_verify() {
        use argon2::PasswordHasher as _;
        let params = Params::new(19_456, 2, 1, None).unwrap();
        let older = Argon2::new(Algorithm::Argon2id, Version::V0x13, params)
            .hash_password(b"correct horse", &SaltString::generate(&mut OsRng))
            .unwrap()
            .to_string();
        let hasher = Argon2PasswordHasher::new().unwrap();
        let older = PasswordHash::new(older);
        assert!(
            hasher
                .verify(Secret::new("correct horse"), Some(older.clone()))
                .await
                .unwrap()
        );
        assert!(
            !hasher
                .verify(Secret::new("correct horsE"), Some(older))
                .await
                .unwrap()
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
        assert!(debug.contains("12288"), "{debug}");
        assert!(!debug.contains("$argon2id$"), "{debug}");
    }
}
