//! The one error type of Gatehouse: every failure the HTTP contract names, and nothing of how or
//! where data is stored.

use std::fmt;

/// Any error, boxed, kept as the cause of an unexpected failure so that it can be logged.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// An entity as the contract names it in its sentences ("Organization not found.").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// An organization.
    Organization,
    /// A user account.
    User,
    /// A role.
    Role,
    /// An API key; the contract calls it a token.
    ApiKey,
    /// A project.
    Project,
    /// A user's membership of a project.
    Member,
    /// A gateway's access decision for one call.
    Authorization,
}

impl Entity {
    /// The noun the contract uses for this entity, capitalised.
    pub fn noun(self) -> &'static str {
        match self {
            Self::Organization => "Organization",
            Self::User => "User",
            Self::Role => "Role",
            Self::ApiKey => "Token",
            Self::Project => "Project",
            Self::Member => "Member",
            Self::Authorization => "Authorization",
        }
    }
}

impl fmt::Display for Entity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// Why one value was refused, before anyone knows which field it came from.
///
/// `code` is a short machine word in FastAPI's vocabulary (`string_too_short`, `value_error`...),
/// `message` a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValueError {
    /// Short machine word for the kind of failure.
    pub code: &'static str,
    /// Human readable sentence.
    pub message: String,
}

impl ValueError {
    /// A refusal of kind `code` explained by `message`.
    pub fn new(code: &'static str, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

/// One invalid input field: where it is and why it was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The field, as a dotted path from the input's root (`email`, `limits.1.type`).
    pub field: String,
    /// Short machine word for the kind of failure.
    pub code: &'static str,
    /// Human readable sentence.
    pub message: String,
}

impl Violation {
    /// Places a [`ValueError`] on `field`.
    pub fn new(field: impl Into<String>, error: ValueError) -> Self {
        Self {
            field: field.into(),
            code: error.code,
            message: error.message,
        }
    }
}

/// Every failure of a Gatehouse use case, as the contract names it.
///
/// Adapters map their own errors into this type in one place; the HTTP layer maps it to a status and a
/// sentence in one place too.
#[derive(Debug, thiserror::Error)]
pub enum DomainError {
    /// The entity does not exist (or is not visible to the caller).
    #[error("{0} not found")]
    NotFound(Entity),
    /// A unique property (organization or role name, user email...) is already taken.
    #[error("{0} already exists")]
    AlreadyExists(Entity),
    /// `entity` cannot be deleted while some `used_by` still refer to it.
    #[error("{entity} is still used by some {used_by}")]
    InUse {
        /// What the caller tried to delete.
        entity: Entity,
        /// What still refers to it.
        used_by: Entity,
    },
    /// Some input fields are invalid; every one of them is listed.
    #[error("invalid input: {0:?}")]
    Invalid(Vec<Violation>),
    /// An API key would live longer than the configured maximum.
    #[error("expiry is more than {max_days} days away")]
    ExpiryTooFar {
        /// The configured maximum lifetime of a key, in days.
        max_days: u32,
    },
    /// No credentials were presented.
    #[error("not authenticated")]
    Unauthenticated,
    /// The presented key is unknown, deleted or expired.
    #[error("invalid API key")]
    InvalidApiKey,
    /// The key is valid but its user's account is past its expiry.
    #[error("account expired")]
    AccountExpired,
    /// The caller lacks the permission the action needs.
    #[error("insufficient rights")]
    Forbidden,
    /// The action makes no sense for the built-in master user.
    #[error("master is not allowed to process this action")]
    MasterNotAllowed,
    /// A project member must belong to the project's organization.
    #[error("user is not in the project's organization")]
    NotInOrganization,
    /// A charge would take a budget below zero.
    #[error("insufficient budget")]
    InsufficientBudget,
    /// An effective rate limit of zero forbids the router to the key.
    #[error("access to this router is not allowed")]
    RouterForbidden,
    /// A rate limit's window is full.
    #[error("rate limit exceeded")]
    RateLimited,
    /// A request id given for one key's call was given again for another key's.
    #[error("request id already used")]
    RequestIdUsed,
    /// Login with an unknown email, a wrong password or an account without a password.
    #[error("invalid email or password")]
    InvalidCredentials,
    /// A sign-on whose proof of identity failed: a bad or replayed state, a failed exchange of
    /// the code, a token that does not check. Which status it gets is the driving adapter's to
    /// say (the callback and the token login differ).
    #[error("invalid sign-in")]
    InvalidSignIn,
    /// A sign-on of a proven identity that the settings refuse: an email domain not allowed, no
    /// account and no default role to create one, an email held by another account.
    #[error("not allowed to sign in")]
    SignInRefused,
    /// A password change without the right current password.
    #[error("invalid current password")]
    InvalidCurrentPassword,
    /// Too many failed logins for the email or from the client address: every login of either is
    /// refused, without checking the password, until the window of failures ends.
    #[error("too many failed login attempts")]
    LoginThrottled {
        /// Whole seconds until the window ends, at least 1.
        retry_after: u64,
    },
    /// More password hashes wait than can be computed within a few seconds: refused at once rather
    /// than queued, so that a flood of logins cannot make every caller wait.
    #[error("password hashing is overloaded")]
    Overloaded {
        /// Whole seconds after which the waiting hashes should be done, at least 1.
        retry_after: u64,
    },
    /// The storage cannot be reached right now; retrying later may work.
    #[error("storage unavailable")]
    Unavailable(#[source] BoxError),
    /// Anything else: a bug or an invariant broken outside Gatehouse. The cause is for the log only.
    #[error("unexpected error")]
    Unexpected(#[source] BoxError),
}

impl DomainError {
    /// One invalid field.
    pub fn invalid(field: impl Into<String>, error: ValueError) -> Self {
        Self::Invalid(vec![Violation::new(field, error)])
    }

    /// An unexpected failure caused by `cause`.
    pub fn unexpected(cause: impl Into<BoxError>) -> Self {
        Self::Unexpected(cause.into())
    }
}

/// Shorthand for the result of a domain operation.
pub type DomainResult<T> = Result<T, DomainError>;
