//! API keys: the bearer secrets users authenticate with, stored only as hashes.

use std::fmt;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::audit::Audit;
use crate::budget::Budget;
use crate::clock::Expiry;
use crate::error::DomainError;
use crate::ids::{ApiKeyId, OrganizationId, ProjectId, RoleId, UserId};
use crate::name::Name;
use crate::page::{Page, PageRequest, order_fields};
use crate::password::PasswordHash;
use crate::role::{Limits, Permissions};
use crate::secret::{Redacted, Secret};

/// What every API key starts with, so that a key is recognisable (and a bearer that is not one can
/// be refused without a lookup).
pub const API_KEY_PREFIX: &str = "sk-";

/// The hash a key is stored and looked up by; the key itself is never stored.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct KeyHash(Vec<u8>);

impl KeyHash {
    /// Wraps a digest computed by a [`KeyGenerator`] or read from storage.
    pub fn new(digest: impl Into<Vec<u8>>) -> Self {
        Self(digest.into())
    }

    /// The digest bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for KeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("KeyHash").field(&Redacted).finish()
    }
}

/// A freshly generated key: the secret to show once, its hash to store, and its masked form.
///
/// `Debug` is written by hand, not derived, so that it shows the masked form only.
#[derive(Clone, PartialEq, Eq)]
pub struct GeneratedKey {
    /// The key itself (`sk-...`), shown only in the answer that creates it.
    pub secret: Secret,
    /// What is stored and looked up.
    pub hash: KeyHash,
    /// What is shown everywhere else (`sk-ab12...9xyz`).
    pub masked: String,
}

impl fmt::Debug for GeneratedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("GeneratedKey")
            .field("secret", &Redacted)
            .field("hash", &Redacted)
            .field("masked", &self.masked)
            .finish()
    }
}

/// Makes new keys and hashes presented ones the same way.
#[cfg_attr(feature = "mocks", mockall::automock)]
pub trait KeyGenerator: Send + Sync {
    /// A new key from the operating system's random source.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::Unexpected`] when the random source fails, rather
    /// than panic or fall back to a weaker one.
    fn generate(&self) -> Result<GeneratedKey, DomainError>;

    /// The hash of a presented key, to look it up.
    fn hash(&self, key: &str) -> KeyHash;
}

/// An API key as stored: its masked form only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiKey {
    /// Its id.
    pub id: ApiKeyId,
    /// Its name.
    pub name: Name,
    /// Its owner.
    pub user: UserId,
    /// The masked key (`sk-ab12...9xyz`).
    pub masked: String,
    /// The project it acts in; `None` for a key that acts as its owner alone.
    pub project: Option<ProjectId>,
    /// When it stops working; `None` for never.
    pub expires: Option<DateTime<Utc>>,
    /// When it was created.
    pub created: DateTime<Utc>,
}

/// What is inserted to create an API key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewApiKey {
    /// Its name.
    pub name: Name,
    /// Its owner, who must exist.
    pub user: UserId,
    /// The hash of the key.
    pub hash: KeyHash,
    /// The masked key.
    pub masked: String,
    /// The project it acts in, of which the owner must be a member; `None` for none.
    pub project: Option<ProjectId>,
    /// When it stops working; `None` for never.
    pub expires: Option<Expiry>,
}

/// What a project-bound key adds to its owner's grant: the project's budget and limits.
#[derive(Debug, Clone, PartialEq)]
pub struct ProjectGrant {
    /// The project.
    pub id: ProjectId,
    /// The project's budget; `None` for no limit.
    pub budget: Option<Budget>,
    /// The project's limits.
    pub limits: Limits,
}

/// What a key grants, read in one go on every authenticated request: the key's and the account's
/// expiry, the owner's organization, role and budget, the permissions and limits of the role, and
/// the project the key is bound to.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyGrant {
    /// The key.
    pub key: ApiKeyId,
    /// When the key stops working.
    pub key_expires: Option<DateTime<Utc>>,
    /// Its owner.
    pub user: UserId,
    /// When the owner's account stops working.
    pub account_expires: Option<DateTime<Utc>>,
    /// The owner's organization.
    pub organization: Option<OrganizationId>,
    /// The owner's role.
    pub role: RoleId,
    /// The owner's own budget; `None` for no limit.
    pub budget: Option<Budget>,
    /// The permissions of the owner's role.
    pub permissions: Permissions,
    /// The limits of the owner's role.
    pub limits: Limits,
    /// The project the key is bound to, if any.
    pub project: Option<ProjectGrant>,
}

/// Filters of a key list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ApiKeyFilter {
    /// Only the keys of this user.
    pub user: Option<UserId>,
    /// Only the keys bound to this project.
    pub project: Option<ProjectId>,
}

order_fields!(
    /// The fields a key list can be ordered by.
    ApiKeyOrder {
        Id => "id",
        Name => "name",
        Created => "created",
    }
);

/// Stores API keys by their hash.
///
/// Every change takes the [`Audit`] of who makes it, and an adapter MUST record it, with the
/// object as it was before and after, in the change's own transaction (see [`crate::audit`]): a
/// change that fails records nothing, and a change that changes nothing (an empty patch)
/// neither.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait ApiKeyRepository: Send + Sync {
    /// Inserts a key. A key bound to a project lives only as long as its owner's membership of
    /// the project: ending the membership or deleting the project deletes the key.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(User)` when the owner does not exist,
    /// [`DomainError::NotFound`]`(Project)` when the owner is not a member of the key's project,
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn create(&self, new: NewApiKey, audit: Audit) -> Result<ApiKey, DomainError>;

    /// Inserts a key and deletes the owner's other keys of the same name, in one transaction
    /// serialised per owner: a login's session key replaces the previous one, which stops working
    /// at once, and concurrent logins leave one key.
    ///
    /// With `password`, the hash a login verified, the key is stored only while it is still the
    /// owner's: a password change that commits between the verification and this call (and ends
    /// the owner's sessions) must not be outlived by a session opened with the old password.
    ///
    /// # Errors
    /// As [`ApiKeyRepository::create`]; [`DomainError::InvalidCredentials`] when the owner's
    /// password is no longer `password`.
    async fn replace_named(
        &self,
        new: NewApiKey,
        password: Option<PasswordHash>,
        audit: Audit,
    ) -> Result<ApiKey, DomainError>;

    /// The key with this id, if any.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached; a missing key is
    /// `Ok(None)`.
    async fn find_by_id(&self, id: ApiKeyId) -> Result<Option<ApiKey>, DomainError>;

    /// One page of the keys matching `filter`, and how many match in all.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn list(
        &self,
        filter: ApiKeyFilter,
        page: PageRequest<ApiKeyOrder>,
    ) -> Result<Page<ApiKey>, DomainError>;

    /// Deletes a key; it stops working at once.
    ///
    /// # Errors
    /// An adapter MUST return [`DomainError::NotFound`]`(ApiKey)` when there is no such key.
    async fn delete(&self, id: ApiKeyId, audit: Audit) -> Result<(), DomainError>;

    /// What the key with this hash grants, if such a key exists. Expiry is left to the caller.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached; an unknown hash is
    /// `Ok(None)`.
    async fn find_grant_by_hash(&self, hash: KeyHash) -> Result<Option<KeyGrant>, DomainError>;
}
