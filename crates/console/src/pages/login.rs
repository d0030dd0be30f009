//! Signing in with email and password (the API's login: same rules, same throttling, same audit
//! events), and signing out, which deletes the session's key.

use actix_web::{HttpRequest, HttpResponse, web};
use askama::Template;
use gatehouse_api::ApiError;
use gatehouse_api::dto::login::LoginRequest;
use gatehouse_api::origin::origin_of;
use gatehouse_domain::DomainError;

use crate::error::ConsoleError;
use crate::fields::{Field, Problems};
use crate::form::{As, Form};
use crate::page::{self, PageContext};
use crate::session::{SESSION_COOKIE, Session, settings, state};

/// Mounts the sign-in and sign-out pages.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .route("/login", web::get().to(show))
        .route("/login", web::post().to(sign_in))
        .route("/logout", web::post().to(sign_out));
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    ctx: PageContext,
    problems: Problems,
    fields: Vec<Field>,
    /// Whether single sign-on is configured: then a button starts it.
    sso: bool,
}

fn login_page(
    request: &HttpRequest,
    email: &str,
    problems: Problems,
) -> Result<HttpResponse, ConsoleError> {
    let fields = vec![
        Field::new("text", "email", "Email")
            .value(email)
            .required()
            .autocomplete("username")
            .hint("The master user signs in as “master”, with the master key."),
        Field::new("password", "password", "Password")
            .required()
            .autocomplete("current-password"),
    ]
    .into_iter()
    .map(|field| field.problems(&problems))
    .collect();
    let ctx = PageContext::new(request, None);
    let status = problems.status;
    page::render(
        &ctx,
        status,
        &LoginPage {
            ctx: ctx.clone(),
            problems,
            fields,
            sso: state(request).is_ok_and(|state| state.sign_on.is_some()),
        },
    )
}

async fn show(request: HttpRequest) -> Result<HttpResponse, ConsoleError> {
    login_page(&request, "", Problems::none())
}

async fn sign_in(request: HttpRequest, form: Form) -> Result<HttpResponse, ConsoleError> {
    let state = state(&request)?;
    let body = form.json(&[("email", As::Text), ("password", As::Text)]);
    let attempt = async {
        let (email, password) = LoginRequest::parse(body)?;
        let origin = origin_of(&request, &state.trusted_proxies);
        Ok::<_, ApiError>(state.login.login(&email, password, origin).await?)
    };
    match attempt.await {
        Ok(session) => {
            let cookie = settings(&request).session_cookie(&session, state.clock.now());
            Ok(HttpResponse::SeeOther()
                .insert_header((actix_web::http::header::LOCATION, "/console/account"))
                .insert_header((actix_web::http::header::CACHE_CONTROL, "no-store"))
                .cookie(cookie)
                .finish())
        }
        Err(error) => login_page(&request, form.get("email"), Problems::of(error, &[])),
    }
}

async fn sign_out(
    request: HttpRequest,
    session: Session,
    _form: Form,
) -> Result<HttpResponse, ConsoleError> {
    let state = state(&request)?;
    if let Some(key) = session.principal.key {
        match state.api_keys.delete_own(&session.principal, key).await {
            // An expired account keeps its keys, as through the API; its session ends anyway.
            Ok(()) | Err(DomainError::AccountExpired) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(HttpResponse::SeeOther()
        .insert_header((actix_web::http::header::LOCATION, "/console/login"))
        .cookie(settings(&request).removal(SESSION_COOKIE))
        .finish())
}
