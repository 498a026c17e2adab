//! What a client may make the server hold and do ([`Limits`]), and the checks a change
//! passes before it reaches the document, cheapest first.

use std::time::{Duration, Instant};

use immer::sync::RejectReason;
use immer::{Patch, PatchOp, Path, PathSegment};

/// The server's limits; a client that exceeds one gets a rejection or is disconnected with a
/// reason, and the others go on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest message a client may send, in bytes: a larger one closes the connection
    /// (code 1009). 256 KiB by default.
    pub max_message_bytes: usize,
    /// The most patches in one change: more is a rejection. 1,000 by default.
    pub max_patches: usize,
    /// The most segments in one path: deeper is a rejection. 32 by default.
    pub max_path_depth: usize,
    /// The most messages of one client read and not yet handled: a client that sends faster
    /// than its changes are ordered is disconnected (code 1008). 64 by default.
    pub max_pending: usize,
    /// The most messages a client may send per second, on average over `burst`: a flood
    /// disconnects it (code 1008). 200 by default.
    pub messages_per_second: u32,
    /// How many messages above the rate a client may send at once. 400 by default.
    pub burst: u32,
    /// The most messages waiting to be written to one client: a client that reads slower
    /// than the document changes is disconnected (code 1008), never waited for. 4,096 by
    /// default.
    pub max_outbound: usize,
    /// How long a connection has to send its token, and the authentication hook to verify
    /// it. 5 seconds by default.
    pub auth_timeout: Duration,
    /// How long a write to one client may take: a client that does not read for that long
    /// is disconnected. 10 seconds by default.
    pub write_timeout: Duration,
    /// How many committed changes are kept for clients that resynchronize: one further
    /// behind gets a snapshot. 10,000 by default.
    pub keep_log: u64,
    /// The most bytes waiting to be written to one client (at least one message always
    /// waits): a client that reads slower than the document changes, or asks for more than
    /// it reads, is disconnected (code 1008). 8 MiB by default.
    pub max_outbound_bytes: usize,
    /// The most bytes a client may make the server handle per second, on average over
    /// `burst_bytes`: what it sends, and what it asks for (a snapshot costs its size, a
    /// resynchronization the size of the changes sent). A client over it is disconnected
    /// (code 1008). 1 MiB by default.
    pub bytes_per_second: usize,
    /// How many bytes above the rate a client may use at once. 8 MiB by default.
    pub burst_bytes: usize,
    /// The most work to move one change through what was committed since its base: the
    /// patches committed since its base times (its patches + 50) (see
    /// [`Leader::with_move_limit`](immer::sync::Leader::with_move_limit)). A change over it
    /// is refused before it is moved, so that no change holds the document for long.
    /// 400,000 by default (a few milliseconds at worst: see BENCHMARKS.md): a change of one
    /// patch may be about 7,800 one-patch changes behind, one of 1,000 patches 380.
    pub max_move_work: usize,
    /// The most sessions kept, connected or not: opening one more forgets the one idle the
    /// longest; when every session is connected, the connection is refused (code 1013).
    /// 10,000 by default.
    pub max_sessions: usize,
    /// How long a session is kept after its connection closed, for the client to resume it
    /// (and have its change in flight answered once): after that it is forgotten, and a
    /// client that comes back gets a new session. 5 minutes by default.
    pub session_idle: Duration,
    /// The most sessions one user keeps in one document, connected or not: opening one more
    /// forgets that user's session idle the longest; when every one of theirs is connected,
    /// the new one is refused (code 1013). So that no user, opening sessions again and again,
    /// pushes out the sessions of others waiting to be resumed. 64 by default.
    pub max_sessions_per_user: usize,
    /// The most connections open at once, through [`Hub::listen`](super::Hub::listen): one more is answered
    /// `503` with the reason and closed. 1,024 by default.
    pub max_connections: usize,
    /// The most connections open at once from one IP address, through [`Hub::listen`](super::Hub::listen): one
    /// more is answered `429` with the reason and closed. 64 by default.
    pub max_connections_per_address: usize,
    /// How long a connection has, through [`Hub::listen`](super::Hub::listen), from the moment it is accepted
    /// to finish its first HTTP request (the WebSocket upgrade): one that has not is
    /// closed. Then [`auth_timeout`](Limits::auth_timeout) runs for its token. 10 seconds by
    /// default.
    pub handshake_timeout: Duration,
    /// On a [`Server`](crate::Server) of many documents: the most documents open at once.
    /// Opening one more first closes the one unused the longest (no socket subscribed, no
    /// edit of the server's waiting, its kept sessions forgotten); when every open document
    /// is in use, the subscription is refused with the reason. 10,000 by default.
    pub max_open_documents: usize,
    /// On a [`Server`](crate::Server): the most documents one socket subscribes to at once;
    /// one more is refused with the reason. 64 by default.
    pub max_documents_per_connection: usize,
    /// On a [`Server`](crate::Server): how long an open document stays open with no socket
    /// subscribed and no edit of the server's waiting; then it is closed (its memory given
    /// back, its kept sessions forgotten) and opened again from storage at its next use.
    /// 5 minutes by default (as [`session_idle`](Limits::session_idle)).
    pub document_idle: Duration,
    /// The largest presence state one connection may show (see
    /// [`ClientMessage::Presence`](crate::protocol::ClientMessage::Presence)), in bytes of its
    /// canonical JSON: a larger one is refused with the reason (and its message, when too
    /// long to hold a state this size, refused unread). What one document holds of presence
    /// is at most this for each connection subscribed to it (and each remote one, on
    /// JetStream). 2 KiB by default.
    pub presence_max_bytes: usize,
    /// The deepest a presence state may nest arrays and objects: deeper is refused with the
    /// reason. 8 by default.
    pub presence_max_depth: usize,
    /// The most presence messages one connection may send per second to one document, on
    /// average over as many at once: more closes the connection (code 1008). Each counts in
    /// the socket's message and byte budgets as well. 40 by default (the JavaScript client
    /// sends at most 20).
    pub presence_per_second: u32,
    /// How long a presence is shown without being sent again: then it is taken away from
    /// the others (clients send theirs again to keep it; the JavaScript client does every 10
    /// seconds). Also how long a remote server's presences are kept without word from it, on
    /// JetStream. 30 seconds by default.
    pub presence_timeout: Duration,
    /// The shortest time between two presence messages to one connection for one document:
    /// what changes meanwhile goes out together in the next, each presence at its newest (a
    /// client that reads slowly gets fewer, larger messages, never a backlog). 50 ms by
    /// default (20 messages per second at most).
    pub presence_interval: Duration,
    /// The most presences one document shows at once (its connections' and, on JetStream,
    /// the other servers'): a connection's first state past it is refused with the reason,
    /// another server's is not taken. With [`presence_max_bytes`](Limits::presence_max_bytes)
    /// it bounds what a reader is sent when it joins (all the presences at once). 1,000 by
    /// default.
    pub presence_max_per_document: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 256 * 1024,
            max_patches: 1_000,
            max_path_depth: 32,
            max_pending: 64,
            messages_per_second: 200,
            burst: 400,
            max_outbound: 4_096,
            auth_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            keep_log: 10_000,
            max_outbound_bytes: 8 << 20,
            bytes_per_second: 1 << 20,
            burst_bytes: 8 << 20,
            max_move_work: 400_000,
            max_sessions: 10_000,
            session_idle: Duration::from_secs(5 * 60),
            max_sessions_per_user: 64,
            max_connections: 1_024,
            max_connections_per_address: 64,
            handshake_timeout: Duration::from_secs(10),
            max_open_documents: 10_000,
            max_documents_per_connection: 64,
            document_idle: Duration::from_secs(5 * 60),
            presence_max_bytes: 2048,
            presence_max_depth: 8,
            presence_per_second: 40,
            presence_timeout: Duration::from_secs(30),
            presence_interval: Duration::from_millis(50),
            presence_max_per_document: 1_000,
        }
    }
}

/// Close codes the server uses.
pub mod close_code {
    /// The client broke a rule: a flood, too many pending changes, too slow a reader.
    pub const POLICY: u16 = 1008;
    /// A message that is not a valid protocol message.
    pub const INVALID: u16 = 1007;
    /// A binary message.
    pub const UNSUPPORTED: u16 = 1003;
    /// A message over [`Limits::max_message_bytes`](super::Limits::max_message_bytes).
    pub const TOO_BIG: u16 = 1009;
    /// The server cannot take the connection now (every session is connected).
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// No token, a bad one, or none in time.
    pub const UNAUTHORIZED: u16 = 4401;
    /// Another connection of the same user resumed this connection's session.
    pub const SESSION_TAKEN: u16 = 4409;
    /// The identity may not read the document.
    pub const FORBIDDEN: u16 = 4403;
    /// No document has the name asked for.
    pub const NOT_FOUND: u16 = 4404;
    /// The document was deleted.
    pub const GONE: u16 = 4410;
}

/// What one client may make the server handle: messages and bytes per second.
pub(crate) struct Budget {
    messages: Bucket,
    bytes: Bucket,
    messages_per_second: u32,
    bytes_per_second: usize,
}

impl Budget {
    pub(crate) fn new(limits: &Limits) -> Self {
        #[allow(clippy::cast_precision_loss, reason = "a rate, not an exact count")]
        let bytes = Bucket::with(limits.bytes_per_second as f64, limits.burst_bytes as f64);
        Budget {
            messages: Bucket::new(limits.messages_per_second, limits.burst),
            bytes,
            messages_per_second: limits.messages_per_second,
            bytes_per_second: limits.bytes_per_second,
        }
    }

    /// Takes one message of `bytes` (a snapshot asked for: no message, its size), or says
    /// which rate it breaks.
    pub(crate) fn take(&mut self, bytes: usize) -> Result<(), String> {
        if !self.messages.take(1.0) {
            let rate = self.messages_per_second;
            return Err(format!("flood: more than {rate} messages per second"));
        }
        #[allow(clippy::cast_precision_loss, reason = "a rate, not an exact count")]
        if !self.bytes.take(bytes as f64) {
            let rate = self.bytes_per_second;
            return Err(format!("flood: more than {rate} bytes per second"));
        }
        Ok(())
    }
}

/// A token bucket: `rate` messages per second on average, `burst` more at once.
pub(crate) struct Bucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    pub(crate) fn new(rate: u32, burst: u32) -> Self {
        Bucket::with(f64::from(rate), f64::from(burst.max(1)))
    }

    fn with(rate: f64, capacity: f64) -> Self {
        Bucket {
            rate,
            capacity,
            tokens: capacity,
            at: Instant::now(),
        }
    }

    /// Takes `cost` tokens. A cost over the whole burst is let through when the bucket is
    /// full (and empties it): one large message is never refused for its size alone.
    pub(crate) fn take(&mut self, cost: f64) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        if self.tokens >= cost.min(self.capacity) {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}

/// The limits a change breaks before it reaches the leader, and the operations Immer cannot
/// apply (clients apply every committed change with Immer's `applyPatches`).
pub(super) fn check_limits(patches: &[Patch], limits: &Limits) -> Option<RejectReason> {
    if patches.len() > limits.max_patches {
        return Some(RejectReason::Limit {
            limit: "patches per change".to_owned(),
            max: limits.max_patches,
            got: patches.len(),
        });
    }
    let deepest = patches
        .iter()
        .flat_map(|p| std::iter::once(&p.path).chain(p.from.as_ref()))
        .map(immer::Path::len)
        .max()
        .unwrap_or(0);
    if deepest > limits.max_path_depth {
        return Some(RejectReason::Limit {
            limit: "segments per path".to_owned(),
            max: limits.max_path_depth,
            got: deepest,
        });
    }
    patches
        .iter()
        .position(|p| !matches!(p.op, PatchOp::Add | PatchOp::Remove | PatchOp::Replace))
        .map(|index| RejectReason::DoesNotApply {
            index,
            path: patches[index].path.clone(),
            message: "clients apply changes with Immer, which takes only add, remove and replace"
                .to_owned(),
        })
}

/// Keys a JavaScript client cannot hold: Immer refuses to patch a path through `__proto__`
/// or `constructor`, and a value holding a `__proto__` member would set its object's
/// prototype when Immer copies it. The path of the first one, in a patch's path or value.
pub(super) fn unsafe_key(patches: &[Patch]) -> Option<Path> {
    fn in_value(value: &serde_json::Value, path: &mut Path) -> bool {
        match value {
            serde_json::Value::Object(members) => members.iter().any(|(key, member)| {
                path.push(key.as_str());
                if key == "__proto__" || in_value(member, path) {
                    return true;
                }
                path.pop();
                false
            }),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(n, item)| {
                path.push(n);
                if in_value(item, path) {
                    return true;
                }
                path.pop();
                false
            }),
            _ => false,
        }
    }
    for patch in patches {
        for path in std::iter::once(&patch.path).chain(patch.from.as_ref()) {
            let bad = |s: &PathSegment| matches!(s, PathSegment::Key(k) if k == "__proto__" || k == "constructor");
            if path.segments().iter().any(bad) {
                return Some(path.clone());
            }
        }
        let mut path = patch.path.clone();
        if patch.value.as_ref().is_some_and(|v| in_value(v, &mut path)) {
            return Some(path);
        }
    }
    None
}
