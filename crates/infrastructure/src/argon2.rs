//! Password hashing with Argon2id, off the async workers.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{self, Output, ParamsString, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use async_trait::async_trait;
use gatehouse_domain::{DomainError, Password, PasswordHash, PasswordHasher, Secret};
use tokio::sync::Semaphore;

use crate::blocking::spawn_blocking_in_span;

/// The longest a computation may wait for its turn: more waiting than the permits can work off
/// in this time is refused at once ([`DomainError::Overloaded`]) rather than queued.
pub const MAX_QUEUE_WAIT: Duration = Duration::from_secs(5);

/// What the dummy hash is the hash of.
const DUMMY_PASSWORD: &str = "gatehouse dummy password";

/// How many computations are timed at start-up to judge how long one takes.
const TIMED_RUNS: usize = 2;

/// Argon2id with one of OWASP's recommended parameter sets (12 MiB of memory, 3 passes, 1 lane), a
/// random salt per password, and hashes stored as PHC strings (`$argon2id$v=19$m=12288,t=3,p=1$...`),
/// which carry their own parameters: hashes made with other parameters (such as OWASP's 19 MiB,
/// 2 passes) still verify.
///
/// Hashing is CPU- and memory-bound, so it runs on the blocking pool, one computation per permit,
/// in memory allocated once per permit and reused: a flood of logins can neither take every core
/// from the requests that only read, nor make the process grow. Nor can it make every login wait:
/// at most as many computations wait for a permit as can be done within [`MAX_QUEUE_WAIT`], and
/// any more are refused at once.
#[derive(Clone)]
pub struct Argon2PasswordHasher {
    argon2: Argon2<'static>,
    /// Verified against when there is no real hash, so that unknown accounts take as long.
    dummy: Arc<str>,
    /// How many computations may run at once: one core is left to everything else.
    permits: Arc<Semaphore>,
    /// The number of [`Self::permits`], for estimating how long the waiting ones take.
    running: NonZeroUsize,
    /// How many computations are admitted now: running, or waiting for a permit.
    admitted: Arc<AtomicUsize>,
    /// The most computations admitted at once: the permits and those that may wait.
    capacity: usize,
    /// How long one computation took at start-up.
    took: Duration,
    /// The memory of the computations, one buffer per permit, reused.
    memory: Arc<Mutex<Vec<Vec<Block>>>>,
}

/// A computation's place among the admitted ones, given back however it ends (finished, failed,
/// or dropped while it waited for a permit).
struct Admission(Arc<AtomicUsize>);

impl Drop for Admission {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Argon2PasswordHasher {
    /// Memory cost in KiB (OWASP: 12 MiB with 3 passes).
    pub const MEMORY_KIB: u32 = 12_288;
    /// Number of passes (OWASP: 3 with 12 MiB).
    pub const ITERATIONS: u32 = 3;
    /// Degree of parallelism (OWASP: 1).
    pub const PARALLELISM: u32 = 1;

    /// A hasher with OWASP's parameters, running one computation at a time per core but one, and
    /// letting wait as many as those can do within [`MAX_QUEUE_WAIT`], judged by how long the
    /// dummy hash took.
    ///
    /// Computes the dummy hash and times verifications of it at once, which takes a tenth of a
    /// second or so: build it at start-up, not on an async worker.
    pub fn new() -> Result<Self, DomainError> {
        let cores = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
        let permits = NonZeroUsize::new(cores.saturating_sub(1)).unwrap_or(NonZeroUsize::MIN);
        Self::build(permits, |took| may_wait(permits, took))
    }

    /// A hasher running `permits` computations at once and letting at most `waiting` more wait
    /// for their turn, whatever one takes: for tests, which need a small bound.
    pub fn bounded(permits: NonZeroUsize, waiting: usize) -> Result<Self, DomainError> {
        Self::build(permits, |_| waiting)
    }

    /// A hasher with `permits`, and `waiting(took)` computations let wait when one takes `took`.
    fn build(
        permits: NonZeroUsize,
        waiting: impl FnOnce(Duration) -> usize,
    ) -> Result<Self, DomainError> {
        let params = Params::new(Self::MEMORY_KIB, Self::ITERATIONS, Self::PARALLELISM, None)
            .map_err(DomainError::unexpected)?;
        let argon2 = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut memory = Vec::new();
        let dummy = hash_password(&argon2, DUMMY_PASSWORD, &mut memory)?;
        // The dummy hash paid for the first touch of the memory: verifications of it time the
        // work itself, and the quickest is the least disturbed by whatever else runs at start-up.
        let mut took = Duration::MAX;
        for _ in 0..TIMED_RUNS {
            let started = Instant::now();
            verify_password(DUMMY_PASSWORD, &dummy, &mut memory)?;
            took = took.min(started.elapsed());
        }
        Ok(Self {
            argon2,
            dummy: dummy.into(),
            permits: Arc::new(Semaphore::new(permits.get())),
            running: permits,
            admitted: Arc::new(AtomicUsize::new(0)),
            capacity: permits.get().saturating_add(waiting(took)),
            took,
            memory: Arc::new(Mutex::new(vec![memory])),
        })
    }

    /// A place for one more computation, or [`DomainError::Overloaded`] when every place is
    /// taken.
    fn admit(&self) -> Result<Admission, DomainError> {
        match self
            .admitted
            .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |admitted| {
                (admitted < self.capacity).then_some(admitted + 1)
            }) {
            Ok(_) => Ok(Admission(Arc::clone(&self.admitted))),
            Err(admitted) => Err(DomainError::Overloaded {
                retry_after: self.drain_seconds(admitted),
            }),
        }
    }

    /// Whole seconds the permits take to work off `admitted` computations, at least 1.
    fn drain_seconds(&self, admitted: usize) -> u64 {
        let nanos = self
            .took
            .as_nanos()
            .saturating_mul(u128::try_from(admitted).unwrap_or(u128::MAX))
            / u128::try_from(self.running.get()).unwrap_or(1);
        u64::try_from(nanos.div_ceil(1_000_000_000))
            .unwrap_or(u64::MAX)
            .max(1)
    }

    /// Runs `work` on the blocking pool with a permit and a reused memory buffer, unless too many
    /// computations wait already.
    async fn compute<T, F>(&self, work: F) -> Result<T, DomainError>
    where
        F: FnOnce(&Argon2<'static>, &mut Vec<Block>) -> Result<T, DomainError> + Send + 'static,
        T: Send + 'static,
    {
        let admission = self.admit()?;
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(DomainError::unexpected)?;
        let argon2 = self.argon2.clone();
        let pool = Arc::clone(&self.memory);
        spawn_blocking_in_span(move || {
            // Held until the computation ends, even if its caller has gone meanwhile: the permits
            // bound the computations running, not the callers waiting.
            let _held = (admission, permit);
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

/// How many computations may wait for `permits` when one takes `took`: as many as they do within
/// [`MAX_QUEUE_WAIT`], and at least one per permit, however slow.
fn may_wait(permits: NonZeroUsize, took: Duration) -> usize {
    let per_permit = MAX_QUEUE_WAIT.as_nanos() / took.as_nanos().max(1);
    permits
        .get()
        .saturating_mul(usize::try_from(per_permit).unwrap_or(usize::MAX))
        .max(permits.get())
}

impl fmt::Debug for Argon2PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Argon2PasswordHasher")
            .field("params", self.argon2.params())
            .field("permits", &self.running)
            .field("capacity", &self.capacity)
            .field("took", &self.took)
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
    use std::task::Poll;

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

    #[test]
    fn as_many_may_wait_as_the_permits_do_in_five_seconds_and_one_per_permit_at_least() {
        let one = NonZeroUsize::new(1).unwrap();
        let three = NonZeroUsize::new(3).unwrap();
        assert_eq!(may_wait(one, Duration::from_millis(50)), 100);
        assert_eq!(may_wait(three, Duration::from_secs(2)), 6);
        assert_eq!(may_wait(three, Duration::from_millis(2_600)), 3);
        assert_eq!(may_wait(three, Duration::from_mins(1)), 3);
        assert!(may_wait(one, Duration::ZERO) > 1_000_000);
    }

    #[tokio::test]
    async fn beyond_its_bound_a_computation_is_refused_at_once_and_the_others_succeed() {
        let hasher = Argon2PasswordHasher::bounded(NonZeroUsize::MIN, 2).unwrap();
        let hash = hasher.hash(password("correct horse")).await.unwrap();
        // With the one permit taken, nothing runs: the admitted computations all wait.
        let busy = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..10 {
            let hasher = hasher.clone();
            let hash = hash.clone();
            calls.spawn(async move {
                hasher
                    .verify(Secret::new("correct horse"), Some(hash))
                    .await
            });
        }
        // The permit and the 2 places to wait are taken by 3 of them: the other 7 are answered
        // while those still wait.
        for _ in 0..7 {
            let refused = calls.join_next().await.unwrap().unwrap();
            assert!(
                matches!(refused, Err(DomainError::Overloaded { retry_after }) if retry_after >= 1),
                "{refused:?}"
            );
        }
        assert_eq!(calls.len(), 3);
        drop(busy);
        while let Some(admitted) = calls.join_next().await {
            assert!(admitted.unwrap().unwrap());
        }
        // Every place is given back.
        assert_eq!(hasher.admitted.load(Ordering::SeqCst), 0);
        assert!(hasher.hash(password("battery staple")).await.is_ok());
    }

    #[tokio::test]
    async fn many_concurrent_computations_are_either_refused_or_done() {
        let hasher = Argon2PasswordHasher::bounded(NonZeroUsize::MIN, 1).unwrap();
        let mut calls = tokio::task::JoinSet::new();
        for _ in 0..12 {
            let hasher = hasher.clone();
            calls.spawn(async move { hasher.hash(password("correct horse")).await });
        }
        let (mut done, mut refused) = (0, 0);
        while let Some(result) = calls.join_next().await {
            match result.unwrap() {
                Ok(_) => done += 1,
                Err(DomainError::Overloaded { .. }) => refused += 1,
                Err(error) => panic!("{error:?}"),
            }
        }
        assert!(done >= 2, "{done} done");
        assert!(refused >= 1, "{refused} refused");
        assert_eq!(done + refused, 12);
    }

    #[tokio::test]
    async fn a_caller_that_goes_away_while_waiting_gives_its_place_back() {
        let hasher = Argon2PasswordHasher::bounded(NonZeroUsize::MIN, 1).unwrap();
        let busy = Arc::clone(&hasher.permits).acquire_owned().await.unwrap();
        let mut call = hasher.hash(password("correct horse"));
        let first = std::future::poll_fn(|cx| Poll::Ready(call.as_mut().poll(cx))).await;
        assert!(
            first.is_pending(),
            "the computation should wait for the permit"
        );
        assert_eq!(hasher.admitted.load(Ordering::SeqCst), 1);
        drop(call);
        assert_eq!(hasher.admitted.load(Ordering::SeqCst), 0);
        drop(busy);
    }

    #[tokio::test]
    async fn the_time_to_retry_is_the_time_the_permits_take_to_work_off_the_queue() {
        let mut hasher = Argon2PasswordHasher::bounded(NonZeroUsize::MIN, 0).unwrap();
        hasher.took = Duration::from_millis(300);
        assert_eq!(hasher.drain_seconds(10), 3);
        assert_eq!(hasher.drain_seconds(11), 4);
        assert_eq!(hasher.drain_seconds(0), 1);
        hasher.running = NonZeroUsize::new(3).unwrap();
        assert_eq!(hasher.drain_seconds(10), 1);
    }
}
