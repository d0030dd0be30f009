//! Pagination and ordering of lists.

use std::fmt;
use std::str::FromStr;

use crate::error::{ValueError, Violation};

/// Sort direction. Ties are broken by id in the same direction, so that pages never overlap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Direction {
    /// Smallest first.
    #[default]
    Asc,
    /// Largest first.
    Desc,
}

impl Direction {
    /// The word clients send: `asc` or `desc`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Asc => "asc",
            Self::Desc => "desc",
        }
    }
}

impl FromStr for Direction {
    type Err = ValueError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "asc" => Ok(Self::Asc),
            "desc" => Ok(Self::Desc),
            _ => Err(ValueError::new("enum", "Input should be 'asc' or 'desc'.")),
        }
    }
}

impl fmt::Display for Direction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One page of a list: where it starts, how long it is, and how the list is ordered.
///
/// `O` is the resource's own order field (`UserOrder`...), so that a list can only be ordered by a
/// field its adapter knows how to sort on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest<O> {
    offset: i64,
    limit: i64,
    order_by: O,
    direction: Direction,
}

impl<O> PageRequest<O> {
    /// Page size when the client gives none.
    pub const DEFAULT_LIMIT: i64 = 10;
    /// Largest page a client may ask for.
    pub const MAX_LIMIT: i64 = 100;

    /// Checks `offset >= 0` and `1 <= limit <= 100`.
    ///
    /// # Errors
    /// One violation per invalid field (`offset`, `limit`), both when both are invalid.
    pub fn new(
        offset: i64,
        limit: i64,
        order_by: O,
        direction: Direction,
    ) -> Result<Self, Vec<Violation>> {
        let mut violations = Vec::new();
        if offset < 0 {
            violations.push(Violation::new(
                "offset",
                ValueError::new(
                    "greater_than_equal",
                    "Input should be greater than or equal to 0.",
                ),
            ));
        }
        if limit < 1 {
            violations.push(Violation::new(
                "limit",
                ValueError::new(
                    "greater_than_equal",
                    "Input should be greater than or equal to 1.",
                ),
            ));
        } else if limit > Self::MAX_LIMIT {
            violations.push(Violation::new(
                "limit",
                ValueError::new(
                    "less_than_equal",
                    format!("Input should be less than or equal to {}.", Self::MAX_LIMIT),
                ),
            ));
        }
        if violations.is_empty() {
            Ok(Self {
                offset,
                limit,
                order_by,
                direction,
            })
        } else {
            Err(violations)
        }
    }

    /// How many items to skip.
    pub fn offset(&self) -> i64 {
        self.offset
    }

    /// How many items at most.
    pub fn limit(&self) -> i64 {
        self.limit
    }

    /// The field to order by.
    pub fn order_by(&self) -> &O {
        &self.order_by
    }

    /// The direction, for the field and for the id tie-break alike.
    pub fn direction(&self) -> Direction {
        self.direction
    }
}

impl<O: Default> Default for PageRequest<O> {
    /// The first page of 10, by the default order, ascending.
    fn default() -> Self {
        Self {
            offset: 0,
            limit: Self::DEFAULT_LIMIT,
            order_by: O::default(),
            direction: Direction::Asc,
        }
    }
}

/// One page of a list and the size of the whole list.
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T> {
    /// The items of this page, in order.
    pub items: Vec<T>,
    /// How many items the whole list (with its filters) holds.
    pub total: i64,
}

impl<T> Page<T> {
    /// Converts every item, keeping the total.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            total: self.total,
        }
    }
}

/// Declares a resource's order field: an enum whose variants map to the words clients send.
macro_rules! order_fields {
    ($(#[$doc:meta])* $name:ident { $first:ident => $first_word:literal $(, $variant:ident => $word:literal)* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub enum $name {
            #[doc = concat!("Order by `", $first_word, "` (the default).")]
            #[default]
            $first,
            $(
                #[doc = concat!("Order by `", $word, "`.")]
                $variant,
            )*
        }

        impl $name {
            /// Every field, in the order they are documented.
            pub const ALL: &'static [Self] = &[Self::$first $(, Self::$variant)*];

            /// The word clients send for this field.
            pub fn as_str(self) -> &'static str {
                match self {
                    Self::$first => $first_word,
                    $(Self::$variant => $word,)*
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::error::ValueError;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $first_word => Ok(Self::$first),
                    $($word => Ok(Self::$variant),)*
                    _ => Err($crate::error::ValueError::new(
                        "enum",
                        concat!("Input should be '", $first_word, "'" $(, ", '", $word, "'")*, "."),
                    )),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}
pub(crate) use order_fields;

#[cfg(test)]
mod tests {
    use super::*;

    order_fields!(
        /// A test order.
        TestOrder { Id => "id", Name => "name" }
    );

    #[test]
    fn offset_and_limit_are_bounded_and_every_violation_is_reported() {
        assert!(PageRequest::new(0, 1, TestOrder::Id, Direction::Asc).is_ok());
        assert!(PageRequest::new(5, 100, TestOrder::Id, Direction::Asc).is_ok());
        let errors = PageRequest::new(-1, 0, TestOrder::Id, Direction::Asc).unwrap_err();
        let fields: Vec<_> = errors.iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["offset", "limit"]);
        let errors = PageRequest::new(0, 101, TestOrder::Id, Direction::Asc).unwrap_err();
        assert_eq!(errors[0].code, "less_than_equal");
    }

    #[test]
    fn order_fields_parse_from_the_words_clients_send() {
        assert_eq!("name".parse::<TestOrder>().unwrap(), TestOrder::Name);
        assert_eq!(TestOrder::default(), TestOrder::Id);
        assert_eq!(TestOrder::ALL, [TestOrder::Id, TestOrder::Name]);
        let error = "email".parse::<TestOrder>().unwrap_err();
        assert_eq!(error.message, "Input should be 'id', 'name'.");
        assert_eq!("desc".parse::<Direction>().unwrap(), Direction::Desc);
        assert!("DESC".parse::<Direction>().is_err());
    }
}
