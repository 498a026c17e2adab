//! Subscriptions by path: the changes that touch a pattern, for whoever subscribed to it.

use std::fmt;
use std::sync::Arc;

use crate::diff::diff;
use crate::draftable::Draftable;
use crate::patch::Patch;
use crate::path::Path;
use crate::pattern::PathPattern;
use crate::typed_path::PatternOf;

/// A subscription, to end it with `unsubscribe` and to tell its [`PathChange`]s apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SubscriptionId(u64);

/// A change that touched a subscription's pattern (see [`PathPattern::touches`]): the
/// patches of the change that touch it, in order, and the state after the whole change.
#[derive(Clone, Debug, PartialEq)]
pub struct PathChange<T> {
    /// The subscription whose pattern the change touched.
    pub subscription: SubscriptionId,
    /// The patches of the change that touch the pattern, in the change's order (never empty).
    pub patches: Vec<Patch>,
    /// The state after the change.
    pub state: Arc<T>,
}

/// Patterns subscribed to, and the [`PathChange`]s waiting to be taken: what a follower or a
/// document keeps to report the changes that touch each pattern.
///
/// # Examples
///
/// ```
/// use immer_core::sync::Subscriptions;
/// use immer_core::{Patch, Path, PathPattern};
/// use serde_json::json;
/// use std::sync::Arc;
///
/// let mut subscriptions = Subscriptions::<Vec<u32>>::new();
/// let second = subscriptions.subscribe("/1".parse::<PathPattern>().unwrap());
/// let state = Arc::new(vec![1, 20]);
/// let at = |p: &str| Path::from_pointer(p).unwrap();
/// subscriptions.notify(&[Patch::replace(at("/0"), json!(1))], &state);
/// assert!(subscriptions.take_changes().is_empty());
/// subscriptions.notify(&[Patch::replace(at("/1"), json!(20))], &state);
/// let changes = subscriptions.take_changes();
/// assert_eq!(changes.len(), 1);
/// assert_eq!(changes[0].subscription, second);
/// assert!(subscriptions.unsubscribe(second));
/// assert!(subscriptions.is_empty());
/// ```
pub struct Subscriptions<T> {
    next: u64,
    patterns: Vec<(SubscriptionId, PathPattern)>,
    changes: Vec<PathChange<T>>,
}

impl<T> Default for Subscriptions<T> {
    fn default() -> Self {
        Subscriptions {
            next: 0,
            patterns: Vec::new(),
            changes: Vec::new(),
        }
    }
}

impl<T> Subscriptions<T> {
    /// No subscriptions.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Subscribes to the changes that touch `pattern`: a typed path of `T`
    /// (`immer::path::<Board>().todos().any().done()`) or a parsed [`PathPattern`].
    ///
    /// Time: O(1).
    pub fn subscribe(&mut self, pattern: impl PatternOf<T>) -> SubscriptionId {
        let id = SubscriptionId(self.next);
        self.next += 1;
        self.patterns.push((id, pattern.into_pattern()));
        id
    }

    /// Ends the subscription `id`, and drops its changes not taken yet. Whether it was
    /// subscribed.
    ///
    /// Time: O(subscriptions + changes waiting).
    pub fn unsubscribe(&mut self, id: SubscriptionId) -> bool {
        let before = self.patterns.len();
        self.patterns.retain(|(s, _)| *s != id);
        self.changes.retain(|c| c.subscription != id);
        self.patterns.len() < before
    }

    /// Whether nobody is subscribed.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// The number of subscriptions.
    #[must_use]
    pub fn len(&self) -> usize {
        self.patterns.len()
    }

    /// Reports a change, `patches`, that led to `state`: each subscription whose pattern one
    /// of them touches gets a [`PathChange`] with those that do.
    ///
    /// Time: O(subscriptions × patches × pattern length).
    pub fn notify(&mut self, patches: &[Patch], state: &Arc<T>) {
        for (id, pattern) in &self.patterns {
            let touching: Vec<Patch> = patches
                .iter()
                .filter(|p| pattern.touches(p))
                .cloned()
                .collect();
            if !touching.is_empty() {
                self.changes.push(PathChange {
                    subscription: *id,
                    patches: touching,
                    state: Arc::clone(state),
                });
            }
        }
    }

    /// The changes reported since the last call, in order.
    pub fn take_changes(&mut self) -> Vec<PathChange<T>> {
        std::mem::take(&mut self.changes)
    }
}

impl<T: Draftable> Subscriptions<T> {
    /// Reports the change from `before` to `after` as the patches between them ([`diff`]),
    /// when someone is subscribed and the two are not the same `Arc`. When the two cannot be
    /// diffed (a state with no JSON form), the change is reported as a `replace` of the whole
    /// state, which touches every pattern, with the state after as its value (or none, when it
    /// has no JSON form either).
    ///
    /// Time: O(the parts of the two states that differ), see [`diff`].
    pub fn notify_between(&mut self, before: &Arc<T>, after: &Arc<T>) {
        if self.is_empty() || Arc::ptr_eq(before, after) {
            return;
        }
        let patches = match diff(&**before, &**after) {
            Ok((patches, _)) => patches,
            Err(_) => vec![Patch {
                op: crate::PatchOp::Replace,
                path: Path::root(),
                value: serde_json::to_value(&**after).ok(),
                from: None,
            }],
        };
        self.notify(&patches, after);
    }
}

impl<T> fmt::Debug for Subscriptions<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Subscriptions")
            .field("patterns", &self.patterns)
            .field("waiting", &self.changes.len())
            .finish_non_exhaustive()
    }
}
