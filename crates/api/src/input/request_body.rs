//! One description per request body: a table of its fields, from which [`request_body!`] makes
//! both the parser and the OpenAPI schema, so that the two cannot disagree.
//!
//! Each field is listed once, in the order it is read (the order its errors are reported in): its
//! JSON name, its presence ([`Required`](super::Required), [`Optional`](super::Optional),
//! [`Nullable`](super::Nullable)) and its kind ([`FieldKind`](super::FieldKind): the JSON type
//! read, the domain rule that parses it, its schema), with its doc text. A field the parser reads
//! is therefore always a documented property, and a documented property always read: there is no
//! second list to forget. `crates/api/tests/request_bodies.rs` checks it from the outside, against
//! the served document.

use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};

use super::presence::Presence;

/// Declares a request body by its table of fields: a struct holding what each field reads as
/// (the field's [`Presence::Output`](super::Presence::Output)), its `read_fields` (every field
/// read in the table's order, each refusal recorded, none stopping the others) and its OpenAPI
/// schema (`PartialSchema` and `ToSchema`, named after the struct). No `Debug`: bodies may hold
/// passwords and keys.
///
/// ```text
/// request_body! {
///     /// Doc of the body: the schema's description.
///     #[refuse(organization = "A project cannot move to another organization.")]
///     pub struct UpdateProjectRequest -> ProjectPatch {
///         /// Doc of the field: the property's description.
///         name: Optional<NameText>,
///         kind as "type": Required<LimitTypeWord>,   // a JSON name that is a Rust keyword
///         router_id or "router": Required<AtLeast<1>>, // an older name, read when this one is absent
///     }
/// }
/// ```
///
/// With `-> Output`, it also has `parse(body)`, which reads the whole body and converts it with
/// `From<Self> for Output`: the conversion sees only what the table read. `Name(Context)` passes a
/// context to the kinds that need one (`DateTime<Utc>`, the time an expiry must lie after), and
/// `parse` then takes it: `parse(body, now)`. `#[refuse(field = "message")]` refuses a field
/// whatever its value (`extra_forbidden`), before the others are read; the schema's description
/// says so. Without `-> Output` the struct is an object nested in a body (a limit of a list).
macro_rules! request_body {
    (@json $field:ident) => {
        stringify!($field)
    };
    (@json $field:ident $json:literal) => {
        $json
    };
    (@parse $name:ident [$($context:ty)?] []) => {};
    (@parse $name:ident [] [$output:ty]) => {
        impl $name {
            /// Reads the body by its table of fields (every refused field reported at once, in the
            /// table's order), then converts it.
            ///
            /// # Errors
            /// 422 with every refused field.
            pub fn parse(
                body: $crate::input::JsonObject,
            ) -> Result<$output, $crate::error::ApiError> {
                let mut fields = body.fields();
                let read = Self::read_fields(&mut fields, &());
                fields.finish(|| read).map(<$output>::from)
            }
        }
    };
    (@parse $name:ident [$context:ty] [$output:ty]) => {
        impl $name {
            /// Reads the body by its table of fields (every refused field reported at once, in the
            /// table's order), then converts it. `context` is what some fields are read against
            /// (the time now, for an expiry).
            ///
            /// # Errors
            /// 422 with every refused field.
            pub fn parse(
                body: $crate::input::JsonObject,
                context: $context,
            ) -> Result<$output, $crate::error::ApiError> {
                let mut fields = body.fields();
                let read = Self::read_fields(&mut fields, &context);
                fields.finish(|| read).map(<$output>::from)
            }
        }
    };
    (
        @define [$context:ty]
        $(#[doc = $doc:literal])*
        $(#[refuse($refused:ident = $reason:literal)])*
        pub struct $name:ident {
            $(
                $(#[doc = $field_doc:literal])*
                $field:ident $(as $json:literal)? $(or $alias:literal)?: $presence:ty
            ),* $(,)?
        }
    ) => {
        $(#[doc = $doc])*
        pub struct $name {
            $(
                $(#[doc = $field_doc])*
                $field: <$presence as $crate::input::Presence<$context>>::Output,
            )*
        }

        impl $name {
            /// Reads the fields of the table from `fields`, in its order, after refusing those it
            /// refuses: `None` when one was refused (every refusal is in `fields`).
            pub(crate) fn read_fields(
                fields: &mut $crate::input::Fields,
                context: &$context,
            ) -> Option<Self> {
                $(fields.forbid(stringify!($refused), $reason);)*
                $(
                    let name = fields.pick(
                        $crate::input::request_body!(@json $field $($json)?),
                        &[$($alias),*],
                    );
                    let $field =
                        <$presence as $crate::input::Presence<$context>>::read(fields, name, context);
                )*
                Some(Self { $($field: $field?),* })
            }
        }

        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::Schema> {
                $crate::input::BodySchema::new(&[$($doc),*])
                    $(.refuses(stringify!($refused), $reason))*
                    $(
                        .field::<$presence, $context>(
                            $crate::input::request_body!(@json $field $($json)?),
                            &[$($field_doc),*],
                            &[$($alias),*],
                        )
                    )*
                    .build()
            }
        }

        impl utoipa::ToSchema for $name {
            fn name() -> std::borrow::Cow<'static, str> {
                std::borrow::Cow::Borrowed(stringify!($name))
            }

            fn schemas(schemas: &mut $crate::input::Components) {
                $(<$presence as $crate::input::Presence<$context>>::components(schemas);)*
            }
        }
    };
    (
        $(#[doc = $doc:literal])*
        $(#[refuse($refused:ident = $reason:literal)])*
        pub struct $name:ident $(-> $output:ty)? { $($fields:tt)* }
    ) => {
        $crate::input::request_body! {
            @define [()]
            $(#[doc = $doc])*
            $(#[refuse($refused = $reason)])*
            pub struct $name { $($fields)* }
        }
        $crate::input::request_body!(@parse $name [] [$($output)?]);
    };
    (
        $(#[doc = $doc:literal])*
        $(#[refuse($refused:ident = $reason:literal)])*
        pub struct $name:ident($context:ty) $(-> $output:ty)? { $($fields:tt)* }
    ) => {
        $crate::input::request_body! {
            @define [$context]
            $(#[doc = $doc])*
            $(#[refuse($refused = $reason)])*
            pub struct $name { $($fields)* }
        }
        $crate::input::request_body!(@parse $name [$context] [$($output)?]);
    };
}

pub(crate) use request_body;

/// The schema of a request body, built from its table by `request_body!`.
pub struct BodySchema {
    object: ObjectBuilder,
    /// The paragraphs of its description.
    description: Vec<String>,
}

impl BodySchema {
    /// A body object described by its doc lines.
    pub fn new(doc: &[&str]) -> Self {
        Self {
            object: ObjectBuilder::new().schema_type(SchemaType::new(Type::Object)),
            description: vec![doc_text(doc)],
        }
    }

    /// Says that field `name` is refused whatever its value, with `reason`.
    #[must_use]
    pub fn refuses(mut self, name: &str, reason: &str) -> Self {
        self.description
            .push(format!("Sending `{name}` is 422: `{reason}`"));
        self
    }

    /// Adds field `name`, read as `P` says, described by its doc lines; `aliases` are the older
    /// names it is read under when it is absent.
    #[must_use]
    pub fn field<P: Presence<C>, C>(mut self, name: &str, doc: &[&str], aliases: &[&str]) -> Self {
        let lines: Vec<String> = std::iter::once(doc_text(doc))
            .chain(aliases.iter().map(|alias| {
                format!("Also read from `{alias}` (an older name), when `{name}` is absent.")
            }))
            .filter(|line| !line.is_empty())
            .collect();
        self.object = self
            .object
            .property(name, describe(P::schema(), lines.join("\n")));
        if P::REQUIRED {
            self.object = self.object.required(name);
        }
        self
    }

    /// The schema.
    pub fn build(self) -> RefOr<Schema> {
        let paragraphs: Vec<String> = self
            .description
            .into_iter()
            .filter(|paragraph| !paragraph.is_empty())
            .collect();
        let description = (!paragraphs.is_empty()).then(|| paragraphs.join("\n\n"));
        self.object.description(description).into()
    }
}

/// Doc comment lines as one description, as utoipa writes them: each trimmed, one per line.
fn doc_text(doc: &[&str]) -> String {
    doc.iter()
        .map(|line| line.trim())
        .collect::<Vec<_>>()
        .join("\n")
}

/// `schema` with `description`, where a schema of this shape can hold one.
fn describe(schema: RefOr<Schema>, description: String) -> RefOr<Schema> {
    if description.is_empty() {
        return schema;
    }
    match schema {
        RefOr::Ref(mut reference) => {
            reference.description = description;
            RefOr::Ref(reference)
        }
        RefOr::T(Schema::Object(mut object)) => {
            object.description = Some(description);
            RefOr::T(Schema::Object(object))
        }
        RefOr::T(Schema::Array(mut array)) => {
            array.description = Some(description);
            RefOr::T(Schema::Array(array))
        }
        RefOr::T(Schema::OneOf(mut one_of)) => {
            one_of.description = Some(description);
            RefOr::T(Schema::OneOf(one_of))
        }
        RefOr::T(Schema::AllOf(mut all_of)) => {
            all_of.description = Some(description);
            RefOr::T(Schema::AllOf(all_of))
        }
        RefOr::T(Schema::AnyOf(mut any_of)) => {
            any_of.description = Some(description);
            RefOr::T(Schema::AnyOf(any_of))
        }
        other @ RefOr::T(_) => other,
    }
}

#[cfg(test)]
mod tests {
    use gatehouse_domain::chrono::TimeZone;
    use gatehouse_domain::{DateTime, Patch, Utc};
    use serde_json::{Value, json};
    use utoipa::{PartialSchema, ToSchema};

    use crate::dto::schema::ExpiryTime;
    use crate::error::{ApiError, LocPart};
    use crate::input::{AtLeast, JsonObject, Nullable, Optional, Required, Text};

    type Read = (String, Option<i64>, Patch<DateTime<Utc>>);

    request_body! {
        /// A body of every shape.
        #[refuse(owner = "The owner cannot change.")]
        pub struct Sample(DateTime<Utc>) -> Read {
            /// Its name.
            name: Required<Text>,
            /// A count.
            count or "old_count": Optional<AtLeast<1>>,
            /// An expiry,
            /// on two lines.
            expiry as "type": Nullable<ExpiryTime>,
        }
    }

    impl From<Sample> for Read {
        fn from(body: Sample) -> Self {
            (body.name, body.count, body.expiry)
        }
    }

    fn now() -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000, 0).unwrap()
    }

    fn parse(body: Value) -> Result<Read, ApiError> {
        let Value::Object(object) = body else {
            panic!("not an object")
        };
        Sample::parse(JsonObject(object), now())
    }

    fn refusals(body: Value) -> Vec<(String, String)> {
        match parse(body) {
            Err(ApiError::Invalid(errors)) => errors
                .into_iter()
                .map(|error| match &error.loc[..] {
                    [LocPart::Key(body), LocPart::Key(field)] if body == "body" => {
                        (field.clone(), error.kind)
                    }
                    other => panic!("unexpected loc {other:?}"),
                })
                .collect(),
            Err(other) => panic!("expected Invalid, got {other:?}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn refusals_come_first_then_every_field_in_the_tables_order() {
        let found = refusals(json!({"type": "soon", "count": 0, "owner": null}));
        let expected = [
            ("owner", "extra_forbidden"),
            ("name", "missing"),
            ("count", "greater_than_equal"),
            ("type", "int_type"),
        ];
        assert_eq!(
            found,
            expected.map(|(field, kind)| (field.to_owned(), kind.to_owned()))
        );
    }

    #[test]
    fn the_context_reaches_the_kinds_that_need_it() {
        let past = now().timestamp();
        assert_eq!(
            refusals(json!({"name": "a", "type": past})),
            [("type".to_owned(), "value_error".to_owned())]
        );
        let read = parse(json!({"name": "a", "type": past + 1})).unwrap();
        assert_eq!(read.2, Patch::Set(Utc.timestamp_opt(past + 1, 0).unwrap()));
    }

    #[test]
    fn an_alias_stands_in_only_for_an_absent_field() {
        let read = parse(json!({"name": "a", "old_count": 3})).unwrap();
        assert_eq!(read.1, Some(3));
        let read = parse(json!({"name": "a", "count": 2, "old_count": "x"})).unwrap();
        assert_eq!(read.1, Some(2));
        assert_eq!(
            refusals(json!({"name": "a", "old_count": 0})),
            [("old_count".to_owned(), "greater_than_equal".to_owned())]
        );
    }

    #[test]
    fn the_schema_is_the_table() {
        let schema = serde_json::to_value(Sample::schema()).unwrap();
        assert_eq!(Sample::name(), "Sample");
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], json!(["name"]));
        assert_eq!(
            schema["description"],
            "A body of every shape.\n\nSending `owner` is 422: `The owner cannot change.`"
        );
        assert_eq!(
            schema["properties"]["name"],
            json!({"type": "string", "description": "Its name."})
        );
        assert_eq!(
            schema["properties"]["count"],
            json!({
                "type": "integer",
                "format": "int64",
                "minimum": 1,
                "description": "A count.\nAlso read from `old_count` (an older name), when `count` is absent.",
            })
        );
        assert_eq!(
            schema["properties"]["type"],
            json!({
                "oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Expiry"}],
                "description": "An expiry,\non two lines.",
            })
        );
        let mut components = Vec::new();
        Sample::schemas(&mut components);
        let names: Vec<_> = components.iter().map(|(name, _)| name.as_str()).collect();
        assert_eq!(names, ["Expiry"]);
    }
}
