//! Every request body of the OpenAPI document against the parser its route calls: what the
//! document admits is accepted, and what it refuses is refused, on the field it concerns.
//!
//! The bodies are found by walking the generated document's operations, so that a new body cannot
//! escape: each must have its parser in [`parsers`]. For each body, and each object nested in one
//! (a limit of a role), values are generated from the schema:
//! - the minimal body (required fields only) and the full body (every field) are accepted;
//! - for each property, every value of a JSON type the schema does not allow, `null` (accepted
//!   where the schema allows it), values just outside its bounds (`minimum`, `maximum`,
//!   `minLength`, `maxLength`, `enum`) are refused with one error located on that property, and a
//!   set of strings is accepted exactly when the schema's length, `enum` and `pattern` admit it;
//! - each required property left out is refused as `missing` on that property.
//!
//! A documented property the parser ignored would accept its wrong values, and be reported (the
//! last test plants one). The reverse, a field the parser reads but the document omits, cannot
//! happen: both come from one table per body (`input::request_body!`), and a body's conversion
//! sees only what the table read. The two things a parser reads beyond its properties are said in
//! words in the document: an older name read in place of an absent field (`router` for a limit's
//! `router_id`), and a field refused whatever its value (`organization` in a project patch).
//!
//! No database: the parsers are called directly, as their routes call them.

#![allow(clippy::unwrap_used, clippy::expect_used)] // Tests: a failure is a failed test.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use gatehouse_api::ApiDoc;
use gatehouse_api::dto::account::UpdateAccountRequest;
use gatehouse_api::dto::api_keys::{CreateKeyRequest, CreateTokenRequest};
use gatehouse_api::dto::gateway::{AuthorizeRequest, UsageReportRequest};
use gatehouse_api::dto::login::{LoginRequest, SsoLoginRequest};
use gatehouse_api::dto::organizations::{CreateOrganizationRequest, UpdateOrganizationRequest};
use gatehouse_api::dto::projects::{CreateProjectRequest, UpdateProjectRequest};
use gatehouse_api::dto::roles::{CreateRoleRequest, UpdateRoleRequest};
use gatehouse_api::dto::users::{CreateUserRequest, UpdateUserRequest};
use gatehouse_api::error::{ApiError, LocPart};
use gatehouse_api::input::JsonObject;
use gatehouse_domain::chrono::TimeZone;
use gatehouse_domain::{DateTime, Utc};
use regex::Regex;
use serde_json::{Value, json};
use utoipa::OpenApi;

/// A body's parser, its answer reduced to accepted or refused.
type Parser = fn(JsonObject) -> Result<(), ApiError>;

/// The time the parsers check expiries against.
fn now() -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000, 0).unwrap()
}

/// The parser of each body, by the name of its schema: the one its route calls.
fn parsers() -> BTreeMap<&'static str, Parser> {
    let parsers: [(&str, Parser); 15] = [
        ("CreateOrganizationRequest", |body| {
            CreateOrganizationRequest::parse(body).map(drop)
        }),
        ("UpdateOrganizationRequest", |body| {
            UpdateOrganizationRequest::parse(body).map(drop)
        }),
        ("CreateUserRequest", |body| {
            CreateUserRequest::parse(body, now()).map(drop)
        }),
        ("UpdateUserRequest", |body| {
            UpdateUserRequest::parse(body, now()).map(drop)
        }),
        ("CreateRoleRequest", |body| {
            CreateRoleRequest::parse(body).map(drop)
        }),
        ("UpdateRoleRequest", |body| {
            UpdateRoleRequest::parse(body).map(drop)
        }),
        ("CreateProjectRequest", |body| {
            CreateProjectRequest::parse(body).map(drop)
        }),
        ("UpdateProjectRequest", |body| {
            UpdateProjectRequest::parse(body).map(drop)
        }),
        ("CreateTokenRequest", |body| {
            CreateTokenRequest::parse(body, now()).map(drop)
        }),
        ("CreateKeyRequest", |body| {
            CreateKeyRequest::parse(body, now()).map(drop)
        }),
        ("UpdateAccountRequest", |body| {
            UpdateAccountRequest::parse(body).map(drop)
        }),
        ("LoginRequest", |body| LoginRequest::parse(body).map(drop)),
        ("SsoLoginRequest", |body| {
            SsoLoginRequest::parse(body).map(drop)
        }),
        ("AuthorizeRequest", |body| {
            AuthorizeRequest::parse(body).map(drop)
        }),
        ("UsageReportRequest", |body| {
            UsageReportRequest::parse(body).map(drop)
        }),
    ];
    parsers.into_iter().collect()
}

fn document() -> Value {
    serde_json::to_value(ApiDoc::openapi()).unwrap()
}

/// The name of the schema of every request body of `document`'s operations.
fn body_schemas(document: &Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let Some(body) = operation.get("requestBody") else {
                continue;
            };
            let schema = &body["content"]["application/json"]["schema"];
            let reference = schema["$ref"]
                .as_str()
                .unwrap_or_else(|| panic!("{method} {path}: the body is not a named schema"));
            names.insert(reference.rsplit('/').next().unwrap().to_owned());
        }
    }
    names
}

/// The JSON type of `value`, as JSON Schema names it.
fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(number) if number.is_i64() || number.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The types `schema` lists in `type`.
fn types(schema: &Value) -> Vec<&str> {
    match &schema["type"] {
        Value::String(single) => vec![single.as_str()],
        Value::Array(several) => several.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Strings tried on every string property: each must be accepted exactly when the schema admits
/// it. Around the bounds and patterns of the document's strings (names, emails, passwords, request
/// ids, words).
fn strings() -> Vec<String> {
    let mut strings: Vec<String> = [
        "",
        " ",
        "x",
        "  x  ",
        "x\u{0}y",
        "\u{3000}x\u{3000}",
        "ada@example.com",
        "x@y",
        "x@@y",
        "a b@example.com",
        "call-7f3a9c",
        "call 7",
        "tpm",
        "admin",
        "correct horse",
    ]
    .map(str::to_owned)
    .into();
    for length in [7, 8, 128, 129, 254, 255, 256] {
        strings.push("x".repeat(length));
    }
    strings.push(format!("  {}  ", "x".repeat(255)));
    strings
}

/// Generates bodies from the document and records each disagreement with a parser.
struct Checker {
    document: Value,
    /// How many bodies were parsed.
    checks: usize,
    /// The document's patterns, compiled once.
    patterns: HashMap<String, Regex>,
    failures: Vec<String>,
}

impl Checker {
    fn new(document: Value) -> Self {
        Self {
            document,
            checks: 0,
            patterns: HashMap::new(),
            failures: Vec::new(),
        }
    }

    /// Checks the body schema `name` against `parse`.
    fn check_body(&mut self, name: &str, parse: Parser) {
        let schema = self.document["components"]["schemas"][name].clone();
        assert_eq!(schema["type"], "object", "{name} is not an object");
        self.check_object(parse, &schema, &|body| body, &[LocPart::from("body")], name);
    }

    /// `schema` itself, or the schema it refers to.
    fn resolve(&self, schema: &Value) -> Value {
        match schema["$ref"].as_str() {
            Some(reference) => {
                let name = reference.rsplit('/').next().unwrap();
                self.document["components"]["schemas"][name].clone()
            }
            None => schema.clone(),
        }
    }

    /// The schema a value other than `null` must match, and whether `null` is admitted.
    fn shape(&self, schema: &Value) -> (Value, bool) {
        if let Some(options) = schema["oneOf"].as_array() {
            let nullable = options.iter().any(|option| option["type"] == "null");
            let others: Vec<_> = options.iter().filter(|o| o["type"] != "null").collect();
            assert_eq!(others.len(), 1, "a oneOf of several types: {schema}");
            return (self.resolve(others[0]), nullable);
        }
        let mut schema = self.resolve(schema);
        let listed = types(&schema);
        let nullable = listed.contains(&"null");
        let others: Vec<Value> = listed
            .into_iter()
            .filter(|t| *t != "null")
            .map(Value::from)
            .collect();
        if let [single] = &others[..] {
            schema["type"] = single.clone();
        }
        (schema, nullable)
    }

    /// A value `schema` admits: its example, its first word, or one at its lower bound; for an
    /// object its required properties (all of them if `full`), for a list none (one if `full`).
    fn valid(&self, schema: &Value, full: bool) -> Value {
        let (schema, _) = self.shape(schema);
        if let Some(example) = schema["examples"].get(0) {
            return example.clone();
        }
        if let Some(word) = schema["enum"].get(0) {
            return word.clone();
        }
        let types = types(&schema);
        match types.first().copied() {
            Some("string") => {
                let length = schema["minLength"].as_u64().unwrap_or(1).max(1);
                Value::from("x".repeat(usize::try_from(length).unwrap()))
            }
            Some("integer" | "number") => schema["minimum"].as_i64().unwrap_or(1).into(),
            Some("boolean") => true.into(),
            Some("array") if full => json!([self.valid(&schema["items"], full)]),
            Some("array") => json!([]),
            Some("object") => {
                let required = required(&schema);
                let mut object = serde_json::Map::new();
                for (name, property) in schema["properties"].as_object().unwrap() {
                    if full || required.contains(name) {
                        object.insert(name.clone(), self.valid(property, full));
                    }
                }
                Value::Object(object)
            }
            other => panic!("no value for type {other:?}: {schema}"),
        }
    }

    /// Checks an object at `at`, `put` making a whole body of it.
    fn check_object(
        &mut self,
        parse: Parser,
        schema: &Value,
        put: &dyn Fn(Value) -> Value,
        at: &[LocPart],
        what: &str,
    ) {
        let (schema, _) = self.shape(schema);
        let minimal = self.valid(&schema, false);
        let full = self.valid(&schema, true);
        self.accepts(parse, &put(minimal.clone()), &format!("{what}, minimal"));
        self.accepts(parse, &put(full), &format!("{what}, full"));
        let required = required(&schema);
        for (name, property) in schema["properties"].as_object().unwrap() {
            let mut loc = at.to_vec();
            loc.push(LocPart::from(name.as_str()));
            let with = |value: Value| {
                let mut object = minimal.clone();
                object[name] = value;
                put(object)
            };
            self.check_value(parse, property, &with, &loc, &format!("{what}.{name}"));
            if required.contains(name) {
                let mut object = minimal.clone();
                object.as_object_mut().unwrap().remove(name);
                self.refuses(
                    parse,
                    &put(object),
                    &loc,
                    Some("missing"),
                    &format!("{what}.{name} left out"),
                );
            }
        }
    }

    /// Checks the values of one property at `at`, `put` making a whole body of each.
    fn check_value(
        &mut self,
        parse: Parser,
        schema: &Value,
        put: &dyn Fn(Value) -> Value,
        at: &[LocPart],
        what: &str,
    ) {
        let (schema, nullable) = self.shape(schema);
        let listed = types(&schema);
        let admits_type = |value: &Value| {
            let kind = json_type(value);
            listed.contains(&kind) || (kind == "integer" && listed.contains(&"number"))
        };
        for value in [
            json!("text"),
            json!(7),
            json!(1.5),
            json!(true),
            json!([]),
            json!({}),
        ] {
            if !admits_type(&value) {
                let what = format!("{what} = {value}");
                self.refuses(parse, &put(value), at, None, &what);
            }
        }
        if nullable {
            self.accepts(parse, &put(Value::Null), &format!("{what} = null"));
        } else {
            self.refuses(
                parse,
                &put(Value::Null),
                at,
                None,
                &format!("{what} = null"),
            );
        }
        for value in beyond_bounds(&schema) {
            let what = format!("{what} = {}", short(&value.to_string()));
            self.refuses(parse, &put(value), at, None, &what);
        }
        if listed == ["string"] {
            for text in strings() {
                let value = Value::from(text.as_str());
                let what = format!("{what} = {}", short(&value.to_string()));
                if self.admits_string(&schema, &text) {
                    self.accepts(parse, &put(value), &what);
                } else {
                    self.refuses(parse, &put(value), at, None, &what);
                }
            }
        }
        if listed == ["array"] {
            let mut item_at = at.to_vec();
            item_at.push(LocPart::Index(0));
            let in_list = |item: Value| put(json!([item]));
            let what = format!("{what}[0]");
            let (items, _) = self.shape(&schema["items"]);
            if types(&items) == ["object"] {
                self.check_object(parse, &items, &in_list, &item_at, &what);
            } else {
                self.check_value(parse, &schema["items"], &in_list, &item_at, &what);
            }
        }
    }

    /// Whether a string schema admits `text`: its words, its lengths (in characters), its pattern.
    fn admits_string(&mut self, schema: &Value, text: &str) -> bool {
        let length = u64::try_from(text.chars().count()).unwrap();
        let words_ok = schema["enum"]
            .as_array()
            .is_none_or(|words| words.iter().any(|word| word == text));
        let min_ok = schema["minLength"].as_u64().is_none_or(|min| length >= min);
        let max_ok = schema["maxLength"].as_u64().is_none_or(|max| length <= max);
        let pattern_ok = schema["pattern"].as_str().is_none_or(|pattern| {
            self.patterns
                .entry(pattern.to_owned())
                .or_insert_with(|| Regex::new(pattern).unwrap())
                .is_match(text)
        });
        words_ok && min_ok && max_ok && pattern_ok
    }

    fn accepts(&mut self, parse: Parser, body: &Value, what: &str) {
        self.checks += 1;
        if let Err(error) = parse(object(body)) {
            self.failures.push(format!(
                "{what}: the document admits {body}, refused: {error:?}"
            ));
        }
    }

    /// `body` must be refused with one error, at `at` (of type `kind` when given).
    fn refuses(
        &mut self,
        parse: Parser,
        body: &Value,
        at: &[LocPart],
        kind: Option<&str>,
        what: &str,
    ) {
        self.checks += 1;
        match parse(object(body)) {
            Ok(()) => self
                .failures
                .push(format!("{what}: the document refuses {body}, accepted")),
            Err(ApiError::Invalid(errors))
                if errors.len() == 1
                    && errors[0].loc == at
                    && kind.is_none_or(|kind| errors[0].kind == kind) => {}
            Err(error) => self.failures.push(format!(
                "{what}: {body} refused with {error:?}, not with one error at {at:?}"
            )),
        }
    }
}

fn required(schema: &Value) -> Vec<String> {
    schema["required"]
        .as_array()
        .map(|names| {
            names
                .iter()
                .filter_map(|name| name.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// Values just outside the bounds `schema` states.
fn beyond_bounds(schema: &Value) -> Vec<Value> {
    let mut values = Vec::new();
    if let Some(minimum) = schema["minimum"].as_i64() {
        values.push(json!(minimum - 1));
    }
    if let Some(maximum) = schema["maximum"].as_i64() {
        values.push(json!(maximum + 1));
    }
    if let Some(length) = schema["minLength"].as_u64().filter(|length| *length > 0) {
        values.push(json!("x".repeat(usize::try_from(length).unwrap() - 1)));
    }
    if let Some(length) = schema["maxLength"].as_u64() {
        values.push(json!("x".repeat(usize::try_from(length).unwrap() + 1)));
    }
    if schema["enum"].is_array() {
        values.push(json!("not-a-listed-word"));
    }
    values
}

/// A value as a message shows it: long ones cut.
fn short(shown: &str) -> String {
    let length = shown.chars().count();
    if length <= 40 {
        shown.to_owned()
    } else {
        let start: String = shown.chars().take(20).collect();
        format!("{start}... ({length} characters)")
    }
}

fn object(body: &Value) -> JsonObject {
    match body {
        Value::Object(object) => JsonObject(object.clone()),
        other => panic!("not an object: {other}"),
    }
}

#[test]
fn every_request_body_has_its_parser_and_every_parser_its_body() {
    let documented = body_schemas(&document());
    let registered: BTreeSet<String> = parsers().keys().map(|&name| name.to_owned()).collect();
    assert_eq!(documented, registered);
}

#[test]
fn every_request_body_schema_agrees_with_its_parser() {
    let document = document();
    let parsers = parsers();
    let mut checker = Checker::new(document.clone());
    for name in body_schemas(&document) {
        let parse = *parsers
            .get(name.as_str())
            .unwrap_or_else(|| panic!("no parser for the body {name}"));
        checker.check_body(&name, parse);
    }
    eprintln!("{} bodies parsed", checker.checks);
    assert!(checker.checks > 1_000, "{} bodies parsed", checker.checks);
    assert!(
        checker.failures.is_empty(),
        "{} disagreements:\n{}",
        checker.failures.len(),
        checker.failures.join("\n")
    );
}

/// The check finds a schema that says more or less than its parser: a documented property the
/// parser ignores, a required field documented as optional, a field that may not be `null`
/// documented as nullable, a bound documented wider than the rule.
#[test]
fn a_schema_that_disagrees_with_its_parser_is_found() {
    /// A body, the failure expected, and the change to its schema that causes it.
    type Plant = (&'static str, &'static str, fn(&mut Value));
    let plants: [Plant; 4] = [
        ("CreateOrganizationRequest", "ghost", |schema| {
            schema["properties"]["ghost"] = json!({"type": "integer"});
        }),
        (
            "CreateOrganizationRequest",
            "minimal: the document admits {}",
            |schema| {
                schema["required"] = json!([]);
            },
        ),
        ("UpdateOrganizationRequest", "name = null", |schema| {
            schema["properties"]["name"] =
                json!({"oneOf": [{"type": "null"}, {"$ref": "#/components/schemas/Name"}]});
        }),
        ("LoginRequest", "password = \"xxxx\"", |schema| {
            schema["properties"]["password"] = json!({"type": "string", "maxLength": 3});
        }),
    ];
    let parsers = parsers();
    for (body, expected, plant) in plants {
        let mut document = document();
        plant(&mut document["components"]["schemas"][body]);
        let mut checker = Checker::new(document);
        checker.check_body(body, parsers[body]);
        assert!(
            checker
                .failures
                .iter()
                .any(|failure| failure.contains(expected)),
            "{body}, {expected}: {:?}",
            checker.failures
        );
    }
}
