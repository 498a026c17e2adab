//! The database: one file holding every document's snapshot and committed changes.

use std::collections::HashSet;
use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use immer::sync::Checks;
use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};
use serde::Serialize;

use crate::commit::Committer;
use crate::document::DocumentBuilder;
use crate::error::{Error, check_name};

/// Each document's newest snapshot, as JSON: `{"version": v, "state": ...}`.
pub(crate) const SNAPSHOTS: TableDefinition<&str, &[u8]> = TableDefinition::new("snapshots");
/// Each document's committed changes after its snapshot (and a few before, for resync), by
/// version, as JSON (`Committed`).
pub(crate) const CHANGES: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("changes");
/// Each document's sessions, by number, as JSON: `{"client": c, "last": [id, version]}` (its
/// last committed change, `null` before one), so that a client resumes its session after a
/// restart and its change in flight is answered once; and under number 0, `{"next": n}`, the
/// number of the next session, so that no number is given twice.
pub(crate) const SESSIONS: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("sessions");

/// Documents by name in one embedded database file (redb).
///
/// # Durable
///
/// A change is written in a write transaction with [`Durability::Immediate`]: redb writes
/// the pages, then fsyncs the file, then flips the commit slot and fsyncs again before the
/// commit returns, and only then is the change answered (or sent to anyone). A change anyone
/// was told was accepted survives a crash of the process or the machine; one that was not
/// yet answered may or may not be there, and its author sends it again.
///
/// **Group commit**: one writer thread takes every change waiting to be written, from all
/// the store's documents, and writes them in one transaction, so documents that write at the
/// same time share each fsync. A document does not wait for its change to be written before
/// it orders the next (see [`Document`](crate::Document)'s "Pipelined commits"), so one
/// document's changes share an fsync too.
///
/// # Examples
///
/// ```
/// use immer_store::Store;
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path().join("boards.redb")).unwrap();
/// store.create("team-a", &vec![1_u32, 2]).unwrap();
/// assert_eq!(store.list().unwrap(), ["team-a"]);
/// assert!(store.create("../etc", &vec![0_u32]).is_err());
/// ```
#[derive(Clone)]
pub struct Store {
    pub(crate) db: Arc<Database>,
    path: PathBuf,
    /// The group commit's writer (see [`Committer`]), stopped with the last clone.
    committer: Arc<Committer>,
    /// The documents open, each by one [`Document`](crate::Document) at most.
    open: Arc<Mutex<HashSet<String>>>,
}

/// A document marked open in its store, until dropped.
pub(crate) struct Opened {
    open: Arc<Mutex<HashSet<String>>>,
    name: String,
}

impl Drop for Opened {
    fn drop(&mut self) {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&self.name);
    }
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Store")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens the database at `path`, creating it when there is none.
    ///
    /// # Errors
    ///
    /// [`Error::Database`] when the file cannot be opened (a truncated or damaged file, one
    /// another process holds): nothing is written to it then.
    pub fn open(path: impl AsRef<Path>) -> Result<Store, Error> {
        let path = path.as_ref().to_owned();
        // An existing file is opened, never made anew: one cut to nothing is refused, not
        // taken for an empty store.
        let db = if path.exists() {
            Database::open(&path)
        } else {
            Database::create(&path)
        }
        .map_err(|e| Error::database(format!("opening {}", path.display()), e))?;
        let db = Arc::new(db);
        let committer = Committer::start(Arc::clone(&db))
            .map_err(|e| Error::database("starting the writer", e))?;
        let store = Store {
            db,
            path,
            committer: Arc::new(committer),
            open: Arc::default(),
        };
        // The tables exist from the start, so that readers never meet a missing one.
        store.write("creating the tables", |tx| {
            tx.open_table(SNAPSHOTS)?;
            tx.open_table(CHANGES)?;
            tx.open_table(SESSIONS)?;
            Ok(())
        })?;
        Ok(store)
    }

    /// The database file.
    #[must_use]
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Creates the document `name` with `state` as its version 0.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::Exists`], [`Error::Encode`], [`Error::Database`].
    pub fn create<T: Serialize>(&self, name: &str, state: &T) -> Result<(), Error> {
        check_name(name)?;
        let snapshot = snapshot_json(0, state)?;
        let mut exists = false;
        self.write(&format!("creating {name:?}"), |tx| {
            let mut snapshots = tx.open_table(SNAPSHOTS)?;
            if snapshots.get(name)?.is_some() {
                exists = true;
                return Ok(());
            }
            snapshots.insert(name, snapshot.as_slice())?;
            Ok(())
        })?;
        if exists {
            return Err(Error::Exists(name.to_owned()));
        }
        Ok(())
    }

    /// Deletes the document `name`, its snapshot and its changes. Returns whether it
    /// existed. A [`Document`](crate::Document) open on it keeps what it holds, and its next
    /// change fails and breaks it (it answers nothing more).
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::Database`].
    pub fn delete(&self, name: &str) -> Result<bool, Error> {
        check_name(name)?;
        let mut existed = false;
        self.write(&format!("deleting {name:?}"), |tx| {
            existed = tx.open_table(SNAPSHOTS)?.remove(name)?.is_some();
            let mut changes = tx.open_table(CHANGES)?;
            changes.retain_in((name, 0)..=(name, u64::MAX), |_, _| false)?;
            let mut sessions = tx.open_table(SESSIONS)?;
            sessions.retain_in((name, 0)..=(name, u64::MAX), |_, _| false)?;
            Ok(())
        })?;
        Ok(existed)
    }

    /// The documents' names, in order.
    ///
    /// # Errors
    ///
    /// [`Error::Database`].
    pub fn list(&self) -> Result<Vec<String>, Error> {
        let read = |e: &dyn fmt::Display| Error::database("listing the documents", e);
        let tx = self.db.begin_read().map_err(|e| read(&e))?;
        let snapshots = tx.open_table(SNAPSHOTS).map_err(|e| read(&e))?;
        let mut names = Vec::new();
        for entry in snapshots.iter().map_err(|e| read(&e))? {
            let (name, _) = entry.map_err(|e| read(&e))?;
            names.push(name.value().to_owned());
        }
        Ok(names)
    }

    /// A document to open: see [`DocumentBuilder`].
    pub fn document<T>(&self, name: &str) -> DocumentBuilder<T> {
        DocumentBuilder {
            store: self.clone(),
            name: name.to_owned(),
            checks: Checks::new(),
            snapshot_every: 1000,
        }
    }

    /// Marks `name` open, or says it is open already.
    pub(crate) fn opened(&self, name: &str) -> Result<Opened, Error> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if !open.insert(name.to_owned()) {
            return Err(Error::InUse(name.to_owned()));
        }
        Ok(Opened {
            open: Arc::clone(&self.open),
            name: name.to_owned(),
        })
    }

    /// Runs `body` in one write transaction, committed durably.
    pub(crate) fn write(
        &self,
        doing: &str,
        body: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
    ) -> Result<(), Error> {
        write_durably(&self.db, doing, body)
    }

    /// The group commit's writer.
    pub(crate) fn committer(&self) -> &Committer {
        &self.committer
    }
}

/// A snapshot as stored: `{"version": v, "state": ...}`.
pub(crate) fn snapshot_json<T: Serialize>(version: u64, state: &T) -> Result<Vec<u8>, Error> {
    #[derive(Serialize)]
    struct Stored<'a, T> {
        version: u64,
        state: &'a T,
    }
    serde_json::to_vec(&Stored { version, state }).map_err(|e| Error::Encode(e.to_string()))
}

/// Runs `body` in one write transaction of `db`, committed with
/// [`Durability::Immediate`]: when this returns `Ok`, what `body` wrote is on disk.
pub(crate) fn write_durably(
    db: &Database,
    doing: &str,
    body: impl FnOnce(&redb::WriteTransaction) -> Result<(), redb::Error>,
) -> Result<(), Error> {
    let mut tx = db.begin_write().map_err(|e| Error::database(doing, e))?;
    tx.set_durability(Durability::Immediate)
        .map_err(|e| Error::database(doing, e))?;
    body(&tx).map_err(|e| Error::database(doing, e))?;
    tx.commit().map_err(|e| Error::database(doing, e))
}
