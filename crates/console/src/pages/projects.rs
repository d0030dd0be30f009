//! Projects, for admins: the list (by organization), a form to create one, a project's page to
//! change its name, budget and limits and to manage its members, and the deletions (of the
//! project, of a membership) after a confirmation.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use gatehouse_api::dto::organizations::OrganizationResponse;
use gatehouse_api::dto::projects::{
    CreateProjectRequest, ProjectMemberResponse, ProjectResponse, UpdateProjectRequest,
};
use gatehouse_api::input::{Id, JsonObject, Required};
use gatehouse_api::{ApiError, AppState};
use gatehouse_domain::{
    MemberOrder, OrganizationId, OrganizationOrder, ProjectFilter, ProjectId, ProjectMember,
    ProjectOrder, UserFilter, UserId, UserOrder,
};

use crate::error::ConsoleError;
use crate::fields::{Choice, Field, Problems};
use crate::form::{As, Form};
use crate::listing::{ListQuery, Listing};
use crate::page::{self, PageContext, money, unix_time};
use crate::pages::choices::{by_name, options};
use crate::pages::limits::{self, LimitsEditor, SentLimits};
use crate::pages::{Confirm, path_id};
use crate::session::{AdminSession, Session};

/// Mounts the project pages.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/admin/projects", web::get().to(list))
        .route("/admin/projects/new", web::get().to(new))
        .route("/admin/projects/new", web::post().to(create))
        .route("/admin/projects/{id}", web::get().to(show))
        .route("/admin/projects/{id}", web::post().to(update))
        .route("/admin/projects/{id}/delete", web::get().to(confirm_delete))
        .route("/admin/projects/{id}/delete", web::post().to(delete))
        .route("/admin/projects/{id}/members", web::post().to(add_member))
        .route(
            "/admin/projects/{id}/members/{user}/delete",
            web::get().to(confirm_remove),
        )
        .route(
            "/admin/projects/{id}/members/{user}/delete",
            web::post().to(remove_member),
        );
}

const LIST: &str = "/console/admin/projects";

/// The fields of the creation form besides its limits: what the API reads.
const CREATE_FIELDS: &[(&str, As)] = &[
    ("name", As::Text),
    ("organization", As::Integer),
    ("budget", As::MoneyOrNull),
];

/// The fields of the edit form besides its limits; the organization never changes.
const UPDATE_FIELDS: &[(&str, As)] = &[("name", As::Text), ("budget", As::MoneyOrNull)];

/// Every field of the project forms a sentence of the API can be about.
const NAMES: &[&str] = &["name", "organization", "budget", limits::NAME];

/// The fields of the "Add member" form.
const MEMBER_NAMES: &[&str] = &["user"];

/// The body the API's parsers read from a project form, and its limits' rows.
fn body(form: &Form, fields: &[(&str, As)]) -> (JsonObject, SentLimits) {
    let limits = SentLimits::read(form);
    let mut body = form.json(fields);
    body.0.insert(limits::NAME.to_owned(), limits.json());
    (body, limits)
}

/// The organizations the selects offer, by name (see [`choices`](super::choices)), also naming
/// each project's organization (by id beyond them).
async fn organizations(
    state: &AppState,
    session: &Session,
) -> Result<Vec<OrganizationResponse>, ConsoleError> {
    let page = by_name(OrganizationOrder::Name)?;
    let found = state.organizations.list(&session.principal, page).await?;
    Ok(found
        .items
        .into_iter()
        .map(OrganizationResponse::from)
        .collect())
}

/// The choices of an organization select, after `none` (the empty choice).
fn organization_choices(
    organizations: &[OrganizationResponse],
    none: &str,
    current: &str,
) -> Vec<Choice> {
    let items = organizations
        .iter()
        .map(|organization| (organization.id, organization.name.as_str()));
    options(Some(none), items, current)
}

/// The name of organization `id`, or its id when it is not among `organizations`.
fn organization_name(organizations: &[OrganizationResponse], id: i64) -> String {
    organizations
        .iter()
        .find(|organization| organization.id == id)
        .map_or_else(|| id.to_string(), |organization| organization.name.clone())
}

/// A project form as a page shows it.
struct ProjectForm {
    fields: Vec<Field>,
    limits: LimitsEditor,
    problems: Problems,
}

impl ProjectForm {
    /// A form shown again with the errors of `error`, or shown for the first time (no error).
    fn new(
        fields: impl FnOnce(&Problems) -> Vec<Field>,
        limits: impl FnOnce(&Problems, Option<String>) -> LimitsEditor,
        sent: Option<(&SentLimits, ApiError)>,
    ) -> Self {
        let (problems, list_error) = match sent {
            Some((limits, error)) => {
                let error = limits.relocate(error);
                let list_error = limits::list_error(&error);
                (Problems::of(error, NAMES), list_error)
            }
            None => (Problems::none(), None),
        };
        Self {
            fields: fields(&problems),
            limits: limits(&problems, list_error),
            problems,
        }
    }
}

fn name_field(name: &str, problems: &Problems) -> Field {
    Field::new("text", "name", "Name")
        .value(name)
        .required()
        .problems(problems)
}

fn budget_field(budget: &str, problems: &Problems) -> Field {
    Field::new("number", "budget", "Budget")
        .value(budget)
        .money()
        .hint("What it may still spend. Empty for no limit.")
        .problems(problems)
}

/// A row of the list.
struct Row {
    project: ProjectResponse,
    organization: String,
    budget: String,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/projects.html")]
struct ListPage {
    ctx: PageContext,
    organization: Field,
    rows: Vec<Row>,
    listing: Listing,
}

async fn list(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let mut query = ListQuery::of(&request);
    // Read as the API reads its filter, so that a wrong one gets its sentence.
    let filter = ProjectFilter {
        organization: query.fields.get::<i64>("organization").map(OrganizationId),
        member: None,
    };
    let page = query.page::<ProjectOrder>()?;
    let found = state
        .projects
        .list(&session.principal, filter, page)
        .await?;
    let organizations = organizations(&state, &session).await?;
    let listing = query.listing(
        &[
            ("Id", Some("id")),
            ("Name", Some("name")),
            ("Organization", None),
            ("Budget", None),
            ("Members", None),
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
        .map(ProjectResponse::from)
        .map(|project| Row {
            organization: organization_name(&organizations, project.organization),
            budget: money(project.budget.as_ref(), "No limit"),
            created: unix_time(project.created),
            project,
        })
        .collect();
    let organization =
        Field::new("select", "organization", "Organization").options(organization_choices(
            &organizations,
            "All organizations",
            query.raw("organization"),
        ));
    let ctx = session.context;
    page::ok(
        &ctx,
        &ListPage {
            ctx: ctx.clone(),
            organization,
            rows,
            listing,
        },
    )
}

#[derive(Template)]
#[template(path = "admin/project_new.html")]
struct NewPage {
    ctx: PageContext,
    form: ProjectForm,
}

/// The creation page, with `sent` (the form and why it failed) if any.
async fn new_page(
    request: &HttpRequest,
    state: &AppState,
    session: Session,
    sent: Option<(&Form, &SentLimits, ApiError)>,
) -> Result<HttpResponse, ConsoleError> {
    let organizations = organizations(state, &session).await?;
    let query = ListQuery::of(request);
    let (values, sent) = match sent {
        Some((form, limits, error)) => (Some(form), Some((limits, error))),
        None => (None, None),
    };
    let value = |name: &str| {
        values.map_or_else(
            || query.raw(name).to_owned(),
            |form| form.get(name).to_owned(),
        )
    };
    let form = ProjectForm::new(
        |problems| {
            vec![
                name_field(&value("name"), problems),
                Field::new("select", "organization", "Organization")
                    .required()
                    .options(organization_choices(
                        &organizations,
                        "Choose an organization",
                        &value("organization"),
                    ))
                    .problems(problems),
                budget_field(&value("budget"), problems),
            ]
        },
        |problems, error| match values {
            Some(form) => LimitsEditor::sent(form, problems, error),
            None => LimitsEditor::of(&[]),
        },
        sent,
    );
    let ctx = session.context;
    page::render(
        &ctx,
        form.problems.status,
        &NewPage {
            ctx: ctx.clone(),
            form,
        },
    )
}

async fn new(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    new_page(&request, &state, session, None).await
}

async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let (body, limits) = body(&form, CREATE_FIELDS);
    let created = async {
        let new = CreateProjectRequest::parse(body)?;
        Ok::<_, ApiError>(state.projects.create(&session.principal, new).await?)
    };
    match created.await {
        Ok(project) => Ok(page::done(
            &request,
            &format!("{LIST}/{}", project.id),
            &format!("Project “{}” created.", project.name.as_str()),
        )),
        Err(error) => new_page(&request, &state, session, Some((&form, &limits, error))).await,
    }
}

/// A row of the members table.
struct MemberRow {
    member: ProjectMemberResponse,
    email: Option<String>,
    joined: String,
}

#[derive(Template)]
#[template(path = "admin/project.html")]
struct ProjectPage {
    ctx: PageContext,
    project: ProjectResponse,
    organization: String,
    created: String,
    updated: String,
    form: ProjectForm,
    members: Vec<MemberRow>,
    listing: Listing,
    member: Field,
    member_problems: Problems,
}

/// What was sent from the project page, and why it failed.
enum Sent<'a> {
    /// The edit form.
    Edit(&'a Form, &'a SentLimits, ApiError),
    /// The "Add member" form.
    Member(&'a Form, ApiError),
}

/// The project's page: its facts, its edit form and its members, with `sent` (a form of the page
/// and why it failed) if any.
async fn project_page(
    request: &HttpRequest,
    state: &AppState,
    session: Session,
    sent: Option<Sent<'_>>,
) -> Result<HttpResponse, ConsoleError> {
    let id = ProjectId(path_id(request, "id")?);
    let project = ProjectResponse::from(state.projects.get(&session.principal, id).await?);
    let organization = state
        .organizations
        .get(&session.principal, OrganizationId(project.organization))
        .await
        .map_or_else(
            |_| project.organization.to_string(),
            |organization| organization.name.into_string(),
        );

    let mut query = ListQuery::of(request);
    let page = query.page::<MemberOrder>()?;
    let found = state.projects.members(&session.principal, id, page).await?;
    let listing = query.listing(
        &[
            ("User", Some("user")),
            ("Email", None),
            ("Joined", Some("created")),
            ("", None),
        ],
        "user",
        &page,
        found.total,
    );
    let emails = emails(state, &session, &found.items).await?;
    let members = found
        .items
        .into_iter()
        .map(ProjectMemberResponse::from)
        .map(|member| MemberRow {
            email: emails.get(&member.user).cloned(),
            joined: unix_time(member.created),
            member,
        })
        .collect();

    let (edit, member) = match sent {
        Some(Sent::Edit(form, limits, error)) => (Some((form, limits, error)), None),
        Some(Sent::Member(form, error)) => (None, Some((form, error))),
        None => (None, None),
    };
    let values = edit.as_ref().map(|(form, _, _)| *form);
    let form = ProjectForm::new(
        |problems| match values {
            Some(form) => vec![
                name_field(form.get("name"), problems),
                budget_field(form.get("budget"), problems),
            ],
            None => vec![
                name_field(&project.name, problems),
                budget_field(&money(project.budget.as_ref(), ""), problems),
            ],
        },
        |problems, error| match values {
            Some(form) => LimitsEditor::sent(form, problems, error),
            None => LimitsEditor::of(&project.limits),
        },
        edit.map(|(_, limits, error)| (limits, error)),
    );
    let (user, member_problems) = match member {
        Some((form, error)) => (form.get("user"), Problems::of(error, MEMBER_NAMES)),
        None => ("", Problems::none()),
    };
    let member = Field::new("number", "user", "User id")
        .value(user)
        .required()
        .problems(&member_problems);
    let status = if member_problems.is_empty() {
        form.problems.status
    } else {
        member_problems.status
    };
    let ctx = session.context;
    page::render(
        &ctx,
        status,
        &ProjectPage {
            ctx: ctx.clone(),
            created: unix_time(project.created),
            updated: unix_time(project.updated),
            project,
            organization,
            form,
            members,
            listing,
            member,
            member_problems,
        },
    )
}

/// The emails of a page of `members`, by user id, in one query; a user gone since the page was
/// read has none.
async fn emails(
    state: &AppState,
    session: &Session,
    members: &[ProjectMember],
) -> Result<HashMap<i64, String>, ConsoleError> {
    if members.is_empty() {
        return Ok(HashMap::new());
    }
    let filter = UserFilter {
        ids: Some(members.iter().map(|member| member.user).collect()),
        ..UserFilter::default()
    };
    let page = by_name(UserOrder::Id)?;
    let users = state.users.list(&session.principal, filter, page).await?;
    Ok(users
        .items
        .into_iter()
        .map(|user| (user.id.get(), user.email.into_string()))
        .collect())
}

async fn show(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    project_page(&request, &state, session, None).await
}

async fn update(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = ProjectId(path_id(&request, "id")?);
    let (body, limits) = body(&form, UPDATE_FIELDS);
    let updated = async {
        let patch = UpdateProjectRequest::parse(body)?;
        Ok::<_, ApiError>(state.projects.update(&session.principal, id, patch).await?)
    };
    match updated.await {
        Ok(_) => Ok(page::done(
            &request,
            &format!("{LIST}/{id}"),
            "Project saved.",
        )),
        Err(error) => {
            project_page(
                &request,
                &state,
                session,
                Some(Sent::Edit(&form, &limits, error)),
            )
            .await
        }
    }
}

async fn confirm_delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let id = ProjectId(path_id(&request, "id")?);
    let project = state.projects.get(&session.principal, id).await?;
    Confirm {
        ctx: &session.context,
        title: format!("Delete project “{}”?", project.name.as_str()),
        sentence: "Its memberships go with it, and the keys bound to it stop working at once.",
        action: format!("{LIST}/{id}/delete"),
        cancel: format!("{LIST}/{id}"),
    }
    .answer()
}

async fn delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    _form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = ProjectId(path_id(&request, "id")?);
    state.projects.delete(&session.principal, id).await?;
    Ok(page::done(&request, LIST, "Project deleted."))
}

async fn add_member(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = ProjectId(path_id(&request, "id")?);
    let added = async {
        // The user id read as the API reads an id field, for its sentences.
        let mut fields = form.json(&[("user", As::Integer)]).fields();
        let user = fields.read::<Required<Id<UserId>>, ()>("user", &());
        let user = fields.finish(|| user)?;
        Ok::<_, ApiError>(
            state
                .projects
                .add_member(&session.principal, id, user)
                .await?,
        )
    };
    match added.await {
        Ok(_) => Ok(page::done(
            &request,
            &format!("{LIST}/{id}"),
            "Member added.",
        )),
        Err(error) => {
            project_page(&request, &state, session, Some(Sent::Member(&form, error))).await
        }
    }
}

async fn confirm_remove(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let id = ProjectId(path_id(&request, "id")?);
    let user = path_id(&request, "user")?;
    let project = state.projects.get(&session.principal, id).await?;
    let who = state
        .users
        .get(&session.principal, UserId(user))
        .await?
        .email
        .into_string();
    Confirm {
        ctx: &session.context,
        title: format!("Remove {who} from project “{}”?", project.name.as_str()),
        sentence: "Their keys bound to the project stop working at once.",
        action: format!("{LIST}/{id}/members/{user}/delete"),
        cancel: format!("{LIST}/{id}"),
    }
    .answer()
}

async fn remove_member(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    _form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = ProjectId(path_id(&request, "id")?);
    let user = UserId(path_id(&request, "user")?);
    state
        .projects
        .remove_member(&session.principal, id, user)
        .await?;
    Ok(page::done(
        &request,
        &format!("{LIST}/{id}"),
        "Member removed.",
    ))
}
