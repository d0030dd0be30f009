//! Project bodies, with budgets, limits and members.

use gatehouse_domain::{
    Budget, Name, NewProject, OrganizationId, Project, ProjectMember, ProjectPatch, ValueError,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::money::Amount;
use super::roles::{LimitRequest, LimitResponse, limits};
use super::schema::NameText;
use super::unix;
use crate::error::ApiError;
use crate::input::JsonObject;

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

/// What creates a project.
#[derive(Debug, ToSchema)]
pub struct CreateProjectRequest {
    /// Its name, unique within the organization.
    pub name: NameText,
    /// An existing organization id.
    pub organization: i64,
    /// A number >= 0; `null` or absent for no limit.
    pub budget: Option<Amount>,
    /// Its limits (default none); two with the same `router_id` and `type` are 422. Not `null`.
    #[schema(required = false)]
    pub limits: Vec<LimitRequest>,
}

impl CreateProjectRequest {
    /// Reads and checks the body.
    ///
    /// # Errors
    /// 422 with every invalid field.
    pub fn parse(body: JsonObject) -> Result<NewProject, ApiError> {
        let mut fields = body.fields();
        let name = fields.required_as("name", |name: String| Name::parse(&name));
        let organization = fields.required::<i64>("organization").map(OrganizationId);
        let budget = fields.nullable_as("budget", Budget::new).apply(None);
        let limits = limits(&mut fields);
        fields.finish(|| {
            Some(NewProject {
                name: name?,
                organization: organization?,
                budget,
                limits: limits.unwrap_or_default(),
            })
        })
    }
}

/// A merge patch of a project; `limits`, when given, replace the whole list. `organization`
/// cannot change: sending it is 422.
#[derive(Debug, ToSchema)]
pub struct UpdateProjectRequest {
    /// A new name, unique within the organization; not `null`.
    #[schema(required = false)]
    pub name: NameText,
    /// A new budget >= 0, or `null` for no limit.
    pub budget: Option<Amount>,
    /// The new limits, replacing the old ones; two with the same `router_id` and `type` are 422.
    /// Not `null`.
    #[schema(required = false)]
    pub limits: Vec<LimitRequest>,
}

impl UpdateProjectRequest {
    /// Reads and checks the body.
    ///
    /// # Errors
    /// 422 with every invalid field, `extra_forbidden` on `organization`.
    pub fn parse(body: JsonObject) -> Result<ProjectPatch, ApiError> {
        let mut fields = body.fields();
        if fields.has("organization") {
            let loc = fields.loc("organization");
            fields.push(
                loc,
                ValueError::new(
                    "extra_forbidden",
                    "A project cannot move to another organization.",
                ),
            );
        }
        let name = fields.optional_as("name", |name: String| Name::parse(&name));
        let budget = fields.nullable_as("budget", Budget::new);
        let limits = limits(&mut fields);
        fields.finish(|| {
            Some(ProjectPatch {
                name,
                budget,
                limits,
            })
        })
    }
}
