//! `PgApiKeyRepository` against a real PostgreSQL database.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

mod common;

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::*;
use diesel::r2d2::{ConnectionManager, Pool};
use diesel::result::DatabaseErrorKind;
use gatehouse_domain::{
    ApiKey, ApiKeyFilter, ApiKeyId, ApiKeyOrder, ApiKeyRepository, Budget, Direction, DomainError,
    Entity, Expiry, KeyGenerator, KeyGrant, KeyHash, LimitType, Limits, NewApiKey, NewProject,
    NewRole, OrganizationId, PasswordHash, Patch, Permission, ProjectGrant, ProjectId,
    ProjectPatch, ProjectRepository, RoleId, RolePatch, RoleRepository, UserId, UserPatch,
    UserRepository,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{
    PgApiKeyRepository, PgProjectRepository, PgRoleRepository, PgUserRepository, Sha256KeyGenerator,
};

fn repository(db: &TestDatabase) -> PgApiKeyRepository {
    PgApiKeyRepository::new(db.pool(), trail())
}

/// Microsecond precision, as PostgreSQL stores it.
fn in_days(days: i64) -> DateTime<Utc> {
    let at = Utc::now() + TimeDelta::days(days);
    DateTime::from_timestamp_micros(at.timestamp_micros()).unwrap()
}

fn new_key(key_name: &str, user: UserId) -> (NewApiKey, String) {
    new_key_in(key_name, user, None)
}

struct World {
    db: TestDatabase,
    role: RoleId,
    ada: UserId,
    bob: UserId,
}

async fn world() -> World {
    let db = TestDatabase::new();
    let role = PgRoleRepository::new(db.pool(), trail())
        .create(
            NewRole {
                name: name("member"),
                permissions: permissions(&[Permission::ReadMetric, Permission::Admin]),
                limits: limits(&[
                    limit(1, LimitType::Rpm, Some(60)),
                    limit(2, LimitType::Tpd, None),
                ]),
            },
            test_audit(),
        )
        .await
        .unwrap()
        .id;
    let ada = create_user(&db.pool(), "ada@example.org", role, None)
        .await
        .id;
    let bob = create_user(&db.pool(), "bob@example.org", role, None)
        .await
        .id;
    World { db, role, ada, bob }
}

#[tokio::test]
async fn creating_a_key_returns_it_masked_with_a_creation_time_from_the_database() {
    let world = world().await;
    let keys = repository(&world.db);
    let expires = in_days(7);
    let (mut new, _) = new_key("laptop", world.ada);
    new.expires = Some(Expiry::future(expires, Utc::now()).unwrap());
    let masked = new.masked.clone();
    let before = Utc::now();
    let created = keys.create(new, test_audit()).await.unwrap();
    assert!(created.id.get() > 0);
    assert_eq!(created.name.as_str(), "laptop");
    assert_eq!(created.user, world.ada);
    assert_eq!(created.masked, masked);
    assert_eq!(created.expires, Some(expires));
    assert!((created.created - before).num_seconds().abs() < 60);
    assert_eq!(keys.find_by_id(created.id).await.unwrap().unwrap(), created);
}

#[tokio::test]
async fn creating_a_key_for_a_missing_user_is_user_not_found() {
    let world = world().await;
    let (new, _) = new_key("laptop", UserId(4242));
    let error = repository(&world.db)
        .create(new, test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::User)));
}

#[tokio::test]
async fn creating_a_key_with_the_hash_of_another_is_already_exists() {
    let world = world().await;
    let keys = repository(&world.db);
    let (new, _) = new_key("laptop", world.ada);
    keys.create(new.clone(), test_audit()).await.unwrap();
    let error = keys
        .create(
            NewApiKey {
                user: world.bob,
                ..new
            },
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::ApiKey)));
}

#[tokio::test]
async fn finding_a_missing_key_is_none() {
    let world = world().await;
    assert!(
        repository(&world.db)
            .find_by_id(ApiKeyId(4242))
            .await
            .unwrap()
            .is_none()
    );
}

/// Six keys, four of Ada's and two of Bob's; four inserted by one statement share `created`, two
/// share a name, and the physical order of the rows differs from the id order.
async fn six_keys(world: &World) -> Vec<ApiKey> {
    let pool = world.db.pool();
    execute(
        &pool,
        &format!(
            "INSERT INTO api_keys (name, user_id, hash, masked) VALUES \
             ('delta', {ada}, '\\x01', 'sk-0001...0001'), \
             ('alpha', {bob}, '\\x02', 'sk-0002...0002'), \
             ('same', {ada}, '\\x03', 'sk-0003...0003'), \
             ('same', {ada}, '\\x04', 'sk-0004...0004')",
            ada = world.ada,
            bob = world.bob,
        ),
    )
    .unwrap();
    scramble(&pool, "api_keys", "id = (SELECT min(id) FROM api_keys)");
    let keys = repository(&world.db);
    keys.create(new_key("bravo", world.bob).0, test_audit())
        .await
        .unwrap();
    keys.create(new_key("charlie", world.ada).0, test_audit())
        .await
        .unwrap();
    keys.list(
        ApiKeyFilter::default(),
        page(0, 100, ApiKeyOrder::Id, Direction::Asc),
    )
    .await
    .unwrap()
    .items
}

#[tokio::test]
async fn listing_keys_gives_the_requested_page_and_the_total() {
    let world = world().await;
    let all = six_keys(&world).await;
    assert_eq!(all.len(), 6);
    let keys = repository(&world.db);
    let middle = keys
        .list(
            ApiKeyFilter::default(),
            page(2, 2, ApiKeyOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(middle.total, 6);
    assert_eq!(middle.items, all[2..4]);
    let past_the_end = keys
        .list(
            ApiKeyFilter::default(),
            page(6, 2, ApiKeyOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(past_the_end.total, 6);
    assert!(past_the_end.items.is_empty());
}

#[tokio::test]
async fn listing_keys_filters_by_user_and_counts_only_theirs() {
    let world = world().await;
    let all = six_keys(&world).await;
    let keys = repository(&world.db);
    for (user, expected) in [(world.ada, 4), (world.bob, 2), (UserId(4242), 0)] {
        let listed = keys
            .list(
                ApiKeyFilter {
                    user: Some(user),
                    project: None,
                },
                page(0, 100, ApiKeyOrder::Id, Direction::Asc),
            )
            .await
            .unwrap();
        assert_eq!(listed.total, expected);
        let theirs: Vec<_> = all.iter().filter(|k| k.user == user).cloned().collect();
        assert_eq!(listed.items, theirs);
    }
    let first_of_ada = keys
        .list(
            ApiKeyFilter {
                user: Some(world.ada),
                project: None,
            },
            page(0, 1, ApiKeyOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(first_of_ada.total, 4);
    assert_eq!(first_of_ada.items.len(), 1);
}

#[tokio::test]
async fn listing_keys_orders_by_each_field_in_both_directions_then_by_id() {
    let world = world().await;
    six_keys(&world).await;
    let keys = repository(&world.db);
    for &order in ApiKeyOrder::ALL {
        for direction in [Direction::Asc, Direction::Desc] {
            let listed = keys
                .list(ApiKeyFilter::default(), page(0, 100, order, direction))
                .await
                .unwrap();
            assert_eq!(listed.items.len(), 6);
            match order {
                ApiKeyOrder::Id => {
                    let sort_keys: Vec<_> = listed.items.iter().map(|k| ((), k.id.get())).collect();
                    assert_sorted(&sort_keys, direction);
                }
                ApiKeyOrder::Name => {
                    let sort_keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|k| (k.name.to_string(), k.id.get()))
                        .collect();
                    assert_has_ties(&sort_keys);
                    assert_sorted(&sort_keys, direction);
                }
                ApiKeyOrder::Created => {
                    let sort_keys: Vec<_> = listed
                        .items
                        .iter()
                        .map(|k| (k.created, k.id.get()))
                        .collect();
                    assert_has_ties(&sort_keys);
                    assert_sorted(&sort_keys, direction);
                }
            }
            let mut paged = Vec::new();
            for offset in [0, 4] {
                let part = keys
                    .list(ApiKeyFilter::default(), page(offset, 4, order, direction))
                    .await
                    .unwrap();
                paged.extend(part.items);
            }
            assert_eq!(paged, listed.items, "{order} {direction}");
        }
    }
}

/// The key `secret` grants, if any.
async fn grant(keys: &PgApiKeyRepository, secret: &str) -> Option<KeyGrant> {
    keys.find_grant_by_hash(Sha256KeyGenerator.hash(secret))
        .await
        .unwrap()
}

/// The keys of `user`, by id.
async fn keys_of(keys: &PgApiKeyRepository, user: UserId) -> Vec<ApiKey> {
    keys.list(
        ApiKeyFilter {
            user: Some(user),
            project: None,
        },
        page(0, 100, ApiKeyOrder::Id, Direction::Asc),
    )
    .await
    .unwrap()
    .items
}

#[tokio::test]
async fn replacing_a_named_key_deletes_the_owners_keys_of_that_name_only() {
    let world = world().await;
    let keys = repository(&world.db);
    let (old, old_secret) = new_key("session", world.ada);
    let old = keys.create(old, test_audit()).await.unwrap();
    let (older, older_secret) = new_key("session", world.ada);
    keys.create(older, test_audit()).await.unwrap();
    let (laptop, laptop_secret) = new_key("laptop", world.ada);
    let laptop = keys.create(laptop, test_audit()).await.unwrap();
    let (bobs, bobs_secret) = new_key("session", world.bob);
    let bobs = keys.create(bobs, test_audit()).await.unwrap();

    let expires = in_days(1);
    let (mut new, new_secret) = new_key("session", world.ada);
    new.expires = Some(Expiry::future(expires, Utc::now()).unwrap());
    let masked = new.masked.clone();
    let replaced = keys.replace_named(new, None, test_audit()).await.unwrap();

    assert!(replaced.id.get() > old.id.get());
    assert_eq!(replaced.name.as_str(), "session");
    assert_eq!(replaced.user, world.ada);
    assert_eq!(replaced.masked, masked);
    assert_eq!(replaced.expires, Some(expires));
    assert_eq!(
        keys.find_by_id(replaced.id).await.unwrap().unwrap(),
        replaced
    );
    assert!(grant(&keys, &old_secret).await.is_none());
    assert!(grant(&keys, &older_secret).await.is_none());
    assert_eq!(grant(&keys, &new_secret).await.unwrap().key, replaced.id);
    assert_eq!(grant(&keys, &laptop_secret).await.unwrap().key, laptop.id);
    assert_eq!(grant(&keys, &bobs_secret).await.unwrap().key, bobs.id);
    assert_eq!(keys_of(&keys, world.ada).await, [laptop, replaced]);
    assert_eq!(keys_of(&keys, world.bob).await, [bobs]);
}

#[tokio::test]
async fn replacing_a_named_key_that_does_not_exist_yet_creates_it() {
    let world = world().await;
    let keys = repository(&world.db);
    let (new, secret) = new_key("session", world.ada);
    let created = keys.replace_named(new, None, test_audit()).await.unwrap();
    assert_eq!(grant(&keys, &secret).await.unwrap().key, created.id);
    assert_eq!(keys_of(&keys, world.ada).await, [created]);
}

#[tokio::test]
async fn a_session_is_opened_only_while_the_password_it_verified_is_still_the_owners() {
    let world = world().await;
    let keys = repository(&world.db);
    let users = PgUserRepository::new(world.db.pool(), trail());
    let set_password = |phc: &'static str| UserPatch {
        password: Some(PasswordHash::new(phc)),
        ..UserPatch::default()
    };
    users
        .update(world.ada, set_password("$argon2id$old"), test_audit())
        .await
        .unwrap();
    let (current, current_secret) = new_key("session", world.ada);
    let current = keys
        .replace_named(
            current,
            Some(PasswordHash::new("$argon2id$old")),
            test_audit(),
        )
        .await
        .unwrap();

    // A password change commits between a login's verification and its session.
    users
        .update(world.ada, set_password("$argon2id$new"), test_audit())
        .await
        .unwrap();
    let (stale, stale_secret) = new_key("session", world.ada);
    let error = keys
        .replace_named(
            stale,
            Some(PasswordHash::new("$argon2id$old")),
            test_audit(),
        )
        .await
        .unwrap_err();

    assert!(
        matches!(error, DomainError::InvalidCredentials),
        "{error:?}"
    );
    assert!(grant(&keys, &stale_secret).await.is_none());
    assert_eq!(grant(&keys, &current_secret).await.unwrap().key, current.id);
    let (fresh, fresh_secret) = new_key("session", world.ada);
    let fresh = keys
        .replace_named(
            fresh,
            Some(PasswordHash::new("$argon2id$new")),
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(grant(&keys, &fresh_secret).await.unwrap().key, fresh.id);
}

#[tokio::test]
async fn replacing_a_named_key_of_a_missing_user_is_user_not_found() {
    let world = world().await;
    let (new, _) = new_key("session", UserId(4242));
    let error = repository(&world.db)
        .replace_named(new, None, test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::User)));
}

#[tokio::test]
async fn replacing_a_named_key_with_the_hash_of_another_is_already_exists_and_changes_nothing() {
    let world = world().await;
    let keys = repository(&world.db);
    let (bobs, _) = new_key("laptop", world.bob);
    keys.create(bobs.clone(), test_audit()).await.unwrap();
    let previous = keys
        .create(new_key("session", world.ada).0, test_audit())
        .await
        .unwrap();
    let error = keys
        .replace_named(
            NewApiKey {
                name: name("session"),
                user: world.ada,
                ..bobs
            },
            None,
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::ApiKey)));
    // The delete was rolled back with the insert that failed.
    assert_eq!(keys_of(&keys, world.ada).await, [previous]);
}

#[tokio::test]
async fn concurrent_replacements_of_one_named_key_leave_exactly_one() {
    const LOGINS: u32 = 20;
    let world = world().await;
    // A connection for every call, so that all of them race for the owner's row at once.
    let pool = Pool::builder()
        .max_size(LOGINS)
        .min_idle(Some(0))
        .connection_timeout(Duration::from_secs(30))
        .build_unchecked(ConnectionManager::new(world.db.url()));
    let keys = PgApiKeyRepository::new(pool.into(), trail());
    keys.create(new_key("session", world.ada).0, test_audit())
        .await
        .unwrap();
    let laptop = keys
        .create(new_key("laptop", world.ada).0, test_audit())
        .await
        .unwrap();

    let tasks: Vec<_> = (0..LOGINS)
        .map(|_| {
            let keys = keys.clone();
            let (new, secret) = new_key("session", world.ada);
            tokio::spawn(async move { (keys.replace_named(new, None, test_audit()).await, secret) })
        })
        .collect();
    let mut replaced = Vec::new();
    for task in tasks {
        let (result, secret) = task.await.unwrap();
        replaced.push((result.unwrap(), secret));
    }

    let remaining = keys_of(&keys, world.ada).await;
    assert_eq!(remaining.len(), 2, "{remaining:?}");
    assert_eq!(remaining[0], laptop);
    let session = &remaining[1];
    assert_eq!(session.name.as_str(), "session");
    let mut granted = 0;
    for (key, secret) in &replaced {
        if let Some(grant) = grant(&keys, secret).await {
            assert_eq!(grant.key, session.id);
            assert_eq!(key, session);
            granted += 1;
        }
    }
    assert_eq!(granted, 1);
    assert_eq!(
        count_rows(
            &world.db.pool(),
            &format!(
                "api_keys WHERE user_id = {} AND name = 'session'",
                world.ada
            )
        ),
        1
    );
}

#[tokio::test]
async fn deleting_a_key_removes_it_and_it_grants_nothing_more() {
    let world = world().await;
    let keys = repository(&world.db);
    let (new, secret) = new_key("laptop", world.ada);
    let key = keys.create(new, test_audit()).await.unwrap();
    keys.delete(key.id, test_audit()).await.unwrap();
    assert!(keys.find_by_id(key.id).await.unwrap().is_none());
    let grant = keys
        .find_grant_by_hash(Sha256KeyGenerator.hash(&secret))
        .await
        .unwrap();
    assert!(grant.is_none());
}

#[tokio::test]
async fn deleting_a_missing_key_is_not_found() {
    let world = world().await;
    let error = repository(&world.db)
        .delete(ApiKeyId(4242), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::ApiKey)));
}

#[tokio::test]
async fn a_key_grants_the_permissions_and_limits_of_its_owners_role_and_both_expiries() {
    let world = world().await;
    let account_expires = in_days(30);
    PgUserRepository::new(world.db.pool(), trail())
        .update(
            world.ada,
            UserPatch {
                expires: Patch::Set(Expiry::future(account_expires, Utc::now()).unwrap()),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    let keys = repository(&world.db);
    let key_expires = in_days(7);
    let (mut new, secret) = new_key("laptop", world.ada);
    new.expires = Some(Expiry::future(key_expires, Utc::now()).unwrap());
    let key = keys.create(new, test_audit()).await.unwrap();
    keys.create(new_key("other", world.bob).0, test_audit())
        .await
        .unwrap();

    let grant = keys
        .find_grant_by_hash(Sha256KeyGenerator.hash(&secret))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        grant,
        KeyGrant {
            key: key.id,
            key_expires: Some(key_expires),
            user: world.ada,
            account_expires: Some(account_expires),
            organization: None,
            role: world.role,
            budget: None,
            permissions: permissions(&[Permission::Admin, Permission::ReadMetric]),
            limits: limits(&[
                limit(1, LimitType::Rpm, Some(60)),
                limit(2, LimitType::Tpd, None),
            ]),
            project: None,
        }
    );
}

#[tokio::test]
async fn a_grant_follows_the_owners_current_role() {
    let world = world().await;
    let keys = repository(&world.db);
    let (new, secret) = new_key("laptop", world.ada);
    keys.create(new, test_audit()).await.unwrap();
    let roles = PgRoleRepository::new(world.db.pool(), trail());
    roles
        .update(
            world.role,
            RolePatch {
                permissions: Some(permissions(&[Permission::ProvideModels])),
                ..RolePatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    let bare = create_role(&world.db.pool(), "bare").await;
    let hash = Sha256KeyGenerator.hash(&secret);
    let grant = keys
        .find_grant_by_hash(hash.clone())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(grant.permissions, permissions(&[Permission::ProvideModels]));

    PgUserRepository::new(world.db.pool(), trail())
        .update(
            world.ada,
            UserPatch {
                role: Some(bare.id),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    let grant = keys.find_grant_by_hash(hash).await.unwrap().unwrap();
    assert!(grant.permissions.is_empty());
    assert!(grant.limits.is_empty());
    assert_eq!(grant.account_expires, None);
    assert_eq!(grant.key_expires, None);
}

#[tokio::test]
async fn an_unknown_hash_grants_nothing() {
    let world = world().await;
    repository(&world.db)
        .create(new_key("laptop", world.ada).0, test_audit())
        .await
        .unwrap();
    let grant = repository(&world.db)
        .find_grant_by_hash(KeyHash::new([0_u8; 32]))
        .await
        .unwrap();
    assert!(grant.is_none());
}

#[tokio::test]
async fn the_database_refuses_keys_of_missing_users_and_two_keys_with_one_hash() {
    let world = world().await;
    let pool = world.db.pool();
    assert_refused(
        &pool,
        "INSERT INTO api_keys (name, user_id, hash, masked) VALUES ('k', 4242, '\\x01', 'sk-')",
        DatabaseErrorKind::ForeignKeyViolation,
        "api_keys_user_id_fkey",
    );
    assert_refused(
        &pool,
        &format!(
            "INSERT INTO api_keys (name, user_id, hash, masked) VALUES \
             ('k', {0}, '\\x01', 'sk-'), ('l', {0}, '\\x01', 'sk-')",
            world.ada
        ),
        DatabaseErrorKind::UniqueViolation,
        "api_keys_hash_key",
    );
}

#[tokio::test]
async fn the_database_refuses_key_names_outside_1_to_255_characters() {
    let world = world().await;
    for bad in ["''", "repeat('é', 256)"] {
        assert_refused(
            &world.db.pool(),
            &format!(
                "INSERT INTO api_keys (name, user_id, hash, masked) VALUES ({bad}, {}, '\\x01', 'sk-')",
                world.ada
            ),
            DatabaseErrorKind::CheckViolation,
            "api_keys_name_length",
        );
    }
}

#[tokio::test]
async fn the_database_deletes_the_keys_of_a_deleted_user() {
    let world = world().await;
    let keys = repository(&world.db);
    let key = keys
        .create(new_key("laptop", world.ada).0, test_audit())
        .await
        .unwrap();
    execute(
        &world.db.pool(),
        &format!("DELETE FROM users WHERE id = {}", world.ada),
    )
    .unwrap();
    assert!(keys.find_by_id(key.id).await.unwrap().is_none());
}

// --- keys bound to a project ----------------------------------------------------------------

/// Moves Ada and Bob into a new organization and creates a project there, with a budget and
/// limits of its own, of which Ada alone is a member.
/// The organization `apollo` moved Ada and Bob to.
async fn acme(world: &World) -> OrganizationId {
    PgUserRepository::new(world.db.pool(), trail())
        .find_by_id(world.ada)
        .await
        .unwrap()
        .unwrap()
        .organization
        .unwrap()
}

#[tokio::test]
async fn listing_keys_filters_by_project_too() {
    let world = world().await;
    let project = apollo(&world).await;
    add_member(&world.db.pool(), project, world.bob).await;
    let keys = repository(&world.db);
    keys.create(new_key("own", world.ada).0, test_audit())
        .await
        .unwrap();
    let bound = keys
        .create(
            new_key_in("bound", world.ada, Some(project)).0,
            test_audit(),
        )
        .await
        .unwrap();
    keys.create(
        new_key_in("bob's", world.bob, Some(project)).0,
        test_audit(),
    )
    .await
    .unwrap();
    let listed = keys
        .list(
            ApiKeyFilter {
                user: Some(world.ada),
                project: Some(project),
            },
            page(0, 100, ApiKeyOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(listed.total, 1);
    assert_eq!(listed.items, [bound]);
}

async fn apollo(world: &World) -> ProjectId {
    let pool = world.db.pool();
    let acme = create_organization(&pool, "Acme").await.id;
    let users = PgUserRepository::new(pool.clone(), trail());
    for user in [world.ada, world.bob] {
        users
            .update(
                user,
                UserPatch {
                    organization: Patch::Set(acme),
                    ..UserPatch::default()
                },
                test_audit(),
            )
            .await
            .unwrap();
    }
    let project = PgProjectRepository::new(pool.clone(), trail())
        .create(
            NewProject {
                budget: Some(Budget::new(40.0).unwrap()),
                limits: limits(&[
                    limit(1, LimitType::Rpm, Some(10)),
                    limit(3, LimitType::Tpd, None),
                ]),
                ..new_project("Apollo", acme)
            },
            test_audit(),
        )
        .await
        .unwrap()
        .id;
    add_member(&pool, project, world.ada).await;
    project
}

#[tokio::test]
async fn a_key_bound_to_a_project_is_stored_and_read_with_it() {
    let world = world().await;
    let project = apollo(&world).await;
    let keys = repository(&world.db);
    let bound = keys
        .create(
            new_key_in("laptop", world.ada, Some(project)).0,
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(bound.project, Some(project));
    let unbound = keys
        .create(new_key("own", world.ada).0, test_audit())
        .await
        .unwrap();
    assert_eq!(unbound.project, None);
    let session = keys
        .replace_named(
            new_key_in("session", world.ada, Some(project)).0,
            None,
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(session.project, Some(project));
    assert_eq!(keys.find_by_id(bound.id).await.unwrap().unwrap(), bound);
    assert_eq!(keys_of(&keys, world.ada).await, [bound, unbound, session]);
}

#[tokio::test]
async fn a_key_in_a_project_its_owner_is_not_a_member_of_is_project_not_found() {
    let world = world().await;
    let project = apollo(&world).await;
    let keys = repository(&world.db);
    for (user, project) in [
        (world.bob, project),
        (world.ada, ProjectId(4242)),
        (world.bob, ProjectId(4242)),
    ] {
        let error = keys
            .create(new_key_in("laptop", user, Some(project)).0, test_audit())
            .await
            .unwrap_err();
        assert!(
            matches!(error, DomainError::NotFound(Entity::Project)),
            "{error:?}"
        );
        let error = keys
            .replace_named(
                new_key_in("session", user, Some(project)).0,
                None,
                test_audit(),
            )
            .await
            .unwrap_err();
        assert!(
            matches!(error, DomainError::NotFound(Entity::Project)),
            "{error:?}"
        );
    }
    assert_eq!(count_rows(&world.db.pool(), "api_keys"), 0);
}

#[tokio::test]
async fn replacing_a_named_key_of_a_missing_user_in_a_project_is_user_not_found() {
    let world = world().await;
    let project = apollo(&world).await;
    let error = repository(&world.db)
        .replace_named(
            new_key_in("session", UserId(4242), Some(project)).0,
            None,
            test_audit(),
        )
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::User)));
}

#[tokio::test]
async fn a_bound_key_grants_its_owners_role_and_the_projects_budget_and_limits() {
    let world = world().await;
    let project = apollo(&world).await;
    let keys = repository(&world.db);
    let (new, secret) = new_key_in("laptop", world.ada, Some(project));
    let key = keys.create(new, test_audit()).await.unwrap();
    let (new, own_secret) = new_key("own", world.ada);
    keys.create(new, test_audit()).await.unwrap();
    let role_limits = limits(&[
        limit(1, LimitType::Rpm, Some(60)),
        limit(2, LimitType::Tpd, None),
    ]);
    assert_eq!(
        grant(&keys, &secret).await.unwrap(),
        KeyGrant {
            key: key.id,
            key_expires: None,
            user: world.ada,
            account_expires: None,
            organization: Some(acme(&world).await),
            role: world.role,
            budget: None,
            permissions: permissions(&[Permission::Admin, Permission::ReadMetric]),
            limits: role_limits.clone(),
            project: Some(ProjectGrant {
                id: project,
                budget: Some(Budget::new(40.0).unwrap()),
                limits: limits(&[
                    limit(1, LimitType::Rpm, Some(10)),
                    limit(3, LimitType::Tpd, None),
                ]),
            }),
        }
    );
    let own = grant(&keys, &own_secret).await.unwrap();
    assert_eq!(own.project, None);
    assert_eq!(own.limits, role_limits);
}

#[tokio::test]
async fn a_bound_grant_follows_the_projects_current_budget_and_limits() {
    let world = world().await;
    let project = apollo(&world).await;
    let keys = repository(&world.db);
    let (new, secret) = new_key_in("laptop", world.ada, Some(project));
    keys.create(new, test_audit()).await.unwrap();
    PgProjectRepository::new(world.db.pool(), trail())
        .update(
            project,
            ProjectPatch {
                budget: Patch::Clear,
                limits: Some(Limits::default()),
                ..ProjectPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(
        grant(&keys, &secret).await.unwrap().project,
        Some(ProjectGrant {
            id: project,
            budget: None,
            limits: Limits::default(),
        })
    );
}

#[tokio::test]
async fn a_bound_key_grants_nothing_once_its_owner_leaves_the_project() {
    let world = world().await;
    let project = apollo(&world).await;
    let keys = repository(&world.db);
    let (new, secret) = new_key_in("laptop", world.ada, Some(project));
    let key = keys.create(new, test_audit()).await.unwrap();
    let (new, own_secret) = new_key("own", world.ada);
    keys.create(new, test_audit()).await.unwrap();
    PgProjectRepository::new(world.db.pool(), trail())
        .remove_member(project, world.ada, test_audit())
        .await
        .unwrap();
    assert!(grant(&keys, &secret).await.is_none());
    assert!(keys.find_by_id(key.id).await.unwrap().is_none());
    assert!(grant(&keys, &own_secret).await.is_some());
}

#[tokio::test]
async fn a_bound_key_whose_project_is_gone_is_never_read_as_an_unbound_one() {
    let world = world().await;
    let project = apollo(&world).await;
    let keys = repository(&world.db);
    let (new, secret) = new_key_in("laptop", world.ada, Some(project));
    keys.create(new, test_audit()).await.unwrap();
    // Only possible behind Gatehouse's back, without the constraint.
    execute(
        &world.db.pool(),
        "ALTER TABLE api_keys DROP CONSTRAINT api_keys_membership_fkey",
    )
    .unwrap();
    execute(
        &world.db.pool(),
        &format!("DELETE FROM projects WHERE id = {project}"),
    )
    .unwrap();
    let error = keys
        .find_grant_by_hash(Sha256KeyGenerator.hash(&secret))
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::Unexpected(_)));
}

#[tokio::test]
async fn the_database_refuses_a_key_in_a_project_its_owner_is_not_a_member_of() {
    let world = world().await;
    let project = apollo(&world).await;
    let pool = world.db.pool();
    for (user, project) in [(world.bob, project.get()), (world.ada, 4242)] {
        assert_refused(
            &pool,
            &format!(
                "INSERT INTO api_keys (name, user_id, hash, masked, project_id) \
                 VALUES ('k', {user}, '\\x01', 'sk-', {project})"
            ),
            DatabaseErrorKind::ForeignKeyViolation,
            "api_keys_membership_fkey",
        );
    }
    execute(
        &pool,
        &format!(
            "INSERT INTO api_keys (name, user_id, hash, masked, project_id) \
             VALUES ('k', {}, '\\x01', 'sk-', {project})",
            world.ada
        ),
    )
    .unwrap();
    // Nor may a bound key change hands to a non-member.
    assert_refused(
        &pool,
        &format!("UPDATE api_keys SET user_id = {}", world.bob),
        DatabaseErrorKind::ForeignKeyViolation,
        "api_keys_membership_fkey",
    );
}
