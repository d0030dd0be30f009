//! Spending budgets: the use case other services of the gateway call to charge what a request
//! cost, so that no budget is ever overspent, and the one place that says whose budget pays.
//!
//! A project-bound key spends its project's budget; any other key spends its owner's; the master
//! key has none. A budget of `None` is unlimited. Amounts are exact to the millionth. The debit is
//! one conditional write in the storage, so concurrent charges from any number of processes never
//! take a budget below zero. The gateway's access decisions ([`crate::GatewayService`]) reserve
//! and settle costs by the same rules, through [`BudgetService::reservation`].
//!
//! # Example
//!
//! A service that has authenticated a caller charges them; here the ledger is a toy one in
//! memory, where Gatehouse's server wires `PgBudgetLedger`.
//!
//! ```
//! use std::sync::{Arc, Mutex};
//!
//! use async_trait::async_trait;
//! use gatehouse_application::{BudgetService, Charged, Principal};
//! use gatehouse_domain::{
//!     Budget, BudgetLedger, Cost, DomainError, Entity, ProjectId, SystemClock, UserId,
//! };
//!
//! /// One user, 7, with a budget (in millionths).
//! struct Ledger(Mutex<i64>);
//!
//! #[async_trait]
//! impl BudgetLedger for Ledger {
//!     async fn debit_user(&self, user: UserId, cost: Cost) -> Result<Option<Budget>, DomainError> {
//!         assert_eq!(user, UserId(7));
//!         let mut budget = self.0.lock().map_err(|_| DomainError::unexpected("poisoned"))?;
//!         if *budget < cost.micros() {
//!             return Err(DomainError::InsufficientBudget);
//!         }
//!         *budget -= cost.micros();
//!         Budget::from_micros(*budget).map(Some).map_err(DomainError::unexpected)
//!     }
//!
//!     async fn debit_project(&self, _: ProjectId, _: Cost) -> Result<Option<Budget>, DomainError> {
//!         Err(DomainError::NotFound(Entity::Project))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let budget = Budget::new(0.3)?;
//! let budgets = BudgetService::new(
//!     Arc::new(Ledger(Mutex::new(budget.micros()))),
//!     Arc::new(SystemClock),
//! );
//! // In a real service the caller comes from `AuthService::authenticate(bearer)`.
//! let caller = Principal { user: UserId(7), ..Principal::master() };
//!
//! let charge = budgets.charge(&caller, Cost::new(0.1)?).await?;
//! assert_eq!(charge.charged, Charged::User(UserId(7)));
//! let charge = budgets.charge(&caller, Cost::new(0.1)?).await?;
//! // Exact to the millionth: 0.3 - 0.1 - 0.1 leaves 0.1.
//! assert_eq!(charge.remaining, Some(Budget::new(0.1)?));
//! assert_eq!(charge.remaining.map(|left| left.to_string()).as_deref(), Some("0.1"));
//!
//! // A charge of 0.2 would go below zero: refused, and nothing is debited.
//! let refused = budgets.charge(&caller, Cost::new(0.2)?).await;
//! assert!(matches!(refused, Err(DomainError::InsufficientBudget)));
//! assert_eq!(budgets.charge(&caller, Cost::new(0.1)?).await?.remaining, Some(Budget::ZERO));
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use gatehouse_domain::{
    Budget, BudgetLedger, Clock, Cost, DomainError, Holder, ProjectId, Reservation, UserId,
};

use crate::Principal;

/// Whose budget a charge was taken from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Charged {
    /// The caller's own budget.
    User(UserId),
    /// The budget of the project the caller's key is bound to.
    Project(ProjectId),
}

/// A charge that went through.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Charge {
    /// Whose budget paid.
    pub charged: Charged,
    /// What is left of it; `None` for an unlimited budget.
    pub remaining: Option<Budget>,
}

/// Charges costs to the budget a caller spends from.
#[derive(Clone)]
pub struct BudgetService {
    ledger: Arc<dyn BudgetLedger>,
    clock: Arc<dyn Clock>,
}

impl BudgetService {
    /// A service debiting budgets through `ledger`.
    pub fn new(ledger: Arc<dyn BudgetLedger>, clock: Arc<dyn Clock>) -> Self {
        Self { ledger, clock }
    }

    /// Takes `cost` from the budget `actor` spends: their key's project's, or their own. The
    /// master user has no budget and spends without limit.
    ///
    /// # Errors
    /// `AccountExpired`; `InsufficientBudget` when the budget holds less than `cost` (nothing is
    /// debited); `NotFound(User)` or `NotFound(Project)` when the budget's holder was deleted
    /// since the caller authenticated.
    pub async fn charge(&self, actor: &Principal, cost: Cost) -> Result<Charge, DomainError> {
        actor.require_active(self.clock.now())?;
        match Self::payer(actor) {
            Some(Holder::Project(project)) => Ok(Charge {
                charged: Charged::Project(project),
                remaining: self.ledger.debit_project(project, cost).await?,
            }),
            Some(Holder::User(user)) => Ok(Charge {
                charged: Charged::User(user),
                remaining: self.ledger.debit_user(user, cost).await?,
            }),
            None => Ok(Charge {
                charged: Charged::User(actor.user),
                remaining: None,
            }),
        }
    }

    /// Whose budget `actor` spends: their key's project's, or their own; `None` for the master
    /// user, who has no budget.
    pub fn payer(actor: &Principal) -> Option<Holder> {
        match &actor.project {
            Some(project) => Some(Holder::Project(project.id)),
            None if actor.is_master() => None,
            None => Some(Holder::User(actor.user)),
        }
    }

    /// What the budget `actor` spends held when their key authenticated; `None` for no limit.
    pub fn balance(actor: &Principal) -> Option<Budget> {
        match &actor.project {
            Some(project) => project.budget,
            None => actor.budget,
        }
    }

    /// What to debit from the budget `actor` spends ([`BudgetService::payer`]) when a call of
    /// theirs that may cost up to `cost` is admitted: `cost`, which the budget must hold, and
    /// never less than a millionth (an empty budget admits no call, not even a free one). `None`
    /// for the master user, who has no budget.
    pub fn reservation(actor: &Principal, cost: Cost) -> Option<Reservation> {
        Self::payer(actor).map(|_| Reservation {
            cost,
            at_least: cost.max(Cost::MILLIONTH),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{caller, clock, now};
    use crate::principal::ProjectScope;
    use gatehouse_domain::chrono::TimeDelta;
    use gatehouse_domain::{Entity, MockBudgetLedger};
    use mockall::predicate::eq;

    fn service(ledger: MockBudgetLedger) -> BudgetService {
        BudgetService::new(Arc::new(ledger), clock())
    }

    fn cost(amount: f64) -> Cost {
        Cost::new(amount).unwrap()
    }

    fn bound_to(project: i64) -> Principal {
        Principal {
            project: Some(ProjectScope {
                id: ProjectId(project),
                budget: Some(Budget::new(10.0).unwrap()),
                limits: gatehouse_domain::Limits::default(),
            }),
            ..caller(&[], None)
        }
    }

    #[test]
    fn a_reservation_is_taken_from_the_payer_and_needs_at_least_a_millionth() {
        let reservation = BudgetService::reservation(&caller(&[], None), cost(0.0)).unwrap();
        assert_eq!(
            BudgetService::payer(&caller(&[], None)),
            Some(Holder::User(UserId(42)))
        );
        assert_eq!(reservation.cost, Cost::ZERO);
        assert_eq!(reservation.at_least, Cost::MILLIONTH);
        let reservation = BudgetService::reservation(&bound_to(5), cost(2.5)).unwrap();
        assert_eq!(
            BudgetService::payer(&bound_to(5)),
            Some(Holder::Project(ProjectId(5)))
        );
        assert_eq!(reservation.at_least, cost(2.5));
        assert_eq!(
            BudgetService::reservation(&Principal::master(), cost(1.0)),
            None
        );
    }

    #[test]
    fn the_balance_is_the_payers() {
        let mut own = caller(&[], None);
        own.budget = Some(Budget::new(3.0).unwrap());
        assert_eq!(
            BudgetService::balance(&own),
            Some(Budget::new(3.0).unwrap())
        );
        let bound = Principal {
            budget: Some(Budget::new(3.0).unwrap()),
            ..bound_to(5)
        };
        assert_eq!(
            BudgetService::balance(&bound),
            Some(Budget::new(10.0).unwrap())
        );
        assert_eq!(BudgetService::balance(&Principal::master()), None);
    }

    #[tokio::test]
    async fn a_key_without_project_spends_its_owners_budget() {
        let mut ledger = MockBudgetLedger::new();
        ledger
            .expect_debit_user()
            .with(eq(UserId(42)), eq(cost(2.0)))
            .times(1)
            .returning(|_, _| Ok(Some(Budget::new(8.0).unwrap())));
        ledger.expect_debit_project().never();
        let charge = service(ledger)
            .charge(&caller(&[], None), cost(2.0))
            .await
            .unwrap();
        assert_eq!(charge.charged, Charged::User(UserId(42)));
        assert_eq!(charge.remaining, Some(Budget::new(8.0).unwrap()));
    }

    #[tokio::test]
    async fn a_project_bound_key_spends_the_projects_budget_not_its_owners() {
        let mut ledger = MockBudgetLedger::new();
        ledger
            .expect_debit_project()
            .with(eq(ProjectId(5)), eq(cost(2.0)))
            .times(1)
            .returning(|_, _| Ok(None));
        ledger.expect_debit_user().never();
        let charge = service(ledger)
            .charge(&bound_to(5), cost(2.0))
            .await
            .unwrap();
        assert_eq!(charge.charged, Charged::Project(ProjectId(5)));
        assert_eq!(charge.remaining, None);
    }

    #[tokio::test]
    async fn a_refused_debit_is_insufficient_budget() {
        let mut ledger = MockBudgetLedger::new();
        ledger
            .expect_debit_user()
            .returning(|_, _| Err(DomainError::InsufficientBudget));
        assert!(matches!(
            service(ledger).charge(&caller(&[], None), cost(1.0)).await,
            Err(DomainError::InsufficientBudget)
        ));
    }

    #[tokio::test]
    async fn the_master_spends_without_a_budget_and_without_a_write() {
        let mut ledger = MockBudgetLedger::new();
        ledger.expect_debit_user().never();
        let charge = service(ledger)
            .charge(&Principal::master(), cost(1e9))
            .await
            .unwrap();
        assert_eq!(charge.charged, Charged::User(UserId::MASTER));
        assert_eq!(charge.remaining, None);
    }

    #[tokio::test]
    async fn an_expired_account_cannot_spend() {
        let mut ledger = MockBudgetLedger::new();
        ledger.expect_debit_user().never();
        ledger.expect_debit_project().never();
        let expired = caller(&[], Some(now() - TimeDelta::seconds(1)));
        assert!(matches!(
            service(ledger).charge(&expired, cost(1.0)).await,
            Err(DomainError::AccountExpired)
        ));
    }

    #[tokio::test]
    async fn a_holder_deleted_since_authentication_is_not_found() {
        let mut ledger = MockBudgetLedger::new();
        ledger
            .expect_debit_project()
            .returning(|_, _| Err(DomainError::NotFound(Entity::Project)));
        assert!(matches!(
            service(ledger).charge(&bound_to(5), cost(1.0)).await,
            Err(DomainError::NotFound(Entity::Project))
        ));
    }
}
