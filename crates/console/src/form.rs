//! A submitted form: read only with its CSRF token, and turned into the JSON object the API's
//! request parsers read, so that a form is checked by exactly the API's rules and sentences.

use std::future::Future;
use std::pin::Pin;

use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, dev::Payload, web};
use gatehouse_api::ApiError;
use gatehouse_api::input::{JsonObject, MAX_BODY_BYTES};
use gatehouse_domain::{DateTime, Utc};
use serde_json::{Map, Number, Value};

use crate::csrf::{self, CSRF_FIELD};
use crate::error::ConsoleError;

/// How a form field becomes a JSON field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum As {
    /// A string, as typed (the parsers trim and check it); empty is empty.
    Text,
    /// A string, or `null` when empty (a name that may be cleared).
    TextOrNull,
    /// A string, or absent when empty (a password left blank is not changed).
    TextOrAbsent,
    /// An integer, absent when empty.
    Integer,
    /// An integer, or `null` when empty.
    IntegerOrNull,
    /// A decimal amount, or `null` when empty (no limit).
    MoneyOrNull,
    /// A date (`YYYY-MM-DD`, UTC midnight) as Unix seconds, or `null` when empty (never).
    DateOrNull,
    /// Every value of the field (checkboxes), as a list of strings.
    List,
}

/// A form sent with its CSRF token.
#[derive(Debug)]
pub struct Form {
    pairs: Vec<(String, String)>,
}

impl FromRequest for Form {
    type Error = ConsoleError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, ConsoleError>>>>;

    fn from_request(request: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let request = request.clone();
        let mut payload = payload.take();
        Box::pin(async move {
            let form = web::Form::<Vec<(String, String)>>::from_request(&request, &mut payload);
            let form = match form.await {
                Ok(form) => form.into_inner(),
                Err(error) => return Err(refused_body(&error)),
            };
            let sent = form
                .iter()
                .find(|(name, _)| name == CSRF_FIELD)
                .map_or("", |(_, value)| value.as_str());
            if !csrf::is_valid(&request, sent) {
                return Err(ConsoleError::Csrf);
            }
            Ok(Self { pairs: form })
        })
    }
}

/// How large a form may be: the API's body limit.
pub fn config() -> web::FormConfig {
    web::FormConfig::default().limit(MAX_BODY_BYTES)
}

/// A body that is not a form, or too large: the API's answers.
fn refused_body(error: &actix_web::Error) -> ConsoleError {
    let status = error.as_response_error().status_code();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::status(status, "Request body too large.").into()
    } else {
        ApiError::status(StatusCode::BAD_REQUEST, "Invalid form.").into()
    }
}

impl Form {
    /// The first value of `name`; empty when absent.
    pub fn get(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(field, _)| field == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.pairs
            .iter()
            .filter(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// The JSON object of the fields `spec` names, each converted as it says. A value that
    /// does not convert (a word for an integer) goes as the text typed, for the parser to refuse
    /// with its own sentence.
    pub fn json(&self, spec: &[(&str, As)]) -> JsonObject {
        let mut object = Map::new();
        for &(name, kind) in spec {
            if let Some(value) = self.value(name, kind) {
                object.insert(name.to_owned(), value);
            }
        }
        JsonObject(object)
    }

    /// The JSON value of field `name` read as `kind`; `None` for absent.
    pub fn value(&self, name: &str, kind: As) -> Option<Value> {
        let raw = self.get(name);
        let text = raw.trim();
        let as_text = || Value::String(raw.to_owned());
        let empty = text.is_empty();
        match kind {
            As::List => Some(Value::Array(
                self.all(name)
                    .into_iter()
                    .map(|value| Value::String(value.to_owned()))
                    .collect(),
            )),
            As::Text => Some(as_text()),
            As::TextOrAbsent | As::Integer if empty => None,
            _ if empty => Some(Value::Null),
            As::TextOrNull | As::TextOrAbsent => Some(as_text()),
            As::Integer | As::IntegerOrNull => {
                Some(text.parse::<i64>().map_or_else(|_| as_text(), Value::from))
            }
            As::MoneyOrNull => Some(
                text.parse::<f64>()
                    .ok()
                    .filter(|amount| amount.is_finite())
                    .and_then(|_| serde_json::from_str::<Number>(text).ok())
                    .map_or_else(as_text, Value::Number),
            ),
            As::DateOrNull => Some(date(text).map_or_else(as_text, Value::from)),
        }
    }
}

#[cfg(test)]
impl Form {
    /// A form of `pairs` as sent, for the pages' unit tests.
    pub fn of(pairs: &[(&str, &str)]) -> Self {
        Self {
            pairs: pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }
}

/// `YYYY-MM-DD` as the Unix second of its UTC midnight.
pub fn date(text: &str) -> Option<i64> {
    let day = gatehouse_domain::chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    Some(DateTime::<Utc>::from_naive_utc_and_offset(day.and_hms_opt(0, 0, 0)?, Utc).timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> Form {
        Form {
            pairs: pairs
                .iter()
                .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
                .collect(),
        }
    }

    #[test]
    fn fields_become_the_json_the_api_reads() {
        let form = form(&[
            ("name", " Acme "),
            ("budget", "12.50"),
            ("role", "3"),
            ("organization", ""),
            ("expires", "2027-01-31"),
            ("password", ""),
            ("permissions", "admin"),
            ("permissions", "gateway"),
        ]);
        let JsonObject(object) = form.json(&[
            ("name", As::Text),
            ("budget", As::MoneyOrNull),
            ("role", As::Integer),
            ("organization", As::IntegerOrNull),
            ("expires", As::DateOrNull),
            ("password", As::TextOrAbsent),
            ("permissions", As::List),
        ]);
        assert_eq!(
            Value::Object(object),
            serde_json::json!({
                "name": " Acme ", "budget": 12.5, "role": 3, "organization": null,
                "expires": 1_801_353_600, "permissions": ["admin", "gateway"],
            })
        );
    }

    #[test]
    fn what_does_not_convert_goes_as_typed_for_the_parser_to_refuse() {
        let form = form(&[("role", "three"), ("budget", "lots"), ("expires", "soon")]);
        let JsonObject(object) = form.json(&[
            ("role", As::Integer),
            ("budget", As::MoneyOrNull),
            ("expires", As::DateOrNull),
        ]);
        assert_eq!(
            Value::Object(object),
            serde_json::json!({"role": "three", "budget": "lots", "expires": "soon"})
        );
    }
}
