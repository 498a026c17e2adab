//! A document of the store, ordered by a [`Leader`] whose every commit is durable first.

use std::fmt;
use std::sync::Arc;

use immer::Draftable;
use immer::sync::{
    Backend, Checks, ClientId, Committed, Leader, Outbound, SessionId, ToLeader, Welcome,
};
use redb::{ReadableDatabase, ReadableTable};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{Error, check_name};
use crate::store::{CHANGES, Opened, SNAPSHOTS, Store, snapshot_json};

/// How to open a document: see [`Store::document`].
pub struct DocumentBuilder<T> {
    pub(crate) store: Store,
    pub(crate) name: String,
    pub(crate) checks: Checks<T>,
    pub(crate) snapshot_every: u64,
}

impl<T> fmt::Debug for DocumentBuilder<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DocumentBuilder")
            .field("name", &self.name)
            .field("snapshot_every", &self.snapshot_every)
            .finish_non_exhaustive()
    }
}

impl<T> DocumentBuilder<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Runs `checks` (validator, authorizer, move limit) on every change before it is
    /// committed, as every transport does (see [`Checks`]).
    #[must_use]
    pub fn checks(mut self, checks: Checks<T>) -> Self {
        self.checks = checks;
        self
    }

    /// Writes a snapshot every `changes` committed changes (1,000 unless set; at least 1)
    /// and forgets the changes it holds, so that opening the document reads one snapshot
    /// and at most that many changes.
    #[must_use]
    pub fn snapshot_every(mut self, changes: u64) -> Self {
        self.snapshot_every = changes.max(1);
        self
    }

    /// Opens the document: reads its snapshot and replays the changes after it.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidName`], [`Error::NotFound`], [`Error::Database`], and
    /// [`Error::Corrupt`] (naming the version) when the snapshot or a change does not read
    /// back as `T`, or a change does not apply.
    pub fn open(self) -> Result<Document<T>, Error> {
        let name = self.name;
        check_name(&name)?;
        let open = self.store.opened(&name)?;
        let read = |e: &dyn fmt::Display| Error::database(format!("reading {name:?}"), e);
        let tx = self.store.db.begin_read().map_err(|e| read(&e))?;
        let snapshots = tx.open_table(SNAPSHOTS).map_err(|e| read(&e))?;
        let snapshot = snapshots
            .get(name.as_str())
            .map_err(|e| read(&e))?
            .ok_or_else(|| Error::NotFound(name.clone()))?;
        let (version, state) = read_snapshot::<T>(&name, snapshot.value())?;
        let mut leader = Leader::resume(Arc::new(state), version).with_checks(self.checks);
        let changes = tx.open_table(CHANGES).map_err(|e| read(&e))?;
        let range = changes
            .range((name.as_str(), version + 1)..=(name.as_str(), u64::MAX))
            .map_err(|e| read(&e))?;
        for entry in range {
            let (key, value) = entry.map_err(|e| read(&e))?;
            let at = key.value().1;
            let corrupt = |message: String| Error::Corrupt {
                document: name.clone(),
                version: at,
                message,
            };
            let committed: Committed = serde_json::from_slice(value.value())
                .map_err(|e| corrupt(format!("the stored change does not read: {e}")))?;
            if committed.version != at {
                return Err(corrupt(format!(
                    "the change stored as version {at} says it is version {}",
                    committed.version
                )));
            }
            leader
                .append(committed)
                .map_err(|e| corrupt(format!("the stored change does not follow: {e}")))?;
        }
        Ok(Document {
            store: self.store,
            name,
            leader,
            snapshot_every: self.snapshot_every,
            snapshot_at: version,
            error: None,
            _open: open,
        })
    }
}

/// The stored snapshot of `name`, read as `T`.
fn read_snapshot<T: DeserializeOwned>(name: &str, bytes: &[u8]) -> Result<(u64, T), Error> {
    #[derive(serde::Deserialize)]
    struct Stored<T> {
        version: u64,
        state: T,
    }
    #[derive(serde::Deserialize)]
    struct Version {
        version: u64,
    }
    serde_json::from_slice::<Stored<T>>(bytes)
        .map(|s| (s.version, s.state))
        .map_err(|e| Error::Corrupt {
            document: name.to_owned(),
            // Named when the snapshot says it, whatever its state holds.
            version: serde_json::from_slice::<Version>(bytes).map_or(0, |v| v.version),
            message: format!("the stored snapshot does not read: {e}"),
        })
}

/// A document of a [`Store`], open: its changes are ordered by an in-process [`Leader`]
/// (with the same sessions, answer rule and checks as every transport) and each is written
/// durably to the database before it is committed and answered. A [`Backend`], so a hub
/// serves it as it serves any other (see `immer_web::HubBuilder::build_on_store`).
///
/// # Examples
///
/// ```
/// use immer::sync::{Backend, Follower, ToFollower};
/// use immer_store::Store;
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path().join("db.redb")).unwrap();
/// store.create("list", &vec![1_u32]).unwrap();
/// let mut document = store.document::<Vec<u32>>("list").open().unwrap();
/// let mut ann = Follower::new(document.join(1));
/// ann.edit(|d| d.push(2));
/// for message in ann.poll() {
///     for out in document.receive(message) {
///         ann.receive(out.message);
///     }
/// }
/// drop(document);
/// // Opened again, from the file: the change is there.
/// let document = store.document::<Vec<u32>>("list").open().unwrap();
/// assert_eq!(Backend::version(&document), 1);
/// assert_eq!(*Backend::state(&document), [1, 2]);
/// ```
pub struct Document<T> {
    store: Store,
    name: String,
    leader: Leader<T>,
    snapshot_every: u64,
    /// The version of the newest snapshot written.
    snapshot_at: u64,
    /// The last error writing to the database, until taken.
    error: Option<Error>,
    /// The document is open here: no second `Document` writes it.
    _open: Opened,
}

impl<T: fmt::Debug> fmt::Debug for Document<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Document")
            .field("name", &self.name)
            .field("leader", &self.leader)
            .finish_non_exhaustive()
    }
}

impl<T> Document<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// The document's name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The leader that orders its changes.
    #[must_use]
    pub fn leader(&self) -> &Leader<T> {
        &self.leader
    }

    /// The last error writing to the database since the last call, if any: the change it
    /// was writing was neither committed nor answered (its author sends it again).
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }

    /// Handles one message, like [`Backend::receive`], and says why a change could not be
    /// made durable.
    ///
    /// A snapshot that cannot be written does not hold the change back: the change is
    /// durable and answered, the error is kept for [`take_error`](Document::take_error), and
    /// the snapshot is written at the next change.
    ///
    /// # Errors
    ///
    /// The database's error: the change is neither committed nor answered.
    pub fn try_receive(&mut self, message: ToLeader) -> Result<Vec<Outbound<T>>, Error> {
        let (store, name) = (&self.store, self.name.as_str());
        let before = self.leader.version();
        let out = self
            .leader
            .try_receive_with(message, |committed| store.append(name, committed))?;
        let version = self.leader.version();
        // Due when this message committed a change and a snapshot is N changes old (or one
        // failed before).
        if version != before && version - self.snapshot_at >= self.snapshot_every {
            let written = snapshot_json(version, &**self.leader.state())
                .and_then(|bytes| self.store.snapshot(name, &bytes, version));
            match written {
                Ok(()) => self.snapshot_at = version,
                Err(error) => self.error = Some(error),
            }
        }
        Ok(out)
    }
}

impl<T> Backend<T> for Document<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    fn join(&mut self, client: ClientId) -> Welcome<T> {
        self.leader.join(client)
    }

    fn receive(&mut self, message: ToLeader) -> Vec<Outbound<T>> {
        self.try_receive(message).unwrap_or_else(|error| {
            self.error = Some(error);
            Vec::new()
        })
    }

    fn state(&self) -> Arc<T> {
        Arc::clone(self.leader.state())
    }

    fn version(&self) -> u64 {
        self.leader.version()
    }

    fn log(&self) -> Vec<Committed> {
        self.leader.log().cloned().collect()
    }

    fn compact(&mut self, keep: u64) {
        Backend::compact(&mut self.leader, keep);
    }

    fn close_session(&mut self, session: SessionId) {
        self.leader.close_session(session);
    }
}
