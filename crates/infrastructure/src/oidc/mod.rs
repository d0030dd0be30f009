//! [`IdentityProvider`] over OpenID Connect, with the `openidconnect` crate: discovery, the
//! authorization code flow with PKCE, ID token checks, userinfo. The provider's configuration is
//! fetched on first use and kept; its keys are fetched again when a token names one not among
//! them (a key rotation), at most once per [`KEY_REFETCH_INTERVAL`].

mod http;

use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use chrono::TimeDelta;
use gatehouse_domain::{
    Authorization, Clock, DateTime, DomainError, Identity, IdentityProvider, Secret, Utc,
};
use openidconnect::core::{
    CoreAuthenticationFlow, CoreClient, CoreIdToken, CoreIdTokenClaims, CoreJsonWebKeySet,
    CoreProviderMetadata, CoreUserInfoClaims,
};
use openidconnect::{
    AccessToken, AuthorizationCode, ClaimsVerificationError, ClientId, ClientSecret, CsrfToken,
    EndUserFamilyName, EndUserGivenName, EndUserName, EndpointMaybeSet, EndpointNotSet,
    EndpointSet, IssuerUrl, LocalizedClaim, Nonce, OAuth2TokenResponse, PkceCodeChallenge,
    PkceCodeVerifier, RedirectUrl, RequestTokenError, Scope, SignatureVerificationError,
    TokenResponse,
};
use tokio::sync::Mutex as AsyncMutex;

use self::http::HttpClient;

/// The least time between two fetches of the provider's keys: a token naming an unknown key
/// makes one fetch, and forged tokens must not make the provider's key endpoint ours to flood.
pub const KEY_REFETCH_INTERVAL: TimeDelta = TimeDelta::seconds(10);

/// The least time between two attempts to discover a provider that did not answer: sign-ins
/// meanwhile fail at once instead of each waiting for the provider's timeout in turn.
pub const DISCOVERY_RETRY_INTERVAL: TimeDelta = TimeDelta::seconds(5);

/// A client of one provider, as configured.
#[derive(Debug, Clone)]
pub struct OidcSettings {
    /// The provider's issuer URL, whose `/.well-known/openid-configuration` describes it.
    pub issuer: String,
    /// This server's client id at the provider.
    pub client_id: String,
    /// Its client secret.
    pub client_secret: Secret,
    /// Where the provider sends people back: `PUBLIC_URL` + `/v1/auth/oidc/callback`.
    pub redirect_url: String,
    /// The scopes asked for, beyond `openid`, which is always asked.
    pub scopes: Vec<String>,
}

/// Why settings cannot make a client: a configuration to fix before starting.
#[derive(Debug, thiserror::Error)]
pub enum OidcSettingsError {
    /// The issuer is not a URL.
    #[error("OIDC_ISSUER_URL is not a URL: {0}")]
    Issuer(String),
    /// The redirect is not a URL.
    #[error("the sign-on callback address is not a URL: {0}")]
    Redirect(String),
    /// The HTTP client could not be built.
    #[error("the HTTP client for the identity provider cannot be built: {0}")]
    Client(String),
}

/// What discovery found, and the client made of it.
struct Discovered {
    metadata: CoreProviderMetadata,
    client: Client,
}

/// A client built from discovery: authorization endpoint set, token and userinfo as found.
type Client = CoreClient<
    EndpointSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointNotSet,
    EndpointMaybeSet,
    EndpointMaybeSet,
>;

/// An OpenID Connect provider, reached over HTTP.
pub struct OpenIdProvider {
    issuer: IssuerUrl,
    client_id: ClientId,
    client_secret: ClientSecret,
    redirect: RedirectUrl,
    scopes: Vec<Scope>,
    http: HttpClient,
    clock: Arc<dyn Clock>,
    /// `None` until discovery first succeeds (each sign-in tries until then); a lock so that
    /// concurrent first sign-ins discover once.
    discovered: AsyncMutex<Option<Arc<Discovered>>>,
    /// When the keys were last fetched again.
    last_key_fetch: Mutex<Option<DateTime<Utc>>>,
    /// When discovery last failed, while it has not succeeded.
    last_discovery_failure: Mutex<Option<DateTime<Utc>>>,
}

impl OpenIdProvider {
    /// A client of the provider `settings` describe, judging token times by `clock`. Nothing is
    /// fetched yet: see [`IdentityProvider::discover`].
    ///
    /// # Errors
    /// When a URL of `settings` is not one.
    pub fn new(settings: OidcSettings, clock: Arc<dyn Clock>) -> Result<Self, OidcSettingsError> {
        let issuer = IssuerUrl::new(settings.issuer)
            .map_err(|error| OidcSettingsError::Issuer(error.to_string()))?;
        let redirect = RedirectUrl::new(settings.redirect_url)
            .map_err(|error| OidcSettingsError::Redirect(error.to_string()))?;
        let http =
            HttpClient::new().map_err(|error| OidcSettingsError::Client(error.to_string()))?;
        Ok(Self {
            issuer,
            client_id: ClientId::new(settings.client_id),
            client_secret: ClientSecret::new(settings.client_secret.expose().to_owned()),
            redirect,
            scopes: settings
                .scopes
                .into_iter()
                .filter(|scope| scope != "openid")
                .map(Scope::new)
                .collect(),
            http,
            clock,
            discovered: AsyncMutex::new(None),
            last_key_fetch: Mutex::new(None),
            last_discovery_failure: Mutex::new(None),
        })
    }

    async fn discovered(&self) -> Result<Arc<Discovered>, DomainError> {
        let mut discovered = self.discovered.lock().await;
        if let Some(found) = discovered.as_ref() {
            return Ok(Arc::clone(found));
        }
        let now = self.clock.now();
        let mut failed = self
            .last_discovery_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .to_owned();
        if failed.is_some_and(|at| now - at < DISCOVERY_RETRY_INTERVAL) {
            return Err(DomainError::Unavailable(
                format!(
                    "the identity provider {} did not answer discovery a moment ago",
                    self.issuer.as_str()
                )
                .into(),
            ));
        }
        let metadata = CoreProviderMetadata::discover_async(self.issuer.clone(), &self.http)
            .await
            .map_err(|error| {
                failed = Some(now);
                DomainError::Unavailable(
                    format!(
                        "the identity provider {} cannot be discovered: {}",
                        self.issuer.as_str(),
                        chain(&error)
                    )
                    .into(),
                )
            });
        *self
            .last_discovery_failure
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = failed.filter(|_| metadata.is_err());
        let metadata = metadata?;
        let found = Arc::new(self.client_of(metadata));
        *discovered = Some(Arc::clone(&found));
        Ok(found)
    }

    fn client_of(&self, metadata: CoreProviderMetadata) -> Discovered {
        let client = CoreClient::from_provider_metadata(
            metadata.clone(),
            self.client_id.clone(),
            Some(self.client_secret.clone()),
        )
        .set_redirect_uri(self.redirect.clone());
        Discovered { metadata, client }
    }

    /// The provider's keys fetched again, if `stale` still holds the ones in use and they were
    /// not fetched within [`KEY_REFETCH_INTERVAL`]; `None` when nothing was fetched.
    async fn refetch_keys(
        &self,
        stale: &Arc<Discovered>,
    ) -> Result<Option<Arc<Discovered>>, DomainError> {
        let now = self.clock.now();
        {
            let mut last = self
                .last_key_fetch
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            if last.is_some_and(|at| now - at < KEY_REFETCH_INTERVAL) {
                return Ok(None);
            }
            *last = Some(now);
        }
        let jwks = CoreJsonWebKeySet::fetch_async(stale.metadata.jwks_uri(), &self.http)
            .await
            .map_err(|error| {
                DomainError::Unavailable(
                    format!(
                        "the identity provider's keys cannot be fetched: {}",
                        chain(&error)
                    )
                    .into(),
                )
            })?;
        tracing::info!(
            keys = jwks.keys().len(),
            "fetched the identity provider's keys again"
        );
        let fresh = Arc::new(self.client_of(stale.metadata.clone().set_jwks(jwks)));
        *self.discovered.lock().await = Some(Arc::clone(&fresh));
        Ok(Some(fresh))
    }

    /// The claims of `token` checked with `discovered`'s keys and `nonce` (none: any), its keys
    /// fetched again once if the token names a key not among them.
    async fn claims(
        &self,
        discovered: Arc<Discovered>,
        token: &CoreIdToken,
        nonce: Option<&Nonce>,
    ) -> Result<CoreIdTokenClaims, DomainError> {
        match self.check(&discovered, token, nonce) {
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => match self.refetch_keys(&discovered).await? {
                Some(fresh) => self.check(&fresh, token, nonce),
                None => Err(ClaimsVerificationError::SignatureVerification(
                    SignatureVerificationError::NoMatchingKey,
                )),
            },
            checked => checked,
        }
        .map_err(|error| refused("the ID token", &error))
    }

    fn check(
        &self,
        discovered: &Discovered,
        token: &CoreIdToken,
        nonce: Option<&Nonce>,
    ) -> Result<CoreIdTokenClaims, ClaimsVerificationError> {
        let clock = Arc::clone(&self.clock);
        let verifier = discovered
            .client
            .id_token_verifier()
            .set_time_fn(move || clock.now());
        match nonce {
            Some(nonce) => token.claims(&verifier, nonce).cloned(),
            None => token.claims(&verifier, |_: Option<&Nonce>| Ok(())).cloned(),
        }
    }

    /// The userinfo of the holder of `access_token`, who must be `claims`' subject, when the
    /// provider has the endpoint.
    async fn user_info(
        &self,
        discovered: &Discovered,
        access_token: AccessToken,
        claims: &CoreIdTokenClaims,
    ) -> Result<Option<CoreUserInfoClaims>, DomainError> {
        let Ok(request) = discovered
            .client
            .user_info(access_token, Some(claims.subject().clone()))
        else {
            return Ok(None);
        };
        request
            .request_async(&self.http)
            .await
            .map(Some)
            .map_err(|error| refused("the userinfo", &error))
    }
}

#[async_trait]
impl IdentityProvider for OpenIdProvider {
    async fn discover(&self) -> Result<(), DomainError> {
        self.discovered().await.map(drop)
    }

    async fn authorization(&self) -> Result<Authorization, DomainError> {
        let discovered = self.discovered().await?;
        let (challenge, verifier) = PkceCodeChallenge::new_random_sha256();
        let (url, state, nonce) = discovered
            .client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                CsrfToken::new_random,
                Nonce::new_random,
            )
            .add_scopes(self.scopes.iter().cloned())
            .set_pkce_challenge(challenge)
            .url();
        Ok(Authorization {
            url: url.into(),
            state: Secret::new(state.into_secret()),
            nonce: Secret::new(nonce.secret().clone()),
            verifier: Secret::new(verifier.into_secret()),
        })
    }

    async fn redeem(
        &self,
        code: Secret,
        verifier: Secret,
        nonce: Secret,
    ) -> Result<Identity, DomainError> {
        let discovered = self.discovered().await?;
        let request = discovered
            .client
            .exchange_code(AuthorizationCode::new(code.expose().to_owned()))
            .map_err(|error| refused("the code exchange", &error))?
            .set_pkce_verifier(PkceCodeVerifier::new(verifier.expose().to_owned()));
        let tokens = request
            .request_async(&self.http)
            .await
            .map_err(|error| match error {
                RequestTokenError::Request(cause) => DomainError::Unavailable(
                    format!(
                        "the identity provider's token endpoint cannot be reached: {}",
                        chain(&cause)
                    )
                    .into(),
                ),
                other => refused("the code exchange", &other),
            })?;
        let token = tokens
            .id_token()
            .ok_or_else(|| refused_because("the token answer has no ID token"))?;
        let nonce = Nonce::new(nonce.expose().to_owned());
        let claims = self
            .claims(Arc::clone(&discovered), token, Some(&nonce))
            .await?;
        let user_info = self
            .user_info(&discovered, tokens.access_token().clone(), &claims)
            .await?;
        Ok(identity(&claims, user_info.as_ref()))
    }

    async fn verify(&self, id_token: Secret) -> Result<Identity, DomainError> {
        let discovered = self.discovered().await?;
        let token: CoreIdToken = id_token
            .expose()
            .parse()
            .map_err(|_| refused_because("the ID token is not a JWT"))?;
        let claims = self.claims(discovered, &token, None).await?;
        Ok(identity(&claims, None))
    }
}

/// The identity `claims` prove, completed by `user_info` where they say nothing: the email
/// and whether it is verified are taken from the same source, never mixed.
fn identity(claims: &CoreIdTokenClaims, user_info: Option<&CoreUserInfoClaims>) -> Identity {
    let (email, email_verified) = match (claims.email(), user_info) {
        (Some(email), _) => (Some(email.as_str().to_owned()), claims.email_verified()),
        (None, Some(info)) => (
            info.email().map(|email| email.as_str().to_owned()),
            info.email_verified(),
        ),
        (None, None) => (None, None),
    };
    let name = full_name(claims.name(), claims.given_name(), claims.family_name()).or_else(|| {
        user_info.and_then(|info| full_name(info.name(), info.given_name(), info.family_name()))
    });
    Identity {
        issuer: claims.issuer().to_string(),
        subject: claims.subject().to_string(),
        email,
        email_verified: email_verified.unwrap_or(false),
        name,
    }
}

/// The `name` claim, else `given_name` and `family_name` joined (some providers, ProConnect among
/// them, give no `name`).
fn full_name(
    name: Option<&LocalizedClaim<EndUserName>>,
    given: Option<&LocalizedClaim<EndUserGivenName>>,
    family: Option<&LocalizedClaim<EndUserFamilyName>>,
) -> Option<String> {
    if let Some(name) = name.and_then(|name| name.get(None)) {
        return Some(name.to_string());
    }
    let parts: Vec<String> = [
        given
            .and_then(|given| given.get(None))
            .map(|given| given.to_string()),
        family
            .and_then(|family| family.get(None))
            .map(|family| family.to_string()),
    ]
    .into_iter()
    .flatten()
    .collect();
    (!parts.is_empty()).then(|| parts.join(" "))
}

/// A sign-in refused because of `what`'s `error`, logged (the error's text holds no token: a
/// parse error's body is not in its `Display`) and answered as one sentence.
fn refused(what: &str, error: &dyn std::error::Error) -> DomainError {
    tracing::info!(reason = %chain(error), "{what} was refused");
    DomainError::InvalidSignIn
}

/// A sign-in refused for `reason`, logged.
fn refused_because(reason: &str) -> DomainError {
    tracing::info!(reason, "a sign-in was refused");
    DomainError::InvalidSignIn
}

/// `error` and its causes, one after the other.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim<T>(value: T) -> LocalizedClaim<T> {
        let mut claim = LocalizedClaim::new();
        claim.insert(None, value);
        claim
    }

    #[test]
    fn a_name_is_the_name_claim_else_the_given_and_family_names() {
        let name = claim(EndUserName::new("Ada Lovelace".to_owned()));
        let given = claim(EndUserGivenName::new("Ada".to_owned()));
        let family = claim(EndUserFamilyName::new("Byron".to_owned()));

        assert_eq!(
            full_name(Some(&name), Some(&given), Some(&family)).as_deref(),
            Some("Ada Lovelace")
        );
        assert_eq!(
            full_name(None, Some(&given), Some(&family)).as_deref(),
            Some("Ada Byron")
        );
        assert_eq!(full_name(None, Some(&given), None).as_deref(), Some("Ada"));
        assert_eq!(full_name(None, None, None), None);
    }

    #[test]
    fn an_error_is_told_with_its_causes() {
        let cause = std::io::Error::other("connection refused");
        let error = DomainError::Unavailable(Box::new(cause));
        assert_eq!(chain(&error), "storage unavailable: connection refused");
    }
}
