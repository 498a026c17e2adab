//! Group commit: every write waiting, from any document of the store, goes in one write
//! transaction and one fsync.
//!
//! A document hands its changes to the writer and goes on (see [`Waiter`]): it does not wait
//! for the disk, so a document may have many changes in one batch, and the more documents
//! and sessions write at once, the more changes share each fsync. The writer tells each
//! document, in version order, which of its changes are durable, or that one failed; a
//! document that failed has none of its later changes written.

use std::collections::{HashMap, HashSet};
use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use redb::{Database, ReadableTable};

use crate::error::Error;
use crate::store::{CHANGES, SESSIONS, SNAPSHOTS, write_durably};

/// A document whose changes the writer writes: told what became of each, in version order.
pub(crate) trait Waiter: Send + Sync {
    /// Change `version` is durable (`Ok`), or could not be written (`Err`). Called once per
    /// change handed over, in version order, on the writer's thread.
    fn written(&self, version: u64, result: Result<(), Error>);
    /// Whether a change of the document failed: its later changes are not written.
    fn failed(&self) -> bool;
}

/// A session's record as a change writes it: its number, its client, and the change's id.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SessionRecord {
    pub(crate) session: u64,
    pub(crate) client: u64,
    pub(crate) id: u64,
}

/// A stored session: its client and its last committed change (`[id, version]`).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct StoredSession {
    pub(crate) client: u64,
    pub(crate) last: Option<(u64, u64)>,
}

/// The number of a document's next session, stored under session number 0.
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct NextSession {
    pub(crate) next: u64,
}

fn json<T: serde::Serialize>(value: &T) -> Vec<u8> {
    // Plain numbers: they always encode.
    serde_json::to_vec(value).unwrap_or_default()
}

/// A write waiting for the writer.
enum Pending {
    /// A change: written after its document's earlier ones, never after one that failed,
    /// with its session's record (its last committed change) in the same transaction.
    Change {
        name: String,
        version: u64,
        bytes: Vec<u8>,
        session: SessionRecord,
        waiter: Arc<dyn Waiter>,
    },
    /// Answered once everything handed over before it is written.
    Flush { done: SyncSender<Result<(), Error>> },
    /// A session opened (`next`: the number of the one after it), or closed (`None`).
    Session {
        name: String,
        session: u64,
        opened: Option<(u64, u64)>,
    },
    /// A snapshot at `version` (durable already), replacing the document's changes up to it.
    Snapshot {
        name: String,
        /// The changes up to this version are forgotten (those after it are kept, to move
        /// changes made against them after a restart).
        forget_to: u64,
        bytes: Vec<u8>,
        done: SyncSender<Result<(), Error>>,
    },
}

impl Pending {
    fn answer(self, result: Result<(), Error>) {
        match self {
            Pending::Change {
                version, waiter, ..
            } => waiter.written(version, result),
            // Its caller waits for it (or is gone).
            Pending::Snapshot { done, .. } | Pending::Flush { done } => {
                let _ = done.send(result);
            }
            // No one waits: a session whose record is lost is one its client cannot resume
            // (never one with a change written: the change writes the record too).
            Pending::Session { .. } => {}
        }
    }
}

#[derive(Default)]
struct Queue {
    pending: Vec<Pending>,
    closed: bool,
}

/// The writer thread and its queue.
pub(crate) struct Committer {
    queue: Arc<(Mutex<Queue>, Condvar)>,
    thread: Option<JoinHandle<()>>,
}

fn stopped() -> Error {
    Error::database("writing a change", "the store's writer stopped")
}

impl Committer {
    /// Starts the writer of `db`.
    pub(crate) fn start(db: Arc<Database>) -> std::io::Result<Self> {
        let queue: Arc<(Mutex<Queue>, Condvar)> = Arc::default();
        let shared = Arc::clone(&queue);
        let thread = std::thread::Builder::new()
            .name("immer-store commit".to_owned())
            .spawn(move || write_batches(&db, &shared))?;
        Ok(Committer {
            queue,
            thread: Some(thread),
        })
    }

    fn push(&self, pending: Pending) {
        let (queue, ready) = &*self.queue;
        let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
        if queue.closed {
            drop(queue);
            pending.answer(Err(stopped()));
            return;
        }
        queue.pending.push(pending);
        ready.notify_one();
    }

    /// Hands `bytes` over as `name`'s change `version`, and returns at once: `waiter` is told
    /// when it is durable, or why it could not be written. A document hands its changes over
    /// in version order.
    pub(crate) fn submit(
        &self,
        name: &str,
        (version, bytes): (u64, Vec<u8>),
        session: SessionRecord,
        waiter: Arc<dyn Waiter>,
    ) {
        self.push(Pending::Change {
            name: name.to_owned(),
            version,
            bytes,
            session,
            waiter,
        });
    }

    /// Returns once everything handed over before is written (or could not be).
    pub(crate) fn flush(&self) -> Result<(), Error> {
        let (done, answer) = sync_channel(1);
        self.push(Pending::Flush { done });
        answer.recv().unwrap_or_else(|_| Err(stopped()))
    }

    /// Records that `name`'s session `session` was opened for `client`, the next one to be
    /// numbered `next` (`opened: Some((client, next))`), or closed (`None`), in the next
    /// batch, without waiting.
    pub(crate) fn session(&self, name: &str, session: u64, opened: Option<(u64, u64)>) {
        self.push(Pending::Session {
            name: name.to_owned(),
            session,
            opened,
        });
    }

    /// Writes `bytes` as `name`'s snapshot and forgets its changes up to `forget_to`, in the
    /// next batch; returns once it is durable (or why it could not be
    /// written).
    pub(crate) fn snapshot(&self, name: &str, forget_to: u64, bytes: Vec<u8>) -> Result<(), Error> {
        let (done, answer) = sync_channel(1);
        self.push(Pending::Snapshot {
            name: name.to_owned(),
            forget_to,
            bytes,
            done,
        });
        answer.recv().unwrap_or_else(|_| Err(stopped()))
    }
}

impl Drop for Committer {
    fn drop(&mut self) {
        {
            let (queue, ready) = &*self.queue;
            queue.lock().unwrap_or_else(PoisonError::into_inner).closed = true;
            ready.notify_one();
        }
        if let Some(thread) = self.thread.take() {
            // Its last batch is written and answered before it stops.
            let _ = thread.join();
        }
    }
}

/// Closes the queue and answers whatever still waits when the writer stops, also by a
/// panic: no document waits for a writer that is gone.
struct Closing<'a>(&'a Mutex<Queue>);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        let pending = {
            let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
            queue.closed = true;
            std::mem::take(&mut queue.pending)
        };
        for pending in pending {
            pending.answer(Err(stopped()));
        }
    }
}

/// The writer: takes every waiting write, writes them in one transaction, answers each.
fn write_batches(db: &Database, queue: &(Mutex<Queue>, Condvar)) {
    let (queue, ready) = queue;
    let _closing = Closing(queue);
    loop {
        let batch = {
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            while queue.pending.is_empty() && !queue.closed {
                queue = ready.wait(queue).unwrap_or_else(PoisonError::into_inner);
            }
            if queue.pending.is_empty() {
                return;
            }
            std::mem::take(&mut queue.pending)
        };
        let (results, written) = write(db, &batch);
        for (pending, result) in batch.into_iter().zip(results) {
            let result = match (&written, result) {
                (Err(error), _) => Err(error.clone()),
                (Ok(()), result) => result,
            };
            pending.answer(result);
        }
    }
}

/// Writes `batch` in one durable transaction: each write's own result, and the
/// transaction's. A document deleted meanwhile takes nothing; a document one of whose
/// changes failed (here or before) takes none of its later ones.
fn write(db: &Database, batch: &[Pending]) -> (Vec<Result<(), Error>>, Result<(), Error>) {
    let mut results = Vec::with_capacity(batch.len());
    let written = write_durably(db, &format!("writing {} changes", batch.len()), |tx| {
        let mut snapshots = tx.open_table(SNAPSHOTS)?;
        let mut changes = tx.open_table(CHANGES)?;
        let mut sessions = tx.open_table(SESSIONS)?;
        // Whether each document of the batch exists, read once.
        let mut exists: HashMap<&str, bool> = HashMap::new();
        // The documents whose newest stored version was checked in this batch, and those
        // that failed.
        let mut checked: HashSet<&str> = HashSet::new();
        let mut failed: HashMap<&str, Error> = HashMap::new();
        for pending in batch {
            match pending {
                Pending::Change {
                    name,
                    version,
                    bytes,
                    session,
                    waiter,
                } => {
                    let name = name.as_str();
                    if let Some(error) = failed.get(name) {
                        results.push(Err(error.clone()));
                        continue;
                    }
                    if waiter.failed() {
                        results.push(Err(Error::database(
                            format!("writing {name:?}"),
                            "an earlier change of the document could not be written",
                        )));
                        continue;
                    }
                    let present = if let Some(&present) = exists.get(name) {
                        present
                    } else {
                        let present = snapshots.get(name)?.is_some();
                        exists.insert(name, present);
                        present
                    };
                    let refused = if !present {
                        Some(Error::NotFound(name.to_owned()))
                    } else if checked.insert(name)
                        && changes
                            .range((name, *version)..=(name, u64::MAX))?
                            .next()
                            .is_some()
                    {
                        // A version is written once: a second writer would have numbered
                        // alike. Checked at the document's first change in the batch; its
                        // later ones follow it.
                        Some(Error::InUse(name.to_owned()))
                    } else {
                        None
                    };
                    if let Some(error) = refused {
                        failed.insert(name, error.clone());
                        results.push(Err(error));
                        continue;
                    }
                    changes.insert((name, *version), bytes.as_slice())?;
                    let record = StoredSession {
                        client: session.client,
                        last: Some((session.id, *version)),
                    };
                    sessions.insert((name, session.session), json(&record).as_slice())?;
                    results.push(Ok(()));
                }
                Pending::Flush { .. } => results.push(Ok(())),
                Pending::Session {
                    name,
                    session,
                    opened,
                } => {
                    // A document deleted meanwhile keeps no session.
                    if snapshots.get(name.as_str())?.is_some() {
                        write_session(&mut sessions, name, *session, *opened)?;
                    }
                    results.push(Ok(()));
                }
                Pending::Snapshot {
                    name,
                    forget_to,
                    bytes,
                    ..
                } => {
                    let name = name.as_str();
                    // A document deleted meanwhile stays deleted.
                    if snapshots.get(name)?.is_none() {
                        results.push(Err(Error::NotFound(name.to_owned())));
                        continue;
                    }
                    snapshots.insert(name, bytes.as_slice())?;
                    changes.retain_in((name, 0)..=(name, *forget_to), |_, _| false)?;
                    results.push(Ok(()));
                }
            }
        }
        Ok(())
    });
    results.resize_with(batch.len(), || Ok(()));
    (results, written)
}

/// Writes session `session` of `name` opened (for a client, the next session's number) or
/// closed (`None`).
fn write_session(
    sessions: &mut redb::Table<(&str, u64), &[u8]>,
    name: &str,
    session: u64,
    opened: Option<(u64, u64)>,
) -> Result<(), redb::Error> {
    match opened {
        Some((client, next)) => {
            let record = StoredSession { client, last: None };
            sessions.insert((name, session), json(&record).as_slice())?;
            sessions.insert((name, 0), json(&NextSession { next }).as_slice())?;
        }
        None => {
            sessions.remove((name, session))?;
        }
    }
    Ok(())
}
