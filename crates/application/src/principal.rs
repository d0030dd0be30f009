//! Who is calling: the identity an authenticated request acts as, and the checks it must pass.

use gatehouse_domain::{
    Actor, ApiKeyId, Budget, DateTime, DomainError, Limits, OrganizationId, Origin, Permission,
    Permissions, ProjectId, RoleId, UserId, Utc,
};

/// The project a key acts in, as read when it authenticated.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectScope {
    /// The project.
    pub id: ProjectId,
    /// Its budget; `None` for no limit.
    pub budget: Option<Budget>,
    /// Its own rate limits, counted for all its members together.
    pub limits: Limits,
}

/// The authenticated caller: a user (or the master key, as user 0) with the permissions and
/// limits of their role, inside the project their key is bound to, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The user the request acts as.
    pub user: UserId,
    /// The key that authenticated it; `None` for the master key.
    pub key: Option<ApiKeyId>,
    /// The user's organization.
    pub organization: Option<OrganizationId>,
    /// The user's role; `None` for the master key.
    pub role: Option<RoleId>,
    /// The user's own budget, as read when the key authenticated; `None` for no limit.
    pub budget: Option<Budget>,
    /// What the user's role allows.
    pub permissions: Permissions,
    /// The rate limits of the user's role, counted for all their keys together.
    pub role_limits: Limits,
    /// When the user's account stops working; `None` for never.
    pub expires: Option<DateTime<Utc>>,
    /// The project the key acts in; `None` for a key that acts as its owner alone.
    pub project: Option<ProjectScope>,
    /// Where the request comes from, for the audit log; set by the driving adapter.
    pub origin: Origin,
}

impl Principal {
    /// The built-in master user: user 0, every permission, no limits, never expires.
    pub fn master() -> Self {
        Self {
            user: UserId::MASTER,
            key: None,
            organization: None,
            role: None,
            budget: None,
            permissions: Permissions::all(),
            role_limits: Limits::default(),
            expires: None,
            project: None,
            origin: Origin::default(),
        }
    }

    /// The rate limits the caller acts under: their role's, or for a project-bound key the
    /// stricter of the role's and the project's for each `(router_id, type)` (a project narrows
    /// what the role allows, never widens it).
    pub fn limits(&self) -> Limits {
        match &self.project {
            Some(project) => self.role_limits.stricter(&project.limits),
            None => self.role_limits.clone(),
        }
    }

    /// Whether this is the master user.
    pub fn is_master(&self) -> bool {
        self.user.is_master()
    }

    /// Whether the account is past its expiry at `now`.
    pub fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.expires.is_some_and(|expires| expires <= now)
    }

    /// Refuses an expired account. Every action but reading one's own info needs this.
    ///
    /// Gives the [`Actor`] that the audit log records: a write can only be made by one, so that
    /// a use case that writes cannot skip the check.
    ///
    /// # Errors
    /// [`DomainError::AccountExpired`] when the account is past its expiry.
    pub fn require_active(&self, now: DateTime<Utc>) -> Result<Actor, DomainError> {
        if self.is_expired(now) {
            Err(DomainError::AccountExpired)
        } else {
            Ok(self.actor())
        }
    }

    /// Who the audit log says acted: the user, the key, and where the request came from.
    fn actor(&self) -> Actor {
        Actor {
            user: Some(self.user),
            key: self.key,
            address: self.origin.address,
            request_id: self.origin.request_id.clone(),
        }
    }

    /// Refuses an expired account, then a caller without `permission`. A project-bound key acts
    /// only inside its project: it never holds a permission that reaches beyond it
    /// ([`Permission::acts_within_a_project`]), whatever its owner's role.
    ///
    /// Gives the [`Actor`] the audit log records, as [`Principal::require_active`] does.
    ///
    /// # Errors
    /// [`DomainError::AccountExpired`] first, then [`DomainError::Forbidden`].
    pub fn require(
        &self,
        permission: Permission,
        now: DateTime<Utc>,
    ) -> Result<Actor, DomainError> {
        let actor = self.require_active(now)?;
        let bound_out = self.project.is_some() && !permission.acts_within_a_project();
        if self.permissions.contains(permission) && !bound_out {
            Ok(actor)
        } else {
            Err(DomainError::Forbidden)
        }
    }

    /// Refuses a project-bound key: for what reaches beyond the key's project, such as changing
    /// the account's email or password.
    ///
    /// # Errors
    /// [`DomainError::Forbidden`] for a project-bound key.
    pub fn require_unbound(&self) -> Result<(), DomainError> {
        if self.project.is_some() {
            Err(DomainError::Forbidden)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::chrono::TimeDelta;

    fn user(permissions: &[Permission], expires: Option<DateTime<Utc>>) -> Principal {
        Principal {
            user: UserId(7),
            key: Some(ApiKeyId(3)),
            organization: None,
            role: Some(RoleId(1)),
            budget: None,
            permissions: permissions.iter().copied().collect(),
            role_limits: Limits::default(),
            expires,
            project: None,
            origin: Origin::default(),
        }
    }

    #[test]
    fn a_passed_check_gives_the_actor_the_audit_log_records() {
        let mut caller = user(&[Permission::Admin], None);
        caller.origin = Origin {
            address: Some("192.0.2.7".parse().unwrap()),
            request_id: Some(gatehouse_domain::RequestId::parse("req-1").unwrap()),
        };
        let actor = caller.require(Permission::Admin, Utc::now()).unwrap();
        assert_eq!(
            actor,
            Actor {
                user: Some(UserId(7)),
                key: Some(ApiKeyId(3)),
                address: caller.origin.address,
                request_id: caller.origin.request_id.clone(),
            }
        );
        let master = Principal::master().require_active(Utc::now()).unwrap();
        assert_eq!((master.user, master.key), (Some(UserId::MASTER), None));
    }

    #[test]
    fn the_master_holds_every_permission_and_never_expires() {
        let master = Principal::master();
        assert!(master.is_master());
        let far = Utc::now() + TimeDelta::days(365 * 100);
        for permission in Permission::ALL {
            assert!(master.require(permission, far).is_ok());
        }
    }

    #[test]
    fn a_missing_permission_is_forbidden() {
        let reader = user(&[Permission::ReadMetric], None);
        let now = Utc::now();
        assert!(reader.require(Permission::ReadMetric, now).is_ok());
        assert!(matches!(
            reader.require(Permission::Admin, now),
            Err(DomainError::Forbidden)
        ));
    }

    #[test]
    fn a_project_bound_key_never_administers_nor_acts_as_a_gateway_whatever_its_role() {
        let now = Utc::now();
        let bound = Principal {
            project: Some(ProjectScope {
                id: ProjectId(5),
                budget: None,
                limits: Limits::default(),
            }),
            ..user(&Permission::ALL, None)
        };
        for permission in Permission::ALL {
            let allowed = bound.require(permission, now).is_ok();
            assert_eq!(allowed, permission.acts_within_a_project(), "{permission}");
        }
        assert!(matches!(
            bound.require(Permission::Admin, now),
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            bound.require_unbound(),
            Err(DomainError::Forbidden)
        ));
        assert!(user(&[], None).require_unbound().is_ok());
    }

    #[test]
    fn a_project_narrows_the_roles_limits_and_never_widens_them() {
        use gatehouse_domain::{Limit, LimitType};
        let limits = |list: &[(LimitType, Option<i64>)]| {
            Limits::new(
                list.iter()
                    .map(|&(kind, value)| Limit::new(1, kind, value).unwrap())
                    .collect(),
            )
            .unwrap()
        };
        let role = limits(&[(LimitType::Rpm, Some(10)), (LimitType::Tpm, Some(100))]);
        let mut caller = Principal {
            role_limits: role.clone(),
            ..user(&[], None)
        };
        assert_eq!(caller.limits(), role);
        caller.project = Some(ProjectScope {
            id: ProjectId(5),
            budget: None,
            limits: limits(&[(LimitType::Rpm, Some(50)), (LimitType::Tpm, Some(20))]),
        });
        assert_eq!(
            caller.limits(),
            limits(&[(LimitType::Rpm, Some(10)), (LimitType::Tpm, Some(20))])
        );
    }

    #[test]
    fn an_expired_account_is_told_apart_from_a_missing_permission() {
        let now = Utc::now();
        let expired = user(&[Permission::Admin], Some(now));
        assert!(matches!(
            expired.require(Permission::Admin, now),
            Err(DomainError::AccountExpired)
        ));
        assert!(matches!(
            expired.require(Permission::ReadMetric, now),
            Err(DomainError::AccountExpired)
        ));
        let active = user(&[Permission::Admin], Some(now + TimeDelta::seconds(1)));
        assert!(active.require(Permission::Admin, now).is_ok());
    }
}
