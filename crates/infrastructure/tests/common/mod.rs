//! Fixtures and assertions shared by the repository tests.

#![allow(dead_code, reason = "each test file uses a part of these helpers")]
#![allow(
    clippy::unwrap_used,
    reason = "test helpers: a failure should fail the test"
)]

use std::cmp::Ordering;
use std::sync::Arc;

use diesel::RunQueryDsl;
use diesel::result::{DatabaseErrorKind, Error as DieselError};
use gatehouse_domain::{
    Actor, Audit, AuditAction, AuditEntity, Direction, Email, KeyGenerator, Limit, LimitType,
    Limits, Name, NewApiKey, NewAuditEvent, NewOrganization, NewProject, NewRole, NewUser,
    Organization, OrganizationId, OrganizationRepository, PageRequest, Permission, Permissions,
    Priority, Project, ProjectId, ProjectRepository, Role, RoleId, RoleRepository, Snapshot,
    SnapshotView, User, UserId, UserRepository,
};
use gatehouse_infrastructure::{
    AuditTrail, PgOrganizationRepository, PgPool, PgProjectRepository, PgRoleRepository,
    PgUserRepository, Sha256KeyGenerator,
};

/// Shows an object as its kind and id: enough for these tests to tell events apart, without the
/// API's views (the api crate's tests check those).
#[derive(Debug)]
pub struct TestView;

impl SnapshotView for TestView {
    fn render(&self, snapshot: &Snapshot) -> String {
        let (object, id) = match snapshot {
            Snapshot::Organization(organization) => ("organization", organization.id.get()),
            Snapshot::User(user) => ("user", user.id.get()),
            Snapshot::PasswordChanged(user) => {
                return format!(
                    r#"{{"object":"user","id":{},"password":"changed"}}"#,
                    user.id.get()
                );
            }
            Snapshot::Role(role) => ("role", role.id.get()),
            Snapshot::Token(key) => ("token", key.id.get()),
            Snapshot::Project(project) => ("project", project.id.get()),
            Snapshot::Member(member) => {
                return format!(
                    r#"{{"object":"projectMember","project":{},"user":{}}}"#,
                    member.project.get(),
                    member.user.get()
                );
            }
            Snapshot::FailedLogin { email } => {
                return format!(r#"{{"email":"{}"}}"#, email.escape_default());
            }
        };
        format!(r#"{{"object":"{object}","id":{id}}}"#)
    }
}

/// The trail the repositories of these tests record on.
pub fn trail() -> AuditTrail {
    AuditTrail::new(Arc::new(TestView))
}

/// The audit of a change by the master user, for the tests that do not look at its event.
pub fn test_audit() -> Audit {
    Audit::new(
        Actor {
            user: Some(UserId::MASTER),
            ..Actor::default()
        },
        AuditAction::Update,
    )
}

/// The event of a failed login, for the tests that do not look at it.
pub fn failed_login_event() -> NewAuditEvent {
    NewAuditEvent {
        actor: Actor::default(),
        action: AuditAction::LoginFailed,
        entity: AuditEntity::Session,
        entity_id: None,
        before: None,
        after: Some(Snapshot::FailedLogin {
            email: "someone@example.com".to_owned(),
        }),
    }
}

pub fn name(raw: &str) -> Name {
    Name::parse(raw).unwrap()
}

pub fn email(raw: &str) -> Email {
    Email::parse(raw).unwrap()
}

pub fn limit(router_id: i64, kind: LimitType, value: Option<i64>) -> Limit {
    Limit::new(router_id, kind, value).unwrap()
}

pub fn limits(items: &[Limit]) -> Limits {
    Limits::new(items.to_vec()).unwrap()
}

pub fn permissions(items: &[Permission]) -> Permissions {
    items.iter().copied().collect()
}

pub fn page<O>(offset: i64, limit: i64, order_by: O, direction: Direction) -> PageRequest<O> {
    PageRequest::new(offset, limit, order_by, direction).unwrap()
}

pub async fn create_role(pool: &PgPool, role_name: &str) -> Role {
    PgRoleRepository::new(pool.clone(), trail())
        .create(
            NewRole {
                name: name(role_name),
                permissions: Permissions::default(),
                limits: Limits::default(),
            },
            test_audit(),
        )
        .await
        .unwrap()
}

pub async fn create_organization(pool: &PgPool, organization_name: &str) -> Organization {
    PgOrganizationRepository::new(pool.clone(), trail())
        .create(
            NewOrganization {
                name: name(organization_name),
            },
            test_audit(),
        )
        .await
        .unwrap()
}

/// A user with only the required fields.
pub fn new_user(address: &str, role: RoleId, organization: Option<OrganizationId>) -> NewUser {
    NewUser {
        email: email(address),
        name: None,
        password: None,
        role,
        organization,
        budget: None,
        expires: None,
        priority: Priority::default(),
    }
}

pub async fn create_user(
    pool: &PgPool,
    address: &str,
    role: RoleId,
    organization: Option<OrganizationId>,
) -> User {
    PgUserRepository::new(pool.clone(), trail())
        .create(new_user(address, role, organization), test_audit())
        .await
        .unwrap()
}

/// A project with neither budget nor limits.
pub fn new_project(project_name: &str, organization: OrganizationId) -> NewProject {
    NewProject {
        name: name(project_name),
        organization,
        budget: None,
        limits: Limits::default(),
    }
}

pub async fn create_project(
    pool: &PgPool,
    project_name: &str,
    organization: OrganizationId,
) -> Project {
    PgProjectRepository::new(pool.clone(), trail())
        .create(new_project(project_name, organization), test_audit())
        .await
        .unwrap()
}

pub async fn add_member(pool: &PgPool, project: ProjectId, user: UserId) {
    PgProjectRepository::new(pool.clone(), trail())
        .add_member(project, user, test_audit())
        .await
        .unwrap();
}

/// A new key of `user`, bound to `project` if any, and its secret.
pub fn new_key_in(key_name: &str, user: UserId, project: Option<ProjectId>) -> (NewApiKey, String) {
    let generated = Sha256KeyGenerator.generate().unwrap();
    let new = NewApiKey {
        name: name(key_name),
        user,
        hash: generated.hash,
        masked: generated.masked,
        project,
        expires: None,
    };
    (new, generated.secret.expose().to_owned())
}

/// Runs raw SQL, to set up what the repositories cannot, or to check what the database refuses.
pub fn execute(pool: &PgPool, sql: &str) -> Result<usize, DieselError> {
    let mut conn = pool.get().unwrap();
    diesel::sql_query(sql).execute(&mut conn)
}

/// Asserts that the database refused `sql` by breaking `constraint`, a constraint of kind `kind`.
pub fn assert_refused(pool: &PgPool, sql: &str, kind: DatabaseErrorKind, constraint: &str) {
    match execute(pool, sql) {
        Err(DieselError::DatabaseError(actual, info)) => {
            assert_eq!(
                (actual, info.constraint_name()),
                (kind, Some(constraint)),
                "{sql}: {}",
                info.message()
            );
        }
        other => panic!("{sql} was not refused: {other:?}"),
    }
}

/// Asserts that `keys` (a sort key and an id per item, in the order listed) are strictly sorted
/// in `direction`: by the key, then by id.
pub fn assert_sorted<K: Ord + std::fmt::Debug>(keys: &[(K, i64)], direction: Direction) {
    for pair in keys.windows(2) {
        let expected = match direction {
            Direction::Asc => Ordering::Less,
            Direction::Desc => Ordering::Greater,
        };
        assert_eq!(
            pair[0].cmp(&pair[1]),
            expected,
            "{pair:?} out of {direction} order in {keys:?}"
        );
    }
}

/// Asserts that some items share a sort key, so that the id tie-break is exercised.
pub fn assert_has_ties<K: Ord + std::fmt::Debug>(keys: &[(K, i64)]) {
    let mut values: Vec<&K> = keys.iter().map(|(key, _)| key).collect();
    values.sort();
    assert!(
        values.windows(2).any(|pair| pair[0] == pair[1]),
        "no ties in {keys:?}"
    );
}

/// A nullable sort key as PostgreSQL orders it by default: NULL after every value ascending,
/// before every value descending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NullsLast<T>(pub Option<T>);

impl<T: Ord> PartialOrd for NullsLast<T> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl<T: Ord> Ord for NullsLast<T> {
    fn cmp(&self, other: &Self) -> Ordering {
        match (&self.0, &other.0) {
            (Some(a), Some(b)) => a.cmp(b),
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        }
    }
}

/// Moves the rows matching `condition` to the end of `table`'s heap (an update writes a new row
/// version there), so that the physical order differs from the id order and a missing tie-break
/// shows. The `updated` column, if any, changes too.
pub fn scramble(pool: &PgPool, table: &str, condition: &str) {
    execute(
        pool,
        &format!("UPDATE {table} SET created = created WHERE {condition}"),
    )
    .unwrap();
}

/// Moves the `updated` of row `id` of `table` a day back, its `set_updated` trigger off so that
/// the value stays. Stamps are whole seconds: without this, a write in the same second as the
/// row's creation would leave `updated` as it was, and a test could not see it move.
pub fn backdate(pool: &PgPool, table: &str, id: i64) {
    for sql in [
        format!("ALTER TABLE {table} DISABLE TRIGGER {table}_set_updated"),
        format!("UPDATE {table} SET updated = updated - interval '1 day' WHERE id = {id}"),
        format!("ALTER TABLE {table} ENABLE TRIGGER {table}_set_updated"),
    ] {
        execute(pool, &sql).unwrap();
    }
}

pub use gatehouse_infrastructure::testing::count_rows;

/// Asserts that the `users` column of every organization and every role equals a fresh count of
/// its users.
pub fn assert_user_counts(pool: &PgPool) {
    for (table, column) in [("organizations", "organization_id"), ("roles", "role_id")] {
        let wrong = count_rows(
            pool,
            &format!(
                "{table} WHERE users <> (SELECT count(*) FROM users WHERE users.{column} = {table}.id)"
            ),
        );
        assert_eq!(wrong, 0, "{table} with a wrong user count");
    }
}

/// The password hash stored for `user`, as the database holds it.
pub fn stored_password_hash(pool: &PgPool, user: UserId) -> Option<String> {
    use diesel::prelude::*;
    use diesel::sql_types::{BigInt, Nullable, Text};
    #[derive(QueryableByName)]
    struct Row {
        #[diesel(sql_type = Nullable<Text>)]
        password_hash: Option<String>,
    }
    let mut conn = pool.get().unwrap();
    diesel::sql_query("SELECT password_hash FROM users WHERE id = $1")
        .bind::<BigInt, _>(user.get())
        .get_result::<Row>(&mut conn)
        .unwrap()
        .password_hash
}
