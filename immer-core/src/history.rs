//! Time travel: a history of versions with undo, redo, jumps, and a replayable log.
//!
//! # How versions are kept
//!
//! A [`History`] keeps the current snapshot and one entry of patches and inverse patches per
//! commit. Moving to another version applies each entry's forward list, or each entry's
//! inverse list as one unit, newest entry first, going back. So:
//!
//! - memory is the patches (a few hundred bytes for a small change), whatever the size of the
//!   state: 10,000 one-item edits of a 100,000-item `imbl::Vector` retain about 10 MB;
//! - `undo` and `redo` apply one entry: O(size of its patches);
//! - `goto(v)` costs O(distance × patch size);
//! - a version reached by patches is *equal* to the snapshot that was current then, and shares
//!   every part the patches did not touch with the snapshot it was rebuilt from.
//!
//! Keeping a snapshot of every version instead would make `goto` O(1), but each version then
//! holds its own path copy: with edits spread over a large `imbl::Vector`, one leaf chunk of
//! 64 elements per version, over 100 MB for the 10,000 edits above. Between the two,
//! [`with_checkpoints`](History::with_checkpoints) keeps a snapshot every `k` versions:
//! `goto` starts from the nearest one, and a version at a checkpoint is that very snapshot,
//! at the memory cost of the path copies the checkpoints hold.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::io::{BufRead, Write};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::apply::{apply_patches, apply_with_inverse};
use crate::draftable::Draftable;
use crate::error::PatchError;
use crate::patch::Patch;
use crate::produce::{Drafting, PatchDraft, SessionDraft, produce_with_patches};
use crate::transform::Conflict;

mod skip;

/// A state as the skip of an entry reads it: where its patches go.
struct State<'a, T>(&'a T);

impl<T: Draftable> skip::Base for State<'_, T> {
    fn outline(&self, path: &[crate::path::PathSegment]) -> Option<crate::outline::Outline> {
        self.0.outline_at(path).ok()
    }

    fn value(&self, path: &[crate::path::PathSegment]) -> Option<serde_json::Value> {
        self.0.value_at(path).ok()
    }
}

/// One step of a [`History`]: the change from `version` to `version + 1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    /// The version this entry starts from; it leads to `version + 1`.
    pub version: u64,
    /// What the step was, for a menu or a log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub label: Option<String>,
    /// The patches from `version` to `version + 1`, applied in order.
    pub patches: Vec<Patch>,
    /// The patches from `version + 1` back to `version`, applied in order.
    pub inverse: Vec<Patch>,
    /// Who made it, when known (a user, a session), for a timeline.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
    /// When it was recorded, in milliseconds since the Unix epoch, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<u64>,
}

/// The current snapshot of a state, with its past and future versions.
///
/// # Examples
///
/// ```
/// use immer_core::History;
/// use std::sync::Arc;
///
/// let mut history = History::new(Arc::new(vec![1_u32]));
/// history.commit(Some("push 2"), |d| d.push(2));
/// history.commit(Some("push 3"), |d| d.push(3));
/// assert_eq!(**history.current(), [1, 2, 3]);
///
/// assert_eq!(history.undo()?, Some(1));
/// assert_eq!(**history.current(), [1, 2]);
/// history.redo()?;
/// history.goto(0)?;
/// assert_eq!(**history.current(), [1]);
/// assert_eq!(history.labels().collect::<Vec<_>>(), [Some("push 2"), Some("push 3")]);
/// # Ok::<(), immer_core::HistoryError>(())
/// ```
pub struct History<T> {
    current: Arc<T>,
    /// Retained entries; `entries[i]` leads from version `oldest + i`.
    entries: VecDeque<HistoryEntry>,
    /// The version of the oldest retained snapshot.
    oldest: u64,
    /// The version `current` is at.
    version: u64,
    max_entries: Option<usize>,
    /// Keep a snapshot every this many versions; `None`: keep none.
    checkpoint_interval: Option<u64>,
    checkpoints: BTreeMap<u64, Arc<T>>,
}

impl<T: Draftable> History<T> {
    /// A history whose version 0 is `base`, keeping every entry and no snapshot but the
    /// current one.
    #[must_use]
    pub fn new(base: Arc<T>) -> Self {
        History {
            checkpoints: BTreeMap::new(),
            current: base,
            entries: VecDeque::new(),
            oldest: 0,
            version: 0,
            max_entries: None,
            checkpoint_interval: None,
        }
    }

    /// A history whose first version is `version` (not 0) and is `base`: for a state that
    /// already has versions elsewhere (a document a server has been committing to, a log
    /// that starts later), so that this history's versions are that state's.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::History;
    /// use std::sync::Arc;
    ///
    /// let mut history = History::starting_at(Arc::new(vec![1_u32]), 41);
    /// assert_eq!(history.commit(None, |d| d.push(2)), Some(42));
    /// assert_eq!((history.oldest_version(), history.newest_version()), (41, 42));
    /// assert_eq!(**history.state_at(41)?, [1]);
    /// # Ok::<(), immer_core::HistoryError>(())
    /// ```
    #[must_use]
    pub fn starting_at(base: Arc<T>, version: u64) -> Self {
        let mut history = History::new(base);
        history.oldest = version;
        history.version = version;
        history
    }

    /// Keeps at most `max_entries` entries, dropping the oldest past that (and so the
    /// versions before them). A limit of 0 keeps no past at all. (A limit, not a
    /// preallocation: nothing is reserved.)
    #[must_use]
    pub fn with_max_entries(mut self, max_entries: usize) -> Self {
        self.max_entries = Some(max_entries);
        self.enforce_max_entries();
        self
    }

    /// Keeps a snapshot every `interval` versions (at least 1), from the current version on:
    /// `goto` then starts from the nearest snapshot, and returns the very snapshot at a
    /// checkpoint. Each checkpoint holds the path copies made since the one before it.
    #[must_use]
    pub fn with_checkpoints(mut self, interval: u64) -> Self {
        let interval = interval.max(1);
        self.checkpoint_interval = Some(interval);
        if self.version % interval == 0 {
            self.checkpoints
                .insert(self.version, Arc::clone(&self.current));
        }
        self
    }

    /// The current snapshot.
    #[must_use]
    pub fn current(&self) -> &Arc<T> {
        &self.current
    }

    /// The current version: 0 for the base, one more per commit.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The oldest version still reachable.
    #[must_use]
    pub fn oldest_version(&self) -> u64 {
        self.oldest
    }

    /// The newest version (the end of the redo branch).
    #[must_use]
    pub fn newest_version(&self) -> u64 {
        self.oldest + self.entries.len() as u64
    }

    /// Whether there is a version to undo to.
    #[must_use]
    pub fn can_undo(&self) -> bool {
        self.version > self.oldest
    }

    /// Whether there is a version to redo to.
    #[must_use]
    pub fn can_redo(&self) -> bool {
        self.version < self.newest_version()
    }

    /// The retained entries, oldest first.
    pub fn entries(&self) -> impl ExactSizeIterator<Item = &HistoryEntry> + DoubleEndedIterator {
        self.entries.iter()
    }

    /// The retained entry from `version` to `version + 1`, or `None`. O(1).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::History;
    /// use std::sync::Arc;
    ///
    /// let mut history = History::new(Arc::new(vec![1_u32]));
    /// history.commit(Some("push 2"), |d| d.push(2));
    /// assert_eq!(history.entry(0).and_then(|e| e.label.as_deref()), Some("push 2"));
    /// assert!(history.entry(1).is_none());
    /// ```
    #[must_use]
    pub fn entry(&self, version: u64) -> Option<&HistoryEntry> {
        let index = usize::try_from(version.checked_sub(self.oldest)?).ok()?;
        self.entries.get(index)
    }

    /// The labels of the retained entries, oldest first.
    pub fn labels(&self) -> impl Iterator<Item = Option<&str>> {
        self.entries.iter().map(|e| e.label.as_deref())
    }

    /// Runs `recipe` on a draft of the current snapshot and, if it changed anything, records
    /// it as a new version (dropping any versions that were undone). Returns the new version,
    /// or `None` when the recipe changed nothing.
    ///
    /// # Panics
    ///
    /// As [`produce_with_patches`]: if a written value has no JSON
    /// form.
    pub fn commit<F>(&mut self, label: Option<&str>, recipe: F) -> Option<u64>
    where
        F: FnOnce(&mut PatchDraft<'_, '_, T>),
    {
        let (next, patches, inverse) = produce_with_patches(&self.current, recipe);
        self.push(label.map(str::to_owned), next, patches, inverse)
    }

    /// Starts a transaction: several recipes that become one version, one undo step.
    /// Dropping the transaction without [`commit`](Transaction::commit) discards it.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::History;
    /// use std::sync::Arc;
    ///
    /// let mut history = History::new(Arc::new(vec![0_u8]));
    /// let mut tx = history.transaction(Some("three pushes"));
    /// for i in 1..=3 {
    ///     tx.draft().push(i);
    /// }
    /// assert_eq!(tx.commit(), Some(1));
    /// history.undo()?;
    /// assert_eq!(**history.current(), [0]);
    /// # Ok::<(), immer_core::HistoryError>(())
    /// ```
    pub fn transaction(&mut self, label: Option<&str>) -> Transaction<'_, T> {
        let session = Drafting::with_patches(&self.current);
        Transaction {
            history: self,
            session,
            label: label.map(str::to_owned),
        }
    }

    fn push(
        &mut self,
        label: Option<String>,
        next: Arc<T>,
        patches: Vec<Patch>,
        inverse: Vec<Patch>,
    ) -> Option<u64> {
        if patches.is_empty() {
            return None;
        }
        // A commit after an undo drops the redo branch.
        let keep = usize::try_from(self.version - self.oldest).unwrap_or(usize::MAX);
        self.entries.truncate(keep);
        self.checkpoints.retain(|v, _| *v <= self.version);
        self.entries.push_back(HistoryEntry {
            version: self.version,
            label,
            patches,
            inverse,
            author: None,
            time: None,
        });
        self.version += 1;
        self.current = next;
        if self
            .checkpoint_interval
            .is_some_and(|k| self.version % k == 0)
        {
            self.checkpoints
                .insert(self.version, Arc::clone(&self.current));
        }
        self.enforce_max_entries();
        Some(self.version)
    }

    fn enforce_max_entries(&mut self) {
        let Some(max_entries) = self.max_entries else {
            return;
        };
        while self.entries.len() > max_entries {
            // Drop the oldest entry; the current version is never dropped, since it is at
            // most `max_entries` entries past the oldest only after a commit, which sits at the end.
            if self.version == self.oldest {
                // The current version is the oldest: drop from the redo end instead.
                self.entries.pop_back();
                continue;
            }
            self.entries.pop_front();
            self.oldest += 1;
        }
        let oldest = self.oldest;
        self.checkpoints.retain(|v, _| *v >= oldest);
    }

    /// Goes back one version: applies the newest applied entry's inverse patches as one unit.
    /// Returns the new version, or `Ok(None)` when there is nothing to undo.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Patch`] when the entry's inverse does not apply (entries recorded by
    /// this history always apply; one rebuilt from a foreign log might not). The history
    /// then stays where it was.
    pub fn undo(&mut self) -> Result<Option<u64>, HistoryError> {
        if !self.can_undo() {
            return Ok(None);
        }
        self.goto(self.version - 1).map(Some)
    }

    /// Goes forward one version. Returns the new version, or `Ok(None)` when there is nothing
    /// to redo.
    ///
    /// # Errors
    ///
    /// As [`undo`](History::undo).
    pub fn redo(&mut self) -> Result<Option<u64>, HistoryError> {
        if !self.can_redo() {
            return Ok(None);
        }
        self.goto(self.version + 1).map(Some)
    }

    /// The patches from a snapshot the caller holds (of this history or not) to the current
    /// one, and their inverse: [`diff`](crate::diff), which skips every part the two share,
    /// so two versions of one history cost what changed between them.
    ///
    /// # Errors
    ///
    /// [`UnserializableError`](crate::UnserializableError) when a differing value has no
    /// JSON form.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::History;
    /// use std::sync::Arc;
    ///
    /// let mut history = History::new(Arc::new(vec![1_u32, 2]));
    /// let held = Arc::clone(history.current());
    /// history.commit(None, |d| d.push(3));
    /// history.commit(None, |d| { d.remove(0); });
    /// let (patches, _) = history.diff_from(&held).unwrap();
    /// assert_eq!(patches.len(), 2);
    /// ```
    pub fn diff_from(
        &self,
        snapshot: &Arc<T>,
    ) -> Result<(Vec<Patch>, Vec<Patch>), crate::UnserializableError> {
        if Arc::ptr_eq(snapshot, &self.current) {
            return Ok((Vec::new(), Vec::new()));
        }
        crate::diff::diff(&**snapshot, &*self.current)
    }

    /// Moves to `version`, from the nearest snapshot (the current one or a checkpoint),
    /// applying each entry's patches in order going forward and each entry's inverse list,
    /// newest entry first, going back.
    ///
    /// # Errors
    ///
    /// [`HistoryError::NotRetained`] for a version outside `oldest_version()..=newest_version()`,
    /// and [`HistoryError::Patch`] if an entry fails to apply (entries recorded by this history
    /// always apply; one rebuilt from a foreign log might not).
    pub fn goto(&mut self, version: u64) -> Result<u64, HistoryError> {
        let state = self.state_at(version)?;
        self.current = state;
        self.version = version;
        Ok(version)
    }

    /// The snapshot at a retained `version`, without moving to it.
    ///
    /// # Errors
    ///
    /// As [`goto`](History::goto).
    pub fn state_at(&self, version: u64) -> Result<Arc<T>, HistoryError> {
        self.check_retained(version)?;
        let distance = |v: u64| v.abs_diff(version);
        let mut from = (self.version, Arc::clone(&self.current));
        if let Some((v, snapshot)) = self.checkpoints.iter().min_by_key(|(v, _)| distance(**v)) {
            if distance(*v) < distance(from.0) {
                from = (*v, Arc::clone(snapshot));
            }
        }
        let (start, state) = from;
        let patches = self.patches_between(start, version)?;
        apply_patches(&state, &patches).map_err(HistoryError::Patch)
    }

    /// The patches that take version `from` to version `to`, in either direction: the forward
    /// lists of the entries in between, oldest first, or their inverse lists, newest first.
    ///
    /// # Errors
    ///
    /// [`HistoryError::NotRetained`] when either version is not retained.
    pub fn patches_between(&self, from: u64, to: u64) -> Result<Vec<Patch>, HistoryError> {
        self.check_retained(from)?;
        self.check_retained(to)?;
        let index = |v: u64| usize::try_from(v - self.oldest).unwrap_or(usize::MAX);
        Ok(if from <= to {
            self.entries
                .range(index(from)..index(to))
                .flat_map(|e| e.patches.iter().cloned())
                .collect()
        } else {
            self.entries
                .range(index(to)..index(from))
                .rev()
                .flat_map(|e| e.inverse.iter().cloned())
                .collect()
        })
    }

    fn check_retained(&self, version: u64) -> Result<(), HistoryError> {
        if version < self.oldest || version > self.newest_version() {
            return Err(HistoryError::NotRetained {
                version,
                oldest: self.oldest,
                newest: self.newest_version(),
            });
        }
        Ok(())
    }

    /// Records patches made elsewhere (another node's committed change, say) as a new
    /// version, with their author and time: applied to the current snapshot as one unit,
    /// with the inverse computed from it. Returns the new version, or `Ok(None)` for no
    /// patches.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Patch`] when they do not apply; nothing changes.
    pub fn record(
        &mut self,
        label: Option<&str>,
        author: Option<&str>,
        time: Option<u64>,
        patches: Vec<Patch>,
    ) -> Result<Option<u64>, HistoryError> {
        let (next, inverse) =
            apply_with_inverse(&self.current, &patches).map_err(HistoryError::Patch)?;
        let version = self.push(label.map(str::to_owned), next, patches, inverse);
        if version.is_some() {
            if let Some(entry) = self.entries.back_mut() {
                entry.author = author.map(str::to_owned);
                entry.time = time;
            }
        }
        Ok(version)
    }

    /// Appends an entry recorded elsewhere (a line of a log, another history's entry) as a
    /// new version from the current one, keeping its label, author, time and inverse: its
    /// patches are applied to the current snapshot as one unit; its inverse, when it has
    /// one, must apply to the result (so that going back through it works), and when it has
    /// none it is computed from the snapshot. The entry's `version` is set to the current
    /// version. Versions that were undone are dropped, as by a commit. Returns the new
    /// version, or `Ok(None)` for an entry without patches.
    ///
    /// Time: applying the patches, and the inverse once.
    ///
    /// # Errors
    ///
    /// [`HistoryError::Patch`] when the patches do not apply, [`HistoryError::Inverse`] when
    /// the inverse does not apply to their result; nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{History, HistoryEntry, HistoryError, Patch, Path};
    /// use serde_json::json;
    /// use std::sync::Arc;
    ///
    /// let mut elsewhere = History::new(Arc::new(vec![1_u32]));
    /// elsewhere.commit(Some("push 2"), |d| d.push(2));
    ///
    /// let mut here = History::new(Arc::new(vec![1_u32]));
    /// let entry = elsewhere.entry(0).unwrap().clone();
    /// assert_eq!(here.append(entry)?, Some(1));
    /// assert_eq!(here.current(), elsewhere.current());
    /// assert_eq!(here.entry(0).and_then(|e| e.label.as_deref()), Some("push 2"));
    ///
    /// let wrong = HistoryEntry {
    ///     version: 1,
    ///     label: None,
    ///     patches: vec![Patch::add(Path::from_pointer("/-").unwrap(), json!(3))],
    ///     inverse: vec![Patch::remove(Path::from_pointer("/7").unwrap())],
    ///     author: None,
    ///     time: None,
    /// };
    /// assert!(matches!(here.append(wrong), Err(HistoryError::Inverse(_))));
    /// assert_eq!(here.version(), 1);
    /// # Ok::<(), HistoryError>(())
    /// ```
    pub fn append(&mut self, entry: HistoryEntry) -> Result<Option<u64>, HistoryError> {
        let HistoryEntry {
            label,
            patches,
            inverse,
            author,
            time,
            ..
        } = entry;
        if patches.is_empty() {
            return Ok(None);
        }
        let (next, computed) =
            apply_with_inverse(&self.current, &patches).map_err(HistoryError::Patch)?;
        let inverse = if inverse.is_empty() {
            computed
        } else {
            apply_patches(&next, &inverse).map_err(HistoryError::Inverse)?;
            inverse
        };
        let version = self.push(label, next, patches, inverse);
        if version.is_some() {
            if let Some(pushed) = self.entries.back_mut() {
                pushed.author = author;
                pushed.time = time;
            }
        }
        Ok(version)
    }

    /// The current snapshot as if the entry from `version` to `version + 1` had never
    /// happened, keeping every later entry up to the current version: each later entry's
    /// changes made again, by the identity of what they changed, on the state without the
    /// entry. The history does not change: this is what [`revert`](History::revert) would
    /// commit.
    ///
    /// A list element is the same element wherever it goes: through a move (a removal and an
    /// insert of the same value in one entry), a whole-list write that keeps its value (a
    /// reverse, a sort) and element writes that exchange values (a swap). So skipping a sort
    /// keeps a later toggle of a todo inside the list, and skipping a move keeps the moved
    /// todo's later edits. An element written whole with another value (`set`, or a removal
    /// folded into a neighbouring insert) is another element. Then:
    ///
    /// - a later write of a field or key stands (the entry's own write of it is lost under it);
    /// - a later insert goes right before the first element, of those that followed it then,
    ///   that is there (at the end when none is): what the entry removed, there first, goes
    ///   back before what was inserted later at its place;
    /// - a later move does the same with its element; a later reorder puts the elements it
    ///   kept, those that are there, in its order, into the places they hold, and leaves the
    ///   others (what the entry removed) where they are;
    /// - a later change of what is not there without the entry (an edit of a todo the entry
    ///   inserted) does nothing.
    ///
    /// An entry that folds a reorder and an edit of the same element into one write (a todo
    /// edited and moved in one recipe) holds another element in the patches: Immer's format
    /// does not tell the two apart.
    ///
    /// Cost: what the entries touch, not the size of the state. The state at `version` is
    /// rebuilt ([`state_at`](History::state_at)) and read only where the entries' patches go:
    /// a list as runs of elements no entry touched, split where one did; so the time is
    /// O(the entries' patches × the pieces of the lists they touch), and skipping an entry on
    /// a board of 100,000 todos holds what its later entries touched, about 0.5 MiB for the
    /// tenth newest of 10,000 (`immer-web/examples/skip_memory.rs`). The skipped state is made from the
    /// current one by patches, and shares every part the entry did not touch. (The inside of
    /// an enum is read by writing the enum out, as patches into it are.)
    ///
    /// # Errors
    ///
    /// [`HistoryError::Conflict`] when a later entry removed, or wrote whole, what the entry
    /// changed (a field it wrote, a key it set, an element it inserted or edited inside):
    /// there is nothing left to revert it in (a move or a reorder changes no element, so a
    /// later removal of what it moved is none). [`HistoryError::NotRetained`] for an entry
    /// that is not before the current version, [`HistoryError::Patch`] when an entry does not
    /// apply as recorded or the result is not a value of `T`.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::History;
    /// use std::sync::Arc;
    ///
    /// let mut history = History::new(Arc::new(vec![String::from("a"), "b".into()]));
    /// history.commit(Some("remove a"), |d| { d.remove(0); });
    /// history.commit(Some("push c"), |d| d.push("c".into()));
    /// history.commit(Some("insert z"), |d| { d.insert(0, "z".into()).unwrap(); });
    /// // Without the removal: "a" is back where it was, right before "b" (as "z", inserted
    /// // before "b" later), the later edits kept.
    /// assert_eq!(**history.skipped(0)?, ["a", "z", "b", "c"]);
    /// assert_eq!(history.version(), 3);
    /// assert_eq!(history.revert(0, Some("undo remove a"))?, 4);
    /// assert_eq!(**history.current(), ["a", "z", "b", "c"]);
    /// # Ok::<(), immer_core::HistoryError>(())
    /// ```
    pub fn skipped(&self, version: u64) -> Result<Arc<T>, HistoryError> {
        let patches = self.revert_patches(version)?;
        apply_patches(&self.current, &patches).map_err(HistoryError::Patch)
    }

    /// Reverts the entry from `version` to `version + 1` while keeping every later entry: the
    /// state of [`skipped`](History::skipped) becomes a new version (its own entry, labelled
    /// `label`, whose patches are [`revert_patches`](History::revert_patches), undoable like
    /// any other; versions that were undone are dropped, as by a commit). In collaboration
    /// this is "undo only my edits": a follower's history reverts its own entry after other
    /// nodes' changes have landed, and sends the result as an edit. Returns the new version.
    ///
    /// When nothing is left to revert (later entries wrote every change of the entry again),
    /// nothing is recorded and the current version is returned, as a commit that changes
    /// nothing records nothing: an entry without patches would be an undo step that does
    /// nothing and, in collaboration, an empty edit; a history never holds one (`record` and
    /// `append` record nothing for an empty change either). Compare the answer with [`version`](History::version)
    /// before, or ask [`revert_patches`](History::revert_patches) first, to tell.
    ///
    /// # Errors
    ///
    /// As [`skipped`](History::skipped); nothing changes.
    pub fn revert(&mut self, version: u64, label: Option<&str>) -> Result<u64, HistoryError> {
        let patches = self.revert_patches(version)?;
        if patches.is_empty() {
            return Ok(self.version);
        }
        let (next, inverse) =
            apply_with_inverse(&self.current, &patches).map_err(HistoryError::Patch)?;
        Ok(self
            .push(label.map(str::to_owned), next, patches, inverse)
            .unwrap_or(self.version))
    }

    /// The patches that revert the entry from `version` as they apply to the current
    /// snapshot: what [`revert`](History::revert) commits and [`skipped`](History::skipped)
    /// applies, for a caller that records the revert itself (with an author and a time, by
    /// [`record`](History::record)) or sends it elsewhere. They are the [`diff`](crate::diff)
    /// from the current snapshot to the skipped state, so they share what the two share.
    /// Empty when nothing is left to revert (later entries wrote the same values again).
    /// Cost: as [`skipped`](History::skipped)'s.
    ///
    /// # Errors
    ///
    /// As [`skipped`](History::skipped), but for the patches applying.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::History;
    /// use std::sync::Arc;
    ///
    /// let mut history = History::new(Arc::new(vec![String::from("a")]));
    /// history.commit(Some("push b"), |d| d.push("b".into()));
    /// history.commit(Some("insert z"), |d| { d.insert(0, "z".into()).unwrap(); });
    /// let patches = history.revert_patches(0)?;
    /// assert_eq!(patches[0].path.to_pointer(), "/2"); // "b" is at 2 now
    /// history.record(Some("revert push b"), Some("ann"), Some(5), patches)?;
    /// assert_eq!(**history.current(), ["z", "a"]);
    /// # Ok::<(), immer_core::HistoryError>(())
    /// ```
    pub fn revert_patches(&self, version: u64) -> Result<Vec<Patch>, HistoryError> {
        if version >= self.version {
            return Err(HistoryError::NotRetained {
                version,
                oldest: self.oldest,
                newest: self.version.saturating_sub(1),
            });
        }
        let base = self.state_at(version)?;
        let index = |v: u64| usize::try_from(v - self.oldest).unwrap_or(usize::MAX);
        let entries = self.entries.range(index(version)..index(self.version));
        let invalid = |message: String| {
            HistoryError::Patch(PatchError {
                index: 0,
                path: crate::path::Path::root(),
                kind: crate::error::PatchErrorKind::InvalidValue { message },
            })
        };
        let state = State(&*base);
        let skipped =
            skip::skip(&state, entries.map(|e| e.patches.as_slice())).map_err(|refusal| {
                match refusal {
                    skip::Refusal::Conflict(n, conflict) => {
                        let by = version + 1 + n as u64;
                        HistoryError::Conflict {
                            entry: version,
                            by,
                            author: self.entries.get(index(by)).and_then(|e| e.author.clone()),
                            conflict,
                        }
                    }
                    skip::Refusal::Unreadable(n, (index, path)) => {
                        HistoryError::Patch(PatchError {
                            index,
                            path,
                            kind: crate::error::PatchErrorKind::InvalidValue {
                                message: format!(
                                    "the entry from version {} does not apply as recorded",
                                    version + n as u64
                                ),
                            },
                        })
                    }
                }
            })?;
        // The skipped state from the current one by patches, sharing what the skipped entry
        // did not touch; written out whole and read as a `T` only when `T` takes neither form
        // of them (a fixed-length list and a set, each changed the way the other refuses).
        let by_patches = [true, false].into_iter().find_map(|replace| {
            let patches = skip::patches(&skipped, &state, replace)?;
            apply_patches(&self.current, &patches).ok()
        });
        let skipped = if let Some(skipped) = by_patches {
            skipped
        } else {
            let value = skip::value(&skipped, &state)
                .ok_or_else(|| invalid("the skipped state cannot be read".to_owned()))?;
            let skipped: T = serde_json::from_value(value).map_err(|e| invalid(e.to_string()))?;
            Arc::new(skipped)
        };
        let (patches, _) =
            crate::diff::diff(&*self.current, &*skipped).map_err(|e| invalid(e.to_string()))?;
        Ok(patches)
    }

    /// Starts over from `base` as version 0, with no past and no future.
    pub fn reset(&mut self, base: Arc<T>) {
        self.entries.clear();
        self.checkpoints.clear();
        if self.checkpoint_interval.is_some() {
            self.checkpoints.insert(0, Arc::clone(&base));
        }
        self.current = base;
        self.oldest = 0;
        self.version = 0;
    }

    /// Writes the retained entries as JSON Lines, one entry a line (`version`, `label`,
    /// `patches`, `inverse`), oldest first.
    ///
    /// # Errors
    ///
    /// The writer's I/O errors.
    pub fn write_log<W: Write>(&self, mut out: W) -> std::io::Result<()> {
        for entry in &self.entries {
            serde_json::to_writer(&mut out, entry)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }

    /// The log of [`write_log`](History::write_log) as a string.
    #[must_use]
    pub fn to_log(&self) -> String {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail, and entries always serialize.
        let _ = self.write_log(&mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// Rebuilds a history from the snapshot at the log's first version and the log, as
    /// another machine would, to step through a recorded session. The history ends at the
    /// log's newest version; [`goto`](History::goto) any other.
    ///
    /// Each line must continue the versions of the one before, its patches must apply to the
    /// state so far, and its inverse must apply to the result. Blank lines are skipped.
    ///
    /// # Errors
    ///
    /// A [`LogError`] naming the line (from 1) and what is wrong with it; nothing is built.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::History;
    /// use std::sync::Arc;
    ///
    /// let base = Arc::new(vec![String::from("a")]);
    /// let mut history = History::new(Arc::clone(&base));
    /// history.commit(None, |d| d.push("b".into()));
    /// history.commit(Some("rename"), |d| { d.set(0, "A".into()).unwrap(); });
    ///
    /// let replayed = History::from_log(base, history.to_log().as_bytes()).unwrap();
    /// assert_eq!(replayed.current(), history.current());
    /// assert_eq!(replayed.version(), 2);
    ///
    /// let broken = History::from_log(Arc::new(Vec::<String>::new()), "{\"version\":0}\n".as_bytes());
    /// assert_eq!(broken.err().map(|e| e.line), Some(1));
    /// ```
    pub fn from_log<R: BufRead>(base: Arc<T>, log: R) -> Result<Self, LogError> {
        let mut history: Option<History<T>> = None;
        let mut state = Arc::clone(&base);
        for line in HistoryEntry::log_lines(log) {
            let (number, text) = line?;
            let entry =
                HistoryEntry::from_log_line(number, &text, history.as_ref().map(|h| h.version))?;
            let fail = |reason: String| LogError {
                line: number,
                reason,
            };
            let history = history.get_or_insert_with(|| {
                let mut h = History::new(Arc::clone(&base));
                h.oldest = entry.version;
                h.version = entry.version;
                h
            });
            let next = apply_patches(&state, &entry.patches)
                .map_err(|e| fail(format!("its patches do not apply: {e}")))?;
            apply_patches(&next, &entry.inverse)
                .map_err(|e| fail(format!("its inverse does not apply: {e}")))?;
            state = next;
            let HistoryEntry {
                label,
                patches,
                inverse,
                author,
                time,
                ..
            } = entry;
            history.push(label, Arc::clone(&state), patches, inverse);
            if let Some(pushed) = history.entries.back_mut() {
                pushed.author = author;
                pushed.time = time;
            }
        }
        Ok(history.unwrap_or_else(|| History::new(base)))
    }
}

impl HistoryEntry {
    /// The lines of a history log that hold something, numbered from 1 (blank lines are
    /// skipped): for readers of logs other than [`History::from_log`].
    pub fn log_lines<R: BufRead>(
        log: R,
    ) -> impl Iterator<Item = Result<(usize, String), LogError>> {
        log.lines().enumerate().filter_map(|(n, line)| match line {
            Err(e) => Some(Err(LogError {
                line: n + 1,
                reason: format!("cannot be read: {e}"),
            })),
            Ok(text) if text.trim().is_empty() => None,
            Ok(text) => Some(Ok((n + 1, text))),
        })
    }

    /// Reads line `line` of a history log: an entry with patches, starting at `version` when
    /// one is expected (the version the line before ends at).
    ///
    /// # Errors
    ///
    /// A [`LogError`] naming the line and what is wrong with it.
    pub fn from_log_line(line: usize, text: &str, version: Option<u64>) -> Result<Self, LogError> {
        let fail = |reason: String| LogError { line, reason };
        let entry: HistoryEntry =
            serde_json::from_str(text).map_err(|e| fail(format!("is not a history entry: {e}")))?;
        if let Some(version) = version.filter(|v| *v != entry.version) {
            return Err(fail(format!(
                "has version {}, but the line before ends at version {version}",
                entry.version
            )));
        }
        if entry.patches.is_empty() {
            return Err(fail("has no patches".to_owned()));
        }
        Ok(entry)
    }
}

impl<T: Draftable> fmt::Debug for History<T>
where
    T: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("History")
            .field("version", &self.version)
            .field("oldest", &self.oldest)
            .field("newest", &self.newest_version())
            .field("current", &self.current)
            .finish_non_exhaustive()
    }
}

/// Several recipes that become one version of a [`History`]: one undo step.
///
/// Made by [`History::transaction`]. Dropping it without [`commit`](Transaction::commit)
/// discards every step.
pub struct Transaction<'h, T: Draftable> {
    history: &'h mut History<T>,
    session: Drafting<T>,
    label: Option<String>,
}

impl<T: Draftable> Transaction<'_, T> {
    /// The draft, for one more step.
    pub fn draft(&mut self) -> SessionDraft<'_, '_, T> {
        self.session.draft()
    }

    /// The state as the steps so far left it.
    #[must_use]
    pub fn current(&self) -> &Arc<T> {
        self.session.current()
    }

    /// Records the steps as one version. Returns it, or `None` when they changed nothing.
    ///
    /// # Panics
    ///
    /// If a written value has no JSON form (see [`produce_with_patches`]).
    pub fn commit(self) -> Option<u64> {
        let produced = match self.session.finish() {
            Ok(produced) => produced,
            Err(error) => panic!("{error}"),
        };
        self.history.push(
            self.label,
            produced.state,
            produced.patches,
            produced.inverse,
        )
    }
}

/// Why a [`History`] could not move.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum HistoryError {
    /// The version is outside the retained range.
    NotRetained {
        /// The version asked for.
        version: u64,
        /// The oldest retained version.
        oldest: u64,
        /// The newest retained version.
        newest: u64,
    },
    /// An entry's patches did not apply.
    Patch(PatchError),
    /// An entry's inverse did not apply to the state its patches led to (see
    /// [`History::append`]).
    Inverse(PatchError),
    /// An entry cannot be reverted: a later entry removed or replaced what it changed.
    Conflict {
        /// The entry to revert (its starting version).
        entry: u64,
        /// The later entry that took its target away (its starting version).
        by: u64,
        /// Who made that entry ([`HistoryEntry::author`]), when the history says.
        author: Option<String>,
        /// Which patch, and what took its target away.
        conflict: Conflict,
    },
}

impl fmt::Display for HistoryError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HistoryError::NotRetained {
                version,
                oldest,
                newest,
            } => {
                write!(
                    f,
                    "version {version} is not retained; the history holds versions {oldest} to {newest}"
                )
            }
            HistoryError::Patch(error) => write!(f, "a history entry does not apply: {error}"),
            HistoryError::Inverse(error) => write!(
                f,
                "a history entry's inverse does not apply to what its patches lead to: {error}"
            ),
            HistoryError::Conflict {
                entry,
                by,
                author,
                conflict,
            } => {
                write!(
                    f,
                    "the entry from version {entry} cannot be reverted: {conflict}, in the entry from version {by}"
                )?;
                match author {
                    Some(author) => write!(f, " by {author}"),
                    None => Ok(()),
                }
            }
        }
    }
}

impl std::error::Error for HistoryError {}

/// A line of a history log that cannot be replayed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogError {
    /// The line, counting from 1.
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for LogError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {} of the history log {}", self.line, self.reason)
    }
}

impl std::error::Error for LogError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::path::Path;
    use serde_json::json;

    fn pointer(text: &str) -> Path {
        Path::from_pointer(text).unwrap()
    }

    #[test]
    fn a_history_starting_later_numbers_and_reaches_its_versions() {
        let mut history = History::starting_at(Arc::new(vec![0_u32]), 100).with_checkpoints(4);
        for i in 1..=10 {
            history.commit(None, |d| d.push(i));
        }
        assert_eq!(history.oldest_version(), 100);
        assert_eq!(history.newest_version(), 110);
        for version in 100..=110 {
            let len = usize::try_from(version - 99).unwrap();
            assert_eq!(history.state_at(version).unwrap().len(), len);
            assert_eq!(history.entry(version).map(|e| e.version), {
                (version < 110).then_some(version)
            });
        }
        assert!(history.entry(99).is_none());
        assert!(matches!(
            history.state_at(99),
            Err(HistoryError::NotRetained { oldest: 100, .. })
        ));
        history.goto(103).unwrap();
        assert_eq!(**history.current(), [0, 1, 2, 3]);
    }

    #[test]
    fn an_appended_entry_keeps_what_it_says_and_a_bad_one_changes_nothing() {
        let mut source = History::new(Arc::new(vec![String::from("a")]));
        source.commit(Some("push b"), |d| d.push("b".into()));
        source
            .record(Some("rename"), Some("ann"), Some(7), {
                vec![Patch::replace(pointer("/0"), json!("A"))]
            })
            .unwrap();
        let mut copy = History::new(Arc::new(vec![String::from("a")])).with_checkpoints(1);
        for entry in source.entries() {
            copy.append(entry.clone()).unwrap();
        }
        assert_eq!(copy.entries().collect::<Vec<_>>(), {
            source.entries().collect::<Vec<_>>()
        });
        assert_eq!(copy.current(), source.current());
        // Without an inverse, it is computed from the state.
        let bare = HistoryEntry {
            version: 99,
            label: None,
            patches: vec![Patch::remove(pointer("/0"))],
            inverse: Vec::new(),
            author: None,
            time: None,
        };
        assert_eq!(copy.append(bare).unwrap(), Some(3));
        assert_eq!(copy.entry(2).map(|e| e.version), Some(2));
        assert_eq!(
            copy.entry(2).map(|e| e.inverse.clone()),
            Some(vec![Patch::add(pointer("/0"), json!("A"))])
        );
        assert_eq!(**copy.state_at(2).unwrap(), ["A", "b"]);
        // Patches that do not apply, or an inverse that does not: nothing changes.
        let before = (copy.version(), Arc::clone(copy.current()));
        let broken = HistoryEntry {
            patches: vec![Patch::remove(pointer("/9"))],
            ..source.entries().next().unwrap().clone()
        };
        assert!(matches!(copy.append(broken), Err(HistoryError::Patch(_))));
        let wrong_inverse = HistoryEntry {
            patches: vec![Patch::add(pointer("/-"), json!("c"))],
            inverse: vec![Patch::remove(pointer("/5"))],
            ..source.entries().next().unwrap().clone()
        };
        let error = copy.append(wrong_inverse).unwrap_err();
        assert!(matches!(error, HistoryError::Inverse(_)), "{error}");
        assert!(error.to_string().contains("inverse does not apply"));
        assert_eq!((copy.version(), Arc::clone(copy.current())), before);
        assert_eq!(copy.newest_version(), 3);
        // No patches: no version.
        let empty = HistoryEntry {
            patches: Vec::new(),
            ..source.entries().next().unwrap().clone()
        };
        assert_eq!(copy.append(empty).unwrap(), None);
    }

    #[test]
    fn revert_patches_recorded_by_hand_equal_a_revert() {
        let mut history = History::new(Arc::new(vec![1_u32, 2, 3]));
        history.commit(None, |d| {
            d.remove(0);
        });
        history.commit(None, |d| d.push(4));
        let mut by_hand = History::new(history.state_at(0).unwrap());
        for entry in history.entries() {
            by_hand.append(entry.clone()).unwrap();
        }
        let patches = by_hand.revert_patches(0).unwrap();
        by_hand
            .record(Some("revert"), Some("devtools"), Some(1), patches)
            .unwrap();
        history.revert(0, Some("revert")).unwrap();
        assert_eq!(by_hand.current(), history.current());
        assert_eq!(by_hand.entry(2).and_then(|e| e.author.as_deref()), {
            Some("devtools")
        });
        assert!(matches!(
            history.revert_patches(9),
            Err(HistoryError::NotRetained { .. })
        ));
    }
}
