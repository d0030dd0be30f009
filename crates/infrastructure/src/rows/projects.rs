//! Rows of `projects`, `project_limits` and `project_members`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use gatehouse_domain::{
    DomainError, Limits, Name, OrganizationId, Project, ProjectId, ProjectMember, UserId,
};

use crate::error::corrupt;
use crate::rows::{budget_from_stored, limits_from_stored, limits_to_store};
use crate::schema::{project_limits, project_members, projects};

/// A project as stored, without its limits and member count.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = projects, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ProjectRow {
    pub id: i64,
    pub name: String,
    pub organization_id: i64,
    pub budget_micros: Option<i64>,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl ProjectRow {
    /// The domain's project, from this row and what was read about it on the same connection.
    pub fn into_domain(
        self,
        members: i64,
        limits: Vec<ProjectLimitRow>,
    ) -> Result<Project, DomainError> {
        Ok(Project {
            id: ProjectId(self.id),
            name: Name::parse(&self.name).map_err(corrupt("projects", "name"))?,
            organization: OrganizationId(self.organization_id),
            budget: budget_from_stored("projects", self.budget_micros)?,
            limits: limits_from_rows(limits)?,
            members,
            created: self.created,
            updated: self.updated,
        })
    }
}

/// What is inserted; the database fills in the id and the timestamps.
#[derive(Debug, Insertable)]
#[diesel(table_name = projects)]
pub(crate) struct NewProjectRow<'a> {
    pub name: &'a str,
    pub organization_id: i64,
    pub budget_micros: Option<i64>,
}

/// The columns a patch may change: `None` leaves a column alone, `Some(None)` sets it to NULL.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = projects)]
#[allow(
    clippy::option_option,
    reason = "the three states of a merge patch field"
)]
pub(crate) struct ProjectChangeset<'a> {
    pub name: Option<&'a str>,
    pub budget_micros: Option<Option<i64>>,
}

/// One limit of a project.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = project_limits, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ProjectLimitRow {
    pub project_id: i64,
    pub router_id: i64,
    #[diesel(column_name = type_)]
    pub kind: String,
    pub value: Option<i64>,
}

impl ProjectLimitRow {
    /// The rows that store `limits` for project `project_id`.
    pub fn for_project(project_id: i64, limits: &Limits) -> Vec<Self> {
        limits_to_store(limits)
            .map(|(router_id, kind, value)| Self {
                project_id,
                router_id,
                kind,
                value,
            })
            .collect()
    }
}

/// The limits stored in `rows`.
pub(crate) fn limits_from_rows(rows: Vec<ProjectLimitRow>) -> Result<Limits, DomainError> {
    limits_from_stored(
        "project_limits",
        rows.into_iter()
            .map(|row| (row.router_id, row.kind, row.value)),
    )
}

/// A membership as stored.
#[derive(Debug, Clone, Copy, Queryable, Selectable)]
#[diesel(table_name = project_members, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ProjectMemberRow {
    pub project_id: i64,
    pub user_id: i64,
    pub created: DateTime<Utc>,
}

impl From<ProjectMemberRow> for ProjectMember {
    fn from(row: ProjectMemberRow) -> Self {
        Self {
            project: ProjectId(row.project_id),
            user: UserId(row.user_id),
            created: row.created,
        }
    }
}
