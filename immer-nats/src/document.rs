//! The document handle: a node's copy of a document, for the app.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use immer::sync::{
    Backend, Change, ClientId, Committed, FollowerEvent, Outbound, Recipient, SessionId, Snapshot,
    ToFollower, ToLeader, Welcome,
};
use immer::{Draftable, Patch, PatchDraft};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

use crate::error::Error;
use crate::node::{Node, Submitted};
use crate::worker::Shared;

/// A node's copy of a document: edit it at once, see everyone's changes as they land.
///
/// Dropping it stops the node: its waiting edits are lost, as in a crash, unless it keeps
/// them in a store ([`DocumentBuilder::persist`](crate::DocumentBuilder::persist)), from
/// which the next join goes on.
pub struct Document<T> {
    pub(crate) shared: Arc<Shared<T>>,
    pub(crate) task: tokio::task::JoinHandle<()>,
    /// The task that saves the node, when it keeps its follower in a store.
    pub(crate) saver: Option<tokio::task::JoinHandle<()>>,
}

impl<T> Drop for Document<T> {
    fn drop(&mut self) {
        self.task.abort();
        if let Some(saver) = &self.saver {
            saver.abort();
        }
    }
}

impl<T: fmt::Debug> fmt::Debug for Document<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let node = self.shared.lock();
        f.debug_struct("Document")
            .field("name", &self.shared.name)
            .field("follower", &node.follower)
            .finish_non_exhaustive()
    }
}

impl<T> Document<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The document's name.
    pub fn name(&self) -> &str {
        &self.shared.name
    }

    /// This node's session: new at every join, except one that goes on from a
    /// [store](crate::DocumentBuilder::persist).
    pub fn session(&self) -> SessionId {
        self.shared.lock().follower.session()
    }

    /// This node's client id.
    pub fn client(&self) -> ClientId {
        self.shared.lock().follower.client()
    }

    /// Edits this node's state at once and queues the change for the log. Returns its id,
    /// or `None` when the recipe changed nothing.
    ///
    /// # Panics
    ///
    /// If a written value has no JSON form (see [`immer::produce_with_patches`]).
    pub fn edit<F>(&self, recipe: F) -> Option<u64>
    where
        F: FnOnce(&mut PatchDraft<'_, '_, T>),
    {
        let id = {
            let mut node = self.shared.lock();
            let id = node.follower.edit(recipe);
            node.route_path_changes();
            id
        };
        if id.is_some() {
            self.shared.mark();
            self.shared.wake.notify_one();
            self.shared.bump();
        }
        id
    }

    /// The state this node shows: the log as far as it has applied it, with its own waiting
    /// edits.
    pub fn state(&self) -> Arc<T> {
        Arc::clone(self.shared.lock().follower.state())
    }

    /// The state as of [`version`](Document::version).
    pub fn confirmed(&self) -> Arc<T> {
        Arc::clone(self.shared.lock().follower.confirmed())
    }

    /// How many changes of the log this node has applied.
    pub fn version(&self) -> u64 {
        self.shared.lock().follower.version()
    }

    /// The stream sequence of the last change applied.
    pub fn sequence(&self) -> u64 {
        self.shared.applied()
    }

    /// How many messages of the log this node skipped as stale: appended with a version
    /// another change had taken (see the crate docs). Every node skips the same ones.
    pub fn stale_skipped(&self) -> u64 {
        self.shared.lock().stale
    }

    /// How many of this node's edits wait for the log.
    pub fn pending_count(&self) -> usize {
        self.shared.lock().follower.pending_count()
    }

    /// The edits waiting for the log, oldest first, with their patches as they now apply.
    pub fn pending_edits(&self) -> Vec<(u64, Vec<Patch>)> {
        self.shared
            .lock()
            .follower
            .pending_edits()
            .map(|(id, patches)| (id, patches.to_vec()))
            .collect()
    }

    /// Whether every edit has its outcome.
    pub fn is_settled(&self) -> bool {
        self.shared.lock().follower.is_settled()
    }

    /// What happened since the last call: versions applied, own edits accepted or dropped
    /// (each edit exactly once).
    pub fn take_events(&self) -> Vec<FollowerEvent> {
        let events = std::mem::take(&mut self.shared.lock().events);
        if !events.is_empty() {
            // Taken: a node restored from its store does not report them again.
            self.shared.mark();
        }
        events
    }

    /// Waits until the document's store holds it as it is now: its edits so far, its
    /// session and the events taken so far (at once for a document not kept in a store).
    /// The node saves after every change of them, one save at a time, by itself; an app
    /// that is about to exit on its own waits for this first.
    ///
    /// # Errors
    ///
    /// [`Error::Persist`] when the last save failed (the node tries again a little later),
    /// or [`Error::Timeout`] after `timeout`.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(board: immer_nats::Document<Vec<String>>) -> Result<(), immer_nats::Error> {
    /// board.edit(|d| d.push("before the app exits".to_owned()));
    /// board.saved(std::time::Duration::from_secs(5)).await?;
    /// # Ok(())
    /// # }
    /// ```
    pub async fn saved(&self, timeout: Duration) -> Result<(), Error> {
        match &self.shared.persist {
            Some(persist) => persist.saved(timeout).await,
            None => Ok(()),
        }
    }

    /// Subscribes to the changes of this node's state ([`state`](Document::state)) that touch
    /// `pattern`: a typed path of `T` (`immer::path::<Board>().todos().any().done()`) or a
    /// parsed [`PathPattern`](immer::PathPattern). The receiver gets each change that touches
    /// it, with the change's patches that do and the state after it: this node's edits as
    /// they are made, and what the log brings (other nodes' changes, this node's edits
    /// dropped and reverted) as the node applies it (see
    /// [`Follower::subscribe`](immer::sync::Follower::subscribe) for the law it keeps).
    /// Dropping the receiver ends the subscription (at the next change).
    ///
    /// The receiver's queue is not bounded: only the changes that touch the pattern wait in
    /// it, but each holds the state after it (shared with the node's until the node writes
    /// again, when a std collection is copied). Keep receiving, or drop it.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # async fn run(board: immer_nats::Document<Vec<String>>) {
    /// let mut first = board.subscribe(immer::path::<Vec<String>>().at(0));
    /// board.edit(|d| d.push("milk".to_owned()));
    /// let change = first.recv().await.unwrap();
    /// assert_eq!(change.state[0], "milk");
    /// # }
    /// ```
    pub fn subscribe(
        &self,
        pattern: impl immer::PatternOf<T>,
    ) -> mpsc::UnboundedReceiver<immer::sync::PathChange<T>> {
        let (sender, receiver) = mpsc::unbounded_channel();
        let mut node = self.shared.lock();
        let id = node.follower.subscribe(pattern);
        node.path_subscribers.push((id, sender));
        receiver
    }

    /// A receiver that changes whenever this node's state or events do.
    pub fn watch(&self) -> watch::Receiver<u64> {
        self.shared.changed.subscribe()
    }

    /// Waits until every edit has its outcome.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] after `timeout`.
    pub async fn settle(&self, timeout: Duration) -> Result<(), Error> {
        self.wait_until(timeout, "the edits' outcomes", |node| {
            node.follower.is_settled()
        })
        .await
    }

    /// Waits until this node has applied `version`.
    ///
    /// # Errors
    ///
    /// [`Error::Timeout`] after `timeout`.
    pub async fn wait_for_version(&self, version: u64, timeout: Duration) -> Result<(), Error> {
        self.wait_until(timeout, "a version", |node| {
            node.follower.version() >= version
        })
        .await
    }

    /// Opens a session for a remote client (one of a WebSocket server's, say), whose changes
    /// this node appends for it ([`submit`](Document::submit)): the welcome holds the
    /// document as this node has applied it. Its answers and every committed change go out
    /// through [`remote_messages`](Document::remote_messages).
    pub fn open_session(&self, client: ClientId) -> Welcome<T> {
        let mut node = self.shared.lock();
        let session = random_session();
        node.remote.open(session, client);
        Welcome {
            client,
            nonce: 0,
            session,
            snapshot: node.replica.snapshot(),
        }
    }

    /// Forgets a session opened with [`open_session`](Document::open_session) (its client
    /// is gone for good): its changes are refused from then on, and a retransmission of its
    /// last one is no longer answered as before. Returns whether it was open. The log still
    /// shows it while it is recent: its client may [resume](Document::resume_session) it.
    pub fn close_session(&self, session: SessionId) -> bool {
        self.shared.lock().remote.close(session)
    }

    /// Lets `client` resume `session` on this node, as a remote session: one this node has
    /// open for `client`, or one the log shows as `client`'s, whichever node opened it and in
    /// whatever life (a client whose server was killed, or that reconnects to another
    /// server of the document). Returns whether it may; then the session's change sent again
    /// is answered as it ended, never appended twice, and its next changes are ordered as
    /// any remote session's.
    ///
    /// Every committed change names its client, session and id, so every node derives from
    /// the log the sessions that committed lately (the 4,096 whose last commit is the most
    /// recent; a snapshot carries them), each with its client and last committed change. A
    /// session the log does not show cannot be resumed on another node or life: one that
    /// never committed a change (its refusals are not in the log), or one forgotten since.
    /// Never this node's own session, nor for client 0 (a node's client unless set).
    pub fn resume_session(&self, session: SessionId, client: ClientId) -> bool {
        self.shared.lock().resume(session, client)
    }

    /// Queues a change of a remote session for the log. It is ordered as this node's own
    /// are (moved through what was committed since its base, authorized, validated) and
    /// appended; its answer goes to the session through
    /// [`remote_messages`](Document::remote_messages): the change committed (sent to every
    /// session) or a [`Rejected`]. A change sent again is answered again, never appended
    /// twice.
    ///
    /// [`Rejected`]: immer::sync::Rejected
    pub fn submit(&self, change: Change) {
        let mut node = self.shared.lock();
        match node.submit(change) {
            Submitted::Queued => {
                drop(node);
                self.shared.wake.notify_one();
            }
            Submitted::Answered(answer) => self.shared.send([answer]),
            Submitted::Ignored => {}
        }
    }

    /// What a remote session missed after `version`: the committed changes this node still
    /// holds, or a snapshot.
    pub fn resync(&self, session: SessionId, version: u64) -> Vec<ToFollower<T>> {
        self.shared.lock().resync(session, version)
    }

    /// The document as this node has applied it, for a remote session (with how its last
    /// answered change ended).
    pub fn snapshot(&self, session: SessionId) -> Snapshot<T> {
        self.shared.lock().snapshot_for(session)
    }

    /// The committed changes still held, oldest first (the last 10,000 at most).
    pub fn log(&self) -> Vec<Committed> {
        self.shared.lock().replica.log().cloned().collect()
    }

    /// The messages for remote sessions: every committed change (to all), and each remote
    /// change's refusal (to its session). A new call replaces the earlier receiver.
    pub fn remote_messages(&self) -> mpsc::UnboundedReceiver<Outbound<T>> {
        let (sender, receiver) = mpsc::unbounded_channel();
        *self.shared.outbox() = Some(sender);
        receiver
    }

    pub(crate) async fn wait_until(
        &self,
        timeout: Duration,
        what: &'static str,
        done: impl Fn(&Node<T>) -> bool,
    ) -> Result<(), Error> {
        let mut changed = self.shared.changed.subscribe();
        let wait = async {
            loop {
                // Never waits for the lock on the runtime's thread: while a pool thread
                // applies a run of the document's, look again at its next change, or a little later.
                let busy = match self.shared.node.try_lock() {
                    Ok(node) => {
                        if done(&node) {
                            return;
                        }
                        false
                    }
                    Err(std::sync::TryLockError::Poisoned(node)) => {
                        if done(&node.into_inner()) {
                            return;
                        }
                        false
                    }
                    Err(std::sync::TryLockError::WouldBlock) => true,
                };
                let retry = async {
                    if busy {
                        tokio::time::sleep(Duration::from_millis(5)).await;
                    } else {
                        std::future::pending::<()>().await;
                    }
                };
                tokio::select! {
                    result = changed.changed() => if result.is_err() {
                        std::future::pending::<()>().await;
                    },
                    () = retry => {}
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout(what))
    }
}

/// A session id no other node picks, in any life: 53 random bits (within JavaScript's safe
/// integers, as a JavaScript client holds it) from the standard library's hasher keys, the
/// clock and the process id; never 0.
pub(crate) fn random_session() -> SessionId {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos()),
    );
    hasher.write_u32(std::process::id());
    (hasher.finish() & ((1 << 53) - 1)).max(1)
}

/// The seam a transport plugs into (see [`Backend`]): the WebSocket hub of `immer-web`
/// serves a document of a shared log through its node's remote sessions. Changes are
/// answered when they come back through the log, by [`remote_messages`](Document::remote_messages).
impl<T> Backend<T> for Document<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn join(&mut self, client: ClientId) -> Welcome<T> {
        Document::open_session(self, client)
    }

    fn receive(&mut self, message: ToLeader) -> Vec<Outbound<T>> {
        match message {
            // Answered when its message comes back through the log.
            ToLeader::Change(change) => {
                Document::submit(self, change);
                Vec::new()
            }
            ToLeader::Resync { session, version } => Document::resync(self, session, version)
                .into_iter()
                .map(|message| Outbound {
                    to: Recipient::Session(session),
                    message,
                })
                .collect(),
            ToLeader::SnapshotRequest { session } => vec![Outbound {
                to: Recipient::Session(session),
                message: ToFollower::Snapshot(Document::snapshot(self, session)),
            }],
            ToLeader::Join { client, .. } => vec![Outbound {
                to: Recipient::Sender,
                message: ToFollower::Welcome(Document::open_session(self, client)),
            }],
        }
    }

    fn state(&self) -> Arc<T> {
        Document::confirmed(self)
    }

    fn version(&self) -> u64 {
        Document::version(self)
    }

    fn log(&self) -> Vec<Committed> {
        Document::log(self)
    }

    // The node keeps its own window of the log.
    fn compact(&mut self, _keep: u64) {}

    // Through the log.
    fn answers_later(&self) -> bool {
        true
    }

    fn close_session(&mut self, session: SessionId) {
        Document::close_session(self, session);
    }

    fn resume_session(&mut self, session: SessionId, client: ClientId) -> bool {
        Document::resume_session(self, session, client)
    }
}
