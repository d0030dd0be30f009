//! `/v1/admin/users`.

use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_domain::{OrganizationId, RoleId, UserFilter, UserId};

use crate::auth::Admin;
use crate::dto::ListResponse;
use crate::dto::list::{OrderDirection, UserOrderBy};
use crate::dto::users::{CreateUserRequest, UpdateUserRequest, UserResponse};
use crate::error::{ApiError, ErrorBody, ValidationErrorBody};
use crate::input::{JsonObject, PathId, QueryFields, RawQuery};
use crate::routes::resource::Crud;
use crate::routes::{created, patched};
use crate::state::AppState;

/// Mounts the user endpoints.
pub fn configure(config: &mut web::ServiceConfig) {
    Crud {
        list,
        create,
        get,
        update,
        delete,
    }
    .mount(config, "/v1/admin/users", "/v1/admin/users/{user}");
}

/// Creates a user.
#[utoipa::path(
    post, path = "/v1/admin/users", tag = "users",
    request_body = CreateUserRequest,
    responses(
        (status = 201, description = "Created; `Location` gives its address.", body = UserResponse),
        (status = 404, description = "`Role not found.` or `Organization not found.`", body = ErrorBody),
        (status = 409, description = "`User already exists.`", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    state: web::Data<AppState>,
    Admin(actor, body): Admin<JsonObject>,
) -> Result<HttpResponse, ApiError> {
    let user = CreateUserRequest::parse(body, state.clock.now())?;
    let user = state.users.create(&actor, user).await?;
    Ok(created(
        format!("/v1/admin/users/{}", user.id),
        UserResponse::from(user),
    ))
}

/// Lists users, optionally only those of a role, of an organization, or with an email address
/// (compared without regard to case).
#[utoipa::path(
    get, path = "/v1/admin/users", tag = "users",
    params(
        ("role" = Option<i64>, Query, description = "Only users holding this role."),
        ("organization" = Option<i64>, Query, description = "Only users of this organization."),
        ("email" = Option<String>, Query, description = "Only the user with this address, compared without regard to case; no match is an empty list."),
        ("offset" = Option<i64>, Query, description = "Items to skip, >= 0.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 10).", minimum = 1, maximum = 100),
        ("order_by" = inline(Option<UserOrderBy>), Query, description = "`id` (default), `name`, `email`, `created` or `updated`."),
        ("order_direction" = inline(Option<OrderDirection>), Query, description = "`asc` (default) or `desc`."),
    ),
    responses(
        (status = 200, body = ListResponse<UserResponse>),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    state: web::Data<AppState>,
    Admin(actor, query): Admin<RawQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryFields::new(query);
    let filter = UserFilter {
        role: query.get::<i64>("role").map(RoleId),
        organization: query.get::<i64>("organization").map(OrganizationId),
        email: query.get::<String>("email"),
        ids: None,
    };
    let page = query.finish_page()?;
    let users = state.users.list(&actor, filter, page).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(users, &page, UserResponse::from)))
}

/// One user.
#[utoipa::path(
    get, path = "/v1/admin/users/{user}", tag = "users",
    params(("user" = i64, Path, description = "User id.")),
    responses(
        (status = 200, body = UserResponse),
        (status = 404, description = "`User not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    state: web::Data<AppState>,
    Admin(actor, PathId(id)): Admin<PathId>,
) -> Result<HttpResponse, ApiError> {
    let user = state.users.get(&actor, UserId(id)).await?;
    Ok(HttpResponse::Ok().json(UserResponse::from(user)))
}

/// Changes a user (JSON merge patch): absent fields stay as they are.
#[utoipa::path(
    patch, path = "/v1/admin/users/{user}", tag = "users",
    params(
        ("user" = i64, Path, description = "User id."),
        ("Prefer" = Option<String>, Header, description = "`return=representation` to get the updated object with 200."),
    ),
    request_body = UpdateUserRequest,
    responses(
        (status = 204, description = "Updated."),
        (status = 200, description = "Updated, with `Prefer: return=representation`.", body = UserResponse),
        (status = 404, description = "`User not found.`, `Role not found.` or `Organization not found.`", body = ErrorBody),
        (status = 409, description = "`User already exists.`: the email is taken.", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    request: HttpRequest,
    state: web::Data<AppState>,
    Admin(actor, (PathId(id), body)): Admin<(PathId, JsonObject)>,
) -> Result<HttpResponse, ApiError> {
    let update = UpdateUserRequest::parse(body, state.clock.now())?;
    let user = state.users.update(&actor, UserId(id), update).await?;
    Ok(patched(&request, UserResponse::from(user)))
}

/// Deletes a user; their API keys stop working at once.
#[utoipa::path(
    delete, path = "/v1/admin/users/{user}", tag = "users",
    params(("user" = i64, Path, description = "User id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`User not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    state: web::Data<AppState>,
    Admin(actor, PathId(id)): Admin<PathId>,
) -> Result<HttpResponse, ApiError> {
    state.users.delete(&actor, UserId(id)).await?;
    Ok(HttpResponse::NoContent().finish())
}
