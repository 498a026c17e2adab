//! The node that orders changes.

use std::collections::VecDeque;
use std::fmt;
use std::sync::Arc;

use crate::apply::apply_patches_mut;
use crate::canonical::{apply_typed, canonical_paths};
use crate::draftable::Draftable;
use crate::error::PatchError;
use crate::patch::Patch;
use crate::path::Path;
use crate::transform::{Rule, Through};

use super::{
    Admission, Change, Checks, ClientId, Committed, Outbound, Outcome, Recipient, RejectReason,
    Rejected, SessionId, Sessions, Snapshot, ToFollower, ToLeader, Welcome,
};

/// The node that orders changes: one per shared state.
///
/// # Examples
///
/// ```
/// use immer_core::sync::{Follower, Leader};
/// use std::sync::Arc;
///
/// let mut leader = Leader::new(Arc::new(vec![10_u32, 20, 30]));
/// let mut ann = Follower::new(leader.join(1));
/// let mut bob = Follower::new(leader.join(2));
///
/// // Bob removes the first element while Ann, who has not heard of it, edits the third.
/// bob.edit(|d| { d.remove(0); });
/// ann.edit(|d| d.get_mut(2).unwrap().set(31));
/// for _ in 0..2 {
///     for message in bob.poll().into_iter().chain(ann.poll()) {
///         for out in leader.receive(message) {
///             ann.receive(out.message.clone());
///             bob.receive(out.message);
///         }
///     }
/// }
/// // Ann's edit landed on the element she edited, now at index 1.
/// assert_eq!(**leader.state(), [20, 31]);
/// assert_eq!(ann.state(), leader.state());
/// assert_eq!(bob.state(), leader.state());
/// ```
pub struct Leader<T> {
    state: Arc<T>,
    version: u64,
    /// Committed changes from version `log_start + 1` on.
    log: VecDeque<Committed>,
    log_start: u64,
    /// The sessions opened, each with its client and its last answered change.
    sessions: Sessions,
    next_session: SessionId,
    checks: Checks<T>,
}

/// A change ordered elsewhere (in a shared log) that does not follow a [`Leader`]'s version,
/// or does not apply to its state: see [`Leader::append`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum AppendError {
    /// Its version is not the leader's next one.
    NotNext {
        /// The leader's version.
        version: u64,
        /// The change's version.
        got: u64,
    },
    /// Its patches do not apply to the leader's state.
    DoesNotApply(PatchError),
}

impl fmt::Display for AppendError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppendError::NotNext { version, got } => write!(
                f,
                "version {got} does not follow the leader's version {version}"
            ),
            AppendError::DoesNotApply(error) => write!(f, "it does not apply: {error}"),
        }
    }
}

impl std::error::Error for AppendError {}

impl<T: Draftable> Leader<T> {
    /// A leader whose version 0 is `state`.
    #[must_use]
    pub fn new(state: Arc<T>) -> Self {
        Self::resume(state, 0)
    }

    /// A leader that starts at `version` with `state` (a snapshot), with no log before it:
    /// changes based on an older version are refused as [`RejectReason::Compacted`].
    #[must_use]
    pub fn resume(state: Arc<T>, version: u64) -> Self {
        Leader {
            state,
            version,
            log: VecDeque::new(),
            log_start: version,
            sessions: Sessions::new(),
            next_session: 1,
            checks: Checks::new(),
        }
    }

    /// Bounds the work of moving one change through what was committed since its base (see
    /// [`Checks::move_limit`]): a change over `max_work` is refused before it is moved
    /// ([`RejectReason::Limit`]); its author's follower drops it, and edits anew from the
    /// leader's state.
    #[must_use]
    pub fn with_move_limit(mut self, max_work: usize) -> Self {
        self.checks = self.checks.move_limit(max_work);
        self
    }

    /// Runs `validator` on every change before it is committed, with the state it applies
    /// to, the state it leads to, and its author: a change it refuses is rejected with
    /// [`RejectReason::Invalid`], never enters the log, and its author's follower rolls it
    /// back.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{FollowerEvent, Follower, Leader, RejectReason, DropReason};
    /// use std::sync::Arc;
    ///
    /// // At most three elements.
    /// let mut leader = Leader::new(Arc::new(vec![1_u32, 2]))
    ///     .with_validator(|_, next: &Vec<u32>, _| {
    ///         if next.len() <= 3 { Ok(()) } else { Err(format!("{} elements", next.len())) }
    ///     });
    /// let mut ann = Follower::new(leader.join(1));
    /// ann.edit(|d| d.push(3));
    /// ann.edit(|d| d.push(4));
    /// for _ in 0..3 {
    ///     for message in ann.poll() {
    ///         for out in leader.receive(message) {
    ///             ann.receive(out.message);
    ///         }
    ///     }
    /// }
    /// assert_eq!(**leader.state(), [1, 2, 3]);
    /// assert_eq!(ann.state(), leader.state());
    /// let events = ann.take_events();
    /// assert!(events.iter().any(|e| matches!(e, FollowerEvent::Dropped {
    ///     id: 2,
    ///     reason: DropReason::Rejected(RejectReason::Invalid { .. }),
    /// })));
    /// ```
    #[must_use]
    pub fn with_validator<F>(mut self, validator: F) -> Self
    where
        F: Fn(&T, &T, ClientId) -> Result<(), String> + Send + Sync + 'static,
    {
        self.checks = self.checks.validator(validator);
        self
    }

    /// Runs `authorizer` on every change before it is committed, with its author and its
    /// patches as they will be committed (indices moved through the changes committed since
    /// the author's version, in the canonical form of
    /// [`apply_canonical`](crate::apply_canonical)): a change it refuses is rejected with
    /// [`RejectReason::Forbidden`] naming the path, and never enters the log. It runs after
    /// the change is applied to a copy (a change that does not apply is refused as such) and
    /// before the [validator](Leader::with_validator).
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::sync::{Follower, Leader, RejectReason, ToFollower};
    /// use std::sync::Arc;
    ///
    /// // Client 2 may only write the first element.
    /// let mut leader = Leader::new(Arc::new(vec![1_u32, 2])).with_authorizer(|client, patches| {
    ///     match patches.iter().find(|p| client == 2 && p.path.to_pointer() != "/0") {
    ///         Some(p) => Err(p.path.clone()),
    ///         None => Ok(()),
    ///     }
    /// });
    /// let mut bob = Follower::new(leader.join(2));
    /// bob.edit(|d| d.get_mut(1).unwrap().set(20));
    /// let answer = leader.receive(bob.poll().remove(0));
    /// assert!(matches!(
    ///     &answer[0].message,
    ///     ToFollower::Rejected(r) if matches!(r.reason, RejectReason::Forbidden { .. })
    /// ));
    /// assert_eq!(**leader.state(), [1, 2]);
    /// ```
    #[must_use]
    pub fn with_authorizer<F>(mut self, authorizer: F) -> Self
    where
        F: Fn(ClientId, &[Patch]) -> Result<(), Path> + Send + Sync + 'static,
    {
        self.checks = self.checks.authorizer(authorizer);
        self
    }

    /// Runs `checks` (the validator, the authorizer and the move limit together, as a
    /// transport shares them between the nodes it runs) on every change before it is
    /// committed, in place of the ones set before.
    #[must_use]
    pub fn with_checks(mut self, checks: Checks<T>) -> Self {
        self.checks = checks;
        self
    }

    /// The checks every change passes before it is committed.
    #[must_use]
    pub fn checks(&self) -> &Checks<T> {
        &self.checks
    }

    /// The sessions open, each with its client and its last answered change.
    #[must_use]
    pub fn sessions(&self) -> &Sessions {
        &self.sessions
    }

    /// The current state.
    #[must_use]
    pub fn state(&self) -> &Arc<T> {
        &self.state
    }

    /// The current version: the number of changes committed.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// The committed changes still held, oldest first.
    pub fn log(&self) -> impl ExactSizeIterator<Item = &Committed> + DoubleEndedIterator {
        self.log.iter()
    }

    /// Opens a session for `client`: what [`ToLeader::Join`] does, for a follower in the same
    /// process (nonce 0).
    pub fn join(&mut self, client: ClientId) -> Welcome<T> {
        self.open_session(client, 0)
    }

    /// Forgets a session: its changes are refused from then on
    /// ([`RejectReason::UnknownSession`]), and a retransmission of its last change is no
    /// longer answered as before. For a transport that ends sessions (a connection gone for
    /// longer than it may resume). Returns whether the session was open.
    pub fn close_session(&mut self, session: SessionId) -> bool {
        self.sessions.close(session)
    }

    /// Opens `session` for `client` again, as a store that kept it reopens it after a
    /// restart: its last committed change was `last` (`(id, version)`), so that the change's
    /// retransmission is answered as it ended, never applied twice. Later sessions are
    /// numbered after it. Returns `false` (and changes nothing) when it is open already.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use immer_core::sync::{Admission, Change, Leader, Outcome};
    ///
    /// let mut leader = Leader::resume(Arc::new(vec![1_u32]), 5);
    /// assert!(leader.restore_session(7, 1, Some((3, 5))));
    /// let again = Change { client: 1, session: 7, id: 3, base: 4, patches: vec![], author: None };
    /// assert_eq!(
    ///     leader.sessions().admit(&again),
    ///     Admission::Again { outcome: Outcome::Committed { version: 5 } },
    /// );
    /// // A session opened now is numbered after it.
    /// assert_eq!(leader.join(2).session, 8);
    /// ```
    pub fn restore_session(
        &mut self,
        session: SessionId,
        client: ClientId,
        last: Option<(u64, u64)>,
    ) -> bool {
        self.reserve_sessions(session.saturating_add(1));
        if !self.sessions.open(session, client) {
            return false;
        }
        if let Some((id, version)) = last {
            self.sessions
                .answer(session, id, Outcome::Committed { version });
        }
        true
    }

    /// Numbers the sessions opened from now on from `next` at least (a store that numbered
    /// sessions before a restart goes on after them).
    pub fn reserve_sessions(&mut self, next: SessionId) {
        self.next_session = self.next_session.max(next);
    }

    /// The number the next session opened gets.
    #[must_use]
    pub fn next_session(&self) -> SessionId {
        self.next_session
    }

    /// How many sessions are open.
    #[must_use]
    pub fn session_count(&self) -> usize {
        self.sessions.len()
    }

    fn open_session(&mut self, client: ClientId, nonce: u64) -> Welcome<T> {
        let session = self.next_session;
        self.next_session += 1;
        self.sessions.open(session, client);
        Welcome {
            client,
            nonce,
            session,
            snapshot: self.snapshot(),
        }
    }

    /// The current state as a [`Snapshot`] (with no session's answer).
    #[must_use]
    pub fn snapshot(&self) -> Snapshot<T> {
        Snapshot {
            version: self.version,
            state: (*self.state).clone(),
            answered: None,
        }
    }

    fn snapshot_for(&self, session: SessionId) -> Snapshot<T> {
        Snapshot {
            answered: self.sessions.answered(session),
            ..self.snapshot()
        }
    }

    /// Forgets the log before `version`: followers older than that catch up by snapshot.
    pub fn compact(&mut self, version: u64) {
        while self.log_start < version.min(self.version) {
            self.log.pop_front();
            self.log_start += 1;
        }
    }

    /// Handles one message; returns the messages to send.
    pub fn receive(&mut self, message: ToLeader) -> Vec<Outbound<T>> {
        match self.try_receive_with(message, |_| Ok::<(), std::convert::Infallible>(())) {
            Ok(out) => out,
            Err(never) => match never {},
        }
    }

    /// [`receive`](Leader::receive), with `record` called on each change about to be
    /// committed, before it counts: a store makes it durable there. When `record` fails, the
    /// change is neither committed nor answered (its author sends it again, and it is ordered
    /// anew).
    ///
    /// # Errors
    ///
    /// `record`'s error; the leader is as it was before the change.
    pub fn try_receive_with<E>(
        &mut self,
        message: ToLeader,
        mut record: impl FnMut(&Committed) -> Result<(), E>,
    ) -> Result<Vec<Outbound<T>>, E> {
        Ok(match message {
            ToLeader::Join { client, nonce } => vec![Outbound {
                to: Recipient::Sender,
                message: ToFollower::Welcome(self.open_session(client, nonce)),
            }],
            ToLeader::Change(change) => self.receive_change(&change, &mut record)?,
            ToLeader::Resync { session, version } => self.resync(session, version),
            ToLeader::SnapshotRequest { session } => vec![Outbound {
                to: Recipient::Session(session),
                message: ToFollower::Snapshot(self.snapshot_for(session)),
            }],
        })
    }

    fn receive_change<E>(
        &mut self,
        change: &Change,
        record: &mut impl FnMut(&Committed) -> Result<(), E>,
    ) -> Result<Vec<Outbound<T>>, E> {
        let to = Recipient::Session(change.session);
        let client = match self.sessions.admit(change) {
            Admission::Order { client } => client,
            Admission::Again { outcome } => {
                // A retransmission: answered again, to its author only.
                let message = Sessions::answer_again(
                    change.session,
                    change.id,
                    outcome,
                    |version| self.committed(version).cloned(),
                    || self.snapshot_for(change.session),
                );
                return Ok(vec![Outbound { to, message }]);
            }
            Admission::Answered => return Ok(Vec::new()),
            Admission::Unknown(rejected) => {
                return Ok(vec![Outbound {
                    to,
                    message: ToFollower::Rejected(rejected),
                }]);
            }
        };
        // What the session keeps of a refusal is small, whatever the change held.
        let prepared = self
            .prepare(client, change)
            .map_err(RejectReason::shortened);
        let (outcome, out) = match prepared {
            Ok((committed, next)) => {
                record(&committed)?;
                self.push(committed.clone(), next);
                (
                    Outcome::Committed {
                        version: committed.version,
                    },
                    Outbound {
                        to: Recipient::All,
                        message: ToFollower::Committed(committed),
                    },
                )
            }
            Err(reason) => (
                Outcome::Rejected(reason.clone()),
                Outbound {
                    to,
                    message: ToFollower::Rejected(Rejected {
                        session: change.session,
                        id: change.id,
                        reason,
                    }),
                },
            ),
        };
        self.sessions.answer(change.session, change.id, outcome);
        Ok(vec![out])
    }

    fn committed(&self, version: u64) -> Option<&Committed> {
        let index = version.checked_sub(self.log_start + 1)?;
        self.log.get(usize::try_from(index).ok()?)
    }

    /// Orders `change` by `client` as the next version without committing it, with the
    /// state it leads to. Cheap refusals come first: a base the leader has not reached or no
    /// longer holds, no patches ([`RejectReason::Empty`]), more work to move it than the
    /// [move limit](Leader::with_move_limit). Then its paths are read as the state's types
    /// read them (a list position written as a string becomes a number), it is moved
    /// through everything committed since its base in one pass, applied, authorized as it
    /// will be committed, and validated. What is committed is the change as the typed state writes it (see
    /// [`apply_canonical`](crate::apply_canonical)): members the types lack are gone,
    /// numbers and positions are written as the types write them, so every follower, typed
    /// or JSON, holds the leader's state. This is what [`receive`](Leader::receive) commits; a node that
    /// orders changes in a shared log (where another node may append first) prepares a
    /// change here, appends it there, and records it with [`append`](Leader::append).
    ///
    /// # Errors
    ///
    /// Why the change would be rejected.
    pub fn prepare(
        &self,
        client: ClientId,
        change: &Change,
    ) -> Result<(Committed, Arc<T>), RejectReason> {
        if change.base > self.version {
            return Err(RejectReason::BaseAhead {
                base_version: change.base,
                leader_version: self.version,
            });
        }
        if change.base < self.log_start {
            return Err(RejectReason::Compacted {
                base_version: change.base,
                log_start: self.log_start,
            });
        }
        if change.patches.is_empty() {
            return Err(RejectReason::Empty {});
        }
        let since = usize::try_from(change.base - self.log_start).unwrap_or(usize::MAX);
        let log = self.log.range(since..);
        // Counted before anything is moved, and no further than the bound.
        self.checks.check_move(change.patches.len(), log.clone())?;
        // The paths as the state's types read them (a list position written as a string is
        // moved as a position), then moved through everything committed since the base in one
        // pass.
        let patches = canonical_paths(&*self.state, &change.patches)?;
        let patches = if since < self.log.len() {
            let mut through = Through::default();
            for (offset, committed) in log.enumerate() {
                through.append(&committed.patches, offset);
            }
            through
                .pass(&patches, Rule::CONCURRENT)
                .map_err(|blocked| RejectReason::Conflict {
                    version: change.base + 1 + blocked.owner as u64,
                    conflict: blocked.conflict,
                })?
        } else {
            patches
        };
        // Committed as the typed state writes it, so that every follower holds this state;
        // authorized as committed (a set's element where it landed, `-` as the position).
        let (next, patches) = apply_typed(&self.state, patches)?;
        if patches.is_empty() {
            // Every patch changed nothing (an element a set already holds).
            return Err(RejectReason::Empty {});
        }
        self.checks.authorize(client, &patches)?;
        self.checks.validate(&self.state, &next, client)?;
        let committed = Committed {
            author: change.author.clone(),
            version: self.version + 1,
            client,
            session: change.session,
            id: change.id,
            patches,
        };
        Ok((committed, next))
    }

    /// Records a change ordered elsewhere as the next version: it must be
    /// [`version`](Leader::version)` + 1` and apply to the state (it is not validated again).
    ///
    /// # Errors
    ///
    /// When it does not follow the leader's version or does not apply; nothing changes.
    ///
    /// Time: the change applied in place when no one else holds the leader's state (a clone
    /// of [`state`](Leader::state) kept elsewhere is copied along the change's paths).
    pub fn append(&mut self, committed: Committed) -> Result<(), AppendError> {
        if Some(committed.version) != self.version.checked_add(1) {
            return Err(AppendError::NotNext {
                version: self.version,
                got: committed.version,
            });
        }
        // In place when no one else holds the state (all or nothing either way).
        apply_patches_mut(Arc::make_mut(&mut self.state), &committed.patches)
            .map_err(AppendError::DoesNotApply)?;
        self.version = committed.version;
        // It answers its change, for a session open here (one restored from a store).
        let outcome = Outcome::Committed {
            version: committed.version,
        };
        self.sessions
            .answer(committed.session, committed.id, outcome);
        self.log.push_back(committed);
        Ok(())
    }

    /// Puts `earlier` (changes committed before the log's start, in version order, the last
    /// one at [`log_start`](Leader::log_start)) back in front of the log, so that a change
    /// made against one of their versions is moved through them instead of refused
    /// ([`RejectReason::Compacted`]): for a leader resumed from a snapshot whose store kept
    /// the changes before it.
    ///
    /// # Errors
    ///
    /// [`AppendError::NotNext`] when they do not end at the log's start or do not follow one
    /// another; nothing changes.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use immer_core::sync::{Committed, Leader};
    ///
    /// let change = |version| Committed { version, client: 1, session: 1, id: version, patches: vec![], author: None };
    /// let mut leader = Leader::resume(Arc::new(vec![1_u32]), 10);
    /// leader.remember((9..=10).map(change)).unwrap();
    /// assert_eq!(leader.log_start(), 8);
    /// assert!(leader.remember([change(3)]).is_err());
    /// ```
    pub fn remember(
        &mut self,
        earlier: impl IntoIterator<Item = Committed>,
    ) -> Result<(), AppendError> {
        let earlier: Vec<Committed> = earlier.into_iter().collect();
        let mut expected = self.log_start;
        for committed in earlier.iter().rev() {
            if committed.version != expected {
                return Err(AppendError::NotNext {
                    version: expected.saturating_sub(1),
                    got: committed.version,
                });
            }
            expected = expected.saturating_sub(1);
        }
        self.log_start = expected;
        for committed in earlier.into_iter().rev() {
            self.log.push_front(committed);
        }
        Ok(())
    }

    fn push(&mut self, committed: Committed, next: Arc<T>) {
        self.state = next;
        self.version = committed.version;
        self.log.push_back(committed);
    }

    /// The version the log starts after: changes based on an older one are refused.
    #[must_use]
    pub fn log_start(&self) -> u64 {
        self.log_start
    }

    fn resync(&self, session: SessionId, version: u64) -> Vec<Outbound<T>> {
        let to = Recipient::Session(session);
        if version >= self.version {
            return Vec::new();
        }
        if version < self.log_start {
            return vec![Outbound {
                to,
                message: ToFollower::Snapshot(self.snapshot_for(session)),
            }];
        }
        (version + 1..=self.version)
            .filter_map(|v| self.committed(v))
            .map(|c| Outbound {
                to,
                message: ToFollower::Committed(c.clone()),
            })
            .collect()
    }
}

impl<T: fmt::Debug> fmt::Debug for Leader<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Leader")
            .field("version", &self.version)
            .field("state", &self.state)
            .finish_non_exhaustive()
    }
}
