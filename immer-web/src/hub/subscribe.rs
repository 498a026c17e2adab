//! Subscriptions by path on a hub: the committed changes that touch a pattern.

use std::fmt;
use std::sync::Arc;

use immer::sync::{Committed, PathChange, Subscriptions};
use immer::{Draftable, apply_patches};
use tokio::sync::mpsc;

/// The committed changes of a [`Hub`](crate::Hub)'s document that touch a pattern, from
/// [`Hub::subscribe`](crate::Hub::subscribe), each with the patches of it that touch the
/// pattern and the document's state after it.
///
/// The changes are read as [`recv`](PathChanges::recv) asks for them: the hub queues every
/// committed change for it until then, touching the pattern or not, in a queue with no bound
/// (as for [`Hub::watch_commits`](crate::Hub::watch_commits)), so keep receiving, or drop it,
/// which ends the subscription.
pub struct PathChanges<T> {
    subscriptions: Subscriptions<T>,
    /// The document's state after the last change read; `None` once a committed change did
    /// not apply to it, and nothing more can be told.
    state: Option<Arc<T>>,
    commits: mpsc::UnboundedReceiver<Committed>,
}

impl<T: Draftable> PathChanges<T> {
    pub(super) fn new(
        pattern: impl immer::PatternOf<T>,
        state: Arc<T>,
        commits: mpsc::UnboundedReceiver<Committed>,
    ) -> Self {
        let mut subscriptions = Subscriptions::new();
        subscriptions.subscribe(pattern);
        PathChanges {
            subscriptions,
            state: Some(state),
            commits,
        }
    }

    /// The next committed change that touches the pattern, or `None` once the hub is gone
    /// (and from then on).
    ///
    /// `None` also ends the subscription if a committed change does not apply to the state
    /// kept here, which would mean it is not the hub's (committed changes apply to the state
    /// they were committed to, as they did at the hub); it cannot happen with a hub's own
    /// feed.
    ///
    /// Time: for each committed change read, O(its patches × the pattern's length), and
    /// applying it to the state kept here (a path copy for persistent collections, a copy of
    /// a std collection it writes into).
    pub async fn recv(&mut self) -> Option<PathChange<T>> {
        loop {
            let state = self.state.as_ref()?;
            let committed = self.commits.recv().await?;
            let Ok(next) = apply_patches(state, &committed.patches) else {
                self.state = None;
                self.commits.close();
                return None;
            };
            let next = self.state.insert(next);
            self.subscriptions.notify(&committed.patches, next);
            if let Some(change) = self.subscriptions.take_changes().pop() {
                return Some(change);
            }
        }
    }
}

impl<T> fmt::Debug for PathChanges<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PathChanges")
            .field("subscriptions", &self.subscriptions)
            .finish_non_exhaustive()
    }
}
