//! Whether a body field may be absent or `null`, and what each case means: the same three words
//! for the parser and the document.

use std::marker::PhantomData;

use gatehouse_domain::{Patch, ValueError};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, OneOfBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};

use super::fields::Fields;
use super::kinds::{Components, FieldKind};

/// How a field of kind `K` is read: whether it may be absent or `null`, and what it then reads as.
pub trait Presence<C> {
    /// What the field reads as.
    type Output;

    /// Whether the field must be present.
    const REQUIRED: bool;

    /// Reads field `name` of `fields`; `None` when it was refused (the refusal is in `fields`).
    fn read(fields: &mut Fields, name: &str, context: &C) -> Option<Self::Output>;

    /// The schema of the field's values, `null` included where it may be `null`.
    fn schema() -> RefOr<Schema>;

    /// Adds the named schemas the field's schema refers to.
    fn components(components: &mut Components);
}

/// A field that must be present and not `null` (a missing one is `missing`).
pub struct Required<K>(PhantomData<K>);

/// A field that may be absent but not `null` (absent: the default, or "keep" in a patch).
pub struct Optional<K>(PhantomData<K>);

/// A field that may be absent (keep) or `null` (clear, or "none" where nothing is stored).
pub struct Nullable<K>(PhantomData<K>);

impl<C, K: FieldKind<C>> Presence<C> for Required<K> {
    type Output = K::Value;

    const REQUIRED: bool = true;

    fn read(fields: &mut Fields, name: &str, context: &C) -> Option<K::Value> {
        let Some(value) = fields.take(name) else {
            let loc = fields.loc(name);
            fields.push(loc, ValueError::new("missing", "Field required"));
            return None;
        };
        K::read(value, context, fields, name)
    }

    fn schema() -> RefOr<Schema> {
        K::value_schema()
    }

    fn components(components: &mut Components) {
        K::components(components);
    }
}

impl<C, K: FieldKind<C>> Presence<C> for Optional<K> {
    type Output = Option<K::Value>;

    const REQUIRED: bool = false;

    fn read(fields: &mut Fields, name: &str, context: &C) -> Option<Option<K::Value>> {
        match fields.take(name) {
            Some(value) => K::read(value, context, fields, name).map(Some),
            None => Some(None),
        }
    }

    fn schema() -> RefOr<Schema> {
        K::value_schema()
    }

    fn components(components: &mut Components) {
        K::components(components);
    }
}

impl<C, K: FieldKind<C>> Presence<C> for Nullable<K> {
    type Output = Patch<K::Value>;

    const REQUIRED: bool = false;

    fn read(fields: &mut Fields, name: &str, context: &C) -> Option<Patch<K::Value>> {
        match fields.take(name) {
            None => Some(Patch::Keep),
            Some(Value::Null) => Some(Patch::Clear),
            Some(value) => K::read(value, context, fields, name).map(Patch::Set),
        }
    }

    fn schema() -> RefOr<Schema> {
        or_null(K::value_schema())
    }

    fn components(components: &mut Components) {
        K::components(components);
    }
}

/// `schema`, or `null`: an inline type gains `null` among its types, anything else becomes one
/// of `null` and itself (as utoipa writes an `Option`).
fn or_null(schema: RefOr<Schema>) -> RefOr<Schema> {
    match schema {
        RefOr::T(Schema::Object(mut object)) if object.schema_type != SchemaType::AnyValue => {
            object.schema_type = match object.schema_type {
                SchemaType::Type(single) => SchemaType::Array(vec![single, Type::Null]),
                SchemaType::Array(mut types) => {
                    types.push(Type::Null);
                    SchemaType::Array(types)
                }
                SchemaType::AnyValue => SchemaType::AnyValue,
            };
            RefOr::T(Schema::Object(object))
        }
        other => OneOfBuilder::new()
            .item(ObjectBuilder::new().schema_type(SchemaType::new(Type::Null)))
            .item(other)
            .into(),
    }
}
