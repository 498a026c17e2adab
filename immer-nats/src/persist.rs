//! A document kept across restarts of its node's process: what it saves (its follower's
//! durable part and where the node was in the log), the task that saves it, one save at a
//! time and the newest state each time, and how a joining node reads it back.

use std::io;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use immer::Draftable;
use immer::sync::{FollowerEvent, FollowerStore, PersistError, SavedFollower, SessionId};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::{Notify, watch};

use crate::config::debug;
use crate::error::Error;
use crate::node::Node;
use crate::worker::Shared;

/// The format of what a document saves.
const FORMAT: u64 = 1;

/// What a document keeps in its store: its follower's durable part, where the node was in
/// the log when it saved, and the events the app had not taken.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct SavedDocument<F> {
    format: u64,
    /// The document's name: a store holds one document.
    document: String,
    /// The stream sequence of the last message the node had applied, and its replica's
    /// version then.
    pub(crate) seq: u64,
    pub(crate) replica_version: u64,
    /// The change in flight (session, id) and how many of its appends landed stale.
    pub(crate) attempt: (SessionId, u64, u32),
    /// Events the app had not taken.
    pub(crate) events: Vec<FollowerEvent>,
    pub(crate) follower: F,
}

impl<T: Draftable> SavedDocument<SavedFollower<T>> {
    /// The node's durable part, now (cheap: the states are shared).
    pub(crate) fn of(name: &str, node: &Node<T>) -> Self {
        SavedDocument {
            format: FORMAT,
            document: name.to_owned(),
            seq: node.last_seq,
            replica_version: node.replica.version(),
            attempt: node.attempts(),
            events: node.events.clone(),
            follower: node.follower.save(),
        }
    }

    /// Reads what a document saved, for the document `name`.
    pub(crate) fn read(bytes: &[u8], name: &str) -> Result<Self, PersistError> {
        let value: serde_json::Value =
            serde_json::from_slice(bytes).map_err(PersistError::unreadable)?;
        let format = value.get("format");
        if format.and_then(serde_json::Value::as_u64) != Some(FORMAT) {
            let found = format.map(|f| f.to_string().chars().take(40).collect());
            return Err(PersistError::Format { found });
        }
        let saved: SavedDocument<serde_json::Value> =
            serde_json::from_value(value).map_err(PersistError::Malformed)?;
        if saved.document != name {
            return Err(PersistError::Inconsistent(format!(
                "it was saved for the document {:?}, not {name:?}",
                saved.document
            )));
        }
        Ok(SavedDocument {
            format: saved.format,
            document: saved.document,
            seq: saved.seq,
            replica_version: saved.replica_version,
            attempt: saved.attempt,
            events: saved.events,
            follower: SavedFollower::from_value(saved.follower)?,
        })
    }
}

/// A document's store and the state of its saves, shared by its handle, its work and the
/// task that saves.
pub(crate) struct Persist {
    store: Arc<Mutex<Box<dyn FollowerStore + Send>>>,
    /// Wakes the saving task: something to save changed.
    dirty: Notify,
    /// Counts the changes to save, and the saves: the last change a finished save holds,
    /// and how the last attempt failed, if it did.
    requested: std::sync::atomic::AtomicU64,
    status: watch::Sender<Status>,
}

/// Where the saves are.
#[derive(Clone, Debug, Default)]
struct Status {
    /// The last change (of [`Persist::requested`]) a finished save holds.
    written: u64,
    /// How the last attempt failed, when it did (cleared by one that does not).
    error: Option<(io::ErrorKind, String)>,
}

impl Persist {
    pub(crate) fn new(store: Box<dyn FollowerStore + Send>) -> Self {
        Persist {
            store: Arc::new(Mutex::new(store)),
            dirty: Notify::new(),
            requested: std::sync::atomic::AtomicU64::new(0),
            status: watch::channel(Status::default()).0,
        }
    }

    /// Asks for a save of the document as it is now (the saving task takes the newest
    /// state when it gets to it).
    pub(crate) fn mark(&self) {
        self.requested
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel);
        self.dirty.notify_one();
    }

    /// Waits until a finished save holds the document as it is now.
    pub(crate) async fn saved(&self, timeout: Duration) -> Result<(), Error> {
        let target = self.requested.load(std::sync::atomic::Ordering::Acquire);
        let mut status = self.status.subscribe();
        let wait = status.wait_for(|s| s.written >= target || s.error.is_some());
        let status = tokio::time::timeout(timeout, wait)
            .await
            .map_err(|_| Error::Timeout("the document's save"))?
            .map_err(Error::nats)?;
        match &status.error {
            Some((kind, message)) if status.written < target => Err(Error::Persist(
                PersistError::Io(io::Error::new(*kind, message.clone())),
            )),
            _ => Ok(()),
        }
    }

    /// Reads what the store holds, off the runtime's threads.
    pub(crate) async fn load<T>(
        &self,
        name: &str,
    ) -> Result<Option<SavedDocument<SavedFollower<T>>>, Error>
    where
        T: Draftable + DeserializeOwned + Send + Sync + 'static,
    {
        let store = Arc::clone(&self.store);
        let name = name.to_owned();
        tokio::task::spawn_blocking(move || {
            let bytes = store
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .load()
                .map_err(PersistError::Io)?;
            bytes
                .map(|bytes| SavedDocument::read(&bytes, &name))
                .transpose()
        })
        .await
        .map_err(Error::nats)?
        .map_err(Error::Persist)
    }
}

/// The task that saves a document: waits for a change to save, then, off the runtime's
/// threads, takes the node's durable part under its lock, encodes it and writes it; one save
/// at a time, each of the newest state. After a save, the node may send the change in flight it
/// holds (see `Node::prepare`). A failed save is tried again a little later.
pub(crate) async fn save_loop<T>(shared: Arc<Shared<T>>)
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let Some(persist) = shared.persist.as_ref() else {
        return;
    };
    loop {
        persist.dirty.notified().await;
        let request = persist.requested.load(std::sync::atomic::Ordering::Acquire);
        let store = Arc::clone(&persist.store);
        let node = Arc::clone(&shared);
        // Off the runtime's threads, the node's lock included (a run of the log may hold it).
        let written = tokio::task::spawn_blocking(move || {
            let saved = SavedDocument::of(&node.name, &node.lock());
            let bytes = serde_json::to_vec(&saved).map_err(io::Error::other)?;
            store
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .save(&bytes)?;
            // What the node may send now.
            node.lock().saved(saved.follower.in_flight_id());
            Ok(())
        })
        .await
        .unwrap_or_else(|error| Err(io::Error::other(error)));
        match written {
            Ok(()) => {
                persist.status.send_modify(|status| {
                    status.written = status.written.max(request);
                    status.error = None;
                });
                // The change in flight may go now.
                shared.wake.notify_one();
            }
            Err(error) => {
                debug(&format!("save: {error}"));
                persist.status.send_modify(|status| {
                    status.error = Some((error.kind(), error.to_string()));
                });
                tokio::time::sleep(Duration::from_millis(100)).await;
                persist.dirty.notify_one();
            }
        }
    }
}
