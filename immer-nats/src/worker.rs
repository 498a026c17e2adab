//! A document's I/O: the async task that talks to NATS, the document's work (on the pool's
//! threads) that does what the node decides (applies runs of the log, reloads and writes
//! snapshots, orders appends, sends to remote sessions), and what they share with the
//! document's handle.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use immer::Draftable;
use immer::sync::{Leader, Outbound};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{Notify, mpsc, watch};

use crate::config::debug;
use crate::error::{Error, is_wrong_last_sequence};
use crate::node::{Gap, Node, Prepared, Received, Reload};
use crate::persist::Persist;
use crate::pool::{Mailbox, Work};
use crate::reader::Registration;
use crate::store::{Store, StoredSnapshot};

/// Starts a joined document's work: its mailbox for the pool's threads, and its async task
/// (whose handle stops it). `resume` makes the replica of a snapshot's state and version,
/// with the document's hooks (as [`Leader::resume`] does without them), when the node
/// reloads one.
pub(crate) fn start<T>(
    store: Store,
    shared: Arc<Shared<T>>,
    resume: impl Fn(Arc<T>, u64) -> Leader<T> + Send + 'static,
) -> Result<tokio::task::JoinHandle<()>, Error>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    let (effect_sender, effects) = mpsc::unbounded_channel();
    let replica = Replica {
        store: store.clone(),
        shared: Arc::clone(&shared),
        resume: Box::new(resume),
        runtime: tokio::runtime::Handle::current(),
        effects: effect_sender,
        failed_reload: None,
        backlog: VecDeque::new(),
    };
    let jobs = Mailbox::new(replica).map_err(Error::nats)?;
    let worker = Worker {
        store,
        shared,
        jobs,
        effects,
    };
    Ok(tokio::spawn(worker.run()))
}

/// What the node's handle, its async task and its work share.
pub(crate) struct Shared<T> {
    pub(crate) name: String,
    pub(crate) subject: String,
    pub(crate) node: Mutex<Node<T>>,
    /// [`Node::last_seq`], for the async task, which never waits for the lock.
    pub(crate) applied: AtomicU64,
    /// A snapshot of this node's is being written.
    pub(crate) snapshotting: AtomicBool,
    /// Wakes the async task: an edit is waiting.
    pub(crate) wake: Notify,
    /// Bumped at every change of the node's state or events.
    pub(crate) changed: watch::Sender<u64>,
    /// Where messages for remote sessions go (see [`Document::remote_messages`]). Sent to
    /// while the node's lock is held, so that they go out in the order the node decided
    /// them.
    ///
    /// [`Document::remote_messages`]: crate::Document::remote_messages
    outbox: Mutex<Option<mpsc::UnboundedSender<Outbound<T>>>>,
    /// Where the node keeps its follower, if it does (see [`DocumentBuilder::persist`]).
    ///
    /// [`DocumentBuilder::persist`]: crate::DocumentBuilder::persist
    pub(crate) persist: Option<Persist>,
}

impl<T> Shared<T> {
    /// What a joined node shares, from `node` on (kept in `persist`, if given).
    pub(crate) fn new(
        name: String,
        subject: String,
        node: Node<T>,
        persist: Option<Persist>,
    ) -> Self {
        let (changed, _) = watch::channel(0_u64);
        Shared {
            name,
            subject,
            applied: AtomicU64::new(node.last_seq),
            node: Mutex::new(node),
            snapshotting: AtomicBool::new(false),
            wake: Notify::new(),
            changed,
            outbox: Mutex::new(None),
            persist,
        }
    }

    /// Asks for a save of the node as it is now, when it keeps its follower.
    pub(crate) fn mark(&self) {
        if let Some(persist) = &self.persist {
            persist.mark();
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Node<T>> {
        // A panic while the lock was held leaves nothing half-done that matters here.
        self.node
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    pub(crate) fn bump(&self) {
        self.changed.send_modify(|n| *n = n.wrapping_add(1));
    }

    pub(crate) fn applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Where messages for remote sessions go, to replace.
    pub(crate) fn outbox(&self) -> MutexGuard<'_, Option<mpsc::UnboundedSender<Outbound<T>>>> {
        self.outbox
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Sends messages to remote sessions, if anyone listens.
    pub(crate) fn send(&self, messages: impl IntoIterator<Item = Outbound<T>>) {
        if let Some(outbox) = &*self.outbox() {
            for message in messages {
                // A closed outbox: nobody listens any more.
                let _ = outbox.send(message);
            }
        }
    }
}

/// What the async task asks of the document's work.
pub(crate) enum Job {
    /// Apply these messages (in log order, after those handed over before).
    Messages(Vec<Received>),
    /// Order the change to append next, unless the log has not reached `hold_until`.
    Prepare { hold_until: u64 },
}

/// What the document's work tells the async task.
enum Effect {
    /// This many messages were applied, or skipped; `lost`: some could not be applied (the
    /// log has a gap that reloading the snapshot did not fill), so the log must be read
    /// again from [`Shared::applied`].
    Applied { count: usize, lost: bool },
    /// The answer to [`Job::Prepare`].
    Prepared(Option<Prepared>),
}

/// How many messages a run applies at most (one lock of the document and one pass of the
/// follower).
const MAX_RUN: usize = 1024;
/// How many ready messages the async task hands over at once.
const READ_BATCH: usize = 256;
/// How many messages may wait for the document's work before the async task stops
/// reading the log (JetStream's flow control then holds the rest).
const MAX_QUEUED: usize = 16_384;
/// How many messages one request of a catch-up reads.
const CATCH_UP_BATCH: usize = 1000;
/// How many messages a catch-up reads directly, one request each, before it reads the rest
/// through a consumer.
const DIRECT_READS: usize = 8;
/// How many messages one catch-up reads at most before the node follows the log again.
const CATCH_UP_MAX: u64 = 20_000;

/// The document's work, done by the pool's threads (see [`crate::pool`]), one step at a
/// time.
///
/// Why a mailbox on a pool of the process's own rather than `spawn_blocking` or
/// `block_in_place`: the log's messages must be applied one run after another, in order,
/// while the async task goes on reading the next ones and acknowledging appends. A mailbox
/// that a pool thread empties gives that order for free and lets everything that piled up
/// while a run was applied form the next run; `spawn_blocking` would need the same queue in
/// front of it (and shares its pool with the app's blocking I/O); `block_in_place` would stop
/// this document's reads for as long as a run lasts and panics on a current-thread runtime.
/// A document with nothing to do holds no thread.
struct Replica<T> {
    store: Store,
    shared: Arc<Shared<T>>,
    /// Makes the replica of a snapshot (see [`start`]).
    resume: Box<dyn Fn(Arc<T>, u64) -> Leader<T> + Send>,
    /// For the little async work the replica needs done (reading a snapshot when the log was
    /// purged past this node, writing one in the background).
    runtime: tokio::runtime::Handle,
    effects: mpsc::UnboundedSender<Effect>,
    /// When a reload last left a gap unfilled: another is not tried for a second.
    failed_reload: Option<std::time::Instant>,
    /// Jobs received and not done yet, in order.
    backlog: VecDeque<Job>,
}

impl<T> Work for Replica<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Job = Job;

    fn receive(&mut self, jobs: &mut VecDeque<Job>) {
        self.backlog.append(jobs);
    }

    fn has_more(&self) -> bool {
        !self.backlog.is_empty()
    }

    /// Orders an append, or applies one run: every message handed over before the next
    /// request to prepare, up to [`MAX_RUN`].
    fn step(&mut self) -> bool {
        if let Some(Job::Prepare { hold_until }) = self.backlog.front() {
            let hold_until = *hold_until;
            self.backlog.pop_front();
            let prepared = self.prepare(hold_until);
            return self.effects.send(Effect::Prepared(prepared)).is_ok();
        }
        let mut run = VecDeque::new();
        while run.len() < MAX_RUN {
            let Some(Job::Messages(messages)) = self.backlog.front_mut() else {
                break;
            };
            let take = messages.len().min(MAX_RUN - run.len());
            run.extend(messages.drain(..take));
            if messages.is_empty() {
                self.backlog.pop_front();
            }
        }
        if run.is_empty() {
            return true;
        }
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
            self.backlog.retain(|job| match job {
                Job::Messages(messages) => {
                    count += messages.len();
                    false
                }
                Job::Prepare { .. } => true,
            });
        }
        self.effects.send(Effect::Applied { count, lost }).is_ok()
    }
}

impl<T> Replica<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    /// Applies a run of messages: to the replica one by one, to the follower in one go.
    /// Returns whether some could not be applied.
    fn apply_run(&mut self, mut run: VecDeque<Received>) -> bool {
        let mut reloaded_at = None;
        while !run.is_empty() {
            let (reload, snapshot) = {
                let mut node = self.shared.lock();
                let every = self.store.config.snapshot_every;
                // Read once for the run: only this work sets the flag (a write clears it
                // when done), so at worst a write that ends meanwhile waits for the next
                // snapshot's version.
                let writing = self.shared.snapshotting.load(Ordering::Acquire);
                let pending = node.follower.pending_count();
                let applied = node.apply_run(&mut run, every, writing);
                node.route_path_changes();
                // Saved when this node's edits moved or ended (a follower with none loses
                // nothing with an older save: it reads the log again from there).
                if pending > 0 || node.follower.pending_count() > 0 {
                    self.shared.mark();
                }
                if applied.snapshot.is_some() {
                    self.shared.snapshotting.store(true, Ordering::Release);
                }
                self.shared.send(applied.outbound);
                self.shared.applied.store(node.last_seq, Ordering::Release);
                (applied.reload, applied.snapshot)
            };
            self.shared.bump();
            if let Some(stored) = snapshot {
                self.write_snapshot(&stored);
            }
            let message = match reload {
                None => continue,
                Some(Reload::Diverged) => None,
                Some(Reload::Gap(message, gap)) => {
                    if let Gap::Version { after, version } = gap {
                        debug(&format!("gap: {version} after {after}"));
                    }
                    Some(message)
                }
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
            let Some(outbound) = node.reload(stored, &self.resume) else {
                return;
            };
            node.route_path_changes();
            self.shared.send(outbound);
            self.shared.applied.store(node.last_seq, Ordering::Release);
        }
        self.shared.mark();
        self.shared.bump();
    }

    /// Orders the follower's change in flight (or else a remote session's) against the log
    /// as this node has it, ready to append; refusals go back to the follower (or the
    /// session) at once.
    fn prepare(&self, hold_until: u64) -> Option<Prepared> {
        let max_payload = self.store.max_payload();
        let (append, refused) = {
            let mut node = self.shared.lock();
            let prepare = node.prepare(hold_until, max_payload);
            node.route_path_changes();
            self.shared.send(prepare.outbound);
            if prepare.unsaved || prepare.refused {
                self.shared.mark();
            }
            (prepare.append, prepare.refused)
        };
        if refused {
            self.shared.bump();
        }
        append
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

/// A document's joining of the node's reader of the log.
type Subscribing = Pin<Box<dyn Future<Output = Result<Registration, Error>> + Send>>;

/// The document's async task: it talks to NATS, and hands all the work to the pool's
/// threads.
struct Worker<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    store: Store,
    shared: Arc<Shared<T>>,
    jobs: Arc<Mailbox<Replica<T>>>,
    effects: mpsc::UnboundedReceiver<Effect>,
}

impl<T> Worker<T>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
{
    #[allow(clippy::too_many_lines)] // one loop over the node's events, read in one place
    async fn run(mut self) {
        // The document's place in the node's reader of the log, or the request for it
        // (never waited for here: appends and acknowledgements go on meanwhile).
        let mut messages: Option<Registration> = None;
        let mut subscribing: Option<Subscribing> = None;
        let mut subscribe_failed = false;
        // The last sequence handed over, and how many messages are not applied yet.
        let mut read = self.shared.applied();
        let mut queued = 0_usize;
        let mut ack: Option<(Ack, u64)> = None;
        // Do not append before the log reaches this sequence (an append's own message, or
        // what made an append fail).
        let mut hold_until = 0_u64;
        let mut retry: Option<Pin<Box<tokio::time::Sleep>>> = None;
        // Whether the work is ordering an append, and whether it should be asked to.
        let mut preparing = false;
        let mut want_prepare = true;
        // Liveness, while this node waits for the log (its own append's message, or the
        // one that refused it): after a fifth of a second without a message, ask where the
        // document's log ends, and catch up when it is ahead (checked every tenth of a
        // second, and only then: an idle document costs no timer). The reader watches the
        // log as a whole (see `reader.rs`).
        let mut tick: Option<tokio::time::Interval> = None;
        let mut heard = tokio::time::Instant::now();
        loop {
            if messages.is_none() && subscribing.is_none() {
                subscribing = Some(self.subscribe(subscribe_failed));
            }
            // The work prepares after the messages handed to it before: once they reach
            // the hold, so will the node.
            if want_prepare && !preparing && ack.is_none() && retry.is_none() && read >= hold_until
            {
                if !self.jobs.send(Job::Prepare { hold_until }) {
                    return;
                }
                preparing = true;
                want_prepare = false;
            }
            let waiting = self.shared.applied() < hold_until;
            if waiting && tick.is_none() {
                let period = Duration::from_millis(100);
                tick = Some(tokio::time::interval_at(
                    tokio::time::Instant::now() + period,
                    period,
                ));
            } else if !waiting {
                tick = None;
            }
            tokio::select! {
                () = self.shared.wake.notified() => want_prepare = true,
                result = async { subscribing.as_mut().expect("guarded").await }, if subscribing.is_some() => {
                    subscribing = None;
                    subscribe_failed = result.is_err();
                    match result {
                        Ok(registration) => {
                            // What the reader passed before this document joined it, the
                            // document reads itself.
                            let from = registration.from;
                            messages = Some(registration);
                            if from > read {
                                let end = tokio::time::timeout(Duration::from_secs(2), self.store.last_seq(&self.shared.name)).await;
                                let end = match end {
                                    Ok(Ok(end)) => end.min(from),
                                    _ => from,
                                };
                                if end > read {
                                    read = self.catch_up(read + 1, end, &mut queued).await;
                                    if read < end {
                                        // The rest after joining the reader again.
                                        messages = None;
                                    }
                                }
                            }
                            heard = tokio::time::Instant::now();
                        }
                        Err(error) => debug(&format!("subscribe: {error}")),
                    }
                }
                message = async { messages.as_mut().expect("guarded").messages.recv().await }, if messages.is_some() && queued < MAX_QUEUED => {
                    let mut run = Vec::new();
                    match message {
                        Some(message) => {
                            heard = tokio::time::Instant::now();
                            take(message, &mut read, &mut run);
                            // What the reader has ready goes over as one job.
                            let channel = &mut messages.as_mut().expect("guarded").messages;
                            while run.len() < READ_BATCH {
                                let Ok(message) = channel.try_recv() else {
                                    break;
                                };
                                take(message, &mut read, &mut run);
                            }
                        }
                        // Dropped by the reader (this document fell behind it): follow the
                        // log anew, from this node's position.
                        None => messages = None,
                    }
                    queued += run.len();
                    if !run.is_empty() && !self.jobs.send(Job::Messages(run)) {
                        return;
                    }
                }
                effect = self.effects.recv() => match effect {
                    // The work ended.
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
                        // through the reader, and decides the change there.
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
                _ = async { tick.as_mut().expect("guarded").tick().await }, if tick.is_some() => {
                    let applied = self.shared.applied();
                    if heard.elapsed() >= Duration::from_millis(200) {
                        if let Ok(node) = self.shared.node.try_lock() {
                            debug(&format!("quiet: read {read}, applied {applied} (version {}), holding until {hold_until}, {} pending, {queued} queued, append {}, retry {}", node.replica.version(), node.follower.pending_count(), ack.is_some(), retry.is_some()));
                        }
                        let end = tokio::time::timeout(Duration::from_secs(2), self.store.last_seq(&self.shared.name)).await;
                        if let Ok(Ok(end)) = end {
                            if end > read {
                                debug(&format!("behind the log's end ({read} of {end}); reading the rest in batches"));
                                read = self.catch_up(read + 1, end, &mut queued).await;
                                if read < end {
                                    // The rest after joining the reader again.
                                    messages = None;
                                    subscribing = None;
                                }
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

    /// Reads the log from `start` to `end`, handing what it reads over as it comes; returns
    /// the last sequence read. A few messages are read directly, one request each (a
    /// document that joins the reader a few changes after its snapshot); more, up to
    /// [`CATCH_UP_MAX`], in batches of [`CATCH_UP_BATCH`] through a pull consumer of its own,
    /// deleted after. When the consumer delivers nothing (a consumer that does not deliver
    /// what the stream holds, as nats-server 2.9 can after a purge, must not keep a node
    /// behind), the document's next message is read directly.
    async fn catch_up(&self, start: u64, end: u64, queued: &mut usize) -> u64 {
        let mut read = start - 1;
        let mut run = Vec::new();
        let mut caught_up = false;
        for _ in 0..DIRECT_READS {
            match self.read_next(read + 1).await {
                Ok(Some(message)) => take(message, &mut read, &mut run),
                // None left: nothing of this document's after `read`.
                Ok(None) => caught_up = true,
                Err(()) => break,
            }
            if caught_up || read >= end {
                break;
            }
        }
        if !run.is_empty() {
            *queued += run.len();
            if !self.jobs.send(Job::Messages(run)) {
                return read;
            }
        }
        if caught_up || read >= end {
            return if caught_up { read.max(end) } else { read };
        }
        let start = read + 1;
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
                        let message = message?;
                        if let Ok(info) = message.info() {
                            let received = Received {
                                seq: info.stream_sequence,
                                payload: message.payload.clone(),
                            };
                            take(received, &mut read, &mut run);
                        }
                    }
                    Ok::<_, async_nats::Error>(())
                };
                let result = tokio::time::timeout(Duration::from_secs(5), fetch).await;
                let delivered = !run.is_empty();
                if delivered {
                    *queued += run.len();
                    if !self.jobs.send(Job::Messages(run)) {
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
            if let Ok(Some(message)) = self.read_next(start).await {
                debug(&format!("catch-up: read {} directly", message.seq));
                read = message.seq;
                *queued += 1;
                self.jobs.send(Job::Messages(vec![message]));
            }
        }
        read
    }

    /// The document's first message at or after `seq`, read directly: `None` when there is
    /// none, `Err` when the stream did not say.
    async fn read_next(&self, seq: u64) -> Result<Option<Received>, ()> {
        let next = self
            .store
            .log
            .raw_message_builder()
            .sequence(seq)
            .next_by_subject(self.shared.subject.clone())
            .send();
        match tokio::time::timeout(Duration::from_secs(2), next).await {
            Ok(Ok(message)) => Ok(Some(Received {
                seq: message.sequence,
                payload: message.payload,
            })),
            Ok(Err(error)) if error.kind() == stream::RawMessageErrorKind::NoMessageFound => {
                Ok(None)
            }
            _ => Err(()),
        }
    }

    /// Joins the node's reader of the log (a tenth of a second later when the last attempt
    /// failed).
    fn subscribe(&self, pause: bool) -> Subscribing {
        let reader = Arc::clone(&self.store.reader);
        let subject = self.shared.subject.clone();
        Box::pin(async move {
            if pause {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            reader.register(&subject).await
        })
    }

    /// Sends an append the work prepared.
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
fn take(message: Received, read: &mut u64, run: &mut Vec<Received>) {
    if message.seq <= *read {
        return;
    }
    *read = message.seq;
    run.push(message);
}
