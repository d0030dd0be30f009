//! Request ids: the name a client gives one request, to retry it safely or to trace it.

use std::fmt;

use uuid::Uuid;

use crate::error::ValueError;

/// 1 to 128 characters of `[A-Za-z0-9._:-]`: safe in a header, a log line and a URL as they are.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RequestId(String);

impl RequestId {
    /// Longest request id accepted, in characters.
    pub const MAX_CHARS: usize = 128;

    /// The characters a request id may hold, besides ASCII letters and digits.
    pub const PUNCTUATION: &'static str = "._:-";

    /// Checks the length and the characters of `raw`.
    ///
    /// # Errors
    /// `string_too_short` for an empty id, `string_too_long` beyond [`RequestId::MAX_CHARS`],
    /// `string_pattern_mismatch` for any other character.
    pub fn parse(raw: &str) -> Result<Self, ValueError> {
        if raw.is_empty() {
            return Err(ValueError::new(
                "string_too_short",
                "String should have at least 1 character.",
            ));
        }
        if raw.len() > Self::MAX_CHARS {
            return Err(ValueError::new(
                "string_too_long",
                format!("String should have at most {} characters.", Self::MAX_CHARS),
            ));
        }
        if !raw
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || Self::PUNCTUATION.as_bytes().contains(&b))
        {
            return Err(ValueError::new(
                "string_pattern_mismatch",
                "String should match pattern '^[A-Za-z0-9._:-]{1,128}$'.",
            ));
        }
        Ok(Self(raw.to_owned()))
    }

    /// A new id, for a request that came without a usable one: a random UUID (v4), whose text (36
    /// hex digits and `-`) is a valid id, and unique enough that a log search finds that request
    /// alone.
    pub fn generate() -> Self {
        Self(Uuid::new_v4().hyphenated().to_string())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RequestId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_short_and_plain() {
        assert!(RequestId::parse("call-42:retry.1_A").is_ok());
        assert!(RequestId::parse(&"a".repeat(128)).is_ok());
        assert_eq!(RequestId::parse("").unwrap_err().code, "string_too_short");
        assert_eq!(
            RequestId::parse(&"a".repeat(129)).unwrap_err().code,
            "string_too_long"
        );
        for bad in ["a b", "a/b", "é", "a\0", "a\n"] {
            assert_eq!(
                RequestId::parse(bad).unwrap_err().code,
                "string_pattern_mismatch",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn generated_ids_are_valid_and_differ() {
        let first = RequestId::generate();
        let second = RequestId::generate();
        assert_eq!(RequestId::parse(first.as_str()), Ok(first.clone()));
        assert_eq!(first.as_str().len(), 36);
        assert_ne!(first, second);
    }
}
