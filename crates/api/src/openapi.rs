//! The OpenAPI 3.1 document, generated from the handlers and bodies.

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::{Modify, OpenApi};

use crate::dto::account::{UpdateAccountRequest, UserInfoResponse};
use crate::dto::api_keys::{CreateKeyRequest, CreateTokenRequest, KeyResponse, TokenResponse};
use crate::dto::login::{LoginRequest, LoginResponse};
use crate::dto::organizations::{
    CreateOrganizationRequest, OrganizationResponse, UpdateOrganizationRequest,
};
use crate::dto::projects::{
    CreateProjectRequest, ProjectMemberResponse, ProjectResponse, UpdateProjectRequest,
};
use crate::dto::roles::{
    CreateRoleRequest, LimitRequest, LimitResponse, RoleResponse, UpdateRoleRequest,
};
use crate::dto::users::{CreateUserRequest, UpdateUserRequest, UserResponse};
use crate::error::{ErrorBody, FieldError, LocPart, ValidationErrorBody};
use crate::routes::{account, api_keys, login, operations, organizations, projects, roles, users};

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse",
        description = "Organizations, users, roles and API keys of OpenGateLLM. Authenticate with `Authorization: Bearer <master key or API key>`.",
    ),
    paths(
        organizations::create, organizations::list, organizations::get,
        organizations::update, organizations::delete,
        users::create, users::list, users::get, users::update, users::delete,
        roles::create, roles::list, roles::get, roles::update, roles::delete,
        projects::create, projects::list, projects::get, projects::update, projects::delete,
        projects::members, projects::add_member, projects::remove_member,
        api_keys::create_token, api_keys::list_tokens, api_keys::get_token, api_keys::delete_token,
        api_keys::create_key, api_keys::list_keys, api_keys::get_key, api_keys::delete_key,
        account::info, account::update, login::login,
        operations::health, operations::metrics, operations::openapi_json, operations::docs,
    ),
    components(schemas(
        OrganizationResponse, CreateOrganizationRequest, UpdateOrganizationRequest,
        UserResponse, CreateUserRequest, UpdateUserRequest,
        RoleResponse, LimitResponse, LimitRequest, CreateRoleRequest, UpdateRoleRequest,
        ProjectResponse, ProjectMemberResponse, CreateProjectRequest, UpdateProjectRequest,
        TokenResponse, KeyResponse, CreateTokenRequest, CreateKeyRequest,
        UserInfoResponse, UpdateAccountRequest, LoginRequest, LoginResponse,
        ErrorBody, ValidationErrorBody, FieldError, LocPart, operations::Health,
    )),
    modifiers(&BearerAuth),
    tags(
        (name = "organizations", description = "Groups of users."),
        (name = "users", description = "Accounts."),
        (name = "roles", description = "Permissions and rate limits."),
        (name = "projects", description = "Groups of users of one organization, with a budget and limits of their own."),
        (name = "tokens", description = "Everyone's API keys, for admins."),
        (name = "me", description = "The caller's own account and keys."),
        (name = "auth", description = "Email and password login."),
        (name = "operations", description = "Health and metrics."),
    ),
)]
pub struct ApiDoc;

/// Declares the bearer scheme the endpoints refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}
