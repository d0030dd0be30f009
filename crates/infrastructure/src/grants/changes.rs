//! What an instance knows of changes to what keys grant: a counter that moves at each change,
//! and whether it hears the changes other instances make.

use std::cell::RefCell;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

/// The PostgreSQL channel every change that may alter a grant is announced on, in the
/// transaction of the change (`NOTIFY` is delivered at commit, and only then).
pub const GRANT_CHANNEL: &str = "gatehouse_grants";

/// The changes to grants one instance has seen. A cached grant carries the epoch it was read in
/// and is served only while the epoch has not moved, so that a change (made here, or heard from
/// another instance) drops every grant read before it, whatever read was still in flight.
#[derive(Debug, Default)]
pub struct GrantChanges {
    epoch: AtomicU64,
    listening: AtomicBool,
    /// Until when the listening connection is known to be up, in nanoseconds after [`origin`]:
    /// a connection can die without a word (a network cut), so its life is proved again and
    /// again rather than presumed.
    alive_until: AtomicU64,
}

/// The instant the liveness deadlines count from.
fn origin() -> Instant {
    static ORIGIN: OnceLock<Instant> = OnceLock::new();
    *ORIGIN.get_or_init(Instant::now)
}

/// `at`, in nanoseconds after [`origin`] (0 before it).
fn nanos(at: Instant) -> u64 {
    u64::try_from(at.saturating_duration_since(origin()).as_nanos()).unwrap_or(u64::MAX)
}

impl GrantChanges {
    /// No change seen yet, not listening.
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The current epoch.
    pub fn epoch(&self) -> u64 {
        self.epoch.load(Ordering::Acquire)
    }

    /// A change happened: every grant read before now may be stale.
    pub fn changed(&self) {
        self.epoch.fetch_add(1, Ordering::AcqRel);
    }

    /// Whether the instance hears other instances' changes: without it, no grant may be served
    /// from a cache, since a change elsewhere would go unnoticed.
    pub fn listening(&self) -> bool {
        self.listening.load(Ordering::Acquire)
    }

    /// Whether cached grants may be served now: the instance listens, and its connection was
    /// proved alive recently enough ([`Self::alive_until`]) that every change committed before
    /// that proof has been heard.
    pub fn trusted(&self) -> bool {
        self.listening() && nanos(Instant::now()) < self.alive_until.load(Ordering::Acquire)
    }

    /// Records that the listening connection answered a request sent at some instant: every
    /// notification committed before then has been heard (PostgreSQL sends them ahead of the
    /// answer), so cached grants may be trusted until `until`.
    pub fn alive_until(&self, until: Instant) {
        self.alive_until.fetch_max(nanos(until), Ordering::AcqRel);
    }

    /// Records that the instance started or stopped hearing other instances' changes; either
    /// way, what was read before may be stale (changes may have gone unheard).
    pub fn set_listening(&self, listening: bool) {
        if !listening {
            self.alive_until.store(0, Ordering::Release);
        }
        self.listening.store(listening, Ordering::Release);
        self.changed();
    }
}

thread_local! {
    /// The changes a transaction on this thread will have made once it commits. A database call
    /// runs whole on one pool thread (`db::run_blocking`), so the thread is the call.
    static PENDING: RefCell<Option<Arc<GrantChanges>>> = const { RefCell::new(None) };
}

/// Notes, inside a transaction, that `changes` must move once the transaction is over: moving it
/// before the commit would let a concurrent read cache the old row under the new epoch.
pub(crate) fn after_commit(changes: &Arc<GrantChanges>) {
    PENDING.with(|pending| *pending.borrow_mut() = Some(Arc::clone(changes)));
}

/// Moves the epoch a finished database call noted, if any. Called once the call's work (and its
/// transaction, committed or rolled back) is over; after a rollback the move is merely useless.
pub(crate) fn settle_pending() {
    if let Some(changes) = PENDING.with(|pending| pending.borrow_mut().take()) {
        changes.changed();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noted_change_moves_the_epoch_once_settled_and_only_then() {
        let changes = GrantChanges::new();
        let before = changes.epoch();

        after_commit(&changes);
        assert_eq!(changes.epoch(), before);
        settle_pending();
        assert_eq!(changes.epoch(), before + 1);
        settle_pending();
        assert_eq!(changes.epoch(), before + 1);
    }

    #[test]
    fn grants_are_trusted_only_while_listening_and_proved_alive() {
        let changes = GrantChanges::new();
        changes.alive_until(Instant::now() + std::time::Duration::from_mins(1));
        assert!(!changes.trusted(), "not listening");

        changes.set_listening(true);
        changes.alive_until(Instant::now() + std::time::Duration::from_mins(1));
        assert!(changes.trusted());

        changes.set_listening(false);
        changes.set_listening(true);
        assert!(!changes.trusted(), "a new connection must prove itself");
        changes.alive_until(Instant::now());
        assert!(!changes.trusted(), "a proof that has run out");
    }

    #[test]
    fn starting_or_stopping_to_listen_moves_the_epoch() {
        let changes = GrantChanges::new();
        assert!(!changes.listening());

        changes.set_listening(true);
        assert!(changes.listening());
        assert_eq!(changes.epoch(), 1);
        changes.set_listening(false);
        assert!(!changes.listening());
        assert_eq!(changes.epoch(), 2);
    }
}
