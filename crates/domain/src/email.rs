//! Email addresses, the login of email/password accounts.

use std::fmt;

use validator::ValidateEmail;

use crate::error::ValueError;

/// A syntactically valid email address of at most 254 characters, kept as given.
///
/// Uniqueness ignores case, but the address is stored and shown as the user typed it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

impl Email {
    /// Longest address accepted, in characters (RFC 5321's path limit).
    pub const MAX_CHARS: usize = 254;

    /// Checks `raw` with the `validator` crate's email rule and the length limit.
    ///
    /// # Errors
    /// `value_error` when `raw` is not an address (`master` included), `string_too_long` beyond
    /// [`Email::MAX_CHARS`].
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw.chars().count() > Self::MAX_CHARS {
            return Err(ValueError::new(
                "string_too_long",
                format!("String should have at most {} characters.", Self::MAX_CHARS),
            ));
        }
        if !raw.validate_email() {
            return Err(ValueError::new(
                "value_error",
                "value is not a valid email address.",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// Whether `raw` could equal an address in some letter case. Text with a NUL character cannot:
    /// [`Email::parse`] refuses it, so no stored address holds one. A lookup by such text matches
    /// nothing, and need not reach the storage, which may not even take it in a query (PostgreSQL
    /// cannot).
    pub fn could_match(raw: &str) -> bool {
        !raw.contains('\0')
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The address as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for Email {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn an_address_is_kept_as_given() {
        assert_eq!(
            Email::parse("Ada.Lovelace@Example.org").unwrap().as_str(),
            "Ada.Lovelace@Example.org"
        );
    }

    #[test]
    fn master_is_not_an_address() {
        assert_eq!(Email::parse("master").unwrap_err().code, "value_error");
    }

    #[test]
    fn malformed_addresses_are_refused() {
        for raw in ["", "a@", "@b.c", "a b@c.d", " a@b.c"] {
            assert!(Email::parse(raw).is_err(), "{raw:?} was accepted");
        }
    }

    #[test]
    fn no_address_holds_a_nul_character() {
        for raw in [
            "a\0@example.com",
            "a@exam\0ple.com",
            "a@example.com\0",
            "\0",
        ] {
            assert!(Email::parse(raw).is_err(), "{raw:?} was accepted");
            assert!(!Email::could_match(raw), "{raw:?}");
        }
        assert!(Email::could_match("Ada@Example.com"));
        assert!(Email::could_match("not an address"));
    }

    #[test]
    fn addresses_longer_than_254_characters_are_refused() {
        let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(190));
        assert!(long.len() > 254);
        assert_eq!(Email::parse(&long).unwrap_err().code, "string_too_long");
    }

    proptest! {
        #[test]
        fn simple_addresses_are_accepted(local in "[a-z0-9]{1,30}", domain in "[a-z]{1,20}\\.[a-z]{2,6}") {
            let raw = format!("{local}@{domain}");
            let email = Email::parse(&raw).unwrap();
            prop_assert_eq!(email.as_str(), raw.as_str());
        }

        #[test]
        fn text_without_at_sign_is_refused(raw in "[^@]{0,60}") {
            prop_assert!(Email::parse(&raw).is_err());
        }
    }
}
