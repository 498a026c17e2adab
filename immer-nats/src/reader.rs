//! The node's one reader of the log: a single ordered consumer over every document's subject
//! of the stream, which hands each message to the documents this node has open, by subject.
//!
//! It works with every nats-server that has JetStream (2.9 has no consumer over several
//! subjects of one's choosing, so it reads the stream's whole subject space,
//! `immer.<stream>.*`). A message of a document no one here has open is dropped by its
//! subject, unread.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::time::Duration;

use async_nats::jetstream::{self, consumer, stream};
use futures_util::{FutureExt, StreamExt};
use tokio::sync::{mpsc, watch};

use crate::config::debug;
use crate::error::Error;
use crate::node::Received;

/// How many messages wait for a document's task at most: a document that falls further
/// behind (its thread is busy with a long run) is dropped from the reader, and reads what
/// it missed through a catch-up of its own when it follows the log again.
const DOCUMENT_BACKLOG: usize = 4096;
/// How many ready messages the reader hands out under one lock of its routes.
const READ_BATCH: usize = 256;

/// The node's reader of the log (one per [`Store`](crate::Store) and its clones).
pub(crate) struct LogReader {
    log: stream::Stream,
    js: jetstream::Context,
    /// `immer.<stream>.*`.
    filter: String,
    routes: Mutex<Routes>,
    /// Whether its task runs.
    started: AtomicBool,
    /// Set once the reader knows where it starts.
    positioned: watch::Sender<bool>,
}

/// Who gets which subject's messages, and how far the reader has read.
struct Routes {
    /// The last stream sequence handed out (`None` until the reader knows where the log
    /// ends): every document's message after it will be.
    position: Option<u64>,
    documents: HashMap<String, Vec<Route>>,
    next_id: u64,
}

struct Route {
    id: u64,
    sender: mpsc::Sender<Received>,
}

/// A document's place in the reader: its messages after [`from`](Registration::from) come
/// through [`messages`](Registration::messages), in order, with none left out, until the
/// channel closes (the document fell too far behind, or the reader stopped).
pub(crate) struct Registration {
    pub(crate) messages: mpsc::Receiver<Received>,
    /// Where the reader was when the document joined it: the document reads what it needs
    /// up to here itself.
    pub(crate) from: u64,
    reader: Weak<LogReader>,
    subject: String,
    id: u64,
}

impl Drop for Registration {
    fn drop(&mut self) {
        if let Some(reader) = self.reader.upgrade() {
            reader.remove(&self.subject, self.id);
        }
    }
}

impl LogReader {
    pub(crate) fn new(log: stream::Stream, js: jetstream::Context, filter: String) -> Self {
        let (positioned, _) = watch::channel(false);
        LogReader {
            log,
            js,
            filter,
            routes: Mutex::new(Routes {
                position: None,
                documents: HashMap::new(),
                next_id: 0,
            }),
            started: AtomicBool::new(false),
            positioned,
        }
    }

    fn routes(&self) -> MutexGuard<'_, Routes> {
        self.routes.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Follows `subject` from where the reader is (starting the reader, the first time).
    /// Needs a tokio runtime.
    pub(crate) async fn register(self: &Arc<Self>, subject: &str) -> Result<Registration, Error> {
        if !self.started.swap(true, Ordering::AcqRel) {
            tokio::spawn(run(Arc::downgrade(self), self.log.clone()));
        }
        let mut positioned = self.positioned.subscribe();
        // The reader's task never ends while a store is there to wait for it.
        positioned
            .wait_for(|known| *known)
            .await
            .map_err(Error::nats)?;
        let (sender, messages) = mpsc::channel(DOCUMENT_BACKLOG);
        let mut routes = self.routes();
        let id = routes.next_id;
        routes.next_id += 1;
        let from = routes.position.unwrap_or(0);
        routes
            .documents
            .entry(subject.to_owned())
            .or_default()
            .push(Route { id, sender });
        Ok(Registration {
            messages,
            from,
            reader: Arc::downgrade(self),
            subject: subject.to_owned(),
            id,
        })
    }

    fn remove(&self, subject: &str, id: u64) {
        let mut routes = self.routes();
        if let Some(list) = routes.documents.get_mut(subject) {
            list.retain(|route| route.id != id);
            if list.is_empty() {
                routes.documents.remove(subject);
            }
        }
    }

    fn position(&self) -> u64 {
        self.routes().position.unwrap_or(0)
    }

    /// Hands messages read in order to the documents they are for.
    fn dispatch(&self, messages: &[jetstream::Message]) {
        let mut routes = self.routes();
        let Routes {
            position,
            documents,
            ..
        } = &mut *routes;
        let position = position.get_or_insert(0);
        for message in messages {
            let Ok(info) = message.info() else {
                continue;
            };
            let seq = info.stream_sequence;
            if seq <= *position {
                continue;
            }
            *position = seq;
            let Some(list) = documents.get_mut(message.subject.as_str()) else {
                continue;
            };
            list.retain(|route| {
                let received = Received {
                    seq,
                    payload: message.payload.clone(),
                };
                match route.sender.try_send(received) {
                    Ok(()) => true,
                    // Too far behind: it follows the log anew, from its own position.
                    Err(mpsc::error::TrySendError::Full(_)) => {
                        debug(&format!("{}: behind the reader, dropped", message.subject));
                        false
                    }
                    Err(mpsc::error::TrySendError::Closed(_)) => false,
                }
            });
            if list.is_empty() {
                documents.remove(message.subject.as_str());
            }
        }
    }

    /// A new ordered consumer over the stream's documents from `start`.
    async fn subscribe(&self, start: u64) -> Result<consumer::push::Ordered, Error> {
        let config = consumer::push::OrderedConfig {
            deliver_subject: self.js.client().new_inbox(),
            filter_subject: self.filter.clone(),
            deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                start_sequence: start,
            },
            ..Default::default()
        };
        let consumer = self
            .log
            .create_consumer(config)
            .await
            .map_err(Error::nats)?;
        consumer.messages().await.map_err(Error::nats)
    }
}

/// The reader's task: finds where the log ends, then follows it from there through one
/// ordered consumer, anew whenever it fails or goes quiet while the log's end is ahead. Ends
/// when the store and its documents are gone.
async fn run(reader: Weak<LogReader>, mut log: stream::Stream) {
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    // Where the log ends, before anyone follows it.
    loop {
        if reader.strong_count() == 0 {
            return;
        }
        match tokio::time::timeout(Duration::from_secs(2), log.info()).await {
            Ok(Ok(info)) => {
                let end = info.state.last_sequence;
                let Some(reader) = reader.upgrade() else {
                    return;
                };
                reader.routes().position = Some(end);
                reader.positioned.send_replace(true);
                break;
            }
            Ok(Err(error)) => debug(&format!("reader: {error}")),
            Err(_) => debug("reader: the stream's info timed out"),
        }
        tick.tick().await;
    }
    let mut messages: Option<consumer::push::Ordered> = None;
    let mut heard = tokio::time::Instant::now();
    loop {
        if messages.is_none() {
            let Some(strong) = reader.upgrade() else {
                return;
            };
            let start = strong.position() + 1;
            // Holds the reader for as long as it subscribes, at most five seconds.
            let subscribe =
                tokio::time::timeout(Duration::from_secs(5), strong.subscribe(start)).await;
            drop(strong);
            match subscribe {
                Ok(Ok(stream)) => messages = Some(stream),
                Ok(Err(error)) => debug(&format!("reader: subscribe: {error}")),
                Err(_) => debug("reader: subscribe timed out"),
            }
            heard = tokio::time::Instant::now();
            if messages.is_none() {
                tick.tick().await;
                continue;
            }
        }
        tokio::select! {
            message = async { messages.as_mut().expect("guarded").next().await } => {
                let stream = messages.as_mut().expect("guarded");
                let mut batch = Vec::new();
                let mut next = message;
                let mut ended = false;
                loop {
                    match next {
                        Some(Ok(message)) => batch.push(message),
                        // A missed heartbeat (its server died, the connection dropped): the
                        // log is followed again from the reader's position.
                        Some(Err(error)) => {
                            debug(&format!("reader: consumer: {error}"));
                            ended = true;
                            break;
                        }
                        None => {
                            debug("reader: consumer ended");
                            ended = true;
                            break;
                        }
                    }
                    if batch.len() >= READ_BATCH {
                        break;
                    }
                    match stream.next().now_or_never() {
                        Some(message) => next = message,
                        None => break,
                    }
                }
                heard = tokio::time::Instant::now();
                if ended {
                    messages = None;
                }
                let Some(strong) = reader.upgrade() else {
                    return;
                };
                strong.dispatch(&batch);
            }
            _ = tick.tick() => {
                if reader.strong_count() == 0 {
                    return;
                }
                // A consumer can go quiet without an error (its server died while it was
                // being recreated): after half a second without a message, ask where the
                // log ends, and follow it anew when it is ahead.
                if heard.elapsed() >= Duration::from_millis(500) {
                    let info = tokio::time::timeout(Duration::from_secs(2), log.info()).await;
                    if let Ok(Ok(info)) = info {
                        let end = info.state.last_sequence;
                        let position = reader.upgrade().map_or(0, |r| r.position());
                        if end > position {
                            debug(&format!("reader: behind the log's end ({position} of {end}); following it anew"));
                            messages = None;
                        }
                    }
                    heard = tokio::time::Instant::now();
                }
            }
        }
    }
}
