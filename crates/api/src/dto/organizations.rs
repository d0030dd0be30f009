//! Organization bodies.

use gatehouse_domain::{NewOrganization, Organization, OrganizationPatch};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::NameText;
use super::unix;
use crate::input::{Optional, Required, request_body};

/// An organization.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Organization)]
pub struct OrganizationResponse {
    /// Always `organization`.
    #[schema(value_type = String, example = "organization")]
    pub object: &'static str,
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// How many users belong to it.
    pub users: i64,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Last change, Unix seconds.
    pub updated: i64,
}

impl From<Organization> for OrganizationResponse {
    fn from(organization: Organization) -> Self {
        Self {
            object: "organization",
            id: organization.id.get(),
            name: organization.name.into_string(),
            users: organization.users,
            created: unix(organization.created),
            updated: unix(organization.updated),
        }
    }
}

request_body! {
    /// What creates an organization.
    pub struct CreateOrganizationRequest -> NewOrganization {
        /// Its name, unique.
        name: Required<NameText>,
    }
}

impl From<CreateOrganizationRequest> for NewOrganization {
    fn from(body: CreateOrganizationRequest) -> Self {
        Self { name: body.name }
    }
}

request_body! {
    /// A merge patch of an organization: absent fields stay as they are.
    pub struct UpdateOrganizationRequest -> OrganizationPatch {
        /// A new name, unique; not `null`.
        name: Optional<NameText>,
    }
}

impl From<UpdateOrganizationRequest> for OrganizationPatch {
    fn from(body: UpdateOrganizationRequest) -> Self {
        Self { name: body.name }
    }
}
