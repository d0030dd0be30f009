//! `PgOrganizationRepository` against a real PostgreSQL database.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

mod common;

use common::*;
use diesel::result::DatabaseErrorKind;
use gatehouse_domain::{
    Direction, DomainError, Entity, NewOrganization, Organization, OrganizationId,
    OrganizationOrder, OrganizationPatch, OrganizationRepository, Patch, RoleId, RoleRepository,
    UserId, UserPatch, UserRepository,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{
    DEFAULT_CONNECTION_TIMEOUT, PgOrganizationRepository, PgRoleRepository, PgUserRepository,
    connect,
};
use tokio::task::JoinSet;

fn repository(db: &TestDatabase) -> PgOrganizationRepository {
    PgOrganizationRepository::new(db.pool(), trail())
}

fn new(organization_name: &str) -> NewOrganization {
    NewOrganization {
        name: name(organization_name),
    }
}

fn rename(organization_name: &str) -> OrganizationPatch {
    OrganizationPatch {
        name: Some(name(organization_name)),
    }
}

#[tokio::test]
async fn creating_an_organization_returns_it_with_no_users_and_timestamps_from_the_database() {
    let db = TestDatabase::new();
    let before = chrono::Utc::now();
    let created = repository(&db)
        .create(new("Acme"), test_audit())
        .await
        .unwrap();
    assert!(created.id.get() > 0);
    assert_eq!(created.name.as_str(), "Acme");
    assert_eq!(created.users, 0);
    assert_eq!(created.created, created.updated);
    assert!((created.created - before).num_seconds().abs() < 60);
}

#[tokio::test]
async fn creating_an_organization_with_a_taken_name_is_already_exists() {
    let db = TestDatabase::new();
    let organizations = repository(&db);
    organizations
        .create(new("Acme"), test_audit())
        .await
        .unwrap();
    let error = organizations
        .create(new("Acme"), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        DomainError::AlreadyExists(Entity::Organization)
    ));
}

#[tokio::test]
async fn finding_an_organization_by_id_gives_it_with_its_users_counted() {
    let db = TestDatabase::new();
    let organizations = repository(&db);
    let acme = organizations
        .create(new("Acme"), test_audit())
        .await
        .unwrap();
    let other = organizations
        .create(new("Other"), test_audit())
        .await
        .unwrap();
    let role = create_role(&db.pool(), "member").await;
    create_user(&db.pool(), "ada@example.org", role.id, Some(acme.id)).await;
    create_user(&db.pool(), "bob@example.org", role.id, Some(acme.id)).await;
    create_user(&db.pool(), "cyd@example.org", role.id, Some(other.id)).await;
    create_user(&db.pool(), "dan@example.org", role.id, None).await;

    let found = organizations.find_by_id(acme.id).await.unwrap().unwrap();
    assert_eq!(found, Organization { users: 2, ..acme });
}

#[tokio::test]
async fn finding_a_missing_organization_is_none() {
    let db = TestDatabase::new();
    let found = repository(&db)
        .find_by_id(OrganizationId(4242))
        .await
        .unwrap();
    assert!(found.is_none());
}

/// Six organizations; four inserted by one statement share `created` (and three `updated`), and
/// the physical order of the rows differs from the id order.
async fn six_organizations(db: &TestDatabase) {
    execute(
        &db.pool(),
        "INSERT INTO organizations (name) VALUES ('delta'), ('alpha'), ('charlie'), ('bravo')",
    )
    .unwrap();
    scramble(
        &db.pool(),
        "organizations",
        "id = (SELECT min(id) FROM organizations)",
    );
    let organizations = repository(db);
    organizations
        .create(new("foxtrot"), test_audit())
        .await
        .unwrap();
    organizations
        .create(new("echo"), test_audit())
        .await
        .unwrap();
}

#[tokio::test]
async fn listing_organizations_gives_the_requested_page_and_the_total() {
    let db = TestDatabase::new();
    six_organizations(&db).await;
    let organizations = repository(&db);
    let all = organizations
        .list(page(0, 100, OrganizationOrder::Id, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(all.total, 6);
    assert_eq!(all.items.len(), 6);

    let middle = organizations
        .list(page(2, 3, OrganizationOrder::Id, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(middle.total, 6);
    assert_eq!(middle.items, all.items[2..5]);

    let past_the_end = organizations
        .list(page(6, 10, OrganizationOrder::Id, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(past_the_end.total, 6);
    assert!(past_the_end.items.is_empty());
}

#[tokio::test]
async fn listing_organizations_counts_the_users_of_each() {
    let db = TestDatabase::new();
    let acme = create_organization(&db.pool(), "Acme").await;
    let empty = create_organization(&db.pool(), "Empty").await;
    let role = create_role(&db.pool(), "member").await;
    create_user(&db.pool(), "ada@example.org", role.id, Some(acme.id)).await;
    create_user(&db.pool(), "bob@example.org", role.id, Some(acme.id)).await;
    let listed = repository(&db)
        .list(page(0, 10, OrganizationOrder::Id, Direction::Asc))
        .await
        .unwrap();
    let counts: Vec<_> = listed.items.iter().map(|o| (o.id, o.users)).collect();
    assert_eq!(counts, [(acme.id, 2), (empty.id, 0)]);
}

#[tokio::test]
async fn listing_organizations_orders_by_each_field_in_both_directions_then_by_id() {
    let db = TestDatabase::new();
    six_organizations(&db).await;
    let organizations = repository(&db);
    for &order in OrganizationOrder::ALL {
        for direction in [Direction::Asc, Direction::Desc] {
            let listed = organizations
                .list(page(0, 100, order, direction))
                .await
                .unwrap();
            assert_eq!(listed.items.len(), 6);
            let ids = |items: &[Organization]| items.iter().map(|o| o.id.get()).collect::<Vec<_>>();
            match order {
                OrganizationOrder::Id => {
                    let keys: Vec<_> = ids(&listed.items).into_iter().map(|id| ((), id)).collect();
                    assert_sorted(&keys, direction);
                }
                OrganizationOrder::Name => {
                    let keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|o| (o.name.as_str().to_owned(), o.id.get()))
                        .collect();
                    assert_sorted(&keys, direction);
                }
                OrganizationOrder::Created | OrganizationOrder::Updated => {
                    let keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|o| {
                            let at = if order == OrganizationOrder::Created {
                                o.created
                            } else {
                                o.updated
                            };
                            (at, o.id.get())
                        })
                        .collect();
                    assert_has_ties(&keys);
                    assert_sorted(&keys, direction);
                }
            }
            // Pages follow one another without overlap or gap.
            let mut paged = Vec::new();
            for offset in [0, 4] {
                let part = organizations
                    .list(page(offset, 4, order, direction))
                    .await
                    .unwrap();
                paged.extend(part.items);
            }
            assert_eq!(ids(&paged), ids(&listed.items), "{order} {direction}");
        }
    }
}

#[tokio::test]
async fn updating_an_organization_renames_it_and_the_database_bumps_updated() {
    let db = TestDatabase::new();
    let organizations = repository(&db);
    let acme = organizations
        .create(new("Acme"), test_audit())
        .await
        .unwrap();
    backdate(&db.pool(), "organizations", acme.id.get());
    let acme = organizations.find_by_id(acme.id).await.unwrap().unwrap();
    let updated = organizations
        .update(acme.id, rename("Acme Corp"), test_audit())
        .await
        .unwrap();
    assert_eq!(updated.name.as_str(), "Acme Corp");
    assert_eq!(updated.created, acme.created);
    assert!(updated.updated > acme.updated);
    assert_eq!(
        organizations.find_by_id(acme.id).await.unwrap().unwrap(),
        updated
    );
}

#[tokio::test]
async fn updating_an_organization_returns_its_users_counted() {
    let db = TestDatabase::new();
    let acme = create_organization(&db.pool(), "Acme").await;
    let role = create_role(&db.pool(), "member").await;
    create_user(&db.pool(), "ada@example.org", role.id, Some(acme.id)).await;
    let updated = repository(&db)
        .update(acme.id, rename("Acme Corp"), test_audit())
        .await
        .unwrap();
    assert_eq!(updated.users, 1);
}

#[tokio::test]
async fn an_empty_organization_patch_changes_nothing_not_even_updated() {
    let db = TestDatabase::new();
    let organizations = repository(&db);
    let acme = organizations
        .create(new("Acme"), test_audit())
        .await
        .unwrap();
    let unchanged = organizations
        .update(acme.id, OrganizationPatch::default(), test_audit())
        .await
        .unwrap();
    assert_eq!(unchanged, acme);
    assert_eq!(
        organizations.find_by_id(acme.id).await.unwrap().unwrap(),
        acme
    );
}

#[tokio::test]
async fn updating_an_organization_to_a_taken_name_is_already_exists() {
    let db = TestDatabase::new();
    let organizations = repository(&db);
    organizations
        .create(new("Acme"), test_audit())
        .await
        .unwrap();
    let other = organizations
        .create(new("Other"), test_audit())
        .await
        .unwrap();
    let error = organizations
        .update(other.id, rename("Acme"), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        DomainError::AlreadyExists(Entity::Organization)
    ));
    assert_eq!(
        organizations.find_by_id(other.id).await.unwrap().unwrap(),
        other
    );
}

#[tokio::test]
async fn updating_a_missing_organization_is_not_found_whatever_the_patch() {
    let db = TestDatabase::new();
    let organizations = repository(&db);
    for patch in [OrganizationPatch::default(), rename("Acme")] {
        let error = organizations
            .update(OrganizationId(4242), patch, test_audit())
            .await
            .unwrap_err();
        assert!(matches!(error, DomainError::NotFound(Entity::Organization)));
    }
}

#[tokio::test]
async fn deleting_an_organization_removes_it() {
    let db = TestDatabase::new();
    let organizations = repository(&db);
    let acme = organizations
        .create(new("Acme"), test_audit())
        .await
        .unwrap();
    organizations.delete(acme.id, test_audit()).await.unwrap();
    assert!(organizations.find_by_id(acme.id).await.unwrap().is_none());
}

#[tokio::test]
async fn deleting_a_missing_organization_is_not_found() {
    let db = TestDatabase::new();
    let error = repository(&db)
        .delete(OrganizationId(4242), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Organization)));
}

#[tokio::test]
async fn deleting_an_organization_with_users_is_in_use_and_keeps_it() {
    let db = TestDatabase::new();
    let organizations = repository(&db);
    let acme = organizations
        .create(new("Acme"), test_audit())
        .await
        .unwrap();
    let role = create_role(&db.pool(), "member").await;
    create_user(&db.pool(), "ada@example.org", role.id, Some(acme.id)).await;
    let error = organizations
        .delete(acme.id, test_audit())
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        DomainError::InUse {
            entity: Entity::Organization,
            used_by: Entity::User
        }
    ));
    assert!(organizations.find_by_id(acme.id).await.unwrap().is_some());
}

#[tokio::test]
async fn deleting_an_organization_with_projects_is_in_use_and_keeps_it() {
    let db = TestDatabase::new();
    let organizations = repository(&db);
    let acme = organizations
        .create(new("Acme"), test_audit())
        .await
        .unwrap();
    let project = create_project(&db.pool(), "Apollo", acme.id).await;
    let error = organizations
        .delete(acme.id, test_audit())
        .await
        .unwrap_err();
    assert!(matches!(
        error,
        DomainError::InUse {
            entity: Entity::Organization,
            used_by: Entity::Project
        }
    ));
    assert!(organizations.find_by_id(acme.id).await.unwrap().is_some());
    assert_eq!(
        count_rows(&db.pool(), &format!("projects WHERE id = {}", project.id)),
        1
    );
}

#[tokio::test]
async fn the_database_refuses_organization_names_outside_1_to_255_characters() {
    let db = TestDatabase::new();
    let pool = db.pool();
    for bad in ["''".to_owned(), "repeat('é', 256)".to_owned()] {
        assert_refused(
            &pool,
            &format!("INSERT INTO organizations (name) VALUES ({bad})"),
            DatabaseErrorKind::CheckViolation,
            "organizations_name_length",
        );
    }
    execute(
        &pool,
        "INSERT INTO organizations (name) VALUES (repeat('é', 255))",
    )
    .unwrap();
}

#[tokio::test]
async fn the_database_refuses_two_organizations_of_the_same_name() {
    let db = TestDatabase::new();
    assert_refused(
        &db.pool(),
        "INSERT INTO organizations (name) VALUES ('Acme'), ('Acme')",
        DatabaseErrorKind::UniqueViolation,
        "organizations_name_key",
    );
}

#[tokio::test]
async fn the_database_sets_updated_on_every_write_of_an_organization() {
    let db = TestDatabase::new();
    let acme = create_organization(&db.pool(), "Acme").await;
    backdate(&db.pool(), "organizations", acme.id.get());
    let acme = repository(&db).find_by_id(acme.id).await.unwrap().unwrap();
    // Even a write that tries to set `updated` itself gets the database's time.
    execute(
        &db.pool(),
        &format!(
            "UPDATE organizations SET updated = '2000-01-01T00:00:00Z' WHERE id = {}",
            acme.id
        ),
    )
    .unwrap();
    let after = repository(&db).find_by_id(acme.id).await.unwrap().unwrap();
    assert!(after.updated > acme.updated);
    assert_eq!(after.created, acme.created);
}

/// The user counts of `ids`, as found one by one and as listed.
async fn users_of(organizations: &PgOrganizationRepository, ids: &[OrganizationId]) -> Vec<i64> {
    let mut found = Vec::new();
    for id in ids {
        found.push(organizations.find_by_id(*id).await.unwrap().unwrap().users);
    }
    let listed = organizations
        .list(page(0, 100, OrganizationOrder::Id, Direction::Asc))
        .await
        .unwrap();
    let listed: Vec<i64> = ids
        .iter()
        .map(|id| listed.items.iter().find(|o| o.id == *id).unwrap().users)
        .collect();
    assert_eq!(found, listed);
    found
}

fn move_to(organization: Patch<OrganizationId>) -> UserPatch {
    UserPatch {
        organization,
        ..UserPatch::default()
    }
}

#[tokio::test]
async fn the_user_count_of_an_organization_follows_its_users_created_moved_and_deleted() {
    let db = TestDatabase::new();
    let pool = db.pool();
    let organizations = repository(&db);
    let users = PgUserRepository::new(pool.clone(), trail());
    let acme = create_organization(&pool, "Acme").await.id;
    let globex = create_organization(&pool, "Globex").await.id;
    let role = create_role(&pool, "member").await.id;
    let ada = create_user(&pool, "ada@example.org", role, Some(acme))
        .await
        .id;
    let bob = create_user(&pool, "bob@example.org", role, Some(acme))
        .await
        .id;
    let cyd = create_user(&pool, "cyd@example.org", role, None).await.id;
    assert_eq!(users_of(&organizations, &[acme, globex]).await, [2, 0]);

    users
        .update(ada, move_to(Patch::Set(globex)), test_audit())
        .await
        .unwrap();
    assert_eq!(users_of(&organizations, &[acme, globex]).await, [1, 1]);
    users
        .update(bob, move_to(Patch::Clear), test_audit())
        .await
        .unwrap();
    assert_eq!(users_of(&organizations, &[acme, globex]).await, [0, 1]);
    users
        .update(cyd, move_to(Patch::Set(acme)), test_audit())
        .await
        .unwrap();
    assert_eq!(users_of(&organizations, &[acme, globex]).await, [1, 1]);
    // Staying where one is, or changing something else, counts nothing.
    users
        .update(ada, move_to(Patch::Set(globex)), test_audit())
        .await
        .unwrap();
    users
        .update(
            cyd,
            UserPatch {
                name: Patch::Set(name("Cyd")),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(users_of(&organizations, &[acme, globex]).await, [1, 1]);
    // A move that fails counts nothing either.
    users
        .update(ada, move_to(Patch::Set(OrganizationId(4242))), test_audit())
        .await
        .unwrap_err();
    assert_eq!(users_of(&organizations, &[acme, globex]).await, [1, 1]);

    users.delete(ada, test_audit()).await.unwrap();
    users.delete(bob, test_audit()).await.unwrap();
    assert_eq!(users_of(&organizations, &[acme, globex]).await, [1, 0]);
    assert_user_counts(&pool);
    // With its last user gone, an organization can be deleted.
    organizations.delete(globex, test_audit()).await.unwrap();
}

#[tokio::test]
async fn users_joining_and_leaving_an_organization_leave_its_updated_alone() {
    let db = TestDatabase::new();
    let pool = db.pool();
    let organizations = repository(&db);
    let users = PgUserRepository::new(pool.clone(), trail());
    let acme = organizations
        .create(new("Acme"), test_audit())
        .await
        .unwrap();
    backdate(&pool, "organizations", acme.id.get());
    let acme = organizations.find_by_id(acme.id).await.unwrap().unwrap();
    let globex = organizations
        .create(new("Globex"), test_audit())
        .await
        .unwrap();
    let role = create_role(&pool, "member").await.id;
    let ada = create_user(&pool, "ada@example.org", role, Some(acme.id))
        .await
        .id;
    create_user(&pool, "bob@example.org", role, Some(globex.id)).await;
    users
        .update(ada, move_to(Patch::Set(globex.id)), test_audit())
        .await
        .unwrap();
    users.delete(ada, test_audit()).await.unwrap();
    execute(
        &pool,
        &format!(
            "INSERT INTO users (email, role_id, organization_id) \
             SELECT 'user' || n || '@example.org', {role}, {} FROM generate_series(1, 3) AS n",
            acme.id
        ),
    )
    .unwrap();

    let found = organizations.find_by_id(acme.id).await.unwrap().unwrap();
    assert_eq!(found, Organization { users: 3, ..acme });
    let found = organizations.find_by_id(globex.id).await.unwrap().unwrap();
    assert_eq!(found, Organization { users: 1, ..globex });
    // A rename is still a change.
    let renamed = organizations
        .update(acme.id, rename("Acme Corp"), test_audit())
        .await
        .unwrap();
    assert!(renamed.updated > acme.updated);
    assert_eq!(renamed.users, 3);
}

#[tokio::test]
async fn the_database_counts_users_written_many_at_a_time() {
    let db = TestDatabase::new();
    let pool = db.pool();
    let acme = create_organization(&pool, "Acme").await.id;
    let globex = create_organization(&pool, "Globex").await.id;
    let initech = create_organization(&pool, "Initech").await.id;
    let member = create_role(&pool, "member").await.id;
    let admin = create_role(&pool, "admin").await.id;
    let organizations = repository(&db);

    // 30 users in one statement: 10 in each organization but none for every third, 15 per role.
    execute(
        &pool,
        &format!(
            "INSERT INTO users (email, role_id, organization_id) \
             SELECT 'user' || n || '@example.org', \
                    CASE WHEN n % 2 = 0 THEN {member} ELSE {admin} END, \
                    CASE n % 3 WHEN 0 THEN {acme} WHEN 1 THEN {globex} END \
             FROM generate_series(1, 30) AS n"
        ),
    )
    .unwrap();
    assert_eq!(
        users_of(&organizations, &[acme, globex, initech]).await,
        [10, 10, 0]
    );
    assert_user_counts(&pool);

    // One statement moving users both ways, and into and out of organizations: the moves between
    // Acme and Globex cancel out, the rest do not.
    execute(
        &pool,
        &format!(
            "UPDATE users SET organization_id = CASE organization_id \
                 WHEN {acme} THEN {globex} WHEN {globex} THEN {acme} ELSE {initech} END, \
                 role_id = {member} \
             WHERE id IN (SELECT id FROM users ORDER BY id LIMIT 12)"
        ),
    )
    .unwrap();
    assert_eq!(
        users_of(&organizations, &[acme, globex, initech]).await,
        [10, 10, 4]
    );
    let roles = PgRoleRepository::new(pool.clone(), trail());
    assert_eq!(
        roles.find_by_id(member).await.unwrap().unwrap().users,
        15 + 6,
        "the first 12 users, half of them admins, became members"
    );
    assert_user_counts(&pool);

    execute(
        &pool,
        &format!("DELETE FROM users WHERE organization_id = {acme} OR organization_id IS NULL"),
    )
    .unwrap();
    assert_eq!(
        users_of(&organizations, &[acme, globex, initech]).await[0],
        0
    );
    assert_user_counts(&pool);
    execute(&pool, "TRUNCATE users CASCADE").unwrap();
    assert_eq!(
        users_of(&organizations, &[acme, globex, initech]).await,
        [0, 0, 0]
    );
    assert_user_counts(&pool);
}

#[tokio::test]
async fn the_database_refuses_a_negative_user_count() {
    let db = TestDatabase::new();
    assert_refused(
        &db.pool(),
        "INSERT INTO organizations (name, users) VALUES ('Acme', -1)",
        DatabaseErrorKind::CheckViolation,
        "organizations_users_check",
    );
}

/// 20 users, half in Acme with one role and half in Globex with the other, each moved 10 times
/// to the other organization and role, by 20 tasks on 16 connections: moves in opposite
/// directions between the same two organizations (and roles) all the time.
#[tokio::test]
async fn concurrent_moves_between_two_organizations_both_ways_never_deadlock() {
    let db = TestDatabase::new();
    let pool = db.pool();
    let acme = create_organization(&pool, "Acme").await.id;
    let globex = create_organization(&pool, "Globex").await.id;
    let member = create_role(&pool, "member").await.id;
    let admin = create_role(&pool, "admin").await.id;
    let mut starts: Vec<(UserId, OrganizationId, RoleId)> = Vec::new();
    for n in 0..20 {
        let (organization, role) = if n % 2 == 0 {
            (acme, member)
        } else {
            (globex, admin)
        };
        let user = create_user(
            &pool,
            &format!("user{n}@example.org"),
            role,
            Some(organization),
        )
        .await
        .id;
        starts.push((user, organization, role));
    }

    let users = PgUserRepository::new(
        connect(db.url(), 16, DEFAULT_CONNECTION_TIMEOUT, None).unwrap(),
        trail(),
    );
    let mut tasks = JoinSet::new();
    for (user, organization, role) in starts {
        let users = users.clone();
        let (other_organization, other_role) = if organization == acme {
            (globex, admin)
        } else {
            (acme, member)
        };
        tasks.spawn(async move {
            let mut outcomes = Vec::new();
            for round in 0..10 {
                let (organization, role) = if round % 2 == 0 {
                    (other_organization, other_role)
                } else {
                    (organization, role)
                };
                let patch = UserPatch {
                    organization: Patch::Set(organization),
                    role: Some(role),
                    ..UserPatch::default()
                };
                outcomes.push(users.update(user, patch, test_audit()).await.map(|_| ()));
            }
            outcomes
        });
    }
    while let Some(outcomes) = tasks.join_next().await {
        for outcome in outcomes.unwrap() {
            outcome.unwrap();
        }
    }

    assert_user_counts(&pool);
    assert_eq!(users_of(&repository(&db), &[acme, globex]).await, [10, 10]);
}
