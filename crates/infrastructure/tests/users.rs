//! `PgUserRepository` against a real PostgreSQL database.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

mod common;

use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use diesel::result::DatabaseErrorKind;
use gatehouse_domain::{
    ApiKeyId, ApiKeyRepository, Budget, Credentials, Direction, DomainError, Entity, Expiry,
    KeyHash, NewApiKey, NewUser, OrganizationId, PasswordHash, Patch, Priority, ProjectId,
    ProjectRepository, RoleId, User, UserFilter, UserId, UserOrder, UserPatch, UserRepository,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{PgApiKeyRepository, PgProjectRepository, PgUserRepository};

fn repository(db: &TestDatabase) -> PgUserRepository {
    PgUserRepository::new(db.pool(), trail())
}

/// Microsecond precision, as PostgreSQL stores it.
fn in_days(days: i64) -> DateTime<Utc> {
    let at = Utc::now() + TimeDelta::days(days);
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap()
}

fn expiry(days: i64) -> Expiry {
    Expiry::future(in_days(days), Utc::now()).unwrap()
}

struct World {
    db: TestDatabase,
    role: RoleId,
    other_role: RoleId,
    organization: OrganizationId,
    other_organization: OrganizationId,
}

async fn world() -> World {
    let db = TestDatabase::new();
    let role = create_role(&db.pool(), "member").await.id;
    let other_role = create_role(&db.pool(), "admin").await.id;
    let organization = create_organization(&db.pool(), "Acme").await.id;
    let other_organization = create_organization(&db.pool(), "Other").await.id;
    World {
        db,
        role,
        other_role,
        organization,
        other_organization,
    }
}

fn full_user(world: &World) -> NewUser {
    NewUser {
        email: email("Ada.Lovelace@Example.org"),
        name: Some(name("Ada")),
        password: Some(PasswordHash::new(
            "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
        )),
        role: world.role,
        organization: Some(world.organization),
        budget: Some(Budget::new(12.5).unwrap()),
        expires: Some(expiry(30)),
        priority: Priority::new(3).unwrap(),
    }
}

#[tokio::test]
async fn creating_a_user_returns_every_field_as_stored() {
    let world = world().await;
    let new = full_user(&world);
    let created = repository(&world.db)
        .create(new.clone(), test_audit())
        .await
        .unwrap();
    assert!(created.id.get() > 0);
    assert_eq!(created.email.as_str(), "Ada.Lovelace@Example.org");
    assert_eq!(created.name, new.name);
    assert_eq!(
        (created.sub.as_deref(), created.iss.as_deref()),
        (None, None)
    );
    assert_eq!(created.role, world.role);
    assert_eq!(created.organization, Some(world.organization));
    assert_eq!(created.budget, new.budget);
    assert_eq!(created.expires, new.expires.map(Expiry::at));
    assert_eq!(created.priority, new.priority);
    assert_eq!(created.created, created.updated);
    assert_eq!(
        repository(&world.db)
            .find_by_id(created.id)
            .await
            .unwrap()
            .unwrap(),
        created
    );
}

#[tokio::test]
async fn creating_a_user_stores_the_password_hash() {
    let world = world().await;
    let created = repository(&world.db)
        .create(full_user(&world), test_audit())
        .await
        .unwrap();
    assert_eq!(
        stored_password_hash(&world.db.pool(), created.id).as_deref(),
        Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
    );
}

#[tokio::test]
async fn creating_a_user_with_only_the_required_fields_leaves_the_others_empty() {
    let world = world().await;
    let created = repository(&world.db)
        .create(new_user("ada@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    assert_eq!(created.name, None);
    assert_eq!(created.organization, None);
    assert_eq!(created.budget, None);
    assert_eq!(created.expires, None);
    assert_eq!(created.priority, Priority::default());
    assert_eq!(stored_password_hash(&world.db.pool(), created.id), None);
}

#[tokio::test]
async fn creating_a_user_with_a_taken_email_is_already_exists() {
    let world = world().await;
    let users = repository(&world.db);
    users
        .create(new_user("ada@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    let error = users
        .create(
            new_user("ada@example.org", world.other_role, None),
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::User)));
}

#[tokio::test]
async fn creating_a_user_with_an_email_taken_in_another_case_is_already_exists() {
    let world = world().await;
    let users = repository(&world.db);
    users
        .create(new_user("ada@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    let error = users
        .create(new_user("ADA@Example.ORG", world.role, None), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::User)));
}

#[tokio::test]
async fn creating_a_user_with_a_missing_role_is_role_not_found() {
    let world = world().await;
    let error = repository(&world.db)
        .create(
            new_user("ada@example.org", RoleId(4242), None),
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Role)));
}

#[tokio::test]
async fn creating_a_user_with_a_missing_organization_is_organization_not_found() {
    let world = world().await;
    let error = repository(&world.db)
        .create(
            new_user("ada@example.org", world.role, Some(OrganizationId(4242))),
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Organization)));
}

#[tokio::test]
async fn finding_a_missing_user_is_none() {
    let world = world().await;
    let found = repository(&world.db)
        .find_by_id(UserId(4242))
        .await
        .unwrap();
    assert!(found.is_none());
}

/// Ada with a password and an expiry, Bob with neither.
async fn ada_and_bob(world: &World) -> (Credentials, Credentials) {
    let users = repository(&world.db);
    let new = full_user(world);
    let ada = users.create(new.clone(), test_audit()).await.unwrap();
    let bob = users
        .create(new_user("bob@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    (
        Credentials {
            user: ada.id,
            password: new.password,
            expires: new.expires.map(Expiry::at),
        },
        Credentials {
            user: bob.id,
            password: None,
            expires: None,
        },
    )
}

#[tokio::test]
async fn credentials_are_found_by_email_in_any_case_with_the_stored_hash_and_expiry() {
    let world = world().await;
    let (ada, bob) = ada_and_bob(&world).await;
    let users = repository(&world.db);
    for address in [
        "Ada.Lovelace@Example.org",
        "ada.lovelace@example.org",
        "ADA.LOVELACE@EXAMPLE.ORG",
    ] {
        let found = users.find_credentials_by_email(address).await.unwrap();
        assert_eq!(found.as_ref(), Some(&ada), "{address}");
    }
    assert_eq!(
        ada.password.as_ref().map(PasswordHash::as_str),
        Some("$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA")
    );
    assert!(ada.expires.is_some());
    let found = users
        .find_credentials_by_email("Bob@Example.org")
        .await
        .unwrap();
    assert_eq!(found, Some(bob));
}

#[tokio::test]
async fn credentials_of_an_unknown_email_are_none() {
    let world = world().await;
    ada_and_bob(&world).await;
    let users = repository(&world.db);
    for address in ["nobody@example.org", "ada.lovelace@example.org.", "%", ""] {
        let found = users.find_credentials_by_email(address).await.unwrap();
        assert!(found.is_none(), "{address}");
    }
}

#[tokio::test]
async fn credentials_are_found_by_id_and_a_missing_id_is_none() {
    let world = world().await;
    let (ada, bob) = ada_and_bob(&world).await;
    let users = repository(&world.db);
    assert_eq!(users.find_credentials(ada.user).await.unwrap(), Some(ada));
    assert_eq!(users.find_credentials(bob.user).await.unwrap(), Some(bob));
    assert!(
        users
            .find_credentials(UserId(4242))
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn credentials_follow_a_password_change() {
    let world = world().await;
    let (_, bob) = ada_and_bob(&world).await;
    let users = repository(&world.db);
    users
        .update(
            bob.user,
            UserPatch {
                password: Some(PasswordHash::new("$argon2id$new")),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    let found = users.find_credentials(bob.user).await.unwrap().unwrap();
    assert_eq!(found.password, Some(PasswordHash::new("$argon2id$new")));
}

/// Six users: four inserted by one statement share `created` (and three `updated`), two share a
/// name, one has none, and the physical order of the rows differs from the id order.
async fn six_users(world: &World) -> Vec<User> {
    let pool = world.db.pool();
    execute(
        &pool,
        &format!(
            "INSERT INTO users (email, name, role_id, organization_id) VALUES \
             ('ddd@example.org', 'same', {role}, {org}), \
             ('aaa@example.org', 'zed', {role}, {org}), \
             ('ccc@example.org', NULL, {other_role}, {org}), \
             ('bbb@example.org', 'same', {role}, NULL)",
            role = world.role,
            other_role = world.other_role,
            org = world.organization,
        ),
    )
    .unwrap();
    scramble(&pool, "users", "id = (SELECT min(id) FROM users)");
    let users = repository(&world.db);
    users
        .create(
            NewUser {
                name: Some(name("amy")),
                ..new_user(
                    "fff@example.org",
                    world.role,
                    Some(world.other_organization),
                )
            },
            test_audit(),
        )
        .await
        .unwrap();
    users
        .create(
            new_user("eee@example.org", world.other_role, None),
            test_audit(),
        )
        .await
        .unwrap();
    users
        .list(
            UserFilter::default(),
            page(0, 100, UserOrder::Id, Direction::Asc),
        )
        .await
        .unwrap()
        .items
}

#[tokio::test]
async fn listing_users_gives_the_requested_page_and_the_total() {
    let world = world().await;
    let all = six_users(&world).await;
    assert_eq!(all.len(), 6);
    let users = repository(&world.db);
    let middle = users
        .list(
            UserFilter::default(),
            page(1, 2, UserOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(middle.total, 6);
    assert_eq!(middle.items, all[1..3]);
    let past_the_end = users
        .list(
            UserFilter::default(),
            page(10, 2, UserOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(past_the_end.total, 6);
    assert!(past_the_end.items.is_empty());
}

#[tokio::test]
async fn listing_users_orders_by_each_field_in_both_directions_then_by_id() {
    let world = world().await;
    six_users(&world).await;
    let users = repository(&world.db);
    for &order in UserOrder::ALL {
        for direction in [Direction::Asc, Direction::Desc] {
            let listed = users
                .list(UserFilter::default(), page(0, 100, order, direction))
                .await
                .unwrap();
            assert_eq!(listed.items.len(), 6);
            let id = |u: &User| u.id.get();
            match order {
                UserOrder::Id => {
                    let keys: Vec<_> = listed.items.iter().map(|u| ((), id(u))).collect();
                    assert_sorted(&keys, direction);
                }
                UserOrder::Name => {
                    let keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|u| (NullsLast(u.name.as_ref().map(ToString::to_string)), id(u)))
                        .collect();
                    assert_has_ties(&keys);
                    assert_sorted(&keys, direction);
                }
                UserOrder::Email => {
                    let keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|u| (u.email.to_string(), id(u)))
                        .collect();
                    assert_sorted(&keys, direction);
                }
                UserOrder::Created => {
                    let keys: Vec<_> = listed.items.iter().map(|u| (u.created, id(u))).collect();
                    assert_has_ties(&keys);
                    assert_sorted(&keys, direction);
                }
                UserOrder::Updated => {
                    let keys: Vec<_> = listed.items.iter().map(|u| (u.updated, id(u))).collect();
                    assert_has_ties(&keys);
                    assert_sorted(&keys, direction);
                }
            }
            let mut paged = Vec::new();
            for offset in [0, 4] {
                let part = users
                    .list(UserFilter::default(), page(offset, 4, order, direction))
                    .await
                    .unwrap();
                paged.extend(part.items);
            }
            assert_eq!(paged, listed.items, "{order} {direction}");
        }
    }
}

#[tokio::test]
async fn listing_users_filters_by_role_organization_and_email_and_counts_only_matches() {
    let world = world().await;
    let all = six_users(&world).await;
    let users = repository(&world.db);
    let emails = |filter: UserFilter| {
        let users = users.clone();
        async move {
            let listed = users
                .list(filter, page(0, 100, UserOrder::Email, Direction::Asc))
                .await
                .unwrap();
            let emails: Vec<String> = listed.items.iter().map(|u| u.email.to_string()).collect();
            assert_eq!(listed.total, i64::try_from(emails.len()).unwrap());
            emails
        }
    };
    assert_eq!(
        emails(UserFilter {
            role: Some(world.role),
            ..UserFilter::default()
        })
        .await,
        [
            "aaa@example.org",
            "bbb@example.org",
            "ddd@example.org",
            "fff@example.org"
        ]
    );
    assert_eq!(
        emails(UserFilter {
            organization: Some(world.organization),
            ..UserFilter::default()
        })
        .await,
        ["aaa@example.org", "ccc@example.org", "ddd@example.org"]
    );
    assert_eq!(
        emails(UserFilter {
            role: Some(world.role),
            organization: Some(world.organization),
            ..UserFilter::default()
        })
        .await,
        ["aaa@example.org", "ddd@example.org"]
    );
    assert_eq!(
        emails(UserFilter {
            email: Some("CCC@Example.Org".to_owned()),
            ..UserFilter::default()
        })
        .await,
        ["ccc@example.org"]
    );
    assert_eq!(
        emails(UserFilter {
            email: Some("ccc@example.org".to_owned()),
            role: Some(world.role),
            ..UserFilter::default()
        })
        .await,
        Vec::<String>::new()
    );
    let total = users
        .list(
            UserFilter {
                role: Some(world.role),
                ..UserFilter::default()
            },
            page(0, 1, UserOrder::Id, Direction::Asc),
        )
        .await
        .unwrap()
        .total;
    assert_eq!(total, 4);
    assert_eq!(all.len(), 6);
}

#[tokio::test]
async fn listing_users_by_an_unknown_email_is_an_empty_page() {
    let world = world().await;
    six_users(&world).await;
    let listed = repository(&world.db)
        .list(
            UserFilter {
                email: Some("nobody@example.org".to_owned()),
                ..UserFilter::default()
            },
            page(0, 10, UserOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(listed.total, 0);
    assert!(listed.items.is_empty());
}

/// `total` of a list of the users of `filter`, read with a page of one.
async fn total(world: &World, filter: UserFilter) -> i64 {
    repository(&world.db)
        .list(filter, page(0, 1, UserOrder::Id, Direction::Asc))
        .await
        .unwrap()
        .total
}

#[tokio::test]
async fn listing_the_users_of_one_organization_or_role_reads_the_total_kept_by_the_database() {
    let world = world().await;
    six_users(&world).await;
    let pool = world.db.pool();
    let of_organization = of_organization(world.organization);
    let of_role = of_role(world.role);
    let of_both = UserFilter {
        role: Some(world.role),
        organization: Some(world.organization),
        ..UserFilter::default()
    };
    assert_eq!(total(&world, of_organization.clone()).await, 3);
    assert_eq!(total(&world, of_role.clone()).await, 4);
    assert_eq!(total(&world, of_both.clone()).await, 2);

    // The totals of one organization or one role come from their rows, not from counting: a
    // count set wrong by hand shows (and only there).
    execute(
        &pool,
        &format!(
            "UPDATE organizations SET users = 42 WHERE id = {}",
            world.organization
        ),
    )
    .unwrap();
    execute(
        &pool,
        &format!("UPDATE roles SET users = 43 WHERE id = {}", world.role),
    )
    .unwrap();
    assert_eq!(total(&world, of_organization).await, 42);
    assert_eq!(total(&world, of_role).await, 43);
    assert_eq!(total(&world, of_both).await, 2);
    let of_email = UserFilter {
        organization: Some(world.organization),
        email: Some("aaa@example.org".to_owned()),
        ..UserFilter::default()
    };
    assert_eq!(total(&world, of_email).await, 1);
    assert_eq!(total(&world, UserFilter::default()).await, 6);
    // A list of ids is counted too, whatever the organization's row says.
    let ids: Vec<UserId> = repository(&world.db)
        .list(
            UserFilter::default(),
            page(0, 10, UserOrder::Id, Direction::Asc),
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|user| user.id)
        .collect();
    let some = UserFilter {
        organization: Some(world.organization),
        ids: Some(vec![ids[0], ids[2], ids[3], UserId(4242)]),
        ..UserFilter::default()
    };
    let listed = repository(&world.db)
        .list(some.clone(), page(0, 10, UserOrder::Id, Direction::Asc))
        .await
        .unwrap();
    let of_them: Vec<UserId> = listed.items.iter().map(|user| user.id).collect();
    // The organization's users among those ids, and nobody else.
    let expected: Vec<UserId> = repository(&world.db)
        .list(
            UserFilter {
                organization: Some(world.organization),
                ..UserFilter::default()
            },
            page(0, 10, UserOrder::Id, Direction::Asc),
        )
        .await
        .unwrap()
        .items
        .iter()
        .map(|user| user.id)
        .filter(|id| [ids[0], ids[2], ids[3]].contains(id))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(of_them, expected);
    assert_eq!(listed.total, i64::try_from(expected.len()).unwrap());
    assert_eq!(total(&world, some).await, listed.total);
    let none = UserFilter {
        ids: Some(Vec::new()),
        ..UserFilter::default()
    };
    assert_eq!(total(&world, none).await, 0);
}

#[tokio::test]
async fn listing_the_users_of_a_missing_organization_or_role_is_an_empty_page() {
    let world = world().await;
    six_users(&world).await;
    let users = repository(&world.db);
    for filter in [
        UserFilter {
            organization: Some(OrganizationId(4242)),
            ..UserFilter::default()
        },
        UserFilter {
            role: Some(RoleId(4242)),
            ..UserFilter::default()
        },
    ] {
        let listed = users
            .list(filter.clone(), page(0, 10, UserOrder::Id, Direction::Asc))
            .await
            .unwrap();
        assert_eq!(listed.total, 0, "{filter:?}");
        assert!(listed.items.is_empty(), "{filter:?}");
    }
}

fn of_organization(organization: OrganizationId) -> UserFilter {
    UserFilter {
        organization: Some(organization),
        ..UserFilter::default()
    }
}

fn of_role(role: RoleId) -> UserFilter {
    UserFilter {
        role: Some(role),
        ..UserFilter::default()
    }
}

/// The filters of each organization and each role of `world`.
fn filters_of_one(world: &World) -> [UserFilter; 4] {
    [
        of_organization(world.organization),
        of_organization(world.other_organization),
        of_role(world.role),
        of_role(world.other_role),
    ]
}

#[tokio::test]
async fn the_totals_of_an_organization_and_a_role_follow_moves_and_deletions() {
    let world = world().await;
    let all = six_users(&world).await;
    let users = repository(&world.db);
    let mut totals = Vec::new();
    for filter in filters_of_one(&world) {
        totals.push(total(&world, filter).await);
    }
    assert_eq!(totals, [3, 1, 4, 2]);

    users
        .update(
            all[0].id,
            UserPatch {
                organization: Patch::Set(world.other_organization),
                role: Some(world.other_role),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    users.delete(all[1].id, test_audit()).await.unwrap();
    assert_user_counts(&world.db.pool());
    for (filter, expected) in filters_of_one(&world).into_iter().zip([1, 2, 2, 3]) {
        let listed = users
            .list(filter.clone(), page(0, 100, UserOrder::Id, Direction::Asc))
            .await
            .unwrap();
        assert_eq!(listed.total, expected, "{filter:?}");
        assert_eq!(listed.items.len(), usize::try_from(expected).unwrap());
    }
}

#[tokio::test]
async fn updating_a_user_sets_every_field_given_and_the_database_bumps_updated() {
    let world = world().await;
    let users = repository(&world.db);
    let user = users
        .create(new_user("ada@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    backdate(&world.db.pool(), "users", user.id.get());
    let user = users.find_by_id(user.id).await.unwrap().unwrap();
    let expires = expiry(10);
    let updated = users
        .update(
            user.id,
            UserPatch {
                email: Some(email("Ada@Example.net")),
                name: Patch::Set(name("Ada L.")),
                password: Some(PasswordHash::new("$argon2id$new")),
                role: Some(world.other_role),
                organization: Patch::Set(world.other_organization),
                budget: Patch::Set(Budget::new(0.0).unwrap()),
                expires: Patch::Set(expires),
                priority: Some(Priority::new(9).unwrap()),
                end_keys: None,
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(updated.email.as_str(), "Ada@Example.net");
    assert_eq!(updated.name, Some(name("Ada L.")));
    assert_eq!(updated.role, world.other_role);
    assert_eq!(updated.organization, Some(world.other_organization));
    assert_eq!(updated.budget, Some(Budget::new(0.0).unwrap()));
    assert_eq!(updated.expires, Some(expires.at()));
    assert_eq!(updated.priority, Priority::new(9).unwrap());
    assert_eq!(updated.created, user.created);
    assert!(updated.updated > user.updated);
    assert_eq!(
        stored_password_hash(&world.db.pool(), user.id).as_deref(),
        Some("$argon2id$new")
    );
    assert_eq!(users.find_by_id(user.id).await.unwrap().unwrap(), updated);
}

#[tokio::test]
async fn a_user_merge_patch_keeps_absent_fields_and_clears_null_ones() {
    let world = world().await;
    let users = repository(&world.db);
    let user = users.create(full_user(&world), test_audit()).await.unwrap();

    let kept = users
        .update(
            user.id,
            UserPatch {
                priority: Some(Priority::new(4).unwrap()),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(
        kept,
        User {
            priority: Priority::new(4).unwrap(),
            updated: kept.updated,
            ..user.clone()
        }
    );
    assert!(stored_password_hash(&world.db.pool(), user.id).is_some());

    let cleared = users
        .update(
            user.id,
            UserPatch {
                name: Patch::Clear,
                organization: Patch::Clear,
                budget: Patch::Clear,
                expires: Patch::Clear,
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(
        cleared,
        User {
            name: None,
            organization: None,
            budget: None,
            expires: None,
            updated: cleared.updated,
            ..kept
        }
    );
}

#[tokio::test]
async fn an_empty_user_patch_changes_nothing_not_even_updated() {
    let world = world().await;
    let users = repository(&world.db);
    let user = users.create(full_user(&world), test_audit()).await.unwrap();
    let unchanged = users
        .update(user.id, UserPatch::default(), test_audit())
        .await
        .unwrap();
    assert_eq!(unchanged, user);
    assert_eq!(users.find_by_id(user.id).await.unwrap().unwrap(), user);
}

#[tokio::test]
async fn updating_a_user_email_to_one_taken_in_another_case_is_already_exists() {
    let world = world().await;
    let users = repository(&world.db);
    users
        .create(new_user("ada@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    let bob = users
        .create(new_user("bob@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    let error = users
        .update(
            bob.id,
            UserPatch {
                email: Some(email("Ada@EXAMPLE.org")),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::User)));
}

#[tokio::test]
async fn a_user_may_change_the_case_of_their_own_email() {
    let world = world().await;
    let users = repository(&world.db);
    let ada = users
        .create(new_user("ada@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    let updated = users
        .update(
            ada.id,
            UserPatch {
                email: Some(email("ADA@example.org")),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(updated.email.as_str(), "ADA@example.org");
}

#[tokio::test]
async fn updating_a_user_to_a_missing_role_or_organization_is_not_found() {
    let world = world().await;
    let users = repository(&world.db);
    let user = users
        .create(new_user("ada@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    let error = users
        .update(
            user.id,
            UserPatch {
                role: Some(RoleId(4242)),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Role)));
    let error = users
        .update(
            user.id,
            UserPatch {
                organization: Patch::Set(OrganizationId(4242)),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Organization)));
    assert_eq!(users.find_by_id(user.id).await.unwrap().unwrap(), user);
}

#[tokio::test]
async fn updating_a_missing_user_is_not_found_whatever_the_patch() {
    let world = world().await;
    let users = repository(&world.db);
    let patches = [
        UserPatch::default(),
        UserPatch {
            priority: Some(Priority::new(1).unwrap()),
            ..UserPatch::default()
        },
        UserPatch {
            role: Some(RoleId(4242)),
            ..UserPatch::default()
        },
    ];
    for patch in patches {
        let error = users
            .update(UserId(4242), patch, test_audit())
            .await
            .unwrap_err();
        assert!(matches!(error, DomainError::NotFound(Entity::User)));
    }
}

#[tokio::test]
async fn deleting_a_user_removes_them_and_their_keys() {
    let world = world().await;
    let users = repository(&world.db);
    let keys = PgApiKeyRepository::new(world.db.pool(), trail());
    let ada = users
        .create(new_user("ada@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    let bob = users
        .create(new_user("bob@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    let mut created = Vec::new();
    for (owner, hash) in [(ada.id, [1_u8; 32]), (ada.id, [2; 32]), (bob.id, [3; 32])] {
        let key = keys
            .create(
                NewApiKey {
                    name: name("key"),
                    user: owner,
                    hash: KeyHash::new(hash),
                    masked: "sk-abcd...wxyz".to_owned(),
                    project: None,
                    expires: None,
                },
                test_audit(),
            )
            .await
            .unwrap();
        created.push(key);
    }

    users.delete(ada.id, test_audit()).await.unwrap();

    assert!(users.find_by_id(ada.id).await.unwrap().is_none());
    assert!(keys.find_by_id(created[0].id).await.unwrap().is_none());
    assert!(keys.find_by_id(created[1].id).await.unwrap().is_none());
    assert!(
        keys.find_grant_by_hash(KeyHash::new([1_u8; 32]))
            .await
            .unwrap()
            .is_none()
    );
    assert!(keys.find_by_id(created[2].id).await.unwrap().is_some());
}

#[tokio::test]
async fn deleting_a_missing_user_is_not_found() {
    let world = world().await;
    let error = repository(&world.db)
        .delete(UserId(4242), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::User)));
}

fn insert_user(world: &World, columns: &str, values: &str) -> String {
    format!(
        "INSERT INTO users (email, role_id, {columns}) VALUES ('ada@example.org', {}, {values})",
        world.role
    )
}

#[tokio::test]
async fn the_database_refuses_negative_budgets() {
    let world = world().await;
    let pool = world.db.pool();
    assert_refused(
        &pool,
        &insert_user(&world, "budget_micros", "-1"),
        DatabaseErrorKind::CheckViolation,
        "users_budget_micros_check",
    );
    execute(&pool, &insert_user(&world, "budget_micros", "0")).unwrap();
}

#[tokio::test]
async fn the_database_refuses_negative_priorities() {
    let world = world().await;
    assert_refused(
        &world.db.pool(),
        &insert_user(&world, "priority", "-1"),
        DatabaseErrorKind::CheckViolation,
        "users_priority_check",
    );
}

#[tokio::test]
async fn the_database_refuses_user_names_outside_1_to_255_characters() {
    let world = world().await;
    let pool = world.db.pool();
    for bad in ["''", "repeat('é', 256)"] {
        assert_refused(
            &pool,
            &insert_user(&world, "name", bad),
            DatabaseErrorKind::CheckViolation,
            "users_name_length",
        );
    }
    execute(&pool, &insert_user(&world, "name", "repeat('é', 255)")).unwrap();
}

#[tokio::test]
async fn the_database_refuses_empty_emails_and_emails_over_254_characters() {
    let world = world().await;
    let pool = world.db.pool();
    for bad in ["''", "repeat('a', 243) || '@example.org'"] {
        assert_refused(
            &pool,
            &format!(
                "INSERT INTO users (email, role_id) VALUES ({bad}, {})",
                world.role
            ),
            DatabaseErrorKind::CheckViolation,
            "users_email_length",
        );
    }
}

#[tokio::test]
async fn the_database_refuses_two_emails_that_differ_only_in_case() {
    let world = world().await;
    assert_refused(
        &world.db.pool(),
        &format!(
            "INSERT INTO users (email, role_id) VALUES ('ada@example.org', {role}), ('ADA@example.org', {role})",
            role = world.role
        ),
        DatabaseErrorKind::UniqueViolation,
        "users_email_key",
    );
}

#[tokio::test]
async fn the_database_refuses_users_of_missing_roles_or_organizations() {
    let world = world().await;
    let pool = world.db.pool();
    assert_refused(
        &pool,
        "INSERT INTO users (email, role_id) VALUES ('ada@example.org', 4242)",
        DatabaseErrorKind::ForeignKeyViolation,
        "users_role_id_fkey",
    );
    assert_refused(
        &pool,
        &insert_user(&world, "organization_id", "4242"),
        DatabaseErrorKind::ForeignKeyViolation,
        "users_organization_id_fkey",
    );
}

#[tokio::test]
async fn the_database_sets_updated_on_every_write_of_a_user() {
    let world = world().await;
    let users = repository(&world.db);
    let user = users
        .create(new_user("ada@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    backdate(&world.db.pool(), "users", user.id.get());
    let user = users.find_by_id(user.id).await.unwrap().unwrap();
    execute(
        &world.db.pool(),
        &format!(
            "UPDATE users SET updated = '2000-01-01T00:00:00Z' WHERE id = {}",
            user.id
        ),
    )
    .unwrap();
    let after = users.find_by_id(user.id).await.unwrap().unwrap();
    assert!(after.updated > user.updated);
    assert_eq!(after.created, user.created);
}

#[tokio::test]
async fn a_stored_value_the_domain_refuses_is_unexpected_not_a_panic() {
    let world = world().await;
    let users = repository(&world.db);
    let user = users
        .create(new_user("ada@example.org", world.role, None), test_audit())
        .await
        .unwrap();
    execute(
        &world.db.pool(),
        &format!(
            "UPDATE users SET email = 'not an address' WHERE id = {}",
            user.id
        ),
    )
    .unwrap();
    let error = users.find_by_id(user.id).await.unwrap_err();
    assert!(matches!(error, DomainError::Unexpected(_)));
}

/// Ada, in the world's organization, a member of two of its projects and of none elsewhere, with
/// a key bound to each and a key of her own; Bob, a member of the first project too, with a key
/// bound to it.
struct Memberships {
    ada: UserId,
    bob: UserId,
    projects: [ProjectId; 2],
    /// Ada's keys bound to each project, then her own.
    ada_keys: [ApiKeyId; 3],
    bob_key: ApiKeyId,
}

async fn memberships(world: &World) -> Memberships {
    let pool = world.db.pool();
    let ada = create_user(
        &pool,
        "ada@example.org",
        world.role,
        Some(world.organization),
    )
    .await
    .id;
    let bob = create_user(
        &pool,
        "bob@example.org",
        world.role,
        Some(world.organization),
    )
    .await
    .id;
    let apollo = create_project(&pool, "Apollo", world.organization).await.id;
    let gemini = create_project(&pool, "Gemini", world.organization).await.id;
    // A project of the other organization, with a member of its own, which no move here touches.
    let elsewhere = create_project(&pool, "Apollo", world.other_organization)
        .await
        .id;
    let cyd = create_user(
        &pool,
        "cyd@example.org",
        world.role,
        Some(world.other_organization),
    )
    .await
    .id;
    for (project, user) in [
        (apollo, ada),
        (gemini, ada),
        (apollo, bob),
        (elsewhere, cyd),
    ] {
        add_member(&pool, project, user).await;
    }
    let keys = PgApiKeyRepository::new(pool.clone(), trail());
    let mut ada_keys = Vec::new();
    for project in [Some(apollo), Some(gemini), None] {
        ada_keys.push(
            keys.create(new_key_in("k", ada, project).0, test_audit())
                .await
                .unwrap()
                .id,
        );
    }
    let bob_key = keys
        .create(new_key_in("k", bob, Some(apollo)).0, test_audit())
        .await
        .unwrap()
        .id;
    Memberships {
        ada,
        bob,
        projects: [apollo, gemini],
        ada_keys: ada_keys.try_into().unwrap(),
        bob_key,
    }
}

/// Which of `projects` the user is a member of.
async fn member_of(world: &World, user: UserId, projects: &[ProjectId]) -> Vec<bool> {
    let repository = PgProjectRepository::new(world.db.pool(), trail());
    let mut found = Vec::new();
    for &project in projects {
        found.push(
            repository
                .find_member(project, user)
                .await
                .unwrap()
                .is_some(),
        );
    }
    found
}

/// Which of `keys` still exist.
async fn existing(world: &World, keys: &[ApiKeyId]) -> Vec<bool> {
    let repository = PgApiKeyRepository::new(world.db.pool(), trail());
    let mut found = Vec::new();
    for &key in keys {
        found.push(repository.find_by_id(key).await.unwrap().is_some());
    }
    found
}

fn move_to(organization: Patch<OrganizationId>) -> UserPatch {
    UserPatch {
        organization,
        ..UserPatch::default()
    }
}

#[tokio::test]
async fn moving_a_user_to_another_organization_ends_their_memberships_and_bound_keys_there() {
    let world = world().await;
    let m = memberships(&world).await;
    let moved = repository(&world.db)
        .update(
            m.ada,
            move_to(Patch::Set(world.other_organization)),
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(moved.organization, Some(world.other_organization));
    assert_eq!(member_of(&world, m.ada, &m.projects).await, [false, false]);
    assert_eq!(existing(&world, &m.ada_keys).await, [false, false, true]);
    // Others' memberships and keys stay.
    assert_eq!(member_of(&world, m.bob, &m.projects[..1]).await, [true]);
    assert_eq!(existing(&world, &[m.bob_key]).await, [true]);
    assert_eq!(count_rows(&world.db.pool(), "project_members"), 2);
}

#[tokio::test]
async fn taking_a_user_out_of_every_organization_ends_all_their_memberships() {
    let world = world().await;
    let m = memberships(&world).await;
    let moved = repository(&world.db)
        .update(m.ada, move_to(Patch::Clear), test_audit())
        .await
        .unwrap();
    assert_eq!(moved.organization, None);
    assert_eq!(member_of(&world, m.ada, &m.projects).await, [false, false]);
    assert_eq!(existing(&world, &m.ada_keys).await, [false, false, true]);
    assert_eq!(existing(&world, &[m.bob_key]).await, [true]);
}

#[tokio::test]
async fn setting_a_user_to_the_organization_they_are_in_keeps_their_memberships() {
    let world = world().await;
    let m = memberships(&world).await;
    let users = repository(&world.db);
    users
        .update(m.ada, move_to(Patch::Set(world.organization)), test_audit())
        .await
        .unwrap();
    users
        .update(
            m.ada,
            UserPatch {
                priority: Some(Priority::new(2).unwrap()),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    users
        .update(m.ada, UserPatch::default(), test_audit())
        .await
        .unwrap();
    assert_eq!(member_of(&world, m.ada, &m.projects).await, [true, true]);
    assert_eq!(existing(&world, &m.ada_keys).await, [true, true, true]);
}

#[tokio::test]
async fn a_move_that_fails_keeps_the_users_memberships() {
    let world = world().await;
    let m = memberships(&world).await;
    let users = repository(&world.db);
    let error = users
        .update(
            m.ada,
            move_to(Patch::Set(OrganizationId(4242))),
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Organization)));
    let error = users
        .update(
            m.ada,
            UserPatch {
                email: Some(email("bob@example.org")),
                organization: Patch::Clear,
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::User)));
    assert_eq!(member_of(&world, m.ada, &m.projects).await, [true, true]);
    assert_eq!(existing(&world, &m.ada_keys).await, [true, true, true]);
}

#[tokio::test]
async fn moving_a_missing_user_is_not_found() {
    let world = world().await;
    memberships(&world).await;
    let error = repository(&world.db)
        .update(UserId(4242), move_to(Patch::Clear), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::User)));
    assert_eq!(count_rows(&world.db.pool(), "project_members"), 4);
}
