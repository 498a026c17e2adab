//! How a store keeps its documents, and the switch for a node's diagnostics.

use std::time::Duration;

use async_nats::jetstream::stream;

/// How a [`Store`](crate::Store) keeps its documents.
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
    ///
    /// [`Store::open`]: crate::Store::open
    /// [`DocumentBuilder::join`]: crate::DocumentBuilder::join
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

pub(crate) fn debug(message: &str) {
    if std::env::var_os("IMMER_NATS_DEBUG").is_some() {
        eprintln!("immer-nats: {message}");
    }
}
