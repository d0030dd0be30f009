//! Login bodies.

use gatehouse_application::Session;
use gatehouse_domain::Secret;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiError;
use crate::input::JsonObject;

/// An email and a password to exchange for a session key.
// No `Debug`: it would hold the password in clear.
#[derive(ToSchema)]
pub struct LoginRequest {
    /// The account's address (any letter case), or `master` for the master user. Any string: a
    /// malformed address is simply wrong (401).
    #[schema(example = "ada@example.com")]
    pub email: String,
    /// The account's password, or the master key for the master user. Any string.
    pub password: String,
}

impl LoginRequest {
    /// Reads the body. Neither field is checked beyond being a string: a malformed address or a
    /// short password is simply wrong, and answers as a wrong password does.
    ///
    /// # Errors
    /// 422 when a field is missing or not a string.
    pub fn parse(body: JsonObject) -> Result<(String, Secret), ApiError> {
        let mut fields = body.fields();
        let email = fields.required::<String>("email");
        let password = fields.required::<String>("password").map(Secret::new);
        fields.finish(|| Some((email?, password?)))
    }
}

/// A session key: shown this once. No `Debug`, so that the key cannot end up in a log.
#[derive(Serialize, ToSchema)]
#[schema(as = Login)]
pub struct LoginResponse {
    /// The key's id (0 for the master key).
    pub id: i64,
    /// The key itself, for `Authorization: Bearer`.
    pub key: String,
}

impl From<Session> for LoginResponse {
    fn from(session: Session) -> Self {
        Self {
            id: session.id.get(),
            key: session.key.expose().to_owned(),
        }
    }
}
