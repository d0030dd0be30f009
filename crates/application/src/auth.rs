//! Authentication: who a bearer key belongs to.

use std::sync::Arc;

use gatehouse_domain::{
    API_KEY_PREFIX, ApiKeyRepository, Clock, DomainError, KeyGenerator, KeyHash, Origin, Secret,
};
use subtle::ConstantTimeEq;

use crate::Principal;
use crate::principal::ProjectScope;

/// Resolves a bearer key to the [`Principal`] it authenticates.
#[derive(Clone)]
pub struct AuthService {
    keys: Arc<dyn ApiKeyRepository>,
    generator: Arc<dyn KeyGenerator>,
    clock: Arc<dyn Clock>,
    master_key: KeyHash,
}

impl AuthService {
    /// A service that knows the configured master key (only by its hash) and looks other keys up
    /// in `keys`.
    pub fn new(
        keys: Arc<dyn ApiKeyRepository>,
        generator: Arc<dyn KeyGenerator>,
        clock: Arc<dyn Clock>,
        master_key: &Secret,
    ) -> Self {
        let master_key = generator.hash(master_key.expose());
        Self {
            keys,
            generator,
            clock,
            master_key,
        }
    }

    /// The principal `bearer` authenticates: the master user for the master key, or the owner of
    /// the API key, with their role's permissions and limits and their account's expiry; a
    /// project-bound key acts in its project, under the stricter of the role's and the project's
    /// limits.
    ///
    /// An expired account still authenticates (it may read its own info); actions refuse it with
    /// [`Principal::require`].
    ///
    /// # Errors
    /// `Unauthenticated` for empty credentials; `InvalidApiKey` for a key that is unknown (deleted
    /// keys included) or past its expiry; `Unavailable` when the storage cannot be reached.
    pub async fn authenticate(&self, bearer: &str) -> Result<Principal, DomainError> {
        if bearer.is_empty() {
            return Err(DomainError::Unauthenticated);
        }
        self.identify(bearer).await.1
    }

    /// The hash of `key` and the principal it authenticates, for a gateway that asks about the
    /// keys of its own clients: the hash tells one key's calls from another's even when the key
    /// authenticates no one (an empty key is merely invalid here).
    ///
    /// # Errors
    /// As [`AuthService::authenticate`], with `InvalidApiKey` for an empty key too.
    pub async fn identify(&self, key: &str) -> (KeyHash, Result<Principal, DomainError>) {
        let hash = self.generator.hash(key);
        let principal = self.principal_of(key, &hash).await;
        (hash, principal)
    }

    async fn principal_of(&self, key: &str, hash: &KeyHash) -> Result<Principal, DomainError> {
        if self.is_master_hash(hash) {
            return Ok(Principal::master());
        }
        if !key.starts_with(API_KEY_PREFIX) {
            return Err(DomainError::InvalidApiKey);
        }
        let grant = self
            .keys
            .find_grant_by_hash(hash.clone())
            .await?
            .ok_or(DomainError::InvalidApiKey)?;
        if grant
            .key_expires
            .is_some_and(|expires| expires <= self.clock.now())
        {
            return Err(DomainError::InvalidApiKey);
        }
        Ok(Principal {
            user: grant.user,
            key: Some(grant.key),
            organization: grant.organization,
            role: Some(grant.role),
            budget: grant.budget,
            permissions: grant.permissions,
            role_limits: grant.limits,
            expires: grant.account_expires,
            project: grant.project.map(|project| ProjectScope {
                id: project.id,
                budget: project.budget,
                limits: project.limits,
            }),
            origin: Origin::default(),
        })
    }

    /// The hash `key` is stored and looked up by.
    pub fn hash(&self, key: &str) -> KeyHash {
        self.generator.hash(key)
    }

    /// Whether `candidate` is the master key, compared in constant time (by hash, so that the
    /// length of the key does not show either).
    pub fn is_master_key(&self, candidate: &str) -> bool {
        self.is_master_hash(&self.generator.hash(candidate))
    }

    fn is_master_hash(&self, hash: &KeyHash) -> bool {
        bool::from(hash.as_bytes().ct_eq(self.master_key.as_bytes()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{clock, now};
    use gatehouse_domain::chrono::TimeDelta;
    use gatehouse_domain::{
        ApiKeyId, Budget, DateTime, KeyGrant, Limit, LimitType, Limits, MockApiKeyRepository,
        MockKeyGenerator, OrganizationId, Permission, ProjectGrant, ProjectId, RoleId, UserId, Utc,
    };
    use mockall::predicate::eq;

    const MASTER: &str = "a-master-key-of-some-length";

    /// Hashes a key by reversing its bytes: distinct keys, distinct hashes.
    fn generator() -> MockKeyGenerator {
        let mut generator = MockKeyGenerator::new();
        generator
            .expect_hash()
            .returning(|key| KeyHash::new(key.bytes().rev().collect::<Vec<_>>()));
        generator
    }

    fn hash_of(key: &str) -> KeyHash {
        KeyHash::new(key.bytes().rev().collect::<Vec<_>>())
    }

    fn service(keys: MockApiKeyRepository) -> AuthService {
        AuthService::new(
            Arc::new(keys),
            Arc::new(generator()),
            clock(),
            &Secret::new(MASTER),
        )
    }

    fn grant(
        key_expires: Option<DateTime<Utc>>,
        account_expires: Option<DateTime<Utc>>,
    ) -> KeyGrant {
        KeyGrant {
            key: ApiKeyId(9),
            key_expires,
            user: UserId(42),
            account_expires,
            organization: Some(OrganizationId(3)),
            role: RoleId(2),
            budget: Some(Budget::new(4.0).unwrap()),
            permissions: [Permission::ReadMetric].into_iter().collect(),
            limits: Limits::new(vec![Limit::new(1, LimitType::Tpm, Some(100)).unwrap()]).unwrap(),
            project: None,
        }
    }

    #[tokio::test]
    async fn the_master_key_is_user_zero_with_every_permission_and_no_lookup() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_grant_by_hash().never();
        let principal = service(keys).authenticate(MASTER).await.unwrap();
        assert_eq!(principal, Principal::master());
    }

    #[test]
    fn only_the_master_key_is_the_master_key() {
        let auth = service(MockApiKeyRepository::new());
        assert!(auth.is_master_key(MASTER));
        assert!(!auth.is_master_key("a-master-key-of-some-lengtH"));
        assert!(!auth.is_master_key(""));
    }

    #[tokio::test]
    async fn empty_credentials_are_unauthenticated() {
        assert!(matches!(
            service(MockApiKeyRepository::new()).authenticate("").await,
            Err(DomainError::Unauthenticated)
        ));
    }

    #[tokio::test]
    async fn an_api_key_authenticates_its_owner_with_their_roles_rights() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_grant_by_hash()
            .with(eq(hash_of("sk-good")))
            .times(1)
            .returning(|_| Ok(Some(grant(None, None))));
        let principal = service(keys).authenticate("sk-good").await.unwrap();
        assert_eq!(principal.user, UserId(42));
        assert_eq!(principal.key, Some(ApiKeyId(9)));
        assert_eq!(principal.organization, Some(OrganizationId(3)));
        assert_eq!(principal.role, Some(RoleId(2)));
        assert_eq!(principal.budget, Some(Budget::new(4.0).unwrap()));
        assert!(principal.permissions.contains(Permission::ReadMetric));
        assert!(!principal.permissions.contains(Permission::Admin));
        assert_eq!(principal.limits().as_slice().len(), 1);
    }

    #[tokio::test]
    async fn a_project_bound_key_acts_in_its_project_under_the_stricter_limits() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_grant_by_hash().returning(|_| {
            Ok(Some(KeyGrant {
                project: Some(ProjectGrant {
                    id: ProjectId(5),
                    budget: Some(Budget::new(3.5).unwrap()),
                    limits: Limits::new(vec![
                        Limit::new(1, LimitType::Tpm, Some(10)).unwrap(),
                        Limit::new(2, LimitType::Rpm, Some(7)).unwrap(),
                    ])
                    .unwrap(),
                }),
                ..grant(None, None)
            }))
        });
        let principal = service(keys).authenticate("sk-bound").await.unwrap();
        let project_limits = Limits::new(vec![
            Limit::new(1, LimitType::Tpm, Some(10)).unwrap(),
            Limit::new(2, LimitType::Rpm, Some(7)).unwrap(),
        ])
        .unwrap();
        assert_eq!(
            principal.project,
            Some(ProjectScope {
                id: ProjectId(5),
                budget: Some(Budget::new(3.5).unwrap()),
                limits: project_limits.clone(),
            })
        );
        // The role's own limits are kept apart, as they count per user.
        assert_eq!(principal.role_limits, grant(None, None).limits);
        assert_eq!(principal.limits(), project_limits);
    }

    #[tokio::test]
    async fn a_gateway_learns_the_hash_of_any_key_it_asks_about_even_an_invalid_one() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_grant_by_hash().returning(|_| Ok(None));
        let auth = service(keys);
        let (hash, principal) = auth.identify("sk-unknown").await;
        assert_eq!(hash, hash_of("sk-unknown"));
        assert!(matches!(principal, Err(DomainError::InvalidApiKey)));
        let (hash, principal) = auth.identify("").await;
        assert_eq!(hash, hash_of(""));
        assert!(matches!(principal, Err(DomainError::InvalidApiKey)));
        let (_, principal) = auth.identify(MASTER).await;
        assert_eq!(principal.unwrap(), Principal::master());
    }

    #[tokio::test]
    async fn an_unknown_or_deleted_key_is_invalid() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_grant_by_hash().returning(|_| Ok(None));
        assert!(matches!(
            service(keys).authenticate("sk-deleted").await,
            Err(DomainError::InvalidApiKey)
        ));
    }

    #[tokio::test]
    async fn a_bearer_that_is_neither_the_master_key_nor_an_api_key_is_invalid_without_lookup() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_grant_by_hash().never();
        assert!(matches!(
            service(keys).authenticate("not-a-key").await,
            Err(DomainError::InvalidApiKey)
        ));
    }

    #[tokio::test]
    async fn an_expired_key_is_invalid() {
        for expired_at in [now(), now() - TimeDelta::days(1)] {
            let mut keys = MockApiKeyRepository::new();
            keys.expect_find_grant_by_hash()
                .returning(move |_| Ok(Some(grant(Some(expired_at), None))));
            assert!(matches!(
                service(keys).authenticate("sk-old").await,
                Err(DomainError::InvalidApiKey)
            ));
        }
    }

    #[tokio::test]
    async fn a_key_of_an_expired_account_authenticates_but_is_refused_any_action() {
        let mut keys = MockApiKeyRepository::new();
        let expired_at = now() - TimeDelta::seconds(1);
        keys.expect_find_grant_by_hash().returning(move |_| {
            Ok(Some(grant(
                Some(now() + TimeDelta::days(1)),
                Some(expired_at),
            )))
        });
        let principal = service(keys).authenticate("sk-valid").await.unwrap();
        assert_eq!(principal.expires, Some(expired_at));
        assert!(matches!(
            principal.require(Permission::ReadMetric, now()),
            Err(DomainError::AccountExpired)
        ));
    }

    #[tokio::test]
    async fn an_unreachable_store_is_unavailable_not_invalid() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_grant_by_hash()
            .returning(|_| Err(DomainError::Unavailable("connection refused".into())));
        assert!(matches!(
            service(keys).authenticate("sk-any").await,
            Err(DomainError::Unavailable(_))
        ));
    }
}
