//! Organizations: groups of users.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::Audit;
use crate::error::DomainError;
use crate::ids::OrganizationId;
use crate::name::Name;
use crate::page::{Page, PageRequest, order_fields};

/// An organization as stored, with the number of its users.
#[derive(Debug, Clone, PartialEq)]
pub struct Organization {
    /// Its id.
    pub id: OrganizationId,
    /// Its name, unique among organizations.
    pub name: Name,
    /// How many users belong to it.
    pub users: i64,
    /// When it was created.
    pub created: DateTime<Utc>,
    /// When it was last changed.
    pub updated: DateTime<Utc>,
}

/// What is inserted to create an organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewOrganization {
    /// The name, unique among organizations.
    pub name: Name,
}

/// A merge patch of an organization; `None` keeps the stored value.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct OrganizationPatch {
    /// A new name.
    pub name: Option<Name>,
}

impl OrganizationPatch {
    /// Whether the patch changes nothing.
    pub fn is_empty(&self) -> bool {
        self.name.is_none()
    }
}

order_fields!(
    /// The fields an organization list can be ordered by.
    OrganizationOrder {
        Id => "id",
        Name => "name",
        Created => "created",
        Updated => "updated",
    }
);

/// Stores organizations.
///
/// Every change takes the [`Audit`] of who makes it, and an adapter MUST record it, with the
/// object as it was before and after, in the change's own transaction (see [`crate::audit`]): a
/// change that fails records nothing, and a change that changes nothing (an empty patch)
/// neither.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait OrganizationRepository: Send + Sync {
    /// Inserts an organization.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::AlreadyExists`]`(Organization)` when the name is taken,
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn create(&self, new: NewOrganization, audit: Audit)
    -> Result<Organization, DomainError>;

    /// The organization with this id, if any.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached; a missing organization is
    /// `Ok(None)`, not an error.
    async fn find_by_id(&self, id: OrganizationId) -> Result<Option<Organization>, DomainError>;

    /// One page of organizations and their total count.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn list(
        &self,
        page: PageRequest<OrganizationOrder>,
    ) -> Result<Page<Organization>, DomainError>;

    /// Applies a merge patch and returns the organization as stored afterwards. An empty patch
    /// changes nothing, `updated` included.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(Organization)` when there is no such
    /// organization, [`DomainError::AlreadyExists`]`(Organization)` when the new name is taken.
    async fn update(
        &self,
        id: OrganizationId,
        patch: OrganizationPatch,
        audit: Audit,
    ) -> Result<Organization, DomainError>;

    /// Deletes an organization.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(Organization)` when there is no such
    /// organization, [`DomainError::InUse`]` { entity: Organization, used_by: User }` while users
    /// belong to it, `{ entity: Organization, used_by: Project }` while it has projects.
    async fn delete(&self, id: OrganizationId, audit: Audit) -> Result<(), DomainError>;
}
