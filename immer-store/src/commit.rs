//! Group commit: every change waiting to be written, from any document of the store, goes
//! in one write transaction and one fsync.
//!
//! A document's change waits (its caller blocks) until the transaction that holds it is
//! durable. Changes of one document come one at a time (its leader orders them under a
//! lock), so a batch holds at most one change per document that is writing, and the more
//! documents write at once, the more changes share each fsync.

use std::sync::mpsc::{SyncSender, sync_channel};
use std::sync::{Arc, Condvar, Mutex, PoisonError};
use std::thread::JoinHandle;

use redb::{Database, ReadableTable};

use crate::error::Error;
use crate::store::{CHANGES, SNAPSHOTS, write_durably};

/// A change waiting to be written, and who waits for it.
struct Pending {
    name: String,
    version: u64,
    bytes: Vec<u8>,
    done: SyncSender<Result<(), Error>>,
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

    /// Writes `bytes` as `name`'s change `version`, and returns once it is durable (or why
    /// it could not be written).
    pub(crate) fn write(&self, name: &str, version: u64, bytes: Vec<u8>) -> Result<(), Error> {
        let (done, answer) = sync_channel(1);
        {
            let (queue, ready) = &*self.queue;
            let mut queue = queue.lock().unwrap_or_else(PoisonError::into_inner);
            if queue.closed {
                return Err(Error::database("writing a change", "the store is closed"));
            }
            queue.pending.push(Pending {
                name: name.to_owned(),
                version,
                bytes,
                done,
            });
            ready.notify_one();
        }
        answer
            .recv()
            .unwrap_or_else(|_| Err(Error::database("writing a change", "the writer stopped")))
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
/// panic: no caller waits for a writer that is gone.
struct Closing<'a>(&'a Mutex<Queue>);

impl Drop for Closing<'_> {
    fn drop(&mut self) {
        let mut queue = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        queue.closed = true;
        for pending in queue.pending.drain(..) {
            let _ = pending.done.send(Err(Error::database(
                "writing a change",
                "the writer stopped",
            )));
        }
    }
}

/// The writer: takes every waiting change, writes them in one transaction, answers each.
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
            // The caller waits for it (or is gone).
            let _ = pending.done.send(result);
        }
    }
}

/// Writes `batch` in one durable transaction: each change's own result (a document deleted
/// meanwhile takes none), and the transaction's.
fn write(db: &Database, batch: &[Pending]) -> (Vec<Result<(), Error>>, Result<(), Error>) {
    let mut results = Vec::with_capacity(batch.len());
    let written = write_durably(db, &format!("writing {} changes", batch.len()), |tx| {
        let snapshots = tx.open_table(SNAPSHOTS)?;
        let mut changes = tx.open_table(CHANGES)?;
        for pending in batch {
            let name = pending.name.as_str();
            if snapshots.get(name)?.is_none() {
                results.push(Err(Error::NotFound(name.to_owned())));
                continue;
            }
            // A version is written once: a second writer would have numbered alike.
            if changes.get((name, pending.version))?.is_some() {
                results.push(Err(Error::InUse(name.to_owned())));
                continue;
            }
            changes.insert((name, pending.version), pending.bytes.as_slice())?;
            results.push(Ok(()));
        }
        Ok(())
    });
    results.resize_with(batch.len(), || Ok(()));
    (results, written)
}
