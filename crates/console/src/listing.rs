//! The parts of a table page that every list shares: sortable column headers and the pager, as
//! links that keep the page's other query parameters (its filters), read and checked by the
//! API's own query reader ([`QueryFields`]).

use std::str::FromStr;

use actix_web::HttpRequest;
use gatehouse_api::input::{QueryFields, RawQuery};
use gatehouse_domain::{Direction, PageRequest, ValueError};

use crate::error::ConsoleError;

/// A column header.
#[derive(Debug, Clone)]
pub struct Column {
    /// What it shows.
    pub label: &'static str,
    /// The link that sorts by it; `None` for a column that does not sort.
    pub href: Option<String>,
    /// `ascending` or `descending` on the column the page is sorted by, for `aria-sort`.
    pub sort: Option<&'static str>,
}

impl Column {
    /// Whether the list is sorted by it, ascending.
    pub fn ascending(&self) -> bool {
        self.sort == Some("ascending")
    }
}

/// The headers and the pager of one page of a list.
#[derive(Debug, Clone)]
pub struct Listing {
    /// The column headers.
    pub columns: Vec<Column>,
    /// "1–10 of 42", or "None yet."
    pub summary: String,
    /// The link to the page before, if any.
    pub previous: Option<String>,
    /// The link to the page after, if any.
    pub next: Option<String>,
}

/// The query of a list page: its filters are read from it, then its page.
pub struct ListQuery {
    /// The parameters, for the page to read its filters from.
    pub fields: QueryFields,
    pairs: Vec<(String, String)>,
    path: String,
}

impl ListQuery {
    /// The query of `request`.
    pub fn of(request: &HttpRequest) -> Self {
        let pairs: Vec<(String, String)> =
            serde_urlencoded::from_str(request.query_string()).unwrap_or_default();
        let raw = RawQuery(pairs.iter().cloned().collect());
        Self {
            fields: QueryFields::new(raw),
            pairs,
            path: request.path().to_owned(),
        }
    }

    /// The value of parameter `name` as sent; empty when absent.
    pub fn raw(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// The page asked for, or the API's 422 with every invalid parameter (filters included).
    pub fn page<O: FromStr<Err = ValueError> + Default>(
        &mut self,
    ) -> Result<PageRequest<O>, ConsoleError> {
        let fields = std::mem::replace(&mut self.fields, QueryFields::new(RawQuery::default()));
        Ok(fields.finish_page()?)
    }

    /// This page's address with `changes` made to its query (an empty value removes the
    /// parameter).
    pub fn link(&self, changes: &[(&str, String)]) -> String {
        let mut pairs: Vec<(String, String)> = self
            .pairs
            .iter()
            .filter(|(key, value)| {
                !value.is_empty() && !changes.iter().any(|(name, _)| name == key)
            })
            .cloned()
            .collect();
        pairs.extend(
            changes
                .iter()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, value)| ((*name).to_owned(), value.clone())),
        );
        let query = serde_urlencoded::to_string(&pairs).unwrap_or_default();
        if query.is_empty() {
            self.path.clone()
        } else {
            format!("{}?{query}", self.path)
        }
    }

    /// The headers and pager of a page of `total` items asked with `page`; `columns` are the
    /// labels with the `order_by` word of those that sort; `default_order` is the list's default.
    pub fn listing<O>(
        &self,
        columns: &[(&'static str, Option<&'static str>)],
        default_order: &str,
        page: &PageRequest<O>,
        total: i64,
    ) -> Listing {
        let order = match self.raw("order_by") {
            "" => default_order,
            order => order,
        };
        let direction = page.direction();
        let columns = columns
            .iter()
            .map(|&(label, key)| {
                let sorted = key.filter(|key| *key == order);
                Column {
                    label,
                    href: key.map(|key| {
                        let next = if sorted.is_some() && direction == Direction::Asc {
                            "desc"
                        } else {
                            "asc"
                        };
                        self.link(&[
                            ("order_by", key.to_owned()),
                            ("order_direction", next.to_owned()),
                            ("offset", String::new()),
                        ])
                    }),
                    sort: sorted.map(|_| match direction {
                        Direction::Asc => "ascending",
                        Direction::Desc => "descending",
                    }),
                }
            })
            .collect();
        let (offset, limit) = (page.offset(), page.limit());
        let shown_to = (offset + limit).min(total);
        let summary = if total == 0 {
            "None yet.".to_owned()
        } else if offset >= total {
            format!("Nothing past {total}.")
        } else {
            format!("{}–{shown_to} of {total}", offset + 1)
        };
        Listing {
            columns,
            summary,
            previous: (offset > 0)
                .then(|| self.link(&[("offset", (offset - limit).max(0).to_string())])),
            next: (offset + limit < total)
                .then(|| self.link(&[("offset", (offset + limit).to_string())])),
        }
    }
}
