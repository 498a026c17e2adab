//! The messages on the wire: JSON text frames, tagged by `type`, with patches in Immer's format.
//!
//! A client authenticates with its first message, [`ClientMessage::Auth`]; the server answers
//! with a [`ServerMessage::Welcome`] (or closes the connection with a reason). From then on
//! the client sends its edits as [`ClientMessage::Change`], one in flight at a time, and
//! receives every committed change in version order. The session is the connection's: a
//! client cannot speak for another, and a client that reconnects names its session in
//! [`ClientMessage::Auth::resume`] to keep it (its change in flight is then answered once).
//!
//! On a socket of many documents (a [`Server`](crate::Server)'s `/ws`), the client
//! authenticates once, then sends [`ClientMessage::Subscribe`] for each document it wants;
//! every other message, both ways, is the one-document message with the document's name
//! beside its `type` (`{"type":"change","doc":"team-a","id":1,...}`), and
//! [`ServerMessage::Unsubscribed`] ends one document's subscription with the reason.
//!
//! Beside the document, each connection may show the others a small state of its own, its
//! presence (who, a cursor, a selection): [`ClientMessage::Presence`] sets or clears it, and
//! [`ServerMessage::Presence`] brings the others' (see [`Limits`](crate::Limits) for its
//! bounds). Presence is never committed, logged or stored.
//!
//! ```
//! use immer_web::protocol::ClientMessage;
//!
//! let message: ClientMessage = serde_json::from_str(
//!     r#"{"type":"change","id":1,"base":0,"patches":[{"op":"replace","path":["todos",0,"done"],"value":true}]}"#,
//! ).unwrap();
//! assert!(matches!(message, ClientMessage::Change { id: 1, base: 0, .. }));
//! ```

use immer::sync::{Committed, Rejected, SessionId, Snapshot, ToFollower, ToLeader, Welcome};
use immer::{Patch, PatchOp, Path, PathSegment};
use serde::de::{IgnoredAny, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

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
        /// What it does. Read off the wire, a path keeps at most [`MAX_WIRE_PATH`]` + 1`
        /// segments (the rest is skipped unread: such a path is refused for its depth
        /// anyway), so that a message of a few hundred kilobytes never becomes megabytes.
        #[serde(deserialize_with = "bounded_patches")]
        patches: Vec<Patch>,
    },
    /// "Send me what was committed after `version`."
    Resync {
        /// The newest version the client has applied.
        version: u64,
    },
    /// "Send me the whole state": for a client whose state no longer takes the changes.
    Snapshot,
    /// On a socket of many documents (see [`Server`](crate::Server)): "send me document
    /// `doc`", answered with its [`ServerMessage::Welcome`] (or
    /// [`ServerMessage::Unsubscribed`] with the reason).
    Subscribe {
        /// The document's name.
        doc: String,
        /// The session of this user's earlier subscription to it, to resume it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        resume: Option<SessionId>,
    },
    /// On a socket of many documents: "stop sending me document `doc`", answered with
    /// [`ServerMessage::Unsubscribed`]. Its session is kept for a while, to be resumed.
    Unsubscribe {
        /// The document's name.
        doc: String,
    },
    /// "Show the others this of me" (`{"type":"presence","state":{"cursor":[3,14]}}`), or with
    /// `null`, "show nothing of me". Its JSON is bounded in bytes and depth
    /// ([`Limits::presence_max_bytes`](crate::Limits::presence_max_bytes),
    /// [`presence_max_depth`](crate::Limits::presence_max_depth)) and kept in its canonical
    /// form (objects' members sorted, no spaces); one over them is answered with
    /// [`ServerMessage::PresenceRefused`]. A state not sent again within
    /// [`Limits::presence_timeout`](crate::Limits::presence_timeout) is taken away.
    Presence {
        /// What the others are shown; `None` (`null`) clears it.
        #[serde(default)]
        state: Option<serde_json::Value>,
    },
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
    /// A change committed, for every client: `{"type": "committed", "version", "client",
    /// "session", "id", "patches"}`, the change as the log holds it, except that the hub
    /// writes `client` as 0: it does not tell one client who the author of a change is (a
    /// session says which of its own changes it is, nothing links two sessions of a user).
    Committed(Committed),
    /// The client's change was refused: `{"type": "rejected", "session", "id", "reason",
    /// "message"}` (the reason in words beside it, see [`Rejected`]).
    Rejected(Rejected),
    /// The whole state, when the client is too far behind or asked for it: `{"type":
    /// "snapshot", "version", "state", "answered"}`, with how the session's last answered
    /// change ended (see [`Answered`](immer::sync::Answered)).
    Snapshot(Snapshot<T>),
    /// On a socket of many documents: the document is no longer sent on this socket, and
    /// why (the client unsubscribed; the document does not exist, may not be read, or was
    /// deleted; too many are open; its session was resumed on another socket).
    Unsubscribed {
        /// Why, in words.
        reason: String,
    },
    /// What changed of the others' presence since the last such message: each [`Presence`]
    /// that appeared or changed, and each that went (its `state` `null`). The first after a
    /// welcome holds every presence there is. Never the connection's own.
    Presence {
        /// The presences that changed, at most one per `client`.
        presences: Vec<Presence>,
    },
    /// The connection's [`ClientMessage::Presence`] was not taken, and why (too large, too
    /// deep, a key JavaScript cannot hold); its presence is what it was.
    PresenceRefused {
        /// Why, in words.
        reason: String,
    },
}

/// One connection's presence, as the others receive it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presence {
    /// Which presence: one per connection (two tabs of a user are two), given by the
    /// server; never a session's or a user's number.
    pub client: u64,
    /// The user the server authenticated (never what the client claims).
    pub user: String,
    /// What the connection shows, in its canonical form; `null` when it went (closed,
    /// cleared, unsubscribed, or not sent again in time).
    pub state: serde_json::Value,
}

/// The most segments of a path read into a [`ClientMessage::Change`]: a longer path keeps
/// one more (so that it is still too deep for any depth limit up to this) and the rest is
/// skipped.
pub const MAX_WIRE_PATH: usize = 1024;

/// A patch as a client writes it, with a path read up to [`MAX_WIRE_PATH`]` + 1` segments.
#[derive(Deserialize)]
struct WirePatch {
    op: PatchOp,
    path: WirePath,
    #[serde(default, deserialize_with = "present")]
    value: Option<serde_json::Value>,
    #[serde(default)]
    from: Option<WirePath>,
}

/// A `value` member that is present is `Some`, even when it is `null` (as [`Patch`] reads it).
fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<serde_json::Value>, D::Error> {
    serde_json::Value::deserialize(deserializer).map(Some)
}

struct WirePath(Path);

impl<'de> Deserialize<'de> for WirePath {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Segments;
        impl<'de> Visitor<'de> for Segments {
            type Value = WirePath;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a path: an array of keys and indices")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<WirePath, A::Error> {
                let mut segments = Vec::new();
                while segments.len() <= MAX_WIRE_PATH {
                    match seq.next_element::<PathSegment>()? {
                        Some(segment) => segments.push(segment),
                        None => return Ok(WirePath(Path::from(segments))),
                    }
                }
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(WirePath(Path::from(segments)))
            }
        }
        deserializer.deserialize_seq(Segments)
    }
}

/// The `type` of a message (and on a socket of many documents, its `doc`), read with
/// everything else skipped unread.
#[derive(Deserialize)]
struct Kind {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    doc: Option<String>,
}

/// A [`ClientMessage::Change`] without its tag (a struct, read in one pass).
#[derive(Deserialize)]
struct ChangeBody {
    id: u64,
    base: u64,
    #[serde(deserialize_with = "bounded_patches")]
    patches: Vec<Patch>,
}

/// A change read only as far as its number and the path of its first patch.
#[derive(Deserialize)]
struct ChangeGlance {
    id: u64,
    #[serde(deserialize_with = "first_path")]
    patches: Option<Path>,
}

/// A message from a client, read in two passes: its `type`, the rest skipped unread, then
/// its body as a plain struct. (Serde reads a message tagged by `type` by holding all of it
/// in memory first, whatever its size; read so, a path is held no further than
/// [`MAX_WIRE_PATH`]` + 1` segments.) What the server reads of each message.
///
/// # Errors
///
/// serde's, for a message that is not one of [`ClientMessage`]'s.
pub fn read_client_message(text: &str) -> Result<ClientMessage, serde_json::Error> {
    let kind = serde_json::from_str::<Kind>(text)?;
    read_body(text, &kind.kind)
}

/// The body of a message whose `type` is `kind`.
fn read_body(text: &str, kind: &str) -> Result<ClientMessage, serde_json::Error> {
    if kind == "change" {
        let body = serde_json::from_str::<ChangeBody>(text)?;
        return Ok(ClientMessage::Change {
            id: body.id,
            base: body.base,
            patches: body.patches,
        });
    }
    // The others are small: read as the enum reads them.
    serde_json::from_str(text)
}

/// A client's message as the server reads it.
#[derive(Debug, PartialEq)]
pub(crate) enum Incoming {
    /// Read whole (see [`read_client_message`]).
    Message(ClientMessage),
    /// A change of a client whose role writes nothing (every change of it is refused), read
    /// no further than its number and the path of its first patch (`None`: no patches).
    ReadOnly { id: u64, first: Option<Path> },
    /// A presence whose message is too long to hold a state within the limit, left unread:
    /// the message's length.
    LongPresence(usize),
}

/// The longest message that can hold a presence state of `max_bytes` canonical bytes: each
/// byte written as an escape (`\u00e9`, 6 bytes) at most, and room for the envelope (a
/// document's name up to 200 bytes, spaces). A longer one is refused unread.
pub(crate) fn presence_message_limit(max_bytes: usize) -> usize {
    max_bytes.saturating_mul(6).saturating_add(1024)
}

/// A client's message, its `type` read once: with `read_only`, a change is read only as far
/// as [`Incoming::ReadOnly`] needs (a malformed one is read whole, for serde's reason).
pub(crate) fn read_incoming(
    text: &str,
    read_only: bool,
    presence_max_bytes: usize,
) -> Result<Incoming, serde_json::Error> {
    let kind = serde_json::from_str::<Kind>(text)?;
    if kind.kind == "presence" && text.len() > presence_message_limit(presence_max_bytes) {
        return Ok(Incoming::LongPresence(text.len()));
    }
    if read_only && kind.kind == "change" {
        if let Ok(glance) = serde_json::from_str::<ChangeGlance>(text) {
            return Ok(Incoming::ReadOnly {
                id: glance.id,
                first: glance.patches,
            });
        }
    }
    read_body(text, &kind.kind).map(Incoming::Message)
}

/// A message on a socket of many documents: the document it is for (`None` for
/// [`ClientMessage::Auth`]), and the message as [`read_incoming`] reads it (`subscribe` and
/// `unsubscribe` carry their name too).
pub(crate) fn read_addressed(
    text: &str,
    presence_max_bytes: usize,
) -> Result<(Option<String>, Incoming), serde_json::Error> {
    let kind = serde_json::from_str::<Kind>(text)?;
    if kind.kind == "presence" && text.len() > presence_message_limit(presence_max_bytes) {
        return Ok((kind.doc, Incoming::LongPresence(text.len())));
    }
    let message = read_body(text, &kind.kind)?;
    Ok((kind.doc, Incoming::Message(message)))
}

fn first_path<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Path>, D::Error> {
    #[derive(Deserialize)]
    struct PathOnly {
        path: WirePath,
    }
    struct First;
    impl<'de> Visitor<'de> for First {
        type Value = Option<Path>;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a list of patches")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Option<Path>, A::Error> {
            let first = seq.next_element::<PathOnly>()?.map(|p| p.path.0);
            while seq.next_element::<IgnoredAny>()?.is_some() {}
            Ok(first)
        }
    }
    deserializer.deserialize_seq(First)
}

fn bounded_patches<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Vec<Patch>, D::Error> {
    let patches = Vec::<WirePatch>::deserialize(deserializer)?;
    Ok(patches
        .into_iter()
        .map(|p| Patch {
            op: p.op,
            path: p.path.0,
            value: p.value,
            from: p.from.map(|from| from.0),
        })
        .collect())
}

impl ClientMessage {
    /// What a [`Follower`](immer::sync::Follower) sends, as a client of this server sends it
    /// (the session is the connection's). `None` for [`ToLeader::Join`]: a connection joins
    /// by authenticating.
    #[must_use]
    pub fn from_leader_message(message: ToLeader) -> Option<ClientMessage> {
        match message {
            ToLeader::Change(change) => Some(ClientMessage::Change {
                id: change.id,
                base: change.base,
                patches: change.patches,
            }),
            ToLeader::Resync { version, .. } => Some(ClientMessage::Resync { version }),
            ToLeader::SnapshotRequest { .. } => Some(ClientMessage::Snapshot),
            ToLeader::Join { .. } => None,
        }
    }
}

impl<T> ServerMessage<T> {
    /// A leader's message as the server sends it; `None` for a [`ToFollower::Welcome`]
    /// (the server's welcome names the user and role, which the leader does not know).
    #[must_use]
    pub fn from_leader_message(message: ToFollower<T>) -> Option<Self> {
        Some(match message {
            ToFollower::Committed(committed) => ServerMessage::Committed(committed),
            ToFollower::Rejected(rejected) => ServerMessage::Rejected(rejected),
            ToFollower::Snapshot(snapshot) => ServerMessage::Snapshot(snapshot),
            ToFollower::Welcome(_) => return None,
        })
    }

    /// The message as a [`Follower`](immer::sync::Follower) takes it: a Rust client of this
    /// server is a follower fed with these. A welcome (with its state) is the follower's
    /// [`Welcome`]; a welcome that resumed a session has nothing to feed (`None`).
    #[must_use]
    pub fn into_follower_message(self) -> Option<ToFollower<T>> {
        Some(match self {
            ServerMessage::Welcome {
                session,
                version,
                state,
                ..
            } => ToFollower::Welcome(Welcome {
                client: 0,
                nonce: 0,
                session,
                snapshot: Snapshot {
                    version,
                    state: state?,
                    answered: None,
                },
            }),
            ServerMessage::Committed(committed) => ToFollower::Committed(committed),
            ServerMessage::Rejected(rejected) => ToFollower::Rejected(rejected),
            ServerMessage::Snapshot(snapshot) => ToFollower::Snapshot(snapshot),
            ServerMessage::Unsubscribed { .. }
            | ServerMessage::Presence { .. }
            | ServerMessage::PresenceRefused { .. } => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_path_is_read_no_further_than_the_wire_limit() {
        let deep = serde_json::json!({
            "type": "change", "id": 1, "base": 0,
            "patches": [{"op": "replace", "path": vec![0; 50_000], "value": null}],
        });
        let Ok(ClientMessage::Change { patches, .. }) = read_client_message(&deep.to_string())
        else {
            panic!("a change");
        };
        assert_eq!(patches[0].path.len(), MAX_WIRE_PATH + 1);
        assert_eq!(
            patches[0].value,
            Some(serde_json::Value::Null),
            "a null value is kept"
        );
    }

    #[test]
    fn a_glance_reads_the_number_and_the_first_path() {
        let text = r#"{"type":"change","id":7,"base":3,"patches":[{"op":"add","path":["a",1],"value":{"x":[1,2]}},{"op":"remove","path":["b"]}]}"#;
        let Ok(Incoming::ReadOnly { id, first }) = read_incoming(text, true, 1024) else {
            panic!("a glance");
        };
        assert_eq!(id, 7);
        assert_eq!(first.unwrap().to_pointer(), "/a/1");
        let empty = r#"{"type":"change","id":8,"base":0,"patches":[]}"#;
        assert_eq!(
            read_incoming(empty, true, 1024).unwrap(),
            Incoming::ReadOnly { id: 8, first: None }
        );
        assert_eq!(
            read_incoming(r#"{"type":"snapshot"}"#, true, 1024).unwrap(),
            Incoming::Message(ClientMessage::Snapshot)
        );
    }

    #[test]
    fn a_presence_is_read_with_its_state_or_left_unread_when_too_long() {
        let text = r#"{"type":"presence","state":{"cursor":[1,2]}}"#;
        assert_eq!(
            read_incoming(text, false, 1024).unwrap(),
            Incoming::Message(ClientMessage::Presence {
                state: Some(serde_json::json!({"cursor": [1, 2]}))
            })
        );
        let cleared = r#"{"type":"presence","state":null}"#;
        assert_eq!(
            read_incoming(cleared, true, 1024).unwrap(),
            Incoming::Message(ClientMessage::Presence { state: None })
        );
        let long = format!(r#"{{"type":"presence","state":"{}"}}"#, "x".repeat(8000));
        assert_eq!(
            read_incoming(&long, false, 1024).unwrap(),
            Incoming::LongPresence(long.len())
        );
        let addressed = format!(
            r#"{{"type":"presence","doc":"a","state":"{}"}}"#,
            "x".repeat(8000)
        );
        assert_eq!(
            read_addressed(&addressed, 1024).unwrap(),
            (
                Some("a".to_owned()),
                Incoming::LongPresence(addressed.len())
            )
        );
    }
}
