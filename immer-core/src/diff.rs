//! The typed structural diff: [`diff`] gives the patches that turn one value into another.

use serde::Serialize;
use serde_json::Value;

use crate::draftable::Draftable;
use crate::error::UnserializableError;
use crate::patch::Patch;
use crate::path::{Path, PathSegment};

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
///   skipped (O(prefix + suffix) comparisons); the middle that remains is aligned by a longest
///   common subsequence when it is small (n × m at most 4,096 comparisons; O(n m) time), by
///   position otherwise. One `remove` per element removed, one `add` per element inserted,
///   and an element removed where another is inserted is diffed as one element changed;
/// - a map: one `remove` or `add` per key in one only, the values of keys in both diffed;
/// - a set: one `remove` per element in `from` only (at its position, from the back) and one
///   `add` per element in `to` only;
/// - anything else (a leaf): one `replace` when they differ (`PartialEq`).
///
/// Time: O(size of the parts that differ, plus the list prefixes and suffixes compared, plus
/// the alignment of small list middles).
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

    /// The value, or `None` with the diff failed at the current path.
    fn ok<V>(&mut self, result: Result<V, serde_json::Error>) -> Option<V> {
        match result {
            Ok(value) => Some(value),
            Err(error) => {
                let path = self.path();
                self.failure
                    .get_or_insert_with(|| UnserializableError::new(path, &error));
                None
            }
        }
    }

    fn json<T: Serialize + ?Sized>(&mut self, value: &T) -> Option<Value> {
        self.ok(serde_json::to_value(value))
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
        self.ok(crate::path::try_key_segment(key))
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

    /// A list: the common prefix and suffix skipped, then the middle: aligned by a longest
    /// common subsequence when it is small (at most [`ALIGNED`] pairs to compare), by
    /// position otherwise; each removed element is one `remove`, each inserted one an `add`,
    /// and an element removed where another is inserted is one change of that element.
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
        let (n, m) = (from_len - suffix - prefix, to_len - suffix - prefix);
        let steps = if n.saturating_mul(m) <= ALIGNED {
            aligned(n, m, |i, j| same(prefix + i, prefix + j))
        } else {
            positional(n, m)
        };
        // Walk the steps with the index each lands on in the list as it is then.
        let mut at = prefix;
        let mut steps = steps.into_iter().peekable();
        while let Some(step) = steps.next() {
            match step {
                Step::Keep => at += 1,
                Step::Change(i, j) => {
                    self.change(at, from(prefix + i), to(prefix + j));
                    at += 1;
                }
                Step::Remove(i) => {
                    if let Some(Step::Insert(j)) = steps.peek().copied() {
                        steps.next();
                        self.change(at, from(prefix + i), to(prefix + j));
                        at += 1;
                    } else if let Some(a) = from(prefix + i) {
                        self.remove(PathSegment::Index(at), a);
                    }
                }
                Step::Insert(j) => {
                    if let Some(Step::Remove(i)) = steps.peek().copied() {
                        steps.next();
                        self.change(at, from(prefix + i), to(prefix + j));
                    } else if let Some(b) = to(prefix + j) {
                        self.add(PathSegment::Index(at), b);
                    }
                    at += 1;
                }
            }
        }
    }

    /// One element changed in place: diffed inside, or replaced whole (see
    /// [`diff_for_rebase`]).
    fn change<T: Draftable>(&mut self, at: usize, from: Option<&T>, to: Option<&T>) {
        let (Some(a), Some(b)) = (from, to) else {
            return;
        };
        if a.same_as(b) {
            return;
        }
        if self.whole_elements {
            self.child(Some(PathSegment::Index(at)), |d| d.replace(a, b));
        } else {
            self.child(Some(PathSegment::Index(at)), |d| a.diff_into(b, d));
        }
    }
}

/// The most pairs of list elements the middle of a list diff compares to align them.
const ALIGNED: usize = 4_096;

/// One step of a list diff's middle, by positions in the middles of the two lists.
#[derive(Clone, Copy)]
enum Step {
    Keep,
    Change(usize, usize),
    Remove(usize),
    Insert(usize),
}

/// The steps of a longest-common-subsequence alignment of two middles of `n` and `m`
/// elements. Time and memory: O(n m).
fn aligned(n: usize, m: usize, same: impl Fn(usize, usize) -> bool) -> Vec<Step> {
    // lcs[i][j]: the longest common subsequence of from[i..] and to[j..].
    let width = m + 1;
    let mut lcs = vec![0_usize; (n + 1) * width];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i * width + j] = if same(i, j) {
                lcs[(i + 1) * width + j + 1] + 1
            } else {
                lcs[(i + 1) * width + j].max(lcs[i * width + j + 1])
            };
        }
    }
    let mut steps = Vec::with_capacity(n + m);
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && same(i, j) {
            steps.push(Step::Keep);
            i += 1;
            j += 1;
        } else if j < m && (i == n || lcs[i * width + j + 1] >= lcs[(i + 1) * width + j]) {
            steps.push(Step::Insert(j));
            j += 1;
        } else {
            steps.push(Step::Remove(i));
            i += 1;
        }
    }
    steps
}

/// The steps that pair two middles by position, then remove the extra elements of the first
/// or insert those of the second. The removals are taken in order: each is written at the
/// same index (the next extra element has moved up to it), so each names the element it
/// takes away, and the inverse puts them back in their order.
fn positional(n: usize, m: usize) -> Vec<Step> {
    let common = n.min(m);
    let mut steps: Vec<Step> = (0..common).map(|i| Step::Change(i, i)).collect();
    steps.extend((common..n).map(Step::Remove));
    steps.extend((common..m).map(Step::Insert));
    steps
}
