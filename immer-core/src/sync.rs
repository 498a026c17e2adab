//! Keeping one state consistent across nodes by shipping patches: a [`Leader`] orders
//! changes, [`Follower`]s apply them in that order and edit optimistically.
//!
//! The module is transport-agnostic: every message is a serde type, to send as JSON (or
//! anything serde writes) over whatever connects the nodes. Feed what arrives to
//! [`Leader::receive`] or [`Follower::receive`], send what they return, and call
//! [`Follower::poll`] now and then (on a timer, after an edit): it returns what the follower
//! needs to send, retransmissions included.
//!
//! # The protocol
//!
//! - A follower's edit is applied to its own state at once and queued as a [`Change`]. One
//!   change at a time is in flight: the next is sent when the leader has answered the one
//!   before, so each change is based on a version the follower has confirmed.
//! - The leader moves a change made against an older version through the changes committed
//!   since (see [`transform`](crate::transform)): list indices shift with the inserts and
//!   removals committed before them, and an edit of an element or key removed or replaced
//!   meanwhile is rejected. It then applies the change atomically, gives it the next version,
//!   and returns a [`Committed`] for every follower, or a [`Rejected`] for its author.
//! - A follower applies committed changes in version order, buffering early ones and ignoring
//!   duplicates, and moves its pending edits through each change from another node as it
//!   arrives, with the same transformation. A pending edit whose target was removed, or that
//!   the leader rejects, is dropped and reported as a [`FollowerEvent`].
//! - [`Follower::poll`] asks for the committed changes after the follower's version
//!   ([`ToLeader::Resync`]), so a lost broadcast is found even when nothing else arrives. The
//!   leader answers with those changes from its log, or with a [`Snapshot`] when it no longer
//!   holds them (after [`Leader::compact`]).
//!
//! # Consistency
//!
//! Guaranteed, for any loss, duplication, reordering and delay of messages that eventually
//! stops (each message sent often enough gets through):
//!
//! - the leader's log is one total order of every accepted change, and no accepted change is
//!   lost: each is in the log, and every follower applies every one of them, in that order;
//! - every follower converges to the leader's state once the network heals and its pending
//!   edits are answered: its state is then equal to the leader's at the same version;
//! - an accepted edit lands on the element its author edited, found by moving its paths
//!   through the changes committed since the author's version;
//! - each follower sees its own edits at once, and its state is always its confirmed version
//!   plus its pending edits, moved through everything confirmed since they were made.
//!
//! Not guaranteed:
//!
//! - that an edit is accepted: an edit of an element another node removed or replaced is
//!   dropped (and reported), not merged; two writes to the same field keep the later one;
//! - any order between edits of different followers beyond the leader's;
//! - progress while the leader is unreachable: followers keep editing locally, and their
//!   edits queue until it answers (the leader is a single point of ordering, not replicated);
//! - pending edits across a [`Snapshot`]: the changes in between are not known, so edits not
//!   yet accepted when a follower resynchronizes from a snapshot are dropped and reported.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::apply::apply_patches;
use crate::draftable::Draftable;
use crate::error::PatchError;
use crate::patch::Patch;
use crate::path::Path;
use crate::produce::{PatchDraft, produce_with_patches};
use crate::transform::{Conflict, transform};

/// A node's identity.
pub type ClientId = u64;

/// A follower's edit, sent to the leader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Its author.
    pub client: ClientId,
    /// Its number among its author's changes, increasing.
    pub id: u64,
    /// The version it was made against.
    pub base_version: u64,
    /// What it does, against `base_version`.
    pub patches: Vec<Patch>,
}

/// A change the leader accepted, as it applies at `version - 1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Committed {
    /// The version this change leads to.
    pub version: u64,
    /// Its author.
    pub client: ClientId,
    /// Its number among its author's changes.
    pub change_id: u64,
    /// What it does, moved through every change committed before it.
    pub patches: Vec<Patch>,
}

/// A change the leader refused, sent back to its author.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// Its author.
    pub client: ClientId,
    /// Its number among its author's changes.
    pub change_id: u64,
    /// Why.
    pub reason: RejectReason,
}

/// Why the leader refused a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RejectReason {
    /// The change claims a base version the leader has not reached.
    BaseAhead {
        /// The change's base version.
        base_version: u64,
        /// The leader's version.
        leader_version: u64,
    },
    /// The change's base version is older than the leader's log, so it cannot be moved
    /// through what was committed since.
    Compacted {
        /// The change's base version.
        base_version: u64,
        /// The version the leader's log starts after.
        log_start: u64,
    },
    /// A change committed since its base removed or replaced what it edits.
    Conflict {
        /// The committed version that removed or replaced the target.
        version: u64,
        /// Which patch, and what took its target away.
        conflict: Conflict,
    },
    /// Its patches, moved to the leader's version, do not apply there.
    DoesNotApply {
        /// The failing patch's index in the change.
        index: usize,
        /// Its path.
        path: Path,
        /// Why it does not apply.
        message: String,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::BaseAhead {
                base_version,
                leader_version,
            } => write!(
                f,
                "its base version {base_version} is ahead of the leader's {leader_version}"
            ),
            RejectReason::Compacted {
                base_version,
                log_start,
            } => write!(
                f,
                "its base version {base_version} is older than the leader's log, which starts at {log_start}"
            ),
            RejectReason::Conflict { version, conflict } => {
                write!(f, "{conflict} (version {version})")
            }
            RejectReason::DoesNotApply {
                index,
                path,
                message,
            } => write!(f, "its patch {index} at {path} does not apply: {message}"),
        }
    }
}

impl std::error::Error for RejectReason {}

impl From<PatchError> for RejectReason {
    fn from(error: PatchError) -> Self {
        RejectReason::DoesNotApply {
            index: error.index,
            path: error.path,
            message: error.kind.to_string(),
        }
    }
}

/// The leader's whole state at a version, for a follower that cannot catch up by changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot<T> {
    /// The version of `state`.
    pub version: u64,
    /// The state.
    pub state: T,
    /// For each client, the id of its last change the leader has answered.
    pub answered: BTreeMap<ClientId, u64>,
}

/// A message to the leader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToLeader {
    /// An edit to order.
    Change(Change),
    /// "Send me what was committed after `version`."
    Resync {
        /// Who asks.
        client: ClientId,
        /// The newest version it has applied.
        version: u64,
    },
    /// "Send me a snapshot": for a follower whose state no longer takes the leader's changes.
    SnapshotRequest {
        /// Who asks.
        client: ClientId,
    },
}

impl ToLeader {
    /// The follower that sent the message.
    #[must_use]
    pub fn client(&self) -> ClientId {
        match self {
            ToLeader::Change(change) => change.client,
            ToLeader::Resync { client, .. } | ToLeader::SnapshotRequest { client } => *client,
        }
    }
}

/// A message to a follower.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToFollower<T> {
    /// A change to apply, in version order.
    Committed(Committed),
    /// The follower's change was refused.
    Rejected(Rejected),
    /// The whole state, when the follower is too far behind.
    Snapshot(Snapshot<T>),
}

/// Where the leader sends a message: to every follower, or to one.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recipient {
    /// Broadcast.
    All,
    /// One follower.
    Client(ClientId),
}

/// A message from the leader and its recipient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outbound<T> {
    /// Who gets it.
    pub to: Recipient,
    /// The message.
    pub message: ToFollower<T>,
}

/// The node that orders changes: one per shared state.
///
/// # Examples
///
/// ```
/// use immer_core::sync::{Follower, Leader};
/// use std::sync::Arc;
///
/// let mut leader = Leader::new(Arc::new(vec![10_u32, 20, 30]));
/// let mut ann = Follower::new(1, leader.snapshot());
/// let mut bob = Follower::new(2, leader.snapshot());
///
/// // Bob removes the first element while Ann, who has not heard of it, edits the third.
/// bob.edit(|d| { d.remove(0); });
/// ann.edit(|d| d.get_mut(2).unwrap().set(31));
/// for message in bob.poll().into_iter().chain(ann.poll()) {
///     for out in leader.receive(message) {
///         ann.receive(out.message.clone());
///         bob.receive(out.message);
///     }
/// }
/// for message in ann.poll().into_iter().chain(bob.poll()) {
///     for out in leader.receive(message) {
///         ann.receive(out.message.clone());
///         bob.receive(out.message);
///     }
/// }
/// // Ann's edit landed on the element she edited, now at index 1.
/// assert_eq!(**leader.state(), [20, 31]);
/// assert_eq!(ann.state(), leader.state());
/// assert_eq!(bob.state(), leader.state());
/// ```
pub struct Leader<T> {
    state: Arc<T>,
    version: u64,
    /// Committed changes from version `log_start + 1` on.
    log: VecDeque<Committed>,
    log_start: u64,
    /// Per client: the last change id answered, and the answer.
    answered: HashMap<ClientId, (u64, Answer)>,
}

#[derive(Clone, Debug)]
enum Answer {
    Committed(u64),
    Rejected(RejectReason),
}

impl<T: Draftable> Leader<T> {
    /// A leader whose version 0 is `state`.
    #[must_use]
    pub fn new(state: Arc<T>) -> Self {
        Leader {
            state,
            version: 0,
            log: VecDeque::new(),
            log_start: 0,
            answered: HashMap::new(),
        }
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> &Arc<T> {
        &self.state
    }

    /// The current version: the number of changes committed.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The committed changes still held, oldest first.
    pub fn log(&self) -> impl ExactSizeIterator<Item = &Committed> + DoubleEndedIterator {
        self.log.iter()
    }

    /// The current state as a [`Snapshot`], for a new follower.
    #[must_use]
    pub fn snapshot(&self) -> Snapshot<T> {
        Snapshot {
            version: self.version,
            state: (*self.state).clone(),
            answered: self
                .answered
                .iter()
                .map(|(client, (id, _))| (*client, *id))
                .collect(),
        }
    }

    /// Forgets the log before `version`: followers older than that catch up by snapshot.
    pub fn compact(&mut self, version: u64) {
        while self.log_start < version.min(self.version) {
            self.log.pop_front();
            self.log_start += 1;
        }
    }

    /// Handles one message; returns the messages to send.
    pub fn receive(&mut self, message: ToLeader) -> Vec<Outbound<T>> {
        match message {
            ToLeader::Change(change) => self.receive_change(&change),
            ToLeader::Resync { client, version } => self.resync(client, version),
            ToLeader::SnapshotRequest { client } => vec![Outbound {
                to: Recipient::Client(client),
                message: ToFollower::Snapshot(self.snapshot()),
            }],
        }
    }

    fn receive_change(&mut self, change: &Change) -> Vec<Outbound<T>> {
        let client = change.client;
        if let Some((last, answer)) = self.answered.get(&client) {
            if change.id < *last {
                return Vec::new();
            }
            if change.id == *last {
                // A retransmission: answer again, to its author only.
                let message = match answer {
                    Answer::Committed(version) => match self.committed(*version) {
                        Some(committed) => ToFollower::Committed(committed.clone()),
                        None => return self.resync(client, version.saturating_sub(1)),
                    },
                    Answer::Rejected(reason) => ToFollower::Rejected(Rejected {
                        client,
                        change_id: change.id,
                        reason: reason.clone(),
                    }),
                };
                return vec![Outbound {
                    to: Recipient::Client(client),
                    message,
                }];
            }
        }
        match self.commit(change) {
            Ok(committed) => {
                self.answered
                    .insert(client, (change.id, Answer::Committed(committed.version)));
                vec![Outbound {
                    to: Recipient::All,
                    message: ToFollower::Committed(committed),
                }]
            }
            Err(reason) => {
                self.answered
                    .insert(client, (change.id, Answer::Rejected(reason.clone())));
                let rejected = Rejected {
                    client,
                    change_id: change.id,
                    reason,
                };
                vec![Outbound {
                    to: Recipient::Client(client),
                    message: ToFollower::Rejected(rejected),
                }]
            }
        }
    }

    fn committed(&self, version: u64) -> Option<&Committed> {
        let index = version.checked_sub(self.log_start + 1)?;
        self.log.get(usize::try_from(index).ok()?)
    }

    /// Moves a change through what was committed since its base, applies it, logs it.
    fn commit(&mut self, change: &Change) -> Result<Committed, RejectReason> {
        if change.base_version > self.version {
            return Err(RejectReason::BaseAhead {
                base_version: change.base_version,
                leader_version: self.version,
            });
        }
        if change.base_version < self.log_start {
            return Err(RejectReason::Compacted {
                base_version: change.base_version,
                log_start: self.log_start,
            });
        }
        let mut patches = change.patches.clone();
        for version in change.base_version + 1..=self.version {
            let Some(committed) = self.committed(version) else {
                break;
            };
            patches = transform(&patches, &committed.patches)
                .map_err(|conflict| RejectReason::Conflict { version, conflict })?
                .0;
        }
        let next = apply_patches(&self.state, &patches)?;
        self.state = next;
        self.version += 1;
        let committed = Committed {
            version: self.version,
            client: change.client,
            change_id: change.id,
            patches,
        };
        self.log.push_back(committed.clone());
        Ok(committed)
    }

    fn resync(&self, client: ClientId, version: u64) -> Vec<Outbound<T>> {
        let to = Recipient::Client(client);
        if version >= self.version {
            return Vec::new();
        }
        if version < self.log_start {
            return vec![Outbound {
                to,
                message: ToFollower::Snapshot(self.snapshot()),
            }];
        }
        (version + 1..=self.version)
            .filter_map(|v| self.committed(v))
            .map(|c| Outbound {
                to,
                message: ToFollower::Committed(c.clone()),
            })
            .collect()
    }
}

/// What happened to a follower's own edits, and to its version.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum FollowerEvent {
    /// The follower's state reached this confirmed version.
    Applied(u64),
    /// One of the follower's changes was accepted as this version.
    Accepted {
        /// The change.
        change_id: u64,
        /// Its version.
        version: u64,
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
    /// One of the follower's changes was dropped: the leader refused it, or its target was
    /// removed meanwhile. Its effect is gone from the follower's state.
    Dropped {
        /// The change.
        change_id: u64,
        /// Why.
        reason: DropReason,
    },
}

/// Why a follower dropped one of its edits.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum DropReason {
    /// The leader refused it.
    Rejected(RejectReason),
    /// Another node's change, ordered before it, removed or replaced what it edits.
    Conflict(Conflict),
    /// It was made after the edit `change_id`, which was dropped, and could not be moved back
    /// through that edit's inverse.
    AfterDropped {
        /// The dropped edit it was made after.
        change_id: u64,
    },
    /// The follower resynchronized from a snapshot, which skips the changes it would have to
    /// be moved through.
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
            DropReason::AfterDropped { change_id } => write!(
                f,
                "it was made after edit {change_id}, which was dropped and cannot be undone under it"
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

struct Pending {
    id: u64,
    /// The patches, moved through everything confirmed since the edit.
    patches: Vec<Patch>,
    /// What undoes them, moved likewise; `None` once a move found no place for it.
    inverse: Option<Vec<Patch>>,
}

/// A node that follows the leader's order and edits optimistically.
///
/// See the [module docs](self) for the protocol and what it guarantees.
pub struct Follower<T> {
    client: ClientId,
    /// The state at `version`, as the leader has it.
    confirmed: Arc<T>,
    version: u64,
    /// `confirmed` with the pending edits applied: what the user sees.
    local: Arc<T>,
    pending: VecDeque<Pending>,
    /// The change sent and not yet answered: its id and the message, for retransmission.
    in_flight: Option<(u64, Change)>,
    /// Committed changes that arrived before the ones they follow.
    early: BTreeMap<u64, Committed>,
    next_id: u64,
    events: Vec<FollowerEvent>,
    /// A committed change did not apply: wait for a snapshot.
    diverged: bool,
}

impl<T: Draftable> Follower<T> {
    /// A follower starting from the leader's snapshot.
    #[must_use]
    pub fn new(client: ClientId, snapshot: Snapshot<T>) -> Self {
        let state = Arc::new(snapshot.state);
        Follower {
            client,
            local: Arc::clone(&state),
            confirmed: state,
            version: snapshot.version,
            pending: VecDeque::new(),
            in_flight: None,
            early: BTreeMap::new(),
            next_id: snapshot
                .answered
                .get(&client)
                .map_or(1, |id| id.saturating_add(1)),
            events: Vec::new(),
            diverged: false,
        }
    }

    /// This node's id.
    #[must_use]
    pub fn client(&self) -> ClientId {
        self.client
    }

    /// The state the user sees: the confirmed state with the pending edits applied.
    #[must_use]
    pub fn state(&self) -> &Arc<T> {
        &self.local
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

    /// The edits that wait for the leader, oldest first: each one's id and its patches as
    /// they now apply after the confirmed state (moved through everything confirmed since the
    /// edit was made).
    pub fn pending_edits(&self) -> impl ExactSizeIterator<Item = (u64, &[Patch])> {
        self.pending.iter().map(|p| (p.id, p.patches.as_slice()))
    }

    /// How many edits wait for the leader.
    #[must_use]
    pub fn pending_count(&self) -> usize {
        self.pending.len()
            + usize::from(
                self.in_flight
                    .as_ref()
                    .is_some_and(|(id, _)| !self.pending.iter().any(|p| p.id == *id)),
            )
    }

    /// Whether every edit has been answered and nothing waits to be applied.
    #[must_use]
    pub fn is_settled(&self) -> bool {
        self.pending.is_empty() && self.in_flight.is_none() && self.early.is_empty()
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
        let (next, patches, inverse) = produce_with_patches(&self.local, recipe);
        if patches.is_empty() {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.local = next;
        self.pending.push_back(Pending {
            id,
            patches,
            inverse: Some(inverse),
        });
        Some(id)
    }

    /// What to send now: the change in flight (sent again until the leader answers it; the
    /// leader ignores duplicates), and a request for anything committed after this
    /// follower's version.
    pub fn poll(&mut self) -> Vec<ToLeader> {
        if self.in_flight.is_none() {
            if let Some(next) = self.pending.front() {
                let change = Change {
                    client: self.client,
                    id: next.id,
                    base_version: self.version,
                    patches: next.patches.clone(),
                };
                self.in_flight = Some((next.id, change));
            }
        }
        let mut out: Vec<ToLeader> = self
            .in_flight
            .iter()
            .map(|(_, change)| ToLeader::Change(change.clone()))
            .collect();
        out.push(if self.diverged {
            ToLeader::SnapshotRequest {
                client: self.client,
            }
        } else {
            ToLeader::Resync {
                client: self.client,
                version: self.version,
            }
        });
        out
    }

    /// Handles one message from the leader.
    pub fn receive(&mut self, message: ToFollower<T>) {
        match message {
            ToFollower::Committed(committed) => {
                if self.diverged {
                    return;
                }
                if committed.version > self.version {
                    self.early.insert(committed.version, committed);
                }
                while let Some(next) = self
                    .version
                    .checked_add(1)
                    .and_then(|v| self.early.remove(&v))
                {
                    self.apply_committed(next);
                }
                self.early.retain(|v, _| *v > self.version);
            }
            ToFollower::Rejected(rejected) => {
                if rejected.client != self.client
                    || self.in_flight.as_ref().map(|(id, _)| *id) != Some(rejected.change_id)
                {
                    return;
                }
                self.in_flight = None;
                if self.pending.iter().any(|p| p.id == rejected.change_id) {
                    self.rebase(
                        Vec::new(),
                        Some((rejected.change_id, DropReason::Rejected(rejected.reason))),
                    );
                    self.rebuild_local();
                }
            }
            ToFollower::Snapshot(snapshot) => self.apply_snapshot(snapshot),
        }
    }

    fn apply_committed(&mut self, committed: Committed) {
        // The leader applied these patches to this very state, so they apply here too.
        let next = match apply_patches(&self.confirmed, &committed.patches) {
            Ok(next) => next,
            Err(error) => {
                // Not the leader's history: say so, and take nothing more until a snapshot.
                self.diverged = true;
                self.early.clear();
                self.events.push(FollowerEvent::Diverged {
                    version: committed.version,
                    error: error.to_string(),
                });
                return;
            }
        };
        self.confirmed = next;
        self.version = committed.version;
        let own = committed.client == self.client;
        if own && self.in_flight.as_ref().map(|(id, _)| *id) == Some(committed.change_id) {
            self.in_flight = None;
        }
        if own {
            // My change: it was moved through the same changes here and at the leader.
            if let Some(at) = self
                .pending
                .iter()
                .position(|p| p.id == committed.change_id)
            {
                self.pending.remove(at);
            }
            self.events.push(FollowerEvent::Accepted {
                change_id: committed.change_id,
                version: committed.version,
            });
        } else {
            // Someone else's: move my pending edits through it.
            self.rebase(committed.patches, None);
        }
        self.events.push(FollowerEvent::Applied(self.version));
        self.rebuild_local();
    }

    fn apply_snapshot(&mut self, snapshot: Snapshot<T>) {
        if snapshot.version < self.version || (snapshot.version == self.version && !self.diverged) {
            return;
        }
        self.diverged = false;
        let answered = snapshot.answered.get(&self.client).copied().unwrap_or(0);
        self.confirmed = Arc::new(snapshot.state);
        self.version = snapshot.version;
        self.early.retain(|v, _| *v > snapshot.version);
        if self
            .in_flight
            .as_ref()
            .is_some_and(|(id, _)| *id <= answered)
        {
            self.in_flight = None;
        }
        // Edits the leader has answered are in the snapshot (or were refused); the others
        // cannot be moved through the changes the snapshot skips over.
        for pending in std::mem::take(&mut self.pending) {
            if pending.id > answered
                && self.in_flight.as_ref().map(|(id, _)| *id) != Some(pending.id)
            {
                self.events.push(FollowerEvent::Dropped {
                    change_id: pending.id,
                    reason: DropReason::Snapshot,
                });
            } else if pending.id > answered {
                self.pending.push_back(pending);
            }
        }
        self.events.push(FollowerEvent::Applied(self.version));
        self.rebuild_local();
    }

    /// Moves the pending edits through `theirs` (made against `confirmed`, ordered before
    /// them), dropping each that conflicts and the one named by `drop`, and moving the edits
    /// after a dropped one through its inverse, so that they still land where their author
    /// meant them to.
    ///
    /// Walking the queue, `theirs` is kept as it applies after the edits kept so far, and
    /// `undo` as the patches that take the old queue's state back to the kept edits' state.
    fn rebase(&mut self, mut theirs: Vec<Patch>, mut drop: Option<(u64, DropReason)>) {
        let mut undo: Vec<Patch> = Vec::new();
        let mut kept = VecDeque::with_capacity(self.pending.len());
        let mut queue = std::mem::take(&mut self.pending).into_iter();
        while let Some(pending) = queue.next() {
            let forced = drop
                .take_if(|(id, _)| *id == pending.id)
                .map(|(_, reason)| reason);
            let moved = match forced {
                Some(reason) => Err(reason),
                None => transform(&pending.patches, &undo)
                    .and_then(|(mine, undo_after)| {
                        let (mine, theirs_after) = transform(&mine, &theirs)?;
                        Ok((mine, undo_after, theirs_after))
                    })
                    .map_err(DropReason::Conflict),
            };
            match moved {
                Ok((mine, undo_after, theirs_after)) => {
                    let inverse = pending.inverse.and_then(|inverse| {
                        let (inverse, _) = transform(&inverse, &undo_after).ok()?;
                        transform(&inverse, &theirs_after)
                            .ok()
                            .map(|(inverse, _)| inverse)
                    });
                    undo = undo_after;
                    theirs = theirs_after;
                    kept.push_back(Pending {
                        id: pending.id,
                        patches: mine,
                        inverse,
                    });
                }
                Err(reason) => {
                    self.events.push(FollowerEvent::Dropped {
                        change_id: pending.id,
                        reason,
                    });
                    match pending.inverse {
                        // Later edits go back through this one's inverse, then through the
                        // inverses of the ones dropped before it.
                        Some(inverse) => undo = inverse.into_iter().chain(undo).collect(),
                        None => {
                            for later in queue.by_ref() {
                                self.events.push(FollowerEvent::Dropped {
                                    change_id: later.id,
                                    reason: DropReason::AfterDropped {
                                        change_id: pending.id,
                                    },
                                });
                            }
                        }
                    }
                }
            }
        }
        self.pending = kept;
    }

    /// `local` = `confirmed` + pending edits; an edit that no longer applies is dropped.
    fn rebuild_local(&mut self) {
        let mut local = Arc::clone(&self.confirmed);
        for at in 0..self.pending.len() {
            match apply_patches(&local, &self.pending[at].patches) {
                Ok(next) => local = next,
                Err(error) => {
                    // Not expected after a rebase; drop it, and move the rest through its
                    // inverse as any dropped edit.
                    let id = self.pending[at].id;
                    let reason = DropReason::DoesNotApply {
                        index: error.index,
                        path: error.path,
                        message: error.kind.to_string(),
                    };
                    self.rebase(Vec::new(), Some((id, reason)));
                    return self.rebuild_local();
                }
            }
        }
        self.local = local;
    }

    /// The events since the last call: versions applied, own changes accepted or dropped.
    pub fn take_events(&mut self) -> Vec<FollowerEvent> {
        std::mem::take(&mut self.events)
    }
}

impl<T: fmt::Debug> fmt::Debug for Follower<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Follower")
            .field("client", &self.client)
            .field("version", &self.version)
            .field("pending", &self.pending.len())
            .field("state", &self.local)
            .finish_non_exhaustive()
    }
}

impl<T: fmt::Debug> fmt::Debug for Leader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leader")
            .field("version", &self.version)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
