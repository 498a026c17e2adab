//! The typed structural diff: [`diff`] gives the patches that turn one value into another.

use serde::Serialize;
use serde_json::Value;

use crate::draftable::Draftable;
use crate::patch::Patch;
use crate::path::{Path, PathSegment};
use crate::produce::UnserializableError;

/// The patches that turn `from` into `to`, and the inverse patches that turn `to` back into
/// `from`, in Immer's format: what [`produce_with_patches`](crate::produce_with_patches)
/// would have recorded for a recipe that made the change, computed from the two values alone.
///
/// The walk follows the types, and skips every part the two share: an `Arc` that is
/// `Arc::ptr_eq` in both, an `imbl` collection that is `ptr_eq`, costs O(1) whatever its
/// size, so diffing two versions of one history costs what changed, not the size of the
/// state. Per type:
///
/// - a struct (`#[derive(Draftable)]`): field by field, under the fields' serde names;
/// - an enum: one `replace` of the whole value when they differ;
/// - `Option`: the inside when both are `Some`, else one `replace`;
/// - a list (`Vec`, `VecDeque`, `imbl::Vector`, JSON arrays): the common prefix and suffix are
///   skipped (O(prefix + suffix) comparisons); in the middle, elements at the same position
///   are diffed, then the extra elements of `from` are removed (from the back) or those of
///   `to` added: one patch per inserted or removed element when the change is one run of
///   inserts or removals, as most edits are;
/// - a map: one `remove` or `add` per key in one only, the values of keys in both diffed;
/// - a set: one `remove` per element in `from` only (at its position, from the back) and one
///   `add` per element in `to` only;
/// - anything else (a leaf): one `replace` when they differ (`PartialEq`).
///
/// Time: O(size of the parts that differ, plus the list prefixes and suffixes compared).
///
/// # Errors
///
/// [`UnserializableError`] when a differing value has no JSON form.
///
/// # Examples
///
/// ```
/// use immer_core::{apply_patches, diff, produce};
/// use std::sync::Arc;
///
/// let a = Arc::new(vec![1_u32, 2, 3, 4]);
/// let b = produce(&a, |d| {
///     d.remove(1);
///     d.get_mut(2).unwrap().set(40);
/// });
/// let (patches, inverse) = diff(&*a, &*b).unwrap();
/// assert_eq!(patches.len(), 2);
/// assert_eq!(apply_patches(&a, &patches).unwrap(), b);
/// assert_eq!(apply_patches(&b, &inverse).unwrap(), a);
/// ```
pub fn diff<T: Draftable>(
    from: &T,
    to: &T,
) -> Result<(Vec<Patch>, Vec<Patch>), UnserializableError> {
    let mut differ = Differ::default();
    from.diff_into(to, &mut differ);
    differ.finish()
}

/// The diff that pending edits are moved through when a follower resynchronizes from a
/// snapshot: as [`diff`], except that list elements paired by position in the middle of a
/// list are replaced whole when they differ. Nothing tells whether such a pair is one element
/// changed or one removed and another inserted, so an edit of it conflicts (and is dropped)
/// rather than landing on another element.
pub(crate) fn diff_for_rebase<T: Draftable>(
    from: &T,
    to: &T,
) -> Result<(Vec<Patch>, Vec<Patch>), UnserializableError> {
    let mut differ = Differ {
        whole_elements: true,
        ..Differ::default()
    };
    from.diff_into(to, &mut differ);
    differ.finish()
}

/// Collects the patches of a diff as the walk goes down the two values.
#[doc(hidden)]
#[derive(Default)]
pub struct Differ {
    path: Vec<PathSegment>,
    patches: Vec<Patch>,
    inverse: Vec<Patch>,
    failure: Option<UnserializableError>,
    /// List elements paired by position are replaced whole (see [`diff_for_rebase`]).
    whole_elements: bool,
}

impl Differ {
    fn finish(mut self) -> Result<(Vec<Patch>, Vec<Patch>), UnserializableError> {
        if let Some(failure) = self.failure {
            return Err(failure);
        }
        self.inverse.reverse();
        Ok((self.patches, self.inverse))
    }

    fn path(&self) -> Path {
        Path::from(self.path.clone())
    }

    fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> Option<Value> {
        match serde_json::to_value(value) {
            Ok(value) => Some(value),
            Err(error) => {
                let path = self.path();
                self.failure
                    .get_or_insert_with(|| UnserializableError::new(path, &error));
                None
            }
        }
    }

    /// Runs `walk` with `segment` added to the path (none: the same path).
    pub fn child(&mut self, segment: Option<PathSegment>, walk: impl FnOnce(&mut Differ)) {
        let pushed = segment.map(|s| self.path.push(s)).is_some();
        walk(self);
        if pushed {
            self.path.pop();
        }
    }

    /// The path segment of a map key, or `None` (and the diff fails) when it has no JSON form.
    pub(crate) fn key<K: Serialize>(&mut self, key: &K) -> Option<PathSegment> {
        match crate::collections::map::try_key_segment(key) {
            Ok(segment) => Some(segment),
            Err(error) => {
                let path = self.path();
                self.failure
                    .get_or_insert_with(|| UnserializableError::new(path, &error));
                None
            }
        }
    }

    /// One `replace` of the whole value when the two differ.
    pub fn leaf<T: Serialize + PartialEq + ?Sized>(&mut self, from: &T, to: &T) {
        if from != to {
            self.replace(from, to);
        }
    }

    /// One `replace` of the whole value.
    pub fn replace<T: Serialize + ?Sized>(&mut self, from: &T, to: &T) {
        let (Some(old), Some(new)) = (self.json(from), self.json(to)) else {
            return;
        };
        let path = self.path();
        self.patches.push(Patch::replace(path.clone(), new));
        self.inverse.push(Patch::replace(path, old));
    }

    /// An `add` of `value` at `segment` below the path.
    pub(crate) fn add<T: Serialize + ?Sized>(&mut self, segment: PathSegment, value: &T) {
        let Some(value) = self.json(value) else {
            return;
        };
        let path = self.path().child(segment);
        self.patches.push(Patch::add(path.clone(), value));
        self.inverse.push(Patch::remove(path));
    }

    /// A `remove` of `old` at `segment` below the path.
    pub(crate) fn remove<T: Serialize + ?Sized>(&mut self, segment: PathSegment, old: &T) {
        let Some(old) = self.json(old) else { return };
        let path = self.path().child(segment);
        self.patches.push(Patch::remove(path.clone()));
        self.inverse.push(Patch::add(path, old));
    }

    /// A set's `remove` of `old` at its position, and its inverse.
    pub(crate) fn remove_element<T: Serialize + ?Sized>(&mut self, position: usize, old: &T) {
        let Some(old) = self.json(old) else { return };
        let path = self.path().child(position);
        self.patches
            .push(Patch::remove_element(path.clone(), old.clone()));
        self.inverse.push(Patch::add(path, old));
    }

    /// A set's `add` of `value` at its position, and its inverse.
    pub(crate) fn add_element<T: Serialize + ?Sized>(&mut self, position: usize, value: &T) {
        let Some(value) = self.json(value) else {
            return;
        };
        let path = self.path().child(position);
        self.patches.push(Patch::add(path.clone(), value.clone()));
        self.inverse.push(Patch::remove_element(path, value));
    }

    /// A list: the common prefix and suffix skipped, the middle diffed by position, the rest
    /// removed from the back or added.
    pub(crate) fn list<'a, T: Draftable + 'a>(
        &mut self,
        from_len: usize,
        to_len: usize,
        from: impl Fn(usize) -> Option<&'a T>,
        to: impl Fn(usize) -> Option<&'a T>,
    ) {
        let same = |i: usize, j: usize| match (from(i), to(j)) {
            (Some(a), Some(b)) => a.same_as(b),
            _ => false,
        };
        let shorter = from_len.min(to_len);
        let prefix = (0..shorter).take_while(|&i| same(i, i)).count();
        let suffix = (0..shorter - prefix)
            .take_while(|&k| same(from_len - 1 - k, to_len - 1 - k))
            .count();
        let (from_end, to_end) = (from_len - suffix, to_len - suffix);
        let common = (from_end - prefix).min(to_end - prefix);
        for i in prefix..prefix + common {
            if let (Some(a), Some(b)) = (from(i), to(i)) {
                if a.same_as(b) {
                    continue;
                }
                if self.whole_elements {
                    self.child(Some(PathSegment::Index(i)), |d| d.replace(a, b));
                } else {
                    self.child(Some(PathSegment::Index(i)), |d| a.diff_into(b, d));
                }
            }
        }
        for i in (prefix + common..from_end).rev() {
            if let Some(a) = from(i) {
                self.remove(PathSegment::Index(i), a);
            }
        }
        for i in prefix + common..to_end {
            if let Some(b) = to(i) {
                self.add(PathSegment::Index(i), b);
            }
        }
    }
}
