//! The PostgreSQL adapters of the domain's repository ports.
//!
//! # Changes of a unique value
//!
//! An update that changes a unique value (a user's email, the name of an organization, a role or
//! a project) first locks, in the order of their ids, the row it changes and the row that holds
//! the new value now, if any; then it writes. Without that, two rows changed to each other's value
//! at once deadlock in the unique index: each update has already written its new row version and,
//! while it checks the index, finds the other's old version, whose update is still in progress,
//! and waits for it to end. PostgreSQL breaks the cycle after `deadlock_timeout` (a second) by
//! aborting one of them with "deadlock detected", which no constraint names: a 500. With the
//! locks taken first, one of the two waits for the other before writing anything, then finds the
//! value taken (or freed) like any later request: a 409 (or success). Creations need no such lock:
//! a new row has no old version for an update to wait on, and an index is checked and written in
//! one step, so of two equal new values the second waits for the first, never the other way round.
//! `lock_with_holder!` takes those locks for every such update.

mod api_keys;
mod audit;
mod budgets;
mod gateway;
mod login_failures;
mod organizations;
mod owned;
mod pending_sign_ons;
mod projects;
mod roles;
mod usage;
mod users;

pub use api_keys::PgApiKeyRepository;
pub use audit::PgAuditLog;
pub use budgets::PgBudgetLedger;
pub use gateway::PgAccessLedger;
pub use login_failures::PgLoginFailures;
pub use organizations::PgOrganizationRepository;
pub use pending_sign_ons::PgPendingSignOns;
pub use projects::PgProjectRepository;
pub use roles::PgRoleRepository;
pub use usage::PgUsageRepository;
pub use users::PgUserRepository;

/// Orders a boxed query by `$column` then by `$id`, both in `$direction`, so that rows with equal
/// values keep one order and pages never overlap. With `$column` omitted, orders by `$id` alone.
macro_rules! order_by {
    ($query:expr, $direction:expr, $id:expr) => {
        match $direction {
            gatehouse_domain::Direction::Asc => $query.order_by($id.asc()),
            gatehouse_domain::Direction::Desc => $query.order_by($id.desc()),
        }
    };
    ($query:expr, $direction:expr, $column:expr, $id:expr) => {
        match $direction {
            gatehouse_domain::Direction::Asc => $query.order_by(($column.asc(), $id.asc())),
            gatehouse_domain::Direction::Desc => $query.order_by(($column.desc(), $id.desc())),
        }
    };
}
pub(crate) use order_by;

/// Locks, in the order of their ids, row `$id` of table `$table` (a module of `schema`, with an
/// `id` column) and the rows `$holder` selects there, the one that holds the new unique value now
/// if any: what an update changing a unique value does before it writes (see "Changes of a unique
/// value" above). A `Result<(), DomainError>`.
///
/// A macro, like [`order_by!`], because each table's query is its own type: a generic function
/// would have to spell out the bounds of every step of the query.
macro_rules! lock_with_holder {
    ($conn:expr, $table:ident, $id:expr, $holder:expr) => {
        $table::table
            .filter($table::id.eq($id).or($holder))
            .select($table::id)
            .order($table::id)
            .for_no_key_update()
            .load::<i64>($conn)
            .map(drop)
            .map_err($crate::error::on_query)
    };
}
pub(crate) use lock_with_holder;

/// Locks row `$id` of table `$table` (a module of `schema`) until the end of the transaction: what
/// a change does before it reads the object its audit event shows as `before`, so that of two
/// concurrent changes the second waits, and records as its `before` the first one's `after`.
/// A `Result<(), DomainError>`: [`DomainError::NotFound`]`($entity)` when there is no such row.
macro_rules! lock_row {
    ($conn:expr, $table:ident, $id:expr, $entity:expr) => {
        $table::table
            .find($id)
            .select($table::id)
            .for_no_key_update()
            .first::<i64>($conn)
            .optional()
            .map_err($crate::error::on_query)
            .and_then(|found| {
                found
                    .map(drop)
                    .ok_or(gatehouse_domain::DomainError::NotFound($entity))
            })
    };
}
pub(crate) use lock_row;
