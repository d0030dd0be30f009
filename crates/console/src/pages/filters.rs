//! The filter forms of the usage and audit pages: a `GET` form whose query is read by the API's
//! own query readers, once what people type is turned into what the API reads (a blank filter
//! is no filter; a date is the Unix second of its UTC midnight), and the period a usage page
//! shows when none is asked for.

use actix_web::HttpRequest;
use gatehouse_api::ApiError;
use gatehouse_api::error::{FieldError, LocPart};
use gatehouse_api::input::RawQuery;
use gatehouse_domain::ValueError;
use gatehouse_domain::chrono::{DateTime, Days, TimeDelta, Utc};

use crate::form::date;
use crate::page::date_value;

/// The filters that are dates in the form and Unix seconds in the API.
const DATES: [&str; 2] = ["from", "to"];

/// How many days a usage page shows when no period is asked for, today included.
pub const DEFAULT_DAYS: u64 = 30;

/// The query of a page with a filter form, as sent.
pub struct FilterQuery {
    pairs: Vec<(String, String)>,
}

impl FilterQuery {
    /// The query of `request` (one that is not URL encoding reads as empty, as in
    /// [`ListQuery`](crate::listing::ListQuery)).
    pub fn of(request: &HttpRequest) -> Self {
        Self {
            pairs: serde_urlencoded::from_str(request.query_string()).unwrap_or_default(),
        }
    }

    /// The value of `name` as sent (the form shows it again); empty when absent.
    pub fn raw(&self, name: &str) -> &str {
        self.pairs
            .iter()
            .rev()
            .find(|(key, _)| key == name)
            .map_or("", |(_, value)| value.as_str())
    }

    /// Whether the query names no period: `from` and `to` both blank or absent.
    pub fn has_no_period(&self) -> bool {
        DATES.iter().all(|name| self.raw(name).trim().is_empty())
    }

    /// What the API's reader `read` makes of this query, with `defaults` for the parameters not
    /// given: every invalid parameter reported at once, a date that is not one included.
    ///
    /// # Errors
    /// The API's [`ApiError::Invalid`] with every invalid parameter.
    pub fn read<T>(
        &self,
        defaults: &[(&str, &str)],
        read: impl FnOnce(RawQuery) -> Result<T, ApiError>,
    ) -> Result<T, ApiError> {
        let mut query = RawQuery::default();
        let mut not_dates = Vec::new();
        for (name, value) in &self.pairs {
            let value = value.trim();
            if value.is_empty() {
                continue;
            }
            let is_date = DATES.contains(&name.as_str());
            match date(value) {
                // The API's reader checks the second as it checks its own `from`/`to`.
                Some(seconds) if is_date => query.0.insert(name.clone(), seconds.to_string()),
                None if is_date => {
                    not_dates.push(FieldError::new(
                        vec![LocPart::from("query"), LocPart::from(name.as_str())],
                        ValueError::new(
                            "date_parsing",
                            "Input should be a valid date in the format YYYY-MM-DD.",
                        ),
                    ));
                    // Nor an earlier value of the same name: the last one given counts.
                    query.0.remove(name)
                }
                _ => query.0.insert(name.clone(), value.to_owned()),
            };
        }
        for (name, value) in defaults {
            if !query.0.contains_key(*name) {
                query.0.insert((*name).to_owned(), (*value).to_owned());
            }
        }
        match read(query) {
            Ok(_) if !not_dates.is_empty() => Err(ApiError::Invalid(not_dates)),
            Ok(read) => Ok(read),
            Err(ApiError::Invalid(mut errors)) => {
                not_dates.append(&mut errors);
                Err(ApiError::Invalid(not_dates))
            }
            Err(error) => Err(error),
        }
    }

    /// `path` with this query's filled parameters: a link to the same filters and page.
    pub fn link(&self, path: &str) -> String {
        let filled: Vec<&(String, String)> = self
            .pairs
            .iter()
            .filter(|(_, value)| !value.trim().is_empty())
            .collect();
        let query = serde_urlencoded::to_string(filled).unwrap_or_default();
        if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        }
    }
}

/// The period a usage page shows when none is asked for: the last [`DEFAULT_DAYS`] UTC days,
/// today included, as `from` (inclusive) and `to` (exclusive).
pub fn default_period(now: DateTime<Utc>) -> (DateTime<Utc>, DateTime<Utc>) {
    let today = now
        .date_naive()
        .and_hms_opt(0, 0, 0)
        .map_or(now, |midnight| midnight.and_utc());
    let from = today
        .checked_sub_days(Days::new(DEFAULT_DAYS - 1))
        .unwrap_or(today);
    (from, today + TimeDelta::days(1))
}

/// A time as a date input's value: its UTC day.
pub fn day_of(at: DateTime<Utc>) -> String {
    date_value(at.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;
    use gatehouse_domain::chrono::TimeZone;

    fn query(query: &str) -> FilterQuery {
        FilterQuery::of(&TestRequest::with_uri(&format!("/x?{query}")).to_http_request())
    }

    fn sorted(query: RawQuery) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> = query.0.into_iter().collect();
        pairs.sort();
        pairs
    }

    #[test]
    fn blanks_are_dropped_and_dates_become_the_seconds_of_their_utc_midnight() {
        let read = query("from=2030-06-15&to=&user=+4+&router=")
            .read(&[("order_direction", "desc")], |query| Ok(sorted(query)))
            .unwrap();
        assert_eq!(
            read,
            [
                ("from".to_owned(), "1907712000".to_owned()),
                ("order_direction".to_owned(), "desc".to_owned()),
                ("user".to_owned(), "4".to_owned()),
            ]
        );
    }

    #[test]
    fn a_date_that_is_not_one_is_reported_with_the_apis_errors() {
        let error = query("from=soon&to=2030-06-15")
            .read(&[], |_| {
                Err::<(), _>(ApiError::invalid(
                    vec![LocPart::from("query"), LocPart::from("user")],
                    ValueError::new("int_parsing", "Not a number."),
                ))
            })
            .unwrap_err();
        let places: Vec<String> = error
            .field_errors()
            .into_iter()
            .map(|error| format!("{:?}", error.loc))
            .collect();
        assert_eq!(places.len(), 2, "{places:?}");
        assert!(places[0].contains("from") && places[1].contains("user"));
    }

    #[test]
    fn the_default_period_is_the_last_thirty_days_today_included() {
        let now = Utc.with_ymd_and_hms(2030, 6, 15, 13, 45, 0).unwrap();
        let (from, to) = default_period(now);
        assert_eq!(day_of(from), "2030-05-17");
        assert_eq!(day_of(to), "2030-06-16");
        assert_eq!((to - from).num_days(), 30);
    }

    #[test]
    fn a_link_keeps_the_filled_parameters() {
        assert_eq!(
            query("actor=0&action=&offset=10").link("/console/admin/audit.csv"),
            "/console/admin/audit.csv?actor=0&offset=10"
        );
        assert_eq!(query("action=").link("/p"), "/p");
    }
}
