//! Amounts of money in JSON: numbers written exactly as the decimal they are (`0.1`, never
//! `0.1000000000000000055511151231257827`), however large, and read to the nearest millionth.

use std::borrow::Cow;
use std::marker::PhantomData;

use gatehouse_domain::{Budget, Cost, MAX_AMOUNT_UNITS};
use serde::{Serialize, Serializer};
use serde_json::Value;
use serde_json::value::RawValue;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::input::{Components, FieldKind, Fields, component, reference};

/// An amount of money, as answers show it and requests give it (the `Amount` schema).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Amount(Budget);

impl From<Budget> for Amount {
    fn from(budget: Budget) -> Self {
        Self(budget)
    }
}

impl From<Cost> for Amount {
    fn from(cost: Cost) -> Self {
        Self(Budget::from(cost))
    }
}

impl Serialize for Amount {
    /// The exact decimal as a JSON number: written raw, since a double would round it. A whole
    /// amount keeps a `.0` (`5.0`), as OpenGateLLM's float budgets are written.
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut decimal = self.0.to_string();
        if !decimal.contains('.') {
            decimal.push_str(".0");
        }
        RawValue::from_string(decimal)
            .map_err(serde::ser::Error::custom)?
            .serialize(serializer)
    }
}

impl PartialSchema for Amount {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(SchemaType::new(Type::Number))
            .description(Some(
                "Money, exact to the millionth: input with more decimals is rounded to the \
                 nearest millionth (halves away from zero).",
            ))
            .minimum(Some(0))
            .maximum(Some(MAX_AMOUNT_UNITS))
            .examples([0.05])
            .into()
    }
}

impl ToSchema for Amount {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("Amount")
    }
}

/// The schema of a sum of [`Amount`]s (a usage summary's cost): written as an amount is, but
/// without its maximum, which a sum of many records can pass.
pub fn sum_schema() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::new(Type::Number))
        .description(Some(
            "A sum of money, exact to the millionth; unlike an Amount, it may pass 1000000000000.",
        ))
        .minimum(Some(0))
        .examples([12.5])
}

/// The kind of a request field holding money: documented as an [`Amount`], read as a `T` (a
/// [`Budget`] or a [`Cost`]), whose rule rounds it to the millionth and bounds it.
pub struct Money<T>(PhantomData<T>);

macro_rules! money_kind {
    ($($amount:ty),*) => {
        $(
            impl<C> FieldKind<C> for Money<$amount> {
                type Value = $amount;

                fn value_schema() -> RefOr<Schema> {
                    reference::<Amount>()
                }

                fn components(components: &mut Components) {
                    component::<Amount>(components);
                }

                fn read(value: Value, _: &C, fields: &mut Fields, name: &str) -> Option<$amount> {
                    fields.convert(name, value, <$amount>::new)
                }
            }
        )*
    };
}

money_kind!(Budget, Cost);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amounts_are_written_as_the_exact_decimal() {
        let written =
            |micros| serde_json::to_string(&Amount(Budget::from_micros(micros).unwrap())).unwrap();
        assert_eq!(written(100_000), "0.1");
        assert_eq!(written(0), "0.0");
        assert_eq!(written(5_000_000), "5.0");
        assert_eq!(written(1), "0.000001");
        assert_eq!(written(1_234_567_890_123_456), "1234567890.123456");
        let body = serde_json::to_string(&serde_json::json!({ "budget": null })).unwrap();
        assert_eq!(body, r#"{"budget":null}"#);
        let parsed: serde_json::Value = serde_json::from_str(
            &serde_json::to_string(&Some(Amount::from(Cost::new(0.3).unwrap()))).unwrap(),
        )
        .unwrap();
        assert_eq!(parsed, serde_json::json!(0.3));
    }
}
