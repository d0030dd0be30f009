//! [`ApiKeyRepository`] on PostgreSQL.

use async_trait::async_trait;
use diesel::prelude::*;
use gatehouse_domain::{
    ApiKey, ApiKeyFilter, ApiKeyId, ApiKeyOrder, ApiKeyRepository, Audit, AuditEntity, DomainError,
    Entity, KeyGrant, KeyHash, NewApiKey, OrganizationId, Page, PageRequest, PasswordHash,
    ProjectGrant, ProjectId, RoleId, Snapshot, UserId,
};

use crate::audit::AuditTrail;
use crate::db::{PgPool, run_blocking, transaction};
use crate::error::{on_delete, on_query};
use crate::repositories::order_by;
use crate::rows::api_keys::{ApiKeyRow, GrantRow, NewApiKeyRow};
use crate::rows::{budget_from_stored, limits_from_stored, permissions_from_stored};
use crate::schema::{api_keys, project_limits, projects, role_limits, role_permissions, users};
use crate::sql::{array_agg, row};

/// API keys in the `api_keys` table, stored and looked up by the hash of the key.
#[derive(Debug, Clone)]
pub struct PgApiKeyRepository {
    pool: PgPool,
    trail: AuditTrail,
}

impl PgApiKeyRepository {
    /// An adapter over `pool`, recording its changes on `trail`.
    pub fn new(pool: PgPool, trail: AuditTrail) -> Self {
        Self { pool, trail }
    }
}

/// The keys matching `filter`, for the count and the page alike.
fn filtered(filter: ApiKeyFilter) -> api_keys::BoxedQuery<'static, diesel::pg::Pg> {
    let mut query = api_keys::table.into_boxed();
    if let Some(user) = filter.user {
        query = query.filter(api_keys::user_id.eq(user.get()));
    }
    if let Some(project) = filter.project {
        query = query.filter(api_keys::project_id.eq(project.get()));
    }
    query
}

fn insert(conn: &mut PgConnection, new: NewApiKey) -> Result<ApiKey, DomainError> {
    diesel::insert_into(api_keys::table)
        .values(NewApiKeyRow::from(new))
        .returning(ApiKeyRow::as_returning())
        .get_result(conn)
        .map_err(on_query)?
        .into_domain()
}

#[async_trait]
impl ApiKeyRepository for PgApiKeyRepository {
    async fn create(&self, new: NewApiKey, audit: Audit) -> Result<ApiKey, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                let created = insert(conn, new)?;
                let after = Snapshot::Token(created.clone());
                let id = created.id.get();
                trail.change(conn, &audit, AuditEntity::Token, id, None, Some(after))?;
                Ok(created)
            })
        })
        .await
    }

    async fn replace_named(
        &self,
        new: NewApiKey,
        password: Option<PasswordHash>,
        audit: Audit,
    ) -> Result<ApiKey, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                let owner = new.user.get();
                // Locking the owner's row serialises concurrent logins of one user: each waits
                // until the previous one commits, then deletes the key that one inserted, so
                // exactly one key of the name remains. It also tells whether the owner exists,
                // and, a password change locking the same row, which password is theirs now.
                let stored = users::table
                    .find(owner)
                    .select(users::password_hash)
                    .for_no_key_update()
                    .get_result::<Option<String>>(conn)
                    .optional()
                    .map_err(on_query)?
                    .ok_or(DomainError::NotFound(Entity::User))?;
                if let Some(verified) = password
                    && stored.as_deref() != Some(verified.as_str())
                {
                    return Err(DomainError::InvalidCredentials);
                }
                let replaced = diesel::delete(
                    api_keys::table
                        .filter(api_keys::user_id.eq(owner))
                        .filter(api_keys::name.eq(new.name.as_str())),
                )
                .returning(ApiKeyRow::as_returning())
                .get_results(conn)
                .map_err(on_query)?;
                let created = insert(conn, new)?;
                // The session this one replaces: the owner's one key of the name, if any.
                let before = match replaced.into_iter().next() {
                    Some(row) => Some(Snapshot::Token(row.into_domain()?)),
                    None => None,
                };
                let after = Some(Snapshot::Token(created.clone()));
                let id = created.id.get();
                trail.change(conn, &audit, AuditEntity::Session, id, before, after)?;
                Ok(created)
            })
        })
        .await
    }

    async fn find_by_id(&self, id: ApiKeyId) -> Result<Option<ApiKey>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            api_keys::table
                .find(id.get())
                .select(ApiKeyRow::as_select())
                .first(conn)
                .optional()
                .map_err(on_query)?
                .map(ApiKeyRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn list(
        &self,
        filter: ApiKeyFilter,
        page: PageRequest<ApiKeyOrder>,
    ) -> Result<Page<ApiKey>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            let total = filtered(filter)
                .count()
                .get_result::<i64>(conn)
                .map_err(on_query)?;
            let query = filtered(filter).select(ApiKeyRow::as_select());
            let direction = page.direction();
            let id = api_keys::id;
            let query = match page.order_by() {
                ApiKeyOrder::Id => order_by!(query, direction, id),
                ApiKeyOrder::Name => order_by!(query, direction, api_keys::name, id),
                ApiKeyOrder::Created => order_by!(query, direction, api_keys::created, id),
            };
            let items = query
                .offset(page.offset())
                .limit(page.limit())
                .load::<ApiKeyRow>(conn)
                .map_err(on_query)?
                .into_iter()
                .map(ApiKeyRow::into_domain)
                .collect::<Result<_, _>>()?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn delete(&self, id: ApiKeyId, audit: Audit) -> Result<(), DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                let deleted = diesel::delete(api_keys::table.find(id.get()))
                    .returning(ApiKeyRow::as_returning())
                    .get_result(conn)
                    .optional()
                    .map_err(on_delete)?
                    .ok_or(DomainError::NotFound(Entity::ApiKey))?;
                let before = Snapshot::Token(deleted.into_domain()?);
                trail.change(
                    conn,
                    &audit,
                    AuditEntity::Token,
                    id.get(),
                    Some(before),
                    None,
                )
            })
        })
        .await
    }

    async fn find_grant_by_hash(&self, hash: KeyHash) -> Result<Option<KeyGrant>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            // One statement, one round trip: the key, its owner and its project (if any) in one
            // join, with the role's permissions and limits and the project's limits as arrays.
            let role_permissions = role_permissions::table
                .filter(role_permissions::role_id.eq(users::role_id))
                .select(array_agg(role_permissions::permission))
                .single_value();
            let role_limits = role_limits::table
                .filter(role_limits::role_id.eq(users::role_id))
                .select(array_agg(row(
                    role_limits::router_id,
                    role_limits::type_,
                    role_limits::value,
                )))
                .single_value();
            let project_limits = project_limits::table
                .filter(
                    project_limits::project_id
                        .nullable()
                        .eq(api_keys::project_id),
                )
                .select(array_agg(row(
                    project_limits::router_id,
                    project_limits::type_,
                    project_limits::value,
                )))
                .single_value();
            let Some(grant) = api_keys::table
                .inner_join(users::table)
                .left_join(projects::table.on(api_keys::project_id.eq(projects::id.nullable())))
                .filter(api_keys::hash.eq(hash.as_bytes()))
                .select((
                    api_keys::id,
                    api_keys::expires,
                    users::id,
                    users::expires,
                    users::organization_id,
                    users::role_id,
                    users::budget_micros,
                    api_keys::project_id,
                    projects::id.nullable(),
                    projects::budget_micros.nullable(),
                    role_permissions,
                    role_limits,
                    project_limits,
                ))
                .first::<GrantRow>(conn)
                .optional()
                .map_err(on_query)?
            else {
                return Ok(None);
            };
            let project = match (grant.bound_to, grant.project_id) {
                (None, _) => None,
                (Some(id), Some(_)) => Some(ProjectGrant {
                    id: ProjectId(id),
                    budget: budget_from_stored("projects", grant.project_budget_micros)?,
                    limits: limits_from_stored(
                        "project_limits",
                        grant.project_limits.unwrap_or_default(),
                    )?,
                }),
                // Never read a bound key as an unbound one, which would lift its project's limits.
                (Some(id), None) => {
                    return Err(DomainError::unexpected(format!(
                        "key {} is bound to project {id}, which does not exist",
                        grant.key_id
                    )));
                }
            };
            Ok(Some(KeyGrant {
                key: ApiKeyId(grant.key_id),
                key_expires: grant.key_expires,
                user: UserId(grant.user_id),
                account_expires: grant.account_expires,
                organization: grant.organization_id.map(OrganizationId),
                role: RoleId(grant.role_id),
                budget: budget_from_stored("users", grant.budget_micros)?,
                permissions: permissions_from_stored(grant.permissions.unwrap_or_default())?,
                limits: limits_from_stored("role_limits", grant.limits.unwrap_or_default())?,
                project,
            }))
        })
        .await
    }
}
