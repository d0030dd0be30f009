//! Login sessions: which of them a password change ends, and how the change is recorded. One rule
//! for the user changing their own password and for an admin setting it, so that both end the
//! same sessions and read the same in the audit log.

use gatehouse_domain::{AuditAction, DomainError, KeysToEnd, Name, UserPatch};

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

/// What the audit log calls a change of a user: a password change when it sets a password
/// (whatever else it changes), an update otherwise.
pub(crate) fn action_of(patch: &UserPatch) -> AuditAction {
    if patch.password.is_some() {
        AuditAction::PasswordChange
    } else {
        AuditAction::Update
    }
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
    fn a_change_that_sets_a_password_is_a_password_change() {
        use gatehouse_domain::{PasswordHash, UserPatch};
        assert_eq!(action_of(&UserPatch::default()), AuditAction::Update);
        let patch = UserPatch {
            name: gatehouse_domain::Patch::Clear,
            password: Some(PasswordHash::new(
                "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA",
            )),
            ..UserPatch::default()
        };
        assert_eq!(action_of(&patch), AuditAction::PasswordChange);
    }

    #[test]
    fn the_master_key_keeps_no_session() {
        let ended = ended_by_password_change(&Principal::master()).unwrap();
        assert_eq!(ended.name.as_str(), SESSION_KEY_NAME);
        assert_eq!(ended.except, None);
    }
}
