//! The sessions a document's log shows: every committed change carries its client, session
//! and id, so every node that reads the log knows, for each session that committed lately,
//! whose it is and its last committed change, whichever node appended it and in whatever
//! life. That is what lets a client resume its session on any node, after any restart.

use std::collections::{BTreeMap, HashMap};

use immer::sync::{ClientId, Committed, SessionId};

/// How many sessions a node's table holds (and a snapshot with it): the ones that committed
/// most recently. An older one is forgotten: its client can no longer resume it, as after
/// the hub's `session_idle`.
pub(crate) const RECENT_SESSIONS: usize = 4096;

/// The table as a snapshot carries it: each session's last commit `(session, id, version)`,
/// and each session's client (see `StoredSnapshot`).
pub(crate) type Stored = (Vec<(SessionId, u64, u64)>, Vec<(SessionId, ClientId)>);

/// A session's last committed change, as the log shows it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct LastCommit {
    /// The session's client: the only one that may resume it.
    pub(crate) client: ClientId,
    /// The change's id.
    pub(crate) id: u64,
    /// The version it was committed as.
    pub(crate) version: u64,
}

/// The sessions the log shows, each with its [`LastCommit`]: the [`RECENT_SESSIONS`] (or
/// `limit`) whose last commit is the most recent. Derived from the log alone, so every node
/// that has read the log up to a version holds the same table.
///
/// Time: O(log n) per committed change.
#[derive(Clone, Debug)]
pub(crate) struct LogSessions {
    by_session: HashMap<SessionId, LastCommit>,
    /// Each session held, by the version of its last commit (versions are unique): the
    /// oldest goes first when the table is full.
    by_version: BTreeMap<u64, SessionId>,
    limit: usize,
}

impl Default for LogSessions {
    fn default() -> Self {
        LogSessions::with_limit(RECENT_SESSIONS)
    }
}

impl LogSessions {
    /// No sessions; at most `limit` (at least 1) held.
    pub(crate) fn with_limit(limit: usize) -> Self {
        LogSessions {
            by_session: HashMap::new(),
            by_version: BTreeMap::new(),
            limit: limit.max(1),
        }
    }

    /// The table a snapshot carries: each session's last commit `(session, id, version)`,
    /// and the clients of those it names (a snapshot written before clients were kept has
    /// none: such sessions are held with client 0, which no hub client is, so nobody
    /// resumes them).
    pub(crate) fn from_stored(
        sessions: &[(SessionId, u64, u64)],
        clients: &[(SessionId, ClientId)],
    ) -> Self {
        let clients: HashMap<SessionId, ClientId> = clients.iter().copied().collect();
        let mut table = LogSessions::default();
        let mut sessions = sessions.to_vec();
        sessions.sort_by_key(|(_, _, version)| *version);
        for (session, id, version) in sessions {
            let client = clients.get(&session).copied().unwrap_or(0);
            table.record(
                session,
                LastCommit {
                    client,
                    id,
                    version,
                },
            );
        }
        table
    }

    /// A change read from the log: it is its session's last commit.
    pub(crate) fn committed(&mut self, committed: &Committed) {
        self.record(
            committed.session,
            LastCommit {
                client: committed.client,
                id: committed.id,
                version: committed.version,
            },
        );
    }

    fn record(&mut self, session: SessionId, last: LastCommit) {
        if let Some(held) = self.by_session.get(&session) {
            if held.version >= last.version {
                return;
            }
            self.by_version.remove(&held.version);
        }
        self.by_session.insert(session, last);
        self.by_version.insert(last.version, session);
        while self.by_session.len() > self.limit {
            let Some((_, oldest)) = self.by_version.pop_first() else {
                break;
            };
            self.by_session.remove(&oldest);
        }
    }

    /// `session`'s last commit, if the table holds it.
    pub(crate) fn get(&self, session: SessionId) -> Option<LastCommit> {
        self.by_session.get(&session).copied()
    }

    /// How many sessions it holds.
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.by_session.len()
    }

    /// Forgets the commits after `version`: the table as of that version, as far as it held
    /// it (for a node that starts behind a snapshot, and reads the rest from the log).
    pub(crate) fn up_to(mut self, version: u64) -> Self {
        let later: Vec<(u64, SessionId)> = self
            .by_version
            .range(version.saturating_add(1)..)
            .map(|(v, s)| (*v, *s))
            .collect();
        for (version, session) in later {
            self.by_version.remove(&version);
            self.by_session.remove(&session);
        }
        self
    }

    /// The table as a snapshot carries it: each session's last commit `(session, id,
    /// version)` and each session's client, by session.
    pub(crate) fn stored(&self) -> Stored {
        let mut held: Vec<(SessionId, LastCommit)> =
            self.by_session.iter().map(|(s, l)| (*s, *l)).collect();
        held.sort_unstable_by_key(|(session, _)| *session);
        let sessions = held.iter().map(|(s, l)| (*s, l.id, l.version)).collect();
        let clients = held.iter().map(|(s, l)| (*s, l.client)).collect();
        (sessions, clients)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn change(session: SessionId, client: ClientId, id: u64, version: u64) -> Committed {
        Committed {
            author: None,
            version,
            client,
            session,
            id,
            patches: Vec::new(),
        }
    }

    #[test]
    fn a_session_is_known_by_its_last_commit_and_the_oldest_goes_first() {
        let mut table = LogSessions::with_limit(2);
        table.committed(&change(1, 10, 1, 1));
        table.committed(&change(2, 20, 1, 2));
        table.committed(&change(1, 10, 2, 3));
        assert_eq!(
            table.get(1),
            Some(LastCommit {
                client: 10,
                id: 2,
                version: 3
            })
        );
        // Full: session 2's last commit is the oldest.
        table.committed(&change(3, 30, 1, 4));
        assert_eq!((table.get(2), table.len()), (None, 2));
        // Read again (a duplicate of an older message): nothing moves back.
        table.committed(&change(1, 10, 1, 1));
        assert_eq!(table.get(1).map(|l| l.id), Some(2));
    }

    #[test]
    fn a_snapshot_carries_the_table_and_an_old_one_resumes_nobody() {
        let mut table = LogSessions::default();
        table.committed(&change(9, 90, 4, 7));
        table.committed(&change(3, 30, 1, 8));
        let (sessions, clients) = table.stored();
        assert_eq!(sessions, [(3, 1, 8), (9, 4, 7)]);
        assert_eq!(clients, [(3, 30), (9, 90)]);
        let read = LogSessions::from_stored(&sessions, &clients);
        assert_eq!(read.get(9), table.get(9));
        // Written before clients were kept: held, with no client.
        let old = LogSessions::from_stored(&sessions, &[]);
        assert_eq!(old.get(3).map(|l| (l.client, l.id)), Some((0, 1)));
        // As of version 7.
        let earlier = read.up_to(7);
        assert_eq!(
            (earlier.get(3), earlier.get(9).map(|l| l.id)),
            (None, Some(4))
        );
    }

    proptest! {
        /// Whatever the log holds, the table holds exactly the `limit` sessions whose last
        /// commits are the most recent, each with its last commit; and a snapshot of it
        /// reads back the same.
        #[test]
        fn the_table_is_the_most_recent_sessions_of_the_log(
            log in proptest::collection::vec((0_u64..12, 0_u64..3), 0..200),
            limit in 1_usize..8,
        ) {
            let mut table = LogSessions::with_limit(limit);
            let mut model: HashMap<SessionId, LastCommit> = HashMap::new();
            let mut ids: HashMap<SessionId, u64> = HashMap::new();
            for (offset, (session, client)) in log.iter().enumerate() {
                let version = offset as u64 + 1;
                let id = ids.entry(*session).or_default();
                *id += 1;
                let client = session * 10 + client;
                table.committed(&change(*session, client, *id, version));
                model.insert(*session, LastCommit { client, id: *id, version });
            }
            let mut recent: Vec<(SessionId, LastCommit)> = model.into_iter().collect();
            recent.sort_by_key(|(_, last)| std::cmp::Reverse(last.version));
            recent.truncate(limit);
            prop_assert_eq!(table.len(), recent.len());
            for (session, last) in &recent {
                prop_assert_eq!(table.get(*session), Some(*last));
            }
            let (sessions, clients) = table.stored();
            let read = LogSessions::from_stored(&sessions, &clients);
            for (session, last) in &recent {
                prop_assert_eq!(read.get(*session), Some(*last));
            }
        }
    }
}
