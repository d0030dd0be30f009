//! PostgreSQL functions that diesel's DSL lacks, declared so that the queries using them stay typed
//! and, unlike raw SQL fragments, keep diesel's prepared-statement cache.

use diesel::sql_types::{Date, SingleValue, Timestamptz};

diesel::define_sql_function! {
    /// `array_agg(value)`: a subquery's rows as one array, so that a key's permissions and limits
    /// come back in the row of the key instead of in queries of their own. `NULL` over no rows.
    #[aggregate]
    fn array_agg<ST: SingleValue>(value: ST) -> Nullable<Array<ST>>;
}

diesel::define_sql_function! {
    /// `row(a, b, c)`: a row constructor, for aggregating rows of three columns into one array.
    fn row<A: SingleValue, B: SingleValue, C: SingleValue>(a: A, b: B, c: C) -> Record<(A, B, C)>;
}

diesel::define_sql_function! {
    /// `purge_audit_events(cutoff, purge_day)` (migration `audit_events`): deletes the events
    /// written before `cutoff`, once per `purge_day`; `NULL` when that day's purge already ran.
    fn purge_audit_events(cutoff: Timestamptz, purge_day: Date) -> Nullable<Int8>;
}
