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
use gatehouse_domain::{
    ApiKeyRepository, Direction, DomainError, NewOrganization, OrganizationId, OrganizationOrder,
    OrganizationRepository, RoleOrder, RoleRepository,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{
    MIGRATIONS, PgApiKeyRepository, PgOrganizationRepository, PgPool, PgRoleRepository, connect,
    ping, run_migrations,
};

const TABLES: [&str; 16] = [
    "access_decisions",
    "api_keys",
    "audit_events",
    "audit_purges",
    "login_failures",
    "organizations",
    "pending_sign_ons",
    "project_limits",
    "project_members",
    "projects",
    "rate_counters",
    "role_limits",
    "role_permissions",
    "roles",
    "usage_records",
    "users",
];

/// How many migrations there are.
const MIGRATIONS_IN_ALL: usize = 16;

/// The migrations after the user counters, newest first.
const AFTER_USER_COUNTERS: [&str; 8] = [
    FRESH_BUDGET_ON_REFUSAL,
    PENDING_SIGN_ONS,
    USER_SUBJECTS,
    AUDIT_EVENTS,
    WHOLE_SECONDS,
    "20261205080000",
    "20261203090000",
    "20261203080000",
];

/// The migration of the audit log.
const AUDIT_EVENTS: &str = "20261212080000";

/// The whole-seconds migration and those after it, newest first.
fn since_whole_seconds() -> &'static [&'static str] {
    let at = AFTER_USER_COUNTERS
        .iter()
        .position(|migration| *migration == WHOLE_SECONDS)
        .unwrap();
    &AFTER_USER_COUNTERS[..=at]
}

/// The migration that makes a refused decision read the payer's budget.
const FRESH_BUDGET_ON_REFUSAL: &str = "20261217080000";

/// The migration of the sign-ins under way.
const PENDING_SIGN_ONS: &str = "20261216080000";

/// The migration that makes (`iss`, `sub`) unique, for sign-on.
const USER_SUBJECTS: &str = "20261214080000";

/// The audit log's schema, which every adapter writes beside its change. A test that reverts to an
/// older schema puts it back (unrecorded) to seed that schema through the adapters, and takes it
/// away again before the migrations run forward.
const AUDIT_UP: &str = include_str!("../../../migrations/2026-12-12-080000_audit_events/up.sql");
const AUDIT_DOWN: &str =
    include_str!("../../../migrations/2026-12-12-080000_audit_events/down.sql");

/// The functions left below the user counters: `set_updated`, and those of the lent audit log.
const SET_UPDATED_AND_LENT_AUDIT_LOG: [&str; 3] = [
    "audit_events_append_only",
    "purge_audit_events",
    "set_updated",
];

/// Puts the audit log's schema back after a revert, for the adapters.
fn lend_audit_log(pool: &PgPool) {
    let mut conn = pool.get().unwrap();
    diesel::connection::SimpleConnection::batch_execute(&mut *conn, AUDIT_UP).unwrap();
}

/// Takes the lent audit log's schema away, then runs the migrations forward: what they applied.
fn migrate_forward(pool: &PgPool) -> Vec<String> {
    let mut conn = pool.get().unwrap();
    diesel::connection::SimpleConnection::batch_execute(&mut *conn, AUDIT_DOWN).unwrap();
    drop(conn);
    run_migrations(pool).unwrap()
}

/// The migration that stores `created` and `updated` at whole seconds.
const WHOLE_SECONDS: &str = "20261210080000";

/// Reverts the migrations after the user counters, checking they go newest first.
fn revert_after_user_counters(pool: &PgPool) {
    let mut conn = pool.get().unwrap();
    for expected in AFTER_USER_COUNTERS {
        let reverted = conn.revert_last_migration(MIGRATIONS).unwrap();
        assert_eq!(reverted.to_string(), expected);
    }
    drop(conn);
    lend_audit_log(pool);
}

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
        assert_eq!(reverted.len(), MIGRATIONS_IN_ALL);
    }
    assert!(tables(&db.pool()).is_empty(), "{:?}", tables(&db.pool()));
    assert!(
        functions(&db.pool()).is_empty(),
        "{:?}",
        functions(&db.pool())
    );

    let applied = run_migrations(&db.pool()).unwrap();
    assert_eq!(applied.len(), MIGRATIONS_IN_ALL);
    assert_eq!(tables(&db.pool()), TABLES);
    // The schema works again, from scratch.
    let organizations = PgOrganizationRepository::new(db.pool(), trail());
    let acme = organizations
        .create(NewOrganization { name: name("Acme") }, test_audit())
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
    let keys = PgApiKeyRepository::new(pool.clone(), trail());
    let own = keys
        .create(new_key_in("own", ada, None).0, test_audit())
        .await
        .unwrap();
    keys.create(new_key_in("bound", ada, Some(project)).0, test_audit())
        .await
        .unwrap();
    revert_after_user_counters(&pool);
    {
        let mut conn = pool.get().unwrap();
        let reverted = conn.revert_last_migration(MIGRATIONS).unwrap();
        assert_eq!(
            reverted.to_string(),
            "20261130110000",
            "the user counters go first"
        );
        let reverted = conn.revert_last_migration(MIGRATIONS).unwrap();
        assert_eq!(
            reverted.to_string(),
            "20261130100000",
            "the list indexes go next"
        );
        let reverted = conn.revert_last_migration(MIGRATIONS).unwrap();
        assert_eq!(reverted.to_string(), "20261130090000");
    }
    // The audit log's tables are lent (see `lend_audit_log`).
    assert_eq!(
        tables(&pool),
        [
            "api_keys",
            "audit_events",
            "audit_purges",
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

    assert_eq!(migrate_forward(&pool).len(), 11);
    assert_eq!(tables(&pool), TABLES);
    let project = create_project(&pool, "Apollo", acme).await.id;
    add_member(&pool, project, ada).await;
    let bound = keys
        .create(new_key_in("bound", ada, Some(project)).0, test_audit())
        .await
        .unwrap();
    assert_eq!(bound.project, Some(project));
    assert_eq!(
        keys.find_by_id(own.id).await.unwrap().unwrap().project,
        None
    );
}

/// The definitions of the triggers of the public schema.
fn triggers(pool: &PgPool) -> Vec<String> {
    let mut conn = pool.get().unwrap();
    diesel::sql_query(
        "SELECT pg_get_triggerdef(t.oid) AS name FROM pg_trigger t \
         JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
         WHERE n.nspname = 'public' AND NOT t.tgisinternal ORDER BY t.tgname",
    )
    .load::<Name>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|row| row.name)
    .collect()
}

#[tokio::test]
async fn the_user_counters_migration_counts_the_users_already_there_and_reverts_alone() {
    let db = TestDatabase::new();
    let pool = db.pool();
    let with_counters = triggers(&pool);
    revert_after_user_counters(&pool);
    {
        let mut conn = pool.get().unwrap();
        let reverted = conn.revert_last_migration(MIGRATIONS).unwrap();
        assert_eq!(reverted.to_string(), "20261130110000");
    }
    // Back to the schema before the counters: every write of an organization or a role sets
    // `updated`, and nothing counts users.
    let after_revert = triggers(&pool);
    assert!(
        after_revert
            .iter()
            .all(|trigger| !trigger.contains("users_count")),
        "{after_revert:?}"
    );
    assert!(
        after_revert.contains(
            &"CREATE TRIGGER organizations_set_updated BEFORE UPDATE ON public.organizations \
              FOR EACH ROW EXECUTE FUNCTION set_updated()"
                .to_owned()
        ),
        "{after_revert:?}"
    );
    assert!(
        after_revert.contains(
            &"CREATE TRIGGER roles_set_updated BEFORE UPDATE ON public.roles \
              FOR EACH ROW EXECUTE FUNCTION set_updated()"
                .to_owned()
        ),
        "{after_revert:?}"
    );
    assert_eq!(functions(&pool), SET_UPDATED_AND_LENT_AUDIT_LOG);
    assert_eq!(
        count_rows(
            &pool,
            "information_schema.columns WHERE table_name IN ('organizations', 'roles') \
             AND column_name = 'users'"
        ),
        0
    );

    // Users written before the counters exist, in organizations and roles last written long ago:
    // a backfill that touched them would show in `updated`, to the second.
    execute(
        &pool,
        "INSERT INTO organizations (name, updated) VALUES ('Acme', '2026-01-01 10:00:00.25+00'), \
         ('Globex', '2026-01-01 10:00:01.5+00'), ('Initech', '2026-01-01 10:00:02.75+00')",
    )
    .unwrap();
    execute(
        &pool,
        "INSERT INTO roles (name, updated) VALUES ('member', '2026-01-01 10:00:03.25+00'), \
         ('admin', '2026-01-01 10:00:04.5+00')",
    )
    .unwrap();
    execute(
        &pool,
        "INSERT INTO users (email, role_id, organization_id) \
         SELECT 'user' || n || '@example.org', \
                (SELECT id FROM roles WHERE name = CASE WHEN n <= 4 THEN 'member' ELSE 'admin' END), \
                (SELECT id FROM organizations WHERE name = CASE WHEN n <= 3 THEN 'Acme' \
                     WHEN n <= 5 THEN 'Globex' END) \
         FROM generate_series(1, 7) AS n",
    )
    .unwrap();
    let organizations_before = stamped(&pool, "organizations");
    let roles_before = stamped(&pool, "roles");

    assert_eq!(migrate_forward(&pool).len(), 9);
    assert_eq!(triggers(&pool), with_counters);
    let organizations = PgOrganizationRepository::new(pool.clone(), trail());
    let roles = PgRoleRepository::new(pool.clone(), trail());
    let counts = || async {
        let organizations = organizations
            .list(page(0, 10, OrganizationOrder::Id, Direction::Asc))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|o| (o.name.as_str().to_owned(), o.users));
        let roles = roles
            .list(page(0, 10, RoleOrder::Id, Direction::Asc))
            .await
            .unwrap()
            .items
            .into_iter()
            .map(|r| (r.name.as_str().to_owned(), r.users));
        organizations.chain(roles).collect::<Vec<_>>()
    };
    let expected = [
        ("Acme", 3),
        ("Globex", 2),
        ("Initech", 0),
        ("member", 4),
        ("admin", 3),
    ]
    .map(|(name, users)| (name.to_owned(), users));
    assert_eq!(counts().await, expected);
    // The backfill is no change that a client would see.
    assert_eq!(stamped(&pool, "organizations"), organizations_before);
    assert_eq!(stamped(&pool, "roles"), roles_before);
    // And the triggers count from there.
    execute(&pool, "DELETE FROM users WHERE email = 'user1@example.org'").unwrap();
    assert_eq!(counts().await[0], ("Acme".to_owned(), 2));
    assert_user_counts(&pool);
}

#[derive(diesel::QueryableByName)]
struct Stamped {
    #[diesel(sql_type = Text)]
    name: String,
    #[diesel(sql_type = Text)]
    updated: String,
}

/// The name and `updated` (as text, to the second a client sees) of every row of `table`, read
/// without the repositories, which need the user counts.
fn stamped(pool: &PgPool, table: &str) -> Vec<(String, String)> {
    let mut conn = pool.get().unwrap();
    diesel::sql_query(format!(
        "SELECT name, date_trunc('second', updated)::text AS updated FROM {table} ORDER BY id"
    ))
    .load::<Stamped>(&mut conn)
    .unwrap()
    .into_iter()
    .map(|row| (row.name, row.updated))
    .collect()
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
    let pool = connect(&url, 1, Duration::from_millis(500), None).unwrap();
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
    let pool = connect(&url, 2, Duration::from_millis(300), None).unwrap();
    let started = Instant::now();
    assert!(matches!(
        ping(&pool).await,
        Err(DomainError::Unavailable(_))
    ));
    let error = PgOrganizationRepository::new(pool.clone(), trail())
        .create(NewOrganization { name: name("Acme") }, test_audit())
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::Unavailable(_)));
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
}

/// Cuts every connection to `db` but the one doing the cutting, as a restart of the server would.
fn cut_connections(db: &TestDatabase) {
    let mut admin = db.pool().get().unwrap();
    diesel::sql_query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
         WHERE datname = current_database() AND pid <> pg_backend_pid()",
    )
    .execute(&mut admin)
    .unwrap();
}

#[tokio::test]
async fn a_pool_recovers_by_itself_when_its_connections_are_cut() {
    let db = TestDatabase::new();
    let pool = connect(db.url(), 1, Duration::from_secs(2), None).unwrap();
    ping(&pool).await.unwrap();
    cut_connections(&db);
    // Nothing tests a connection as it is checked out (a round trip per call), so the one call that
    // draws the cut connection fails; the connection is then thrown away, not given back.
    assert!(matches!(
        ping(&pool).await,
        Err(DomainError::Unavailable(_))
    ));
    ping(&pool).await.unwrap();
    create_organization(&pool, "Acme").await;
}

#[test]
fn instances_migrating_one_database_together_take_turns() {
    let db = TestDatabase::new();
    let pool = db.pool();
    pool.get()
        .unwrap()
        .revert_all_migrations(MIGRATIONS)
        .unwrap();

    let runs: Vec<_> = (0..3)
        .map(|_| {
            let pool = pool.clone();
            std::thread::spawn(move || run_migrations(&pool))
        })
        .collect();
    let mut applied: Vec<usize> = runs
        .into_iter()
        .map(|run| run.join().unwrap().unwrap().len())
        .collect();

    applied.sort_unstable();
    assert_eq!(applied, [0, 0, MIGRATIONS_IN_ALL]);
    assert_eq!(tables(&pool), TABLES);
}

#[tokio::test]
async fn a_pool_with_a_statement_timeout_gives_it_to_every_connection() {
    let db = TestDatabase::new();
    let pool = connect(
        db.url(),
        2,
        Duration::from_secs(2),
        Some(Duration::from_millis(50)),
    )
    .unwrap();
    let mut conn = pool.get().unwrap();
    let setting: Vec<Name> =
        diesel::sql_query("SELECT current_setting('statement_timeout') AS name")
            .load(&mut conn)
            .unwrap();
    assert_eq!(setting[0].name, "50ms");
    let error = diesel::sql_query("SELECT pg_sleep(1)")
        .execute(&mut conn)
        .unwrap_err();
    assert!(error.to_string().contains("statement timeout"), "{error}");
    // The connection goes on serving after a cancelled statement.
    drop(conn);
    let organizations = PgOrganizationRepository::new(pool.clone(), trail());
    assert_eq!(
        organizations.find_by_id(OrganizationId(1)).await.unwrap(),
        None
    );
}

#[tokio::test]
async fn a_connection_lost_before_a_statement_was_ever_prepared_on_it_is_thrown_away_too() {
    let db = TestDatabase::new();
    let pool = connect(db.url(), 1, Duration::from_secs(2), None).unwrap();
    ping(&pool).await.unwrap();
    cut_connections(&db);
    // A query this connection never ran fails while it is being prepared: the connection must
    // not go back to the pool as if it were alive, or every such query would fail on it.
    let organizations = PgOrganizationRepository::new(pool.clone(), trail());
    assert!(matches!(
        organizations.find_by_id(OrganizationId(1)).await,
        Err(DomainError::Unavailable(_))
    ));
    assert_eq!(
        organizations.find_by_id(OrganizationId(1)).await.unwrap(),
        None
    );
}

#[derive(diesel::QueryableByName)]
struct Micros {
    #[diesel(sql_type = diesel::sql_types::Nullable<diesel::sql_types::BigInt>)]
    budget_micros: Option<i64>,
}

fn budgets_in_micros(pool: &PgPool, table: &str) -> Vec<Option<i64>> {
    let mut conn = pool.get().unwrap();
    diesel::sql_query(format!("SELECT budget_micros FROM {table} ORDER BY id"))
        .load::<Micros>(&mut conn)
        .unwrap()
        .into_iter()
        .map(|row| row.budget_micros)
        .collect()
}

#[tokio::test]
async fn budgets_stored_as_doubles_become_exact_millionths_as_they_were_written() {
    let db = TestDatabase::new();
    let pool = db.pool();
    revert_after_user_counters(&pool);
    execute(&pool, "INSERT INTO organizations (name) VALUES ('Acme')").unwrap();
    execute(&pool, "INSERT INTO roles (name) VALUES ('member')").unwrap();
    // 0.1 + 0.2 is stored as 0.30000000000000004; 2.6750004 needs rounding; 1e15 is above the
    // largest budget a client may set now.
    let budgets = [
        "0.1::float8 + 0.2::float8",
        "12.5",
        "2.6750004",
        "1e15",
        "NULL",
        "0",
    ];
    for (n, budget) in budgets.iter().enumerate() {
        execute(
            &pool,
            &format!(
                "INSERT INTO users (email, role_id, budget) \
                 SELECT 'user{n}@example.org', id, {budget} FROM roles"
            ),
        )
        .unwrap();
        execute(
            &pool,
            &format!(
                "INSERT INTO projects (name, organization_id, budget) \
                 SELECT 'project {n}', id, {budget} FROM organizations"
            ),
        )
        .unwrap();
    }
    assert_eq!(migrate_forward(&pool).len(), 8);
    let expected = [
        Some(300_000),
        Some(12_500_000),
        Some(2_675_000),
        Some(1_000_000_000_000_000_000),
        None,
        Some(0),
    ];
    assert_eq!(budgets_in_micros(&pool, "users"), expected);
    assert_eq!(budgets_in_micros(&pool, "projects"), expected);
    // And back: a double again, as close as a double gets.
    revert_after_user_counters(&pool);
    assert_eq!(
        count_rows(&pool, "users WHERE budget = 0.3::float8 OR budget = 12.5"),
        2
    );
}

/// Counts the rows of every table with a `created` or `updated` that has a fraction of a second.
fn with_fractions(pool: &PgPool) -> i64 {
    let both: &[&str] = &["created", "updated"];
    let created: &[&str] = &["created"];
    [
        ("organizations", both),
        ("roles", both),
        ("users", both),
        ("projects", both),
        ("api_keys", created),
        ("project_members", created),
        ("usage_records", created),
    ]
    .iter()
    .map(|(table, columns)| {
        let condition = columns
            .iter()
            .map(|column| format!("{column} <> date_trunc('second', {column})"))
            .collect::<Vec<_>>()
            .join(" OR ");
        count_rows(pool, &format!("{table} WHERE {condition}"))
    })
    .sum()
}

#[tokio::test]
async fn the_whole_seconds_migration_truncates_the_stamps_there_and_every_new_one_is_whole() {
    let db = TestDatabase::new();
    let pool = db.pool();
    {
        let mut conn = pool.get().unwrap();
        for expected in since_whole_seconds() {
            let reverted = conn.revert_last_migration(MIGRATIONS).unwrap();
            assert_eq!(reverted.to_string(), *expected);
        }
    }
    lend_audit_log(&pool);
    // Rows written before it, each stamp with a fraction; `updated` set apart from `created`
    // (the triggers off, as the migration turns them off) to see that it keeps each.
    let acme = create_organization(&pool, "Acme").await.id;
    let role = create_role(&pool, "member").await.id;
    let ada = create_user(&pool, "ada@example.org", role, Some(acme))
        .await
        .id;
    let project = create_project(&pool, "Apollo", acme).await.id;
    add_member(&pool, project, ada).await;
    PgApiKeyRepository::new(pool.clone(), trail())
        .create(new_key_in("laptop", ada, Some(project)).0, test_audit())
        .await
        .unwrap();
    execute(
        &pool,
        "INSERT INTO usage_records (request_id, key_hash, user_id, router_id, prompt_tokens, \
         completion_tokens, cost_micros, charged_micros, overrun_micros, created) \
         VALUES ('r1', '\\x00', 1, 1, 1, 1, 0, 0, 0, '2030-06-15 12:00:00.999999+00')",
    )
    .unwrap();
    for table in ["organizations", "roles", "users", "projects"] {
        for sql in [
            format!("ALTER TABLE {table} DISABLE TRIGGER {table}_set_updated"),
            format!(
                "UPDATE {table} SET created = '2030-06-15 12:00:00.75+00', \
                 updated = '2030-06-15 12:00:01.25+00'"
            ),
            format!("ALTER TABLE {table} ENABLE TRIGGER {table}_set_updated"),
        ] {
            execute(&pool, &sql).unwrap();
        }
    }
    for table in ["api_keys", "project_members"] {
        execute(
            &pool,
            &format!("UPDATE {table} SET created = '2030-06-15 12:00:00.75+00'"),
        )
        .unwrap();
    }
    assert_eq!(with_fractions(&pool), 7);

    assert_eq!(
        migrate_forward(&pool),
        since_whole_seconds()
            .iter()
            .rev()
            .copied()
            .collect::<Vec<_>>()
    );
    assert_eq!(with_fractions(&pool), 0);
    for table in ["organizations", "roles", "users", "projects"] {
        assert_eq!(
            count_rows(
                &pool,
                &format!(
                    "{table} WHERE created = '2030-06-15 12:00:00+00' \
                     AND updated = '2030-06-15 12:00:01+00'"
                )
            ),
            1,
            "{table}"
        );
    }
    assert_eq!(
        count_rows(
            &pool,
            "usage_records WHERE created = '2030-06-15 12:00:00+00'"
        ),
        1
    );

    // From now on, whoever writes: defaults and the `updated` trigger stamp whole seconds.
    let globex = create_organization(&pool, "Globex").await.id;
    let bob = create_user(&pool, "bob@example.org", role, Some(globex))
        .await
        .id;
    let gemini = create_project(&pool, "Gemini", globex).await.id;
    add_member(&pool, gemini, bob).await;
    PgApiKeyRepository::new(pool.clone(), trail())
        .create(new_key_in("desktop", bob, None).0, test_audit())
        .await
        .unwrap();
    for table in ["organizations", "roles", "users", "projects"] {
        execute(&pool, &format!("UPDATE {table} SET created = created")).unwrap();
    }
    assert_eq!(with_fractions(&pool), 0);
    // The trigger did stamp them, now.
    assert_eq!(
        count_rows(
            &pool,
            "organizations WHERE updated <> '2030-06-15 12:00:01+00'"
        ),
        2
    );
}
