//! The node: what it holds (its replica of the log, its follower, the sessions it opened for
//! remote clients) and what it decides.
//!
//! Every decision is a method on this plain data that returns what to do: skip a message,
//! reload the snapshot, write one, send these messages to remote sessions, append this. No
//! NATS, no runtime, no locks, no channels: the worker (`worker.rs`) does what the node
//! decides, and the tests below try the decisions without a server.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::Bytes;
use immer::Draftable;
use immer::sync::{
    Admission, Answered, AppendError, Change, ClientId, Committed, Follower, FollowerEvent, Leader,
    Outbound, Outcome, PathChange, Recipient, RejectReason, Rejected, SessionId, Sessions,
    Snapshot, SubscriptionId, ToFollower, ToLeader,
};
use tokio::sync::mpsc;

use crate::sessions::LogSessions;
use crate::store::StoredSnapshot;

/// A message of the document's log, as read.
pub(crate) struct Received {
    pub(crate) seq: u64,
    pub(crate) payload: Bytes,
}

/// A node's state: everything its decisions read and change.
pub(crate) struct Node<T> {
    pub(crate) follower: Follower<T>,
    /// The committed log as a leader would order it: this node orders its own changes here.
    pub(crate) replica: Leader<T>,
    /// The stream sequence of the last message applied.
    pub(crate) last_seq: u64,
    /// The sessions the log shows: each recent one's client and last committed change.
    sessions: LogSessions,
    pub(crate) events: Vec<FollowerEvent>,
    /// The change in flight (session and id) and how many of its appends are known to have
    /// no effect (they landed stale): each such attempt gets a message id of its own.
    attempt: ((SessionId, u64), u32),
    /// How many messages this node skipped as stale.
    pub(crate) stale: u64,
    /// Sessions this node opened for remote clients, and their changes.
    pub(crate) remote: Remote,
    /// Whether the follower is kept in a store, and what the last save holds.
    durability: Durability,
    /// Where the follower's changes that touch each subscription go (see
    /// [`Document::subscribe`](crate::Document::subscribe)).
    pub(crate) path_subscribers: Vec<(SubscriptionId, mpsc::UnboundedSender<PathChange<T>>)>,
}

/// Whether a node keeps its follower in a store (see `persist.rs`).
#[derive(Clone, Copy, Debug, PartialEq)]
enum Durability {
    /// It does not: a change goes out as soon as it is ordered.
    Volatile,
    /// It does, and the last finished save holds this change in flight (`None`: none): a
    /// change goes out only once a save holds it, so that a node restored from its last save
    /// sends the same change under the same id, never other edits under an id the log may
    /// have seen.
    Saved { in_flight: Option<u64> },
}

/// What one message read from the log does.
#[derive(Debug, PartialEq)]
pub(crate) enum Step<T> {
    /// Read before (at or before the last message applied): nothing.
    Duplicate,
    /// Not a change: skipped by every node alike.
    NotAChange,
    /// A change appended after another took its version: skipped by every node alike, and
    /// counted.
    Stale,
    /// Applied to the replica: the follower's turn; `outbound` goes to remote sessions.
    Committed {
        committed: Committed,
        outbound: Vec<Outbound<T>>,
    },
    /// It does not follow the replica, or does not apply to it: reload the snapshot.
    Reload(Gap),
}

/// Why a message cannot be applied to the replica.
#[derive(Debug, PartialEq)]
pub(crate) enum Gap {
    /// Its change is `version`, but the replica is at `after`: the log has a gap before it
    /// (purged past this node, say).
    Version { after: u64, version: u64 },
    /// It does not apply to the replica's state.
    DoesNotApply(AppendError),
}

/// Why a run stopped for the snapshot to be reloaded.
pub(crate) enum Reload {
    /// This message cannot be applied (it stays out of the run, to be tried again after).
    Gap(Received, Gap),
    /// The follower diverged from the log.
    Diverged,
}

/// What a run of messages did.
pub(crate) struct Run<T> {
    /// Why the run stopped early for the snapshot to be reloaded (the messages after the
    /// one that stopped it stay in the run).
    pub(crate) reload: Option<Reload>,
    /// The snapshot to write: this node committed a snapshot's version.
    pub(crate) snapshot: Option<StoredSnapshot<Arc<T>>>,
    /// For remote sessions, in order.
    pub(crate) outbound: Vec<Outbound<T>>,
}

/// What ordering the next change gave.
pub(crate) struct Prepare<T> {
    /// The append to send, when a change is waiting and passed.
    pub(crate) append: Option<Prepared>,
    /// The refusals of remote sessions' changes, for their sessions.
    pub(crate) outbound: Vec<Outbound<T>>,
    /// Whether a change was refused on the way (the node's state or events changed).
    pub(crate) refused: bool,
    /// Whether this node's change waits for a save that holds it in flight.
    pub(crate) unsaved: bool,
}

/// An append, ready to send.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// The committed change, as JSON.
    pub(crate) payload: Vec<u8>,
    /// JetStream's deduplication id: the change's session and id, and how many attempts
    /// before this one landed stale.
    pub(crate) message_id: String,
    /// The stream sequence the document's last message must have.
    pub(crate) expected: u64,
}

impl<T: Draftable> Node<T> {
    /// A node at a snapshot: `replica` holds its state, and `seq` and `sessions` are the
    /// stream sequence and the table of sessions it includes.
    pub(crate) fn new(
        follower: Follower<T>,
        replica: Leader<T>,
        seq: u64,
        sessions: LogSessions,
    ) -> Self {
        Node {
            follower,
            replica,
            last_seq: seq,
            sessions,
            events: Vec::new(),
            attempt: ((0, 0), 0),
            stale: 0,
            remote: Remote::default(),
            durability: Durability::Volatile,
            path_subscribers: Vec::new(),
        }
    }

    /// A node whose follower was restored from what it saved: `seq` and `replica_version`
    /// say where the node was in the log then, `attempt` its change in flight's appends,
    /// `events` what the app had not taken, and `in_flight` the change in flight the save
    /// holds. `stored` is the document's newest snapshot, and `replica` makes the replica of
    /// a state at a version (with the document's hooks).
    ///
    /// When the snapshot is ahead of the follower (it was away for long), the node starts
    /// where the follower was, with a replica of its confirmed state, and reads the log
    /// from there as a node that was offline does: its edits move through every change
    /// committed since, and its change in flight is ordered against them (when the log was
    /// purged past it, the node reloads the snapshot, as any node does). Otherwise it starts
    /// at the snapshot, and the follower skips what it replays up to its own version; its
    /// change goes out once the replica has caught up with it.
    #[allow(
        clippy::too_many_arguments,
        reason = "one call, in the builder: each part of a save"
    )]
    pub(crate) fn restored(
        follower: Follower<T>,
        seq: u64,
        replica_version: u64,
        attempt: (SessionId, u64, u32),
        events: Vec<FollowerEvent>,
        in_flight: Option<u64>,
        stored: StoredSnapshot<T>,
        replica: impl Fn(Arc<T>, u64) -> Leader<T>,
    ) -> Self {
        let version = follower.version();
        let mut node = if replica_version == version && version < stored.version {
            // The sessions' last commits as of the follower's version; the log read from
            // there brings back the rest.
            let sessions =
                LogSessions::from_stored(&stored.sessions, &stored.clients).up_to(version);
            let state = Arc::clone(follower.confirmed());
            Node::new(follower, replica(state, version), seq, sessions)
        } else {
            let answered = answered(follower.session(), &stored.sessions);
            let state = Arc::new(stored.state);
            let mut node = Node::new(
                follower,
                replica(Arc::clone(&state), stored.version),
                stored.seq,
                LogSessions::from_stored(&stored.sessions, &stored.clients),
            );
            if version < stored.version {
                node.follower.receive(ToFollower::Snapshot(Snapshot {
                    version: stored.version,
                    state: (*state).clone(),
                    answered,
                }));
            }
            node
        };
        let session = node.follower.session();
        node.attempt = match in_flight {
            // Saved before its first append: its appends that landed stale are counted as
            // the log is read again.
            Some(id) if (attempt.0, attempt.1) != (session, id) => ((session, id), 0),
            _ => ((attempt.0, attempt.1), attempt.2),
        };
        node.events = events;
        node.take_follower_events();
        node.durability = Durability::Saved { in_flight };
        node
    }

    /// Puts the changes committed before the replica's snapshot back in front of its log,
    /// as far as `earlier` (messages of the log up to the snapshot's, oldest first) holds
    /// them without a gap: a change made against one of their versions (a client that
    /// resumes its session here, with its change in flight) is then moved through them
    /// instead of refused as compacted. Of messages with the same version, the first is the
    /// one that took effect (a later one landed stale).
    pub(crate) fn remember(&mut self, earlier: Vec<Received>) {
        let start = self.replica.log_start();
        let mut by_version = std::collections::BTreeMap::new();
        for message in earlier {
            if let Ok(committed) = serde_json::from_slice::<Committed>(&message.payload) {
                if committed.version <= start {
                    by_version.entry(committed.version).or_insert(committed);
                }
            }
        }
        let mut run = Vec::new();
        let mut expected = start;
        for (version, committed) in by_version.into_iter().rev() {
            if version != expected || version == 0 {
                break;
            }
            run.push(committed);
            expected -= 1;
        }
        run.reverse();
        // Ends at the log's start and follows on, by construction.
        let _ = self.replica.remember(run);
    }

    /// Keeps the follower in a store from now on: nothing goes out until a first save.
    pub(crate) fn keep_saved(&mut self) {
        self.durability = Durability::Saved { in_flight: None };
    }

    /// A save that holds the change in flight `in_flight` finished.
    pub(crate) fn saved(&mut self, in_flight: Option<u64>) {
        self.durability = Durability::Saved { in_flight };
    }

    /// The change in flight (session, id) and how many of its appends landed stale, as a
    /// save keeps it.
    pub(crate) fn attempts(&self) -> (SessionId, u64, u32) {
        let ((session, id), stale) = self.attempt;
        (session, id, stale)
    }

    /// One message, to the replica: one rule decides, the same on every node. A message
    /// takes effect only when its change is the version after the replica's; anything
    /// else read after the last message applied is skipped (and passed), except a change
    /// from further ahead, which means a gap.
    pub(crate) fn apply(&mut self, message: &Received) -> Step<T> {
        let seq = message.seq;
        if seq <= self.last_seq {
            return Step::Duplicate;
        }
        // Not a change: skipped by every node alike.
        let Ok(committed) = serde_json::from_slice::<Committed>(&message.payload) else {
            self.last_seq = seq;
            return Step::NotAChange;
        };
        let version = self.replica.version();
        if committed.version <= version {
            // Stale: appended after another change took its version (a duplicate of a
            // retried append, or one that nats-server before 2.9.21 let through in a
            // cluster, nats-server#4320). Every node skips it alike; when it is this
            // node's change in flight, the next append is a new attempt.
            self.last_seq = seq;
            self.stale += 1;
            if self.attempt.0 == (committed.session, committed.id) {
                self.attempt.1 += 1;
            }
            return Step::Stale;
        }
        if committed.version > version + 1 {
            return Step::Reload(Gap::Version {
                after: version,
                version: committed.version,
            });
        }
        if let Err(error) = self.replica.append(committed.clone()) {
            return Step::Reload(Gap::DoesNotApply(error));
        }
        let outbound = vec![self.remote.committed(&committed)];
        self.last_seq = seq;
        self.sessions.committed(&committed);
        Step::Committed {
            committed,
            outbound,
        }
    }

    /// Applies messages from the front of `run` to the replica, then the committed changes
    /// among them to the follower in one pass. Stops at a message that needs the snapshot
    /// reloaded. The first change this node committed at a multiple of `snapshot_every`
    /// (0: never) calls for a snapshot, unless one is being written already.
    pub(crate) fn apply_run(
        &mut self,
        run: &mut VecDeque<Received>,
        snapshot_every: u64,
        writing_snapshot: bool,
    ) -> Run<T> {
        let mut committed = Vec::new();
        let mut outbound = Vec::new();
        let mut snapshot = None;
        let mut reload = None;
        while let Some(message) = run.pop_front() {
            match self.apply(&message) {
                Step::Duplicate | Step::NotAChange | Step::Stale => {}
                Step::Committed {
                    committed: change,
                    outbound: out,
                } => {
                    if snapshot.is_none()
                        && !writing_snapshot
                        && self.snapshot_due(&change, snapshot_every)
                    {
                        snapshot = Some(self.stored_snapshot(change.version, message.seq));
                    }
                    outbound.extend(out);
                    committed.push(ToFollower::Committed(change));
                }
                Step::Reload(gap) => {
                    reload = Some(Reload::Gap(message, gap));
                    break;
                }
            }
        }
        self.follower.receive_all(committed);
        if self.take_follower_events() && reload.is_none() {
            reload = Some(Reload::Diverged);
        }
        // Keep the replica's log to what a change in flight may need.
        let keep = self
            .follower
            .version()
            .min(self.replica.version().saturating_sub(10_000));
        self.replica.compact(keep);
        Run {
            reload,
            snapshot,
            outbound,
        }
    }

    /// Whether `committed` calls for a snapshot: this node committed it (its own change or
    /// a remote session's) at a multiple of `every` (0: never).
    pub(crate) fn snapshot_due(&self, committed: &Committed, every: u64) -> bool {
        let own =
            committed.session == self.follower.session() || self.remote.is_open(committed.session);
        own && every != 0 && committed.version % every == 0
    }

    /// The replica as a snapshot of `version`, which includes the log up to `seq`.
    fn stored_snapshot(&self, version: u64, seq: u64) -> StoredSnapshot<Arc<T>> {
        let (sessions, clients) = self.sessions.stored();
        StoredSnapshot {
            version,
            seq,
            state: Arc::clone(self.replica.state()),
            sessions,
            clients,
        }
    }

    /// Moves the node to a snapshot it loaded, unless the replica is ahead of it (then
    /// `None`, and nothing changes). `replica` makes the replica of a snapshot's state and
    /// version (with the document's hooks). The follower keeps its waiting edits where it
    /// can; a remote session's waiting change the snapshot holds is answered.
    pub(crate) fn reload(
        &mut self,
        stored: StoredSnapshot<T>,
        replica: impl FnOnce(Arc<T>, u64) -> Leader<T>,
    ) -> Option<Vec<Outbound<T>>> {
        if stored.version < self.replica.version() {
            return None;
        }
        let answered = answered(self.follower.session(), &stored.sessions);
        let state = Arc::new(stored.state);
        self.replica = replica(Arc::clone(&state), stored.version);
        self.follower.receive(ToFollower::Snapshot(Snapshot {
            version: stored.version,
            state: (*state).clone(),
            answered,
        }));
        let outbound = self
            .remote
            .reloaded(&stored.sessions, stored.version, &*state);
        self.last_seq = self.last_seq.max(stored.seq);
        self.sessions = LogSessions::from_stored(&stored.sessions, &stored.clients);
        self.take_follower_events();
        Some(outbound)
    }

    /// Orders the change to append next, unless the node has not applied the log up to
    /// `hold_until`: the follower's change in flight, or else the oldest waiting change of
    /// a remote session, moved through what was committed since its base as the replica has
    /// it. A change that is refused (or whose append would be over `max_payload`) goes back
    /// at once, to the follower or as a message to its session, and the next is tried.
    pub(crate) fn prepare(&mut self, hold_until: u64, max_payload: usize) -> Prepare<T> {
        let mut outbound = Vec::new();
        let mut refused = false;
        let mut unsaved = false;
        if self.last_seq < hold_until {
            return Prepare {
                append: None,
                outbound,
                refused,
                unsaved,
            };
        }
        let append = loop {
            // This node's own change first, then remote sessions' in order. A follower
            // restored ahead of the replica waits for it to catch up (its change's base is
            // ahead); one kept in a store sends a change once a save holds it in flight.
            let own = (self.replica.version() >= self.follower.version())
                .then(|| {
                    self.follower.poll().into_iter().find_map(|m| match m {
                        ToLeader::Change(change) => Some(change),
                        _ => None,
                    })
                })
                .flatten()
                .filter(|change| match self.durability {
                    Durability::Volatile => true,
                    Durability::Saved { in_flight } => {
                        unsaved = in_flight != Some(change.id);
                        !unsaved
                    }
                });
            let remote = own.is_none();
            let Some(change) = own.or_else(|| self.remote.next().cloned()) else {
                break None;
            };
            if remote
                && self
                    .sessions
                    .get(change.session)
                    .is_some_and(|last| last.id >= change.id)
            {
                // Committed already (its commit answered it, to every session): never
                // appended twice. Reading the commit takes such a change out of the queue,
                // so this guard only holds the rule where that could be missed.
                self.remote.skip();
                continue;
            }
            let client = if remote {
                change.client
            } else {
                self.follower.client()
            };
            let reason = match self.replica.prepare(client, &change) {
                Ok((committed, _)) => match serde_json::to_vec(&committed) {
                    Ok(payload) if payload.len() + 1024 <= max_payload => {
                        break Some(self.attempt(&change, payload));
                    }
                    Ok(payload) => RejectReason::TooLarge {
                        bytes: payload.len(),
                        limit: max_payload.saturating_sub(1024),
                    },
                    Err(error) => RejectReason::DoesNotApply {
                        index: 0,
                        path: immer::Path::root(),
                        message: error.to_string(),
                    },
                },
                Err(reason) => reason,
            };
            // What a session keeps of a refusal is small, whatever the change held.
            let rejected = Rejected {
                session: change.session,
                id: change.id,
                reason: reason.shortened(),
            };
            refused = true;
            if remote {
                outbound.push(self.remote.rejected(rejected));
            } else {
                self.follower.receive(ToFollower::Rejected(rejected));
                self.take_follower_events();
            }
        };
        Prepare {
            append,
            outbound,
            refused,
            unsaved,
        }
    }

    /// The append of `change`, committed as `payload`, after the last message applied. A
    /// change appended again after an attempt that landed stale gets a new message id, so
    /// that JetStream does not drop it as a duplicate of that attempt.
    fn attempt(&mut self, change: &Change, payload: Vec<u8>) -> Prepared {
        if self.attempt.0 != (change.session, change.id) {
            self.attempt = ((change.session, change.id), 0);
        }
        Prepared {
            payload,
            message_id: format!("{}.{}.{}", change.session, change.id, self.attempt.1),
            expected: self.last_seq,
        }
    }

    /// Lets `client` resume `session` on this node: one this node holds for `client`, or one
    /// the log shows as `client`'s (it committed lately, on whichever node, in whatever
    /// life), which this node then holds, with its last commit as its last answer, so that
    /// the change sent again is answered again and the next ones are ordered. Never this
    /// node's own session, nor for client 0 (a node's client unless set, never a hub's).
    /// Returns whether it may.
    pub(crate) fn resume(&mut self, session: SessionId, client: ClientId) -> bool {
        if let Some(held) = self.remote.client(session) {
            return held == client;
        }
        if client == 0 || session == self.follower.session() {
            return false;
        }
        let Some(last) = self.sessions.get(session).filter(|l| l.client == client) else {
            return false;
        };
        self.remote.resume(session, client, last.id, last.version);
        true
    }

    /// Hands a remote session's change to the node: see [`Remote::submit`].
    pub(crate) fn submit(&mut self, change: Change) -> Submitted<T> {
        self.remote.submit(change, &self.replica)
    }

    /// The document as this node has applied it, for a remote session (with how its last
    /// answered change ended).
    pub(crate) fn snapshot_for(&self, session: SessionId) -> Snapshot<T> {
        self.remote.snapshot(session, &self.replica)
    }

    /// What a remote session missed after `version`: the committed changes the replica
    /// still holds, or a snapshot.
    pub(crate) fn resync(&self, session: SessionId, version: u64) -> Vec<ToFollower<T>> {
        if version < self.replica.log_start() {
            return vec![ToFollower::Snapshot(self.snapshot_for(session))];
        }
        self.replica
            .log()
            .filter(|c| c.version > version)
            .cloned()
            .map(ToFollower::Committed)
            .collect()
    }

    /// Sends the follower's changes that touched a subscription to its receiver. A
    /// subscription whose receiver was dropped ends here.
    pub(crate) fn route_path_changes(&mut self) {
        if self.path_subscribers.is_empty() {
            return;
        }
        for change in self.follower.take_path_changes() {
            let to = self
                .path_subscribers
                .iter()
                .find(|(id, _)| *id == change.subscription);
            if let Some((_, sender)) = to {
                // A receiver dropped is let go below.
                let _ = sender.send(change);
            }
        }
        let follower = &mut self.follower;
        self.path_subscribers.retain(|(id, sender)| {
            let open = !sender.is_closed();
            if !open {
                follower.unsubscribe(*id);
            }
            open
        });
    }

    /// Moves the follower's new events to the node's; returns whether it diverged.
    pub(crate) fn take_follower_events(&mut self) -> bool {
        let events = self.follower.take_events();
        let diverged = events
            .iter()
            .any(|e| matches!(e, FollowerEvent::Diverged { .. }));
        self.events.extend(events);
        diverged
    }
}

/// How `session`'s last change ended, as a snapshot's `sessions` (each session's last
/// committed change and its version) say it.
fn answered(session: SessionId, sessions: &[(SessionId, u64, u64)]) -> Option<Answered> {
    sessions
        .iter()
        .find(|(s, _, _)| *s == session)
        .map(|(_, change_id, version)| Answered {
            id: *change_id,
            outcome: Outcome::Committed { version: *version },
        })
}

/// Sessions a node opened for remote clients (a WebSocket server's), and the rules of a
/// session: their changes are appended in order, after the node's own, each is answered
/// once it commits or is refused, and a change sent again is answered again, never queued
/// twice. Every committed change and answer goes out as an [`Outbound`] for the worker to
/// send.
#[derive(Default)]
pub(crate) struct Remote {
    /// The sessions and the answer rule, as every node that orders changes keeps them.
    sessions: Sessions,
    /// Changes waiting to be appended, oldest first.
    queue: VecDeque<Change>,
}

/// What became of a remote session's change handed to the node.
#[derive(Debug, PartialEq)]
pub(crate) enum Submitted<T> {
    /// Queued for the log: the worker has an append to make.
    Queued,
    /// Answered at once, with this message: the session is unknown, or the change was
    /// answered before (it is answered again).
    Answered(Outbound<T>),
    /// Nothing to do: the change waits already, or the session has moved past it.
    Ignored,
}

impl Remote {
    /// Opens `session` for `client`.
    pub(crate) fn open(&mut self, session: SessionId, client: ClientId) {
        self.sessions.open(session, client);
    }

    /// Forgets `session`: its changes are refused from then on, and a retransmission of its
    /// last one is no longer answered as before. Returns whether it was open.
    pub(crate) fn close(&mut self, session: SessionId) -> bool {
        self.sessions.close(session)
    }

    fn is_open(&self, session: SessionId) -> bool {
        self.sessions.contains(session)
    }

    /// The client of `session`, if it is open.
    fn client(&self, session: SessionId) -> Option<ClientId> {
        self.sessions.client(session)
    }

    /// Opens `session` for `client` again, whose last committed change, `id`, was committed
    /// as `version`.
    fn resume(&mut self, session: SessionId, client: ClientId, id: u64, version: u64) {
        if self.sessions.open(session, client) {
            self.sessions
                .answer(session, id, Outcome::Committed { version });
        }
    }

    /// A change from a remote session: refused when the session is unknown, answered again
    /// when it was answered (from `replica`'s log, or with a snapshot once the log no longer
    /// holds it), ignored when it is older or waits already, and else queued, as its
    /// session's client.
    pub(crate) fn submit<T: Draftable>(
        &mut self,
        change: Change,
        replica: &Leader<T>,
    ) -> Submitted<T> {
        let session = change.session;
        let to = Recipient::Session(session);
        let client = match self.sessions.admit(&change) {
            Admission::Order { client } => client,
            Admission::Again { outcome } => {
                let message = Sessions::answer_again(
                    session,
                    change.id,
                    outcome,
                    |version| replica.log().find(|c| c.version == version).cloned(),
                    || self.snapshot(session, replica),
                );
                return Submitted::Answered(Outbound { to, message });
            }
            Admission::Answered => return Submitted::Ignored,
            Admission::Unknown(rejected) => {
                return Submitted::Answered(Outbound {
                    to,
                    message: ToFollower::Rejected(rejected),
                });
            }
        };
        if self
            .queue
            .iter()
            .any(|c| c.session == session && c.id == change.id)
        {
            return Submitted::Ignored;
        }
        self.queue.push_back(Change { client, ..change });
        Submitted::Queued
    }

    /// The oldest change waiting to be appended.
    fn next(&self) -> Option<&Change> {
        self.queue.front()
    }

    /// Drops the oldest change waiting, unanswered.
    fn skip(&mut self) {
        self.queue.pop_front();
    }

    /// A change committed (anyone's): when its session is open here, it is the session's
    /// answer (whichever node appended it: this one, or another its client resumed it on),
    /// and the session's changes waiting here up to it are dropped, never appended twice.
    /// The change goes to every session.
    fn committed<T>(&mut self, committed: &Committed) -> Outbound<T> {
        let (session, id) = (committed.session, committed.id);
        if self.sessions.contains(session) {
            self.queue.retain(|c| c.session != session || c.id > id);
            if self.sessions.answered(session).is_none_or(|a| a.id <= id) {
                let outcome = Outcome::Committed {
                    version: committed.version,
                };
                self.sessions.answer(session, id, outcome);
            }
        }
        Outbound {
            to: Recipient::All,
            message: ToFollower::Committed(committed.clone()),
        }
    }

    /// The oldest waiting change refused: answered, to its session.
    fn rejected<T>(&mut self, rejected: Rejected) -> Outbound<T> {
        self.queue.pop_front();
        let outcome = Outcome::Rejected(rejected.reason.clone());
        self.sessions.answer(rejected.session, rejected.id, outcome);
        Outbound {
            to: Recipient::Session(rejected.session),
            message: ToFollower::Rejected(rejected),
        }
    }

    /// The node moved to a snapshot of `state` at `version`, which holds each of `sessions`'
    /// last commits: a waiting change the snapshot holds is answered with it, and every
    /// session moves to it.
    fn reloaded<T: Clone>(
        &mut self,
        sessions: &[(SessionId, u64, u64)],
        version: u64,
        state: &T,
    ) -> Vec<Outbound<T>> {
        let mut committed = Vec::new();
        self.queue.retain(|change| {
            let found = sessions.iter().find(|(s, _, _)| *s == change.session);
            match found {
                Some((_, last, version)) if *last >= change.id => {
                    committed.push((change.session, change.id, *version));
                    false
                }
                _ => true,
            }
        });
        // A session open here that committed meanwhile (on another node) has that commit as
        // its answer.
        for (session, change_id, committed_version) in sessions {
            let newer = self
                .sessions
                .answered(*session)
                .is_none_or(|a| a.id < *change_id);
            if self.sessions.contains(*session) && newer {
                let outcome = Outcome::Committed {
                    version: *committed_version,
                };
                self.sessions.answer(*session, *change_id, outcome);
            }
        }
        let mut outbound = Vec::new();
        for (session, change_id, committed_version) in committed {
            let outcome = Outcome::Committed {
                version: committed_version,
            };
            self.sessions.answer(session, change_id, outcome.clone());
            let snapshot = Snapshot {
                version,
                state: state.clone(),
                answered: Some(Answered {
                    id: change_id,
                    outcome,
                }),
            };
            outbound.push(Outbound {
                to: Recipient::Session(session),
                message: ToFollower::Snapshot(snapshot),
            });
        }
        let snapshot = Snapshot {
            version,
            state: state.clone(),
            answered: None,
        };
        outbound.push(Outbound {
            to: Recipient::All,
            message: ToFollower::Snapshot(snapshot),
        });
        outbound
    }

    /// `replica`'s state, for `session` (with how its last answered change ended).
    fn snapshot<T: Draftable>(&self, session: SessionId, replica: &Leader<T>) -> Snapshot<T> {
        Snapshot {
            answered: self.sessions.answered(session),
            ..replica.snapshot()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use immer::sync::Welcome;
    use immer::{Patch, Path};
    use serde_json::json;

    type Doc = Vec<u32>;

    /// This node's session (its client is 1).
    const OWN: SessionId = 100;
    /// Another node's session.
    const OTHER: SessionId = 200;
    /// A remote session this node opens, for client 3.
    const REMOTE: SessionId = 7;
    /// As large as any append here may be.
    const MAX_PAYLOAD: usize = 1 << 20;

    fn node() -> Node<Doc> {
        let follower = Follower::new(Welcome {
            client: 1,
            nonce: 0,
            session: OWN,
            snapshot: Snapshot {
                version: 0,
                state: Vec::new(),
                answered: None,
            },
        });
        Node::new(
            follower,
            Leader::new(Arc::new(Vec::new())),
            0,
            LogSessions::default(),
        )
    }

    /// Puts `value` first in the list.
    fn put(value: u32) -> Vec<Patch> {
        vec![Patch::add(Path::root().child(0), json!(value))]
    }

    /// Another node's change `id`, committed as `version`.
    fn foreign(version: u64, id: u64, value: u32) -> Committed {
        Committed {
            author: None,
            version,
            client: 2,
            session: OTHER,
            id,
            patches: put(value),
        }
    }

    /// A change of the remote session.
    fn remote(id: u64, base: u64, value: u32) -> Change {
        Change {
            author: None,
            client: 0,
            session: REMOTE,
            id,
            base,
            patches: put(value),
        }
    }

    /// A change read from the log at `seq`.
    fn message(seq: u64, committed: &Committed) -> Received {
        let payload = serde_json::to_vec(committed).expect("JSON");
        Received {
            seq,
            payload: payload.into(),
        }
    }

    /// An append of this node's, as it lands in the log at `seq`.
    fn landed(seq: u64, append: &Prepared) -> Received {
        Received {
            seq,
            payload: append.payload.clone().into(),
        }
    }

    fn decode(append: &Prepared) -> Committed {
        serde_json::from_slice(&append.payload).expect("a committed change")
    }

    fn apply_run(node: &mut Node<Doc>, messages: impl IntoIterator<Item = Received>) -> Run<Doc> {
        node.apply_run(&mut messages.into_iter().collect(), 0, false)
    }

    #[test]
    fn a_message_read_before_is_skipped() {
        let mut node = node();
        let first = foreign(1, 1, 10);
        assert!(matches!(
            node.apply(&message(1, &first)),
            Step::Committed { .. }
        ));
        assert_eq!(node.apply(&message(1, &first)), Step::Duplicate);
        // Whatever it holds: a consumer that delivers an earlier sequence again.
        assert_eq!(node.apply(&message(1, &foreign(2, 2, 20))), Step::Duplicate);
        assert_eq!(node.replica.version(), 1);
        assert_eq!(**node.replica.state(), [10]);
        assert_eq!((node.last_seq, node.stale), (1, 0));
        // Not a change: passed, by every node alike.
        let noise = Received {
            seq: 2,
            payload: Bytes::from_static(b"not a change"),
        };
        assert_eq!(node.apply(&noise), Step::NotAChange);
        assert_eq!((node.last_seq, node.replica.version()), (2, 1));
    }

    #[test]
    fn a_stale_version_is_skipped_counted_and_its_change_appended_again_as_a_new_attempt() {
        let mut node = node();
        node.follower.edit(|d| d.push(1));
        let first = node.prepare(0, MAX_PAYLOAD).append.expect("an append");
        assert_eq!((first.message_id.as_str(), first.expected), ("100.1.0", 0));
        // Another node's change takes version 1 first, and this node's append lands after
        // it with the same version: stale, skipped.
        let other = foreign(1, 1, 10);
        assert!(matches!(
            node.apply(&message(1, &other)),
            Step::Committed { .. }
        ));
        assert_eq!(node.apply(&landed(2, &first)), Step::Stale);
        assert_eq!((node.stale, node.last_seq), (1, 2));
        assert_eq!(**node.replica.state(), [10]);
        // Appended again, moved through the other change, under a message id of its own
        // (JetStream would drop the first attempt's id as a duplicate).
        let second = node.prepare(2, MAX_PAYLOAD).append.expect("an append");
        assert_eq!(
            (second.message_id.as_str(), second.expected),
            ("100.1.1", 2)
        );
        assert_eq!(decode(&second).version, 2);
        // Another session's stale message is counted, and leaves this node's attempt alone.
        assert_eq!(node.apply(&message(3, &other)), Step::Stale);
        assert_eq!(node.stale, 2);
        let third = node.prepare(3, MAX_PAYLOAD).append.expect("an append");
        assert_eq!((third.message_id.as_str(), third.expected), ("100.1.1", 3));
        // Until the node has read the log up to where it must wait, it appends nothing.
        assert!(node.prepare(4, MAX_PAYLOAD).append.is_none());
    }

    #[test]
    fn a_gap_in_the_log_asks_for_a_reload() {
        let mut node = node();
        assert_eq!(
            node.apply(&message(5, &foreign(3, 3, 30))),
            Step::Reload(Gap::Version {
                after: 0,
                version: 3
            })
        );
        // Nothing applied: the message is tried again after the reload.
        assert_eq!((node.last_seq, node.replica.version()), (0, 0));
        let missing = Committed {
            patches: vec![Patch::remove(Path::root().child(5))],
            ..foreign(1, 1, 0)
        };
        assert!(matches!(
            node.apply(&message(1, &missing)),
            Step::Reload(Gap::DoesNotApply(_))
        ));
        // In a run, what comes before is applied (to the follower too), and what comes
        // after waits for the reload.
        let run = [
            message(1, &foreign(1, 1, 10)),
            message(2, &foreign(3, 3, 30)),
            message(3, &foreign(4, 4, 40)),
        ];
        let mut run: VecDeque<Received> = run.into();
        let applied = node.apply_run(&mut run, 0, false);
        assert!(matches!(
            applied.reload,
            Some(Reload::Gap(
                Received { seq: 2, .. },
                Gap::Version {
                    after: 1,
                    version: 3
                }
            ))
        ));
        assert_eq!(run.iter().map(|m| m.seq).collect::<Vec<_>>(), [3]);
        assert_eq!((node.last_seq, node.follower.version()), (1, 1));
    }

    #[test]
    fn a_remote_sessions_waiting_change_is_answered_when_it_commits() {
        let mut node = node();
        node.remote.open(REMOTE, 3);
        assert_eq!(node.submit(remote(1, 0, 70)), Submitted::Queued);
        let append = node.prepare(0, MAX_PAYLOAD).append.expect("an append");
        assert_eq!(append.message_id, "7.1.0");
        // Committed as its session's client.
        let committed = decode(&append);
        assert_eq!((committed.client, committed.version), (3, 1));
        // Its message, read from the log, answers it: the change goes to every session.
        let applied = apply_run(&mut node, [landed(1, &append)]);
        let to_all = Outbound {
            to: Recipient::All,
            message: ToFollower::Committed(committed),
        };
        assert_eq!(applied.outbound, [to_all]);
        assert!(node.remote.queue.is_empty());
        assert!(node.prepare(1, MAX_PAYLOAD).append.is_none());
        assert_eq!(
            node.snapshot_for(REMOTE).answered,
            Some(Answered {
                id: 1,
                outcome: Outcome::Committed { version: 1 }
            })
        );
        // Another node's change goes to every session too, and answers nothing.
        let other = foreign(2, 1, 20);
        let applied = apply_run(&mut node, [message(2, &other)]);
        let to_all = Outbound {
            to: Recipient::All,
            message: ToFollower::Committed(other),
        };
        assert_eq!(applied.outbound, [to_all]);
    }

    #[test]
    fn a_retransmitted_remote_change_is_answered_again_and_never_queued_twice() {
        let mut node = node();
        node.remote.open(REMOTE, 3);
        let change = remote(1, 0, 70);
        assert_eq!(node.submit(change.clone()), Submitted::Queued);
        // Sent again while it waits: it waits once.
        assert_eq!(node.submit(change.clone()), Submitted::Ignored);
        assert_eq!(node.remote.queue.len(), 1);
        let append = node.prepare(0, MAX_PAYLOAD).append.expect("an append");
        apply_run(&mut node, [landed(1, &append)]);
        assert!(
            node.prepare(1, MAX_PAYLOAD).append.is_none(),
            "appended once"
        );
        // Sent again once committed: answered again, to its session only, and not queued.
        let again = Outbound {
            to: Recipient::Session(REMOTE),
            message: ToFollower::Committed(decode(&append)),
        };
        assert_eq!(node.submit(change.clone()), Submitted::Answered(again));
        assert!(node.remote.queue.is_empty());
        // A refused change, sent again, is refused again.
        let empty = Change {
            patches: Vec::new(),
            ..remote(2, 1, 0)
        };
        assert_eq!(node.submit(empty.clone()), Submitted::Queued);
        let prepare = node.prepare(1, MAX_PAYLOAD);
        assert!(prepare.append.is_none());
        assert!(prepare.refused);
        let refusal = Outbound {
            to: Recipient::Session(REMOTE),
            message: ToFollower::Rejected(Rejected {
                session: REMOTE,
                id: 2,
                reason: RejectReason::Empty {},
            }),
        };
        assert_eq!(prepare.outbound, std::slice::from_ref(&refusal));
        assert_eq!(node.submit(empty), Submitted::Answered(refusal));
        assert!(node.remote.queue.is_empty());
        // A change older than the last one answered: nothing.
        assert_eq!(node.submit(change), Submitted::Ignored);
        assert!(node.remote.queue.is_empty());
    }

    #[test]
    fn a_session_the_log_shows_is_resumed_by_its_client_on_any_node() {
        // Another node (or this node's earlier life) committed change 2 of the remote
        // session, as client 3's.
        let mut node = node();
        let committed = Committed {
            client: 3,
            session: REMOTE,
            ..foreign(1, 2, 10)
        };
        apply_run(&mut node, [message(1, &committed)]);
        // Only its client resumes it; never this node's own session, nor client 0.
        assert!(!node.resume(REMOTE, 4));
        assert!(!node.resume(OWN, 1));
        assert!(!node.resume(OTHER, 0));
        assert!(node.resume(REMOTE, 3));
        assert!(node.resume(REMOTE, 3), "held now");
        assert!(!node.resume(REMOTE, 4));
        // Its change sent again is answered again, from the log, never appended; an older one
        // is not answered at all; the next is ordered.
        let again = Outbound {
            to: Recipient::Session(REMOTE),
            message: ToFollower::Committed(committed.clone()),
        };
        assert_eq!(node.submit(remote(2, 0, 10)), Submitted::Answered(again));
        assert_eq!(node.submit(remote(1, 0, 9)), Submitted::Ignored);
        assert!(node.prepare(1, MAX_PAYLOAD).append.is_none());
        assert_eq!(node.submit(remote(3, 1, 11)), Submitted::Queued);
        let append = node.prepare(1, MAX_PAYLOAD).append.expect("an append");
        assert_eq!(
            (append.message_id.as_str(), decode(&append).client),
            ("7.3.0", 3)
        );
        // A session the log does not show (never committed, or forgotten) is not resumed.
        assert!(!node.resume(8, 3));
    }

    #[test]
    fn a_change_another_node_committed_is_never_appended_here_again() {
        // The session's client sent change 1 here, then (this node slow, or cut off) again
        // to another node, which committed it: reading that commit answers it here, and
        // drops this node's copy.
        let mut node = node();
        node.remote.open(REMOTE, 3);
        assert_eq!(node.submit(remote(1, 0, 70)), Submitted::Queued);
        let elsewhere = Committed {
            client: 3,
            session: REMOTE,
            ..foreign(1, 1, 70)
        };
        apply_run(&mut node, [message(1, &elsewhere)]);
        assert!(node.remote.queue.is_empty());
        assert!(node.prepare(1, MAX_PAYLOAD).append.is_none());
        let again = Outbound {
            to: Recipient::Session(REMOTE),
            message: ToFollower::Committed(elsewhere),
        };
        assert_eq!(node.submit(remote(1, 0, 70)), Submitted::Answered(again));
        // And the guard: a change the log shows committed, waiting here, is skipped.
        let mut node = self::node();
        node.remote.open(REMOTE, 3);
        node.remote.queue.push_back(remote(1, 0, 70));
        node.sessions.committed(&Committed {
            client: 3,
            session: REMOTE,
            ..foreign(1, 1, 70)
        });
        assert!(node.prepare(0, MAX_PAYLOAD).append.is_none());
        assert!(node.remote.queue.is_empty());
    }

    #[test]
    fn a_node_remembers_the_log_before_its_snapshot_up_to_a_gap() {
        let mut node = Node::new(
            node().follower,
            Leader::resume(Arc::new(vec![30, 20, 10]), 3),
            9,
            LogSessions::default(),
        );
        // Version 1 is missing from what was read; version 3 landed twice (stale after).
        let earlier = [
            message(5, &foreign(2, 2, 20)),
            message(7, &foreign(3, 3, 30)),
            message(8, &foreign(3, 4, 40)),
            message(9, &foreign(4, 5, 50)),
        ];
        node.remember(earlier.into());
        assert_eq!(node.replica.log_start(), 1);
        assert_eq!(node.replica.log().map(|c| c.id).collect::<Vec<_>>(), [2, 3]);
        // A change made against version 1 is moved through them, not refused as compacted.
        node.remote.open(REMOTE, 3);
        assert_eq!(node.submit(remote(1, 1, 70)), Submitted::Queued);
        let append = node.prepare(9, MAX_PAYLOAD).append.expect("an append");
        assert_eq!(decode(&append).version, 4);
    }

    #[test]
    fn a_snapshot_carries_the_clients_of_its_sessions() {
        let mut node = node();
        node.remote.open(REMOTE, 3);
        assert_eq!(node.submit(remote(1, 0, 70)), Submitted::Queued);
        let append = node.prepare(0, MAX_PAYLOAD).append.expect("an append");
        let stored = node
            .apply_run(&mut [landed(1, &append)].into(), 1, false)
            .snapshot
            .expect("a snapshot to write");
        assert_eq!(
            (stored.sessions, stored.clients),
            (vec![(REMOTE, 1, 1)], vec![(REMOTE, 3)])
        );
    }

    #[test]
    fn a_change_of_an_unknown_session_is_rejected() {
        let unknown = |session| {
            Submitted::Answered(Outbound {
                to: Recipient::Session(session),
                message: ToFollower::Rejected(Rejected {
                    session,
                    id: 1,
                    reason: RejectReason::UnknownSession { session },
                }),
            })
        };
        let mut node = node();
        let change = remote(1, 0, 70);
        assert_eq!(node.submit(change.clone()), unknown(REMOTE));
        // Or of a session closed.
        node.remote.open(REMOTE, 3);
        assert!(node.remote.close(REMOTE));
        assert_eq!(node.submit(change), unknown(REMOTE));
        assert!(node.remote.queue.is_empty());
        assert!(node.prepare(0, MAX_PAYLOAD).append.is_none());
    }

    #[test]
    fn a_snapshot_is_due_when_this_node_commits_a_multiple_of_snapshot_every() {
        let mut node = node();
        // Another node's change at version 2 is that node's to write.
        let run = [
            message(1, &foreign(1, 1, 10)),
            message(2, &foreign(2, 2, 20)),
        ];
        assert!(node.apply_run(&mut run.into(), 2, false).snapshot.is_none());
        node.follower.edit(|d| d.push(1));
        let append = node.prepare(2, MAX_PAYLOAD).append.expect("an append");
        let run = [landed(3, &append)];
        let stored = node.apply_run(&mut run.into(), 3, false).snapshot;
        let stored = stored.expect("a snapshot to write");
        assert_eq!((stored.version, stored.seq), (3, 3));
        assert_eq!(*stored.state, [20, 10, 1]);
        assert_eq!(stored.sessions, [(OWN, 1, 3), (OTHER, 2, 2)]);
        // Not while one is being written.
        let mut node = self::node();
        node.follower.edit(|d| d.push(1));
        let append = node.prepare(0, MAX_PAYLOAD).append.expect("an append");
        let run = [landed(1, &append)];
        assert!(node.apply_run(&mut run.into(), 1, true).snapshot.is_none());
        // A remote session's change is this node's to write too.
        let remote = Committed {
            session: REMOTE,
            ..foreign(6, 1, 0)
        };
        assert!(!node.snapshot_due(&remote, 3));
        node.remote.open(REMOTE, 3);
        assert!(node.snapshot_due(&remote, 3));
        let version_5 = Committed {
            version: 5,
            ..remote.clone()
        };
        assert!(!node.snapshot_due(&version_5, 3));
        assert!(!node.snapshot_due(&remote, 0), "0: never");
    }

    #[test]
    fn a_reload_answers_the_waiting_remote_changes_the_snapshot_holds() {
        let mut node = node();
        node.remote.open(REMOTE, 3);
        assert_eq!(node.submit(remote(1, 0, 70)), Submitted::Queued);
        assert_eq!(node.submit(remote(2, 0, 71)), Submitted::Queued);
        let stored = |version| StoredSnapshot {
            version,
            seq: 9,
            state: vec![1, 2, 3],
            sessions: vec![(REMOTE, 1, 4)],
            clients: vec![(REMOTE, 3)],
        };
        let outbound = node.reload(stored(5), Leader::resume).expect("ahead");
        let snapshot = |answered| Snapshot {
            version: 5,
            state: vec![1, 2, 3],
            answered,
        };
        let answered = Answered {
            id: 1,
            outcome: Outcome::Committed { version: 4 },
        };
        let expected = [
            Outbound {
                to: Recipient::Session(REMOTE),
                message: ToFollower::Snapshot(snapshot(Some(answered))),
            },
            Outbound {
                to: Recipient::All,
                message: ToFollower::Snapshot(snapshot(None)),
            },
        ];
        assert_eq!(outbound, expected);
        assert_eq!(node.remote.queue.len(), 1, "the second change still waits");
        assert_eq!((node.replica.version(), node.last_seq), (5, 9));
        assert_eq!(node.follower.version(), 5);
        // A snapshot behind the replica changes nothing.
        assert!(node.reload(stored(4), Leader::resume).is_none());
    }

    #[test]
    fn a_node_kept_in_a_store_appends_its_change_once_a_save_holds_it_in_flight() {
        let mut node = node();
        node.keep_saved();
        node.follower.edit(|d| d.push(1));
        // Ordered, but held: no save holds it yet.
        let prepare = node.prepare(0, MAX_PAYLOAD);
        assert!(prepare.append.is_none() && prepare.unsaved);
        // A save from before it was in flight does not count.
        node.saved(None);
        assert!(node.prepare(0, MAX_PAYLOAD).append.is_none());
        node.saved(Some(1));
        let prepare = node.prepare(0, MAX_PAYLOAD);
        assert!(!prepare.unsaved);
        assert_eq!(prepare.append.expect("an append").message_id, "100.1.0");
        // A remote session's change does not wait for the node's saves.
        let mut node = self::node();
        node.keep_saved();
        node.follower.edit(|d| d.push(1));
        node.remote.open(REMOTE, 3);
        assert_eq!(node.submit(remote(1, 0, 70)), Submitted::Queued);
        let prepare = node.prepare(0, MAX_PAYLOAD);
        assert_eq!(prepare.append.expect("an append").message_id, "7.1.0");
        assert!(prepare.unsaved);
    }

    /// A node's follower saved with a change in flight (after `edits` edits and a run of
    /// `committed` other nodes' changes), and the document's snapshot at `snapshot`.
    fn saved_node(committed: u64) -> (Follower<Doc>, u64, Option<u64>) {
        let mut node = node();
        node.keep_saved();
        let run: Vec<Received> = (1..=committed)
            .map(|v| message(v, &foreign(v, v, v as u32)))
            .collect();
        apply_run(&mut node, run);
        node.follower.edit(|d| d.push(1));
        node.follower.edit(|d| d.push(2));
        let _ = node.follower.poll();
        let saved = node.follower.save();
        let in_flight = saved.in_flight_id();
        let follower = Follower::restore(saved).expect("restores");
        (follower, node.last_seq, in_flight)
    }

    fn snapshot_at(version: u64, sessions: Vec<(SessionId, u64, u64)>) -> StoredSnapshot<Doc> {
        StoredSnapshot {
            version,
            seq: version,
            state: (1..=version as u32).rev().collect(),
            sessions,
            clients: Vec::new(),
        }
    }

    #[test]
    fn a_restored_node_behind_the_snapshot_starts_where_its_follower_was() {
        let (follower, seq, in_flight) = saved_node(2);
        assert_eq!(in_flight, Some(1));
        let stored = snapshot_at(5, vec![(OTHER, 5, 5), (REMOTE, 1, 2)]);
        let mut node = Node::restored(
            follower,
            seq,
            2,
            (0, 0, 0),
            Vec::new(),
            in_flight,
            stored,
            Leader::resume,
        );
        // The replica is the follower's confirmed state; the log is read from after it.
        assert_eq!((node.replica.version(), node.last_seq), (2, 2));
        assert_eq!(**node.replica.state(), [2, 1]);
        assert_eq!(node.sessions.len(), 1, "the commits as of version 2");
        // The change in flight goes out at once (a save holds it), against version 2, with
        // its stale landings counted from here.
        let append = node.prepare(2, MAX_PAYLOAD).append.expect("an append");
        assert_eq!(append.message_id, "100.1.0");
        assert_eq!(decode(&append).version, 3);
        // The other node's changes since come in, then this one's, and it is accepted.
        let run: Vec<Received> = (3..=5)
            .map(|v| message(v, &foreign(v, v, v as u32)))
            .collect();
        apply_run(&mut node, run);
        let again = node
            .prepare(5, MAX_PAYLOAD)
            .append
            .expect("moved and appended again");
        apply_run(&mut node, [landed(6, &again)]);
        assert!(
            node.events
                .contains(&FollowerEvent::Accepted { id: 1, version: 6 })
        );
        // The next edit waits for a save that holds it in flight.
        let prepare = node.prepare(6, MAX_PAYLOAD);
        assert!(prepare.append.is_none() && prepare.unsaved);
        node.saved(Some(2));
        let last = node.prepare(6, MAX_PAYLOAD).append.expect("an append");
        apply_run(&mut node, [landed(7, &last)]);
        assert!(node.follower.is_settled());
        assert_eq!(**node.follower.state(), [5, 4, 3, 2, 1, 1, 2]);
    }

    #[test]
    fn a_restored_node_ahead_of_the_snapshot_sends_once_its_replica_caught_up() {
        let (follower, seq, in_flight) = saved_node(3);
        let stored = snapshot_at(1, Vec::new());
        let mut node = Node::restored(
            follower,
            seq,
            3,
            (OWN, 1, 2),
            Vec::new(),
            in_flight,
            stored,
            Leader::resume,
        );
        assert_eq!((node.replica.version(), node.follower.version()), (1, 3));
        assert_eq!(node.attempts(), (OWN, 1, 2), "its stale appends, as saved");
        // Its base is ahead of the replica: it waits.
        assert!(node.prepare(1, MAX_PAYLOAD).append.is_none());
        let run: Vec<Received> = (2..=3)
            .map(|v| message(v, &foreign(v, v, v as u32)))
            .collect();
        apply_run(&mut node, run);
        assert_eq!(node.follower.version(), 3);
        let append = node.prepare(3, MAX_PAYLOAD).append.expect("an append");
        assert_eq!(append.message_id, "100.1.2");
        assert_eq!(decode(&append).version, 4);
    }

    /// Subscribes as [`Document::subscribe`](crate::Document::subscribe) does.
    fn subscribe(
        node: &mut Node<Doc>,
        pointer: &str,
    ) -> (SubscriptionId, mpsc::UnboundedReceiver<PathChange<Doc>>) {
        let (sender, receiver) = mpsc::unbounded_channel();
        let id = node
            .follower
            .subscribe(pointer.parse::<immer::PathPattern>().expect("a pattern"));
        node.path_subscribers.push((id, sender));
        (id, receiver)
    }

    #[test]
    fn a_dropped_receiver_ends_its_subscription_in_the_follower_too() {
        let mut node = node();
        let (first, mut first_changes) = subscribe(&mut node, "/0");
        let (all, all_changes) = subscribe(&mut node, "/**");
        drop(all_changes);
        assert_eq!(
            node.path_subscribers.len(),
            2,
            "ended when changes are routed"
        );

        // Another node's change, read from the log: the open receiver gets it, and the
        // subscription whose receiver was dropped ends, in the follower too (which then
        // reports nothing more for it).
        let _ = apply_run(&mut node, [message(1, &foreign(1, 1, 10))]);
        node.route_path_changes();
        let change = first_changes.try_recv().expect("the change of /0");
        assert_eq!(change.subscription, first);
        assert_eq!(*change.state, [10]);
        let ids: Vec<SubscriptionId> = node.path_subscribers.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, [first]);
        assert!(!node.follower.unsubscribe(all), "already ended");
        assert!(node.follower.take_path_changes().is_empty());

        // This node's own edit: only the subscription left is told.
        node.follower.edit(|d| d.insert(0, 5).expect("in range"));
        node.route_path_changes();
        assert_eq!(*first_changes.try_recv().expect("the edit").state, [5, 10]);
        drop(first_changes);
        node.follower.edit(|d| d.insert(0, 6).expect("in range"));
        node.route_path_changes();
        assert!(node.path_subscribers.is_empty());
        assert!(!node.follower.unsubscribe(first), "already ended");
    }
}
