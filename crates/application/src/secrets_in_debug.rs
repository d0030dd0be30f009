//! What the use cases' values show in a `Debug` output (a log line, a failed assertion, a panic):
//! never a password or a key.

use gatehouse_domain::{
    ApiKey, ApiKeyId, Email, Name, Password, Patch, Priority, RoleId, Secret, UserId,
};

use crate::fixtures::now;
use crate::{CreateUser, CreatedApiKey, Session, UpdateAccount, UpdateUser};

const PASSWORD: &str = "hunter2-hunter2";
const CURRENT: &str = "the-current-password";
const KEY: &str = "sk-0123456789abcdef0123456789abcdef";

#[test]
fn no_value_of_a_use_case_shows_a_password_or_a_key_in_debug_output() {
    let password = || Password::new(PASSWORD).unwrap();
    let outputs = [
        format!(
            "{:?}",
            CreatedApiKey {
                key: ApiKey {
                    id: ApiKeyId(3),
                    name: Name::parse("laptop").unwrap(),
                    user: UserId(7),
                    masked: "sk-0123...cdef".to_owned(),
                    project: None,
                    expires: None,
                    created: now(),
                },
                secret: Secret::new(KEY),
            }
        ),
        format!(
            "{:?}",
            Session {
                id: ApiKeyId(3),
                key: Secret::new(KEY),
                expires: Some(now()),
            }
        ),
        format!(
            "{:?}",
            CreateUser {
                email: Email::parse("ada@example.com").unwrap(),
                name: None,
                password: password(),
                role: RoleId(1),
                organization: None,
                budget: None,
                expires: None,
                priority: Priority::default(),
            }
        ),
        format!(
            "{:?}",
            UpdateUser {
                password: Some(password()),
                ..UpdateUser::default()
            }
        ),
        format!(
            "{:?}",
            UpdateAccount {
                name: Patch::Keep,
                email: None,
                password: Some(password()),
                current_password: Some(Secret::new(CURRENT)),
            }
        ),
    ];
    for output in &outputs {
        assert!(output.contains("[REDACTED]"), "{output}");
        for secret in [PASSWORD, CURRENT, KEY, "0123456789abcdef"] {
            assert!(!output.contains(secret), "{secret} in {output}");
        }
    }
    // What is not secret still shows, to tell values apart.
    assert!(outputs[0].contains("sk-0123...cdef"), "{}", outputs[0]);
    assert!(outputs[2].contains("ada@example.com"), "{}", outputs[2]);
}
