//! Writers of the rows that belong to another row and are written with it, all at once: a role's
//! permissions and limits, a project's limits. One writer for every such table, so that a rule of
//! how they are written (no statement for no rows; a change replaces them all) is kept once.
//!
//! Generic over diesel's tables rather than a macro, so that the compiler checks each call: the
//! rows must be insertable into the table the old ones are deleted from.

use diesel::pg::PgConnection;
use diesel::prelude::*;
use diesel::query_builder::{DeleteStatement, InsertStatement, IntoUpdateTarget};
use diesel::query_dsl::methods::ExecuteDsl;
use gatehouse_domain::DomainError;

use crate::error::on_query;

/// Inserts `rows` into `table`, in one statement; nothing when there are none (an `INSERT` of no
/// rows is not valid SQL).
pub(crate) fn insert<T, R>(
    conn: &mut PgConnection,
    table: T,
    rows: Vec<R>,
) -> Result<(), DomainError>
where
    T: Table,
    Vec<R>: Insertable<T>,
    InsertStatement<T, <Vec<R> as Insertable<T>>::Values>: ExecuteDsl<PgConnection>,
{
    if !rows.is_empty() {
        diesel::insert_into(table)
            .values(rows)
            .execute(conn)
            .map_err(on_query)?;
    }
    Ok(())
}

/// Replaces the rows `old` selects (an owner's rows: `table.filter(owner.eq(id))`) with `rows`.
pub(crate) fn replace<Old, R>(
    conn: &mut PgConnection,
    old: Old,
    rows: Vec<R>,
) -> Result<(), DomainError>
where
    Old: IntoUpdateTarget,
    Old::Table: Table,
    DeleteStatement<Old::Table, Old::WhereClause>: ExecuteDsl<PgConnection>,
    Vec<R>: Insertable<Old::Table>,
    InsertStatement<Old::Table, <Vec<R> as Insertable<Old::Table>>::Values>:
        ExecuteDsl<PgConnection>,
{
    diesel::delete(old).execute(conn).map_err(on_query)?;
    insert(conn, Old::table(), rows)
}
