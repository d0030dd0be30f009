//! [`ProjectRepository`] on PostgreSQL.

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::dsl::sql;
use diesel::prelude::*;
use diesel::sql_types::BigInt;
use gatehouse_domain::{
    Audit, AuditEntity, DomainError, Entity, MemberOrder, NewProject, Page, PageRequest, Project,
    ProjectFilter, ProjectId, ProjectMember, ProjectOrder, ProjectPatch, ProjectRepository,
    Snapshot, UserId,
};

use crate::audit::AuditTrail;
use crate::db::{PgPool, run_blocking, transaction};
use crate::error::{on_delete, on_query};
use crate::repositories::{lock_row, lock_with_holder, order_by, owned};
use crate::rows::projects::{
    NewProjectRow, ProjectChangeset, ProjectLimitRow, ProjectMemberRow, ProjectRow,
};
use crate::schema::{project_limits, project_members, projects, users};

/// Projects in `projects`, their limits in `project_limits` and their members in
/// `project_members`.
///
/// The database keeps the rules that must hold whoever writes: names unique within an
/// organization, memberships and limits going with their project, and keys bound to a project
/// going with the membership they point at. That a member belongs to the project's organization
/// is checked here, under row locks (see [`ProjectRepository::add_member`]), and kept by
/// [`PgUserRepository::update`](crate::PgUserRepository), which drops the memberships of a user who moves.
///
/// A page of projects is read in two queries whatever its length: the projects with their member
/// counts, then the limits of all of them.
#[derive(Debug, Clone)]
pub struct PgProjectRepository {
    pool: PgPool,
    trail: AuditTrail,
}

impl PgProjectRepository {
    /// An adapter over `pool`, recording its changes on `trail`.
    pub fn new(pool: PgPool, trail: AuditTrail) -> Self {
        Self { pool, trail }
    }
}

/// Records a change of project `id` (or of its members), from `before` to `after`.
fn record(
    trail: &AuditTrail,
    conn: &mut PgConnection,
    audit: &Audit,
    id: ProjectId,
    before: Option<Snapshot>,
    after: Option<Snapshot>,
) -> Result<(), DomainError> {
    trail.change(conn, audit, AuditEntity::Project, id.get(), before, after)
}

/// The project `id`, which must exist.
fn found(conn: &mut PgConnection, id: ProjectId) -> Result<Project, DomainError> {
    find(conn, id.get())?.ok_or(DomainError::NotFound(Entity::Project))
}

/// Projects with their member counts, each a subquery on the primary key of `project_members`
/// run only for the rows of the page (see `organizations`).
macro_rules! with_member_counts {
    () => {
        projects::table.select((
            ProjectRow::as_select(),
            sql::<BigInt>(
                "(SELECT count(*) FROM project_members WHERE project_members.project_id = projects.id)",
            ),
        ))
    };
}

/// Completes `rows` (projects with their member counts) with their limits.
fn with_limits(
    conn: &mut PgConnection,
    rows: Vec<(ProjectRow, i64)>,
) -> Result<Vec<Project>, DomainError> {
    let ids: Vec<i64> = rows.iter().map(|(row, _)| row.id).collect();
    let mut limits: HashMap<i64, Vec<ProjectLimitRow>> = HashMap::new();
    for row in project_limits::table
        .filter(project_limits::project_id.eq_any(&ids))
        .select(ProjectLimitRow::as_select())
        .load(conn)
        .map_err(on_query)?
    {
        limits.entry(row.project_id).or_default().push(row);
    }
    rows.into_iter()
        .map(|(row, members)| {
            let id = row.id;
            row.into_domain(members, limits.remove(&id).unwrap_or_default())
        })
        .collect()
}

/// The project `id` with its limits and member count, if it exists.
fn find(conn: &mut PgConnection, id: i64) -> Result<Option<Project>, DomainError> {
    let Some(row) = with_member_counts!()
        .filter(projects::id.eq(id))
        .first::<(ProjectRow, i64)>(conn)
        .optional()
        .map_err(on_query)?
    else {
        return Ok(None);
    };
    Ok(with_limits(conn, vec![row])?.pop())
}

/// The projects matching `filter`, for the count and the page alike.
fn filtered(filter: ProjectFilter) -> projects::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = projects::table.into_boxed();
    if let Some(organization) = filter.organization {
        query = query.filter(projects::organization_id.eq(organization.get()));
    }
    if let Some(member) = filter.member {
        query = query.filter(projects::id.eq_any(projects_of(member.get())));
    }
    query
}

/// The ids of the projects `user` is a member of.
fn projects_of(
    user: i64,
) -> diesel::dsl::Select<
    diesel::dsl::Filter<project_members::table, diesel::dsl::Eq<project_members::user_id, i64>>,
    project_members::project_id,
> {
    project_members::table
        .filter(project_members::user_id.eq(user))
        .select(project_members::project_id)
}

/// The membership of `user` in `project`, if any.
fn find_member(
    conn: &mut PgConnection,
    project: i64,
    user: i64,
) -> Result<Option<ProjectMember>, DomainError> {
    Ok(project_members::table
        .find((project, user))
        .select(ProjectMemberRow::as_select())
        .first(conn)
        .optional()
        .map_err(on_query)?
        .map(ProjectMember::from))
}

/// Locks, in the order of their ids, project `id` and the project of its organization named
/// `name` now, if any, as a rename does before it writes (see "Changes of a unique value" in
/// `repositories`). A project never changes organization, so reading it unlocked is safe.
fn lock_with_holder(conn: &mut PgConnection, id: i64, name: &str) -> Result<(), DomainError> {
    let organization = projects::table
        .find(id)
        .select(projects::organization_id)
        .first::<i64>(conn)
        .optional()
        .map_err(on_query)?;
    let Some(organization) = organization else {
        // The update that follows finds nothing either, and says so.
        return Ok(());
    };
    lock_with_holder!(
        conn,
        projects,
        id,
        projects::organization_id
            .eq(organization)
            .and(projects::name.eq(name))
    )
}

#[async_trait]
impl ProjectRepository for PgProjectRepository {
    async fn create(&self, new: NewProject, audit: Audit) -> Result<Project, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                let row = diesel::insert_into(projects::table)
                    .values(NewProjectRow {
                        name: new.name.as_str(),
                        organization_id: new.organization.get(),
                        budget_micros: new.budget.map(gatehouse_domain::Budget::micros),
                    })
                    .returning(ProjectRow::as_returning())
                    .get_result(conn)
                    .map_err(on_query)?;
                let limits = ProjectLimitRow::for_project(row.id, &new.limits);
                owned::insert(conn, project_limits::table, limits)?;
                let created = Project {
                    id: ProjectId(row.id),
                    name: new.name,
                    organization: new.organization,
                    budget: new.budget,
                    limits: new.limits,
                    members: 0,
                    created: row.created,
                    updated: row.updated,
                };
                let after = Snapshot::Project(created.clone());
                record(&trail, conn, &audit, created.id, None, Some(after))?;
                Ok(created)
            })
        })
        .await
    }

    async fn find_by_id(&self, id: ProjectId) -> Result<Option<Project>, DomainError> {
        run_blocking(&self.pool, move |conn| find(conn, id.get())).await
    }

    async fn list(
        &self,
        filter: ProjectFilter,
        page: PageRequest<ProjectOrder>,
    ) -> Result<Page<Project>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            let total = filtered(filter)
                .count()
                .get_result::<i64>(conn)
                .map_err(on_query)?;
            let mut query = with_member_counts!().into_boxed();
            if let Some(organization) = filter.organization {
                query = query.filter(projects::organization_id.eq(organization.get()));
            }
            if let Some(member) = filter.member {
                query = query.filter(projects::id.eq_any(projects_of(member.get())));
            }
            let direction = page.direction();
            let id = projects::id;
            let query = match page.order_by() {
                ProjectOrder::Id => order_by!(query, direction, id),
                ProjectOrder::Name => order_by!(query, direction, projects::name, id),
                ProjectOrder::Created => order_by!(query, direction, projects::created, id),
                ProjectOrder::Updated => order_by!(query, direction, projects::updated, id),
            };
            let rows = query
                .offset(page.offset())
                .limit(page.limit())
                .load::<(ProjectRow, i64)>(conn)
                .map_err(on_query)?;
            let items = with_limits(conn, rows)?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn update(
        &self,
        id: ProjectId,
        patch: ProjectPatch,
        audit: Audit,
    ) -> Result<Project, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            if patch.is_empty() {
                // An empty patch changes nothing, so it records nothing.
                return found(conn, id);
            }
            transaction(conn, |conn| {
                match &patch.name {
                    Some(name) => lock_with_holder(conn, id.get(), name.as_str())?,
                    None => lock_row!(conn, projects, id.get(), Entity::Project)?,
                }
                let before = found(conn, id)?;
                // Always write the projects row, even when only the limits change: it bumps
                // `updated` through the trigger.
                let target = projects::table.find(id.get());
                let changeset = ProjectChangeset {
                    name: patch.name.as_ref().map(gatehouse_domain::Name::as_str),
                    budget_micros: patch
                        .budget
                        .clone()
                        .map(gatehouse_domain::Budget::micros)
                        .into_change(),
                };
                if changeset.name.is_none() && changeset.budget_micros.is_none() {
                    diesel::update(target)
                        .set(projects::name.eq(projects::name))
                        .execute(conn)
                } else {
                    diesel::update(target).set(&changeset).execute(conn)
                }
                .map_err(on_query)?;
                if let Some(limits) = &patch.limits {
                    owned::replace(
                        conn,
                        project_limits::table.filter(project_limits::project_id.eq(id.get())),
                        ProjectLimitRow::for_project(id.get(), limits),
                    )?;
                }
                let after = found(conn, id)?;
                let (shown_before, shown_after) =
                    (Snapshot::Project(before), Snapshot::Project(after.clone()));
                record(
                    &trail,
                    conn,
                    &audit,
                    id,
                    Some(shown_before),
                    Some(shown_after),
                )?;
                Ok(after)
            })
        })
        .await
    }

    async fn delete(&self, id: ProjectId, audit: Audit) -> Result<(), DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                lock_row!(conn, projects, id.get(), Entity::Project)?;
                let before = Snapshot::Project(found(conn, id)?);
                // Limits and memberships go by cascade, and with the memberships the bound keys.
                diesel::delete(projects::table.find(id.get()))
                    .execute(conn)
                    .map_err(on_delete)?;
                record(&trail, conn, &audit, id, Some(before), None)
            })
        })
        .await
    }

    async fn list_members(
        &self,
        project: ProjectId,
        page: PageRequest<MemberOrder>,
    ) -> Result<Page<ProjectMember>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            let total = project_members::table
                .filter(project_members::project_id.eq(project.get()))
                .count()
                .get_result::<i64>(conn)
                .map_err(on_query)?;
            let query = project_members::table
                .filter(project_members::project_id.eq(project.get()))
                .select(ProjectMemberRow::as_select())
                .into_boxed();
            let direction = page.direction();
            let user = project_members::user_id;
            let query = match page.order_by() {
                MemberOrder::User => order_by!(query, direction, user),
                MemberOrder::Created => {
                    order_by!(query, direction, project_members::created, user)
                }
            };
            let items = query
                .offset(page.offset())
                .limit(page.limit())
                .load::<ProjectMemberRow>(conn)
                .map_err(on_query)?
                .into_iter()
                .map(ProjectMember::from)
                .collect();
            Ok(Page { items, total })
        })
        .await
    }

    async fn find_member(
        &self,
        project: ProjectId,
        user: UserId,
    ) -> Result<Option<ProjectMember>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            find_member(conn, project.get(), user.get())
        })
        .await
    }

    async fn add_member(
        &self,
        project: ProjectId,
        user: UserId,
        audit: Audit,
    ) -> Result<ProjectMember, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                // KEY SHARE keeps the project from being deleted until commit; its organization
                // never changes, so nothing stronger is needed.
                let project_organization = projects::table
                    .find(project.get())
                    .select(projects::organization_id)
                    .for_key_share()
                    .first::<i64>(conn)
                    .optional()
                    .map_err(on_query)?
                    .ok_or(DomainError::NotFound(Entity::Project))?;
                // SHARE, unlike KEY SHARE, conflicts with the NO KEY UPDATE lock of an UPDATE of
                // the user: a concurrent move to another organization either commits first, and
                // is read here, or waits for this commit and then drops the new membership in the
                // same transaction as the move.
                let user_organization = users::table
                    .find(user.get())
                    .select(users::organization_id)
                    .for_share()
                    .first::<Option<i64>>(conn)
                    .optional()
                    .map_err(on_query)?
                    .ok_or(DomainError::NotFound(Entity::User))?;
                if user_organization != Some(project_organization) {
                    return Err(DomainError::NotInOrganization);
                }
                // A member already is one, and keeps the date they joined: nothing changes, and
                // nothing is recorded.
                let joined = diesel::insert_into(project_members::table)
                    .values((
                        project_members::project_id.eq(project.get()),
                        project_members::user_id.eq(user.get()),
                    ))
                    .on_conflict_do_nothing()
                    .execute(conn)
                    .map_err(on_query)?;
                let member = find_member(conn, project.get(), user.get())?.ok_or_else(|| {
                    DomainError::unexpected("a membership just inserted is not there")
                })?;
                if joined > 0 {
                    let after = Snapshot::Member(member);
                    record(&trail, conn, &audit, project, None, Some(after))?;
                }
                Ok(member)
            })
        })
        .await
    }

    async fn remove_member(
        &self,
        project: ProjectId,
        user: UserId,
        audit: Audit,
    ) -> Result<(), DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                // The user's keys bound to the project go by cascade.
                let member =
                    diesel::delete(project_members::table.find((project.get(), user.get())))
                        .returning(ProjectMemberRow::as_returning())
                        .get_result(conn)
                        .optional()
                        .map_err(on_delete)?
                        .ok_or(DomainError::NotFound(Entity::Member))?;
                let before = Snapshot::Member(ProjectMember::from(member));
                record(&trail, conn, &audit, project, Some(before), None)
            })
        })
        .await
    }
}
