//! The seam a transport plugs into: what orders a document's changes, seen from the
//! connections that carry them.

use std::sync::Arc;

use crate::draftable::Draftable;

use super::{ClientId, Committed, Leader, Outbound, SessionId, ToLeader, Welcome};

/// What orders one document's changes, behind a transport (the WebSocket hub of
/// `immer-web`, or one of your own): the in-process [`Leader`], or a node of a shared log
/// (`immer-nats`' `Document`, through `immer_web::JetStream`).
///
/// The protocol's rules live behind this trait, never in the transport: sessions and the
/// answer rule ([`Sessions`](super::Sessions)), moving a change through what was committed
/// since its base, the canonical form, the [`Checks`](super::Checks). A transport only
/// carries messages.
///
/// # What a new transport must do
///
/// 1. **Authenticate, then join.** Each connection that may edit gets a session with
///    [`join`](Backend::join), for a [`ClientId`] the transport decides from who
///    authenticated (never from what the client says), and sends the [`Welcome`]'s snapshot.
/// 2. **Speak for the connection.** A change read off the wire is sent on as
///    [`ToLeader::Change`] with the connection's own session and client, whatever the
///    message claims; so are [`ToLeader::Resync`] and [`ToLeader::SnapshotRequest`].
///    [`ToLeader::Join`] never comes from a client.
/// 3. **Deliver what comes back.** [`receive`](Backend::receive) returns messages with
///    their [`Recipient`](super::Recipient): `All` to every connection of the document, a
///    `Session` to that session's connection. A backend whose answers come later (a shared
///    log's) hands them to the transport as they come, by its own channel; the transport
///    delivers them the same way.
/// 4. **Keep order per connection.** Messages to one connection go out in the order they
///    were produced; the followers put committed changes in version order themselves and ask
///    ([`ToLeader::Resync`]) for what they miss, so a dropped connection loses nothing that
///    matters.
/// 5. **Let sessions resume, then end them.** A client that reconnects may name its session
///    to keep it (its change in flight is then answered once, by the answer rule): one the
///    transport holds for the same client, or one the backend knows as that client's
///    ([`resume_session`](Backend::resume_session)); a session whose client is gone for good
///    is ended with [`close_session`](Backend::close_session), so that the table stays
///    bounded.
/// 6. **Bound the log.** [`compact`](Backend::compact) after changes; followers that fall
///    behind the log catch up by snapshot.
pub trait Backend<T>: Send + 'static {
    /// Opens a session for `client`, with the state to start from.
    fn join(&mut self, client: ClientId) -> Welcome<T>;
    /// Handles a session's message and returns what to send now.
    fn receive(&mut self, message: ToLeader) -> Vec<Outbound<T>>;
    /// The document's state now.
    fn state(&self) -> Arc<T>;
    /// The document's version now.
    fn version(&self) -> u64;
    /// The committed changes still held, oldest first.
    fn log(&self) -> Vec<Committed>;
    /// Keeps the log to about `keep` changes (called after every change).
    fn compact(&mut self, keep: u64);
    /// Ends a session whose client is gone for good.
    fn close_session(&mut self, session: SessionId);
    /// Whether a change's answer may come after [`receive`](Backend::receive) returns (a
    /// shared log's backend answers when the change comes back through the log). `false`
    /// (the default): `receive` answers every change it orders at once, and a change it
    /// returns nothing for was neither committed nor refused (a store that could not write
    /// it), so whoever waits for its answer stops waiting.
    fn answers_later(&self) -> bool {
        false
    }
    /// The sessions it holds and their clients: the hub learns of those a durable backend
    /// kept across a restart (to let their clients resume them, or forget them in time).
    /// Empty by default.
    fn sessions(&self) -> Vec<(SessionId, ClientId)> {
        Vec::new()
    }
    /// Lets `client` resume `session`, which the transport does not hold: whether the
    /// backend knows it as `client`'s (a shared log's backend knows the sessions its log
    /// shows, whichever node opened them and in whatever life). When it does, it answers the
    /// session's changes from then on by the answer rule: its last change sent again is
    /// answered as it ended, never applied twice. `false` by default: only the sessions the
    /// transport holds (and those [`sessions`](Backend::sessions) gave it) are resumed.
    fn resume_session(&mut self, session: SessionId, client: ClientId) -> bool {
        let _ = (session, client);
        false
    }
}

impl<T: Draftable + Send + Sync + 'static> Backend<T> for Leader<T> {
    fn join(&mut self, client: ClientId) -> Welcome<T> {
        Leader::join(self, client)
    }

    fn receive(&mut self, message: ToLeader) -> Vec<Outbound<T>> {
        Leader::receive(self, message)
    }

    fn state(&self) -> Arc<T> {
        Arc::clone(Leader::state(self))
    }

    fn version(&self) -> u64 {
        Leader::version(self)
    }

    fn log(&self) -> Vec<Committed> {
        Leader::log(self).cloned().collect()
    }

    fn compact(&mut self, keep: u64) {
        let version = Leader::version(self);
        if version.saturating_sub(self.log_start()) > keep.saturating_mul(2) {
            Leader::compact(self, version - keep);
        }
    }

    fn close_session(&mut self, session: SessionId) {
        Leader::close_session(self, session);
    }

    fn sessions(&self) -> Vec<(SessionId, ClientId)> {
        self.sessions().iter().collect()
    }
}
