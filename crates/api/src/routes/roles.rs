//! `/v1/admin/roles`.

use actix_web::{HttpResponse, web};
use gatehouse_domain::RoleId;

use crate::auth::Admin;
use crate::dto::ListResponse;
use crate::dto::list::{OrderDirection, RoleOrderBy};
use crate::dto::roles::{CreateRoleRequest, RoleResponse, UpdateRoleRequest};
use crate::error::{ApiError, ErrorBody, ValidationErrorBody};
use crate::input::{JsonObject, PathId, QueryFields, RawQuery};
use crate::routes::created;
use crate::routes::resource::Crud;
use crate::state::AppState;

/// Mounts the role endpoints.
pub fn configure(config: &mut web::ServiceConfig) {
    Crud {
        list,
        create,
        get,
        update,
        delete,
    }
    .mount(config, "/v1/admin/roles", "/v1/admin/roles/{role}");
}

/// Creates a role with its permissions and limits.
#[utoipa::path(
    post, path = "/v1/admin/roles", tag = "roles",
    request_body = CreateRoleRequest,
    responses(
        (status = 201, description = "Created; `Location` gives its address.", body = RoleResponse),
        (status = 409, description = "`Role already exists.`", body = ErrorBody),
        (status = 422, description = "Invalid body: unknown permission, duplicate limit...", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    state: web::Data<AppState>,
    Admin(actor, body): Admin<JsonObject>,
) -> Result<HttpResponse, ApiError> {
    let new = CreateRoleRequest::parse(body)?;
    let role = state.roles.create(&actor, new).await?;
    Ok(created(
        format!("/v1/admin/roles/{}", role.id),
        RoleResponse::from(role),
    ))
}

/// Lists roles; `sort_by` and `sort_order` are accepted for `order_by` and `order_direction`.
#[utoipa::path(
    get, path = "/v1/admin/roles", tag = "roles",
    params(
        ("offset" = Option<i64>, Query, description = "Items to skip, >= 0.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 10).", minimum = 1, maximum = 100),
        ("order_by" = inline(Option<RoleOrderBy>), Query, description = "`id` (default), `name`, `created` or `updated`; also `sort_by`."),
        ("order_direction" = inline(Option<OrderDirection>), Query, description = "`asc` (default) or `desc`; also `sort_order`."),
    ),
    responses(
        (status = 200, body = ListResponse<RoleResponse>),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    state: web::Data<AppState>,
    Admin(actor, query): Admin<RawQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryFields::new(query);
    let page = query.page(&["order_by", "sort_by"], &["order_direction", "sort_order"]);
    let page = query.finish(|| page)?;
    let roles = state.roles.list(&actor, page).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(roles, &page, RoleResponse::from)))
}

/// One role.
#[utoipa::path(
    get, path = "/v1/admin/roles/{role}", tag = "roles",
    params(("role" = i64, Path, description = "Role id.")),
    responses(
        (status = 200, body = RoleResponse),
        (status = 404, description = "`Role not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    state: web::Data<AppState>,
    Admin(actor, PathId(id)): Admin<PathId>,
) -> Result<HttpResponse, ApiError> {
    let role = state.roles.get(&actor, RoleId(id)).await?;
    Ok(HttpResponse::Ok().json(RoleResponse::from(role)))
}

/// Changes a role; `permissions` and `limits` replace the whole lists. Answers with the role, as
/// OpenGateLLM 0.4.5 does.
#[utoipa::path(
    patch, path = "/v1/admin/roles/{role}", tag = "roles",
    params(("role" = i64, Path, description = "Role id.")),
    request_body = UpdateRoleRequest,
    responses(
        (status = 200, description = "Updated.", body = RoleResponse),
        (status = 404, description = "`Role not found.`", body = ErrorBody),
        (status = 409, description = "`Role already exists.`: the name is taken.", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    state: web::Data<AppState>,
    Admin(actor, (PathId(id), body)): Admin<(PathId, JsonObject)>,
) -> Result<HttpResponse, ApiError> {
    let patch = UpdateRoleRequest::parse(body)?;
    let role = state.roles.update(&actor, RoleId(id), patch).await?;
    Ok(HttpResponse::Ok().json(RoleResponse::from(role)))
}

/// Deletes a role that no user holds.
#[utoipa::path(
    delete, path = "/v1/admin/roles/{role}", tag = "roles",
    params(("role" = i64, Path, description = "Role id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`Role not found.`", body = ErrorBody),
        (status = 409, description = "`Delete role with users is not allowed.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    state: web::Data<AppState>,
    Admin(actor, PathId(id)): Admin<PathId>,
) -> Result<HttpResponse, ApiError> {
    state.roles.delete(&actor, RoleId(id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
