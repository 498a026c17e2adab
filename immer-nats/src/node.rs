//! The node: its state (the replica of the log, the follower, remote sessions) and what it
//! decides.

use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};

use bytes::Bytes;
use immer::Draftable;
use immer::sync::{
    Answered, Change, ClientId, Committed, Follower, FollowerEvent, Leader, Outbound, Outcome,
    Recipient, SessionId, Snapshot, ToFollower,
};
use tokio::sync::{Notify, mpsc, watch};

use crate::config::debug;
use crate::store::RECENT_SESSIONS;

/// A session id no other node picks: 64 random bits from the standard library's hasher keys
/// and the clock.
pub(crate) fn random_session() -> SessionId {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    hasher.finish().max(1)
}

/// What the node's handle, its async task and its thread share.
pub(crate) struct Shared<T> {
    pub(crate) name: String,
    pub(crate) subject: String,
    pub(crate) node: Mutex<Node<T>>,
    /// [`Node::last_seq`], for the async task, which never waits for the lock.
    pub(crate) applied: AtomicU64,
    /// A snapshot of this node's is being written.
    pub(crate) snapshotting: AtomicBool,
    /// Wakes the async task: an edit is waiting.
    pub(crate) wake: Notify,
    /// Bumped at every change of the node's state or events.
    pub(crate) changed: watch::Sender<u64>,
}

impl<T> Shared<T> {
    pub(crate) fn lock(&self) -> MutexGuard<'_, Node<T>> {
        // A panic while the lock was held leaves nothing half-done that matters here.
        self.node
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }
}

pub(crate) struct Node<T> {
    pub(crate) follower: Follower<T>,
    /// The committed log as a leader would order it: this node orders its own changes here.
    pub(crate) replica: Leader<T>,
    /// The stream sequence of the last message applied.
    pub(crate) last_seq: u64,
    /// Each recent session's last committed change and its version.
    pub(crate) sessions: BTreeMap<SessionId, (u64, u64)>,
    pub(crate) events: Vec<FollowerEvent>,
    /// The change in flight (session and id) and how many of its appends are known to have
    /// no effect (they landed stale): each such attempt gets a message id of its own.
    pub(crate) attempt: ((SessionId, u64), u32),
    /// How many messages this node skipped as stale.
    pub(crate) stale: u64,
    /// Sessions this node opened for remote clients, and their changes.
    pub(crate) remote: Remote<T>,
}

/// Sessions a node opened for remote clients (a WebSocket server's): their changes are
/// appended in order, after the node's own, and every committed change and answer goes out
/// through the outbox.
pub(crate) struct Remote<T> {
    pub(crate) sessions: std::collections::HashMap<SessionId, ClientId>,
    /// Changes waiting to be appended, oldest first.
    pub(crate) queue: VecDeque<Change>,
    /// Each remote session's last answered change and how it ended.
    pub(crate) answered: std::collections::HashMap<SessionId, (u64, Outcome)>,
    pub(crate) outbox: Option<mpsc::UnboundedSender<Outbound<T>>>,
}

impl<T> Default for Remote<T> {
    fn default() -> Self {
        Remote {
            sessions: std::collections::HashMap::new(),
            queue: VecDeque::new(),
            answered: std::collections::HashMap::new(),
            outbox: None,
        }
    }
}

impl<T> Remote<T> {
    pub(crate) fn send(&self, to: Recipient, message: ToFollower<T>) {
        if let Some(outbox) = &self.outbox {
            // A closed outbox: nobody listens any more.
            let _ = outbox.send(Outbound { to, message });
        }
    }

    pub(crate) fn is_front(&self, session: SessionId, change_id: u64) -> bool {
        self.queue
            .front()
            .is_some_and(|c| c.session == session && c.id == change_id)
    }
}

impl<T: Draftable> Node<T> {
    /// The document as this node has applied it, for a remote session (with how its last
    /// answered change ended).
    pub(crate) fn snapshot_for(&self, session: SessionId) -> Snapshot<T> {
        Snapshot {
            answered: self
                .remote
                .answered
                .get(&session)
                .map(|(change_id, outcome)| Answered {
                    id: *change_id,
                    outcome: outcome.clone(),
                }),
            ..self.replica.snapshot()
        }
    }

    /// One message, to the replica (and to remote sessions).
    pub(crate) fn apply(&mut self, message: &Received) -> Step {
        let node = self;
        let seq = message.seq;
        if seq <= node.last_seq {
            return Step::Skipped;
        }
        // Not a change: skipped by every node alike.
        let Ok(committed) = serde_json::from_slice::<Committed>(&message.payload) else {
            node.last_seq = seq;
            return Step::Skipped;
        };
        let version = node.replica.version();
        if committed.version <= version {
            // Stale: appended after another change took its version (a duplicate of a
            // retried append, or one that nats-server before 2.9.21 let through in a
            // cluster, nats-server#4320). Every node skips it alike; when it is this
            // node's change in flight, the next append is a new attempt.
            node.last_seq = seq;
            node.stale += 1;
            if node.attempt.0 == (committed.session, committed.id) {
                node.attempt.1 += 1;
            }
            return Step::Skipped;
        }
        if committed.version > version + 1 {
            debug(&format!("gap: {} after {version}", committed.version));
            return Step::Reload;
        }
        if node.replica.append(committed.clone()).is_err() {
            return Step::Reload;
        }
        let (session, change_id, version) = (committed.session, committed.id, committed.version);
        if node.remote.is_front(session, change_id) {
            node.remote.queue.pop_front();
            let outcome = Outcome::Committed { version };
            node.remote.answered.insert(session, (change_id, outcome));
        }
        node.remote
            .send(Recipient::All, ToFollower::Committed(committed.clone()));
        node.last_seq = seq;
        node.sessions.insert(session, (change_id, version));
        if node.sessions.len() > RECENT_SESSIONS {
            let oldest = node
                .sessions
                .iter()
                .min_by_key(|(_, (_, v))| *v)
                .map(|(s, _)| *s);
            if let Some(oldest) = oldest {
                node.sessions.remove(&oldest);
            }
        }
        Step::Committed(committed)
    }

    pub(crate) fn take_follower_events(&mut self) -> bool {
        let events = self.follower.take_events();
        let diverged = events
            .iter()
            .any(|e| matches!(e, FollowerEvent::Diverged { .. }));
        self.events.extend(events);
        diverged
    }
}

/// A message of the document's log, as read.
pub(crate) struct Received {
    pub(crate) seq: u64,
    pub(crate) payload: Bytes,
}

/// What the document's thread does with one message.
pub(crate) enum Step {
    /// Skipped (read before, stale, or not a change).
    Skipped,
    /// Applied to the replica: the follower's turn.
    Committed(Committed),
    /// It does not follow the replica's version, or does not apply: reload the snapshot.
    Reload,
}
