//! Rows of `access_decisions` and `usage_records`, as the gateway functions return them.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Bool, Bytea, Nullable, Text, Timestamptz};
use gatehouse_domain::{
    ApiKeyId, Cost, Decision, DomainError, Holder, KeyHash, LimitType, OrganizationId, Outcome,
    ProjectId, Quota, QuotaState, RequestId, RoleId, Subject, UsageId, UsageRecord, UserId,
};

use crate::error::corrupt;
use crate::rows::{budget_from_stored, permissions_from_stored};
use crate::schema::usage_records;

/// The id of a holder, whichever kind it is.
pub(crate) fn holder_id(holder: Holder) -> i64 {
    match holder {
        Holder::User(user) => user.get(),
        Holder::Project(project) => project.get(),
    }
}

/// The holder stored as `scope` and `id`.
fn holder_from_stored(table: &'static str, scope: &str, id: i64) -> Result<Holder, DomainError> {
    match scope {
        "user" => Ok(Holder::User(UserId(id))),
        "project" => Ok(Holder::Project(ProjectId(id))),
        _ => Err(DomainError::unexpected(format!(
            "{table} holds an unknown scope {scope:?}"
        ))),
    }
}

fn amount_from_stored(
    table: &'static str,
    column: &'static str,
    micros: i64,
) -> Result<Cost, DomainError> {
    Cost::from_micros(micros).map_err(corrupt(table, column))
}

/// A decision as `gatehouse_decide` returns it: the row of `access_decisions`, and whether it was
/// there before the call.
#[derive(Debug, QueryableByName)]
pub(crate) struct DecisionRow {
    #[diesel(sql_type = Bool)]
    pub replayed: bool,
    #[diesel(sql_type = Text)]
    pub request_id: String,
    #[diesel(sql_type = Bytea)]
    pub key_hash: Vec<u8>,
    #[diesel(sql_type = BigInt)]
    pub router_id: i64,
    #[diesel(sql_type = Text)]
    pub outcome: String,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub retry_after: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub user_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub organization_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub project_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub key_id: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub role_id: Option<i64>,
    #[diesel(sql_type = Array<Text>)]
    pub permissions: Vec<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub budget_micros: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub tokens: i64,
    #[diesel(sql_type = Nullable<Text>)]
    pub payer_scope: Option<String>,
    #[diesel(sql_type = Nullable<BigInt>)]
    pub payer_id: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub reserved_micros: i64,
    #[diesel(sql_type = Array<Text>)]
    pub quota_scopes: Vec<String>,
    #[diesel(sql_type = Array<Text>)]
    pub quota_types: Vec<String>,
    #[diesel(sql_type = Array<BigInt>)]
    pub quota_limits: Vec<i64>,
    #[diesel(sql_type = Array<BigInt>)]
    pub quota_used: Vec<i64>,
    #[diesel(sql_type = Timestamptz)]
    pub created: DateTime<Utc>,
}

impl DecisionRow {
    /// The domain's decision.
    pub fn into_domain(mut self) -> Result<Decision, DomainError> {
        const TABLE: &str = "access_decisions";
        let outcome = Outcome::from_word(&self.outcome).ok_or_else(|| {
            DomainError::unexpected(format!(
                "{TABLE} holds an unknown outcome {:?}",
                self.outcome
            ))
        })?;
        let subject = match self.user_id {
            Some(user) => Some(Subject {
                user: UserId(user),
                organization: self.organization_id.map(OrganizationId),
                project: self.project_id.map(ProjectId),
                key: self.key_id.map(ApiKeyId),
                role: self.role_id.map(RoleId),
                permissions: permissions_from_stored(std::mem::take(&mut self.permissions))?,
            }),
            None => None,
        };
        let payer = match (self.payer_scope.as_deref(), self.payer_id) {
            (Some(scope), Some(id)) => Some(holder_from_stored(TABLE, scope, id)?),
            _ => None,
        };
        let quotas = self.quota_states(subject.as_ref())?;
        Ok(Decision {
            request_id: RequestId::parse(&self.request_id).map_err(corrupt(TABLE, "request_id"))?,
            key_hash: KeyHash::new(self.key_hash),
            router: self.router_id,
            outcome,
            retry_after: self.retry_after,
            subject,
            budget: budget_from_stored(TABLE, self.budget_micros)?,
            quotas,
            tokens: self.tokens,
            payer,
            reserved: amount_from_stored(TABLE, "reserved_micros", self.reserved_micros)?,
            created: self.created,
        })
    }

    /// The quotas as they stood, from the parallel arrays; each resets at the end of its window
    /// of the decision's time.
    fn quota_states(&self, subject: Option<&Subject>) -> Result<Vec<QuotaState>, DomainError> {
        const TABLE: &str = "access_decisions";
        let count = self.quota_scopes.len();
        if [
            self.quota_types.len(),
            self.quota_limits.len(),
            self.quota_used.len(),
        ]
        .iter()
        .any(|&len| len != count)
        {
            return Err(DomainError::unexpected(format!(
                "{TABLE} holds quota arrays of different lengths"
            )));
        }
        (0..count)
            .map(|i| {
                let holder_id = match (self.quota_scopes[i].as_str(), subject) {
                    ("user", Some(subject)) => subject.user.get(),
                    (
                        "project",
                        Some(Subject {
                            project: Some(project),
                            ..
                        }),
                    ) => project.get(),
                    _ => {
                        return Err(DomainError::unexpected(format!(
                            "{TABLE} holds a quota without its holder"
                        )));
                    }
                };
                let kind = self.quota_types[i]
                    .parse::<LimitType>()
                    .map_err(corrupt(TABLE, "quota_types"))?;
                Ok(QuotaState {
                    quota: Quota {
                        holder: holder_from_stored(TABLE, &self.quota_scopes[i], holder_id)?,
                        kind,
                        limit: self.quota_limits[i],
                    },
                    used: self.quota_used[i],
                    reset: kind.period().window(self.created).end(),
                })
            })
            .collect()
    }
}

/// A decision as `gatehouse_decide_batch` returns it: with the ordinal of its admission.
#[derive(Debug, QueryableByName)]
pub(crate) struct BatchDecisionRow {
    #[diesel(sql_type = diesel::sql_types::Integer)]
    pub ordinal: i32,
    #[diesel(embed)]
    pub decision: DecisionRow,
}

/// A usage record as stored.
#[derive(Debug, Clone, Queryable, Selectable, QueryableByName)]
#[diesel(table_name = usage_records, check_for_backend(diesel::pg::Pg))]
pub(crate) struct UsageRow {
    pub id: i64,
    pub request_id: String,
    pub user_id: i64,
    pub organization_id: Option<i64>,
    pub project_id: Option<i64>,
    pub key_id: Option<i64>,
    pub router_id: i64,
    pub prompt_tokens: i64,
    pub completion_tokens: i64,
    pub cost_micros: i64,
    pub charged_micros: i64,
    pub overrun_micros: i64,
    pub budget_micros: Option<i64>,
    pub created: DateTime<Utc>,
}

impl UsageRow {
    /// The domain's record.
    pub fn into_domain(self) -> Result<UsageRecord, DomainError> {
        const TABLE: &str = "usage_records";
        Ok(UsageRecord {
            id: UsageId(self.id),
            request_id: RequestId::parse(&self.request_id).map_err(corrupt(TABLE, "request_id"))?,
            user: UserId(self.user_id),
            organization: self.organization_id.map(OrganizationId),
            project: self.project_id.map(ProjectId),
            key: self.key_id.map(ApiKeyId),
            router: self.router_id,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            cost: amount_from_stored(TABLE, "cost_micros", self.cost_micros)?,
            charged: amount_from_stored(TABLE, "charged_micros", self.charged_micros)?,
            overrun: amount_from_stored(TABLE, "overrun_micros", self.overrun_micros)?,
            budget: budget_from_stored(TABLE, self.budget_micros)?,
            created: self.created,
        })
    }
}

/// What `gatehouse_settle` returns: a status, and the record (its columns all `NULL` without one).
/// The record's columns are a usage record's, read as [`UsageRow`] reads them.
#[derive(Debug, QueryableByName)]
pub(crate) struct SettleRow {
    #[diesel(sql_type = Text)]
    pub status: String,
    /// `None` when a column the record cannot be without is `NULL`.
    #[diesel(embed)]
    pub record: Option<UsageRow>,
}

impl SettleRow {
    /// The record, when the settlement returned one.
    pub fn record(self) -> Result<UsageRecord, DomainError> {
        self.record
            .ok_or_else(|| {
                DomainError::unexpected("gatehouse_settle returned a record without its columns")
            })?
            .into_domain()
    }
}

/// One group of a usage summary.
#[derive(Debug, QueryableByName)]
pub(crate) struct TotalRow {
    #[diesel(sql_type = Nullable<BigInt>)]
    pub grp: Option<i64>,
    #[diesel(sql_type = BigInt)]
    pub requests: i64,
    #[diesel(sql_type = BigInt)]
    pub prompt_tokens: i64,
    #[diesel(sql_type = BigInt)]
    pub completion_tokens: i64,
    #[diesel(sql_type = BigInt)]
    pub cost_micros: i64,
}

impl TotalRow {
    /// The domain's total.
    pub fn into_domain(self) -> Result<gatehouse_domain::UsageTotal, DomainError> {
        Ok(gatehouse_domain::UsageTotal {
            group: self.grp,
            requests: self.requests,
            prompt_tokens: self.prompt_tokens,
            completion_tokens: self.completion_tokens,
            cost: amount_from_stored("usage_records", "cost_micros", self.cost_micros)?,
        })
    }
}
