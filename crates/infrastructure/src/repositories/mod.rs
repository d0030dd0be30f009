//! The PostgreSQL adapters of the domain's repository ports.

mod api_keys;
mod budgets;
mod organizations;
mod projects;
mod roles;
mod users;

pub use api_keys::PgApiKeyRepository;
pub use budgets::PgBudgetLedger;
pub use organizations::PgOrganizationRepository;
pub use projects::PgProjectRepository;
pub use roles::PgRoleRepository;
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
