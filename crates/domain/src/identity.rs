//! Single sign-on: who an identity provider says a person is, and the settings that decide
//! whether they may sign in. Kept apart from any library of the protocol, so that the rules of
//! sign-on are tested without a provider.

use crate::ids::{OrganizationId, RoleId};

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
