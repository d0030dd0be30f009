//! The OpenID Connect flow around [`SignOnService`]: sending a person to their provider, taking
//! them back exactly once, and accepting an ID token a front end obtained itself. The protocol
//! is the [`IdentityProvider`]'s; what is kept between the two legs is the [`PendingSignOns`]'.

use std::sync::Arc;

use gatehouse_domain::chrono::TimeDelta;
use gatehouse_domain::{
    Clock, DomainError, IdentityProvider, LocalRedirect, Origin, PendingSignOn, PendingSignOns,
    Secret, SignOnPolicy,
};

use crate::SignOnService;
use crate::login::Session;

/// How long a person has to come back from the provider.
pub const SIGN_ON_LIFETIME: TimeDelta = TimeDelta::minutes(10);

/// A sign-in sent to the provider.
#[derive(Debug, Clone)]
pub struct SignOnStart {
    /// The provider's authorization address, to send the person to.
    pub url: String,
    /// The request's `state`, which comes back with the person.
    pub state: Secret,
}

/// Single sign-on with one provider, under one policy: what the sign-on endpoints call.
#[derive(Clone)]
pub struct SignOnFlow {
    provider: Arc<dyn IdentityProvider>,
    pending: Arc<dyn PendingSignOns>,
    clock: Arc<dyn Clock>,
    policy: SignOnPolicy,
    sign_on: SignOnService,
}

impl SignOnFlow {
    /// Sign-on through `provider` under `policy`, keeping the sign-ins under way in `pending`,
    /// resolving accounts and opening sessions with `sign_on`.
    pub fn new(
        provider: Arc<dyn IdentityProvider>,
        pending: Arc<dyn PendingSignOns>,
        clock: Arc<dyn Clock>,
        policy: SignOnPolicy,
        sign_on: SignOnService,
    ) -> Self {
        Self {
            provider,
            pending,
            clock,
            policy,
            sign_on,
        }
    }

    /// Asks the provider to describe itself now rather than at the first sign-in.
    ///
    /// # Errors
    /// `Unavailable` when it cannot be reached or describes itself wrongly.
    pub async fn discover(&self) -> Result<(), DomainError> {
        self.provider.discover().await
    }

    /// Begins a sign-in that will land on `redirect`: the provider's address to send the person
    /// to, and the request's `state`, which a browser adapter binds to the browser (so that a
    /// callback carrying someone else's state is refused there). The request's secrets are kept
    /// for [`SIGN_ON_LIFETIME`].
    ///
    /// # Errors
    /// `Unavailable` when the provider or the storage cannot be reached.
    pub async fn start(&self, redirect: LocalRedirect) -> Result<SignOnStart, DomainError> {
        let authorization = self.provider.authorization().await?;
        let now = self.clock.now();
        let pending = PendingSignOn {
            nonce: authorization.nonce,
            verifier: authorization.verifier,
            redirect,
            expires: now + SIGN_ON_LIFETIME,
        };
        self.pending
            .save(authorization.state.clone(), pending, now)
            .await?;
        Ok(SignOnStart {
            url: authorization.url,
            state: authorization.state,
        })
    }

    /// Finishes the sign-in the provider sent back with `code` and `state`, for a person coming
    /// from `origin`: their session and where they wanted to land. A `state` can finish one
    /// sign-in, once, within its lifetime.
    ///
    /// # Errors
    /// `InvalidSignIn` for an unknown, used or expired `state`, a failed exchange or a bad
    /// token; otherwise as [`SignOnService::sign_in`].
    pub async fn finish(
        &self,
        code: Secret,
        state: Secret,
        origin: Origin,
    ) -> Result<(Session, LocalRedirect), DomainError> {
        let pending = self
            .pending
            .take(state)
            .await?
            .ok_or(DomainError::InvalidSignIn)?;
        if pending.expires <= self.clock.now() {
            return Err(DomainError::InvalidSignIn);
        }
        let identity = self
            .provider
            .redeem(code, pending.verifier, pending.nonce)
            .await?;
        let session = self.sign_on.sign_in(identity, &self.policy, origin).await?;
        Ok((session, pending.redirect))
    }

    /// Signs in with an ID token a front end obtained from the provider itself.
    ///
    /// # Errors
    /// `InvalidSignIn` for a token the provider did not issue to this client or that expired;
    /// otherwise as [`SignOnService::sign_in`].
    pub async fn sign_in_with_token(
        &self,
        id_token: Secret,
        origin: Origin,
    ) -> Result<Session, DomainError> {
        let identity = self.provider.verify(id_token).await?;
        self.sign_on.sign_in(identity, &self.policy, origin).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now, origin, user};
    use gatehouse_domain::{
        ApiKey, ApiKeyId, Authorization, GeneratedKey, Identity, KeyHash, MockApiKeyRepository,
        MockIdentityProvider, MockKeyGenerator, MockPendingSignOns, MockUserRepository, User,
    };
    use mockall::predicate::{always, eq, function};
    use std::num::NonZeroU32;

    const ISSUER: &str = "https://id.example";
    const SUBJECT: &str = "248289761001";

    fn identity() -> Identity {
        Identity {
            issuer: ISSUER.to_owned(),
            subject: SUBJECT.to_owned(),
            email: Some("ada@example.org".to_owned()),
            email_verified: true,
            name: None,
        }
    }

    fn kept(expires: gatehouse_domain::DateTime<gatehouse_domain::Utc>) -> PendingSignOn {
        PendingSignOn {
            nonce: Secret::new("n-0S6_WzA2Mj"),
            verifier: Secret::new("dBjftJeZ4CVP"),
            redirect: LocalRedirect::parse("/console/keys").unwrap(),
            expires,
        }
    }

    /// Accounts where the test identity is user 7.
    fn users() -> MockUserRepository {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_subject()
            .with(eq(ISSUER), eq(SUBJECT))
            .returning(|_, _| {
                Ok(Some(User {
                    sub: Some(SUBJECT.to_owned()),
                    iss: Some(ISSUER.to_owned()),
                    ..user(7)
                }))
            });
        users
    }

    /// Keys that store one session key for user 7.
    fn keys() -> MockApiKeyRepository {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_replace_named()
            .with(
                function(|new: &gatehouse_domain::NewApiKey| {
                    new.user == gatehouse_domain::UserId(7)
                }),
                eq(None),
                always(),
            )
            .times(1)
            .returning(|new, _, _| {
                Ok(ApiKey {
                    id: ApiKeyId(70),
                    name: new.name,
                    user: new.user,
                    masked: new.masked,
                    project: None,
                    expires: new.expires.map(gatehouse_domain::Expiry::at),
                    created: now(),
                })
            });
        keys
    }

    fn flow(
        provider: MockIdentityProvider,
        pending: MockPendingSignOns,
        users: MockUserRepository,
        keys: MockApiKeyRepository,
    ) -> SignOnFlow {
        let mut generator = MockKeyGenerator::new();
        generator.expect_generate().returning(|| {
            Ok(GeneratedKey {
                secret: Secret::new("sk-session"),
                hash: KeyHash::new(b"sk-session".to_vec()),
                masked: "sk-sess...sion".to_owned(),
            })
        });
        let sign_on = SignOnService::new(
            Arc::new(users),
            Arc::new(keys),
            Arc::new(generator),
            clock(),
            NonZeroU32::new(600).unwrap(),
        );
        SignOnFlow::new(
            Arc::new(provider),
            Arc::new(pending),
            clock(),
            SignOnPolicy::default(),
            sign_on,
        )
    }

    #[tokio::test]
    async fn start_keeps_the_requests_secrets_ten_minutes_under_its_state() {
        let mut provider = MockIdentityProvider::new();
        provider.expect_authorization().times(1).returning(|| {
            Ok(Authorization {
                url: "https://id.example/auth?state=xyz".to_owned(),
                state: Secret::new("xyz"),
                nonce: Secret::new("n-0S6_WzA2Mj"),
                verifier: Secret::new("dBjftJeZ4CVP"),
            })
        });
        let mut pending = MockPendingSignOns::new();
        pending
            .expect_save()
            .withf(|state, pending, at| {
                state.expose() == "xyz"
                    && pending.nonce.expose() == "n-0S6_WzA2Mj"
                    && pending.verifier.expose() == "dBjftJeZ4CVP"
                    && pending.redirect.as_str() == "/console/keys"
                    && pending.expires == now() + TimeDelta::minutes(10)
                    && *at == now()
            })
            .times(1)
            .returning(|_, _, _| Ok(()));
        let flow = flow(
            provider,
            pending,
            MockUserRepository::new(),
            MockApiKeyRepository::new(),
        );

        let started = flow
            .start(LocalRedirect::parse("/console/keys").unwrap())
            .await
            .unwrap();

        assert_eq!(started.url, "https://id.example/auth?state=xyz");
        assert_eq!(started.state.expose(), "xyz");
    }

    #[tokio::test]
    async fn start_keeps_nothing_when_the_provider_is_unreachable() {
        let mut provider = MockIdentityProvider::new();
        provider
            .expect_authorization()
            .returning(|| Err(DomainError::Unavailable("connection refused".into())));
        let flow = flow(
            provider,
            MockPendingSignOns::new(),
            MockUserRepository::new(),
            MockApiKeyRepository::new(),
        );

        let error = flow.start(LocalRedirect::console()).await.unwrap_err();

        assert!(matches!(error, DomainError::Unavailable(_)), "{error:?}");
    }

    #[tokio::test]
    async fn finish_redeems_the_code_with_the_kept_secrets_and_opens_a_session() {
        let mut pending = MockPendingSignOns::new();
        pending
            .expect_take()
            .withf(|state| state.expose() == "xyz")
            .times(1)
            .returning(|_| Ok(Some(kept(now() + TimeDelta::seconds(1)))));
        let mut provider = MockIdentityProvider::new();
        provider
            .expect_redeem()
            .withf(|code, verifier, nonce| {
                code.expose() == "code-1"
                    && verifier.expose() == "dBjftJeZ4CVP"
                    && nonce.expose() == "n-0S6_WzA2Mj"
            })
            .times(1)
            .returning(|_, _, _| Ok(identity()));
        let flow = flow(provider, pending, users(), keys());

        let (session, redirect) = flow
            .finish(Secret::new("code-1"), Secret::new("xyz"), origin())
            .await
            .unwrap();

        assert_eq!(session.id, ApiKeyId(70));
        assert_eq!(session.key.expose(), "sk-session");
        assert_eq!(redirect.as_str(), "/console/keys");
    }

    #[tokio::test]
    async fn finish_refuses_an_unknown_or_used_state_without_asking_the_provider() {
        let mut pending = MockPendingSignOns::new();
        pending.expect_take().times(1).returning(|_| Ok(None));
        let flow = flow(
            MockIdentityProvider::new(),
            pending,
            MockUserRepository::new(),
            MockApiKeyRepository::new(),
        );

        let error = flow
            .finish(Secret::new("code-1"), Secret::new("replayed"), origin())
            .await
            .unwrap_err();

        assert!(matches!(error, DomainError::InvalidSignIn), "{error:?}");
    }

    #[tokio::test]
    async fn finish_refuses_a_sign_in_that_came_back_too_late() {
        let mut pending = MockPendingSignOns::new();
        pending
            .expect_take()
            .times(1)
            .returning(|_| Ok(Some(kept(now()))));
        let flow = flow(
            MockIdentityProvider::new(),
            pending,
            MockUserRepository::new(),
            MockApiKeyRepository::new(),
        );

        let error = flow
            .finish(Secret::new("code-1"), Secret::new("xyz"), origin())
            .await
            .unwrap_err();

        assert!(matches!(error, DomainError::InvalidSignIn), "{error:?}");
    }

    #[tokio::test]
    async fn finish_opens_no_session_for_a_token_the_provider_adapter_refused() {
        let mut pending = MockPendingSignOns::new();
        pending
            .expect_take()
            .returning(|_| Ok(Some(kept(now() + TimeDelta::minutes(5)))));
        let mut provider = MockIdentityProvider::new();
        provider
            .expect_redeem()
            .returning(|_, _, _| Err(DomainError::InvalidSignIn));
        let flow = flow(
            provider,
            pending,
            MockUserRepository::new(),
            MockApiKeyRepository::new(),
        );

        let error = flow
            .finish(Secret::new("code-1"), Secret::new("xyz"), origin())
            .await
            .unwrap_err();

        assert!(matches!(error, DomainError::InvalidSignIn), "{error:?}");
    }

    #[tokio::test]
    async fn a_verified_id_token_signs_in_under_the_policy() {
        let mut provider = MockIdentityProvider::new();
        provider
            .expect_verify()
            .withf(|token| token.expose() == "eyJ.token")
            .times(1)
            .returning(|_| Ok(identity()));
        let flow = flow(provider, MockPendingSignOns::new(), users(), keys());

        let session = flow
            .sign_in_with_token(Secret::new("eyJ.token"), origin())
            .await
            .unwrap();

        assert_eq!(session.id, ApiKeyId(70));
    }

    #[tokio::test]
    async fn a_refused_id_token_signs_nobody_in() {
        let mut provider = MockIdentityProvider::new();
        provider
            .expect_verify()
            .returning(|_| Err(DomainError::InvalidSignIn));
        let flow = flow(
            provider,
            MockPendingSignOns::new(),
            MockUserRepository::new(),
            MockApiKeyRepository::new(),
        );

        let error = flow
            .sign_in_with_token(Secret::new("eyJ.forged"), origin())
            .await
            .unwrap_err();

        assert!(matches!(error, DomainError::InvalidSignIn), "{error:?}");
    }
}
