//! Users, for admins: the list with its search and filters, the creation page, a user's page to
//! change them, and their deletion after a confirmation; the same use cases and rules as
//! `/v1/admin/users`.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use gatehouse_api::dto::organizations::OrganizationResponse;
use gatehouse_api::dto::roles::RoleResponse;
use gatehouse_api::dto::users::{CreateUserRequest, UpdateUserRequest, UserResponse};
use gatehouse_api::{ApiError, AppState};
use gatehouse_application::Principal;
use gatehouse_domain::{
    OrganizationId, OrganizationOrder, RoleId, RoleOrder, UserFilter, UserId, UserOrder,
};

use crate::error::ConsoleError;
use crate::fields::{Choice, Field, Problems};
use crate::form::{As, Form};
use crate::listing::{ListQuery, Listing};
use crate::page::{self, PageContext, date_value, money, unix_time};
use crate::pages::choices::{by_name, options};
use crate::pages::{Confirm, path_id};
use crate::session::AdminSession;

/// Mounts the user pages.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/admin/users", web::get().to(list))
        .route("/admin/users/new", web::get().to(new))
        .route("/admin/users/new", web::post().to(create))
        .route("/admin/users/{id}", web::get().to(edit))
        .route("/admin/users/{id}", web::post().to(update))
        .route("/admin/users/{id}/delete", web::get().to(confirm_delete))
        .route("/admin/users/{id}/delete", web::post().to(delete));
}

const LIST: &str = "/console/admin/users";

/// The fields of the creation form: what `POST /v1/admin/users` reads.
const CREATE: &[(&str, As)] = &[
    ("email", As::Text),
    ("name", As::TextOrNull),
    ("password", As::Text),
    ("role", As::Integer),
    ("organization", As::IntegerOrNull),
    ("budget", As::MoneyOrNull),
    ("expires", As::DateOrNull),
    ("priority", As::Integer),
];

/// The fields of the edit form that are always sent: what `PATCH /v1/admin/users/{id}` reads. A
/// blank password is left out (kept); `budget` and `expires` are sent only when changed (see
/// [`changed`]).
const UPDATE: &[(&str, As)] = &[
    ("email", As::Text),
    ("name", As::TextOrNull),
    ("password", As::TextOrAbsent),
    ("role", As::Integer),
    ("organization", As::IntegerOrNull),
    ("priority", As::Integer),
];

/// Every field of the user forms, for placing the API's sentences.
const NAMES: &[&str] = &[
    "email",
    "name",
    "password",
    "role",
    "organization",
    "budget",
    "expires",
    "priority",
];

/// The hidden field that carries the value `name` had when the edit page was shown.
fn was(name: &str) -> String {
    format!("{name}_was")
}

/// The roles and organizations the selects offer, by name, with their names by id for the list.
///
/// The first 100 of each (the API's largest page), ordered by name: enough for the deployments
/// this console serves; a larger set would need a search field instead of a select.
struct Choices {
    roles: Vec<RoleResponse>,
    organizations: Vec<OrganizationResponse>,
}

impl Choices {
    async fn of(state: &AppState, actor: &Principal) -> Result<Self, ConsoleError> {
        let roles = state.roles.list(actor, by_name(RoleOrder::Name)?).await?;
        let organizations = state
            .organizations
            .list(actor, by_name(OrganizationOrder::Name)?)
            .await?;
        Ok(Self {
            roles: roles.items.into_iter().map(RoleResponse::from).collect(),
            organizations: organizations
                .items
                .into_iter()
                .map(OrganizationResponse::from)
                .collect(),
        })
    }

    /// The role choices, after `first` (e.g. "All"), with `current` selected.
    fn roles(&self, first: Option<&str>, current: &str) -> Vec<Choice> {
        let roles = self.roles.iter().map(|role| (role.id, role.name.as_str()));
        options(first, roles, current)
    }

    /// The organization choices, after `first` ("All" or "None"), with `current` selected.
    fn organizations(&self, first: &str, current: &str) -> Vec<Choice> {
        let organizations = self
            .organizations
            .iter()
            .map(|organization| (organization.id, organization.name.as_str()));
        options(Some(first), organizations, current)
    }
}

/// A row of the list.
struct Row {
    user: UserResponse,
    role: String,
    organization: String,
    expires: String,
    created: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct ListPage {
    ctx: PageContext,
    filters: Vec<Field>,
    rows: Vec<Row>,
    listing: Listing,
}

/// Whether filter `name` is set: an empty one (the "All" choice, or an empty search) is no
/// filter, and stays unread (the API's reader would refuse it as a number).
fn given(query: &ListQuery, name: &str) -> bool {
    !query.raw(name).trim().is_empty()
}

async fn list(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let mut query = ListQuery::of(&request);
    let mut read = |name: &str| {
        given(&query, name)
            .then(|| query.fields.get::<i64>(name))
            .flatten()
    };
    let role = read("role").map(RoleId);
    let organization = read("organization").map(OrganizationId);
    let email = given(&query, "email")
        .then(|| query.fields.get::<String>("email"))
        .flatten()
        .map(|email| email.trim().to_owned());
    let user_filter = UserFilter {
        role,
        organization,
        email,
        ids: None,
    };
    let page = query.page::<UserOrder>()?;
    let found = state
        .users
        .list(&session.principal, user_filter, page)
        .await?;
    let choices = Choices::of(&state, &session.principal).await?;
    let listing = query.listing(
        &[
            ("Id", Some("id")),
            ("Email", Some("email")),
            ("Name", Some("name")),
            ("Role", None),
            ("Organization", None),
            ("Expires", None),
            ("Created", Some("created")),
            ("", None),
        ],
        "id",
        &page,
        found.total,
    );
    let role_names: HashMap<i64, &str> = choices
        .roles
        .iter()
        .map(|role| (role.id, role.name.as_str()))
        .collect();
    let organization_names: HashMap<i64, &str> = choices
        .organizations
        .iter()
        .map(|organization| (organization.id, organization.name.as_str()))
        .collect();
    let rows = found
        .items
        .into_iter()
        .map(UserResponse::from)
        .map(|user| Row {
            // A role or organization beyond the first 100 shows as its id.
            role: role_names
                .get(&user.role)
                .map_or_else(|| user.role.to_string(), |name| (*name).to_owned()),
            organization: user.organization.map_or_else(
                || "None".to_owned(),
                |id| {
                    organization_names
                        .get(&id)
                        .map_or_else(|| id.to_string(), |name| (*name).to_owned())
                },
            ),
            expires: user.expires.map_or_else(|| "Never".to_owned(), unix_time),
            created: unix_time(user.created),
            user,
        })
        .collect();
    let filters = vec![
        Field::new("email", "email", "Email")
            .value(query.raw("email"))
            .autocomplete("off"),
        Field::new("select", "organization", "Organization")
            .options(choices.organizations("All", query.raw("organization"))),
        Field::new("select", "role", "Role").options(choices.roles(Some("All"), query.raw("role"))),
    ];
    let ctx = session.context;
    let page = ListPage {
        ctx: ctx.clone(),
        filters,
        rows,
        listing,
    };
    page::ok(&ctx, &page)
}

/// What the user page shows of a stored user besides the form.
struct Facts {
    user: UserResponse,
    created: String,
    updated: String,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    ctx: PageContext,
    /// The stored user on its page; `None` on the creation page.
    facts: Option<Facts>,
    problems: Problems,
    fields: Vec<Field>,
    /// The hidden `budget_was` and `expires_was` of the edit form.
    was: Vec<(String, String)>,
}

/// The form's values: as sent, or the stored user's, or a new user's.
fn value(form: Option<&Form>, name: &str, stored: impl FnOnce() -> String) -> String {
    match form {
        Some(form) => form.get(name).to_owned(),
        None => stored(),
    }
}

/// The fields of the user form, filled from `form` when it was sent (never the password), else
/// from `user` (the stored one), else empty.
fn fields(
    choices: &Choices,
    form: Option<&Form>,
    user: Option<&UserResponse>,
    problems: &Problems,
) -> Vec<Field> {
    let stored = |read: fn(&UserResponse) -> String| move || user.map(read).unwrap_or_default();
    let email = value(form, "email", stored(|user| user.email.clone()));
    let name = value(
        form,
        "name",
        stored(|user| user.name.clone().unwrap_or_default()),
    );
    let role = value(form, "role", stored(|user| user.role.to_string()));
    let organization = value(
        form,
        "organization",
        stored(|user| {
            user.organization
                .map(|id| id.to_string())
                .unwrap_or_default()
        }),
    );
    let budget = value(
        form,
        "budget",
        stored(|user| money(user.budget.as_ref(), "")),
    );
    let expires = value(
        form,
        "expires",
        stored(|user| user.expires.map(date_value).unwrap_or_default()),
    );
    let priority = match (form, user) {
        (Some(form), _) => form.get("priority").to_owned(),
        (None, Some(user)) => user.priority.to_string(),
        (None, None) => "0".to_owned(),
    };
    let mut password = Field::new("password", "password", "Password").autocomplete("new-password");
    password = if user.is_some() {
        password.hint("Leave empty to keep the current password.")
    } else {
        password.required().hint("8 to 128 characters.")
    };
    vec![
        Field::new("email", "email", "Email")
            .value(email)
            .required()
            .autocomplete("off"),
        Field::new("text", "name", "Name").value(name),
        password,
        Field::new("select", "role", "Role")
            .options(choices.roles(user.is_none().then_some("Choose a role"), &role))
            .required(),
        Field::new("select", "organization", "Organization")
            .options(choices.organizations("None", &organization)),
        Field::new("number", "budget", "Budget")
            .value(budget)
            .money()
            .hint("Empty for no limit."),
        Field::new("date", "expires", "Account expires")
            .value(expires)
            .hint("UTC midnight; empty for never."),
        Field::new("number", "priority", "Priority").value(priority),
    ]
    .into_iter()
    .map(|field| field.problems(problems))
    .collect()
}

async fn user_page(
    state: &AppState,
    session: crate::session::Session,
    user: Option<UserResponse>,
    sent: Option<(&Form, Problems)>,
) -> Result<HttpResponse, ConsoleError> {
    let choices = Choices::of(state, &session.principal).await?;
    let (form, problems) = match sent {
        Some((form, problems)) => (Some(form), problems),
        None => (None, Problems::none()),
    };
    let fields = fields(&choices, form, user.as_ref(), &problems);
    // What the edit page showed: carried over when the form comes back with errors.
    let was = match (&user, form) {
        (None, _) => Vec::new(),
        (Some(_), Some(form)) => ["budget", "expires"]
            .into_iter()
            .map(|name| (was(name), form.get(&was(name)).to_owned()))
            .collect(),
        (Some(user), None) => vec![
            (was("budget"), money(user.budget.as_ref(), "")),
            (
                was("expires"),
                user.expires.map(date_value).unwrap_or_default(),
            ),
        ],
    };
    let facts = user.map(|user| Facts {
        created: unix_time(user.created),
        updated: unix_time(user.updated),
        user,
    });
    let status = problems.status;
    let ctx = session.context;
    let page = UserPage {
        ctx: ctx.clone(),
        facts,
        problems,
        fields,
        was,
    };
    page::render(&ctx, status, &page)
}

async fn new(
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    user_page(&state, session, None, None).await
}

async fn create(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let created = async {
        let new = CreateUserRequest::parse(form.json(CREATE), state.clock.now())?;
        Ok::<_, ApiError>(state.users.create(&session.principal, new).await?)
    };
    match created.await {
        Ok(user) => Ok(page::done(
            &request,
            &format!("{LIST}?order_by=id&order_direction=desc"),
            &format!("User “{}” created.", user.email.as_str()),
        )),
        Err(error) => {
            let problems = Problems::of(error, NAMES);
            user_page(&state, session, None, Some((&form, problems))).await
        }
    }
}

async fn edit(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let id = UserId(path_id(&request, "id")?);
    let user = UserResponse::from(state.users.get(&session.principal, id).await?);
    user_page(&state, session, Some(user), None).await
}

/// Whether field `name` differs from what the edit page showed. `budget` and `expires` are sent
/// only then: the budget is debited by usage meanwhile, and a date holds only the day of the
/// stored expiry (which may even be past), so sending them back unchanged would change them.
fn changed(form: &Form, name: &str) -> bool {
    form.get(name).trim() != form.get(&was(name)).trim()
}

async fn update(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = UserId(path_id(&request, "id")?);
    let updated = async {
        let mut body = form.json(UPDATE);
        for (name, kind) in [("budget", As::MoneyOrNull), ("expires", As::DateOrNull)] {
            if changed(&form, name)
                && let Some(value) = form.value(name, kind)
            {
                body.0.insert(name.to_owned(), value);
            }
        }
        let patch = UpdateUserRequest::parse(body, state.clock.now())?;
        Ok::<_, ApiError>(state.users.update(&session.principal, id, patch).await?)
    };
    match updated.await {
        Ok(_) => Ok(page::done(&request, LIST, "User saved.")),
        Err(error) => {
            let problems = Problems::of(error, NAMES);
            let user = UserResponse::from(state.users.get(&session.principal, id).await?);
            user_page(&state, session, Some(user), Some((&form, problems))).await
        }
    }
}

async fn confirm_delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let id = UserId(path_id(&request, "id")?);
    let user = state.users.get(&session.principal, id).await?;
    Confirm {
        ctx: &session.context,
        title: format!("Delete user “{}”?", user.email.as_str()),
        sentence: "Their API keys stop working at once.",
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
    let id = UserId(path_id(&request, "id")?);
    state.users.delete(&session.principal, id).await?;
    Ok(page::done(&request, LIST, "User deleted."))
}
