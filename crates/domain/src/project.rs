//! Projects: groups of users inside one organization, with a budget and limits of their own, to
//! which API keys can be bound.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::Audit;
use crate::budget::Budget;
use crate::error::DomainError;
use crate::ids::{OrganizationId, ProjectId, UserId};
use crate::name::Name;
use crate::page::{Page, PageRequest, order_fields};
use crate::patch::Patch;
use crate::role::Limits;

/// A project as stored, with the number of its members.
#[derive(Debug, Clone, PartialEq)]
pub struct Project {
    /// Its id.
    pub id: ProjectId,
    /// Its name, unique within its organization.
    pub name: Name,
    /// The organization it belongs to; it never changes.
    pub organization: OrganizationId,
    /// What it may still spend; `None` for no limit.
    pub budget: Option<Budget>,
    /// Its rate limits, which narrow those of its members' roles for keys bound to it.
    pub limits: Limits,
    /// How many members it has.
    pub members: i64,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it, or its limits, last changed.
    pub updated: DateTime<Utc>,
}

/// What is inserted to create a project.
#[derive(Debug, Clone, PartialEq)]
pub struct NewProject {
    /// The name, unique within the organization.
    pub name: Name,
    /// The organization, which must exist.
    pub organization: OrganizationId,
    /// The budget; `None` for no limit.
    pub budget: Option<Budget>,
    /// The rate limits.
    pub limits: Limits,
}

/// A merge patch of a project. The organization is not part of it: a project never moves.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ProjectPatch {
    /// A new name, unique within the organization.
    pub name: Option<Name>,
    /// A new budget, or no limit.
    pub budget: Patch<Budget>,
    /// New limits, replacing the old ones.
    pub limits: Option<Limits>,
}

impl ProjectPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.budget.is_keep() && self.limits.is_none()
    }
}

/// Filters of a project list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ProjectFilter {
    /// Only the projects of this organization.
    pub organization: Option<OrganizationId>,
    /// Only the projects this user is a member of.
    pub member: Option<UserId>,
}

order_fields!(
    /// The fields a project list can be ordered by.
    ProjectOrder {
        Id => "id",
        Name => "name",
        Created => "created",
        Updated => "updated",
    }
);

/// A user's membership of a project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ProjectMember {
    /// The project.
    pub project: ProjectId,
    /// The member.
    pub user: UserId,
    /// When the user joined.
    pub created: DateTime<Utc>,
}

order_fields!(
    /// The fields a member list can be ordered by.
    MemberOrder {
        User => "user",
        Created => "created",
    }
);

/// Stores projects, their limits and their members.
///
/// Every change takes the [`Audit`] of who makes it, and an adapter MUST record it, with the
/// object as it was before and after, in the change's own transaction (see [`crate::audit`]): a
/// change that fails records nothing, and a change that changes nothing (an empty patch)
/// neither.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ProjectRepository: Send + Sync {
    /// Inserts a project and its limits, atomically.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(Organization)` when the organization does
    /// not exist, [`DomainError::AlreadyExists`]`(Project)` when the organization already has a
    /// project of that name.
    async fn create(&self, new: NewProject, audit: Audit) -> Result<Project, DomainError>;

    /// The project with this id, if any.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached; a missing project is
    /// `Ok(None)`.
    async fn find_by_id(&self, id: ProjectId) -> Result<Option<Project>, DomainError>;

    /// One page of the projects matching `filter`, and how many match in all.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn list(
        &self,
        filter: ProjectFilter,
        page: PageRequest<ProjectOrder>,
    ) -> Result<Page<Project>, DomainError>;

    /// Applies a merge patch atomically and returns the project as stored afterwards. An empty
    /// patch changes nothing, `updated` included.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(Project)` when there is no such project,
    /// [`DomainError::AlreadyExists`]`(Project)` when the new name is taken in its organization.
    async fn update(
        &self,
        id: ProjectId,
        patch: ProjectPatch,
        audit: Audit,
    ) -> Result<Project, DomainError>;

    /// Deletes a project with its limits and memberships; the keys bound to it go too, so they
    /// stop working at once.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(Project)` when there is no such project.
    async fn delete(&self, id: ProjectId, audit: Audit) -> Result<(), DomainError>;

    /// One page of a project's members, and how many it has. Says nothing of whether the project
    /// exists: an unknown one has no members.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn list_members(
        &self,
        project: ProjectId,
        page: PageRequest<MemberOrder>,
    ) -> Result<Page<ProjectMember>, DomainError>;

    /// The membership of `user` in `project`, if any.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn find_member(
        &self,
        project: ProjectId,
        user: UserId,
    ) -> Result<Option<ProjectMember>, DomainError>;

    /// Makes `user` a member of `project`; a member already is one, and keeps the date they joined.
    ///
    /// The user's organization is checked in the same transaction as the insert, against a
    /// concurrent move of the user to another organization.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(Project)` or `(User)` when either does not
    /// exist, [`DomainError::NotInOrganization`] when the user is not in the project's
    /// organization.
    async fn add_member(
        &self,
        project: ProjectId,
        user: UserId,
        audit: Audit,
    ) -> Result<ProjectMember, DomainError>;

    /// Ends the membership of `user` in `project`; the user's keys bound to the project go with
    /// it, so they stop working at once.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(Member)` when the user is not a member.
    async fn remove_member(
        &self,
        project: ProjectId,
        user: UserId,
        audit: Audit,
    ) -> Result<(), DomainError>;
}
