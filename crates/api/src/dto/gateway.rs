//! Gateway bodies: access decisions, usage reports and records, usage summaries.

use gatehouse_application::{AuthorizeCall, ReportUsage};
use gatehouse_domain::{
    ApiKeyId, Cost, Decision, OrganizationId, Permission, ProjectId, QuotaState, RoleId,
    UsageRecord, UsageTotal,
};
use serde::Serialize;
use utoipa::ToSchema;

use super::money::{Amount, Money};
use super::schema::{RequestIdText, RouterNumber, TokenCount};
use super::unix;
use crate::error::domain_answer;
use crate::input::{Nullable, Required, SecretText, request_body};

request_body! {
    /// What a gateway asks about one model call.
    pub struct AuthorizeRequest -> AuthorizeCall {
        /// The key the gateway's client presented (`sk-...`, or the master key). Any text: a key
        /// that authenticates no one is refused in the decision (`status` 401), not here.
        key: Required<SecretText>,
        /// The router (model) called: the gateway's integer id for it, as in role limits.
        router: Required<RouterNumber>,
        /// The gateway's name for the call: asked again with the same id and key, the first
        /// decision is returned and nothing is counted again.
        request_id: Required<RequestIdText>,
        /// The prompt's tokens, counted against `tpm` and `tpd`; absent or `null`: 0.
        tokens: Nullable<TokenCount>,
        /// The most the call may cost, reserved from the budget when it is allowed; absent or
        /// `null`: 0.
        cost: Nullable<Money<Cost>>,
    }
}

impl From<AuthorizeRequest> for AuthorizeCall {
    fn from(body: AuthorizeRequest) -> Self {
        Self {
            key: body.key,
            router: body.router,
            request_id: body.request_id,
            tokens: body.tokens.apply(None).unwrap_or(0),
            cost: body.cost.apply(None).unwrap_or(Cost::ZERO),
        }
    }
}

/// One rate limit a call is held to, as it stands after the call.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = AuthorizationLimit)]
pub struct QuotaResponse {
    /// `user` (a role's limit, for all the user's keys together) or `project` (a project's, for
    /// all its members together).
    #[schema(example = "user")]
    pub scope: &'static str,
    /// The router.
    pub router: i64,
    /// `tpm`, `tpd`, `rpm` or `rpd`.
    #[serde(rename = "type")]
    #[schema(example = "rpm")]
    pub kind: &'static str,
    /// The ceiling.
    pub limit: i64,
    /// What the window still admits.
    pub remaining: i64,
    /// When the window ends and its count resets, Unix seconds.
    pub reset: i64,
}

impl QuotaResponse {
    fn new(router: i64, state: &QuotaState) -> Self {
        Self {
            scope: state.quota.holder.scope(),
            router,
            kind: state.quota.kind.as_str(),
            limit: state.quota.limit,
            remaining: state.remaining(),
            reset: unix(state.reset),
        }
    }
}

/// An access decision: whether the call may go ahead, and what the gateway should answer its own
/// client when it may not.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Authorization)]
pub struct AuthorizationResponse {
    /// Always `authorization`.
    #[schema(value_type = String, example = "authorization")]
    pub object: &'static str,
    /// The call's request id.
    pub request_id: String,
    /// Whether the call may go ahead.
    pub allowed: bool,
    /// The status the gateway should answer its client: 200 when allowed, else 401, 403, 429 or
    /// 400.
    #[schema(example = 200)]
    pub status: u16,
    /// The sentence to answer with; `null` when allowed.
    pub detail: Option<String>,
    /// The key's owner (0 for the master key); `null` for an invalid key.
    pub user: Option<i64>,
    /// The owner's organization.
    pub organization: Option<i64>,
    /// The project the key is bound to.
    pub project: Option<i64>,
    /// The key's id; `null` for the master key and an invalid key.
    pub key: Option<i64>,
    /// The owner's role.
    pub role: Option<i64>,
    /// What the owner's role allows.
    pub permissions: Vec<&'static str>,
    /// What the budget that pays (the project's for a project-bound key) holds after the call;
    /// `null` for no limit.
    pub budget: Option<Amount>,
    /// Every rate limit that applies to the call, as it stands after it (with the call's counts
    /// when allowed, without them otherwise). Empty when the call was refused before its counters
    /// were consulted (401, 403).
    pub limits: Vec<QuotaResponse>,
    /// For a rate-limited call (429), the seconds until the full windows reset; `null` otherwise.
    pub retry_after: Option<i64>,
}

impl From<Decision> for AuthorizationResponse {
    fn from(decision: Decision) -> Self {
        let (status, detail) = match decision.outcome.refusal() {
            Some(refusal) => {
                let (status, detail) = domain_answer(&refusal);
                (status.as_u16(), Some(detail.into_owned()))
            }
            None => (200, None),
        };
        let subject = decision.subject.as_ref();
        Self {
            object: "authorization",
            request_id: decision.request_id.to_string(),
            allowed: detail.is_none(),
            status,
            detail,
            user: subject.map(|s| s.user.get()),
            organization: subject
                .and_then(|s| s.organization)
                .map(OrganizationId::get),
            project: subject.and_then(|s| s.project).map(ProjectId::get),
            key: subject.and_then(|s| s.key).map(ApiKeyId::get),
            role: subject.and_then(|s| s.role).map(RoleId::get),
            permissions: subject
                .map(|s| s.permissions.iter().map(Permission::as_str).collect())
                .unwrap_or_default(),
            budget: decision.budget.map(Amount::from),
            limits: decision
                .quotas
                .iter()
                .map(|state| QuotaResponse::new(decision.router, state))
                .collect(),
            retry_after: decision.retry_after,
        }
    }
}

request_body! {
    /// What a gateway reports once a call is done.
    pub struct UsageReportRequest -> ReportUsage {
        /// The call's request id, as it was authorized.
        request_id: Required<RequestIdText>,
        /// The prompt's tokens.
        prompt_tokens: Required<TokenCount>,
        /// The completion's tokens.
        completion_tokens: Required<TokenCount>,
        /// What the call cost: it replaces what was reserved.
        cost: Required<Money<Cost>>,
        /// The key the call was made with: needed when the request id was never authorized (else
        /// 404), and then a key that authenticates someone (else 422); when given for an
        /// authorized call, it must be that call's key (else 409).
        key: Nullable<SecretText>,
        /// The router called: needed when the request id was never authorized (else 422); when
        /// given for an authorized call, it must be that call's router (else 409).
        router: Nullable<RouterNumber>,
    }
}

impl From<UsageReportRequest> for ReportUsage {
    fn from(body: UsageReportRequest) -> Self {
        Self {
            request_id: body.request_id,
            prompt_tokens: body.prompt_tokens,
            completion_tokens: body.completion_tokens,
            cost: body.cost,
            key: body.key.apply(None),
            router: body.router.apply(None),
        }
    }
}

/// What one call used and cost.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Usage)]
pub struct UsageResponse {
    /// Always `usage`.
    #[schema(value_type = String, example = "usage")]
    pub object: &'static str,
    /// Its id.
    pub id: i64,
    /// The call's request id.
    pub request_id: String,
    /// The key's owner (0 for the master key).
    pub user: i64,
    /// The owner's organization when the call was made.
    pub organization: Option<i64>,
    /// The project the key was bound to.
    pub project: Option<i64>,
    /// The key's id; `null` for the master key.
    pub key: Option<i64>,
    /// The router called.
    pub router: i64,
    /// The prompt's tokens.
    pub prompt_tokens: i64,
    /// The completion's tokens.
    pub completion_tokens: i64,
    /// Both together.
    pub total_tokens: i64,
    /// What the call cost.
    pub cost: Amount,
    /// What was debited for it in all (its reservation included).
    pub charged: Amount,
    /// What could not be debited because the budget ran out; 0 when everything was charged.
    pub overrun: Amount,
    /// What the budget that paid held afterwards; `null` for no limit.
    pub budget: Option<Amount>,
    /// When it was recorded, Unix seconds.
    pub created: i64,
}

impl From<UsageRecord> for UsageResponse {
    fn from(record: UsageRecord) -> Self {
        Self {
            object: "usage",
            id: record.id.get(),
            total_tokens: record.total_tokens(),
            request_id: record.request_id.to_string(),
            user: record.user.get(),
            organization: record.organization.map(OrganizationId::get),
            project: record.project.map(ProjectId::get),
            key: record.key.map(ApiKeyId::get),
            router: record.router,
            prompt_tokens: record.prompt_tokens,
            completion_tokens: record.completion_tokens,
            cost: record.cost.into(),
            charged: record.charged.into(),
            overrun: record.overrun.into(),
            budget: record.budget.map(Amount::from),
            created: unix(record.created),
        }
    }
}

/// The usage of one group of a summary.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UsageGroup)]
pub struct UsageTotalResponse {
    /// The group: a user, organization, project or router id, or a UTC day's first second;
    /// `null` for the records without one (no organization, no project), and for the one group of
    /// a summary without `group_by`.
    pub group: Option<i64>,
    /// How many calls.
    pub requests: i64,
    /// Their prompt tokens.
    pub prompt_tokens: i64,
    /// Their completion tokens.
    pub completion_tokens: i64,
    /// What they cost, charged or not.
    #[schema(schema_with = super::money::sum_schema)]
    pub cost: Amount,
}

impl From<UsageTotal> for UsageTotalResponse {
    fn from(total: UsageTotal) -> Self {
        Self {
            group: total.group,
            requests: total.requests,
            prompt_tokens: total.prompt_tokens,
            completion_tokens: total.completion_tokens,
            cost: total.cost.into(),
        }
    }
}

/// A usage summary: `{"object": "list", "data": [...]}`, one item per group.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = UsageSummary)]
pub struct UsageSummaryResponse {
    /// Always `list`.
    #[schema(value_type = String, example = "list")]
    pub object: &'static str,
    /// The groups, in ascending order (the group without id last).
    pub data: Vec<UsageTotalResponse>,
}

impl UsageSummaryResponse {
    /// The summary of `totals`.
    pub fn new(totals: Vec<UsageTotal>) -> Self {
        Self {
            object: "list",
            data: totals.into_iter().map(UsageTotalResponse::from).collect(),
        }
    }
}
