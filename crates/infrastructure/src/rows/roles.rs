//! Rows of `roles`, `role_permissions` and `role_limits`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use gatehouse_domain::{DomainError, Limits, Name, Permissions, Role, RoleId};

use crate::error::corrupt;
use crate::rows::{limits_from_stored, limits_to_store, permissions_from_stored};
use crate::schema::{role_limits, role_permissions, roles};

/// A role as stored, with its user count (kept by triggers on `users`) but without its
/// permissions and limits.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = roles, check_for_backend(diesel::pg::Pg))]
pub(crate) struct RoleRow {
    pub id: i64,
    pub name: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub users: i64,
}

impl RoleRow {
    /// The domain's role, from this row and what was read about it in the same transaction or
    /// connection.
    pub fn into_domain(
        self,
        permissions: Vec<RolePermissionRow>,
        limits: Vec<RoleLimitRow>,
    ) -> Result<Role, DomainError> {
        Ok(Role {
            id: RoleId(self.id),
            name: Name::parse(&self.name).map_err(corrupt("roles", "name"))?,
            permissions: permissions_from_rows(permissions)?,
            limits: limits_from_rows(limits)?,
            users: self.users,
            created: self.created,
            updated: self.updated,
        })
    }
}

/// What is inserted; the database fills in the id and the timestamps.
#[derive(Debug, Insertable)]
#[diesel(table_name = roles)]
pub(crate) struct NewRoleRow<'a> {
    pub name: &'a str,
}

/// One permission of a role.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = role_permissions, check_for_backend(diesel::pg::Pg))]
pub(crate) struct RolePermissionRow {
    pub role_id: i64,
    pub permission: String,
}

impl RolePermissionRow {
    /// The rows that store `permissions` for role `role_id`.
    pub fn for_role(role_id: i64, permissions: &Permissions) -> Vec<Self> {
        permissions
            .iter()
            .map(|permission| Self {
                role_id,
                permission: permission.as_str().to_owned(),
            })
            .collect()
    }
}

/// One limit of a role.
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = role_limits, check_for_backend(diesel::pg::Pg))]
pub(crate) struct RoleLimitRow {
    pub role_id: i64,
    pub router_id: i64,
    #[diesel(column_name = type_)]
    pub kind: String,
    pub value: Option<i64>,
}

impl RoleLimitRow {
    /// The rows that store `limits` for role `role_id`.
    pub fn for_role(role_id: i64, limits: &Limits) -> Vec<Self> {
        limits_to_store(limits)
            .map(|(router_id, kind, value)| Self {
                role_id,
                router_id,
                kind,
                value,
            })
            .collect()
    }
}

/// The permissions stored in `rows`.
pub(crate) fn permissions_from_rows(
    rows: Vec<RolePermissionRow>,
) -> Result<Permissions, DomainError> {
    permissions_from_stored(rows.into_iter().map(|row| row.permission))
}

/// The limits stored in `rows`.
pub(crate) fn limits_from_rows(rows: Vec<RoleLimitRow>) -> Result<Limits, DomainError> {
    limits_from_stored(
        "role_limits",
        rows.into_iter()
            .map(|row| (row.router_id, row.kind, row.value)),
    )
}
