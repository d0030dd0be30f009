//! `/v1/admin/projects` and their members.

use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_domain::{OrganizationId, ProjectFilter, ProjectId, UserId};

use crate::auth::Admin;
use crate::dto::ListResponse;
use crate::dto::list::{MemberOrderBy, OrderDirection, ProjectOrderBy};
use crate::dto::projects::{
    CreateProjectRequest, ProjectMemberResponse, ProjectResponse, UpdateProjectRequest,
};
use crate::error::{ApiError, ErrorBody, ValidationErrorBody};
use crate::input::{JsonObject, PathId, PathIds, QueryFields, RawQuery};
use crate::routes::resource::Crud;
use crate::routes::{created, method_not_allowed, patched};
use crate::state::AppState;

/// Mounts the project endpoints.
pub fn configure(config: &mut web::ServiceConfig) {
    Crud {
        list,
        create,
        get,
        update,
        delete,
    }
    .mount(config, "/v1/admin/projects", "/v1/admin/projects/{project}");
    config
        .service(
            web::resource("/v1/admin/projects/{project}/members")
                .get(members)
                .default_service(method_not_allowed("GET")),
        )
        .service(
            web::resource("/v1/admin/projects/{project}/members/{user}")
                .put(add_member)
                .delete(remove_member)
                .default_service(method_not_allowed("PUT, DELETE")),
        );
}

/// Creates a project in an organization, with its budget and limits.
#[utoipa::path(
    post, path = "/v1/admin/projects", tag = "projects",
    request_body = CreateProjectRequest,
    responses(
        (status = 201, description = "Created; `Location` gives its address.", body = ProjectResponse),
        (status = 404, description = "`Organization not found.`", body = ErrorBody),
        (status = 409, description = "`Project already exists.`: the organization has a project of that name.", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create(
    state: web::Data<AppState>,
    Admin(actor, body): Admin<JsonObject>,
) -> Result<HttpResponse, ApiError> {
    let new = CreateProjectRequest::parse(body)?;
    let project = state.projects.create(&actor, new).await?;
    Ok(created(
        format!("/v1/admin/projects/{}", project.id),
        ProjectResponse::from(project),
    ))
}

/// Lists projects, optionally only those of an organization.
#[utoipa::path(
    get, path = "/v1/admin/projects", tag = "projects",
    params(
        ("organization" = Option<i64>, Query, description = "Only the projects of this organization."),
        ("offset" = Option<i64>, Query, description = "Items to skip, >= 0.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 10).", minimum = 1, maximum = 100),
        ("order_by" = inline(Option<ProjectOrderBy>), Query, description = "`id` (default), `name`, `created` or `updated`."),
        ("order_direction" = inline(Option<OrderDirection>), Query, description = "`asc` (default) or `desc`."),
    ),
    responses(
        (status = 200, body = ListResponse<ProjectResponse>),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list(
    state: web::Data<AppState>,
    Admin(actor, query): Admin<RawQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryFields::new(query);
    let filter = ProjectFilter {
        organization: query.get::<i64>("organization").map(OrganizationId),
        member: None,
    };
    let page = query.finish_page()?;
    let projects = state.projects.list(&actor, filter, page).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(projects, &page, ProjectResponse::from)))
}

/// One project.
#[utoipa::path(
    get, path = "/v1/admin/projects/{project}", tag = "projects",
    params(("project" = i64, Path, description = "Project id.")),
    responses(
        (status = 200, body = ProjectResponse),
        (status = 404, description = "`Project not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn get(
    state: web::Data<AppState>,
    Admin(actor, PathId(id)): Admin<PathId>,
) -> Result<HttpResponse, ApiError> {
    let project = state.projects.get(&actor, ProjectId(id)).await?;
    Ok(HttpResponse::Ok().json(ProjectResponse::from(project)))
}

/// Changes a project (JSON merge patch; `limits` replace the whole list). Its organization
/// cannot change.
#[utoipa::path(
    patch, path = "/v1/admin/projects/{project}", tag = "projects",
    params(
        ("project" = i64, Path, description = "Project id."),
        ("Prefer" = Option<String>, Header, description = "`return=representation` to get the updated object with 200."),
    ),
    request_body = UpdateProjectRequest,
    responses(
        (status = 204, description = "Updated."),
        (status = 200, description = "Updated, with `Prefer: return=representation`.", body = ProjectResponse),
        (status = 404, description = "`Project not found.`", body = ErrorBody),
        (status = 409, description = "`Project already exists.`: the name is taken in its organization.", body = ErrorBody),
        (status = 422, description = "Invalid body, or `organization` in it.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn update(
    request: HttpRequest,
    state: web::Data<AppState>,
    Admin(actor, (PathId(id), body)): Admin<(PathId, JsonObject)>,
) -> Result<HttpResponse, ApiError> {
    let patch = UpdateProjectRequest::parse(body)?;
    let project = state.projects.update(&actor, ProjectId(id), patch).await?;
    Ok(patched(&request, ProjectResponse::from(project)))
}

/// Deletes a project; its memberships go, and keys bound to it stop working at once.
#[utoipa::path(
    delete, path = "/v1/admin/projects/{project}", tag = "projects",
    params(("project" = i64, Path, description = "Project id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`Project not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete(
    state: web::Data<AppState>,
    Admin(actor, PathId(id)): Admin<PathId>,
) -> Result<HttpResponse, ApiError> {
    state.projects.delete(&actor, ProjectId(id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A project's members.
#[utoipa::path(
    get, path = "/v1/admin/projects/{project}/members", tag = "projects",
    params(
        ("project" = i64, Path, description = "Project id."),
        ("offset" = Option<i64>, Query, description = "Items to skip, >= 0.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 10).", minimum = 1, maximum = 100),
        ("order_by" = inline(Option<MemberOrderBy>), Query, description = "`user` (default) or `created`."),
        ("order_direction" = inline(Option<OrderDirection>), Query, description = "`asc` (default) or `desc`."),
    ),
    responses(
        (status = 200, body = ListResponse<ProjectMemberResponse>),
        (status = 404, description = "`Project not found.`", body = ErrorBody),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn members(
    state: web::Data<AppState>,
    Admin(actor, (PathId(id), query)): Admin<(PathId, RawQuery)>,
) -> Result<HttpResponse, ApiError> {
    let page = QueryFields::new(query).finish_page()?;
    let members = state.projects.members(&actor, ProjectId(id), page).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(
        members,
        &page,
        ProjectMemberResponse::from,
    )))
}

/// Makes a user of the project's organization a member; doing it again changes nothing.
#[utoipa::path(
    put, path = "/v1/admin/projects/{project}/members/{user}", tag = "projects",
    params(
        ("project" = i64, Path, description = "Project id."),
        ("user" = i64, Path, description = "User id."),
    ),
    responses(
        (status = 204, description = "The user is a member."),
        (status = 404, description = "`Project not found.` or `User not found.`", body = ErrorBody),
        (status = 409, description = "`User is not in the project's organization.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn add_member(
    state: web::Data<AppState>,
    Admin(actor, PathIds(project, user)): Admin<PathIds>,
) -> Result<HttpResponse, ApiError> {
    state
        .projects
        .add_member(&actor, ProjectId(project), UserId(user))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Ends a membership; the user's keys bound to the project stop working at once.
#[utoipa::path(
    delete, path = "/v1/admin/projects/{project}/members/{user}", tag = "projects",
    params(
        ("project" = i64, Path, description = "Project id."),
        ("user" = i64, Path, description = "User id."),
    ),
    responses(
        (status = 204, description = "Removed."),
        (status = 404, description = "`Project not found.`, `User not found.` or `Member not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn remove_member(
    state: web::Data<AppState>,
    Admin(actor, PathIds(project, user)): Admin<PathIds>,
) -> Result<HttpResponse, ApiError> {
    state
        .projects
        .remove_member(&actor, ProjectId(project), UserId(user))
        .await?;
    Ok(HttpResponse::NoContent().finish())
}
