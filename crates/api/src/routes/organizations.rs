//! `/v1/admin/organizations`.

use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_domain::{DomainError, Entity, OrganizationId};

use crate::auth::Admin;
use crate::dto::ListResponse;
use crate::dto::list::{OrderDirection, OrganizationOrderBy};
use crate::dto::organizations::{
    CreateOrganizationRequest, OrganizationResponse, UpdateOrganizationRequest,
};
use crate::error::{ApiError, ErrorBody, ValidationErrorBody};
use crate::input::{JsonObject, PathId, QueryFields, RawQuery};
use crate::routes::resource::Crud;
use crate::routes::{created, patched};
use crate::state::AppState;

/// Mounts the organization endpoints.
pub fn configure(config: &mut web::ServiceConfig) {
    Crud {
        list,
        create,
        get,
        update,
        delete,
    }
    .mount(
        config,
        "/v1/admin/organizations",
        "/v1/admin/organizations/{organization}",
    );
}

/// Creates an organization.
#[utoipa::path(
    post, path = "/v1/admin/organizations", tag = "organizations",
    request_body = CreateOrganizationRequest,
    responses(
        (status = 201, description = "Created; `Location` gives its address.", body = OrganizationResponse),
        (status = 409, description = "`Organization already exists.`", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    state: web::Data<AppState>,
    Admin(actor, body): Admin<JsonObject>,
) -> Result<HttpResponse, ApiError> {
    let new = CreateOrganizationRequest::parse(body)?;
    let organization = state.organizations.create(&actor, new).await?;
    Ok(created(
        format!("/v1/admin/organizations/{}", organization.id),
        OrganizationResponse::from(organization),
    ))
}

/// Lists organizations.
#[utoipa::path(
    get, path = "/v1/admin/organizations", tag = "organizations",
    params(
        ("offset" = Option<i64>, Query, description = "Items to skip, >= 0.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 10).", minimum = 1, maximum = 100),
        ("order_by" = inline(Option<OrganizationOrderBy>), Query, description = "`id` (default), `name`, `created` or `updated`."),
        ("order_direction" = inline(Option<OrderDirection>), Query, description = "`asc` (default) or `desc`."),
    ),
    responses(
        (status = 200, body = ListResponse<OrganizationResponse>),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    state: web::Data<AppState>,
    Admin(actor, query): Admin<RawQuery>,
) -> Result<HttpResponse, ApiError> {
    let page = QueryFields::new(query).finish_page()?;
    let organizations = state.organizations.list(&actor, page).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(
        organizations,
        &page,
        OrganizationResponse::from,
    )))
}

/// One organization.
#[utoipa::path(
    get, path = "/v1/admin/organizations/{organization}", tag = "organizations",
    params(("organization" = i64, Path, description = "Organization id.")),
    responses(
        (status = 200, body = OrganizationResponse),
        (status = 404, description = "`Organization not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    state: web::Data<AppState>,
    Admin(actor, PathId(id)): Admin<PathId>,
) -> Result<HttpResponse, ApiError> {
    let organization = state.organizations.get(&actor, OrganizationId(id)).await?;
    Ok(HttpResponse::Ok().json(OrganizationResponse::from(organization)))
}

/// Renames an organization (JSON merge patch).
#[utoipa::path(
    patch, path = "/v1/admin/organizations/{organization}", tag = "organizations",
    params(
        ("organization" = i64, Path, description = "Organization id."),
        ("Prefer" = Option<String>, Header, description = "`return=representation` to get the updated object with 200."),
    ),
    request_body = UpdateOrganizationRequest,
    responses(
        (status = 204, description = "Updated."),
        (status = 200, description = "Updated, with `Prefer: return=representation`.", body = OrganizationResponse),
        (status = 404, description = "`Organization not found.`", body = ErrorBody),
        (status = 409, description = "`Organization name already taken. Please, choose another one.`", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    request: HttpRequest,
    state: web::Data<AppState>,
    Admin(actor, (PathId(id), body)): Admin<(PathId, JsonObject)>,
) -> Result<HttpResponse, ApiError> {
    let patch = UpdateOrganizationRequest::parse(body)?;
    let organization = state
        .organizations
        .update(&actor, OrganizationId(id), patch)
        .await
        .map_err(|error| match error {
            DomainError::AlreadyExists(Entity::Organization) => ApiError::status(
                actix_web::http::StatusCode::CONFLICT,
                "Organization name already taken. Please, choose another one.",
            ),
            other => other.into(),
        })?;
    Ok(patched(&request, OrganizationResponse::from(organization)))
}

/// Deletes an organization that has no users.
#[utoipa::path(
    delete, path = "/v1/admin/organizations/{organization}", tag = "organizations",
    params(("organization" = i64, Path, description = "Organization id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`Organization not found.`", body = ErrorBody),
        (status = 409, description = "`Delete organization with users is not allowed.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    state: web::Data<AppState>,
    Admin(actor, PathId(id)): Admin<PathId>,
) -> Result<HttpResponse, ApiError> {
    state
        .organizations
        .delete(&actor, OrganizationId(id))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
