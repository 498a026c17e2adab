//! The patch recorder behind `produce_with_patches` and `record_in_place`.
//!
//! Drafts hand it one patch (and its inverse) per operation, as the operation happens. It
//! keeps them in order and makes the list shorter wherever that is sound, so that it is never
//! longer than the positional diff Immer writes in all but a few recipes:
//!
//! - a `replace` (or `add`) followed by a `replace` at the same path keeps one patch with the
//!   last value, and drops it when the value is back where it started;
//! - a map key that is added and then removed leaves nothing, one that is replaced and then
//!   removed leaves one `remove`, one that is removed and added again one `replace`; the same
//!   on a list element, with the entries recorded since after it in the list shifted back;
//! - a write inside a value the recipe added or replaced whole goes into that patch's value;
//! - a `replace` or `remove` drops the earlier writes below its path (following its element
//!   back through inserts and removals before it), its inverse taking the value from before
//!   them;
//! - a removal just beside an element the recipe inserted is one `replace` of it.
//!
//! A fold is sound only while every patch recorded after the earlier one is disjoint from its
//! path (not an ancestor, not a descendant, not an insert or remove that shifts it). `index`
//! holds exactly the patches for which that is still true; every new patch evicts the
//! entries it touches: its ancestors, its descendants, and, for a list insert or remove, the
//! siblings at and after its index.

use std::collections::BTreeMap;
use std::ops::Bound;

use crate::apply::apply_patches_mut;
use crate::error::UnserializableError;
use crate::patch::{Patch, PatchOp};
use crate::path::{Path, PathSegment};
use crate::place::{Recorded, Recorder};

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

    fn push(&mut self, patch: Patch, mut inverse: Patch) {
        if let Some(at) = self.unindexed.take() {
            if let Some(entry) = &self.entries[at] {
                self.index.insert(entry.patch.path.clone(), at);
            }
        }
        if self.index.is_empty() {
            self.unindexed = Some(self.entries.len());
            self.entries.push(Some(Entry { patch, inverse }));
            return;
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
        if self.fold_into_ancestor(&patch) {
            return;
        }
        if matches!(patch.op, PatchOp::Replace | PatchOp::Remove) {
            self.subsume_descendants(&patch.path, &mut inverse);
            if patch.op == PatchOp::Replace && patch.value == inverse.value {
                // The writes it subsumed, and it, end where they started.
                self.evict(&patch);
                return;
            }
        }
        if self.fold_beside_insert(&patch, &inverse) {
            return;
        }
        self.evict(&patch);
        self.unindexed = Some(self.entries.len());
        self.entries.push(Some(Entry { patch, inverse }));
    }

    /// A write inside a value this recipe added or replaced whole, and that nothing recorded
    /// since depends on (its entry is still in `index`): written into that patch's value
    /// instead of recorded, as Immer does (`push([1])` then `[0][0] = 5` is one `add` of
    /// `[5]`). The entry's inverse stays as it is: it undoes the whole value.
    fn fold_into_ancestor(&mut self, patch: &Patch) -> bool {
        let at = &patch.path;
        let Some((depth, index)) = (0..at.len()).rev().find_map(|depth| {
            let ancestor: Path = at[..depth].iter().cloned().collect();
            self.index.get(&ancestor).map(|&index| (depth, index))
        }) else {
            return false;
        };
        let Some(entry) = self.entries[index].as_mut() else {
            return false;
        };
        if !matches!(entry.patch.op, PatchOp::Add | PatchOp::Replace) {
            return false;
        }
        let Some(value) = entry.patch.value.as_mut() else {
            return false;
        };
        let relative = Patch {
            path: at[depth..].iter().cloned().collect(),
            ..patch.clone()
        };
        // All or nothing: on an error the value is as it was, and the patch is recorded.
        apply_patches_mut(value, std::slice::from_ref(&relative)).is_ok()
    }

    /// A removal of the element just after or just before one this recipe inserted, with
    /// nothing recorded since on the removed element: the insert took that element's place,
    /// so the two are one `replace` of it, as Immer writes it, and the entries recorded since
    /// after it in the list move back by one.
    fn fold_beside_insert(&mut self, patch: &Patch, inverse: &Patch) -> bool {
        let (PatchOp::Remove, None, Some(PathSegment::Index(k)), Some(list)) = (
            patch.op,
            &patch.value,
            patch.path.last(),
            patch.path.parent(),
        ) else {
            return false;
        };
        // The insert just before (k - 1) keeps its place; the one just after (k + 1) moves
        // down into the removed element's.
        let candidates = [(k.checked_sub(1), 0), (k.checked_add(1), 1)];
        for (inserted, shift) in candidates {
            let Some(inserted) = inserted else { continue };
            let at = list.child(PathSegment::Index(inserted));
            let Some(&index) = self.index.get(&at) else {
                continue;
            };
            let place = inserted - shift;
            let Some(value) = self.entries[index]
                .as_ref()
                .filter(|entry| entry.patch.op == PatchOp::Add)
                .and_then(|entry| entry.patch.value.clone())
            else {
                continue;
            };
            let removed = list.child(PathSegment::Index(*k));
            if self.entries[index + 1..]
                .iter()
                .flatten()
                .any(|later| later.patch.path.starts_with(&removed))
                || !self.shift_later(index, &at, -1)
            {
                continue;
            }
            let target = list.child(PathSegment::Index(place));
            let old = inverse.value.clone().unwrap_or_default();
            self.index.remove(&at);
            self.entries[index] = Some(Entry {
                patch: Patch::replace(target.clone(), value),
                inverse: Patch::replace(target.clone(), old),
            });
            self.evict_shifted(&target);
            self.index.insert(target, index);
            return true;
        }
        false
    }

    /// A `replace` or `remove` at `at` makes the earlier patches below `at` redundant, back to
    /// the newest patch that changes what `at` names (one at `at` or above it, or an insert or
    /// removal in a list above it): those are dropped, and `inverse`, which holds the value as
    /// they left it, gets the value from before them. Dropping only the newest of them is
    /// sound too (nothing older depends on them), so the walk back is bounded.
    fn subsume_descendants(&mut self, at: &Path, inverse: &mut Patch) {
        const LOOK: usize = 32;
        let mut below: Vec<usize> = Vec::new();
        // `at` as the entries met so far name it: an insert or removal before its element in
        // a list above it moved it by one.
        let mut target = at.clone();
        for (index, entry) in self.entries.iter().enumerate().rev().take(LOOK) {
            let Some(entry) = entry else { continue };
            let path = &entry.patch.path;
            let replaced_here = *path == target && entry.patch.op == PatchOp::Replace;
            if replaced_here || (path.len() > target.len() && path.starts_with(&target)) {
                // Below `at`, or `at` replaced: what `at` names is the same node.
                below.push(index);
            } else if target.starts_with(path) {
                break;
            } else if let (PatchOp::Add | PatchOp::Remove, Some(PathSegment::Index(j))) =
                (entry.patch.op, path.last())
            {
                let depth = path.len() - 1;
                let in_list = target.len() > depth && target.segments().starts_with(&path[..depth]);
                let Some(k) = target
                    .get(depth)
                    .and_then(PathSegment::as_index)
                    .filter(|_| in_list)
                else {
                    continue;
                };
                let before = match entry.patch.op {
                    // Inserted here: before it, `at` was not there.
                    PatchOp::Add if *j == k => break,
                    PatchOp::Add if *j < k => k - 1,
                    PatchOp::Remove if *j <= k => k + 1,
                    _ => k,
                };
                target.segments_mut()[depth] = PathSegment::Index(before);
            }
        }
        if below.is_empty() {
            return;
        }
        // Undo the newest first: `below` is in that order. Each entry's path goes through
        // `at` as that entry named it, at the same depth.
        let undo: Vec<Patch> = below
            .iter()
            .filter_map(|&index| self.entries[index].as_ref())
            .map(|entry| Patch {
                path: entry.inverse.path[at.len()..].iter().cloned().collect(),
                ..entry.inverse.clone()
            })
            .collect();
        let Some(value) = inverse.value.as_mut() else {
            // A `remove`'s inverse is an `add` that always carries the value.
            return;
        };
        let mut before = value.clone();
        if apply_patches_mut(&mut before, &undo).is_err() {
            return;
        }
        *value = before;
        for index in below {
            self.drop_entry(index);
        }
    }

    /// Folds `next` into the entry at `at`, which is at the same path and still foldable.
    /// Returns false when the two do not fold.
    fn fold(&mut self, at: usize, next: &Patch) -> bool {
        let Some(entry) = self.entries[at].as_ref() else {
            return false;
        };
        // A structural fold moves an insert or removal back to the earlier entry's place: the
        // entries recorded since after it in the same list shift by one the other way.
        let shift = match (entry.patch.op, next.op) {
            (PatchOp::Replace | PatchOp::Add, PatchOp::Replace) => 0,
            // A set's remove names its value; it cancels only the add of that same value.
            (PatchOp::Add, PatchOp::Remove)
                if next.value.is_none() || next.value == entry.patch.value =>
            {
                -1
            }
            (PatchOp::Replace, PatchOp::Remove) if next.value.is_none() => -1,
            (PatchOp::Remove, PatchOp::Add) if entry.patch.value.is_none() => 1,
            _ => return false,
        };
        let in_list = matches!(next.path.last(), Some(PathSegment::Index(_)));
        if shift != 0
            && in_list
            && self.last_live() != Some(at)
            && !self.shift_later(at, &next.path, shift)
        {
            return false;
        }
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
            }
            (PatchOp::Add, PatchOp::Remove) => self.drop_entry(at),
            (PatchOp::Replace, PatchOp::Remove) => {
                entry.patch = Patch::remove(next.path.clone());
                entry.inverse.op = PatchOp::Add;
                if self.index.get(&next.path) == Some(&at) {
                    self.index.remove(&next.path);
                }
            }
            _ => {
                // Removed, then put back: a replace of the original, or nothing at all.
                if entry.inverse.value == next.value {
                    self.drop_entry(at);
                } else {
                    entry.patch =
                        Patch::replace(next.path.clone(), next.value.clone().unwrap_or_default());
                    entry.inverse.op = PatchOp::Replace;
                }
            }
        }
        true
    }

    /// Moves the entries recorded after `at` that sit in the list holding `path` (a list
    /// element) after it (`shift` -1) or at and after it (`shift` 1) by `shift` positions, for
    /// a fold that moves an insert or removal at `path` back to `at`. They leave `index`.
    /// Looks at a bounded number of entries; past that, does nothing and answers false.
    fn shift_later(&mut self, at: usize, path: &Path, shift: isize) -> bool {
        const LOOK: usize = 64;
        let (Some(PathSegment::Index(i)), Some(list)) = (path.last(), path.parent()) else {
            return false;
        };
        let from = if shift < 0 { i.saturating_add(1) } else { *i };
        let depth = list.len();
        if self.entries.len() - at - 1 > LOOK {
            return false;
        }
        let moves = |p: &Path| {
            p.len() > depth
                && p.starts_with(&list)
                && matches!(p[depth], PathSegment::Index(j) if j >= from)
        };
        for entry in self.entries[at + 1..].iter_mut().flatten() {
            for patch in [&mut entry.patch, &mut entry.inverse] {
                if moves(&patch.path) {
                    if let PathSegment::Index(j) = &mut patch.path.segments_mut()[depth] {
                        *j = j.saturating_add_signed(shift);
                    }
                }
            }
        }
        // In the index, the list's later entries move with their patches (everything after
        // them moved alike, so they still fold); the earlier ones leave it: the fold now puts
        // an insert or removal after them.
        let first = list.child(PathSegment::Index(0));
        let past = list.child(PathSegment::Key(String::new()));
        let listed: Vec<(Path, usize)> = self
            .index
            .range(first..past)
            .map(|(p, &index)| (p.clone(), index))
            .collect();
        for (path, _) in &listed {
            self.index.remove(path);
        }
        for (_, index) in listed {
            if let Some(entry) = self.entries[index].as_ref().filter(|_| index > at) {
                self.index.insert(entry.patch.path.clone(), index);
            }
        }
        true
    }
    fn drop_entry(&mut self, at: usize) {
        if let Some(entry) = self.entries[at].take() {
            // Its path may name another entry by now (a fold moved one there).
            if self.index.get(&entry.patch.path) == Some(&at) {
                self.index.remove(&entry.patch.path);
            }
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

impl crate::place::Sealed for &mut Recording {}
impl Recorder for &mut Recording {
    #[inline]
    fn is_recording(&self) -> bool {
        true
    }
    fn record(&mut self, change: Recorded) {
        Recording::record(self, change);
    }
}
