//! [`BudgetLedger`] on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use gatehouse_domain::{Budget, BudgetLedger, Cost, DomainError, Entity, ProjectId, UserId};

use crate::db::{PgPool, run_blocking};
use crate::error::on_query;
use crate::rows::budget_from_stored;
use crate::schema::{projects, users};

/// Debits the `budget_micros` columns of `users` and `projects`, exact to the millionth.
///
/// A debit is one conditional `UPDATE ... SET budget_micros = budget_micros - cost WHERE
/// budget_micros >= cost`: the
/// row lock the update takes, and PostgreSQL's re-check of the condition on the latest version of
/// a row that a concurrent debit changed, make concurrent debits queue on the row and never take
/// it below zero, without a read-modify-write or a stronger isolation level. Only when no row was
/// debited is the row read, to tell a missing row, an unlimited budget and an insufficient one
/// apart.
#[derive(Debug, Clone)]
pub struct PgBudgetLedger {
    pool: PgPool,
}

impl PgBudgetLedger {
    /// An adapter over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// Debits one budget: `$table` must have `id` and a nullable `budget_micros`.
macro_rules! debit {
    ($conn:expr, $table:ident, $id:expr, $cost:expr, $entity:expr) => {{
        let cost = $cost.micros();
        let debited = diesel::update(
            $table::table
                .find($id)
                .filter($table::budget_micros.ge(cost)),
        )
        .set($table::budget_micros.eq($table::budget_micros - cost))
        .returning($table::budget_micros)
        .get_result::<Option<i64>>($conn)
        .optional()
        .map_err(on_query)?;
        match debited {
            Some(remaining) => budget_from_stored(stringify!($table), remaining),
            // Nothing was debited: one read tells why.
            None => match $table::table
                .find($id)
                .select($table::budget_micros)
                .first::<Option<i64>>($conn)
                .optional()
                .map_err(on_query)?
            {
                None => Err(DomainError::NotFound($entity)),
                Some(None) => Ok(None),
                Some(Some(_)) => Err(DomainError::InsufficientBudget),
            },
        }
    }};
}

#[async_trait]
impl BudgetLedger for PgBudgetLedger {
    async fn debit_user(&self, user: UserId, cost: Cost) -> Result<Option<Budget>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            debit!(conn, users, user.get(), cost, Entity::User)
        })
        .await
    }

    async fn debit_project(
        &self,
        project: ProjectId,
        cost: Cost,
    ) -> Result<Option<Budget>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            debit!(conn, projects, project.get(), cost, Entity::Project)
        })
        .await
    }
}
