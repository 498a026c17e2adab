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
//!   session's last answer is kept (cut short, see [`RejectReason::shortened`]), so a
//!   retransmitted change is answered again, never applied twice, for as long as the session
//!   is open ([`Leader::close_session`] ends one).
//! - Nothing a change holds counts as sent: the leader reads its paths as the state's types
//!   read them (a list position written as the string `"2"` is the position 2, moved as
//!   such) and commits it as the typed state writes it ([`apply_canonical`](crate::apply_canonical)):
//!   members a type does not have are dropped, numbers and positions are written as the
//!   types write them. Every follower, typed or holding JSON, holds the leader's state. A
//!   change with no patches is refused ([`RejectReason::Empty`]), and so is one whose move
//!   would cost more than the [move limit](Leader::with_move_limit), before it is moved.
//! - A follower applies committed changes in version order, buffering early ones and ignoring
//!   duplicates, and moves its pending edits through each change from another session as it
//!   arrives, with the same transformation ([`Follower::receive_all`] moves them through a
//!   whole run of changes at once, and brings its local state along by applying the run once;
//!   it builds the local state anew from the confirmed one only when an edit leaves the
//!   queue). When an edit is dropped, the edits made after it are moved back through its
//!   inverse, so that they still land on their own elements (see the rules below).
//!
//! # Edits whose target was replaced, and edits that depend on a dropped one
//!
//! These rules decide every case the guarantees below leave open; the transformation
//! ([`transform`](crate::transform())) applies them the same way at the leader, at a follower,
//! and in the JavaScript client.
//!
//! - **A target replaced is gone.** A path below a value that an earlier change replaced or
//!   removed as a whole (a struct field, a map key, a whole list, a list element) has no place
//!   to land: the edit conflicts. A list element replaced whole (by `set`, a swap, a reversal
//!   written element by element, or the diff to a snapshot) is *another element*: a
//!   `remove` or `replace` of that element conflicts too, as does any edit below it. An edit is
//!   never moved onto an element its author did not edit.
//! - **Two writes of one field, key or list element** keep the later one in the leader's
//!   order; an insert is not a write of what was at its index (it goes before it).
//! - **After a snapshot** the changes it skips are unknown: the edits not yet sent move
//!   through the [`diff`](crate::diff) from the confirmed state to the snapshot, in which
//!   list elements that differ at the same position count as replaced whole, so an edit of
//!   one of them is dropped (and reported), never moved onto another element. (An element that
//!   another node changed while it stayed in place is one of them: the diff cannot tell it from
//!   one removed and another inserted.)
//! - **Edits that depend on a dropped one.** When an edit leaves the queue (dropped, or the
//!   change in flight waiting out of the state for the leader's answer), each later edit is
//!   moved back through its inverse. A later edit *depends* on it, and is taken out too, when
//!   it edits something the dropped edit created or replaced (a path below it), when it
//!   writes, removes or moves a whole value inside which the dropped edit changed something
//!   (a reversal, sort or rewrite of the list holding an element it ticked, a removal of
//!   that element), or when it writes again, as a list or an object, the very value the
//!   dropped edit wrote (a list of tags written from the one before). A value a recipe
//!   computed from what a dropped edit wrote elsewhere (a title copied into a todo) is not
//!   traced: patches carry paths, not where a value came from.
//! - **How a dependent edit is reported.** [`DropReason::AfterDropped`] names the edit it
//!   depended on when that edit was itself reported dropped. When it depended on the change in
//!   flight, which only the leader decides, it is dropped for the reason that change left the
//!   state (its [`DropReason::Conflict`] or [`DropReason::DoesNotApply`]), never as
//!   "after" a change that may still be accepted.
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
//! - that an edit survives a [`Snapshot`] exactly as a change would (see the rules above on
//!   snapshots). The change in flight keeps its one outcome: the snapshot's [`Answered`] says
//!   it, or it waits, out of the follower's state, for the leader's answer;
//! - edits a follower had not yet had answered when it crashed: the one in flight may still
//!   be committed (under the old session, seen by everyone as another session's change), the
//!   others are lost with the process.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::apply::{apply_in_place, apply_mut_with_inverse, apply_patches_mut};
use crate::canonical::{apply_typed, canonical_paths};
use crate::draftable::Draftable;
use crate::error::PatchError;
use crate::patch::{Patch, PatchOp};
use crate::path::{Path, PathSegment};
use crate::produce::{PatchDraft, produce_with_patches};
use crate::transform::{Conflict, Rule, Through};

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
    /// It has no patches: nothing to commit. (A struct variant, so that every reason is
    /// written as an object on the wire: `{"Empty": {}}`.)
    Empty {},
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
            RejectReason::Empty {} => write!(f, "it has no patches: nothing to commit"),
            RejectReason::DoesNotApply {
                index,
                path,
                message,
            } => write!(f, "its patch {index} at {path} does not apply: {message}"),
        }
    }
}

impl std::error::Error for RejectReason {}

/// What taking up one committed patch costs in moving a change, counted in the pairs of
/// patches compared (see [`Leader::with_move_limit`]).
const MOVE_OVERHEAD: usize = 50;

/// The most bytes of text a stored answer keeps of a message, and of a path's key.
const ANSWER_TEXT: usize = 256;
const ANSWER_KEY: usize = 64;
/// The most segments of a path a stored answer keeps.
const ANSWER_DEPTH: usize = 32;

impl RejectReason {
    /// The reason with its texts and paths cut short (a message to 256 bytes, a path to 32
    /// segments and each key to 64 bytes, ended with `…`), as a leader stores and sends it:
    /// the answer a session keeps for a retransmission stays small whatever the change held.
    #[must_use]
    pub fn shortened(self) -> Self {
        fn text(text: String, max: usize) -> String {
            if text.len() <= max {
                return text;
            }
            let mut end = max - '…'.len_utf8();
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let mut text = text;
            text.truncate(end);
            text.push('…');
            text
        }
        fn path(path: Path) -> Path {
            let long = path.len() > ANSWER_DEPTH
                || path
                    .segments()
                    .iter()
                    .any(|s| matches!(s, PathSegment::Key(k) if k.len() > ANSWER_KEY));
            if !long {
                return path;
            }
            let mut segments: Vec<PathSegment> = path
                .segments()
                .iter()
                .take(ANSWER_DEPTH)
                .map(|segment| match segment {
                    PathSegment::Key(key) => PathSegment::Key(text(key.clone(), ANSWER_KEY)),
                    index @ PathSegment::Index(_) => index.clone(),
                })
                .collect();
            if path.len() > ANSWER_DEPTH {
                segments.push(PathSegment::Key("…".to_owned()));
            }
            Path::from(segments)
        }
        match self {
            RejectReason::Conflict { version, conflict } => RejectReason::Conflict {
                version,
                conflict: Conflict {
                    index: conflict.index,
                    path: path(conflict.path),
                    by: path(conflict.by),
                },
            },
            RejectReason::Invalid { message } => RejectReason::Invalid {
                message: text(message, ANSWER_TEXT),
            },
            RejectReason::Forbidden { path: p } => RejectReason::Forbidden { path: path(p) },
            RejectReason::Limit { limit, max, got } => RejectReason::Limit {
                limit: text(limit, ANSWER_TEXT),
                max,
                got,
            },
            RejectReason::DoesNotApply {
                index,
                path: p,
                message,
            } => RejectReason::DoesNotApply {
                index,
                path: path(p),
                message: text(message, ANSWER_TEXT),
            },
            other => other,
        }
    }
}

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
    /// The most pairs of patches one change may be moved through (see
    /// [`Leader::with_move_limit`]).
    move_limit: Option<usize>,
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
    /// Boxed: most sessions kept are idle, and a refusal's reason is large.
    answered: Option<Box<(u64, Outcome)>>,
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
            move_limit: None,
        }
    }

    /// Bounds the work of moving one change through what was committed since its base,
    /// counted as the patches committed since its base times (its own patches + 50): each
    /// patch committed costs about as much to take up as 50 pairs of patches cost to
    /// compare. A change over `max_work` is refused before it is moved
    /// ([`RejectReason::Limit`]); its author's follower drops it, and edits anew from the
    /// leader's state. Without a bound, a change based on an old version makes the leader
    /// go through everything committed since, under whatever holds it.
    ///
    /// 400,000 (the WebSocket hub's default) is a few milliseconds at most on a 2-core
    /// machine (see BENCHMARKS.md): a change of one patch may be about 7,800 one-patch
    /// changes behind, one of 1,000 patches 380.
    #[must_use]
    pub fn with_move_limit(mut self, max_work: usize) -> Self {
        self.move_limit = Some(max_work);
        self
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

    /// Runs `authorizer` on every change before it is committed, with its author and its
    /// patches as they will be committed (indices moved through the changes committed since
    /// the author's version, in the canonical form of
    /// [`apply_canonical`](crate::apply_canonical)): a change it refuses is rejected with
    /// [`RejectReason::Forbidden`] naming the path, and never enters the log. It runs after
    /// the change is applied to a copy (a change that does not apply is refused as such) and
    /// before the [validator](Leader::with_validator).
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

    /// Forgets a session: its changes are refused from then on
    /// ([`RejectReason::UnknownSession`]), and a retransmission of its last change is no
    /// longer answered as before. For a transport that ends sessions (a connection gone for
    /// longer than it may resume). Returns whether the session was open.
    pub fn close_session(&mut self, session: SessionId) -> bool {
        self.sessions.remove(&session).is_some()
    }

    /// How many sessions are open.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.sessions.len()
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
                .and_then(|s| s.answered.as_deref().cloned())
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
        if let Some((last, outcome)) = session.answered.as_deref() {
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
        // What the session keeps of a refusal is small, whatever the change held.
        let (outcome, out) = match self.commit(client, change).map_err(RejectReason::shortened) {
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
            session.answered = Some(Box::new((change.id, outcome)));
        }
        vec![out]
    }

    fn committed(&self, version: u64) -> Option<&Committed> {
        let index = version.checked_sub(self.log_start + 1)?;
        self.log.get(usize::try_from(index).ok()?)
    }

    /// Orders `change` by `client` as the next version without committing it, with the
    /// state it leads to. Cheap refusals come first: a base the leader has not reached or no
    /// longer holds, no patches ([`RejectReason::Empty`]), more work to move it than the
    /// [move limit](Leader::with_move_limit). Then its paths are read as the state's types
    /// read them (a list position written as a string becomes a number), it is moved
    /// through everything committed since its base in one pass, applied, authorized as it
    /// will be committed, and validated. What is committed is the change as the typed state writes it (see
    /// [`apply_canonical`](crate::apply_canonical)): members the types lack are gone,
    /// numbers and positions are written as the types write them, so every follower, typed
    /// or JSON, holds the leader's state. This is what [`receive`](Leader::receive) commits; a node that
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
        if change.patches.is_empty() {
            return Err(RejectReason::Empty {});
        }
        let since = usize::try_from(change.base_version - self.log_start).unwrap_or(usize::MAX);
        let log = self.log.range(since..);
        if let Some(max) = self.move_limit {
            // Counted before anything is moved, and no further than the bound.
            let weight = change.patches.len().saturating_add(MOVE_OVERHEAD);
            let mut work = 0_usize;
            for committed in log.clone() {
                work = work.saturating_add(committed.patches.len().saturating_mul(weight));
                if work > max {
                    return Err(RejectReason::Limit {
                        limit: "work to move the change (the patches committed since its \
                                base, times its patches and 50)"
                            .to_owned(),
                        max,
                        got: work,
                    });
                }
            }
        }
        // The paths as the state's types read them (a list position written as a string is
        // moved as a position), then moved through everything committed since the base in one
        // pass.
        let patches = canonical_paths(&*self.state, &change.patches)?;
        let patches = if since < self.log.len() {
            let mut through = Through::default();
            for (offset, committed) in log.enumerate() {
                through.append(&committed.patches, offset);
            }
            through
                .pass(&patches, Rule::CONCURRENT)
                .map_err(|blocked| RejectReason::Conflict {
                    version: change.base_version + 1 + blocked.owner as u64,
                    conflict: blocked.conflict,
                })?
        } else {
            patches
        };
        // Committed as the typed state writes it, so that every follower holds this state;
        // authorized as committed (a set's element where it landed, `-` as the position).
        let (next, patches) = apply_typed(&self.state, patches)?;
        if patches.is_empty() {
            // Every patch changed nothing (an element a set already holds).
            return Err(RejectReason::Empty {});
        }
        if let Some(authorizer) = &self.authorizer {
            authorizer(client, &patches).map_err(|path| RejectReason::Forbidden { path })?;
        }
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
    ///
    /// Time: the change applied in place when no one else holds the leader's state (a clone
    /// of [`state`](Leader::state) kept elsewhere is copied along the change's paths).
    pub fn append(&mut self, committed: Committed) -> Result<(), AppendError> {
        if Some(committed.version) != self.version.checked_add(1) {
            return Err(AppendError::NotNext {
                version: self.version,
                got: committed.version,
            });
        }
        // In place when no one else holds the state (all or nothing either way).
        apply_patches_mut(Arc::make_mut(&mut self.state), &committed.patches)
            .map_err(AppendError::DoesNotApply)?;
        self.version = committed.version;
        self.log.push_back(committed);
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
/// See the [module docs](self) for the protocol and what it guarantees.
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
}

impl<T: Draftable> Follower<T> {
    /// A follower in the session the leader opened for it (with [`Leader::join`] or by
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
        let id = self.next_id;
        self.next_id += 1;
        self.local = Some(next);
        self.pending.push_back(Pending {
            first: id,
            id,
            patches,
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
        committed.session == self.session && self.in_flight_id() == Some(committed.change_id)
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
            tail.clear();
            true
        } else {
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
                let drop = applied.then_some((committed.change_id, None));
                let rebased = self.rebase(&base, Through::new(&committed.patches), drop);
                self.keep_along(rebased, tail)
            }
        };
        for change_id in first..=committed.change_id {
            self.events.push(FollowerEvent::Accepted {
                change_id,
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
                self.version = committed.version;
                self.events.push(FollowerEvent::Applied(self.version));
                true
            }
            Err(error) => {
                // Not the leader's history: say so, and take nothing more until a snapshot.
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
        if rejected.session != self.session || self.in_flight_id() != Some(rejected.change_id) {
            return;
        }
        let Some(in_flight) = self.in_flight.take() else {
            return;
        };
        let reason = DropReason::Rejected(rejected.reason);
        if in_flight.applied {
            let base = Arc::clone(&self.confirmed);
            self.rebase(
                &base,
                Through::default(),
                Some((rejected.change_id, Some(reason))),
            );
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
                            Some(DropReason::AfterDropped {
                                change_id: pending.id,
                            })
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
                    depending = DropReason::AfterDropped { change_id: failed };
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

impl<T: fmt::Debug> fmt::Debug for Leader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leader")
            .field("version", &self.version)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
