//! Logging in with email and password, for a session key (how OpenGateLLM's playground signs
//! users in).

use std::num::NonZeroU32;
use std::sync::Arc;

use gatehouse_domain::chrono::TimeDelta;
use gatehouse_domain::{
    ApiKeyId, ApiKeyRepository, Clock, DateTime, DomainError, Email, Expiry, KeyGenerator, Name,
    NewApiKey, PasswordHasher, Secret, UserRepository, Utc,
};

use crate::AuthService;
use crate::account::MASTER_EMAIL;

/// The name of the key a login hands out; each login replaces the previous one.
pub const SESSION_KEY_NAME: &str = "playground";

/// What a successful login gets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The id of the session key (0 for the master key).
    pub id: ApiKeyId,
    /// The key itself, shown this once.
    pub key: Secret,
    /// When the key stops working; `None` for the master key.
    pub expires: Option<DateTime<Utc>>,
}

/// Exchanges an email and a password for a session key.
#[derive(Clone)]
pub struct LoginService {
    users: Arc<dyn UserRepository>,
    keys: Arc<dyn ApiKeyRepository>,
    hasher: Arc<dyn PasswordHasher>,
    generator: Arc<dyn KeyGenerator>,
    clock: Arc<dyn Clock>,
    auth: AuthService,
    session: TimeDelta,
}

impl LoginService {
    /// A service checking passwords of `users` with `hasher`, storing session keys in `keys` for
    /// `session_seconds`, and recognising the master key through `auth`.
    pub fn new(
        users: Arc<dyn UserRepository>,
        keys: Arc<dyn ApiKeyRepository>,
        hasher: Arc<dyn PasswordHasher>,
        generator: Arc<dyn KeyGenerator>,
        clock: Arc<dyn Clock>,
        auth: AuthService,
        session_seconds: NonZeroU32,
    ) -> Self {
        Self {
            users,
            keys,
            hasher,
            generator,
            clock,
            auth,
            session: TimeDelta::seconds(i64::from(session_seconds.get())),
        }
    }

    /// Checks `email` and `password` and hands out a fresh session key, which replaces the
    /// previous one: that one stops working at once.
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
    /// `InvalidCredentials`; `AccountExpired`; `Unavailable` when the storage cannot be reached.
    pub async fn login(&self, email: &str, password: Secret) -> Result<Session, DomainError> {
        if email == MASTER_EMAIL {
            return self.login_master(password).await;
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
        let verified = self.hasher.verify(password, hash).await?;
        let user = match user {
            Some(user) if verified => user,
            _ => return Err(DomainError::InvalidCredentials),
        };
        let now = self.clock.now();
        if expires.is_some_and(|expires| expires <= now) {
            return Err(DomainError::AccountExpired);
        }
        let expires = Expiry::future(now + self.session, now).map_err(DomainError::unexpected)?;
        let name = Name::parse(SESSION_KEY_NAME).map_err(DomainError::unexpected)?;
        let generated = self.generator.generate()?;
        let key = self
            .keys
            .replace_named(NewApiKey {
                name,
                user,
                hash: generated.hash,
                masked: generated.masked,
                project: None,
                expires: Some(expires),
            })
            .await?;
        Ok(Session {
            id: key.id,
            key: generated.secret,
            expires: key.expires,
        })
    }

    /// The master key is checked in constant time; a wrong one costs a password verification all
    /// the same, so that guessing it is as slow as guessing a password.
    async fn login_master(&self, password: Secret) -> Result<Session, DomainError> {
        if self.auth.is_master_key(password.expose()) {
            return Ok(Session {
                id: ApiKeyId(0),
                key: password,
                expires: None,
            });
        }
        self.hasher.verify(password, None).await?;
        Err(DomainError::InvalidCredentials)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now};
    use gatehouse_domain::{
        ApiKey, Credentials, GeneratedKey, KeyHash, MockApiKeyRepository, MockKeyGenerator,
        MockPasswordHasher, MockUserRepository, PasswordHash, UserId,
    };
    use mockall::predicate::{always, eq, function};

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

    fn service(
        users: MockUserRepository,
        keys: MockApiKeyRepository,
        hasher: MockPasswordHasher,
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
            .login("ada@example.com\0", Secret::new("right-password"))
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
            .with(function(|new: &NewApiKey| {
                new.user == UserId(7)
                    && new.project.is_none()
                    && new.name.as_str() == SESSION_KEY_NAME
                    && new.hash == KeyHash::new(b"sk-session".to_vec())
                    && new.expires.map(Expiry::at)
                        == Some(now() + TimeDelta::seconds(SESSION_SECONDS.into()))
            }))
            .times(1)
            .returning(|new| {
                Ok(ApiKey {
                    id: ApiKeyId(31),
                    name: new.name,
                    user: new.user,
                    masked: new.masked,
                    project: new.project,
                    expires: new.expires.map(Expiry::at),
                    created: now(),
                })
            });
        let session = service(users(None), keys, hasher())
            .login("ADA@example.com", Secret::new("right-password"))
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
                .login(email, Secret::new(password))
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
            .login("nobody@example.com", Secret::new("whatever"))
            .await;
        assert!(matches!(result, Err(DomainError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn an_expired_account_is_told_only_with_the_right_password() {
        let expired = Some(now() - TimeDelta::seconds(1));
        let result = service(users(expired), no_key_is_stored(), hasher())
            .login("ada@example.com", Secret::new("right-password"))
            .await;
        assert!(matches!(result, Err(DomainError::AccountExpired)));
        let result = service(users(expired), no_key_is_stored(), hasher())
            .login("ada@example.com", Secret::new("wrong-password"))
            .await;
        assert!(matches!(result, Err(DomainError::InvalidCredentials)));
    }

    #[tokio::test]
    async fn the_master_logs_in_with_the_master_key_and_gets_it_back() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials_by_email().never();
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().never();
        let session = service(users, no_key_is_stored(), hasher)
            .login(MASTER_EMAIL, Secret::new(MASTER))
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
            .login(MASTER_EMAIL, Secret::new("not-the-master-key"))
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
            .login("ada@example.com", Secret::new("right-password"))
            .await;
        assert!(matches!(result, Err(DomainError::Unavailable(_))));
    }
}
