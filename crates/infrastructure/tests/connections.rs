//! The pool's connections against a real PostgreSQL server: a lost connection costs one call, not
//! every call that draws it from the pool afterwards.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

use diesel::sql_types::Integer;
use diesel::{Connection, PgConnection, QueryableByName, RunQueryDsl};
use gatehouse_domain::DomainError;
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{DEFAULT_CONNECTION_TIMEOUT, PgPool, connect, ping};

#[derive(QueryableByName)]
struct Backend {
    #[diesel(sql_type = Integer)]
    pid: i32,
}

/// The server process behind the pool's one connection.
fn backend_of(pool: &PgPool) -> i32 {
    let mut conn = pool.get().unwrap();
    diesel::sql_query("SELECT pg_backend_pid() AS pid")
        .get_result::<Backend>(&mut conn)
        .unwrap()
        .pid
}

#[tokio::test]
async fn a_connection_the_server_closed_fails_one_call_and_is_replaced() {
    let db = TestDatabase::new();
    let pool = connect(db.url(), 1, DEFAULT_CONNECTION_TIMEOUT).unwrap();
    ping(&pool).await.unwrap();
    let lost = backend_of(&pool);
    let mut admin = PgConnection::establish(db.url()).unwrap();
    diesel::sql_query(format!("SELECT pg_terminate_backend({lost}, 5000)"))
        .execute(&mut admin)
        .unwrap();

    // Nothing tests a connection as it is checked out (a round trip per call), so the call that
    // draws the closed one fails; the connection is then thrown away, not given back.
    assert!(matches!(
        ping(&pool).await,
        Err(DomainError::Unavailable(_))
    ));
    ping(&pool).await.unwrap();
    ping(&pool).await.unwrap();
    assert_ne!(backend_of(&pool), lost);
}
