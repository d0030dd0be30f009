//! Access decisions and usage: what an LLM gateway asks before each model call ("may this key
//! call this router now?") and reports after it (what the call used and cost), and the ledger that
//! records both atomically with the rate limit counters and the budgets.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::api_key::KeyHash;
use crate::budget::{Budget, Cost};
use crate::error::DomainError;
use crate::ids::{ApiKeyId, Holder, OrganizationId, ProjectId, RoleId, UsageId, UserId};
use crate::page::{Page, PageRequest, order_fields};
use crate::quota::{Quota, QuotaState};
use crate::request_id::RequestId;
use crate::role::Permissions;

/// What became of a call, in the order the checks run: the first that fails decides.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// Every check passed: the call may go ahead; its counts and reservation are taken.
    Allowed,
    /// The key is unknown, deleted or expired (a project key whose membership ended included).
    InvalidKey,
    /// The key's account is past its expiry.
    AccountExpired,
    /// An effective limit of `0` forbids this router.
    RouterForbidden,
    /// A quota's window is full.
    RateLimited,
    /// The budget that pays cannot cover the cost.
    InsufficientBudget,
}

impl Outcome {
    /// Every outcome.
    pub const ALL: [Self; 6] = [
        Self::Allowed,
        Self::InvalidKey,
        Self::AccountExpired,
        Self::RouterForbidden,
        Self::RateLimited,
        Self::InsufficientBudget,
    ];

    /// A stable word for the outcome, as stored.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Allowed => "allowed",
            Self::InvalidKey => "invalid_key",
            Self::AccountExpired => "account_expired",
            Self::RouterForbidden => "router_forbidden",
            Self::RateLimited => "rate_limited",
            Self::InsufficientBudget => "insufficient_budget",
        }
    }

    /// The outcome stored as `word`, if it is one.
    pub fn from_word(word: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|outcome| outcome.as_str() == word)
    }

    /// The failure a refused call is, so that the gateway answers its client with the status and
    /// sentence Gatehouse itself would give; `None` for an allowed call.
    pub fn refusal(self) -> Option<DomainError> {
        match self {
            Self::Allowed => None,
            Self::InvalidKey => Some(DomainError::InvalidApiKey),
            Self::AccountExpired => Some(DomainError::AccountExpired),
            Self::RouterForbidden => Some(DomainError::RouterForbidden),
            Self::RateLimited => Some(DomainError::RateLimited),
            Self::InsufficientBudget => Some(DomainError::InsufficientBudget),
        }
    }
}

/// Who a key acts for, as it stood when a call was decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subject {
    /// The key's owner (user 0 for the master key).
    pub user: UserId,
    /// The owner's organization.
    pub organization: Option<OrganizationId>,
    /// The project the key is bound to.
    pub project: Option<ProjectId>,
    /// The key; `None` for the master key.
    pub key: Option<ApiKeyId>,
    /// The owner's role; `None` for the master key.
    pub role: Option<RoleId>,
    /// What the owner's role allows.
    pub permissions: Permissions,
}

/// What an allowed call debits from its payer's budget ([`Decision::payer`]) when it is
/// admitted: the most it may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reservation {
    /// What is debited.
    pub cost: Cost,
    /// The least the budget must hold for the call to be admitted: the cost, and never less than
    /// a millionth, so that an empty budget admits no call, even a free one.
    pub at_least: Cost,
}

/// One access decision, as recorded: asked again under the same request id, it is answered as it
/// was the first time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The gateway's name for the call.
    pub request_id: RequestId,
    /// The hash of the key the call was made with, to tell a retry from a reuse of the id.
    pub key_hash: KeyHash,
    /// The router (model) called.
    pub router: i64,
    /// What became of the call.
    pub outcome: Outcome,
    /// For a rate-limited call, the seconds until the full windows reset.
    pub retry_after: Option<i64>,
    /// Who the key acts for; `None` for an invalid key.
    pub subject: Option<Subject>,
    /// What the budget that pays held after the decision; `None` for no limit (or no subject).
    pub budget: Option<Budget>,
    /// The quotas the call is held to, as they stood after the decision: with the call's counts
    /// when it was allowed, without them otherwise. Empty for a call refused before its counters
    /// were consulted (an invalid key, an expired account, a forbidden router).
    pub quotas: Vec<QuotaState>,
    /// The prompt's tokens, counted against the token quotas when the call was allowed.
    pub tokens: i64,
    /// Whose budget pays for the call; `None` for the master key.
    pub payer: Option<Holder>,
    /// What was debited from the payer when the call was allowed (nothing from a budget without
    /// limit): the reservation its usage settles.
    pub reserved: Cost,
    /// When the call was decided.
    pub created: DateTime<Utc>,
}

/// A decision to record. Its outcome is either a refusal reached before any counter is consulted,
/// which is final, or [`Outcome::Allowed`] so far, which the ledger confirms or turns into a
/// refusal as it takes the counts and the reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Admission {
    /// The decision so far: its `quotas`, `budget` (for an admitted call) and `reserved` are the
    /// ledger's to fill in.
    pub decision: Decision,
    /// The quotas the call is held to.
    pub quotas: Vec<Quota>,
    /// What to debit from `decision.payer`, if a budget pays (limited or not).
    pub reservation: Option<Reservation>,
}

/// A decision as the ledger returns it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decided {
    /// The decision recorded under the request id.
    pub decision: Decision,
    /// Whether it was recorded earlier (a retry, or a reuse of the id), in which case nothing was
    /// counted, debited or recorded now.
    pub replayed: bool,
}

/// What a gateway reports once a call is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageReport {
    /// The call's request id, as it was authorized.
    pub request_id: RequestId,
    /// The prompt's tokens.
    pub prompt_tokens: i64,
    /// The completion's tokens.
    pub completion_tokens: i64,
    /// What the call cost.
    pub cost: Cost,
    /// When it was reported.
    pub created: DateTime<Utc>,
}

/// A call the gateway reports without having had it authorized: who made it, resolved from its
/// key, so that it is recorded and charged all the same.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnauthorizedCall {
    /// The hash of the key it was made with.
    pub key_hash: KeyHash,
    /// The router called.
    pub router: i64,
    /// Who the key acts for.
    pub subject: Subject,
    /// Whose budget pays; `None` for the master key.
    pub payer: Option<Holder>,
    /// The holders whose counters on the router it counts in: those with a quota there.
    pub counted_for: Vec<Holder>,
}

/// Settles a call: its usage against what was reserved for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settlement {
    /// What the gateway reports.
    pub report: UsageReport,
    /// The key the gateway names, if it names one: it must be the authorized call's.
    pub key_hash: Option<KeyHash>,
    /// The router the gateway names, if it names one: it must be the authorized call's.
    pub router: Option<i64>,
    /// Who made the call, for a call that was never authorized; `None` to settle an authorized
    /// call only.
    pub unauthorized: Option<UnauthorizedCall>,
}

/// What a settlement came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// The call's usage, recorded and charged now.
    Recorded(UsageRecord),
    /// The call's usage as recorded earlier under the request id: nothing was charged now.
    Replayed(UsageRecord),
    /// No call was authorized under the request id, and no [`UnauthorizedCall`] was given.
    NotAuthorized,
    /// The request id belongs to a call made with another key, or on another router.
    Mismatch,
}

/// The usage of one call, as recorded and charged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsageRecord {
    /// Its id.
    pub id: UsageId,
    /// The call's request id.
    pub request_id: RequestId,
    /// The key's owner (0 for the master key).
    pub user: UserId,
    /// The owner's organization when the call was made.
    pub organization: Option<OrganizationId>,
    /// The project the key was bound to.
    pub project: Option<ProjectId>,
    /// The key; `None` for the master key.
    pub key: Option<ApiKeyId>,
    /// The router called.
    pub router: i64,
    /// The prompt's tokens.
    pub prompt_tokens: i64,
    /// The completion's tokens.
    pub completion_tokens: i64,
    /// What the call cost.
    pub cost: Cost,
    /// What was debited for it in all, its reservation included.
    pub charged: Cost,
    /// What could not be debited because the budget ran out: `cost - charged` for a budget with a
    /// limit, zero when everything was charged.
    pub overrun: Cost,
    /// What the budget that paid held afterwards; `None` for no limit.
    pub budget: Option<Budget>,
    /// When it was recorded.
    pub created: DateTime<Utc>,
}

impl UsageRecord {
    /// Prompt and completion tokens together.
    pub fn total_tokens(&self) -> i64 {
        self.prompt_tokens.saturating_add(self.completion_tokens)
    }
}

/// Records access decisions and usage, each atomically with the rate limit counters and the
/// budget it takes from, so that every instance of Gatehouse on one database enforces one set of
/// counts and never overspends.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait AccessLedger: Send + Sync {
    /// Records a decision under its request id, once.
    ///
    /// When a decision is already recorded under the id, an adapter MUST return it
    /// (`replayed: true`) and change nothing. Otherwise, for an [`Outcome::Allowed`] decision, it
    /// MUST, in one transaction that concurrent calls cannot interleave with (on any instance):
    /// 1. take the quotas' counters in the current windows of their periods (`decision.created`);
    ///    if any would exceed its limit with this call (one request, `decision.tokens` tokens),
    ///    record [`Outcome::RateLimited`] with `retry_after` the seconds until the latest reset of
    ///    the full windows, and count nothing;
    /// 2. else debit the reservation's cost from the decision's payer if its budget holds at least
    ///    `at_least` (a budget without limit is not written to); if it does not, record
    ///    [`Outcome::InsufficientBudget`] and count nothing;
    /// 3. else add the call to every counter, and record the decision with the quotas' states and
    ///    what the payer's budget holds.
    ///
    /// A refusal is recorded as it is, without touching any counter or budget.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn decide(&self, admission: Admission) -> Result<Decided, DomainError>;

    /// Settles a call's usage, once per request id.
    ///
    /// When usage is already recorded under the id, an adapter MUST return it as
    /// [`Settled::Replayed`] and change nothing (or [`Settled::Mismatch`] when the settlement
    /// names another key). For an allowed decision under the id (whose key and router must match
    /// those the settlement names, else [`Settled::Mismatch`]), or else for the given
    /// [`UnauthorizedCall`], it MUST, in one transaction:
    /// - add the tokens beyond those counted at authorization (all of them, and one request, for
    ///   an unauthorized call) to the counters of the user and of the project for the router, in
    ///   their current windows: those that exist, and for an unauthorized call those of its
    ///   `counted_for`, created if missing;
    /// - replace the reservation by the cost: refund the difference when the cost is lower; when
    ///   it is higher, debit the difference as far as the budget goes (never below zero) and
    ///   record what could not be debited as `overrun`;
    /// - record the usage.
    ///
    /// Without either, it MUST return [`Settled::NotAuthorized`].
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn settle(&self, settlement: Settlement) -> Result<Settled, DomainError>;

    /// Removes the rate limit counters whose windows all ended before `before`: their counts
    /// would read as zero anyway. Returns how many were removed.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn sweep_counters(&self, before: DateTime<Utc>) -> Result<u64, DomainError>;
}

/// Filters of usage lists and summaries; each one given narrows the records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct UsageFilter {
    /// Only this user's calls.
    pub user: Option<UserId>,
    /// Only calls of this organization's users.
    pub organization: Option<OrganizationId>,
    /// Only calls made with keys bound to this project.
    pub project: Option<ProjectId>,
    /// Only calls to this router.
    pub router: Option<i64>,
    /// Only calls recorded at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Only calls recorded before this time.
    pub to: Option<DateTime<Utc>>,
}

order_fields!(
    /// The fields a usage list can be ordered by.
    UsageOrder {
        Id => "id",
        Created => "created",
    }
);

order_fields!(
    /// What a usage summary groups records by.
    UsageGroupBy {
        User => "user",
        Organization => "organization",
        Project => "project",
        Router => "router",
        Day => "day",
    }
);

/// The usage of one group of a summary.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UsageTotal {
    /// The group: a user, organization, project or router id, or a day's first second (Unix);
    /// `None` for the records without one (no organization, no project), or for the single group
    /// of a summary without grouping.
    pub group: Option<i64>,
    /// How many calls.
    pub requests: i64,
    /// Their prompt tokens.
    pub prompt_tokens: i64,
    /// Their completion tokens.
    pub completion_tokens: i64,
    /// What they cost, charged or not.
    pub cost: Cost,
}

/// Reads usage records.
#[cfg_attr(feature = "mocks", mockall::automock)]
#[async_trait]
pub trait UsageRepository: Send + Sync {
    /// One page of the records matching `filter`, and how many match in all.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn list(
        &self,
        filter: UsageFilter,
        page: PageRequest<UsageOrder>,
    ) -> Result<Page<UsageRecord>, DomainError>;

    /// The totals of the records matching `filter`, per group of `group_by` in ascending order of
    /// the group (records without one last), or one total for all when `group_by` is `None`.
    ///
    /// # Errors
    /// [`DomainError::Unavailable`] when the storage cannot be reached.
    async fn summarize(
        &self,
        filter: UsageFilter,
        group_by: Option<UsageGroupBy>,
    ) -> Result<Vec<UsageTotal>, DomainError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_are_stored_by_a_word_that_reads_back() {
        for outcome in Outcome::ALL {
            assert_eq!(Outcome::from_word(outcome.as_str()), Some(outcome));
        }
        assert_eq!(Outcome::from_word("maybe"), None);
        assert!(Outcome::Allowed.refusal().is_none());
        assert!(matches!(
            Outcome::RateLimited.refusal(),
            Some(DomainError::RateLimited)
        ));
    }
}
