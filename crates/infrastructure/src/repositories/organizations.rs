//! [`OrganizationRepository`] on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use gatehouse_domain::{
    DomainError, Entity, NewOrganization, Organization, OrganizationId, OrganizationOrder,
    OrganizationPatch, OrganizationRepository, Page, PageRequest,
};

use crate::db::{PgPool, run_blocking, transaction};
use crate::error::{on_delete, on_query};
use crate::repositories::{lock_with_holder, order_by};
use crate::rows::organizations::{NewOrganizationRow, OrganizationChangeset, OrganizationRow};
use crate::schema::organizations;

/// Organizations in the `organizations` table, each with the count of its users that triggers on
/// `users` keep in its row (migration `user_counters`): reading it costs the same at 1M users as
/// at 10.
#[derive(Debug, Clone)]
pub struct PgOrganizationRepository {
    pool: PgPool,
}

impl PgOrganizationRepository {
    /// An adapter over `pool`.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

/// The organization `id` with its user count, if it exists.
fn find(conn: &mut PgConnection, id: i64) -> Result<Option<Organization>, DomainError> {
    organizations::table
        .find(id)
        .select(OrganizationRow::as_select())
        .first(conn)
        .optional()
        .map_err(on_query)?
        .map(OrganizationRow::into_domain)
        .transpose()
}

#[async_trait]
impl OrganizationRepository for PgOrganizationRepository {
    async fn create(&self, new: NewOrganization) -> Result<Organization, DomainError> {
        run_blocking(&self.pool, move |conn| {
            diesel::insert_into(organizations::table)
                .values(NewOrganizationRow {
                    name: new.name.as_str(),
                })
                .returning(OrganizationRow::as_returning())
                .get_result(conn)
                .map_err(on_query)?
                .into_domain()
        })
        .await
    }

    async fn find_by_id(&self, id: OrganizationId) -> Result<Option<Organization>, DomainError> {
        run_blocking(&self.pool, move |conn| find(conn, id.get())).await
    }

    async fn list(
        &self,
        page: PageRequest<OrganizationOrder>,
    ) -> Result<Page<Organization>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            let total = organizations::table
                .count()
                .get_result::<i64>(conn)
                .map_err(on_query)?;
            let query = organizations::table
                .select(OrganizationRow::as_select())
                .into_boxed();
            let direction = page.direction();
            let id = organizations::id;
            let query = match page.order_by() {
                OrganizationOrder::Id => order_by!(query, direction, id),
                OrganizationOrder::Name => order_by!(query, direction, organizations::name, id),
                OrganizationOrder::Created => {
                    order_by!(query, direction, organizations::created, id)
                }
                OrganizationOrder::Updated => {
                    order_by!(query, direction, organizations::updated, id)
                }
            };
            let items = query
                .offset(page.offset())
                .limit(page.limit())
                .load::<OrganizationRow>(conn)
                .map_err(on_query)?
                .into_iter()
                .map(OrganizationRow::into_domain)
                .collect::<Result<_, _>>()?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn update(
        &self,
        id: OrganizationId,
        patch: OrganizationPatch,
    ) -> Result<Organization, DomainError> {
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                if let Some(name) = &patch.name {
                    lock_with_holder!(
                        conn,
                        organizations,
                        id.get(),
                        organizations::name.eq(name.as_str())
                    )?;
                }
                if !patch.is_empty() {
                    let changeset = OrganizationChangeset {
                        name: patch.name.as_ref().map(gatehouse_domain::Name::as_str),
                    };
                    let changed = diesel::update(organizations::table.find(id.get()))
                        .set(&changeset)
                        .execute(conn)
                        .map_err(on_query)?;
                    if changed == 0 {
                        return Err(DomainError::NotFound(Entity::Organization));
                    }
                }
                find(conn, id.get())?.ok_or(DomainError::NotFound(Entity::Organization))
            })
        })
        .await
    }

    async fn delete(&self, id: OrganizationId) -> Result<(), DomainError> {
        run_blocking(&self.pool, move |conn| {
            let deleted = diesel::delete(organizations::table.find(id.get()))
                .execute(conn)
                .map_err(on_delete)?;
            if deleted == 0 {
                return Err(DomainError::NotFound(Entity::Organization));
            }
            Ok(())
        })
        .await
    }
}
