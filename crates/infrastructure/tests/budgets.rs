//! `PgBudgetLedger` against a real PostgreSQL database.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]
#![allow(clippy::float_cmp, reason = "the amounts are exact in binary")]

mod common;

use std::future::Future;

use chrono::{DateTime, Utc};
use common::*;
use gatehouse_domain::{
    Budget, BudgetLedger, Cost, DomainError, Entity, MICROS_PER_UNIT, NewProject, OrganizationId,
    ProjectId, ProjectRepository, UserId, UserRepository,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{
    DEFAULT_CONNECTION_TIMEOUT, PgBudgetLedger, PgProjectRepository, PgUserRepository, connect,
};
use tokio::task::JoinSet;

fn ledger(db: &TestDatabase) -> PgBudgetLedger {
    PgBudgetLedger::new(db.pool())
}

fn cost(amount: f64) -> Cost {
    Cost::new(amount).unwrap()
}

fn budget(amount: f64) -> Budget {
    Budget::new(amount).unwrap()
}

struct World {
    db: TestDatabase,
    organization: OrganizationId,
}

async fn world() -> World {
    let db = TestDatabase::new();
    let organization = create_organization(&db.pool(), "Acme").await.id;
    World { db, organization }
}

/// A user with `amount` to spend (`None` for no limit).
async fn user_with(world: &World, address: &str, amount: Option<f64>) -> UserId {
    let role = create_role(&world.db.pool(), address).await.id;
    PgUserRepository::new(world.db.pool(), trail())
        .create(
            gatehouse_domain::NewUser {
                budget: amount.map(budget),
                ..new_user(address, role, Some(world.organization))
            },
            test_audit(),
        )
        .await
        .unwrap()
        .id
}

/// A project with `amount` to spend (`None` for no limit).
async fn project_with(world: &World, project_name: &str, amount: Option<f64>) -> ProjectId {
    PgProjectRepository::new(world.db.pool(), trail())
        .create(
            NewProject {
                budget: amount.map(budget),
                ..new_project(project_name, world.organization)
            },
            test_audit(),
        )
        .await
        .unwrap()
        .id
}

/// The budget and `updated` of the user, as stored.
async fn user_state(world: &World, user: UserId) -> (Option<Budget>, DateTime<Utc>) {
    let user = PgUserRepository::new(world.db.pool(), trail())
        .find_by_id(user)
        .await
        .unwrap()
        .unwrap();
    (user.budget, user.updated)
}

/// The budget and `updated` of the project, as stored.
async fn project_state(world: &World, project: ProjectId) -> (Option<Budget>, DateTime<Utc>) {
    let project = PgProjectRepository::new(world.db.pool(), trail())
        .find_by_id(project)
        .await
        .unwrap()
        .unwrap();
    (project.budget, project.updated)
}

#[tokio::test]
async fn debiting_a_user_takes_the_cost_and_returns_what_is_left() {
    let world = world().await;
    let ada = user_with(&world, "ada@example.org", Some(10.0)).await;
    let bob = user_with(&world, "bob@example.org", Some(10.0)).await;
    let ledger = ledger(&world.db);
    assert_eq!(
        ledger.debit_user(ada, cost(2.5)).await.unwrap(),
        Some(budget(7.5))
    );
    assert_eq!(
        ledger.debit_user(ada, cost(0.0)).await.unwrap(),
        Some(budget(7.5))
    );
    assert_eq!(
        ledger.debit_user(ada, cost(7.0)).await.unwrap(),
        Some(budget(0.5))
    );
    assert_eq!(user_state(&world, ada).await.0, Some(budget(0.5)));
    assert_eq!(user_state(&world, bob).await.0, Some(budget(10.0)));
}

#[tokio::test]
async fn debiting_a_project_takes_the_cost_and_returns_what_is_left() {
    let world = world().await;
    let apollo = project_with(&world, "Apollo", Some(10.0)).await;
    let gemini = project_with(&world, "Gemini", Some(10.0)).await;
    let ledger = ledger(&world.db);
    assert_eq!(
        ledger.debit_project(apollo, cost(2.5)).await.unwrap(),
        Some(budget(7.5))
    );
    assert_eq!(project_state(&world, apollo).await.0, Some(budget(7.5)));
    assert_eq!(project_state(&world, gemini).await.0, Some(budget(10.0)));
}

#[tokio::test]
async fn a_debit_may_take_a_budget_exactly_to_zero_and_a_free_use_still_passes() {
    let world = world().await;
    let ada = user_with(&world, "ada@example.org", Some(5.0)).await;
    let apollo = project_with(&world, "Apollo", Some(5.0)).await;
    let ledger = ledger(&world.db);
    assert_eq!(
        ledger.debit_user(ada, cost(5.0)).await.unwrap(),
        Some(budget(0.0))
    );
    assert_eq!(
        ledger.debit_project(apollo, cost(5.0)).await.unwrap(),
        Some(budget(0.0))
    );
    assert_eq!(
        ledger.debit_user(ada, cost(0.0)).await.unwrap(),
        Some(budget(0.0))
    );
    assert_eq!(
        ledger.debit_project(apollo, cost(0.0)).await.unwrap(),
        Some(budget(0.0))
    );
}

#[tokio::test]
async fn a_debit_above_the_budget_is_insufficient_and_debits_nothing() {
    let world = world().await;
    let ada = user_with(&world, "ada@example.org", Some(5.0)).await;
    let apollo = project_with(&world, "Apollo", Some(5.0)).await;
    let ledger = ledger(&world.db);
    let (user_before, project_before) = (
        user_state(&world, ada).await,
        project_state(&world, apollo).await,
    );
    for amount in [5.000_001, 1e12] {
        let error = ledger.debit_user(ada, cost(amount)).await.unwrap_err();
        assert!(
            matches!(error, DomainError::InsufficientBudget),
            "{error:?}"
        );
        let error = ledger
            .debit_project(apollo, cost(amount))
            .await
            .unwrap_err();
        assert!(
            matches!(error, DomainError::InsufficientBudget),
            "{error:?}"
        );
    }
    assert_eq!(user_state(&world, ada).await, user_before);
    assert_eq!(project_state(&world, apollo).await, project_before);
}

#[tokio::test]
async fn an_unlimited_budget_is_none_and_is_not_written() {
    let world = world().await;
    let ada = user_with(&world, "ada@example.org", None).await;
    let apollo = project_with(&world, "Apollo", None).await;
    let ledger = ledger(&world.db);
    let (user_before, project_before) = (
        user_state(&world, ada).await,
        project_state(&world, apollo).await,
    );
    assert_eq!(ledger.debit_user(ada, cost(1e12)).await.unwrap(), None);
    assert_eq!(ledger.debit_project(apollo, cost(3.0)).await.unwrap(), None);
    assert_eq!(user_state(&world, ada).await, user_before);
    assert_eq!(project_state(&world, apollo).await, project_before);
}

#[tokio::test]
async fn debiting_a_missing_user_or_project_is_not_found() {
    let world = world().await;
    let ledger = ledger(&world.db);
    let error = ledger
        .debit_user(UserId(4242), cost(1.0))
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::User)));
    let error = ledger
        .debit_project(ProjectId(4242), cost(1.0))
        .await
        .unwrap_err();
    assert!(matches!(error, DomainError::NotFound(Entity::Project)));
}

#[tokio::test]
async fn debits_are_exact_to_the_millionth() {
    let world = world().await;
    let ada = user_with(&world, "ada@example.org", Some(0.3)).await;
    let ledger = ledger(&world.db);
    // In binary floating point, 0.3 - 0.1 - 0.1 is a hair below 0.1 and a third debit of 0.1 is
    // refused; in millionths it is 0.1 exactly, and the budget ends at exactly zero.
    for left in ["0.2", "0.1", "0"] {
        let remaining = ledger.debit_user(ada, cost(0.1)).await.unwrap().unwrap();
        assert_eq!(remaining.to_string(), left);
    }
    assert!(matches!(
        ledger.debit_user(ada, Cost::MILLIONTH).await,
        Err(DomainError::InsufficientBudget)
    ));
    assert_eq!(user_state(&world, ada).await.0, Some(Budget::ZERO));
}

/// 200 concurrent debits of 1 against a budget of 100, on a pool of 16 connections: exactly 100
/// pass, each leaving a different amount, the other 100 are refused, and nothing is overspent.
async fn check_concurrent_debits<Fut>(db: &TestDatabase, debit: impl Fn(PgBudgetLedger) -> Fut)
where
    Fut: Future<Output = Result<Option<Budget>, DomainError>> + Send + 'static,
{
    let pool = connect(db.url(), 16, DEFAULT_CONNECTION_TIMEOUT, None).unwrap();
    let ledger = PgBudgetLedger::new(pool);
    let mut tasks = JoinSet::new();
    for _ in 0..200 {
        tasks.spawn(debit(ledger.clone()));
    }
    let mut outcomes = Vec::new();
    while let Some(outcome) = tasks.join_next().await {
        outcomes.push(outcome.unwrap());
    }
    let mut left: Vec<i64> = outcomes
        .iter()
        .filter_map(|outcome| match outcome {
            Ok(Some(budget)) => Some(budget.micros()),
            _ => None,
        })
        .collect();
    left.sort_unstable();
    let expected: Vec<i64> = (0..100).map(|units| units * MICROS_PER_UNIT).collect();
    assert_eq!(
        left, expected,
        "each passing debit leaves a different amount"
    );
    let refused = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Err(DomainError::InsufficientBudget)))
        .count();
    assert_eq!(refused, 100, "{outcomes:?}");
}

#[tokio::test]
async fn concurrent_debits_of_a_user_never_overspend() {
    let world = world().await;
    let ada = user_with(&world, "ada@example.org", Some(100.0)).await;
    check_concurrent_debits(&world.db, move |ledger| async move {
        ledger.debit_user(ada, cost(1.0)).await
    })
    .await;
    assert_eq!(user_state(&world, ada).await.0, Some(budget(0.0)));
}

#[tokio::test]
async fn concurrent_debits_of_a_project_never_overspend() {
    let world = world().await;
    let apollo = project_with(&world, "Apollo", Some(100.0)).await;
    check_concurrent_debits(&world.db, move |ledger| async move {
        ledger.debit_project(apollo, cost(1.0)).await
    })
    .await;
    assert_eq!(project_state(&world, apollo).await.0, Some(budget(0.0)));
}

#[tokio::test]
async fn the_database_refuses_a_write_that_would_take_a_budget_below_zero() {
    let world = world().await;
    let ada = user_with(&world, "ada@example.org", Some(1.0)).await;
    let apollo = project_with(&world, "Apollo", Some(1.0)).await;
    assert_refused(
        &world.db.pool(),
        &format!("UPDATE users SET budget_micros = budget_micros - 2000000 WHERE id = {ada}"),
        diesel::result::DatabaseErrorKind::CheckViolation,
        "users_budget_micros_check",
    );
    assert_refused(
        &world.db.pool(),
        &format!("UPDATE projects SET budget_micros = budget_micros - 2000000 WHERE id = {apollo}"),
        diesel::result::DatabaseErrorKind::CheckViolation,
        "projects_budget_micros_check",
    );
}
