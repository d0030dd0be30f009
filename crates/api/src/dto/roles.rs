//! Role bodies, with permissions and limits.

use gatehouse_domain::{Limit, Limits, NewRole, Permission, Permissions, Role, RolePatch};
use serde::Serialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa::openapi::schema::ArrayBuilder;
use utoipa::openapi::{RefOr, Schema};

use super::schema::{LimitTypeWord, NameText, PermissionWord};
use super::unix;
use crate::error::LocPart;
use crate::input::{
    AtLeast, Components, FieldKind, Fields, FromJson, Nullable, Optional, Required, component,
    reference, request_body,
};

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

request_body! {
    /// A rate limit as a client sends it. `router` (OpenGateLLM 0.4.1's name for `router_id`) is
    /// accepted in its place; when both are given, `router_id` is read and `router` ignored.
    pub struct LimitRequest {
        /// The router it applies to, >= 1.
        router_id or "router": Required<AtLeast<1>>,
        /// `tpm`, `tpd`, `rpm` or `rpd`.
        kind as "type": Required<LimitTypeWord>,
        /// An integer >= 0, or `null` (or absent) for no limit.
        value: Nullable<AtLeast<0>>,
    }
}

request_body! {
    /// What creates a role.
    pub struct CreateRoleRequest -> NewRole {
        /// Its name, unique.
        name: Required<NameText>,
        /// Its permissions (default none); one given twice is held once. Not `null`.
        permissions: Optional<PermissionList>,
        /// Its limits (default none); two with the same `router_id` and `type` are 422. Not `null`.
        limits: Optional<LimitList>,
    }
}

impl From<CreateRoleRequest> for NewRole {
    fn from(body: CreateRoleRequest) -> Self {
        Self {
            name: body.name,
            permissions: body.permissions.unwrap_or_default(),
            limits: body.limits.unwrap_or_default(),
        }
    }
}

request_body! {
    /// A patch of a role: `permissions` and `limits`, when given, replace the whole lists. No field
    /// may be `null`.
    pub struct UpdateRoleRequest -> RolePatch {
        /// A new name, unique.
        name: Optional<NameText>,
        /// The new permissions, replacing the old ones.
        permissions: Optional<PermissionList>,
        /// The new limits, replacing the old ones; two with the same `router_id` and `type` are 422.
        limits: Optional<LimitList>,
    }
}

impl From<UpdateRoleRequest> for RolePatch {
    fn from(body: UpdateRoleRequest) -> Self {
        Self {
            name: body.name,
            permissions: body.permissions,
            limits: body.limits,
        }
    }
}

/// A list of permissions; each unknown permission is reported at its index, one given twice is
/// held once.
pub struct PermissionList;

impl<C> FieldKind<C> for PermissionList {
    type Value = Permissions;

    fn value_schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(reference::<PermissionWord>())
            .into()
    }

    fn components(components: &mut Components) {
        component::<PermissionWord>(components);
    }

    fn read(value: Value, _: &C, fields: &mut Fields, name: &str) -> Option<Permissions> {
        let items: Vec<Value> = fields.convert(name, value, Ok)?;
        let mut permissions = Vec::with_capacity(items.len());
        for (index, item) in items.into_iter().enumerate() {
            match String::from_json(item).and_then(|word| word.parse::<Permission>()) {
                Ok(permission) => permissions.push(permission),
                Err(error) => {
                    let mut loc = fields.loc(name);
                    loc.push(LocPart::Index(index));
                    fields.push(loc, error);
                }
            }
        }
        Some(permissions.into_iter().collect())
    }
}

/// A list of limits, each read by [`LimitRequest`]'s table: each invalid limit is reported at its
/// index, two sharing a router and a type on the list.
pub struct LimitList;

impl<C> FieldKind<C> for LimitList {
    type Value = Limits;

    fn value_schema() -> RefOr<Schema> {
        ArrayBuilder::new()
            .items(reference::<LimitRequest>())
            .into()
    }

    fn components(components: &mut Components) {
        component::<LimitRequest>(components);
    }

    fn read(value: Value, _: &C, fields: &mut Fields, name: &str) -> Option<Limits> {
        let items: Vec<Value> = fields.convert(name, value, Ok)?;
        let mut limits = Vec::with_capacity(items.len());
        let mut valid = true;
        for (index, item) in items.into_iter().enumerate() {
            let mut loc = fields.loc(name);
            loc.push(LocPart::Index(index));
            let mut limit_fields = match Map::from_json(item) {
                Ok(object) => Fields::new(object, loc.clone()),
                Err(error) => {
                    fields.push(loc, error);
                    valid = false;
                    continue;
                }
            };
            if let Some(limit) = LimitRequest::read_fields(&mut limit_fields, &()) {
                match Limit::new(limit.router_id, limit.kind, limit.value.apply(None)) {
                    Ok(limit) => limits.push(limit),
                    Err(error) => limit_fields.push(loc, error),
                }
            }
            valid &= !limit_fields.has_errors();
            fields.absorb(limit_fields);
        }
        if !valid {
            return None;
        }
        let loc = fields.loc(name);
        match Limits::new(limits) {
            Ok(limits) => Some(limits),
            Err(error) => {
                fields.push(loc, error);
                None
            }
        }
    }
}
