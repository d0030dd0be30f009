//! Roles, for admins: the list, a form to create one, a role's page to change its name,
//! permissions and limits, and its deletion after a confirmation.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use gatehouse_api::dto::roles::{CreateRoleRequest, RoleResponse, UpdateRoleRequest};
use gatehouse_api::input::JsonObject;
use gatehouse_api::{ApiError, AppState};
use gatehouse_domain::{Permission, RoleId, RoleOrder};

use crate::error::ConsoleError;
use crate::fields::{Field, Problems};
use crate::form::{As, Form};
use crate::listing::{ListQuery, Listing};
use crate::page::{self, PageContext, unix_time};
use crate::pages::limits::{self, LimitsEditor, SentLimits};
use crate::pages::{Confirm, path_id};
use crate::session::AdminSession;

/// Mounts the role pages.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/admin/roles", web::get().to(list))
        .route("/admin/roles/new", web::get().to(new))
        .route("/admin/roles/new", web::post().to(create))
        .route("/admin/roles/{id}", web::get().to(edit))
        .route("/admin/roles/{id}", web::post().to(update))
        .route("/admin/roles/{id}/delete", web::get().to(confirm_delete))
        .route("/admin/roles/{id}/delete", web::post().to(delete));
}

const LIST: &str = "/console/admin/roles";

/// The fields of the role form besides its limits: what the API reads.
const FIELDS: &[(&str, As)] = &[("name", As::Text), ("permissions", As::List)];

/// Every field a sentence of the API can be about.
const NAMES: &[&str] = &["name", "permissions", limits::NAME];

/// The body the API's parsers read from a role form, and its limits' rows.
fn body(form: &Form) -> (JsonObject, SentLimits) {
    let limits = SentLimits::read(form);
    let mut body = form.json(FIELDS);
    body.0.insert(limits::NAME.to_owned(), limits.json());
    (body, limits)
}

/// A checkbox of the permissions fieldset.
struct PermissionBox {
    word: &'static str,
    checked: bool,
}

/// The role form as a page shows it.
struct RoleForm {
    name: Field,
    permissions: Vec<PermissionBox>,
    permissions_error: Option<String>,
    limits: LimitsEditor,
    problems: Problems,
}

impl RoleForm {
    /// The form of `role`, or an empty one, shown for the first time.
    fn of(role: Option<&RoleResponse>) -> Self {
        let held = role.map_or(&[][..], |role| role.permissions.as_slice());
        Self {
            name: name_field(
                role.map_or("", |role| role.name.as_str()),
                &Problems::none(),
            ),
            permissions: boxes(|word| held.contains(&word)),
            permissions_error: None,
            limits: LimitsEditor::of(role.map_or(&[][..], |role| role.limits.as_slice())),
            problems: Problems::none(),
        }
    }

    /// A submitted form, shown again with the errors of `error`.
    fn sent(form: &Form, limits: &SentLimits, error: ApiError) -> Self {
        let error = limits.relocate(error);
        let list_error = limits::list_error(&error);
        let problems = Problems::of(error, NAMES);
        let sent = form.all("permissions");
        Self {
            name: name_field(form.get("name"), &problems),
            permissions: boxes(|word| sent.contains(&word)),
            permissions_error: problems.field("permissions"),
            limits: LimitsEditor::sent(form, &problems, list_error),
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

/// One checkbox per permission, in the contract's order.
fn boxes(checked: impl Fn(&str) -> bool) -> Vec<PermissionBox> {
    Permission::ALL
        .iter()
        .map(|permission| PermissionBox {
            word: permission.as_str(),
            checked: checked(permission.as_str()),
        })
        .collect()
}

/// A row of the list.
struct Row {
    role: RoleResponse,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/roles.html")]
struct ListPage {
    ctx: PageContext,
    rows: Vec<Row>,
    listing: Listing,
}

async fn list(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let mut query = ListQuery::of(&request);
    let page = query.page::<RoleOrder>()?;
    let found = state.roles.list(&session.principal, page).await?;
    let listing = query.listing(
        &[
            ("Id", Some("id")),
            ("Name", Some("name")),
            ("Permissions", None),
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
        .map(RoleResponse::from)
        .map(|role| Row {
            created: unix_time(role.created),
            role,
        })
        .collect();
    let ctx = session.context;
    page::ok(
        &ctx,
        &ListPage {
            ctx: ctx.clone(),
            rows,
            listing,
        },
    )
}

/// The page of the role form: a new role's, or `role`'s.
#[derive(Template)]
#[template(path = "admin/role.html")]
struct FormPage {
    ctx: PageContext,
    role: Option<RoleResponse>,
    form: RoleForm,
}

impl FormPage {
    fn answer(&self) -> Result<HttpResponse, ConsoleError> {
        page::render(&self.ctx, self.form.problems.status, self)
    }
}

async fn new(AdminSession(session): AdminSession) -> Result<HttpResponse, ConsoleError> {
    FormPage {
        ctx: session.context,
        role: None,
        form: RoleForm::of(None),
    }
    .answer()
}

async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let (body, limits) = body(&form);
    let created = async {
        let new = CreateRoleRequest::parse(body)?;
        Ok::<_, ApiError>(state.roles.create(&session.principal, new).await?)
    };
    match created.await {
        Ok(role) => Ok(page::done(
            &request,
            &format!("{LIST}?order_by=id&order_direction=desc"),
            &format!("Role “{}” created.", role.name.as_str()),
        )),
        Err(error) => FormPage {
            ctx: session.context,
            role: None,
            form: RoleForm::sent(&form, &limits, error),
        }
        .answer(),
    }
}

async fn role(
    request: &HttpRequest,
    state: &AppState,
    session: &crate::session::Session,
) -> Result<RoleResponse, ConsoleError> {
    let id = RoleId(path_id(request, "id")?);
    Ok(RoleResponse::from(
        state.roles.get(&session.principal, id).await?,
    ))
}

async fn edit(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let role = role(&request, &state, &session).await?;
    FormPage {
        form: RoleForm::of(Some(&role)),
        ctx: session.context,
        role: Some(role),
    }
    .answer()
}

async fn update(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = RoleId(path_id(&request, "id")?);
    let (body, limits) = body(&form);
    let updated = async {
        let patch = UpdateRoleRequest::parse(body)?;
        Ok::<_, ApiError>(state.roles.update(&session.principal, id, patch).await?)
    };
    match updated.await {
        Ok(_) => Ok(page::done(&request, LIST, "Role saved.")),
        Err(error) => {
            // The role as stored, for the facts above the form; gone, it is the 404 page.
            let role = role(&request, &state, &session).await?;
            FormPage {
                form: RoleForm::sent(&form, &limits, error),
                ctx: session.context,
                role: Some(role),
            }
            .answer()
        }
    }
}

async fn confirm_delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let role = role(&request, &state, &session).await?;
    Confirm {
        ctx: &session.context,
        title: format!("Delete role “{}”?", role.name),
        sentence: "A role held by users cannot be deleted.",
        action: format!("{LIST}/{}/delete", role.id),
        cancel: format!("{LIST}/{}", role.id),
    }
    .answer()
}

async fn delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    _form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = RoleId(path_id(&request, "id")?);
    state.roles.delete(&session.principal, id).await?;
    Ok(page::done(&request, LIST, "Role deleted."))
}
