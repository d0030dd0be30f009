//! What a console page answers when it cannot show what was asked: the sign-in page for a
//! visitor, or a page with the API's status and sentence (`Insufficient rights.`, `Organization
//! not found.`...). Errors of a form are not here: the form is shown again with them
//! ([`Problems`](crate::fields::Problems)).

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use askama::Template;
use gatehouse_api::ApiError;
use gatehouse_domain::DomainError;

use crate::session::SESSION_COOKIE;

/// Why a page cannot be shown.
#[derive(Debug, thiserror::Error)]
pub enum ConsoleError {
    /// No working session: the visitor is sent to the sign-in page.
    #[error("not signed in")]
    SignIn,
    /// A change without its CSRF token.
    #[error("missing or wrong CSRF token")]
    Csrf,
    /// What the API would answer.
    #[error(transparent)]
    Api(#[from] ApiError),
}

impl From<DomainError> for ConsoleError {
    fn from(error: DomainError) -> Self {
        Self::Api(ApiError::Domain(error))
    }
}

/// The sentence of a refused form.
pub const CSRF_SENTENCE: &str = "The form has expired. Reload the page and try again.";

/// A page with a status and its sentence, and a way back.
#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage<'a> {
    title: &'a str,
    sentence: &'a str,
}

impl ResponseError for ConsoleError {
    fn status_code(&self) -> StatusCode {
        match self {
            Self::SignIn => StatusCode::SEE_OTHER,
            Self::Csrf => StatusCode::FORBIDDEN,
            Self::Api(error) => error.parts().0,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let status = self.status_code();
        let sentence = match self {
            Self::SignIn => {
                let mut removal = actix_web::cookie::Cookie::new(SESSION_COOKIE, "");
                removal.set_path(crate::PATH);
                removal.make_removal();
                return HttpResponse::SeeOther()
                    .insert_header((header::LOCATION, "/console/login"))
                    .cookie(removal)
                    .finish();
            }
            Self::Csrf => CSRF_SENTENCE.into(),
            Self::Api(error) => {
                error.log_cause();
                let (_, detail) = error.parts();
                if detail.is_empty() {
                    // Invalid input outside a form: a path id or a query parameter.
                    error
                        .field_errors()
                        .into_iter()
                        .map(|field| field.msg)
                        .collect::<Vec<_>>()
                        .join(" ")
                        .into()
                } else {
                    detail
                }
            }
        };
        let title = status.canonical_reason().unwrap_or("Error");
        let page = ErrorPage {
            title,
            sentence: &sentence,
        };
        match page.render() {
            Ok(html) => HttpResponse::build(status)
                .content_type("text/html; charset=utf-8")
                .insert_header((header::CACHE_CONTROL, "no-store"))
                .body(html),
            Err(error) => {
                tracing::error!(%error, "error page not rendered");
                HttpResponse::build(status).body(sentence.into_owned())
            }
        }
    }
}
