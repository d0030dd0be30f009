//! [`OrganizationRepository`] on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use gatehouse_domain::{
    Audit, AuditEntity, DomainError, Entity, NewOrganization, Organization, OrganizationId,
    OrganizationOrder, OrganizationPatch, OrganizationRepository, Page, PageRequest, Snapshot,
};

use crate::audit::AuditTrail;
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
    trail: AuditTrail,
}

impl PgOrganizationRepository {
    /// An adapter over `pool`, recording its changes on `trail`.
    pub fn new(pool: PgPool, trail: AuditTrail) -> Self {
        Self { pool, trail }
    }
}

/// Records a change of `organization`, from `before` to `after`.
fn record(
    trail: &AuditTrail,
    conn: &mut PgConnection,
    audit: &Audit,
    id: OrganizationId,
    before: Option<Organization>,
    after: Option<Organization>,
) -> Result<(), DomainError> {
    trail.change(
        conn,
        audit,
        AuditEntity::Organization,
        id.get(),
        before.map(Snapshot::Organization),
        after.map(Snapshot::Organization),
    )
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

/// The organization `id`, which must exist.
fn found(conn: &mut PgConnection, id: OrganizationId) -> Result<Organization, DomainError> {
    find(conn, id.get())?.ok_or(DomainError::NotFound(Entity::Organization))
}

#[async_trait]
impl OrganizationRepository for PgOrganizationRepository {
    async fn create(
        &self,
        new: NewOrganization,
        audit: Audit,
    ) -> Result<Organization, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                let created = diesel::insert_into(organizations::table)
                    .values(NewOrganizationRow {
                        name: new.name.as_str(),
                    })
                    .returning(OrganizationRow::as_returning())
                    .get_result(conn)
                    .map_err(on_query)?
                    .into_domain()?;
                record(
                    &trail,
                    conn,
                    &audit,
                    created.id,
                    None,
                    Some(created.clone()),
                )?;
                Ok(created)
            })
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
        audit: Audit,
    ) -> Result<Organization, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            let Some(name) = &patch.name else {
                // An empty patch changes nothing, so it records nothing.
                return find(conn, id.get())?.ok_or(DomainError::NotFound(Entity::Organization));
            };
            transaction(conn, |conn| {
                lock_with_holder!(
                    conn,
                    organizations,
                    id.get(),
                    organizations::name.eq(name.as_str())
                )?;
                let before = found(conn, id)?;
                let after = diesel::update(organizations::table.find(id.get()))
                    .set(&OrganizationChangeset {
                        name: Some(name.as_str()),
                    })
                    .returning(OrganizationRow::as_returning())
                    .get_result(conn)
                    .map_err(on_query)?
                    .into_domain()?;
                record(&trail, conn, &audit, id, Some(before), Some(after.clone()))?;
                Ok(after)
            })
        })
        .await
    }

    async fn delete(&self, id: OrganizationId, audit: Audit) -> Result<(), DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                let before = diesel::delete(organizations::table.find(id.get()))
                    .returning(OrganizationRow::as_returning())
                    .get_result(conn)
                    .optional()
                    .map_err(on_delete)?
                    .ok_or(DomainError::NotFound(Entity::Organization))?
                    .into_domain()?;
                record(&trail, conn, &audit, id, Some(before), None)
            })
        })
        .await
    }
}
