//! Login sessions: which of them a password change ends. One rule for the user changing their own
//! password and for an admin setting it, so that both end the same sessions.

use gatehouse_domain::{DomainError, KeysToEnd, Name};

use crate::Principal;
use crate::login::SESSION_KEY_NAME;

/// The sessions a new password ends: every session key of the user, but the key the change came
/// with. Whoever held the old password (or a session opened with it) is logged out, while the
/// caller's own session goes on; keys made for programs are not sessions and stay.
///
/// The kept key is the caller's whether or not it is one of the user's: an admin's key is never
/// among another user's keys, so their sessions all end; the master key has no stored key, so it
/// keeps none.
///
/// # Errors
/// `Unexpected` if the session key's name were not a valid name (a bug, caught by the tests).
pub(crate) fn ended_by_password_change(actor: &Principal) -> Result<KeysToEnd, DomainError> {
    Ok(KeysToEnd {
        name: Name::parse(SESSION_KEY_NAME).map_err(DomainError::unexpected)?,
        except: actor.key,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::admin;
    use gatehouse_domain::ApiKeyId;

    #[test]
    fn a_password_change_ends_the_session_keys_but_the_callers() {
        let ended = ended_by_password_change(&admin()).unwrap();
        assert_eq!(ended.name.as_str(), SESSION_KEY_NAME);
        assert_eq!(ended.except, Some(ApiKeyId(4200)));
    }

    #[test]
    fn the_master_key_keeps_no_session() {
        let ended = ended_by_password_change(&Principal::master()).unwrap();
        assert_eq!(ended.name.as_str(), SESSION_KEY_NAME);
        assert_eq!(ended.except, None);
    }
}
