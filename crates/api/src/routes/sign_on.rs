//! Single sign-on with OpenID Connect: `/v1/auth/oidc/login` sends a person to the provider,
//! `/v1/auth/oidc/callback` takes them back, `/v1/auth/sso/login` takes an ID token a front end
//! obtained itself. All three answer 404 when sign-on is not configured, as if they did not exist.

use actix_web::cookie::time::Duration as CookieDuration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use gatehouse_application::{SIGN_ON_LIFETIME, Session, SignOnFlow};
use gatehouse_domain::{DateTime, DomainError, LocalRedirect, Secret, Utc, ValueError};

use crate::dto::login::{LoginResponse, SsoLoginRequest};
use crate::error::{ApiError, ErrorBody, LocPart, ValidationErrorBody, domain_answer};
use crate::input::{JsonObject, RawQuery};
use crate::origin::origin_of;
use crate::routes::{carrying_secret, method_not_allowed, not_found};
use crate::state::AppState;
use subtle::ConstantTimeEq;

/// How a browser keeps the session it signed in with: the web console's cookie. The server puts
/// one in the app data as `web::Data<dyn BrowserSessions>`; without it, the callback answers
/// JSON to browsers too.
pub trait BrowserSessions: Send + Sync {
    /// The cookie that holds `session`, opened at `now`.
    fn cookie(&self, session: &Session, now: DateTime<Utc>) -> Cookie<'static>;

    /// Whether cookies must be `Secure` (people reach the server over https).
    fn secure(&self) -> bool;
}

/// The cookie that binds a sign-in to the browser that started it: a callback in a browser
/// must carry the `state` it holds, so that nobody can sign someone else's browser in to their
/// own account by sending it a callback address of theirs (login CSRF). Only sent to the
/// sign-on endpoints, never to scripts, for as long as the sign-in may last.
pub const STATE_COOKIE: &str = "gatehouse_sign_on";

/// The path [`STATE_COOKIE`] is sent to.
const STATE_COOKIE_PATH: &str = "/v1/auth/oidc";

/// Mounts the sign-on endpoints.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/v1/auth/oidc/login")
                .get(oidc_login)
                .default_service(method_not_allowed("GET")),
        )
        .service(
            web::resource("/v1/auth/oidc/callback")
                .get(oidc_callback)
                .default_service(method_not_allowed("GET")),
        )
        .service(
            web::resource("/v1/auth/sso/login")
                .post(sso_login)
                .default_service(method_not_allowed("POST")),
        );
}

/// The sign-on flow, or the answer of an endpoint that does not exist when it is off.
async fn flow(state: &AppState) -> Result<&SignOnFlow, HttpResponse> {
    match state.sign_on.as_ref() {
        Some(flow) => Ok(flow),
        None => Err(not_found().await),
    }
}

/// Starts a sign-in with the identity provider: 302 to its authorization page (code flow with
/// PKCE S256, `state` and `nonce`), which sends the person back to the callback within 10
/// minutes.
#[utoipa::path(
    get, path = "/v1/auth/oidc/login", tag = "auth",
    params(("redirect" = Option<String>, Query, description = "Where to land once signed in: a path of this server (default `/console/`).")),
    responses(
        (status = 302, description = "To the provider's authorization page (`Location`)."),
        (status = 404, description = "Single sign-on is not configured.", body = ErrorBody),
        (status = 422, description = "`redirect` is not a path of this server.", body = ValidationErrorBody),
        (status = 503, description = "`Service unavailable.`: the provider cannot be reached.", body = ErrorBody),
    ),
)]
pub async fn oidc_login(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: RawQuery,
) -> Result<HttpResponse, ApiError> {
    let flow = match flow(&state).await {
        Ok(flow) => flow,
        Err(absent) => return Ok(absent),
    };
    let redirect = match query.0.get("redirect") {
        None => LocalRedirect::console(),
        Some(raw) => LocalRedirect::parse(raw).map_err(|()| {
            ApiError::invalid(
                vec![LocPart::from("query"), LocPart::from("redirect")],
                ValueError::new(
                    "value_error",
                    "Must be a path of this server: one / then the path, e.g. /console/.",
                ),
            )
        })?,
    };
    let started = flow.start(redirect).await?;
    let mut answer = HttpResponse::Found();
    answer
        .insert_header((header::LOCATION, started.url))
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(sessions) = request.app_data::<web::Data<dyn BrowserSessions>>() {
        let lifetime = SIGN_ON_LIFETIME.num_seconds();
        answer.cookie(state_cookie(
            started.state.expose().to_owned(),
            sessions.secure(),
            CookieDuration::seconds(lifetime),
        ));
    }
    Ok(answer.finish())
}

/// [`STATE_COOKIE`] holding `state`, living `max_age` (zero: removed).
fn state_cookie(state: String, secure: bool, max_age: CookieDuration) -> Cookie<'static> {
    Cookie::build(STATE_COOKIE, state)
        .path(STATE_COOKIE_PATH)
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(secure)
        .max_age(max_age)
        .finish()
}

/// Where the provider sends the person back. The code is exchanged, the ID token checked, the
/// account found, linked or created, and a `playground` session key issued: in the console's
/// session cookie with a 302 to the `redirect` of the login, or as JSON `{"id", "key"}` to a
/// client that sends `Accept: application/json`.
#[utoipa::path(
    get, path = "/v1/auth/oidc/callback", tag = "auth",
    params(
        ("code" = String, Query, description = "The provider's authorization code."),
        ("state" = String, Query, description = "The `state` of the login, which works once."),
    ),
    responses(
        (status = 200, description = "With `Accept: application/json`: the session key, shown this once.", body = LoginResponse),
        (status = 302, description = "To the login's `redirect`, with the console's session cookie."),
        (status = 400, description = "`Invalid sign-in.`: no, an unknown, a used or an expired `state`, a browser without the sign-in's cookie, a refused code, or an ID token whose signature, issuer, audience, expiry or nonce is wrong.", body = ErrorBody),
        (status = 403, description = "`Account expired.`, or `Not allowed to sign in.` (email domain not allowed; no account and no default role; an email held by an account it may not link).", body = ErrorBody),
        (status = 404, description = "Single sign-on is not configured.", body = ErrorBody),
        (status = 503, description = "`Service unavailable.`: the provider or the database cannot be reached.", body = ErrorBody),
    ),
)]
pub async fn oidc_callback(
    request: HttpRequest,
    state: web::Data<AppState>,
    query: RawQuery,
) -> Result<HttpResponse, ApiError> {
    let flow = match flow(&state).await {
        Ok(flow) => flow,
        Err(absent) => return Ok(absent),
    };
    let mut params = query.0;
    let (Some(code), Some(sign_in)) = (params.remove("code"), params.remove("state")) else {
        return Err(invalid_sign_in(DomainError::InvalidSignIn));
    };
    let browser = request
        .app_data::<web::Data<dyn BrowserSessions>>()
        .filter(|_| !wants_json(&request));
    // A browser must come back with the state it was sent away with (a JSON client gets the key
    // in the answer, so nobody can sign it in to another account behind its back).
    if browser.is_some() && !holds_state(&request, &sign_in) {
        return Err(invalid_sign_in(DomainError::InvalidSignIn));
    }
    let origin = origin_of(&request, &state.trusted_proxies);
    let (session, redirect) = flow
        .finish(Secret::new(code), Secret::new(sign_in), origin)
        .await
        .map_err(invalid_sign_in)?;
    let answer = match browser {
        Some(sessions) => HttpResponse::Found()
            .insert_header((header::LOCATION, redirect.as_str()))
            .cookie(sessions.cookie(&session, state.clock.now()))
            .cookie(state_cookie(
                String::new(),
                sessions.secure(),
                CookieDuration::ZERO,
            ))
            .finish(),
        None => HttpResponse::Ok().json(LoginResponse::from(session)),
    };
    Ok(carrying_secret(answer))
}

/// Signs in with an ID token a front end obtained from the provider (OpenGateLLM's playground
/// runs the flow itself): its signature, issuer, audience (this server's client id) and expiry
/// are checked, then the account is found, linked or created as by the callback.
#[utoipa::path(
    post, path = "/v1/auth/sso/login", tag = "auth",
    request_body = SsoLoginRequest,
    responses(
        (status = 200, description = "The session key, shown this once.", body = LoginResponse),
        (status = 401, description = "`Invalid sign-in.`: not a token of the provider for this client, or expired.", body = ErrorBody),
        (status = 403, description = "`Account expired.`, or `Not allowed to sign in.`", body = ErrorBody),
        (status = 404, description = "Single sign-on is not configured.", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
        (status = 503, description = "`Service unavailable.`: the provider's keys or the database cannot be reached.", body = ErrorBody),
    ),
)]
pub async fn sso_login(
    request: HttpRequest,
    state: web::Data<AppState>,
    body: JsonObject,
) -> Result<HttpResponse, ApiError> {
    let flow = match flow(&state).await {
        Ok(flow) => flow,
        Err(absent) => return Ok(absent),
    };
    let token = SsoLoginRequest::parse(body)?;
    let origin = origin_of(&request, &state.trusted_proxies);
    let session = flow.sign_in_with_token(token, origin).await?;
    Ok(carrying_secret(
        HttpResponse::Ok().json(LoginResponse::from(session)),
    ))
}

/// The callback's answer to `error`: a refused sign-in is the request's fault there (400), not
/// missing credentials (401).
fn invalid_sign_in(error: DomainError) -> ApiError {
    match error {
        DomainError::InvalidSignIn => {
            let (_, detail) = domain_answer(&DomainError::InvalidSignIn);
            ApiError::status(StatusCode::BAD_REQUEST, detail)
        }
        other => other.into(),
    }
}

/// Whether the browser's [`STATE_COOKIE`] holds `state`, compared in constant time.
fn holds_state(request: &HttpRequest, state: &str) -> bool {
    request
        .cookie(STATE_COOKIE)
        .is_some_and(|cookie| bool::from(cookie.value().as_bytes().ct_eq(state.as_bytes())))
}

/// Whether the client asked for JSON rather than a page.
fn wants_json(request: &HttpRequest) -> bool {
    request
        .headers()
        .get_all(header::ACCEPT)
        .filter_map(|value| value.to_str().ok())
        .any(|accept| accept.contains("application/json"))
}
