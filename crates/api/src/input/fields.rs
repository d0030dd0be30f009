//! Field-by-field conversion of a JSON object, collecting every error.

use gatehouse_domain::{Patch, ValueError};
use serde_json::{Map, Value};

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

    /// A field that must be present and not `null`.
    pub fn required<T: FromJson>(&mut self, name: &str) -> Option<T> {
        match self.object.remove(name) {
            None => {
                let loc = self.loc(name);
                self.push(loc, ValueError::new("missing", "Field required"));
                None
            }
            Some(value) => self.convert(name, value),
        }
    }

    /// A field that may be absent but not `null`.
    pub fn optional<T: FromJson>(&mut self, name: &str) -> Option<T> {
        let value = self.object.remove(name)?;
        self.convert(name, value)
    }

    /// A field that may be absent (keep), `null` (clear) or a value (set). A wrong value is
    /// recorded and read as "keep".
    pub fn nullable<T: FromJson>(&mut self, name: &str) -> Patch<T> {
        match self.object.remove(name) {
            None => Patch::Keep,
            Some(Value::Null) => Patch::Clear,
            Some(value) => self.convert(name, value).map_or(Patch::Keep, Patch::Set),
        }
    }

    /// Parses a value of field `name` into a domain type, recording the refusal.
    pub fn parse<T, U>(
        &mut self,
        name: &str,
        value: Option<T>,
        parse: impl FnOnce(T) -> Result<U, ValueError>,
    ) -> Option<U> {
        match parse(value?) {
            Ok(parsed) => Some(parsed),
            Err(error) => {
                let loc = self.loc(name);
                self.push(loc, error);
                None
            }
        }
    }

    /// A required field parsed into a domain type.
    pub fn required_as<T: FromJson, U>(
        &mut self,
        name: &str,
        parse: impl FnOnce(T) -> Result<U, ValueError>,
    ) -> Option<U> {
        let value = self.required(name);
        self.parse(name, value, parse)
    }

    /// An optional, non-nullable field parsed into a domain type.
    pub fn optional_as<T: FromJson, U>(
        &mut self,
        name: &str,
        parse: impl FnOnce(T) -> Result<U, ValueError>,
    ) -> Option<U> {
        let value = self.optional(name);
        self.parse(name, value, parse)
    }

    /// A nullable field parsed into a domain type.
    pub fn nullable_as<T: FromJson, U>(
        &mut self,
        name: &str,
        parse: impl FnOnce(T) -> Result<U, ValueError>,
    ) -> Patch<U> {
        match self.nullable(name) {
            Patch::Keep => Patch::Keep,
            Patch::Clear => Patch::Clear,
            Patch::Set(value) => self
                .parse(name, Some(value), parse)
                .map_or(Patch::Keep, Patch::Set),
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
        if !self.errors.is_empty() {
            return Err(ApiError::Invalid(self.errors));
        }
        build().ok_or_else(|| {
            ApiError::Domain(gatehouse_domain::DomainError::unexpected(
                "a required field was read as absent without an error",
            ))
        })
    }

    /// Converts a present value; `null` for a field that is not nullable is a type error, as
    /// FastAPI words it.
    fn convert<T: FromJson>(&mut self, name: &str, value: Value) -> Option<T> {
        match T::from_json(value) {
            Ok(converted) => Some(converted),
            Err(error) => {
                let loc = self.loc(name);
                self.push(loc, error);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::Name;
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
        let _: Option<String> = f.required("email");
        let _ = f.required_as("name", |s: String| Name::parse(&s));
        let _: Option<i64> = f.optional("priority");
        let _: Option<f64> = f.optional("budget");
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
        assert_eq!(f.nullable::<String>("name"), Patch::Clear);
        assert_eq!(f.nullable::<f64>("budget"), Patch::Set(2.5));
        assert_eq!(f.nullable::<i64>("expires"), Patch::Keep);
        assert!(!f.has_errors());
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
            let _: Option<i64> = f.required("role");
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
            assert_eq!(f.required::<i64>("role"), Some(expected), "{raw}");
            assert!(!f.has_errors(), "{raw}");
        }
    }

    fn f_loc(name: &str) -> Vec<LocPart> {
        vec![LocPart::from("body"), LocPart::from(name)]
    }

    #[test]
    fn domain_refusals_are_located_on_their_field() {
        let mut f = fields(json!({"name": "   "}));
        assert!(f.required_as("name", |s: String| Name::parse(&s)).is_none());
        assert_eq!(
            errors(f.finish(|| Some(()))),
            [(f_loc("name"), "string_too_short".to_owned())]
        );
    }
}
