//! The fields of a form as a page shows them, and the errors of a submitted form, each next to
//! the field it is about: the API's own sentences, placed by the field the API names (`loc`),
//! or for a refusal without a field (409, 404...), by the field it is about.

use actix_web::http::StatusCode;
use gatehouse_api::ApiError;
use gatehouse_api::error::LocPart;
use gatehouse_domain::{DomainError, Entity};

/// The errors of a submitted form.
#[derive(Debug, Default)]
pub struct Problems {
    /// The status of the page that shows them again.
    pub status: StatusCode,
    by_field: Vec<(String, String)>,
    /// Sentences about no field of the form.
    pub general: Vec<String>,
}

impl Problems {
    /// No error: a form shown for the first time.
    pub fn none() -> Self {
        Self::default()
    }

    /// The errors of `error` for a form with the fields `names` (dotted: `limits.0.value`).
    pub fn of(error: ApiError, names: &[&str]) -> Self {
        error.log_cause();
        let (status, detail) = error.parts();
        let mut problems = Self {
            status,
            ..Self::default()
        };
        let about = field_of(&error);
        let fields = match error {
            ApiError::Invalid(fields) => fields,
            other => other.field_errors(),
        };
        if fields.is_empty() {
            match about.filter(|field| names.contains(field)) {
                Some(field) => problems
                    .by_field
                    .push((field.to_owned(), detail.into_owned())),
                None => problems.general.push(detail.into_owned()),
            }
        }
        for field in fields {
            let name = field
                .loc
                .iter()
                .skip(1)
                .map(|part| match part {
                    LocPart::Key(key) => key.clone(),
                    LocPart::Index(index) => index.to_string(),
                })
                .collect::<Vec<_>>()
                .join(".");
            // A field the form does not have (or `loc` naming the body itself): above the form.
            let known = names.iter().any(|known| {
                name == *known
                    || name.starts_with(&format!("{known}."))
                    || known.starts_with(&format!("{name}."))
            });
            if known {
                problems.by_field.push((name, field.msg));
            } else {
                problems.general.push(field.msg);
            }
        }
        problems
    }

    /// Whether there is any.
    pub fn is_empty(&self) -> bool {
        self.by_field.is_empty() && self.general.is_empty()
    }

    /// The sentences about `name`, or about a part of it (`limits.0` for `limits.0.type`).
    pub fn field(&self, name: &str) -> Option<String> {
        let sentences: Vec<&str> = self
            .by_field
            .iter()
            .filter(|(field, _)| field == name || field.starts_with(&format!("{name}.")))
            .map(|(_, sentence)| sentence.as_str())
            .collect();
        (!sentences.is_empty()).then(|| sentences.join(" "))
    }
}

/// The field a refusal without a `loc` is about, in the forms that have it.
fn field_of(error: &ApiError) -> Option<&'static str> {
    use DomainError as E;
    let ApiError::Domain(error) = error else {
        return None;
    };
    match error {
        E::AlreadyExists(Entity::User) => Some("email"),
        E::AlreadyExists(_) => Some("name"),
        E::NotFound(Entity::Role) => Some("role"),
        E::NotFound(Entity::Organization) => Some("organization"),
        E::NotFound(Entity::User | Entity::Member) | E::NotInOrganization => Some("user"),
        E::NotFound(Entity::Project) => Some("project"),
        E::InvalidCurrentPassword => Some("current_password"),
        E::ExpiryTooFar { .. } => Some("expires"),
        _ => None,
    }
}

/// One choice of a `select`.
#[derive(Debug, Clone)]
pub struct Choice {
    /// What the form sends.
    pub value: String,
    /// What people read.
    pub label: String,
    /// Whether it is the chosen one.
    pub selected: bool,
}

impl Choice {
    /// A choice, selected when `value` is `current`.
    pub fn new(value: impl Into<String>, label: impl Into<String>, current: &str) -> Self {
        let value = value.into();
        Self {
            selected: value == current,
            label: label.into(),
            value,
        }
    }
}

/// A field of a form, as the page shows it: label, input, hint and error.
#[derive(Debug, Clone)]
pub struct Field {
    /// The name the form sends.
    pub name: String,
    /// Its element id: the name with `-` for `.`.
    pub id: String,
    /// Its label.
    pub label: String,
    /// The input's type (`text`, `email`, `password`, `number`, `date`), or `select`.
    pub kind: &'static str,
    /// Its value.
    pub value: String,
    /// Whether it must be filled.
    pub required: bool,
    /// A short help text.
    pub hint: Option<&'static str>,
    /// The sentences about it.
    pub error: Option<String>,
    /// The choices of a `select`.
    pub options: Vec<Choice>,
    /// The `autocomplete` attribute (`off`, `email`, `current-password`, `new-password`...).
    pub autocomplete: &'static str,
    /// The `step` of a number (`any` for money).
    pub step: &'static str,
}

impl Field {
    /// A field of `kind` named `name`, labelled `label`.
    pub fn new(kind: &'static str, name: &str, label: &str) -> Self {
        Self {
            name: name.to_owned(),
            id: name.replace('.', "-"),
            label: label.to_owned(),
            kind,
            value: String::new(),
            required: false,
            hint: None,
            error: None,
            options: Vec::new(),
            autocomplete: "off",
            step: "1",
        }
    }

    /// Whether it is a `select`.
    pub fn is_select(&self) -> bool {
        self.kind == "select"
    }

    /// Whether it is a number.
    pub fn is_number(&self) -> bool {
        self.kind == "number"
    }

    /// With the element id `id` (when two forms of a page have a field of the same name).
    #[must_use]
    pub fn id(mut self, id: &str) -> Self {
        id.clone_into(&mut self.id);
        self
    }

    /// With `value`.
    #[must_use]
    pub fn value(mut self, value: impl Into<String>) -> Self {
        self.value = value.into();
        self
    }

    /// Required.
    #[must_use]
    pub fn required(mut self) -> Self {
        self.required = true;
        self
    }

    /// With a help text.
    #[must_use]
    pub fn hint(mut self, hint: &'static str) -> Self {
        self.hint = Some(hint);
        self
    }

    /// With `autocomplete`.
    #[must_use]
    pub fn autocomplete(mut self, autocomplete: &'static str) -> Self {
        self.autocomplete = autocomplete;
        self
    }

    /// A money amount: any decimal.
    #[must_use]
    pub fn money(mut self) -> Self {
        self.step = "any";
        self
    }

    /// A `select` of `options`.
    #[must_use]
    pub fn options(mut self, options: Vec<Choice>) -> Self {
        self.options = options;
        self
    }

    /// With the sentences of `problems` about it.
    #[must_use]
    pub fn problems(mut self, problems: &Problems) -> Self {
        self.error = problems.field(&self.name);
        self
    }
}
