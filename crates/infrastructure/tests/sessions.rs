//! `PgUserRepository::update` ending keys (`UserPatch::end_keys`) against a real PostgreSQL
//! database: exactly the keys named, in the transaction of the change.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

mod common;

use common::*;
use gatehouse_domain::{
    ApiKeyId, ApiKeyRepository, DomainError, Entity, KeysToEnd, PasswordHash, RoleId, UserId,
    UserPatch, UserRepository,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{PgApiKeyRepository, PgPool, PgUserRepository};

const SESSION: &str = "playground";
const OLD_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$b2xk$b2xk";
const NEW_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$bmV3$bmV3";

/// Ada with three session keys (one bound to a project), a key of another name and one whose
/// name only differs in case; Bob with a session key of his own.
struct World {
    db: TestDatabase,
    ada: UserId,
    /// Ada's keys named exactly like a session: two unbound, one bound to a project.
    ada_sessions: [ApiKeyId; 3],
    /// Ada's keys of other names: "laptop" and "Playground".
    ada_others: [ApiKeyId; 2],
    bob_session: ApiKeyId,
}

impl World {
    fn users(&self) -> PgUserRepository {
        PgUserRepository::new(self.db.pool(), trail())
    }

    /// Ada's keys, sessions first, then Bob's session: which of them still exist.
    async fn existing(&self) -> Vec<bool> {
        let keys = PgApiKeyRepository::new(self.db.pool(), trail());
        let mut found = Vec::new();
        for id in self
            .ada_sessions
            .iter()
            .chain(&self.ada_others)
            .chain([&self.bob_session])
        {
            found.push(keys.find_by_id(*id).await.unwrap().is_some());
        }
        found
    }
}

async fn key(pool: &PgPool, key_name: &str, user: UserId, project: bool) -> ApiKeyId {
    let project = if project {
        let organization = create_organization(pool, &format!("Org of {key_name} {user}"))
            .await
            .id;
        let project = create_project(pool, "Apollo", organization).await.id;
        // A member must be in the project's organization.
        execute(
            pool,
            &format!("UPDATE users SET organization_id = {organization} WHERE id = {user}"),
        )
        .unwrap();
        add_member(pool, project, user).await;
        Some(project)
    } else {
        None
    };
    PgApiKeyRepository::new(pool.clone(), trail())
        .create(new_key_in(key_name, user, project).0, test_audit())
        .await
        .unwrap()
        .id
}

async fn world() -> World {
    let db = TestDatabase::new();
    let pool = db.pool();
    let role: RoleId = create_role(&pool, "member").await.id;
    let users = PgUserRepository::new(pool.clone(), trail());
    let mut ada = new_user("ada@example.org", role, None);
    ada.password = Some(PasswordHash::new(OLD_HASH));
    let ada = users.create(ada, test_audit()).await.unwrap().id;
    let bob = create_user(&pool, "bob@example.org", role, None).await.id;
    let ada_sessions = [
        key(&pool, SESSION, ada, false).await,
        key(&pool, SESSION, ada, false).await,
        key(&pool, SESSION, ada, true).await,
    ];
    let ada_others = [
        key(&pool, "laptop", ada, false).await,
        key(&pool, "Playground", ada, false).await,
    ];
    let bob_session = key(&pool, SESSION, bob, false).await;
    World {
        db,
        ada,
        ada_sessions,
        ada_others,
        bob_session,
    }
}

fn end_sessions(except: Option<ApiKeyId>) -> KeysToEnd {
    KeysToEnd {
        name: name(SESSION),
        except,
    }
}

fn new_password(except: Option<ApiKeyId>) -> UserPatch {
    UserPatch {
        password: Some(PasswordHash::new(NEW_HASH)),
        end_keys: Some(end_sessions(except)),
        ..UserPatch::default()
    }
}

#[tokio::test]
async fn a_password_change_deletes_exactly_the_users_keys_of_the_name_but_the_kept_one() {
    let world = world().await;
    let kept = world.ada_sessions[1];
    world
        .users()
        .update(world.ada, new_password(Some(kept)), test_audit())
        .await
        .unwrap();
    assert_eq!(
        stored_password_hash(&world.db.pool(), world.ada).as_deref(),
        Some(NEW_HASH)
    );
    // Ada's other sessions (the project-bound one too) end; the kept one, her keys of other names
    // (even one that differs only in case) and Bob's session stay.
    assert_eq!(
        world.existing().await,
        [false, true, false, true, true, true]
    );
}

#[tokio::test]
async fn keeping_no_key_or_another_users_key_ends_every_session_of_the_user() {
    for keep_bobs in [false, true] {
        let world = world().await;
        let except = keep_bobs.then_some(world.bob_session);
        world
            .users()
            .update(world.ada, new_password(except), test_audit())
            .await
            .unwrap();
        assert_eq!(
            world.existing().await,
            [false, false, false, true, true, true],
            "{except:?}"
        );
    }
}

#[tokio::test]
async fn a_change_that_fails_ends_no_session() {
    let world = world().await;
    let users = world.users();
    let taken = UserPatch {
        email: Some(email("bob@example.org")),
        ..new_password(None)
    };
    let error = users
        .update(world.ada, taken, test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::AlreadyExists(Entity::User)));
    let missing_role = UserPatch {
        role: Some(RoleId(4242)),
        ..new_password(None)
    };
    let error = users
        .update(world.ada, missing_role, test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Role)));
    assert_eq!(world.existing().await, [true; 6]);
    assert_eq!(
        stored_password_hash(&world.db.pool(), world.ada).as_deref(),
        Some(OLD_HASH)
    );
}

#[tokio::test]
async fn sessions_that_cannot_be_ended_leave_the_password_unchanged() {
    let world = world().await;
    // The database refuses to delete keys: the password change must not commit without it.
    for sql in [
        "CREATE FUNCTION refuse_delete() RETURNS trigger LANGUAGE plpgsql AS \
         $$ BEGIN RAISE EXCEPTION 'no deleting keys in this test'; END $$",
        "CREATE TRIGGER refuse_delete BEFORE DELETE ON api_keys \
         FOR EACH ROW EXECUTE FUNCTION refuse_delete()",
    ] {
        execute(&world.db.pool(), sql).unwrap();
    }
    let error = world
        .users()
        .update(world.ada, new_password(None), test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::Unexpected(_)), "{error:?}");
    assert_eq!(
        stored_password_hash(&world.db.pool(), world.ada).as_deref(),
        Some(OLD_HASH)
    );
    assert_eq!(world.existing().await, [true; 6]);
}

#[tokio::test]
async fn a_patch_that_only_ends_keys_deletes_them_and_leaves_the_user_alone() {
    let world = world().await;
    let users = world.users();
    let before = users.find_by_id(world.ada).await.unwrap().unwrap();
    let only_sessions = UserPatch {
        end_keys: Some(end_sessions(None)),
        ..UserPatch::default()
    };
    let after = users
        .update(world.ada, only_sessions.clone(), test_audit())
        .await
        .unwrap();
    assert_eq!(after, before);
    assert_eq!(users.find_by_id(world.ada).await.unwrap().unwrap(), before);
    assert_eq!(
        world.existing().await,
        [false, false, false, true, true, true]
    );
    let error = users
        .update(UserId(4242), only_sessions, test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::User)));
}

#[tokio::test]
async fn a_change_without_keys_to_end_keeps_every_key() {
    let world = world().await;
    world
        .users()
        .update(
            world.ada,
            UserPatch {
                password: Some(PasswordHash::new(NEW_HASH)),
                email: Some(email("lovelace@example.org")),
                ..UserPatch::default()
            },
            test_audit(),
        )
        .await
        .unwrap();
    assert_eq!(world.existing().await, [true; 6]);
}
