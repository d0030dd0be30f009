//! `/v1/me/usage` (one's own usage) and `/v1/admin/usage` (everyone's, with a summary).

use actix_web::{HttpResponse, web};
use gatehouse_domain::{
    OrganizationId, PageRequest, ProjectId, UsageFilter, UsageGroupBy, UsageOrder, UserId,
};

use crate::auth::{Admin, Authenticated};
use crate::dto::gateway::{UsageResponse, UsageSummaryResponse};
use crate::dto::list::{OrderDirection, UsageGroupByWord, UsageOrderBy};
use crate::dto::schema::UnixTimeFilter;
use crate::dto::{ListResponse, UnixTime};
use crate::error::{ApiError, ValidationErrorBody};
use crate::input::{QueryFields, RawQuery};
use crate::routes::method_not_allowed;
use crate::state::AppState;

/// Mounts the usage endpoints.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/v1/me/usage")
                .get(own_usage)
                .default_service(method_not_allowed("GET")),
        )
        .service(
            web::resource("/v1/admin/usage")
                .get(usage)
                .default_service(method_not_allowed("GET")),
        )
        .service(
            web::resource("/v1/admin/usage/summary")
                .get(summary)
                .default_service(method_not_allowed("GET")),
        );
}

/// The filters every usage query takes: `project`, `router`, `from` and `to`; `user` and
/// `organization` too for `everyones`. Public so that the console reads its filters by the same
/// rules.
pub fn filter(query: &mut QueryFields, everyones: bool) -> UsageFilter {
    let (user, organization) = if everyones {
        (
            query.get::<i64>("user").map(UserId),
            query.get::<i64>("organization").map(OrganizationId),
        )
    } else {
        (None, None)
    };
    UsageFilter {
        user,
        organization,
        project: query.get::<i64>("project").map(ProjectId),
        router: query.get::<i64>("router"),
        from: query.get::<UnixTime>("from").map(|time| time.0),
        to: query.get::<UnixTime>("to").map(|time| time.0),
    }
}

/// A usage list's query: its filters (`user` and `organization` too for `everyones`) and its page,
/// every invalid parameter reported at once.
fn list_query(
    query: RawQuery,
    everyones: bool,
) -> Result<(UsageFilter, PageRequest<UsageOrder>), ApiError> {
    let mut query = QueryFields::new(query);
    let filter = filter(&mut query, everyones);
    Ok((filter, query.finish_page()?))
}

/// The caller's usage; under a project-bound key, the project's (all its members').
#[utoipa::path(
    get, path = "/v1/me/usage", tag = "me",
    params(
        ("router" = Option<i64>, Query, description = "Only calls to this router."),
        ("project" = Option<i64>, Query, description = "Only calls made with keys bound to this project."),
        ("from" = inline(Option<UnixTimeFilter>), Query, description = "Only calls recorded at or after this time, Unix seconds."),
        ("to" = inline(Option<UnixTimeFilter>), Query, description = "Only calls recorded before this time, Unix seconds."),
        ("offset" = Option<i64>, Query, description = "Items to skip, >= 0.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 10).", minimum = 1, maximum = 100),
        ("order_by" = inline(Option<UsageOrderBy>), Query, description = "`id` (default) or `created`."),
        ("order_direction" = inline(Option<OrderDirection>), Query, description = "`asc` (default) or `desc`."),
    ),
    responses(
        (status = 200, body = ListResponse<UsageResponse>),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn own_usage(
    state: web::Data<AppState>,
    Authenticated(actor, query): Authenticated<RawQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, page) = list_query(query, false)?;
    let usage = state.usage.list_own(&actor, filter, page).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(usage, &page, UsageResponse::from)))
}

/// Everyone's usage.
#[utoipa::path(
    get, path = "/v1/admin/usage", tag = "usage",
    params(
        ("user" = Option<i64>, Query, description = "Only this user's calls."),
        ("organization" = Option<i64>, Query, description = "Only calls of this organization's users."),
        ("project" = Option<i64>, Query, description = "Only calls made with keys bound to this project."),
        ("router" = Option<i64>, Query, description = "Only calls to this router."),
        ("from" = inline(Option<UnixTimeFilter>), Query, description = "Only calls recorded at or after this time, Unix seconds."),
        ("to" = inline(Option<UnixTimeFilter>), Query, description = "Only calls recorded before this time, Unix seconds."),
        ("offset" = Option<i64>, Query, description = "Items to skip, >= 0.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 10).", minimum = 1, maximum = 100),
        ("order_by" = inline(Option<UsageOrderBy>), Query, description = "`id` (default) or `created`."),
        ("order_direction" = inline(Option<OrderDirection>), Query, description = "`asc` (default) or `desc`."),
    ),
    responses(
        (status = 200, body = ListResponse<UsageResponse>),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn usage(
    state: web::Data<AppState>,
    Admin(actor, query): Admin<RawQuery>,
) -> Result<HttpResponse, ApiError> {
    let (filter, page) = list_query(query, true)?;
    let usage = state.usage.list(&actor, filter, page).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(usage, &page, UsageResponse::from)))
}

/// Totals of everyone's usage (calls, tokens, cost), per user, organization, project, router or
/// UTC day; without `group_by`, one total.
#[utoipa::path(
    get, path = "/v1/admin/usage/summary", tag = "usage",
    params(
        ("group_by" = inline(Option<UsageGroupByWord>), Query, description = "`user`, `organization`, `project`, `router` or `day` (the UTC day's first second); absent: one group totals everything."),
        ("user" = Option<i64>, Query, description = "Only this user's calls."),
        ("organization" = Option<i64>, Query, description = "Only calls of this organization's users."),
        ("project" = Option<i64>, Query, description = "Only calls made with keys bound to this project."),
        ("router" = Option<i64>, Query, description = "Only calls to this router."),
        ("from" = inline(Option<UnixTimeFilter>), Query, description = "Only calls recorded at or after this time, Unix seconds."),
        ("to" = inline(Option<UnixTimeFilter>), Query, description = "Only calls recorded before this time, Unix seconds."),
    ),
    responses(
        (status = 200, body = UsageSummaryResponse),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn summary(
    state: web::Data<AppState>,
    Admin(actor, query): Admin<RawQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryFields::new(query);
    let group_by = query.get::<UsageGroupBy>("group_by");
    let filter = filter(&mut query, true);
    let filter = query.finish(|| Some(filter))?;
    let totals = state.usage.summarize(&actor, filter, group_by).await?;
    Ok(HttpResponse::Ok().json(UsageSummaryResponse::new(totals)))
}
