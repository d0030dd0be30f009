//! One's own account: what `GET /v1/me/info` shows, a new name or email, a new password; the
//! same use case and rules as `PATCH /v1/me/info`.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use gatehouse_api::dto::account::{UpdateAccountRequest, UserInfoResponse};
use gatehouse_api::input::JsonObject;
use gatehouse_api::{ApiError, AppState};

use crate::error::ConsoleError;
use crate::fields::{Field, Problems};
use crate::form::{As, Form};
use crate::page::{self, PageContext, money, unix_time};
use crate::session::Session;

/// Mounts the account pages.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/account", web::get().to(show))
        .route("/account", web::post().to(save_profile))
        .route("/account/password", web::post().to(change_password));
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    ctx: PageContext,
    info: UserInfoResponse,
    budget: String,
    expires: String,
    created: String,
    /// The role's id, as the session knows it; none for the master user.
    role: Option<i64>,
    /// Why the account cannot change here, instead of the forms.
    locked: Option<String>,
    profile_problems: Problems,
    profile: Vec<Field>,
    password_problems: Problems,
    password: Vec<Field>,
}

/// Which form was sent, with its values and errors.
enum Sent<'a> {
    Nothing,
    Profile(&'a Form, Problems),
    Password(Problems),
}

fn account_page(
    state: &AppState,
    session: Session,
    sent: Sent<'_>,
) -> Result<HttpResponse, ConsoleError> {
    // The use case's own rule says whether this account may change here (not the master's).
    let locked = state
        .account
        .may_update(&session.principal)
        .err()
        .map(|error| ApiError::from(error).parts().1.into_owned());
    let info = UserInfoResponse::from(session.account);
    let (form, profile_problems, password_problems) = match sent {
        Sent::Nothing => (None, Problems::none(), Problems::none()),
        Sent::Profile(form, problems) => (Some(form), problems, Problems::none()),
        Sent::Password(problems) => (None, Problems::none(), problems),
    };
    let status = profile_problems.status.max(password_problems.status);
    let value = |name: &str, current: &str| {
        form.map_or(current.to_owned(), |form| form.get(name).to_owned())
    };
    let profile = vec![
        Field::new("text", "name", "Name")
            .value(value("name", info.name.as_deref().unwrap_or_default())),
        Field::new("email", "email", "Email")
            .value(value("email", &info.email))
            .autocomplete("email"),
        Field::new(
            "password",
            "current_password",
            "Current password (to change the email)",
        )
        .id("profile-current_password")
        .autocomplete("current-password"),
    ]
    .into_iter()
    .map(|field| field.problems(&profile_problems))
    .collect();
    let password = vec![
        Field::new("password", "current_password", "Current password")
            .required()
            .autocomplete("current-password"),
        Field::new("password", "password", "New password")
            .required()
            .autocomplete("new-password")
            .hint("8 to 128 characters. Your other sessions end; your API keys keep working."),
    ]
    .into_iter()
    .map(|field| field.problems(&password_problems))
    .collect();
    let ctx = session.context;
    let page = AccountPage {
        budget: money(info.budget.as_ref(), "No limit"),
        expires: info.expires.map_or_else(|| "Never".to_owned(), unix_time),
        created: unix_time(info.created),
        role: session.principal.role.map(gatehouse_domain::RoleId::get),
        info,
        locked,
        ctx: ctx.clone(),
        profile_problems,
        profile,
        password_problems,
        password,
    };
    page::render(&ctx, status, &page)
}

async fn show(state: web::Data<AppState>, session: Session) -> Result<HttpResponse, ConsoleError> {
    account_page(&state, session, Sent::Nothing)
}

/// Sends `body` as `PATCH /v1/me/info` would.
async fn update(state: &AppState, session: &Session, body: JsonObject) -> Result<(), ApiError> {
    state.account.may_update(&session.principal)?;
    let update = UpdateAccountRequest::parse(body)?;
    state.account.update(&session.principal, update).await?;
    Ok(())
}

async fn save_profile(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    // The email is sent only when it changes, so that a rename needs no password.
    let mut spec = vec![("name", As::TextOrNull)];
    if form.get("email").trim() != session.account.email {
        spec.extend([("email", As::Text), ("current_password", As::TextOrAbsent)]);
    }
    match update(&state, &session, form.json(&spec)).await {
        Ok(()) => Ok(page::done(&request, "/console/account", "Profile saved.")),
        Err(error) => {
            let problems = Problems::of(error, &["name", "email", "current_password"]);
            account_page(&state, session, Sent::Profile(&form, problems))
        }
    }
}

async fn change_password(
    request: HttpRequest,
    state: web::Data<AppState>,
    session: Session,
    form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let body = form.json(&[
        ("current_password", As::TextOrAbsent),
        ("password", As::Text),
    ]);
    match update(&state, &session, body).await {
        Ok(()) => Ok(page::done(
            &request,
            "/console/account",
            "Password changed.",
        )),
        Err(error) => {
            let problems = Problems::of(error, &["current_password", "password"]);
            account_page(&state, session, Sent::Password(problems))
        }
    }
}
