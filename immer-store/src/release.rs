//! What a document holds until it is durable, and releases in version order once it is.

use std::collections::VecDeque;
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};

use immer::sync::Outbound;

use crate::commit::Waiter;
use crate::error::Error;

/// Where released messages go: see [`Document::release_to`](crate::Document::release_to).
pub(crate) type Sink<T> = Box<dyn FnMut(Vec<Outbound<T>>) + Send>;

/// One document's changes between its leader and the disk, shared with the writer.
pub(crate) struct Release<T> {
    flow: Mutex<Flow<T>>,
    /// Signalled when the durable version moves or the document breaks.
    moved: Condvar,
}

pub(crate) struct Flow<T> {
    /// The newest version on disk, and the state at it.
    pub(crate) durable: u64,
    pub(crate) durable_state: Arc<T>,
    /// The state at each version ordered but not yet durable, oldest first.
    held: VecDeque<(u64, Arc<T>)>,
    /// Messages waiting for a version to be durable, in the order they were made.
    queued: VecDeque<(u64, Vec<Outbound<T>>)>,
    /// Messages released while no sink was set, for the document's caller.
    pub(crate) ready: Vec<Outbound<T>>,
    sink: Option<Sink<T>>,
    /// Why the document broke: a change could not be written.
    pub(crate) broken: Option<Error>,
}

impl<T> Release<T> {
    /// A document durable at `version` with `state`, nothing in flight.
    pub(crate) fn new(version: u64, state: Arc<T>) -> Self {
        Release {
            flow: Mutex::new(Flow {
                durable: version,
                durable_state: state,
                held: VecDeque::new(),
                queued: VecDeque::new(),
                ready: Vec::new(),
                sink: None,
                broken: None,
            }),
            moved: Condvar::new(),
        }
    }

    pub(crate) fn lock(&self) -> MutexGuard<'_, Flow<T>> {
        self.flow.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Waits until every change handed to the writer is durable or the document broke; its
    /// error then.
    pub(crate) fn wait(&self) -> Result<(), Error> {
        let mut flow = self.lock();
        while !flow.held.is_empty() && flow.broken.is_none() {
            flow = self
                .moved
                .wait(flow)
                .unwrap_or_else(PoisonError::into_inner);
        }
        match &flow.broken {
            Some(error) => Err(error.clone()),
            None => Ok(()),
        }
    }
}

impl<T> Flow<T> {
    /// Whether nothing ordered waits for the disk.
    pub(crate) fn idle(&self) -> bool {
        self.held.is_empty()
    }

    /// Whether released messages go to a sink.
    pub(crate) fn has_sink(&self) -> bool {
        self.sink.is_some()
    }

    /// Holds `state` as the state at `version` (ordered, the next after those held) until it
    /// is durable.
    pub(crate) fn hold(&mut self, version: u64, state: Arc<T>) {
        self.held.push_back((version, state));
    }

    /// Sends `messages` once `version` is durable, after every message queued before; at
    /// once (to the sink, or for the caller) if it is durable and none waits.
    pub(crate) fn send_at(&mut self, version: u64, messages: Vec<Outbound<T>>) {
        if messages.is_empty() {
            return;
        }
        if self.queued.is_empty() && version <= self.durable {
            self.deliver(messages);
        } else {
            self.queued.push_back((version, messages));
        }
    }

    /// Sets where released messages go (those released before and not taken go there
    /// first).
    pub(crate) fn set_sink(&mut self, mut sink: Sink<T>) {
        let ready = std::mem::take(&mut self.ready);
        if !ready.is_empty() {
            sink(ready);
        }
        self.sink = Some(sink);
    }

    fn deliver(&mut self, messages: Vec<Outbound<T>>) {
        match &mut self.sink {
            Some(sink) => sink(messages),
            None => self.ready.extend(messages),
        }
    }
}

impl<T: Send + Sync> Waiter for Release<T> {
    fn written(&self, version: u64, result: Result<(), Error>) {
        let mut flow = self.lock();
        if flow.broken.is_some() {
            return;
        }
        match result {
            Ok(()) => {
                while flow.held.front().is_some_and(|(v, _)| *v <= version) {
                    if let Some((v, state)) = flow.held.pop_front() {
                        flow.durable = v;
                        flow.durable_state = state;
                    }
                }
                while flow.queued.front().is_some_and(|(v, _)| *v <= flow.durable) {
                    if let Some((_, messages)) = flow.queued.pop_front() {
                        flow.deliver(messages);
                    }
                }
            }
            Err(error) => {
                // Nothing after the durable version is ever sent: the messages waiting are
                // dropped, and so is the sink (its receiver sees the end).
                flow.broken = Some(error);
                flow.held.clear();
                flow.queued.clear();
                flow.sink = None;
            }
        }
        drop(flow);
        self.moved.notify_all();
    }

    fn failed(&self) -> bool {
        self.lock().broken.is_some()
    }
}
