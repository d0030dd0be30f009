//! Who is calling: the identity an authenticated request acts as, and the checks it must pass.

use gatehouse_domain::{
    ApiKeyId, Budget, DateTime, DomainError, Limits, Permission, Permissions, ProjectId, UserId,
    Utc,
};

/// The project a key acts in, as read when it authenticated.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProjectScope {
    /// The project.
    pub id: ProjectId,
    /// Its budget; `None` for no limit.
    pub budget: Option<Budget>,
}

/// The authenticated caller: a user (or the master key, as user 0) with the permissions and
/// limits of their role, narrowed by the project their key is bound to, if any.
#[derive(Debug, Clone, PartialEq)]
pub struct Principal {
    /// The user the request acts as.
    pub user: UserId,
    /// The key that authenticated it; `None` for the master key.
    pub key: Option<ApiKeyId>,
    /// What the user's role allows.
    pub permissions: Permissions,
    /// The rate limits the caller acts under: their role's, or for a project-bound key the
    /// stricter of the role's and the project's.
    pub limits: Limits,
    /// When the user's account stops working; `None` for never.
    pub expires: Option<DateTime<Utc>>,
    /// The project the key acts in; `None` for a key that acts as its owner alone.
    pub project: Option<ProjectScope>,
}

impl Principal {
    /// The built-in master user: user 0, every permission, no limits, never expires.
    pub fn master() -> Self {
        Self {
            user: UserId::MASTER,
            key: None,
            permissions: Permissions::all(),
            limits: Limits::default(),
            expires: None,
            project: None,
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
    /// # Errors
    /// [`DomainError::AccountExpired`] when the account is past its expiry.
    pub fn require_active(&self, now: DateTime<Utc>) -> Result<(), DomainError> {
        if self.is_expired(now) {
            Err(DomainError::AccountExpired)
        } else {
            Ok(())
        }
    }

    /// Refuses an expired account, then a caller without `permission`.
    ///
    /// # Errors
    /// [`DomainError::AccountExpired`] first, then [`DomainError::Forbidden`].
    pub fn require(&self, permission: Permission, now: DateTime<Utc>) -> Result<(), DomainError> {
        self.require_active(now)?;
        if self.permissions.contains(permission) {
            Ok(())
        } else {
            Err(DomainError::Forbidden)
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
            permissions: permissions.iter().copied().collect(),
            limits: Limits::default(),
            expires,
            project: None,
        }
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
