//! Undo and redo of one user's own edits, in a document others edit too.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::apply::{apply_in_place, apply_mut_with_inverse};
use crate::draftable::Draftable;
use crate::error::PatchError;
use crate::patch::{Patch, PatchOp};
use crate::path::PathSegment;
use crate::produce::PatchDraft;
use crate::transform::{Conflict, Rule, Through, revert_through};

use super::{Committed, DropReason, Follower, FollowerEvent, ToFollower, ToLeader};

/// How long after an edit the next one still joins its step, unless told otherwise.
const WINDOW: Duration = Duration::from_millis(500);

/// How many steps the undo stack keeps, unless told otherwise.
const LIMIT: usize = 100;

/// An undo manager for one user of one document: a [`Follower`] whose own edits can be
/// undone and redone, each moved through everything committed since (by others, and by this
/// user's later edits), never touching another user's edit.
///
/// - **Steps.** Edits made within a time window of the one before (500 ms unless
///   [`with_window`](UndoManager::with_window) says otherwise; the clock is injectable,
///   [`with_clock`](UndoManager::with_clock)) are one step; [`end_step`](UndoManager::end_step),
///   [`undo`](UndoManager::undo) and [`redo`](UndoManager::redo) end the step being made. A
///   step carries the metadata given with its first edit ([`edit_with`](UndoManager::edit_with)),
///   a JSON value such as a selection to restore, handed back when it is undone or redone.
/// - **Undo is selective and moves.** [`undo`](UndoManager::undo) reverts the newest step: its
///   edits' exact inverse, moved with [`revert_through`](crate::revert_through) through every
///   change after them in the document's order (the committed log, then the edits that wait
///   for the leader). Where a later change wrote a value again, the later write stands;
///   where it removed or replaced what the step changed, or where another user wrote inside
///   a value the revert would remove or replace, the step is *skipped* with a [`SkipReason`],
///   never applied elsewhere (nor over another user's edit), and the next step is tried. A step undone and
///   its undo cancel out: the changes between them are moved back through the step's inverse
///   (as a follower moves its edits past a dropped one) before an older step is moved
///   through them, so that undoing twice gives back what was there before both.
/// - **An undo is an ordinary edit.** It goes to the leader like any other, which authorizes
///   and validates it, and may refuse it. A refused undo or redo is reported
///   ([`take_refused`](UndoManager::take_refused)); the step it came from goes back where it
///   was taken from (an undo's step onto the undo stack, in the order of its edits; a redo's
///   onto the redo stack, unless an edit made since cleared it), so that it can be tried
///   again.
/// - **Redo** reverts an undo the same way; an edit clears the redo stack. Edits the leader
///   dropped leave their steps (a step left with none is gone).
/// - **After a snapshot** that skipped changes the manager cannot move anything through what
///   it skipped: the steps with an edit already committed are forgotten; those whose edits
///   all still wait for the leader stay (the follower moved them through the snapshot).
///
/// Every message and event goes through the manager: it owns the follower (read it with
/// [`follower`](UndoManager::follower)), edits with [`edit`](UndoManager::edit), and hands
/// over what arrives with [`receive`](UndoManager::receive); the follower's events come from
/// [`take_events`](UndoManager::take_events). The JavaScript client's `UndoManager`
/// (`clients/js/undo.js`) gives the same answers, held to it by shared vectors.
///
/// Time: an undo costs applying the changes since the step's first edit once (to compute
/// inverses and move the step), plus moving its patches through them; the manager keeps the
/// committed changes since the oldest step it holds.
///
/// # Examples
///
/// ```
/// use immer_core::sync::{Follower, Leader, UndoManager};
/// use serde_json::json;
/// use std::sync::Arc;
///
/// let mut leader = Leader::new(Arc::new(vec![String::from("a")]));
/// let mut ann = UndoManager::new(Follower::new(leader.join(1)));
/// let mut bob = Follower::new(leader.join(2));
/// let mut deliver = |ann: &mut UndoManager<Vec<String>>, bob: &mut Follower<Vec<String>>, leader: &mut Leader<Vec<String>>| {
///     for _ in 0..2 {
///         for message in ann.poll().into_iter().chain(bob.poll()) {
///             for out in leader.receive(message) {
///                 ann.receive(out.message.clone());
///                 bob.receive(out.message);
///             }
///         }
///     }
/// };
///
/// ann.edit_with(json!({"cursor": 1}), |d| d.push("ann's".into()));
/// deliver(&mut ann, &mut bob, &mut leader);
/// bob.edit(|d| d.insert(0, "bob's".into()).unwrap());
/// deliver(&mut ann, &mut bob, &mut leader);
///
/// // Ann's undo takes out her line, now at index 2, and leaves Bob's.
/// let undone = ann.undo().unwrap();
/// assert_eq!(undone.metadata, Some(json!({"cursor": 1})));
/// assert_eq!(**ann.state(), ["bob's", "a"]);
/// deliver(&mut ann, &mut bob, &mut leader);
/// assert_eq!(**bob.state(), ["bob's", "a"]);
///
/// ann.redo().unwrap();
/// assert_eq!(**ann.state(), ["bob's", "a", "ann's"]);
/// ```
pub struct UndoManager<T> {
    follower: Follower<T>,
    window: Duration,
    clock: Box<dyn FnMut() -> Duration + Send>,
    limit: usize,
    /// Oldest first.
    undo: Vec<Step>,
    /// Oldest first.
    redo: Vec<Step>,
    /// Whether the newest undo step takes more edits (within the window of `last_edit`).
    open: bool,
    last_edit: Duration,
    /// Counts the clearings of the redo stack: a refused redo's step goes back only onto the
    /// stack it was taken from.
    epoch: u64,
    /// Each own edit's patch count as made, to tell the edits of a change sent in a batch apart.
    edits: BTreeMap<u64, usize>,
    /// Own edits not yet accepted or dropped.
    unanswered: BTreeSet<u64>,
    /// Each undo or redo edit, and the edits of the step it reverted.
    reverts: BTreeMap<u64, Vec<u64>>,
    /// The undo and redo edits not yet accepted: what to do when one is refused.
    actions: BTreeMap<u64, Action>,
    /// The confirmed state at `base_version`, held while a step needs it.
    base: Option<Arc<T>>,
    base_version: u64,
    /// The committed changes after `base_version`, in order, each with the own edits it holds.
    log: VecDeque<Unit>,
    /// Committed changes received and not yet in the log, by version.
    early: BTreeMap<u64, Committed>,
    /// The own edits accepted at each version not yet in the log.
    accepted: BTreeMap<u64, Vec<u64>>,
    events: Vec<FollowerEvent>,
    refused: Vec<Refused>,
}

/// One step of the undo or redo stack: own edits, oldest first, and the step's metadata.
#[derive(Clone, Debug)]
struct Step {
    edits: Vec<u64>,
    metadata: Option<Value>,
}

/// An undo or redo edit waiting for the leader, and the step it came from.
#[derive(Debug)]
struct Action {
    kind: UndoAction,
    origin: Step,
    epoch: u64,
}

/// A change in the document's order: the own edits it holds (none for another user's), its
/// patches, and, once committed, its version and author.
#[derive(Clone, Debug)]
struct Unit {
    ids: Vec<u64>,
    patches: Vec<Patch>,
    version: Option<u64>,
    author: Option<String>,
}

impl Unit {
    /// Why a revert cannot move through this change.
    fn conflict(&self, conflict: Conflict) -> SkipReason {
        SkipReason::Conflict {
            conflict,
            version: self.version,
            author: self.author.clone(),
        }
    }
}

/// An undo or a redo.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum UndoAction {
    /// [`UndoManager::undo`].
    Undo,
    /// [`UndoManager::redo`].
    Redo,
}

/// What [`UndoManager::undo`] or [`UndoManager::redo`] did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Undone {
    /// The edit that reverts the step, sent to the leader like any other (its outcome comes
    /// as a [`FollowerEvent`]; a refusal also as a [`Refused`]).
    pub edit: u64,
    /// The step's metadata.
    pub metadata: Option<Value>,
    /// The newer steps skipped on the way, newest first: they are gone from the stack.
    pub skipped: Vec<Skipped>,
}

/// A step taken off the stack without being reverted, and why.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Skipped {
    /// The step's metadata.
    pub metadata: Option<Value>,
    /// Why it was not reverted.
    pub reason: SkipReason,
}

/// Why a step was skipped.
///
/// Serialized tagged by `kind`, as the JavaScript client writes it:
/// `{"kind": "conflict", "conflict": {"index": 0, "path": [...], "by": [...]}, "version": 7,
/// "author": "bob"}`,
/// `{"kind": "nothingLeft"}`, `{"kind": "inseparable"}`,
/// `{"kind": "doesNotApply", "index": 0, "path": [...], "message": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum SkipReason {
    /// A later change removed or replaced what the step changed (reverting it would land on
    /// something else), or another user wrote inside a value its revert would remove or
    /// replace (reverting it would take their edit away).
    Conflict {
        /// The patch of the revert that could not be moved, and the change it met.
        conflict: Conflict,
        /// The version of the change it met, once committed (`None`: an own edit that waits
        /// for the leader).
        version: Option<u64>,
        /// Who made that change, as the server authenticated them ([`Committed::author`]):
        /// the name to show (`None` for an own edit that waits, or a server that names no
        /// one).
        author: Option<String>,
    },
    /// Nothing of it is left to revert: every value it changed was written again since (the
    /// later write stands), or none of its edits is in the state.
    NothingLeft,
    /// Its edits went to the leader in one change with edits of another step, and the
    /// leader committed that change in a form that cannot be split between them.
    Inseparable,
    /// Its revert does not apply to the state (it cannot happen to a state that is the
    /// leader's order of the changes).
    DoesNotApply {
        /// The failing patch's index.
        index: usize,
        /// Its path.
        path: crate::Path,
        /// Why it does not apply.
        message: String,
    },
}

impl fmt::Display for SkipReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SkipReason::Conflict {
                conflict,
                version,
                author,
            } => {
                conflict.fmt(f)?;
                match (author, version) {
                    (Some(author), Some(version)) => write!(f, " ({author}, version {version})"),
                    (Some(author), None) => write!(f, " ({author})"),
                    (None, Some(version)) => write!(f, " (version {version})"),
                    (None, None) => f.write_str(" (an own edit that waits for the leader)"),
                }
            }
            SkipReason::NothingLeft => f.write_str(
                "nothing of it is left to revert: what it changed was written again since",
            ),
            SkipReason::Inseparable => f.write_str(
                "it was committed in one change with edits of another step, which cannot be split",
            ),
            SkipReason::DoesNotApply {
                index,
                path,
                message,
            } => write!(
                f,
                "its revert's patch {index} at {path} does not apply: {message}"
            ),
        }
    }
}

impl SkipReason {
    fn does_not_apply(error: &PatchError) -> Self {
        SkipReason::DoesNotApply {
            index: error.index,
            path: error.path.clone(),
            message: error.kind.to_string(),
        }
    }
}

/// Why [`UndoManager::undo`] or [`UndoManager::redo`] reverted nothing.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
#[non_exhaustive]
pub enum UndoError {
    /// The stack is empty, or every step on it was skipped.
    Empty {
        /// The steps skipped, newest first: they are gone from the stack.
        skipped: Vec<Skipped>,
    },
}

impl fmt::Display for UndoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            UndoError::Empty { skipped } if skipped.is_empty() => f.write_str("nothing to revert"),
            UndoError::Empty { skipped } => {
                write!(f, "nothing to revert: {} steps skipped", skipped.len())?;
                if let Some(first) = skipped.first() {
                    write!(f, " (the newest because {})", first.reason)?;
                }
                Ok(())
            }
        }
    }
}

impl std::error::Error for UndoError {}

/// An undo or redo edit the leader refused (or dropped for a conflict): its effect is gone
/// from the state, and its step went back onto the stack it was taken from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Refused {
    /// The undo or redo edit.
    pub edit: u64,
    /// Which it was.
    pub action: UndoAction,
    /// Why it was dropped.
    pub reason: DropReason,
    /// The step's metadata.
    pub metadata: Option<Value>,
}

impl<T: Draftable> UndoManager<T> {
    /// An undo manager over `follower`, with nothing to undo yet.
    #[must_use]
    pub fn new(follower: Follower<T>) -> Self {
        let start = Instant::now();
        UndoManager {
            base_version: follower.version(),
            follower,
            window: WINDOW,
            clock: Box::new(move || start.elapsed()),
            limit: LIMIT,
            undo: Vec::new(),
            redo: Vec::new(),
            open: false,
            last_edit: Duration::ZERO,
            epoch: 0,
            edits: BTreeMap::new(),
            unanswered: BTreeSet::new(),
            reverts: BTreeMap::new(),
            actions: BTreeMap::new(),
            base: None,
            log: VecDeque::new(),
            early: BTreeMap::new(),
            accepted: BTreeMap::new(),
            events: Vec::new(),
            refused: Vec::new(),
        }
    }

    /// Edits made within `window` of the one before join its step (`Duration::ZERO`: every
    /// edit is a step).
    #[must_use]
    pub fn with_window(mut self, window: Duration) -> Self {
        self.window = window;
        self
    }

    /// The clock the window is measured with: the time since any fixed moment (tests give
    /// their own).
    #[must_use]
    pub fn with_clock(mut self, clock: impl FnMut() -> Duration + Send + 'static) -> Self {
        self.clock = Box::new(clock);
        self
    }

    /// The undo stack keeps at most `steps` steps (at least one), forgetting the oldest.
    #[must_use]
    pub fn with_limit(mut self, steps: usize) -> Self {
        self.limit = steps.max(1);
        self
    }

    /// The follower.
    #[must_use]
    pub fn follower(&self) -> &Follower<T> {
        &self.follower
    }

    /// The follower, without the manager.
    #[must_use]
    pub fn into_follower(self) -> Follower<T> {
        self.follower
    }

    /// The state the user sees ([`Follower::state`]).
    #[must_use]
    pub fn state(&self) -> &Arc<T> {
        self.follower.state()
    }

    /// How many steps [`undo`](UndoManager::undo) may revert (some may be skipped).
    #[must_use]
    pub fn undo_len(&self) -> usize {
        self.undo.len()
    }

    /// How many steps [`redo`](UndoManager::redo) may revert (some may be skipped).
    #[must_use]
    pub fn redo_len(&self) -> usize {
        self.redo.len()
    }

    /// Edits the state ([`Follower::edit`]) and records the edit in the current step (or a
    /// new one); clears the redo stack. Returns the edit's id, or `None` when the recipe
    /// changed nothing.
    ///
    /// # Panics
    ///
    /// As [`Follower::edit`]: if a written value has no JSON form.
    pub fn edit<F>(&mut self, recipe: F) -> Option<u64>
    where
        F: FnOnce(&mut PatchDraft<'_, '_, T>),
    {
        let id = self.follower.edit(recipe)?;
        self.record(id, None);
        Some(id)
    }

    /// [`edit`](UndoManager::edit), with metadata for the step: kept when the edit begins a
    /// step (the first edit's metadata is the step's), ignored when it joins one.
    ///
    /// # Panics
    ///
    /// As [`Follower::edit`]: if a written value has no JSON form.
    pub fn edit_with<F>(&mut self, metadata: Value, recipe: F) -> Option<u64>
    where
        F: FnOnce(&mut PatchDraft<'_, '_, T>),
    {
        let id = self.follower.edit(recipe)?;
        self.record(id, Some(metadata));
        Some(id)
    }

    /// [`Follower::edit_patches`], recorded as [`edit_with`](UndoManager::edit_with) records
    /// an edit (with `metadata` when given).
    ///
    /// # Errors
    ///
    /// When a patch does not apply to the state; nothing changes then.
    pub fn edit_patches(
        &mut self,
        patches: &[Patch],
        metadata: Option<Value>,
    ) -> Result<Option<u64>, PatchError> {
        let Some(id) = self.follower.edit_patches(patches)? else {
            return Ok(None);
        };
        self.record(id, metadata);
        Ok(Some(id))
    }

    /// Ends the step being made: the next edit begins a new one, however soon it comes.
    pub fn end_step(&mut self) {
        self.open = false;
    }

    /// Reverts the newest step that can be: its revert is edited into the state at once and
    /// sent to the leader; the step moves to the redo stack. Newer steps whose revert would
    /// land elsewhere or do nothing are skipped (and gone), and listed.
    ///
    /// # Errors
    ///
    /// [`UndoError::Empty`] when no step could be reverted.
    pub fn undo(&mut self) -> Result<Undone, UndoError> {
        self.revert_top(UndoAction::Undo)
    }

    /// Reverts the newest undo that can be, as [`undo`](UndoManager::undo) reverts a step;
    /// the step goes back onto the undo stack.
    ///
    /// # Errors
    ///
    /// [`UndoError::Empty`] when no undo could be reverted.
    pub fn redo(&mut self) -> Result<Undone, UndoError> {
        self.revert_top(UndoAction::Redo)
    }

    /// What to send now ([`Follower::poll`]).
    pub fn poll(&mut self) -> Vec<ToLeader> {
        self.follower.poll()
    }

    /// Handles one message from the leader ([`Follower::receive`]).
    pub fn receive(&mut self, message: ToFollower<T>) {
        self.receive_all(std::iter::once(message));
    }

    /// Handles messages from the leader ([`Follower::receive_all`]).
    pub fn receive_all(&mut self, messages: impl IntoIterator<Item = ToFollower<T>>) {
        let messages: Vec<ToFollower<T>> = messages.into_iter().collect();
        for message in &messages {
            if let ToFollower::Committed(committed) = message {
                if committed.version > self.base_version {
                    self.early
                        .entry(committed.version)
                        .or_insert_with(|| committed.clone());
                }
            }
        }
        self.follower.receive_all(messages);
        self.absorb();
    }

    /// The follower's events since the last call ([`Follower::take_events`]).
    pub fn take_events(&mut self) -> Vec<FollowerEvent> {
        std::mem::take(&mut self.events)
    }

    /// The undo and redo edits refused since the last call.
    pub fn take_refused(&mut self) -> Vec<Refused> {
        std::mem::take(&mut self.refused)
    }

    /// Records own edit `id`, just made, in the open step or a new one.
    fn record(&mut self, id: u64, metadata: Option<Value>) {
        let count = self
            .follower
            .pending_changes()
            .last()
            .map_or(0, |(_, patches)| patches.len());
        self.edits.insert(id, count);
        self.unanswered.insert(id);
        if self.base.is_none() {
            self.base = Some(Arc::clone(self.follower.confirmed()));
            self.base_version = self.follower.version();
        }
        if !self.redo.is_empty() {
            self.redo.clear();
            self.epoch += 1;
        }
        let now = (self.clock)();
        let joins = self.open && now.saturating_sub(self.last_edit) < self.window;
        match self.undo.last_mut() {
            Some(step) if joins => step.edits.push(id),
            _ => {
                self.undo.push(Step {
                    edits: vec![id],
                    metadata,
                });
                if self.undo.len() > self.limit {
                    self.undo.remove(0);
                }
            }
        }
        self.open = true;
        self.last_edit = now;
    }

    fn revert_top(&mut self, action: UndoAction) -> Result<Undone, UndoError> {
        self.open = false;
        let mut skipped = Vec::new();
        loop {
            let stack = match action {
                UndoAction::Undo => &mut self.undo,
                UndoAction::Redo => &mut self.redo,
            };
            let Some(step) = stack.pop() else {
                self.compact();
                return Err(UndoError::Empty { skipped });
            };
            let reverted = self.revert(&step).and_then(|patches| {
                self.follower
                    .edit_patches(&patches)
                    .map_err(|error| SkipReason::does_not_apply(&error))?
                    .map(|id| (id, patches.len()))
                    .ok_or(SkipReason::NothingLeft)
            });
            match reverted {
                Ok((id, count)) => {
                    self.edits.insert(id, count);
                    self.unanswered.insert(id);
                    self.reverts.insert(id, step.edits.clone());
                    let next = Step {
                        edits: vec![id],
                        metadata: step.metadata.clone(),
                    };
                    match action {
                        UndoAction::Undo => self.redo.push(next),
                        UndoAction::Redo => self.undo.push(next),
                    }
                    let metadata = step.metadata.clone();
                    self.actions.insert(
                        id,
                        Action {
                            kind: action,
                            origin: step,
                            epoch: self.epoch,
                        },
                    );
                    self.compact();
                    return Ok(Undone {
                        edit: id,
                        metadata,
                        skipped,
                    });
                }
                Err(reason) => skipped.push(Skipped {
                    metadata: step.metadata,
                    reason,
                }),
            }
        }
    }

    /// The patches that revert `step`, applying to the follower's state.
    fn revert(&self, step: &Step) -> Result<Vec<Patch>, SkipReason> {
        let Some(base) = &self.base else {
            return Err(SkipReason::NothingLeft);
        };
        let target: BTreeSet<u64> = step.edits.iter().copied().collect();
        let units = self.units();
        let moves = self.cancel_pairs(base, &units, &target);
        let mut state = Arc::clone(base);
        let state = Arc::make_mut(&mut state);
        let Some(first) = units
            .iter()
            .position(|unit| unit.ids.iter().any(|id| target.contains(id)))
        else {
            return Err(SkipReason::NothingLeft);
        };
        for unit in &units[..first] {
            apply_in_place(state, &unit.patches).map_err(|e| SkipReason::does_not_apply(&e))?;
        }
        // The inverses are taken from the states as they are; the revert moves through each
        // later change as `cancel_pairs` gives it.
        let mut revert: Vec<Patch> = Vec::new();
        for (unit, moved) in units[first..].iter().zip(&moves[first..]) {
            let mine = unit.ids.iter().filter(|id| target.contains(id)).count();
            if mine > 0 {
                if mine < unit.ids.len() {
                    return Err(SkipReason::Inseparable);
                }
                let mut inverse = apply_mut_with_inverse(state, &unit.patches)
                    .map_err(|e| SkipReason::does_not_apply(&e))?;
                inverse.append(&mut revert);
                revert = inverse;
                continue;
            }
            if let Some(moved) = moved {
                if unit.ids.is_empty() {
                    if let Some(conflict) = wipes(&revert, moved) {
                        return Err(unit.conflict(conflict));
                    }
                }
                revert = revert_through(&revert, [moved.as_slice()])
                    .map_err(|(_, conflict)| unit.conflict(conflict))?;
            }
            apply_in_place(state, &unit.patches).map_err(|e| SkipReason::does_not_apply(&e))?;
        }
        if revert.is_empty() {
            return Err(SkipReason::NothingLeft);
        }
        Ok(revert)
    }

    /// The changes after `base`, in the document's order: the committed ones, then the edits
    /// that wait for the leader; an own change that holds several edits is split into them
    /// when their patch counts tell where each begins.
    fn units(&self) -> Vec<Unit> {
        let pending = self.follower.pending_changes().map(|(ids, patches)| Unit {
            ids: ids.collect(),
            patches: patches.to_vec(),
            version: None,
            author: None,
        });
        let mut units = Vec::new();
        for unit in self.log.iter().cloned().chain(pending) {
            let counts: Option<Vec<usize>> = unit
                .ids
                .iter()
                .map(|id| self.edits.get(id).copied())
                .collect();
            match counts {
                Some(counts)
                    if unit.ids.len() > 1 && counts.iter().sum::<usize>() == unit.patches.len() =>
                {
                    let mut patches = unit.patches.into_iter();
                    for (id, count) in unit.ids.into_iter().zip(counts) {
                        units.push(Unit {
                            ids: vec![id],
                            patches: patches.by_ref().take(count).collect(),
                            version: unit.version,
                            author: unit.author.clone(),
                        });
                    }
                }
                _ => units.push(unit),
            }
        }
        units
    }

    /// What each of `units` is to a revert of `target` moving through it: the changes
    /// themselves, except for the steps that were undone and their undos (none of
    /// `target`'s), which cancel out (`None`), and the changes between such a step and its
    /// undo, moved back through the step's inverse, as a follower moves its edits past a
    /// dropped one (those that edit what the step made go with it: `None`). Pairs one inside
    /// another, the inner first.
    fn cancel_pairs(
        &self,
        base: &Arc<T>,
        units: &[Unit],
        target: &BTreeSet<u64>,
    ) -> Vec<Option<Vec<Patch>>> {
        let mut moves: Vec<Option<Vec<Patch>>> = units
            .iter()
            .map(|unit| Some(unit.patches.clone()))
            .collect();
        // The units left, each with its index in `units`.
        let mut left: Vec<(usize, Unit)> = units.iter().cloned().enumerate().collect();
        loop {
            let view: Vec<Unit> = left.iter().map(|(_, unit)| unit.clone()).collect();
            let Some((undo_at, group)) = self.next_pair(&view, target) else {
                return moves;
            };
            let in_group = |unit: &Unit| unit.ids.iter().any(|id| group.contains(id));
            let Some(first) = view.iter().position(in_group) else {
                return moves;
            };
            let mut state = Arc::clone(base);
            let state = Arc::make_mut(&mut state);
            for unit in &view[..first] {
                if apply_in_place(state, &unit.patches).is_err() {
                    return moves;
                }
            }
            let mut undo = Through::default();
            let mut kept: Vec<(usize, Unit)> = left[..first].to_vec();
            for (at, unit) in &left[first..undo_at] {
                let Ok(inverse) = apply_mut_with_inverse(state, &unit.patches) else {
                    return moves;
                };
                if in_group(unit) {
                    undo.prepend(&inverse, 0);
                    moves[*at] = None;
                    continue;
                }
                if let Ok(patches) = undo.pass(&unit.patches, Rule::AFTER_DROPPED) {
                    moves[*at] = Some(patches.clone());
                    let passed = Unit {
                        ids: unit.ids.clone(),
                        patches,
                        version: unit.version,
                        author: unit.author.clone(),
                    };
                    kept.push((*at, passed));
                } else {
                    // It edits what the step made: it goes with it.
                    undo.prepend(&inverse, 0);
                    moves[*at] = None;
                }
            }
            moves[left[undo_at].0] = None;
            kept.extend(left[undo_at + 1..].iter().cloned());
            left = kept;
        }
    }

    /// The pair to cancel next: an undo (or redo) in `units` whose step is all in the units
    /// before it, alone in theirs, with neither in `target`; of those, one with no other
    /// such undo between its step and itself (innermost), the last of them (so that a redo
    /// cancels the undo it reverts, and the step stays where it was made). Its index, and
    /// the step's edits.
    fn next_pair(&self, units: &[Unit], target: &BTreeSet<u64>) -> Option<(usize, BTreeSet<u64>)> {
        let pairs: Vec<(usize, usize, BTreeSet<u64>)> = units
            .iter()
            .enumerate()
            .filter_map(|(at, unit)| {
                let [id] = unit.ids[..] else { return None };
                let group: BTreeSet<u64> = self.reverts.get(&id)?.iter().copied().collect();
                if target.contains(&id) || group.iter().any(|g| target.contains(g)) {
                    return None;
                }
                let before = &units[..at];
                let whole = group
                    .iter()
                    .all(|g| before.iter().any(|u| u.ids.contains(g)));
                let holding = |u: &Unit| u.ids.iter().any(|i| group.contains(i));
                let alone = before
                    .iter()
                    .filter(|u| holding(u))
                    .all(|u| u.ids.iter().all(|i| group.contains(i)));
                let first = before.iter().position(holding)?;
                (whole && alone).then_some((first, at, group))
            })
            .collect();
        let innermost = |(first, at, _): &(usize, usize, BTreeSet<u64>)| {
            !pairs
                .iter()
                .any(|(_, other, _)| *first < *other && other < at)
        };
        let (_, at, group) = pairs.iter().rev().find(|pair| innermost(pair))?;
        Some((*at, group.clone()))
    }

    /// Takes in what the follower did: its events (own edits accepted or dropped), and the
    /// committed changes it applied, into the log.
    fn absorb(&mut self) {
        for event in self.follower.take_events() {
            match &event {
                FollowerEvent::Accepted { id, version } => {
                    self.accepted.entry(*version).or_default().push(*id);
                    self.unanswered.remove(id);
                    self.actions.remove(id);
                }
                FollowerEvent::Dropped { id, reason } => self.dropped(*id, reason),
                _ => {}
            }
            self.events.push(event);
        }
        let version = self.follower.version();
        if self.base.is_none() {
            self.base_version = version;
        }
        while self.base_version + (self.log.len() as u64) < version {
            let next = self.base_version + self.log.len() as u64 + 1;
            let Some(committed) = self.early.remove(&next) else {
                self.resynchronized();
                break;
            };
            let ids = self.accepted.remove(&next).unwrap_or_default();
            self.log.push_back(Unit {
                ids,
                patches: committed.patches,
                version: Some(next),
                author: committed.author,
            });
        }
        self.early.retain(|v, _| *v > version);
        self.accepted.retain(|v, _| *v > version);
        self.compact();
    }

    /// Own edit `id` was dropped: an undo or redo is refused (its step goes back), any other
    /// edit leaves its step.
    fn dropped(&mut self, id: u64, reason: &DropReason) {
        self.edits.remove(&id);
        self.unanswered.remove(&id);
        self.reverts.remove(&id);
        let holds = |step: &Step| step.edits.contains(&id);
        if let Some(action) = self.actions.remove(&id) {
            self.undo.retain(|step| !holds(step));
            self.redo.retain(|step| !holds(step));
            self.refused.push(Refused {
                edit: id,
                action: action.kind,
                reason: reason.clone(),
                metadata: action.origin.metadata.clone(),
            });
            let mut origin = action.origin;
            origin.edits.retain(|e| self.edits.contains_key(e));
            let stack = match action.kind {
                UndoAction::Undo => Some(&mut self.undo),
                UndoAction::Redo => (action.epoch == self.epoch).then_some(&mut self.redo),
            };
            if let (Some(stack), Some(&first)) = (stack, origin.edits.first()) {
                let at = stack.partition_point(|step| step.edits.first() < Some(&first));
                stack.insert(at, origin);
            }
        } else {
            for step in self
                .undo
                .iter_mut()
                .chain(self.redo.iter_mut())
                .chain(self.actions.values_mut().map(|a| &mut a.origin))
            {
                step.edits.retain(|e| *e != id);
            }
            self.undo.retain(|step| !step.edits.is_empty());
            self.redo.retain(|step| !step.edits.is_empty());
        }
    }

    /// A snapshot skipped changes the manager never saw: it starts again from the confirmed
    /// state, keeping only the steps whose edits all wait for the leader.
    fn resynchronized(&mut self) {
        self.base = Some(Arc::clone(self.follower.confirmed()));
        self.base_version = self.follower.version();
        self.log.clear();
        let waiting: BTreeSet<u64> = self
            .follower
            .pending_changes()
            .flat_map(|(ids, _)| ids)
            .collect();
        let keep = |step: &Step| step.edits.iter().all(|e| waiting.contains(e));
        self.undo.retain(keep);
        self.redo.retain(keep);
        self.actions.retain(|_, action| keep(&action.origin));
        if self.undo.is_empty() && self.redo.is_empty() {
            self.open = false;
        }
    }

    /// Lets go of what no step needs: the committed changes before the oldest step's first
    /// edit (applied to the base), and the base itself when no step is left.
    fn compact(&mut self) {
        let live: BTreeSet<u64> = self
            .undo
            .iter()
            .chain(&self.redo)
            .chain(self.actions.values().map(|a| &a.origin))
            .flat_map(|step| step.edits.iter().copied())
            .collect();
        if live.is_empty() {
            self.base = None;
            self.base_version = self.follower.version();
            self.log.clear();
            self.open = false;
        } else if let Some(base) = self.base.as_mut() {
            let first = self
                .log
                .iter()
                .position(|unit| unit.ids.iter().any(|id| live.contains(id)))
                .unwrap_or(self.log.len());
            if first == self.log.len() {
                *base = Arc::clone(self.follower.confirmed());
                self.base_version = self.follower.version();
                self.log.clear();
            } else if first > 0 {
                let state = Arc::make_mut(base);
                for unit in self.log.drain(..first) {
                    // The leader's order applies to its own states; were it not to, the
                    // steps are moved through what is left.
                    let _ = apply_in_place(state, &unit.patches);
                }
                self.base_version += first as u64;
            }
        }
        // Patch counts and reverts are needed from the oldest edit the log, the waiting edits
        // or an answer to come may hold.
        let floor = self
            .log
            .iter()
            .filter_map(|unit| unit.ids.first().copied())
            .chain(self.follower.pending_changes().map(|(ids, _)| *ids.start()))
            .chain(self.unanswered.first().copied())
            .min();
        if let Some(floor) = floor {
            self.edits.retain(|id, _| *id >= floor);
            self.reverts.retain(|id, _| *id >= floor);
        } else {
            self.edits.clear();
            self.reverts.clear();
        }
    }
}

/// Whether `revert`, moved through `later` (another user's change), would remove or replace
/// a value inside which `later` wrote: the first such patch of the revert, as it stands when
/// it meets that write, and the write's path. The revert is moved through `later` one patch
/// at a time by [`revert_through`], so that each write is met where the revert then stands.
fn wipes(revert: &[Patch], later: &[Patch]) -> Option<Conflict> {
    let mut moving = revert.to_vec();
    for written in later {
        let hit = moving.iter().position(|patch| {
            let whole = match patch.op {
                PatchOp::Remove | PatchOp::Replace => true,
                // An add of a key writes the value there; an insert into a list only shifts.
                PatchOp::Add => !matches!(patch.path.last(), Some(PathSegment::Index(_))),
                _ => false,
            };
            whole && written.path.len() > patch.path.len() && written.path.starts_with(&patch.path)
        });
        if let Some(index) = hit {
            return Some(Conflict {
                index,
                path: moving[index].path.clone(),
                by: written.path.clone(),
            });
        }
        // A conflict here is the one `revert_through` reports for the whole change.
        moving = revert_through(&moving, [std::slice::from_ref(written)]).ok()?;
    }
    None
}

impl<T: fmt::Debug> fmt::Debug for UndoManager<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("UndoManager")
            .field("follower", &self.follower)
            .field("window", &self.window)
            .field("undo", &self.undo)
            .field("redo", &self.redo)
            .finish_non_exhaustive()
    }
}
