//! [`UsageRepository`] on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Timestamptz};
use gatehouse_domain::{
    DomainError, OrganizationId, Page, PageRequest, ProjectId, UsageFilter, UsageGroupBy,
    UsageOrder, UsageRecord, UsageRepository, UsageTotal, UserId,
};

use crate::db::{PgPool, run_blocking};
use crate::error::on_query;
use crate::repositories::order_by;
use crate::rows::gateway::{TotalRow, UsageRow};
use crate::schema::usage_records;

/// Usage records in the `usage_records` table.
#[derive(Debug, Clone)]
pub struct PgUsageRepository {
    pool: PgPool,
}

impl PgUsageRepository {
    /// An adapter over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// The records matching `filter`, for the count and the page alike.
fn filtered(filter: UsageFilter) -> usage_records::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = usage_records::table.into_boxed();
    if let Some(user) = filter.user {
        query = query.filter(usage_records::user_id.eq(user.get()));
    }
    if let Some(organization) = filter.organization {
        query = query.filter(usage_records::organization_id.eq(organization.get()));
    }
    if let Some(project) = filter.project {
        query = query.filter(usage_records::project_id.eq(project.get()));
    }
    if let Some(router) = filter.router {
        query = query.filter(usage_records::router_id.eq(router));
    }
    if let Some(from) = filter.from {
        query = query.filter(usage_records::created.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(usage_records::created.lt(to));
    }
    query
}

/// The summary's statement for `group_by`: every filter is a parameter that is either `NULL`
/// (no filter) or a value, so that one text serves them all; PostgreSQL plans each call with its
/// values, so an absent filter costs nothing. Sums saturate at the largest 64-bit integer rather
/// than fail.
fn summary_sql(group_by: Option<UsageGroupBy>) -> String {
    let group = match group_by {
        None => None,
        Some(UsageGroupBy::User) => Some("user_id"),
        Some(UsageGroupBy::Organization) => Some("organization_id"),
        Some(UsageGroupBy::Project) => Some("project_id"),
        Some(UsageGroupBy::Router) => Some("router_id"),
        Some(UsageGroupBy::Day) => {
            Some("(floor(extract(epoch FROM created) / 86400) * 86400)::bigint")
        }
    };
    let sum = |column: &str| {
        // least() would skip the NULL sum of no rows: it is made 0 first.
        format!("least(coalesce(sum({column}), 0), 9223372036854775807)::bigint AS {column}")
    };
    let mut sql = format!(
        "SELECT {} AS grp, count(*) AS requests, {}, {}, {} FROM usage_records \
         WHERE ($1::bigint IS NULL OR user_id = $1) \
         AND ($2::bigint IS NULL OR organization_id = $2) \
         AND ($3::bigint IS NULL OR project_id = $3) \
         AND ($4::bigint IS NULL OR router_id = $4) \
         AND ($5::timestamptz IS NULL OR created >= $5) \
         AND ($6::timestamptz IS NULL OR created < $6)",
        group.unwrap_or("NULL::bigint"),
        sum("prompt_tokens"),
        sum("completion_tokens"),
        sum("cost_micros"),
    );
    if group.is_some() {
        sql.push_str(" GROUP BY grp ORDER BY grp NULLS LAST");
    }
    sql
}

#[async_trait]
impl UsageRepository for PgUsageRepository {
    async fn list(
        &self,
        filter: UsageFilter,
        page: PageRequest<UsageOrder>,
    ) -> Result<Page<UsageRecord>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            let total = filtered(filter)
                .count()
                .get_result::<i64>(conn)
                .map_err(on_query)?;
            let query = filtered(filter).select(UsageRow::as_select());
            let direction = page.direction();
            let id = usage_records::id;
            let query = match page.order_by() {
                UsageOrder::Id => order_by!(query, direction, id),
                UsageOrder::Created => order_by!(query, direction, usage_records::created, id),
            };
            let items = query
                .offset(page.offset())
                .limit(page.limit())
                .load::<UsageRow>(conn)
                .map_err(on_query)?
                .into_iter()
                .map(UsageRow::into_domain)
                .collect::<Result<_, _>>()?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn summarize(
        &self,
        filter: UsageFilter,
        group_by: Option<UsageGroupBy>,
    ) -> Result<Vec<UsageTotal>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            diesel::sql_query(summary_sql(group_by))
                .bind::<Nullable<BigInt>, _>(filter.user.map(UserId::get))
                .bind::<Nullable<BigInt>, _>(filter.organization.map(OrganizationId::get))
                .bind::<Nullable<BigInt>, _>(filter.project.map(ProjectId::get))
                .bind::<Nullable<BigInt>, _>(filter.router)
                .bind::<Nullable<Timestamptz>, _>(filter.from)
                .bind::<Nullable<Timestamptz>, _>(filter.to)
                .load::<TotalRow>(conn)
                .map_err(on_query)?
                .into_iter()
                .map(TotalRow::into_domain)
                .collect()
        })
        .await
    }
}
