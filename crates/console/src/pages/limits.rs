//! The limits editor of the role and project forms: a table of rows `limits.N.router_id`,
//! `limits.N.type`, `limits.N.value`, read into the `limits` list the API's parsers read
//! ([`LimitList`](gatehouse_api::dto::roles::LimitList)), with each of their sentences shown in
//! the cell it is about.
//!
//! A row whose router is empty is ignored, so the list sent to the parser skips rows: its
//! errors, located by the list's index, are moved back to the row they came from.

use gatehouse_api::ApiError;
use gatehouse_api::dto::roles::LimitResponse;
use gatehouse_api::error::LocPart;
use gatehouse_domain::LimitType;
use serde_json::{Map, Value};

use crate::fields::{Choice, Field, Problems};
use crate::form::{As, Form};

/// The form field the editor fills: what the API's parsers read.
pub const NAME: &str = "limits";

/// How many empty rows follow the existing limits, so that limits can be added.
const EMPTY_ROWS: usize = 3;

/// The `limits` list of a submitted form, and where each of its items came from.
#[derive(Debug)]
pub struct SentLimits {
    /// The JSON list the API's parsers read.
    list: Vec<Value>,
    /// The form row of each item of `list`.
    rows: Vec<usize>,
}

impl SentLimits {
    /// The rows of `form`, in order, up to the first row the form does not have; a row with an
    /// empty router is left out. A value that does not convert goes as typed, for the parser to
    /// refuse with its own sentence.
    pub fn read(form: &Form) -> Self {
        let mut sent = Self {
            list: Vec::new(),
            rows: Vec::new(),
        };
        for row in 0..rows(form) {
            let router = cell(row, "router_id");
            if form.get(&router).trim().is_empty() {
                continue;
            }
            let mut item = Map::new();
            for (name, kind) in [
                ("router_id", As::Integer),
                ("type", As::Text),
                ("value", As::IntegerOrNull),
            ] {
                if let Some(value) = form.value(&cell(row, name), kind) {
                    item.insert(name.to_owned(), value);
                }
            }
            sent.list.push(Value::Object(item));
            sent.rows.push(row);
        }
        sent
    }

    /// The JSON list, to put under [`NAME`] in the body the parser reads.
    pub fn json(&self) -> Value {
        Value::Array(self.list.clone())
    }

    /// `error` with its locations inside `limits` moved from the list's items to the form's rows
    /// (`limits.0.value` of a list whose first item is row 2 becomes `limits.2.value`).
    pub fn relocate(&self, error: ApiError) -> ApiError {
        let mut fields = error.field_errors();
        if fields.is_empty() {
            return error;
        }
        for field in &mut fields {
            if let [
                LocPart::Key(_),
                LocPart::Key(name),
                LocPart::Index(index),
                ..,
            ] = field.loc.as_mut_slice()
                && name == NAME
                && let Some(row) = self.rows.get(*index)
            {
                *index = *row;
            }
        }
        ApiError::Invalid(fields)
    }
}

/// How many rows the form has: rows 0, 1... up to the first it does not have (none of its
/// three fields), since the page numbers them without a gap.
fn rows(form: &Form) -> usize {
    let has_row = |row| {
        ["router_id", "type", "value"]
            .iter()
            .any(|name| !form.all(&cell(row, name)).is_empty())
    };
    let mut rows = 0;
    while has_row(rows) {
        rows += 1;
    }
    rows
}

/// The name of a cell: `limits.2.value`.
fn cell(row: usize, name: &str) -> String {
    format!("{NAME}.{row}.{name}")
}

/// A row of the editor.
#[derive(Debug)]
pub struct LimitRow {
    /// The router, the type and the value.
    pub cells: [Field; 3],
    /// Whether it waits, hidden, for the "Add a limit" button: an empty row after the first.
    pub hidden: bool,
}

/// The editor as a page shows it.
#[derive(Debug)]
pub struct LimitsEditor {
    /// Its rows: the limits, then empty ones.
    pub rows: Vec<LimitRow>,
    /// A sentence about the list as a whole (two limits for one router and type).
    pub error: Option<String>,
}

impl LimitsEditor {
    /// The editor of `limits` as stored, for a form shown for the first time.
    pub fn of(limits: &[LimitResponse]) -> Self {
        let mut rows: Vec<[String; 3]> = limits
            .iter()
            .map(|limit| {
                [
                    limit.router_id.to_string(),
                    limit.kind.to_owned(),
                    limit
                        .value
                        .map(|value| value.to_string())
                        .unwrap_or_default(),
                ]
            })
            .collect();
        rows.extend((0..EMPTY_ROWS).map(|_| empty()));
        Self::build(rows, &Problems::none(), None)
    }

    /// The editor of a submitted form, with its values as typed and the sentences of `problems`
    /// (located at the form's rows: see [`SentLimits::relocate`]) in their cells; `error` is the
    /// sentence about the list as a whole ([`list_error`]).
    pub fn sent(form: &Form, problems: &Problems, error: Option<String>) -> Self {
        let mut rows: Vec<[String; 3]> = (0..rows(form))
            .map(|row| ["router_id", "type", "value"].map(|name| form.get(&cell(row, name)).into()))
            .collect();
        let empty_rows = rows.iter().filter(|row| is_empty(row)).count();
        rows.extend((empty_rows..EMPTY_ROWS).map(|_| empty()));
        Self::build(rows, problems, error)
    }

    fn build(rows: Vec<[String; 3]>, problems: &Problems, error: Option<String>) -> Self {
        let mut first_empty = true;
        let rows = rows
            .into_iter()
            .enumerate()
            .map(|(index, values)| {
                let blank = is_empty(&values);
                let [router, kind, value] = values;
                let number = index + 1;
                let cells = [
                    Field::new(
                        "number",
                        &cell(index, "router_id"),
                        &format!("Limit {number}: router"),
                    )
                    .value(router)
                    .problems(problems),
                    Field::new(
                        "select",
                        &cell(index, "type"),
                        &format!("Limit {number}: type"),
                    )
                    .options(
                        LimitType::ALL
                            .iter()
                            .map(|kind| kind.as_str())
                            .map(|word| Choice::new(word, word, &kind))
                            .collect(),
                    )
                    .problems(problems),
                    Field::new(
                        "number",
                        &cell(index, "value"),
                        &format!("Limit {number}: value"),
                    )
                    .value(value)
                    .problems(problems),
                ];
                let errors = cells.iter().any(|cell| cell.error.is_some());
                let hidden = blank && !errors && !first_empty;
                if blank {
                    first_empty = false;
                }
                LimitRow { cells, hidden }
            })
            .collect();
        Self { rows, error }
    }
}

/// A row with nothing in it.
fn empty() -> [String; 3] {
    [
        String::new(),
        LimitType::ALL[0].as_str().to_owned(),
        String::new(),
    ]
}

/// Whether a row has neither router nor value (its type is always chosen).
fn is_empty([router, _, value]: &[String; 3]) -> bool {
    router.trim().is_empty() && value.trim().is_empty()
}

/// The sentences of `error` about the list as a whole or one of its items but no cell of it
/// (two limits for one router and type), to show under the table.
pub fn list_error(error: &ApiError) -> Option<String> {
    let sentences: Vec<String> = error
        .field_errors()
        .into_iter()
        .filter(|field| match field.loc.as_slice() {
            [LocPart::Key(_), LocPart::Key(name)]
            | [LocPart::Key(_), LocPart::Key(name), LocPart::Index(_)] => name == NAME,
            _ => false,
        })
        .map(|field| field.msg)
        .collect();
    (!sentences.is_empty()).then(|| sentences.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_api::dto::roles::CreateRoleRequest;
    use gatehouse_api::input::JsonObject;
    use serde_json::json;

    fn sent(pairs: &[(&str, &str)]) -> SentLimits {
        SentLimits::read(&Form::of(pairs))
    }

    #[test]
    fn rows_without_a_router_are_left_out_and_an_empty_value_is_no_limit() {
        let limits = sent(&[
            ("limits.0.router_id", ""),
            ("limits.0.type", "tpm"),
            ("limits.0.value", "5"),
            ("limits.1.router_id", " 3 "),
            ("limits.1.type", "rpm"),
            ("limits.1.value", ""),
            ("limits.2.router_id", "4"),
            ("limits.2.type", "rpd"),
            ("limits.2.value", "10"),
        ]);
        assert_eq!(
            limits.json(),
            json!([
                {"router_id": 3, "type": "rpm", "value": null},
                {"router_id": 4, "type": "rpd", "value": 10},
            ])
        );
    }

    #[test]
    fn reading_stops_at_the_first_row_the_form_does_not_have() {
        let limits = sent(&[
            ("limits.0.router_id", "1"),
            ("limits.0.type", "tpm"),
            ("limits.2.router_id", "2"),
            ("limits.2.type", "tpm"),
        ]);
        assert_eq!(
            limits.json(),
            json!([{"router_id": 1, "type": "tpm", "value": null}])
        );
    }

    #[test]
    fn the_parsers_errors_are_moved_to_the_row_they_came_from() {
        let limits = sent(&[
            ("limits.0.router_id", ""),
            ("limits.0.type", "tpm"),
            ("limits.1.router_id", "2"),
            ("limits.1.type", "tpm"),
            ("limits.1.value", "-1"),
        ]);
        let mut body = serde_json::Map::new();
        body.insert("name".into(), json!("r"));
        body.insert(NAME.into(), limits.json());
        let Err(error) = CreateRoleRequest::parse(JsonObject(body)) else {
            panic!("a negative value is refused");
        };
        let error = limits.relocate(error);
        let problems = Problems::of(error, &["name", NAME]);
        assert!(problems.field("limits.1.value").is_some());
        assert!(problems.field("limits.0.value").is_none());
    }

    #[test]
    fn two_limits_for_one_router_and_type_are_an_error_of_the_list() {
        let limits = sent(&[
            ("limits.0.router_id", "2"),
            ("limits.0.type", "tpm"),
            ("limits.1.router_id", "2"),
            ("limits.1.type", "tpm"),
        ]);
        let mut body = serde_json::Map::new();
        body.insert("name".into(), json!("r"));
        body.insert(NAME.into(), limits.json());
        let Err(error) = CreateRoleRequest::parse(JsonObject(body)) else {
            panic!("a duplicate is refused");
        };
        assert_eq!(
            list_error(&limits.relocate(error)).as_deref(),
            Some("Duplicate limit for router_id 2 and type 'tpm'.")
        );
    }

    #[test]
    fn the_editor_shows_the_limits_then_one_empty_row_and_two_hidden_ones() {
        let editor = LimitsEditor::of(&[LimitResponse {
            router_id: 7,
            router: 7,
            kind: "rpd",
            value: None,
        }]);
        let shown: Vec<bool> = editor.rows.iter().map(|row| row.hidden).collect();
        assert_eq!(shown, [false, false, true, true]);
        assert_eq!(editor.rows[0].cells[0].value, "7");
        assert_eq!(editor.rows[0].cells[0].id, "limits-0-router_id");
        assert!(
            editor.rows[0].cells[1]
                .options
                .iter()
                .any(|o| o.selected && o.value == "rpd")
        );
        assert_eq!(editor.rows[0].cells[2].value, "");
    }
}
