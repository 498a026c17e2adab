//! The session table: who each session is, and the answer rule that makes a change sent
//! again answered again, never applied twice.
//!
//! Every node that orders changes keeps one: the in-process [`Leader`](super::Leader), and
//! a node of a shared log for the clients it serves (immer-nats' `Document`, through the
//! WebSocket hub). A transport asks [`Sessions::admit`] what to do with each change that
//! arrives, orders only the ones it is told to, and records each answer with
//! [`Sessions::answer`].

use std::collections::HashMap;

use super::{Answered, Change, ClientId, Committed, Outcome, Rejected, SessionId, Snapshot};
use super::{RejectReason, ToFollower};

/// The sessions a node opened, each with its client and its last answered change.
///
/// # The answer rule
///
/// A session's changes are numbered from 1 and sent one at a time, each until it is
/// answered. So a change arriving for a session is one of:
///
/// - the next one (its number above the last answered): order it ([`Admission::Order`]);
/// - the last one answered, sent again because its answer was lost: answer it again, the
///   same way, to its author only ([`Admission::Again`]), never order it a second time;
/// - an older one, a late duplicate: its answer went long ago ([`Admission::Answered`]);
/// - a change of a session that is not open (never opened here, or closed):
///   [`RejectReason::UnknownSession`] ([`Admission::Unknown`]).
///
/// Each answer kept is cut short ([`RejectReason::shortened`]) and boxed, so that an idle
/// session costs a few dozen bytes whatever its last change held.
///
/// # Examples
///
/// ```
/// use immer_core::sync::{Admission, Change, Outcome, Sessions};
///
/// let mut sessions = Sessions::new();
/// sessions.open(7, 1);
/// let change = Change { client: 0, session: 7, id: 1, base: 0, patches: vec![], author: None };
/// assert_eq!(sessions.admit(&change), Admission::Order { client: 1 });
/// sessions.answer(7, 1, Outcome::Committed { version: 1 });
/// // Sent again: answered again, not ordered.
/// assert_eq!(
///     sessions.admit(&change),
///     Admission::Again { outcome: Outcome::Committed { version: 1 } },
/// );
/// assert!(sessions.close(7));
/// assert!(matches!(sessions.admit(&change), Admission::Unknown(_)));
/// ```
#[derive(Clone, Debug, Default)]
pub struct Sessions {
    sessions: HashMap<SessionId, Session>,
}

#[derive(Clone, Debug)]
struct Session {
    client: ClientId,
    /// Boxed: most sessions kept are idle, and a refusal's reason is large.
    answered: Option<Box<(u64, Outcome)>>,
}

/// What to do with a change that arrives: see [the answer rule](Sessions#the-answer-rule).
#[derive(Clone, Debug, PartialEq, Eq)]
#[must_use]
pub enum Admission {
    /// A new change: order it, as `client`'s (the session's client, whatever the change
    /// claims).
    Order {
        /// The session's client.
        client: ClientId,
    },
    /// The session's last answered change, sent again: answer it again, to its author, as
    /// it ended ([`Sessions::answer_again`]).
    Again {
        /// How it ended.
        outcome: Outcome,
    },
    /// A change older than the session's last answered one: nothing to send.
    Answered,
    /// The session is not open: send this refusal to its author.
    Unknown(Rejected),
}

impl Sessions {
    /// No sessions.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Opens `session` for `client`, with nothing answered yet. Returns `false` (and
    /// changes nothing) when it is already open.
    pub fn open(&mut self, session: SessionId, client: ClientId) -> bool {
        if self.sessions.contains_key(&session) {
            return false;
        }
        self.sessions.insert(
            session,
            Session {
                client,
                answered: None,
            },
        );
        true
    }

    /// Closes `session`: its changes are refused from then on, and a retransmission of its
    /// last one is no longer answered as before. Returns whether it was open.
    pub fn close(&mut self, session: SessionId) -> bool {
        self.sessions.remove(&session).is_some()
    }

    /// Whether `session` is open.
    #[must_use]
    pub fn contains(&self, session: SessionId) -> bool {
        self.sessions.contains_key(&session)
    }

    /// The client of `session`, if it is open.
    #[must_use]
    pub fn client(&self, session: SessionId) -> Option<ClientId> {
        self.sessions.get(&session).map(|s| s.client)
    }

    /// How many sessions are open.
    #[must_use]
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether no session is open.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// The open sessions and their clients, in no particular order.
    pub fn iter(&self) -> impl ExactSizeIterator<Item = (SessionId, ClientId)> + '_ {
        self.sessions.iter().map(|(&id, s)| (id, s.client))
    }

    /// What to do with `change` (see [the answer rule](Sessions#the-answer-rule)).
    pub fn admit(&self, change: &Change) -> Admission {
        let Some(session) = self.sessions.get(&change.session) else {
            return Admission::Unknown(Rejected {
                session: change.session,
                id: change.id,
                reason: RejectReason::UnknownSession {
                    session: change.session,
                },
            });
        };
        match session.answered.as_deref() {
            Some((last, _)) if change.id < *last => Admission::Answered,
            Some((last, outcome)) if change.id == *last => Admission::Again {
                outcome: outcome.clone(),
            },
            _ => Admission::Order {
                client: session.client,
            },
        }
    }

    /// Records how change `id` of `session` ended (a refusal cut short, see
    /// [`RejectReason::shortened`]); nothing when the session is not open.
    pub fn answer(&mut self, session: SessionId, id: u64, outcome: Outcome) {
        if let Some(session) = self.sessions.get_mut(&session) {
            let outcome = match outcome {
                Outcome::Rejected(reason) => Outcome::Rejected(reason.shortened()),
                committed @ Outcome::Committed { .. } => committed,
            };
            session.answered = Some(Box::new((id, outcome)));
        }
    }

    /// `session`'s last answered change and how it ended, as a [`Snapshot`] carries it.
    #[must_use]
    pub fn answered(&self, session: SessionId) -> Option<Answered> {
        let (id, outcome) = self.sessions.get(&session)?.answered.as_deref()?.clone();
        Some(Answered { id, outcome })
    }

    /// The answer to change `id` of `session` sent again, which ended as `outcome`
    /// ([`Admission::Again`]): the committed change while `committed` finds it in the log,
    /// else `snapshot` (which should carry [`answered`](Sessions::answered), so that the
    /// author learns the outcome from it); the refusal again.
    pub fn answer_again<T>(
        session: SessionId,
        id: u64,
        outcome: Outcome,
        committed: impl FnOnce(u64) -> Option<Committed>,
        snapshot: impl FnOnce() -> Snapshot<T>,
    ) -> ToFollower<T> {
        match outcome {
            Outcome::Committed { version } => committed(version)
                .map_or_else(|| ToFollower::Snapshot(snapshot()), ToFollower::Committed),
            Outcome::Rejected(reason) => ToFollower::Rejected(Rejected {
                session,
                id,
                reason,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(session: SessionId, id: u64) -> Change {
        Change {
            author: None,
            client: 99,
            session,
            id,
            base: 0,
            patches: Vec::new(),
        }
    }

    #[test]
    fn the_client_is_the_sessions_not_the_changes() {
        let mut sessions = Sessions::new();
        assert!(sessions.open(1, 5));
        assert!(!sessions.open(1, 6), "open already");
        assert_eq!(
            sessions.admit(&change(1, 1)),
            Admission::Order { client: 5 }
        );
        assert_eq!(sessions.client(1), Some(5));
    }

    #[test]
    fn an_answered_change_is_answered_again_and_an_older_one_not_at_all() {
        let mut sessions = Sessions::new();
        sessions.open(1, 5);
        sessions.answer(1, 3, Outcome::Rejected(RejectReason::Empty {}));
        assert_eq!(sessions.admit(&change(1, 2)), Admission::Answered);
        assert_eq!(
            sessions.admit(&change(1, 3)),
            Admission::Again {
                outcome: Outcome::Rejected(RejectReason::Empty {})
            }
        );
        assert_eq!(
            sessions.admit(&change(1, 4)),
            Admission::Order { client: 5 }
        );
        let again = Sessions::answer_again::<()>(
            1,
            3,
            Outcome::Rejected(RejectReason::Empty {}),
            |_| unreachable!("a refusal is not looked up"),
            || unreachable!("a refusal needs no snapshot"),
        );
        assert!(matches!(
            again,
            ToFollower::Rejected(Rejected { id: 3, .. })
        ));
    }

    #[test]
    fn a_commit_no_longer_held_is_answered_by_a_snapshot() {
        let mut sessions = Sessions::new();
        sessions.open(1, 5);
        sessions.answer(1, 1, Outcome::Committed { version: 4 });
        let answered = sessions.answered(1);
        let again = Sessions::answer_again(
            1,
            1,
            Outcome::Committed { version: 4 },
            |_| None,
            || Snapshot {
                version: 9,
                state: (),
                answered: answered.clone(),
            },
        );
        let ToFollower::Snapshot(snapshot) = again else {
            panic!("a snapshot");
        };
        assert_eq!(snapshot.answered.map(|a| a.id), Some(1));
    }

    #[test]
    fn a_closed_session_is_unknown_and_its_answer_gone() {
        let mut sessions = Sessions::new();
        sessions.open(1, 5);
        sessions.answer(1, 1, Outcome::Committed { version: 1 });
        assert!(sessions.close(1));
        assert!(!sessions.close(1));
        assert_eq!(sessions.answered(1), None);
        let Admission::Unknown(rejected) = sessions.admit(&change(1, 2)) else {
            panic!("unknown");
        };
        assert_eq!(rejected.reason, RejectReason::UnknownSession { session: 1 });
        assert!(sessions.is_empty());
    }

    #[test]
    fn a_refusal_is_kept_short() {
        let mut sessions = Sessions::new();
        sessions.open(1, 5);
        let long = RejectReason::Invalid {
            message: "x".repeat(100_000),
        };
        sessions.answer(1, 1, Outcome::Rejected(long));
        let Some(Answered {
            outcome: Outcome::Rejected(RejectReason::Invalid { message }),
            ..
        }) = sessions.answered(1)
        else {
            panic!("a refusal");
        };
        assert!(message.len() <= 256);
    }
}
