//! Use cases of roles: admin-only management of permissions and limits.

use std::sync::Arc;

use gatehouse_domain::{
    AuditAction, Clock, DomainError, Entity, NewRole, Page, PageRequest, Permission, Role, RoleId,
    RoleOrder, RolePatch, RoleRepository,
};

use crate::Principal;

/// Creates, reads, changes and deletes roles on behalf of an admin.
#[derive(Clone)]
pub struct RoleService {
    roles: Arc<dyn RoleRepository>,
    clock: Arc<dyn Clock>,
}

impl RoleService {
    /// A service storing roles in `roles`.
    pub fn new(roles: Arc<dyn RoleRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { roles, clock }
    }

    /// Creates a role with its permissions and limits.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `AlreadyExists` when the
    /// name is taken.
    pub async fn create(&self, actor: &Principal, new: NewRole) -> Result<Role, DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        self.roles.create(new, by.audit(AuditAction::Create)).await
    }

    /// One role.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound`.
    pub async fn get(&self, actor: &Principal, id: RoleId) -> Result<Role, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.find(id).await
    }

    /// One page of roles.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin.
    pub async fn list(
        &self,
        actor: &Principal,
        page: PageRequest<RoleOrder>,
    ) -> Result<Page<Role>, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.roles.list(page).await
    }

    /// Applies a patch (permissions and limits replace the whole lists) and returns the role.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound`;
    /// `AlreadyExists` when the new name is taken.
    pub async fn update(
        &self,
        actor: &Principal,
        id: RoleId,
        patch: RolePatch,
    ) -> Result<Role, DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        self.roles
            .update(id, patch, by.audit(AuditAction::Update))
            .await
    }

    /// Deletes a role that no user holds.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound`; `InUse` while
    /// users hold it (checked here for a clear answer, and by the storage against races).
    pub async fn delete(&self, actor: &Principal, id: RoleId) -> Result<(), DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        if self.find(id).await?.users > 0 {
            return Err(DomainError::InUse {
                entity: Entity::Role,
                used_by: Entity::User,
            });
        }
        self.roles.delete(id, by.audit(AuditAction::Delete)).await
    }

    async fn find(&self, id: RoleId) -> Result<Role, DomainError> {
        self.roles
            .find_by_id(id)
            .await?
            .ok_or(DomainError::NotFound(Entity::Role))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{admin, audit, clock, expired_admin, non_admin, role};
    use gatehouse_domain::AuditAction;
    use gatehouse_domain::{Limit, LimitType, Limits, MockRoleRepository, Name, Permissions};
    use mockall::predicate::eq;

    fn service(repository: MockRoleRepository) -> RoleService {
        RoleService::new(Arc::new(repository), clock())
    }

    fn operators() -> NewRole {
        NewRole {
            name: Name::parse("operators").unwrap(),
            permissions: [Permission::ReadMetric].into_iter().collect(),
            limits: Limits::new(vec![Limit::new(1, LimitType::Rpm, Some(60)).unwrap()]).unwrap(),
        }
    }

    #[tokio::test]
    async fn an_admin_creates_a_role_with_its_permissions_and_limits() {
        let mut repository = MockRoleRepository::new();
        repository
            .expect_create()
            .with(eq(operators()), eq(audit(&admin(), AuditAction::Create)))
            .times(1)
            .returning(|new, _| {
                Ok(Role {
                    name: new.name,
                    permissions: new.permissions,
                    limits: new.limits,
                    ..role(1, 0)
                })
            });
        let created = service(repository)
            .create(&admin(), operators())
            .await
            .unwrap();
        assert!(created.permissions.contains(Permission::ReadMetric));
        assert_eq!(created.limits.as_slice().len(), 1);
    }

    #[tokio::test]
    async fn every_action_needs_the_admin_permission() {
        let service = service(MockRoleRepository::new());
        let caller = non_admin();
        let id = RoleId(1);
        assert!(matches!(
            service.create(&caller, operators()).await,
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
            service.update(&caller, id, RolePatch::default()).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service.delete(&caller, id).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service.get(&expired_admin(), id).await,
            Err(DomainError::AccountExpired)
        ));
    }

    #[tokio::test]
    async fn a_taken_name_is_reported_as_already_exists() {
        let mut repository = MockRoleRepository::new();
        repository
            .expect_create()
            .with(eq(operators()), eq(audit(&admin(), AuditAction::Create)))
            .returning(|_, _| Err(DomainError::AlreadyExists(Entity::Role)));
        assert!(matches!(
            service(repository).create(&admin(), operators()).await,
            Err(DomainError::AlreadyExists(Entity::Role))
        ));
    }

    #[tokio::test]
    async fn getting_a_missing_role_is_not_found() {
        let mut repository = MockRoleRepository::new();
        repository.expect_find_by_id().returning(|_| Ok(None));
        assert!(matches!(
            service(repository).get(&admin(), RoleId(5)).await,
            Err(DomainError::NotFound(Entity::Role))
        ));
    }

    #[tokio::test]
    async fn an_update_replaces_the_lists_it_names_and_keeps_the_others() {
        let patch = RolePatch {
            permissions: Some(Permissions::default()),
            ..RolePatch::default()
        };
        let mut repository = MockRoleRepository::new();
        repository
            .expect_update()
            .with(
                eq(RoleId(1)),
                eq(patch.clone()),
                eq(audit(&admin(), AuditAction::Update)),
            )
            .times(1)
            .returning(|id, _, _| Ok(role(id.get(), 0)));
        service(repository)
            .update(&admin(), RoleId(1), patch)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn deleting_a_role_that_users_hold_is_in_use_and_deletes_nothing() {
        let mut repository = MockRoleRepository::new();
        repository
            .expect_find_by_id()
            .returning(|id| Ok(Some(role(id.get(), 1))));
        repository.expect_delete().never();
        assert!(matches!(
            service(repository).delete(&admin(), RoleId(1)).await,
            Err(DomainError::InUse {
                entity: Entity::Role,
                used_by: Entity::User
            })
        ));
    }

    #[tokio::test]
    async fn deleting_a_missing_role_is_not_found() {
        let mut repository = MockRoleRepository::new();
        repository.expect_find_by_id().returning(|_| Ok(None));
        repository.expect_delete().never();
        assert!(matches!(
            service(repository).delete(&admin(), RoleId(1)).await,
            Err(DomainError::NotFound(Entity::Role))
        ));
    }

    #[tokio::test]
    async fn deleting_an_unused_role_deletes_it() {
        let mut repository = MockRoleRepository::new();
        repository
            .expect_find_by_id()
            .returning(|id| Ok(Some(role(id.get(), 0))));
        repository
            .expect_delete()
            .with(eq(RoleId(1)), eq(audit(&admin(), AuditAction::Delete)))
            .times(1)
            .returning(|_, _| Ok(()));
        service(repository)
            .delete(&admin(), RoleId(1))
            .await
            .unwrap();
    }
}
