//! Use cases of projects: admin-only management of projects and their members.

use std::sync::Arc;

use gatehouse_domain::{
    AuditAction, Clock, DomainError, Entity, MemberOrder, NewProject, OrganizationRepository, Page,
    PageRequest, Permission, Project, ProjectFilter, ProjectId, ProjectMember, ProjectOrder,
    ProjectPatch, ProjectRepository, User, UserId, UserRepository,
};

use crate::Principal;

/// Creates, reads, changes and deletes projects, and manages their members, on behalf of an
/// admin.
#[derive(Clone)]
pub struct ProjectService {
    projects: Arc<dyn ProjectRepository>,
    organizations: Arc<dyn OrganizationRepository>,
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
}

impl ProjectService {
    /// A service storing projects in `projects`, checking organizations and users in the other
    /// two.
    pub fn new(
        projects: Arc<dyn ProjectRepository>,
        organizations: Arc<dyn OrganizationRepository>,
        users: Arc<dyn UserRepository>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            projects,
            organizations,
            users,
            clock,
        }
    }

    /// Creates a project in an organization.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(Organization)`;
    /// `AlreadyExists(Project)` when the organization has a project of that name.
    pub async fn create(&self, actor: &Principal, new: NewProject) -> Result<Project, DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        if self
            .organizations
            .find_by_id(new.organization)
            .await?
            .is_none()
        {
            return Err(DomainError::NotFound(Entity::Organization));
        }
        self.projects
            .create(new, by.audit(AuditAction::Create))
            .await
    }

    /// One project.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(Project)`.
    pub async fn get(&self, actor: &Principal, id: ProjectId) -> Result<Project, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.find(id).await
    }

    /// One page of the projects matching `filter`.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin.
    pub async fn list(
        &self,
        actor: &Principal,
        filter: ProjectFilter,
        page: PageRequest<ProjectOrder>,
    ) -> Result<Page<Project>, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.projects.list(filter, page).await
    }

    /// One page of the projects the caller may bind a key to: those they are a member of, or
    /// under a project-bound key, that project alone. No admin right needed.
    ///
    /// # Errors
    /// `AccountExpired`.
    pub async fn list_own(
        &self,
        actor: &Principal,
        page: PageRequest<ProjectOrder>,
    ) -> Result<Page<Project>, DomainError> {
        actor.require_active(self.clock.now())?;
        if let Some(scope) = &actor.project {
            let project = self.find(scope.id).await?;
            return Ok(Page {
                items: vec![project],
                total: 1,
            });
        }
        let filter = ProjectFilter {
            member: Some(actor.user),
            ..ProjectFilter::default()
        };
        self.projects.list(filter, page).await
    }

    /// Applies a merge patch (limits replace the whole list) and returns the project.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(Project)`;
    /// `AlreadyExists(Project)` when the new name is taken in its organization.
    pub async fn update(
        &self,
        actor: &Principal,
        id: ProjectId,
        patch: ProjectPatch,
    ) -> Result<Project, DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        self.projects
            .update(id, patch, by.audit(AuditAction::Update))
            .await
    }

    /// Deletes a project; its memberships and the keys bound to it go with it.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(Project)`.
    pub async fn delete(&self, actor: &Principal, id: ProjectId) -> Result<(), DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        self.projects
            .delete(id, by.audit(AuditAction::Delete))
            .await
    }

    /// One page of a project's members.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(Project)`.
    pub async fn members(
        &self,
        actor: &Principal,
        project: ProjectId,
        page: PageRequest<MemberOrder>,
    ) -> Result<Page<ProjectMember>, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.find(project).await?;
        self.projects.list_members(project, page).await
    }

    /// Makes a user of the project's organization a member; a member stays one.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(Project)`,
    /// `NotFound(User)`; `NotInOrganization` when the user is not in the project's organization
    /// (checked here for a clear answer, and by the storage against a concurrent move).
    pub async fn add_member(
        &self,
        actor: &Principal,
        project: ProjectId,
        user: UserId,
    ) -> Result<ProjectMember, DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        let found = self.find(project).await?;
        if self.find_user(user).await?.organization != Some(found.organization) {
            return Err(DomainError::NotInOrganization);
        }
        self.projects
            .add_member(project, user, by.audit(AuditAction::AddMember))
            .await
    }

    /// Ends a membership; the user's keys bound to the project stop working at once.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(Project)`,
    /// `NotFound(User)`, or `NotFound(Member)` for a user who is not a member.
    pub async fn remove_member(
        &self,
        actor: &Principal,
        project: ProjectId,
        user: UserId,
    ) -> Result<(), DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        self.find(project).await?;
        self.find_user(user).await?;
        self.projects
            .remove_member(project, user, by.audit(AuditAction::RemoveMember))
            .await
    }

    async fn find(&self, id: ProjectId) -> Result<Project, DomainError> {
        self.projects
            .find_by_id(id)
            .await?
            .ok_or(DomainError::NotFound(Entity::Project))
    }

    async fn find_user(&self, id: UserId) -> Result<User, DomainError> {
        self.users
            .find_by_id(id)
            .await?
            .ok_or(DomainError::NotFound(Entity::User))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{admin, audit, clock, expired_admin, non_admin, now, organization, user};
    use gatehouse_domain::{
        Budget, Limits, MockOrganizationRepository, MockProjectRepository, MockUserRepository,
        Name, OrganizationId, Patch,
    };
    use mockall::predicate::eq;

    /// Mocks, with nothing expected unless a test says so.
    #[derive(Default)]
    struct Ports {
        projects: MockProjectRepository,
        organizations: MockOrganizationRepository,
        users: MockUserRepository,
    }

    impl Ports {
        fn service(self) -> ProjectService {
            ProjectService::new(
                Arc::new(self.projects),
                Arc::new(self.organizations),
                Arc::new(self.users),
                clock(),
            )
        }

        /// Project 3, of organization 1 (the fixtures' users are in organization 1).
        fn with_project(mut self) -> Self {
            self.projects
                .expect_find_by_id()
                .returning(|id| Ok((id == ProjectId(3)).then(|| project(3))));
            self
        }

        /// User 7 of organization 1, user 8 of organization 2, user 9 of none.
        fn with_users(mut self) -> Self {
            self.users.expect_find_by_id().returning(|id| {
                Ok(match id.get() {
                    7 => Some(user(7)),
                    8 => Some(User {
                        organization: Some(OrganizationId(2)),
                        ..user(8)
                    }),
                    9 => Some(User {
                        organization: None,
                        ..user(9)
                    }),
                    _ => None,
                })
            });
            self
        }
    }

    fn project(id: i64) -> Project {
        Project {
            id: ProjectId(id),
            name: Name::parse("Apollo").unwrap(),
            organization: OrganizationId(1),
            budget: Some(Budget::new(100.0).unwrap()),
            limits: Limits::default(),
            members: 0,
            created: now(),
            updated: now(),
        }
    }

    fn apollo(organization: i64) -> NewProject {
        NewProject {
            name: Name::parse("Apollo").unwrap(),
            organization: OrganizationId(organization),
            budget: None,
            limits: Limits::default(),
        }
    }

    fn page() -> PageRequest<MemberOrder> {
        PageRequest::default()
    }

    #[tokio::test]
    async fn every_use_case_needs_an_active_admin() {
        for actor in [non_admin(), expired_admin()] {
            let service = Ports::default().service();
            let expected = |result: Result<(), DomainError>| {
                assert!(
                    matches!(
                        result,
                        Err(DomainError::Forbidden | DomainError::AccountExpired)
                    ),
                    "{result:?}"
                );
            };
            expected(service.create(&actor, apollo(1)).await.map(drop));
            expected(service.get(&actor, ProjectId(3)).await.map(drop));
            expected(
                service
                    .list(&actor, ProjectFilter::default(), PageRequest::default())
                    .await
                    .map(drop),
            );
            expected(
                service
                    .update(&actor, ProjectId(3), ProjectPatch::default())
                    .await
                    .map(drop),
            );
            expected(service.delete(&actor, ProjectId(3)).await);
            expected(
                service
                    .members(&actor, ProjectId(3), page())
                    .await
                    .map(drop),
            );
            expected(
                service
                    .add_member(&actor, ProjectId(3), UserId(7))
                    .await
                    .map(drop),
            );
            expected(service.remove_member(&actor, ProjectId(3), UserId(7)).await);
        }
    }

    #[tokio::test]
    async fn ones_own_projects_are_those_one_is_a_member_of_without_admin_rights() {
        let mut ports = Ports::default();
        ports
            .projects
            .expect_list()
            .with(
                eq(ProjectFilter {
                    organization: None,
                    member: Some(non_admin().user),
                }),
                eq(PageRequest::default()),
            )
            .times(1)
            .returning(|_, _| {
                Ok(Page {
                    items: vec![project(3)],
                    total: 1,
                })
            });
        let service = ports.service();
        let own = service
            .list_own(&non_admin(), PageRequest::default())
            .await
            .unwrap();
        assert_eq!(own.items, [project(3)]);
        assert!(matches!(
            service
                .list_own(&expired_admin(), PageRequest::default())
                .await,
            Err(DomainError::AccountExpired)
        ));
    }

    #[tokio::test]
    async fn under_a_project_bound_key_ones_own_projects_are_that_project_alone() {
        let service = Ports::default().with_project().service();
        let bound = Principal {
            project: Some(crate::principal::ProjectScope {
                id: ProjectId(3),
                budget: None,
                limits: Limits::default(),
            }),
            ..non_admin()
        };
        let own = service
            .list_own(&bound, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(own.total, 1);
        assert_eq!(own.items[0].id, ProjectId(3));
    }

    #[tokio::test]
    async fn a_project_is_created_in_an_existing_organization_only() {
        let mut ports = Ports::default();
        ports
            .organizations
            .expect_find_by_id()
            .returning(|id| Ok((id == OrganizationId(1)).then(|| organization(1, 0))));
        ports
            .projects
            .expect_create()
            .with(eq(apollo(1)), eq(audit(&admin(), AuditAction::Create)))
            .times(1)
            .returning(|_, _| Ok(project(3)));
        let service = ports.service();
        assert_eq!(
            service.create(&admin(), apollo(1)).await.unwrap().id,
            ProjectId(3)
        );
        assert!(matches!(
            service.create(&admin(), apollo(2)).await,
            Err(DomainError::NotFound(Entity::Organization))
        ));
    }

    #[tokio::test]
    async fn an_unknown_project_is_not_found() {
        let service = Ports::default().with_project().service();
        assert!(matches!(
            service.get(&admin(), ProjectId(4)).await,
            Err(DomainError::NotFound(Entity::Project))
        ));
        assert!(matches!(
            service.members(&admin(), ProjectId(4), page()).await,
            Err(DomainError::NotFound(Entity::Project))
        ));
    }

    #[tokio::test]
    async fn a_patch_and_a_delete_go_to_the_storage() {
        let patch = ProjectPatch {
            budget: Patch::Clear,
            ..ProjectPatch::default()
        };
        let mut ports = Ports::default();
        ports
            .projects
            .expect_update()
            .with(
                eq(ProjectId(3)),
                eq(patch.clone()),
                eq(audit(&admin(), AuditAction::Update)),
            )
            .times(1)
            .returning(|_, _, _| Ok(project(3)));
        ports
            .projects
            .expect_delete()
            .with(eq(ProjectId(3)), eq(audit(&admin(), AuditAction::Delete)))
            .times(1)
            .returning(|_, _| Ok(()));
        let service = ports.service();
        service.update(&admin(), ProjectId(3), patch).await.unwrap();
        service.delete(&admin(), ProjectId(3)).await.unwrap();
    }

    #[tokio::test]
    async fn a_user_of_the_projects_organization_becomes_a_member() {
        let mut ports = Ports::default().with_project().with_users();
        ports
            .projects
            .expect_add_member()
            .with(
                eq(ProjectId(3)),
                eq(UserId(7)),
                eq(audit(&admin(), AuditAction::AddMember)),
            )
            .times(1)
            .returning(|project, user, _| {
                Ok(ProjectMember {
                    project,
                    user,
                    created: now(),
                })
            });
        let member = ports
            .service()
            .add_member(&admin(), ProjectId(3), UserId(7))
            .await
            .unwrap();
        assert_eq!(member.user, UserId(7));
    }

    #[tokio::test]
    async fn a_user_of_another_or_of_no_organization_cannot_be_a_member() {
        for user in [8, 9] {
            let mut ports = Ports::default().with_project().with_users();
            ports.projects.expect_add_member().never();
            assert!(matches!(
                ports
                    .service()
                    .add_member(&admin(), ProjectId(3), UserId(user))
                    .await,
                Err(DomainError::NotInOrganization)
            ));
        }
    }

    #[tokio::test]
    async fn membership_changes_name_the_missing_project_or_user() {
        let service = Ports::default().with_project().with_users().service();
        assert!(matches!(
            service.add_member(&admin(), ProjectId(4), UserId(7)).await,
            Err(DomainError::NotFound(Entity::Project))
        ));
        assert!(matches!(
            service.add_member(&admin(), ProjectId(3), UserId(70)).await,
            Err(DomainError::NotFound(Entity::User))
        ));
        assert!(matches!(
            service
                .remove_member(&admin(), ProjectId(4), UserId(7))
                .await,
            Err(DomainError::NotFound(Entity::Project))
        ));
        assert!(matches!(
            service
                .remove_member(&admin(), ProjectId(3), UserId(70))
                .await,
            Err(DomainError::NotFound(Entity::User))
        ));
    }

    #[tokio::test]
    async fn removing_a_user_who_is_not_a_member_is_member_not_found() {
        let mut ports = Ports::default().with_project().with_users();
        ports
            .projects
            .expect_remove_member()
            .with(
                eq(ProjectId(3)),
                eq(UserId(7)),
                eq(audit(&admin(), AuditAction::RemoveMember)),
            )
            .times(1)
            .returning(|_, _, _| Err(DomainError::NotFound(Entity::Member)));
        assert!(matches!(
            ports
                .service()
                .remove_member(&admin(), ProjectId(3), UserId(7))
                .await,
            Err(DomainError::NotFound(Entity::Member))
        ));
    }

    #[tokio::test]
    async fn removing_a_member_records_a_remove_member_by_the_caller() {
        let mut ports = Ports::default().with_project().with_users();
        ports
            .projects
            .expect_remove_member()
            .with(
                eq(ProjectId(3)),
                eq(UserId(7)),
                eq(audit(&admin(), AuditAction::RemoveMember)),
            )
            .times(1)
            .returning(|_, _, _| Ok(()));
        ports
            .service()
            .remove_member(&admin(), ProjectId(3), UserId(7))
            .await
            .unwrap();
    }
}
