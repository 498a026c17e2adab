//! How a node joins a document: the builder, its hooks, and the replica they make.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use immer::sync::{
    Checks, ClientId, Follower, FollowerStore, Leader, PersistError, Snapshot, Welcome,
};
use immer::{Draftable, Patch};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::debug;
use crate::document::{Document, random_session};
use crate::error::{Error, retry_transient};
use crate::node::Node;
use crate::persist::{self, Persist};
use crate::pool;
use crate::sessions::LogSessions;
use crate::store::{Store, StoredSnapshot, check_name};
use crate::worker::{self, Shared};

/// How far back before its snapshot a joining node reads the log, in stream sequences (the
/// document's messages among them; the stream's other documents' are filtered out by the
/// server).
const READ_BACK: u64 = 4096;

// Beside the builder it makes rather than in store.rs: the worker uses the store, and the
// builder starts the worker.
impl Store {
    /// A document to join, as a node.
    pub fn document<T>(&self, name: &str) -> DocumentBuilder<T> {
        DocumentBuilder {
            store: self.clone(),
            name: name.to_owned(),
            client: 0,
            batch: 256,
            checks: Checks::new(),
            persist: None,
        }
    }
}

/// How to join a document: see [`Store::document`].
pub struct DocumentBuilder<T> {
    store: Store,
    name: String,
    client: ClientId,
    batch: usize,
    checks: Checks<T>,
    persist: Option<Box<dyn FollowerStore + Send>>,
}

impl<T> fmt::Debug for DocumentBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentBuilder")
            .field("name", &self.name)
            .field("client", &self.client)
            .field("batch", &self.batch)
            .field("persist", &self.persist.is_some())
            .finish_non_exhaustive()
    }
}

impl<T> DocumentBuilder<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Who this node edits as (the same across restarts); it is in every change it commits.
    #[must_use]
    pub fn client(mut self, client: ClientId) -> Self {
        self.client = client;
        self
    }

    /// At most this many waiting edits go out as one append (256 unless set; at least 1).
    #[must_use]
    pub fn batch(mut self, max_edits: usize) -> Self {
        self.batch = max_edits.max(1);
        self
    }

    /// Runs `validator` on each of this node's changes before it is appended, with the
    /// state it applies to, the state it leads to, and its author: a change it refuses
    /// never enters the log, and its edits are dropped with
    /// [`RejectReason::Invalid`] and rolled back in this node's state. Every node that
    /// writes a document should run the same hook.
    ///
    /// [`RejectReason::Invalid`]: immer::sync::RejectReason::Invalid
    #[must_use]
    pub fn validator<F>(mut self, validator: F) -> Self
    where
        F: Fn(&T, &T, ClientId) -> Result<(), String> + Send + Sync + 'static,
    {
        self.checks = self.checks.validator(validator);
        self
    }

    /// Runs `authorizer` on each change this node appends, with its author and its patches
    /// as they would be committed: a refusal (the path refused) never enters the log and is
    /// answered as [`RejectReason::Forbidden`] (see [`Leader::with_authorizer`]).
    ///
    /// [`RejectReason::Forbidden`]: immer::sync::RejectReason::Forbidden
    #[must_use]
    pub fn authorizer<F>(mut self, authorizer: F) -> Self
    where
        F: Fn(ClientId, &[Patch]) -> Result<(), immer::Path> + Send + Sync + 'static,
    {
        self.checks = self.checks.authorizer(authorizer);
        self
    }

    /// Bounds the work of moving one change through what was committed since its base (see
    /// [`Leader::with_move_limit`]): a change over it is refused before it is moved.
    #[must_use]
    pub fn move_limit(mut self, max_pairs: usize) -> Self {
        self.checks = self.checks.move_limit(max_pairs);
        self
    }

    /// Runs `checks` (a validator, an authorizer and a move limit, as every node and
    /// transport of the document shares them) on each change this node appends, in place of
    /// the ones set before.
    #[must_use]
    pub fn checks(mut self, checks: Checks<T>) -> Self {
        self.checks = checks;
        self
    }

    /// Keeps this node's copy of the document in `store` (a [`FileStore`] for a native app),
    /// so that a process that stops, or is killed, with edits not yet in the log goes on
    /// from them at its next join: the session, the edits waiting and the change in flight,
    /// the state they apply to, and the events the app had not taken.
    ///
    /// The node saves by itself after every edit and every change of them (one save at a
    /// time, of the newest state; [`Document::saved`] waits for it), and appends a change
    /// only once a save holds it, so that a node restored from its last save sends the
    /// same change under the same message id. A join with a store that holds the document
    /// restores it, shows its state at once, and goes on in its session: the change in
    /// flight is sent again and decided once, whether or not it landed before, and the
    /// edits after it follow. When the store holds nothing, the join is a new session, kept
    /// from then on. The sessions this node opened for remote clients are not kept here: the
    /// log shows those that committed, and any node lets their clients resume them (see
    /// [`Document::resume_session`]).
    ///
    /// When the log was purged past what the node saved ([`Config::compact`]), it starts
    /// from the newest snapshot, as a node that fell behind a compaction does: its edits move
    /// through the diff to it, and its change in flight, unless the snapshot says how it
    /// ended, is refused ([`RejectReason::Compacted`]).
    ///
    /// [`Config::compact`]: crate::Config::compact
    /// [`RejectReason::Compacted`]: immer::sync::RejectReason::Compacted
    ///
    /// A store holds one document of one client: a join with a store saved for another
    /// document or client, or holding something that does not read (cut short, another
    /// type), fails with [`Error::Persist`]; [`FollowerStore::remove`] it to start fresh.
    ///
    /// [`FileStore`]: immer::sync::FileStore
    /// [`Document::saved`]: crate::Document::saved
    ///
    /// # Examples
    ///
    /// ```no_run
    /// use immer::sync::FileStore;
    /// # #[derive(Clone, Debug, Default, PartialEq, serde::Serialize, serde::Deserialize, immer::Draftable)]
    /// # struct Board { todos: Vec<String> }
    ///
    /// # async fn run(store: immer_nats::Store) -> Result<(), immer_nats::Error> {
    /// let board = store
    ///     .document::<Board>("board")
    ///     .client(7)
    ///     .persist(FileStore::new("board.json"))
    ///     .join() // from board.json when it holds the board
    ///     .await?;
    /// board.edit(|d| d.todos().push("kept across a crash".into()));
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn persist(mut self, store: impl FollowerStore + Send + 'static) -> Self {
        self.persist = Some(Box::new(store));
        self
    }

    /// Joins the document as a new session (or, with a [store](DocumentBuilder::persist)
    /// that holds it, goes on from there): loads its newest snapshot, replays the log
    /// after it, and returns once this node has applied everything the log held when it
    /// started. While JetStream is unavailable it tries again, until
    /// [`Config::join_timeout`]. Needs a tokio runtime; the document's work runs on the
    /// process's pool of threads for documents (see the [crate docs](crate#how-a-node-spends-its-time)).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], a JetStream failure (the last one, when JetStream stayed
    /// unavailable), [`Error::Timeout`] when the log cannot be read within 60 seconds, or
    /// [`Error::Persist`] when the store fails or holds something that does not read as this
    /// document.
    ///
    /// [`Config::join_timeout`]: crate::Config::join_timeout
    pub async fn join(self) -> Result<Document<T>, Error> {
        check_name(&self.name)?;
        let store = self.store;
        let persist = self.persist.map(Persist::new);
        let restored = match &persist {
            Some(persist) => persist.load::<T>(&self.name).await?,
            None => None,
        };
        let keep = persist.is_some();
        let timeout = store.config.join_timeout;
        let (bytes, head) = retry_transient(timeout, "the document", || async {
            let bytes = store.load_snapshot(&self.name, Duration::ZERO).await?;
            let head = store.last_seq(&self.name).await?;
            Ok((bytes, head))
        })
        .await?;
        let (client, batch, checks) = (self.client, self.batch, self.checks.clone());
        // Decoding the snapshot and building the replica and the follower from it is CPU
        // work: off the runtime's threads, on the pool's.
        let node = pool::run(move || -> Result<Node<T>, Error> {
            let stored: StoredSnapshot<T> = serde_json::from_slice(&bytes)?;
            debug(&format!(
                "join: snapshot {} at {}, log to {head}",
                stored.version, stored.seq
            ));
            if let Some(saved) = restored {
                if saved.follower.client() != client {
                    return Err(Error::Persist(PersistError::Inconsistent(format!(
                        "it was saved by client {}, not {client}",
                        saved.follower.client()
                    ))));
                }
                let in_flight = saved.follower.in_flight_id();
                let follower = Follower::restore(saved.follower)
                    .map_err(Error::Persist)?
                    .with_batch(batch);
                debug(&format!(
                    "join: restored at version {} (sequence {}), {} edits waiting",
                    follower.version(),
                    saved.seq,
                    follower.pending_count()
                ));
                return Ok(Node::restored(
                    follower,
                    saved.seq,
                    saved.replica_version,
                    saved.attempt,
                    saved.events,
                    in_flight,
                    stored,
                    |state, version| replica(state, version, &checks),
                ));
            }
            let state = Arc::new(stored.state);
            let follower = Follower::new(Welcome {
                client,
                nonce: 0,
                session: random_session(),
                snapshot: Snapshot {
                    version: stored.version,
                    state: (*state).clone(),
                    answered: None,
                },
            })
            .with_batch(batch);
            let replica = replica(state, stored.version, &checks);
            let sessions = LogSessions::from_stored(&stored.sessions, &stored.clients);
            let mut node = Node::new(follower, replica, stored.seq, sessions);
            if keep {
                node.keep_saved();
            }
            Ok(node)
        })
        .await
        .map_err(Error::nats)??;
        // Boxed: reading the log is a large future, and the join's would carry it.
        let node = Box::pin(remember_earlier(&store, &self.name, node)).await?;
        let subject = store.subject(&self.name);
        let shared = Arc::new(Shared::new(self.name, subject, node, persist));
        let checks = self.checks;
        let resume = move |state, version| replica(state, version, &checks);
        let task = worker::start(store, Arc::clone(&shared), resume)?;
        // The first save holds the session (and a restored node as it starts).
        let saver = keep.then(|| tokio::spawn(persist::save_loop(Arc::clone(&shared))));
        shared.mark();
        let document = Document {
            shared,
            task,
            saver,
        };
        document
            .wait_until(Duration::from_secs(60), "the log's tail", |node| {
                node.last_seq >= head
            })
            .await?;
        Ok(document)
    }
}

/// `node`, with the log just before its snapshot put back in front of its replica's log
/// (see [`Node::remember`]), unless [`Config::compact`](crate::Config::compact) purges it: a
/// client that resumes its session on this node may have made its change against one of its
/// versions.
async fn remember_earlier<T>(store: &Store, name: &str, node: Node<T>) -> Result<Node<T>, Error>
where
    T: Draftable + Send + Sync + 'static,
{
    let at = node.last_seq;
    if at == 0 || node.replica.log_start() == 0 || store.config.compact {
        return Ok(node);
    }
    let earlier = store
        .read_range(name, at.saturating_sub(READ_BACK - 1), at)
        .await;
    pool::run(move || {
        let mut node = node;
        node.remember(earlier);
        node
    })
    .await
    .map_err(Error::nats)
}

/// The replica of a document at `version` (a snapshot's): a leader that orders this node's
/// changes with the document's hooks.
fn replica<T: Draftable>(state: Arc<T>, version: u64, checks: &Checks<T>) -> Leader<T> {
    Leader::resume(state, version).with_checks(checks.clone())
}
