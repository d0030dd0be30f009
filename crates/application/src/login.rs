//! Logging in with email and password, for a session key (how OpenGateLLM's playground signs
//! users in).

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use gatehouse_domain::{
    ApiKeyId, ApiKeyRepository, AuditAction, AuditEntity, AuditLog, Clock, DateTime, DomainError,
    Email, KeyGenerator, LoginFailures, NewAuditEvent, Origin, PasswordHash, PasswordHasher,
    Redacted, Secret, Snapshot, ThrottleKey, UserId, UserRepository, Utc,
};

use crate::AuthService;
use crate::account::MASTER_EMAIL;
use crate::login_throttle::{FAILURE_WINDOW, LoginLimits};
use crate::sessions::SessionIssuer;

/// The name of the key a login hands out; each login replaces the previous one.
pub const SESSION_KEY_NAME: &str = "playground";

/// What a successful login gets.
#[derive(Clone, PartialEq, Eq)]
pub struct Session {
    /// The id of the session key (0 for the master key).
    pub id: ApiKeyId,
    /// The key itself, shown this once.
    pub key: Secret,
    /// When the key stops working; `None` for the master key.
    pub expires: Option<DateTime<Utc>>,
}

/// Written out rather than derived: a session carries a key, which no `Debug` output may show,
/// whatever the type of its field becomes.
impl fmt::Debug for Session {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            id,
            key: _,
            expires,
        } = self;
        f.debug_struct("Session")
            .field("id", id)
            .field("key", &Redacted)
            .field("expires", expires)
            .finish()
    }
}

/// Who a right password proved the caller to be.
enum Verified {
    /// The master user, whose key is its password.
    Master(Secret),
    /// A stored user, when their account expires, and the hash the password was verified
    /// against (the session is opened only while it is still theirs).
    User {
        id: UserId,
        expires: Option<DateTime<Utc>>,
        password: PasswordHash,
    },
}

/// Exchanges an email and a password for a session key, throttling failed attempts.
#[derive(Clone)]
pub struct LoginService {
    users: Arc<dyn UserRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
    auth: AuthService,
    sessions: SessionIssuer,
    failures: Arc<dyn LoginFailures>,
    limits: LoginLimits,
    audit: Arc<dyn AuditLog>,
}

impl LoginService {
    /// A service checking passwords of `users` with `hasher`, storing session keys in `keys` for
    /// `session_seconds`, recognising the master key through `auth`, and counting failed logins
    /// in `failures` to refuse logins beyond `limits`, and recording in `audit` the attempts that
    /// change nothing else.
    #[allow(
        clippy::too_many_arguments,
        reason = "one port or setting each, all required: a struct would only rename them"
    )]
    pub fn new(
        users: Arc<dyn UserRepository>,
        keys: Arc<dyn ApiKeyRepository>,
        hasher: Arc<dyn PasswordHasher>,
        generator: Arc<dyn KeyGenerator>,
        clock: Arc<dyn Clock>,
        auth: AuthService,
        session_seconds: NonZeroU32,
        failures: Arc<dyn LoginFailures>,
        limits: LoginLimits,
        audit: Arc<dyn AuditLog>,
    ) -> Self {
        Self {
            users,
            hasher,
            clock,
            auth,
            sessions: SessionIssuer::new(keys, generator, session_seconds),
            failures,
            limits,
            audit,
        }
    }

    /// Checks `email` and `password`, coming from `origin` (the client's address, when known, and
    /// the request), and hands out a fresh session key, which replaces the previous one: that one
    /// stops working at once.
    ///
    /// Every attempt that gets as far as a password check is in the audit log, in the transaction
    /// of what it changes: a success as `login`, a failure as `login_failed` with the email as
    /// typed. A throttled attempt is not: it is refused before it is tried, and recording each
    /// would let a flood of them fill the log.
    ///
    /// Failed logins are throttled: once the email (in any letter case, known or not, `master`
    /// included) or the client address has as many failures as `limits` allow within
    /// [`FAILURE_WINDOW`], every login of either is refused until that window ends, even with the
    /// right password, and before any password is verified: a flood of wrong passwords must not
    /// queue every other login behind the hasher. A wrong password counts one failure for the
    /// email and one for the address; a right one (even for an expired account) clears the
    /// email's failures, not the address's.
    ///
    /// An unknown email, a wrong password and an account without a password fail alike, after the
    /// same work (one lookup, one password verification, against a dummy hash when there is no
    /// real one), so that neither the answer nor its timing tells which accounts exist. Whether
    /// an account has expired is told only to whoever knows its password.
    ///
    /// The master user logs in with [`MASTER_EMAIL`] and the master key as its password, and gets
    /// the master key back.
    ///
    /// # Errors
    /// `LoginThrottled`; `InvalidCredentials`; `AccountExpired`; `Overloaded` when the hasher has
    /// too much waiting; `Unavailable` when the storage cannot be reached.
    pub async fn login(
        &self,
        email: &str,
        password: Secret,
        origin: Origin,
    ) -> Result<Session, DomainError> {
        let now = self.clock.now();
        let since = now - FAILURE_WINDOW;
        let email_key = ThrottleKey::email(email);
        let keys: Vec<ThrottleKey> = std::iter::once(email_key.clone())
            .chain(origin.address.map(ThrottleKey::address))
            .collect();
        let windows = self.failures.open_windows(keys.clone(), since).await?;
        if let Some(retry_after) = self.limits.wait(&windows, now) {
            return Err(DomainError::LoginThrottled { retry_after });
        }
        let Some(verified) = self.verify(email, password).await? else {
            let failed = failed_login(email, origin);
            self.failures.record(keys, now, since, failed).await?;
            return Err(DomainError::InvalidCredentials);
        };
        self.failures.clear(email_key).await?;
        match verified {
            Verified::Master(key) => {
                let actor = origin.actor(Some(UserId::MASTER));
                // No key is stored for the master, so the event goes alone.
                self.audit
                    .record(NewAuditEvent {
                        actor,
                        action: AuditAction::Login,
                        entity: AuditEntity::Session,
                        entity_id: Some(0),
                        before: None,
                        after: None,
                    })
                    .await?;
                Ok(Session {
                    id: ApiKeyId(0),
                    key,
                    expires: None,
                })
            }
            Verified::User {
                id,
                expires,
                password,
            } => {
                if expires.is_some_and(|expires| expires <= now) {
                    self.audit.record(failed_login(email, origin)).await?;
                    return Err(DomainError::AccountExpired);
                }
                let actor = origin.actor(Some(id));
                self.sessions.open(id, Some(password), now, actor).await
            }
        }
    }

    /// Who `password` proves the caller of `email` to be; `None` for an unknown email, a wrong
    /// password or an account without a password, after one verification each.
    async fn verify(&self, email: &str, password: Secret) -> Result<Option<Verified>, DomainError> {
        if email == MASTER_EMAIL {
            return self.verify_master(password).await;
        }
        // Text no address can equal is looked up by no one, but verified all the same.
        let credentials = if Email::could_match(email) {
            self.users.find_credentials_by_email(email).await?
        } else {
            None
        };
        let (user, hash, expires) = match credentials {
            Some(credentials) => (
                Some(credentials.user),
                credentials.password,
                credentials.expires,
            ),
            None => (None, None, None),
        };
        let verified = self.hasher.verify(password, hash.clone()).await?;
        Ok(match (user, hash) {
            (Some(id), Some(password)) if verified => Some(Verified::User {
                id,
                expires,
                password,
            }),
            _ => None,
        })
    }

    /// The master key is checked in constant time; a wrong one costs a password verification all
    /// the same, so that guessing it is as slow as guessing a password.
    async fn verify_master(&self, password: Secret) -> Result<Option<Verified>, DomainError> {
        if self.auth.is_master_key(password.expose()) {
            return Ok(Some(Verified::Master(password)));
        }
        self.hasher.verify(password, None).await?;
        Ok(None)
    }
}

/// The event of a refused login: nobody is known to act, and the email is kept as typed.
fn failed_login(email: &str, origin: Origin) -> NewAuditEvent {
    NewAuditEvent {
        actor: origin.actor(None),
        action: AuditAction::LoginFailed,
        entity: AuditEntity::Session,
        entity_id: None,
        before: None,
        after: Some(Snapshot::FailedLogin {
            email: email.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now, origin};
    use gatehouse_domain::chrono::TimeDelta;
    use gatehouse_domain::{
        Actor, ApiKey, Audit, Credentials, Expiry, FailureWindow, GeneratedKey, KeyHash,
        MockApiKeyRepository, MockAuditLog, MockKeyGenerator, MockLoginFailures,
        MockPasswordHasher, MockUserRepository, NewApiKey, PasswordHash, RequestId,
    };
    use mockall::Sequence;
    use mockall::predicate::{always, eq, function};
    use std::net::IpAddr;

    /// The session key as the repository stores it: id 31, created now.
    #[allow(clippy::unnecessary_wraps)] // The shape of `replace_named`'s answer.
    fn stored(new: NewApiKey, _: Option<PasswordHash>, _: Audit) -> Result<ApiKey, DomainError> {
        Ok(ApiKey {
            id: ApiKeyId(31),
            name: new.name,
            user: new.user,
            masked: new.masked,
            project: new.project,
            expires: new.expires.map(Expiry::at),
            created: now(),
        })
    }

    const MASTER: &str = "the-master-key-for-tests";
    const SESSION_SECONDS: u32 = 600;

    fn generator() -> MockKeyGenerator {
        let mut generator = MockKeyGenerator::new();
        generator
            .expect_hash()
            .returning(|key| KeyHash::new(key.as_bytes().to_vec()));
        generator.expect_generate().returning(|| {
            Ok(GeneratedKey {
                secret: Secret::new("sk-session"),
                hash: KeyHash::new(b"sk-session".to_vec()),
                masked: "sk-sess...sion".to_owned(),
            })
        });
        generator
    }

    /// The address every test login comes from: the fixtures' origin's.
    fn client() -> IpAddr {
        origin().address.unwrap()
    }

    /// The request id every test login comes with: the fixtures' origin's.
    fn request_id() -> RequestId {
        RequestId::parse("req-42").unwrap()
    }

    /// The event a refused login of `email` (as typed) from `address` must record: nobody known
    /// acts, from the client's address and request.
    fn failed_event(email: &str, address: Option<IpAddr>) -> NewAuditEvent {
        NewAuditEvent {
            actor: Actor {
                user: None,
                key: None,
                address,
                request_id: Some(request_id()),
            },
            action: AuditAction::LoginFailed,
            entity: AuditEntity::Session,
            entity_id: None,
            before: None,
            after: Some(Snapshot::FailedLogin {
                email: email.to_owned(),
            }),
        }
    }

    /// The audit a successful login of `user` must pass with its session key: the user acts,
    /// with no key, from the client's address and request.
    fn login_audit(user: i64) -> Audit {
        Audit {
            actor: Actor {
                user: Some(UserId(user)),
                key: None,
                address: Some(client()),
                request_id: Some(request_id()),
            },
            action: AuditAction::Login,
        }
    }

    /// An audit log that must record nothing: the events of these logins go with what they
    /// change, or there are none.
    fn no_events() -> MockAuditLog {
        let mut audit = MockAuditLog::new();
        audit.expect_record().never();
        audit
    }

    fn limits() -> LoginLimits {
        LoginLimits {
            per_email: NonZeroU32::new(5).unwrap(),
            per_address: NonZeroU32::new(50).unwrap(),
        }
    }

    /// A store of failures that has none, and takes any clearing and any record of a failure
    /// that comes with its `login_failed` event.
    fn no_failures() -> MockLoginFailures {
        let mut failures = MockLoginFailures::new();
        failures.expect_open_windows().returning(|_, _| Ok(vec![]));
        failures
            .expect_record()
            .withf(|_, _, _, event| {
                let email = match &event.after {
                    Some(Snapshot::FailedLogin { email }) => email.clone(),
                    _ => return false,
                };
                *event == failed_event(&email, Some(client()))
            })
            .returning(|_, _, _, _| Ok(()));
        failures.expect_clear().returning(|_| Ok(()));
        failures
    }

    fn service(
        users: MockUserRepository,
        keys: MockApiKeyRepository,
        hasher: MockPasswordHasher,
    ) -> LoginService {
        throttled_service(users, keys, hasher, no_failures())
    }

    fn throttled_service(
        users: MockUserRepository,
        keys: MockApiKeyRepository,
        hasher: MockPasswordHasher,
        failures: MockLoginFailures,
    ) -> LoginService {
        audited_service(users, keys, hasher, failures, no_events())
    }

    fn audited_service(
        users: MockUserRepository,
        keys: MockApiKeyRepository,
        hasher: MockPasswordHasher,
        failures: MockLoginFailures,
        audit: MockAuditLog,
    ) -> LoginService {
        let generator = Arc::new(generator());
        let auth = AuthService::new(
            Arc::new(MockApiKeyRepository::new()),
            generator.clone(),
            clock(),
            &Secret::new(MASTER),
        );
        LoginService::new(
            Arc::new(users),
            Arc::new(keys),
            Arc::new(hasher),
            generator,
            clock(),
            auth,
            NonZeroU32::new(SESSION_SECONDS).unwrap(),
            Arc::new(failures),
            limits(),
            Arc::new(audit),
        )
    }

    /// Ada (user 7) with password "right-password".
    fn users(expires: Option<DateTime<Utc>>) -> MockUserRepository {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials_by_email()
            .returning(move |email| {
                Ok(email
                    .eq_ignore_ascii_case("ada@example.com")
                    .then(|| Credentials {
                        user: UserId(7),
                        password: Some(PasswordHash::new("$argon2id$ada")),
                        expires,
                    }))
            });
        users
    }

    /// A hasher that must verify exactly once, and accepts "right-password" against Ada's hash.
    fn hasher() -> MockPasswordHasher {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .times(1)
            .returning(|candidate, hash| {
                Ok(hash.is_some_and(|hash| hash.as_str() == "$argon2id$ada")
                    && candidate.expose() == "right-password")
            });
        hasher
    }

    fn no_key_is_stored() -> MockApiKeyRepository {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_replace_named().never();
        keys
    }

    #[tokio::test]
    async fn an_email_no_address_can_equal_is_not_looked_up_but_costs_a_verification() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials_by_email().never();
        let error = service(users, no_key_is_stored(), hasher())
            .login("ada@example.com\0", Secret::new("right-password"), origin())
            .await
            .unwrap_err();
        assert!(
            matches!(error, DomainError::InvalidCredentials),
            "{error:?}"
        );
    }

    #[tokio::test]
    async fn the_right_password_replaces_the_session_key_with_a_fresh_one() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_replace_named()
            .with(
                function(|new: &NewApiKey| {
                    new.user == UserId(7)
                        && new.project.is_none()
                        && new.name.as_str() == SESSION_KEY_NAME
                        && new.hash == KeyHash::new(b"sk-session".to_vec())
                        && new.expires.map(Expiry::at)
                            == Some(now() + TimeDelta::seconds(SESSION_SECONDS.into()))
                }),
                eq(Some(PasswordHash::new("$argon2id$ada"))),
                eq(login_audit(7)),
            )
            .times(1)
            .returning(stored);
        let session = service(users(None), keys, hasher())
            .login("ADA@example.com", Secret::new("right-password"), origin())
            .await
            .unwrap();
        assert_eq!(session.id, ApiKeyId(31));
        assert_eq!(session.key.expose(), "sk-session");
        assert_eq!(
            session.expires,
            Some(now() + TimeDelta::seconds(SESSION_SECONDS.into()))
        );
    }

    #[tokio::test]
    async fn unknown_email_wrong_password_and_no_password_fail_alike_after_one_verification() {
        let mut without_password = MockUserRepository::new();
        without_password
            .expect_find_credentials_by_email()
            .returning(|_| {
                Ok(Some(Credentials {
                    user: UserId(8),
                    password: None,
                    expires: None,
                }))
            });
        let cases = [
            (users(None), "nobody@example.com", "right-password"),
            (users(None), "ada@example.com", "wrong-password"),
            (without_password, "oauth@example.com", "right-password"),
        ];
        for (users, email, password) in cases {
            let result = service(users, no_key_is_stored(), hasher())
                .login(email, Secret::new(password), origin())
                .await;
            assert!(
                matches!(result, Err(DomainError::InvalidCredentials)),
                "{email}"
            );
        }
    }

    #[tokio::test]
    async fn an_unknown_email_is_verified_against_the_dummy_hash() {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .with(always(), eq(None))
            .times(1)
            .returning(|_, _| Ok(false));
        let result = service(users(None), no_key_is_stored(), hasher)
            .login("nobody@example.com", Secret::new("whatever"), origin())
            .await;
        assert!(matches!(result, Err(DomainError::InvalidCredentials)));
    }

    /// The `login` event of the master: user 0, no key, from the client's address and request.
    fn master_login_event() -> NewAuditEvent {
        NewAuditEvent {
            actor: Actor {
                user: Some(UserId::MASTER),
                key: None,
                address: Some(client()),
                request_id: Some(request_id()),
            },
            action: AuditAction::Login,
            entity: AuditEntity::Session,
            entity_id: Some(0),
            before: None,
            after: None,
        }
    }

    /// An audit log that must record `event`, once.
    fn records(event: NewAuditEvent) -> MockAuditLog {
        let mut audit = MockAuditLog::new();
        audit
            .expect_record()
            .with(eq(event))
            .times(1)
            .returning(|_| Ok(()));
        audit
    }

    #[tokio::test]
    async fn an_expired_account_is_told_only_with_the_right_password() {
        let expired = Some(now() - TimeDelta::seconds(1));
        let audit = records(failed_event("ada@example.com", Some(client())));
        let result = audited_service(
            users(expired),
            no_key_is_stored(),
            hasher(),
            no_failures(),
            audit,
        )
        .login("ada@example.com", Secret::new("right-password"), origin())
        .await;
        assert!(matches!(result, Err(DomainError::AccountExpired)));
        let result = service(users(expired), no_key_is_stored(), hasher())
            .login("ada@example.com", Secret::new("wrong-password"), origin())
            .await;
        assert!(matches!(result, Err(DomainError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn the_master_logs_in_with_the_master_key_and_gets_it_back() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials_by_email().never();
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().never();
        let session = audited_service(
            users,
            no_key_is_stored(),
            hasher,
            no_failures(),
            records(master_login_event()),
        )
        .login(MASTER_EMAIL, Secret::new(MASTER), origin())
        .await
        .unwrap();
        assert_eq!(session.id, ApiKeyId(0));
        assert_eq!(session.key.expose(), MASTER);
        assert_eq!(session.expires, None);
    }

    #[tokio::test]
    async fn a_wrong_master_key_fails_after_a_verification_like_any_password() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials_by_email().never();
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .with(always(), eq(None))
            .times(1)
            .returning(|_, _| Ok(false));
        let result = service(users, no_key_is_stored(), hasher)
            .login(MASTER_EMAIL, Secret::new("not-the-master-key"), origin())
            .await;
        assert!(matches!(result, Err(DomainError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn an_unreachable_store_is_unavailable_not_a_wrong_password() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials_by_email()
            .returning(|_| Err(DomainError::Unavailable("down".into())));
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().never();
        let result = service(users, no_key_is_stored(), hasher)
            .login("ada@example.com", Secret::new("right-password"), origin())
            .await;
        assert!(matches!(result, Err(DomainError::Unavailable(_))));
    }

    /// The keys of a login of `email` from [`client`].
    fn keys_of(email: &str) -> Vec<ThrottleKey> {
        vec![ThrottleKey::email(email), ThrottleKey::address(client())]
    }

    /// A full window for `key`, started five minutes ago.
    fn full(key: ThrottleKey, failures: u32) -> FailureWindow {
        FailureWindow {
            key,
            start: now() - TimeDelta::minutes(5),
            failures,
        }
    }

    /// A store where `windows` are open, and nothing may be recorded or cleared.
    fn failures_with(windows: Vec<FailureWindow>) -> MockLoginFailures {
        let mut failures = MockLoginFailures::new();
        failures
            .expect_open_windows()
            .times(1)
            .returning(move |_, _| Ok(windows.clone()));
        failures.expect_record().never();
        failures.expect_clear().never();
        failures
    }

    fn nothing_is_verified() -> (MockUserRepository, MockPasswordHasher) {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials_by_email().never();
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().never();
        (users, hasher)
    }

    #[tokio::test]
    async fn the_failures_are_read_before_anything_is_verified() {
        let mut order = Sequence::new();
        let mut failures = MockLoginFailures::new();
        failures
            .expect_open_windows()
            .with(eq(keys_of("ada@example.com")), eq(now() - FAILURE_WINDOW))
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(vec![]));
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials_by_email()
            .times(1)
            .in_sequence(&mut order)
            .returning(|_| Ok(None));
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _| Ok(false));
        failures
            .expect_record()
            .with(
                eq(keys_of("ada@example.com")),
                eq(now()),
                eq(now() - FAILURE_WINDOW),
                eq(failed_event("Ada@Example.com", Some(client()))),
            )
            .times(1)
            .in_sequence(&mut order)
            .returning(|_, _, _, _| Ok(()));
        let result = throttled_service(users, no_key_is_stored(), hasher, failures)
            .login("Ada@Example.com", Secret::new("wrong-password"), origin())
            .await;
        assert!(matches!(result, Err(DomainError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn a_full_email_window_refuses_even_the_right_password_without_verifying_it() {
        let (users, hasher) = nothing_is_verified();
        let failures = failures_with(vec![full(ThrottleKey::email("ada@example.com"), 5)]);
        let result = throttled_service(users, no_key_is_stored(), hasher, failures)
            .login("ada@example.com", Secret::new("right-password"), origin())
            .await;
        // The window started 5 minutes ago: 10 minutes are left.
        assert!(
            matches!(
                result,
                Err(DomainError::LoginThrottled { retry_after: 600 })
            ),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn the_master_is_throttled_like_anyone_even_with_the_master_key() {
        let (users, hasher) = nothing_is_verified();
        let failures = failures_with(vec![full(ThrottleKey::email(MASTER_EMAIL), 5)]);
        let result = throttled_service(users, no_key_is_stored(), hasher, failures)
            .login(MASTER_EMAIL, Secret::new(MASTER), origin())
            .await;
        assert!(
            matches!(result, Err(DomainError::LoginThrottled { .. })),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_full_address_window_refuses_every_email_from_that_address() {
        let (users, hasher) = nothing_is_verified();
        let failures = failures_with(vec![
            full(ThrottleKey::email("ada@example.com"), 1),
            full(ThrottleKey::address(client()), 50),
        ]);
        let result = throttled_service(users, no_key_is_stored(), hasher, failures)
            .login("ada@example.com", Secret::new("right-password"), origin())
            .await;
        assert!(
            matches!(result, Err(DomainError::LoginThrottled { .. })),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn windows_below_their_limits_let_the_right_password_in() {
        let mut failures = MockLoginFailures::new();
        failures.expect_open_windows().returning(|_, _| {
            Ok(vec![
                full(ThrottleKey::email("ada@example.com"), 4),
                full(ThrottleKey::address(client()), 49),
            ])
        });
        failures.expect_record().never();
        failures.expect_clear().times(1).returning(|_| Ok(()));
        let mut keys = MockApiKeyRepository::new();
        keys.expect_replace_named()
            .with(always(), always(), eq(login_audit(7)))
            .times(1)
            .returning(stored);
        let session = throttled_service(users(None), keys, hasher(), failures)
            .login("ada@example.com", Secret::new("right-password"), origin())
            .await
            .unwrap();
        assert_eq!(session.id, ApiKeyId(31));
    }

    #[tokio::test]
    async fn a_failure_counts_for_the_email_in_lower_case_and_for_the_address() {
        let mut failures = MockLoginFailures::new();
        failures.expect_open_windows().returning(|_, _| Ok(vec![]));
        failures
            .expect_record()
            .with(
                eq(keys_of("ada@example.com")),
                eq(now()),
                eq(now() - FAILURE_WINDOW),
                eq(failed_event("ADA@example.com", Some(client()))),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        failures.expect_clear().never();
        let result = throttled_service(users(None), no_key_is_stored(), hasher(), failures)
            .login("ADA@example.com", Secret::new("wrong-password"), origin())
            .await;
        assert!(matches!(result, Err(DomainError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn an_unknown_email_and_a_wrong_master_key_count_as_failures_too() {
        for (email, password) in [
            ("nobody@example.com", "right-password"),
            (MASTER_EMAIL, "not-the-master-key"),
        ] {
            let mut failures = MockLoginFailures::new();
            failures.expect_open_windows().returning(|_, _| Ok(vec![]));
            failures
                .expect_record()
                .with(
                    eq(keys_of(email)),
                    always(),
                    always(),
                    eq(failed_event(email, Some(client()))),
                )
                .times(1)
                .returning(|_, _, _, _| Ok(()));
            failures.expect_clear().never();
            let result = throttled_service(users(None), no_key_is_stored(), hasher(), failures)
                .login(email, Secret::new(password), origin())
                .await;
            assert!(
                matches!(result, Err(DomainError::InvalidCredentials)),
                "{email}"
            );
        }
    }

    #[tokio::test]
    async fn without_a_known_address_only_the_email_counts() {
        let mut failures = MockLoginFailures::new();
        failures
            .expect_open_windows()
            .with(eq(vec![ThrottleKey::email("ada@example.com")]), always())
            .returning(|_, _| Ok(vec![]));
        failures
            .expect_record()
            .with(
                eq(vec![ThrottleKey::email("ada@example.com")]),
                always(),
                always(),
                eq(failed_event("ada@example.com", None)),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        let result = throttled_service(users(None), no_key_is_stored(), hasher(), failures)
            .login(
                "ada@example.com",
                Secret::new("wrong-password"),
                Origin {
                    address: None,
                    ..origin()
                },
            )
            .await;
        assert!(matches!(result, Err(DomainError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn the_right_password_clears_the_emails_failures_only() {
        let mut failures = MockLoginFailures::new();
        failures.expect_open_windows().returning(|_, _| Ok(vec![]));
        failures.expect_record().never();
        failures
            .expect_clear()
            .with(eq(ThrottleKey::email("ada@example.com")))
            .times(1)
            .returning(|_| Ok(()));
        let mut keys = MockApiKeyRepository::new();
        keys.expect_replace_named()
            .with(always(), always(), eq(login_audit(7)))
            .times(1)
            .returning(stored);
        throttled_service(users(None), keys, hasher(), failures)
            .login("Ada@Example.com", Secret::new("right-password"), origin())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_master_key_clears_the_master_emails_failures() {
        let mut failures = MockLoginFailures::new();
        failures.expect_open_windows().returning(|_, _| Ok(vec![]));
        failures
            .expect_clear()
            .with(eq(ThrottleKey::email(MASTER_EMAIL)))
            .times(1)
            .returning(|_| Ok(()));
        let (users, hasher) = nothing_is_verified();
        let session = audited_service(
            users,
            no_key_is_stored(),
            hasher,
            failures,
            records(master_login_event()),
        )
        .login(MASTER_EMAIL, Secret::new(MASTER), origin())
        .await
        .unwrap();
        assert_eq!(session.id, ApiKeyId(0));
    }

    #[tokio::test]
    async fn an_unreachable_store_of_failures_is_unavailable_and_verifies_nothing() {
        let (users, hasher) = nothing_is_verified();
        let mut failures = MockLoginFailures::new();
        failures
            .expect_open_windows()
            .returning(|_, _| Err(DomainError::Unavailable("down".into())));
        let result = throttled_service(users, no_key_is_stored(), hasher, failures)
            .login("ada@example.com", Secret::new("right-password"), origin())
            .await;
        assert!(matches!(result, Err(DomainError::Unavailable(_))));
    }

    #[tokio::test]
    async fn an_overloaded_hasher_counts_no_failure() {
        let mut hasher = MockPasswordHasher::new();
        hasher
            .expect_verify()
            .returning(|_, _| Err(DomainError::Overloaded { retry_after: 2 }));
        let mut failures = MockLoginFailures::new();
        failures.expect_open_windows().returning(|_, _| Ok(vec![]));
        failures.expect_record().never();
        failures.expect_clear().never();
        let result = throttled_service(users(None), no_key_is_stored(), hasher, failures)
            .login("ada@example.com", Secret::new("wrong-password"), origin())
            .await;
        assert!(matches!(
            result,
            Err(DomainError::Overloaded { retry_after: 2 })
        ));
    }

    #[tokio::test]
    async fn a_wrong_password_records_one_login_failed_event_with_the_email_as_typed() {
        let mut failures = MockLoginFailures::new();
        failures.expect_open_windows().returning(|_, _| Ok(vec![]));
        failures
            .expect_record()
            .withf(|_, _, _, event| {
                event.actor.user.is_none()
                    && event.actor.key.is_none()
                    && event.actor.address == Some("192.0.2.42".parse().unwrap())
                    && event.actor.request_id.as_ref().map(RequestId::as_str) == Some("req-42")
                    && event.action == AuditAction::LoginFailed
                    && event.entity == AuditEntity::Session
                    && event.entity_id.is_none()
                    && event.before.is_none()
                    && event.after
                        == Some(Snapshot::FailedLogin {
                            email: " Ada@Example.COM".to_owned(),
                        })
            })
            .times(1)
            .returning(|_, _, _, _| Ok(()));
        failures.expect_clear().never();
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(None));
        let result = audited_service(users, no_key_is_stored(), hasher(), failures, no_events())
            .login(" Ada@Example.COM", Secret::new("wrong-password"), origin())
            .await;
        assert!(matches!(result, Err(DomainError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn a_right_password_on_an_expired_account_records_login_failed_and_opens_nothing() {
        let mut failures = MockLoginFailures::new();
        failures.expect_open_windows().returning(|_, _| Ok(vec![]));
        failures.expect_record().never();
        failures.expect_clear().times(1).returning(|_| Ok(()));
        let mut audit = MockAuditLog::new();
        audit
            .expect_record()
            .withf(|event| {
                event.action == AuditAction::LoginFailed
                    && event.actor
                        == Actor {
                            user: None,
                            key: None,
                            address: Some(client()),
                            request_id: Some(request_id()),
                        }
                    && event.after
                        == Some(Snapshot::FailedLogin {
                            email: "ADA@example.com".to_owned(),
                        })
                    && *event == failed_event("ADA@example.com", Some(client()))
            })
            .times(1)
            .returning(|_| Ok(()));
        let result = audited_service(
            users(Some(now() - TimeDelta::seconds(1))),
            no_key_is_stored(),
            hasher(),
            failures,
            audit,
        )
        .login("ADA@example.com", Secret::new("right-password"), origin())
        .await;
        assert!(
            matches!(result, Err(DomainError::AccountExpired)),
            "{result:?}"
        );
    }

    #[tokio::test]
    async fn a_master_login_records_a_login_event_of_user_zero() {
        let mut audit = MockAuditLog::new();
        audit
            .expect_record()
            .withf(|event| {
                event.action == AuditAction::Login
                    && event.entity == AuditEntity::Session
                    && event.entity_id == Some(0)
                    && event.actor.user == Some(UserId(0))
                    && event.actor.key.is_none()
                    && event.actor.address == Some(client())
                    && event.actor.request_id == Some(request_id())
                    && event.before.is_none()
                    && event.after.is_none()
            })
            .times(1)
            .returning(|_| Ok(()));
        let (users, hasher) = nothing_is_verified();
        let session = audited_service(users, no_key_is_stored(), hasher, no_failures(), audit)
            .login(MASTER_EMAIL, Secret::new(MASTER), origin())
            .await
            .unwrap();
        assert_eq!(session.id, ApiKeyId(0));
    }

    #[tokio::test]
    async fn a_success_passes_a_login_audit_of_the_user_to_the_session_key() {
        let expected = Audit {
            actor: Actor {
                user: Some(UserId(7)),
                key: None,
                address: Some("192.0.2.42".parse().unwrap()),
                request_id: Some(RequestId::parse("req-42").unwrap()),
            },
            action: AuditAction::Login,
        };
        let mut keys = MockApiKeyRepository::new();
        keys.expect_replace_named()
            .with(
                function(|new: &NewApiKey| new.user == UserId(7)),
                eq(Some(PasswordHash::new("$argon2id$ada"))),
                eq(expected),
            )
            .times(1)
            .returning(stored);
        // The event goes with the key, in its transaction: none is recorded on its own.
        let session = audited_service(users(None), keys, hasher(), no_failures(), no_events())
            .login("ada@example.com", Secret::new("right-password"), origin())
            .await
            .unwrap();
        assert_eq!(session.id, ApiKeyId(31));
    }

    #[tokio::test]
    async fn a_throttled_attempt_records_nothing() {
        for password in ["right-password", "wrong-password"] {
            let (users, hasher) = nothing_is_verified();
            // `failures_with` expects no record; the audit log expects none either.
            let failures = failures_with(vec![full(ThrottleKey::address(client()), 50)]);
            let result = audited_service(users, no_key_is_stored(), hasher, failures, no_events())
                .login("ada@example.com", Secret::new(password), origin())
                .await;
            assert!(
                matches!(result, Err(DomainError::LoginThrottled { .. })),
                "{result:?}"
            );
        }
    }
}
