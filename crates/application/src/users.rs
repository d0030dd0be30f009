//! Use cases of users: admin-only management of accounts.

use std::fmt;
use std::sync::Arc;

use gatehouse_domain::{
    AuditAction, Budget, Clock, DateTime, DomainError, Email, Entity, Name, NewUser,
    OrganizationId, OrganizationRepository, Page, PageRequest, Password, PasswordHasher, Patch,
    Permission, Priority, Redacted, RoleId, RoleRepository, User, UserFilter, UserId, UserOrder,
    UserPatch, UserRepository, Utc,
};

use crate::{Principal, future_expiry, sessions};

/// What an admin gives to create a user; the password is hashed before it is stored.
///
/// `Debug` is written by hand, not derived, so that it shows no password whatever holds it.
#[derive(Clone, PartialEq)]
pub struct CreateUser {
    /// Email address, unique without regard to case.
    pub email: Email,
    /// Display name.
    pub name: Option<Name>,
    /// Initial password.
    pub password: Password,
    /// Role, which must exist.
    pub role: RoleId,
    /// Organization, which must exist.
    pub organization: Option<OrganizationId>,
    /// Budget; `None` for no limit.
    pub budget: Option<Budget>,
    /// Account expiry, which must lie in the future; `None` for never.
    pub expires: Option<DateTime<Utc>>,
    /// Scheduling priority.
    pub priority: Priority,
}

/// A merge patch of a user as an admin sends it: `None` and [`Patch::Keep`] keep the stored value.
///
/// `Debug` is written by hand, not derived, so that it shows whether the password changes, never
/// the password.
#[derive(Clone, PartialEq, Default)]
pub struct UpdateUser {
    /// New email address.
    pub email: Option<Email>,
    /// New display name, or none.
    pub name: Patch<Name>,
    /// New password; an admin needs no current password. Ends the user's login sessions.
    pub password: Option<Password>,
    /// New role, which must exist.
    pub role: Option<RoleId>,
    /// New organization, which must exist, or none.
    pub organization: Patch<OrganizationId>,
    /// New budget, or no limit.
    pub budget: Patch<Budget>,
    /// New account expiry, which must lie in the future, or never.
    pub expires: Patch<DateTime<Utc>>,
    /// New priority.
    pub priority: Option<Priority>,
}

impl fmt::Debug for CreateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Every field named, so that a new one cannot be left out unseen.
        let Self {
            email,
            name,
            password: _,
            role,
            organization,
            budget,
            expires,
            priority,
        } = self;
        f.debug_struct("CreateUser")
            .field("email", email)
            .field("name", name)
            .field("password", &Redacted)
            .field("role", role)
            .field("organization", organization)
            .field("budget", budget)
            .field("expires", expires)
            .field("priority", priority)
            .finish()
    }
}

impl fmt::Debug for UpdateUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Self {
            email,
            name,
            password,
            role,
            organization,
            budget,
            expires,
            priority,
        } = self;
        f.debug_struct("UpdateUser")
            .field("email", email)
            .field("name", name)
            .field("password", &password.as_ref().map(|_| Redacted))
            .field("role", role)
            .field("organization", organization)
            .field("budget", budget)
            .field("expires", expires)
            .field("priority", priority)
            .finish()
    }
}

/// Creates, reads, changes and deletes users on behalf of an admin.
#[derive(Clone)]
pub struct UserService {
    users: Arc<dyn UserRepository>,
    roles: Arc<dyn RoleRepository>,
    organizations: Arc<dyn OrganizationRepository>,
    hasher: Arc<dyn PasswordHasher>,
    clock: Arc<dyn Clock>,
}

impl UserService {
    /// A service storing users in `users`, checking references in `roles` and `organizations`.
    pub fn new(
        users: Arc<dyn UserRepository>,
        roles: Arc<dyn RoleRepository>,
        organizations: Arc<dyn OrganizationRepository>,
        hasher: Arc<dyn PasswordHasher>,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self {
            users,
            roles,
            organizations,
            hasher,
            clock,
        }
    }

    /// Creates a user.
    ///
    /// The role and organization are checked before the (deliberately slow) password hash is
    /// computed; the storage checks them again against races.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `Invalid` for an expiry
    /// that is not in the future; `NotFound(Role)`, `NotFound(Organization)`;
    /// `AlreadyExists(User)` when the email is taken.
    pub async fn create(&self, actor: &Principal, user: CreateUser) -> Result<User, DomainError> {
        let now = self.clock.now();
        let by = actor.require(Permission::Admin, now)?;
        let expires = user
            .expires
            .map(|at| future_expiry("expires", at, now))
            .transpose()?;
        self.require_role(user.role).await?;
        if let Some(organization) = user.organization {
            self.require_organization(organization).await?;
        }
        let password = self.hasher.hash(user.password).await?;
        let new = NewUser {
            email: user.email,
            name: user.name,
            password: Some(password),
            role: user.role,
            organization: user.organization,
            budget: user.budget,
            expires,
            priority: user.priority,
        };
        self.users.create(new, by.audit(AuditAction::Create)).await
    }

    /// One user.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(User)`, also for
    /// the master user, which is not stored.
    pub async fn get(&self, actor: &Principal, id: UserId) -> Result<User, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.users
            .find_by_id(id)
            .await?
            .ok_or(DomainError::NotFound(Entity::User))
    }

    /// One page of the users matching `filter`.
    ///
    /// An email filter that no address can equal ([`Email::could_match`]) matches nobody without
    /// asking the storage.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin.
    pub async fn list(
        &self,
        actor: &Principal,
        filter: UserFilter,
        page: PageRequest<UserOrder>,
    ) -> Result<Page<User>, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        if filter
            .email
            .as_deref()
            .is_some_and(|email| !Email::could_match(email))
        {
            return Ok(Page {
                items: Vec::new(),
                total: 0,
            });
        }
        self.users.list(filter, page).await
    }

    /// Applies a merge patch: absent fields stay as they are. A new password ends the user's login
    /// sessions (but the caller's own, when an admin changes their own password), in the same
    /// transaction.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `Invalid` for an expiry
    /// that is not in the future; `NotFound(User)`, `NotFound(Role)`, `NotFound(Organization)`;
    /// `AlreadyExists(User)` when the new email is taken.
    pub async fn update(
        &self,
        actor: &Principal,
        id: UserId,
        update: UpdateUser,
    ) -> Result<User, DomainError> {
        let now = self.clock.now();
        let by = actor.require(Permission::Admin, now)?;
        let expires = update
            .expires
            .try_map(|at| future_expiry("expires", at, now))?;
        if let Some(role) = update.role {
            self.require_role(role).await?;
        }
        if let Patch::Set(organization) = update.organization {
            self.require_organization(organization).await?;
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
            role: update.role,
            organization: update.organization,
            budget: update.budget,
            expires,
            priority: update.priority,
            end_keys,
        };
        let action = sessions::action_of(&patch);
        self.users.update(id, patch, by.audit(action)).await
    }

    /// Deletes a user; their API keys go with them and stop working at once.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `NotFound(User)`.
    pub async fn delete(&self, actor: &Principal, id: UserId) -> Result<(), DomainError> {
        let by = actor.require(Permission::Admin, self.clock.now())?;
        self.users.delete(id, by.audit(AuditAction::Delete)).await
    }

    async fn require_role(&self, id: RoleId) -> Result<(), DomainError> {
        match self.roles.find_by_id(id).await? {
            Some(_) => Ok(()),
            None => Err(DomainError::NotFound(Entity::Role)),
        }
    }

    async fn require_organization(&self, id: OrganizationId) -> Result<(), DomainError> {
        match self.organizations.find_by_id(id).await? {
            Some(_) => Ok(()),
            None => Err(DomainError::NotFound(Entity::Organization)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SESSION_KEY_NAME;
    use crate::fixtures::{admin, audit, clock, non_admin, now, organization, role, user};
    use gatehouse_domain::chrono::TimeDelta;
    use gatehouse_domain::{
        ApiKeyId, Expiry, KeysToEnd, MockOrganizationRepository, MockPasswordHasher,
        MockRoleRepository, MockUserRepository, PasswordHash,
    };
    use mockall::predicate::{always, eq};

    /// The ports of a user service, to set expectations on before building it.
    #[derive(Default)]
    struct Ports {
        users: MockUserRepository,
        roles: MockRoleRepository,
        organizations: MockOrganizationRepository,
        hasher: MockPasswordHasher,
    }

    impl Ports {
        /// Role 1 and organization 1 exist; every other id does not.
        fn with_existing_references() -> Self {
            let mut ports = Self::default();
            ports
                .roles
                .expect_find_by_id()
                .returning(|id| Ok((id == RoleId(1)).then(|| role(1, 0))));
            ports
                .organizations
                .expect_find_by_id()
                .returning(|id| Ok((id == OrganizationId(1)).then(|| organization(1, 0))));
            ports
        }

        fn hashing(mut self) -> Self {
            self.hasher.expect_hash().returning(|password| {
                Ok(PasswordHash::new(format!("hashed:{}", password.expose())))
            });
            self
        }

        fn service(self) -> UserService {
            UserService::new(
                Arc::new(self.users),
                Arc::new(self.roles),
                Arc::new(self.organizations),
                Arc::new(self.hasher),
                clock(),
            )
        }
    }

    fn ada() -> CreateUser {
        CreateUser {
            email: Email::parse("ada@example.com").unwrap(),
            name: Some(Name::parse("Ada").unwrap()),
            password: Password::new("correct horse battery").unwrap(),
            role: RoleId(1),
            organization: Some(OrganizationId(1)),
            budget: Some(Budget::new(5.0).unwrap()),
            expires: Some(now() + TimeDelta::days(1)),
            priority: Priority::new(2).unwrap(),
        }
    }

    #[tokio::test]
    async fn a_new_user_is_stored_with_a_hash_of_the_password_never_the_password() {
        let mut ports = Ports::with_existing_references().hashing();
        ports
            .users
            .expect_create()
            .withf(|new, by| {
                *by == audit(&admin(), AuditAction::Create)
                    && new.password == Some(PasswordHash::new("hashed:correct horse battery"))
                    && new.email.as_str() == "ada@example.com"
                    && new.expires
                        == Some(Expiry::future(now() + TimeDelta::days(1), now()).unwrap())
                    && new.priority == Priority::new(2).unwrap()
            })
            .times(1)
            .returning(|_, _| Ok(user(7)));
        let created = ports.service().create(&admin(), ada()).await.unwrap();
        assert_eq!(created.id, UserId(7));
    }

    #[tokio::test]
    async fn creating_a_user_needs_the_admin_permission() {
        let service = Ports::default().service();
        assert!(matches!(
            service.create(&non_admin(), ada()).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service.get(&non_admin(), UserId(1)).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service
                .list(&non_admin(), UserFilter::default(), PageRequest::default())
                .await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service
                .update(&non_admin(), UserId(1), UpdateUser::default())
                .await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            service.delete(&non_admin(), UserId(1)).await,
            Err(DomainError::Forbidden)
        ));
    }

    #[tokio::test]
    async fn an_expiry_that_is_now_or_past_is_invalid_and_nothing_is_stored() {
        for expires in [now(), now() - TimeDelta::seconds(1)] {
            let service = Ports::with_existing_references().service();
            let error = service
                .create(
                    &admin(),
                    CreateUser {
                        expires: Some(expires),
                        ..ada()
                    },
                )
                .await
                .unwrap_err();
            let DomainError::Invalid(violations) = error else {
                panic!("expected Invalid, got {error:?}");
            };
            assert_eq!(violations[0].field, "expires");
        }
    }

    #[tokio::test]
    async fn creating_a_user_with_a_missing_role_is_role_not_found_before_any_hashing() {
        let service = Ports::with_existing_references().service();
        let result = service
            .create(
                &admin(),
                CreateUser {
                    role: RoleId(2),
                    ..ada()
                },
            )
            .await;
        assert!(matches!(result, Err(DomainError::NotFound(Entity::Role))));
    }

    #[tokio::test]
    async fn creating_a_user_with_a_missing_organization_is_organization_not_found() {
        let service = Ports::with_existing_references().service();
        let result = service
            .create(
                &admin(),
                CreateUser {
                    organization: Some(OrganizationId(2)),
                    ..ada()
                },
            )
            .await;
        assert!(matches!(
            result,
            Err(DomainError::NotFound(Entity::Organization))
        ));
    }

    #[tokio::test]
    async fn a_user_without_organization_needs_no_organization_lookup() {
        let mut ports = Ports::default().hashing();
        ports
            .roles
            .expect_find_by_id()
            .returning(|_| Ok(Some(role(1, 0))));
        ports.organizations.expect_find_by_id().never();
        ports
            .users
            .expect_create()
            .withf(|new, by| {
                new.organization.is_none() && *by == audit(&admin(), AuditAction::Create)
            })
            .times(1)
            .returning(|_, _| Ok(user(7)));
        ports
            .service()
            .create(
                &admin(),
                CreateUser {
                    organization: None,
                    ..ada()
                },
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_taken_email_is_already_exists() {
        let mut ports = Ports::with_existing_references().hashing();
        ports
            .users
            .expect_create()
            .withf(|_, by| *by == audit(&admin(), AuditAction::Create))
            .returning(|_, _| Err(DomainError::AlreadyExists(Entity::User)));
        assert!(matches!(
            ports.service().create(&admin(), ada()).await,
            Err(DomainError::AlreadyExists(Entity::User))
        ));
    }

    #[tokio::test]
    async fn getting_a_missing_user_is_not_found() {
        let mut ports = Ports::default();
        ports.users.expect_find_by_id().returning(|_| Ok(None));
        assert!(matches!(
            ports.service().get(&admin(), UserId::MASTER).await,
            Err(DomainError::NotFound(Entity::User))
        ));
    }

    #[tokio::test]
    async fn listing_passes_filters_and_page_through() {
        let filter = UserFilter {
            role: Some(RoleId(1)),
            organization: Some(OrganizationId(1)),
            email: Some("ADA@example.com".to_owned()),
            ids: Some(vec![UserId(1)]),
        };
        let mut ports = Ports::default();
        ports
            .users
            .expect_list()
            .with(eq(filter.clone()), eq(PageRequest::default()))
            .returning(|_, _| {
                Ok(Page {
                    items: vec![user(1)],
                    total: 1,
                })
            });
        let page = ports
            .service()
            .list(&admin(), filter, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total, 1);
    }

    #[tokio::test]
    async fn an_email_filter_no_address_can_equal_matches_nobody_without_a_lookup() {
        let mut ports = Ports::default();
        ports.users.expect_list().never();
        let filter = UserFilter {
            email: Some("ada@example.com\0".to_owned()),
            ..UserFilter::default()
        };
        let page = ports
            .service()
            .list(&admin(), filter, PageRequest::default())
            .await
            .unwrap();
        assert_eq!((page.items.len(), page.total), (0, 0));
    }

    #[tokio::test]
    async fn a_patch_without_a_password_leaves_the_rest_alone_and_ends_no_session() {
        let mut ports = Ports::default();
        ports.roles.expect_find_by_id().never();
        ports.organizations.expect_find_by_id().never();
        ports.hasher.expect_hash().never();
        ports
            .users
            .expect_update()
            .with(
                eq(UserId(3)),
                eq(UserPatch {
                    email: Some(Email::parse("new@example.com").unwrap()),
                    name: Patch::Set(Name::parse("New").unwrap()),
                    budget: Patch::Set(Budget::new(1.5).unwrap()),
                    ..UserPatch::default()
                }),
                eq(audit(&admin(), AuditAction::Update)),
            )
            .times(1)
            .returning(|id, _, _| Ok(user(id.get())));
        ports
            .service()
            .update(
                &admin(),
                UserId(3),
                UpdateUser {
                    email: Some(Email::parse("new@example.com").unwrap()),
                    name: Patch::Set(Name::parse("New").unwrap()),
                    budget: Patch::Set(Budget::new(1.5).unwrap()),
                    ..UpdateUser::default()
                },
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn null_fields_of_a_patch_clear_them() {
        let mut ports = Ports::default();
        ports
            .users
            .expect_update()
            .with(
                always(),
                eq(UserPatch {
                    name: Patch::Clear,
                    organization: Patch::Clear,
                    budget: Patch::Clear,
                    expires: Patch::Clear,
                    ..UserPatch::default()
                }),
                eq(audit(&admin(), AuditAction::Update)),
            )
            .times(1)
            .returning(|id, _, _| Ok(user(id.get())));
        ports
            .service()
            .update(
                &admin(),
                UserId(3),
                UpdateUser {
                    name: Patch::Clear,
                    organization: Patch::Clear,
                    budget: Patch::Clear,
                    expires: Patch::Clear,
                    ..UpdateUser::default()
                },
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_new_password_is_hashed_without_the_current_one_and_ends_the_users_sessions() {
        // The admin's own key is kept: it ends nothing of another user's, and when the admin
        // changes their own password, their session goes on.
        for (actor, kept) in [(admin(), Some(ApiKeyId(4200))), (Principal::master(), None)] {
            let mut ports = Ports::default().hashing();
            ports
                .users
                .expect_update()
                .with(
                    eq(UserId(3)),
                    eq(UserPatch {
                        password: Some(PasswordHash::new("hashed:another secret")),
                        end_keys: Some(KeysToEnd {
                            name: Name::parse(SESSION_KEY_NAME).unwrap(),
                            except: kept,
                        }),
                        ..UserPatch::default()
                    }),
                    eq(audit(&actor, AuditAction::PasswordChange)),
                )
                .times(1)
                .returning(|id, _, _| Ok(user(id.get())));
            ports
                .service()
                .update(
                    &actor,
                    UserId(3),
                    UpdateUser {
                        password: Some(Password::new("another secret").unwrap()),
                        ..UpdateUser::default()
                    },
                )
                .await
                .unwrap();
        }
    }

    #[tokio::test]
    async fn moving_a_user_checks_the_new_role_and_organization_exist() {
        let service = Ports::with_existing_references().service();
        let to_missing_role = UpdateUser {
            role: Some(RoleId(2)),
            ..UpdateUser::default()
        };
        assert!(matches!(
            service.update(&admin(), UserId(3), to_missing_role).await,
            Err(DomainError::NotFound(Entity::Role))
        ));
        let to_missing_organization = UpdateUser {
            organization: Patch::Set(OrganizationId(2)),
            ..UpdateUser::default()
        };
        assert!(matches!(
            service
                .update(&admin(), UserId(3), to_missing_organization)
                .await,
            Err(DomainError::NotFound(Entity::Organization))
        ));
    }

    #[tokio::test]
    async fn a_patched_expiry_must_lie_in_the_future() {
        let service = Ports::default().service();
        let result = service
            .update(
                &admin(),
                UserId(3),
                UpdateUser {
                    expires: Patch::Set(now()),
                    ..UpdateUser::default()
                },
            )
            .await;
        assert!(matches!(result, Err(DomainError::Invalid(v)) if v[0].field == "expires"));
    }

    #[tokio::test]
    async fn updating_or_deleting_a_missing_user_is_not_found() {
        let mut ports = Ports::default();
        ports
            .users
            .expect_update()
            .with(
                eq(UserId(9)),
                eq(UserPatch::default()),
                eq(audit(&admin(), AuditAction::Update)),
            )
            .returning(|_, _, _| Err(DomainError::NotFound(Entity::User)));
        ports
            .users
            .expect_delete()
            .with(eq(UserId(9)), eq(audit(&admin(), AuditAction::Delete)))
            .returning(|_, _| Err(DomainError::NotFound(Entity::User)));
        let service = ports.service();
        assert!(matches!(
            service
                .update(&admin(), UserId(9), UpdateUser::default())
                .await,
            Err(DomainError::NotFound(Entity::User))
        ));
        assert!(matches!(
            service.delete(&admin(), UserId(9)).await,
            Err(DomainError::NotFound(Entity::User))
        ));
    }

    #[tokio::test]
    async fn a_password_change_with_other_fields_is_recorded_as_a_password_change() {
        let mut ports = Ports::default().hashing();
        ports
            .users
            .expect_update()
            .withf(|id, patch, by| {
                *id == UserId(3)
                    && patch.name == Patch::Set(Name::parse("New").unwrap())
                    && patch.password == Some(PasswordHash::new("hashed:another secret"))
                    && *by == audit(&admin(), AuditAction::PasswordChange)
            })
            .times(1)
            .returning(|id, _, _| Ok(user(id.get())));
        ports
            .service()
            .update(
                &admin(),
                UserId(3),
                UpdateUser {
                    name: Patch::Set(Name::parse("New").unwrap()),
                    password: Some(Password::new("another secret").unwrap()),
                    ..UpdateUser::default()
                },
            )
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn deleting_a_user_records_a_delete_by_the_caller() {
        let mut ports = Ports::default();
        ports
            .users
            .expect_delete()
            .with(eq(UserId(3)), eq(audit(&admin(), AuditAction::Delete)))
            .times(1)
            .returning(|_, _| Ok(()));
        ports.service().delete(&admin(), UserId(3)).await.unwrap();
    }
}
