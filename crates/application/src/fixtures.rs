//! Shared test data: a fixed clock, callers with and without rights, and stored entities.

use std::sync::Arc;

use gatehouse_domain::chrono::{TimeDelta, TimeZone};
use gatehouse_domain::{
    Actor, ApiKeyId, Audit, AuditAction, Budget, DateTime, Email, Limits, MockClock, Name,
    Organization, OrganizationId, Origin, Permission, Permissions, Priority, RequestId, Role,
    RoleId, User, UserId, Utc,
};

use crate::Principal;

/// The instant every test runs at.
pub fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 30, 12, 0, 0).unwrap()
}

/// A clock stopped at [`now`].
pub fn clock() -> Arc<MockClock> {
    let mut clock = MockClock::new();
    clock.expect_now().returning(now);
    Arc::new(clock)
}

/// A user with the admin permission.
pub fn admin() -> Principal {
    caller(&[Permission::Admin], None)
}

/// A user with every permission but admin.
pub fn non_admin() -> Principal {
    caller(
        &[
            Permission::CreatePublicCollection,
            Permission::ReadMetric,
            Permission::ProvideModels,
        ],
        None,
    )
}

/// An admin whose account expired a second ago.
pub fn expired_admin() -> Principal {
    caller(&[Permission::Admin], Some(now() - TimeDelta::seconds(1)))
}

/// User 42 with these permissions and account expiry.
pub fn caller(permissions: &[Permission], expires: Option<DateTime<Utc>>) -> Principal {
    Principal {
        user: UserId(42),
        key: Some(ApiKeyId(4200)),
        organization: Some(OrganizationId(1)),
        role: Some(RoleId(1)),
        budget: None,
        permissions: permissions.iter().copied().collect::<Permissions>(),
        role_limits: Limits::default(),
        expires,
        project: None,
        origin: origin(),
    }
}

/// Where the callers' requests come from: an address and a request id, so that the tests see
/// both reach the audit log.
pub fn origin() -> Origin {
    Origin {
        address: Some("192.0.2.42".parse().unwrap()),
        request_id: Some(RequestId::parse("req-42").unwrap()),
    }
}

/// The audit a write by `caller` must carry for `action`: the caller's user, key and origin.
pub fn audit(caller: &Principal, action: AuditAction) -> Audit {
    Audit::new(
        Actor {
            user: Some(caller.user),
            key: caller.key,
            address: caller.origin.address,
            request_id: caller.origin.request_id.clone(),
        },
        action,
    )
}

/// A stored organization with `users` members.
pub fn organization(id: i64, users: i64) -> Organization {
    Organization {
        id: OrganizationId(id),
        name: Name::parse(&format!("Organization {id}")).unwrap(),
        users,
        created: now(),
        updated: now(),
    }
}

/// A stored role held by `users` users.
pub fn role(id: i64, users: i64) -> Role {
    Role {
        id: RoleId(id),
        name: Name::parse(&format!("Role {id}")).unwrap(),
        permissions: Permissions::default(),
        limits: Limits::default(),
        users,
        created: now(),
        updated: now(),
    }
}

/// A stored user of role 1 and organization 1.
pub fn user(id: i64) -> User {
    User {
        id: UserId(id),
        email: Email::parse(&format!("user{id}@example.com")).unwrap(),
        name: None,
        sub: None,
        iss: None,
        role: RoleId(1),
        organization: Some(OrganizationId(1)),
        budget: Some(Budget::new(10.0).unwrap()),
        expires: None,
        priority: Priority::default(),
        created: now(),
        updated: now(),
    }
}
