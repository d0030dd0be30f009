//! Organizations, for admins: the list with a creation form, an organization's page to rename
//! it, and its deletion after a confirmation. The model of every admin section.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use gatehouse_api::dto::organizations::{
    CreateOrganizationRequest, OrganizationResponse, UpdateOrganizationRequest,
};
use gatehouse_api::{ApiError, AppState};
use gatehouse_domain::{OrganizationId, OrganizationOrder};

use crate::error::ConsoleError;
use crate::fields::{Field, Problems};
use crate::form::{As, Form};
use crate::listing::{ListQuery, Listing};
use crate::page::{self, PageContext, unix_time};
use crate::pages::{Confirm, path_id};
use crate::session::AdminSession;

/// Mounts the organization pages.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/admin/organizations", web::get().to(list))
        .route("/admin/organizations", web::post().to(create))
        .route("/admin/organizations/{id}", web::get().to(edit))
        .route("/admin/organizations/{id}", web::post().to(update))
        .route(
            "/admin/organizations/{id}/delete",
            web::get().to(confirm_delete),
        )
        .route("/admin/organizations/{id}/delete", web::post().to(delete));
}

const LIST: &str = "/console/admin/organizations";

/// The fields of the organization form: what the API reads.
const FIELDS: &[(&str, As)] = &[("name", As::Text)];

fn names() -> Vec<&'static str> {
    FIELDS.iter().map(|(name, _)| *name).collect()
}

fn fields(name: &str, problems: &Problems) -> Vec<Field> {
    vec![
        Field::new("text", "name", "Name")
            .value(name)
            .required()
            .problems(problems),
    ]
}

/// A row of the list.
struct Row {
    organization: OrganizationResponse,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/organizations.html")]
struct ListPage {
    ctx: PageContext,
    rows: Vec<Row>,
    listing: Listing,
    problems: Problems,
    fields: Vec<Field>,
}

async fn list_page(
    request: &HttpRequest,
    state: &AppState,
    AdminSession(session): AdminSession,
    name: &str,
    problems: Problems,
) -> Result<HttpResponse, ConsoleError> {
    let mut query = ListQuery::of(request);
    let page = query.page::<OrganizationOrder>()?;
    let found = state.organizations.list(&session.principal, page).await?;
    let listing = query.listing(
        &[
            ("Id", Some("id")),
            ("Name", Some("name")),
            ("Users", None),
            ("Created", Some("created")),
            ("", None),
        ],
        "id",
        &page,
        found.total,
    );
    let rows = found
        .items
        .into_iter()
        .map(OrganizationResponse::from)
        .map(|organization| Row {
            created: unix_time(organization.created),
            organization,
        })
        .collect();
    let status = problems.status;
    let ctx = session.context;
    let page = ListPage {
        ctx: ctx.clone(),
        rows,
        listing,
        fields: fields(name, &problems),
        problems,
    };
    page::render(&ctx, status, &page)
}

async fn list(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    list_page(&request, &state, session, "", Problems::none()).await
}

async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: AdminSession,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let created = async {
        let new = CreateOrganizationRequest::parse(form.json(FIELDS))?;
        Ok::<_, ApiError>(
            state
                .organizations
                .create(&session.0.principal, new)
                .await?,
        )
    };
    match created.await {
        Ok(organization) => Ok(page::done(
            &request,
            &format!("{LIST}?order_by=id&order_direction=desc"),
            &format!("Organization “{}” created.", organization.name.as_str()),
        )),
        Err(error) => {
            let problems = Problems::of(error, &names());
            list_page(&request, &state, session, form.get("name"), problems).await
        }
    }
}

#[derive(Template)]
#[template(path = "admin/organization.html")]
struct EditPage {
    ctx: PageContext,
    organization: OrganizationResponse,
    problems: Problems,
    fields: Vec<Field>,
}

async fn edit_page(
    request: &HttpRequest,
    state: &AppState,
    AdminSession(session): AdminSession,
    sent: Option<(&Form, Problems)>,
) -> Result<HttpResponse, ConsoleError> {
    let id = OrganizationId(path_id(request, "id")?);
    let organization =
        OrganizationResponse::from(state.organizations.get(&session.principal, id).await?);
    let (name, problems) = match sent {
        Some((form, problems)) => (form.get("name").to_owned(), problems),
        None => (organization.name.clone(), Problems::none()),
    };
    let status = problems.status;
    let ctx = session.context;
    let page = EditPage {
        ctx: ctx.clone(),
        fields: fields(&name, &problems),
        organization,
        problems,
    };
    page::render(&ctx, status, &page)
}

async fn edit(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    edit_page(&request, &state, session, None).await
}

async fn update(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: AdminSession,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = OrganizationId(path_id(&request, "id")?);
    let updated = async {
        let patch = UpdateOrganizationRequest::parse(form.json(FIELDS))?;
        Ok::<_, ApiError>(
            state
                .organizations
                .update(&session.0.principal, id, patch)
                .await?,
        )
    };
    match updated.await {
        Ok(_) => Ok(page::done(&request, LIST, "Organization saved.")),
        Err(error) => {
            let problems = Problems::of(error, &names());
            edit_page(&request, &state, session, Some((&form, problems))).await
        }
    }
}

async fn confirm_delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let id = OrganizationId(path_id(&request, "id")?);
    let organization = state.organizations.get(&session.principal, id).await?;
    Confirm {
        ctx: &session.context,
        title: format!("Delete organization “{}”?", organization.name.as_str()),
        sentence: "An organization with users or projects cannot be deleted.",
        action: format!("{LIST}/{id}/delete"),
        cancel: LIST.to_owned(),
    }
    .answer()
}

async fn delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    _form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = OrganizationId(path_id(&request, "id")?);
    state.organizations.delete(&session.principal, id).await?;
    Ok(page::done(&request, LIST, "Organization deleted."))
}
