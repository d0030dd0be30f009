//! Access decisions for LLM gateways: before each model call, "may this key call this router
//! now?"; after it, what the call used and cost. Role limits, project limits and budgets are
//! enforced here, the same way for a gateway that calls Gatehouse over HTTP and for a Rust gateway
//! that links this crate.
//!
//! A decision checks, in order: the key (unknown, deleted or expired keys are refused), the
//! account's expiry, the router (an effective limit of `0` forbids it), the rate limits (a
//! role's count per user, a project's per project), then the budget that pays
//! ([`BudgetService::payer`]). The last two are taken atomically by the [`AccessLedger`], with the
//! decision recorded under the call's request id, so that a retried call is answered as it was
//! the first time and counted once.
//!
//! # Example
//!
//! A gateway in Rust asks before a call and reports after it. Here mocks stand in for the
//! PostgreSQL adapters that Gatehouse's server wires (`PgApiKeyRepository`, `PgAccessLedger`).
//!
//! ```
//! use std::sync::Arc;
//!
//! use gatehouse_application::{AuthService, AuthorizeCall, GatewayService, Principal};
//! use gatehouse_domain::{
//!     ApiKeyId, Cost, Decided, KeyGrant, KeyHash, Limit, LimitType, Limits,
//!     MockAccessLedger, MockApiKeyRepository, MockKeyGenerator, Outcome, Permissions,
//!     RequestId, RoleId, Secret, SystemClock, UserId,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! // User 7 may make 60 calls a minute on router 3.
//! let limits = Limits::new(vec![Limit::new(3, LimitType::Rpm, Some(60))?])?;
//! let mut keys = MockApiKeyRepository::new();
//! keys.expect_find_grant_by_hash().returning(move |_| {
//!     Ok(Some(KeyGrant {
//!         key: ApiKeyId(1),
//!         key_expires: None,
//!         user: UserId(7),
//!         account_expires: None,
//!         organization: None,
//!         role: RoleId(2),
//!         budget: None,
//!         permissions: Permissions::default(),
//!         limits: limits.clone(),
//!         project: None,
//!     }))
//! });
//! let mut hashes = MockKeyGenerator::new();
//! hashes.expect_hash().returning(|key| KeyHash::new(key.as_bytes().to_vec()));
//! // The ledger takes the quota and records the decision: here it admits the call as it is.
//! let mut ledger = MockAccessLedger::new();
//! ledger.expect_decide().returning(|admission| {
//!     assert_eq!(admission.quotas.len(), 1);
//!     Ok(Decided { decision: admission.decision, replayed: false })
//! });
//! let clock = Arc::new(SystemClock);
//! let auth = AuthService::new(
//!     Arc::new(keys),
//!     Arc::new(hashes),
//!     clock.clone(),
//!     &Secret::new("the master key of this gateway"),
//! );
//! let gateway = GatewayService::new(auth, Arc::new(ledger), clock);
//!
//! // The gateway's own credential: here the master key; a key with the `gateway` permission does too.
//! let decision = gateway
//!     .authorize(
//!         &Principal::master(),
//!         AuthorizeCall {
//!             key: Secret::new("sk-a-client-key"),
//!             router: 3,
//!             request_id: RequestId::parse("call-1")?,
//!             tokens: 1200,
//!             cost: Cost::new(0.05)?,
//!         },
//!     )
//!     .await?;
//! assert_eq!(decision.outcome, Outcome::Allowed);
//! assert_eq!(decision.subject.map(|subject| subject.user), Some(UserId(7)));
//! # Ok(())
//! # }
//! ```

use std::sync::Arc;

use gatehouse_domain::{
    AccessLedger, Admission, Clock, Cost, DateTime, Decision, DomainError, Entity, Holder, Limits,
    Outcome, Period, Permission, Quota, RequestId, Secret, Settled, Settlement, Subject,
    UnauthorizedCall, UsageRecord, UsageReport, Utc, ValueError,
};

use crate::{AuthService, BudgetService, Principal};

/// What a gateway asks about one call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthorizeCall {
    /// The key the gateway's client presented.
    pub key: Secret,
    /// The router (model) the call is for.
    pub router: i64,
    /// The gateway's name for the call, to retry the question safely.
    pub request_id: RequestId,
    /// The prompt's tokens, counted against the token limits.
    pub tokens: i64,
    /// The most the call may cost: reserved from the budget when it is allowed.
    pub cost: Cost,
}

/// What a gateway reports once a call is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportUsage {
    /// The call's request id.
    pub request_id: RequestId,
    /// The prompt's tokens.
    pub prompt_tokens: i64,
    /// The completion's tokens.
    pub completion_tokens: i64,
    /// What the call cost.
    pub cost: Cost,
    /// The key the call was made with: needed for a call that was never authorized.
    pub key: Option<Secret>,
    /// The router called: needed for a call that was never authorized.
    pub router: Option<i64>,
}

/// A call's usage, as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reported {
    /// The record.
    pub record: UsageRecord,
    /// Whether it was recorded by this report (`false`: by an earlier one, and nothing was
    /// charged now).
    pub created: bool,
}

/// Decides on model calls and settles their usage, for gateways.
#[derive(Clone)]
pub struct GatewayService {
    auth: AuthService,
    ledger: Arc<dyn AccessLedger>,
    clock: Arc<dyn Clock>,
}

impl GatewayService {
    /// A service resolving keys with `auth` and recording decisions and usage in `ledger`.
    pub fn new(auth: AuthService, ledger: Arc<dyn AccessLedger>, clock: Arc<dyn Clock>) -> Self {
        Self {
            auth,
            ledger,
            clock,
        }
    }

    /// Decides whether the call may go ahead, and if so takes its counts and reserves its cost.
    /// Asked again with the same request id and key, answers as the first time and takes nothing.
    ///
    /// Every refusal of the call is a [`Decision`], not an error: the gateway answers its own
    /// client with it.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `gateway` is an active holder of the `gateway`
    /// permission (the master key is); `RequestIdUsed` when the request id was used with another
    /// key; `Unavailable`.
    pub async fn authorize(
        &self,
        gateway: &Principal,
        call: AuthorizeCall,
    ) -> Result<Decision, DomainError> {
        let now = self.clock.now();
        gateway.require(Permission::Gateway, now)?;
        let (key_hash, key) = self.auth.identify(call.key.expose()).await;
        let decision = Decision {
            request_id: call.request_id,
            key_hash: key_hash.clone(),
            router: call.router,
            outcome: Outcome::Allowed,
            retry_after: None,
            subject: None,
            budget: None,
            quotas: Vec::new(),
            tokens: call.tokens,
            payer: None,
            reserved: Cost::ZERO,
            created: now,
        };
        let admission = match key {
            Ok(key) => admission(&key, decision, call.cost, now),
            Err(DomainError::InvalidApiKey) => refused(decision, Outcome::InvalidKey),
            Err(error) => return Err(error),
        };
        let decided = self.ledger.decide(admission).await?;
        if decided.replayed && decided.decision.key_hash != key_hash {
            return Err(DomainError::RequestIdUsed);
        }
        Ok(decided.decision)
    }

    /// Settles a call's usage: its tokens beyond those counted when it was authorized are
    /// counted, and its cost replaces what was reserved (the difference refunded, or debited as
    /// far as the budget goes). A call that was never authorized is recorded and charged the same
    /// way, given its key and router. Reported again, the first record is returned and nothing is
    /// charged.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `gateway` is an active holder of the `gateway`
    /// permission; `NotFound(Authorization)` for a request id never authorized, without a key;
    /// `Invalid` (`router`, `key`) for such a call without a router or with an invalid key;
    /// `RequestIdUsed` when the request id belongs to another key's (or router's) call;
    /// `Unavailable`.
    pub async fn report(
        &self,
        gateway: &Principal,
        usage: ReportUsage,
    ) -> Result<Reported, DomainError> {
        let now = self.clock.now();
        gateway.require(Permission::Gateway, now)?;
        let settlement = Settlement {
            report: UsageReport {
                request_id: usage.request_id,
                prompt_tokens: usage.prompt_tokens,
                completion_tokens: usage.completion_tokens,
                cost: usage.cost,
                created: now,
            },
            key_hash: usage.key.as_ref().map(|key| self.auth.hash(key.expose())),
            router: usage.router,
            unauthorized: None,
        };
        match self.ledger.settle(settlement.clone()).await? {
            Settled::NotAuthorized => {}
            settled => return reported(settled),
        }
        // Never authorized: recorded all the same, for the key and router the gateway names.
        let key = usage
            .key
            .ok_or(DomainError::NotFound(Entity::Authorization))?;
        let router = usage.router.ok_or_else(|| {
            DomainError::invalid("router", ValueError::new("missing", "Field required"))
        })?;
        let (key_hash, principal) = self.auth.identify(key.expose()).await;
        let principal = principal.map_err(|error| match error {
            DomainError::InvalidApiKey => DomainError::invalid(
                "key",
                ValueError::new("value_error", "Unknown, deleted or expired API key."),
            ),
            error => error,
        })?;
        let unauthorized = UnauthorizedCall {
            key_hash,
            router,
            subject: subject(&principal),
            payer: BudgetService::payer(&principal),
            counted_for: holders_of(&quotas(&principal, router)),
        };
        reported(
            self.ledger
                .settle(Settlement {
                    unauthorized: Some(unauthorized),
                    ..settlement
                })
                .await?,
        )
    }

    /// Removes the rate limit counters of past days, which would read as zero anyway: run now and
    /// then (the server does, hourly) so that they do not pile up.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn sweep_counters(&self) -> Result<u64, DomainError> {
        let today = Period::Day.window(self.clock.now()).start();
        self.ledger.sweep_counters(today).await
    }
}

/// `decision`, refused with `outcome` before any counter is consulted.
fn refused(decision: Decision, outcome: Outcome) -> Admission {
    Admission {
        decision: Decision {
            outcome,
            ..decision
        },
        quotas: Vec::new(),
        reservation: None,
    }
}

/// The admission of a call made with `key`'s principal, up to the checks that need no counter:
/// account expiry, then a router its effective limits forbid.
fn admission(key: &Principal, decision: Decision, cost: Cost, now: DateTime<Utc>) -> Admission {
    let router = decision.router;
    let decision = Decision {
        subject: Some(subject(key)),
        budget: BudgetService::balance(key),
        payer: BudgetService::payer(key),
        ..decision
    };
    if key.is_expired(now) {
        return refused(decision, Outcome::AccountExpired);
    }
    let forbidden = key
        .limits()
        .as_slice()
        .iter()
        .any(|limit| limit.router_id() == router && limit.value() == Some(0));
    if forbidden {
        return refused(decision, Outcome::RouterForbidden);
    }
    Admission {
        decision,
        quotas: quotas(key, router),
        reservation: BudgetService::reservation(key, cost),
    }
}

/// The quotas a call of `key` on `router` is held to: its role's, counted for its user, and its
/// project's, counted for the project.
fn quotas(key: &Principal, router: i64) -> Vec<Quota> {
    let mut quotas = quotas_on(router, Holder::User(key.user), &key.role_limits);
    if let Some(project) = &key.project {
        quotas.extend(quotas_on(
            router,
            Holder::Project(project.id),
            &project.limits,
        ));
    }
    quotas
}

/// The holders of `quotas`, each once.
fn holders_of(quotas: &[Quota]) -> Vec<Holder> {
    let mut holders: Vec<Holder> = quotas.iter().map(|quota| quota.holder).collect();
    holders.sort_unstable();
    holders.dedup();
    holders
}

/// The quotas `limits` set on `router`, counted for `holder`; a limit without value sets none.
fn quotas_on(router: i64, holder: Holder, limits: &Limits) -> Vec<Quota> {
    limits
        .as_slice()
        .iter()
        .filter(|limit| limit.router_id() == router)
        .filter_map(|limit| {
            limit.value().map(|value| Quota {
                holder,
                kind: limit.kind(),
                limit: value,
            })
        })
        .collect()
}

/// Who `key` acts for.
fn subject(key: &Principal) -> Subject {
    Subject {
        user: key.user,
        organization: key.organization,
        project: key.project.as_ref().map(|project| project.id),
        key: key.key,
        role: key.role,
        permissions: key.permissions.clone(),
    }
}

fn reported(settled: Settled) -> Result<Reported, DomainError> {
    match settled {
        Settled::Recorded(record) => Ok(Reported {
            record,
            created: true,
        }),
        Settled::Replayed(record) => Ok(Reported {
            record,
            created: false,
        }),
        Settled::Mismatch => Err(DomainError::RequestIdUsed),
        Settled::NotAuthorized => Err(DomainError::NotFound(Entity::Authorization)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{caller, clock, now};
    use crate::principal::ProjectScope;
    use gatehouse_domain::chrono::TimeDelta;
    use gatehouse_domain::{
        ApiKeyId, Budget, Decided, KeyGrant, KeyHash, Limit, LimitType, MockAccessLedger,
        MockApiKeyRepository, MockKeyGenerator, OrganizationId, Permissions, ProjectGrant,
        ProjectId, RoleId, UsageId, UserId,
    };

    const MASTER: &str = "the-master-key-of-the-tests";

    fn limits(list: &[(i64, LimitType, Option<i64>)]) -> Limits {
        Limits::new(
            list.iter()
                .map(|&(router, kind, value)| Limit::new(router, kind, value).unwrap())
                .collect(),
        )
        .unwrap()
    }

    /// The grant of `sk-client`: user 7 of organization 3, role 2, budget 10.
    fn grant() -> KeyGrant {
        KeyGrant {
            key: ApiKeyId(70),
            key_expires: None,
            user: UserId(7),
            account_expires: None,
            organization: Some(OrganizationId(3)),
            role: RoleId(2),
            budget: Some(Budget::new(10.0).unwrap()),
            permissions: Permissions::default(),
            limits: limits(&[
                (1, LimitType::Rpm, Some(60)),
                (1, LimitType::Tpm, Some(1000)),
                (1, LimitType::Rpd, None),
                (2, LimitType::Rpm, Some(5)),
            ]),
            project: None,
        }
    }

    fn auth(grant: Option<KeyGrant>) -> AuthService {
        let mut keys = MockApiKeyRepository::new();
        keys.expect_find_grant_by_hash()
            .returning(move |_| Ok(grant.clone()));
        let mut hashes = MockKeyGenerator::new();
        hashes
            .expect_hash()
            .returning(|key| KeyHash::new(key.as_bytes().to_vec()));
        AuthService::new(
            Arc::new(keys),
            Arc::new(hashes),
            clock(),
            &Secret::new(MASTER),
        )
    }

    fn service(grant: Option<KeyGrant>, ledger: MockAccessLedger) -> GatewayService {
        GatewayService::new(auth(grant), Arc::new(ledger), clock())
    }

    /// A ledger that admits whatever it is given, and hands the admission to `inspect`.
    fn admitting(inspect: impl Fn(&Admission) + Send + Sync + 'static) -> MockAccessLedger {
        let mut ledger = MockAccessLedger::new();
        ledger.expect_decide().times(1).returning(move |admission| {
            inspect(&admission);
            Ok(Decided {
                decision: admission.decision,
                replayed: false,
            })
        });
        ledger
    }

    fn call(key: &str, router: i64) -> AuthorizeCall {
        AuthorizeCall {
            key: Secret::new(key),
            router,
            request_id: RequestId::parse("call-1").unwrap(),
            tokens: 120,
            cost: Cost::new(0.5).unwrap(),
        }
    }

    fn gateway() -> Principal {
        caller(&[Permission::Gateway], None)
    }

    #[tokio::test]
    async fn only_an_active_gateway_may_ask() {
        let now = now();
        for (asker, refusal) in [
            (caller(&[Permission::Admin], None), "Forbidden"),
            (
                caller(&[Permission::Gateway], Some(now - TimeDelta::seconds(1))),
                "AccountExpired",
            ),
            (
                Principal {
                    project: Some(ProjectScope {
                        id: ProjectId(1),
                        budget: None,
                        limits: Limits::default(),
                    }),
                    ..gateway()
                },
                "Forbidden",
            ),
        ] {
            let mut ledger = MockAccessLedger::new();
            ledger.expect_decide().never();
            let error = service(Some(grant()), ledger)
                .authorize(&asker, call("sk-client", 1))
                .await
                .unwrap_err();
            assert!(format!("{error:?}").starts_with(refusal), "{error:?}");
        }
        let ledger = admitting(|_| {});
        assert!(
            service(Some(grant()), ledger)
                .authorize(&Principal::master(), call("sk-client", 1))
                .await
                .is_ok()
        );
    }

    #[tokio::test]
    async fn an_allowed_call_is_held_to_the_roles_quotas_on_its_router_and_reserves_its_cost() {
        let ledger = admitting(|admission| {
            let decision = &admission.decision;
            assert_eq!(decision.outcome, Outcome::Allowed);
            assert_eq!(decision.key_hash, KeyHash::new(b"sk-client".to_vec()));
            assert_eq!(decision.tokens, 120);
            assert_eq!(decision.created, now());
            let subject = decision.subject.as_ref().unwrap();
            assert_eq!(subject.user, UserId(7));
            assert_eq!(subject.organization, Some(OrganizationId(3)));
            assert_eq!(subject.key, Some(ApiKeyId(70)));
            assert_eq!(subject.role, Some(RoleId(2)));
            assert_eq!(decision.payer, Some(Holder::User(UserId(7))));
            assert_eq!(decision.budget, Some(Budget::new(10.0).unwrap()));
            // Router 1's limits with a value; the rpd without one is no quota, router 2's are not
            // this call's.
            let user = Holder::User(UserId(7));
            assert_eq!(
                admission.quotas,
                [
                    Quota {
                        holder: user,
                        kind: LimitType::Tpm,
                        limit: 1000
                    },
                    Quota {
                        holder: user,
                        kind: LimitType::Rpm,
                        limit: 60
                    },
                ]
            );
            let reservation = admission.reservation.unwrap();
            assert_eq!(reservation.cost, Cost::new(0.5).unwrap());
        });
        service(Some(grant()), ledger)
            .authorize(&gateway(), call("sk-client", 1))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_project_key_is_held_to_the_projects_quotas_too_and_spends_the_projects_budget() {
        let bound = KeyGrant {
            project: Some(ProjectGrant {
                id: ProjectId(5),
                budget: Some(Budget::new(2.0).unwrap()),
                limits: limits(&[(1, LimitType::Rpm, Some(100)), (1, LimitType::Tpd, Some(9))]),
            }),
            ..grant()
        };
        let ledger = admitting(|admission| {
            let user = Holder::User(UserId(7));
            let project = Holder::Project(ProjectId(5));
            assert_eq!(
                admission.quotas,
                [
                    Quota {
                        holder: user,
                        kind: LimitType::Tpm,
                        limit: 1000
                    },
                    Quota {
                        holder: user,
                        kind: LimitType::Rpm,
                        limit: 60
                    },
                    Quota {
                        holder: project,
                        kind: LimitType::Tpd,
                        limit: 9
                    },
                    Quota {
                        holder: project,
                        kind: LimitType::Rpm,
                        limit: 100
                    },
                ]
            );
            assert_eq!(admission.decision.payer, Some(project));
            assert!(admission.reservation.is_some());
            assert_eq!(admission.decision.budget, Some(Budget::new(2.0).unwrap()));
            assert_eq!(
                admission.decision.subject.as_ref().unwrap().project,
                Some(ProjectId(5))
            );
        });
        service(Some(bound), ledger)
            .authorize(&gateway(), call("sk-client", 1))
            .await
            .unwrap();
    }

    /// Asks about `key` on `router` with the ledger expecting a refusal `outcome`, recorded
    /// without quotas nor reservation.
    async fn refused_with(grant: Option<KeyGrant>, key: &str, router: i64, outcome: Outcome) {
        let ledger = admitting(move |admission| {
            assert_eq!(admission.decision.outcome, outcome);
            assert!(admission.quotas.is_empty());
            assert!(admission.reservation.is_none());
        });
        let decision = service(grant, ledger)
            .authorize(&gateway(), call(key, router))
            .await
            .unwrap();
        assert_eq!(decision.outcome, outcome);
    }

    #[tokio::test]
    async fn an_unknown_key_is_refused_as_invalid_with_no_subject() {
        let ledger = admitting(|admission| {
            assert_eq!(admission.decision.outcome, Outcome::InvalidKey);
            assert_eq!(admission.decision.subject, None);
            assert_eq!(admission.decision.budget, None);
        });
        let decision = service(None, ledger)
            .authorize(&gateway(), call("sk-unknown", 1))
            .await
            .unwrap();
        assert_eq!(decision.outcome, Outcome::InvalidKey);
        refused_with(Some(grant()), "not-a-key", 1, Outcome::InvalidKey).await;
        let expired_key = KeyGrant {
            key_expires: Some(now()),
            ..grant()
        };
        refused_with(Some(expired_key), "sk-client", 1, Outcome::InvalidKey).await;
    }

    #[tokio::test]
    async fn an_expired_account_is_refused_before_its_router_is_looked_at() {
        let expired = KeyGrant {
            account_expires: Some(now() - TimeDelta::seconds(1)),
            limits: limits(&[(1, LimitType::Rpm, Some(0))]),
            ..grant()
        };
        refused_with(Some(expired), "sk-client", 1, Outcome::AccountExpired).await;
    }

    #[tokio::test]
    async fn a_limit_of_zero_forbids_its_router_whether_the_role_or_the_project_sets_it() {
        let role_zero = KeyGrant {
            limits: limits(&[(1, LimitType::Tpd, Some(0))]),
            ..grant()
        };
        refused_with(Some(role_zero), "sk-client", 1, Outcome::RouterForbidden).await;
        let project_zero = KeyGrant {
            project: Some(ProjectGrant {
                id: ProjectId(5),
                budget: None,
                limits: limits(&[(2, LimitType::Rpm, Some(0))]),
            }),
            ..grant()
        };
        refused_with(Some(project_zero), "sk-client", 2, Outcome::RouterForbidden).await;
    }

    #[tokio::test]
    async fn the_master_key_as_the_callers_key_has_no_quota_and_no_budget() {
        let ledger = admitting(|admission| {
            assert!(admission.quotas.is_empty());
            assert!(admission.reservation.is_none());
            assert_eq!(admission.decision.payer, None);
            let subject = admission.decision.subject.as_ref().unwrap();
            assert_eq!(subject.user, UserId::MASTER);
            assert_eq!(subject.key, None);
            assert_eq!(subject.permissions, Permissions::all());
        });
        let decision = service(None, ledger)
            .authorize(&gateway(), call(MASTER, 9))
            .await
            .unwrap();
        assert_eq!(decision.outcome, Outcome::Allowed);
    }

    #[tokio::test]
    async fn a_request_id_replayed_with_another_key_is_refused() {
        let mut ledger = MockAccessLedger::new();
        ledger.expect_decide().returning(|admission| {
            Ok(Decided {
                decision: Decision {
                    key_hash: KeyHash::new(b"sk-someone-else".to_vec()),
                    ..admission.decision
                },
                replayed: true,
            })
        });
        let error = service(Some(grant()), ledger)
            .authorize(&gateway(), call("sk-client", 1))
            .await
            .unwrap_err();
        assert!(matches!(error, DomainError::RequestIdUsed));

        let mut ledger = MockAccessLedger::new();
        ledger.expect_decide().returning(|admission| {
            Ok(Decided {
                decision: Decision {
                    outcome: Outcome::RateLimited,
                    ..admission.decision
                },
                replayed: true,
            })
        });
        let decision = service(Some(grant()), ledger)
            .authorize(&gateway(), call("sk-client", 1))
            .await
            .unwrap();
        assert_eq!(decision.outcome, Outcome::RateLimited, "the first decision");
    }

    fn record() -> UsageRecord {
        UsageRecord {
            id: UsageId(1),
            request_id: RequestId::parse("call-1").unwrap(),
            user: UserId(7),
            organization: Some(OrganizationId(3)),
            project: None,
            key: Some(ApiKeyId(70)),
            router: 1,
            prompt_tokens: 10,
            completion_tokens: 20,
            cost: Cost::new(0.25).unwrap(),
            charged: Cost::new(0.25).unwrap(),
            overrun: Cost::ZERO,
            budget: Some(Budget::new(9.75).unwrap()),
            created: now(),
        }
    }

    fn usage(key: Option<&str>, router: Option<i64>) -> ReportUsage {
        ReportUsage {
            request_id: RequestId::parse("call-1").unwrap(),
            prompt_tokens: 10,
            completion_tokens: 20,
            cost: Cost::new(0.25).unwrap(),
            key: key.map(Secret::new),
            router,
        }
    }

    #[tokio::test]
    async fn usage_of_an_authorized_call_is_settled_once_and_then_replayed() {
        for (settled, created) in [
            (Settled::Recorded(record()), true),
            (Settled::Replayed(record()), false),
        ] {
            let mut ledger = MockAccessLedger::new();
            ledger
                .expect_settle()
                .times(1)
                .returning(move |settlement| {
                    assert_eq!(settlement.report.created, now());
                    assert_eq!(settlement.key_hash, None);
                    assert_eq!(settlement.unauthorized, None);
                    Ok(settled.clone())
                });
            let reported = service(Some(grant()), ledger)
                .report(&gateway(), usage(None, None))
                .await
                .unwrap();
            assert_eq!(reported.record, record());
            assert_eq!(reported.created, created);
        }
    }

    #[tokio::test]
    async fn usage_of_a_call_never_authorized_needs_its_key_and_router() {
        let not_authorized = || {
            let mut ledger = MockAccessLedger::new();
            ledger
                .expect_settle()
                .times(1)
                .returning(|_| Ok(Settled::NotAuthorized));
            ledger
        };
        let error = service(Some(grant()), not_authorized())
            .report(&gateway(), usage(None, Some(1)))
            .await
            .unwrap_err();
        assert!(matches!(
            error,
            DomainError::NotFound(Entity::Authorization)
        ));
        let error = service(Some(grant()), not_authorized())
            .report(&gateway(), usage(Some("sk-client"), None))
            .await
            .unwrap_err();
        assert!(matches!(&error, DomainError::Invalid(v) if v[0].field == "router"));
        let error = service(None, not_authorized())
            .report(&gateway(), usage(Some("sk-unknown"), Some(1)))
            .await
            .unwrap_err();
        assert!(matches!(&error, DomainError::Invalid(v) if v[0].field == "key"));

        let mut ledger = MockAccessLedger::new();
        let mut calls = 0;
        ledger
            .expect_settle()
            .times(2)
            .returning(move |settlement| {
                calls += 1;
                if calls == 1 {
                    return Ok(Settled::NotAuthorized);
                }
                let call = settlement.unauthorized.unwrap();
                assert_eq!(call.key_hash, KeyHash::new(b"sk-client".to_vec()));
                assert_eq!(call.router, 1);
                assert_eq!(call.subject.user, UserId(7));
                assert_eq!(call.payer, Some(Holder::User(UserId(7))));
                // The grant's role limits router 1: the user's counters count the call.
                assert_eq!(call.counted_for, [Holder::User(UserId(7))]);
                Ok(Settled::Recorded(record()))
            });
        let reported = service(Some(grant()), ledger)
            .report(&gateway(), usage(Some("sk-client"), Some(1)))
            .await
            .unwrap();
        assert!(reported.created);
    }

    #[tokio::test]
    async fn usage_naming_another_key_than_the_authorized_calls_is_refused() {
        let mut ledger = MockAccessLedger::new();
        ledger.expect_settle().returning(|settlement| {
            assert_eq!(
                settlement.key_hash,
                Some(KeyHash::new(b"sk-other".to_vec()))
            );
            Ok(Settled::Mismatch)
        });
        let error = service(Some(grant()), ledger)
            .report(&gateway(), usage(Some("sk-other"), None))
            .await
            .unwrap_err();
        assert!(matches!(error, DomainError::RequestIdUsed));
    }

    #[tokio::test]
    async fn counters_of_days_before_today_are_swept() {
        let mut ledger = MockAccessLedger::new();
        ledger
            .expect_sweep_counters()
            .withf(|before| *before == Period::Day.window(now()).start())
            .returning(|_| Ok(3));
        assert_eq!(service(None, ledger).sweep_counters().await.unwrap(), 3);
    }
}
