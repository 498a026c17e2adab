//! The patch recorder behind `produce_with_patches`.
//!
//! Drafts hand it one patch (and its inverse) per operation, as the operation happens. It
//! keeps them in order and folds repeated writes together:
//!
//! - a `replace` (or `add`) followed by a `replace` at the same path keeps one patch with the
//!   last value, and drops it when the value is back where it started;
//! - a map key that is added and then removed leaves nothing, one that is replaced and then
//!   removed leaves one `remove`, one that is removed and added again one `replace`;
//! - on a list, where later patches may depend on an element's position, the structural
//!   folds (insert then remove, and so on) apply only to the newest patch.
//!
//! A fold is sound only while every patch recorded after the earlier one is disjoint from its
//! path (not an ancestor, not a descendant, not an insert or remove that shifts it). `index`
//! holds exactly the patches for which that is still true; every new patch evicts the
//! entries it touches: its ancestors, its descendants, and, for a list insert or remove, the
//! siblings at and after its index.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::patch::{Patch, PatchOp};
use crate::path::{Path, PathSegment};
use crate::place::Recorded;
use crate::produce::UnserializableError;

struct Entry {
    patch: Patch,
    inverse: Patch,
}

/// The patches recorded so far by one [`produce_with_patches`](crate::produce_with_patches)
/// (or a recording [`Drafting`](crate::Drafting) session): the recorder its drafts write to.
/// Opaque: the patches come out of the produce that holds it.
#[derive(Default)]
pub struct Recording {
    entries: Vec<Option<Entry>>,
    index: BTreeMap<Path, usize>,
    /// The newest entry, not yet in `index`: a recipe of one operation never builds it.
    unindexed: Option<usize>,
    failure: Option<UnserializableError>,
}

impl Recording {
    pub(crate) fn new() -> Self {
        Recording::default()
    }

    pub(crate) fn record(&mut self, change: Recorded) {
        match change {
            Ok((patch, inverse)) => self.push(patch, inverse),
            Err(error) => {
                self.failure.get_or_insert(error);
            }
        }
    }

    /// The forward patches in order, and the inverse patches in the order that undoes them;
    /// or why a value could not be written as JSON.
    pub(crate) fn finish(self) -> Result<(Vec<Patch>, Vec<Patch>), UnserializableError> {
        if let Some(error) = self.failure {
            return Err(error);
        }
        let (patches, mut inverse): (Vec<Patch>, Vec<Patch>) = self
            .entries
            .into_iter()
            .flatten()
            .map(|e| (e.patch, e.inverse))
            .unzip();
        inverse.reverse();
        Ok((patches, inverse))
    }

    fn last_live(&self) -> Option<usize> {
        self.entries.iter().rposition(Option::is_some)
    }

    fn push(&mut self, patch: Patch, inverse: Patch) {
        if let Some(at) = self.unindexed.take() {
            if let Some(entry) = &self.entries[at] {
                self.index.insert(entry.patch.path.clone(), at);
            }
        }
        if let Some(&at) = self.index.get(&patch.path) {
            if self.fold(at, &patch) {
                // A folded insert or removal still shifts the list's later elements: the
                // entries at those positions must not take folds any more.
                if matches!(patch.op, PatchOp::Add | PatchOp::Remove) {
                    self.evict_shifted(&patch.path);
                }
                return;
            }
        }
        self.evict(&patch);
        self.unindexed = Some(self.entries.len());
        self.entries.push(Some(Entry { patch, inverse }));
    }

    /// Folds `next` into the entry at `at`, which is at the same path and still foldable.
    /// Returns false when the two do not fold.
    fn fold(&mut self, at: usize, next: &Patch) -> bool {
        let in_list = matches!(next.path.last(), Some(PathSegment::Index(_)));
        let newest = self.last_live() == Some(at);
        let Some(entry) = self.entries[at].as_mut() else {
            return false;
        };
        match (entry.patch.op, next.op) {
            (PatchOp::Replace | PatchOp::Add, PatchOp::Replace) => {
                entry.patch.value.clone_from(&next.value);
                let back_where_it_started =
                    entry.patch.op == PatchOp::Replace && entry.inverse.value == next.value;
                if back_where_it_started {
                    self.drop_entry(at);
                }
                true
            }
            // A set's remove names its value; it cancels only the add of that same value.
            (PatchOp::Add, PatchOp::Remove)
                if (!in_list || newest)
                    && (next.value.is_none() || next.value == entry.patch.value) =>
            {
                self.drop_entry(at);
                true
            }
            (PatchOp::Replace, PatchOp::Remove) if (!in_list || newest) && next.value.is_none() => {
                entry.patch = Patch::remove(next.path.clone());
                entry.inverse.op = PatchOp::Add;
                self.index.remove(&next.path);
                true
            }
            (PatchOp::Remove, PatchOp::Add)
                if (!in_list || newest) && entry.patch.value.is_none() =>
            {
                // Removed, then put back: a replace of the original, or nothing at all.
                if entry.inverse.value == next.value {
                    self.drop_entry(at);
                } else {
                    entry.patch =
                        Patch::replace(next.path.clone(), next.value.clone().unwrap_or_default());
                    entry.inverse.op = PatchOp::Replace;
                }
                true
            }
            _ => false,
        }
    }

    fn drop_entry(&mut self, at: usize) {
        if let Some(entry) = self.entries[at].take() {
            self.index.remove(&entry.patch.path);
        }
    }

    /// Removes from `index` every entry a new patch at `patch.path` would make unsafe to fold.
    fn evict(&mut self, patch: &Patch) {
        if self.index.is_empty() {
            return;
        }
        let at = &patch.path;
        let mut doomed: Vec<Path> = Vec::new();
        // Ancestors, and the path itself.
        for depth in 0..=at.len() {
            let ancestor: Path = at[..depth].iter().cloned().collect();
            if self.index.contains_key(&ancestor) {
                doomed.push(ancestor);
            }
        }
        // Descendants.
        doomed.extend(
            self.index
                .range::<Path, _>((Bound::Excluded(at), Bound::Unbounded))
                .take_while(|(p, _)| p.starts_with(at))
                .map(|(p, _)| p.clone()),
        );
        for path in doomed {
            self.index.remove(&path);
        }
        if matches!(patch.op, PatchOp::Add | PatchOp::Remove) {
            self.evict_shifted(at);
        }
    }

    /// Removes from `index` the siblings after a list index that an insert or removal at `at`
    /// shifts, and everything below them (nothing when `at` is not a list index).
    fn evict_shifted(&mut self, at: &Path) {
        let Some(PathSegment::Index(i)) = at.last() else {
            return;
        };
        let parent = at.parent().unwrap_or_default();
        let from = parent.child(PathSegment::Index(i.saturating_add(1)));
        let to = parent.child(PathSegment::Key(String::new()));
        let doomed: Vec<Path> = self.index.range(from..to).map(|(p, _)| p.clone()).collect();
        for path in doomed {
            self.index.remove(&path);
        }
    }
}
