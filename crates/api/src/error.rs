//! Every error answer of the API, in the contract's shape: `{"detail": "Sentence."}`, or for
//! validation errors `{"detail": [{"loc", "msg", "type"}]}`. The one place where a `DomainError`
//! becomes a status and a sentence.

use std::borrow::Cow;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpResponse, ResponseError};
use gatehouse_domain::{DomainError, Entity, ValueError, Violation};
use serde::Serialize;
use utoipa::ToSchema;

/// One step of a field's location: an object key or an array index.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LocPart {
    /// An object key, or the part of the request (`body`, `query`, `path`).
    Key(String),
    /// An array index.
    Index(usize),
}

impl From<&str> for LocPart {
    fn from(key: &str) -> Self {
        Self::Key(key.to_owned())
    }
}

/// Where a value was found in the request: the part (`body`, `query`, `path`) then the field.
pub type Loc = Vec<LocPart>;

/// One invalid field, as FastAPI reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct FieldError {
    /// Where the field is: `["body", "email"]`, `["query", "limit"]`, `["body", "limits", 0, "type"]`.
    pub loc: Loc,
    /// Why it was refused.
    pub msg: String,
    /// A short machine word for the kind of failure (`missing`, `int_parsing`...).
    #[serde(rename = "type")]
    pub kind: String,
}

impl FieldError {
    /// A field error at `loc` for `error`.
    pub fn new(loc: Loc, error: ValueError) -> Self {
        Self {
            loc,
            msg: error.message,
            kind: error.code.to_owned(),
        }
    }

    /// A domain violation located under `part` (`body`...): its dotted field path becomes the
    /// location, numeric steps as array indices.
    pub fn from_violation(part: &str, violation: Violation) -> Self {
        let mut loc = vec![LocPart::from(part)];
        loc.extend(
            violation
                .field
                .split('.')
                .filter(|step| !step.is_empty())
                .map(|step| match step.parse() {
                    Ok(index) => LocPart::Index(index),
                    Err(_) => LocPart::from(step),
                }),
        );
        Self {
            loc,
            msg: violation.message,
            kind: violation.code.to_owned(),
        }
    }
}

/// An error answer of the API.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A failure of a use case.
    #[error(transparent)]
    Domain(#[from] DomainError),
    /// Invalid input: every invalid field.
    #[error("invalid input")]
    Invalid(Vec<FieldError>),
    /// Any other answer with a fixed status and sentence (unknown route, body too large...).
    #[error("{detail}")]
    Status {
        /// The status.
        status: StatusCode,
        /// The sentence.
        detail: Cow<'static, str>,
    },
}

impl ApiError {
    /// An answer with `status` and the sentence `detail`.
    pub fn status(status: StatusCode, detail: impl Into<Cow<'static, str>>) -> Self {
        Self::Status {
            status,
            detail: detail.into(),
        }
    }

    /// One invalid field.
    pub fn invalid(loc: Loc, error: ValueError) -> Self {
        Self::Invalid(vec![FieldError::new(loc, error)])
    }

    /// The status and the sentence a client is shown: what the console shows too. Empty for
    /// invalid input, whose sentences are [`field_errors`](Self::field_errors).
    pub fn parts(&self) -> (StatusCode, Cow<'static, str>) {
        match self {
            Self::Domain(error) => domain_answer(error),
            Self::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, Cow::Borrowed("")),
            Self::Status { status, detail } => (*status, detail.clone()),
        }
    }
}

impl ApiError {
    /// Every invalid field, as a 422 answer lists them; none for other errors.
    pub fn field_errors(&self) -> Vec<FieldError> {
        match self {
            Self::Invalid(errors) => errors.clone(),
            Self::Domain(DomainError::Invalid(violations)) => violations
                .iter()
                .cloned()
                .map(|violation| FieldError::from_violation("body", violation))
                .collect(),
            _ => Vec::new(),
        }
    }

    /// Logs the cause of a 5xx, which its answer never shows; other errors are the client's.
    pub fn log_cause(&self) {
        match self {
            Self::Domain(DomainError::Unavailable(cause)) => {
                tracing::warn!(error = %cause, "storage unavailable");
            }
            Self::Domain(DomainError::Unexpected(cause)) => {
                tracing::error!(error = %cause, cause = ?cause, "unexpected error");
            }
            _ => {}
        }
    }
}

/// The status and sentence the contract gives each domain failure.
pub(crate) fn domain_answer(error: &DomainError) -> (StatusCode, Cow<'static, str>) {
    use DomainError as E;
    match error {
        E::NotFound(entity) => (StatusCode::NOT_FOUND, format!("{entity} not found.").into()),
        E::AlreadyExists(entity) => (
            StatusCode::CONFLICT,
            format!("{entity} already exists.").into(),
        ),
        E::InUse { entity, used_by } => (
            StatusCode::CONFLICT,
            format!(
                "Delete {} with {} is not allowed.",
                entity.noun().to_lowercase(),
                plural(*used_by)
            )
            .into(),
        ),
        E::Invalid(_) => (StatusCode::UNPROCESSABLE_ENTITY, "".into()),
        E::ExpiryTooFar { max_days } => (
            StatusCode::BAD_REQUEST,
            format!("Token expiration timestamp cannot be greater than {max_days} days from now.")
                .into(),
        ),
        E::Unauthenticated => (StatusCode::UNAUTHORIZED, "Not authenticated".into()),
        E::InvalidApiKey => (StatusCode::UNAUTHORIZED, "Invalid API key.".into()),
        E::AccountExpired => (StatusCode::FORBIDDEN, "Account expired.".into()),
        E::Forbidden => (StatusCode::FORBIDDEN, "Insufficient rights.".into()),
        E::MasterNotAllowed => (
            StatusCode::BAD_REQUEST,
            "Master is not allowed to process this action.".into(),
        ),
        E::NotInOrganization => (
            StatusCode::CONFLICT,
            "User is not in the project's organization.".into(),
        ),
        E::InsufficientBudget => (StatusCode::BAD_REQUEST, "Insufficient budget.".into()),
        E::RouterForbidden => (
            StatusCode::FORBIDDEN,
            "Access to this router is not allowed.".into(),
        ),
        E::RateLimited => (StatusCode::TOO_MANY_REQUESTS, "Rate limit exceeded.".into()),
        E::RequestIdUsed => (StatusCode::CONFLICT, "Request id already used.".into()),
        E::InvalidCredentials => (
            StatusCode::UNAUTHORIZED,
            "Invalid email or password.".into(),
        ),
        E::InvalidCurrentPassword => (StatusCode::UNAUTHORIZED, "Invalid current password.".into()),
        // 401 as the token login answers; the browser callback answers 400 with the same sentence.
        E::InvalidSignIn => (StatusCode::UNAUTHORIZED, "Invalid sign-in.".into()),
        E::SignInRefused => (StatusCode::FORBIDDEN, "Not allowed to sign in.".into()),
        E::LoginThrottled { .. } => (
            StatusCode::TOO_MANY_REQUESTS,
            "Too many failed login attempts. Try again later.".into(),
        ),
        E::Unavailable(_) | E::Overloaded { .. } => (
            StatusCode::SERVICE_UNAVAILABLE,
            "Service unavailable.".into(),
        ),
        E::Unexpected(_) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            "Internal server error.".into(),
        ),
    }
}

fn plural(entity: Entity) -> &'static str {
    match entity {
        Entity::Organization => "organizations",
        Entity::User => "users",
        Entity::Role => "roles",
        Entity::ApiKey => "tokens",
        Entity::Project => "projects",
        Entity::Member => "members",
        Entity::Authorization => "authorizations",
    }
}

/// The body of an error answer with a sentence.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody<'a> {
    /// What went wrong, for people.
    #[schema(value_type = String)]
    pub detail: Cow<'a, str>,
}

/// The body of a validation error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct ValidationErrorBody {
    /// Every invalid field.
    pub detail: Vec<FieldError>,
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        self.parts().0
    }

    fn error_response(&self) -> HttpResponse {
        let (status, detail) = self.parts();
        let mut answer = HttpResponse::build(status);
        if status == StatusCode::UNAUTHORIZED {
            answer.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        if let Self::Domain(
            DomainError::LoginThrottled { retry_after } | DomainError::Overloaded { retry_after },
        ) = self
        {
            answer.insert_header((header::RETRY_AFTER, retry_after.to_string()));
        }
        if status == StatusCode::REQUEST_TIMEOUT {
            // The rest of the request may never come: the connection cannot serve another one.
            answer.force_close();
        }
        self.log_cause();
        match self {
            Self::Invalid(_) | Self::Domain(DomainError::Invalid(_)) => {
                answer.json(ValidationErrorBody {
                    detail: self.field_errors(),
                })
            }
            _ => answer.json(ErrorBody { detail }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::to_bytes;

    async fn answer(error: ApiError) -> (StatusCode, Option<String>, serde_json::Value) {
        let response = error.error_response();
        let status = response.status();
        let challenge = response
            .headers()
            .get(header::WWW_AUTHENTICATE)
            .map(|value| value.to_str().unwrap().to_owned());
        let body = to_bytes(response.into_body()).await.unwrap();
        (status, challenge, serde_json::from_slice(&body).unwrap())
    }

    #[actix_web::test]
    async fn domain_failures_get_the_contracts_status_and_sentence() {
        let cases = [
            (
                DomainError::NotFound(Entity::Organization),
                404,
                "Organization not found.",
            ),
            (
                DomainError::NotFound(Entity::ApiKey),
                404,
                "Token not found.",
            ),
            (
                DomainError::AlreadyExists(Entity::Role),
                409,
                "Role already exists.",
            ),
            (
                DomainError::InUse {
                    entity: Entity::Organization,
                    used_by: Entity::User,
                },
                409,
                "Delete organization with users is not allowed.",
            ),
            (
                DomainError::InUse {
                    entity: Entity::Role,
                    used_by: Entity::User,
                },
                409,
                "Delete role with users is not allowed.",
            ),
            (
                DomainError::ExpiryTooFar { max_days: 30 },
                400,
                "Token expiration timestamp cannot be greater than 30 days from now.",
            ),
            (DomainError::AccountExpired, 403, "Account expired."),
            (DomainError::Forbidden, 403, "Insufficient rights."),
            (DomainError::InvalidSignIn, 401, "Invalid sign-in."),
            (DomainError::SignInRefused, 403, "Not allowed to sign in."),
            (
                DomainError::Unavailable("connection refused to db.internal:5432".into()),
                503,
                "Service unavailable.",
            ),
            (
                DomainError::Unexpected("relation \"users\" does not exist".into()),
                500,
                "Internal server error.",
            ),
        ];
        for (error, status, detail) in cases {
            let (got_status, _, body) = answer(ApiError::Domain(error)).await;
            assert_eq!(got_status.as_u16(), status);
            assert_eq!(body, serde_json::json!({ "detail": detail }));
        }
    }

    #[actix_web::test]
    async fn authentication_failures_ask_for_a_bearer_token() {
        for (error, detail) in [
            (DomainError::Unauthenticated, "Not authenticated"),
            (DomainError::InvalidApiKey, "Invalid API key."),
        ] {
            let (status, challenge, body) = answer(ApiError::Domain(error)).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
            assert_eq!(body["detail"], detail);
            assert_eq!(challenge.as_deref(), Some("Bearer"));
        }
    }

    #[actix_web::test]
    async fn throttled_logins_and_an_overloaded_hasher_say_when_to_retry() {
        for (error, status, detail, retry_after) in [
            (
                DomainError::LoginThrottled { retry_after: 600 },
                429,
                "Too many failed login attempts. Try again later.",
                "600",
            ),
            (
                DomainError::Overloaded { retry_after: 3 },
                503,
                "Service unavailable.",
                "3",
            ),
        ] {
            let response = ApiError::Domain(error).error_response();
            assert_eq!(response.status().as_u16(), status);
            assert_eq!(
                response.headers().get(header::RETRY_AFTER).unwrap(),
                retry_after
            );
            let body = to_bytes(response.into_body()).await.unwrap();
            let body: serde_json::Value = serde_json::from_slice(&body).unwrap();
            assert_eq!(body, serde_json::json!({ "detail": detail }));
        }
    }

    #[actix_web::test]
    async fn violations_become_fastapi_details_located_in_the_body() {
        let error = DomainError::Invalid(vec![
            Violation::new("expires", ValueError::new("value_error", "In the past.")),
            Violation::new("limits.1.type", ValueError::new("enum", "Bad type.")),
        ]);
        let (status, _, body) = answer(ApiError::Domain(error)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        assert_eq!(
            body,
            serde_json::json!({"detail": [
                {"loc": ["body", "expires"], "msg": "In the past.", "type": "value_error"},
                {"loc": ["body", "limits", 1, "type"], "msg": "Bad type.", "type": "enum"},
            ]})
        );
    }
}
