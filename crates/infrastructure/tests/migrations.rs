//! The migrations, the pool and the health check against a real PostgreSQL server.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use diesel::RunQueryDsl;
use diesel::sql_types::Text;
use diesel_migrations::MigrationHarness;
use gatehouse_domain::{ApiKeyRepository, DomainError, NewOrganization, OrganizationRepository};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{
    MIGRATIONS, PgApiKeyRepository, PgOrganizationRepository, PgPool, connect, ping, run_migrations,
};

const TABLES: [&str; 9] = [
    "api_keys",
    "organizations",
    "project_limits",
    "project_members",
    "projects",
    "role_limits",
    "role_permissions",
    "roles",
    "users",
];

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = Text)]
    name: String,
}

/// The tables of the public schema, except diesel's own, in name order.
fn tables(pool: &PgPool) -> Vec<String> {
    let mut conn = pool.get().unwrap();
    diesel::sql_query(
        "SELECT tablename AS name FROM pg_tables WHERE schemaname = 'public' \
         AND tablename <> '__diesel_schema_migrations' ORDER BY tablename",
    )
    .load::<Name>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|row| row.name)
    .collect()
}

/// The functions of the public schema.
fn functions(pool: &PgPool) -> Vec<String> {
    let mut conn = pool.get().unwrap();
    diesel::sql_query(
        "SELECT p.proname::text AS name FROM pg_proc p \
         JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public' ORDER BY 1",
    )
    .load::<Name>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|row| row.name)
    .collect()
}

/// A port on this machine that nothing listens on.
fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn a_test_database_starts_migrated_and_empty() {
    let db = TestDatabase::new();
    assert_eq!(tables(&db.pool()), TABLES);
    for table in TABLES {
        assert_eq!(count_rows(&db.pool(), table), 0, "{table}");
    }
    let mut conn = db.pool().get().unwrap();
    assert!(!conn.has_pending_migration(MIGRATIONS).unwrap());
}

#[tokio::test]
async fn running_the_migrations_on_a_migrated_database_applies_nothing() {
    let db = TestDatabase::new();
    assert_eq!(run_migrations(&db.pool()).unwrap(), Vec::<String>::new());
}

#[tokio::test]
async fn the_migrations_can_be_reverted_all_the_way_down_and_applied_again() {
    let db = TestDatabase::new();
    create_organization(&db.pool(), "Acme").await;
    {
        let mut conn = db.pool().get().unwrap();
        let reverted = conn.revert_all_migrations(MIGRATIONS).unwrap();
        assert_eq!(reverted.len(), 7);
    }
    assert!(tables(&db.pool()).is_empty(), "{:?}", tables(&db.pool()));
    assert!(
        functions(&db.pool()).is_empty(),
        "{:?}",
        functions(&db.pool())
    );

    let applied = run_migrations(&db.pool()).unwrap();
    assert_eq!(applied.len(), 7);
    assert_eq!(tables(&db.pool()), TABLES);
    // The schema works again, from scratch.
    let organizations = PgOrganizationRepository::new(db.pool());
    let acme = organizations
        .create(NewOrganization { name: name("Acme") })
        .await
        .unwrap();
    assert_eq!(
        organizations.find_by_id(acme.id).await.unwrap().unwrap(),
        acme
    );
}

#[tokio::test]
async fn the_projects_migration_reverts_alone_and_drops_the_keys_bound_to_projects() {
    let db = TestDatabase::new();
    let pool = db.pool();
    let acme = create_organization(&pool, "Acme").await.id;
    let role = create_role(&pool, "member").await.id;
    let ada = create_user(&pool, "ada@example.org", role, Some(acme))
        .await
        .id;
    let project = create_project(&pool, "Apollo", acme).await.id;
    add_member(&pool, project, ada).await;
    let keys = PgApiKeyRepository::new(pool.clone());
    let own = keys.create(new_key_in("own", ada, None).0).await.unwrap();
    keys.create(new_key_in("bound", ada, Some(project)).0)
        .await
        .unwrap();
    {
        let mut conn = pool.get().unwrap();
        let reverted = conn.revert_last_migration(MIGRATIONS).unwrap();
        assert_eq!(
            reverted.to_string(),
            "20261130100000",
            "the list indexes go first"
        );
        let reverted = conn.revert_last_migration(MIGRATIONS).unwrap();
        assert_eq!(reverted.to_string(), "20261130090000");
    }
    assert_eq!(
        tables(&pool),
        [
            "api_keys",
            "organizations",
            "role_limits",
            "role_permissions",
            "roles",
            "users"
        ]
    );
    // A key bound to a project would act with more rights than it was given: it goes.
    assert_eq!(
        count_rows(&pool, &format!("api_keys WHERE id = {}", own.id)),
        1
    );
    assert_eq!(count_rows(&pool, "api_keys"), 1);
    assert_eq!(
        count_rows(
            &pool,
            "information_schema.columns WHERE table_name = 'api_keys' AND column_name = 'project_id'"
        ),
        0
    );

    assert_eq!(run_migrations(&pool).unwrap().len(), 2);
    assert_eq!(tables(&pool), TABLES);
    let project = create_project(&pool, "Apollo", acme).await.id;
    add_member(&pool, project, ada).await;
    let bound = keys
        .create(new_key_in("bound", ada, Some(project)).0)
        .await
        .unwrap();
    assert_eq!(bound.project, Some(project));
    assert_eq!(
        keys.find_by_id(own.id).await.unwrap().unwrap().project,
        None
    );
}

#[tokio::test]
async fn each_test_database_is_its_own() {
    let first = TestDatabase::new();
    let second = TestDatabase::new();
    assert_ne!(first.url(), second.url());
    create_organization(&first.pool(), "Acme").await;
    assert_eq!(count_rows(&first.pool(), "organizations"), 1);
    assert_eq!(count_rows(&second.pool(), "organizations"), 0);
}

#[tokio::test]
async fn a_test_database_is_dropped_with_its_value() {
    let db = TestDatabase::new();
    let url = db.url().to_owned();
    drop(db);
    let pool = connect(&url, 1, Duration::from_millis(500)).unwrap();
    assert!(matches!(
        ping(&pool).await,
        Err(DomainError::Unavailable(_))
    ));
}

#[tokio::test]
async fn pinging_a_live_database_succeeds() {
    let db = TestDatabase::new();
    ping(&db.pool()).await.unwrap();
}

#[tokio::test]
async fn a_pool_pointed_at_a_closed_port_is_unavailable_quickly() {
    let url = format!("postgres://gatehouse@127.0.0.1:{}/gatehouse", closed_port());
    let pool = connect(&url, 2, Duration::from_millis(300)).unwrap();
    let started = Instant::now();
    assert!(matches!(
        ping(&pool).await,
        Err(DomainError::Unavailable(_))
    ));
    let error = PgOrganizationRepository::new(pool.clone())
        .create(NewOrganization { name: name("Acme") })
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::Unavailable(_)));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_pool_recovers_by_itself_when_its_connections_are_cut() {
    let db = TestDatabase::new();
    let pool = connect(db.url(), 1, Duration::from_secs(2)).unwrap();
    ping(&pool).await.unwrap();
    // Cut every connection to this database but the one doing the cutting, as a restart would.
    let mut admin = db.pool().get().unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .unwrap();
    drop(admin);
    // The pool tests a connection when it is checked out and replaces a broken one.
    ping(&pool).await.unwrap();
    create_organization(&pool, "Acme").await;
}
