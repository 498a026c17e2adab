//! The messages on the wire: JSON text frames, tagged by `type`, with patches in Immer's format.
//!
//! A client authenticates with its first message, [`ClientMessage::Auth`]; the server answers
//! with a [`ServerMessage::Welcome`] (or closes the connection with a reason). From then on
//! the client sends its edits as [`ClientMessage::Change`], one in flight at a time, and
//! receives every committed change in version order. The session is the connection's: a
//! client cannot speak for another, and a client that reconnects names its session in
//! [`ClientMessage::Auth::resume`] to keep it (its change in flight is then answered once).
//!
//! ```
//! use immer_web::protocol::ClientMessage;
//!
//! let message: ClientMessage = serde_json::from_str(
//!     r#"{"type":"change","id":1,"base":0,"patches":[{"op":"replace","path":["todos",0,"done"],"value":true}]}"#,
//! ).unwrap();
//! assert!(matches!(message, ClientMessage::Change { id: 1, base: 0, .. }));
//! ```

use immer::Patch;
use immer::sync::{RejectReason, SessionId};
use serde::{Deserialize, Serialize};

/// A message from a client.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ClientMessage {
    /// The first message of a connection: who the client is.
    Auth {
        /// Verified by the server's authentication hook.
        token: String,
        /// The session of an earlier connection of the same user, to resume it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<SessionId>,
    },
    /// An edit, made against version `base`.
    Change {
        /// Its number among the session's changes, from 1, increasing.
        id: u64,
        /// The version it was made against.
        base: u64,
        /// What it does.
        patches: Vec<Patch>,
    },
    /// "Send me what was committed after `version`."
    Resync {
        /// The newest version the client has applied.
        version: u64,
    },
    /// "Send me the whole state": for a client whose state no longer takes the changes.
    Snapshot,
}

/// A message from the server.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum ServerMessage<T> {
    /// The connection is authenticated: its session and where it starts.
    Welcome {
        /// The connection's session.
        session: SessionId,
        /// The user the token names.
        user: String,
        /// The user's role, as it serializes.
        role: serde_json::Value,
        /// The version of `state`.
        version: u64,
        /// The state, for a new session (`None` when an earlier session was resumed: the
        /// client asks for what it missed).
        state: Option<T>,
        /// Whether the session named in [`ClientMessage::Auth::resume`] was resumed.
        resumed: bool,
    },
    /// A change committed as `version`, for every client.
    Committed {
        /// The version it leads to.
        version: u64,
        /// Its author's session.
        session: SessionId,
        /// Its number among the session's changes.
        id: u64,
        /// What it does, as it applies at `version - 1`.
        patches: Vec<Patch>,
    },
    /// The client's change was refused.
    Rejected {
        /// The change.
        id: u64,
        /// Why, as a value.
        reason: RejectReason,
        /// Why, in words.
        message: String,
    },
    /// The whole state, when the client is too far behind or asked for it.
    Snapshot {
        /// The version of `state`.
        version: u64,
        /// The state.
        state: T,
        /// How the session's last answered change ended.
        answered: Option<Answered>,
    },
}

/// How a session's last answered change ended, in a [`ServerMessage::Snapshot`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Answered {
    /// The change.
    pub id: u64,
    /// The version it became, if it was committed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub committed: Option<u64>,
    /// Why it was refused, if it was.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rejected: Option<RejectReason>,
    /// The refusal in words.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}
