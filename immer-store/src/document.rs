//! A document of the store, ordered by a [`Leader`] at once and answered once durable.

use std::fmt;
use std::sync::Arc;
use std::thread::JoinHandle;

use immer::Draftable;
use immer::sync::{
    Backend, Checks, ClientId, Committed, Leader, Outbound, Recipient, SessionId, Snapshot,
    ToFollower, ToLeader, Welcome,
};
use redb::{ReadableDatabase, ReadableTable};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::commit::{NextSession, SessionRecord, StoredSession, Waiter};
use crate::error::{Error, check_name};
use crate::release::Release;
use crate::store::{CHANGES, Opened, SESSIONS, SNAPSHOTS, Store, snapshot_json};

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
    /// and forgets the changes older than the interval before it, so that opening the
    /// document reads one snapshot and at most twice that many changes. The interval before
    /// it is kept so that a client resuming its session after a restart has a change made
    /// against one of those versions moved through what followed, not refused.
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
        // The sessions kept, before the changes that answer them.
        let sessions = tx.open_table(SESSIONS).map_err(|e| read(&e))?;
        let kept = sessions
            .range((name.as_str(), 0)..=(name.as_str(), u64::MAX))
            .map_err(|e| read(&e))?;
        for entry in kept {
            let (key, value) = entry.map_err(|e| read(&e))?;
            let corrupt = |e: serde_json::Error| Error::Corrupt {
                document: name.clone(),
                version,
                message: format!("the stored session {} does not read: {e}", key.value().1),
            };
            match key.value().1 {
                0 => {
                    let next: NextSession =
                        serde_json::from_slice(value.value()).map_err(corrupt)?;
                    leader.reserve_sessions(next.next);
                }
                session => {
                    let stored: StoredSession =
                        serde_json::from_slice(value.value()).map_err(corrupt)?;
                    leader.restore_session(session, stored.client, stored.last);
                }
            }
        }
        let changes = tx.open_table(CHANGES).map_err(|e| read(&e))?;
        let range = changes
            .range((name.as_str(), 0)..=(name.as_str(), u64::MAX))
            .map_err(|e| read(&e))?;
        // Those the snapshot holds (kept to move changes made against them), then those
        // after it.
        let mut earlier = Vec::new();
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
            if at <= version {
                earlier.push(committed);
                continue;
            }
            if !earlier.is_empty() {
                leader
                    .remember(std::mem::take(&mut earlier))
                    .map_err(|e| corrupt(format!("the stored changes do not follow: {e}")))?;
            }
            leader
                .append(committed)
                .map_err(|e| corrupt(format!("the stored change does not follow: {e}")))?;
        }
        if !earlier.is_empty() {
            leader.remember(earlier).map_err(|e| Error::Corrupt {
                document: name.clone(),
                version,
                message: format!("the stored changes do not follow: {e}"),
            })?;
        }
        let release = Arc::new(Release::new(leader.version(), Arc::clone(leader.state())));
        Ok(Document {
            store: self.store,
            name,
            leader,
            release,
            snapshot_every: self.snapshot_every,
            snapshot_at: version,
            snapshotting: None,
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

/// A document of a [`Store`], open: its changes are ordered at once by an in-process
/// [`Leader`] (with the same sessions, answer rule and checks as every transport), handed to
/// the store's writer, and answered once the transaction holding them is durable. A
/// [`Backend`] whose answers come later ([`Backend::answers_later`]), so a hub serves it as
/// it serves a shared log's document (see `immer_web::HubBuilder::build_on_store`).
///
/// # Pipelined commits
///
/// [`receive`](Backend::receive) does not wait for the disk: a change is ordered after the
/// ones before it (so the next change of the document is ordered at once, and many changes
/// of one document share an fsync), and its messages (the commit to every session, the
/// author's answer) wait until the transaction holding it is durable. Then they are
/// released in version order: to the sink set with [`release_to`](Document::release_to)
/// (a hub's channel), or, with none set, kept for [`take_released`](Document::take_released)
/// and returned by the next `receive`. [`try_receive`](Document::try_receive) waits for the
/// disk and returns them, for a caller that wants each change durable before it goes on.
///
/// Each session has one change in flight at most (its follower waits for the answer), so
/// what waits for the disk is bounded by the sessions: the change, its messages and the
/// state at its version.
///
/// # Guarantees
///
/// - **Nothing that is not durable is sent.** No commit, no answer (a refusal or a
///   retransmission's answer made while earlier changes wait for the disk waits behind
///   them), no snapshot and no welcome holds a version that a crash could lose. A joiner is
///   welcomed at the durable version with the state at it (the state at each version not yet
///   durable is kept until it is); [`Backend::state`], [`Backend::version`] and
///   [`Backend::log`] are the durable ones, and the leader ([`leader`](Document::leader))
///   is ahead by what is in flight.
/// - **A failed write breaks the document.** If a change cannot be written (a full disk, the
///   document deleted under it), no change after it is written either (queued or in the
///   same transaction), no message of it or of any later change is sent, and the sink is
///   dropped (a hub's channel ends). The document then answers nothing: every `receive`
///   returns nothing and keeps the error for [`take_error`](Document::take_error), and
///   [`try_receive`](Document::try_receive) returns it. A client sees no answer to its
///   change; it reconnects and sends it again, to the document opened anew from the store,
///   which holds exactly what is durable (the failed change and those after it may or may
///   not be there, and were answered to no one).
/// - **A version is written once**: the writer refuses a version the file holds already,
///   and a document is open once per store ([`Error::InUse`]). Dropping a document waits for
///   what it handed to the writer.
/// - A snapshot is written every N durable changes ([`DocumentBuilder::snapshot_every`]),
///   serialized on a thread of its own from the durable state and written in the writer's
///   next transaction, off the commit path.
///
/// # Examples
///
/// Each change durable before the caller goes on:
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
///     // Returns once the change is on disk, with its commit.
///     for out in document.try_receive(message).unwrap() {
///         ann.receive(out.message);
///     }
/// }
/// assert_eq!(ann.state().as_slice(), [1, 2]);
/// drop(document);
/// // Opened again, from the file: the change is there.
/// let document = store.document::<Vec<u32>>("list").open().unwrap();
/// assert_eq!(Backend::version(&document), 1);
/// assert_eq!(*Backend::state(&document), [1, 2]);
/// ```
///
/// Pipelined: many changes ordered without waiting, answered once durable.
///
/// ```
/// use std::sync::mpsc;
///
/// use immer::sync::{Backend, Follower, Recipient};
/// use immer_store::Store;
///
/// let dir = tempfile::tempdir().unwrap();
/// let store = Store::open(dir.path().join("db.redb")).unwrap();
/// store.create("list", &Vec::<u32>::new()).unwrap();
/// let mut document = store.document::<Vec<u32>>("list").open().unwrap();
/// let (sink, released) = mpsc::channel();
/// document.release_to(move |messages| {
///     for message in messages {
///         let _ = sink.send(message);
///     }
/// });
/// let mut followers: Vec<Follower<Vec<u32>>> =
///     (1..=3).map(|client| Follower::new(document.join(client))).collect();
/// for (n, follower) in (0..).zip(&mut followers) {
///     follower.edit(|d| d.push(n));
///     for message in follower.poll() {
///         // Ordered at once, answered later: nothing is sent before it is durable.
///         assert!(document.receive(message).is_empty());
///     }
/// }
/// assert_eq!(document.leader().version(), 3);
/// document.wait_durable().unwrap();
/// assert_eq!(Backend::version(&document), 3);
/// // Released once durable, in version order: each commit to all, each resync's answer to
/// // its session.
/// for out in released.try_iter() {
///     for follower in &mut followers {
///         if matches!(out.to, Recipient::All)
///             || out.to == Recipient::Session(follower.session())
///         {
///             follower.receive(out.message.clone());
///         }
///     }
/// }
/// assert!(followers.iter().all(|f| f.version() == 3 && f.state().len() == 3));
/// ```
pub struct Document<T> {
    store: Store,
    name: String,
    /// Orders the changes, ahead of the disk by what is in flight.
    leader: Leader<T>,
    /// What waits for the disk, shared with the writer.
    release: Arc<Release<T>>,
    snapshot_every: u64,
    /// The version of the newest snapshot written.
    snapshot_at: u64,
    /// The snapshot being serialized and written, if any: its version, or why it failed.
    snapshotting: Option<JoinHandle<Result<u64, Error>>>,
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

    /// The leader that orders its changes: ahead of the durable version (see
    /// [`Backend::version`]) by the changes waiting for the disk.
    #[must_use]
    pub fn leader(&self) -> &Leader<T> {
        &self.leader
    }

    /// The last error writing to the database since the last call, if any. A change that
    /// could not be written broke the document (see "Guarantees"): each later `receive`
    /// keeps the error here again. A snapshot that could not be written does not: it is
    /// tried again later.
    pub fn take_error(&mut self) -> Option<Error> {
        self.error.take()
    }

    /// Sends the messages released from now on (each change's commit and answer, once
    /// durable, in version order) to `sink`, on the store's writer thread, instead of
    /// keeping them for [`take_released`](Document::take_released); those kept go first.
    /// `sink` is dropped when the document breaks or is dropped, so a channel it sends on
    /// ends then. A hub delivers from it (`immer_web`'s `Storage::later`).
    pub fn release_to(&self, sink: impl FnMut(Vec<Outbound<T>>) + Send + 'static) {
        self.release.lock().set_sink(Box::new(sink));
    }

    /// The messages released (durable) and not yet taken, when no sink is set
    /// ([`release_to`](Document::release_to)).
    pub fn take_released(&mut self) -> Vec<Outbound<T>> {
        std::mem::take(&mut self.release.lock().ready)
    }

    /// Waits until every change ordered so far is durable (and its messages released).
    ///
    /// # Errors
    ///
    /// Why the document broke: a change could not be written.
    pub fn wait_durable(&mut self) -> Result<(), Error> {
        let waited = self.release.wait();
        self.snapshot_if_due();
        waited
    }

    /// Handles one message and waits until the change it orders (and every change before)
    /// is durable; returns the messages released meanwhile and not sent to a sink (with
    /// none set: this change's commit and answer, and those of earlier changes not yet
    /// taken).
    ///
    /// A snapshot that cannot be written does not hold the change back: the error is kept
    /// for [`take_error`](Document::take_error), and the snapshot is tried again later.
    ///
    /// # Errors
    ///
    /// The database's error: the change (and every change after it) is neither durable nor
    /// answered, and the document is broken (see "Guarantees").
    pub fn try_receive(&mut self, message: ToLeader) -> Result<Vec<Outbound<T>>, Error> {
        let mut out = self.order(message)?;
        self.wait_durable()?;
        let mut released = self.take_released();
        released.append(&mut out);
        Ok(released)
    }

    /// Orders `message`; returns what may be sent now, which is only a sink's caller's
    /// answer to what it asked (a resync, a snapshot) when nothing waits for the disk.
    /// Everything else goes out through [`Release`], once durable.
    fn order(&mut self, message: ToLeader) -> Result<Vec<Outbound<T>>, Error> {
        self.snapshot_if_due();
        if let Some(error) = self.release.lock().broken.clone() {
            return Err(error);
        }
        if let ToLeader::Join { client, nonce } = message {
            let welcome = Welcome {
                nonce,
                ..Backend::join(self, client)
            };
            return Ok(vec![Outbound {
                to: Recipient::Sender,
                message: ToFollower::Welcome(welcome),
            }]);
        }
        let asked = matches!(
            message,
            ToLeader::Resync { .. } | ToLeader::SnapshotRequest { .. }
        );
        let mut encoded = None;
        let out = self.leader.try_receive_with(message, |committed| {
            let bytes = serde_json::to_vec(committed).map_err(|e| Error::Encode(e.to_string()))?;
            let session = SessionRecord {
                session: committed.session,
                client: committed.client,
                id: committed.id,
            };
            encoded = Some((bytes, session));
            Ok::<_, Error>(())
        })?;
        let version = self.leader.version();
        let mut flow = self.release.lock();
        let Some((bytes, session)) = encoded else {
            // Nothing new to write. What was asked, with everything durable, is answered
            // now (so the caller counts it); the rest keeps its place behind what waits.
            if asked && flow.idle() && flow.has_sink() {
                return Ok(out);
            }
            flow.send_at(version, out);
            return Ok(Vec::new());
        };
        flow.hold(version, Arc::clone(self.leader.state()));
        flow.send_at(version, out);
        drop(flow);
        let waiter: Arc<dyn Waiter> = self.release.clone();
        self.store
            .committer()
            .submit(&self.name, (version, bytes), session, waiter);
        Ok(Vec::new())
    }

    /// Starts a snapshot of the durable state when it is `snapshot_every` changes past the
    /// last one, on a thread of its own; notes how the last one ended.
    fn snapshot_if_due(&mut self) {
        if let Some(handle) = self.snapshotting.take_if(|h| h.is_finished()) {
            match handle.join() {
                Ok(Ok(version)) => self.snapshot_at = version,
                Ok(Err(error)) => self.error = Some(error),
                Err(_) => {
                    self.error = Some(Error::database(
                        format!("writing a snapshot of {:?}", self.name),
                        "the snapshot's thread panicked",
                    ));
                }
            }
        }
        if self.snapshotting.is_some() {
            return;
        }
        let (version, state) = {
            let flow = self.release.lock();
            if flow.broken.is_some() || flow.durable - self.snapshot_at < self.snapshot_every {
                return;
            }
            (flow.durable, Arc::clone(&flow.durable_state))
        };
        let (store, name) = (self.store.clone(), self.name.clone());
        // The changes of the last interval before it are kept: a client resuming after a
        // restart moves its change through them instead of having it refused.
        let forget_to = version.saturating_sub(self.snapshot_every);
        let spawned = std::thread::Builder::new()
            .name("immer-store snapshot".to_owned())
            .spawn(move || {
                let bytes = snapshot_json(version, &*state)?;
                drop(state);
                store.committer().snapshot(&name, forget_to, bytes)?;
                Ok(version)
            });
        match spawned {
            Ok(handle) => self.snapshotting = Some(handle),
            Err(error) => {
                self.error = Some(Error::database(
                    format!("writing a snapshot of {:?}", self.name),
                    error,
                ));
            }
        }
    }
}

impl<T> Drop for Document<T> {
    fn drop(&mut self) {
        // What was handed to the writer (changes, sessions) lands before the document is
        // free to open again.
        let _ = self.release.wait();
        let _ = self.store.committer().flush();
        if let Some(handle) = self.snapshotting.take() {
            let _ = handle.join();
        }
    }
}

impl<T> Backend<T> for Document<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Opens a session, welcomed at the durable version (with the state at it): the
    /// changes after it come as they become durable.
    fn join(&mut self, client: ClientId) -> Welcome<T> {
        let welcome = self.leader.join(client);
        // Kept, so that its client resumes it after a restart (written before any change of
        // it: a change of it written means its record is).
        let next = self.leader.next_session();
        self.store
            .committer()
            .session(&self.name, welcome.session, Some((client, next)));
        let flow = self.release.lock();
        if flow.durable == welcome.snapshot.version {
            return welcome;
        }
        Welcome {
            snapshot: Snapshot {
                version: flow.durable,
                state: (*flow.durable_state).clone(),
                answered: None,
            },
            ..welcome
        }
    }

    /// Orders `message` without waiting for the disk; returns the messages released by now
    /// when no sink is set ([`Document::release_to`]), or what was asked when nothing waits.
    /// A broken document returns nothing and keeps the error for
    /// [`take_error`](Document::take_error).
    fn receive(&mut self, message: ToLeader) -> Vec<Outbound<T>> {
        match self.order(message) {
            Ok(mut out) => {
                let mut released = self.take_released();
                released.append(&mut out);
                released
            }
            Err(error) => {
                self.error = Some(error);
                Vec::new()
            }
        }
    }

    /// The durable state.
    fn state(&self) -> Arc<T> {
        Arc::clone(&self.release.lock().durable_state)
    }

    /// The durable version.
    fn version(&self) -> u64 {
        self.release.lock().durable
    }

    /// The durable changes still held.
    fn log(&self) -> Vec<Committed> {
        let durable = self.release.lock().durable;
        self.leader
            .log()
            .take_while(|c| c.version <= durable)
            .cloned()
            .collect()
    }

    fn compact(&mut self, keep: u64) {
        Backend::compact(&mut self.leader, keep);
    }

    fn close_session(&mut self, session: SessionId) {
        if self.leader.close_session(session) {
            self.store.committer().session(&self.name, session, None);
        }
    }

    /// The sessions open, those kept across a restart among them.
    fn sessions(&self) -> Vec<(SessionId, ClientId)> {
        let mut sessions: Vec<_> = self.leader.sessions().iter().collect();
        sessions.sort_unstable();
        sessions
    }

    fn answers_later(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use immer::sync::{Change, ToFollower, ToLeader};
    use immer::{Patch, Path, PathSegment};
    use redb::ReadableTable;

    use super::*;
    use crate::store::SNAPSHOTS;

    type Doc = Vec<u64>;

    fn push(session: u64, id: u64, base: u64, value: u64) -> ToLeader {
        ToLeader::Change(Change {
            author: None,
            client: 1,
            session,
            id,
            base,
            patches: vec![Patch::add(
                Path::from(vec![PathSegment::Key("-".to_owned())]),
                serde_json::json!(value),
            )],
        })
    }

    fn committed(out: &Outbound<Doc>) -> Option<u64> {
        match &out.message {
            ToFollower::Committed(c) => Some(c.version),
            _ => None,
        }
    }

    /// A document at version 1 (durable), its sessions, and the messages it releases.
    fn opened(store: &Store) -> (Document<Doc>, Vec<u64>, mpsc::Receiver<Outbound<Doc>>) {
        store.create("list", &Doc::new()).unwrap();
        let mut document = store.document::<Doc>("list").open().unwrap();
        let sessions: Vec<u64> = (1..=3).map(|c| document.join(c).session).collect();
        document.try_receive(push(sessions[0], 1, 0, 1)).unwrap();
        let (sink, released) = mpsc::channel();
        document.release_to(move |messages| {
            for message in messages {
                let _ = sink.send(message);
            }
        });
        (document, sessions, released)
    }

    #[test]
    fn nothing_is_sent_before_it_is_durable_and_a_joiner_starts_at_the_durable_version() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("held.redb")).unwrap();
        let (mut document, sessions, released) = opened(&store);
        // The writer waits behind this transaction: nothing becomes durable meanwhile.
        let held = store.db.begin_write().unwrap();
        assert!(document.receive(push(sessions[1], 1, 1, 2)).is_empty());
        assert!(document.receive(push(sessions[2], 1, 1, 3)).is_empty());
        // The next change of the document is ordered at once, after them.
        assert_eq!(document.leader().version(), 3);
        // A refusal made behind them waits behind them too.
        assert!(document.receive(push(sessions[0], 2, 9, 4)).is_empty());
        std::thread::sleep(std::time::Duration::from_millis(50));
        assert!(released.try_recv().is_err(), "sent before durable");
        let welcome = document.join(9);
        assert_eq!(
            (welcome.snapshot.version, welcome.snapshot.state),
            (1, vec![1])
        );
        assert_eq!(
            (Backend::version(&document), Backend::log(&document).len()),
            (1, 1)
        );
        held.abort().unwrap();
        document.wait_durable().unwrap();
        let out: Vec<_> = released.try_iter().collect();
        let versions: Vec<_> = out.iter().filter_map(committed).collect();
        assert_eq!(versions, [2, 3]);
        assert!(matches!(out[2].message, ToFollower::Rejected(_)), "{out:?}");
        assert_eq!(*Backend::state(&document), [1, 2, 3]);
    }

    #[test]
    fn a_failed_write_breaks_the_document_and_nothing_after_it_is_sent_or_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path().join("broken.redb")).unwrap();
        let (mut document, sessions, released) = opened(&store);
        let held = store.db.begin_write().unwrap();
        assert!(document.receive(push(sessions[1], 1, 1, 2)).is_empty());
        assert!(document.receive(push(sessions[2], 1, 1, 3)).is_empty());
        // The document's row goes while its changes wait: the first cannot be written.
        let snapshot = {
            let mut snapshots = held.open_table(SNAPSHOTS).unwrap();
            let removed = snapshots.remove("list").unwrap().unwrap();
            removed.value().to_vec()
        };
        held.commit().unwrap();
        assert!(matches!(document.wait_durable(), Err(Error::NotFound(_))));
        // Nothing of either change was sent, and the sink is gone.
        assert!(matches!(
            released.recv_timeout(std::time::Duration::from_secs(5)),
            Err(mpsc::RecvTimeoutError::Disconnected)
        ));
        // It answers nothing more, and says why.
        assert!(document.receive(push(sessions[0], 2, 1, 4)).is_empty());
        assert!(matches!(document.take_error(), Some(Error::NotFound(_))));
        assert!(document.try_receive(push(sessions[0], 3, 1, 5)).is_err());
        assert_eq!(
            (
                Backend::version(&document),
                document.join(7).snapshot.version
            ),
            (1, 1)
        );
        drop(document);
        // Opened anew (its row back): the durable state, nothing after it.
        store
            .write("restoring", |tx| {
                tx.open_table(SNAPSHOTS)?
                    .insert("list", snapshot.as_slice())?;
                Ok(())
            })
            .unwrap();
        let document = store.document::<Doc>("list").open().unwrap();
        assert_eq!(
            (
                Backend::version(&document),
                (*Backend::state(&document)).clone()
            ),
            (1, vec![1])
        );
        let tx = store.db.begin_read().unwrap();
        let changes = tx.open_table(crate::store::CHANGES).unwrap();
        assert_eq!(changes.iter().unwrap().count(), 1);
    }
}
