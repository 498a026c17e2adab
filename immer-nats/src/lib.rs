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
//! # How a node spends its time
//!
//! - **The document's work runs on a thread of its own, never on the runtime's.** Applying
//!   committed changes (to the node's replica of the log and to its [`Follower`], which moves
//!   every waiting edit through each foreign change), ordering this node's change for an
//!   append, and encoding, decoding and reloading snapshots are CPU work that grows with the
//!   state and the edits waiting. Each joined document has one thread for it, fed by a
//!   channel; the async task of the document only talks to NATS (reads the log, appends,
//!   waits for acknowledgements), so a node that is busy catching up still reads, appends and
//!   answers heartbeats on time, and so do the other tasks of the app.
//! - **Runs.** The node hands what the consumer has ready to that thread at once, and the
//!   thread applies everything waiting (up to 1,024 messages) as one run: one lock of the
//!   document and one pass of the follower, instead of one per message. While a run is
//!   applied, [`Document::edit`] and the other getters wait for it.
//! - **Catching up in batches.** A node whose consumer went quiet while the log's end is
//!   ahead (a connection that stalled, a consumer that stopped delivering) reads the missed
//!   range through a pull consumer of its own, 1,000 messages per request, then follows the
//!   log anew from there.
//! - **Refused appends.** JetStream refuses an append whose expected sequence is no longer
//!   the subject's last with error 10071 (wrong last sequence, with the sequence), and, in a
//!   cluster of nats-server 2.10 and later while another append to the subject is in
//!   process, with 10164 (wrong last sequence, without it). Both mean that someone appended
//!   first: the node waits for what it missed, moves its change through it, and appends
//!   again (when the log turns out to end where the node is, at once).
//! - **Joining through an outage.** [`Store::open`] and [`DocumentBuilder::join`] retry
//!   what is transient (JetStream not answering or not ready yet, as when a server restarts
//!   or a cluster elects its leader, no responders, time-outs) until
//!   [`Config::join_timeout`], and then return the last error.
//!
//! Set the environment variable `IMMER_NATS_DEBUG` to have nodes say on stderr when they
//! follow the log anew, catch up, reload a snapshot, or retry an append.
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

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, object_store, stream};
use bytes::Bytes;
use futures_util::{FutureExt, StreamExt};
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
    /// How long [`Store::open`] and [`DocumentBuilder::join`] keep trying while JetStream
    /// is unavailable (30 seconds unless set): no responders or a 503 while a server starts
    /// or a cluster elects its leader, requests that time out, a connection that drops. After
    /// it they return the last error. What cannot change by waiting (a bad name, a document
    /// that does not exist, a request JetStream refuses for another reason) is returned at
    /// once. Zero: one attempt.
    pub join_timeout: Duration,
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
            join_timeout: Duration::from_secs(30),
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

    /// Whether trying again later may succeed: a time-out, or a NATS failure other than a
    /// JetStream answer that refuses the request for good (a JetStream answer of 503, or
    /// one that says the cluster is unavailable or has no leader, is waited out).
    fn is_transient(&self) -> bool {
        match self {
            Error::Timeout(_) => true,
            Error::Nats(error) => jetstream_answer(&**error).is_none_or(|answer| {
                answer.code() == 503
                    || answer.code() == 408
                    || [CLUSTER_NOT_AVAILABLE, CLUSTER_NOT_LEADER].contains(&answer.error_code())
            }),
            _ => false,
        }
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

/// JetStream's "wrong last sequence" with the subject's last sequence (a single server, and
/// a cluster's stream leader when it could check).
const WRONG_LAST_SEQUENCE: jetstream::ErrorCode = jetstream::ErrorCode::STREAM_WRONG_LAST_SEQUENCE;
/// JetStream's "wrong last sequence" without it (`JSStreamWrongLastSequenceConstantErr` in
/// nats-server's `server/errors.json`): a clustered stream of nats-server 2.10 and later
/// answers it to an append with an expected subject sequence while another such append to the
/// same subject is in process, which `async-nats` 0.46 reports as an unknown error.
const WRONG_LAST_SEQUENCE_IN_PROCESS: jetstream::ErrorCode = jetstream::ErrorCode(10164);
/// "JetStream system temporarily unavailable".
const CLUSTER_NOT_AVAILABLE: jetstream::ErrorCode = jetstream::ErrorCode::CLUSTER_NOT_AVAILABLE;
/// "JetStream cluster can not handle request": no leader yet.
const CLUSTER_NOT_LEADER: jetstream::ErrorCode = jetstream::ErrorCode::CLUSTER_NOT_LEADER;

/// The JetStream API's answer inside an error of `async-nats`, if the server answered: as
/// the error's source, or inside the kind of the errors that carry it there.
fn jetstream_answer(error: &(dyn std::error::Error + 'static)) -> Option<jetstream::Error> {
    let mut next = Some(error);
    while let Some(error) = next {
        let answer = if let Some(answer) = error.downcast_ref::<jetstream::Error>() {
            Some(answer.clone())
        } else if let Some(error) = error.downcast_ref::<stream::LastRawMessageError>() {
            match error.kind() {
                stream::LastRawMessageErrorKind::JetStream(answer) => Some(answer),
                _ => None,
            }
        } else if let Some(error) = error.downcast_ref::<jetstream::context::CreateStreamError>() {
            match error.kind() {
                jetstream::context::CreateStreamErrorKind::JetStream(answer) => Some(answer),
                _ => None,
            }
        } else if let Some(error) = error.downcast_ref::<jetstream::context::GetStreamError>() {
            match error.kind() {
                jetstream::context::GetStreamErrorKind::JetStream(answer) => Some(answer),
                _ => None,
            }
        } else if let Some(error) = error.downcast_ref::<stream::ConsumerError>() {
            match error.kind() {
                stream::ConsumerErrorKind::JetStream(answer) => Some(answer),
                _ => None,
            }
        } else {
            None
        };
        if answer.is_some() {
            return answer;
        }
        next = error.source();
    }
    None
}

/// Whether JetStream refused an append because the subject's last message is no longer the
/// one it expected: someone appended first (10071), or is appending now (10164, see
/// [`WRONG_LAST_SEQUENCE_IN_PROCESS`]).
fn is_wrong_last_sequence(error: &jetstream::context::PublishError) -> bool {
    error.kind() == jetstream::context::PublishErrorKind::WrongLastSequence
        || jetstream_answer(error).is_some_and(|answer| {
            [WRONG_LAST_SEQUENCE, WRONG_LAST_SEQUENCE_IN_PROCESS].contains(&answer.error_code())
        })
}

/// Runs `attempt` until it succeeds, fails for good, or `timeout` has passed since the first
/// try; then returns the last error (see [`Config::join_timeout`]). An attempt in progress
/// at the deadline is cut short.
async fn retry_transient<R, F, A>(
    timeout: Duration,
    what: &'static str,
    mut attempt: A,
) -> Result<R, Error>
where
    A: FnMut() -> F,
    F: Future<Output = Result<R, Error>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    let mut pause = Duration::from_millis(50);
    let mut last = None;
    loop {
        let result = if last.is_none() {
            // The first attempt runs to its end, however short the time allowed.
            attempt().await
        } else {
            tokio::time::timeout_at(deadline, attempt())
                .await
                .unwrap_or_else(|_| Err(last.take().unwrap_or(Error::Timeout(what))))
        };
        let error = match result {
            Ok(value) => return Ok(value),
            Err(error) if !error.is_transient() => return Err(error),
            Err(error) => error,
        };
        if tokio::time::Instant::now() + pause >= deadline {
            return Err(error);
        }
        debug(&format!("{what}: {error}; trying again"));
        last = Some(error);
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(1));
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
    /// key-value bucket when they do not exist. While JetStream is unavailable it tries
    /// again, until [`Config::join_timeout`].
    ///
    /// # Errors
    ///
    /// An invalid stream name, JetStream refused, or it stayed unavailable (the last error).
    pub async fn open(client: async_nats::Client, config: Config) -> Result<Self, Error> {
        check_name(&config.stream)?;
        let js = jetstream::ContextBuilder::new()
            .timeout(config.ack_timeout)
            .build(client);
        let (log, heads, snapshots) = retry_transient(config.join_timeout, "JetStream", || {
            Self::open_streams(&js, &config)
        })
        .await?;
        Ok(Store {
            js,
            config: Arc::new(config),
            log,
            heads,
            snapshots,
        })
    }

    async fn open_streams(
        js: &jetstream::Context,
        config: &Config,
    ) -> Result<(stream::Stream, stream::Stream, object_store::ObjectStore), Error> {
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
        Ok((log, heads, snapshots))
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
            Err(error) if is_wrong_last_sequence(&error) => Ok(false),
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
        let head = self
            .put_snapshot(document, 0, 0, serde_json::to_vec(&stored)?)
            .await?;
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
                move_limit: None,
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

    /// Stores a snapshot (`bytes`, a [`StoredSnapshot`] as JSON) under a name of its own.
    async fn put_snapshot(
        &self,
        document: &str,
        version: u64,
        seq: u64,
        bytes: Vec<u8>,
    ) -> Result<Head, Error> {
        let object = format!("{document}.{version}");
        self.snapshots
            .put(object.as_str(), &mut bytes.as_slice())
            .await
            .map_err(Error::nats)?;
        Ok(Head {
            version,
            seq,
            object,
        })
    }

    /// Writes a snapshot and points the document's head at it unless a newer one is there;
    /// then, with [`Config::compact`], purges the log it includes.
    async fn write_snapshot(
        &self,
        document: &str,
        version: u64,
        seq: u64,
        bytes: Vec<u8>,
    ) -> Result<(), Error> {
        let head = self.put_snapshot(document, version, seq, bytes).await?;
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

    /// The newest snapshot of a document, as JSON (decoding it is left to the caller, off
    /// the runtime's threads). A snapshot replaced while it was read is read again, until
    /// `timeout`.
    async fn load_snapshot(&self, document: &str, timeout: Duration) -> Result<Vec<u8>, Error> {
        retry_transient(timeout, "the document's snapshot", || async {
            let Some((head, _)) = self.head(document).await? else {
                return Err(Error::NotFound(document.to_owned()));
            };
            // In a task of its own: async-nats's object reader panics when it cannot create
            // its consumer (a server of the cluster is down), and that must not take the
            // node with it.
            let snapshots = self.snapshots.clone();
            let read = tokio::spawn(async move {
                let read = async {
                    let mut object = snapshots.get(&head.object).await.map_err(Error::nats)?;
                    let mut bytes = Vec::new();
                    object.read_to_end(&mut bytes).await.map_err(Error::nats)?;
                    Ok::<_, Error>(bytes)
                };
                tokio::time::timeout(Duration::from_secs(10), read)
                    .await
                    .unwrap_or(Err(Error::Timeout("a snapshot's chunks")))
            });
            read.await.unwrap_or_else(|error| Err(Error::nats(error)))
        })
        .await
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
    move_limit: Option<usize>,
}

impl<T> Clone for Checks<T> {
    fn clone(&self) -> Self {
        Checks {
            validator: self.validator.clone(),
            authorizer: self.authorizer.clone(),
            move_limit: self.move_limit,
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

    /// Bounds the work of moving one change through what was committed since its base (see
    /// [`Leader::with_move_limit`]): a change over it is refused before it is moved.
    #[must_use]
    pub fn move_limit(mut self, max_pairs: usize) -> Self {
        self.checks.move_limit = Some(max_pairs);
        self
    }

    /// Joins the document as a new session: loads its newest snapshot, replays the log
    /// after it, and returns once this node has applied everything the log held when it
    /// started. While JetStream is unavailable it tries again, until
    /// [`Config::join_timeout`]. Needs a tokio runtime; the document's work runs on a thread
    /// of its own (see the [crate docs](crate#how-a-node-spends-its-time)).
    ///
    /// # Errors
    ///
    /// [`Error::NotFound`], a JetStream failure (the last one, when JetStream stayed
    /// unavailable), or [`Error::Timeout`] when the log cannot be read within 60 seconds.
    pub async fn join(self) -> Result<Document<T>, Error> {
        check_name(&self.name)?;
        let store = self.store;
        let timeout = store.config.join_timeout;
        let (bytes, head) = retry_transient(timeout, "the document", || async {
            let bytes = store.load_snapshot(&self.name, Duration::ZERO).await?;
            let head = store.last_seq(&self.name).await?;
            Ok((bytes, head))
        })
        .await?;
        let (client, batch, checks) = (self.client, self.batch, self.checks.clone());
        // Decoding the snapshot and building the replica and the follower from it is CPU
        // work: off the runtime's threads.
        let node = tokio::task::spawn_blocking(move || -> Result<Node<T>, Error> {
            let stored: StoredSnapshot<T> = serde_json::from_slice(&bytes)?;
            debug(&format!(
                "join: snapshot {} at {}, log to {head}",
                stored.version, stored.seq
            ));
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
            Ok(Node {
                follower,
                replica: replica(state, stored.version, &checks),
                last_seq: stored.seq,
                sessions: stored
                    .sessions
                    .into_iter()
                    .map(|(s, c, v)| (s, (c, v)))
                    .collect(),
                events: Vec::new(),
                attempt: ((0, 0), 0),
                stale: 0,
                remote: Remote::default(),
            })
        })
        .await
        .map_err(Error::nats)??;
        let (changed, _) = watch::channel(0_u64);
        let shared = Arc::new(Shared {
            name: self.name.clone(),
            subject: store.subject(&self.name),
            applied: AtomicU64::new(node.last_seq),
            node: Mutex::new(node),
            snapshotting: AtomicBool::new(false),
            wake: Notify::new(),
            changed,
        });
        let (jobs, job_receiver) = std::sync::mpsc::channel();
        let (effect_sender, effects) = mpsc::unbounded_channel();
        let replica = Replica {
            store: store.clone(),
            shared: Arc::clone(&shared),
            checks: self.checks,
            runtime: tokio::runtime::Handle::current(),
            effects: effect_sender,
            failed_reload: None,
        };
        std::thread::Builder::new()
            .name("immer-nats".to_owned())
            .spawn(move || replica.run(&job_receiver))
            .map_err(Error::nats)?;
        let worker = Worker {
            store,
            shared: Arc::clone(&shared),
            jobs,
            effects,
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
    if let Some(max) = checks.move_limit {
        leader = leader.with_move_limit(max);
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

/// What the node's handle, its async task and its thread share.
struct Shared<T> {
    name: String,
    subject: String,
    node: Mutex<Node<T>>,
    /// [`Node::last_seq`], for the async task, which never waits for the lock.
    applied: AtomicU64,
    /// A snapshot of this node's is being written.
    snapshotting: AtomicBool,
    /// Wakes the async task: an edit is waiting.
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

    fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
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
    queue: VecDeque<Change>,
    /// Each remote session's last answered change and how it ended.
    answered: std::collections::HashMap<SessionId, (u64, Outcome)>,
    outbox: Option<mpsc::UnboundedSender<Outbound<T>>>,
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
                    id: *change_id,
                    outcome: outcome.clone(),
                }),
            ..self.replica.snapshot()
        }
    }

    /// One message, to the replica (and to remote sessions).
    fn apply(&mut self, message: &Received) -> Step {
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

    fn take_follower_events(&mut self) -> bool {
        let events = self.follower.take_events();
        let diverged = events
            .iter()
            .any(|e| matches!(e, FollowerEvent::Diverged { .. }));
        self.events.extend(events);
        diverged
    }
}

/// A message of the document's log, as read.
struct Received {
    seq: u64,
    payload: Bytes,
}

/// What the async task asks of the document's thread.
enum Job {
    /// Apply these messages (in log order, after those handed over before).
    Messages(Vec<Received>),
    /// Order the change to append next, unless the log has not reached `hold_until`.
    Prepare { hold_until: u64 },
}

/// What the document's thread tells the async task.
enum Effect {
    /// This many messages were applied, or skipped; `lost`: some could not be applied (the
    /// log has a gap that reloading the snapshot did not fill), so the log must be read
    /// again from [`Shared::applied`].
    Applied { count: usize, lost: bool },
    /// The answer to [`Job::Prepare`].
    Prepared(Option<Prepared>),
}

/// An append, ready to send.
struct Prepared {
    payload: Vec<u8>,
    message_id: String,
    /// The stream sequence the document's last message must have.
    expected: u64,
}

/// How many messages a run applies at most (one lock of the document and one pass of the
/// follower).
const MAX_RUN: usize = 1024;
/// How many ready messages the async task hands over at once.
const READ_BATCH: usize = 256;
/// How many messages may wait for the document's thread before the async task stops
/// reading the log (JetStream's flow control then holds the rest).
const MAX_QUEUED: usize = 16_384;
/// How many messages one request of a catch-up reads.
const CATCH_UP_BATCH: usize = 1000;
/// How many messages one catch-up reads at most before the node follows the log again.
const CATCH_UP_MAX: u64 = 20_000;

/// Why a run stopped for the snapshot to be reloaded.
enum Reload {
    /// This message does not follow the replica's version, or does not apply.
    Gap(Received),
    /// The follower diverged from the log.
    Diverged,
}

/// What the document's thread does with one message.
enum Step {
    /// Skipped (read before, stale, or not a change).
    Skipped,
    /// Applied to the replica: the follower's turn.
    Committed(Committed),
    /// It does not follow the replica's version, or does not apply: reload the snapshot.
    Reload,
}

/// The document's work, on a thread of its own.
///
/// Why a thread per document, fed by a channel, rather than `spawn_blocking` or
/// `block_in_place`: the log's messages must be applied one run after another, in order,
/// while the async task goes on reading the next ones and acknowledging appends. One thread
/// that takes its jobs from a channel gives that order for free and lets everything that
/// piled up while a run was applied form the next run; `spawn_blocking` would need the same
/// queue in front of it plus a task to hand each run over (and shares its pool with the
/// app's blocking I/O); `block_in_place` would stop this document's reads for as long as a
/// run lasts and panics on a current-thread runtime. The thread sleeps on its channel when
/// there is nothing to do, and ends with the document.
struct Replica<T> {
    store: Store,
    shared: Arc<Shared<T>>,
    checks: Checks<T>,
    /// For the little async work the thread needs done (reading a snapshot when the log was
    /// purged past this node, writing one in the background).
    runtime: tokio::runtime::Handle,
    effects: mpsc::UnboundedSender<Effect>,
    /// When a reload last left a gap unfilled: another is not tried for a second.
    failed_reload: Option<std::time::Instant>,
}

impl<T> Replica<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn run(mut self, jobs: &std::sync::mpsc::Receiver<Job>) {
        // Messages handed over and not applied yet, and a request to prepare that waits
        // until they are.
        let mut ready: VecDeque<Received> = VecDeque::new();
        let mut next = None;
        loop {
            if ready.is_empty() {
                let job = match next.take() {
                    Some(job) => job,
                    None => match jobs.recv() {
                        Ok(job) => job,
                        // The document was dropped.
                        Err(_) => return,
                    },
                };
                match job {
                    Job::Prepare { hold_until } => {
                        let prepared = self.prepare(hold_until);
                        if self.effects.send(Effect::Prepared(prepared)).is_err() {
                            return;
                        }
                        continue;
                    }
                    Job::Messages(messages) => ready.extend(messages),
                }
            }
            // Everything else that is ready joins the run, up to its bound.
            while next.is_none() && ready.len() < MAX_RUN {
                match jobs.try_recv() {
                    Ok(Job::Messages(messages)) => ready.extend(messages),
                    Ok(job) => next = Some(job),
                    Err(_) => break,
                }
            }
            let run: VecDeque<Received> = ready.drain(..ready.len().min(MAX_RUN)).collect();
            let mut count = run.len();
            let started = std::time::Instant::now();
            let lost = self.apply_run(run);
            if started.elapsed() >= Duration::from_millis(100) {
                debug(&format!(
                    "a run of {count} messages took {:.2?}",
                    started.elapsed()
                ));
            }
            if lost {
                // The log is read again from where this node is.
                count += ready.len();
                ready.clear();
            }
            if self.effects.send(Effect::Applied { count, lost }).is_err() {
                return;
            }
        }
    }

    /// Applies a run of messages: to the replica one by one, to the follower in one go.
    /// Returns whether some could not be applied.
    fn apply_run(&mut self, mut run: VecDeque<Received>) -> bool {
        let mut reloaded_at = None;
        while !run.is_empty() {
            let (reload, snapshot) = {
                let mut node = self.shared.lock();
                let result = self.apply_messages(&mut node, &mut run);
                self.shared.applied.store(node.last_seq, Ordering::Release);
                result
            };
            self.shared.bump();
            if let Some(stored) = snapshot {
                self.write_snapshot(&stored);
            }
            let message = match reload {
                None => continue,
                Some(Reload::Diverged) => None,
                Some(Reload::Gap(message)) => Some(message),
            };
            // A gap or a change that does not apply, or a follower that diverged (then with
            // no message to try again): reload the snapshot, once per message, and not again
            // within a second of one that did not help.
            let seq = message.as_ref().map(|m| m.seq);
            let recent_failure = self
                .failed_reload
                .is_some_and(|at| at.elapsed() < Duration::from_secs(1));
            if (seq.is_some() && reloaded_at == seq) || recent_failure {
                debug(&format!(
                    "a gap before {seq:?} that the snapshot does not fill"
                ));
                self.failed_reload = Some(std::time::Instant::now());
                return true;
            }
            self.reload();
            reloaded_at = seq;
            if let Some(message) = message {
                run.push_front(message);
            }
        }
        false
    }

    /// Applies messages from the front of `run` to the replica, then the committed changes
    /// among them to the follower as one run. Stops at a message that needs the snapshot
    /// reloaded, and returns why, with a snapshot to write when this node committed a
    /// snapshot's version.
    fn apply_messages(
        &self,
        node: &mut Node<T>,
        run: &mut VecDeque<Received>,
    ) -> (Option<Reload>, Option<StoredSnapshot<Arc<T>>>) {
        let mut committed = Vec::new();
        let mut snapshot = None;
        let mut reload = None;
        while let Some(message) = run.pop_front() {
            match node.apply(&message) {
                Step::Skipped => {}
                Step::Committed(change) => {
                    if let Some(stored) = self.snapshot_due(node, &change, message.seq) {
                        snapshot = Some(stored);
                    }
                    committed.push(ToFollower::Committed(change));
                }
                Step::Reload => {
                    reload = Some(Reload::Gap(message));
                    break;
                }
            }
        }
        node.follower.receive_all(committed);
        if node.take_follower_events() && reload.is_none() {
            reload = Some(Reload::Diverged);
        }
        // Keep the replica's log to what a change in flight may need.
        let keep = node
            .follower
            .version()
            .min(node.replica.version().saturating_sub(10_000));
        node.replica.compact(keep);
        (reload, snapshot)
    }

    /// The snapshot to write after `committed`, when this node committed it (its own change
    /// or a remote session's) at a multiple of [`Config::snapshot_every`] and is not writing
    /// one already.
    fn snapshot_due(
        &self,
        node: &Node<T>,
        committed: &Committed,
        seq: u64,
    ) -> Option<StoredSnapshot<Arc<T>>> {
        let every = self.store.config.snapshot_every;
        let own = committed.session == node.follower.session()
            || node.remote.sessions.contains_key(&committed.session);
        if !own || every == 0 || committed.version % every != 0 {
            return None;
        }
        if self.shared.snapshotting.swap(true, Ordering::AcqRel) {
            return None;
        }
        Some(StoredSnapshot {
            version: committed.version,
            seq,
            state: Arc::clone(node.replica.state()),
            sessions: node
                .sessions
                .iter()
                .map(|(s, (c, v))| (*s, *c, *v))
                .collect(),
        })
    }

    /// Encodes a snapshot here, and writes it in the background.
    fn write_snapshot(&self, stored: &StoredSnapshot<Arc<T>>) {
        let Ok(bytes) = serde_json::to_vec(stored) else {
            self.shared.snapshotting.store(false, Ordering::Release);
            return;
        };
        let (version, seq) = (stored.version, stored.seq);
        let store = self.store.clone();
        let shared = Arc::clone(&self.shared);
        self.runtime.spawn(async move {
            // A failed write is not retried: the next snapshot replaces it.
            let _ = store
                .write_snapshot(&shared.name, version, seq, bytes)
                .await;
            shared.snapshotting.store(false, Ordering::Release);
        });
    }

    /// Loads the newest snapshot and moves the node to it, when it is ahead.
    fn reload(&self) {
        let load = self
            .store
            .load_snapshot(&self.shared.name, Duration::from_secs(5));
        let stored = match self.runtime.block_on(load).and_then(|bytes| {
            serde_json::from_slice::<StoredSnapshot<T>>(&bytes).map_err(Error::from)
        }) {
            Ok(stored) => stored,
            Err(error) => {
                debug(&format!("reload: {error}"));
                return;
            }
        };
        debug(&format!(
            "reload: snapshot {} at {}",
            stored.version, stored.seq
        ));
        {
            let mut node = self.shared.lock();
            if stored.version < node.replica.version() {
                return;
            }
            let session = node.follower.session();
            let answered = stored.sessions.iter().find(|(s, _, _)| *s == session).map(
                |(_, change_id, version)| Answered {
                    id: *change_id,
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
                    answered: Some(Answered {
                        id: change_id,
                        outcome,
                    }),
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
            self.shared.applied.store(node.last_seq, Ordering::Release);
        }
        self.shared.bump();
    }

    /// Orders the follower's change in flight (or else a remote session's) against the log
    /// as this node has it, ready to append; refusals go back to the follower (or the
    /// session) at once.
    fn prepare(&self, hold_until: u64) -> Option<Prepared> {
        let mut refused = false;
        let prepared = {
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
                let Some(change) = own.or_else(|| node.remote.queue.front().cloned()) else {
                    break None;
                };
                let client = if remote {
                    change.client
                } else {
                    node.follower.client()
                };
                let reason = match node.replica.prepare(client, &change) {
                    Ok((committed, _)) => match serde_json::to_vec(&committed) {
                        Ok(payload) if payload.len() + 1024 <= self.store.max_payload() => {
                            if node.attempt.0 != (change.session, change.id) {
                                node.attempt = ((change.session, change.id), 0);
                            }
                            break Some(Prepared {
                                payload,
                                message_id: format!(
                                    "{}.{}.{}",
                                    change.session, change.id, node.attempt.1
                                ),
                                expected: node.last_seq,
                            });
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
                // What a session keeps of a refusal is small, whatever the change held.
                let reason = reason.shortened();
                refused = true;
                let rejected = Rejected {
                    session: change.session,
                    id: change.id,
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
            }
        };
        if refused {
            self.shared.bump();
        }
        prepared
    }
}

/// An append waiting for JetStream's acknowledgement.
type Ack = Pin<
    Box<
        dyn Future<
                Output = Result<jetstream::publish::PublishAck, jetstream::context::PublishError>,
            > + Send,
    >,
>;

/// The creation of the consumer that follows the log.
type Subscribing = Pin<Box<dyn Future<Output = Result<consumer::push::Ordered, Error>> + Send>>;

/// The document's async task: it talks to NATS, and hands all the work to the document's
/// thread.
struct Worker<T> {
    store: Store,
    shared: Arc<Shared<T>>,
    jobs: std::sync::mpsc::Sender<Job>,
    effects: mpsc::UnboundedReceiver<Effect>,
}

impl<T> Worker<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    #[allow(clippy::too_many_lines)] // one loop over the node's events, read in one place
    async fn run(mut self) {
        // The consumer that follows the log, or the request that creates it (never waited
        // for here: appends and acknowledgements go on meanwhile).
        let mut messages: Option<consumer::push::Ordered> = None;
        let mut subscribing: Option<Subscribing> = None;
        let mut subscribe_failed = false;
        // The last sequence handed to the thread, and how many messages it has not applied.
        let mut read = self.shared.applied();
        let mut queued = 0_usize;
        let mut ack: Option<(Ack, u64)> = None;
        // Do not append before the log reaches this sequence (an append's own message, or
        // what made an append fail).
        let mut hold_until = 0_u64;
        let mut retry: Option<Pin<Box<tokio::time::Sleep>>> = None;
        // Whether the thread is ordering an append, and whether it should be asked to.
        let mut preparing = false;
        let mut want_prepare = true;
        // Liveness: a consumer can go quiet without an error (its server died while it was
        // being recreated). After a quiet moment, ask where the log ends, and catch up when
        // it is ahead (checked every tenth of a second, after a fifth of a second without a
        // message while this node waits for one, half a second otherwise).
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut heard = tokio::time::Instant::now();
        loop {
            if messages.is_none() && subscribing.is_none() {
                subscribing = Some(self.subscribe(read + 1, subscribe_failed));
            }
            // The thread prepares after the messages handed to it before: once they reach
            // the hold, so will the node.
            if want_prepare && !preparing && ack.is_none() && retry.is_none() && read >= hold_until
            {
                if self.jobs.send(Job::Prepare { hold_until }).is_err() {
                    return;
                }
                preparing = true;
                want_prepare = false;
            }
            tokio::select! {
                () = self.shared.wake.notified() => want_prepare = true,
                result = async { subscribing.as_mut().expect("guarded").await }, if subscribing.is_some() => {
                    subscribing = None;
                    subscribe_failed = result.is_err();
                    match result {
                        Ok(stream) => messages = Some(stream),
                        Err(error) => debug(&format!("subscribe: {error}")),
                    }
                }
                message = async { messages.as_mut().expect("guarded").next().await }, if messages.is_some() && queued < MAX_QUEUED => {
                    let mut run = Vec::new();
                    let mut next = message;
                    let mut ended = false;
                    let stream = messages.as_mut().expect("guarded");
                    // What the consumer has ready goes to the thread as one job.
                    loop {
                        match next {
                            Some(Ok(message)) => {
                                heard = tokio::time::Instant::now();
                                take(&message, &mut read, &mut run);
                            }
                            // A missed heartbeat (its server died, the connection dropped):
                            // follow the log again from this node's position, through a new
                            // consumer.
                            Some(Err(error)) => {
                                debug(&format!("consumer: {error}"));
                                ended = true;
                                break;
                            }
                            None => {
                                debug("consumer ended");
                                ended = true;
                                break;
                            }
                        }
                        if run.len() >= READ_BATCH {
                            break;
                        }
                        match stream.next().now_or_never() {
                            Some(message) => next = message,
                            None => break,
                        }
                    }
                    if ended {
                        messages = None;
                    }
                    queued += run.len();
                    if !run.is_empty() && self.jobs.send(Job::Messages(run)).is_err() {
                        return;
                    }
                }
                effect = self.effects.recv() => match effect {
                    // The thread ended.
                    None => return,
                    Some(Effect::Applied { count, lost }) => {
                        queued = queued.saturating_sub(count);
                        want_prepare = true;
                        if lost {
                            read = self.shared.applied();
                            messages = None;
                            subscribing = None;
                        }
                    }
                    Some(Effect::Prepared(prepared)) => {
                        preparing = false;
                        ack = prepared.map(|prepared| self.append(prepared));
                    }
                },
                result = async { (&mut ack.as_mut().expect("guarded").0).await }, if ack.is_some() => {
                    let (_, expected) = ack.take().expect("guarded");
                    want_prepare = true;
                    match result {
                        // Its message (or, for a duplicate, the earlier attempt's) comes
                        // through the consumer, and decides the change there.
                        Ok(published) => hold_until = published.sequence,
                        // Someone appended first, or is appending: wait for their message.
                        Err(error) if is_wrong_last_sequence(&error) => {
                            if error.kind() != jetstream::context::PublishErrorKind::WrongLastSequence {
                                debug(&format!("append after {expected}: {error}"));
                            }
                            hold_until = expected + 1;
                        }
                        // Unknown outcome: send it again (same message id) a little later.
                        Err(error) => { debug(&format!("append: {error}")); retry = Some(Box::pin(tokio::time::sleep(Duration::from_millis(50)))) }
                    }
                }
                () = async { retry.as_mut().expect("guarded").await }, if retry.is_some() => {
                    retry = None;
                    want_prepare = true;
                }
                _ = tick.tick() => {
                    // Sooner when this node waits for the log (its own append's message, or
                    // the one that refused it).
                    let applied = self.shared.applied();
                    let waiting = applied < hold_until;
                    let quiet = if waiting { Duration::from_millis(200) } else { Duration::from_millis(500) };
                    if heard.elapsed() >= quiet {
                        if let Ok(node) = self.shared.node.try_lock() {
                            if !node.follower.is_settled() {
                                debug(&format!("quiet: read {read}, applied {applied} (version {}), holding until {hold_until}, {} pending, {queued} queued, append {}, retry {}", node.replica.version(), node.follower.pending_count(), ack.is_some(), retry.is_some()));
                            }
                        }
                        let end = tokio::time::timeout(Duration::from_secs(2), self.store.last_seq(&self.shared.name)).await;
                        if let Ok(Ok(end)) = end {
                            if end > read {
                                debug(&format!("consumer: behind the log's end ({read} of {end}); reading the rest in batches and following it anew"));
                                read = self.catch_up(read + 1, end, &mut queued).await;
                                messages = None;
                                subscribing = None;
                            }
                            // The log ends before the message this node waits for: the append
                            // that refused this node's (10164) did not land after all.
                            if hold_until > end {
                                hold_until = 0;
                                want_prepare = true;
                            }
                        }
                        heard = tokio::time::Instant::now();
                    }
                }
            }
        }
    }

    /// Reads the log from `start` to `end` (at most [`CATCH_UP_MAX`] messages) in batches
    /// of [`CATCH_UP_BATCH`] through a pull consumer of its own, handing each batch to the
    /// thread as it comes; returns the last sequence read. When the consumer delivers nothing
    /// (a consumer that does not deliver what the stream holds, as nats-server 2.9 can after
    /// a purge, must not keep a node behind), the document's next message is read directly.
    async fn catch_up(&self, start: u64, end: u64, queued: &mut usize) -> u64 {
        let mut read = start - 1;
        let create = self.store.log.create_consumer(consumer::pull::Config {
            filter_subject: self.shared.subject.clone(),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ack_policy: consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(10),
            num_replicas: 1,
            memory_storage: true,
            ..Default::default()
        });
        let last = end.min(start.saturating_add(CATCH_UP_MAX - 1));
        if let Ok(Ok(consumer)) = tokio::time::timeout(Duration::from_secs(2), create).await {
            while read < last {
                let mut run = Vec::new();
                let fetch = async {
                    let mut batch = consumer
                        .fetch()
                        .max_messages(CATCH_UP_BATCH)
                        .messages()
                        .await?;
                    while let Some(message) = batch.next().await {
                        take(&message?, &mut read, &mut run);
                    }
                    Ok::<_, async_nats::Error>(())
                };
                let result = tokio::time::timeout(Duration::from_secs(5), fetch).await;
                let delivered = !run.is_empty();
                if delivered {
                    *queued += run.len();
                    if self.jobs.send(Job::Messages(run)).is_err() {
                        break;
                    }
                }
                if !delivered || !matches!(result, Ok(Ok(()))) {
                    break;
                }
            }
            let (log, name) = (self.store.log.clone(), consumer.cached_info().name.clone());
            tokio::spawn(async move { log.delete_consumer(&name).await.ok() });
        }
        if read < start {
            let next = self
                .store
                .log
                .raw_message_builder()
                .sequence(start)
                .next_by_subject(self.shared.subject.clone())
                .send();
            if let Ok(Ok(message)) = tokio::time::timeout(Duration::from_secs(2), next).await {
                debug(&format!("catch-up: read {} directly", message.sequence));
                read = message.sequence;
                *queued += 1;
                let received = Received {
                    seq: message.sequence,
                    payload: message.payload,
                };
                self.jobs.send(Job::Messages(vec![received])).ok();
            }
        }
        read
    }

    /// Follows the log from `start` through a new ordered consumer (a tenth of a second
    /// later when the last attempt failed).
    fn subscribe(&self, start: u64, pause: bool) -> Subscribing {
        let log = self.store.log.clone();
        let config = consumer::push::OrderedConfig {
            deliver_subject: self.store.js.client().new_inbox(),
            filter_subject: self.shared.subject.clone(),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        };
        Box::pin(async move {
            if pause {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let consumer = log.create_consumer(config).await.map_err(Error::nats)?;
            consumer.messages().await.map_err(Error::nats)
        })
    }

    /// Sends an append the thread prepared.
    fn append(&self, prepared: Prepared) -> (Ack, u64) {
        let js = self.store.js.clone();
        let subject = self.shared.subject.clone();
        let expected = prepared.expected;
        let publish = jetstream::message::PublishMessage::build()
            .payload(prepared.payload.into())
            .message_id(prepared.message_id)
            .expected_last_subject_sequence(expected);
        // Bounded as a whole: the client's own timeouts do not cover every step (waiting for
        // a free acknowledgement slot after a failover).
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
        (ack, expected)
    }
}

/// Adds a message read from the log to `run`, unless it was read before.
fn take(message: &jetstream::Message, read: &mut u64, run: &mut Vec<Received>) {
    let Ok(info) = message.info() else {
        return;
    };
    let seq = info.stream_sequence;
    if seq <= *read {
        return;
    }
    *read = seq;
    run.push(Received {
        seq,
        payload: message.payload.clone(),
    });
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

    /// Forgets a session opened with [`open_session`](Document::open_session) (its client
    /// is gone for good): its changes are refused from then on, and a retransmission of its
    /// last one is no longer answered as before. Returns whether it was open.
    pub fn close_session(&self, session: SessionId) -> bool {
        let mut node = self.shared.lock();
        node.remote.answered.remove(&session);
        node.remote.sessions.remove(&session).is_some()
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
                id: change.id,
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
                        id: change.id,
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
                // Never waits for the lock on the runtime's thread: while the document's
                // thread applies a run, look again at its next change, or a little later.
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A JetStream API error as the server sends it.
    fn answer(code: usize, err_code: u64, description: &str) -> jetstream::Error {
        serde_json::from_value(serde_json::json!({
            "code": code,
            "err_code": err_code,
            "description": description,
        }))
        .expect("an API error")
    }

    fn refused(answer: jetstream::Error) -> jetstream::context::PublishError {
        // As async-nats 0.46 reports an answer it does not know.
        jetstream::context::PublishError::with_source(
            jetstream::context::PublishErrorKind::Other,
            answer,
        )
    }

    #[test]
    fn both_wrong_last_sequence_answers_are_recognised() {
        let known = jetstream::context::PublishError::with_source(
            jetstream::context::PublishErrorKind::WrongLastSequence,
            answer(400, 10071, "wrong last sequence: 7"),
        );
        assert!(is_wrong_last_sequence(&known));
        // nats-server 2.15 in a cluster.
        assert!(is_wrong_last_sequence(&refused(answer(
            400,
            10164,
            "wrong last sequence"
        ))));
        assert!(!is_wrong_last_sequence(&refused(answer(
            400,
            10070,
            "wrong last msg ID: x"
        ))));
        assert!(!is_wrong_last_sequence(
            &jetstream::context::PublishError::new(jetstream::context::PublishErrorKind::TimedOut)
        ));
    }

    #[test]
    fn unavailability_is_waited_out_and_refusals_are_not() {
        let no_responders = jetstream::context::RequestError::new(
            jetstream::context::RequestErrorKind::NoResponders,
        );
        assert!(Error::nats(no_responders).is_transient());
        assert!(Error::Timeout("JetStream").is_transient());
        let not_ready =
            stream::LastRawMessageError::new(stream::LastRawMessageErrorKind::JetStream(answer(
                503,
                10008,
                "JetStream system temporarily unavailable",
            )));
        assert!(Error::nats(not_ready).is_transient());
        let no_leader = answer(500, 10009, "JetStream cluster can not handle request");
        assert!(Error::nats(no_leader).is_transient());
        let no_stream = stream::LastRawMessageError::new(
            stream::LastRawMessageErrorKind::JetStream(answer(404, 10059, "stream not found")),
        );
        assert!(!Error::nats(no_stream).is_transient());
        assert!(!Error::NotFound("board".into()).is_transient());
        assert!(!Error::InvalidName("a b".into()).is_transient());
    }

    #[tokio::test(start_paused = true)]
    async fn a_transient_failure_is_retried_until_the_deadline_and_the_last_is_returned() {
        let mut attempts = 0;
        let result: Result<(), Error> = retry_transient(Duration::from_secs(2), "a test", || {
            attempts += 1;
            let n = attempts;
            async move { Err(Error::Nats(format!("attempt {n}").into())) }
        })
        .await;
        let last = format!("NATS: attempt {attempts}");
        assert!(attempts > 3, "{attempts} attempts");
        assert_eq!(result.unwrap_err().to_string(), last);
        let mut attempts = 0;
        let result = retry_transient(Duration::from_secs(2), "a test", || {
            attempts += 1;
            let n = attempts;
            async move {
                if n < 3 {
                    Err(Error::Timeout("a test"))
                } else {
                    Ok(n)
                }
            }
        })
        .await;
        assert_eq!(result.unwrap(), 3);
        let mut attempts = 0;
        let result: Result<(), Error> = retry_transient(Duration::from_secs(2), "a test", || {
            attempts += 1;
            async { Err(Error::NotFound("board".into())) }
        })
        .await;
        assert!(matches!(result, Err(Error::NotFound(_))));
        assert_eq!(attempts, 1, "a refusal is returned at once");
    }
}
