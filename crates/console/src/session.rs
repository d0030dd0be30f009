//! Who is signed in: the session cookie holds a `playground` key, which authenticates like a
//! bearer key, so that a session is exactly as strong as the API's login and ends the same ways
//! (sign-out, expiry, password change).

use std::future::Future;
use std::pin::Pin;

use actix_web::cookie::time::Duration;
use actix_web::cookie::{Cookie, SameSite};
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use gatehouse_api::AppState;
use gatehouse_api::origin::origin_of;
use gatehouse_api::routes::sign_on::BrowserSessions;
use gatehouse_application::{AccountInfo, Principal, Session as LoginSession};
use gatehouse_domain::{DateTime, DomainError, Permission, Utc};

use crate::PATH;
use crate::error::ConsoleError;
use crate::page::PageContext;

/// The cookie that holds the session's key.
pub const SESSION_COOKIE: &str = "gatehouse_session";

/// How the console's cookies are made.
#[derive(Debug, Clone, Default)]
pub struct ConsoleSettings {
    /// Whether cookies are `Secure`: when people reach the server over https (`PUBLIC_URL`).
    pub secure_cookies: bool,
}

impl ConsoleSettings {
    /// A cookie of the console: only sent to it, never to scripts.
    pub fn cookie(
        &self,
        name: &'static str,
        value: String,
        same_site: SameSite,
    ) -> Cookie<'static> {
        Cookie::build(name, value)
            .path(PATH)
            .http_only(true)
            .same_site(same_site)
            .secure(self.secure_cookies)
            .finish()
    }

    /// The cookie that holds `session`, living as long as its key from `now` on.
    pub fn session_cookie(&self, session: &LoginSession, now: DateTime<Utc>) -> Cookie<'static> {
        let mut cookie = self.cookie(
            SESSION_COOKIE,
            session.key.expose().to_owned(),
            SameSite::Lax,
        );
        if let Some(expires) = session.expires {
            let left = (expires - now).num_seconds().max(0);
            cookie.set_max_age(Duration::seconds(left));
        }
        cookie
    }

    /// A cookie that removes the cookie `name`.
    pub fn removal(&self, name: &'static str) -> Cookie<'static> {
        let mut cookie = self.cookie(name, String::new(), SameSite::Lax);
        cookie.make_removal();
        cookie
    }
}

/// A sign-on through the API's callback lands in the console signed in.
impl BrowserSessions for ConsoleSettings {
    fn cookie(&self, session: &LoginSession, now: DateTime<Utc>) -> Cookie<'static> {
        self.session_cookie(session, now)
    }

    fn secure(&self) -> bool {
        self.secure_cookies
    }
}

/// The console's settings, or the defaults when the server gave none.
pub fn settings(request: &HttpRequest) -> ConsoleSettings {
    request
        .app_data::<web::Data<ConsoleSettings>>()
        .map(|settings| settings.get_ref().clone())
        .unwrap_or_default()
}

/// The API's state: the use cases.
pub fn state(request: &HttpRequest) -> Result<web::Data<AppState>, ConsoleError> {
    request
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| DomainError::unexpected("application state is missing").into())
}

/// A signed-in person: who they are for the use cases, and what every page shows of them.
pub struct Session {
    /// Who acts, with where the request comes from, for the audit log.
    pub principal: Principal,
    /// Their account, as `GET /v1/me/info` shows it.
    pub account: AccountInfo,
    /// The navigation, the CSRF token and the flash message of the page.
    pub context: PageContext,
}

impl Session {
    /// The signed-in person of `request`; [`ConsoleError::SignIn`] without a working session.
    async fn of(request: HttpRequest) -> Result<Self, ConsoleError> {
        let key = request
            .cookie(SESSION_COOKIE)
            .map(|cookie| cookie.value().to_owned())
            .filter(|key| !key.is_empty())
            .ok_or(ConsoleError::SignIn)?;
        let state = state(&request)?;
        let mut principal = state
            .auth
            .authenticate(&key)
            .await
            .map_err(|error| match error {
                DomainError::Unauthenticated | DomainError::InvalidApiKey => ConsoleError::SignIn,
                other => other.into(),
            })?;
        principal.origin = origin_of(&request, &state.trusted_proxies);
        let info = state.account.info(&principal).await?;
        let admin =
            principal.permissions.contains(Permission::Admin) && principal.project.is_none();
        let context = PageContext::new(&request, Some((info.email.clone(), admin)));
        Ok(Self {
            principal,
            account: info,
            context,
        })
    }
}

impl FromRequest for Session {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        Box::pin(Self::of(request.clone()))
    }
}

/// A signed-in administrator: the admin pages' extractor. Anyone else gets the API's 403
/// (`Insufficient rights.`, or `Account expired.`), checked by the same rule as the API's.
pub struct AdminSession(pub Session);

impl FromRequest for AdminSession {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let request = request.clone();
        Box::pin(async move {
            let session = Session::of(request.clone()).await?;
            let now = state(&request)?.clock.now();
            session.principal.require(Permission::Admin, now)?;
            Ok(Self(session))
        })
    }
}
