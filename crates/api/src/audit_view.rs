//! How an audit event shows its objects: through the same response types as reading them, so that
//! an event's `before` and `after` are what `GET` showed then, and never a secret.

use gatehouse_domain::{Snapshot, SnapshotView};
use serde::Serialize;
use serde_json::{Map, Value, json};

use crate::dto::api_keys::TokenResponse;
use crate::dto::organizations::OrganizationResponse;
use crate::dto::projects::{ProjectMemberResponse, ProjectResponse};
use crate::dto::roles::RoleResponse;
use crate::dto::users::UserResponse;

/// The API's [`SnapshotView`], for the audit trail of the storage adapters.
#[derive(Debug, Clone, Copy, Default)]
pub struct AuditView;

impl SnapshotView for AuditView {
    fn render(&self, snapshot: &Snapshot) -> String {
        let value = match snapshot.clone() {
            Snapshot::Organization(organization) => {
                to_value(OrganizationResponse::from(organization))
            }
            Snapshot::User(user) => to_value(UserResponse::from(user)),
            Snapshot::PasswordChanged(user) => {
                let mut shown = to_value(UserResponse::from(user));
                if let Value::Object(fields) = &mut shown {
                    fields.insert("password".to_owned(), Value::from("changed"));
                }
                shown
            }
            Snapshot::Role(role) => to_value(RoleResponse::from(role)),
            // The key's masked form: `TokenResponse` from a stored key never holds the secret.
            Snapshot::Token(key) => to_value(TokenResponse::from(key)),
            Snapshot::Project(project) => to_value(ProjectResponse::from(project)),
            Snapshot::Member(member) => to_value(ProjectMemberResponse::from(member)),
            Snapshot::FailedLogin { email } => json!({ "email": email }),
        };
        value.to_string()
    }
}

/// The JSON of a response. They hold plain fields, which always serialize; an empty object would
/// stand in for one that did not, rather than losing the event.
fn to_value(response: impl Serialize) -> Value {
    serde_json::to_value(response).unwrap_or_else(|_| Value::Object(Map::new()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use gatehouse_domain::{
        ApiKey, ApiKeyId, Email, Name, OrganizationId, Priority, RoleId, User, UserId, Utc,
    };

    fn user() -> User {
        let now = Utc::now();
        User {
            id: UserId(3),
            email: Email::parse("ada@example.com").unwrap(),
            name: Some(Name::parse("Ada").unwrap()),
            sub: None,
            iss: None,
            role: RoleId(1),
            organization: Some(OrganizationId(2)),
            budget: None,
            expires: None,
            priority: Priority::default(),
            created: now,
            updated: now,
        }
    }

    #[test]
    fn a_password_change_shows_the_user_and_that_the_password_changed_never_the_password() {
        let shown: Value =
            serde_json::from_str(&AuditView.render(&Snapshot::PasswordChanged(user()))).unwrap();
        assert_eq!(shown["object"], "user");
        assert_eq!(shown["email"], "ada@example.com");
        assert_eq!(shown["password"], "changed");
        let plain: Value =
            serde_json::from_str(&AuditView.render(&Snapshot::User(user()))).unwrap();
        assert!(plain.get("password").is_none());
    }

    #[test]
    fn a_key_is_shown_masked_as_an_admin_reads_it() {
        let key = ApiKey {
            id: ApiKeyId(9),
            name: Name::parse("ci").unwrap(),
            user: UserId(3),
            masked: "sk-ab12...9xyz".to_owned(),
            project: None,
            expires: None,
            created: Utc::now(),
        };
        let shown: Value = serde_json::from_str(&AuditView.render(&Snapshot::Token(key))).unwrap();
        assert_eq!(shown["object"], "token");
        assert_eq!(shown["token"], "sk-ab12...9xyz");
        assert_eq!(shown["user"], 3);
    }

    #[test]
    fn a_failed_login_shows_the_email_as_typed() {
        let shown = AuditView.render(&Snapshot::FailedLogin {
            email: "Ada@Example.com ".to_owned(),
        });
        assert_eq!(shown, r#"{"email":"Ada@Example.com "}"#);
    }
}
