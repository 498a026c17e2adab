//! Serve [immer] documents to browsers over WebSocket.
//!
//! A [`Hub`] holds one document and a [`Leader`](immer::sync::Leader) that orders its changes;
//! every WebSocket connection is a follower. Browsers use the JavaScript client in
//! `clients/js` (Immer's `produceWithPatches` and `applyPatches`, and the same path
//! transformation as [`immer::transform`]); anything that speaks the [`protocol`] can join.
//!
//! What a connection goes through:
//!
//! 1. **Authentication**: its first message carries a token, which the app's hook turns into
//!    an [`Identity`] (a user and a role) or refuses; a refusal, or no token in time, closes
//!    the connection with the reason (code 4401).
//! 2. **Limits** ([`Limits`]): a message over the size limit, a flood, or more messages than
//!    the server has handled closes the connection with a reason (codes 1009, 1008); a change
//!    with too many patches or too deep a path is rejected. Each connection's messages are
//!    handled by its own task and written by its own task from a bounded queue: a client that
//!    reads too slowly is disconnected, never waited for, so no client stalls the others.
//! 3. **Authorization**: every change, moved through what was committed since its author's
//!    version, is checked against the [`Policy`] (which paths the author's role may write)
//!    and then the validation hook (invariants on the next state). A refused change is
//!    answered with the reason, to its author only, whose client rolls it back.
//!
//! # Examples
//!
//! See [`Hub`], and `cargo run -p immer-web --example web_board` for the todo board as a web
//! page (run `npm ci` in `clients/js` first).

pub mod devtools;
mod gate;
mod hub;
#[cfg(feature = "jetstream")]
mod jetstream;
mod policy;
pub mod protocol;
mod tree;

pub use devtools::Devtools;
pub use gate::{Admitted, Gate};
pub use hub::{Backend, Hub, HubBuilder, Identity, Limits, close_code};
#[cfg(feature = "jetstream")]
pub use jetstream::JetStream;
pub use policy::{PathPattern, PatternError, Policy};
