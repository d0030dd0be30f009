//! Role bodies, with permissions and limits.

use gatehouse_domain::{
    Limit, LimitType, Limits, Name, NewRole, Permission, Permissions, Role, RolePatch, ValueError,
};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;

use super::schema::{LimitTypeWord, NameText, PermissionWord};
use super::unix;
use crate::error::{ApiError, LocPart};
use crate::input::{Fields, FromJson, JsonObject};

/// A rate limit, written with both `router_id` (OpenGateLLM 0.4.5) and `router` (0.4.1).
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Limit)]
pub struct LimitResponse {
    /// The router it applies to.
    pub router_id: i64,
    /// The same router, under its 0.4.1 name.
    pub router: i64,
    /// `tpm`, `tpd`, `rpm` or `rpd`.
    #[serde(rename = "type")]
    #[schema(example = "rpm")]
    pub kind: &'static str,
    /// The ceiling; `null` for no limit.
    pub value: Option<i64>,
}

impl From<&Limit> for LimitResponse {
    fn from(limit: &Limit) -> Self {
        Self {
            router_id: limit.router_id(),
            router: limit.router_id(),
            kind: limit.kind().as_str(),
            value: limit.value(),
        }
    }
}

/// A role.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Role)]
pub struct RoleResponse {
    /// Always `role`.
    #[schema(value_type = String, example = "role")]
    pub object: &'static str,
    /// Its id.
    pub id: i64,
    /// Its name.
    pub name: String,
    /// `admin`, `create_public_collection`, `read_metric`, `provide_models`.
    pub permissions: Vec<&'static str>,
    /// Its rate limits.
    pub limits: Vec<LimitResponse>,
    /// How many users hold it.
    pub users: i64,
    /// Creation time, Unix seconds.
    pub created: i64,
    /// Last change, Unix seconds.
    pub updated: i64,
}

impl From<Role> for RoleResponse {
    fn from(role: Role) -> Self {
        Self {
            object: "role",
            id: role.id.get(),
            name: role.name.into_string(),
            permissions: role.permissions.iter().map(Permission::as_str).collect(),
            limits: role
                .limits
                .as_slice()
                .iter()
                .map(LimitResponse::from)
                .collect(),
            users: role.users,
            created: unix(role.created),
            updated: unix(role.updated),
        }
    }
}

/// A rate limit as a client sends it. `router` (OpenGateLLM 0.4.1's name for `router_id`) is
/// accepted in its place; when both are given, `router_id` is read and `router` ignored.
#[derive(Debug, ToSchema)]
pub struct LimitRequest {
    /// The router it applies to, >= 1.
    #[schema(minimum = 1)]
    pub router_id: i64,
    /// `tpm`, `tpd`, `rpm` or `rpd`.
    #[schema(rename = "type")]
    pub kind: LimitTypeWord,
    /// An integer >= 0, or `null` (or absent) for no limit.
    #[schema(minimum = 0)]
    pub value: Option<i64>,
}

/// What creates a role.
#[derive(Debug, ToSchema)]
pub struct CreateRoleRequest {
    /// Its name, unique.
    pub name: NameText,
    /// Its permissions (default none); one given twice is held once. Not `null`.
    #[schema(required = false)]
    pub permissions: Vec<PermissionWord>,
    /// Its limits (default none); two with the same `router_id` and `type` are 422. Not `null`.
    #[schema(required = false)]
    pub limits: Vec<LimitRequest>,
}

impl CreateRoleRequest {
    /// Reads and checks the body.
    ///
    /// # Errors
    /// 422 with every invalid field.
    pub fn parse(body: JsonObject) -> Result<NewRole, ApiError> {
        let mut fields = body.fields();
        let name = fields.required_as("name", |name: String| Name::parse(&name));
        let permissions = permissions(&mut fields);
        let limits = limits(&mut fields);
        fields.finish(|| {
            Some(NewRole {
                name: name?,
                permissions: permissions.unwrap_or_default(),
                limits: limits.unwrap_or_default(),
            })
        })
    }
}

/// A patch of a role: `permissions` and `limits`, when given, replace the whole lists. No field
/// may be `null`.
#[derive(Debug, ToSchema)]
pub struct UpdateRoleRequest {
    /// A new name, unique.
    #[schema(required = false)]
    pub name: NameText,
    /// The new permissions, replacing the old ones.
    #[schema(required = false)]
    pub permissions: Vec<PermissionWord>,
    /// The new limits, replacing the old ones; two with the same `router_id` and `type` are 422.
    #[schema(required = false)]
    pub limits: Vec<LimitRequest>,
}

impl UpdateRoleRequest {
    /// Reads and checks the body.
    ///
    /// # Errors
    /// 422 with every invalid field.
    pub fn parse(body: JsonObject) -> Result<RolePatch, ApiError> {
        let mut fields = body.fields();
        let name = fields.optional_as("name", |name: String| Name::parse(&name));
        let permissions = permissions(&mut fields);
        let limits = limits(&mut fields);
        fields.finish(|| {
            Some(RolePatch {
                name,
                permissions,
                limits,
            })
        })
    }
}

/// The `permissions` list, if present; each unknown permission is reported at its index.
fn permissions(fields: &mut Fields) -> Option<Permissions> {
    let items: Vec<Value> = fields.optional("permissions")?;
    let mut permissions = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        match String::from_json(item).and_then(|word| word.parse::<Permission>()) {
            Ok(permission) => permissions.push(permission),
            Err(error) => {
                let mut loc = fields.loc("permissions");
                loc.push(LocPart::Index(index));
                fields.push(loc, error);
            }
        }
    }
    Some(permissions.into_iter().collect())
}

/// The `limits` list, if present; each invalid limit is reported at its index, duplicates on the
/// list.
pub(crate) fn limits(fields: &mut Fields) -> Option<Limits> {
    let items: Vec<Value> = fields.optional("limits")?;
    let mut limits = Vec::with_capacity(items.len());
    let mut valid = true;
    for (index, item) in items.into_iter().enumerate() {
        let mut loc = fields.loc("limits");
        loc.push(LocPart::Index(index));
        let mut limit_fields = match Map::from_json(item) {
            Ok(object) => Fields::new(object, loc.clone()),
            Err(error) => {
                fields.push(loc, error);
                valid = false;
                continue;
            }
        };
        match limit(&mut limit_fields) {
            Some(Ok(limit)) => limits.push(limit),
            Some(Err(error)) => limit_fields.push(loc, error),
            None => {}
        }
        valid &= !limit_fields.has_errors();
        fields.absorb(limit_fields);
    }
    if !valid {
        return None;
    }
    let loc = fields.loc("limits");
    match Limits::new(limits) {
        Ok(limits) => Some(limits),
        Err(error) => {
            fields.push(loc, error);
            None
        }
    }
}

/// One limit object: `None` when a field was invalid (already recorded, on that field), `Some(Err)`
/// when the fields were well typed but the limit is not valid.
fn limit(fields: &mut Fields) -> Option<Result<Limit, ValueError>> {
    let router_field = if fields.has("router_id") || !fields.has("router") {
        "router_id"
    } else {
        "router"
    };
    let router = fields.required_as(router_field, |id: i64| at_least(id, 1));
    let kind = fields.required_as("type", |word: String| word.parse::<LimitType>());
    let value = fields
        .nullable_as("value", |value: i64| at_least(value, 0))
        .apply(None);
    if fields.has_errors() {
        return None;
    }
    Some(Limit::new(router?, kind?, value))
}

/// `value`, if it is at least `minimum`; FastAPI's `greater_than_equal` otherwise.
fn at_least(value: i64, minimum: i64) -> Result<i64, ValueError> {
    if value >= minimum {
        Ok(value)
    } else {
        Err(ValueError::new(
            "greater_than_equal",
            format!("Input should be greater than or equal to {minimum}."),
        ))
    }
}
