//! Use cases of organizations: admin-only management.

use std::sync::Arc;

use gatehouse_domain::{
    AuditAction, Clock, DomainError, Entity, NewOrganization, Organization, OrganizationId,
    OrganizationOrder, OrganizationPatch, OrganizationRepository, Page, PageRequest, Permission,
};

use crate::Principal;

/// Creates, reads, changes and deletes organizations on behalf of an admin.
#[derive(Clone)]
pub struct OrganizationService {
    organizations: Arc<dyn OrganizationRepository>,
    clock: Arc<dyn Clock>,
}

impl OrganizationService {
    /// A service storing organizations in `organizations`.
    pub fn new(organizations: Arc<dyn OrganizationRepository>, clock: Arc<dyn Clock>) -> Self {
        Self {
            organizations,
            clock,
        }
    }

    /// Creates an organization.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `AlreadyExists` when the
    /// name is taken.
    pub async fn create(
        &self,
        actor: &Principal,
        new: NewOrganization,
    ) -> Result<Organization, DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        self.organizations
            .create(new, by.audit(AuditAction::Create))
            .await
    }

    /// One organization.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound` when there is
    /// no such organization.
    pub async fn get(
        &self,
        actor: &Principal,
        id: OrganizationId,
    ) -> Result<Organization, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.find(id).await
    }

    /// One page of organizations.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin.
    pub async fn list(
        &self,
        actor: &Principal,
        page: PageRequest<OrganizationOrder>,
    ) -> Result<Page<Organization>, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.organizations.list(page).await
    }

    /// Applies a merge patch and returns the organization as it now is.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound`;
    /// `AlreadyExists` when the new name is taken.
    pub async fn update(
        &self,
        actor: &Principal,
        id: OrganizationId,
        patch: OrganizationPatch,
    ) -> Result<Organization, DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        self.organizations
            .update(id, patch, by.audit(AuditAction::Update))
            .await
    }

    /// Deletes an organization that no user belongs to.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound`; `InUse` while
    /// users belong to it (checked here for a clear answer, and by the storage against races).
    pub async fn delete(&self, actor: &Principal, id: OrganizationId) -> Result<(), DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        let organization = self.find(id).await?;
        if organization.users > 0 {
            return Err(DomainError::InUse {
                entity: Entity::Organization,
                used_by: Entity::User,
            });
        }
        self.organizations
            .delete(id, by.audit(AuditAction::Delete))
            .await
    }

    async fn find(&self, id: OrganizationId) -> Result<Organization, DomainError> {
        self.organizations
            .find_by_id(id)
            .await?
            .ok_or(DomainError::NotFound(Entity::Organization))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{admin, audit, clock, expired_admin, non_admin, organization};
    use gatehouse_domain::{MockOrganizationRepository, Name};
    use mockall::predicate::eq;

    fn service(repository: MockOrganizationRepository) -> OrganizationService {
        OrganizationService::new(Arc::new(repository), clock())
    }

    fn acme() -> NewOrganization {
        NewOrganization {
            name: Name::parse("Acme").unwrap(),
        }
    }

    #[tokio::test]
    async fn an_admin_creates_an_organization() {
        let mut repository = MockOrganizationRepository::new();
        repository
            .expect_create()
            .with(eq(acme()), eq(audit(&admin(), AuditAction::Create)))
            .times(1)
            .returning(|new, _| {
                Ok(Organization {
                    name: new.name,
                    ..organization(1, 0)
                })
            });
        let created = service(repository).create(&admin(), acme()).await.unwrap();
        assert_eq!(created.name.as_str(), "Acme");
    }

    #[tokio::test]
    async fn every_action_needs_the_admin_permission() {
        // No expectation: the repository must not be reached.
        let service = service(MockOrganizationRepository::new());
        let caller = non_admin();
        let id = OrganizationId(1);
        assert!(matches!(
            service.create(&caller, acme()).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service.get(&caller, id).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service.list(&caller, PageRequest::default()).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service
                .update(&caller, id, OrganizationPatch::default())
                .await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service.delete(&caller, id).await,
            Err(DomainError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn an_expired_admin_is_refused_as_expired() {
        let service = service(MockOrganizationRepository::new());
        assert!(matches!(
            service.create(&expired_admin(), acme()).await,
            Err(DomainError::AccountExpired)
        ));
    }

    #[tokio::test]
    async fn a_taken_name_is_reported_as_already_exists() {
        let mut repository = MockOrganizationRepository::new();
        repository
            .expect_create()
            .with(eq(acme()), eq(audit(&admin(), AuditAction::Create)))
            .returning(|_, _| Err(DomainError::AlreadyExists(Entity::Organization)));
        assert!(matches!(
            service(repository).create(&admin(), acme()).await,
            Err(DomainError::AlreadyExists(Entity::Organization))
        ));
    }

    #[tokio::test]
    async fn getting_a_missing_organization_is_not_found() {
        let mut repository = MockOrganizationRepository::new();
        repository
            .expect_find_by_id()
            .with(eq(OrganizationId(9)))
            .returning(|_| Ok(None));
        assert!(matches!(
            service(repository).get(&admin(), OrganizationId(9)).await,
            Err(DomainError::NotFound(Entity::Organization))
        ));
    }

    #[tokio::test]
    async fn listing_passes_the_page_through() {
        let page = PageRequest::new(
            20,
            5,
            OrganizationOrder::Name,
            gatehouse_domain::Direction::Desc,
        )
        .unwrap();
        let mut repository = MockOrganizationRepository::new();
        repository.expect_list().with(eq(page)).returning(|_| {
            Ok(Page {
                items: vec![organization(3, 0)],
                total: 21,
            })
        });
        let listed = service(repository).list(&admin(), page).await.unwrap();
        assert_eq!(listed.total, 21);
        assert_eq!(listed.items[0].id, OrganizationId(3));
    }

    #[tokio::test]
    async fn an_update_passes_the_patch_unchanged() {
        let patch = OrganizationPatch {
            name: Some(Name::parse("Renamed").unwrap()),
        };
        let mut repository = MockOrganizationRepository::new();
        repository
            .expect_update()
            .with(
                eq(OrganizationId(1)),
                eq(patch.clone()),
                eq(audit(&admin(), AuditAction::Update)),
            )
            .times(1)
            .returning(|_, patch, _| {
                Ok(Organization {
                    name: patch.name.unwrap(),
                    ..organization(1, 0)
                })
            });
        let updated = service(repository)
            .update(&admin(), OrganizationId(1), patch)
            .await
            .unwrap();
        assert_eq!(updated.name.as_str(), "Renamed");
    }

    #[tokio::test]
    async fn deleting_an_organization_with_users_is_in_use_and_deletes_nothing() {
        let mut repository = MockOrganizationRepository::new();
        repository
            .expect_find_by_id()
            .returning(|id| Ok(Some(organization(id.get(), 2))));
        repository.expect_delete().never();
        assert!(matches!(
            service(repository)
                .delete(&admin(), OrganizationId(1))
                .await,
            Err(DomainError::InUse {
                entity: Entity::Organization,
                used_by: Entity::User
            })
        ));
    }

    #[tokio::test]
    async fn deleting_a_missing_organization_is_not_found() {
        let mut repository = MockOrganizationRepository::new();
        repository.expect_find_by_id().returning(|_| Ok(None));
        repository.expect_delete().never();
        assert!(matches!(
            service(repository)
                .delete(&admin(), OrganizationId(1))
                .await,
            Err(DomainError::NotFound(Entity::Organization))
        ));
    }

    #[tokio::test]
    async fn deleting_an_empty_organization_deletes_it() {
        let mut repository = MockOrganizationRepository::new();
        repository
            .expect_find_by_id()
            .returning(|id| Ok(Some(organization(id.get(), 0))));
        repository
            .expect_delete()
            .with(
                eq(OrganizationId(1)),
                eq(audit(&admin(), AuditAction::Delete)),
            )
            .times(1)
            .returning(|_, _| Ok(()));
        service(repository)
            .delete(&admin(), OrganizationId(1))
            .await
            .unwrap();
    }
}
