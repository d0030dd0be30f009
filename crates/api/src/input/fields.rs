//! Field-by-field conversion of a JSON object, collecting every error.

use gatehouse_domain::ValueError;
use serde_json::{Map, Value};

use super::presence::Presence;
use crate::error::{ApiError, FieldError, Loc, LocPart};

/// A type a JSON value converts to, with FastAPI's words for a value of the wrong type.
pub trait FromJson: Sized {
    /// Converts `value`, which is not `null`.
    ///
    /// # Errors
    /// A `*_type` error when the value has the wrong JSON type.
    fn from_json(value: Value) -> Result<Self, ValueError>;
}

impl FromJson for String {
    fn from_json(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::String(s) => Ok(s),
            _ => Err(ValueError::new(
                "string_type",
                "Input should be a valid string",
            )),
        }
    }
}

impl FromJson for i64 {
    /// A JSON integer, or a number whose fractional part is zero (`7.0`, `1e3`): JSON Schema and
    /// Pydantic both count those as integers.
    fn from_json(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Number(number) => number
                .as_i64()
                .or_else(|| number.as_f64().and_then(whole_i64))
                .ok_or_else(|| {
                    if number.as_f64().is_some_and(|float| float.fract() != 0.0) {
                        ValueError::new(
                            "int_from_float",
                            "Input should be a valid integer, got a number with a fractional part",
                        )
                    } else {
                        ValueError::new(
                            "int_parsing",
                            "Input should be a valid integer, unable to parse number as a 64-bit integer",
                        )
                    }
                }),
            _ => Err(ValueError::new("int_type", "Input should be a valid integer")),
        }
    }
}

/// `float` as an `i64`, if it is a whole number in range (every such `f64` converts exactly).
fn whole_i64(float: f64) -> Option<i64> {
    // -2^63 is an i64; 2^63 is not. Both are exact as f64.
    const LOW: f64 = -9_223_372_036_854_775_808.0;
    if float.fract() == 0.0 && (LOW..-LOW).contains(&float) {
        #[allow(clippy::cast_possible_truncation)] // Whole and in range: nothing is lost.
        Some(float as i64)
    } else {
        None
    }
}

impl FromJson for f64 {
    fn from_json(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Number(number) => number
                .as_f64()
                .ok_or_else(|| ValueError::new("float_type", "Input should be a valid number")),
            _ => Err(ValueError::new(
                "float_type",
                "Input should be a valid number",
            )),
        }
    }
}

impl FromJson for Vec<Value> {
    fn from_json(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Array(items) => Ok(items),
            _ => Err(ValueError::new("list_type", "Input should be a valid list")),
        }
    }
}

impl FromJson for Map<String, Value> {
    fn from_json(value: Value) -> Result<Self, ValueError> {
        match value {
            Value::Object(object) => Ok(object),
            _ => Err(ValueError::new(
                "model_attributes_type",
                "Input should be a valid dictionary or object to extract fields from",
            )),
        }
    }
}

/// The fields of one JSON object, read one at a time; every problem is kept, none stops the
/// reading.
#[derive(Debug)]
pub struct Fields {
    object: Map<String, Value>,
    at: Loc,
    errors: Vec<FieldError>,
}

impl Fields {
    /// The fields of `object`, found at `at` in the request (`["body"]`, `["body", "limits", 0]`).
    pub fn new(object: Map<String, Value>, at: Loc) -> Self {
        Self {
            object,
            at,
            errors: Vec::new(),
        }
    }

    /// The location of field `name`.
    pub fn loc(&self, name: &str) -> Loc {
        let mut loc = self.at.clone();
        loc.push(LocPart::from(name));
        loc
    }

    /// Records an error at `loc`.
    pub fn push(&mut self, loc: Loc, error: ValueError) {
        self.errors.push(FieldError::new(loc, error));
    }

    /// Keeps the errors of a nested object's fields.
    pub fn absorb(&mut self, nested: Self) {
        self.errors.extend(nested.errors);
    }

    /// Whether field `name` is present, `null` included.
    pub fn has(&self, name: &str) -> bool {
        self.object.contains_key(name)
    }

    /// Takes field `name` out of the object, if present (`null` included).
    pub fn take(&mut self, name: &str) -> Option<Value> {
        self.object.remove(name)
    }

    /// The name to read a field under: `name` if present or if none of its `aliases` is, else the
    /// first alias present (an older client's name for the same field).
    pub fn pick(&self, name: &'static str, aliases: &[&'static str]) -> &'static str {
        if self.has(name) {
            return name;
        }
        aliases
            .iter()
            .copied()
            .find(|alias| self.has(alias))
            .unwrap_or(name)
    }

    /// Refuses field `name` whatever its value, if present: a field the client may not send.
    pub fn forbid(&mut self, name: &str, message: &'static str) {
        if self.has(name) {
            let loc = self.loc(name);
            self.push(loc, ValueError::new("extra_forbidden", message));
        }
    }

    /// Reads field `name` as `P` says (required, optional or nullable, and of which kind).
    pub fn read<P: Presence<C>, C>(&mut self, name: &str, context: &C) -> Option<P::Output> {
        P::read(self, name, context)
    }

    /// Converts `value`, found in field `name`, to JSON type `J` then parses it, recording the
    /// refusal of either on the field. `null` for a field that is not nullable is refused as a
    /// value of the wrong type, as FastAPI words it.
    pub fn convert<J: FromJson, U>(
        &mut self,
        name: &str,
        value: Value,
        parse: impl FnOnce(J) -> Result<U, ValueError>,
    ) -> Option<U> {
        match J::from_json(value).and_then(parse) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                let loc = self.loc(name);
                self.push(loc, error);
                None
            }
        }
    }

    /// Whether an error was recorded.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// The result: every recorded error, or what `build` makes of the fields read. `build` gets
    /// `None` from a required field only if an error was recorded, so its `None` is never seen.
    ///
    /// # Errors
    /// [`ApiError::Invalid`] with every recorded error.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        finish(self.errors, "a required field", build)
    }
}

/// Every error in `errors`, or what `build` makes of the values read: the end of reading a body or
/// a query, which record their errors alike. `build` sees `None` from a required value (`read`
/// says which kind) only if an error was recorded, so its `None` is a bug, not the client's.
pub(super) fn finish<T>(
    errors: Vec<FieldError>,
    read: &str,
    build: impl FnOnce() -> Option<T>,
) -> Result<T, ApiError> {
    if !errors.is_empty() {
        return Err(ApiError::Invalid(errors));
    }
    build().ok_or_else(|| {
        ApiError::Domain(gatehouse_domain::DomainError::unexpected(format!(
            "{read} was read as absent without an error"
        )))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dto::money::Money;
    use crate::dto::schema::NameText;
    use crate::input::{AtLeast, Id, Nullable, Optional, Required, Text};
    use gatehouse_domain::{Budget, Patch, RoleId};
    use serde_json::json;

    fn fields(value: Value) -> Fields {
        let Value::Object(object) = value else {
            panic!("not an object")
        };
        Fields::new(object, vec![LocPart::from("body")])
    }

    fn errors(result: Result<(), ApiError>) -> Vec<(Vec<LocPart>, String)> {
        match result {
            Err(ApiError::Invalid(errors)) => errors.into_iter().map(|e| (e.loc, e.kind)).collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn every_bad_field_is_reported_not_only_the_first() {
        let mut f = fields(json!({"name": 3, "priority": "high", "budget": null}));
        assert!(f.read::<Required<Text>, _>("email", &()).is_none());
        assert!(f.read::<Required<NameText>, _>("name", &()).is_none());
        assert!(f.read::<Optional<AtLeast<0>>, _>("priority", &()).is_none());
        assert!(
            f.read::<Optional<Money<Budget>>, _>("budget", &())
                .is_none()
        );
        let found = errors(f.finish(|| Some(())));
        let kinds: Vec<_> = found
            .iter()
            .map(|(loc, kind)| (loc[1].clone(), kind.as_str()))
            .collect();
        assert_eq!(
            kinds,
            [
                (LocPart::from("email"), "missing"),
                (LocPart::from("name"), "string_type"),
                (LocPart::from("priority"), "int_type"),
                (LocPart::from("budget"), "float_type"),
            ]
        );
    }

    #[test]
    fn nullable_fields_tell_absent_from_null() {
        let mut f = fields(json!({"name": null, "budget": 2.5}));
        assert_eq!(f.read::<Nullable<Text>, _>("name", &()), Some(Patch::Clear));
        assert_eq!(
            f.read::<Nullable<Money<Budget>>, _>("budget", &()),
            Some(Patch::Set(Budget::new(2.5).unwrap()))
        );
        assert_eq!(
            f.read::<Nullable<Id<RoleId>>, _>("expires", &()),
            Some(Patch::Keep)
        );
        assert!(!f.has_errors());
    }

    #[test]
    fn optional_fields_read_absent_as_none_and_refuse_null() {
        let mut f = fields(json!({"name": null}));
        assert_eq!(f.read::<Optional<Text>, _>("email", &()), Some(None));
        assert_eq!(f.read::<Optional<Text>, _>("name", &()), None);
        assert_eq!(
            errors(f.finish(|| Some(()))),
            [(f_loc("name"), "string_type".to_owned())]
        );
    }

    #[test]
    fn integers_refuse_fractions_overflow_and_strings() {
        for (value, kind) in [
            (json!(1.5), "int_from_float"),
            (json!(-0.25), "int_from_float"),
            (json!(18_446_744_073_709_551_615_u64), "int_parsing"),
            (json!(9_223_372_036_854_775_808.0_f64), "int_parsing"),
            (json!(1e300), "int_parsing"),
            (json!("7"), "int_type"),
            (json!(true), "int_type"),
        ] {
            let mut f = fields(json!({ "role": value }));
            assert!(f.read::<Required<Id<i64>>, _>("role", &()).is_none());
            assert_eq!(
                errors(f.finish(|| Some(()))),
                [(f_loc("role"), kind.to_owned())]
            );
        }
    }

    #[test]
    fn whole_numbers_written_as_floats_are_integers() {
        for (raw, expected) in [
            ("7.0", 7),
            ("1e3", 1000),
            ("-0.0", 0),
            ("-9223372036854775808.0", i64::MIN),
            ("9007199254740992.0", 9_007_199_254_740_992),
            // Between 2^51 and 2^52 a float's step is 0.5: parsed to the nearest float, or it
            // would read as a fraction.
            ("4241094118564898.0", 4_241_094_118_564_898),
        ] {
            let mut f = fields(json!({ "role": serde_json::from_str::<Value>(raw).unwrap() }));
            assert_eq!(
                f.read::<Required<Id<i64>>, _>("role", &()),
                Some(expected),
                "{raw}"
            );
            assert!(!f.has_errors(), "{raw}");
        }
    }

    fn f_loc(name: &str) -> Vec<LocPart> {
        vec![LocPart::from("body"), LocPart::from(name)]
    }

    #[test]
    fn domain_refusals_are_located_on_their_field() {
        let mut f = fields(json!({"name": "   "}));
        assert!(f.read::<Required<NameText>, _>("name", &()).is_none());
        assert_eq!(
            errors(f.finish(|| Some(()))),
            [(f_loc("name"), "string_too_short".to_owned())]
        );
    }

    #[test]
    fn an_alias_is_read_only_when_the_name_is_absent() {
        let both = fields(json!({"router_id": 1, "router": 2}));
        assert_eq!(both.pick("router_id", &["router"]), "router_id");
        let old = fields(json!({"router": 2}));
        assert_eq!(old.pick("router_id", &["router"]), "router");
        let neither = fields(json!({}));
        assert_eq!(neither.pick("router_id", &["router"]), "router_id");
    }

    #[test]
    fn a_forbidden_field_is_refused_whatever_its_value() {
        let mut f = fields(json!({"organization": null}));
        f.forbid("organization", "No.");
        f.forbid("absent", "No.");
        assert_eq!(
            errors(f.finish(|| Some(()))),
            [(f_loc("organization"), "extra_forbidden".to_owned())]
        );
    }
}
