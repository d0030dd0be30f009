//! The access ledger and the usage reads against a real PostgreSQL server: counts, reservations
//! and settlements taken all or nothing, exactly, under concurrency and across windows.

#![allow(
    clippy::unwrap_used,
    reason = "fixtures outside #[test] functions fail the test too"
)]

mod common;

use std::collections::HashMap;

use chrono::{DateTime, TimeDelta, TimeZone, Utc};
use common::*;
use gatehouse_domain::{
    AccessLedger, Admission, ApiKeyId, Budget, Cost, Decided, Decision, Direction, Holder, KeyHash,
    LimitType, NewProject, NewUser, OrganizationId, Outcome, Page, Permission, ProjectId,
    ProjectRepository, Quota, RequestId, Reservation, RoleId, Settled, Settlement, Subject,
    UnauthorizedCall, UsageFilter, UsageGroupBy, UsageOrder, UsageRecord, UsageReport,
    UsageRepository, UserId, UserRepository,
};
use gatehouse_infrastructure::testing::TestDatabase;
use gatehouse_infrastructure::{
    DEFAULT_CONNECTION_TIMEOUT, PgAccessLedger, PgProjectRepository, PgUsageRepository,
    PgUserRepository, connect,
};
use tokio::task::JoinSet;

/// 12:00:30 UTC: half a minute into a minute, half a day into a day.
fn noon() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 12, 0, 30).unwrap()
}

fn cost(amount: f64) -> Cost {
    Cost::new(amount).unwrap()
}

fn budget(amount: f64) -> Budget {
    Budget::new(amount).unwrap()
}

struct World {
    db: TestDatabase,
    ledger: PgAccessLedger,
    organization: OrganizationId,
    role: RoleId,
}

async fn world() -> World {
    let db = TestDatabase::new();
    let organization = create_organization(&db.pool(), "Acme").await.id;
    let role = create_role(&db.pool(), "member").await.id;
    let ledger = PgAccessLedger::new(db.pool());
    World {
        db,
        ledger,
        organization,
        role,
    }
}

impl World {
    /// A user of the organization with `amount` to spend (`None` for no limit).
    async fn user(&self, address: &str, amount: Option<f64>) -> UserId {
        PgUserRepository::new(self.db.pool(), trail())
            .create(
                NewUser {
                    budget: amount.map(budget),
                    ..new_user(address, self.role, Some(self.organization))
                },
                test_audit(),
            )
            .await
            .unwrap()
            .id
    }

    /// A project of the organization with `amount` to spend, whose members are `members`.
    async fn project(&self, amount: Option<f64>, members: &[UserId]) -> ProjectId {
        let project = PgProjectRepository::new(self.db.pool(), trail())
            .create(
                NewProject {
                    budget: amount.map(budget),
                    ..new_project("Apollo", self.organization)
                },
                test_audit(),
            )
            .await
            .unwrap()
            .id;
        for &member in members {
            add_member(&self.db.pool(), project, member).await;
        }
        project
    }

    async fn user_budget(&self, user: UserId) -> Option<Budget> {
        PgUserRepository::new(self.db.pool(), trail())
            .find_by_id(user)
            .await
            .unwrap()
            .unwrap()
            .budget
    }

    async fn project_budget(&self, project: ProjectId) -> Option<Budget> {
        PgProjectRepository::new(self.db.pool(), trail())
            .find_by_id(project)
            .await
            .unwrap()
            .unwrap()
            .budget
    }
}

/// A call of `user`'s key 70 on router 3, allowed so far, made at `at`.
fn call(request_id: &str, user: UserId, at: DateTime<Utc>) -> Decision {
    Decision {
        request_id: RequestId::parse(request_id).unwrap(),
        key_hash: KeyHash::new(format!("key of {user}").into_bytes()),
        router: 3,
        outcome: Outcome::Allowed,
        retry_after: None,
        subject: Some(Subject {
            user,
            organization: Some(OrganizationId(1)),
            project: None,
            key: Some(ApiKeyId(70)),
            role: Some(RoleId(1)),
            permissions: permissions(&[Permission::ReadMetric]),
        }),
        budget: None,
        quotas: Vec::new(),
        tokens: 0,
        payer: Some(Holder::User(user)),
        reserved: Cost::ZERO,
        created: at,
    }
}

fn quota(holder: Holder, kind: LimitType, limit: i64) -> Quota {
    Quota {
        holder,
        kind,
        limit,
    }
}

fn reservation(amount: f64) -> Reservation {
    let cost = cost(amount);
    Reservation {
        cost,
        at_least: cost.max(Cost::MILLIONTH),
    }
}

/// A call of `user` on router 3 at `at`, held to `quotas`, reserving `amount` from `user`.
fn admission(
    request_id: &str,
    user: UserId,
    at: DateTime<Utc>,
    quotas: Vec<Quota>,
    amount: Option<f64>,
) -> Admission {
    Admission {
        decision: call(request_id, user, at),
        quotas,
        reservation: amount.map(reservation),
    }
}

/// What each quota of a decision holds, by type.
fn used(decision: &Decision) -> Vec<(&'static str, i64)> {
    decision
        .quotas
        .iter()
        .map(|state| (state.quota.kind.as_str(), state.used))
        .collect()
}

#[tokio::test]
async fn an_allowed_call_takes_its_counts_and_its_reservation_and_is_recorded() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(10.0)).await;
    let user = Holder::User(ada);
    let quotas = vec![
        quota(user, LimitType::Rpm, 5),
        quota(user, LimitType::Tpm, 100),
    ];
    let mut admission = admission("call-1", ada, noon(), quotas, Some(2.5));
    admission.decision.tokens = 40;
    let decided = world.ledger.decide(admission).await.unwrap();
    assert!(!decided.replayed);
    let decision = decided.decision;
    assert_eq!(decision.outcome, Outcome::Allowed);
    assert_eq!(decision.reserved, cost(2.5));
    assert_eq!(decision.budget, Some(budget(7.5)));
    assert_eq!(used(&decision), [("rpm", 1), ("tpm", 40)]);
    let reset = Utc.with_ymd_and_hms(2026, 12, 3, 12, 1, 0).unwrap();
    assert!(decision.quotas.iter().all(|state| state.reset == reset));
    assert_eq!(decision.quotas[1].remaining(), 60);
    assert_eq!(world.user_budget(ada).await, Some(budget(7.5)));
    assert_eq!(count_rows(&world.db.pool(), "access_decisions"), 1);
    assert_eq!(count_rows(&world.db.pool(), "rate_counters"), 1);
}

#[tokio::test]
async fn a_full_window_refuses_the_call_counts_nothing_and_says_when_it_resets() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(10.0)).await;
    let user = Holder::User(ada);
    let quotas = || {
        vec![
            quota(user, LimitType::Rpm, 2),
            quota(user, LimitType::Tpd, 1000),
        ]
    };
    for n in 0..2 {
        let mut admission = admission(&format!("call-{n}"), ada, noon(), quotas(), Some(1.0));
        admission.decision.tokens = 10;
        let decided = world.ledger.decide(admission).await.unwrap();
        assert_eq!(decided.decision.outcome, Outcome::Allowed);
    }
    let mut third = admission("call-2", ada, noon(), quotas(), Some(1.0));
    third.decision.tokens = 10;
    let refused = world.ledger.decide(third).await.unwrap().decision;
    assert_eq!(refused.outcome, Outcome::RateLimited);
    // 12:00:30: the minute resets in 30 seconds.
    assert_eq!(refused.retry_after, Some(30));
    assert_eq!(refused.reserved, Cost::ZERO);
    assert_eq!(used(&refused), [("rpm", 2), ("tpd", 20)]);
    // Nothing was debited for it, and its tokens were not counted.
    assert_eq!(world.user_budget(ada).await, Some(budget(8.0)));
    let mut next = admission("call-3", ada, noon(), quotas(), Some(1.0));
    next.quotas = vec![quota(user, LimitType::Tpd, 1000)];
    let next = world.ledger.decide(next).await.unwrap().decision;
    assert_eq!(used(&next), [("tpd", 20)]);
}

#[tokio::test]
async fn a_token_quota_refuses_a_prompt_that_would_overflow_it_and_retry_after_is_the_latest_reset()
{
    let world = world().await;
    let ada = world.user("ada@example.org", None).await;
    let user = Holder::User(ada);
    let quotas = vec![
        quota(user, LimitType::Tpm, 100),
        quota(user, LimitType::Tpd, 100),
    ];
    let mut big = admission("big", ada, noon(), quotas.clone(), None);
    big.decision.tokens = 101;
    let refused = world.ledger.decide(big).await.unwrap().decision;
    assert_eq!(refused.outcome, Outcome::RateLimited);
    // Both windows are too small: the call fits no sooner than the day's end, 11h59m30s away.
    assert_eq!(refused.retry_after, Some(11 * 3600 + 59 * 60 + 30));
    let mut fits = admission("fits", ada, noon(), quotas, None);
    fits.decision.tokens = 100;
    assert_eq!(
        world.ledger.decide(fits).await.unwrap().decision.outcome,
        Outcome::Allowed
    );
}

#[tokio::test]
async fn counts_start_again_in_the_next_window_and_a_late_clock_counts_in_the_newer_one() {
    let world = world().await;
    let ada = world.user("ada@example.org", None).await;
    let user = Holder::User(ada);
    let quotas = || {
        vec![
            quota(user, LimitType::Rpm, 1),
            quota(user, LimitType::Rpd, 3),
        ]
    };
    let decide =
        |id: &str, at: DateTime<Utc>| world.ledger.decide(admission(id, ada, at, quotas(), None));
    assert_eq!(
        decide("a", noon()).await.unwrap().decision.outcome,
        Outcome::Allowed
    );
    assert_eq!(
        decide("b", noon()).await.unwrap().decision.outcome,
        Outcome::RateLimited
    );
    // 12:01:00, the first second of the next minute: the minute's count starts again, the day's
    // goes on.
    let next_minute = noon() + TimeDelta::seconds(30);
    let allowed = decide("c", next_minute).await.unwrap().decision;
    assert_eq!(allowed.outcome, Outcome::Allowed);
    assert_eq!(used(&allowed), [("rpm", 1), ("rpd", 2)]);
    // Another instance whose clock is a second late still sees 12:00: it counts in the newer
    // window, which is full, rather than in one that is over.
    let late = decide("d", next_minute - TimeDelta::seconds(1))
        .await
        .unwrap()
        .decision;
    assert_eq!(late.outcome, Outcome::RateLimited);
    // The next day, both start again.
    let tomorrow = noon() + TimeDelta::days(1);
    let allowed = decide("e", tomorrow).await.unwrap().decision;
    assert_eq!(used(&allowed), [("rpm", 1), ("rpd", 1)]);
}

#[tokio::test]
async fn a_budget_below_the_cost_or_empty_refuses_the_call_and_counts_nothing() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(1.0)).await;
    let user = Holder::User(ada);
    let quotas = || vec![quota(user, LimitType::Rpm, 100)];
    let refused = world
        .ledger
        .decide(admission("costly", ada, noon(), quotas(), Some(1.000_001)))
        .await
        .unwrap()
        .decision;
    assert_eq!(refused.outcome, Outcome::InsufficientBudget);
    assert_eq!(refused.budget, Some(budget(1.0)));
    assert_eq!(used(&refused), [("rpm", 0)]);
    let exact = world
        .ledger
        .decide(admission("exact", ada, noon(), quotas(), Some(1.0)))
        .await
        .unwrap()
        .decision;
    assert_eq!(exact.outcome, Outcome::Allowed);
    assert_eq!(exact.budget, Some(Budget::ZERO));
    // An empty budget admits no call, even a free one.
    let free = world
        .ledger
        .decide(admission("free", ada, noon(), quotas(), Some(0.0)))
        .await
        .unwrap()
        .decision;
    assert_eq!(free.outcome, Outcome::InsufficientBudget);
    assert_eq!(used(&free), [("rpm", 1)]);
}

#[tokio::test]
async fn an_unlimited_budget_admits_any_cost_and_is_not_written() {
    let world = world().await;
    let ada = world.user("ada@example.org", None).await;
    let before = PgUserRepository::new(world.db.pool(), trail())
        .find_by_id(ada)
        .await
        .unwrap()
        .unwrap();
    let decision = world
        .ledger
        .decide(admission("call", ada, noon(), Vec::new(), Some(1e12)))
        .await
        .unwrap()
        .decision;
    assert_eq!(decision.outcome, Outcome::Allowed);
    assert_eq!(decision.budget, None);
    assert_eq!(decision.reserved, Cost::ZERO);
    let after = PgUserRepository::new(world.db.pool(), trail())
        .find_by_id(ada)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(after, before, "not even `updated` changed");
}

#[tokio::test]
async fn a_payer_deleted_since_the_key_was_read_makes_the_key_invalid() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(5.0)).await;
    PgUserRepository::new(world.db.pool(), trail())
        .delete(ada, test_audit())
        .await
        .unwrap();
    let decision = world
        .ledger
        .decide(admission("call", ada, noon(), Vec::new(), Some(1.0)))
        .await
        .unwrap()
        .decision;
    assert_eq!(decision.outcome, Outcome::InvalidKey);
    assert_eq!(decision.subject, None);
    assert_eq!(decision.payer, None);
    assert!(decision.quotas.is_empty());
}

#[tokio::test]
async fn a_refusal_reached_before_counting_is_recorded_as_it_is() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(5.0)).await;
    let mut expired = admission("call", ada, noon(), Vec::new(), None);
    expired.decision.outcome = Outcome::AccountExpired;
    expired.decision.budget = Some(budget(5.0));
    let decision = world.ledger.decide(expired.clone()).await.unwrap().decision;
    assert_eq!(decision, expired.decision);
    assert_eq!(count_rows(&world.db.pool(), "rate_counters"), 0);
    assert_eq!(world.user_budget(ada).await, Some(budget(5.0)));
}

#[tokio::test]
async fn a_request_id_is_decided_once_and_replayed_as_it_was() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(5.0)).await;
    let quotas = || vec![quota(Holder::User(ada), LimitType::Rpm, 1)];
    let first = world
        .ledger
        .decide(admission("call", ada, noon(), quotas(), Some(1.0)))
        .await
        .unwrap();
    // Asked again a minute later, when the window is free and the budget lower: the first answer.
    let later = noon() + TimeDelta::seconds(60);
    let again = world
        .ledger
        .decide(admission("call", ada, later, quotas(), Some(3.0)))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.decision, first.decision);
    assert_eq!(world.user_budget(ada).await, Some(budget(4.0)));
    assert_eq!(count_rows(&world.db.pool(), "access_decisions"), 1);
    // A refusal is replayed as well.
    let mut refused = admission("refused", ada, noon(), Vec::new(), None);
    refused.decision.outcome = Outcome::RouterForbidden;
    world.ledger.decide(refused).await.unwrap();
    let again = world
        .ledger
        .decide(admission("refused", ada, later, Vec::new(), None))
        .await
        .unwrap();
    assert!(again.replayed);
    assert_eq!(again.decision.outcome, Outcome::RouterForbidden);
}

/// Runs `admissions` at once on a pool of 16 connections, and returns their decisions.
async fn all_at_once(db: &TestDatabase, admissions: Vec<Admission>) -> Vec<Decided> {
    let ledger =
        PgAccessLedger::new(connect(db.url(), 16, DEFAULT_CONNECTION_TIMEOUT, None).unwrap());
    let mut tasks = JoinSet::new();
    for admission in admissions {
        let ledger = ledger.clone();
        tasks.spawn(async move { ledger.decide(admission).await });
    }
    let mut decided = Vec::new();
    while let Some(outcome) = tasks.join_next().await {
        decided.push(outcome.unwrap().unwrap());
    }
    decided
}

fn allowed(decided: &[Decided]) -> usize {
    decided
        .iter()
        .filter(|d| d.decision.outcome == Outcome::Allowed)
        .count()
}

#[tokio::test]
async fn of_100_concurrent_calls_under_rpm_60_exactly_60_are_allowed() {
    let world = world().await;
    let ada = world.user("ada@example.org", None).await;
    let admissions = (0..100)
        .map(|n| {
            let quotas = vec![quota(Holder::User(ada), LimitType::Rpm, 60)];
            admission(&format!("call-{n}"), ada, noon(), quotas, None)
        })
        .collect();
    let decided = all_at_once(&world.db, admissions).await;
    assert_eq!(allowed(&decided), 60);
    let limited = decided
        .iter()
        .filter(|d| d.decision.outcome == Outcome::RateLimited)
        .count();
    assert_eq!(limited, 40);
    // Each allowed call saw its own count: 1 to 60, once each.
    let mut counts: Vec<i64> = decided
        .iter()
        .filter(|d| d.decision.outcome == Outcome::Allowed)
        .map(|d| d.decision.quotas[0].used)
        .collect();
    counts.sort_unstable();
    assert_eq!(counts, (1..=60).collect::<Vec<_>>());
}

#[tokio::test]
async fn of_40_concurrent_reservations_of_1_on_a_budget_of_10_exactly_10_pass_and_it_ends_at_0() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(10.0)).await;
    let bob = world.user("bob@example.org", None).await;
    let project = world.project(Some(10.0), &[bob]).await;
    let mut admissions: Vec<Admission> = (0..40)
        .map(|n| admission(&format!("ada-{n}"), ada, noon(), Vec::new(), Some(1.0)))
        .collect();
    admissions.extend((0..40).map(|n| {
        let mut bound = admission(&format!("bob-{n}"), bob, noon(), Vec::new(), Some(1.0));
        bound.decision.payer = Some(Holder::Project(project));
        bound
    }));
    let decided = all_at_once(&world.db, admissions).await;
    let allowed_of = |prefix: &str| {
        decided
            .iter()
            .filter(|d| d.decision.request_id.as_str().starts_with(prefix))
            .filter(|d| d.decision.outcome == Outcome::Allowed)
            .count()
    };
    assert_eq!(allowed_of("ada-"), 10);
    assert_eq!(allowed_of("bob-"), 10);
    assert_eq!(world.user_budget(ada).await, Some(Budget::ZERO));
    assert_eq!(world.project_budget(project).await, Some(Budget::ZERO));
    assert_eq!(world.user_budget(bob).await, None);
}

#[tokio::test]
async fn members_calling_at_once_under_their_roles_and_their_projects_limits_never_deadlock() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(100.0)).await;
    let bob = world.user("bob@example.org", Some(100.0)).await;
    let project = world.project(Some(100.0), &[ada, bob]).await;
    let mut admissions = Vec::new();
    for n in 0..40 {
        for user in [ada, bob] {
            // Each member's role allows 30 a minute, the project 50 for both: the project's limit
            // binds first. A third of the calls are the members' unbound keys, which the project
            // does not count, paid from their own budgets.
            let bound = n % 3 != 0;
            let mut quotas = vec![quota(Holder::User(user), LimitType::Rpm, 30)];
            let mut admission =
                admission(&format!("{user}-{n}"), user, noon(), Vec::new(), Some(1.0));
            if bound {
                quotas.push(quota(Holder::Project(project), LimitType::Rpm, 50));
                admission.decision.payer = Some(Holder::Project(project));
                if let Some(subject) = admission.decision.subject.as_mut() {
                    subject.project = Some(project);
                }
            }
            admission.quotas = quotas;
            admissions.push(admission);
        }
    }
    let decided = all_at_once(&world.db, admissions).await;
    let mut per_user: HashMap<UserId, usize> = HashMap::new();
    let mut in_project = 0;
    for decision in decided.iter().map(|d| &d.decision) {
        if decision.outcome == Outcome::Allowed {
            let subject = decision.subject.as_ref().unwrap();
            *per_user.entry(subject.user).or_default() += 1;
            in_project += usize::from(subject.project.is_some());
        }
    }
    // 80 calls: each member is held to 30, the project to 50 of their bound calls.
    assert_eq!(per_user[&ada], 30);
    assert_eq!(per_user[&bob], 30);
    assert!(in_project <= 50, "{in_project}");
    let left_in_project = 100 - i64::try_from(in_project).unwrap();
    assert_eq!(
        world.project_budget(project).await,
        Some(Budget::from_micros(left_in_project * 1_000_000).unwrap())
    );
    let own_calls = 60 - in_project;
    let own_budgets = world.user_budget(ada).await.unwrap().micros()
        + world.user_budget(bob).await.unwrap().micros();
    assert_eq!(
        own_budgets,
        (200 - i64::try_from(own_calls).unwrap()) * 1_000_000
    );
}

#[tokio::test]
async fn without_a_database_every_waiting_decision_is_unavailable_within_the_timeout() {
    // Nothing listens on port 1.
    let timeout = std::time::Duration::from_millis(300);
    let pool = connect(
        "postgres://gatehouse@127.0.0.1:1/gatehouse",
        2,
        timeout,
        None,
    )
    .unwrap();
    let ledger = PgAccessLedger::new(pool);
    let started = std::time::Instant::now();
    let mut tasks = JoinSet::new();
    for n in 0..20 {
        let ledger = ledger.clone();
        let admission = admission(&format!("call-{n}"), UserId(1), noon(), Vec::new(), None);
        tasks.spawn(async move { ledger.decide(admission).await });
    }
    while let Some(decided) = tasks.join_next().await {
        assert!(matches!(
            decided.unwrap(),
            Err(gatehouse_domain::DomainError::Unavailable(_))
        ));
    }
    // Queued behind one another, they wait for a few connection attempts, not one each.
    assert!(started.elapsed() < timeout * 5, "{:?}", started.elapsed());
}

#[tokio::test]
async fn two_instances_deciding_for_many_users_in_any_order_count_each_exactly() {
    let world = world().await;
    let mut users = Vec::new();
    for n in 0..12 {
        users.push(
            world
                .user(&format!("user{n}@example.org"), Some(15.0))
                .await,
        );
    }
    // Two ledgers, as two instances have: pools and batches of their own.
    let instances: Vec<PgAccessLedger> = (0..2)
        .map(|_| {
            PgAccessLedger::new(
                connect(world.db.url(), 8, DEFAULT_CONNECTION_TIMEOUT, None).unwrap(),
            )
        })
        .collect();
    let mut tasks = JoinSet::new();
    // 20 calls of each user, interleaved so that batches mix users in every order.
    for round in 0..20 {
        for (n, &user) in users.iter().enumerate() {
            let ledger = instances[(round + n) % 2].clone();
            let quotas = vec![quota(Holder::User(user), LimitType::Rpm, 10)];
            let admission = admission(&format!("{user}-{round}"), user, noon(), quotas, Some(1.0));
            tasks.spawn(async move { ledger.decide(admission).await });
        }
    }
    let mut allowed: HashMap<UserId, usize> = HashMap::new();
    while let Some(decided) = tasks.join_next().await {
        let decision = decided.unwrap().unwrap().decision;
        if decision.outcome == Outcome::Allowed {
            *allowed.entry(decision.subject.unwrap().user).or_default() += 1;
        }
    }
    for user in users {
        assert_eq!(allowed[&user], 10, "{user}");
        assert_eq!(world.user_budget(user).await, Some(budget(5.0)));
    }
}

fn report(
    request_id: &str,
    prompt: i64,
    completion: i64,
    amount: f64,
    at: DateTime<Utc>,
) -> UsageReport {
    UsageReport {
        request_id: RequestId::parse(request_id).unwrap(),
        prompt_tokens: prompt,
        completion_tokens: completion,
        cost: cost(amount),
        created: at,
    }
}

fn settlement(report: UsageReport) -> Settlement {
    Settlement {
        report,
        key_hash: None,
        router: None,
        unauthorized: None,
    }
}

fn recorded(settled: Settled) -> UsageRecord {
    match settled {
        Settled::Recorded(record) => record,
        other => panic!("not recorded: {other:?}"),
    }
}

#[tokio::test]
async fn usage_replaces_the_reservation_refunding_the_difference_or_debiting_it_as_far_as_it_goes()
{
    let world = world().await;
    let ada = world.user("ada@example.org", Some(10.0)).await;
    for (id, amount) in [("cheap", 2.0), ("dear", 2.0)] {
        let decided = world
            .ledger
            .decide(admission(id, ada, noon(), Vec::new(), Some(amount)))
            .await
            .unwrap();
        assert_eq!(decided.decision.outcome, Outcome::Allowed);
    }
    assert_eq!(world.user_budget(ada).await, Some(budget(6.0)));
    // Cheaper than reserved: the difference comes back.
    let cheap = recorded(
        world
            .ledger
            .settle(settlement(report("cheap", 10, 20, 0.5, noon())))
            .await
            .unwrap(),
    );
    assert_eq!((cheap.charged, cheap.overrun), (cost(0.5), Cost::ZERO));
    assert_eq!(cheap.budget, Some(budget(7.5)));
    // Dearer than the budget holds: debited down to zero, the rest is overrun.
    let dear = recorded(
        world
            .ledger
            .settle(settlement(report("dear", 10, 20, 12.0, noon())))
            .await
            .unwrap(),
    );
    assert_eq!(dear.cost, cost(12.0));
    assert_eq!(dear.charged, cost(9.5));
    assert_eq!(dear.overrun, cost(2.5));
    assert_eq!(dear.budget, Some(Budget::ZERO));
    assert_eq!(world.user_budget(ada).await, Some(Budget::ZERO));
    // Reported again: the same record, nothing charged.
    match world
        .ledger
        .settle(settlement(report("dear", 1, 1, 0.0, noon())))
        .await
        .unwrap()
    {
        Settled::Replayed(record) => assert_eq!(record, dear),
        other => panic!("{other:?}"),
    }
    assert_eq!(count_rows(&world.db.pool(), "usage_records"), 2);
}

#[tokio::test]
async fn usage_adds_the_tokens_beyond_those_authorized_to_the_current_windows() {
    let world = world().await;
    let ada = world.user("ada@example.org", None).await;
    let user = Holder::User(ada);
    let quotas = || vec![quota(user, LimitType::Tpm, 1000)];
    let mut first = admission("first", ada, noon(), quotas(), None);
    first.decision.tokens = 100;
    world.ledger.decide(first).await.unwrap();
    // 100 prompt tokens were counted; 150 + 250 were used.
    world
        .ledger
        .settle(settlement(report("first", 150, 250, 0.0, noon())))
        .await
        .unwrap();
    let next = world
        .ledger
        .decide(admission("next", ada, noon(), quotas(), None))
        .await
        .unwrap()
        .decision;
    assert_eq!(used(&next), [("tpm", 400)]);
    // Fewer tokens than authorized give nothing back.
    let mut third = admission("third", ada, noon(), quotas(), None);
    third.decision.tokens = 100;
    world.ledger.decide(third).await.unwrap();
    world
        .ledger
        .settle(settlement(report("third", 10, 0, 0.0, noon())))
        .await
        .unwrap();
    let last = world
        .ledger
        .decide(admission("last", ada, noon(), quotas(), None))
        .await
        .unwrap()
        .decision;
    assert_eq!(used(&last), [("tpm", 500)]);
}

#[tokio::test]
async fn usage_without_authorization_needs_a_caller_and_is_then_counted_and_charged() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(1.0)).await;
    let quotas = vec![
        quota(Holder::User(ada), LimitType::Rpm, 10),
        quota(Holder::User(ada), LimitType::Tpd, 10_000),
    ];
    world
        .ledger
        .decide(admission("authorized", ada, noon(), quotas.clone(), None))
        .await
        .unwrap();
    let unknown = settlement(report("unknown", 5, 5, 0.25, noon()));
    assert_eq!(
        world.ledger.settle(unknown.clone()).await.unwrap(),
        Settled::NotAuthorized
    );
    let call = call("unknown", ada, noon());
    let with_caller = Settlement {
        unauthorized: Some(UnauthorizedCall {
            key_hash: call.key_hash.clone(),
            router: 3,
            subject: call.subject.clone().unwrap(),
            payer: Some(Holder::User(ada)),
            counted_for: vec![Holder::User(ada)],
        }),
        ..unknown
    };
    let record = recorded(world.ledger.settle(with_caller).await.unwrap());
    assert_eq!(record.user, ada);
    assert_eq!(record.router, 3);
    assert_eq!((record.charged, record.overrun), (cost(0.25), Cost::ZERO));
    assert_eq!(world.user_budget(ada).await, Some(budget(0.75)));
    // One more request and all ten tokens, on the counters that exist.
    let next = world
        .ledger
        .decide(admission("next", ada, noon(), quotas, None))
        .await
        .unwrap()
        .decision;
    assert_eq!(used(&next), [("rpm", 3), ("tpd", 10)]);
}

#[tokio::test]
async fn a_call_never_authorized_creates_the_counters_it_is_held_to() {
    let world = world().await;
    let ada = world.user("ada@example.org", None).await;
    let call = call("first", ada, noon());
    let settlement = Settlement {
        unauthorized: Some(UnauthorizedCall {
            key_hash: call.key_hash.clone(),
            router: 3,
            subject: call.subject.clone().unwrap(),
            payer: None,
            counted_for: vec![Holder::User(ada)],
        }),
        ..settlement(report("first", 7, 3, 0.0, noon()))
    };
    recorded(world.ledger.settle(settlement).await.unwrap());
    let quotas = vec![
        quota(Holder::User(ada), LimitType::Rpm, 10),
        quota(Holder::User(ada), LimitType::Tpm, 100),
    ];
    let next = world
        .ledger
        .decide(admission("next", ada, noon(), quotas, None))
        .await
        .unwrap()
        .decision;
    assert_eq!(used(&next), [("rpm", 2), ("tpm", 10)]);
}

#[tokio::test]
async fn usage_naming_another_key_or_router_than_the_authorized_calls_is_a_mismatch() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(3.0)).await;
    let decision = world
        .ledger
        .decide(admission("call", ada, noon(), Vec::new(), Some(1.0)))
        .await
        .unwrap()
        .decision;
    let other_key = Settlement {
        key_hash: Some(KeyHash::new(b"another key".to_vec())),
        ..settlement(report("call", 1, 1, 0.5, noon()))
    };
    assert_eq!(
        world.ledger.settle(other_key).await.unwrap(),
        Settled::Mismatch
    );
    let other_router = Settlement {
        router: Some(4),
        ..settlement(report("call", 1, 1, 0.5, noon()))
    };
    assert_eq!(
        world.ledger.settle(other_router).await.unwrap(),
        Settled::Mismatch
    );
    assert_eq!(count_rows(&world.db.pool(), "usage_records"), 0);
    let same = Settlement {
        key_hash: Some(decision.key_hash),
        router: Some(3),
        ..settlement(report("call", 1, 1, 0.5, noon()))
    };
    let record = recorded(world.ledger.settle(same.clone()).await.unwrap());
    assert_eq!(record.budget, Some(budget(2.5)));
    // Once recorded, a report naming another router (or key) is a mismatch too, not a replay.
    let other_router = Settlement {
        router: Some(4),
        ..same.clone()
    };
    assert_eq!(
        world.ledger.settle(other_router).await.unwrap(),
        Settled::Mismatch
    );
    assert!(matches!(
        world.ledger.settle(same).await.unwrap(),
        Settled::Replayed(_)
    ));
}

#[tokio::test]
async fn a_refused_call_is_not_settled_as_authorized_and_an_unreported_one_keeps_its_reservation() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(1.0)).await;
    let refused = world
        .ledger
        .decide(admission("refused", ada, noon(), Vec::new(), Some(5.0)))
        .await
        .unwrap()
        .decision;
    assert_eq!(refused.outcome, Outcome::InsufficientBudget);
    assert_eq!(
        world
            .ledger
            .settle(settlement(report("refused", 1, 1, 0.1, noon())))
            .await
            .unwrap(),
        Settled::NotAuthorized
    );
    world
        .ledger
        .decide(admission("kept", ada, noon(), Vec::new(), Some(0.4)))
        .await
        .unwrap();
    assert_eq!(world.user_budget(ada).await, Some(budget(0.6)));
}

#[tokio::test]
async fn concurrent_reports_of_one_call_settle_it_once() {
    let world = world().await;
    let ada = world.user("ada@example.org", Some(10.0)).await;
    world
        .ledger
        .decide(admission("call", ada, noon(), Vec::new(), Some(1.0)))
        .await
        .unwrap();
    let ledger =
        PgAccessLedger::new(connect(world.db.url(), 16, DEFAULT_CONNECTION_TIMEOUT, None).unwrap());
    let mut tasks = JoinSet::new();
    for _ in 0..20 {
        let ledger = ledger.clone();
        tasks.spawn(async move {
            ledger
                .settle(settlement(report("call", 1, 1, 3.0, noon())))
                .await
                .unwrap()
        });
    }
    let mut fresh = 0;
    while let Some(settled) = tasks.join_next().await {
        match settled.unwrap() {
            Settled::Recorded(_) => fresh += 1,
            Settled::Replayed(record) => assert_eq!(record.charged, cost(3.0)),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(fresh, 1);
    assert_eq!(world.user_budget(ada).await, Some(budget(7.0)));
}

#[tokio::test]
async fn the_master_keys_calls_are_recorded_without_a_budget() {
    let world = world().await;
    let mut master = call("master-call", UserId::MASTER, noon());
    master.payer = None;
    let decided = world
        .ledger
        .decide(Admission {
            decision: master,
            quotas: Vec::new(),
            reservation: None,
        })
        .await
        .unwrap();
    assert_eq!(decided.decision.outcome, Outcome::Allowed);
    let record = recorded(
        world
            .ledger
            .settle(settlement(report("master-call", 1, 2, 9.0, noon())))
            .await
            .unwrap(),
    );
    assert_eq!(record.user, UserId::MASTER);
    assert_eq!(
        (record.charged, record.overrun, record.budget),
        (cost(9.0), Cost::ZERO, None)
    );
}

#[tokio::test]
async fn sweeping_removes_the_counters_of_days_gone_and_keeps_todays() {
    let world = world().await;
    let ada = world.user("ada@example.org", None).await;
    let bob = world.user("bob@example.org", None).await;
    let yesterday = noon() - TimeDelta::days(1);
    for (user, at) in [(ada, yesterday), (bob, noon())] {
        let quotas = vec![quota(Holder::User(user), LimitType::Rpd, 5)];
        world
            .ledger
            .decide(admission(&format!("{user}"), user, at, quotas, None))
            .await
            .unwrap();
    }
    let today = Utc.with_ymd_and_hms(2026, 12, 3, 0, 0, 0).unwrap();
    assert_eq!(world.ledger.sweep_counters(today).await.unwrap(), 1);
    assert_eq!(count_rows(&world.db.pool(), "rate_counters"), 1);
    assert_eq!(
        count_rows(
            &world.db.pool(),
            &format!("rate_counters WHERE holder_id = {bob}")
        ),
        1
    );
    // A swept counter is created again by the next call, from zero.
    let quotas = vec![quota(Holder::User(ada), LimitType::Rpd, 5)];
    let again = world
        .ledger
        .decide(admission("again", ada, noon(), quotas, None))
        .await
        .unwrap()
        .decision;
    assert_eq!(used(&again), [("rpd", 1)]);
}

/// Records usage of `user` (in `project`, if any) on `router`, costing `amount`, at `at`.
async fn record_usage(
    world: &World,
    request_id: &str,
    user: UserId,
    project: Option<ProjectId>,
    router: i64,
    amount: f64,
    at: DateTime<Utc>,
) -> UsageRecord {
    let mut subject = call(request_id, user, at).subject.unwrap();
    subject.project = project;
    subject.organization = (user != UserId::MASTER).then_some(world.organization);
    let settlement = Settlement {
        unauthorized: Some(UnauthorizedCall {
            key_hash: KeyHash::new(b"a key".to_vec()),
            router,
            subject,
            payer: None,
            counted_for: Vec::new(),
        }),
        ..settlement(report(request_id, 10, 5, amount, at))
    };
    recorded(world.ledger.settle(settlement).await.unwrap())
}

#[tokio::test]
async fn usage_lists_filter_by_each_field_and_order_by_id_or_time() {
    let world = world().await;
    let ada = world.user("ada@example.org", None).await;
    let bob = world.user("bob@example.org", None).await;
    let project = world.project(None, &[ada]).await;
    let usage = PgUsageRepository::new(world.db.pool());
    let at = |minutes: i64| noon() + TimeDelta::minutes(minutes);
    // Recorded out of time order: ids and times disagree.
    let r1 = record_usage(&world, "r1", ada, None, 1, 0.1, at(5)).await;
    record_usage(&world, "r2", ada, Some(project), 2, 0.2, at(1)).await;
    record_usage(&world, "r3", bob, None, 1, 0.3, at(3)).await;
    record_usage(&world, "r4", UserId::MASTER, None, 2, 0.4, at(3)).await;
    let list = |filter: UsageFilter, order: UsageOrder, direction: Direction| {
        let usage = usage.clone();
        async move {
            let Page { items, total } = usage
                .list(filter, page(0, 100, order, direction))
                .await
                .unwrap();
            assert_eq!(total, i64::try_from(items.len()).unwrap());
            items
                .into_iter()
                .map(|r| r.request_id.to_string())
                .collect::<Vec<_>>()
        }
    };
    let all = UsageFilter::default();
    assert_eq!(
        list(all, UsageOrder::Id, Direction::Asc).await,
        ["r1", "r2", "r3", "r4"]
    );
    assert_eq!(
        list(all, UsageOrder::Id, Direction::Desc).await,
        ["r4", "r3", "r2", "r1"]
    );
    // By time, ties by id.
    assert_eq!(
        list(all, UsageOrder::Created, Direction::Asc).await,
        ["r2", "r3", "r4", "r1"]
    );
    assert_eq!(
        list(all, UsageOrder::Created, Direction::Desc).await,
        ["r1", "r4", "r3", "r2"]
    );
    let by = |filter: UsageFilter| list(filter, UsageOrder::Id, Direction::Asc);
    assert_eq!(
        by(UsageFilter {
            user: Some(ada),
            ..all
        })
        .await,
        ["r1", "r2"]
    );
    assert_eq!(
        by(UsageFilter {
            organization: Some(world.organization),
            ..all
        })
        .await,
        ["r1", "r2", "r3"]
    );
    assert_eq!(
        by(UsageFilter {
            project: Some(project),
            ..all
        })
        .await,
        ["r2"]
    );
    assert_eq!(
        by(UsageFilter {
            router: Some(2),
            ..all
        })
        .await,
        ["r2", "r4"]
    );
    // `from` inclusive, `to` exclusive.
    assert_eq!(
        by(UsageFilter {
            from: Some(at(3)),
            to: Some(at(5)),
            ..all
        })
        .await,
        ["r3", "r4"]
    );
    assert_eq!(
        by(UsageFilter {
            user: Some(ada),
            router: Some(1),
            ..all
        })
        .await,
        ["r1"]
    );
    let first = usage
        .list(all, page(0, 1, UsageOrder::Id, Direction::Asc))
        .await
        .unwrap();
    assert_eq!(first.total, 4);
    assert_eq!(first.items, [r1]);
}

#[tokio::test]
async fn a_summary_totals_each_group_in_order_with_the_ungrouped_last() {
    let world = world().await;
    let ada = world.user("ada@example.org", None).await;
    let bob = world.user("bob@example.org", None).await;
    let project = world.project(None, &[ada]).await;
    let usage = PgUsageRepository::new(world.db.pool());
    let tomorrow = noon() + TimeDelta::days(1);
    record_usage(&world, "r1", ada, None, 1, 0.1, noon()).await;
    record_usage(&world, "r2", ada, Some(project), 2, 0.2, noon()).await;
    record_usage(&world, "r3", bob, None, 1, 0.3, tomorrow).await;
    record_usage(&world, "r4", UserId::MASTER, None, 2, 0.4, tomorrow).await;
    let summary = |group_by: Option<UsageGroupBy>, filter: UsageFilter| {
        let usage = usage.clone();
        async move {
            usage
                .summarize(filter, group_by)
                .await
                .unwrap()
                .into_iter()
                .map(|t| (t.group, t.requests, t.cost.to_string()))
                .collect::<Vec<_>>()
        }
    };
    let all = UsageFilter::default();
    assert_eq!(
        summary(Some(UsageGroupBy::User), all).await,
        [
            (Some(0), 1, "0.4".to_owned()),
            (Some(ada.get()), 2, "0.3".to_owned()),
            (Some(bob.get()), 1, "0.3".to_owned()),
        ]
    );
    assert_eq!(
        summary(Some(UsageGroupBy::Project), all).await,
        [
            (Some(project.get()), 1, "0.2".to_owned()),
            (None, 3, "0.8".to_owned())
        ]
    );
    assert_eq!(
        summary(Some(UsageGroupBy::Organization), all).await,
        [
            (Some(world.organization.get()), 3, "0.6".to_owned()),
            (None, 1, "0.4".to_owned())
        ]
    );
    assert_eq!(
        summary(Some(UsageGroupBy::Router), all).await,
        [
            (Some(1), 2, "0.4".to_owned()),
            (Some(2), 2, "0.6".to_owned())
        ]
    );
    let day = |at: DateTime<Utc>| Some(at.timestamp() - at.timestamp() % 86_400);
    assert_eq!(
        summary(Some(UsageGroupBy::Day), all).await,
        [
            (day(noon()), 2, "0.3".to_owned()),
            (day(tomorrow), 2, "0.7".to_owned())
        ]
    );
    assert_eq!(summary(None, all).await, [(None, 4, "1".to_owned())]);
    let none = UsageFilter {
        router: Some(9),
        ..all
    };
    assert_eq!(summary(None, none).await, [(None, 0, "0".to_owned())]);
    assert!(summary(Some(UsageGroupBy::User), none).await.is_empty());
    let totals = usage.summarize(all, None).await.unwrap();
    assert_eq!(
        (totals[0].prompt_tokens, totals[0].completion_tokens),
        (40, 20)
    );
}

#[tokio::test]
async fn a_users_move_or_deletion_leaves_their_usage_as_it_was_recorded() {
    let world = world().await;
    let ada = world.user("ada@example.org", None).await;
    let record = record_usage(&world, "r1", ada, None, 1, 0.1, noon()).await;
    let users = PgUserRepository::new(world.db.pool(), trail());
    users.delete(ada, test_audit()).await.unwrap();
    let page = PgUsageRepository::new(world.db.pool())
        .list(
            UsageFilter {
                user: Some(ada),
                ..UsageFilter::default()
            },
            page(0, 10, UsageOrder::Id, Direction::Asc),
        )
        .await
        .unwrap();
    assert_eq!(page.items, [record]);
}
