//! Rows of `api_keys`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use gatehouse_domain::{ApiKey, ApiKeyId, DomainError, Expiry, Name, NewApiKey, ProjectId, UserId};

use crate::error::corrupt;
use crate::schema::api_keys;

/// A key as stored. The hash is deliberately not read: it is only ever looked up by.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_keys, check_for_backend(diesel::pg::Pg))]
pub(crate) struct ApiKeyRow {
    pub id: i64,
    pub name: String,
    pub user_id: i64,
    pub masked: String,
    pub project_id: Option<i64>,
    pub expires: Option<DateTime<Utc>>,
    pub created: DateTime<Utc>,
}

impl ApiKeyRow {
    /// The domain's key.
    pub fn into_domain(self) -> Result<ApiKey, DomainError> {
        Ok(ApiKey {
            id: ApiKeyId(self.id),
            name: Name::parse(&self.name).map_err(corrupt("api_keys", "name"))?,
            user: UserId(self.user_id),
            masked: self.masked,
            project: self.project_id.map(ProjectId),
            expires: self.expires,
            created: self.created,
        })
    }
}

/// What is inserted; the database fills in the id and the creation time. Holds the key's hash, so
/// it has no `Debug`.
#[derive(Insertable)]
#[diesel(table_name = api_keys)]
pub(crate) struct NewApiKeyRow {
    pub name: String,
    pub user_id: i64,
    pub hash: Vec<u8>,
    pub masked: String,
    pub project_id: Option<i64>,
    pub expires: Option<DateTime<Utc>>,
}

impl From<NewApiKey> for NewApiKeyRow {
    fn from(new: NewApiKey) -> Self {
        Self {
            name: new.name.into_string(),
            user_id: new.user.get(),
            hash: new.hash.as_bytes().to_vec(),
            masked: new.masked,
            project_id: new.project.map(ProjectId::get),
            expires: new.expires.map(Expiry::at),
        }
    }
}

/// A limit as `(router_id, type, value)`, the columns of `role_limits` and `project_limits`.
pub(crate) type LimitColumns = (i64, String, Option<i64>);

/// What a key grants, as read in one statement: the join of `api_keys`, `users` (with the owner's
/// organization, role and budget) and (left) `projects`, with the role's permissions and limits and the project's limits aggregated into
/// arrays (`None` where there are none).
#[derive(Debug, Clone, Queryable)]
pub(crate) struct GrantRow {
    pub key_id: i64,
    pub key_expires: Option<DateTime<Utc>>,
    pub user_id: i64,
    pub account_expires: Option<DateTime<Utc>>,
    pub organization_id: Option<i64>,
    pub role_id: i64,
    pub budget_micros: Option<i64>,
    /// The project the key is bound to, as the key says.
    pub bound_to: Option<i64>,
    /// The same project as the join found it: `None` with `bound_to` set cannot happen while
    /// `api_keys_membership_fkey` holds.
    pub project_id: Option<i64>,
    pub project_budget_micros: Option<i64>,
    pub permissions: Option<Vec<String>>,
    pub limits: Option<Vec<LimitColumns>>,
    pub project_limits: Option<Vec<LimitColumns>>,
}
