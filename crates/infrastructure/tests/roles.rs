//! `PgRoleRepository` against a real PostgreSQL database.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

mod common;

use common::*;
use diesel::result::DatabaseErrorKind;
use gatehouse_domain::{
    Direction, DomainError, Entity, LimitType, Limits, NewRole, Permission, Permissions, Role,
    RoleId, RoleOrder, RolePatch, RoleRepository, UserPatch, UserRepository,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{PgRoleRepository, PgUserRepository};

fn repository(db: &TestDatabase) -> PgRoleRepository {
    PgRoleRepository::new(db.pool(), trail())
}

fn new_role(role_name: &str) -> NewRole {
    NewRole {
        name: name(role_name),
        permissions: permissions(&[Permission::Admin, Permission::ReadMetric]),
        limits: limits(&[
            limit(1, LimitType::Rpm, Some(60)),
            limit(1, LimitType::Tpd, None),
            limit(2, LimitType::Tpm, Some(0)),
        ]),
    }
}

fn count(db: &TestDatabase, table: &str, role: RoleId) -> i64 {
    count_rows(&db.pool(), &format!("{table} WHERE role_id = {role}"))
}

#[tokio::test]
async fn creating_a_role_stores_its_permissions_and_limits() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let new = new_role("admin");
    let created = roles.create(new.clone(), test_audit()).await.unwrap();
    assert!(created.id.get() > 0);
    assert_eq!(created.name, new.name);
    assert_eq!(created.permissions, new.permissions);
    assert_eq!(created.limits, new.limits);
    assert_eq!(created.users, 0);
    assert_eq!(created.created, created.updated);
    assert_eq!(
        roles.find_by_id(created.id).await.unwrap().unwrap(),
        created
    );
    assert_eq!(count(&db, "role_permissions", created.id), 2);
    assert_eq!(count(&db, "role_limits", created.id), 3);
}

#[tokio::test]
async fn creating_a_role_without_permissions_or_limits_stores_none() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let created = roles
        .create(
            NewRole {
                name: name("nobody"),
                permissions: Permissions::default(),
                limits: Limits::default(),
            },
            test_audit(),
        )
        .await
        .unwrap();
    let found = roles.find_by_id(created.id).await.unwrap().unwrap();
    assert!(found.permissions.is_empty());
    assert!(found.limits.is_empty());
}

#[tokio::test]
async fn creating_a_role_with_a_taken_name_is_already_exists_and_stores_nothing_more() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    roles.create(new_role("admin"), test_audit()).await.unwrap();
    let error = roles
        .create(new_role("admin"), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::Role)));
    let listed = roles
        .list(page(0, 10, RoleOrder::Id, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
}

/// Makes every write of limits fail, to see that a role is written whole or not at all.
fn break_limit_writes(db: &TestDatabase) {
    execute(
        &db.pool(),
        "CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'refused'; END; $$",
    )
    .unwrap();
    execute(
        &db.pool(),
        "CREATE TRIGGER refuse BEFORE INSERT ON role_limits \
         FOR EACH ROW EXECUTE FUNCTION refuse()",
    )
    .unwrap();
}

#[tokio::test]
async fn creating_a_role_is_atomic() {
    let db = TestDatabase::new();
    break_limit_writes(&db);
    let roles = repository(&db);
    let error = roles
        .create(new_role("admin"), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::Unexpected(_)));
    let listed = roles
        .list(page(0, 10, RoleOrder::Id, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(listed.total, 0);
    assert_eq!(count_rows(&db.pool(), "role_permissions"), 0);
}

#[tokio::test]
async fn updating_a_role_is_atomic() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let role = roles.create(new_role("admin"), test_audit()).await.unwrap();
    break_limit_writes(&db);
    let error = roles
        .update(
            role.id,
            RolePatch {
                name: Some(name("renamed")),
                permissions: Some(Permissions::default()),
                limits: Some(limits(&[limit(3, LimitType::Rpd, Some(1))])),
            },
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::Unexpected(_)));
    assert_eq!(roles.find_by_id(role.id).await.unwrap().unwrap(), role);
}

#[tokio::test]
async fn finding_a_role_gives_its_permissions_limits_and_users_counted() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let admin = roles.create(new_role("admin"), test_audit()).await.unwrap();
    let other = roles.create(new_role("other"), test_audit()).await.unwrap();
    create_user(&db.pool(), "ada@example.org", admin.id, None).await;
    create_user(&db.pool(), "bob@example.org", admin.id, None).await;
    create_user(&db.pool(), "cyd@example.org", other.id, None).await;
    let found = roles.find_by_id(admin.id).await.unwrap().unwrap();
    assert_eq!(found, Role { users: 2, ..admin });
}

#[tokio::test]
async fn finding_a_missing_role_is_none() {
    let db = TestDatabase::new();
    assert!(
        repository(&db)
            .find_by_id(RoleId(4242))
            .await
            .unwrap()
            .is_none()
    );
}

/// Six roles, each with permissions and limits of its own; four inserted by one statement share
/// `created` (and three `updated`), and the physical order of the rows differs from the id order.
async fn six_roles(db: &TestDatabase) -> Vec<Role> {
    let pool = db.pool();
    execute(
        &pool,
        "INSERT INTO roles (name) VALUES ('delta'), ('alpha'), ('charlie'), ('bravo')",
    )
    .unwrap();
    execute(
        &pool,
        "INSERT INTO role_permissions (role_id, permission) \
         SELECT id, 'read_metric' FROM roles WHERE name IN ('alpha', 'charlie')",
    )
    .unwrap();
    execute(
        &pool,
        "INSERT INTO role_limits (role_id, router_id, type, value) \
         SELECT id, id, 'rpm', id * 10 FROM roles",
    )
    .unwrap();
    scramble(&pool, "roles", "id = (SELECT min(id) FROM roles)");
    let roles = repository(db);
    roles
        .create(new_role("foxtrot"), test_audit())
        .await
        .unwrap();
    roles
        .create(
            NewRole {
                name: name("echo"),
                permissions: permissions(&[Permission::ProvideModels]),
                limits: Limits::default(),
            },
            test_audit(),
        )
        .await
        .unwrap();
    roles
        .list(page(0, 100, RoleOrder::Id, Direction::Asc))
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn listing_roles_gives_the_requested_page_the_total_and_each_role_its_own_lists() {
    let db = TestDatabase::new();
    let all = six_roles(&db).await;
    assert_eq!(all.len(), 6);
    let roles = repository(&db);
    for role in &all {
        assert_eq!(
            &roles.find_by_id(role.id).await.unwrap().unwrap(),
            role,
            "a listed role differs from the role found by id"
        );
    }
    let by_name = |role_name: &str| all.iter().find(|r| r.name.as_str() == role_name).unwrap();
    assert_eq!(
        by_name("alpha").permissions,
        permissions(&[Permission::ReadMetric])
    );
    assert!(by_name("bravo").permissions.is_empty());
    let alpha = by_name("alpha");
    assert_eq!(
        alpha.limits,
        limits(&[limit(
            alpha.id.get(),
            LimitType::Rpm,
            Some(alpha.id.get() * 10)
        )])
    );
    assert_eq!(by_name("foxtrot").limits, new_role("x").limits);

    let middle = roles
        .list(page(1, 3, RoleOrder::Id, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(middle.total, 6);
    assert_eq!(middle.items, all[1..4]);
    let past_the_end = roles
        .list(page(6, 3, RoleOrder::Id, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(past_the_end.total, 6);
    assert!(past_the_end.items.is_empty());
}

#[tokio::test]
async fn listing_roles_counts_the_users_of_each() {
    let db = TestDatabase::new();
    let admin = create_role(&db.pool(), "admin").await;
    let empty = create_role(&db.pool(), "empty").await;
    create_user(&db.pool(), "ada@example.org", admin.id, None).await;
    let listed = repository(&db)
        .list(page(0, 10, RoleOrder::Id, Direction::Asc))
        .await
        .unwrap();
    let counts: Vec<_> = listed.items.iter().map(|r| (r.id, r.users)).collect();
    assert_eq!(counts, [(admin.id, 1), (empty.id, 0)]);
}

#[tokio::test]
async fn listing_roles_orders_by_each_field_in_both_directions_then_by_id() {
    let db = TestDatabase::new();
    six_roles(&db).await;
    let roles = repository(&db);
    for &order in RoleOrder::ALL {
        for direction in [Direction::Asc, Direction::Desc] {
            let listed = roles.list(page(0, 100, order, direction)).await.unwrap();
            assert_eq!(listed.items.len(), 6);
            match order {
                RoleOrder::Id => {
                    let keys: Vec<_> = listed.items.iter().map(|r| ((), r.id.get())).collect();
                    assert_sorted(&keys, direction);
                }
                RoleOrder::Name => {
                    let keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|r| (r.name.to_string(), r.id.get()))
                        .collect();
                    assert_sorted(&keys, direction);
                }
                RoleOrder::Created => {
                    let keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|r| (r.created, r.id.get()))
                        .collect();
                    assert_has_ties(&keys);
                    assert_sorted(&keys, direction);
                }
                RoleOrder::Updated => {
                    let keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|r| (r.updated, r.id.get()))
                        .collect();
                    assert_has_ties(&keys);
                    assert_sorted(&keys, direction);
                }
            }
            let mut paged = Vec::new();
            for offset in [0, 4] {
                let part = roles.list(page(offset, 4, order, direction)).await.unwrap();
                paged.extend(part.items);
            }
            assert_eq!(paged, listed.items, "{order} {direction}");
        }
    }
}

#[tokio::test]
async fn updating_a_role_replaces_its_whole_lists_and_renames_it() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let role = roles.create(new_role("admin"), test_audit()).await.unwrap();
    backdate(&db.pool(), "roles", role.id.get());
    let role = roles.find_by_id(role.id).await.unwrap().unwrap();
    let patch = RolePatch {
        name: Some(name("operator")),
        permissions: Some(permissions(&[Permission::ProvideModels])),
        limits: Some(limits(&[limit(5, LimitType::Rpd, Some(1000))])),
    };
    let updated = roles
        .update(role.id, patch.clone(), test_audit())
        .await
        .unwrap();
    assert_eq!(
        updated,
        Role {
            name: name("operator"),
            permissions: patch.permissions.unwrap(),
            limits: patch.limits.unwrap(),
            updated: updated.updated,
            ..role.clone()
        }
    );
    assert!(updated.updated > role.updated);
    assert_eq!(roles.find_by_id(role.id).await.unwrap().unwrap(), updated);
}

#[tokio::test]
async fn updating_a_role_with_empty_lists_removes_every_permission_and_limit() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let role = roles.create(new_role("admin"), test_audit()).await.unwrap();
    let updated = roles
        .update(
            role.id,
            RolePatch {
                permissions: Some(Permissions::default()),
                limits: Some(Limits::default()),
                ..RolePatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert!(updated.permissions.is_empty());
    assert!(updated.limits.is_empty());
    assert_eq!(count(&db, "role_permissions", role.id), 0);
    assert_eq!(count(&db, "role_limits", role.id), 0);
}

#[tokio::test]
async fn updating_only_the_permissions_of_a_role_keeps_the_rest_and_bumps_updated() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let role = roles.create(new_role("admin"), test_audit()).await.unwrap();
    backdate(&db.pool(), "roles", role.id.get());
    let role = roles.find_by_id(role.id).await.unwrap().unwrap();
    let updated = roles
        .update(
            role.id,
            RolePatch {
                permissions: Some(Permissions::all()),
                ..RolePatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(updated.permissions, Permissions::all());
    assert_eq!(updated.name, role.name);
    assert_eq!(updated.limits, role.limits);
    assert_eq!(updated.created, role.created);
    assert!(updated.updated > role.updated);
}

#[tokio::test]
async fn updating_only_the_limits_of_a_role_keeps_the_rest_and_bumps_updated() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let role = roles.create(new_role("admin"), test_audit()).await.unwrap();
    backdate(&db.pool(), "roles", role.id.get());
    let role = roles.find_by_id(role.id).await.unwrap().unwrap();
    let new_limits = limits(&[limit(9, LimitType::Tpm, None)]);
    let updated = roles
        .update(
            role.id,
            RolePatch {
                limits: Some(new_limits.clone()),
                ..RolePatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(updated.limits, new_limits);
    assert_eq!(updated.permissions, role.permissions);
    assert!(updated.updated > role.updated);
}

#[tokio::test]
async fn updating_a_role_returns_its_users_counted() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let role = roles.create(new_role("admin"), test_audit()).await.unwrap();
    create_user(&db.pool(), "ada@example.org", role.id, None).await;
    let updated = roles
        .update(
            role.id,
            RolePatch {
                name: Some(name("renamed")),
                ..RolePatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(updated.users, 1);
}

#[tokio::test]
async fn an_empty_role_patch_changes_nothing_not_even_updated() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let role = roles.create(new_role("admin"), test_audit()).await.unwrap();
    let unchanged = roles
        .update(role.id, RolePatch::default(), test_audit())
        .await
        .unwrap();
    assert_eq!(unchanged, role);
    assert_eq!(roles.find_by_id(role.id).await.unwrap().unwrap(), role);
}

#[tokio::test]
async fn renaming_a_role_to_a_taken_name_is_already_exists_and_changes_nothing() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    roles.create(new_role("admin"), test_audit()).await.unwrap();
    let other = roles.create(new_role("other"), test_audit()).await.unwrap();
    let error = roles
        .update(
            other.id,
            RolePatch {
                name: Some(name("admin")),
                permissions: Some(Permissions::default()),
                ..RolePatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::Role)));
    assert_eq!(roles.find_by_id(other.id).await.unwrap().unwrap(), other);
}

#[tokio::test]
async fn updating_a_missing_role_is_not_found_whatever_the_patch() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let patches = [
        RolePatch::default(),
        RolePatch {
            name: Some(name("x")),
            ..RolePatch::default()
        },
        RolePatch {
            permissions: Some(Permissions::all()),
            limits: Some(Limits::default()),
            ..RolePatch::default()
        },
    ];
    for patch in patches {
        let error = roles
            .update(RoleId(4242), patch, test_audit())
            .await
            .unwrap_err();
        assert!(matches!(error, DomainError::NotFound(Entity::Role)));
    }
}

#[tokio::test]
async fn deleting_a_role_removes_it_with_its_permissions_and_limits() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let role = roles.create(new_role("admin"), test_audit()).await.unwrap();
    roles.delete(role.id, test_audit()).await.unwrap();
    assert!(roles.find_by_id(role.id).await.unwrap().is_none());
    assert_eq!(count(&db, "role_permissions", role.id), 0);
    assert_eq!(count(&db, "role_limits", role.id), 0);
}

#[tokio::test]
async fn deleting_a_role_in_the_database_cascades_to_its_permissions_and_limits() {
    let db = TestDatabase::new();
    let role = repository(&db)
        .create(new_role("admin"), test_audit())
        .await
        .unwrap();
    execute(
        &db.pool(),
        &format!("DELETE FROM roles WHERE id = {}", role.id),
    )
    .unwrap();
    assert_eq!(count(&db, "role_permissions", role.id), 0);
    assert_eq!(count(&db, "role_limits", role.id), 0);
}

#[tokio::test]
async fn deleting_a_role_held_by_users_is_in_use_and_keeps_it() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let role = roles.create(new_role("admin"), test_audit()).await.unwrap();
    create_user(&db.pool(), "ada@example.org", role.id, None).await;
    let error = roles.delete(role.id, test_audit()).await.unwrap_err();
    assert!(matches!(
        error,
        DomainError::InUse {
            entity: Entity::Role,
            used_by: Entity::User
        }
    ));
    assert!(roles.find_by_id(role.id).await.unwrap().is_some());
    assert_eq!(count(&db, "role_permissions", role.id), 2);
}

#[tokio::test]
async fn deleting_a_missing_role_is_not_found() {
    let db = TestDatabase::new();
    let error = repository(&db)
        .delete(RoleId(4242), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Role)));
}

#[tokio::test]
async fn the_database_refuses_unknown_permissions_and_a_permission_given_twice() {
    let db = TestDatabase::new();
    let role = create_role(&db.pool(), "admin").await;
    assert_refused(
        &db.pool(),
        &format!(
            "INSERT INTO role_permissions (role_id, permission) VALUES ({}, 'root')",
            role.id
        ),
        DatabaseErrorKind::CheckViolation,
        "role_permissions_permission_check",
    );
    assert_refused(
        &db.pool(),
        &format!(
            "INSERT INTO role_permissions (role_id, permission) VALUES ({0}, 'admin'), ({0}, 'admin')",
            role.id
        ),
        DatabaseErrorKind::UniqueViolation,
        "role_permissions_pkey",
    );
    for permission in Permission::ALL {
        execute(
            &db.pool(),
            &format!(
                "INSERT INTO role_permissions (role_id, permission) VALUES ({}, '{permission}')",
                role.id
            ),
        )
        .unwrap();
    }
}

#[tokio::test]
async fn the_database_refuses_invalid_limits() {
    let db = TestDatabase::new();
    let role = create_role(&db.pool(), "admin").await;
    let insert = |router: &str, kind: &str, value: &str| {
        format!(
            "INSERT INTO role_limits (role_id, router_id, type, value) VALUES ({}, {router}, {kind}, {value})",
            role.id
        )
    };
    let pool = db.pool();
    assert_refused(
        &pool,
        &insert("0", "'rpm'", "1"),
        DatabaseErrorKind::CheckViolation,
        "role_limits_router_id_check",
    );
    assert_refused(
        &pool,
        &insert("1", "'rps'", "1"),
        DatabaseErrorKind::CheckViolation,
        "role_limits_type_check",
    );
    assert_refused(
        &pool,
        &insert("1", "'rpm'", "-1"),
        DatabaseErrorKind::CheckViolation,
        "role_limits_value_check",
    );
    execute(&pool, &insert("1", "'rpm'", "NULL")).unwrap();
    assert_refused(
        &pool,
        &insert("1", "'rpm'", "5"),
        DatabaseErrorKind::UniqueViolation,
        "role_limits_pkey",
    );
    for kind in LimitType::ALL {
        execute(&pool, &insert("2", &format!("'{kind}'"), "0")).unwrap();
    }
}

#[tokio::test]
async fn the_database_refuses_permissions_and_limits_of_missing_roles() {
    let db = TestDatabase::new();
    assert_refused(
        &db.pool(),
        "INSERT INTO role_permissions (role_id, permission) VALUES (4242, 'admin')",
        DatabaseErrorKind::ForeignKeyViolation,
        "role_permissions_role_id_fkey",
    );
    assert_refused(
        &db.pool(),
        "INSERT INTO role_limits (role_id, router_id, type, value) VALUES (4242, 1, 'rpm', 1)",
        DatabaseErrorKind::ForeignKeyViolation,
        "role_limits_role_id_fkey",
    );
}

#[tokio::test]
async fn the_database_refuses_role_names_outside_1_to_255_characters_and_twice_the_same() {
    let db = TestDatabase::new();
    let pool = db.pool();
    for bad in ["''", "repeat('é', 256)"] {
        assert_refused(
            &pool,
            &format!("INSERT INTO roles (name) VALUES ({bad})"),
            DatabaseErrorKind::CheckViolation,
            "roles_name_length",
        );
    }
    assert_refused(
        &pool,
        "INSERT INTO roles (name) VALUES ('admin'), ('admin')",
        DatabaseErrorKind::UniqueViolation,
        "roles_name_key",
    );
}

#[tokio::test]
async fn the_database_sets_updated_on_every_write_of_a_role() {
    let db = TestDatabase::new();
    let roles = repository(&db);
    let role = roles.create(new_role("admin"), test_audit()).await.unwrap();
    backdate(&db.pool(), "roles", role.id.get());
    let role = roles.find_by_id(role.id).await.unwrap().unwrap();
    execute(
        &db.pool(),
        &format!(
            "UPDATE roles SET updated = '2000-01-01T00:00:00Z' WHERE id = {}",
            role.id
        ),
    )
    .unwrap();
    let after = roles.find_by_id(role.id).await.unwrap().unwrap();
    assert!(after.updated > role.updated);
    assert_eq!(after.created, role.created);
}

/// The user counts of `ids`, as found one by one and as listed.
async fn users_of(roles: &PgRoleRepository, ids: &[RoleId]) -> Vec<i64> {
    let mut found = Vec::new();
    for id in ids {
        found.push(roles.find_by_id(*id).await.unwrap().unwrap().users);
    }
    let listed = roles
        .list(page(0, 100, RoleOrder::Id, Direction::Asc))
        .await
        .unwrap();
    let listed: Vec<i64> = ids
        .iter()
        .map(|id| listed.items.iter().find(|r| r.id == *id).unwrap().users)
        .collect();
    assert_eq!(found, listed);
    found
}

fn give(role: RoleId) -> UserPatch {
    UserPatch {
        role: Some(role),
        ..UserPatch::default()
    }
}

#[tokio::test]
async fn the_user_count_of_a_role_follows_its_users_created_moved_and_deleted() {
    let db = TestDatabase::new();
    let pool = db.pool();
    let roles = repository(&db);
    let users = PgUserRepository::new(pool.clone(), trail());
    let member = create_role(&pool, "member").await.id;
    let admin = create_role(&pool, "admin").await.id;
    let ada = create_user(&pool, "ada@example.org", member, None).await.id;
    let bob = create_user(&pool, "bob@example.org", member, None).await.id;
    assert_eq!(users_of(&roles, &[member, admin]).await, [2, 0]);

    users.update(ada, give(admin), test_audit()).await.unwrap();
    assert_eq!(users_of(&roles, &[member, admin]).await, [1, 1]);
    users.update(ada, give(admin), test_audit()).await.unwrap();
    users
        .update(bob, give(RoleId(4242)), test_audit())
        .await
        .unwrap_err();
    assert_eq!(users_of(&roles, &[member, admin]).await, [1, 1]);
    users.update(bob, give(admin), test_audit()).await.unwrap();
    assert_eq!(users_of(&roles, &[member, admin]).await, [0, 2]);

    users.delete(ada, test_audit()).await.unwrap();
    assert_eq!(users_of(&roles, &[member, admin]).await, [0, 1]);
    assert_user_counts(&pool);
    roles.delete(member, test_audit()).await.unwrap();
}

#[tokio::test]
async fn users_taking_and_leaving_a_role_leave_its_updated_alone() {
    let db = TestDatabase::new();
    let pool = db.pool();
    let roles = repository(&db);
    let users = PgUserRepository::new(pool.clone(), trail());
    let member = roles
        .create(new_role("member"), test_audit())
        .await
        .unwrap();
    backdate(&pool, "roles", member.id.get());
    let member = roles.find_by_id(member.id).await.unwrap().unwrap();
    let admin = roles.create(new_role("admin"), test_audit()).await.unwrap();
    let ada = create_user(&pool, "ada@example.org", member.id, None)
        .await
        .id;
    create_user(&pool, "bob@example.org", member.id, None).await;
    users
        .update(ada, give(admin.id), test_audit())
        .await
        .unwrap();
    create_user(&pool, "cyd@example.org", admin.id, None).await;
    users.delete(ada, test_audit()).await.unwrap();

    let found = roles.find_by_id(member.id).await.unwrap().unwrap();
    assert_eq!(found, Role { users: 1, ..member });
    let found = roles.find_by_id(admin.id).await.unwrap().unwrap();
    assert_eq!(found, Role { users: 1, ..admin });
    // A change of the permissions alone is still a change.
    let updated = roles
        .update(
            member.id,
            RolePatch {
                permissions: Some(Permissions::all()),
                ..RolePatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert!(updated.updated > member.updated);
    assert_eq!(updated.users, 1);
}

#[tokio::test]
async fn the_database_refuses_a_negative_user_count_of_a_role() {
    let db = TestDatabase::new();
    assert_refused(
        &db.pool(),
        "INSERT INTO roles (name, users) VALUES ('admin', -1)",
        DatabaseErrorKind::CheckViolation,
        "roles_users_check",
    );
}
