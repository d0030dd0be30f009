//! Use cases of one's own account: reading who one is, and changing one's name, email and
//! password.

use std::fmt;
use std::sync::Arc;

use gatehouse_domain::{
    Actor, Budget, Clock, DateTime, DomainError, Email, Entity, Limits, Name, OrganizationId,
    Password, PasswordHasher, Patch, Permissions, Priority, ProjectId, ProjectRepository, Redacted,
    Secret, User, UserId, UserPatch, UserRepository, Utc,
};

use crate::{Principal, sessions};

/// The address the master user is known by; it is not an email address, so no stored user can
/// have it.
pub const MASTER_EMAIL: &str = "master";

/// Who the caller is: their account and what their role grants.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountInfo {
    /// Their id (0 for the master user).
    pub id: UserId,
    /// Their email address ([`MASTER_EMAIL`] for the master user).
    pub email: String,
    /// Their display name.
    pub name: Option<Name>,
    /// Their organization.
    pub organization: Option<OrganizationId>,
    /// The project their key acts in, if it is bound to one.
    pub project: Option<ProjectId>,
    /// What they may still spend: the project's budget for a project-bound key, their own
    /// otherwise; `None` for no limit.
    pub budget: Option<Budget>,
    /// What their role allows.
    pub permissions: Permissions,
    /// The rate limits they act under: their role's, narrowed by the key's project.
    pub limits: Limits,
    /// When their account stops working; `None` for never.
    pub expires: Option<DateTime<Utc>>,
    /// Their scheduling priority.
    pub priority: Priority,
    /// When the account was created (the Unix epoch for the master user, which is not stored).
    pub created: DateTime<Utc>,
    /// When the account last changed (the Unix epoch for the master user).
    pub updated: DateTime<Utc>,
}

impl AccountInfo {
    /// The built-in master user, which has no stored account.
    fn master(principal: &Principal) -> Self {
        Self {
            id: UserId::MASTER,
            email: MASTER_EMAIL.to_owned(),
            name: Name::parse(MASTER_EMAIL).ok(),
            organization: None,
            project: None,
            budget: None,
            permissions: principal.permissions.clone(),
            limits: principal.limits(),
            expires: None,
            priority: Priority::default(),
            created: DateTime::UNIX_EPOCH,
            updated: DateTime::UNIX_EPOCH,
        }
    }

    /// A stored user, with the grants their key was authenticated with.
    fn of(user: User, principal: &Principal) -> Self {
        let (project, budget) = match &principal.project {
            Some(project) => (Some(project.id), project.budget),
            None => (None, user.budget),
        };
        Self {
            id: user.id,
            email: user.email.into_string(),
            name: user.name,
            organization: user.organization,
            project,
            budget,
            permissions: principal.permissions.clone(),
            limits: principal.limits(),
            expires: user.expires,
            priority: user.priority,
            created: user.created,
            updated: user.updated,
        }
    }
}

/// What a user may change of their own account: a merge patch where absent fields stay as they
/// are. Role, organization, budget, expiry and priority are an admin's to change.
#[derive(Clone, PartialEq, Default)]
pub struct UpdateAccount {
    /// A new display name, or none.
    pub name: Patch<Name>,
    /// A new email address, unique without regard to case; needs the right `current_password`.
    pub email: Option<Email>,
    /// A new password; needs the right `current_password`, and ends the other login sessions.
    pub password: Option<Password>,
    /// The password the account has now, to prove that an email or password change comes from
    /// the account's owner, not from whoever holds one of its keys.
    pub current_password: Option<Secret>,
}

/// Written out rather than derived: the passwords it carries must never show in a `Debug` output,
/// whatever the types of their fields become.
impl fmt::Debug for UpdateAccount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            name,
            email,
            password,
            current_password,
        } = self;
        f.debug_struct("UpdateAccount")
            .field("name", name)
            .field("email", email)
            .field("password", &password.as_ref().map(|_| Redacted))
            .field(
                "current_password",
                &current_password.as_ref().map(|_| Redacted),
            )
            .finish()
    }
}

/// Reads and changes the caller's own account.
#[derive(Clone)]
pub struct AccountService {
    users: Arc<dyn UserRepository>,
    projects: Arc<dyn ProjectRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
}

impl AccountService {
    /// A service reading accounts from `users` (and the budget of a project-bound key's project
    /// from `projects`) and checking passwords with `hasher`.
    pub fn new(
        users: Arc<dyn UserRepository>,
        projects: Arc<dyn ProjectRepository>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            projects,
            hasher,
            clock,
        }
    }

    /// Who the caller is. Answers for an expired account too, so that its owner can see why
    /// everything else is refused.
    ///
    /// # Errors
    /// `InvalidApiKey` when the account was deleted since the key was checked (its keys went with
    /// it).
    pub async fn info(&self, actor: &Principal) -> Result<AccountInfo, DomainError> {
        if actor.is_master() {
            return Ok(AccountInfo::master(actor));
        }
        let user = self
            .users
            .find_by_id(actor.user)
            .await?
            .ok_or(DomainError::InvalidApiKey)?;
        let mut info = AccountInfo::of(user, actor);
        if let Some(scope) = &actor.project {
            // What the project may still spend changes with every call charged to it: read now,
            // not as the key's grant held it (a cached grant may predate the last charge).
            let project = self
                .projects
                .find_by_id(scope.id)
                .await?
                .ok_or(DomainError::InvalidApiKey)?;
            info.budget = project.budget;
        }
        Ok(info)
    }

    /// Changes the caller's name, email or password, and returns the account as it is afterwards.
    ///
    /// A new email or password is accepted only with the right current password, so that a key
    /// alone can neither take the account over nor probe which emails are taken: the (slow) check
    /// is done before anything is written or looked up. A name alone needs no password. A new
    /// password ends the user's other login sessions, in the same transaction.
    ///
    /// # Errors
    /// As [`AccountService::may_update`]; `InvalidCurrentPassword` when an email or a password
    /// comes without the right current one (or the account has no password);
    /// `AlreadyExists(User)` when the new email is taken; `InvalidApiKey` when the account was
    /// deleted since the key was checked.
    pub async fn update(
        &self,
        actor: &Principal,
        update: UpdateAccount,
    ) -> Result<AccountInfo, DomainError> {
        let by = self.may_update(actor)?;
        if update.email.is_some() || update.password.is_some() {
            self.check_current_password(actor.user, update.current_password)
                .await?;
        }
        let (password, end_keys) = match update.password {
            Some(password) => (
                Some(self.hasher.hash(password).await?),
                Some(sessions::ended_by_password_change(actor)?),
            ),
            None => (None, None),
        };
        let patch = UserPatch {
            email: update.email,
            name: update.name,
            password,
            end_keys,
            ..UserPatch::default()
        };
        let action = sessions::action_of(&patch);
        let user = self
            .users
            .update(actor.user, patch, by.audit(action))
            .await
            .map_err(|error| match error {
                DomainError::NotFound(Entity::User) => DomainError::InvalidApiKey,
                error => error,
            })?;
        Ok(AccountInfo::of(user, actor))
    }

    /// Whether `actor` may change their account at all, whatever they change: checked before the
    /// change itself is read, so that a caller who may not learns nothing from its validation.
    ///
    /// # Errors
    /// `MasterNotAllowed` for the master key, which has no stored account; `Forbidden` for a
    /// project-bound key, which acts only inside its project (an email or password change needs
    /// an unbound key or a login); `AccountExpired`.
    pub fn may_update(&self, actor: &Principal) -> Result<Actor, DomainError> {
        if actor.is_master() {
            return Err(DomainError::MasterNotAllowed);
        }
        actor.require_unbound()?;
        actor.require_active(self.clock.now())
    }

    async fn check_current_password(
        &self,
        user: UserId,
        current: Option<Secret>,
    ) -> Result<(), DomainError> {
        let current = current.ok_or(DomainError::InvalidCurrentPassword)?;
        let credentials = self
            .users
            .find_credentials(user)
            .await?
            .ok_or(DomainError::InvalidApiKey)?;
        if self.hasher.verify(current, credentials.password).await? {
            Ok(())
        } else {
            Err(DomainError::InvalidCurrentPassword)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SESSION_KEY_NAME;
    use crate::fixtures::{audit, caller, clock, now, user};
    use crate::principal::ProjectScope;
    use gatehouse_domain::AuditAction;
    use gatehouse_domain::chrono::TimeDelta;
    use gatehouse_domain::{
        ApiKeyId, Credentials, KeysToEnd, Limit, LimitType, MockPasswordHasher,
        MockProjectRepository, MockUserRepository, PasswordHash, Permission, Project,
    };
    use mockall::predicate::{always, eq};

    fn service(users: MockUserRepository, hasher: MockPasswordHasher) -> AccountService {
        service_with(users, MockProjectRepository::new(), hasher)
    }

    fn service_with(
        users: MockUserRepository,
        projects: MockProjectRepository,
        hasher: MockPasswordHasher,
    ) -> AccountService {
        AccountService::new(
            Arc::new(users),
            Arc::new(projects),
            Arc::new(hasher),
            clock(),
        )
    }

    /// User 42, as the fixtures' caller is.
    fn me() -> User {
        User {
            id: UserId(42),
            ..user(42)
        }
    }

    fn credentials() -> Credentials {
        Credentials {
            user: UserId(42),
            password: Some(PasswordHash::new("$argon2id$current")),
            expires: None,
        }
    }

    /// A hasher that knows one password, "current-password", and hashes new ones as "hashed".
    fn hasher() -> MockPasswordHasher {
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().returning(|candidate, hash| {
            Ok(
                hash.is_some_and(|hash| hash.as_str() == "$argon2id$current")
                    && candidate.expose() == "current-password",
            )
        });
        hasher
            .expect_hash()
            .returning(|_| Ok(PasswordHash::new("$argon2id$new")));
        hasher
    }

    fn password_change(current: Option<&str>) -> UpdateAccount {
        UpdateAccount {
            password: Some(Password::new("a-new-password").unwrap()),
            current_password: current.map(Secret::new),
            ..UpdateAccount::default()
        }
    }

    #[tokio::test]
    async fn info_shows_the_account_with_the_grants_of_the_key() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_id()
            .with(eq(UserId(42)))
            .returning(|_| Ok(Some(me())));
        let mut actor = caller(&[Permission::ReadMetric], None);
        actor.role_limits =
            Limits::new(vec![Limit::new(1, LimitType::Rpm, Some(10)).unwrap()]).unwrap();
        let info = service(users, MockPasswordHasher::new())
            .info(&actor)
            .await
            .unwrap();
        assert_eq!(info.id, UserId(42));
        assert_eq!(info.email, "user42@example.com");
        assert_eq!(info.project, None);
        assert_eq!(info.budget, me().budget);
        assert_eq!(info.permissions, actor.permissions);
        assert_eq!(info.limits, actor.role_limits);
    }

    #[tokio::test]
    async fn info_under_a_project_bound_key_shows_the_project_and_its_budget() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_id().returning(|_| Ok(Some(me())));
        let mut actor = caller(&[], None);
        actor.project = Some(ProjectScope {
            id: ProjectId(5),
            budget: Some(Budget::new(2.5).unwrap()),
            limits: Limits::default(),
        });
        // The project has spent since the key's grant was read.
        let mut projects = MockProjectRepository::new();
        projects
            .expect_find_by_id()
            .with(eq(ProjectId(5)))
            .times(1)
            .returning(|id| {
                Ok(Some(Project {
                    id,
                    name: Name::parse("Apollo").unwrap(),
                    organization: OrganizationId(1),
                    budget: Some(Budget::new(1.25).unwrap()),
                    limits: Limits::default(),
                    members: 1,
                    created: now(),
                    updated: now(),
                }))
            });
        let info = service_with(users, projects, MockPasswordHasher::new())
            .info(&actor)
            .await
            .unwrap();
        assert_eq!(info.project, Some(ProjectId(5)));
        assert_eq!(info.budget, Some(Budget::new(1.25).unwrap()));
        assert_ne!(info.budget, me().budget);
    }

    #[tokio::test]
    async fn info_answers_for_an_expired_account() {
        let expired_at = now() - TimeDelta::days(1);
        let mut users = MockUserRepository::new();
        users.expect_find_by_id().returning(move |_| {
            Ok(Some(User {
                expires: Some(expired_at),
                ..me()
            }))
        });
        let actor = caller(&[], Some(expired_at));
        let info = service(users, MockPasswordHasher::new())
            .info(&actor)
            .await
            .unwrap();
        assert_eq!(info.expires, Some(expired_at));
    }

    #[tokio::test]
    async fn the_master_user_is_described_without_a_lookup() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_id().never();
        let info = service(users, MockPasswordHasher::new())
            .info(&Principal::master())
            .await
            .unwrap();
        assert_eq!(info.id, UserId::MASTER);
        assert_eq!(info.email, MASTER_EMAIL);
        assert_eq!(info.permissions, Permissions::all());
        assert_eq!(info.budget, None);
    }

    #[tokio::test]
    async fn a_deleted_account_is_an_invalid_key() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_id().returning(|_| Ok(None));
        let result = service(users, MockPasswordHasher::new())
            .info(&caller(&[], None))
            .await;
        assert!(matches!(result, Err(DomainError::InvalidApiKey)));
    }

    #[tokio::test]
    async fn a_name_changes_without_a_password() {
        let name = Name::parse("New Name").unwrap();
        let expected = UserPatch {
            name: Patch::Set(name.clone()),
            ..UserPatch::default()
        };
        let mut users = MockUserRepository::new();
        users.expect_find_credentials().never();
        users
            .expect_update()
            .with(
                eq(UserId(42)),
                eq(expected),
                eq(audit(&caller(&[], None), AuditAction::Update)),
            )
            .times(1)
            .returning(|_, patch, _| {
                Ok(User {
                    name: patch.name.apply(None),
                    ..me()
                })
            });
        let mut hasher = MockPasswordHasher::new();
        hasher.expect_verify().never();
        hasher.expect_hash().never();
        let update = UpdateAccount {
            name: Patch::Set(name.clone()),
            ..UpdateAccount::default()
        };
        let info = service(users, hasher)
            .update(&caller(&[], None), update)
            .await
            .unwrap();
        assert_eq!(info.name, Some(name));
    }

    #[tokio::test]
    async fn an_email_changes_with_the_right_current_password_and_ends_no_session() {
        let email = Email::parse("new@example.com").unwrap();
        let name = Name::parse("New Name").unwrap();
        let expected = UserPatch {
            email: Some(email.clone()),
            name: Patch::Set(name.clone()),
            ..UserPatch::default()
        };
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .with(eq(UserId(42)))
            .times(1)
            .returning(|_| Ok(Some(credentials())));
        users
            .expect_update()
            .with(
                eq(UserId(42)),
                eq(expected),
                eq(audit(&caller(&[], None), AuditAction::Update)),
            )
            .times(1)
            .returning(|_, patch, _| {
                Ok(User {
                    email: patch.email.unwrap(),
                    name: patch.name.apply(None),
                    ..me()
                })
            });
        let mut hasher = hasher();
        hasher.checkpoint();
        hasher
            .expect_verify()
            .times(1)
            .returning(|candidate, _| Ok(candidate.expose() == "current-password"));
        hasher.expect_hash().never();
        let update = UpdateAccount {
            name: Patch::Set(name.clone()),
            email: Some(email),
            current_password: Some(Secret::new("current-password")),
            ..UpdateAccount::default()
        };
        let info = service(users, hasher)
            .update(&caller(&[], None), update)
            .await
            .unwrap();
        assert_eq!(info.email, "new@example.com");
        assert_eq!(info.name, Some(name));
    }

    #[tokio::test]
    async fn an_email_without_the_right_current_password_changes_nothing() {
        for current in [None, Some("wrong-password")] {
            let mut users = MockUserRepository::new();
            users
                .expect_find_credentials()
                .returning(|_| Ok(Some(credentials())));
            // Not even to find out whether the address is taken.
            users.expect_update().never();
            let update = UpdateAccount {
                email: Some(Email::parse("taken@example.com").unwrap()),
                name: Patch::Set(Name::parse("Mallory").unwrap()),
                current_password: current.map(Secret::new),
                ..UpdateAccount::default()
            };
            let result = service(users, hasher())
                .update(&caller(&[], None), update)
                .await;
            assert!(
                matches!(result, Err(DomainError::InvalidCurrentPassword)),
                "{current:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_password_changes_with_the_right_current_password_only_as_a_hash() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .with(eq(UserId(42)))
            .returning(|_| Ok(Some(credentials())));
        let expected = UserPatch {
            password: Some(PasswordHash::new("$argon2id$new")),
            end_keys: Some(KeysToEnd {
                name: Name::parse(SESSION_KEY_NAME).unwrap(),
                except: Some(ApiKeyId(4200)),
            }),
            ..UserPatch::default()
        };
        users
            .expect_update()
            .with(
                eq(UserId(42)),
                eq(expected),
                eq(audit(&caller(&[], None), AuditAction::PasswordChange)),
            )
            .times(1)
            .returning(|_, _, _| Ok(me()));
        service(users, hasher())
            .update(
                &caller(&[], None),
                password_change(Some("current-password")),
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_password_change_ends_the_other_sessions_keeping_the_callers_key() {
        for key in [Some(ApiKeyId(7)), None] {
            let actor = Principal {
                key,
                ..caller(&[], None)
            };
            // The audit names the key the change came with, or none.
            let expected_audit = audit(&actor, AuditAction::PasswordChange);
            assert_eq!(expected_audit.actor.key, key);
            let mut users = MockUserRepository::new();
            users
                .expect_find_credentials()
                .returning(|_| Ok(Some(credentials())));
            users
                .expect_update()
                .withf(move |_, patch, by| {
                    patch.end_keys
                        == Some(KeysToEnd {
                            name: Name::parse(SESSION_KEY_NAME).unwrap(),
                            except: key,
                        })
                        && *by == expected_audit
                })
                .times(1)
                .returning(|_, _, _| Ok(me()));
            service(users, hasher())
                .update(&actor, password_change(Some("current-password")))
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn a_password_without_the_right_current_one_changes_nothing() {
        for current in [None, Some("wrong-password")] {
            let mut users = MockUserRepository::new();
            users
                .expect_find_credentials()
                .returning(|_| Ok(Some(credentials())));
            users.expect_update().never();
            let mut hasher = hasher();
            hasher.checkpoint();
            hasher
                .expect_verify()
                .returning(|candidate, _| Ok(candidate.expose() == "current-password"));
            hasher.expect_hash().never();
            let result = service(users, hasher)
                .update(&caller(&[], None), password_change(current))
                .await;
            assert!(
                matches!(result, Err(DomainError::InvalidCurrentPassword)),
                "{current:?}"
            );
        }
    }

    #[tokio::test]
    async fn an_account_without_a_password_cannot_prove_its_current_one() {
        let mut users = MockUserRepository::new();
        users.expect_find_credentials().returning(|_| {
            Ok(Some(Credentials {
                password: None,
                ..credentials()
            }))
        });
        users.expect_update().never();
        let result = service(users, hasher())
            .update(
                &caller(&[], None),
                password_change(Some("current-password")),
            )
            .await;
        assert!(matches!(result, Err(DomainError::InvalidCurrentPassword)));
    }

    #[tokio::test]
    async fn the_master_user_cannot_change_its_account() {
        let mut users = MockUserRepository::new();
        users.expect_update().never();
        let result = service(users, MockPasswordHasher::new())
            .update(&Principal::master(), UpdateAccount::default())
            .await;
        assert!(matches!(result, Err(DomainError::MasterNotAllowed)));
    }

    #[tokio::test]
    async fn a_project_bound_key_cannot_change_its_account_not_even_its_name() {
        let mut users = MockUserRepository::new();
        users.expect_update().never();
        users.expect_find_credentials().never();
        let bound = Principal {
            project: Some(ProjectScope {
                id: ProjectId(5),
                budget: None,
                limits: Limits::default(),
            }),
            ..caller(&[], Some(now() - TimeDelta::days(1)))
        };
        let service = service(users, MockPasswordHasher::new());
        // Refused as bound before as expired: the key's scope is the first thing wrong with it.
        assert!(matches!(
            service.may_update(&bound),
            Err(DomainError::Forbidden)
        ));
        let rename = UpdateAccount {
            name: gatehouse_domain::Patch::Set(Name::parse("Ada").unwrap()),
            ..UpdateAccount::default()
        };
        let result = service.update(&bound, rename).await;
        assert!(matches!(result, Err(DomainError::Forbidden)));
        assert!(matches!(
            service.may_update(&Principal::master()),
            Err(DomainError::MasterNotAllowed)
        ));
    }

    #[tokio::test]
    async fn an_expired_account_cannot_change_itself() {
        let mut users = MockUserRepository::new();
        users.expect_update().never();
        let actor = caller(&[], Some(now() - TimeDelta::seconds(1)));
        let result = service(users, MockPasswordHasher::new())
            .update(&actor, UpdateAccount::default())
            .await;
        assert!(matches!(result, Err(DomainError::AccountExpired)));
    }

    #[tokio::test]
    async fn a_taken_email_is_a_conflict_and_a_vanished_account_an_invalid_key() {
        for (stored, expected) in [
            (
                DomainError::AlreadyExists(Entity::User),
                "AlreadyExists(User)",
            ),
            (DomainError::NotFound(Entity::User), "InvalidApiKey"),
        ] {
            let mut users = MockUserRepository::new();
            let stored = std::sync::Mutex::new(Some(stored));
            users
                .expect_update()
                .with(
                    eq(UserId(42)),
                    always(),
                    eq(audit(&caller(&[], None), AuditAction::Update)),
                )
                .returning(move |_, _, _| Err(stored.lock().unwrap().take().unwrap()));
            users
                .expect_find_credentials()
                .returning(|_| Ok(Some(credentials())));
            let update = UpdateAccount {
                email: Some(Email::parse("taken@example.com").unwrap()),
                current_password: Some(Secret::new("current-password")),
                ..UpdateAccount::default()
            };
            let error = service(users, hasher())
                .update(&caller(&[], None), update)
                .await
                .unwrap_err();
            assert_eq!(format!("{error:?}"), expected);
        }
    }

    #[tokio::test]
    async fn a_password_change_with_a_new_name_is_recorded_as_a_password_change() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_credentials()
            .returning(|_| Ok(Some(credentials())));
        users
            .expect_update()
            .withf(|id, patch, by| {
                *id == UserId(42)
                    && patch.name == Patch::Set(Name::parse("Ada").unwrap())
                    && patch.password == Some(PasswordHash::new("$argon2id$new"))
                    && *by == audit(&caller(&[], None), AuditAction::PasswordChange)
            })
            .times(1)
            .returning(|_, _, _| Ok(me()));
        let update = UpdateAccount {
            name: Patch::Set(Name::parse("Ada").unwrap()),
            ..password_change(Some("current-password"))
        };
        service(users, hasher())
            .update(&caller(&[], None), update)
            .await
            .unwrap();
    }

    #[test]
    fn may_update_gives_the_callers_actor_with_its_key_and_origin() {
        let service = service(MockUserRepository::new(), MockPasswordHasher::new());
        let actor = caller(&[], None);
        let by = service.may_update(&actor).unwrap();
        assert_eq!(by, audit(&actor, AuditAction::Update).actor);
        assert_eq!(by.user, Some(UserId(42)));
        assert_eq!(by.key, Some(ApiKeyId(4200)));
        assert_eq!(by.address, Some("192.0.2.42".parse().unwrap()));
        assert_eq!(
            by.request_id
                .as_ref()
                .map(gatehouse_domain::RequestId::as_str),
            Some("req-42")
        );
    }
}
