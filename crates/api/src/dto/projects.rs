//! Project bodies, with budgets, limits and members.

use gatehouse_domain::{Budget, NewProject, OrganizationId, Project, ProjectMember, ProjectPatch};
use serde::Serialize;
use utoipa::ToSchema;

use super::money::{Amount, Money};
use super::roles::{LimitList, LimitResponse};
use super::schema::NameText;
use super::unix;
use crate::input::{Id, Nullable, Optional, Required, request_body};

/// A project.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Project)]
pub struct ProjectResponse {
    /// Always `project`.
    #[schema(value_type = String, example = "project")]
    pub object: &'static str,
    /// Its id.
    pub id: i64,
    /// Its name, unique within its organization.
    pub name: String,
    /// Its organization's id; it never changes.
    pub organization: i64,
    /// What it may still spend; `null` for no limit.
    pub budget: Option<Amount>,
    /// Its rate limits, which narrow its members' for keys bound to it.
    pub limits: Vec<LimitResponse>,
    /// How many members it has.
    pub members: i64,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Last change, Unix seconds.
    pub updated: i64,
}

impl From<Project> for ProjectResponse {
    fn from(project: Project) -> Self {
        Self {
            object: "project",
            id: project.id.get(),
            name: project.name.into_string(),
            organization: project.organization.get(),
            budget: project.budget.map(Amount::from),
            limits: project
                .limits
                .as_slice()
                .iter()
                .map(LimitResponse::from)
                .collect(),
            members: project.members,
            created: unix(project.created),
            updated: unix(project.updated),
        }
    }
}

/// A user's membership of a project.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = ProjectMember)]
pub struct ProjectMemberResponse {
    /// Always `projectMember`.
    #[schema(value_type = String, example = "projectMember")]
    pub object: &'static str,
    /// The project's id.
    pub project: i64,
    /// The member's user id.
    pub user: i64,
    /// When the user joined, Unix seconds.
    pub created: i64,
}

impl From<ProjectMember> for ProjectMemberResponse {
    fn from(member: ProjectMember) -> Self {
        Self {
            object: "projectMember",
            project: member.project.get(),
            user: member.user.get(),
            created: unix(member.created),
        }
    }
}

request_body! {
    /// What creates a project.
    pub struct CreateProjectRequest -> NewProject {
        /// Its name, unique within the organization.
        name: Required<NameText>,
        /// An existing organization id.
        organization: Required<Id<OrganizationId>>,
        /// A number >= 0; `null` or absent for no limit.
        budget: Nullable<Money<Budget>>,
        /// Its limits (default none); two with the same `router_id` and `type` are 422. Not `null`.
        limits: Optional<LimitList>,
    }
}

impl From<CreateProjectRequest> for NewProject {
    fn from(body: CreateProjectRequest) -> Self {
        Self {
            name: body.name,
            organization: body.organization,
            budget: body.budget.apply(None),
            limits: body.limits.unwrap_or_default(),
        }
    }
}

request_body! {
    /// A merge patch of a project; `limits`, when given, replace the whole list.
    #[refuse(organization = "A project cannot move to another organization.")]
    pub struct UpdateProjectRequest -> ProjectPatch {
        /// A new name, unique within the organization; not `null`.
        name: Optional<NameText>,
        /// A new budget >= 0, or `null` for no limit.
        budget: Nullable<Money<Budget>>,
        /// The new limits, replacing the old ones; two with the same `router_id` and `type` are 422.
        /// Not `null`.
        limits: Optional<LimitList>,
    }
}

impl From<UpdateProjectRequest> for ProjectPatch {
    fn from(body: UpdateProjectRequest) -> Self {
        Self {
            name: body.name,
            budget: body.budget,
            limits: body.limits,
        }
    }
}
