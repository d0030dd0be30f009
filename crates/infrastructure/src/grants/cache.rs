//! A cache of what keys grant, in front of any [`ApiKeyRepository`]: the hot path of every
//! authenticated request reads a grant, and grants change rarely.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use gatehouse_domain::{
    ApiKey, ApiKeyFilter, ApiKeyId, ApiKeyOrder, ApiKeyRepository, Audit, DomainError, KeyGrant,
    KeyHash, NewApiKey, Page, PageRequest, PasswordHash,
};
use moka::sync::Cache;

use super::changes::GrantChanges;

/// An [`ApiKeyRepository`] whose grants are kept in memory, bounded in number and in age, and
/// served only while they cannot be stale: while the instance hears other instances' changes
/// ([`GrantChanges::trusted`]) and no change happened since they were read (their epoch).
/// Unknown keys are not kept, so that a key works as soon as it is made.
pub struct CachedGrants {
    inner: Arc<dyn ApiKeyRepository>,
    grants: Cache<KeyHash, (u64, KeyGrant)>,
    changes: Arc<GrantChanges>,
}

impl CachedGrants {
    /// Grants of `inner`, at most `capacity` of them, each kept at most `time_to_live`, dropped
    /// by `changes`.
    pub fn new(
        inner: Arc<dyn ApiKeyRepository>,
        capacity: u64,
        time_to_live: Duration,
        changes: Arc<GrantChanges>,
    ) -> Self {
        Self {
            inner,
            grants: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(time_to_live)
                .build(),
            changes,
        }
    }
}

#[async_trait]
impl ApiKeyRepository for CachedGrants {
    async fn create(&self, new: NewApiKey, audit: Audit) -> Result<ApiKey, DomainError> {
        self.inner.create(new, audit).await
    }

    async fn replace_named(
        &self,
        new: NewApiKey,
        password: Option<PasswordHash>,
        audit: Audit,
    ) -> Result<ApiKey, DomainError> {
        self.inner.replace_named(new, password, audit).await
    }

    async fn find_by_id(&self, id: ApiKeyId) -> Result<Option<ApiKey>, DomainError> {
        self.inner.find_by_id(id).await
    }

    async fn list(
        &self,
        filter: ApiKeyFilter,
        page: PageRequest<ApiKeyOrder>,
    ) -> Result<Page<ApiKey>, DomainError> {
        self.inner.list(filter, page).await
    }

    async fn delete(&self, id: ApiKeyId, audit: Audit) -> Result<(), DomainError> {
        self.inner.delete(id, audit).await
    }

    async fn find_grant_by_hash(&self, hash: KeyHash) -> Result<Option<KeyGrant>, DomainError> {
        if !self.changes.trusted() {
            return self.inner.find_grant_by_hash(hash).await;
        }
        // The epoch before the read: a change committed while the read runs moves it, and the
        // grant read then is never served.
        let epoch = self.changes.epoch();
        if let Some((read_in, grant)) = self.grants.get(&hash)
            && read_in == epoch
        {
            return Ok(Some(grant));
        }
        let found = self.inner.find_grant_by_hash(hash.clone()).await?;
        if let Some(grant) = &found {
            self.grants.insert(hash, (epoch, grant.clone()));
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::{
        Limits, MockApiKeyRepository, OrganizationId, Permissions, RoleId, UserId,
    };

    fn grant(key: i64) -> KeyGrant {
        KeyGrant {
            key: ApiKeyId(key),
            key_expires: None,
            user: UserId(7),
            account_expires: None,
            organization: Some(OrganizationId(3)),
            role: RoleId(2),
            budget: None,
            permissions: Permissions::default(),
            limits: Limits::default(),
            project: None,
        }
    }

    /// A repository that answers `reads` reads of grant 70, then none.
    fn reads(reads: usize) -> MockApiKeyRepository {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_grant_by_hash()
            .times(reads)
            .returning(|_| Ok(Some(grant(70))));
        keys
    }

    fn cached(keys: MockApiKeyRepository, changes: &Arc<GrantChanges>) -> CachedGrants {
        CachedGrants::new(
            Arc::new(keys),
            100,
            Duration::from_mins(1),
            Arc::clone(changes),
        )
    }

    /// Changes heard, the connection proved alive for a minute.
    fn listening() -> Arc<GrantChanges> {
        let changes = GrantChanges::new();
        changes.set_listening(true);
        changes.alive_until(std::time::Instant::now() + Duration::from_mins(1));
        changes
    }

    fn hash() -> KeyHash {
        KeyHash::new(b"sk-hash".to_vec())
    }

    #[tokio::test]
    async fn a_grant_is_read_once_while_nothing_changes() {
        let changes = listening();
        let cache = cached(reads(1), &changes);

        for _ in 0..3 {
            let found = cache.find_grant_by_hash(hash()).await.unwrap();
            assert_eq!(found.unwrap().key, ApiKeyId(70));
        }
    }

    #[tokio::test]
    async fn a_change_makes_the_next_use_read_again() {
        let changes = listening();
        let cache = cached(reads(2), &changes);

        cache.find_grant_by_hash(hash()).await.unwrap();
        changes.changed();
        cache.find_grant_by_hash(hash()).await.unwrap();
        cache.find_grant_by_hash(hash()).await.unwrap();
    }

    #[tokio::test]
    async fn without_listening_every_use_reads() {
        let changes = GrantChanges::new();
        let cache = cached(reads(3), &changes);

        for _ in 0..3 {
            cache.find_grant_by_hash(hash()).await.unwrap();
        }
    }

    #[tokio::test]
    async fn a_grant_read_while_a_change_commits_is_not_served() {
        let changes = listening();
        let mut keys = MockApiKeyRepository::new();
        let during = Arc::clone(&changes);
        // The change commits while the first read is under way.
        keys.expect_find_grant_by_hash()
            .times(2)
            .returning(move |_| {
                during.changed();
                Ok(Some(grant(70)))
            });
        let cache = cached(keys, &changes);

        cache.find_grant_by_hash(hash()).await.unwrap();
        cache.find_grant_by_hash(hash()).await.unwrap();
    }

    #[tokio::test]
    async fn an_unknown_key_is_not_kept() {
        let changes = listening();
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_grant_by_hash()
            .times(2)
            .returning(|_| Ok(None));
        let cache = cached(keys, &changes);

        assert!(cache.find_grant_by_hash(hash()).await.unwrap().is_none());
        assert!(cache.find_grant_by_hash(hash()).await.unwrap().is_none());
    }
}
