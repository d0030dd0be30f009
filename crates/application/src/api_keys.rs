//! Use cases of API keys: admins manage everyone's, users manage their own.

use std::fmt;
use std::num::NonZeroU32;
use std::sync::Arc;

use gatehouse_domain::chrono::TimeDelta;
use gatehouse_domain::{
    Actor, ApiKey, ApiKeyFilter, ApiKeyId, ApiKeyOrder, ApiKeyRepository, AuditAction, Clock,
    DateTime, DomainError, Entity, Expiry, KeyGenerator, Name, NewApiKey, Page, PageRequest, Patch,
    Permission, ProjectId, ProjectRepository, Redacted, Secret, UserId, Utc,
};

use crate::{Principal, future_expiry};

/// What is given to create a key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreateApiKey {
    /// Its name.
    pub name: Name,
    /// When it stops working, which must lie in the future; `None` for never, or for the
    /// configured maximum lifetime when there is one.
    pub expires: Option<DateTime<Utc>>,
    /// The project the key acts in, of which its owner must be a member: [`Patch::Set`] names
    /// one, [`Patch::Clear`] (`null`) none; [`Patch::Keep`] (absent) means none too, except for a
    /// key created with a project-bound key, which gets the same project.
    pub project: Patch<ProjectId>,
}

/// A key just created: the only time its secret is known.
///
/// `Debug` is written by hand, not derived, so that it shows the key as stored (masked) only.
#[derive(Clone, PartialEq, Eq)]
pub struct CreatedApiKey {
    /// The key as stored.
    pub key: ApiKey,
    /// The key itself, to show once.
    pub secret: Secret,
}

impl fmt::Debug for CreatedApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CreatedApiKey")
            .field("key", &self.key)
            .field("secret", &Redacted)
            .finish()
    }
}

/// Creates, lists and deletes API keys.
#[derive(Clone)]
pub struct ApiKeyService {
    keys: Arc<dyn ApiKeyRepository>,
    projects: Arc<dyn ProjectRepository>,
    generator: Arc<dyn KeyGenerator>,
    clock: Arc<dyn Clock>,
    max_lifetime_days: Option<NonZeroU32>,
}

impl ApiKeyService {
    /// A service storing keys in `keys` and checking project memberships in `projects`; with
    /// `max_lifetime_days`, no key lives longer than that.
    pub fn new(
        keys: Arc<dyn ApiKeyRepository>,
        projects: Arc<dyn ProjectRepository>,
        generator: Arc<dyn KeyGenerator>,
        clock: Arc<dyn Clock>,
        max_lifetime_days: Option<NonZeroU32>,
    ) -> Self {
        Self {
            keys,
            projects,
            generator,
            clock,
            max_lifetime_days,
        }
    }

    /// Creates a key for any user, as an admin.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `Invalid` for an expiry
    /// that is not in the future; `ExpiryTooFar` beyond the maximum lifetime; `NotFound(User)`;
    /// `NotFound(Project)` when the user is not a member of the key's project.
    pub async fn create_for(
        &self,
        actor: &Principal,
        user: UserId,
        key: CreateApiKey,
    ) -> Result<CreatedApiKey, DomainError> {
        let now = self.clock.now();
        let by = actor.require(Permission::Admin, now)?;
        let project = key.project.clone().apply(None);
        self.create(user, key, project, now, by).await
    }

    /// One key of anyone's, as an admin.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(ApiKey)`.
    pub async fn get(&self, actor: &Principal, id: ApiKeyId) -> Result<ApiKey, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.find(id).await
    }

    /// One page of the keys matching `filter`, as an admin.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin.
    pub async fn list(
        &self,
        actor: &Principal,
        filter: ApiKeyFilter,
        page: PageRequest<ApiKeyOrder>,
    ) -> Result<Page<ApiKey>, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.keys.list(filter, page).await
    }

    /// Deletes anyone's key, as an admin; it stops working at once.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(ApiKey)`.
    pub async fn delete(&self, actor: &Principal, id: ApiKeyId) -> Result<(), DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        self.keys.delete(id, by.audit(AuditAction::Delete)).await
    }

    /// Creates a key for the caller, bound to a project of theirs if the key names one. A
    /// project-bound caller creates keys in its own project only: without `project`, the key is
    /// bound to the same project.
    ///
    /// # Errors
    /// `AccountExpired`; `MasterNotAllowed` for the master key, which is not a stored user;
    /// `Forbidden` when a project-bound caller names another project or none (`null`);
    /// `Invalid` for an expiry that is not in the future; `ExpiryTooFar`; `NotFound(Project)` when
    /// the caller is not a member of the project (whether or not it exists).
    pub async fn create_own(
        &self,
        actor: &Principal,
        key: CreateApiKey,
    ) -> Result<CreatedApiKey, DomainError> {
        let now = self.clock.now();
        let by = actor.require_active(now)?;
        if actor.is_master() {
            return Err(DomainError::MasterNotAllowed);
        }
        let project = match (actor.project.as_ref().map(|scope| scope.id), &key.project) {
            (None, asked) => asked.clone().apply(None),
            (Some(bound), Patch::Keep) => Some(bound),
            (Some(bound), Patch::Set(asked)) if *asked == bound => Some(bound),
            (Some(_), _) => return Err(DomainError::Forbidden),
        };
        self.create(actor.user, key, project, now, by).await
    }

    /// One of the caller's keys; another user's key is not found, and so is, for a project-bound
    /// caller, a key outside its project.
    ///
    /// # Errors
    /// `AccountExpired`; `NotFound(ApiKey)`.
    pub async fn get_own(&self, actor: &Principal, id: ApiKeyId) -> Result<ApiKey, DomainError> {
        actor.require_active(self.clock.now())?;
        self.own(actor, id).await
    }

    /// The key `id` if it is the caller's, within the caller's project if any.
    async fn own(&self, actor: &Principal, id: ApiKeyId) -> Result<ApiKey, DomainError> {
        let key = self.find(id).await?;
        let in_scope = actor
            .project
            .as_ref()
            .is_none_or(|scope| key.project == Some(scope.id));
        if key.user == actor.user && in_scope {
            Ok(key)
        } else {
            Err(DomainError::NotFound(Entity::ApiKey))
        }
    }

    /// One page of the caller's keys; for a project-bound caller, of those bound to its project.
    ///
    /// # Errors
    /// `AccountExpired`.
    pub async fn list_own(
        &self,
        actor: &Principal,
        page: PageRequest<ApiKeyOrder>,
    ) -> Result<Page<ApiKey>, DomainError> {
        actor.require_active(self.clock.now())?;
        let filter = ApiKeyFilter {
            user: Some(actor.user),
            project: actor.project.as_ref().map(|scope| scope.id),
        };
        self.keys.list(filter, page).await
    }

    /// Deletes one of the caller's keys; another user's key is not found and stays.
    ///
    /// # Errors
    /// `AccountExpired`; `NotFound(ApiKey)`.
    pub async fn delete_own(&self, actor: &Principal, id: ApiKeyId) -> Result<(), DomainError> {
        let by = actor.require_active(self.clock.now())?;
        self.own(actor, id).await?;
        self.keys.delete(id, by.audit(AuditAction::Delete)).await
    }

    async fn create(
        &self,
        user: UserId,
        key: CreateApiKey,
        project: Option<ProjectId>,
        now: DateTime<Utc>,
        by: Actor,
    ) -> Result<CreatedApiKey, DomainError> {
        let expires = self.expiry(key.expires, now)?;
        if let Some(project) = project {
            // Checked here for a clear answer; the storage ties the key to the membership too.
            if self.projects.find_member(project, user).await?.is_none() {
                return Err(DomainError::NotFound(Entity::Project));
            }
        }
        let generated = self.generator.generate()?;
        let new = NewApiKey {
            name: key.name,
            user,
            hash: generated.hash,
            masked: generated.masked,
            project,
            expires,
        };
        let stored = self.keys.create(new, by.audit(AuditAction::Create)).await?;
        Ok(CreatedApiKey {
            key: stored,
            secret: generated.secret,
        })
    }

    /// The expiry a new key gets: the requested one if it is in the future and within the
    /// maximum lifetime, or the maximum lifetime when none is requested.
    ///
    /// A maximum so far away that its end is no representable date (the configuration caps it
    /// long before) limits nothing, and a key without `expires` then gets none: checked
    /// arithmetic, so that no setting can make key creation panic.
    fn expiry(
        &self,
        requested: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<Option<Expiry>, DomainError> {
        let latest = self.max_lifetime_days.and_then(|days| {
            TimeDelta::try_days(i64::from(days.get()))
                .and_then(|lifetime| now.checked_add_signed(lifetime))
                .map(|latest| (days, latest))
        });
        match (requested, latest) {
            (Some(at), Some((days, latest))) if at > latest => Err(DomainError::ExpiryTooFar {
                max_days: days.get(),
            }),
            (Some(at), _) => future_expiry("expires", at, now).map(Some),
            (None, Some((_, latest))) => future_expiry("expires", latest, now).map(Some),
            (None, None) => Ok(None),
        }
    }

    async fn find(&self, id: ApiKeyId) -> Result<ApiKey, DomainError> {
        self.keys
            .find_by_id(id)
            .await?
            .ok_or(DomainError::NotFound(Entity::ApiKey))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{admin, audit, caller, clock, expired_admin, non_admin, now};
    use gatehouse_domain::{
        GeneratedKey, KeyHash, MockApiKeyRepository, MockKeyGenerator, MockProjectRepository,
        ProjectMember,
    };
    use mockall::predicate::eq;

    fn generator() -> MockKeyGenerator {
        let mut generator = MockKeyGenerator::new();
        generator.expect_generate().returning(|| {
            Ok(GeneratedKey {
                secret: Secret::new("sk-secret"),
                hash: KeyHash::new(vec![1, 2, 3]),
                masked: "sk-secr...cret".to_owned(),
            })
        });
        generator
    }

    fn service(keys: MockApiKeyRepository, max_days: Option<u32>) -> ApiKeyService {
        with_projects(keys, MockProjectRepository::new(), max_days)
    }

    fn with_projects(
        keys: MockApiKeyRepository,
        projects: MockProjectRepository,
        max_days: Option<u32>,
    ) -> ApiKeyService {
        ApiKeyService::new(
            Arc::new(keys),
            Arc::new(projects),
            Arc::new(generator()),
            clock(),
            max_days.and_then(NonZeroU32::new),
        )
    }

    fn stored(new: &NewApiKey, id: i64) -> ApiKey {
        ApiKey {
            id: ApiKeyId(id),
            name: new.name.clone(),
            user: new.user,
            masked: new.masked.clone(),
            project: new.project,
            expires: new.expires.map(Expiry::at),
            created: now(),
        }
    }

    fn key_of(user: i64, id: i64) -> ApiKey {
        ApiKey {
            id: ApiKeyId(id),
            name: Name::parse("laptop").unwrap(),
            user: UserId(user),
            masked: "sk-abcd...wxyz".to_owned(),
            project: None,
            expires: None,
            created: now(),
        }
    }

    fn laptop(expires: Option<DateTime<Utc>>) -> CreateApiKey {
        CreateApiKey {
            name: Name::parse("laptop").unwrap(),
            expires,
            project: Patch::Keep,
        }
    }

    fn member_of(project: i64, user: i64) -> MockProjectRepository {
        let mut projects = MockProjectRepository::new();
        projects.expect_find_member().returning(move |asked, who| {
            Ok(
                (asked == ProjectId(project) && who == UserId(user)).then(|| ProjectMember {
                    project: asked,
                    user: who,
                    created: now(),
                }),
            )
        });
        projects
    }

    #[tokio::test]
    async fn a_member_binds_an_own_key_to_their_project() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_create()
            .withf(|new, by| {
                new.project == Some(ProjectId(3))
                    && new.user == UserId(42)
                    && *by == audit(&caller(&[], None), AuditAction::Create)
            })
            .times(1)
            .returning(|new, _| Ok(stored(&new, 8)));
        let key = CreateApiKey {
            project: Patch::Set(ProjectId(3)),
            ..laptop(None)
        };
        let created = with_projects(keys, member_of(3, 42), None)
            .create_own(&caller(&[], None), key)
            .await
            .unwrap();
        assert_eq!(created.key.project, Some(ProjectId(3)));
    }

    #[tokio::test]
    async fn a_key_for_a_project_one_is_not_a_member_of_is_project_not_found() {
        for (project, user) in [(4, 42), (3, 5)] {
            let mut keys = MockApiKeyRepository::new();
            keys.expect_create().never();
            let key = CreateApiKey {
                project: Patch::Set(ProjectId(project)),
                ..laptop(None)
            };
            let service = with_projects(keys, member_of(3, 42), None);
            let result = if user == 42 {
                service.create_own(&caller(&[], None), key).await
            } else {
                service.create_for(&admin(), UserId(user), key).await
            };
            assert!(
                matches!(result, Err(DomainError::NotFound(Entity::Project))),
                "{project} {user}"
            );
        }
    }

    #[tokio::test]
    async fn a_created_key_is_stored_as_a_hash_and_its_secret_returned_once() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_create()
            .withf(|new, by| {
                *by == audit(&admin(), AuditAction::Create)
                    && new.hash == KeyHash::new(vec![1, 2, 3])
                    && new.masked == "sk-secr...cret"
                    && new.user == UserId(5)
                    && new.expires.is_none()
            })
            .times(1)
            .returning(|new, _| Ok(stored(&new, 1)));
        let created = service(keys, None)
            .create_for(&admin(), UserId(5), laptop(None))
            .await
            .unwrap();
        assert_eq!(created.secret.expose(), "sk-secret");
        assert_eq!(created.key.user, UserId(5));
        assert_eq!(created.key.masked, "sk-secr...cret");
    }

    #[tokio::test]
    async fn admin_key_management_needs_the_admin_permission() {
        let service = service(MockApiKeyRepository::new(), None);
        let caller = non_admin();
        assert!(matches!(
            service.create_for(&caller, UserId(5), laptop(None)).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service.get(&caller, ApiKeyId(1)).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service
                .list(&caller, ApiKeyFilter::default(), PageRequest::default())
                .await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service.delete(&caller, ApiKeyId(1)).await,
            Err(DomainError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn a_key_for_a_missing_user_is_user_not_found() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_create()
            .withf(|new, by| new.user == UserId(404) && *by == audit(&admin(), AuditAction::Create))
            .returning(|_, _| Err(DomainError::NotFound(Entity::User)));
        assert!(matches!(
            service(keys, None)
                .create_for(&admin(), UserId(404), laptop(None))
                .await,
            Err(DomainError::NotFound(Entity::User))
        ));
    }

    #[tokio::test]
    async fn an_expiry_that_is_not_in_the_future_is_invalid() {
        let service = service(MockApiKeyRepository::new(), None);
        let result = service
            .create_for(&admin(), UserId(5), laptop(Some(now())))
            .await;
        assert!(matches!(result, Err(DomainError::Invalid(v)) if v[0].field == "expires"));
    }

    #[tokio::test]
    async fn an_expiry_beyond_the_maximum_lifetime_is_too_far() {
        let service = service(MockApiKeyRepository::new(), Some(30));
        let result = service
            .create_for(
                &admin(),
                UserId(5),
                laptop(Some(now() + TimeDelta::days(30) + TimeDelta::seconds(1))),
            )
            .await;
        assert!(matches!(
            result,
            Err(DomainError::ExpiryTooFar { max_days: 30 })
        ));
    }

    #[tokio::test]
    async fn an_expiry_at_the_maximum_lifetime_is_accepted() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_create()
            .withf(|new, by| {
                new.expires.map(Expiry::at) == Some(now() + TimeDelta::days(30))
                    && *by == audit(&admin(), AuditAction::Create)
            })
            .times(1)
            .returning(|new, _| Ok(stored(&new, 1)));
        service(keys, Some(30))
            .create_for(
                &admin(),
                UserId(5),
                laptop(Some(now() + TimeDelta::days(30))),
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn without_an_expiry_a_key_gets_the_maximum_lifetime_when_there_is_one() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_create()
            .withf(|new, by| {
                new.expires.map(Expiry::at) == Some(now() + TimeDelta::days(7))
                    && *by == audit(&caller(&[], None), AuditAction::Create)
            })
            .times(1)
            .returning(|new, _| Ok(stored(&new, 1)));
        let created = service(keys, Some(7))
            .create_own(&caller(&[], None), laptop(None))
            .await
            .unwrap();
        assert_eq!(created.key.expires, Some(now() + TimeDelta::days(7)));
    }

    /// `u32::MAX` days lie far past the last date chrono represents (year 262143): the maximum
    /// limits nothing, and key creation still answers rather than panics.
    #[tokio::test]
    async fn a_maximum_lifetime_beyond_any_representable_date_limits_nothing_and_panics_nowhere() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_create()
            .withf(|new, by| {
                new.expires.is_none() && *by == audit(&caller(&[], None), AuditAction::Create)
            })
            .times(1)
            .returning(|new, _| Ok(stored(&new, 1)));
        keys.expect_create()
            .withf(|new, by| {
                new.expires.map(Expiry::at) == Some(now() + TimeDelta::days(365_000))
                    && *by == audit(&admin(), AuditAction::Create)
            })
            .times(1)
            .returning(|new, _| Ok(stored(&new, 2)));
        let service = service(keys, Some(u32::MAX));
        let created = service
            .create_own(&caller(&[], None), laptop(None))
            .await
            .unwrap();
        assert_eq!(created.key.expires, None);
        let far = now() + TimeDelta::days(365_000);
        let created = service
            .create_for(&admin(), UserId(5), laptop(Some(far)))
            .await
            .unwrap();
        assert_eq!(created.key.expires, Some(far));
    }

    #[tokio::test]
    async fn a_user_creates_keys_for_themselves_without_any_permission() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_create()
            .withf(|new, by| {
                new.user == UserId(42) && *by == audit(&caller(&[], None), AuditAction::Create)
            })
            .times(1)
            .returning(|new, _| Ok(stored(&new, 1)));
        service(keys, None)
            .create_own(&caller(&[], None), laptop(None))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn the_master_key_cannot_own_keys() {
        let service = service(MockApiKeyRepository::new(), None);
        assert!(matches!(
            service.create_own(&Principal::master(), laptop(None)).await,
            Err(DomainError::MasterNotAllowed)
        ));
    }

    #[tokio::test]
    async fn an_expired_account_cannot_manage_its_keys() {
        let service = service(MockApiKeyRepository::new(), None);
        let expired = expired_admin();
        assert!(matches!(
            service.create_own(&expired, laptop(None)).await,
            Err(DomainError::AccountExpired)
        ));
        assert!(matches!(
            service.list_own(&expired, PageRequest::default()).await,
            Err(DomainError::AccountExpired)
        ));
        assert!(matches!(
            service.delete_own(&expired, ApiKeyId(1)).await,
            Err(DomainError::AccountExpired)
        ));
    }

    #[tokio::test]
    async fn own_keys_are_listed_with_the_caller_as_filter() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_list()
            .with(
                eq(ApiKeyFilter {
                    user: Some(UserId(42)),
                    project: None,
                }),
                eq(PageRequest::default()),
            )
            .returning(|_, _| {
                Ok(Page {
                    items: vec![key_of(42, 1)],
                    total: 1,
                })
            });
        let page = service(keys, None)
            .list_own(&caller(&[], None), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.items[0].user, UserId(42));
    }

    fn bound_to(project: i64) -> Principal {
        Principal {
            project: Some(crate::principal::ProjectScope {
                id: ProjectId(project),
                budget: None,
                limits: gatehouse_domain::Limits::default(),
            }),
            ..caller(&[], None)
        }
    }

    #[tokio::test]
    async fn a_project_bound_key_creates_keys_in_its_project_only() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_create()
            .withf(|new, by| {
                new.project == Some(ProjectId(3)) && *by == audit(&bound_to(3), AuditAction::Create)
            })
            .times(2)
            .returning(|new, _| Ok(stored(&new, 8)));
        let service = with_projects(keys, member_of(3, 42), None);
        // Without `project`, the new key is bound to the caller's project; naming it is the same.
        for project in [Patch::Keep, Patch::Set(ProjectId(3))] {
            let key = CreateApiKey {
                project,
                ..laptop(None)
            };
            let created = service.create_own(&bound_to(3), key).await.unwrap();
            assert_eq!(created.key.project, Some(ProjectId(3)));
        }
        // Another project, or none, would reach beyond it.
        for project in [Patch::Set(ProjectId(4)), Patch::Clear] {
            let key = CreateApiKey {
                project,
                ..laptop(None)
            };
            assert!(matches!(
                service.create_own(&bound_to(3), key).await,
                Err(DomainError::Forbidden)
            ));
        }
    }

    #[tokio::test]
    async fn a_project_bound_key_reaches_only_the_keys_of_its_project() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_list()
            .with(
                eq(ApiKeyFilter {
                    user: Some(UserId(42)),
                    project: Some(ProjectId(3)),
                }),
                eq(PageRequest::default()),
            )
            .times(1)
            .returning(|_, _| {
                Ok(Page {
                    items: Vec::new(),
                    total: 0,
                })
            });
        keys.expect_find_by_id().returning(|id| {
            Ok(Some(ApiKey {
                project: (id == ApiKeyId(1)).then_some(ProjectId(3)),
                ..key_of(42, id.get())
            }))
        });
        keys.expect_delete()
            .with(
                eq(ApiKeyId(1)),
                eq(audit(&bound_to(3), AuditAction::Delete)),
            )
            .times(1)
            .returning(|_, _| Ok(()));
        let service = service(keys, None);
        service
            .list_own(&bound_to(3), PageRequest::default())
            .await
            .unwrap();
        assert!(service.get_own(&bound_to(3), ApiKeyId(1)).await.is_ok());
        // Key 2 is the caller's, but unbound: outside the project.
        assert!(matches!(
            service.get_own(&bound_to(3), ApiKeyId(2)).await,
            Err(DomainError::NotFound(Entity::ApiKey))
        ));
        assert!(matches!(
            service.delete_own(&bound_to(3), ApiKeyId(2)).await,
            Err(DomainError::NotFound(Entity::ApiKey))
        ));
        service.delete_own(&bound_to(3), ApiKeyId(1)).await.unwrap();
        // An unbound key reaches both.
        assert!(
            service
                .get_own(&caller(&[], None), ApiKeyId(2))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn another_users_key_is_not_found_and_is_not_deleted() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_id()
            .returning(|id| Ok(Some(key_of(7, id.get()))));
        keys.expect_delete().never();
        let service = service(keys, None);
        let me = caller(&[], None);
        assert!(matches!(
            service.get_own(&me, ApiKeyId(1)).await,
            Err(DomainError::NotFound(Entity::ApiKey))
        ));
        assert!(matches!(
            service.delete_own(&me, ApiKeyId(1)).await,
            Err(DomainError::NotFound(Entity::ApiKey))
        ));
    }

    #[tokio::test]
    async fn a_user_deletes_their_own_key() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_id()
            .returning(|id| Ok(Some(key_of(42, id.get()))));
        keys.expect_delete()
            .with(
                eq(ApiKeyId(1)),
                eq(audit(&caller(&[], None), AuditAction::Delete)),
            )
            .times(1)
            .returning(|_, _| Ok(()));
        service(keys, None)
            .delete_own(&caller(&[], None), ApiKeyId(1))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_missing_key_is_not_found() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_id().returning(|_| Ok(None));
        keys.expect_delete()
            .with(eq(ApiKeyId(1)), eq(audit(&admin(), AuditAction::Delete)))
            .times(1)
            .returning(|_, _| Err(DomainError::NotFound(Entity::ApiKey)));
        let service = service(keys, None);
        assert!(matches!(
            service.get(&admin(), ApiKeyId(1)).await,
            Err(DomainError::NotFound(Entity::ApiKey))
        ));
        assert!(matches!(
            service.delete(&admin(), ApiKeyId(1)).await,
            Err(DomainError::NotFound(Entity::ApiKey))
        ));
    }

    #[tokio::test]
    async fn an_own_key_delete_is_recorded_with_the_callers_key_and_origin() {
        let me = caller(&[], None);
        let expected = audit(&me, AuditAction::Delete);
        assert_eq!(expected.actor.user, Some(UserId(42)));
        assert_eq!(expected.actor.key, Some(ApiKeyId(4200)));
        assert!(expected.actor.address.is_some() && expected.actor.request_id.is_some());
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_by_id()
            .returning(|id| Ok(Some(key_of(42, id.get()))));
        keys.expect_delete()
            .with(eq(ApiKeyId(9)), eq(expected))
            .times(1)
            .returning(|_, _| Ok(()));
        service(keys, None)
            .delete_own(&me, ApiKeyId(9))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_admin_deleting_anyones_key_is_recorded_as_the_admin() {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_delete()
            .with(eq(ApiKeyId(3)), eq(audit(&admin(), AuditAction::Delete)))
            .times(1)
            .returning(|_, _| Ok(()));
        service(keys, None)
            .delete(&admin(), ApiKeyId(3))
            .await
            .unwrap();
    }
}
