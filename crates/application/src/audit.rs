//! Reading the audit log, for admins, and purging it of events older than the retention.
//!
//! Events are written by the storage adapters in the transactions of the changes they record (see
//! the domain's `audit` module); this service only reads and purges them.

use std::num::NonZeroU32;
use std::sync::Arc;

use gatehouse_domain::chrono::TimeDelta;
use gatehouse_domain::{
    AuditEvent, AuditFilter, AuditLog, AuditOrder, Clock, DateTime, DomainError, Page, PageRequest,
    Permission, Utc,
};

use crate::Principal;

/// How long events are kept, in days: older ones are purged once a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention(NonZeroU32);

impl Retention {
    /// Days kept when the operator sets nothing: a year, long enough to look back on a yearly
    /// review. The single source of that default.
    pub const DEFAULT_DAYS: NonZeroU32 = match NonZeroU32::new(365) {
        Some(days) => days,
        None => panic!("365 is not zero"),
    };

    /// A retention of `days` days.
    pub fn days(days: NonZeroU32) -> Self {
        Self(days)
    }

    /// The number of days.
    pub fn get(self) -> NonZeroU32 {
        self.0
    }

    /// The instant before which events are purged at `now`. A retention reaching beyond the
    /// calendar's start purges nothing rather than overflowing.
    pub fn cutoff(self, now: DateTime<Utc>) -> DateTime<Utc> {
        now.checked_sub_signed(TimeDelta::days(i64::from(self.0.get())))
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }
}

impl Default for Retention {
    fn default() -> Self {
        Self(Self::DEFAULT_DAYS)
    }
}

/// Reads and purges the audit log.
#[derive(Clone)]
pub struct AuditService {
    log: Arc<dyn AuditLog>,
    clock: Arc<dyn Clock>,
    retention: Retention,
}

impl AuditService {
    /// A service over `log`, keeping events for `retention`.
    pub fn new(log: Arc<dyn AuditLog>, clock: Arc<dyn Clock>, retention: Retention) -> Self {
        Self {
            log,
            clock,
            retention,
        }
    }

    /// One page of the events matching `filter`, as an admin: the log tells who did what to
    /// everyone's objects, so nobody else reads it.
    ///
    /// # Errors
    /// `AccountExpired`/`Forbidden` unless `actor` is an active admin; `Unavailable`.
    pub async fn list(
        &self,
        actor: &Principal,
        filter: AuditFilter,
        page: PageRequest<AuditOrder>,
    ) -> Result<Page<AuditEvent>, DomainError> {
        actor.require(Permission::Admin, self.clock.now())?;
        self.log.list(filter, page).await
    }

    /// Deletes the events older than the retention, unless today's purge (the clock's UTC day)
    /// already ran, here or in another instance: so every instance may call it as often as it
    /// likes. Returns how many events were deleted, `None` when today's purge had already run.
    ///
    /// # Errors
    /// `Unavailable`.
    pub async fn purge(&self) -> Result<Option<u64>, DomainError> {
        let now = self.clock.now();
        self.log
            .purge(self.retention.cutoff(now), now.date_naive())
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::{admin, clock, expired_admin, non_admin, now};
    use gatehouse_domain::chrono::NaiveDate;
    use gatehouse_domain::{AuditAction, AuditEntity, Direction, MockAuditLog, UserId};
    use mockall::predicate::eq;

    fn service(log: MockAuditLog, days: u32) -> AuditService {
        AuditService::new(
            Arc::new(log),
            clock(),
            Retention::days(NonZeroU32::new(days).unwrap()),
        )
    }

    #[tokio::test]
    async fn only_active_admins_read_the_log() {
        let mut log = MockAuditLog::new();
        log.expect_list().never();
        let service = service(log, 365);
        let (non_admin, expired_admin) = (non_admin(), expired_admin());
        let list = |actor| service.list(actor, AuditFilter::default(), PageRequest::default());
        assert!(matches!(
            list(&non_admin).await,
            Err(DomainError::Forbidden)
        ));
        assert!(matches!(
            list(&expired_admin).await,
            Err(DomainError::AccountExpired)
        ));
    }

    #[tokio::test]
    async fn an_admin_reads_the_page_of_the_filter_asked() {
        let filter = AuditFilter {
            actor: Some(UserId(7)),
            entity: Some(AuditEntity::Role),
            entity_id: Some(3),
            action: Some(AuditAction::Update),
            from: Some(now() - TimeDelta::days(1)),
            to: Some(now()),
        };
        let page = PageRequest::new(20, 5, AuditOrder::Id, Direction::Desc).unwrap();
        let mut log = MockAuditLog::new();
        log.expect_list()
            .with(eq(filter.clone()), eq(page))
            .times(1)
            .returning(|_, _| {
                Ok(Page {
                    items: Vec::new(),
                    total: 21,
                })
            });
        let listed = service(log, 365)
            .list(&admin(), filter, page)
            .await
            .unwrap();
        assert_eq!(listed.total, 21);
    }

    #[tokio::test]
    async fn a_purge_deletes_what_is_older_than_the_retention_on_the_clocks_day() {
        let mut log = MockAuditLog::new();
        log.expect_purge()
            .with(
                eq(now() - TimeDelta::days(30)),
                eq(NaiveDate::from_ymd_opt(2026, 11, 30).unwrap()),
            )
            .times(1)
            .returning(|_, _| Ok(Some(4)));
        assert_eq!(service(log, 30).purge().await.unwrap(), Some(4));
    }

    #[tokio::test]
    async fn a_purge_already_run_today_says_so() {
        let mut log = MockAuditLog::new();
        log.expect_purge().times(1).returning(|_, _| Ok(None));
        assert_eq!(service(log, 365).purge().await.unwrap(), None);
    }

    #[test]
    fn the_retention_is_a_year_unless_set_and_never_overflows_the_calendar() {
        assert_eq!(Retention::default().get().get(), 365);
        assert_eq!(
            Retention::default().cutoff(now()),
            now() - TimeDelta::days(365)
        );
        let forever = Retention::days(NonZeroU32::MAX);
        assert_eq!(forever.cutoff(now()), DateTime::<Utc>::MIN_UTC);
    }
}
