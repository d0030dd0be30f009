//! Budgets: what a user or a project may still spend, exact to the millionth, and the ledger that
//! debits them without ever overspending.

use std::fmt;
use std::str::FromStr;

use async_trait::async_trait;
use rust_decimal::{Decimal, RoundingStrategy};

use crate::error::{DomainError, ValueError};
use crate::ids::{ProjectId, UserId};

/// Millionths in one unit of money: amounts are whole numbers of millionths, so that sums and
/// differences are exact (0.3 - 0.1 - 0.1 is 0.1, not 0.09999999999999998).
pub const MICROS_PER_UNIT: i64 = 1_000_000;

/// The largest amount a client may give, in units: a trillion. Stored amounts stay far from the
/// limits of a 64-bit count of millionths (about 9.2 trillion units) even after refunds.
pub const MAX_AMOUNT_UNITS: i64 = 1_000_000_000_000;

/// The amount of `amount` in millionths, rounded to the nearest millionth (halves away from zero).
///
/// The number is first read as the shortest decimal that the double stands for, which is what the
/// client wrote for any number of up to 15 significant digits: `0.0000005` rounds up to `0.000001`,
/// though the nearest double lies a hair below it.
fn micros_of(amount: f64) -> Result<i64, ValueError> {
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
    let too_large = || {
        ValueError::new(
            "less_than_equal",
            format!("Input should be less than or equal to {MAX_AMOUNT_UNITS}."),
        )
    };
    #[allow(clippy::cast_precision_loss)] // 10^12 is exact as a double.
    if amount > MAX_AMOUNT_UNITS as f64 {
        return Err(too_large());
    }
    // `Display` of a double is its shortest round-trip decimal, never in exponent notation; the
    // smallest doubles have more digits than a `Decimal` holds, and round to 0 anyway.
    let Ok(decimal) = Decimal::from_str(&amount.to_string()) else {
        return Ok(0);
    };
    let micros = decimal.round_dp_with_strategy(6, RoundingStrategy::MidpointAwayFromZero)
        * Decimal::from(MICROS_PER_UNIT);
    i64::try_from(micros).map_err(|_| too_large())
}

/// Declares an amount of money: a whole, non-negative number of millionths, shown as an exact
/// decimal.
macro_rules! amount_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(i64);

        impl $name {
            /// Nothing.
            pub const ZERO: Self = Self(0);

            /// The smallest amount there is: one millionth.
            pub const MILLIONTH: Self = Self(1);

            /// Reads an amount a client gave, rounded to the nearest millionth.
            ///
            /// # Errors
            /// `greater_than_equal` for a negative amount, `finite_number` for NaN or infinity,
            /// `less_than_equal` above [`MAX_AMOUNT_UNITS`].
            pub fn new(amount: f64) -> Result<Self, ValueError> {
                micros_of(amount).map(Self)
            }

            /// An amount of `micros` millionths, as stored.
            ///
            /// # Errors
            /// `greater_than_equal` for a negative count.
            pub fn from_micros(micros: i64) -> Result<Self, ValueError> {
                if micros < 0 {
                    return Err(ValueError::new(
                        "greater_than_equal",
                        "Input should be greater than or equal to 0.",
                    ));
                }
                Ok(Self(micros))
            }

            /// The amount in millionths.
            pub fn micros(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            /// The exact decimal, without trailing zeros: `0.1`, `12`, `0.000001`.
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                Decimal::new(self.0, 6).normalize().fmt(f)
            }
        }
    };
}

amount_type!(
    /// A spending budget. Where a budget is optional, `None` means no limit.
    Budget
);

amount_type!(
    /// What one use of the gateway costs (or may cost), to be debited from a budget.
    Cost
);

impl From<Cost> for Budget {
    fn from(cost: Cost) -> Self {
        Self(cost.0)
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

    fn micros(amount: f64) -> i64 {
        Budget::new(amount).unwrap().micros()
    }

    #[test]
    fn budgets_and_costs_are_finite_and_not_negative() {
        assert_eq!(micros(0.0), 0);
        assert_eq!(micros(-0.0), 0);
        assert_eq!(Budget::new(-0.01).unwrap_err().code, "greater_than_equal");
        assert_eq!(Cost::new(-0.01).unwrap_err().code, "greater_than_equal");
        assert_eq!(Budget::new(f64::NAN).unwrap_err().code, "finite_number");
        assert_eq!(Cost::new(f64::INFINITY).unwrap_err().code, "finite_number");
        assert_eq!(Budget::new(1e300).unwrap_err().code, "less_than_equal");
        assert_eq!(
            Budget::from_micros(-1).unwrap_err().code,
            "greater_than_equal"
        );
    }

    #[test]
    fn amounts_are_rounded_to_the_nearest_millionth_as_written() {
        assert_eq!(micros(0.1), 100_000);
        assert_eq!(micros(0.000_000_4), 0);
        assert_eq!(micros(0.000_000_5), 1);
        assert_eq!(micros(1.000_000_5), 1_000_001);
        assert_eq!(micros(2.675_000_49), 2_675_000);
        assert_eq!(micros(5e-324), 0);
        assert_eq!(micros(1e12), 1_000_000_000_000_000_000);
        assert_eq!(Budget::new(1e12 + 1.0).unwrap_err().code, "less_than_equal");
    }

    #[test]
    fn amounts_show_as_exact_decimals() {
        let shown = |micros| Budget::from_micros(micros).unwrap().to_string();
        assert_eq!(shown(0), "0");
        assert_eq!(shown(100_000), "0.1");
        assert_eq!(shown(12_000_000), "12");
        assert_eq!(shown(1), "0.000001");
        assert_eq!(shown(300_000 - 100_000 - 100_000), "0.1");
        assert_eq!(shown(i64::MAX), "9223372036854.775807");
    }

    proptest! {
        #[test]
        fn every_accepted_amount_is_within_bounds_and_within_half_a_millionth(amount in any::<f64>()) {
            if let Ok(budget) = Budget::new(amount) {
                #[allow(clippy::cast_precision_loss)]
                let back = budget.micros() as f64 / 1e6;
                prop_assert!(budget.micros() >= 0);
                prop_assert!((back - amount).abs() <= 0.5e-6 + amount * 1e-15);
            } else {
                #[allow(clippy::cast_precision_loss)]
                let max = MAX_AMOUNT_UNITS as f64;
                prop_assert!(!amount.is_finite() || amount < 0.0 || amount > max);
            }
        }

        #[test]
        fn decimals_of_up_to_six_places_read_back_as_written(units in 0_i64..1_000_000_000, fraction in 0_i64..1_000_000) {
            let text = format!("{units}.{fraction:06}");
            let amount: f64 = text.parse().unwrap();
            let budget = Budget::new(amount).unwrap();
            prop_assert_eq!(budget.micros(), units * MICROS_PER_UNIT + fraction);
            // Shown exactly: the decimal written back is the very number given.
            prop_assert_eq!(budget.to_string().parse::<f64>().unwrap().to_bits(), amount.to_bits());
        }
    }
}
