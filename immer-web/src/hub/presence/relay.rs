//! The presences of the other servers of a document whose log they share (JetStream): each
//! server says what changed of its own connections' presences, and all of them again every
//! third of [`Limits::presence_timeout`](crate::Limits::presence_timeout), on a [`PresenceChannel`] beside the log (core
//! NATS: nothing is kept), and shows the others' to its readers as its own. A server that
//! goes silent (it crashed, or lost NATS) has its presences taken away after the timeout, as
//! a connection's that stops sending. A server that opens the document asks the others to say
//! theirs at once.
//!
//! A message between servers is `{"server": <id>, "ask": <bool>, "presences": [...]}`, each
//! presence as the readers receive it (`client` its number on that server). What another
//! server says is read as a client's presence is: bounded, and its states made canonical
//! again; a message that does not read so is dropped. Messages are at most a few hundred
//! kilobytes (what a server has to say is cut into several), and what waits to be published or
//! read is bounded: over it, messages are dropped (the next heartbeat says it again).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime};

use immer::Draftable;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use super::{Presences, Wire, canonical};
use crate::hub::{Backend, Hub};

/// A document's line to the other servers that serve it: what this server publishes for them,
/// and what they publish (this server's own messages may come back too: they are recognized
/// and skipped). Each message is one JSON text. A [`Storage`](crate::Storage) whose servers
/// share documents gives one per document opened
/// ([`Storage::presence_channel`](crate::Storage::presence_channel)); on JetStream it is a
/// core NATS subject (`immer_nats::Store::presence_subject`).
///
/// Both ends are bounded: a message that does not fit is dropped, and the next heartbeat
/// says it again.
#[derive(Debug)]
pub struct PresenceChannel {
    /// What this server publishes.
    pub outgoing: mpsc::Sender<Vec<u8>>,
    /// What the servers of the document published.
    pub incoming: mpsc::Receiver<Vec<u8>>,
}

/// Another server's presence: that server, and its number there.
pub(crate) type Origin = (Arc<str>, u64);

/// The longest message published: several are sent when there is more to say. (NATS takes
/// 1 MiB by default.)
const MESSAGE_BYTES: usize = 256 * 1024;
/// The longest message read: anything longer is not another server's.
pub(crate) const MOST_HEARD: usize = 1 << 20;
/// The longest server id and user name read from another server.
const MOST_SERVER: usize = 64;
const MOST_USER: usize = 1024;

/// A document's relay: who this server is to the others, and what it has to tell them.
pub(crate) struct Relay {
    server: Arc<str>,
    outgoing: mpsc::Sender<Vec<u8>>,
    /// This server's presences changed since they were last published, at their newest.
    pub(super) changed: BTreeMap<u64, Wire>,
    /// The others' presences shown here: their number here, by server and number there.
    pub(super) remote: HashMap<Origin, u64>,
    /// When this server's presences are said again.
    pub(super) next_heartbeat: Instant,
}

/// A message of another server, as read.
#[derive(Deserialize)]
struct Heard {
    server: String,
    #[serde(default)]
    ask: bool,
    #[serde(default)]
    presences: Vec<HeardPresence>,
}

#[derive(Deserialize)]
struct HeardPresence {
    client: u64,
    user: String,
    state: Option<serde_json::Value>,
}

/// An id for this server's relay of one document, unique among the servers that share it
/// (the process, the time, and a count within the process).
fn server_id() -> Arc<str> {
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let nanos = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    Arc::from(format!("{:x}-{nanos:x}-{count:x}", std::process::id()))
}

impl Relay {
    /// Publishes `presences` (as sent), in messages of at most [`MESSAGE_BYTES`]; `ask`: the
    /// others are asked to say theirs.
    fn publish<'a>(&self, presences: impl IntoIterator<Item = &'a Wire>, ask: bool) {
        let server = serde_json::Value::String(self.server.to_string());
        let head = format!(r#"{{"server":{server},"ask":{ask},"presences":["#);
        let mut text = head.clone();
        let mut any = ask;
        for wire in presences {
            if text.len() > head.len() && text.len() + wire.len() > MESSAGE_BYTES {
                self.send(std::mem::replace(&mut text, head.clone()));
            }
            if text.len() > head.len() {
                text.push(',');
            }
            text.push_str(wire);
            any = true;
        }
        if any {
            self.send(text);
        }
    }

    fn send(&self, mut text: String) {
        text.push_str("]}");
        // Full (NATS is slow or away): dropped; the next heartbeat says it again.
        let _ = self.outgoing.try_send(text.into_bytes());
    }
}

impl Presences {
    /// Publishes what changed of this server's presences, and all of them again when due
    /// (every third of `timeout`).
    pub(super) fn relay_changes(&mut self, now: Instant, timeout: std::time::Duration) {
        let Some(relay) = &mut self.relay else {
            return;
        };
        if !relay.changed.is_empty() {
            let changed = std::mem::take(&mut relay.changed);
            relay.publish(changed.values(), false);
        }
        if now >= relay.next_heartbeat {
            relay.next_heartbeat = now + timeout / 3;
            let own = self.entries.values().filter(|e| e.origin.is_none());
            relay.publish(own.map(|e| &e.wire), false);
        }
    }
}

impl<T, R, B> Hub<T, R, B>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
    B: Backend<T>,
{
    /// Shares the document's presences with its other servers over `channel`, from now on
    /// and for as long as the hub lives: asks them for theirs at once.
    pub(crate) fn relay_presence(&self, channel: PresenceChannel) {
        let PresenceChannel {
            outgoing,
            mut incoming,
        } = channel;
        let limits = &self.inner.limits;
        {
            let mut core = self.core();
            let relay = Relay {
                server: server_id(),
                outgoing,
                changed: BTreeMap::new(),
                remote: HashMap::new(),
                next_heartbeat: Instant::now() + limits.presence_timeout / 3,
            };
            relay.publish([], true);
            core.presences.relay = Some(relay);
            self.start_ticker(&mut core);
        }
        let hub = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while let Some(message) = incoming.recv().await {
                let Some(inner) = hub.upgrade() else { return };
                Hub { inner }.hear(&message);
            }
        });
    }

    /// Takes what another server said: its presences shown here (each as a client's is read:
    /// bounded, made canonical), and if it asks, this server's said again soon.
    fn hear(&self, message: &[u8]) {
        let limits = &self.inner.limits;
        if message.len() > MOST_HEARD {
            return;
        }
        let Ok(heard) = serde_json::from_slice::<Heard>(message) else {
            return;
        };
        if heard.server.len() > MOST_SERVER {
            return;
        }
        // Read without the document.
        let presences: Vec<(u64, String, Option<String>)> = heard
            .presences
            .into_iter()
            .filter(|p| p.user.len() <= MOST_USER)
            .filter_map(|p| {
                let state = match p.state {
                    Some(state) => Some(canonical(&state, limits).ok()?),
                    None => None,
                };
                Some((p.client, p.user, state))
            })
            .collect();
        let now = Instant::now();
        let mut core = self.core();
        let core = &mut *core;
        let Some(relay) = &mut core.presences.relay else {
            return;
        };
        if *relay.server == *heard.server {
            return;
        }
        if heard.ask {
            relay.next_heartbeat = now;
            core.presences.notify.notify_one();
        }
        let server: Arc<str> = Arc::from(heard.server);
        for (number, user, state) in presences {
            let origin = (Arc::clone(&server), number);
            let Some(relay) = &mut core.presences.relay else {
                return;
            };
            let known = relay.remote.get(&origin).copied();
            match (state, known) {
                (Some(state), known) => {
                    let id = match known {
                        Some(id) => id,
                        // As many as a document keeps sessions, at most.
                        None if relay.remote.len() >= limits.max_sessions
                            || core.presences.entries.len() >= limits.presence_max_per_document =>
                        {
                            continue;
                        }
                        None => {
                            let id = core.next_connection;
                            core.next_connection += 1;
                            relay.remote.insert(origin.clone(), id);
                            id
                        }
                    };
                    core.presences.set(id, &user, state, now, Some(origin));
                }
                (None, Some(id)) => core.presences.remove(id),
                (None, None) => {}
            }
        }
        self.start_ticker(core);
    }
}
