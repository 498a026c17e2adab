//! The messages between a leader and its followers, and what they carry.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::PatchError;
use crate::patch::Patch;
use crate::path::{Path, PathSegment};
use crate::transform::Conflict;

/// Who a follower is: its user or device, the same across restarts.
pub type ClientId = u64;

/// One incarnation of a follower: handed out by the leader when the follower joins.
pub type SessionId = u64;

/// A follower's edit, sent to the leader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Its author.
    pub client: ClientId,
    /// The author's session.
    pub session: SessionId,
    /// Its number among the session's changes, from 1, increasing. (Read also as
    /// `change_id`, its earlier name.)
    #[serde(alias = "change_id")]
    pub id: u64,
    /// The version it was made against. (Read also as `base_version`.)
    #[serde(alias = "base_version")]
    pub base: u64,
    /// What it does, against `base`.
    pub patches: Vec<Patch>,
    /// Who made it, as the server authenticated them (a user's name): set by the server,
    /// never read from a client, and carried into the [`Committed`] change. `None` where no
    /// one authenticates (a follower in the same process).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

/// A change the leader accepted, as it applies at `version - 1`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Committed {
    /// The version this change leads to.
    pub version: u64,
    /// Its author.
    pub client: ClientId,
    /// The author's session.
    pub session: SessionId,
    /// Its number among the session's changes. (Read also as `change_id`, its earlier name,
    /// so that a JetStream log written before still reads.)
    #[serde(alias = "change_id")]
    pub id: u64,
    /// What it does, moved through every change committed before it.
    pub patches: Vec<Patch>,
    /// Who made it, as the server authenticated them (see [`Change::author`]): the log says
    /// who did what.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub author: Option<String>,
}

/// A change the leader refused, sent back to its author.
///
/// Serialized with the reason in words beside it, as the JavaScript client shows it:
/// `{"session": 4, "id": 2, "reason": {"Invalid": {"message": "..."}}, "message": "refused by
/// validation: ..."}` (`message` is the reason's `Display`, ignored when read back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "wire::Rejected", from = "wire::Rejected")]
pub struct Rejected {
    /// The author's session.
    pub session: SessionId,
    /// Its number among the session's changes.
    pub id: u64,
    /// Why.
    pub reason: RejectReason,
}

/// How a change ended at the leader.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Outcome {
    /// Committed as this version.
    Committed {
        /// The version it became.
        version: u64,
    },
    /// Refused.
    Rejected(RejectReason),
}

/// A session's last answered change and how it ended, carried by a [`Snapshot`] so that a
/// follower that resynchronizes learns the outcome of the change it had in flight.
///
/// Serialized flat, as the JavaScript client reads it: `{"id": 3, "committed": 12}` for a
/// change committed as version 12, `{"id": 3, "rejected": {"Empty": {}}, "message": "it has no
/// patches: nothing to commit"}` for one refused (`message` is the reason's `Display`, ignored
/// when read back).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "wire::Answered", try_from = "wire::Answered")]
pub struct Answered {
    /// The change.
    pub id: u64,
    /// How it ended.
    pub outcome: Outcome,
}

/// Why the leader refused a change.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RejectReason {
    /// The change claims a base version the leader has not reached.
    BaseAhead {
        /// The change's base version.
        base_version: u64,
        /// The leader's version.
        leader_version: u64,
    },
    /// The change's base version is older than the leader's log, so it cannot be moved
    /// through what was committed since.
    Compacted {
        /// The change's base version.
        base_version: u64,
        /// The version the leader's log starts after.
        log_start: u64,
    },
    /// A change committed since its base removed or replaced what it edits.
    Conflict {
        /// The committed version that removed or replaced the target.
        version: u64,
        /// Which patch, and what took its target away.
        conflict: Conflict,
    },
    /// It names a session the leader did not open (or no longer knows).
    UnknownSession {
        /// The session named.
        session: SessionId,
    },
    /// The validation hook refused the state it would lead to (see
    /// [`Leader::with_validator`](super::Leader::with_validator)).
    Invalid {
        /// The hook's reason.
        message: String,
    },
    /// The authorization hook refused a path it writes (see [`Leader::with_authorizer`](super::Leader::with_authorizer)).
    Forbidden {
        /// The path refused, as the change would be committed.
        path: Path,
    },
    /// It exceeds a limit of the transport or the server (patches per change, path depth,
    /// changes waiting per client).
    Limit {
        /// Which limit, in words.
        limit: String,
        /// The limit.
        max: usize,
        /// What the change came to.
        got: usize,
    },
    /// Its encoded form is larger than the transport carries.
    TooLarge {
        /// Its size in bytes.
        bytes: usize,
        /// The largest size carried.
        limit: usize,
    },
    /// It has no patches: nothing to commit. (A struct variant, so that every reason is
    /// written as an object on the wire: `{"Empty": {}}`.)
    Empty {},
    /// Its patches, moved to the leader's version, do not apply there.
    DoesNotApply {
        /// The failing patch's index in the change.
        index: usize,
        /// Its path.
        path: Path,
        /// Why it does not apply.
        message: String,
    },
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RejectReason::BaseAhead {
                base_version,
                leader_version,
            } => write!(
                f,
                "its base version {base_version} is ahead of the leader's {leader_version}"
            ),
            RejectReason::Compacted {
                base_version,
                log_start,
            } => write!(
                f,
                "its base version {base_version} is older than the leader's log, which starts at {log_start}"
            ),
            RejectReason::UnknownSession { session } => {
                write!(
                    f,
                    "session {session} was not opened by this leader; join again"
                )
            }
            RejectReason::Conflict { version, conflict } => {
                write!(f, "{conflict} (version {version})")
            }
            RejectReason::Invalid { message } => write!(f, "refused by validation: {message}"),
            RejectReason::Forbidden { path } => write!(f, "it may not write {path}"),
            RejectReason::Limit { limit, max, got } => {
                write!(f, "it exceeds the limit of {max} {limit} ({got})")
            }
            RejectReason::TooLarge { bytes, limit } => {
                write!(f, "it takes {bytes} bytes, more than the {limit} carried")
            }
            RejectReason::Empty {} => write!(f, "it has no patches: nothing to commit"),
            RejectReason::DoesNotApply {
                index,
                path,
                message,
            } => write!(f, "its patch {index} at {path} does not apply: {message}"),
        }
    }
}

impl std::error::Error for RejectReason {}

/// The most bytes of text a stored answer keeps of a message, and of a path's key.
const ANSWER_TEXT: usize = 256;
const ANSWER_KEY: usize = 64;
/// The most segments of a path a stored answer keeps.
const ANSWER_DEPTH: usize = 32;

impl RejectReason {
    /// The reason with its texts and paths cut short (a message to 256 bytes, a path to 32
    /// segments and each key to 64 bytes, ended with `…`), as a leader stores and sends it:
    /// the answer a session keeps for a retransmission stays small whatever the change held.
    #[must_use]
    pub fn shortened(self) -> Self {
        fn text(text: String, max: usize) -> String {
            if text.len() <= max {
                return text;
            }
            let mut end = max - '…'.len_utf8();
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            let mut text = text;
            text.truncate(end);
            text.push('…');
            text
        }
        fn path(path: Path) -> Path {
            let long = path.len() > ANSWER_DEPTH
                || path
                    .segments()
                    .iter()
                    .any(|s| matches!(s, PathSegment::Key(k) if k.len() > ANSWER_KEY));
            if !long {
                return path;
            }
            let mut segments: Vec<PathSegment> = path
                .segments()
                .iter()
                .take(ANSWER_DEPTH)
                .map(|segment| match segment {
                    PathSegment::Key(key) => PathSegment::Key(text(key.clone(), ANSWER_KEY)),
                    index @ PathSegment::Index(_) => index.clone(),
                })
                .collect();
            if path.len() > ANSWER_DEPTH {
                segments.push(PathSegment::Key("…".to_owned()));
            }
            Path::from(segments)
        }
        match self {
            RejectReason::Conflict { version, conflict } => RejectReason::Conflict {
                version,
                conflict: Conflict {
                    index: conflict.index,
                    path: path(conflict.path),
                    by: path(conflict.by),
                },
            },
            RejectReason::Invalid { message } => RejectReason::Invalid {
                message: text(message, ANSWER_TEXT),
            },
            RejectReason::Forbidden { path: p } => RejectReason::Forbidden { path: path(p) },
            RejectReason::Limit { limit, max, got } => RejectReason::Limit {
                limit: text(limit, ANSWER_TEXT),
                max,
                got,
            },
            RejectReason::DoesNotApply {
                index,
                path: p,
                message,
            } => RejectReason::DoesNotApply {
                index,
                path: path(p),
                message: text(message, ANSWER_TEXT),
            },
            other => other,
        }
    }
}

impl From<PatchError> for RejectReason {
    fn from(error: PatchError) -> Self {
        RejectReason::DoesNotApply {
            index: error.index,
            path: error.path,
            message: error.kind.to_string(),
        }
    }
}

/// The leader's whole state at a version, for a follower that joins or cannot catch up by
/// changes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Snapshot<T> {
    /// The version of `state`.
    pub version: u64,
    /// The state.
    pub state: T,
    /// For a snapshot sent to a session: its last answered change and how it ended.
    pub answered: Option<Answered>,
}

/// The leader's answer to [`ToLeader::Join`]: the new session and where it starts.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Welcome<T> {
    /// The follower that joined.
    pub client: ClientId,
    /// The join's nonce, echoed: a joiner takes only the welcome that answers its own join
    /// (a late welcome for an earlier life of the same client is not its).
    pub nonce: u64,
    /// Its new session.
    pub session: SessionId,
    /// The state to start from.
    pub snapshot: Snapshot<T>,
}

/// A message to the leader.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToLeader {
    /// "Open a session for me": answered with a [`Welcome`] to the sender. Sent again until
    /// a welcome arrives; every join opens a session, and the joiner takes the first welcome
    /// that carries its nonce.
    Join {
        /// Who joins.
        client: ClientId,
        /// A number the joiner picks anew for each life (a random one), echoed in the
        /// welcome.
        nonce: u64,
    },
    /// An edit to order.
    Change(Change),
    /// "Send me what was committed after `version`."
    Resync {
        /// Who asks.
        session: SessionId,
        /// The newest version it has applied.
        version: u64,
    },
    /// "Send me a snapshot": for a follower whose state no longer takes the leader's changes.
    SnapshotRequest {
        /// Who asks.
        session: SessionId,
    },
}

/// A message to a follower.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum ToFollower<T> {
    /// A session opened, with the state to start from.
    Welcome(Welcome<T>),
    /// A change to apply, in version order.
    Committed(Committed),
    /// The follower's change was refused.
    Rejected(Rejected),
    /// The whole state, when the follower is too far behind.
    Snapshot(Snapshot<T>),
}

/// Where the leader sends a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Recipient {
    /// Every follower.
    All,
    /// One session.
    Session(SessionId),
    /// Whoever sent the message being answered (a [`Welcome`] for a [`ToLeader::Join`]: the
    /// joiner has no session yet).
    Sender,
}

/// A message from the leader and its recipient.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Outbound<T> {
    /// Who gets it.
    pub to: Recipient,
    /// The message.
    pub message: ToFollower<T>,
}

/// The JSON forms of the messages whose reason goes with its words (see [`Rejected`] and
/// [`Answered`]).
mod wire {
    use serde::{Deserialize, Serialize};

    use super::{Outcome, RejectReason, SessionId};

    #[derive(Serialize, Deserialize)]
    pub(super) struct Rejected {
        session: SessionId,
        id: u64,
        reason: RejectReason,
        #[serde(default)]
        message: String,
    }

    impl From<super::Rejected> for Rejected {
        fn from(rejected: super::Rejected) -> Self {
            Rejected {
                session: rejected.session,
                id: rejected.id,
                message: rejected.reason.to_string(),
                reason: rejected.reason,
            }
        }
    }

    impl From<Rejected> for super::Rejected {
        fn from(rejected: Rejected) -> Self {
            super::Rejected {
                session: rejected.session,
                id: rejected.id,
                reason: rejected.reason,
            }
        }
    }

    #[derive(Serialize, Deserialize)]
    pub(super) struct Answered {
        id: u64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        committed: Option<u64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        rejected: Option<RejectReason>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message: Option<String>,
    }

    impl From<super::Answered> for Answered {
        fn from(answered: super::Answered) -> Self {
            let (committed, rejected) = match answered.outcome {
                Outcome::Committed { version } => (Some(version), None),
                Outcome::Rejected(reason) => (None, Some(reason)),
            };
            Answered {
                id: answered.id,
                committed,
                message: rejected.as_ref().map(ToString::to_string),
                rejected,
            }
        }
    }

    impl TryFrom<Answered> for super::Answered {
        type Error = &'static str;

        fn try_from(answered: Answered) -> Result<Self, Self::Error> {
            let outcome = match (answered.committed, answered.rejected) {
                (Some(version), None) => Outcome::Committed { version },
                (None, Some(reason)) => Outcome::Rejected(reason),
                _ => {
                    return Err(
                        "an answer is either `committed` (a version) or `rejected` (a reason)",
                    );
                }
            };
            Ok(super::Answered {
                id: answered.id,
                outcome,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_log_written_with_the_old_field_names_still_reads() {
        let old = r#"{"version":3,"client":1,"session":9,"change_id":2,"patches":[]}"#;
        let committed: Committed = serde_json::from_str(old).unwrap();
        assert_eq!((committed.version, committed.id), (3, 2));
        let old = r#"{"client":1,"session":9,"id":2,"base_version":4,"patches":[]}"#;
        let change: Change = serde_json::from_str(old).unwrap();
        assert_eq!(change.base, 4);
        // Written with the new names only.
        let text = serde_json::to_string(&committed).unwrap();
        assert!(
            text.contains(r#""id":2"#) && !text.contains("change_id"),
            "{text}"
        );
    }
}
