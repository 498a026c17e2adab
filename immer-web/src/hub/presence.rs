//! Presence: what each connection shows the others of a document while it is there (who, a
//! cursor, a selection). Ephemeral: never ordered, committed, logged, stored or shown to the
//! devtools; bounded per connection; sent only to the document's connections, which are
//! exactly those that may read it.
//!
//! - [`canonical`]: a client's state read, bounded (bytes, depth, keys) and written in one
//!   form, whatever the client sent;
//! - [`Presences`]: a document's table, by presence number, and what changed since it was
//!   last sent;
//! - [`Outbox`]: what one socket has yet to be sent of presence, coalesced (the newest of each
//!   presence), written by the socket's writer when it comes to its place in the queue;
//! - the ticker: one task per document that has had presence, which sends what changed at
//!   most every [`Limits::presence_interval`] (at once after a quiet moment) and takes away
//!   what was not sent again within [`Limits::presence_timeout`];
//! - [`relay`]: the presences of the other servers of a document whose log they share
//!   (JetStream), over a [`PresenceChannel`] beside the log.
//!
//! Why coalesce per reader and batch per document: 200 connections moving their cursors 20
//! times a second are 4,000 updates a second, which one by one would be 800,000 messages a
//! second to their 199 readers. Batched, each reader gets at most one message per interval
//! holding every presence that changed (each presence's text written once, shared by every
//! reader's message, assembled by the reader's own writer); a reader that falls behind
//! gets the newest of each presence in its next message, never a backlog, so the memory a
//! slow reader costs is one entry per presence it is to be told of: those shown (at most
//! [`Limits::presence_max_per_document`]) and those that went since it was last written to
//! (see BENCHMARKS.md, "Presence").

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use axum::extract::ws::Utf8Bytes;
use immer::Draftable;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::Notify;

use super::limits::{Bucket, Limits, close_code};
use super::{Backend, Connection, Context, Core, Hub, Link, lock};
use crate::protocol::{Presence, ServerMessage, presence_message_limit};

mod relay;

#[cfg(feature = "jetstream")]
pub(crate) use relay::MOST_HEARD;
pub use relay::PresenceChannel;

/// One presence as the others receive it: `{"client":..,"user":..,"state":..}`, written once
/// per state and shared by every message that carries it.
type Wire = Arc<str>;

/// `state` in its canonical form: compact JSON, each object's members sorted by key, as
/// every client receives it; or why it is refused (deeper than
/// [`Limits::presence_max_depth`], larger than [`Limits::presence_max_bytes`] written so, or a
/// `__proto__` key, which would set its object's prototype in a JavaScript client that copies
/// it). Written in one walk, which stops as soon as the text is too long.
pub(crate) fn canonical(state: &serde_json::Value, limits: &Limits) -> Result<String, String> {
    let mut text = String::new();
    write_canonical(state, 0, &mut text, limits)?;
    if text.len() > limits.presence_max_bytes {
        return Err(too_large(limits));
    }
    Ok(text)
}

fn too_large(limits: &Limits) -> String {
    format!(
        "the presence state is over {} bytes (as compact JSON)",
        limits.presence_max_bytes
    )
}

fn write_canonical(
    value: &serde_json::Value,
    depth: usize,
    text: &mut String,
    limits: &Limits,
) -> Result<(), String> {
    use serde_json::Value;
    if text.len() > limits.presence_max_bytes {
        return Err(too_large(limits));
    }
    let nested = |depth: usize| {
        if depth >= limits.presence_max_depth {
            Err(format!(
                "the presence state nests arrays and objects deeper than {}",
                limits.presence_max_depth
            ))
        } else {
            Ok(())
        }
    };
    match value {
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::String(_) => {
            // A value's own `Display` is its compact JSON.
            let _ = write!(text, "{value}");
        }
        Value::Array(items) => {
            nested(depth)?;
            text.push('[');
            for (n, item) in items.iter().enumerate() {
                if n > 0 {
                    text.push(',');
                }
                write_canonical(item, depth + 1, text, limits)?;
            }
            text.push(']');
        }
        Value::Object(members) => {
            nested(depth)?;
            // Sorted here, whatever order the map keeps (serde_json's `preserve_order`).
            let mut members: Vec<(&String, &Value)> = members.iter().collect();
            members.sort_unstable_by(|a, b| a.0.cmp(b.0));
            text.push('{');
            for (n, (key, member)) in members.into_iter().enumerate() {
                if key == "__proto__" {
                    return Err(
                        "the presence state has a `__proto__` key, which JavaScript cannot hold"
                            .to_owned(),
                    );
                }
                if n > 0 {
                    text.push(',');
                }
                let _ = write!(text, "{}:", Value::String(key.clone()));
                write_canonical(member, depth + 1, text, limits)?;
            }
            text.push('}');
        }
    }
    Ok(())
}

/// `{"client":id,"user":user,"state":state}` (`state` canonical JSON, or `null`).
fn wire(id: u64, user: &str, state: Option<&str>) -> Wire {
    let user = serde_json::Value::String(user.to_owned());
    let state = state.unwrap_or("null");
    Arc::from(format!(
        r#"{{"client":{id},"user":{user},"state":{state}}}"#
    ))
}

/// A document's presences, and what changed of them since they were last sent.
pub(crate) struct Presences {
    /// Each presence shown, by its number (its connection's).
    entries: HashMap<u64, Entry>,
    /// What changed since the last flush: each presence at its newest (`state` `null` for
    /// one that went), by number.
    changed: BTreeMap<u64, Wire>,
    /// Wakes the ticker: something changed.
    notify: Arc<Notify>,
    /// Whether the ticker runs (it runs for as long as the document, once started).
    ticker: bool,
    /// The other servers of the document, when it has some.
    relay: Option<relay::Relay>,
}

struct Entry {
    user: String,
    /// The state, canonical JSON.
    state: Arc<str>,
    /// The presence as sent.
    wire: Wire,
    /// When it was last set or sent again.
    updated: Instant,
    /// For another server's presence: that server, and its number there.
    origin: Option<relay::Origin>,
}

/// What changed in one flush: each presence at its newest, in order of number.
pub(crate) struct Batch {
    entries: Vec<(u64, Wire)>,
}

impl Default for Presences {
    fn default() -> Self {
        Presences {
            entries: HashMap::new(),
            changed: BTreeMap::new(),
            notify: Arc::new(Notify::new()),
            ticker: false,
            relay: None,
        }
    }
}

impl Presences {
    /// Shows `state` (canonical) as presence `id` of `user` (of another server: `origin`);
    /// the same state again only keeps it shown (nothing is sent).
    pub(crate) fn set(
        &mut self,
        id: u64,
        user: &str,
        state: String,
        now: Instant,
        origin: Option<relay::Origin>,
    ) {
        if let Some(entry) = self.entries.get_mut(&id) {
            entry.updated = now;
            if *entry.state == *state {
                return;
            }
        }
        let wire = wire(id, user, Some(&state));
        self.changed.insert(id, Arc::clone(&wire));
        if let (Some(relay), None) = (&mut self.relay, &origin) {
            relay.changed.insert(id, Arc::clone(&wire));
        }
        self.entries.insert(
            id,
            Entry {
                user: user.to_owned(),
                state: Arc::from(state),
                wire,
                updated: now,
                origin,
            },
        );
        self.notify.notify_one();
    }

    /// Takes presence `id` away, if it is shown.
    pub(crate) fn remove(&mut self, id: u64) {
        if let Some(entry) = self.entries.remove(&id) {
            let wire = wire(id, &entry.user, None);
            if let Some(relay) = &mut self.relay {
                if let Some(origin) = &entry.origin {
                    relay.remote.remove(origin);
                } else {
                    relay.changed.insert(id, Arc::clone(&wire));
                }
            }
            self.changed.insert(id, wire);
            self.notify.notify_one();
        }
    }

    /// Takes away every presence not set or sent again within `timeout` before `now`.
    fn expire(&mut self, now: Instant, timeout: std::time::Duration) {
        let stale: Vec<u64> = self
            .entries
            .iter()
            .filter(|(_, entry)| now.saturating_duration_since(entry.updated) >= timeout)
            .map(|(id, _)| *id)
            .collect();
        for id in stale {
            self.remove(id);
        }
    }

    /// When the ticker has work next without being told: the first presence shown now will
    /// have been shown too long, or this server's are due to be said again to the others.
    fn next_due(&self, timeout: std::time::Duration) -> Option<Instant> {
        let expiry = self.entries.values().map(|e| e.updated + timeout).min();
        let heartbeat = self.relay.as_ref().and_then(|relay| {
            let local = self.entries.values().any(|e| e.origin.is_none());
            local.then_some(relay.next_heartbeat)
        });
        expiry.into_iter().chain(heartbeat).min()
    }

    /// What changed since the last call, if anything did.
    fn take_changed(&mut self) -> Option<Arc<Batch>> {
        if self.changed.is_empty() {
            return None;
        }
        let entries = std::mem::take(&mut self.changed).into_iter().collect();
        Some(Arc::new(Batch { entries }))
    }

    /// Every presence shown now, as sent (for a connection that joins).
    pub(super) fn snapshot(&self) -> BTreeMap<u64, Wire> {
        self.entries
            .iter()
            .map(|(id, entry)| (*id, Arc::clone(&entry.wire)))
            .collect()
    }

    /// Every presence shown now, in order of number.
    fn list(&self) -> Vec<Presence> {
        let mut list: Vec<Presence> = self
            .entries
            .iter()
            .map(|(id, entry)| Presence {
                client: *id,
                user: entry.user.clone(),
                state: serde_json::from_str(&entry.state).unwrap_or(serde_json::Value::Null),
            })
            .collect();
        list.sort_unstable_by_key(|p| p.client);
        list
    }
}

/// What one socket has yet to be sent of presence, for each document it carries (by the
/// document's tag on a socket of many; `None` on a socket of one). A document's updates wait
/// here, the newest of each presence, behind one marker in the socket's queue; its writer
/// writes them as one message when it comes to the marker.
#[derive(Default)]
pub(crate) struct Outbox {
    documents: Vec<(Option<Arc<str>>, Pending)>,
    /// The last generation given: a subscription's updates are sent only at its own markers.
    generations: u64,
}

impl Outbox {
    /// What waits for the document of `key` (at most as many documents as a socket carries).
    fn pending(&mut self, key: Option<&str>) -> Option<&mut Pending> {
        self.documents
            .iter_mut()
            .find(|(k, _)| k.as_deref() == key)
            .map(|(_, pending)| pending)
    }
}

struct Pending {
    /// Of the subscription these updates are for (a marker of another is passed over).
    generation: u64,
    /// The subscription's own presence: never sent to it.
    own: u64,
    /// Whether a marker of this generation waits in the queue.
    scheduled: bool,
    updates: Updates,
}

enum Updates {
    None,
    /// One flush's batch, shared with every other reader (the reader kept up).
    Shared(Arc<Batch>),
    /// Several flushes', each presence at its newest (the reader fell behind).
    Merged(BTreeMap<u64, Wire>),
}

impl Updates {
    fn take(&mut self) -> Updates {
        std::mem::replace(self, Updates::None)
    }

    /// `batch` added, but `own`.
    fn add(&mut self, batch: &Arc<Batch>, own: u64) {
        *self = match self.take() {
            Updates::None => Updates::Shared(Arc::clone(batch)),
            Updates::Shared(earlier) => {
                let mut merged = BTreeMap::new();
                for (id, wire) in earlier.entries.iter().chain(&batch.entries) {
                    if *id != own {
                        merged.insert(*id, Arc::clone(wire));
                    }
                }
                Updates::Merged(merged)
            }
            Updates::Merged(mut merged) => {
                for (id, wire) in &batch.entries {
                    if *id != own {
                        merged.insert(*id, Arc::clone(wire));
                    }
                }
                Updates::Merged(merged)
            }
        };
    }
}

/// An item of a socket's queue: a message, or the place where a document's presence
/// updates are written (see [`Outbox`]).
pub(crate) enum Outgoing {
    Message(axum::extract::ws::Message),
    Presence {
        key: Option<Arc<str>>,
        generation: u64,
    },
}

impl Link {
    /// Starts a subscription's presence on this socket: `snapshot` (every presence shown,
    /// but `own`) is sent next in the queue, and then what changes. Updates of an earlier
    /// subscription of the same document not yet written are dropped. `false` when the queue
    /// is full (the socket is closed as too slow).
    pub(crate) fn start_presence(
        &self,
        key: Option<Arc<str>>,
        own: u64,
        mut snapshot: BTreeMap<u64, Wire>,
        limits: &Limits,
    ) -> bool {
        snapshot.remove(&own);
        let mut outbox = lock(&self.presence);
        outbox.generations += 1;
        let generation = outbox.generations;
        let scheduled = !snapshot.is_empty();
        let updates = if scheduled {
            Updates::Merged(snapshot)
        } else {
            Updates::None
        };
        let pending = Pending {
            generation,
            own,
            scheduled,
            updates,
        };
        match outbox.pending(key.as_deref()) {
            Some(earlier) => *earlier = pending,
            None => outbox.documents.push((key.clone(), pending)),
        }
        !scheduled || self.mark(key, generation, limits)
    }

    /// Adds `batch` to what the subscription whose own presence is `own` has yet to be sent;
    /// queues a marker when none waits. `false` when the queue is full (the socket is closed
    /// as too slow).
    fn offer_presence(
        &self,
        key: Option<Arc<str>>,
        own: u64,
        batch: &Arc<Batch>,
        limits: &Limits,
    ) -> bool {
        // Nothing for a reader whose own presence is all that changed.
        if batch.entries.iter().all(|(id, _)| *id == own) {
            return true;
        }
        let mut outbox = lock(&self.presence);
        let Some(pending) = outbox.pending(key.as_deref()).filter(|p| p.own == own) else {
            return true;
        };
        pending.updates.add(batch, own);
        if pending.scheduled {
            return true;
        }
        pending.scheduled = true;
        let generation = pending.generation;
        drop(outbox);
        self.mark(key, generation, limits)
    }

    /// Queues the marker of a document's presence updates.
    fn mark(&self, key: Option<Arc<str>>, generation: u64, limits: &Limits) -> bool {
        if self
            .outbound
            .try_send(Outgoing::Presence { key, generation })
            .is_ok()
        {
            return true;
        }
        self.close_too_slow(limits, true);
        false
    }

    /// Ends a subscription's presence on this socket (what it had yet to be sent is dropped).
    pub(crate) fn end_presence(&self, key: Option<&str>, own: u64) {
        let mut outbox = lock(&self.presence);
        let documents = &mut outbox.documents;
        if let Some(at) = documents
            .iter()
            .position(|(k, p)| k.as_deref() == key && p.own == own)
        {
            documents.swap_remove(at);
        }
    }
}

impl Outbox {
    /// The message a marker stands for: the presence updates of its document waiting, if
    /// the marker is still theirs and any wait (for the socket's writer).
    pub(crate) fn message(
        outbox: &Mutex<Outbox>,
        key: Option<&str>,
        generation: u64,
    ) -> Option<Utf8Bytes> {
        let mut outbox = lock(outbox);
        let pending = outbox.pending(key).filter(|p| p.generation == generation)?;
        pending.scheduled = false;
        let own = pending.own;
        let updates = pending.updates.take();
        drop(outbox);
        let mut text = String::new();
        text.push_str(key.unwrap_or("{"));
        text.push_str(r#""type":"presence","presences":["#);
        let start = text.len();
        let mut push = |wire: &str| {
            if text.len() > start {
                text.push(',');
            }
            text.push_str(wire);
        };
        match &updates {
            Updates::None => {}
            Updates::Shared(batch) => batch
                .entries
                .iter()
                .filter(|(id, _)| *id != own)
                .for_each(|(_, wire)| push(wire)),
            Updates::Merged(merged) => merged.values().for_each(|wire| push(wire)),
        }
        if text.len() == start {
            return None;
        }
        text.push_str("]}");
        Some(Utf8Bytes::from(text))
    }
}

/// A subscription's presence budget: [`Limits::presence_per_second`], as many at once.
pub(crate) fn presence_budget(limits: &Limits) -> Mutex<Bucket> {
    let rate = limits.presence_per_second;
    Mutex::new(Bucket::new(rate, rate))
}

impl<B> Core<B> {
    /// The key of `connection`'s presence updates in its socket's [`Outbox`].
    pub(super) fn presence_key(&self, connection: &Connection) -> Option<Arc<str>> {
        if connection.tagged {
            self.tag.clone()
        } else {
            None
        }
    }

    /// Sends what changed of the presences to every connection, and of this server's to
    /// the others; a connection whose queue is full is removed (and told why).
    pub(super) fn flush_presence(&mut self, limits: &Limits) {
        self.presences
            .relay_changes(Instant::now(), limits.presence_timeout);
        let Some(batch) = self.presences.take_changed() else {
            return;
        };
        let slow: Vec<u64> = self
            .connections
            .iter()
            .filter(|(id, entry)| {
                let key = self.presence_key(entry);
                !entry.link.offer_presence(key, **id, &batch, limits)
            })
            .map(|(id, _)| *id)
            .collect();
        for id in slow {
            self.remove_connection(id);
        }
    }
}

impl<T, R, B> Hub<T, R, B>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
    B: Backend<T>,
{
    /// The presences shown on the document now, in order of number: each connection's that
    /// set one (see [`ClientMessage::Presence`](crate::protocol::ClientMessage::Presence)).
    /// Never in the log, the store or the devtools.
    #[must_use]
    pub fn presences(&self) -> Vec<Presence> {
        self.core().presences.list()
    }

    /// A connection's presence message: `state` (`None`: cleared) shown to the others, or
    /// refused with the reason; `false` when the connection is closed (a flood) or no longer
    /// registered.
    pub(super) fn set_presence(
        &self,
        context: &Context<R>,
        state: Result<Option<serde_json::Value>, usize>,
    ) -> bool {
        let limits = &self.inner.limits;
        // The cheapest check first: the rate.
        if !lock(&context.presence).take(1.0) {
            let reason = format!(
                "flood: more than {} presence messages per second",
                limits.presence_per_second
            );
            if let Some(entry) = self.core().remove_connection(context.connection) {
                entry.link.close_with(close_code::POLICY, reason);
            }
            return false;
        }
        let canonical = match state {
            Err(length) => Err(format!(
                "the presence message is {length} bytes: a state of at most {} bytes is sent in {} at most",
                limits.presence_max_bytes,
                presence_message_limit(limits.presence_max_bytes)
            )),
            Ok(None) => Ok(None),
            Ok(Some(state)) => canonical(&state, limits).map(Some),
        };
        let canonical = match canonical {
            Ok(canonical) => canonical,
            Err(reason) => {
                let refused = ServerMessage::<T>::PresenceRefused { reason };
                self.send_to(context.connection, &refused);
                return true;
            }
        };
        let mut core = self.core();
        if !core.connections.contains_key(&context.connection) {
            return false;
        }
        if canonical.is_some()
            && !core.presences.entries.contains_key(&context.connection)
            && core.presences.entries.len() >= limits.presence_max_per_document
        {
            drop(core);
            let reason = format!(
                "this document shows at most {} presences at once",
                limits.presence_max_per_document
            );
            self.send_to(
                context.connection,
                &ServerMessage::<T>::PresenceRefused { reason },
            );
            return true;
        }
        match canonical {
            Some(state) => {
                let now = Instant::now();
                core.presences
                    .set(context.connection, &context.user, state, now, None);
            }
            None => core.presences.remove(context.connection),
        }
        self.start_ticker(&mut core);
        true
    }

    /// Starts the document's ticker, once (see the module's documentation): it runs for as
    /// long as the hub.
    fn start_ticker(&self, core: &mut Core<B>) {
        if core.presences.ticker {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        core.presences.ticker = true;
        let hub = Arc::downgrade(&self.inner);
        let notify = Arc::clone(&core.presences.notify);
        let interval = self.inner.limits.presence_interval;
        let timeout = self.inner.limits.presence_timeout;
        runtime.spawn(async move {
            let mut last: Option<Instant> = None;
            loop {
                // Until something changes, or the first presence is due to be taken away
                // (with none, a while, to let go once the hub is gone).
                let deadline = {
                    let Some(inner) = hub.upgrade() else { return };
                    let core = lock(&inner.core);
                    core.presences
                        .next_due(timeout)
                        .unwrap_or_else(|| Instant::now() + timeout)
                };
                tokio::select! {
                    () = notify.notified() => {}
                    () = tokio::time::sleep_until(deadline.into()) => {}
                }
                // What changes within the interval goes out together.
                if let Some(last) = last {
                    tokio::time::sleep_until((last + interval).into()).await;
                }
                let Some(inner) = hub.upgrade() else { return };
                let mut core = lock(&inner.core);
                let now = Instant::now();
                core.presences.expire(now, timeout);
                core.flush_presence(&inner.limits);
                last = Some(now);
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn limits(bytes: usize, depth: usize) -> Limits {
        Limits {
            presence_max_bytes: bytes,
            presence_max_depth: depth,
            ..Limits::default()
        }
    }

    #[test]
    fn a_state_is_written_in_one_form() {
        let limits = limits(1024, 4);
        let state = json!({"z": 1, "a": {"y": [1.5, "é\"\n"], "b": null}, "m": true});
        assert_eq!(
            canonical(&state, &limits).unwrap(),
            r#"{"a":{"b":null,"y":[1.5,"é\"\n"]},"m":true,"z":1}"#
        );
    }

    #[test]
    fn a_state_too_large_too_deep_or_with_a_prototype_key_is_refused() {
        let limits = limits(64, 3);
        let large = json!({"text": "x".repeat(100)});
        assert!(
            canonical(&large, &limits)
                .unwrap_err()
                .contains("over 64 bytes")
        );
        let deep = json!([[[[1]]]]);
        assert!(
            canonical(&deep, &limits)
                .unwrap_err()
                .contains("deeper than 3")
        );
        assert!(canonical(&json!([[[1]]]), &limits).is_ok());
        let proto: serde_json::Value = serde_json::from_str(r#"{"a":{"__proto__":{}}}"#).unwrap();
        assert!(
            canonical(&proto, &limits)
                .unwrap_err()
                .contains("__proto__")
        );
        // A long array is refused as soon as it is too long, not after it is written.
        let long = serde_json::Value::Array(vec![json!(123_456_789); 100_000]);
        assert!(canonical(&long, &limits).is_err());
    }

    #[test]
    fn a_reader_behind_gets_the_newest_of_each_presence_once() {
        let (link, mut queue, _close) = Link::new(&Limits::default());
        let limits = Limits::default();
        assert!(link.start_presence(None, 9, BTreeMap::new(), &limits));
        let batch = |entries: &[(u64, &str)]| {
            Arc::new(Batch {
                entries: entries
                    .iter()
                    .map(|(id, state)| (*id, wire(*id, "u", Some(state))))
                    .collect(),
            })
        };
        assert!(link.offer_presence(None, 9, &batch(&[(1, "1"), (9, "own")]), &limits));
        assert!(link.offer_presence(None, 9, &batch(&[(1, "2"), (2, "3")]), &limits));
        let Ok(Outgoing::Presence { key, generation }) = queue.try_recv() else {
            panic!("one marker");
        };
        assert!(queue.try_recv().is_err(), "one marker for both");
        let text = Outbox::message(&link.presence, key.as_deref(), generation).unwrap();
        assert_eq!(
            text.as_str(),
            r#"{"type":"presence","presences":[{"client":1,"user":"u","state":2},{"client":2,"user":"u","state":3}]}"#
        );
        assert!(Outbox::message(&link.presence, key.as_deref(), generation).is_none());
    }
}
