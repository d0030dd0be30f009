//! [`UserRepository`] on PostgreSQL.

use async_trait::async_trait;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel::sql_types::Text;
use gatehouse_domain::{
    Audit, AuditEntity, Credentials, DomainError, Entity, KeysToEnd, NewUser, Page, PageRequest,
    Snapshot, User, UserFilter, UserId, UserOrder, UserPatch, UserRepository,
};

use crate::audit::AuditTrail;
use crate::db::{PgPool, run_blocking, transaction};
use crate::error::{on_delete, on_query};
use crate::repositories::{lock_with_holder, order_by};
use crate::rows::users::{CredentialsRow, NewUserRow, UserChangeset, UserRow};
use crate::schema::{api_keys, organizations, project_members, projects, roles, users};

#[diesel::declare_sql_function]
extern "SQL" {
    /// PostgreSQL's `lower`, as in the unique index `users_email_key` on `lower(email)`.
    fn lower(text: Text) -> Text;
}

/// Users in the `users` table. Emails are compared through `lower(email)`, the expression the
/// unique index is built on, so that the filter uses it too.
#[derive(Debug, Clone)]
pub struct PgUserRepository {
    pool: PgPool,
    trail: AuditTrail,
}

impl PgUserRepository {
    /// An adapter over `pool`, recording its changes on `trail`.
    pub fn new(pool: PgPool, trail: AuditTrail) -> Self {
        Self { pool, trail }
    }
}

/// The user `id`, which must exist, locked until the end of the transaction: what a change reads
/// as its `before`, so that of two concurrent changes the second records the first's `after`.
fn locked(conn: &mut PgConnection, id: UserId) -> Result<User, DomainError> {
    users::table
        .find(id.get())
        .select(UserRow::as_select())
        .for_no_key_update()
        .first(conn)
        .optional()
        .map_err(on_query)?
        .ok_or(DomainError::NotFound(Entity::User))?
        .into_domain()
}

/// The user `id`, which must exist.
fn found(conn: &mut PgConnection, id: UserId) -> Result<User, DomainError> {
    find(conn, id.get())?.ok_or(DomainError::NotFound(Entity::User))
}

/// The users matching `filter`, for the count and the page alike.
fn filtered(filter: &UserFilter) -> users::BoxedQuery<'static, Pg> {
    let mut query = users::table.into_boxed();
    if let Some(role) = filter.role {
        query = query.filter(users::role_id.eq(role.get()));
    }
    if let Some(organization) = filter.organization {
        query = query.filter(users::organization_id.eq(organization.get()));
    }
    if let Some(email) = &filter.email {
        query = query.filter(lower(users::email).eq(lower(email.clone())));
    }
    if let Some(ids) = &filter.ids {
        let ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
        query = query.filter(users::id.eq_any(ids));
    }
    query
}

/// How many users match `filter`. The users of one organization, or of one role, are not counted
/// but read from the count its row keeps (0 when there is no such row, as counting would give):
/// counting them is linear in their number. Other filters are counted.
fn total(conn: &mut PgConnection, filter: &UserFilter) -> Result<i64, DomainError> {
    if filter.ids.is_some() {
        return filtered(filter)
            .count()
            .get_result::<i64>(conn)
            .map_err(on_query);
    }
    match (filter.organization, filter.role, &filter.email) {
        (Some(organization), None, None) => organizations::table
            .find(organization.get())
            .select(organizations::users)
            .first::<i64>(conn)
            .optional()
            .map(Option::unwrap_or_default),
        (None, Some(role), None) => roles::table
            .find(role.get())
            .select(roles::users)
            .first::<i64>(conn)
            .optional()
            .map(Option::unwrap_or_default),
        _ => filtered(filter).count().get_result::<i64>(conn),
    }
    .map_err(on_query)
}

fn find(conn: &mut PgConnection, id: i64) -> Result<Option<User>, DomainError> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .optional()
        .map_err(on_query)?
        .map(UserRow::into_domain)
        .transpose()
}

/// Ends the memberships of user `id` in projects outside `organization` (all of them for none),
/// and with them, by cascade, the user's keys bound to those projects: a member always belongs
/// to the project's organization. Runs in the transaction of the move, after the update, whose
/// row lock makes a concurrent `add_member` either commit first (its membership is seen here) or
/// wait and see the new organization.
fn leave_projects_outside(
    conn: &mut PgConnection,
    id: i64,
    organization: Option<i64>,
) -> Result<(), DomainError> {
    let outside = projects::table
        .filter(
            projects::organization_id
                .nullable()
                .is_distinct_from(organization),
        )
        .select(projects::id);
    diesel::delete(
        project_members::table
            .filter(project_members::user_id.eq(id))
            .filter(project_members::project_id.eq_any(outside)),
    )
    .execute(conn)
    .map_err(on_delete)?;
    Ok(())
}

/// Deletes the keys of user `id` that `end` names: those of its name, but the one it keeps. Runs
/// in the transaction of the change that ends them, after the update, whose row lock makes a
/// concurrent login (which locks the same row to replace its session key) either commit first
/// (its key is deleted here) or wait for this change to commit.
fn delete_keys(conn: &mut PgConnection, id: i64, end: &KeysToEnd) -> Result<(), DomainError> {
    let named = api_keys::table
        .filter(api_keys::user_id.eq(id))
        .filter(api_keys::name.eq(end.name.as_str()));
    match end.except {
        Some(kept) => diesel::delete(named.filter(api_keys::id.ne(kept.get()))).execute(conn),
        None => diesel::delete(named).execute(conn),
    }
    .map_err(on_query)?;
    Ok(())
}

/// The credentials of the user `query` selects, at most one (by the primary key or the unique
/// email index).
fn credentials(
    conn: &mut PgConnection,
    query: users::BoxedQuery<'static, Pg>,
) -> Result<Option<Credentials>, DomainError> {
    Ok(query
        .select(CredentialsRow::as_select())
        .first(conn)
        .optional()
        .map_err(on_query)?
        .map(CredentialsRow::into_domain))
}

impl PgUserRepository {
    /// Inserts `row` and records its creation, in one transaction.
    async fn insert(&self, row: NewUserRow, audit: Audit) -> Result<User, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                let created = diesel::insert_into(users::table)
                    .values(row)
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .map_err(on_query)?
                    .into_domain()?;
                let after = Snapshot::User(created.clone());
                trail.change(
                    conn,
                    &audit,
                    AuditEntity::User,
                    created.id.get(),
                    None,
                    Some(after),
                )?;
                Ok(created)
            })
        })
        .await
    }
}

#[async_trait]
impl UserRepository for PgUserRepository {
    async fn create(&self, new: NewUser, audit: Audit) -> Result<User, DomainError> {
        self.insert(NewUserRow::from(new), audit).await
    }

    async fn create_with_subject(
        &self,
        new: NewUser,
        issuer: String,
        subject: String,
        audit: Audit,
    ) -> Result<User, DomainError> {
        let row = NewUserRow {
            sub: Some(subject),
            iss: Some(issuer),
            ..NewUserRow::from(new)
        };
        self.insert(row, audit).await
    }

    async fn find_by_subject(
        &self,
        issuer: &str,
        subject: &str,
    ) -> Result<Option<User>, DomainError> {
        let (issuer, subject) = (issuer.to_owned(), subject.to_owned());
        run_blocking(&self.pool, move |conn| {
            users::table
                .filter(users::iss.eq(issuer))
                .filter(users::sub.eq(subject))
                .select(UserRow::as_select())
                .first(conn)
                .optional()
                .map_err(on_query)?
                .map(UserRow::into_domain)
                .transpose()
        })
        .await
    }

    async fn link_subject(
        &self,
        id: UserId,
        issuer: String,
        subject: String,
        audit: Audit,
    ) -> Result<User, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                let before = locked(conn, id)?;
                let after = diesel::update(users::table.find(id.get()))
                    .set((users::sub.eq(subject), users::iss.eq(issuer)))
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .map_err(on_query)?
                    .into_domain()?;
                trail.change(
                    conn,
                    &audit,
                    AuditEntity::User,
                    id.get(),
                    Some(Snapshot::User(before)),
                    Some(Snapshot::User(after.clone())),
                )?;
                Ok(after)
            })
        })
        .await
    }

    async fn find_by_id(&self, id: UserId) -> Result<Option<User>, DomainError> {
        run_blocking(&self.pool, move |conn| find(conn, id.get())).await
    }

    async fn find_credentials_by_email(
        &self,
        email: &str,
    ) -> Result<Option<Credentials>, DomainError> {
        let query = users::table
            .filter(lower(users::email).eq(lower(email.to_owned())))
            .into_boxed();
        run_blocking(&self.pool, move |conn| credentials(conn, query)).await
    }

    async fn find_credentials(&self, id: UserId) -> Result<Option<Credentials>, DomainError> {
        let query = users::table.find(id.get()).into_boxed();
        run_blocking(&self.pool, move |conn| credentials(conn, query)).await
    }

    async fn list(
        &self,
        filter: UserFilter,
        page: PageRequest<UserOrder>,
    ) -> Result<Page<User>, DomainError> {
        run_blocking(&self.pool, move |conn| {
            let total = total(conn, &filter)?;
            let query = filtered(&filter).select(UserRow::as_select());
            let direction = page.direction();
            let id = users::id;
            let query = match page.order_by() {
                UserOrder::Id => order_by!(query, direction, id),
                UserOrder::Name => order_by!(query, direction, users::name, id),
                UserOrder::Email => order_by!(query, direction, users::email, id),
                UserOrder::Created => order_by!(query, direction, users::created, id),
                UserOrder::Updated => order_by!(query, direction, users::updated, id),
            };
            let items = query
                .offset(page.offset())
                .limit(page.limit())
                .load::<UserRow>(conn)
                .map_err(on_query)?
                .into_iter()
                .map(UserRow::into_domain)
                .collect::<Result<_, _>>()?;
            Ok(Page { items, total })
        })
        .await
    }

    async fn update(
        &self,
        id: UserId,
        mut patch: UserPatch,
        audit: Audit,
    ) -> Result<User, DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            if patch.is_empty() {
                // An empty patch changes nothing, so it records nothing.
                return found(conn, id);
            }
            let moves = !patch.organization.is_keep();
            let sets_password = patch.password.is_some();
            let end_keys = patch.end_keys.take();
            transaction(conn, |conn| {
                let before = match &patch.email {
                    Some(email) => {
                        // The holder of the address in any letter case, as the unique index sees
                        // it.
                        lock_with_holder!(
                            conn,
                            users,
                            id.get(),
                            lower(users::email).eq(lower(email.as_str().to_owned()))
                        )?;
                        found(conn, id)?
                    }
                    None => locked(conn, id)?,
                };
                let user = if patch.changes_no_field() {
                    // Only keys end: the row is locked as an update would, not written.
                    users::table
                        .find(id.get())
                        .select(UserRow::as_select())
                        .for_no_key_update()
                        .first(conn)
                } else {
                    diesel::update(users::table.find(id.get()))
                        .set(UserChangeset::from(patch))
                        .returning(UserRow::as_returning())
                        .get_result(conn)
                }
                .optional()
                .map_err(on_query)?
                .ok_or(DomainError::NotFound(Entity::User))?;
                if moves {
                    leave_projects_outside(conn, user.id, user.organization_id)?;
                }
                if let Some(end_keys) = &end_keys {
                    delete_keys(conn, user.id, end_keys)?;
                }
                let after = user.into_domain()?;
                // A new password shows as changed, never as itself.
                let shown = if sets_password {
                    Snapshot::PasswordChanged(after.clone())
                } else {
                    Snapshot::User(after.clone())
                };
                let before = Snapshot::User(before);
                trail.change(
                    conn,
                    &audit,
                    AuditEntity::User,
                    id.get(),
                    Some(before),
                    Some(shown),
                )?;
                Ok(after)
            })
        })
        .await
    }

    async fn delete(&self, id: UserId, audit: Audit) -> Result<(), DomainError> {
        let trail = self.trail.clone();
        run_blocking(&self.pool, move |conn| {
            transaction(conn, |conn| {
                // The user's keys and memberships go by cascade.
                let deleted = diesel::delete(users::table.find(id.get()))
                    .returning(UserRow::as_returning())
                    .get_result(conn)
                    .optional()
                    .map_err(on_delete)?
                    .ok_or(DomainError::NotFound(Entity::User))?;
                let before = Snapshot::User(deleted.into_domain()?);
                trail.change(
                    conn,
                    &audit,
                    AuditEntity::User,
                    id.get(),
                    Some(before),
                    None,
                )
            })
        })
        .await
    }
}
