//! Signing in through an identity provider (single sign-on): which account a proven identity is, and the
//! session it gets. Below the protocol: the driving adapter checks the tokens and hands over an
//! [`Identity`], so that these rules are tested without a provider.

use std::num::NonZeroU32;
use std::sync::Arc;

use gatehouse_domain::{
    ApiKeyRepository, AuditAction, Clock, DateTime, DomainError, Email, Entity, Identity,
    KeyGenerator, Name, NewUser, Origin, Priority, SignOnPolicy, UserId, UserRepository, Utc,
};

use crate::login::Session;
use crate::sessions::SessionIssuer;

/// Exchanges an identity a provider vouched for for a session key, finding,
/// linking or creating its account.
#[derive(Clone)]
pub struct SignOnService {
    users: Arc<dyn UserRepository>,
    clock: Arc<dyn Clock>,
    sessions: SessionIssuer,
}

impl SignOnService {
    /// A service finding accounts in `users` and storing session keys, made by `generator`, in
    /// `keys` for `session_seconds`: the same sessions as a password login opens.
    pub fn new(
        users: Arc<dyn UserRepository>,
        keys: Arc<dyn ApiKeyRepository>,
        generator: Arc<dyn KeyGenerator>,
        clock: Arc<dyn Clock>,
        session_seconds: NonZeroU32,
    ) -> Self {
        Self {
            users,
            clock,
            sessions: SessionIssuer::new(keys, generator, session_seconds),
        }
    }

    /// Signs in the person `identity` proves, coming from `origin`, under `policy`, and hands out
    /// a fresh session key, which replaces their previous one.
    ///
    /// The account is, in this order:
    /// - the one already signed on as this subject at this issuer;
    /// - else the one holding the identity's email (in any letter case), when the provider
    ///   vouches for the address (`email_verified`) and the account is not linked to another
    ///   identity: it is linked (its `iss` and `sub` set, an `update` in the audit log);
    /// - else a new one, with the identity's email and name (a name the API would refuse is left
    ///   out), the policy's default role and organization, and no password (a `create` in the
    ///   audit log, by nobody known: the account does not exist yet when it is made).
    ///
    /// The session is a `login` in the audit log, by the account.
    ///
    /// Refusals are decided before anything is written, and write nothing: an email outside the
    /// policy's allowed domains (checked on every sign-in, whichever account it finds), an email
    /// held by an account it may not link (unverified, or linked to another identity: creating
    /// another account with it is impossible), no account and no default role, no account and no
    /// email.
    ///
    /// # Errors
    /// `SignInRefused` as above; `AccountExpired` for an account past its expiry (found or to be
    /// linked); `Unexpected` when the policy's default role or organization no longer exists (a
    /// configuration to fix, not the person's fault); `Unavailable` when the storage cannot be
    /// reached.
    pub async fn sign_in(
        &self,
        identity: Identity,
        policy: &SignOnPolicy,
        origin: Origin,
    ) -> Result<Session, DomainError> {
        if !policy.allows(&identity) {
            return Err(DomainError::SignInRefused);
        }
        let now = self.clock.now();
        let user = self.account(identity, policy, &origin, now).await?;
        let actor = origin.actor(Some(user));
        self.sessions.open(user, None, now, actor).await
    }

    /// The account `identity` signs in to, found, linked or created.
    async fn account(
        &self,
        identity: Identity,
        policy: &SignOnPolicy,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<UserId, DomainError> {
        let found = self
            .users
            .find_by_subject(&identity.issuer, &identity.subject)
            .await?;
        if let Some(user) = found {
            refuse_expired(user.expires, now)?;
            return Ok(user.id);
        }
        if let Some(holder) = self.holder_of_email(&identity).await? {
            return self.link(holder, identity, origin, now).await;
        }
        self.create(identity, policy, origin).await
    }

    /// The account holding `identity`'s email, in any letter case, if any.
    async fn holder_of_email(&self, identity: &Identity) -> Result<Option<UserId>, DomainError> {
        let Some(email) = identity
            .email
            .as_deref()
            .filter(|raw| Email::could_match(raw))
        else {
            return Ok(None);
        };
        Ok(self
            .users
            .find_credentials_by_email(email)
            .await?
            .map(|credentials| credentials.user))
    }

    /// Links the account `holder`, which holds `identity`'s email, to it: only for an address
    /// the provider vouches for, and an account not linked to another identity, which would
    /// otherwise be taken over by whoever the provider gives the address to.
    async fn link(
        &self,
        holder: UserId,
        identity: Identity,
        origin: &Origin,
        now: DateTime<Utc>,
    ) -> Result<UserId, DomainError> {
        if !identity.email_verified {
            return Err(DomainError::SignInRefused);
        }
        // Deleted since it was found: as if it never held the address, but creating now could
        // collide with a concurrent creation; refusing is the simple answer to a rare race.
        let user = self
            .users
            .find_by_id(holder)
            .await?
            .ok_or(DomainError::SignInRefused)?;
        if user.sub.is_some() || user.iss.is_some() {
            return Err(DomainError::SignInRefused);
        }
        refuse_expired(user.expires, now)?;
        let audit = origin
            .clone()
            .actor(Some(holder))
            .audit(AuditAction::Update);
        let linked =
            self.users
                .link_subject(holder, identity.issuer, identity.subject, audit)
                .await
                .map_err(|error| match error {
                    // Another sign-on linked the pair to someone else in the meantime, or the
                    // account was deleted since it was read.
                    DomainError::AlreadyExists(Entity::User)
                    | DomainError::NotFound(Entity::User) => DomainError::SignInRefused,
                    other => other,
                })?;
        Ok(linked.id)
    }

    /// Creates the account of `identity`, which neither its subject nor its email finds.
    async fn create(
        &self,
        identity: Identity,
        policy: &SignOnPolicy,
        origin: &Origin,
    ) -> Result<UserId, DomainError> {
        let Some(role) = policy.default_role else {
            return Err(DomainError::SignInRefused);
        };
        let email = identity
            .email
            .as_deref()
            .and_then(|raw| Email::parse(raw).ok())
            .ok_or(DomainError::SignInRefused)?;
        let new = NewUser {
            email,
            name: identity
                .name
                .as_deref()
                .and_then(|raw| Name::parse(raw).ok()),
            password: None,
            role,
            organization: policy.default_organization,
            budget: None,
            expires: None,
            priority: Priority::default(),
        };
        let audit = origin.clone().actor(None).audit(AuditAction::Create);
        let created = self
            .users
            .create_with_subject(
                new,
                identity.issuer.clone(),
                identity.subject.clone(),
                audit,
            )
            .await;
        match created {
            Ok(user) => Ok(user.id),
            // A concurrent sign-on of the same person created it first (the pair is unique), or
            // someone took the address in the meantime.
            Err(DomainError::AlreadyExists(Entity::User)) => self
                .users
                .find_by_subject(&identity.issuer, &identity.subject)
                .await?
                .map(|user| user.id)
                .ok_or(DomainError::SignInRefused),
            Err(DomainError::NotFound(entity @ (Entity::Role | Entity::Organization))) => {
                Err(DomainError::unexpected(format!(
                    "the default {} of sign-on does not exist",
                    entity.noun().to_lowercase()
                )))
            }
            Err(other) => Err(other),
        }
    }
}

/// An account past its expiry is told so, as a password login tells it.
fn refuse_expired(expires: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Result<(), DomainError> {
    if expires.is_some_and(|expires| expires <= now) {
        return Err(DomainError::AccountExpired);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::SESSION_KEY_NAME;
    use crate::fixtures::{clock, now, origin, user};
    use gatehouse_domain::chrono::TimeDelta;
    use gatehouse_domain::{
        Actor, ApiKey, ApiKeyId, Credentials, Expiry, GeneratedKey, KeyHash, MockApiKeyRepository,
        MockKeyGenerator, MockUserRepository, NewApiKey, OrganizationId, PasswordHash, RoleId,
        Secret, User,
    };
    use mockall::predicate::{always, eq, function};

    const ISSUER: &str = "https://id.example";
    const SUBJECT: &str = "248289761001";
    const SESSION_SECONDS: u32 = 600;

    fn identity(email: &str, verified: bool) -> Identity {
        Identity {
            issuer: ISSUER.to_owned(),
            subject: SUBJECT.to_owned(),
            email: Some(email.to_owned()),
            email_verified: verified,
            name: Some("Ada Lovelace".to_owned()),
        }
    }

    fn policy() -> SignOnPolicy {
        SignOnPolicy {
            default_role: Some(RoleId(3)),
            default_organization: Some(OrganizationId(5)),
            allowed_email_domains: vec![],
        }
    }

    /// User `id`, signed on as the test subject.
    fn signed_on(id: i64) -> User {
        User {
            sub: Some(SUBJECT.to_owned()),
            iss: Some(ISSUER.to_owned()),
            ..user(id)
        }
    }

    /// The actor of what `user` (or nobody known) does by signing in from the fixtures' origin.
    fn actor(user: Option<i64>) -> Actor {
        origin().actor(user.map(UserId))
    }

    fn generator() -> MockKeyGenerator {
        let mut generator = MockKeyGenerator::new();
        generator.expect_generate().returning(|| {
            Ok(GeneratedKey {
                secret: Secret::new("sk-session"),
                hash: KeyHash::new(b"sk-session".to_vec()),
                masked: "sk-sess...sion".to_owned(),
            })
        });
        generator
    }

    /// Keys that must store exactly one session key, for `user`, checked against no password,
    /// recorded as their login.
    fn opening_for(user: i64) -> MockApiKeyRepository {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_replace_named()
            .with(
                function(move |new: &NewApiKey| {
                    new.user == UserId(user)
                        && new.project.is_none()
                        && new.name.as_str() == SESSION_KEY_NAME
                        && new.expires.map(Expiry::at)
                            == Some(now() + TimeDelta::seconds(SESSION_SECONDS.into()))
                }),
                eq(None::<PasswordHash>),
                eq(actor(Some(user)).audit(AuditAction::Login)),
            )
            .times(1)
            .returning(|new, _, _| {
                Ok(ApiKey {
                    id: ApiKeyId(31),
                    name: new.name,
                    user: new.user,
                    masked: new.masked,
                    project: new.project,
                    expires: new.expires.map(Expiry::at),
                    created: now(),
                })
            });
        keys
    }

    fn no_session() -> MockApiKeyRepository {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_replace_named().never();
        keys
    }

    /// Users where nobody is signed on as the test subject: only reads are expected, every write
    /// must be expected by the test.
    fn nobody_signed_on() -> MockUserRepository {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_subject()
            .with(eq(ISSUER), eq(SUBJECT))
            .returning(|_, _| Ok(None));
        users
    }

    /// As [`nobody_signed_on`], with `holder` holding ada@example.com, in any letter case.
    fn holding_ada(holder: User) -> MockUserRepository {
        let mut users = nobody_signed_on();
        let id = holder.id;
        users
            .expect_find_credentials_by_email()
            .returning(move |email| {
                Ok(email
                    .eq_ignore_ascii_case("ada@example.com")
                    .then_some(Credentials {
                        user: id,
                        password: Some(PasswordHash::new("$argon2id$ada")),
                        expires: None,
                    }))
            });
        users
            .expect_find_by_id()
            .with(eq(id))
            .returning(move |_| Ok(Some(holder.clone())));
        users
    }

    /// Users where nobody holds the identity's email either.
    fn nobody() -> MockUserRepository {
        let mut users = nobody_signed_on();
        users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(None));
        users
    }

    fn no_writes(users: &mut MockUserRepository) {
        users.expect_create_with_subject().never();
        users.expect_link_subject().never();
        users.expect_create().never();
        users.expect_update().never();
    }

    fn service(users: MockUserRepository, keys: MockApiKeyRepository) -> SignOnService {
        SignOnService::new(
            Arc::new(users),
            Arc::new(keys),
            Arc::new(generator()),
            clock(),
            NonZeroU32::new(SESSION_SECONDS).unwrap(),
        )
    }

    async fn refused(
        users: MockUserRepository,
        identity: Identity,
        policy: &SignOnPolicy,
    ) -> DomainError {
        service(users, no_session())
            .sign_in(identity, policy, origin())
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn a_person_signed_on_before_is_found_by_subject_and_gets_a_session() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_subject()
            .with(eq(ISSUER), eq(SUBJECT))
            .times(1)
            .returning(|_, _| Ok(Some(signed_on(7))));
        no_writes(&mut users);
        // Their email is now another account's: the subject decides, not the email.
        let session = service(users, opening_for(7))
            .sign_in(identity("someone@else.org", false), &policy(), origin())
            .await
            .unwrap();
        assert_eq!(session.id, ApiKeyId(31));
        assert_eq!(session.key.expose(), "sk-session");
        assert_eq!(
            session.expires,
            Some(now() + TimeDelta::seconds(SESSION_SECONDS.into()))
        );
    }

    #[tokio::test]
    async fn an_account_with_the_verified_email_is_linked_in_any_letter_case() {
        let mut users = holding_ada(user(7));
        users
            .expect_link_subject()
            .with(
                eq(UserId(7)),
                eq(ISSUER.to_owned()),
                eq(SUBJECT.to_owned()),
                eq(actor(Some(7)).audit(AuditAction::Update)),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(signed_on(7)));
        users.expect_create_with_subject().never();
        service(users, opening_for(7))
            .sign_in(identity("ADA@Example.com", true), &policy(), origin())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_account_with_an_unverified_email_is_not_linked_and_nothing_is_created() {
        let mut users = holding_ada(user(7));
        no_writes(&mut users);
        let error = refused(users, identity("ada@example.com", false), &policy()).await;
        assert!(matches!(error, DomainError::SignInRefused), "{error:?}");
    }

    #[tokio::test]
    async fn an_account_linked_to_another_identity_is_not_linked_again() {
        let other = User {
            sub: Some("another-subject".to_owned()),
            iss: Some(ISSUER.to_owned()),
            ..user(7)
        };
        let mut users = holding_ada(other);
        no_writes(&mut users);
        let error = refused(users, identity("ada@example.com", true), &policy()).await;
        assert!(matches!(error, DomainError::SignInRefused), "{error:?}");
    }

    #[tokio::test]
    async fn an_unknown_person_is_created_with_the_defaults_and_no_password() {
        let mut users = nobody();
        users
            .expect_create_with_subject()
            .with(
                function(|new: &NewUser| {
                    *new == NewUser {
                        email: Email::parse("ada@example.com").unwrap(),
                        name: Some(Name::parse("Ada Lovelace").unwrap()),
                        password: None,
                        role: RoleId(3),
                        organization: Some(OrganizationId(5)),
                        budget: None,
                        expires: None,
                        priority: Priority::default(),
                    }
                }),
                eq(ISSUER.to_owned()),
                eq(SUBJECT.to_owned()),
                eq(actor(None).audit(AuditAction::Create)),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(signed_on(12)));
        users.expect_link_subject().never();
        service(users, opening_for(12))
            .sign_in(identity("ada@example.com", true), &policy(), origin())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_unverified_email_nobody_holds_is_enough_to_be_created() {
        let mut users = nobody();
        users
            .expect_create_with_subject()
            .times(1)
            .returning(|_, _, _, _| Ok(signed_on(12)));
        service(users, opening_for(12))
            .sign_in(identity("ada@example.com", false), &policy(), origin())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_name_the_api_would_refuse_is_left_out_rather_than_refusing_the_person() {
        let mut users = nobody();
        users
            .expect_create_with_subject()
            .with(
                function(|new: &NewUser| new.name.is_none()),
                always(),
                always(),
                always(),
            )
            .times(1)
            .returning(|_, _, _, _| Ok(signed_on(12)));
        let mut blank = identity("ada@example.com", true);
        blank.name = Some("   ".to_owned());
        service(users, opening_for(12))
            .sign_in(blank, &policy(), origin())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_email_outside_the_allowed_domains_is_refused_before_any_lookup() {
        // No expectation at all: any call to the repository fails the test.
        let users = MockUserRepository::new();
        let policy = SignOnPolicy {
            allowed_email_domains: vec!["acme.fr".to_owned()],
            ..policy()
        };
        let error = refused(users, identity("ada@example.com", true), &policy).await;
        assert!(matches!(error, DomainError::SignInRefused), "{error:?}");
    }

    #[tokio::test]
    async fn an_allowed_domain_signs_in_in_any_letter_case() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_subject()
            .returning(|_, _| Ok(Some(signed_on(7))));
        let policy = SignOnPolicy {
            allowed_email_domains: vec!["example.com".to_owned()],
            ..policy()
        };
        service(users, opening_for(7))
            .sign_in(identity("ada@EXAMPLE.com", true), &policy, origin())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_unknown_person_without_a_default_role_is_refused() {
        let mut users = nobody();
        no_writes(&mut users);
        let policy = SignOnPolicy {
            default_role: None,
            ..policy()
        };
        let error = refused(users, identity("ada@example.com", true), &policy).await;
        assert!(matches!(error, DomainError::SignInRefused), "{error:?}");
    }

    #[tokio::test]
    async fn an_unknown_person_without_an_email_is_refused() {
        let mut users = nobody_signed_on();
        users.expect_find_credentials_by_email().never();
        no_writes(&mut users);
        let mut anonymous = identity("ada@example.com", true);
        anonymous.email = None;
        let error = refused(users, anonymous, &policy()).await;
        assert!(matches!(error, DomainError::SignInRefused), "{error:?}");
    }

    #[tokio::test]
    async fn an_expired_account_found_by_subject_is_told_so_and_gets_no_session() {
        let mut users = MockUserRepository::new();
        users.expect_find_by_subject().returning(|_, _| {
            Ok(Some(User {
                expires: Some(now()),
                ..signed_on(7)
            }))
        });
        no_writes(&mut users);
        let error = refused(users, identity("ada@example.com", true), &policy()).await;
        assert!(matches!(error, DomainError::AccountExpired), "{error:?}");
    }

    #[tokio::test]
    async fn an_expired_account_with_the_email_is_not_linked() {
        let expired = User {
            expires: Some(now() - TimeDelta::seconds(1)),
            ..user(7)
        };
        let mut users = holding_ada(expired);
        no_writes(&mut users);
        let error = refused(users, identity("ada@example.com", true), &policy()).await;
        assert!(matches!(error, DomainError::AccountExpired), "{error:?}");
    }

    #[tokio::test]
    async fn a_concurrent_creation_of_the_same_person_signs_in_to_the_account_it_made() {
        let mut users = MockUserRepository::new();
        let mut lookups = 0;
        users
            .expect_find_by_subject()
            .times(2)
            .returning(move |_, _| {
                lookups += 1;
                Ok((lookups == 2).then(|| signed_on(12)))
            });
        users
            .expect_find_credentials_by_email()
            .returning(|_| Ok(None));
        users
            .expect_create_with_subject()
            .times(1)
            .returning(|_, _, _, _| Err(DomainError::AlreadyExists(Entity::User)));
        service(users, opening_for(12))
            .sign_in(identity("ada@example.com", true), &policy(), origin())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_pair_linked_to_someone_else_meanwhile_is_refused() {
        let mut users = holding_ada(user(7));
        users
            .expect_link_subject()
            .times(1)
            .returning(|_, _, _, _| Err(DomainError::AlreadyExists(Entity::User)));
        users.expect_create_with_subject().never();
        let error = refused(users, identity("ada@example.com", true), &policy()).await;
        assert!(matches!(error, DomainError::SignInRefused), "{error:?}");
    }

    #[tokio::test]
    async fn an_email_that_is_no_address_is_not_looked_up_and_creates_nobody() {
        let mut users = nobody_signed_on();
        users.expect_find_credentials_by_email().never();
        no_writes(&mut users);
        let error = refused(users, identity("ada@example.com\0", true), &policy()).await;
        assert!(matches!(error, DomainError::SignInRefused), "{error:?}");
    }

    #[tokio::test]
    async fn the_storage_failing_is_told_as_such_and_opens_no_session() {
        let mut users = MockUserRepository::new();
        users
            .expect_find_by_subject()
            .returning(|_, _| Err(DomainError::Unavailable("connection refused".into())));
        no_writes(&mut users);
        let error = refused(users, identity("ada@example.com", true), &policy()).await;
        assert!(matches!(error, DomainError::Unavailable(_)), "{error:?}");
    }

    #[tokio::test]
    async fn a_default_role_that_no_longer_exists_is_an_unexpected_error() {
        let mut users = nobody();
        users
            .expect_create_with_subject()
            .returning(|_, _, _, _| Err(DomainError::NotFound(Entity::Role)));
        let error = refused(users, identity("ada@example.com", true), &policy()).await;
        assert!(matches!(error, DomainError::Unexpected(_)), "{error:?}");
    }
}
