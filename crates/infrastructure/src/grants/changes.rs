//! What an instance knows of changes to what keys grant: a counter that moves at each change,
//! and whether it hears the changes other instances make.

use std::cell::RefCell;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

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

    /// Records that the instance started or stopped hearing other instances' changes; either
    /// way, what was read before may be stale (changes may have gone unheard).
    pub fn set_listening(&self, listening: bool) {
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
