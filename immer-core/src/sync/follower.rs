//! The node that edits optimistically and applies what the leader committed.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::apply::{apply_in_place, apply_mut_with_inverse, apply_patches_mut};
use crate::draftable::Draftable;
use crate::patch::{Patch, PatchOp};
use crate::path::{Path, PathSegment};
use crate::produce::{PatchDraft, produce_with_patches};
use crate::transform::{Conflict, Rule, Through};

use super::persist::{ChangeTag, SavedChange, SavedChangeMessage, SavedEdit};
use super::subscriptions::{PathChange, SubscriptionId, Subscriptions};
use super::{
    Change, ClientId, Committed, FollowerStore, Outcome, PersistError, RejectReason, Rejected,
    SavedFollower, SessionId, Snapshot, ToFollower, ToLeader, Welcome,
};

/// The largest edit id a restored follower may go on from (`Number.MAX_SAFE_INTEGER`, as the
/// JavaScript client checks it).
const MAX_SAFE_ID: u64 = (1 << 53) - 1;
/// What happened to a follower's own edits, and to its version.
///
/// Serialized tagged by `type`, as the JavaScript client's follower writes its events:
/// `{"type": "applied", "version": 7}`, `{"type": "accepted", "id": 2, "version": 8}`,
/// `{"type": "dropped", "id": 3, "reason": ...}` (see [`DropReason`]),
/// `{"type": "diverged", "version": 9, "error": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "wire::FollowerEvent", from = "wire::FollowerEvent")]
#[non_exhaustive]
pub enum FollowerEvent {
    /// The follower's state reached this confirmed version.
    Applied(u64),
    /// One of the follower's changes was accepted as this version.
    Accepted {
        /// The change.
        id: u64,
        /// Its version.
        version: u64,
    },
    /// One of the follower's changes was dropped: the leader refused it, or its target was
    /// removed meanwhile. Its effect is gone from the follower's state, and it is never
    /// committed.
    Dropped {
        /// The change.
        id: u64,
        /// Why.
        reason: DropReason,
    },
    /// A committed change did not apply to the follower's confirmed state, which therefore
    /// is not the leader's: the follower asks for a snapshot and takes no changes until it
    /// arrives.
    Diverged {
        /// The version of the change that did not apply.
        version: u64,
        /// Why it did not apply.
        error: String,
    },
}

/// Why a follower dropped one of its edits.
///
/// Serialized tagged by `kind`, as the JavaScript client's follower writes its reasons:
/// `{"kind": "rejected", "reason": {"Invalid": {"message": "..."}}, "message": "refused by
/// validation: ..."}` (the [`RejectReason`] and its `Display`, which is ignored when read
/// back), `{"kind": "conflict", "conflict": {"index": 0, "path": [...], "by": [...]}}`,
/// `{"kind": "afterDropped", "id": 2}`, `{"kind": "snapshot"}`,
/// `{"kind": "doesNotApply", "index": 0, "path": ["items", 3], "message": "..."}`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "wire::DropReason", from = "wire::DropReason")]
#[non_exhaustive]
pub enum DropReason {
    /// The leader refused it.
    Rejected(RejectReason),
    /// Another node's change, ordered before it, removed or replaced what it edits.
    Conflict(Conflict),
    /// It was made after the edit `id`, which was dropped, and could not be moved back
    /// through that edit's inverse.
    AfterDropped {
        /// The dropped edit it was made after.
        id: u64,
    },
    /// The follower resynchronized from a snapshot it could not diff from its confirmed state
    /// (its state had diverged, or a value has no JSON form), so nothing could move the edit.
    Snapshot,
    /// It no longer applies to the follower's state.
    DoesNotApply {
        /// The failing patch's index in the edit.
        index: usize,
        /// Its path.
        path: Path,
        /// Why it does not apply.
        message: String,
    },
}

impl fmt::Display for DropReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DropReason::Rejected(reason) => write!(f, "the leader rejected it: {reason}"),
            DropReason::Conflict(conflict) => conflict.fmt(f),
            DropReason::AfterDropped { id } => write!(
                f,
                "it was made after edit {id}, which was dropped and cannot be undone under it"
            ),
            DropReason::Snapshot => {
                f.write_str("resynchronized from a snapshot: the changes it skips over are unknown")
            }
            DropReason::DoesNotApply {
                index,
                path,
                message,
            } => write!(
                f,
                "its patch {index} at {path} no longer applies: {message}"
            ),
        }
    }
}

/// An edit applied to the follower's state and not yet answered.
struct Pending {
    /// The first edit it holds: edits merged into one change (see
    /// [`Follower::with_batch`]) hold `first..=id`.
    first: u64,
    id: u64,
    /// The patches, as they apply after the confirmed state and the edits before this one.
    patches: Vec<Patch>,
}

/// The change sent and not yet answered.
struct InFlight {
    /// The first edit it holds (its change's id is the last).
    first: u64,
    change: Change,
    /// Whether its edit is in the local state (the front of the pending queue). After a
    /// snapshot skipped over its base, or when it no longer applies locally, it is not: it
    /// waits out of the state for the leader's answer, which alone decides its outcome.
    applied: bool,
}

/// What moving the pending edits through a change gave.
struct Rebased {
    /// The change as it applies after the pending edits kept: what brings the local state
    /// along.
    theirs: Vec<Patch>,
    /// Whether an edit left the queue: the local state must then be built anew.
    took_out: bool,
}

/// A node that follows the leader's order and edits optimistically.
///
/// See the [module docs](super) for the protocol and what it guarantees.
pub struct Follower<T> {
    client: ClientId,
    session: SessionId,
    /// The state at `version`, as the leader has it.
    confirmed: Arc<T>,
    version: u64,
    /// `confirmed` with the pending edits applied: what the user sees. `None` while that is
    /// `confirmed` itself, so that the confirmed state is updated in place.
    local: Option<Arc<T>>,
    pending: VecDeque<Pending>,
    in_flight: Option<InFlight>,
    /// Committed changes that arrived before the ones they follow.
    early: BTreeMap<u64, Committed>,
    next_id: u64,
    events: Vec<FollowerEvent>,
    /// A committed change did not apply: wait for a snapshot.
    diverged: bool,
    /// How many waiting edits go out as one change.
    batch: usize,
    /// The patterns subscribed to, and the changes that touched them.
    subscriptions: Subscriptions<T>,
    /// While messages are received with subscriptions: the patches that took the state
    /// shown so far, or `None` once it changed in a way no patches recorded (an edit
    /// dropped, the local state built anew, a snapshot).
    shown: Option<Vec<Patch>>,
}

impl<T: Draftable> Follower<T> {
    /// A follower in the session the leader opened for it (with [`Leader::join`](super::Leader::join) or by
    /// answering [`ToLeader::Join`]).
    #[must_use]
    pub fn new(welcome: Welcome<T>) -> Self {
        Follower {
            client: welcome.client,
            session: welcome.session,
            confirmed: Arc::new(welcome.snapshot.state),
            version: welcome.snapshot.version,
            local: None,
            pending: VecDeque::new(),
            in_flight: None,
            early: BTreeMap::new(),
            next_id: 1,
            events: Vec::new(),
            diverged: false,
            batch: 1,
            subscriptions: Subscriptions::new(),
            shown: None,
        }
    }

    /// Sends up to `max_edits` waiting edits as one change (at least one): when the leader
    /// is a round trip away, throughput then follows the rate of edits, not of round trips.
    /// The edits of a change are committed or refused together (each still reported with
    /// its own id); an edit that conflicts takes the others of its change with it.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader, ToLeader};
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(Vec::<u32>::new()));
    /// let mut ann = Follower::new(leader.join(1)).with_batch(100);
    /// for n in 0..10 {
    ///     ann.edit(|d| d.push(n));
    /// }
    /// let changes: Vec<_> = ann.poll().into_iter().filter(|m| matches!(m, ToLeader::Change(_))).collect();
    /// assert_eq!(changes.len(), 1);
    /// for message in changes {
    ///     for out in leader.receive(message) {
    ///         ann.receive(out.message);
    ///     }
    /// }
    /// assert_eq!(leader.version(), 1);
    /// assert_eq!(leader.state().len(), 10);
    /// assert!(ann.is_settled());
    /// ```
    #[must_use]
    pub fn with_batch(mut self, max_edits: usize) -> Self {
        self.batch = max_edits.max(1);
        self
    }

    /// This node's client id.
    #[must_use]
    pub fn client(&self) -> ClientId {
        self.client
    }

    /// This node's session.
    #[must_use]
    pub fn session(&self) -> SessionId {
        self.session
    }

    /// The state the user sees: the confirmed state with the pending edits applied.
    #[must_use]
    pub fn state(&self) -> &Arc<T> {
        self.local.as_ref().unwrap_or(&self.confirmed)
    }

    /// The state as of the last confirmed version.
    #[must_use]
    pub fn confirmed(&self) -> &Arc<T> {
        &self.confirmed
    }

    /// The last confirmed version.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The edits in the follower's state that wait for the leader, oldest first: each one's
    /// id and its patches as they now apply after the confirmed state and the edits before
    /// it.
    pub fn pending_edits(&self) -> impl ExactSizeIterator<Item = (u64, &[Patch])> {
        self.pending.iter().map(|p| (p.id, p.patches.as_slice()))
    }

    /// The edits in the follower's state that wait for the leader, as they go out: each
    /// change's edit ids `first..=last` (several when [batched](Follower::with_batch), once
    /// it is sent) and its patches, as [`pending_edits`](Follower::pending_edits) gives them.
    /// An [`UndoManager`](super::UndoManager) tells its steps apart in them.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader};
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(Vec::<u32>::new()));
    /// let mut ann = Follower::new(leader.join(1)).with_batch(10);
    /// ann.edit(|d| d.push(1));
    /// ann.edit(|d| d.push(2));
    /// let _ = ann.poll(); // the two go out as one change
    /// let changes: Vec<_> = ann.pending_changes().map(|(ids, p)| (ids, p.len())).collect();
    /// assert_eq!(changes, [(1..=2, 2)]);
    /// ```
    pub fn pending_changes(
        &self,
    ) -> impl ExactSizeIterator<Item = (std::ops::RangeInclusive<u64>, &[Patch])> {
        self.pending
            .iter()
            .map(|p| (p.first..=p.id, p.patches.as_slice()))
    }

    /// How many edits wait for the leader: those in [`pending_edits`](Follower::pending_edits)
    /// and a change in flight that waits out of the state (after a snapshot).
    #[must_use]
    pub fn pending_count(&self) -> usize {
        self.pending.len() + usize::from(self.in_flight.as_ref().is_some_and(|f| !f.applied))
    }

    /// Whether every edit has been answered and nothing waits to be applied.
    #[must_use]
    pub fn is_settled(&self) -> bool {
        self.pending.is_empty()
            && self.in_flight.is_none()
            && self.early.is_empty()
            && !self.diverged
    }

    /// Edits the local state at once and queues the change for the leader. Returns the
    /// change's id, or `None` when the recipe changed nothing.
    ///
    /// # Panics
    ///
    /// If a written value has no JSON form (see [`produce_with_patches`]).
    pub fn edit<F>(&mut self, recipe: F) -> Option<u64>
    where
        F: FnOnce(&mut PatchDraft<'_, '_, T>),
    {
        let (next, patches, _) = produce_with_patches(self.state(), recipe);
        if patches.is_empty() {
            return None;
        }
        self.subscriptions.notify(&patches, &next);
        Some(self.queue(next, patches))
    }

    /// Shows `next` as the local state and queues `patches` (which lead to it) as a new
    /// change; its id.
    fn queue(&mut self, next: Arc<T>, patches: Vec<Patch>) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.saturating_add(1);
        self.local = Some(next);
        self.pending.push_back(Pending {
            first: id,
            id,
            patches,
        });
        id
    }

    /// Edits the local state at once with patches made against it, and queues the change:
    /// what [`edit`](Follower::edit) does with the patches of a recipe, for patches made
    /// elsewhere (an undo's, a replay of another client's recording). Returns the change's
    /// id, or `None` when there are no patches. The patches are sent as they are given; the
    /// leader writes them as the state's types do when it commits them.
    ///
    /// # Errors
    ///
    /// A [`PatchError`](crate::PatchError) when a patch does not apply to
    /// [`state`](Follower::state); nothing changes then.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader};
    /// use immer_core::{Patch, Path};
    /// use serde_json::json;
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(vec![1_u32, 2]));
    /// let mut ann = Follower::new(leader.join(1));
    /// let at = |p: &str| Path::from_pointer(p).unwrap();
    /// assert_eq!(ann.edit_patches(&[Patch::replace(at("/0"), json!(10))]), Ok(Some(1)));
    /// assert_eq!(**ann.state(), [10, 2]);
    /// assert!(ann.edit_patches(&[Patch::remove(at("/7"))]).is_err());
    /// assert_eq!(ann.pending_count(), 1);
    /// ```
    pub fn edit_patches(&mut self, patches: &[Patch]) -> Result<Option<u64>, crate::PatchError> {
        if patches.is_empty() {
            return Ok(None);
        }
        let mut next = Arc::clone(self.state());
        // A copy of the root (the follower holds the state too): an error leaves it as it was.
        apply_patches_mut(Arc::make_mut(&mut next), patches)?;
        self.subscriptions.notify(patches, &next);
        Ok(Some(self.queue(next, patches.to_vec())))
    }

    /// What to send now: the change in flight (sent again until the leader answers it; the
    /// leader ignores duplicates), and a request for anything committed after this
    /// follower's version (or for a snapshot, after [`FollowerEvent::Diverged`]).
    pub fn poll(&mut self) -> Vec<ToLeader> {
        if self.in_flight.is_none() {
            self.merge_front();
            if let Some(next) = self.pending.front() {
                self.in_flight = Some(InFlight {
                    first: next.first,
                    change: Change {
                        author: None,
                        client: self.client,
                        session: self.session,
                        id: next.id,
                        base: self.version,
                        patches: next.patches.clone(),
                    },
                    applied: true,
                });
            }
        }
        let mut out: Vec<ToLeader> = self
            .in_flight
            .iter()
            .map(|f| ToLeader::Change(f.change.clone()))
            .collect();
        out.push(if self.diverged {
            ToLeader::SnapshotRequest {
                session: self.session,
            }
        } else {
            ToLeader::Resync {
                session: self.session,
                version: self.version,
            }
        });
        out
    }

    /// Handles one message from the leader. See [`receive_all`](Follower::receive_all) for
    /// many at once.
    pub fn receive(&mut self, message: ToFollower<T>) {
        self.receive_all(std::iter::once(message));
    }

    /// Handles messages from the leader, in the order given, as [`receive`](Follower::receive)
    /// would one by one, with a run of committed changes applied together: the pending
    /// edits are moved through the whole run at once and the local state is brought along
    /// once, so a follower that is far behind catches up in one step.
    ///
    /// Time: for a run of committed changes, O(patches of the run × patches pending) path
    /// comparisons, plus applying the run twice (to the confirmed state and to the local
    /// one), each in place when no one else holds the state. Building the local state anew
    /// from the confirmed one (O(the path copies of every pending edit)) happens only when a
    /// pending edit is dropped or no longer applies.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader, ToLeader};
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(Vec::<u32>::new()));
    /// let mut ann = Follower::new(leader.join(1));
    /// let mut bob = Follower::new(leader.join(2));
    /// for n in 0..100 {
    ///     bob.edit(|d| d.push(n));
    ///     for message in bob.poll() {
    ///         for out in leader.receive(message) {
    ///             bob.receive(out.message);
    ///         }
    ///     }
    /// }
    /// ann.edit(|d| d.push(1000));
    /// // Ann catches up with everything she missed at once.
    /// let resync = ToLeader::Resync { session: ann.session(), version: ann.version() };
    /// ann.receive_all(leader.receive(resync).into_iter().map(|out| out.message));
    /// assert_eq!(ann.version(), 100);
    /// assert_eq!(ann.state().len(), 101);
    /// assert_eq!(ann.state()[100], 1000);
    /// ```
    pub fn receive_all(&mut self, messages: impl IntoIterator<Item = ToFollower<T>>) {
        if self.subscriptions.is_empty() {
            self.receive_messages(messages);
            return;
        }
        // Held, the state shown before is copied on write, to diff with the state after
        // when the patches between them are not known.
        let before = Arc::clone(self.state());
        self.shown = Some(Vec::new());
        self.receive_messages(messages);
        let after = Arc::clone(self.state());
        match self.shown.take() {
            Some(patches) => self.subscriptions.notify(&patches, &after),
            None => self.subscriptions.notify_between(&before, &after),
        }
    }

    /// Notes that the state shown changed by `patches`.
    fn show(&mut self, patches: &[Patch]) {
        if let Some(shown) = self.shown.as_mut() {
            shown.extend_from_slice(patches);
        }
    }

    /// [`receive_all`](Follower::receive_all), without reporting to subscriptions.
    fn receive_messages(&mut self, messages: impl IntoIterator<Item = ToFollower<T>>) {
        for message in messages {
            match message {
                ToFollower::Committed(committed) => {
                    if !self.diverged && committed.version > self.version {
                        self.early.insert(committed.version, committed);
                    }
                }
                ToFollower::Rejected(rejected) => {
                    self.apply_ready();
                    self.apply_rejected(rejected);
                }
                ToFollower::Snapshot(snapshot) => {
                    self.apply_ready();
                    self.apply_snapshot(snapshot);
                }
                // A follower has its session; a welcome for another joiner is not for it.
                ToFollower::Welcome(_) => {}
            }
        }
        self.apply_ready();
    }

    /// The id of the change in flight, if any.
    fn in_flight_id(&self) -> Option<u64> {
        self.in_flight.as_ref().map(|f| f.change.id)
    }

    /// Whether `committed` is this follower's change in flight.
    fn is_own(&self, committed: &Committed) -> bool {
        committed.session == self.session && self.in_flight_id() == Some(committed.id)
    }

    /// Applies the committed changes that follow the confirmed version, in order. Other
    /// nodes' changes in a row are moved through the pending edits together; the local state
    /// is brought along once at the end (or built anew when an edit left the queue).
    fn apply_ready(&mut self) {
        let mut tail: Vec<Patch> = Vec::new();
        let mut rebuild = false;
        let mut others: Vec<Committed> = Vec::new();
        loop {
            let next = u64::try_from(others.len())
                .ok()
                .and_then(|n| self.version.checked_add(n + 1))
                .and_then(|v| self.early.remove(&v));
            let own = next.as_ref().is_some_and(|c| self.is_own(c));
            if (next.is_none() || own) && !others.is_empty() {
                let run = std::mem::take(&mut others);
                rebuild |= self.apply_others(&run, &mut tail);
            }
            match next {
                _ if self.diverged => break,
                None => break,
                Some(committed) if own => rebuild |= self.apply_own(&committed, &mut tail),
                Some(committed) => others.push(committed),
            }
        }
        let version = self.version;
        self.early.retain(|v, _| *v > version);
        self.refresh_local(&tail, rebuild);
    }

    /// Applies a run of other nodes' changes (consecutive versions): the pending edits move
    /// through all of them at once. Returns whether an edit left the queue; `tail` gets the
    /// run as it applies to the local state.
    fn apply_others(&mut self, run: &[Committed], tail: &mut Vec<Patch>) -> bool {
        let mut rebuild = false;
        if !self.pending.is_empty() {
            let base = Arc::clone(&self.confirmed);
            let theirs = Through::new(run.iter().flat_map(|c| &c.patches));
            let rebased = self.rebase(&base, theirs, None);
            rebuild = self.keep_along(rebased, tail);
        }
        for committed in run {
            if !self.advance(committed) {
                // Not the leader's history: the edits are decided when the snapshot comes.
                break;
            }
        }
        rebuild
    }

    /// Takes what a rebase gave for the local state: `tail` gets the change as it applies
    /// after the pending edits, or, when an edit left the queue or the tail would be longer
    /// than the pending edits (applying those again costs less), the local state is let go
    /// now, to be built anew at the end (and the confirmed state is updated in place,
    /// sharing nothing with it). Returns whether it was let go.
    fn keep_along(&mut self, rebased: Rebased, tail: &mut Vec<Patch>) -> bool {
        let pending: usize = self.pending.iter().map(|p| p.patches.len()).sum();
        if rebased.took_out || tail.len() + rebased.theirs.len() > pending.max(64) {
            self.local = None;
            self.shown = None;
            tail.clear();
            true
        } else {
            if !self.pending.is_empty() {
                // The local state, which is shown, is brought along these.
                self.show(&rebased.theirs);
            }
            tail.extend(rebased.theirs);
            false
        }
    }

    /// Applies this follower's own change in flight, committed. Returns whether an edit
    /// left the queue.
    fn apply_own(&mut self, committed: &Committed, tail: &mut Vec<Patch>) -> bool {
        let Some(in_flight) = self.in_flight.as_ref() else {
            return false;
        };
        let (first, applied) = (in_flight.first, in_flight.applied);
        let same = applied
            && self
                .pending
                .front()
                .is_some_and(|p| p.patches == committed.patches);
        // The state it applies to, to undo the local form of the change through when it
        // differs (a copy only then).
        let base = (!same).then(|| Arc::clone(&self.confirmed));
        if !self.advance(committed) {
            return false;
        }
        self.in_flight = None;
        let took_out = match base {
            // Moved through the same changes here and at the leader: the rest of the queue
            // already applies after it, and the local state already holds it.
            None => {
                self.pending.pop_front();
                false
            }
            Some(base) => {
                // Committed in another form than the local one: take the local one out and
                // move the rest through the committed one. When it waited out of the state,
                // to the queue it is another node's change.
                let drop = applied.then_some((committed.id, None));
                let rebased = self.rebase(&base, Through::new(&committed.patches), drop);
                self.keep_along(rebased, tail)
            }
        };
        for change_id in first..=committed.id {
            self.events.push(FollowerEvent::Accepted {
                id: change_id,
                version: committed.version,
            });
        }
        took_out
    }

    /// Applies a committed change to the confirmed state (in place when no one else holds
    /// it). `false` when it does not apply: the follower has diverged, and its confirmed
    /// state, no longer the leader's, waits for a snapshot to replace it.
    fn advance(&mut self, committed: &Committed) -> bool {
        match apply_in_place(Arc::make_mut(&mut self.confirmed), &committed.patches) {
            Ok(()) => {
                if self.pending.is_empty() {
                    // The confirmed state is the one shown.
                    self.show(&committed.patches);
                }
                self.version = committed.version;
                self.events.push(FollowerEvent::Applied(self.version));
                true
            }
            Err(error) => {
                // Not the leader's history: say so, and take nothing more until a snapshot.
                // The patches before the failing one may have applied (in place, with no
                // rollback): what the state shown became is told by a diff, not by patches.
                self.shown = None;
                self.diverged = true;
                self.early.clear();
                self.events.push(FollowerEvent::Diverged {
                    version: committed.version,
                    error: error.to_string(),
                });
                false
            }
        }
    }

    /// Brings the local state along `tail` (what was applied to the confirmed state, as it
    /// applies after the pending edits), or builds it anew (see
    /// [`keep_along`](Follower::keep_along)).
    fn refresh_local(&mut self, tail: &[Patch], rebuild: bool) {
        if !rebuild && !tail.is_empty() {
            if let Some(local) = self.local.as_mut() {
                if apply_in_place(Arc::make_mut(local), tail).is_err() {
                    self.local = None;
                    self.shown = None;
                }
            }
        }
        if self.pending.is_empty() {
            self.local = None;
        } else if rebuild || self.local.is_none() {
            self.rebuild_local();
        }
    }

    fn apply_rejected(&mut self, rejected: Rejected) {
        if rejected.session != self.session || self.in_flight_id() != Some(rejected.id) {
            return;
        }
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        let reason = DropReason::Rejected(rejected.reason);
        if in_flight.applied {
            let base = Arc::clone(&self.confirmed);
            self.rebase(&base, Through::default(), Some((rejected.id, Some(reason))));
            self.rebuild_local();
        } else {
            self.report_dropped(in_flight.first, rejected.id, &reason);
        }
    }

    fn apply_snapshot(&mut self, snapshot: Snapshot<T>) {
        if snapshot.version < self.version || (snapshot.version == self.version && !self.diverged) {
            return;
        }
        self.shown = None;
        let state = Arc::new(snapshot.state);
        // What the snapshot changed since the confirmed state, as patches: the pending edits
        // move through it as through another node's change (a diverged state is not the
        // leader's, so nothing can be moved through it).
        let theirs = if self.diverged {
            None
        } else {
            crate::diff::diff_for_rebase(&*self.confirmed, &*state).ok()
        };
        // The change in flight: the snapshot may say how it ended. Either way it leaves the
        // queue here: its effect is in the snapshot, it was refused, or it waits, out of the
        // state, for the leader's answer (it cannot be moved through what the snapshot skips,
        // and only the leader can decide it).
        let mut taken_out = None;
        if let Some(in_flight) = self.in_flight.take() {
            let id = in_flight.change.id;
            let first = in_flight.first;
            let answered = snapshot
                .answered
                .filter(|answered| answered.id == id)
                .map(|answered| answered.outcome);
            let reason = match answered {
                Some(Outcome::Committed { version }) => {
                    for change_id in first..=id {
                        self.events.push(FollowerEvent::Accepted {
                            id: change_id,
                            version,
                        });
                    }
                    None
                }
                Some(Outcome::Rejected(reason)) => Some(DropReason::Rejected(reason)),
                None => {
                    self.in_flight = Some(InFlight {
                        applied: false,
                        ..in_flight
                    });
                    None
                }
            };
            if in_flight.applied {
                taken_out = Some((id, reason));
            } else if let Some(reason) = reason {
                self.report_dropped(first, id, &reason);
            }
        }
        if let Some((theirs, _)) = theirs {
            let base = Arc::clone(&self.confirmed);
            self.rebase(&base, Through::new(&theirs), taken_out);
        } else {
            // No way to move the edits not sent yet: they are dropped and reported.
            let in_flight = taken_out.as_ref().map(|(id, _)| *id);
            for pending in std::mem::take(&mut self.pending) {
                match &taken_out {
                    Some((id, Some(reason))) if *id == pending.id => {
                        self.report_dropped(pending.first, pending.id, reason);
                    }
                    _ if Some(pending.id) != in_flight => {
                        self.report_dropped(pending.first, pending.id, &DropReason::Snapshot);
                    }
                    _ => {}
                }
            }
        }
        self.confirmed = state;
        self.version = snapshot.version;
        self.diverged = false;
        self.early.retain(|v, _| *v > snapshot.version);
        self.events.push(FollowerEvent::Applied(self.version));
        self.rebuild_local();
    }

    /// Moves the pending edits through `theirs` (made against `base`, the confirmed state
    /// the queue applies to, and ordered before the edits), taking out each that conflicts
    /// and the one named by `drop` (reported with its reason, or silently for `None`).
    ///
    /// The edits after one taken out are moved back through its exact inverse (computed from
    /// `base`, only when something is taken out), so that they still land where their author
    /// meant them to. One that cannot be, or that writes a whole value inside which the edit
    /// taken out changed something (it carries that change), depends on it and is taken out
    /// too: as [`DropReason::AfterDropped`] when that edit was dropped, or for the reason it
    /// left when it is the change in flight, which only the leader decides.
    ///
    /// Walking the queue, `theirs` is kept as it applies after the edits kept so far, and
    /// `undo` as the patches that take the old queue's state back to the kept edits' state.
    /// The change in flight is never dropped here: when it conflicts, it leaves the state and
    /// waits for the leader's answer.
    fn rebase(
        &mut self,
        base: &Arc<T>,
        mut theirs: Through,
        mut drop: Option<(u64, Option<DropReason>)>,
    ) -> Rebased {
        let old = std::mem::take(&mut self.pending);
        let mut kept = VecDeque::with_capacity(old.len());
        let mut undo = Through::default();
        // For each edit taken out, the reason the edits depending on it go for (`None`: the
        // conflict with its inverse).
        let mut taken_out: Vec<Option<DropReason>> = Vec::new();
        let mut inverses: Option<Vec<Vec<Patch>>> = None;
        for (n, pending) in old.iter().enumerate() {
            let outcome = if let Some((_, reason)) = drop.take_if(|(id, _)| *id == pending.id) {
                Err(reason)
            } else {
                let before = (!undo.is_empty()).then(|| undo.clone());
                let back = match &before {
                    None => Ok(std::borrow::Cow::Borrowed(pending.patches.as_slice())),
                    Some(_) => undo
                        .pass(&pending.patches, Rule::AFTER_DROPPED)
                        .map(std::borrow::Cow::Owned),
                };
                match back {
                    Err(blocked) => Err(Some(
                        taken_out[blocked.owner]
                            .clone()
                            .unwrap_or(DropReason::Conflict(blocked.conflict)),
                    )),
                    Ok(mine) => theirs.pass(&mine, Rule::CONCURRENT).map_err(|blocked| {
                        // It stays out: `undo` goes back to before it.
                        if let Some(before) = before {
                            undo = before;
                        }
                        Some(DropReason::Conflict(blocked.conflict))
                    }),
                }
            };
            match outcome {
                Ok(patches) => kept.push_back(Pending {
                    first: pending.first,
                    id: pending.id,
                    patches,
                }),
                Err(reason) => {
                    let in_flight = self
                        .in_flight
                        .as_mut()
                        .filter(|f| f.applied && f.change.id == pending.id);
                    let depending = match (in_flight, reason) {
                        // Sent: the leader decides it.
                        (Some(in_flight), Some(reason)) => {
                            in_flight.applied = false;
                            Some(reason)
                        }
                        (_, Some(reason)) => {
                            self.report_dropped(pending.first, pending.id, &reason);
                            Some(DropReason::AfterDropped { id: pending.id })
                        }
                        (_, None) => None,
                    };
                    let inverse = structural_inverse(&pending.patches).unwrap_or_else(|| {
                        let inverses = inverses.get_or_insert_with(|| exact_inverses(base, &old));
                        std::mem::take(&mut inverses[n])
                    });
                    undo.prepend(&inverse, taken_out.len());
                    taken_out.push(depending);
                }
            }
        }
        self.pending = kept;
        Rebased {
            theirs: theirs.into_patches(),
            took_out: !taken_out.is_empty(),
        }
    }

    /// `local` = `confirmed` + pending edits, built anew (one copy of the confirmed state's
    /// root, then each edit in place). An edit that no longer applies is taken out with
    /// every edit after it (the one in flight waits for the leader's answer; the others are
    /// dropped and reported).
    fn rebuild_local(&mut self) {
        self.shown = None;
        if self.pending.is_empty() {
            self.local = None;
            return;
        }
        let mut local = Arc::clone(&self.confirmed);
        let state = Arc::make_mut(&mut local);
        for at in 0..self.pending.len() {
            let Err(error) = apply_patches_mut(state, &self.pending[at].patches) else {
                continue;
            };
            let failed = self.pending[at].id;
            let does_not_apply = DropReason::DoesNotApply {
                index: error.index,
                path: error.path.clone(),
                message: error.kind.to_string(),
            };
            // The reason the edits after it go for: it, when it was dropped; when it is the
            // change in flight (which waits), the same as its own.
            let mut depending = does_not_apply.clone();
            let drained: Vec<Pending> = self.pending.drain(at..).collect();
            for (n, pending) in drained.into_iter().enumerate() {
                let in_flight = self
                    .in_flight
                    .as_mut()
                    .filter(|f| f.applied && f.change.id == pending.id);
                if let Some(in_flight) = in_flight {
                    in_flight.applied = false;
                    continue;
                }
                let reason = if n == 0 {
                    depending = DropReason::AfterDropped { id: failed };
                    &does_not_apply
                } else {
                    &depending
                };
                self.report_dropped(pending.first, pending.id, reason);
            }
            break;
        }
        self.local = (!self.pending.is_empty()).then_some(local);
    }

    /// Merges up to `batch` edits at the front of the queue into one, to send as one change.
    fn merge_front(&mut self) {
        // Only edits with consecutive ids: a merged change holds `first..=id`.
        let mut take = 1;
        while take < self.batch.min(self.pending.len())
            && self.pending[take].first == self.pending[take - 1].id + 1
        {
            take += 1;
        }
        if take < 2 {
            return;
        }
        let merged: Vec<Pending> = self.pending.drain(..take).collect();
        let first = merged[0].first;
        let id = merged[take - 1].id;
        let patches = merged.into_iter().flat_map(|p| p.patches).collect();
        self.pending.push_front(Pending { first, id, patches });
    }

    /// Reports the edits `first..=last` (one pending edit or change) as dropped.
    fn report_dropped(&mut self, first: u64, last: u64, reason: &DropReason) {
        for change_id in first..=last {
            self.events.push(FollowerEvent::Dropped {
                id: change_id,
                reason: reason.clone(),
            });
        }
    }

    /// The events since the last call: versions applied, own changes accepted or dropped.
    pub fn take_events(&mut self) -> Vec<FollowerEvent> {
        std::mem::take(&mut self.events)
    }

    /// Subscribes to the changes of the state this follower shows ([`state`](Follower::state))
    /// that touch `pattern` (see [`PathPattern::touches`](crate::PathPattern::touches)): a
    /// typed path of `T` or a parsed [`PathPattern`](crate::PathPattern). Each change is then
    /// reported by [`take_path_changes`](Follower::take_path_changes), with the patches of
    /// it that touch the pattern and the state after it.
    ///
    /// A local edit is reported with its own patches. A run of messages from the leader
    /// ([`receive_all`](Follower::receive_all): committed changes, a refusal, a snapshot)
    /// is reported as one change: the patches that take the state shown before it to the
    /// state shown after. Those are the committed changes as they apply to the state shown
    /// (after the pending edits, moved through them); when the run drops an edit and reverts
    /// its effect, builds the local state anew, or brings a snapshot, they are the
    /// [`diff`](crate::diff) between the two states. The law: when the value at a path
    /// a pattern names differs before and after a change, the change is reported to the
    /// pattern's subscriptions; and every patch reported touches the pattern.
    ///
    /// Time: nothing while nobody subscribes. With subscriptions, a local edit costs
    /// O(subscriptions × patches); a run of messages holds the state shown before (its root
    /// is copied on the first write) and diffs it with the state after, O(what differs).
    /// The changes wait until taken, as the events do: take them after each call that can
    /// change the state shown, or they pile up (each holds the state after it).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader, Recipient};
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(vec![0_u32, 0]));
    /// let mut ann = Follower::new(leader.join(1));
    /// let mut bob = Follower::new(leader.join(2));
    /// let second = ann.subscribe(immer_core::path::<Vec<u32>>().at(1));
    /// bob.edit(|d| d.get_mut(0).unwrap().set(5));
    /// bob.edit(|d| d.get_mut(1).unwrap().set(7));
    /// for _ in 0..2 {
    ///     for message in bob.poll() {
    ///         for out in leader.receive(message) {
    ///             if out.to == Recipient::All {
    ///                 ann.receive(out.message.clone());
    ///             }
    ///             bob.receive(out.message);
    ///         }
    ///     }
    /// }
    /// let changes = ann.take_path_changes();
    /// assert_eq!(changes.len(), 1, "only the change of the second element");
    /// assert_eq!(changes[0].subscription, second);
    /// assert_eq!(changes[0].patches[0].path.to_pointer(), "/1");
    /// assert_eq!(*changes[0].state, [5, 7]);
    /// assert!(ann.unsubscribe(second));
    /// ```
    pub fn subscribe(&mut self, pattern: impl crate::PatternOf<T>) -> SubscriptionId {
        self.subscriptions.subscribe(pattern)
    }

    /// Ends the subscription `id`, dropping its changes not taken yet. Whether it was
    /// subscribed.
    pub fn unsubscribe(&mut self, id: SubscriptionId) -> bool {
        self.subscriptions.unsubscribe(id)
    }

    /// The changes that touched a subscription's pattern since the last call, in order (see
    /// [`subscribe`](Follower::subscribe)).
    pub fn take_path_changes(&mut self) -> Vec<PathChange<T>> {
        self.subscriptions.take_changes()
    }
}

/// Keeping a follower across restarts: see the
/// [module docs](super#keeping-a-follower-across-restarts) for when to save.
impl<T: Draftable> Follower<T> {
    /// The follower's durable part (see [`SavedFollower`]), to keep in a [`FollowerStore`]
    /// (or any serde format): [`restore`](Follower::restore) goes on from it exactly as this
    /// follower would have gone on.
    ///
    /// Time: O(the pending edits' patches); the states are shared, not copied.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader};
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(vec![1_u32]));
    /// let mut ann = Follower::new(leader.join(7));
    /// ann.edit(|d| d.push(2));
    /// let saved = ann.save();
    /// assert_eq!((saved.client(), saved.pending_count(), saved.next_id()), (7, 1, 2));
    /// ```
    #[must_use]
    pub fn save(&self) -> SavedFollower<T> {
        SavedFollower {
            client: self.client,
            session: self.session,
            version: self.version,
            confirmed: Arc::clone(&self.confirmed),
            local: self.local.clone(),
            pending: self
                .pending
                .iter()
                .map(|p| SavedEdit {
                    first: p.first,
                    id: p.id,
                    patches: p.patches.clone(),
                })
                .collect(),
            in_flight: self.in_flight.as_ref().map(|f| SavedChange {
                first: f.first,
                change: SavedChangeMessage {
                    kind: ChangeTag::Change,
                    id: f.change.id,
                    base: f.change.base,
                    patches: f.change.patches.clone(),
                },
                applied: f.applied,
            }),
            early: self.early.values().cloned().collect(),
            next_id: self.next_id,
            diverged: self.diverged,
            events: self.events.clone(),
            batch: self.batch,
        }
    }

    /// A follower from what [`save`](Follower::save) gave (by this process or another, or by
    /// the JavaScript client's `Follower.save`, read with
    /// [`SavedFollower::from_slice`]): from there it sends, applies and reports exactly
    /// what the saved one would have, in its session. Its state is the confirmed one with
    /// the pending edits applied, at once; [`poll`](Follower::poll) sends the change in
    /// flight again, and the leader answers it once.
    ///
    /// Time: O(the path copies of the pending edits), as building the local state anew.
    ///
    /// # Errors
    ///
    /// [`PersistError::Inconsistent`] when its parts do not fit together: edit ids out of
    /// order or not below the next id, a change in flight that is not where it would be, or
    /// a pending edit that does not apply to the confirmed state.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader};
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(Vec::<u32>::new()));
    /// let mut ann = Follower::new(leader.join(1));
    /// ann.edit(|d| d.push(1));
    /// let sent = ann.poll();
    /// let mut again = Follower::restore(ann.save()).unwrap();
    /// assert_eq!(again.state(), ann.state());
    /// assert_eq!(again.poll(), sent, "the change in flight, sent again");
    /// ```
    pub fn restore(saved: SavedFollower<T>) -> Result<Self, PersistError> {
        let SavedFollower {
            client,
            session,
            version,
            confirmed,
            local: _,
            pending,
            in_flight,
            early,
            next_id,
            diverged,
            events,
            batch,
        } = saved;
        let inconsistent = |reason: String| Err(PersistError::Inconsistent(reason));
        let mut last = 0;
        for edit in &pending {
            if edit.first > edit.id || edit.first <= last {
                return inconsistent(format!(
                    "its pending edit {}..={} does not follow edit {last}",
                    edit.first, edit.id
                ));
            }
            last = edit.id;
        }
        if let Some(f) = &in_flight {
            let (first, id) = (f.first, f.change.id);
            let front = pending.first().map(|p| (p.first, p.id));
            let placed = if f.applied {
                front == Some((first, id))
            } else {
                first <= id && front.is_none_or(|(next, _)| id < next)
            };
            if !placed {
                return inconsistent(format!(
                    "its change in flight {first}..={id} is not where it would be (applied: {}, \
                     first pending edit: {front:?})",
                    f.applied
                ));
            }
            last = last.max(id);
        }
        // Ids are the JavaScript client's numbers too, and are counted on from here.
        if next_id <= last || next_id == 0 || next_id > MAX_SAFE_ID {
            return inconsistent(format!(
                "its next edit id {next_id} is not after its edits (up to {last}) and at most {MAX_SAFE_ID}"
            ));
        }
        let mut follower = Follower {
            client,
            session,
            confirmed,
            version,
            local: None,
            pending: pending
                .into_iter()
                .map(|edit| Pending {
                    first: edit.first,
                    id: edit.id,
                    patches: edit.patches,
                })
                .collect(),
            in_flight: in_flight.map(|f| InFlight {
                first: f.first,
                change: Change {
                    author: None,
                    client,
                    session,
                    id: f.change.id,
                    base: f.change.base,
                    patches: f.change.patches,
                },
                applied: f.applied,
            }),
            early: early
                .into_iter()
                .filter(|c| c.version > version)
                .map(|c| (c.version, c))
                .collect(),
            next_id,
            events,
            diverged,
            batch: batch.max(1),
            subscriptions: Subscriptions::new(),
            shown: None,
        };
        if !follower.pending.is_empty() {
            let mut local = Arc::clone(&follower.confirmed);
            let state = Arc::make_mut(&mut local);
            for pending in &follower.pending {
                if let Err(error) = apply_patches_mut(state, &pending.patches) {
                    return inconsistent(format!(
                        "its pending edit {} does not apply to its confirmed state: {error}",
                        pending.id
                    ));
                }
            }
            follower.local = Some(local);
        }
        Ok(follower)
    }

    /// Saves the follower in `store` (its [`SavedFollower`] as JSON), replacing what it
    /// held.
    ///
    /// Time: O(the state, twice while edits wait), and the store's write.
    ///
    /// # Errors
    ///
    /// [`PersistError::Io`] when the store fails (what it held stays), or
    /// [`PersistError::Encode`] when the state has no JSON form.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, FollowerStore, Leader, MemoryStore};
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(Vec::<u32>::new()));
    /// let mut ann = Follower::new(leader.join(1));
    /// let mut store = MemoryStore::new();
    /// ann.edit(|d| d.push(1));
    /// ann.save_to(&mut store).unwrap();
    /// assert!(store.load().unwrap().is_some());
    /// ```
    pub fn save_to<S: FollowerStore + ?Sized>(&self, store: &mut S) -> Result<(), PersistError> {
        store.save(&self.save().to_vec()?)?;
        Ok(())
    }

    /// The follower `store` holds, restored, or `None` when it holds none.
    ///
    /// Time: O(the bytes), and [`restore`](Follower::restore)'s.
    ///
    /// # Errors
    ///
    /// [`PersistError::Io`] when the store fails; any other [`PersistError`] when what it
    /// holds is not a saved follower of this type (cut short, not JSON, another format,
    /// another document type, parts that do not fit): [`remove`](FollowerStore::remove) it
    /// to start fresh.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, FollowerStore, Leader, MemoryStore};
    /// use std::sync::Arc;
    ///
    /// let mut leader = Leader::new(Arc::new(Vec::<u32>::new()));
    /// let mut store = MemoryStore::new();
    /// let ann = match Follower::load_from(&store).unwrap() {
    ///     Some(saved) => saved,
    ///     None => Follower::new(leader.join(1)),
    /// };
    /// ann.save_to(&mut store).unwrap();
    /// let again = Follower::<Vec<u32>>::load_from(&store).unwrap().expect("saved");
    /// assert_eq!(again.session(), ann.session());
    /// ```
    pub fn load_from<S: FollowerStore + ?Sized>(store: &S) -> Result<Option<Self>, PersistError> {
        let Some(bytes) = store.load()? else {
            return Ok(None);
        };
        Follower::restore(SavedFollower::from_slice(&bytes)?).map(Some)
    }
}

/// The inverse of `patches` as far as moving paths through it goes (its values are not the
/// ones it would write back, and it is never applied), when the patches alone tell it: each
/// `replace` undone by a `replace` of its path, each removal by an insert at its index (a
/// set's removal by value, by an add of that value). `None` when an `add` is among them
/// (a list's insert and a set's add look alike; an add of a key may have replaced one), or
/// a `move`, `copy` or `test`.
fn structural_inverse(patches: &[Patch]) -> Option<Vec<Patch>> {
    patches
        .iter()
        .rev()
        .map(|patch| match (patch.op, patch.path.last()) {
            (PatchOp::Replace, _) => {
                Some(Patch::replace(patch.path.clone(), serde_json::Value::Null))
            }
            (PatchOp::Remove, Some(PathSegment::Index(_))) => Some(Patch::add(
                patch.path.clone(),
                patch.value.clone().unwrap_or(serde_json::Value::Null),
            )),
            _ => None,
        })
        .collect()
}

/// The exact inverse of each edit of `queue`, applied in order to `base`: one copy of its
/// root, then each edit in place. An edit that does not apply (it cannot happen to a queue
/// built on `base`) and those after it get none.
fn exact_inverses<T: Draftable>(base: &Arc<T>, queue: &VecDeque<Pending>) -> Vec<Vec<Patch>> {
    let mut state = Arc::clone(base);
    let state = Arc::make_mut(&mut state);
    let mut failed = false;
    queue
        .iter()
        .map(|pending| {
            if failed {
                return Vec::new();
            }
            apply_mut_with_inverse(state, &pending.patches).unwrap_or_else(|_| {
                failed = true;
                Vec::new()
            })
        })
        .collect()
}

/// The JSON forms of the events and the reasons, tagged as the JavaScript client writes them.
mod wire {
    use serde::{Deserialize, Serialize};

    use crate::path::Path;
    use crate::sync::RejectReason;
    use crate::transform::Conflict;

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "type", rename_all = "camelCase")]
    pub(super) enum FollowerEvent {
        Applied { version: u64 },
        Accepted { id: u64, version: u64 },
        Dropped { id: u64, reason: super::DropReason },
        Diverged { version: u64, error: String },
    }

    impl From<super::FollowerEvent> for FollowerEvent {
        fn from(event: super::FollowerEvent) -> Self {
            match event {
                super::FollowerEvent::Applied(version) => FollowerEvent::Applied { version },
                super::FollowerEvent::Accepted { id, version } => {
                    FollowerEvent::Accepted { id, version }
                }
                super::FollowerEvent::Dropped { id, reason } => {
                    FollowerEvent::Dropped { id, reason }
                }
                super::FollowerEvent::Diverged { version, error } => {
                    FollowerEvent::Diverged { version, error }
                }
            }
        }
    }

    impl From<FollowerEvent> for super::FollowerEvent {
        fn from(event: FollowerEvent) -> Self {
            match event {
                FollowerEvent::Applied { version } => super::FollowerEvent::Applied(version),
                FollowerEvent::Accepted { id, version } => {
                    super::FollowerEvent::Accepted { id, version }
                }
                FollowerEvent::Dropped { id, reason } => {
                    super::FollowerEvent::Dropped { id, reason }
                }
                FollowerEvent::Diverged { version, error } => {
                    super::FollowerEvent::Diverged { version, error }
                }
            }
        }
    }

    #[derive(Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "camelCase")]
    pub(super) enum DropReason {
        Rejected {
            reason: RejectReason,
            #[serde(default)]
            message: String,
        },
        Conflict {
            conflict: Conflict,
        },
        AfterDropped {
            id: u64,
        },
        Snapshot,
        DoesNotApply {
            index: usize,
            path: Path,
            message: String,
        },
    }

    impl From<super::DropReason> for DropReason {
        fn from(reason: super::DropReason) -> Self {
            match reason {
                super::DropReason::Rejected(reason) => DropReason::Rejected {
                    message: reason.to_string(),
                    reason,
                },
                super::DropReason::Conflict(conflict) => DropReason::Conflict { conflict },
                super::DropReason::AfterDropped { id } => DropReason::AfterDropped { id },
                super::DropReason::Snapshot => DropReason::Snapshot,
                super::DropReason::DoesNotApply {
                    index,
                    path,
                    message,
                } => DropReason::DoesNotApply {
                    index,
                    path,
                    message,
                },
            }
        }
    }

    impl From<DropReason> for super::DropReason {
        fn from(reason: DropReason) -> Self {
            match reason {
                DropReason::Rejected { reason, .. } => super::DropReason::Rejected(reason),
                DropReason::Conflict { conflict } => super::DropReason::Conflict(conflict),
                DropReason::AfterDropped { id } => super::DropReason::AfterDropped { id },
                DropReason::Snapshot => super::DropReason::Snapshot,
                DropReason::DoesNotApply {
                    index,
                    path,
                    message,
                } => super::DropReason::DoesNotApply {
                    index,
                    path,
                    message,
                },
            }
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Follower<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follower")
            .field("client", &self.client)
            .field("session", &self.session)
            .field("version", &self.version)
            .field("pending", &self.pending.len())
            .field("state", self.local.as_ref().unwrap_or(&self.confirmed))
            .finish_non_exhaustive()
    }
}
