//! Reading usage: one's own, and everyone's for admins, with totals per user, organization,
//! project, router or day.

use std::sync::Arc;

use gatehouse_domain::{
    Clock, DomainError, Page, PageRequest, Permission, UsageFilter, UsageGroupBy, UsageOrder,
    UsageRecord, UsageRepository, UsageTotal,
};

use crate::Principal;

/// Lists and sums usage records.
#[derive(Clone)]
pub struct UsageService {
    usage: Arc<dyn UsageRepository>,
    clock: Arc<dyn Clock>,
}

impl UsageService {
    /// A service reading records from `usage`.
    pub fn new(usage: Arc<dyn UsageRepository>, clock: Arc<dyn Clock>) -> Self {
        Self { usage, clock }
    }

    /// One page of the caller's usage matching `filter`, scoped as [`Self::summarize_own`] is:
    /// `user` and `organization` are ignored; under a project-bound key, the project's usage
    /// instead, all its members' alike, and a filter on another project matches nothing.
    ///
    /// # Errors
    /// `AccountExpired`; `Unavailable`.
    pub async fn list_own(
        &self,
        actor: &Principal,
        filter: UsageFilter,
        page: PageRequest<UsageOrder>,
    ) -> Result<Page<UsageRecord>, DomainError> {
        actor.require_active(self.clock.now())?;
        match own_scope(actor, filter) {
            Some(filter) => self.usage.list(filter, page).await,
            None => Ok(Page {
                items: Vec::new(),
                total: 0,
            }),
        }
    }

    /// The totals of the caller's usage matching `filter`, per group (or in one when `group_by`
    /// is `None`), scoped exactly as [`Self::list_own`]: so that one's totals add up the records
    /// one may list, and nobody else's.
    ///
    /// # Errors
    /// `AccountExpired`; `Unavailable`.
    pub async fn summarize_own(
        &self,
        actor: &Principal,
        filter: UsageFilter,
        group_by: Option<UsageGroupBy>,
    ) -> Result<Vec<UsageTotal>, DomainError> {
        actor.require_active(self.clock.now())?;
        match own_scope(actor, filter) {
            Some(filter) => self.usage.summarize(filter, group_by).await,
            None => Ok(Vec::new()),
        }
    }

    /// One page of everyone's usage matching `filter`, as an admin.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `Unavailable`.
    pub async fn list(
        &self,
        actor: &Principal,
        filter: UsageFilter,
        page: PageRequest<UsageOrder>,
    ) -> Result<Page<UsageRecord>, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.usage.list(filter, page).await
    }

    /// The totals of everyone's usage matching `filter`, per group (or in one when `group_by` is
    /// `None`), as an admin.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `Unavailable`.
    pub async fn summarize(
        &self,
        actor: &Principal,
        filter: UsageFilter,
        group_by: Option<UsageGroupBy>,
    ) -> Result<Vec<UsageTotal>, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.usage.summarize(filter, group_by).await
    }
}

/// `filter` narrowed to what `actor` may read of usage: their own calls, or under a
/// project-bound key their project's (all its members'); the filter's `user` and `organization`
/// are ignored. `None` when it asks for another project than the key's: it matches nothing.
fn own_scope(actor: &Principal, filter: UsageFilter) -> Option<UsageFilter> {
    let mut filter = UsageFilter {
        user: None,
        organization: None,
        ..filter
    };
    match &actor.project {
        Some(project) if filter.project.is_some_and(|asked| asked != project.id) => return None,
        Some(project) => filter.project = Some(project.id),
        None => filter.user = Some(actor.user),
    }
    Some(filter)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{admin, caller, clock, non_admin};
    use crate::principal::ProjectScope;
    use gatehouse_domain::chrono::TimeDelta;
    use gatehouse_domain::{Limits, MockUsageRepository, OrganizationId, ProjectId, UserId};
    use mockall::predicate::{always, eq};

    fn service(usage: MockUsageRepository) -> UsageService {
        UsageService::new(Arc::new(usage), clock())
    }

    fn empty() -> Page<UsageRecord> {
        Page {
            items: Vec::new(),
            total: 0,
        }
    }

    fn bound_to(project: i64) -> Principal {
        Principal {
            project: Some(ProjectScope {
                id: ProjectId(project),
                budget: None,
                limits: Limits::default(),
            }),
            ..caller(&[], None)
        }
    }

    #[tokio::test]
    async fn ones_own_usage_is_ones_own_whatever_the_filter_says() {
        let mut usage = MockUsageRepository::new();
        usage
            .expect_list()
            .with(
                eq(UsageFilter {
                    user: Some(UserId(42)),
                    router: Some(3),
                    ..UsageFilter::default()
                }),
                always(),
            )
            .times(1)
            .returning(|_, _| Ok(empty()));
        let asked = UsageFilter {
            user: Some(UserId(1)),
            organization: Some(OrganizationId(9)),
            router: Some(3),
            ..UsageFilter::default()
        };
        service(usage)
            .list_own(&caller(&[], None), asked, PageRequest::default())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn a_project_key_sees_its_projects_usage_and_no_other() {
        let mut usage = MockUsageRepository::new();
        usage
            .expect_list()
            .with(
                eq(UsageFilter {
                    project: Some(ProjectId(5)),
                    ..UsageFilter::default()
                }),
                always(),
            )
            .times(1)
            .returning(|_, _| Ok(empty()));
        let service = service(usage);
        service
            .list_own(&bound_to(5), UsageFilter::default(), PageRequest::default())
            .await
            .unwrap();
        let other = UsageFilter {
            project: Some(ProjectId(6)),
            ..UsageFilter::default()
        };
        let page = service
            .list_own(&bound_to(5), other, PageRequest::default())
            .await
            .unwrap();
        assert_eq!(page.total, 0);
    }

    fn day_total() -> UsageTotal {
        UsageTotal {
            group: Some(1_907_712_000),
            requests: 2,
            prompt_tokens: 30,
            completion_tokens: 12,
            cost: gatehouse_domain::Cost::ZERO,
        }
    }

    #[tokio::test]
    async fn ones_own_totals_are_ones_own_whatever_the_filter_says() {
        let mut usage = MockUsageRepository::new();
        usage
            .expect_summarize()
            .with(
                eq(UsageFilter {
                    user: Some(UserId(42)),
                    router: Some(3),
                    ..UsageFilter::default()
                }),
                eq(Some(UsageGroupBy::Day)),
            )
            .times(1)
            .returning(|_, _| Ok(vec![day_total()]));
        let asked = UsageFilter {
            user: Some(UserId(1)),
            organization: Some(OrganizationId(9)),
            router: Some(3),
            ..UsageFilter::default()
        };
        let totals = service(usage)
            .summarize_own(&caller(&[], None), asked, Some(UsageGroupBy::Day))
            .await
            .unwrap();
        assert_eq!(totals, [day_total()]);
    }

    #[tokio::test]
    async fn a_project_key_totals_its_projects_usage_and_no_other() {
        let mut usage = MockUsageRepository::new();
        usage
            .expect_summarize()
            .with(
                eq(UsageFilter {
                    project: Some(ProjectId(5)),
                    ..UsageFilter::default()
                }),
                eq(Some(UsageGroupBy::Day)),
            )
            .times(1)
            .returning(|_, _| Ok(vec![day_total()]));
        let service = service(usage);
        let asked = UsageFilter {
            user: Some(UserId(1)),
            organization: Some(OrganizationId(9)),
            ..UsageFilter::default()
        };
        let totals = service
            .summarize_own(&bound_to(5), asked, Some(UsageGroupBy::Day))
            .await
            .unwrap();
        assert_eq!(totals, [day_total()]);
        let other = UsageFilter {
            project: Some(ProjectId(6)),
            ..UsageFilter::default()
        };
        let totals = service
            .summarize_own(&bound_to(5), other, Some(UsageGroupBy::Day))
            .await
            .unwrap();
        assert!(totals.is_empty());
    }

    #[tokio::test]
    async fn an_expired_account_has_no_totals() {
        let mut usage = MockUsageRepository::new();
        usage.expect_summarize().never();
        let expired = caller(&[], Some(crate::fixtures::now() - TimeDelta::days(1)));
        assert!(matches!(
            service(usage)
                .summarize_own(&expired, UsageFilter::default(), None)
                .await,
            Err(DomainError::AccountExpired)
        ));
    }

    #[tokio::test]
    async fn everyones_usage_is_for_admins() {
        let mut usage = MockUsageRepository::new();
        usage.expect_list().never();
        usage.expect_summarize().never();
        let service = service(usage);
        for actor in [non_admin(), bound_to(5)] {
            assert!(matches!(
                service
                    .list(&actor, UsageFilter::default(), PageRequest::default())
                    .await,
                Err(DomainError::Forbidden)
            ));
            assert!(matches!(
                service
                    .summarize(&actor, UsageFilter::default(), Some(UsageGroupBy::Day))
                    .await,
                Err(DomainError::Forbidden)
            ));
        }
        let mut usage = MockUsageRepository::new();
        usage
            .expect_summarize()
            .with(eq(UsageFilter::default()), eq(Some(UsageGroupBy::Router)))
            .returning(|_, _| Ok(Vec::new()));
        assert!(
            UsageService::new(Arc::new(usage), clock())
                .summarize(&admin(), UsageFilter::default(), Some(UsageGroupBy::Router))
                .await
                .is_ok()
        );
    }
}
