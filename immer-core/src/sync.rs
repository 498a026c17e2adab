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
//! - A follower joins with [`ToLeader::Join`] (or, in process, [`Leader::join`]): the leader
//!   opens a *session*, one per follower incarnation, and answers with a [`Welcome`] that
//!   holds the session and a [`Snapshot`]. A follower that restarts, even under the same
//!   [`ClientId`], joins again and gets a new session, so nothing its previous life sent is
//!   mistaken for its own.
//! - A follower's edit is applied to its own state at once and queued as a [`Change`]. One
//!   change at a time is in flight: the next is sent when the leader has answered the one
//!   before, so each change is based on a version the follower has confirmed.
//! - The leader moves a change made against an older version through the changes committed
//!   since (see [`transform`](crate::transform)): list indices shift with the inserts and
//!   removals committed before them, and an edit of an element or key removed or replaced
//!   meanwhile is rejected. It then applies the change atomically, gives it the next version,
//!   and returns a [`Committed`] for every follower, or a [`Rejected`] for its author. Each
//!   session's last answer is kept, so a retransmitted change is answered again, never
//!   applied twice.
//! - A follower applies committed changes in version order, buffering early ones and ignoring
//!   duplicates, and moves its pending edits through each change from another session as it
//!   arrives, with the same transformation. When an edit is dropped, the edits made after it
//!   are moved back through its exact inverse, computed from the state it was applied to.
//! - [`Follower::poll`] asks for the committed changes after the follower's version
//!   ([`ToLeader::Resync`]), so a lost broadcast is found even when nothing else arrives. The
//!   leader answers with those changes from its log, or with a [`Snapshot`] when it no longer
//!   holds them (after [`Leader::compact`]). A snapshot sent to a session says how that
//!   session's last answered change ended ([`Answered`]).
//!
//! # Guarantees
//!
//! For any loss, duplication, reordering and delay of messages, partitions, and followers
//! that crash and join again, as long as the network eventually delivers what is sent often
//! enough:
//!
//! 1. **One order.** The leader's log is one total order of the changes it accepted; each is
//!    in it once, under the session and id it was sent with, however often it was sent.
//! 2. **Exactly one outcome.** Every edit a follower makes (and does not lose by crashing) is
//!    reported exactly once, as [`FollowerEvent::Accepted`] with the version it became, or as
//!    [`FollowerEvent::Dropped`] with a [`DropReason`]; never both, never neither. A dropped
//!    edit is never committed, and an accepted one is in the log at the version reported,
//!    also when the follower learned of it from a snapshot.
//! 3. **Where its author meant.** An accepted edit lands on the element its author edited,
//!    found by moving its paths through everything committed between the author's version
//!    and its own; an edit whose element was removed or replaced meanwhile is dropped. Edits
//!    made after a dropped one still land on their own elements.
//! 4. **Convergence.** Once the network heals and a follower's edits are answered, its state
//!    equals the leader's at the same version, which equals a replay of the committed changes
//!    from the start.
//! 5. **Local first.** A follower sees its own edits at once; its state is its confirmed
//!    version with its pending edits applied, moved through everything confirmed since.
//! 6. **No panic.** No message, however malformed or hostile, makes a leader or a follower
//!    panic; a change that cannot be ordered is [`Rejected`] with a [`RejectReason`].
//!
//! Not guaranteed:
//!
//! - that an edit is accepted: an edit of an element another node removed or replaced is
//!   dropped (and reported), not merged; two writes to the same field keep the later one;
//! - any order between edits of different followers beyond the leader's;
//! - progress while the leader is unreachable: followers keep editing locally, and their
//!   edits queue until it answers (the leader is a single point of ordering, not replicated);
//! - that an edit survives a [`Snapshot`] exactly as a change would: the changes a snapshot
//!   skips are not known, so the edits not yet sent are moved through the
//!   [`diff`](crate::diff) from the confirmed state to the snapshot, in which list elements
//!   that differ at the same position count as replaced: an edit of one is dropped (and
//!   reported), never moved onto another element. The change in flight keeps its one
//!   outcome: the snapshot's [`Answered`] says it, or it waits, out of the follower's state,
//!   for the leader's answer;
//! - edits a follower had not yet had answered when it crashed: the one in flight may still
//!   be committed (under the old session, seen by everyone as another session's change), the
//!   others are lost with the process.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::apply::{apply_patches, apply_with_inverse};
use crate::draftable::Draftable;
use crate::error::PatchError;
use crate::patch::Patch;
use crate::path::Path;
use crate::produce::{PatchDraft, produce_with_patches};
use crate::transform::{Conflict, transform};

/// Who a follower is: its user or device, the same across restarts.
pub type ClientId = u64;

/// One incarnation of a follower: handed out by the leader when the follower joins.
pub type SessionId = u64;

/// A follower's edit, sent to the leader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Its author.
    pub client: ClientId,
    /// The author's session.
    pub session: SessionId,
    /// Its number among the session's changes, from 1, increasing.
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
    /// The author's session.
    pub session: SessionId,
    /// Its number among the session's changes.
    pub change_id: u64,
    /// What it does, moved through every change committed before it.
    pub patches: Vec<Patch>,
}

/// A change the leader refused, sent back to its author.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Rejected {
    /// The author's session.
    pub session: SessionId,
    /// Its number among the session's changes.
    pub change_id: u64,
    /// Why.
    pub reason: RejectReason,
}

/// How a change ended at the leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Committed as this version.
    Committed {
        /// The version it became.
        version: u64,
    },
    /// Refused.
    Rejected(RejectReason),
}

/// A session's last answered change and how it ended, carried by a [`Snapshot`] so that a
/// follower that resynchronizes learns the outcome of the change it had in flight.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answered {
    /// The change.
    pub change_id: u64,
    /// How it ended.
    pub outcome: Outcome,
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
    /// It names a session the leader did not open (or no longer knows).
    UnknownSession {
        /// The session named.
        session: SessionId,
    },
    /// The validation hook refused the state it would lead to (see
    /// [`Leader::with_validator`]).
    Invalid {
        /// The hook's reason.
        message: String,
    },
    /// The authorization hook refused a path it writes (see [`Leader::with_authorizer`]).
    Forbidden {
        /// The path refused, as the change would be committed.
        path: Path,
    },
    /// It exceeds a limit of the transport or the server (patches per change, path depth,
    /// changes waiting per client).
    Limit {
        /// Which limit, in words.
        limit: String,
        /// The limit.
        max: usize,
        /// What the change came to.
        got: usize,
    },
    /// Its encoded form is larger than the transport carries.
    TooLarge {
        /// Its size in bytes.
        bytes: usize,
        /// The largest size carried.
        limit: usize,
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
            RejectReason::UnknownSession { session } => {
                write!(
                    f,
                    "session {session} was not opened by this leader; join again"
                )
            }
            RejectReason::Conflict { version, conflict } => {
                write!(f, "{conflict} (version {version})")
            }
            RejectReason::Invalid { message } => write!(f, "refused by validation: {message}"),
            RejectReason::Forbidden { path } => write!(f, "it may not write {path}"),
            RejectReason::Limit { limit, max, got } => {
                write!(f, "it exceeds the limit of {max} {limit} ({got})")
            }
            RejectReason::TooLarge { bytes, limit } => {
                write!(f, "it takes {bytes} bytes, more than the {limit} carried")
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

/// The leader's whole state at a version, for a follower that joins or cannot catch up by
/// changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot<T> {
    /// The version of `state`.
    pub version: u64,
    /// The state.
    pub state: T,
    /// For a snapshot sent to a session: its last answered change and how it ended.
    pub answered: Option<Answered>,
}

/// The leader's answer to [`ToLeader::Join`]: the new session and where it starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Welcome<T> {
    /// The follower that joined.
    pub client: ClientId,
    /// The join's nonce, echoed: a joiner takes only the welcome that answers its own join
    /// (a late welcome for an earlier life of the same client is not its).
    pub nonce: u64,
    /// Its new session.
    pub session: SessionId,
    /// The state to start from.
    pub snapshot: Snapshot<T>,
}

/// A message to the leader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToLeader {
    /// "Open a session for me": answered with a [`Welcome`] to the sender. Sent again until
    /// a welcome arrives; every join opens a session, and the joiner takes the first welcome
    /// that carries its nonce.
    Join {
        /// Who joins.
        client: ClientId,
        /// A number the joiner picks anew for each life (a random one), echoed in the
        /// welcome.
        nonce: u64,
    },
    /// An edit to order.
    Change(Change),
    /// "Send me what was committed after `version`."
    Resync {
        /// Who asks.
        session: SessionId,
        /// The newest version it has applied.
        version: u64,
    },
    /// "Send me a snapshot": for a follower whose state no longer takes the leader's changes.
    SnapshotRequest {
        /// Who asks.
        session: SessionId,
    },
}

/// A message to a follower.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToFollower<T> {
    /// A session opened, with the state to start from.
    Welcome(Welcome<T>),
    /// A change to apply, in version order.
    Committed(Committed),
    /// The follower's change was refused.
    Rejected(Rejected),
    /// The whole state, when the follower is too far behind.
    Snapshot(Snapshot<T>),
}

/// Where the leader sends a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recipient {
    /// Every follower.
    All,
    /// One session.
    Session(SessionId),
    /// Whoever sent the message being answered (a [`Welcome`] for a [`ToLeader::Join`]: the
    /// joiner has no session yet).
    Sender,
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
/// let mut ann = Follower::new(leader.join(1));
/// let mut bob = Follower::new(leader.join(2));
///
/// // Bob removes the first element while Ann, who has not heard of it, edits the third.
/// bob.edit(|d| { d.remove(0); });
/// ann.edit(|d| d.get_mut(2).unwrap().set(31));
/// for _ in 0..2 {
///     for message in bob.poll().into_iter().chain(ann.poll()) {
///         for out in leader.receive(message) {
///             ann.receive(out.message.clone());
///             bob.receive(out.message);
///         }
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
    /// The sessions opened, each with its client and its last answered change.
    sessions: HashMap<SessionId, Session>,
    next_session: SessionId,
    validator: Option<Box<Validator<T>>>,
    authorizer: Option<Box<Authorizer>>,
}

/// A validation hook: given the state a change applies to, the state it leads to, and its
/// author, `Ok(())` lets it be committed and `Err(reason)` refuses it (as
/// [`RejectReason::Invalid`]). See [`Leader::with_validator`].
pub type Validator<T> = dyn Fn(&T, &T, ClientId) -> Result<(), String> + Send + Sync;

/// An authorization hook: given a change's author and its patches as they would be committed
/// (moved through everything committed since the author's version), `Ok(())` lets it through
/// and `Err(path)` refuses it (as [`RejectReason::Forbidden`]). See
/// [`Leader::with_authorizer`].
pub type Authorizer = dyn Fn(ClientId, &[Patch]) -> Result<(), Path> + Send + Sync;

/// A change ordered elsewhere (in a shared log) that does not follow a [`Leader`]'s version,
/// or does not apply to its state: see [`Leader::append`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AppendError {
    /// Its version is not the leader's next one.
    NotNext {
        /// The leader's version.
        version: u64,
        /// The change's version.
        got: u64,
    },
    /// Its patches do not apply to the leader's state.
    DoesNotApply(PatchError),
}

impl fmt::Display for AppendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendError::NotNext { version, got } => write!(
                f,
                "version {got} does not follow the leader's version {version}"
            ),
            AppendError::DoesNotApply(error) => write!(f, "it does not apply: {error}"),
        }
    }
}

impl std::error::Error for AppendError {}

struct Session {
    client: ClientId,
    answered: Option<(u64, Outcome)>,
}

impl<T: Draftable> Leader<T> {
    /// A leader whose version 0 is `state`.
    #[must_use]
    pub fn new(state: Arc<T>) -> Self {
        Self::resume(state, 0)
    }

    /// A leader that starts at `version` with `state` (a snapshot), with no log before it:
    /// changes based on an older version are refused as [`RejectReason::Compacted`].
    #[must_use]
    pub fn resume(state: Arc<T>, version: u64) -> Self {
        Leader {
            state,
            version,
            log: VecDeque::new(),
            log_start: version,
            sessions: HashMap::new(),
            next_session: 1,
            validator: None,
            authorizer: None,
        }
    }

    /// Runs `validator` on every change before it is committed, with the state it applies
    /// to, the state it leads to, and its author: a change it refuses is rejected with
    /// [`RejectReason::Invalid`], never enters the log, and its author's follower rolls it
    /// back.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{FollowerEvent, Follower, Leader, RejectReason, DropReason};
    /// use std::sync::Arc;
    ///
    /// // At most three elements.
    /// let mut leader = Leader::new(Arc::new(vec![1_u32, 2]))
    ///     .with_validator(|_, next: &Vec<u32>, _| {
    ///         if next.len() <= 3 { Ok(()) } else { Err(format!("{} elements", next.len())) }
    ///     });
    /// let mut ann = Follower::new(leader.join(1));
    /// ann.edit(|d| d.push(3));
    /// ann.edit(|d| d.push(4));
    /// for _ in 0..3 {
    ///     for message in ann.poll() {
    ///         for out in leader.receive(message) {
    ///             ann.receive(out.message);
    ///         }
    ///     }
    /// }
    /// assert_eq!(**leader.state(), [1, 2, 3]);
    /// assert_eq!(ann.state(), leader.state());
    /// let events = ann.take_events();
    /// assert!(events.iter().any(|e| matches!(e, FollowerEvent::Dropped {
    ///     change_id: 2,
    ///     reason: DropReason::Rejected(RejectReason::Invalid { .. }),
    /// })));
    /// ```
    #[must_use]
    pub fn with_validator<F>(mut self, validator: F) -> Self
    where
        F: Fn(&T, &T, ClientId) -> Result<(), String> + Send + Sync + 'static,
    {
        self.validator = Some(Box::new(validator));
        self
    }

    /// Runs `authorizer` on every change before it is applied, with its author and its
    /// patches as they would be committed (indices moved through the changes committed since
    /// the author's version): a change it refuses is rejected with
    /// [`RejectReason::Forbidden`] naming the path, and never enters the log. It runs before
    /// the [validator](Leader::with_validator).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader, RejectReason, ToFollower};
    /// use std::sync::Arc;
    ///
    /// // Client 2 may only write the first element.
    /// let mut leader = Leader::new(Arc::new(vec![1_u32, 2])).with_authorizer(|client, patches| {
    ///     match patches.iter().find(|p| client == 2 && p.path.to_pointer() != "/0") {
    ///         Some(p) => Err(p.path.clone()),
    ///         None => Ok(()),
    ///     }
    /// });
    /// let mut bob = Follower::new(leader.join(2));
    /// bob.edit(|d| d.get_mut(1).unwrap().set(20));
    /// let answer = leader.receive(bob.poll().remove(0));
    /// assert!(matches!(
    ///     &answer[0].message,
    ///     ToFollower::Rejected(r) if matches!(r.reason, RejectReason::Forbidden { .. })
    /// ));
    /// assert_eq!(**leader.state(), [1, 2]);
    /// ```
    #[must_use]
    pub fn with_authorizer<F>(mut self, authorizer: F) -> Self
    where
        F: Fn(ClientId, &[Patch]) -> Result<(), Path> + Send + Sync + 'static,
    {
        self.authorizer = Some(Box::new(authorizer));
        self
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

    /// Opens a session for `client`: what [`ToLeader::Join`] does, for a follower in the same
    /// process (nonce 0).
    pub fn join(&mut self, client: ClientId) -> Welcome<T> {
        self.open_session(client, 0)
    }

    fn open_session(&mut self, client: ClientId, nonce: u64) -> Welcome<T> {
        let session = self.next_session;
        self.next_session += 1;
        self.sessions.insert(
            session,
            Session {
                client,
                answered: None,
            },
        );
        Welcome {
            client,
            nonce,
            session,
            snapshot: self.snapshot(),
        }
    }

    /// The current state as a [`Snapshot`] (with no session's answer).
    #[must_use]
    pub fn snapshot(&self) -> Snapshot<T> {
        Snapshot {
            version: self.version,
            state: (*self.state).clone(),
            answered: None,
        }
    }

    fn snapshot_for(&self, session: SessionId) -> Snapshot<T> {
        Snapshot {
            answered: self
                .sessions
                .get(&session)
                .and_then(|s| s.answered.clone())
                .map(|(change_id, outcome)| Answered { change_id, outcome }),
            ..self.snapshot()
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
            ToLeader::Join { client, nonce } => vec![Outbound {
                to: Recipient::Sender,
                message: ToFollower::Welcome(self.open_session(client, nonce)),
            }],
            ToLeader::Change(change) => self.receive_change(&change),
            ToLeader::Resync { session, version } => self.resync(session, version),
            ToLeader::SnapshotRequest { session } => vec![Outbound {
                to: Recipient::Session(session),
                message: ToFollower::Snapshot(self.snapshot_for(session)),
            }],
        }
    }

    fn receive_change(&mut self, change: &Change) -> Vec<Outbound<T>> {
        let to = Recipient::Session(change.session);
        let Some(session) = self.sessions.get(&change.session) else {
            let rejected = Rejected {
                session: change.session,
                change_id: change.id,
                reason: RejectReason::UnknownSession {
                    session: change.session,
                },
            };
            return vec![Outbound {
                to,
                message: ToFollower::Rejected(rejected),
            }];
        };
        if let Some((last, outcome)) = &session.answered {
            if change.id < *last {
                return Vec::new();
            }
            if change.id == *last {
                // A retransmission: answer again, to its author only.
                let message = match outcome {
                    Outcome::Committed { version } => match self.committed(*version) {
                        Some(committed) => ToFollower::Committed(committed.clone()),
                        None => return self.resync(change.session, version.saturating_sub(1)),
                    },
                    Outcome::Rejected(reason) => ToFollower::Rejected(Rejected {
                        session: change.session,
                        change_id: change.id,
                        reason: reason.clone(),
                    }),
                };
                return vec![Outbound { to, message }];
            }
        }
        let client = session.client;
        let (outcome, out) = match self.commit(client, change) {
            Ok(committed) => (
                Outcome::Committed {
                    version: committed.version,
                },
                Outbound {
                    to: Recipient::All,
                    message: ToFollower::Committed(committed),
                },
            ),
            Err(reason) => (
                Outcome::Rejected(reason.clone()),
                Outbound {
                    to,
                    message: ToFollower::Rejected(Rejected {
                        session: change.session,
                        change_id: change.id,
                        reason,
                    }),
                },
            ),
        };
        if let Some(session) = self.sessions.get_mut(&change.session) {
            session.answered = Some((change.id, outcome));
        }
        vec![out]
    }

    fn committed(&self, version: u64) -> Option<&Committed> {
        let index = version.checked_sub(self.log_start + 1)?;
        self.log.get(usize::try_from(index).ok()?)
    }

    /// Orders `change` by `client` as the next version without committing it: the change
    /// moved through everything committed since its base, applied, and validated, with the
    /// state it leads to. This is what [`receive`](Leader::receive) commits; a node that
    /// orders changes in a shared log (where another node may append first) prepares a
    /// change here, appends it there, and records it with [`append`](Leader::append).
    ///
    /// # Errors
    ///
    /// Why the change would be rejected.
    pub fn prepare(
        &self,
        client: ClientId,
        change: &Change,
    ) -> Result<(Committed, Arc<T>), RejectReason> {
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
        if let Some(authorizer) = &self.authorizer {
            authorizer(client, &patches).map_err(|path| RejectReason::Forbidden { path })?;
        }
        let next = apply_patches(&self.state, &patches)?;
        if let Some(validator) = &self.validator {
            validator(&self.state, &next, client)
                .map_err(|message| RejectReason::Invalid { message })?;
        }
        let committed = Committed {
            version: self.version + 1,
            client,
            session: change.session,
            change_id: change.id,
            patches,
        };
        Ok((committed, next))
    }

    /// Records a change ordered elsewhere as the next version: it must be
    /// [`version`](Leader::version)` + 1` and apply to the state (it is not validated again).
    ///
    /// # Errors
    ///
    /// When it does not follow the leader's version or does not apply; nothing changes.
    pub fn append(&mut self, committed: Committed) -> Result<(), AppendError> {
        if Some(committed.version) != self.version.checked_add(1) {
            return Err(AppendError::NotNext {
                version: self.version,
                got: committed.version,
            });
        }
        let next =
            apply_patches(&self.state, &committed.patches).map_err(AppendError::DoesNotApply)?;
        self.push(committed, next);
        Ok(())
    }

    fn push(&mut self, committed: Committed, next: Arc<T>) {
        self.state = next;
        self.version = committed.version;
        self.log.push_back(committed);
    }

    /// The version the log starts after: changes based on an older one are refused.
    #[must_use]
    pub fn log_start(&self) -> u64 {
        self.log_start
    }

    fn commit(&mut self, client: ClientId, change: &Change) -> Result<Committed, RejectReason> {
        let (committed, next) = self.prepare(client, change)?;
        self.push(committed.clone(), next);
        Ok(committed)
    }

    fn resync(&self, session: SessionId, version: u64) -> Vec<Outbound<T>> {
        let to = Recipient::Session(session);
        if version >= self.version {
            return Vec::new();
        }
        if version < self.log_start {
            return vec![Outbound {
                to,
                message: ToFollower::Snapshot(self.snapshot_for(session)),
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
#[non_exhaustive]
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
    /// One of the follower's changes was dropped: the leader refused it, or its target was
    /// removed meanwhile. Its effect is gone from the follower's state, and it is never
    /// committed.
    Dropped {
        /// The change.
        change_id: u64,
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

/// An edit applied to the follower's state and not yet answered.
struct Pending {
    /// The first edit it holds: edits merged into one change (see
    /// [`Follower::with_batch`]) hold `first..=id`.
    first: u64,
    id: u64,
    /// The patches, as they apply after the confirmed state and the edits before this one.
    patches: Vec<Patch>,
    /// What takes the state back from after this edit to before it, computed from the state
    /// it was applied to when the local state was last built.
    inverse: Vec<Patch>,
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

/// A node that follows the leader's order and edits optimistically.
///
/// See the [module docs](self) for the protocol and what it guarantees.
pub struct Follower<T> {
    client: ClientId,
    session: SessionId,
    /// The state at `version`, as the leader has it.
    confirmed: Arc<T>,
    version: u64,
    /// `confirmed` with the pending edits applied: what the user sees.
    local: Arc<T>,
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
}

impl<T: Draftable> Follower<T> {
    /// A follower in the session the leader opened for it (with [`Leader::join`] or by
    /// answering [`ToLeader::Join`]).
    #[must_use]
    pub fn new(welcome: Welcome<T>) -> Self {
        let state = Arc::new(welcome.snapshot.state);
        Follower {
            client: welcome.client,
            session: welcome.session,
            local: Arc::clone(&state),
            confirmed: state,
            version: welcome.snapshot.version,
            pending: VecDeque::new(),
            in_flight: None,
            early: BTreeMap::new(),
            next_id: 1,
            events: Vec::new(),
            diverged: false,
            batch: 1,
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

    /// The edits in the follower's state that wait for the leader, oldest first: each one's
    /// id and its patches as they now apply after the confirmed state and the edits before
    /// it.
    pub fn pending_edits(&self) -> impl ExactSizeIterator<Item = (u64, &[Patch])> {
        self.pending.iter().map(|p| (p.id, p.patches.as_slice()))
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
        let (next, patches, inverse) = produce_with_patches(&self.local, recipe);
        if patches.is_empty() {
            return None;
        }
        let id = self.next_id;
        self.next_id += 1;
        self.local = next;
        self.pending.push_back(Pending {
            first: id,
            id,
            patches,
            inverse,
        });
        Some(id)
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
                        client: self.client,
                        session: self.session,
                        id: next.id,
                        base_version: self.version,
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
            ToFollower::Rejected(rejected) => self.apply_rejected(rejected),
            ToFollower::Snapshot(snapshot) => self.apply_snapshot(snapshot),
            // A follower has its session; a welcome for another joiner is not for it.
            ToFollower::Welcome(_) => {}
        }
    }

    /// The id of the change in flight, if any.
    fn in_flight_id(&self) -> Option<u64> {
        self.in_flight.as_ref().map(|f| f.change.id)
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
        let own =
            committed.session == self.session && self.in_flight_id() == Some(committed.change_id);
        if own {
            let (first, applied) = self
                .in_flight
                .take()
                .map_or((committed.change_id, false), |f| (f.first, f.applied));
            let same = self
                .pending
                .front()
                .is_some_and(|p| p.patches == committed.patches);
            if applied && same {
                // Moved through the same changes here and at the leader: the rest of the
                // queue already applies after it.
                self.pending.pop_front();
            } else if applied {
                // Committed in another form than the local one: take the local one out and
                // move the rest through the committed one.
                self.rebase(committed.patches, Some((committed.change_id, None)));
            } else {
                // It waited out of the state: to the queue it is another node's change.
                self.rebase(committed.patches, None);
            }
            for change_id in first..=committed.change_id {
                self.events.push(FollowerEvent::Accepted {
                    change_id,
                    version: committed.version,
                });
            }
        } else {
            self.rebase(committed.patches, None);
        }
        self.confirmed = next;
        self.version = committed.version;
        self.events.push(FollowerEvent::Applied(self.version));
        self.rebuild_local();
    }

    fn apply_rejected(&mut self, rejected: Rejected) {
        if rejected.session != self.session || self.in_flight_id() != Some(rejected.change_id) {
            return;
        }
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        let reason = DropReason::Rejected(rejected.reason);
        if in_flight.applied {
            self.rebase(Vec::new(), Some((rejected.change_id, Some(reason))));
            self.rebuild_local();
        } else {
            self.report_dropped(in_flight.first, rejected.change_id, &reason);
        }
    }

    fn apply_snapshot(&mut self, snapshot: Snapshot<T>) {
        if snapshot.version < self.version || (snapshot.version == self.version && !self.diverged) {
            return;
        }
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
                .filter(|answered| answered.change_id == id)
                .map(|answered| answered.outcome);
            let reason = match answered {
                Some(Outcome::Committed { version }) => {
                    for change_id in first..=id {
                        self.events
                            .push(FollowerEvent::Accepted { change_id, version });
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
            self.rebase(theirs, taken_out);
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

    /// Moves the pending edits through `theirs` (made against `confirmed`, ordered before
    /// them), taking out each that conflicts and the one named by `drop` (reported with its
    /// reason, or silently for `None`), and moving the edits after one taken out back through
    /// its exact inverse, so that they still land where their author meant them to.
    ///
    /// Walking the queue, `theirs` is kept as it applies after the edits kept so far, and
    /// `undo` as the patches that take the old queue's state back to the kept edits' state.
    /// The change in flight is never dropped here: only the leader decides it; when it
    /// conflicts, it leaves the state and waits for the leader's answer.
    fn rebase(&mut self, mut theirs: Vec<Patch>, mut drop: Option<(u64, Option<DropReason>)>) {
        let mut undo: Vec<Patch> = Vec::new();
        let mut kept = VecDeque::with_capacity(self.pending.len());
        let mut last_taken_out: Option<u64> = None;
        for pending in std::mem::take(&mut self.pending) {
            let outcome = match drop.take_if(|(id, _)| *id == pending.id) {
                Some((_, reason)) => Err(reason),
                None => match transform(&pending.patches, &undo) {
                    Err(_) => Err(Some(DropReason::AfterDropped {
                        change_id: last_taken_out.unwrap_or_default(),
                    })),
                    Ok((mine, undo_after)) => match transform(&mine, &theirs) {
                        Err(conflict) => Err(Some(DropReason::Conflict(conflict))),
                        Ok((mine, theirs_after)) => Ok((mine, undo_after, theirs_after)),
                    },
                },
            };
            match outcome {
                Ok((mine, undo_after, theirs_after)) => {
                    undo = undo_after;
                    theirs = theirs_after;
                    kept.push_back(Pending {
                        first: pending.first,
                        id: pending.id,
                        patches: mine,
                        inverse: pending.inverse,
                    });
                }
                Err(reason) => {
                    let in_flight = self
                        .in_flight
                        .as_mut()
                        .filter(|f| f.applied && f.change.id == pending.id);
                    match (in_flight, reason) {
                        // Sent: the leader decides it.
                        (Some(in_flight), Some(_)) => in_flight.applied = false,
                        (_, Some(reason)) => {
                            self.report_dropped(pending.first, pending.id, &reason);
                        }
                        (_, None) => {}
                    }
                    last_taken_out = Some(pending.id);
                    undo = pending.inverse.into_iter().chain(undo).collect();
                }
            }
        }
        self.pending = kept;
    }

    /// `local` = `confirmed` + pending edits, recording each edit's exact inverse. An edit
    /// that no longer applies is taken out with every edit after it (the one in flight waits
    /// for the leader's answer; the others are dropped and reported).
    fn rebuild_local(&mut self) {
        let mut local = Arc::clone(&self.confirmed);
        for at in 0..self.pending.len() {
            match apply_with_inverse(&local, &self.pending[at].patches) {
                Ok((next, inverse)) => {
                    self.pending[at].inverse = inverse;
                    local = next;
                }
                Err(error) => {
                    let failed = self.pending[at].id;
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
                            DropReason::DoesNotApply {
                                index: error.index,
                                path: error.path.clone(),
                                message: error.kind.to_string(),
                            }
                        } else {
                            DropReason::AfterDropped { change_id: failed }
                        };
                        self.report_dropped(pending.first, pending.id, &reason);
                    }
                    break;
                }
            }
        }
        self.local = local;
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
        let mut patches = Vec::new();
        let mut inverses = Vec::with_capacity(take);
        for pending in merged {
            patches.extend(pending.patches);
            inverses.push(pending.inverse);
        }
        let inverse = inverses.into_iter().rev().flatten().collect();
        self.pending.push_front(Pending {
            first,
            id,
            patches,
            inverse,
        });
    }

    /// Reports the edits `first..=last` (one pending edit or change) as dropped.
    fn report_dropped(&mut self, first: u64, last: u64, reason: &DropReason) {
        for change_id in first..=last {
            self.events.push(FollowerEvent::Dropped {
                change_id,
                reason: reason.clone(),
            });
        }
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
            .field("session", &self.session)
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
