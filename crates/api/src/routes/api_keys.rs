//! `/v1/admin/tokens` (everyone's keys, for admins) and `/v1/me/keys` (one's own).

use actix_web::{HttpResponse, web};
use gatehouse_domain::{ApiKeyFilter, ApiKeyId, UserId};

use crate::auth::{Admin, Authenticated};
use crate::dto::ListResponse;
use crate::dto::api_keys::{CreateKeyRequest, CreateTokenRequest, KeyResponse, TokenResponse};
use crate::dto::list::{ApiKeyOrderBy, OrderDirection};
use crate::error::{ApiError, ErrorBody, ValidationErrorBody};
use crate::input::{JsonObject, PathId, QueryFields, RawQuery};
use crate::routes::{carrying_secret, created, method_not_allowed};
use crate::state::AppState;

/// Mounts the key endpoints.
pub fn configure(config: &mut web::ServiceConfig) {
    config
        .service(
            web::resource("/v1/admin/tokens")
                .get(list_tokens)
                .post(create_token)
                .default_service(method_not_allowed("GET, POST")),
        )
        .service(
            web::resource("/v1/admin/tokens/{token}")
                .get(get_token)
                .delete(delete_token)
                .default_service(method_not_allowed("GET, DELETE")),
        )
        .service(
            web::resource("/v1/me/keys")
                .get(list_keys)
                .post(create_key)
                .default_service(method_not_allowed("GET, POST")),
        )
        .service(
            web::resource("/v1/me/keys/{key}")
                .get(get_key)
                .delete(delete_key)
                .default_service(method_not_allowed("GET, DELETE")),
        );
}

/// Creates a key for any user. The answer is the only one that shows the whole key.
#[utoipa::path(
    post, path = "/v1/admin/tokens", tag = "tokens",
    request_body = CreateTokenRequest,
    responses(
        (status = 201, description = "Created, with the whole key under `token` and `key`.", body = TokenResponse),
        (status = 400, description = "`Token expiration timestamp cannot be greater than N days from now.`", body = ErrorBody),
        (status = 404, description = "`User not found.`, or `Project not found.` when the user is not a member of the project.", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create_token(
    state: web::Data<AppState>,
    Admin(actor, body): Admin<JsonObject>,
) -> Result<HttpResponse, ApiError> {
    let (user, key) = CreateTokenRequest::parse(body, state.clock.now())?;
    let key = state.api_keys.create_for(&actor, user, key).await?;
    Ok(carrying_secret(created(
        format!("/v1/admin/tokens/{}", key.key.id),
        TokenResponse::from(key),
    )))
}

/// Lists keys, optionally only one user's.
#[utoipa::path(
    get, path = "/v1/admin/tokens", tag = "tokens",
    params(
        ("user" = Option<i64>, Query, description = "Only this user's keys."),
        ("offset" = Option<i64>, Query, description = "Items to skip, >= 0.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 10).", minimum = 1, maximum = 100),
        ("order_by" = inline(Option<ApiKeyOrderBy>), Query, description = "`id` (default), `name` or `created`."),
        ("order_direction" = inline(Option<OrderDirection>), Query, description = "`asc` (default) or `desc`."),
    ),
    responses(
        (status = 200, description = "Keys, masked.", body = ListResponse<TokenResponse>),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list_tokens(
    state: web::Data<AppState>,
    Admin(actor, query): Admin<RawQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryFields::new(query);
    let filter = ApiKeyFilter {
        user: query.get::<i64>("user").map(UserId),
        project: None,
    };
    let page = query.page(&["order_by"], &["order_direction"]);
    let page = query.finish(|| page)?;
    let keys = state.api_keys.list(&actor, filter, page).await?;
    Ok(HttpResponse::Ok().json(ListResponse::new(keys, &page, TokenResponse::from)))
}

/// One key, masked.
#[utoipa::path(
    get, path = "/v1/admin/tokens/{token}", tag = "tokens",
    params(("token" = i64, Path, description = "Key id.")),
    responses(
        (status = 200, body = TokenResponse),
        (status = 404, description = "`Token not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn get_token(
    state: web::Data<AppState>,
    Admin(actor, PathId(id)): Admin<PathId>,
) -> Result<HttpResponse, ApiError> {
    let key = state.api_keys.get(&actor, ApiKeyId(id)).await?;
    Ok(HttpResponse::Ok().json(TokenResponse::from(key)))
}

/// Deletes a key; it stops working at once.
#[utoipa::path(
    delete, path = "/v1/admin/tokens/{token}", tag = "tokens",
    params(("token" = i64, Path, description = "Key id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`Token not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete_token(
    state: web::Data<AppState>,
    Admin(actor, PathId(id)): Admin<PathId>,
) -> Result<HttpResponse, ApiError> {
    state.api_keys.delete(&actor, ApiKeyId(id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// Creates a key for the caller. The answer is the only one that shows the whole key.
#[utoipa::path(
    post, path = "/v1/me/keys", tag = "me",
    request_body = CreateKeyRequest,
    responses(
        (status = 201, description = "Created, with the whole key under `token` and `key`.", body = KeyResponse),
        (status = 400, description = "Expiry beyond the maximum, or `Master is not allowed to process this action.`", body = ErrorBody),
        (status = 404, description = "`Project not found.`: the caller is not a member of the project.", body = ErrorBody),
        (status = 422, description = "Invalid body.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn create_key(
    state: web::Data<AppState>,
    Authenticated(actor, body): Authenticated<JsonObject>,
) -> Result<HttpResponse, ApiError> {
    let key = CreateKeyRequest::parse(body, state.clock.now())?;
    let key = state.api_keys.create_own(&actor, key).await?;
    Ok(carrying_secret(created(
        format!("/v1/me/keys/{}", key.key.id),
        KeyResponse::from(TokenResponse::from(key)),
    )))
}

/// The caller's keys, masked.
#[utoipa::path(
    get, path = "/v1/me/keys", tag = "me",
    params(
        ("offset" = Option<i64>, Query, description = "Items to skip, >= 0.", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Page size, 1 to 100 (default 10).", minimum = 1, maximum = 100),
        ("order_by" = inline(Option<ApiKeyOrderBy>), Query, description = "`id` (default), `name` or `created`."),
        ("order_direction" = inline(Option<OrderDirection>), Query, description = "`asc` (default) or `desc`."),
    ),
    responses(
        (status = 200, body = ListResponse<KeyResponse>),
        (status = 422, description = "Invalid query.", body = ValidationErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn list_keys(
    state: web::Data<AppState>,
    Authenticated(actor, query): Authenticated<RawQuery>,
) -> Result<HttpResponse, ApiError> {
    let mut query = QueryFields::new(query);
    let page = query.page(&["order_by"], &["order_direction"]);
    let page = query.finish(|| page)?;
    let keys = state.api_keys.list_own(&actor, page).await?;
    Ok(
        HttpResponse::Ok().json(ListResponse::new(keys, &page, |key| {
            KeyResponse::from(TokenResponse::from(key))
        })),
    )
}

/// One of the caller's keys; another user's key is 404.
#[utoipa::path(
    get, path = "/v1/me/keys/{key}", tag = "me",
    params(("key" = i64, Path, description = "Key id.")),
    responses(
        (status = 200, body = KeyResponse),
        (status = 404, description = "`Token not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn get_key(
    state: web::Data<AppState>,
    Authenticated(actor, PathId(id)): Authenticated<PathId>,
) -> Result<HttpResponse, ApiError> {
    let key = state.api_keys.get_own(&actor, ApiKeyId(id)).await?;
    Ok(HttpResponse::Ok().json(KeyResponse::from(TokenResponse::from(key))))
}

/// Deletes one of the caller's keys; another user's key is 404 and stays.
#[utoipa::path(
    delete, path = "/v1/me/keys/{key}", tag = "me",
    params(("key" = i64, Path, description = "Key id.")),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`Token not found.`", body = ErrorBody),
    ),
    security(("bearer" = [])),
)]
pub async fn delete_key(
    state: web::Data<AppState>,
    Authenticated(actor, PathId(id)): Authenticated<PathId>,
) -> Result<HttpResponse, ApiError> {
    state.api_keys.delete_own(&actor, ApiKeyId(id)).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_application::CreatedApiKey;
    use gatehouse_domain::{ApiKey, Name, Secret, Utc};

    #[test]
    fn the_answers_that_create_a_key_show_no_key_in_debug_output() {
        let whole = "sk-0123456789abcdef0123456789abcdef";
        let created = CreatedApiKey {
            key: ApiKey {
                id: ApiKeyId(3),
                name: Name::parse("laptop").unwrap(),
                user: UserId(7),
                masked: "sk-0123...cdef".to_owned(),
                project: None,
                expires: None,
                created: Utc::now(),
            },
            secret: Secret::new(whole),
        };
        let token = TokenResponse::from(created);
        assert_eq!(token.key.as_deref(), Some(whole));
        let token_debug = format!("{token:?}");
        let key_debug = format!("{:?}", KeyResponse::from(token));
        for output in [token_debug, key_debug] {
            assert!(output.contains("[REDACTED]"), "{output}");
            assert!(output.contains("laptop"), "{output}");
            for secret in [whole, "0123456789abcdef", "sk-0123...cdef"] {
                assert!(!output.contains(secret), "{secret} in {output}");
            }
        }
    }
}
