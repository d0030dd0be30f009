//! Rows of `organizations`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use gatehouse_domain::{DomainError, Name, Organization, OrganizationId};

use crate::error::corrupt;
use crate::schema::organizations;

/// An organization as stored, with its user count (kept by triggers on `users`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub(crate) struct OrganizationRow {
    pub id: i64,
    pub name: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
    pub users: i64,
}

impl OrganizationRow {
    /// The domain's organization.
    pub fn into_domain(self) -> Result<Organization, DomainError> {
        Ok(Organization {
            id: OrganizationId(self.id),
            name: Name::parse(&self.name).map_err(corrupt("organizations", "name"))?,
            users: self.users,
            created: self.created,
            updated: self.updated,
        })
    }
}

/// What is inserted; the database fills in the id and the timestamps.
#[derive(Debug, Insertable)]
#[diesel(table_name = organizations)]
pub(crate) struct NewOrganizationRow<'a> {
    pub name: &'a str,
}

/// The columns a patch may change; `None` leaves a column alone.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = organizations)]
pub(crate) struct OrganizationChangeset<'a> {
    pub name: Option<&'a str>,
}
