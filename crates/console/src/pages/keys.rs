//! API keys: one's own (everyone), as `/v1/me/keys` serves them, and everyone's (admins), as
//! `/v1/admin/tokens` does; each with a creation form whose answer shows the new key once, and
//! deletion after a confirmation.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use gatehouse_api::dto::api_keys::{
    CreateKeyRequest, CreateTokenRequest, KeyResponse, TokenResponse,
};
use gatehouse_api::{ApiError, AppState};
use gatehouse_application::CreatedApiKey;
use gatehouse_domain::{ApiKeyFilter, ApiKeyId, ApiKeyOrder, ProjectOrder, UserId};

use crate::error::ConsoleError;
use crate::fields::{Field, Problems};
use crate::form::{As, Form};
use crate::listing::{ListQuery, Listing};
use crate::page::{self, PageContext, unix_time};
use crate::pages::choices::{by_name, options};
use crate::pages::{Confirm, path_id};
use crate::session::{AdminSession, Session};

/// Mounts the key pages.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/keys", web::get().to(own_list))
        .route("/keys", web::post().to(own_create))
        .route("/keys/{id}/delete", web::get().to(own_confirm_delete))
        .route("/keys/{id}/delete", web::post().to(own_delete))
        .route("/admin/keys", web::get().to(all_list))
        .route("/admin/keys", web::post().to(all_create))
        .route("/admin/keys/{id}/delete", web::get().to(all_confirm_delete))
        .route("/admin/keys/{id}/delete", web::post().to(all_delete));
}

const OWN: &str = "/console/keys";
const ALL: &str = "/console/admin/keys";

/// The fields of "New key": what `POST /v1/me/keys` reads. An empty project is left out, which
/// is none for a session (a session is never bound to a project).
const OWN_FIELDS: &[(&str, As)] = &[
    ("name", As::Text),
    ("expires", As::DateOrNull),
    ("project", As::Integer),
];

/// The fields of "New key for a user": what `POST /v1/admin/tokens` reads.
const ALL_FIELDS: &[(&str, As)] = &[
    ("name", As::Text),
    ("user", As::Integer),
    ("expires", As::DateOrNull),
];

fn names(spec: &[(&'static str, As)]) -> Vec<&'static str> {
    spec.iter().map(|(name, _)| *name).collect()
}

/// The columns of both lists, `user` or `project` third.
fn columns(third: &'static str) -> [(&'static str, Option<&'static str>); 7] {
    [
        ("Id", Some("id")),
        ("Name", Some("name")),
        ("Key", None),
        (third, None),
        ("Expires", None),
        ("Created", Some("created")),
        ("", None),
    ]
}

/// A row of a list: the key as the API shows it (masked), and its times.
struct Row {
    key: TokenResponse,
    expires: String,
    created: String,
}

impl From<TokenResponse> for Row {
    fn from(key: TokenResponse) -> Self {
        Self {
            expires: key.expires.map_or_else(|| "Never".to_owned(), unix_time),
            created: unix_time(key.created),
            key,
        }
    }
}

/// The answer that shows a new key, the only one that does; never cached, like the API's.
#[derive(Template)]
#[template(path = "key_created.html")]
struct CreatedPage {
    ctx: PageContext,
    name: String,
    /// The whole key.
    secret: String,
    /// Whose key it is, on the admin page.
    user: Option<i64>,
    /// Where "Back to the keys" leads.
    back: &'static str,
}

fn created_page(
    ctx: &PageContext,
    created: &CreatedApiKey,
    user: Option<i64>,
    back: &'static str,
) -> Result<HttpResponse, ConsoleError> {
    let page = CreatedPage {
        ctx: ctx.clone(),
        name: created.key.name.as_str().to_owned(),
        secret: created.secret.expose().to_owned(),
        user,
        back,
    };
    page::ok(ctx, &page)
}

#[derive(Template)]
#[template(path = "keys.html")]
struct OwnPage {
    ctx: PageContext,
    rows: Vec<Row>,
    listing: Listing,
    problems: Problems,
    fields: Vec<Field>,
}

async fn own_page(
    request: &HttpRequest,
    state: &AppState,
    session: Session,
    sent: Option<(&Form, Problems)>,
) -> Result<HttpResponse, ConsoleError> {
    let mut query = ListQuery::of(request);
    let page = query.page::<ApiKeyOrder>()?;
    let found = state.api_keys.list_own(&session.principal, page).await?;
    let listing = query.listing(&columns("Project"), "id", &page, found.total);
    let rows = found
        .items
        .into_iter()
        .map(|key| Row::from(TokenResponse::from(key)))
        .collect();
    let (form, problems) = match sent {
        Some((form, problems)) => (Some(form), problems),
        None => (None, Problems::none()),
    };
    let sent = |name: &str| {
        form.map(|form| form.get(name).to_owned())
            .unwrap_or_default()
    };
    // The projects one may bind a key to.
    let projects = state
        .projects
        .list_own(&session.principal, by_name(ProjectOrder::Name)?)
        .await?;
    let chosen = sent("project");
    let items = projects
        .items
        .iter()
        .map(|project| (project.id.get(), project.name.as_str()));
    let choices = options(Some("None: the key acts as you"), items, &chosen);
    let fields = vec![
        Field::new("text", "name", "Name")
            .value(sent("name"))
            .required(),
        Field::new("date", "expires", "Expires")
            .value(sent("expires"))
            .hint("UTC midnight; empty for never."),
        Field::new("select", "project", "Project")
            .options(choices)
            .hint("A key in a project acts only inside it, on its budget and limits."),
    ]
    .into_iter()
    .map(|field| field.problems(&problems))
    .collect();
    let status = problems.status;
    let ctx = session.context;
    let page = OwnPage {
        ctx: ctx.clone(),
        rows,
        listing,
        problems,
        fields,
    };
    page::render(&ctx, status, &page)
}

async fn own_list(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, ConsoleError> {
    own_page(&request, &state, session, None).await
}

async fn own_create(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let created = async {
        let key = CreateKeyRequest::parse(form.json(OWN_FIELDS), state.clock.now())?;
        Ok::<_, ApiError>(state.api_keys.create_own(&session.principal, key).await?)
    };
    match created.await {
        Ok(created) => created_page(&session.context, &created, None, OWN),
        Err(error) => {
            let problems = Problems::of(error, &names(OWN_FIELDS));
            own_page(&request, &state, session, Some((&form, problems))).await
        }
    }
}

/// What a delete does, and that it ends the session when the key is the session's own.
fn delete_sentence(session: &Session, id: ApiKeyId) -> &'static str {
    if session.principal.key == Some(id) {
        "The key stops working at once. It is the key of this session: deleting it signs you out."
    } else {
        "The key stops working at once."
    }
}

async fn own_confirm_delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
) -> Result<HttpResponse, ConsoleError> {
    let id = ApiKeyId(path_id(&request, "id")?);
    let key = KeyResponse::from(TokenResponse::from(
        state.api_keys.get_own(&session.principal, id).await?,
    ));
    Confirm {
        ctx: &session.context,
        title: format!("Delete key “{}”?", key.name),
        sentence: delete_sentence(&session, id),
        action: format!("{OWN}/{id}/delete"),
        cancel: OWN.to_owned(),
    }
    .answer()
}

async fn own_delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    _form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = ApiKeyId(path_id(&request, "id")?);
    state.api_keys.delete_own(&session.principal, id).await?;
    Ok(page::done(&request, OWN, "Key deleted."))
}

#[derive(Template)]
#[template(path = "admin/keys.html")]
struct AllPage {
    ctx: PageContext,
    filter: Field,
    rows: Vec<Row>,
    listing: Listing,
    problems: Problems,
    fields: Vec<Field>,
}

async fn all_page(
    request: &HttpRequest,
    state: &AppState,
    session: Session,
    sent: Option<(&Form, Problems)>,
) -> Result<HttpResponse, ConsoleError> {
    let mut query = ListQuery::of(request);
    // An empty filter (the form sent blank) is no filter; the API's reader would refuse it.
    let user = if query.raw("user").trim().is_empty() {
        None
    } else {
        query.fields.get::<i64>("user")
    };
    let page = query.page::<ApiKeyOrder>()?;
    let filter = ApiKeyFilter {
        user: user.map(UserId),
        project: None,
    };
    let found = state
        .api_keys
        .list(&session.principal, filter, page)
        .await?;
    let listing = query.listing(&columns("User"), "id", &page, found.total);
    let rows = found
        .items
        .into_iter()
        .map(|key| Row::from(TokenResponse::from(key)))
        .collect();
    let (form, problems) = match sent {
        Some((form, problems)) => (Some(form), problems),
        None => (None, Problems::none()),
    };
    let sent = |name: &str, default: &str| {
        form.map_or_else(|| default.to_owned(), |form| form.get(name).to_owned())
    };
    let fields = vec![
        Field::new("text", "name", "Name")
            .value(sent("name", ""))
            .required(),
        // The filtered user, if any, is the likely owner of a new key.
        Field::new("number", "user", "User id")
            .value(sent("user", query.raw("user")))
            .required(),
        Field::new("date", "expires", "Expires")
            .value(sent("expires", ""))
            .hint("UTC midnight; empty for never."),
    ]
    .into_iter()
    .map(|field| field.problems(&problems))
    .collect();
    let filter = Field::new("number", "user", "User id")
        .id("filter-user")
        .value(query.raw("user"));
    let status = problems.status;
    let ctx = session.context;
    let page = AllPage {
        ctx: ctx.clone(),
        filter,
        rows,
        listing,
        problems,
        fields,
    };
    page::render(&ctx, status, &page)
}

async fn all_list(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    all_page(&request, &state, session, None).await
}

async fn all_create(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let created = async {
        let (user, key) = CreateTokenRequest::parse(form.json(ALL_FIELDS), state.clock.now())?;
        Ok::<_, ApiError>(
            state
                .api_keys
                .create_for(&session.principal, user, key)
                .await?,
        )
    };
    match created.await {
        Ok(created) => {
            let user = created.key.user.get();
            created_page(&session.context, &created, Some(user), ALL)
        }
        Err(error) => {
            let problems = Problems::of(error, &names(ALL_FIELDS));
            all_page(&request, &state, session, Some((&form, problems))).await
        }
    }
}

async fn all_confirm_delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
) -> Result<HttpResponse, ConsoleError> {
    let id = ApiKeyId(path_id(&request, "id")?);
    let key = TokenResponse::from(state.api_keys.get(&session.principal, id).await?);
    Confirm {
        ctx: &session.context,
        title: format!("Delete key “{}” of user {}?", key.name, key.user),
        sentence: delete_sentence(&session, id),
        action: format!("{ALL}/{id}/delete"),
        cancel: ALL.to_owned(),
    }
    .answer()
}

async fn all_delete(
    request: HttpRequest,
    state: web::Data<AppState>,
    AdminSession(session): AdminSession,
    _form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let id = ApiKeyId(path_id(&request, "id")?);
    state.api_keys.delete(&session.principal, id).await?;
    Ok(page::done(&request, ALL, "Key deleted."))
}
