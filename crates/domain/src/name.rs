//! Display names of organizations, roles and keys.

use std::fmt;

use crate::error::ValueError;

/// A trimmed name of 1 to 255 characters without NUL.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Name(String);

impl Name {
    /// Longest name accepted, in characters.
    pub const MAX_CHARS: usize = 255;

    /// Trims `raw` and checks its length in characters.
    ///
    /// # Errors
    /// `string_too_short` when nothing is left after trimming, `string_too_long` beyond
    /// [`Name::MAX_CHARS`], `value_error` when it holds a NUL character.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        let trimmed = raw.trim();
        if trimmed.contains('\0') {
            return Err(ValueError::new(
                "value_error",
                "Value must not contain a NUL character.",
            ));
        }
        let chars = trimmed.chars().count();
        if chars == 0 {
            return Err(ValueError::new(
                "string_too_short",
                "String should have at least 1 character after trimming.",
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(ValueError::new(
                "string_too_long",
                format!("String should have at most {} characters.", Self::MAX_CHARS),
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The name as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The name as an owned `String`.
    pub fn into_string(self) -> String {
        self.0
    }
}

impl AsRef<str> for Name {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_name_is_trimmed() {
        assert_eq!(Name::parse("  Acme ").unwrap().as_str(), "Acme");
    }

    #[test]
    fn blank_names_are_too_short() {
        for raw in ["", "   ", "\t\n"] {
            assert_eq!(Name::parse(raw).unwrap_err().code, "string_too_short");
        }
    }

    #[test]
    fn length_is_counted_in_characters_not_bytes() {
        assert!(Name::parse(&"é".repeat(255)).is_ok());
        assert_eq!(
            Name::parse(&"é".repeat(256)).unwrap_err().code,
            "string_too_long"
        );
    }

    #[test]
    fn a_nul_character_is_refused() {
        assert_eq!(Name::parse("a\0b").unwrap_err().code, "value_error");
    }

    proptest! {
        #[test]
        fn any_accepted_name_is_trimmed_and_within_bounds(raw in "\\PC{0,300}") {
            if let Ok(name) = Name::parse(&raw) {
                let s = name.as_str();
                prop_assert_eq!(s, s.trim());
                prop_assert!((1..=255).contains(&s.chars().count()));
                prop_assert!(!s.contains('\0'));
            }
        }

        #[test]
        fn parsing_is_idempotent(raw in "\\PC{1,40}") {
            if let Ok(name) = Name::parse(&raw) {
                prop_assert_eq!(Name::parse(name.as_str()).unwrap(), name);
            }
        }
    }
}
