//! Roles: the permissions and rate limits users get.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::Audit;
use crate::error::{DomainError, ValueError};
use crate::ids::RoleId;
use crate::name::Name;
use crate::page::{Page, PageRequest, order_fields};

/// What a role allows beyond using models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Permission {
    /// Manage organizations, users, roles and keys: every `/v1/admin` endpoint.
    Admin,
    /// Create collections visible to every user.
    CreatePublicCollection,
    /// Read usage metrics.
    ReadMetric,
    /// Register model providers.
    ProvideModels,
    /// Ask for access decisions and report usage on behalf of other keys: what an LLM gateway's
    /// own credential holds (Gatehouse's own permission).
    Gateway,
}

impl Permission {
    /// Every permission, in the contract's order.
    pub const ALL: [Self; 5] = [
        Self::Admin,
        Self::CreatePublicCollection,
        Self::ReadMetric,
        Self::ProvideModels,
        Self::Gateway,
    ];

    /// The word clients send and read.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::CreatePublicCollection => "create_public_collection",
            Self::ReadMetric => "read_metric",
            Self::ProvideModels => "provide_models",
            Self::Gateway => "gateway",
        }
    }

    /// Whether a key bound to a project may use this permission. Administering and acting as a
    /// gateway reach beyond any one project, so a project-bound key never holds them, whatever its
    /// owner's role: the project is a boundary, not a label.
    pub fn acts_within_a_project(self) -> bool {
        !matches!(self, Self::Admin | Self::Gateway)
    }
}

impl FromStr for Permission {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| {
                ValueError::new(
                    "enum",
                    "Input should be 'admin', 'create_public_collection', 'read_metric', 'provide_models' or 'gateway'.",
                )
            })
    }
}

impl fmt::Display for Permission {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of permissions; giving one twice gives it once.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Permissions(BTreeSet<Permission>);

impl Permissions {
    /// Every permission: what the master key holds.
    pub fn all() -> Self {
        Self(Permission::ALL.into_iter().collect())
    }

    /// Whether `permission` is in the set.
    pub fn contains(&self, permission: Permission) -> bool {
        self.0.contains(&permission)
    }

    /// The permissions, in a stable order.
    pub fn iter(&self) -> impl Iterator<Item = Permission> + '_ {
        self.0.iter().copied()
    }

    /// Whether the set is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<Permission> for Permissions {
    fn from_iter<I: IntoIterator<Item = Permission>>(iter: I) -> Self {
        Self(iter.into_iter().collect())
    }
}

/// What a rate limit counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LimitType {
    /// Tokens per minute.
    Tpm,
    /// Tokens per day.
    Tpd,
    /// Requests per minute.
    Rpm,
    /// Requests per day.
    Rpd,
}

impl LimitType {
    /// Every limit type, in the contract's order.
    pub const ALL: [Self; 4] = [Self::Tpm, Self::Tpd, Self::Rpm, Self::Rpd];

    /// The word clients send and read.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tpm => "tpm",
            Self::Tpd => "tpd",
            Self::Rpm => "rpm",
            Self::Rpd => "rpd",
        }
    }
}

impl FromStr for LimitType {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ValueError::new("enum", "Input should be 'tpm', 'tpd', 'rpm' or 'rpd'."))
    }
}

impl fmt::Display for LimitType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Checks a router id: the gateway's integer id for a model, 1 or more.
///
/// # Errors
/// `greater_than_equal` below 1.
pub fn router(id: i64) -> Result<i64, ValueError> {
    if id < 1 {
        return Err(ValueError::new(
            "greater_than_equal",
            "Router id should be greater than or equal to 1.",
        ));
    }
    Ok(id)
}

/// A rate limit on one router: at most `value` per period, or no limit when `value` is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Limit {
    router_id: i64,
    kind: LimitType,
    value: Option<i64>,
}

impl Limit {
    /// Checks that the router id is positive and the value, if any, is not negative.
    ///
    /// # Errors
    /// `greater_than_equal` for a router id below 1 or a negative value.
    pub fn new(router_id: i64, kind: LimitType, value: Option<i64>) -> Result<Self, ValueError> {
        let router_id = router(router_id)?;
        if value.is_some_and(|v| v < 0) {
            return Err(ValueError::new(
                "greater_than_equal",
                "Limit value should be greater than or equal to 0.",
            ));
        }
        Ok(Self {
            router_id,
            kind,
            value,
        })
    }

    /// The router the limit applies to.
    pub fn router_id(self) -> i64 {
        self.router_id
    }

    /// What the limit counts.
    pub fn kind(self) -> LimitType {
        self.kind
    }

    /// The ceiling, or `None` for no limit.
    pub fn value(self) -> Option<i64> {
        self.value
    }
}

/// A role's limits, at most one per `(router_id, type)`, in a canonical order (by router, then type
/// in the contract's order) so that equal sets compare equal whatever order they were given in.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Limits(Vec<Limit>);

impl Limits {
    /// Checks that no two limits share a router and a type, and sorts them.
    ///
    /// # Errors
    /// `value_error` naming the first pair that appears twice.
    pub fn new(mut limits: Vec<Limit>) -> Result<Self, ValueError> {
        let mut seen = HashSet::with_capacity(limits.len());
        for limit in &limits {
            if !seen.insert((limit.router_id, limit.kind)) {
                return Err(ValueError::new(
                    "value_error",
                    format!(
                        "Duplicate limit for router_id {} and type '{}'.",
                        limit.router_id, limit.kind
                    ),
                ));
            }
        }
        limits.sort_by_key(|limit| (limit.router_id, limit.kind));
        Ok(Self(limits))
    }

    /// The limits, in canonical order.
    pub fn as_slice(&self) -> &[Limit] {
        &self.0
    }

    /// Whether there are no limits.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Per `(router_id, type)`, the stricter of the two: the lower ceiling where both set one,
    /// the only one where one side alone limits. How a project's limits narrow its members'.
    #[must_use]
    pub fn stricter(&self, other: &Self) -> Self {
        let mut merged: BTreeMap<(i64, LimitType), Option<i64>> = BTreeMap::new();
        for limit in self.0.iter().chain(&other.0) {
            merged
                .entry((limit.router_id, limit.kind))
                .and_modify(|value| {
                    *value = match (*value, limit.value) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    }
                })
                .or_insert(limit.value);
        }
        Self(
            merged
                .into_iter()
                .map(|((router_id, kind), value)| Limit {
                    router_id,
                    kind,
                    value,
                })
                .collect(),
        )
    }
}

/// A role as stored, with the number of users holding it.
#[derive(Debug, Clone, PartialEq)]
pub struct Role {
    /// Its id.
    pub id: RoleId,
    /// Its name, unique among roles.
    pub name: Name,
    /// What it allows.
    pub permissions: Permissions,
    /// Its rate limits.
    pub limits: Limits,
    /// How many users hold it.
    pub users: i64,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it, its permissions or its limits last changed.
    pub updated: DateTime<Utc>,
}

/// What is inserted to create a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewRole {
    /// The name, unique among roles.
    pub name: Name,
    /// What it allows.
    pub permissions: Permissions,
    /// Its rate limits.
    pub limits: Limits,
}

/// A merge patch of a role; `permissions` and `limits` replace the whole list when given.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RolePatch {
    /// A new name.
    pub name: Option<Name>,
    /// The new permissions, replacing the old ones.
    pub permissions: Option<Permissions>,
    /// The new limits, replacing the old ones.
    pub limits: Option<Limits>,
}

impl RolePatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none() && self.permissions.is_none() && self.limits.is_none()
    }
}

order_fields!(
    /// The fields a role list can be ordered by.
    RoleOrder {
        Id => "id",
        Name => "name",
        Created => "created",
        Updated => "updated",
    }
);

/// Stores roles with their permissions and limits.
///
/// Every change takes the [`Audit`] of who makes it, and an adapter MUST record it, with the
/// object as it was before and after, in the change's own transaction (see [`crate::audit`]): a
/// change that fails records nothing, and a change that changes nothing (an empty patch)
/// neither.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait RoleRepository: Send + Sync {
    /// Inserts a role, its permissions and its limits, atomically.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::AlreadyExists`]`(Role)` when the name is taken,
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn create(&self, new: NewRole, audit: Audit) -> Result<Role, DomainError>;

    /// The role with this id, if any.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached; a missing role is
    /// `Ok(None)`.
    async fn find_by_id(&self, id: RoleId) -> Result<Option<Role>, DomainError>;

    /// One page of roles and their total count.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn list(&self, page: PageRequest<RoleOrder>) -> Result<Page<Role>, DomainError>;

    /// Applies a patch atomically (name, and whole lists of permissions and limits) and returns
    /// the role as stored afterwards. An empty patch changes nothing, `updated` included.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(Role)` when there is no such role,
    /// [`DomainError::AlreadyExists`]`(Role)` when the new name is taken.
    async fn update(&self, id: RoleId, patch: RolePatch, audit: Audit)
    -> Result<Role, DomainError>;

    /// Deletes a role with its permissions and limits.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(Role)` when there is no such role,
    /// [`DomainError::InUse`]` { entity: Role, used_by: User }` while users hold it.
    async fn delete(&self, id: RoleId, audit: Audit) -> Result<(), DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn permissions_parse_from_their_words_and_unknown_ones_are_refused() {
        for permission in Permission::ALL {
            assert_eq!(
                permission.as_str().parse::<Permission>().unwrap(),
                permission
            );
        }
        assert_eq!("root".parse::<Permission>().unwrap_err().code, "enum");
    }

    #[test]
    fn a_permission_given_twice_is_held_once() {
        let set: Permissions = [Permission::Admin, Permission::Admin].into_iter().collect();
        assert_eq!(set.iter().count(), 1);
        assert!(set.contains(Permission::Admin));
        assert!(!set.contains(Permission::ReadMetric));
        assert_eq!(Permissions::all().iter().count(), 5);
    }

    #[test]
    fn limit_values_and_router_ids_are_bounded() {
        assert!(Limit::new(1, LimitType::Rpm, None).is_ok());
        assert!(Limit::new(1, LimitType::Rpm, Some(0)).is_ok());
        assert!(Limit::new(1, LimitType::Rpm, Some(-1)).is_err());
        assert!(Limit::new(0, LimitType::Rpm, Some(1)).is_err());
    }

    #[test]
    fn two_limits_on_the_same_router_and_type_are_refused() {
        let rpm = Limit::new(1, LimitType::Rpm, Some(10)).unwrap();
        let rpm_again = Limit::new(1, LimitType::Rpm, Some(20)).unwrap();
        let tpm = Limit::new(1, LimitType::Tpm, Some(10)).unwrap();
        let other_router = Limit::new(2, LimitType::Rpm, Some(10)).unwrap();
        let limits = Limits::new(vec![other_router, rpm, tpm]).unwrap();
        assert_eq!(limits.as_slice(), [tpm, rpm, other_router]);
        let error = Limits::new(vec![rpm, tpm, rpm_again]).unwrap_err();
        assert_eq!(error.code, "value_error");
        assert!(error.message.contains("router_id 1"));
    }

    fn limits(list: &[(i64, LimitType, Option<i64>)]) -> Limits {
        Limits::new(
            list.iter()
                .map(|&(router, kind, value)| Limit::new(router, kind, value).unwrap())
                .collect(),
        )
        .unwrap()
    }

    #[test]
    fn the_stricter_of_two_limit_sets_takes_the_lower_ceiling_of_each_pair() {
        use LimitType::{Rpm, Tpd, Tpm};
        let role = limits(&[(1, Rpm, Some(100)), (1, Tpm, None), (2, Rpm, Some(5))]);
        let project = limits(&[(1, Rpm, Some(10)), (1, Tpm, Some(1000)), (3, Tpd, None)]);
        let expected = limits(&[
            (1, Tpm, Some(1000)),
            (1, Rpm, Some(10)),
            (2, Rpm, Some(5)),
            (3, Tpd, None),
        ]);
        assert_eq!(role.stricter(&project), expected);
        assert_eq!(project.stricter(&role), expected);
        assert_eq!(role.stricter(&Limits::default()), role);
    }

    proptest::proptest! {
        #[test]
        fn the_stricter_set_is_never_looser_than_either_side(
            a in proptest::collection::vec((1_i64..4, 0_usize..4, proptest::option::of(0_i64..50)), 0..8),
            b in proptest::collection::vec((1_i64..4, 0_usize..4, proptest::option::of(0_i64..50)), 0..8),
        ) {
            let build = |list: Vec<(i64, usize, Option<i64>)>| {
                let mut seen = HashSet::new();
                Limits::new(
                    list.into_iter()
                        .filter(|&(router, kind, _)| seen.insert((router, kind)))
                        .map(|(router, kind, value)| Limit::new(router, LimitType::ALL[kind], value).unwrap())
                        .collect(),
                )
                .unwrap()
            };
            let (a, b) = (build(a), build(b));
            let merged = a.stricter(&b);
            // Canonical and free of duplicates: rebuilding it changes nothing.
            proptest::prop_assert_eq!(Limits::new(merged.as_slice().to_vec()).unwrap(), merged.clone());
            for side in [&a, &b] {
                for limit in side.as_slice() {
                    let found = merged
                        .as_slice()
                        .iter()
                        .find(|m| (m.router_id, m.kind) == (limit.router_id, limit.kind));
                    let found = found.expect("every pair of either side is kept");
                    if let Some(ceiling) = limit.value {
                        proptest::prop_assert!(found.value.is_some_and(|v| v <= ceiling));
                    }
                }
            }
        }
    }
}
