//! Query parameters, read one at a time like body fields.

use std::collections::HashMap;
use std::future::{Ready, ready};
use std::str::FromStr;

use actix_web::{FromRequest, HttpRequest, dev::Payload};
use gatehouse_domain::{Direction, PageRequest, ValueError};

use super::fields::finish;
use crate::error::{ApiError, FieldError, LocPart};

/// The query string as decoded pairs; a parameter given twice keeps its last value. Unknown
/// parameters are ignored by the handlers.
#[derive(Debug, Default)]
pub struct RawQuery(pub HashMap<String, String>);

impl FromRequest for RawQuery {
    type Error = ApiError;
    type Future = Ready<Result<Self, ApiError>>;

    fn from_request(request: &HttpRequest, _: &mut Payload) -> Self::Future {
        let pairs: Result<Vec<(String, String)>, _> =
            serde_urlencoded::from_str(request.query_string());
        ready(match pairs {
            Ok(pairs) => Ok(Self(pairs.into_iter().collect())),
            Err(_) => Err(ApiError::invalid(
                vec![LocPart::from("query")],
                ValueError::new("value_error", "The query string is not valid URL encoding."),
            )),
        })
    }
}

/// Reads query parameters, collecting every error.
#[derive(Debug)]
pub struct QueryFields {
    params: HashMap<String, String>,
    errors: Vec<FieldError>,
}

impl QueryFields {
    /// The parameters of `query`.
    pub fn new(query: RawQuery) -> Self {
        Self {
            params: query.0,
            errors: Vec::new(),
        }
    }

    /// Parameter `name` parsed with `FromStr`, if present; `int_parsing` for a bad integer, the
    /// type's own error otherwise.
    pub fn get<T>(&mut self, name: &str) -> Option<T>
    where
        T: FromStr,
        T::Err: Into<QueryValueError>,
    {
        let raw = self.params.remove(name)?;
        match raw.parse::<T>() {
            Ok(value) => Some(value),
            Err(error) => {
                self.errors.push(FieldError::new(
                    vec![LocPart::from("query"), LocPart::from(name)],
                    error.into().0,
                ));
                None
            }
        }
    }

    /// The first of `names` that is present, parsed: for parameters with aliases.
    pub fn get_any<T>(&mut self, names: &[&str]) -> Option<T>
    where
        T: FromStr,
        T::Err: Into<QueryValueError>,
    {
        let name = names.iter().find(|name| self.params.contains_key(**name))?;
        self.get(name)
    }

    /// `offset`, `limit`, the order field (under any of `order_names`) and the direction (under
    /// any of `direction_names`), with their defaults, checked together.
    pub fn page<O: FromStr<Err = ValueError> + Default>(
        &mut self,
        order_names: &[&str],
        direction_names: &[&str],
    ) -> Option<PageRequest<O>> {
        let errors_before = self.errors.len();
        let offset = self.get::<i64>("offset");
        let limit = self.get::<i64>("limit");
        let order = self.get_any::<O>(order_names);
        let direction = self.get_any::<Direction>(direction_names);
        // Range checks run even when another parameter did not parse, so that every error is
        // reported; a value that did not parse is checked as its default, which is in range.
        let page = PageRequest::new(
            offset.unwrap_or(0),
            limit.unwrap_or(PageRequest::<O>::DEFAULT_LIMIT),
            order.unwrap_or_default(),
            direction.unwrap_or_default(),
        );
        match page {
            Ok(page) if self.errors.len() == errors_before => Some(page),
            Ok(_) => None,
            Err(violations) => {
                self.errors.extend(
                    violations
                        .into_iter()
                        .map(|violation| FieldError::from_violation("query", violation)),
                );
                None
            }
        }
    }

    /// Whether an error was recorded.
    pub fn has_errors(&self) -> bool {
        !self.errors.is_empty()
    }

    /// Every recorded error, or what `build` makes of the parameters read.
    ///
    /// # Errors
    /// [`ApiError::Invalid`] with every recorded error.
    pub fn finish<T>(self, build: impl FnOnce() -> Option<T>) -> Result<T, ApiError> {
        finish(self.errors, "a query parameter", build)
    }

    /// The end of reading a list's query: its [`page`](Self::page) under the usual names,
    /// `order_by` and `order_direction`, or every recorded error, the page's own included.
    ///
    /// # Errors
    /// [`ApiError::Invalid`] with every recorded error.
    pub fn finish_page<O: FromStr<Err = ValueError> + Default>(
        mut self,
    ) -> Result<PageRequest<O>, ApiError> {
        let page = self.page(&["order_by"], &["order_direction"]);
        self.finish(|| page)
    }
}

/// Why a query value was refused, whatever type it was parsed into.
#[derive(Debug)]
pub struct QueryValueError(ValueError);

impl From<ValueError> for QueryValueError {
    fn from(error: ValueError) -> Self {
        Self(error)
    }
}

impl From<std::convert::Infallible> for QueryValueError {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<std::num::ParseIntError> for QueryValueError {
    fn from(_: std::num::ParseIntError) -> Self {
        Self(ValueError::new(
            "int_parsing",
            "Input should be a valid integer, unable to parse string as an integer",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::OrganizationOrder;

    fn query(pairs: &[(&str, &str)]) -> QueryFields {
        QueryFields::new(RawQuery(
            pairs
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
                .collect(),
        ))
    }

    fn kinds(q: QueryFields) -> Vec<(String, String)> {
        match q.finish(|| Some(())) {
            Err(ApiError::Invalid(errors)) => errors
                .into_iter()
                .map(|e| match &e.loc[1] {
                    LocPart::Key(k) => (k.clone(), e.kind),
                    LocPart::Index(_) => panic!("index in query loc"),
                })
                .collect(),
            other => panic!("expected Invalid, got {other:?}"),
        }
    }

    #[test]
    fn defaults_apply_when_nothing_is_given() {
        let mut q = query(&[("unknown", "ignored")]);
        let page = q
            .page::<OrganizationOrder>(&["order_by"], &["order_direction"])
            .unwrap();
        assert_eq!(page, PageRequest::default());
    }

    #[test]
    fn every_bad_parameter_is_reported() {
        let mut q = query(&[
            ("offset", "x"),
            ("limit", "1e3"),
            ("order_by", "email"),
            ("order_direction", "up"),
        ]);
        assert!(
            q.page::<OrganizationOrder>(&["order_by"], &["order_direction"])
                .is_none()
        );
        let mut found = kinds(q);
        found.sort();
        assert_eq!(
            found,
            [
                ("limit".to_owned(), "int_parsing".to_owned()),
                ("offset".to_owned(), "int_parsing".to_owned()),
                ("order_by".to_owned(), "enum".to_owned()),
                ("order_direction".to_owned(), "enum".to_owned()),
            ]
        );
    }

    #[test]
    fn out_of_range_pages_are_reported_on_their_parameter() {
        let mut q = query(&[("offset", "-1"), ("limit", "101")]);
        assert!(
            q.page::<OrganizationOrder>(&["order_by"], &["order_direction"])
                .is_none()
        );
        let found = kinds(q);
        assert_eq!(
            found[0],
            ("offset".to_owned(), "greater_than_equal".to_owned())
        );
        assert_eq!(found[1], ("limit".to_owned(), "less_than_equal".to_owned()));
    }

    #[test]
    fn a_range_error_is_reported_beside_a_parse_error() {
        let mut q = query(&[("offset", "x"), ("limit", "0")]);
        assert!(
            q.page::<OrganizationOrder>(&["order_by"], &["order_direction"])
                .is_none()
        );
        let mut found = kinds(q);
        found.sort();
        assert_eq!(
            found,
            [
                ("limit".to_owned(), "greater_than_equal".to_owned()),
                ("offset".to_owned(), "int_parsing".to_owned()),
            ]
        );
    }

    #[test]
    fn aliases_are_accepted() {
        let mut q = query(&[("sort_by", "name"), ("sort_order", "desc")]);
        let page = q
            .page::<OrganizationOrder>(&["order_by", "sort_by"], &["order_direction", "sort_order"])
            .unwrap();
        assert_eq!(*page.order_by(), OrganizationOrder::Name);
        assert_eq!(page.direction(), Direction::Desc);
    }
}
