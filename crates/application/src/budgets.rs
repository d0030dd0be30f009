//! Spending budgets: the use case other services of the gateway call to charge what a request
//! cost, so that no budget is ever overspent.
//!
//! A project-bound key spends its project's budget; any other key spends its owner's. A budget of
//! `None` is unlimited. The debit is one conditional write in the storage, so concurrent charges
//! from any number of processes never take a budget below zero.
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
//! /// One user, 7, with a budget of 1.5.
//! struct Ledger(Mutex<f64>);
//!
//! #[async_trait]
//! impl BudgetLedger for Ledger {
//!     async fn debit_user(&self, user: UserId, cost: Cost) -> Result<Option<Budget>, DomainError> {
//!         assert_eq!(user, UserId(7));
//!         let mut budget = self.0.lock().map_err(|_| DomainError::unexpected("poisoned"))?;
//!         if *budget < cost.get() {
//!             return Err(DomainError::InsufficientBudget);
//!         }
//!         *budget -= cost.get();
//!         Budget::new(*budget).map(Some).map_err(DomainError::unexpected)
//!     }
//!
//!     async fn debit_project(&self, _: ProjectId, _: Cost) -> Result<Option<Budget>, DomainError> {
//!         Err(DomainError::NotFound(Entity::Project))
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let budgets = BudgetService::new(Arc::new(Ledger(Mutex::new(1.5))), Arc::new(SystemClock));
//! // In a real service the caller comes from `AuthService::authenticate(bearer)`.
//! let caller = Principal { user: UserId(7), ..Principal::master() };
//!
//! let charge = budgets.charge(&caller, Cost::new(1.0)?).await?;
//! assert_eq!(charge.charged, Charged::User(UserId(7)));
//! assert_eq!(charge.remaining, Some(Budget::new(0.5)?));
//!
//! // A second charge of 1 would go below zero: refused, and nothing is debited.
//! let refused = budgets.charge(&caller, Cost::new(1.0)?).await;
//! assert!(matches!(refused, Err(DomainError::InsufficientBudget)));
//! assert_eq!(budgets.charge(&caller, Cost::new(0.5)?).await?.remaining, Some(Budget::new(0.0)?));
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use gatehouse_domain::{Budget, BudgetLedger, Clock, Cost, DomainError, ProjectId, UserId};

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
        if let Some(project) = actor.project {
            let remaining = self.ledger.debit_project(project.id, cost).await?;
            return Ok(Charge {
                charged: Charged::Project(project.id),
                remaining,
            });
        }
        let remaining = if actor.is_master() {
            None
        } else {
            self.ledger.debit_user(actor.user, cost).await?
        };
        Ok(Charge {
            charged: Charged::User(actor.user),
            remaining,
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
            }),
            ..caller(&[], None)
        }
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
