//! Diesel rows: what is read from and written to each table group, and the conversions to and from
//! the domain's types. Reading a row re-parses it through the domain's constructors, so that data
//! changed behind Gatehouse's back surfaces as an error, never as an invalid value.

pub(crate) mod api_keys;
pub(crate) mod audit;
pub(crate) mod gateway;
pub(crate) mod organizations;
pub(crate) mod projects;
pub(crate) mod roles;
pub(crate) mod users;

use gatehouse_domain::{Budget, DomainError, Limit, LimitType, Limits, Permission, Permissions};

use crate::error::corrupt;

/// The limits stored as `(router_id, type, value)` rows of `table` (`role_limits` and
/// `project_limits` store them alike).
pub(crate) fn limits_from_stored(
    table: &'static str,
    rows: impl IntoIterator<Item = (i64, String, Option<i64>)>,
) -> Result<Limits, DomainError> {
    let limits = rows
        .into_iter()
        .map(|(router_id, kind, value)| {
            let kind = kind.parse::<LimitType>().map_err(corrupt(table, "type"))?;
            Limit::new(router_id, kind, value).map_err(corrupt(table, "value"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Limits::new(limits).map_err(corrupt(table, "type"))
}

/// The `(router_id, type, value)` columns that store each of `limits`, in `role_limits` and
/// `project_limits` alike: what [`limits_from_stored`] reads back.
pub(crate) fn limits_to_store(
    limits: &Limits,
) -> impl Iterator<Item = (i64, String, Option<i64>)> + '_ {
    limits.as_slice().iter().map(|limit| {
        (
            limit.router_id(),
            limit.kind().as_str().to_owned(),
            limit.value(),
        )
    })
}

/// The permissions stored as the `permission` column of `role_permissions`.
pub(crate) fn permissions_from_stored(
    permissions: impl IntoIterator<Item = String>,
) -> Result<Permissions, DomainError> {
    permissions
        .into_iter()
        .map(|permission| {
            permission
                .parse::<Permission>()
                .map_err(corrupt("role_permissions", "permission"))
        })
        .collect()
}

/// A budget read from `table` (in millionths), which the domain must accept; `None` for no limit.
pub(crate) fn budget_from_stored(
    table: &'static str,
    budget_micros: Option<i64>,
) -> Result<Option<Budget>, DomainError> {
    budget_micros
        .map(Budget::from_micros)
        .transpose()
        .map_err(corrupt(table, "budget_micros"))
}
