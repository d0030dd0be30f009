//! [`RoleRepository`] on PostgreSQL.

use std::collections::HashMap;

use async_trait::async_trait;
use diesel::prelude::*;
use gatehouse_domain::{
    Audit, AuditEntity, DomainError, Entity, NewRole, Page, PageRequest, Role, RoleId, RoleOrder,
    RolePatch, RoleRepository, Snapshot,
};

use crate::audit::AuditTrail;
use crate::db::{PgPool, run_blocking, transaction};
use crate::error::{on_delete, on_query};
use crate::repositories::{lock_row, lock_with_holder, order_by, owned};
use crate::rows::roles::{NewRoleRow, RoleLimitRow, RolePermissionRow, RoleRow};
use crate::schema::{role_limits, role_permissions, roles};

/// Roles in `roles`, their permissions in `role_permissions` and their limits in `role_limits`.
///
/// A page of roles is read in three queries whatever its length: the roles, then the permissions
/// and the limits of all of them. Each role's count of users is a column of its row, kept by
/// triggers on `users` (migration `user_counters`).
#[derive(Debug, Clone)]
pub struct PgRoleRepository {
    pool: PgPool,
    trail: AuditTrail,
}

impl PgRoleRepository {
    /// An adapter over `pool`, recording its changes on `trail`.
    pub fn new(pool: PgPool, trail: AuditTrail) -> Self {
        Self { pool, trail }
    }
}

/// Records a change of role `id`, from `before` to `after`.
fn record(
    trail: &AuditTrail,
    conn: &mut PgConnection,
    audit: &Audit,
    id: RoleId,
    before: Option<Role>,
    after: Option<Role>,
) -> Result<(), DomainError> {
    trail.change(
        conn,
        audit,
        AuditEntity::Role,
        id.get(),
        before.map(Snapshot::Role),
        after.map(Snapshot::Role),
    )
}

/// The role `id`, which must exist.
fn found(conn: &mut PgConnection, id: RoleId) -> Result<Role, DomainError> {
    find(conn, id.get())?.ok_or(DomainError::NotFound(Entity::Role))
}

/// Completes `rows` with their permissions and limits.
fn with_details(conn: &mut PgConnection, rows: Vec<RoleRow>) -> Result<Vec<Role>, DomainError> {
    let ids: Vec<i64> = rows.iter().map(|row| row.id).collect();
    let mut permissions: HashMap<i64, Vec<RolePermissionRow>> = HashMap::new();
    for row in role_permissions::table
        .filter(role_permissions::role_id.eq_any(&ids))
        .select(RolePermissionRow::as_select())
        .load(conn)
        .map_err(on_query)?
    {
        permissions.entry(row.role_id).or_default().push(row);
    }
    let mut limits: HashMap<i64, Vec<RoleLimitRow>> = HashMap::new();
    for row in role_limits::table
        .filter(role_limits::role_id.eq_any(&ids))
        .select(RoleLimitRow::as_select())
        .load(conn)
        .map_err(on_query)?
    {
        limits.entry(row.role_id).or_default().push(row);
    }
    rows.into_iter()
        .map(|row| {
            let id = row.id;
            row.into_domain(
                permissions.remove(&id).unwrap_or_default(),
                limits.remove(&id).unwrap_or_default(),
            )
        })
        .collect()
}

/// The role `id` with its permissions, limits and user count, if it exists.
fn find(conn: &mut PgConnection, id: i64) -> Result<Option<Role>, DomainError> {
    let Some(row) = roles::table
        .find(id)
        .select(RoleRow::as_select())
        .first(conn)
        .optional()
        .map_err(on_query)?
    else {
        return Ok(None);
    };
    Ok(with_details(conn, vec![row])?.pop())
}

#[async_trait]
impl RoleRepository for PgRoleRepository {
    async fn create(&self, new: NewRole, audit: Audit) -> Result<Role, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                let row = diesel::insert_into(roles::table)
                    .values(NewRoleRow {
                        name: new.name.as_str(),
                    })
                    .returning(RoleRow::as_returning())
                    .get_result(conn)
                    .map_err(on_query)?;
                let permissions = RolePermissionRow::for_role(row.id, &new.permissions);
                owned::insert(conn, role_permissions::table, permissions)?;
                let limits = RoleLimitRow::for_role(row.id, &new.limits);
                owned::insert(conn, role_limits::table, limits)?;
                let created = Role {
                    id: RoleId(row.id),
                    name: new.name,
                    permissions: new.permissions,
                    limits: new.limits,
                    users: row.users,
                    created: row.created,
                    updated: row.updated,
                };
                record(
                    &trail,
                    conn,
                    &audit,
                    created.id,
                    None,
                    Some(created.clone()),
                )?;
                Ok(created)
            })
        })
        .await
    }

    async fn find_by_id(&self, id: RoleId) -> Result<Option<Role>, DomainError> {
        run_blocking(&self.pool, move |conn| find(conn, id.get())).await
    }

    async fn list(&self, page: PageRequest<RoleOrder>) -> Result<Page<Role>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            let total = roles::table
                .count()
                .get_result::<i64>(conn)
                .map_err(on_query)?;
            let query = roles::table.select(RoleRow::as_select()).into_boxed();
            let direction = page.direction();
            let id = roles::id;
            let query = match page.order_by() {
                RoleOrder::Id => order_by!(query, direction, id),
                RoleOrder::Name => order_by!(query, direction, roles::name, id),
                RoleOrder::Created => order_by!(query, direction, roles::created, id),
                RoleOrder::Updated => order_by!(query, direction, roles::updated, id),
            };
            let rows = query
                .offset(page.offset())
                .limit(page.limit())
                .load::<RoleRow>(conn)
                .map_err(on_query)?;
            let items = with_details(conn, rows)?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn update(
        &self,
        id: RoleId,
        patch: RolePatch,
        audit: Audit,
    ) -> Result<Role, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            if patch.is_empty() {
                // An empty patch changes nothing, so it records nothing.
                return found(conn, id);
            }
            transaction(conn, |conn| {
                match &patch.name {
                    Some(name) => {
                        lock_with_holder!(conn, roles, id.get(), roles::name.eq(name.as_str()))?;
                    }
                    None => lock_row!(conn, roles, id.get(), Entity::Role)?,
                }
                let before = found(conn, id)?;
                // Always write the roles row, even when only the lists change: it bumps `updated`
                // through the trigger.
                let target = roles::table.find(id.get());
                match &patch.name {
                    Some(name) => diesel::update(target)
                        .set(roles::name.eq(name.as_str()))
                        .execute(conn),
                    None => diesel::update(target)
                        .set(roles::name.eq(roles::name))
                        .execute(conn),
                }
                .map_err(on_query)?;
                if let Some(permissions) = &patch.permissions {
                    owned::replace(
                        conn,
                        role_permissions::table.filter(role_permissions::role_id.eq(id.get())),
                        RolePermissionRow::for_role(id.get(), permissions),
                    )?;
                }
                if let Some(limits) = &patch.limits {
                    owned::replace(
                        conn,
                        role_limits::table.filter(role_limits::role_id.eq(id.get())),
                        RoleLimitRow::for_role(id.get(), limits),
                    )?;
                }
                let after = found(conn, id)?;
                record(&trail, conn, &audit, id, Some(before), Some(after.clone()))?;
                Ok(after)
            })
        })
        .await
    }

    async fn delete(&self, id: RoleId, audit: Audit) -> Result<(), DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                lock_row!(conn, roles, id.get(), Entity::Role)?;
                let before = found(conn, id)?;
                diesel::delete(roles::table.find(id.get()))
                    .execute(conn)
                    .map_err(on_delete)?;
                record(&trail, conn, &audit, id, Some(before), None)
            })
        })
        .await
    }
}
