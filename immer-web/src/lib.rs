//! Serve [immer] documents to browsers over WebSocket.
//!
//! A [`Hub`] holds one document and a [`Leader`](immer::sync::Leader) that orders its changes;
//! every WebSocket connection is a follower. A [`Server`] holds many documents of a
//! [`Storage`] by name (the embedded store, or JetStream), each a hub of its own opened at
//! its first use and closed when idle, and one WebSocket carries any number of them. Browsers use the JavaScript client in
//! `clients/js` (Immer's `produceWithPatches` and `applyPatches`, and the same path
//! transformation as [`immer::transform`]); anything that speaks the [`protocol`] can join.
//!
//! What a connection goes through, cheapest first:
//!
//! 1. **The gate** ([`Hub::listen`], a [`Gate`] for `axum::serve`): connections are bounded
//!    in all and per address, and one must send its upgrade in time.
//! 2. **Authentication**: its first message carries a token, which the app's hook turns into
//!    an [`Identity`] (a user and a role) or refuses; a refusal, or no token in time, closes
//!    the connection with the reason (code 4401).
//! 3. **Limits** ([`Limits`]): a message over the size limit, a flood of messages or bytes
//!    (what a client asks for counts: a snapshot costs its size), or more messages than the
//!    server has handled closes the connection with a reason (codes 1009, 1008). Each
//!    connection's messages are handled by its own task and written by its own task from a
//!    queue bounded in messages and bytes: a client that reads too slowly is disconnected,
//!    never waited for, so no client stalls the others.
//! 4. **Checks without the document**: an empty change, one over a limit, a key JavaScript
//!    cannot hold, or a path no move could make allowed for the author's role is refused
//!    before anything is moved.
//! 5. **The leader**: a change too costly to move is refused; the rest is read as the
//!    document's types read it, moved through what was committed since its author's version,
//!    checked against the [`Policy`] and the validation hook, and committed in its canonical
//!    form (see [`immer::apply_canonical`]), so every client holds the server's typed state.
//!    A refused change is answered with the reason, to its author only, whose client rolls it
//!    back.
//!
//! **Presence**: beside the document, each connection may show the others a small state of
//! its own (a cursor, a selection), bounded, made canonical, sent in batches and taken away
//! with its connection; never ordered, logged or stored (see [`Hub::presences`] and the
//! [`protocol`]). On JetStream it crosses servers over core NATS ([`PresenceChannel`]).
//!
//! Sessions are kept for a while after their connection closes, to be resumed, then
//! forgotten ([`Limits::session_idle`], [`Limits::max_sessions`]). The app's own endpoints
//! and the devtools' API go behind the same authentication with [`Hub::protect`].
//!
//! # Examples
//!
//! See [`Hub`] and [`Server`], and `cargo run -p immer-web --example web_board` for todo
//! boards as a web app, a server of many boards (run `npm ci` in `clients/js` first).

pub mod devtools;
mod gate;
mod hub;
#[cfg(feature = "jetstream")]
mod jetstream;
mod policy;
pub mod protocol;
mod server;
mod stored;

pub use devtools::Devtools;
pub use gate::{Admitted, Gate};
pub use hub::{
    Backend, EditError, Hub, HubBuilder, Identity, Limits, PathChanges, PresenceChannel,
    close_code, request_token,
};
#[cfg(feature = "jetstream")]
pub use jetstream::JetStream;
pub use policy::{PathPattern, PatternError, Policy};
pub use server::{DocumentError, Server, Storage};
