//! The OpenAPI 3.1 document, generated from the handlers and bodies.
//!
//! Each handler documents the answers of its own use case; `SharedResponses` adds the answers
//! every operation of a kind can give (authentication, validation, body limits, an unavailable
//! database), so that every status the server can send is in the document.

use utoipa::openapi::content::Content;
use utoipa::openapi::header::Header;
use utoipa::openapi::path::{Operation, ParameterIn};
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{Ref, RefOr};
use utoipa::{Modify, OpenApi, PartialSchema};

use crate::dto::account::{UpdateAccountRequest, UserInfoResponse};
use crate::dto::api_keys::{CreateKeyRequest, CreateTokenRequest, KeyResponse, TokenResponse};
use crate::dto::audit::{AuditActorResponse, AuditEntityResponse, AuditEventResponse};
use crate::dto::gateway::{
    AuthorizationResponse, AuthorizeRequest, QuotaResponse, UsageReportRequest, UsageResponse,
    UsageSummaryResponse, UsageTotalResponse,
};
use crate::dto::login::{LoginRequest, LoginResponse, SsoLoginRequest};
use crate::dto::money::Amount;
use crate::dto::organizations::{
    CreateOrganizationRequest, OrganizationResponse, UpdateOrganizationRequest,
};
use crate::dto::projects::{
    CreateProjectRequest, ProjectMemberResponse, ProjectResponse, UpdateProjectRequest,
};
use crate::dto::roles::{
    CreateRoleRequest, LimitRequest, LimitResponse, RoleResponse, UpdateRoleRequest,
};
use crate::dto::users::{CreateUserRequest, UpdateUserRequest, UserResponse};
use crate::error::{ErrorBody, FieldError, LocPart, ValidationErrorBody};
use crate::routes::{
    account, api_keys, audit, gateway, login, operations, organizations, projects, roles, sign_on,
    usage, users,
};

/// The API's OpenAPI document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Gatehouse",
        description = "Organizations, users, roles, projects and API keys of OpenGateLLM, and the access decisions of its gateways. Authenticate with `Authorization: Bearer <master key or API key>`.",
    ),
    paths(
        organizations::create, organizations::list, organizations::get,
        organizations::update, organizations::delete,
        users::create, users::list, users::get, users::update, users::delete,
        roles::create, roles::list, roles::get, roles::update, roles::delete,
        projects::create, projects::list, projects::get, projects::update, projects::delete,
        projects::members, projects::add_member, projects::remove_member,
        api_keys::create_token, api_keys::list_tokens, api_keys::get_token, api_keys::delete_token,
        api_keys::create_key, api_keys::list_keys, api_keys::get_key, api_keys::delete_key,
        account::info, account::update, login::login,
        sign_on::oidc_login, sign_on::oidc_callback, sign_on::sso_login,
        gateway::authorize, gateway::report_usage, usage::own_usage, usage::usage, usage::summary,
        audit::list,
        operations::health, operations::metrics, operations::openapi_json, operations::docs,
        operations::home,
    ),
    components(schemas(
        OrganizationResponse, CreateOrganizationRequest, UpdateOrganizationRequest,
        UserResponse, CreateUserRequest, UpdateUserRequest,
        RoleResponse, LimitResponse, LimitRequest, CreateRoleRequest, UpdateRoleRequest,
        ProjectResponse, ProjectMemberResponse, CreateProjectRequest, UpdateProjectRequest,
        TokenResponse, KeyResponse, CreateTokenRequest, CreateKeyRequest,
        UserInfoResponse, UpdateAccountRequest, LoginRequest, LoginResponse,
        SsoLoginRequest,
        AuthorizeRequest, AuthorizationResponse, QuotaResponse, UsageReportRequest, UsageResponse,
        UsageTotalResponse, UsageSummaryResponse, Amount,
        AuditEventResponse, AuditActorResponse, AuditEntityResponse,
        ErrorBody, ValidationErrorBody, FieldError, LocPart, operations::Health,
    )),
    modifiers(&BearerAuth, &SharedResponses, &RequestIdHeader),
    tags(
        (name = "organizations", description = "Groups of users."),
        (name = "users", description = "Accounts."),
        (name = "roles", description = "Permissions and rate limits."),
        (name = "projects", description = "Groups of users of one organization, with a budget and limits of their own."),
        (name = "tokens", description = "Everyone's API keys, for admins."),
        (name = "me", description = "The caller's own account and keys."),
        (name = "auth", description = "Email and password login."),
        (name = "gateway", description = "Access decisions and usage reports, for LLM gateways."),
        (name = "usage", description = "Everyone's usage, for admins."),
        (name = "audit", description = "Who changed what, when and from where, for admins."),
        (name = "operations", description = "Health and metrics."),
    ),
)]
pub struct ApiDoc;

/// Declares the bearer scheme the endpoints refer to.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(Http::new(HttpAuthScheme::Bearer)),
        );
    }
}

/// The shared error answers: name in `components/responses`, status, and the sentence or shape.
const SHARED: &[(&str, &str, &str)] = &[
    (
        "BadBody",
        "400",
        "`Request body could not be read.`: the connection broke or the body was malformed in \
         transit (not as JSON: that is 422).",
    ),
    (
        "Unauthorized",
        "401",
        "`Not authenticated` (no `Authorization: Bearer` key) or `Invalid API key.` (unknown, \
         deleted or expired key).",
    ),
    (
        "Forbidden",
        "403",
        "`Insufficient rights.` (the key's role lacks the permission) or `Account expired.`",
    ),
    (
        "RequestTimeout",
        "408",
        "`Request timeout.`: the body did not arrive in time.",
    ),
    (
        "PayloadTooLarge",
        "413",
        "`Request body too large.`: the body is over 64 KiB.",
    ),
    (
        "ValidationError",
        "422",
        "Invalid input: every invalid path, query or body field, located (`loc`).",
    ),
    (
        "InternalError",
        "500",
        "`Internal server error.`: anything unexpected; the cause is logged, never sent.",
    ),
    (
        "ServiceUnavailable",
        "503",
        "`Service unavailable.`: the database does not answer.",
    ),
];

/// The one secured operation that answers an expired account (and needs no permission): it can
/// never be 403.
const NEVER_FORBIDDEN: (&str, &str) = ("/v1/me/info", "get");

/// Adds the shared error answers to every operation that can give them, unless the handler
/// documents that status itself (with a more precise sentence):
///
/// - 401 and 403 to every secured operation (401 with its `WWW-Authenticate` header);
/// - 422 to every operation with path or query parameters or a body;
/// - 400, 408 and 413 to every operation with a body;
/// - 500 and 503 to every `/v1` operation (all reach the database), 500 to `/metrics`.
struct SharedResponses;

impl SharedResponses {
    fn response(name: &str, description: &str) -> Response {
        let body = if name == "ValidationError" {
            crate::error::ValidationErrorBody::schema()
        } else {
            RefOr::Ref(Ref::from_schema_name("ErrorBody"))
        };
        let mut response = ResponseBuilder::new()
            .description(description)
            .content("application/json", Content::new(Some(body)));
        if name == "Unauthorized" {
            response = response.header(
                "WWW-Authenticate",
                Header::builder()
                    .schema(String::schema())
                    .description(Some("Always `Bearer`."))
                    .build(),
            );
        }
        response.build()
    }

    /// The statuses `operation`, at `path` with `method`, can answer beside its own.
    fn statuses(path: &str, method: &str, operation: &Operation) -> Vec<&'static str> {
        let secured = operation
            .security
            .as_ref()
            .is_some_and(|requirements| !requirements.is_empty());
        let has_body = operation.request_body.is_some();
        let has_parameters = operation.parameters.iter().flatten().any(|parameter| {
            matches!(
                parameter.parameter_in,
                ParameterIn::Path | ParameterIn::Query
            )
        });
        let mut statuses = Vec::new();
        if secured {
            statuses.push("401");
            if (path, method) != NEVER_FORBIDDEN {
                statuses.push("403");
            }
        }
        if has_parameters || has_body {
            statuses.push("422");
        }
        if has_body {
            statuses.extend(["400", "408", "413"]);
        }
        if path.starts_with("/v1/") {
            statuses.extend(["500", "503"]);
        } else if path == "/metrics" {
            statuses.push("500");
        }
        statuses
    }
}

impl Modify for SharedResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, _, description) in SHARED {
            components.responses.insert(
                (*name).to_owned(),
                RefOr::T(Self::response(name, description)),
            );
        }
        for (path, item) in &mut openapi.paths.paths {
            for (method, operation) in [
                ("get", &mut item.get),
                ("put", &mut item.put),
                ("post", &mut item.post),
                ("delete", &mut item.delete),
                ("patch", &mut item.patch),
            ] {
                let Some(operation) = operation else { continue };
                for status in Self::statuses(path, method, operation) {
                    let Some((name, ..)) = SHARED.iter().find(|(_, code, _)| *code == status)
                    else {
                        continue;
                    };
                    operation
                        .responses
                        .responses
                        .entry(status.to_owned())
                        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(*name)));
                }
            }
        }
    }
}

/// Names `X-Request-Id` on every answer of every operation, as the server sends it on each (see
/// [`crate::request_id`]): added here once rather than to each handler's responses.
struct RequestIdHeader;

impl RequestIdHeader {
    fn header() -> Header {
        Header::builder()
            .schema(String::schema())
            .description(Some(
                "The request's id: the client's `X-Request-Id` when it is 1 to 128 characters of \
                 `[A-Za-z0-9._:-]`, a new UUID otherwise. Logs of the request carry it.",
            ))
            .build()
    }

    fn add(response: &mut RefOr<Response>) {
        if let RefOr::T(response) = response {
            response
                .headers
                .insert(X_REQUEST_ID.to_owned(), Self::header());
        }
    }
}

/// The header's name as the document writes it.
const X_REQUEST_ID: &str = "X-Request-Id";

impl Modify for RequestIdHeader {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        if let Some(components) = openapi.components.as_mut() {
            components.responses.values_mut().for_each(Self::add);
        }
        for item in openapi.paths.paths.values_mut() {
            for operation in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                operation
                    .responses
                    .responses
                    .values_mut()
                    .for_each(Self::add);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn document() -> serde_json::Value {
        serde_json::to_value(ApiDoc::openapi()).unwrap()
    }

    fn operations(document: &serde_json::Value) -> Vec<(String, String, serde_json::Value)> {
        let mut found = Vec::new();
        for (path, item) in document["paths"].as_object().unwrap() {
            for (method, operation) in item.as_object().unwrap() {
                found.push((path.clone(), method.clone(), operation.clone()));
            }
        }
        found
    }

    #[test]
    fn every_secured_operation_documents_401_and_all_but_one_403() {
        let document = document();
        for (path, method, operation) in operations(&document) {
            let responses = &operation["responses"];
            if operation["security"].is_array() {
                assert!(responses["401"].is_object(), "{method} {path}");
                assert_eq!(
                    responses["403"].is_object(),
                    (path.as_str(), method.as_str()) != NEVER_FORBIDDEN,
                    "{method} {path}"
                );
            }
        }
    }

    #[test]
    fn every_operation_with_a_body_documents_the_body_failures() {
        let document = document();
        for (path, method, operation) in operations(&document) {
            let has_body = operation["requestBody"].is_object();
            for status in ["400", "408", "413"] {
                // The sign-on callback has no body but answers 400 for a sign-in it refuses.
                let callback_refusal = status == "400" && path == "/v1/auth/oidc/callback";
                assert_eq!(
                    operation["responses"][status].is_object(),
                    has_body || callback_refusal,
                    "{status} on {method} {path}"
                );
            }
            if has_body {
                assert!(operation["responses"]["422"].is_object(), "{method} {path}");
            }
        }
    }

    #[test]
    fn every_v1_operation_can_be_unavailable_or_fail() {
        let document = document();
        for (path, method, operation) in operations(&document) {
            if path.starts_with("/v1/") {
                for status in ["500", "503"] {
                    assert!(
                        operation["responses"][status].is_object(),
                        "{status} on {method} {path}"
                    );
                }
            }
        }
    }

    #[test]
    fn every_answer_of_every_operation_names_its_request_id() {
        let document = document();
        let shared = &document["components"]["responses"];
        let mut answers = 0;
        for (path, method, operation) in operations(&document) {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let response = match response["$ref"].as_str() {
                    Some(reference) => {
                        &shared[reference.trim_start_matches("#/components/responses/")]
                    }
                    None => response,
                };
                assert!(
                    response["headers"][X_REQUEST_ID].is_object(),
                    "{status} of {method} {path}"
                );
                answers += 1;
            }
        }
        assert!(answers > 200, "{answers}");
        assert!(document["paths"]["/"]["get"]["responses"]["302"].is_object());
    }

    #[test]
    fn a_handlers_own_sentence_is_kept() {
        let document = document();
        let unauthorized = &document["paths"]["/v1/me/info"]["patch"]["responses"]["401"];
        assert!(
            unauthorized["description"]
                .as_str()
                .unwrap()
                .contains("Invalid current password."),
            "{unauthorized}"
        );
    }

    #[test]
    fn request_fields_follow_the_named_schemas_of_their_rules() {
        let document = document();
        let rules = [
            ("name", "Name"),
            ("email", "Email"),
            ("password", "Password"),
            ("expires", "Expiry"),
        ];
        let mut checked = 0;
        for (schema, body) in document["components"]["schemas"].as_object().unwrap() {
            // Login takes any text: a malformed address or password is simply wrong.
            if !schema.ends_with("Request") || schema == "LoginRequest" {
                continue;
            }
            for (field, rule) in rules {
                let property = &body["properties"][field];
                if property.is_null() {
                    continue;
                }
                let target = format!("#/components/schemas/{rule}");
                let refers = property["$ref"] == target.as_str()
                    || property["oneOf"].as_array().is_some_and(|options| {
                        options.iter().any(|o| o["$ref"] == target.as_str())
                    });
                assert!(refers, "{schema}.{field}: {property}");
                checked += 1;
            }
        }
        assert!(checked >= 20, "{checked}");
    }

    #[test]
    fn list_parameters_are_enumerated() {
        let document = document();
        let parameters = document["paths"]["/v1/admin/users"]["get"]["parameters"]
            .as_array()
            .unwrap();
        let schema = |name: &str| {
            parameters
                .iter()
                .find(|parameter| parameter["name"] == name)
                .unwrap()["schema"]
                .clone()
        };
        assert_eq!(
            schema("order_by")["enum"],
            serde_json::json!(["id", "name", "email", "created", "updated"])
        );
        assert_eq!(
            schema("order_direction")["enum"],
            serde_json::json!(["asc", "desc"])
        );
    }
}
