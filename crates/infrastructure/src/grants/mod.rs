//! Grants kept in each instance's memory, and the notifications that keep them true across
//! instances: every audited change announces itself on [`GRANT_CHANNEL`] in its transaction and
//! moves this instance's epoch once committed; a listener moves it for other instances' changes.

mod cache;
mod changes;
mod listener;

pub use cache::CachedGrants;
pub use changes::{GRANT_CHANNEL, GrantChanges};
pub(crate) use changes::{after_commit, settle_pending};
pub use listener::{LISTENER_NAME, listen};
