//! Budgets: what a user or a project may still spend, and the ledger that debits them without
//! ever overspending.

use async_trait::async_trait;

use crate::error::{DomainError, ValueError};
use crate::ids::{ProjectId, UserId};

/// Checks that `amount` is a finite number >= 0, the rule of budgets and costs alike.
fn finite_not_negative(amount: f64) -> Result<f64, ValueError> {
    if !amount.is_finite() {
        return Err(ValueError::new(
            "finite_number",
            "Input should be a finite number.",
        ));
    }
    if amount < 0.0 {
        return Err(ValueError::new(
            "greater_than_equal",
            "Input should be greater than or equal to 0.",
        ));
    }
    // -0.0 passes the check above; keep it as 0.
    Ok(amount + 0.0)
}

/// A spending budget: a finite amount, never negative. Where a budget is optional, `None` means
/// no limit.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Budget(f64);

impl Budget {
    /// Checks that `amount` is a finite number >= 0.
    ///
    /// # Errors
    /// `greater_than_equal` for a negative amount, `finite_number` for NaN or infinity.
    pub fn new(amount: f64) -> Result<Self, ValueError> {
        finite_not_negative(amount).map(Self)
    }

    /// The amount.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// What one use of the gateway costs, to be debited from a budget: a finite amount, never
/// negative.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Cost(f64);

impl Cost {
    /// Checks that `amount` is a finite number >= 0.
    ///
    /// # Errors
    /// `greater_than_equal` for a negative amount, `finite_number` for NaN or infinity.
    pub fn new(amount: f64) -> Result<Self, ValueError> {
        finite_not_negative(amount).map(Self)
    }

    /// The amount.
    pub fn get(self) -> f64 {
        self.0
    }
}

/// Debits budgets. Each debit is one conditional write, so that concurrent debits never take a
/// budget below zero, whichever process runs them.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait BudgetLedger: Send + Sync {
    /// Takes `cost` from the user's budget, if it holds that much, and returns what is left;
    /// `Ok(None)` for a user without a budget limit, which is not written to.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::InsufficientBudget`] (and debit nothing) when the
    /// budget is below `cost`, [`DomainError::NotFound`]`(User)` when there is no such user.
    async fn debit_user(&self, user: UserId, cost: Cost) -> Result<Option<Budget>, DomainError>;

    /// Takes `cost` from the project's budget, as [`BudgetLedger::debit_user`] does.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::InsufficientBudget`] (and debit nothing) when the
    /// budget is below `cost`, [`DomainError::NotFound`]`(Project)` when there is no such project.
    async fn debit_project(
        &self,
        project: ProjectId,
        cost: Cost,
    ) -> Result<Option<Budget>, DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    #[allow(clippy::float_cmp)]
    fn budgets_and_costs_are_finite_and_not_negative() {
        assert_eq!(Budget::new(0.0).unwrap().get(), 0.0);
        assert!(Budget::new(-0.0).unwrap().get().is_sign_positive());
        assert!(Cost::new(-0.0).unwrap().get().is_sign_positive());
        assert_eq!(Budget::new(-0.01).unwrap_err().code, "greater_than_equal");
        assert_eq!(Cost::new(-0.01).unwrap_err().code, "greater_than_equal");
        assert_eq!(Budget::new(f64::NAN).unwrap_err().code, "finite_number");
        assert_eq!(Cost::new(f64::INFINITY).unwrap_err().code, "finite_number");
    }

    proptest! {
        #[test]
        fn every_accepted_budget_is_finite_and_not_negative(amount in any::<f64>()) {
            if let Ok(budget) = Budget::new(amount) {
                prop_assert!(budget.get().is_finite() && budget.get() >= 0.0);
            } else {
                prop_assert!(!amount.is_finite() || amount < 0.0);
            }
        }
    }
}
