//! Rows of `organizations`.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use gatehouse_domain::{DomainError, Name, Organization, OrganizationId};

use crate::error::corrupt;
use crate::schema::organizations;

/// An organization as stored, without its user count.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organizations, check_for_backend(diesel::pg::Pg))]
pub(crate) struct OrganizationRow {
    pub id: i64,
    pub name: String,
    pub created: DateTime<Utc>,
    pub updated: DateTime<Utc>,
}

impl OrganizationRow {
    /// The domain's organization, with `users` counted by the query that read the row.
    pub fn into_domain(self, users: i64) -> Result<Organization, DomainError> {
        Ok(Organization {
            id: OrganizationId(self.id),
            name: Name::parse(&self.name).map_err(corrupt("organizations", "name"))?,
            users,
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
