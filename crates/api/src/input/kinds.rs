//! Kinds of body fields: each is the one description of a field's value, read by both the parser
//! (the JSON type it is read from and the domain rule that parses it) and the OpenAPI document (its
//! schema). The kinds of domain values (`Name`, `Email`...) are in `dto::schema`; here are those
//! that need no domain rule.

use std::marker::PhantomData;

use gatehouse_domain::{Secret, ValueError};
use serde_json::Value;
use utoipa::ToSchema;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{Ref, RefOr, Schema};

use super::fields::Fields;

/// Named schemas, as utoipa collects them for the document's components.
pub type Components = Vec<(String, RefOr<Schema>)>;

/// What a body field holds: the domain value it becomes, how a JSON value is read into it, and the
/// schema of the values it accepts. `C` is what reading may need besides the value (the time now,
/// for an expiry); most kinds read in any context.
pub trait FieldKind<C = ()> {
    /// The value read.
    type Value;

    /// The schema of a value (never `null`: whether a field may be `null` is its presence's to
    /// say): a reference to a named schema, or inline.
    fn value_schema() -> RefOr<Schema>;

    /// Adds the named schemas [`value_schema`](Self::value_schema) refers to.
    fn components(_components: &mut Components) {}

    /// Reads `value`, found in field `name` of `fields` (`null` only where the field may not be
    /// `null`: it is then refused as a value of the wrong type). Every refusal is recorded in
    /// `fields`, on the field or below it; `None` when there was one.
    fn read(value: Value, context: &C, fields: &mut Fields, name: &str) -> Option<Self::Value>;
}

/// A reference to the named schema `T`, as a field's schema.
pub fn reference<T: ToSchema>() -> RefOr<Schema> {
    RefOr::Ref(Ref::from_schema_name(T::name()))
}

/// Adds the named schema `T`, and those it refers to.
pub fn component<T: ToSchema>(components: &mut Components) {
    components.push((T::name().into_owned(), T::schema()));
    T::schemas(components);
}

/// The inline schema of a 64-bit integer.
pub fn integer() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Integer))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
}

/// Any string, as given.
pub struct Text;

impl<C> FieldKind<C> for Text {
    type Value = String;

    fn value_schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::String))
            .into()
    }

    fn read(value: Value, _: &C, fields: &mut Fields, name: &str) -> Option<String> {
        fields.convert(name, value, Ok)
    }
}

/// Any string, kept as a [`Secret`] from the moment it is read: a password or a key.
pub struct SecretText;

impl<C> FieldKind<C> for SecretText {
    type Value = Secret;

    fn value_schema() -> RefOr<Schema> {
        <Text as FieldKind>::value_schema()
    }

    fn read(value: Value, _: &C, fields: &mut Fields, name: &str) -> Option<Secret> {
        fields.convert(name, value, |text: String| Ok(Secret::new(text)))
    }
}

/// The id of an entity, any integer: one that names nothing is the use case's to refuse (404).
pub struct Id<T>(PhantomData<T>);

impl<C, T: From<i64>> FieldKind<C> for Id<T> {
    type Value = T;

    fn value_schema() -> RefOr<Schema> {
        integer().into()
    }

    fn read(value: Value, _: &C, fields: &mut Fields, name: &str) -> Option<T> {
        fields.convert(name, value, |id: i64| Ok(T::from(id)))
    }
}

/// An integer of at least `MIN`, where no domain rule names the bound.
pub struct AtLeast<const MIN: i64>;

impl<C, const MIN: i64> FieldKind<C> for AtLeast<MIN> {
    type Value = i64;

    fn value_schema() -> RefOr<Schema> {
        integer().minimum(Some(MIN)).into()
    }

    fn read(value: Value, _: &C, fields: &mut Fields, name: &str) -> Option<i64> {
        fields.convert(name, value, |number: i64| {
            if number >= MIN {
                Ok(number)
            } else {
                Err(ValueError::new(
                    "greater_than_equal",
                    format!("Input should be greater than or equal to {MIN}."),
                ))
            }
        })
    }
}
