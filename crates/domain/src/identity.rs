//! Single sign-on: who an identity provider says a person is, and the settings that decide
//! whether they may sign in. Kept apart from any library of the protocol, so that the rules of
//! sign-on are tested without a provider.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::error::DomainError;
use crate::ids::{OrganizationId, RoleId};
use crate::secret::Secret;

/// What a verified ID token (and the provider's userinfo) tell of a person: the driving adapter
/// has checked the token's signature, issuer, audience, expiry and nonce before building one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    /// The provider that vouches for the person (the token's `iss`).
    pub issuer: String,
    /// The person's stable id at that provider (the token's `sub`): with `issuer`, what finds
    /// the account again whatever their email becomes.
    pub subject: String,
    /// Their email address, as the provider gives it, if it gives one.
    pub email: Option<String>,
    /// Whether the provider vouches that the address is theirs: only then may it link an
    /// existing account.
    pub email_verified: bool,
    /// Their display name, if the provider gives one.
    pub name: Option<String>,
}

impl Identity {
    /// The domain of the email address, in lower case: what [`SignOnPolicy`] checks.
    fn email_domain(&self) -> Option<String> {
        let email = self.email.as_deref()?;
        let (_, domain) = email.rsplit_once('@')?;
        Some(domain.to_lowercase())
    }
}

/// How sign-on treats people, as configured: a value so that the rules take it as an argument
/// and the configuration is read in one place.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SignOnPolicy {
    /// The role given to the users sign-on creates; `None`: people without an account are
    /// refused.
    pub default_role: Option<RoleId>,
    /// The organization of the users sign-on creates, if any.
    pub default_organization: Option<OrganizationId>,
    /// The email domains allowed to sign in, in lower case; empty for any.
    pub allowed_email_domains: Vec<String>,
}

impl SignOnPolicy {
    /// Whether `identity`'s email domain is among the allowed ones (exactly: a subdomain is
    /// another domain). With no list, anyone may; with one, an identity without an email may
    /// not.
    pub fn allows(&self, identity: &Identity) -> bool {
        if self.allowed_email_domains.is_empty() {
            return true;
        }
        identity
            .email_domain()
            .is_some_and(|domain| self.allowed_email_domains.contains(&domain))
    }
}

/// Where a person lands after signing in: a path of this server, so that sign-on cannot be
/// used to send people to another site with a session in hand (an open redirect).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalRedirect(String);

impl LocalRedirect {
    /// The longest redirect kept: a path is short; more is someone probing.
    pub const MAX_LEN: usize = 2048;

    /// Where a person goes when the sign-in did not say: the console.
    pub fn console() -> Self {
        Self("/console/".to_owned())
    }

    /// `raw` if it is a path of this server: it starts with one `/` (`//host` and `/\host` are
    /// other sites to a browser), holds only printable ASCII (what a `Location` header carries;
    /// anything else arrives percent-encoded) and no backslash, and is at most [`Self::MAX_LEN`]
    /// bytes.
    ///
    /// # Errors
    /// `Err(())` for anything else; the adapter says so in its own words.
    #[allow(clippy::result_unit_err)]
    pub fn parse(raw: &str) -> Result<Self, ()> {
        let local = raw.starts_with('/')
            && !raw.starts_with("//")
            && raw.len() <= Self::MAX_LEN
            && raw.chars().all(|c| c.is_ascii_graphic() && c != '\\');
        if local {
            Ok(Self(raw.to_owned()))
        } else {
            Err(())
        }
    }

    /// The path.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Where to send a person to sign in at the provider, and the secrets the way back needs.
#[derive(Debug, Clone)]
pub struct Authorization {
    /// The provider's authorization address, with the request in its query.
    pub url: String,
    /// The `state` sent, which the provider sends back: what finds the pending sign-in.
    pub state: Secret,
    /// The proof the ID token must carry (`nonce`).
    pub nonce: Secret,
    /// The PKCE verifier of the challenge sent.
    pub verifier: Secret,
}

/// A sign-in sent to the provider and not yet back: kept until the callback or its expiry.
#[derive(Debug, Clone)]
pub struct PendingSignOn {
    /// The `nonce` the ID token must carry.
    pub nonce: Secret,
    /// The PKCE verifier to send with the code.
    pub verifier: Secret,
    /// Where the person goes once signed in.
    pub redirect: LocalRedirect,
    /// When the sign-in can no longer be finished.
    pub expires: DateTime<Utc>,
}

/// An OpenID Connect provider: the protocol behind a port, so that the rules of sign-on are
/// tested with mocks and the library that speaks it stays in an adapter.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait IdentityProvider: Send + Sync {
    /// Fetches what the provider publishes about itself (discovery, keys), unless already
    /// done: at start-up, so that a wrong issuer shows before anyone tries to sign in.
    ///
    /// # Errors
    /// `Unavailable` when the provider cannot be reached or describes itself wrongly.
    async fn discover(&self) -> Result<(), DomainError>;

    /// A new authorization request (code flow, PKCE S256, fresh `state` and `nonce`).
    ///
    /// # Errors
    /// `Unavailable` when the provider's configuration cannot be fetched.
    async fn authorization(&self) -> Result<Authorization, DomainError>;

    /// The identity behind `code`, which the provider sent back for a request made with
    /// `verifier` and `nonce`: the code exchanged, the ID token checked (signature with the
    /// provider's keys, issuer, audience, expiry, nonce), its claims completed by userinfo.
    ///
    /// # Errors
    /// `InvalidSignIn` when the exchange fails or the token is not valid; `Unavailable` when the
    /// provider cannot be reached.
    async fn redeem(
        &self,
        code: Secret,
        verifier: Secret,
        nonce: Secret,
    ) -> Result<Identity, DomainError>;

    /// The identity an ID token obtained elsewhere proves: signature, issuer, audience (this
    /// client) and expiry checked; no nonce, which only the front end that asked for it knows.
    ///
    /// # Errors
    /// `InvalidSignIn` when the token is not valid; `Unavailable` when the provider's keys
    /// cannot be fetched.
    async fn verify(&self, id_token: Secret) -> Result<Identity, DomainError>;
}

/// Keeps the sign-ins sent to the provider until they come back, where every instance sees
/// them: the callback may reach another instance than the one that sent the person away.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait PendingSignOns: Send + Sync {
    /// Keeps `pending` under `state` (an adapter keeps only a digest of it), and may forget
    /// sign-ins that expired before `now`.
    ///
    /// # Errors
    /// `Unavailable` when the storage cannot be reached.
    async fn save(
        &self,
        state: Secret,
        pending: PendingSignOn,
        now: DateTime<Utc>,
    ) -> Result<(), DomainError>;

    /// The sign-in kept under `state`, removed so that it can be finished once only; `None` if
    /// there is none (never sent, already finished, or forgotten). Expiry is the caller's check.
    ///
    /// # Errors
    /// `Unavailable` when the storage cannot be reached.
    async fn take(&self, state: Secret) -> Result<Option<PendingSignOn>, DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn identity(email: Option<&str>) -> Identity {
        Identity {
            issuer: "https://id.example".to_owned(),
            subject: "248289761001".to_owned(),
            email: email.map(str::to_owned),
            email_verified: true,
            name: None,
        }
    }

    fn allowing(domains: &[&str]) -> SignOnPolicy {
        SignOnPolicy {
            allowed_email_domains: domains.iter().map(|d| (*d).to_owned()).collect(),
            ..SignOnPolicy::default()
        }
    }

    #[test]
    fn a_redirect_is_a_path_of_this_server() {
        for local in ["/", "/console/", "/console/keys?page=2#top", "/a//b"] {
            assert_eq!(
                LocalRedirect::parse(local).map(|r| r.0),
                Ok(local.to_owned())
            );
        }
        let long = format!("/{}", "a".repeat(LocalRedirect::MAX_LEN));
        for other in [
            "",
            "console",
            "https://evil.example/",
            "//evil.example/",
            "/\\evil.example/",
            "/console/\n",
            "/console/ keys",
            "/console/é",
            "javascript:alert(1)",
            long.as_str(),
        ] {
            assert_eq!(LocalRedirect::parse(other), Err(()), "{other:?}");
        }
    }

    #[test]
    fn no_list_allows_anyone_even_without_an_email() {
        assert!(allowing(&[]).allows(&identity(None)));
        assert!(allowing(&[]).allows(&identity(Some("ada@anywhere.org"))));
    }

    #[test]
    fn a_list_allows_its_domains_in_any_letter_case() {
        let policy = allowing(&["example.org", "acme.fr"]);
        assert!(policy.allows(&identity(Some("ada@example.org"))));
        assert!(policy.allows(&identity(Some("Ada@Acme.FR"))));
    }

    #[test]
    fn a_list_refuses_other_domains_subdomains_and_no_email() {
        let policy = allowing(&["example.org"]);
        assert!(!policy.allows(&identity(Some("ada@evil.org"))));
        assert!(!policy.allows(&identity(Some("ada@mail.example.org"))));
        assert!(!policy.allows(&identity(Some("ada@example.org.evil.org"))));
        assert!(!policy.allows(&identity(Some("not-an-address"))));
        assert!(!policy.allows(&identity(None)));
    }
}
