//! Organization bodies.

use gatehouse_domain::{Name, NewOrganization, Organization, OrganizationPatch};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::NameText;
use super::unix;
use crate::error::ApiError;
use crate::input::JsonObject;

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

/// What creates an organization.
#[derive(Debug, ToSchema)]
pub struct CreateOrganizationRequest {
    /// Its name, unique.
    pub name: NameText,
}

impl CreateOrganizationRequest {
    /// Reads and checks the body.
    ///
    /// # Errors
    /// 422 with every invalid field.
    pub fn parse(body: JsonObject) -> Result<NewOrganization, ApiError> {
        let mut fields = body.fields();
        let name = fields.required_as("name", |name: String| Name::parse(&name));
        fields.finish(|| Some(NewOrganization { name: name? }))
    }
}

/// A merge patch of an organization: absent fields stay as they are.
#[derive(Debug, ToSchema)]
pub struct UpdateOrganizationRequest {
    /// A new name, unique; not `null`.
    #[schema(required = false)]
    pub name: NameText,
}

impl UpdateOrganizationRequest {
    /// Reads and checks the body.
    ///
    /// # Errors
    /// 422 with every invalid field (`null` for the name included: it is required).
    pub fn parse(body: JsonObject) -> Result<OrganizationPatch, ApiError> {
        let mut fields = body.fields();
        let name = fields.optional_as("name", |name: String| Name::parse(&name));
        fields.finish(|| Some(OrganizationPatch { name }))
    }
}
