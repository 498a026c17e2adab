//! Documents of [`immer`] drafts replicated through NATS JetStream: a durable change log
//! with failover, shared by any number of app servers, with no leader process.
//!
//! # The model
//!
//! - **The stream is the leader.** Every document is one subject of a JetStream stream
//!   (`immer.<stream>.<document>`); its messages are the document's committed changes
//!   ([`Committed`], as JSON), in order. A change's version counts
//!   the document's changes; the stream sequence of its message is where it sits in the log.
//! - **Optimistic appends.** A node orders its own change as the in-process
//!   [`Leader`] would (moving it through the changes committed since
//!   the version it was made against, then validating it) and appends it with JetStream's
//!   `Nats-Expected-Last-Subject-Sequence` set to the last message it applied. When another
//!   node got there first, the append fails, the node applies what it missed as it arrives,
//!   moves its change through it, and appends again. Each append carries a `Nats-Msg-Id` made
//!   of the node's session and the change's id, so a retry after a lost acknowledgement is
//!   dropped by JetStream's deduplication instead of being appended twice.
//! - **Followers, as in process.** Every node follows its document's subject with an ordered
//!   consumer and is a [`Follower`]: local edits show at once, move
//!   through the changes of other nodes, and end exactly once as
//!   [`Accepted`](immer::sync::FollowerEvent::Accepted) or
//!   [`Dropped`](immer::sync::FollowerEvent::Dropped), with the guarantees of
//!   [`immer::sync`]. Waiting edits go out as one append ([`DocumentBuilder::batch`]).
//! - **One rule decides.** A message takes effect only when its version is the one after
//!   the last that did; every node skips any other alike. JetStream's expected sequence
//!   makes such a message rare: a retry whose first attempt landed unseen, or, in a cluster
//!   of nats-server older than 2.9.21, two appends accepted with the same expectation
//!   (nats-server#4320). An author whose append was skipped appends its change again, under
//!   a new message id.
//! - **Snapshots** of a document live in a JetStream object store, pointed to by a key-value
//!   bucket entry that says the version and stream sequence they include. The node that
//!   commits every [`Config::snapshot_every`]-th change writes one; with
//!   [`Config::compact`] it then purges the subject up to it. A starting node loads the
//!   newest snapshot and replays the tail; a node that finds the log purged past its
//!   position reloads from the snapshot and keeps its waiting edits where it can.
//!
//! Set the environment variable `IMMER_NATS_DEBUG` to have nodes say on stderr when they
//! follow the log anew, reload a snapshot, or retry an append.
//!
//! # Examples
//!
//! ```no_run
//! use immer::Draftable;
//! use immer_nats::{Config, Store};
//! use serde::{Deserialize, Serialize};
//!
//! #[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Draftable)]
//! struct Board {
//!     todos: Vec<String>,
//! }
//!
//! # async fn run() -> Result<(), immer_nats::Error> {
//! let client = async_nats::connect("127.0.0.1:4222").await.map_err(immer_nats::Error::nats)?;
//! let store = Store::open(client, Config::default()).await?;
//! store.create("board", &Board::default()).await.ok(); // once, by anyone
//! let board = store.document::<Board>("board").client(7).join().await?;
//! board.edit(|d| d.todos().push("write the docs".into()));
//! board.settle(std::time::Duration::from_secs(5)).await?;
//! assert_eq!(board.state().todos, ["write the docs"]);
//! # Ok(())
//! # }
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, object_store, stream};
use futures_util::StreamExt;
use immer::sync::{
    Answered, Change, ClientId, Committed, Follower, FollowerEvent, Leader, Outbound, Outcome,
    Recipient, RejectReason, Rejected, SessionId, Snapshot, ToFollower, ToLeader, Welcome,
};
use immer::{Draftable, Patch, PatchDraft};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;
use tokio::sync::{Notify, mpsc, watch};

/// How a [`Store`] keeps its documents.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Config {
    /// The JetStream stream that holds the change logs (one subject per document); its
    /// snapshots go to the object store `<stream>_snapshots`, and where each document's
    /// newest snapshot is to the stream `<stream>_HEADS` (one message per document). Letters,
    /// digits, `-` and `_`.
    pub stream: String,
    /// How many servers hold each copy (1, or 3 or 5 in a cluster).
    pub replicas: usize,
    /// On disk (survives a restart of the server) or in memory.
    pub storage: stream::StorageType,
    /// A snapshot every this many changes of a document (0: never).
    pub snapshot_every: u64,
    /// Whether the log up to a snapshot is purged once the snapshot is written.
    pub compact: bool,
    /// How long an append waits for JetStream's acknowledgement before it is sent again
    /// (with the same message id, so it is never appended twice).
    pub ack_timeout: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            stream: "IMMER".to_owned(),
            replicas: 1,
            storage: stream::StorageType::File,
            snapshot_every: 1000,
            compact: false,
            ack_timeout: Duration::from_secs(2),
        }
    }
}

/// What went wrong talking to NATS or reading a document.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A NATS or JetStream request failed.
    Nats(Box<dyn std::error::Error + Send + Sync>),
    /// A stored snapshot or change could not be read or written as JSON.
    Json(serde_json::Error),
    /// A document or stream name that is not letters, digits, `-` and `_`.
    InvalidName(String),
    /// No such document.
    NotFound(String),
    /// The document exists already.
    Exists(String),
    /// A wait ended before what it waited for happened.
    Timeout(&'static str),
}

impl Error {
    /// Wraps an error from `async-nats`.
    pub fn nats(error: impl std::error::Error + Send + Sync + 'static) -> Self {
        Error::Nats(Box::new(error))
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Nats(error) => write!(f, "NATS: {error}"),
            Error::Json(error) => write!(f, "JSON: {error}"),
            Error::InvalidName(name) => write!(
                f,
                "{name:?} is not a valid name: use letters, digits, '-' and '_'"
            ),
            Error::NotFound(name) => write!(f, "no document {name:?}"),
            Error::Exists(name) => write!(f, "document {name:?} exists already"),
            Error::Timeout(what) => write!(f, "timed out waiting for {what}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Error::Nats(error) => Some(&**error),
            Error::Json(error) => Some(error),
            _ => None,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Self {
        Error::Json(error)
    }
}

fn check_name(name: &str) -> Result<(), Error> {
    let valid = !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if valid {
        Ok(())
    } else {
        Err(Error::InvalidName(name.to_owned()))
    }
}

/// Where a document's newest snapshot is: the key-value entry under its name.
#[derive(Clone, Debug, Serialize, Deserialize)]
struct Head {
    version: u64,
    seq: u64,
    object: String,
}

/// A stored snapshot: the state at `version`, which includes the log up to stream sequence
/// `seq`, and the last change each recent session committed (so that a node that reloads
/// learns how its change in flight ended).
#[derive(Serialize, Deserialize)]
struct StoredSnapshot<T> {
    version: u64,
    seq: u64,
    state: T,
    sessions: Vec<(SessionId, u64, u64)>,
}

/// How many sessions' last commits a snapshot remembers.
const RECENT_SESSIONS: usize = 4096;

/// A set of documents in one JetStream stream.
#[derive(Clone)]
pub struct Store {
    js: jetstream::Context,
    config: Arc<Config>,
    log: stream::Stream,
    heads: stream::Stream,
    snapshots: object_store::ObjectStore,
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the store described by `config`, creating its stream, object store and
    /// key-value bucket when they do not exist.
    ///
    /// # Errors
    ///
    /// An invalid stream name, or JetStream refused or did not answer.
    pub async fn open(client: async_nats::Client, config: Config) -> Result<Self, Error> {
        check_name(&config.stream)?;
        let js = jetstream::ContextBuilder::new()
            .timeout(config.ack_timeout)
            .build(client);
        let log = js
            .get_or_create_stream(stream::Config {
                name: config.stream.clone(),
                subjects: vec![format!("immer.{}.*", config.stream)],
                storage: config.storage,
                num_replicas: config.replicas,
                duplicate_window: Duration::from_secs(120),
                ..Default::default()
            })
            .await
            .map_err(Error::nats)?;
        // Compare-and-set by expected subject sequence, as a key-value bucket does it.
        let heads = js
            .get_or_create_stream(stream::Config {
                name: format!("{}_HEADS", config.stream),
                subjects: vec![format!("immer-heads.{}.*", config.stream)],
                storage: config.storage,
                num_replicas: config.replicas,
                max_messages_per_subject: 1,
                ..Default::default()
            })
            .await
            .map_err(Error::nats)?;
        let snapshots_bucket = format!("{}_snapshots", config.stream);
        let snapshots = match js.get_object_store(&snapshots_bucket).await {
            Ok(snapshots) => snapshots,
            Err(_) => js
                .create_object_store(object_store::Config {
                    bucket: snapshots_bucket,
                    storage: config.storage,
                    num_replicas: config.replicas,
                    ..Default::default()
                })
                .await
                .map_err(Error::nats)?,
        };
        Ok(Store {
            js,
            config: Arc::new(config),
            log,
            heads,
            snapshots,
        })
    }

    /// The configuration the store was opened with.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The largest message the server takes (as it said when the client connected).
    fn max_payload(&self) -> usize {
        match self.js.client().server_info().max_payload {
            0 => 1 << 20,
            n => n,
        }
    }

    fn subject(&self, document: &str) -> String {
        format!("immer.{}.{document}", self.config.stream)
    }

    fn head_subject(&self, document: &str) -> String {
        format!("immer-heads.{}.{document}", self.config.stream)
    }

    /// Points the document's head at a snapshot if it is still at `revision` (0: no head).
    async fn set_head(&self, document: &str, head: &Head, revision: u64) -> Result<bool, Error> {
        let publish = jetstream::message::PublishMessage::build()
            .payload(serde_json::to_vec(head)?.into())
            .expected_last_subject_sequence(revision);
        let ack = self
            .js
            .send_publish(self.head_subject(document), publish)
            .await
            .map_err(Error::nats)?
            .await;
        match ack {
            Ok(_) => Ok(true),
            Err(error)
                if error.kind() == jetstream::context::PublishErrorKind::WrongLastSequence =>
            {
                Ok(false)
            }
            Err(error) => Err(Error::nats(error)),
        }
    }

    /// Creates a document whose version 0 is `initial`.
    ///
    /// # Errors
    ///
    /// [`Error::Exists`] when it exists, [`Error::InvalidName`], or a JetStream failure.
    pub async fn create<T: Serialize>(&self, document: &str, initial: &T) -> Result<(), Error> {
        check_name(document)?;
        if self.head(document).await?.is_some() {
            return Err(Error::Exists(document.to_owned()));
        }
        let stored = StoredSnapshot {
            version: 0,
            seq: 0,
            state: initial,
            sessions: Vec::new(),
        };
        let head = self.put_snapshot(document, &stored).await?;
        if !self.set_head(document, &head, 0).await? {
            // Someone else created it meanwhile: theirs stands.
            self.snapshots.delete(&head.object).await.ok();
            return Err(Error::Exists(document.to_owned()));
        }
        Ok(())
    }

    /// The names of the documents, sorted.
    ///
    /// # Errors
    ///
    /// A JetStream failure.
    pub async fn documents(&self) -> Result<Vec<String>, Error> {
        let prefix = self.head_subject("");
        let mut subjects = self
            .heads
            .info_with_subjects(format!("{prefix}*"))
            .await
            .map_err(Error::nats)?;
        let mut names = Vec::new();
        while let Some(subject) = subjects.next().await {
            let (subject, count) = subject.map_err(Error::nats)?;
            if count > 0 {
                names.extend(subject.strip_prefix(&prefix).map(str::to_owned));
            }
        }
        names.sort();
        Ok(names)
    }

    /// Deletes a document: its log, its snapshot and its entry. Nodes that follow it stop
    /// receiving changes.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], or a JetStream failure.
    pub async fn delete(&self, document: &str) -> Result<(), Error> {
        check_name(document)?;
        let Some((head, _)) = self.head(document).await? else {
            return Err(Error::NotFound(document.to_owned()));
        };
        self.heads
            .purge()
            .filter(self.head_subject(document))
            .await
            .map_err(Error::nats)?;
        self.log
            .purge()
            .filter(self.subject(document))
            .await
            .map_err(Error::nats)?;
        self.snapshots.delete(&head.object).await.ok();
        Ok(())
    }

    /// A document to join, as a node.
    pub fn document<T>(&self, name: &str) -> DocumentBuilder<T> {
        DocumentBuilder {
            store: self.clone(),
            name: name.to_owned(),
            client: 0,
            batch: 256,
            checks: Checks {
                validator: None,
                authorizer: None,
            },
        }
    }

    async fn head(&self, document: &str) -> Result<Option<(Head, u64)>, Error> {
        match self
            .heads
            .get_last_raw_message_by_subject(&self.head_subject(document))
            .await
        {
            Ok(message) => Ok(Some((
                serde_json::from_slice(&message.payload)?,
                message.sequence,
            ))),
            Err(error) if error.kind() == stream::LastRawMessageErrorKind::NoMessageFound => {
                Ok(None)
            }
            Err(error) => Err(Error::nats(error)),
        }
    }

    async fn put_snapshot<T: Serialize>(
        &self,
        document: &str,
        stored: &StoredSnapshot<T>,
    ) -> Result<Head, Error> {
        let bytes = serde_json::to_vec(stored)?;
        let object = format!("{document}.{}", stored.version);
        self.snapshots
            .put(object.as_str(), &mut bytes.as_slice())
            .await
            .map_err(Error::nats)?;
        Ok(Head {
            version: stored.version,
            seq: stored.seq,
            object,
        })
    }

    /// Writes a snapshot and points the document's head at it unless a newer one is there;
    /// then, with [`Config::compact`], purges the log it includes.
    async fn write_snapshot<T: Serialize>(
        &self,
        document: &str,
        stored: &StoredSnapshot<T>,
    ) -> Result<(), Error> {
        let head = self.put_snapshot(document, stored).await?;
        let old = loop {
            let Some((current, revision)) = self.head(document).await? else {
                // Deleted meanwhile.
                self.snapshots.delete(&head.object).await.ok();
                return Ok(());
            };
            if current.version >= head.version {
                if current.object != head.object {
                    self.snapshots.delete(&head.object).await.ok();
                }
                return Ok(());
            }
            if self.set_head(document, &head, revision).await? {
                break current;
            }
        };
        if old.object != head.object {
            self.snapshots.delete(&old.object).await.ok();
        }
        if self.config.compact {
            self.log
                .purge()
                .filter(self.subject(document))
                // Up to the snapshot's own last change: "up to but not including" on
                // current servers, but including it on nats-server 2.9, which with a filter
                // purged the message after it as well. Either way nothing after the snapshot
                // goes (a change left at or before it is skipped by every node).
                .sequence(head.seq)
                .await
                .map_err(Error::nats)?;
        }
        Ok(())
    }

    /// The newest snapshot of a document.
    async fn load_snapshot<T: DeserializeOwned + Send + 'static>(
        &self,
        document: &str,
    ) -> Result<StoredSnapshot<T>, Error> {
        let mut attempts = 0;
        loop {
            let Some((head, _)) = self.head(document).await? else {
                return Err(Error::NotFound(document.to_owned()));
            };
            // In a task of its own: async-nats's object reader panics when it cannot create
            // its consumer (a server of the cluster is down), and that must not take the
            // node with it.
            let snapshots = self.snapshots.clone();
            let object_name = head.object.clone();
            let read = tokio::spawn(async move {
                let read = async {
                    let mut object = snapshots.get(&object_name).await.map_err(Error::nats)?;
                    let mut bytes = Vec::new();
                    object.read_to_end(&mut bytes).await.map_err(Error::nats)?;
                    Ok::<_, Error>(bytes)
                };
                tokio::time::timeout(Duration::from_secs(10), read)
                    .await
                    .unwrap_or(Err(Error::Timeout("a snapshot's chunks")))
            });
            let read = async { read.await.unwrap_or_else(|error| Err(Error::nats(error))) };
            match read.await {
                Ok(bytes) => {
                    return tokio::task::spawn_blocking(move || {
                        serde_json::from_slice(&bytes).map_err(Error::from)
                    })
                    .await
                    .map_err(Error::nats)?;
                }
                // Replaced by a newer one while it was read: read the head again.
                Err(error) if attempts >= 10 => return Err(error),
                Err(_) => {
                    attempts += 1;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        }
    }

    /// The stream sequence of the document's last message (0 for none).
    async fn last_seq(&self, document: &str) -> Result<u64, Error> {
        match self
            .log
            .get_last_raw_message_by_subject(&self.subject(document))
            .await
        {
            Ok(message) => Ok(message.sequence),
            Err(error) if error.kind() == stream::LastRawMessageErrorKind::NoMessageFound => Ok(0),
            Err(error) => Err(Error::nats(error)),
        }
    }
}

/// A validation hook for documents of `T`: see [`DocumentBuilder::validator`].
type ValidatorFn<T> = Arc<dyn Fn(&T, &T, ClientId) -> Result<(), String> + Send + Sync>;
type AuthorizerFn = Arc<dyn Fn(ClientId, &[Patch]) -> Result<(), immer::Path> + Send + Sync>;

/// The hooks every change passes before it is appended (see [`Leader::with_authorizer`] and
/// [`Leader::with_validator`]).
struct Checks<T> {
    validator: Option<ValidatorFn<T>>,
    authorizer: Option<AuthorizerFn>,
}

impl<T> Clone for Checks<T> {
    fn clone(&self) -> Self {
        Checks {
            validator: self.validator.clone(),
            authorizer: self.authorizer.clone(),
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
}

impl<T> fmt::Debug for DocumentBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentBuilder")
            .field("name", &self.name)
            .field("client", &self.client)
            .field("batch", &self.batch)
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
    #[must_use]
    pub fn validator<F>(mut self, validator: F) -> Self
    where
        F: Fn(&T, &T, ClientId) -> Result<(), String> + Send + Sync + 'static,
    {
        self.checks.validator = Some(Arc::new(validator));
        self
    }

    /// Runs `authorizer` on each change this node appends, with its author and its patches
    /// as they would be committed: a refusal (the path refused) never enters the log and is
    /// answered as [`RejectReason::Forbidden`] (see [`Leader::with_authorizer`]).
    #[must_use]
    pub fn authorizer<F>(mut self, authorizer: F) -> Self
    where
        F: Fn(ClientId, &[Patch]) -> Result<(), immer::Path> + Send + Sync + 'static,
    {
        self.checks.authorizer = Some(Arc::new(authorizer));
        self
    }

    /// Joins the document as a new session: loads its newest snapshot, replays the log
    /// after it, and returns once this node has applied everything the log held when it
    /// started. Needs a tokio runtime.
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], a JetStream failure, or [`Error::Timeout`] when the log cannot
    /// be read within 60 seconds.
    pub async fn join(self) -> Result<Document<T>, Error> {
        check_name(&self.name)?;
        let store = self.store;
        let stored: StoredSnapshot<T> = store.load_snapshot(&self.name).await?;
        let head = store.last_seq(&self.name).await?;
        debug(&format!(
            "join: snapshot {} at {}, log to {head}",
            stored.version, stored.seq
        ));
        let session = random_session();
        let state = Arc::new(stored.state);
        let replica = replica(Arc::clone(&state), stored.version, &self.checks);
        let follower = Follower::new(Welcome {
            client: self.client,
            nonce: 0,
            session,
            snapshot: Snapshot {
                version: stored.version,
                state: (*state).clone(),
                answered: None,
            },
        })
        .with_batch(self.batch);
        let (changed, _) = watch::channel(0_u64);
        let shared = Arc::new(Shared {
            name: self.name.clone(),
            subject: store.subject(&self.name),
            node: Mutex::new(Node {
                follower,
                replica,
                last_seq: stored.seq,
                sessions: stored
                    .sessions
                    .into_iter()
                    .map(|(s, c, v)| (s, (c, v)))
                    .collect(),
                events: Vec::new(),
                snapshotting: false,
                attempt: ((0, 0), 0),
                stale: 0,
                remote: Remote::default(),
            }),
            wake: Notify::new(),
            changed,
        });
        let worker = Worker {
            store,
            shared: Arc::clone(&shared),
            checks: self.checks,
        };
        let task = tokio::spawn(worker.run());
        let document = Document { shared, task };
        document
            .wait_until(Duration::from_secs(60), "the log's tail", |node| {
                node.last_seq >= head
            })
            .await?;
        Ok(document)
    }
}

fn replica<T: Draftable>(state: Arc<T>, version: u64, checks: &Checks<T>) -> Leader<T> {
    let mut leader = Leader::resume(state, version);
    if let Some(validator) = &checks.validator {
        let validator = Arc::clone(validator);
        leader = leader.with_validator(move |state, next, client| validator(state, next, client));
    }
    if let Some(authorizer) = &checks.authorizer {
        let authorizer = Arc::clone(authorizer);
        leader = leader.with_authorizer(move |client, patches| authorizer(client, patches));
    }
    leader
}

/// A session id no other node picks: 64 random bits from the standard library's hasher keys
/// and the clock.
fn random_session() -> SessionId {
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

fn debug(message: &str) {
    if std::env::var_os("IMMER_NATS_DEBUG").is_some() {
        eprintln!("immer-nats: {message}");
    }
}

/// What the node's worker and its handle share.
struct Shared<T> {
    name: String,
    subject: String,
    node: Mutex<Node<T>>,
    /// Wakes the worker: an edit is waiting.
    wake: Notify,
    /// Bumped at every change of the node's state or events.
    changed: watch::Sender<u64>,
}

impl<T> Shared<T> {
    fn lock(&self) -> MutexGuard<'_, Node<T>> {
        // A panic while the lock was held leaves nothing half-done that matters here.
        self.node
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }
}

struct Node<T> {
    follower: Follower<T>,
    /// The committed log as a leader would order it: this node orders its own changes here.
    replica: Leader<T>,
    /// The stream sequence of the last message applied.
    last_seq: u64,
    /// Each recent session's last committed change and its version.
    sessions: BTreeMap<SessionId, (u64, u64)>,
    events: Vec<FollowerEvent>,
    snapshotting: bool,
    /// The change in flight (session and id) and how many of its appends are known to have
    /// no effect (they landed stale): each such attempt gets a message id of its own.
    attempt: ((SessionId, u64), u32),
    /// How many messages this node skipped as stale.
    stale: u64,
    /// Sessions this node opened for remote clients, and their changes.
    remote: Remote<T>,
}

/// Sessions a node opened for remote clients (a WebSocket server's): their changes are
/// appended in order, after the node's own, and every committed change and answer goes out
/// through the outbox.
struct Remote<T> {
    sessions: std::collections::HashMap<SessionId, ClientId>,
    /// Changes waiting to be appended, oldest first.
    queue: std::collections::VecDeque<Change>,
    /// Each remote session's last answered change and how it ended.
    answered: std::collections::HashMap<SessionId, (u64, Outcome)>,
    outbox: Option<mpsc::UnboundedSender<Outbound<T>>>,
}

impl<T> Default for Remote<T> {
    fn default() -> Self {
        Remote {
            sessions: std::collections::HashMap::new(),
            queue: std::collections::VecDeque::new(),
            answered: std::collections::HashMap::new(),
            outbox: None,
        }
    }
}

impl<T> Remote<T> {
    fn send(&self, to: Recipient, message: ToFollower<T>) {
        if let Some(outbox) = &self.outbox {
            // A closed outbox: nobody listens any more.
            let _ = outbox.send(Outbound { to, message });
        }
    }

    fn is_front(&self, session: SessionId, change_id: u64) -> bool {
        self.queue
            .front()
            .is_some_and(|c| c.session == session && c.id == change_id)
    }
}

impl<T: Draftable> Node<T> {
    /// The document as this node has applied it, for a remote session (with how its last
    /// answered change ended).
    fn snapshot_for(&self, session: SessionId) -> Snapshot<T> {
        Snapshot {
            answered: self
                .remote
                .answered
                .get(&session)
                .map(|(change_id, outcome)| Answered {
                    change_id: *change_id,
                    outcome: outcome.clone(),
                }),
            ..self.replica.snapshot()
        }
    }

    fn take_follower_events(&mut self) -> bool {
        let events = self.follower.take_events();
        let diverged = events
            .iter()
            .any(|e| matches!(e, FollowerEvent::Diverged { .. }));
        self.events.extend(events);
        diverged
    }
}

/// What applying a message from the log asks of the worker.
enum Applied<T> {
    Done,
    /// The log skipped versions (purged up to a snapshot), or did not apply: reload.
    Reload,
    /// Write a snapshot of this version.
    Snapshot(StoredSnapshot<Arc<T>>),
}

/// An append waiting for JetStream's acknowledgement.
type Ack = Pin<
    Box<
        dyn Future<
                Output = Result<jetstream::publish::PublishAck, jetstream::context::PublishError>,
            > + Send,
    >,
>;

struct Worker<T> {
    store: Store,
    shared: Arc<Shared<T>>,
    checks: Checks<T>,
}

impl<T> Worker<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    async fn run(self) {
        let mut messages = None;
        let mut ack: Option<(Ack, u64)> = None;
        // Do not append before the log reaches this sequence (an append's own message, or
        // what made an append fail).
        let mut hold_until = 0_u64;
        let mut retry: Option<Pin<Box<tokio::time::Sleep>>> = None;
        // Liveness: a consumer can go quiet without an error (its server died while it was
        // being recreated). After a quiet moment, ask where the log ends, and follow it
        // through a new consumer when it is ahead (checked every tenth of a second, after a
        // fifth of a second without a message while this node waits for one, half a second
        // otherwise).
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut heard = tokio::time::Instant::now();
        loop {
            if messages.is_none() {
                match self.subscribe().await {
                    Ok(stream) => messages = Some(stream),
                    Err(error) => {
                        debug(&format!("subscribe: {error}"));
                        tokio::time::sleep(Duration::from_millis(100)).await;
                        continue;
                    }
                }
            }
            if ack.is_none() && retry.is_none() {
                ack = self.start_append(hold_until);
            }
            let Some(stream) = messages.as_mut() else {
                continue;
            };
            tokio::select! {
                () = self.shared.wake.notified() => {}
                message = stream.next() => match message {
                    Some(Ok(message)) => {
                        heard = tokio::time::Instant::now();
                        self.receive(&message).await;
                    }
                    // A missed heartbeat (its server died, the connection dropped): follow
                    // the log again from this node's position, through a new consumer.
                    Some(Err(error)) => {
                        debug(&format!("consumer: {error}"));
                        messages = None;
                    }
                    None => { debug("consumer ended"); messages = None }
                },
                result = async { (&mut ack.as_mut().expect("guarded").0).await }, if ack.is_some() => {
                    let (_, expected) = ack.take().expect("guarded");
                    match result {
                        // Its message (or, for a duplicate, the earlier attempt's) comes
                        // through the consumer, and decides the change there.
                        Ok(published) => hold_until = published.sequence,
                        Err(error) if error.kind() == jetstream::context::PublishErrorKind::WrongLastSequence => {
                            hold_until = expected + 1;
                        }
                        // Unknown outcome: send it again (same message id) a little later.
                        Err(error) => { debug(&format!("append: {error}")); retry = Some(Box::pin(tokio::time::sleep(Duration::from_millis(50)))) }
                    }
                }
                () = async { retry.as_mut().expect("guarded").await }, if retry.is_some() => {
                    retry = None;
                }
                _ = tick.tick() => {
                    // Sooner when this node waits for the log (its own append's message, or
                    // the one that refused it).
                    let waiting = self.shared.lock().last_seq < hold_until;
                    let quiet = if waiting { Duration::from_millis(200) } else { Duration::from_millis(500) };
                    if heard.elapsed() >= quiet {
                        {
                            let node = self.shared.lock();
                            if !node.follower.is_settled() {
                                debug(&format!("quiet: applied {} (version {}), holding until {hold_until}, {} pending, append {}, retry {}", node.last_seq, node.replica.version(), node.follower.pending_count(), ack.is_some(), retry.is_some()));
                            }
                        }
                        let end = tokio::time::timeout(Duration::from_secs(2), self.store.last_seq(&self.shared.name)).await;
                        if let Ok(Ok(end)) = end {
                            if end > self.shared.lock().last_seq {
                                debug("consumer: behind the log's end; reading the rest directly and following it anew");
                                self.read_directly(end).await;
                                messages = None;
                            }
                        }
                        heard = tokio::time::Instant::now();
                    }
                }
            }
        }
    }

    /// Reads the log up to `end` message by message, without a consumer (a consumer that
    /// does not deliver what the stream holds, as nats-server 2.9 can after a purge, must not
    /// keep a node behind).
    async fn read_directly(&self, end: u64) {
        let start = self.shared.lock().last_seq + 1;
        for seq in start..=end.min(start.saturating_add(10_000)) {
            let read =
                tokio::time::timeout(Duration::from_secs(2), self.store.log.get_raw_message(seq))
                    .await;
            match read {
                Ok(Ok(message)) if message.subject.as_str() == self.shared.subject => {
                    self.receive_payload(seq, &message.payload).await;
                }
                // Another document's, purged, or deleted: not this log's.
                Ok(Ok(_) | Err(_)) => {}
                Err(_) => return,
            }
        }
    }

    async fn subscribe(&self) -> Result<consumer::push::Ordered, Error> {
        let start = self.shared.lock().last_seq + 1;
        let consumer = self
            .store
            .log
            .create_consumer(consumer::push::OrderedConfig {
                deliver_subject: self.store.js.client().new_inbox(),
                filter_subject: self.shared.subject.clone(),
                deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                    start_sequence: start,
                },
                ..Default::default()
            })
            .await
            .map_err(Error::nats)?;
        consumer.messages().await.map_err(Error::nats)
    }

    /// Orders the follower's change in flight against the log as this node has it, and
    /// appends it; refusals go back to the follower at once.
    fn start_append(&self, hold_until: u64) -> Option<(Ack, u64)> {
        let mut node = self.shared.lock();
        if node.last_seq < hold_until {
            return None;
        }
        loop {
            // This node's own change first, then remote sessions' in order.
            let own = node.follower.poll().into_iter().find_map(|m| match m {
                ToLeader::Change(change) => Some(change),
                _ => None,
            });
            let remote = own.is_none();
            let change = own.or_else(|| node.remote.queue.front().cloned())?;
            let client = if remote {
                change.client
            } else {
                node.follower.client()
            };
            let reason = match node.replica.prepare(client, &change) {
                Ok((committed, _)) => match serde_json::to_vec(&committed) {
                    Ok(payload) if payload.len() + 1024 <= self.store.max_payload() => {
                        let expected = node.last_seq;
                        if node.attempt.0 != (change.session, change.id) {
                            node.attempt = ((change.session, change.id), 0);
                        }
                        let attempt = node.attempt.1;
                        let js = self.store.js.clone();
                        let subject = self.shared.subject.clone();
                        let publish = jetstream::message::PublishMessage::build()
                            .payload(payload.into())
                            .message_id(format!("{}.{}.{}", change.session, change.id, attempt))
                            .expected_last_subject_sequence(expected);
                        // Bounded as a whole: the client's own timeouts do not cover every
                        // step (waiting for a free acknowledgement slot after a failover).
                        let limit = self.store.config.ack_timeout * 2;
                        let ack: Ack = Box::pin(async move {
                            let publish = async { js.send_publish(subject, publish).await?.await };
                            tokio::time::timeout(limit, publish)
                                .await
                                .unwrap_or_else(|_| {
                                    Err(jetstream::context::PublishError::new(
                                        jetstream::context::PublishErrorKind::TimedOut,
                                    ))
                                })
                        });
                        return Some((ack, expected));
                    }
                    Ok(payload) => RejectReason::TooLarge {
                        bytes: payload.len(),
                        limit: self.store.max_payload().saturating_sub(1024),
                    },
                    Err(error) => RejectReason::DoesNotApply {
                        index: 0,
                        path: immer::Path::root(),
                        message: error.to_string(),
                    },
                },
                Err(reason) => reason,
            };
            let rejected = Rejected {
                session: change.session,
                change_id: change.id,
                reason,
            };
            if remote {
                node.remote.queue.pop_front();
                let outcome = Outcome::Rejected(rejected.reason.clone());
                node.remote
                    .answered
                    .insert(change.session, (change.id, outcome));
                let to = Recipient::Session(change.session);
                node.remote.send(to, ToFollower::Rejected(rejected));
            } else {
                node.follower.receive(ToFollower::Rejected(rejected));
                node.take_follower_events();
            }
            self.shared.bump();
        }
    }

    async fn receive(&self, message: &jetstream::Message) {
        let Ok(info) = message.info() else {
            return;
        };
        self.receive_payload(info.stream_sequence, &message.payload)
            .await;
    }

    async fn receive_payload(&self, seq: u64, payload: &[u8]) {
        let applied = self.apply(seq, payload);
        match applied {
            Applied::Done => {}
            Applied::Snapshot(stored) => self.snapshot(stored),
            Applied::Reload => {
                self.reload().await;
                if let Applied::Snapshot(stored) = self.apply(seq, payload) {
                    self.snapshot(stored);
                }
            }
        }
    }

    fn apply(&self, seq: u64, payload: &[u8]) -> Applied<T> {
        let mut node = self.shared.lock();
        if seq <= node.last_seq {
            return Applied::Done;
        }
        // Not a change: skipped by every node alike.
        let Ok(committed) = serde_json::from_slice::<Committed>(payload) else {
            node.last_seq = seq;
            return Applied::Done;
        };
        let version = node.replica.version();
        if committed.version <= version {
            // Stale: appended after another change took its version (a duplicate of a
            // retried append, or one that nats-server before 2.9.21 let through in a
            // cluster, nats-server#4320). Every node skips it alike; when it is this
            // node's change in flight, the next append is a new attempt.
            node.last_seq = seq;
            node.stale += 1;
            if node.attempt.0 == (committed.session, committed.change_id) {
                node.attempt.1 += 1;
            }
            return Applied::Done;
        }
        if committed.version > version + 1 {
            debug(&format!("gap: {} after {version}", committed.version));
            return Applied::Reload;
        }
        if node.replica.append(committed.clone()).is_err() {
            return Applied::Reload;
        }
        let (session, change_id, version) =
            (committed.session, committed.change_id, committed.version);
        let remote_own = node.remote.is_front(session, change_id);
        if remote_own {
            node.remote.queue.pop_front();
            let outcome = Outcome::Committed { version };
            node.remote.answered.insert(session, (change_id, outcome));
        }
        let own = remote_own || session == node.follower.session();
        node.remote
            .send(Recipient::All, ToFollower::Committed(committed.clone()));
        node.follower.receive(ToFollower::Committed(committed));
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
        let diverged = node.take_follower_events();
        // Keep the replica's log to what a change in flight may need.
        let keep = node.follower.version().min(version.saturating_sub(10_000));
        node.replica.compact(keep);
        self.shared.bump();
        if diverged {
            return Applied::Reload;
        }
        let every = self.store.config.snapshot_every;
        if own && every > 0 && version % every == 0 && !node.snapshotting {
            node.snapshotting = true;
            return Applied::Snapshot(StoredSnapshot {
                version,
                seq,
                state: Arc::clone(node.replica.state()),
                sessions: node
                    .sessions
                    .iter()
                    .map(|(s, (c, v))| (*s, *c, *v))
                    .collect(),
            });
        }
        Applied::Done
    }

    /// Writes a snapshot in the background.
    fn snapshot(&self, stored: StoredSnapshot<Arc<T>>) {
        let store = self.store.clone();
        let shared = Arc::clone(&self.shared);
        tokio::spawn(async move {
            // A failed write is not retried: the next snapshot replaces it.
            let _ = store.write_snapshot(&shared.name, &stored).await;
            shared.lock().snapshotting = false;
        });
    }

    /// Loads the newest snapshot and moves the node to it, when it is ahead.
    async fn reload(&self) {
        for _ in 0..50 {
            let Ok(stored) = self.store.load_snapshot::<T>(&self.shared.name).await else {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            };
            let mut node = self.shared.lock();
            if stored.version < node.replica.version() {
                return;
            }
            let session = node.follower.session();
            let answered = stored.sessions.iter().find(|(s, _, _)| *s == session).map(
                |(_, change_id, version)| Answered {
                    change_id: *change_id,
                    outcome: Outcome::Committed { version: *version },
                },
            );
            let state = Arc::new(stored.state);
            node.replica = replica(Arc::clone(&state), stored.version, &self.checks);
            node.follower.receive(ToFollower::Snapshot(Snapshot {
                version: stored.version,
                state: (*state).clone(),
                answered,
            }));
            // Remote sessions: a waiting change the snapshot holds is answered with it; every
            // remote client moves to the snapshot.
            let mut committed = Vec::new();
            node.remote.queue.retain(|change| {
                let found = stored
                    .sessions
                    .iter()
                    .find(|(s, _, _)| *s == change.session);
                match found {
                    Some((_, last, version)) if *last >= change.id => {
                        committed.push((change.session, change.id, *version));
                        false
                    }
                    _ => true,
                }
            });
            for (session, change_id, version) in committed {
                let outcome = Outcome::Committed { version };
                node.remote
                    .answered
                    .insert(session, (change_id, outcome.clone()));
                let snapshot = Snapshot {
                    version: stored.version,
                    state: (*state).clone(),
                    answered: Some(Answered { change_id, outcome }),
                };
                node.remote
                    .send(Recipient::Session(session), ToFollower::Snapshot(snapshot));
            }
            let snapshot = Snapshot {
                version: stored.version,
                state: (*state).clone(),
                answered: None,
            };
            node.remote
                .send(Recipient::All, ToFollower::Snapshot(snapshot));
            node.last_seq = node.last_seq.max(stored.seq);
            node.sessions = stored
                .sessions
                .into_iter()
                .map(|(s, c, v)| (s, (c, v)))
                .collect();
            node.take_follower_events();
            self.shared.bump();
            return;
        }
    }
}

/// A node's copy of a document: edit it at once, see everyone's changes as they land.
///
/// Dropping it stops the node (its waiting edits are lost, as in a crash).
pub struct Document<T> {
    shared: Arc<Shared<T>>,
    task: tokio::task::JoinHandle<()>,
}

impl<T> Drop for Document<T> {
    fn drop(&mut self) {
        self.task.abort();
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

    /// This node's session: new at every join.
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
        let id = self.shared.lock().follower.edit(recipe);
        if id.is_some() {
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
        self.shared.lock().last_seq
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
        std::mem::take(&mut self.shared.lock().events)
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
        node.remote.sessions.insert(session, client);
        Welcome {
            client,
            nonce: 0,
            session,
            snapshot: node.replica.snapshot(),
        }
    }

    /// Queues a change of a remote session for the log. It is ordered as this node's own
    /// are (moved through what was committed since its base, authorized, validated) and
    /// appended; its answer goes to the session through
    /// [`remote_messages`](Document::remote_messages): the change committed (sent to every
    /// session) or a [`Rejected`]. A change sent again is answered again, never appended
    /// twice.
    pub fn submit(&self, change: Change) {
        let mut node = self.shared.lock();
        let session = change.session;
        let Some(&client) = node.remote.sessions.get(&session) else {
            let rejected = Rejected {
                session,
                change_id: change.id,
                reason: RejectReason::UnknownSession { session },
            };
            node.remote
                .send(Recipient::Session(session), ToFollower::Rejected(rejected));
            return;
        };
        if let Some((last, outcome)) = node.remote.answered.get(&session).cloned() {
            if change.id < last {
                return;
            }
            if change.id == last {
                let to = Recipient::Session(session);
                let answer = match outcome {
                    Outcome::Committed { version } => node
                        .replica
                        .log()
                        .find(|c| c.version == version)
                        .cloned()
                        .map_or_else(
                            || ToFollower::Snapshot(node.snapshot_for(session)),
                            ToFollower::Committed,
                        ),
                    Outcome::Rejected(reason) => ToFollower::Rejected(Rejected {
                        session,
                        change_id: change.id,
                        reason,
                    }),
                };
                node.remote.send(to, answer);
                return;
            }
        }
        if node
            .remote
            .queue
            .iter()
            .any(|c| c.session == session && c.id == change.id)
        {
            return;
        }
        node.remote.queue.push_back(Change { client, ..change });
        drop(node);
        self.shared.wake.notify_one();
    }

    /// What a remote session missed after `version`: the committed changes this node still
    /// holds, or a snapshot.
    pub fn resync(&self, session: SessionId, version: u64) -> Vec<ToFollower<T>> {
        let node = self.shared.lock();
        if version < node.replica.log_start() {
            return vec![ToFollower::Snapshot(node.snapshot_for(session))];
        }
        node.replica
            .log()
            .filter(|c| c.version > version)
            .cloned()
            .map(ToFollower::Committed)
            .collect()
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
        self.shared.lock().remote.outbox = Some(sender);
        receiver
    }

    async fn wait_until(
        &self,
        timeout: Duration,
        what: &'static str,
        done: impl Fn(&Node<T>) -> bool,
    ) -> Result<(), Error> {
        let mut changed = self.shared.changed.subscribe();
        let wait = async {
            loop {
                if done(&self.shared.lock()) {
                    return;
                }
                if changed.changed().await.is_err() {
                    std::future::pending::<()>().await;
                }
            }
        };
        tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout(what))
    }
}
