//! Login bodies.

use gatehouse_application::Session;
use gatehouse_domain::Secret;
use serde::Serialize;
use utoipa::ToSchema;

use crate::input::{Required, SecretText, Text, request_body};

request_body! {
    /// An email and a password to exchange for a session key. Neither field is checked beyond
    /// being a string: a malformed address or a short password is simply wrong, and answers as a
    /// wrong password does.
    pub struct LoginRequest -> (String, Secret) {
        /// The account's address (any letter case), or `master` for the master user. Any string: a
        /// malformed address is simply wrong (401).
        email: Required<Text>,
        /// The account's password, or the master key for the master user. Any string.
        password: Required<SecretText>,
    }
}

impl From<LoginRequest> for (String, Secret) {
    fn from(body: LoginRequest) -> Self {
        (body.email, body.password)
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

request_body! {
    /// An ID token a front end obtained from the identity provider itself.
    pub struct SsoLoginRequest -> Secret {
        /// The ID token (a JWT), issued to this server's client id.
        token: Required<SecretText>,
    }
}

impl From<SsoLoginRequest> for Secret {
    fn from(body: SsoLoginRequest) -> Self {
        body.token
    }
}
