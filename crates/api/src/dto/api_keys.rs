//! API key bodies: `Token` in the admin view, `Key` in the owner's view.

use gatehouse_application::{CreateApiKey, CreatedApiKey};
use gatehouse_domain::{ApiKey, DateTime, ProjectId, UserId, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::schema::{ExpiryTime, NameText};
use super::unix;
use crate::input::{Id, Nullable, Required, request_body};

/// An API key in the admin view. `token` is masked, except in the answer that creates it, which
/// also carries it under `key`.
// `Debug` by hand, below: on creation, `token` and `key` hold the whole key.
#[derive(Serialize, ToSchema)]
#[schema(as = Token)]
pub struct TokenResponse {
    /// Always `token`.
    #[schema(value_type = String, example = "token")]
    pub object: &'static str,
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The key, masked (`sk-ab12...9xyz`) except on creation.
    pub token: String,
    /// The whole key, only on creation (OpenGateLLM 0.4.1's name for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// Its owner's id.
    pub user: i64,
    /// The project it acts in; `null` for a key that acts as its owner alone.
    pub project: Option<i64>,
    /// When it stops working, Unix seconds; `null` for never.
    pub expires: Option<i64>,
    /// Creation time, Unix seconds.
    pub created: i64,
}

impl std::fmt::Debug for TokenResponse {
    /// The key is left out, masked or not: the id says which key it is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenResponse")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("token", &gatehouse_domain::Redacted)
            .field(
                "key",
                &self.key.as_ref().map(|_| gatehouse_domain::Redacted),
            )
            .field("user", &self.user)
            .field("project", &self.project)
            .field("expires", &self.expires)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl From<ApiKey> for TokenResponse {
    fn from(key: ApiKey) -> Self {
        Self {
            object: "token",
            id: key.id.get(),
            name: key.name.into_string(),
            token: key.masked,
            key: None,
            user: key.user.get(),
            project: key.project.map(ProjectId::get),
            expires: key.expires.map(unix),
            created: unix(key.created),
        }
    }
}

impl From<CreatedApiKey> for TokenResponse {
    fn from(created: CreatedApiKey) -> Self {
        let secret = created.secret.expose().to_owned();
        Self {
            token: secret.clone(),
            key: Some(secret),
            ..Self::from(created.key)
        }
    }
}

/// An API key in its owner's view: a token without `user`.
// `Debug` by hand, below: on creation, `token` and `key` hold the whole key.
#[derive(Serialize, ToSchema)]
#[schema(as = Key)]
pub struct KeyResponse {
    /// Always `key`.
    #[schema(value_type = String, example = "key")]
    pub object: &'static str,
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// The key, masked (`sk-ab12...9xyz`) except on creation.
    pub token: String,
    /// The whole key, only on creation (OpenGateLLM 0.4.1's name for it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    /// The project it acts in; `null` for a key that acts as its owner alone.
    pub project: Option<i64>,
    /// When it stops working, Unix seconds; `null` for never.
    pub expires: Option<i64>,
    /// Creation time, Unix seconds.
    pub created: i64,
}

impl std::fmt::Debug for KeyResponse {
    /// The key is left out, masked or not: the id says which key it is.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyResponse")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("token", &gatehouse_domain::Redacted)
            .field(
                "key",
                &self.key.as_ref().map(|_| gatehouse_domain::Redacted),
            )
            .field("project", &self.project)
            .field("expires", &self.expires)
            .field("created", &self.created)
            .finish_non_exhaustive()
    }
}

impl From<TokenResponse> for KeyResponse {
    fn from(token: TokenResponse) -> Self {
        Self {
            object: "key",
            id: token.id,
            name: token.name,
            token: token.token,
            key: token.key,
            project: token.project,
            expires: token.expires,
            created: token.created,
        }
    }
}

request_body! {
    /// What creates a key for any user.
    pub struct CreateTokenRequest(DateTime<Utc>) -> (UserId, CreateApiKey) {
        /// Its name.
        name: Required<NameText>,
        /// Unix seconds in the future, within `KEY_MAX_EXPIRATION_DAYS` when set; `null` or absent
        /// for never (or for the maximum, when set).
        expires: Nullable<ExpiryTime>,
        /// A project the owner is a member of, for the key to act in (its budget and limits);
        /// `null` or absent for none.
        project: Nullable<Id<ProjectId>>,
        /// The owner's id.
        user: Required<Id<UserId>>,
    }
}

impl From<CreateTokenRequest> for (UserId, CreateApiKey) {
    fn from(body: CreateTokenRequest) -> Self {
        let key = CreateApiKey {
            name: body.name,
            expires: body.expires.apply(None),
            project: body.project,
        };
        (body.user, key)
    }
}

request_body! {
    /// What creates a key for oneself.
    pub struct CreateKeyRequest(DateTime<Utc>) -> CreateApiKey {
        /// Its name.
        name: Required<NameText>,
        /// Unix seconds in the future, within `KEY_MAX_EXPIRATION_DAYS` when set; `null` or absent
        /// for never (or for the maximum, when set).
        expires: Nullable<ExpiryTime>,
        /// A project the caller is a member of, for the key to act in (its budget and limits);
        /// `null` for none. Absent: none, except under a project-bound key, whose project the new
        /// key is bound to (another project, or `null`, is then 403).
        project: Nullable<Id<ProjectId>>,
    }
}

impl From<CreateKeyRequest> for CreateApiKey {
    fn from(body: CreateKeyRequest) -> Self {
        Self {
            name: body.name,
            expires: body.expires.apply(None),
            project: body.project,
        }
    }
}
