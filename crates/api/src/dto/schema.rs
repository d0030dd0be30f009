//! The kinds of request values: for each, the JSON Schema of what it accepts and the domain rule
//! that reads it, side by side ([`FieldKind`]), so that the request bodies' fields that hold one
//! are documented and parsed by the same description.
//!
//! The schemas are as exact as JSON Schema can be: a value the document admits is one the domain's
//! value types accept, and a value it refuses is one they refuse, so that a client (or a fuzzer)
//! that follows the document is not surprised. The few rules a schema cannot state are in the
//! descriptions: an expiry must lie in the future, names and emails must be unique, two limits may
//! not share a router and type, referenced ids must exist.
//!
//! Most are named schemas (`Name`, `Email`...) that the fields refer to, each with its own
//! description. The bounds come from the domain's own constants, so the document cannot drift from
//! the rules.

use std::borrow::Cow;

use gatehouse_domain::{
    AuditAction, AuditEntity, DateTime, Email, LimitType, Name, Password, Permission, Priority,
    RequestId, Utc, router, tokens,
};
use serde_json::Value;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use super::future_unix;
use crate::input::{Components, FieldKind, Fields, component, integer, reference};

/// The characters `str::trim` removes around a name (Unicode `White_Space`), as inclusive ranges.
const WHITESPACE: &[(char, char)] = &[
    ('\u{9}', '\u{d}'),
    (' ', ' '),
    ('\u{85}', '\u{85}'),
    ('\u{a0}', '\u{a0}'),
    ('\u{1680}', '\u{1680}'),
    ('\u{2000}', '\u{200a}'),
    ('\u{2028}', '\u{2029}'),
    ('\u{202f}', '\u{202f}'),
    ('\u{205f}', '\u{205f}'),
    ('\u{3000}', '\u{3000}'),
];

/// The inside of a regular expression character class matching [`WHITESPACE`], each character
/// written `\uXXXX` (understood alike by ECMA-262, Python and Rust).
fn whitespace_class() -> String {
    WHITESPACE
        .iter()
        .map(|&(first, last)| {
            if first == last {
                format!("\\u{:04x}", u32::from(first))
            } else {
                format!("\\u{:04x}-\\u{:04x}", u32::from(first), u32::from(last))
            }
        })
        .collect()
}

/// What [`Name::parse`] accepts: no NUL character, and once surrounding whitespace is trimmed, 1 to
/// [`Name::MAX_CHARS`] characters. `maxLength` cannot say it (it would count the whitespace that is
/// trimmed), so the length is in the pattern: a first and a last character that are not
/// whitespace, at most `MAX_CHARS - 2` characters between them.
pub fn name_pattern() -> String {
    let ws = whitespace_class();
    let between = Name::MAX_CHARS - 2;
    format!("^[{ws}]*[^{ws}\\u0000](?:[^\\u0000]{{0,{between}}}[^{ws}\\u0000])?[{ws}]*$")
}

/// What the `validator` crate's email check accepts, for ASCII domains: a local part of 1 to 64
/// characters from the HTML specification's set, `@`, and dot-separated domain labels.
pub const EMAIL_PATTERN: &str = concat!(
    "^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}",
    "@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?",
    "(?:\\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$",
);

/// Declares a named schema for request values: a type that stands for them in the request bodies'
/// tables.
macro_rules! value_schema {
    ($(#[$doc:meta])* $type:ident as $name:literal => $schema:expr) => {
        $(#[$doc])*
        #[derive(Debug)]
        pub struct $type;

        impl PartialSchema for $type {
            fn schema() -> RefOr<Schema> {
                $schema.into()
            }
        }

        impl ToSchema for $type {
            fn name() -> Cow<'static, str> {
                Cow::Borrowed($name)
            }
        }
    };
}

fn string() -> ObjectBuilder {
    ObjectBuilder::new().schema_type(SchemaType::new(Type::String))
}

value_schema!(
    /// A name: no NUL character, and 1 to 255 characters once the whitespace around it is trimmed.
    NameText as "Name" => string()
        .description(Some(
            "1 to 255 characters once the whitespace around it is trimmed (the name is stored \
             trimmed), no NUL character.",
        ))
        .min_length(Some(1))
        .pattern(Some(name_pattern()))
        .examples(["Acme"])
);

value_schema!(
    /// An email address as [`Email::parse`] accepts it.
    EmailText as "Email" => string()
        .description(Some(
            "An address as the `validator` crate checks it, at most 254 characters, stored as \
             given. The pattern is its rule for ASCII domains; internationalised domains \
             (`ada@bücher.example`) and IP address literals (`ada@[192.0.2.1]`) are accepted too.",
        ))
        .max_length(Some(Email::MAX_CHARS))
        .pattern(Some(EMAIL_PATTERN))
        .examples(["ada@example.com"])
);

value_schema!(
    /// A new password: [`Password::MIN_CHARS`] to [`Password::MAX_CHARS`] characters, any of them.
    PasswordText as "Password" => string()
        .description(Some("8 to 128 characters, any of them; stored only as an Argon2id hash."))
        .min_length(Some(Password::MIN_CHARS))
        .max_length(Some(Password::MAX_CHARS))
        .examples(["correct horse battery"])
);

value_schema!(
    /// An expiry in Unix seconds, within what the server can represent.
    ExpiryTime as "Expiry" => ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Integer))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .description(Some(
            "Unix seconds, in the future: a time now or past is 422, which a schema cannot say.",
        ))
        .minimum(Some(DateTime::<Utc>::MIN_UTC.timestamp()))
        .maximum(Some(DateTime::<Utc>::MAX_UTC.timestamp()))
        .examples([1_900_000_000])
);

value_schema!(
    /// A time in Unix seconds from the epoch on, within what the server can represent: a `from`
    /// or `to` filter.
    UnixTimeFilter as "UnixTime" => ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Integer))
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .description(Some("Unix seconds, 0 or more."))
        .minimum(Some(0))
        .maximum(Some(DateTime::<Utc>::MAX_UTC.timestamp()))
);

value_schema!(
    /// A request id as [`RequestId::parse`] accepts it.
    RequestIdText as "RequestId" => string()
        .description(Some(
            "1 to 128 characters of `[A-Za-z0-9._:-]`: one per model call, the same when the call \
             is retried.",
        ))
        .min_length(Some(1))
        .max_length(Some(RequestId::MAX_CHARS))
        .pattern(Some(format!(
            "^[A-Za-z0-9{}]{{1,{}}}$",
            RequestId::PUNCTUATION,
            RequestId::MAX_CHARS
        )))
        .examples(["call-7f3a9c"])
);

value_schema!(
    /// One of the permissions.
    PermissionWord as "Permission" => string()
        .enum_values(Some(Permission::ALL.map(Permission::as_str)))
);

value_schema!(
    /// One of the four limit types.
    LimitTypeWord as "LimitType" => string()
        .description(Some("Tokens or requests, per minute or per day."))
        .enum_values(Some(LimitType::ALL.map(LimitType::as_str)))
);

value_schema!(
    /// One of the actions an audit event records.
    AuditActionWord as "AuditAction" => string()
        .enum_values(Some(AuditAction::ALL.iter().map(|action| action.as_str())))
);

value_schema!(
    /// One of the kinds of object an audit event is about.
    AuditEntityWord as "AuditEntityType" => string()
        .enum_values(Some(AuditEntity::ALL.iter().map(|entity| entity.as_str())))
);

/// Makes a type the kind of the fields that hold its values: read from the JSON type `parse`
/// takes, parsed by it (a domain rule), documented by `schema` (a reference to the type's own
/// named schema, or inline).
macro_rules! field_kind {
    ($type:ident => $value:ty, named, $parse:expr) => {
        field_kind!(@impl $type => $value, reference::<Self>(), component::<Self>, $parse);
    };
    ($(#[$doc:meta])* $type:ident => $value:ty, inline $schema:expr, $parse:expr) => {
        $(#[$doc])*
        pub struct $type;

        field_kind!(@impl $type => $value, $schema.into(), |_: &mut Components| {}, $parse);
    };
    (@impl $type:ident => $value:ty, $schema:expr, $components:expr, $parse:expr) => {
        impl<C> FieldKind<C> for $type {
            type Value = $value;

            fn value_schema() -> RefOr<Schema> {
                $schema
            }

            fn components(components: &mut Components) {
                $components(components);
            }

            fn read(value: Value, _: &C, fields: &mut Fields, name: &str) -> Option<$value> {
                fields.convert(name, value, $parse)
            }
        }
    };
}

field_kind!(NameText => Name, named, |text: String| Name::parse(&text));
field_kind!(EmailText => Email, named, |text: String| Email::parse(&text));
field_kind!(PasswordText => Password, named, |text: String| Password::new(text));
field_kind!(RequestIdText => RequestId, named, |text: String| RequestId::parse(&text));
field_kind!(LimitTypeWord => LimitType, named, |word: String| word.parse::<LimitType>());

field_kind!(
    /// A router id, as the domain checks it: 1 or more.
    RouterNumber => i64, inline integer().minimum(Some(1)), router
);

field_kind!(
    /// A count of tokens, as the domain checks it: 0 or more.
    TokenCount => i64, inline integer().minimum(Some(0)), tokens
);

field_kind!(
    /// A scheduling priority, as the domain checks it: 0 or more.
    PriorityLevel => Priority, inline integer().minimum(Some(0)), Priority::new
);

/// An expiry is read against the time now: one now or past is refused with the other fields, not
/// after them (the use cases check it again).
impl FieldKind<DateTime<Utc>> for ExpiryTime {
    type Value = DateTime<Utc>;

    fn value_schema() -> RefOr<Schema> {
        reference::<Self>()
    }

    fn components(components: &mut Components) {
        component::<Self>(components);
    }

    fn read(
        value: Value,
        now: &DateTime<Utc>,
        fields: &mut Fields,
        name: &str,
    ) -> Option<DateTime<Utc>> {
        fields.convert(name, value, |seconds: i64| future_unix(seconds, *now))
    }
}

/// One of `words`, for an `order_by` or `order_direction` parameter; the first is the default.
pub fn one_of_words(words: &[&str]) -> RefOr<Schema> {
    string()
        .enum_values(Some(words.iter().copied()))
        .default(words.first().map(|&word| word.into()))
        .into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_whitespace_ranges_are_exactly_what_trim_removes() {
        for c in (0..=0x0010_FFFF).filter_map(char::from_u32) {
            let listed = WHITESPACE
                .iter()
                .any(|&(first, last)| (first..=last).contains(&c));
            assert_eq!(listed, c.is_whitespace(), "{c:?}");
        }
    }

    #[test]
    fn the_name_pattern_bounds_the_trimmed_length() {
        let pattern = name_pattern();
        assert!(pattern.contains("{0,253}"), "{pattern}");
        assert!(
            pattern.starts_with("^[\\u0009-\\u000d\\u0020\\u0085"),
            "{pattern}"
        );
    }
}
