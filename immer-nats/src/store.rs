//! The store: the JetStream stream of the documents' logs, their heads and snapshots.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use async_nats::jetstream::{self, consumer, object_store, stream};
use futures_util::StreamExt;
use immer::sync::{ClientId, SessionId};
use serde::{Deserialize, Serialize};
use tokio::io::AsyncReadExt;

use crate::config::Config;
use crate::error::{Error, is_wrong_last_sequence, retry_transient};
use crate::node::Received;
use crate::reader::LogReader;

pub(crate) fn check_name(name: &str) -> Result<(), Error> {
    if immer::sync::is_document_name(name) {
        Ok(())
    } else {
        // Named as far as a message needs (a name may be any length).
        Err(Error::InvalidName(name.chars().take(64).collect()))
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
/// `seq`, and the table of sessions the log showed then (see `sessions.rs`): the last change
/// each recent session committed and its version (so that a node that reloads learns how its
/// change in flight ended), and each one's client (so that a node that starts from the
/// snapshot lets a client resume its session). The clients are a field of their own, which
/// a snapshot written before them lacks and a node from before them ignores.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredSnapshot<T> {
    pub(crate) version: u64,
    pub(crate) seq: u64,
    pub(crate) state: T,
    pub(crate) sessions: Vec<(SessionId, u64, u64)>,
    #[serde(default)]
    pub(crate) clients: Vec<(SessionId, ClientId)>,
}

/// A set of documents in one JetStream stream.
#[derive(Clone)]
pub struct Store {
    pub(crate) js: jetstream::Context,
    pub(crate) config: Arc<Config>,
    pub(crate) log: stream::Stream,
    heads: stream::Stream,
    snapshots: object_store::ObjectStore,
    /// The node's one reader of the log, shared by the documents it opens.
    pub(crate) reader: Arc<LogReader>,
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
        let filter = format!("immer.{}.*", config.stream);
        let reader = Arc::new(LogReader::new(log.clone(), js.clone(), filter));
        Ok(Store {
            js,
            config: Arc::new(config),
            log,
            heads,
            snapshots,
            reader,
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

    /// The NATS connection the store uses (a handle: cheap to clone), for messages beside the
    /// log, such as presence (see [`presence_subject`](Store::presence_subject)).
    #[must_use]
    pub fn connection(&self) -> async_nats::Client {
        self.js.client()
    }

    /// The core NATS subject on which the servers of `document` tell each other what their
    /// clients show (their presence): `immer.presence.<stream>.<document>`. Plain publish and
    /// subscribe, outside every stream: nothing sent on it is kept. It never matches the
    /// log's subjects, `immer.<stream>.*`, whatever the stream's name (one token more).
    #[must_use]
    pub fn presence_subject(&self, document: &str) -> String {
        format!("immer.presence.{}.{document}", self.config.stream)
    }

    /// The largest message the server takes (as it said when the client connected).
    pub(crate) fn max_payload(&self) -> usize {
        match self.js.client().server_info().max_payload {
            0 => 1 << 20,
            n => n,
        }
    }

    pub(crate) fn subject(&self, document: &str) -> String {
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
            clients: Vec::new(),
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
    pub(crate) async fn write_snapshot(
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
    pub(crate) async fn load_snapshot(
        &self,
        document: &str,
        timeout: Duration,
    ) -> Result<Vec<u8>, Error> {
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
    /// The messages of `document` from stream sequence `start` to `end`, oldest first, read
    /// through a pull consumer of its own (deleted after) that the server filters by the
    /// document's subject; as many as came within a few seconds.
    pub(crate) async fn read_range(&self, document: &str, start: u64, end: u64) -> Vec<Received> {
        let create = self.log.create_consumer(consumer::pull::Config {
            filter_subject: self.subject(document),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start.max(1),
            },
            ack_policy: consumer::AckPolicy::None,
            inactive_threshold: Duration::from_secs(10),
            num_replicas: 1,
            memory_storage: true,
            ..Default::default()
        });
        let Ok(Ok(consumer)) = tokio::time::timeout(Duration::from_secs(2), create).await else {
            return Vec::new();
        };
        let mut read = Vec::new();
        let fetch = async {
            while read.last().is_none_or(|m: &Received| m.seq < end) {
                let mut batch = consumer
                    .fetch()
                    .max_messages(1000)
                    .expires(Duration::from_millis(500))
                    .messages()
                    .await?;
                let before = read.len();
                let mut past = false;
                while let Some(message) = batch.next().await {
                    let message = message?;
                    let seq = message.info()?.stream_sequence;
                    past |= seq >= end;
                    if seq <= end {
                        read.push(Received {
                            seq,
                            payload: message.payload.clone(),
                        });
                    }
                }
                if past || read.len() == before {
                    break;
                }
            }
            Ok::<_, async_nats::Error>(())
        };
        // What came is kept, whatever stopped the reading.
        let _ = tokio::time::timeout(Duration::from_secs(5), fetch).await;
        let name = consumer.cached_info().name.clone();
        let log = self.log.clone();
        tokio::spawn(async move { log.delete_consumer(&name).await.ok() });
        read
    }

    pub(crate) async fn last_seq(&self, document: &str) -> Result<u64, Error> {
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
