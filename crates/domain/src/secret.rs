//! Plain-text secrets (passwords, API keys) that must never reach a log.

use std::fmt;

/// A secret string whose `Debug` output is redacted, so that it cannot leak through logs or panics.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself; call this only where the plain text is needed (hashing, the one answer
    /// that creates a key).
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Secret").field(&Redacted).finish()
    }
}

/// What a `Debug` output shows in place of a secret: `[REDACTED]`. The hand-written `Debug` of
/// every type that holds a password or a key puts it where the secret would be, so that the
/// output still shows which fields there are.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Redacted;

impl fmt::Debug for Redacted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl From<String> for Secret {
    fn from(secret: String) -> Self {
        Self(secret)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_never_shows_the_secret() {
        let secret = Secret::new("hunter2-hunter2");
        assert!(!format!("{secret:?}").contains("hunter2"));
        assert_eq!(format!("{secret:?}"), "Secret([REDACTED])");
        assert_eq!(secret.expose(), "hunter2-hunter2");
    }

    #[test]
    fn debug_output_of_every_type_holding_a_secret_or_its_hash_shows_neither() {
        use crate::{Credentials, GeneratedKey, KeyHash, Password, PasswordHash, UserId};

        let key = "sk-0123456789abcdef0123456789abcdef";
        let digest = "the-digest-bytes";
        let phc = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA";
        let outputs = [
            format!("{:?}", Password::new("hunter2-hunter2").unwrap()),
            format!("{:?}", PasswordHash::new(phc)),
            format!("{:?}", KeyHash::new(digest.as_bytes())),
            format!(
                "{:?}",
                GeneratedKey {
                    secret: Secret::new(key),
                    hash: KeyHash::new(digest.as_bytes()),
                    masked: "sk-0123...cdef".to_owned(),
                }
            ),
            format!(
                "{:?}",
                Credentials {
                    user: UserId(7),
                    password: Some(PasswordHash::new(phc)),
                    expires: None,
                }
            ),
        ];
        let digest_bytes = format!("{:?}", digest.as_bytes());
        for output in &outputs {
            assert!(output.contains("[REDACTED]"), "{output}");
            for secret in ["hunter2", key, "0123456789abcdef", "argon2", "aGFzaA"] {
                assert!(!output.contains(secret), "{secret} in {output}");
            }
            assert!(!output.contains(digest), "{output}");
            assert!(!output.contains(&digest_bytes[1..20]), "{output}");
        }
        // What is not secret still shows, to tell values apart.
        assert!(outputs[3].contains("sk-0123...cdef"), "{}", outputs[3]);
        assert!(outputs[4].contains("UserId(7)"), "{}", outputs[4]);
    }
}
