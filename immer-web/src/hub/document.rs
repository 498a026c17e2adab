//! The document's side of the hub: sessions opened, resumed and forgotten, a client's
//! message checked and handed to the [`Backend`], and what comes back queued for its
//! recipients. No I/O here: connections are queues (see [`connection`](super::connection)).

use std::sync::{Arc, PoisonError};
use std::time::Instant;

use axum::extract::ws::{Message, Utf8Bytes};
use immer::sync::{
    Change, ClientId, Committed, Outbound, Recipient, RejectReason, Rejected, SessionId, Snapshot,
    ToFollower, ToLeader,
};
use immer::{Draftable, Patch};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::limits::{Limits, check_limits, close_code, unsafe_key};
use super::{
    Backend, CLOSED, Connection, Context, Core, Hub, Identity, Link, Session, lock, user_client,
    with_tag,
};
use crate::protocol::{ClientMessage, Incoming, ServerMessage};

/// A connection registered with a document.
pub(crate) struct Registered {
    pub(crate) connection: u64,
    pub(crate) client: ClientId,
    pub(crate) session: SessionId,
    /// The size of the welcome queued for it (what it asked for costs it this).
    pub(crate) bytes: usize,
}

impl<T, R, B> Hub<T, R, B>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
    B: Backend<T>,
{
    /// Opens or resumes a session of `identity` for the socket behind `link`, and queues
    /// its welcome; or the close code and reason.
    pub(crate) fn register(
        &self,
        identity: &Identity<R>,
        resume: Option<SessionId>,
        link: Link,
        tagged: bool,
    ) -> Result<Registered, (u16, String)> {
        let limits = &self.inner.limits;
        let role = serde_json::to_value(&identity.role).map_err(|e| {
            (
                close_code::POLICY,
                format!("the role cannot be encoded: {e}"),
            )
        })?;
        let mut core = self.core();
        if core.closed {
            return Err((close_code::TRY_AGAIN_LATER, CLOSED.to_owned()));
        }
        let now = Instant::now();
        self.expire(&mut core, now);
        let connection = core.next_connection;
        core.next_connection += 1;
        // The user's client, the same in every life of the server (a session kept across a
        // restart is resumed by its user only).
        let client = user_client(&identity.user);
        if let Some(session) = resume.filter(|s| !core.sessions.contains_key(s)) {
            self.hold_if_known(&mut core, session, client, &identity.user, now)?;
        }
        let resumed = resume.filter(|s| core.sessions.get(s).map(|e| e.client) == Some(client));
        let (session, version, state) = if let Some(session) = resumed {
            let entry = core
                .sessions
                .get_mut(&session)
                .expect("resumed sessions are kept");
            // A session kept across a restart is its user's again.
            let adopted = entry.user.is_empty();
            if adopted {
                entry.user.clone_from(&identity.user);
            }
            // One live connection per session: the newer one takes it over.
            let previous = entry.connection.replace(connection);
            if let Some(old) = previous.and_then(|old| core.remove_connection(old)) {
                let reason = "the session was resumed by another connection";
                core.end(&old, close_code::SESSION_TAKEN, reason, limits);
            }
            if adopted {
                *core.users.entry(identity.user.clone()).or_default() += 1;
            }
            (session, core.backend.version(), None)
        } else {
            self.make_session_room(&mut core, &identity.user)?;
            let welcome = core.backend.join(client);
            let state = match Self::state_json(&mut core, &welcome.snapshot) {
                Ok(state) => state,
                Err(e) => {
                    // Nothing is kept of a session that cannot start.
                    core.backend.close_session(welcome.session);
                    let reason = format!("the document cannot be encoded: {e}");
                    return Err((close_code::POLICY, reason));
                }
            };
            *core.users.entry(identity.user.clone()).or_default() += 1;
            core.sessions.insert(
                welcome.session,
                Session {
                    client,
                    user: identity.user.clone(),
                    connection: Some(connection),
                    detached_at: now,
                },
            );
            (welcome.session, welcome.snapshot.version, Some(state))
        };
        self.inner
            .identities
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(client, identity.clone());
        // The welcome (as `ServerMessage::Welcome` writes it), its state written once per
        // version.
        let user = serde_json::Value::String(identity.user.clone());
        let state = state.as_ref().map_or("null", Utf8Bytes::as_str);
        let text = format!(
            r#"{{"type":"welcome","session":{session},"user":{user},"role":{role},"version":{version},"state":{state},"resumed":{}}}"#,
            resumed.is_some()
        );
        let entry = Connection {
            session,
            link,
            tagged,
        };
        let welcome = core.text_for(&entry, text);
        let bytes = welcome.len();
        entry.link.push(Message::Text(welcome), limits);
        // Then the presences shown, and from then on what changes of them.
        let key = core.presence_key(&entry);
        let shown = core.presences.snapshot();
        entry.link.start_presence(key, connection, shown, limits);
        core.connections.insert(connection, entry);
        Ok(Registered {
            connection,
            client,
            session,
            bytes,
        })
    }

    /// Holds `session`, which the hub does not hold, when its backend knows it as
    /// `client`'s (a shared log's shows the sessions of every server, in every life), as a
    /// session kept across a restart is held: waiting for its user to resume it. Or the
    /// close code and reason when there is no room for it.
    fn hold_if_known(
        &self,
        core: &mut Core<B>,
        session: SessionId,
        client: ClientId,
        user: &str,
        now: Instant,
    ) -> Result<(), (u16, String)> {
        if !core.backend.resume_session(session, client) {
            return Ok(());
        }
        if let Err(refused) = self.make_session_room(core, user) {
            core.backend.close_session(session);
            return Err(refused);
        }
        let entry = Session {
            client,
            user: String::new(),
            connection: None,
            detached_at: now,
        };
        core.sessions.insert(session, entry);
        Ok(())
    }

    /// Unregisters a connection that ended (or unsubscribed): its session is kept for
    /// [`Limits::session_idle`] to be resumed.
    pub(crate) fn detach(&self, connection: u64, session: SessionId) {
        let mut core = self.core();
        core.remove_connection(connection);
        let now = Instant::now();
        core.used = now;
        if let Some(entry) = core.sessions.get_mut(&session) {
            if entry.connection == Some(connection) {
                entry.connection = None;
                entry.detached_at = now;
                core.detached.push_back((now, session));
            }
        }
        // Entries of sessions resumed since wait for their time to pass: when they come to
        // outnumber the sessions kept, only the live ones stay.
        if core.detached.len() > 2 * core.sessions.len() + 64 {
            let Core {
                detached, sessions, ..
            } = &mut *core;
            detached.retain(|(at, s)| {
                sessions
                    .get(s)
                    .is_some_and(|e| e.connection.is_none() && e.detached_at == *at)
            });
        }
        self.expire(&mut core, now);
    }

    /// Forgets the sessions idle for longer than [`Limits::session_idle`].
    fn expire(&self, core: &mut Core<B>, now: Instant) {
        let idle = self.inner.limits.session_idle;
        while let Some(&(at, session)) = core.detached.front() {
            if now.saturating_duration_since(at) < idle {
                break;
            }
            core.detached.pop_front();
            self.forget(core, session, at);
        }
    }

    /// Forgets the session idle the longest; `false` when every session is connected.
    fn forget_oldest(&self, core: &mut Core<B>) -> bool {
        while let Some((at, session)) = core.detached.pop_front() {
            if self.forget(core, session, at) {
                return true;
            }
        }
        false
    }

    /// Room for one more session of `user`, or the close code and reason.
    fn make_session_room(&self, core: &mut Core<B>, user: &str) -> Result<(), (u16, String)> {
        let limits = &self.inner.limits;
        // One user's sessions make room among their own: a user opening sessions again
        // and again never pushes out another's waiting to be resumed.
        let own = core.users.get(user).copied().unwrap_or(0);
        if own >= limits.max_sessions_per_user && !self.forget_oldest_of(core, user) {
            let reason = format!(
                "every one of this user's {} sessions is connected: try again later",
                limits.max_sessions_per_user
            );
            return Err((close_code::TRY_AGAIN_LATER, reason));
        }
        if core.sessions.len() >= limits.max_sessions && !self.forget_oldest(core) {
            let reason = format!(
                "every one of the {} sessions is connected: try again later",
                limits.max_sessions
            );
            return Err((close_code::TRY_AGAIN_LATER, reason));
        }
        Ok(())
    }

    /// Forgets `user`'s session idle the longest; `false` when every one of theirs is
    /// connected.
    fn forget_oldest_of(&self, core: &mut Core<B>, user: &str) -> bool {
        let oldest = core
            .sessions
            .iter()
            .filter(|(_, e)| e.user == user && e.connection.is_none())
            .min_by_key(|(_, e)| e.detached_at)
            .map(|(session, e)| (*session, e.detached_at));
        oldest.is_some_and(|(session, at)| self.forget(core, session, at))
    }

    /// Forgets `session` now if no connection holds it (a socket replaced it with another).
    pub(crate) fn forget_session(&self, session: SessionId) {
        let mut core = self.core();
        let at = core
            .sessions
            .get(&session)
            .filter(|e| e.connection.is_none())
            .map(|e| e.detached_at);
        if let Some(at) = at {
            self.forget(&mut core, session, at);
        }
    }

    /// Forgets `session` if it is still detached since `at`; returns whether it did.
    fn forget(&self, core: &mut Core<B>, session: SessionId, at: Instant) -> bool {
        let idle = core
            .sessions
            .get(&session)
            .is_some_and(|e| e.connection.is_none() && e.detached_at == at);
        if !idle {
            return false;
        }
        let Some(entry) = core.sessions.remove(&session) else {
            return false;
        };
        core.backend.close_session(session);
        if let Some(sessions) = core.users.get_mut(&entry.user) {
            *sessions -= 1;
            if *sessions == 0 {
                core.users.remove(&entry.user);
                self.inner
                    .identities
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&entry.client);
            }
        }
        true
    }

    /// The JSON of `snapshot`'s state, written once per version.
    fn state_json(
        core: &mut Core<B>,
        snapshot: &Snapshot<T>,
    ) -> Result<Utf8Bytes, serde_json::Error> {
        if let Some((version, text)) = &core.state_json {
            if *version == snapshot.version {
                return Ok(text.clone());
            }
        }
        let text = Utf8Bytes::from(serde_json::to_string(&snapshot.state)?);
        core.state_json = Some((snapshot.version, text.clone()));
        Ok(text)
    }

    /// What can be refused of a change without the document: the limits, operations Immer
    /// cannot apply, keys JavaScript clients cannot hold, and paths the author's role may
    /// not write wherever its list positions are moved to.
    pub(super) fn precheck(&self, role: &R, patches: &[Patch]) -> Option<RejectReason> {
        if patches.is_empty() {
            return Some(RejectReason::Empty {});
        }
        if let Some(reason) = check_limits(patches, &self.inner.limits) {
            return Some(reason);
        }
        if let Some(path) = unsafe_key(patches) {
            return Some(RejectReason::Forbidden { path });
        }
        let policy = &self.inner.policy;
        let refused = if policy.writes_anything(role) {
            policy.first_refused_after_any_move(role, patches)
        } else {
            patches.first().map(|p| &p.path)
        };
        refused.map(|path| RejectReason::Forbidden { path: path.clone() }.shortened())
    }

    /// Handles one message of an authenticated connection; `false` once the connection is
    /// no longer registered (closed, or taken over), when nothing more of it is handled.
    pub(crate) fn handle(&self, context: &Context<R>, message: Incoming) -> bool {
        if !self.core().connections.contains_key(&context.connection) {
            return false;
        }
        let message = match message {
            Incoming::Message(message) => message,
            Incoming::ReadOnly { id, first } => {
                let reason = match first {
                    Some(path) => RejectReason::Forbidden { path }.shortened(),
                    None => RejectReason::Empty {},
                };
                self.reject(context, id, reason);
                return true;
            }
            Incoming::LongPresence(length) => return self.set_presence(context, Err(length)),
        };
        let limits = &self.inner.limits;
        let session = context.session;
        let to_leader = match message {
            ClientMessage::Change { id, base, patches } => {
                if let Some(reason) = self.precheck(&context.role, &patches) {
                    self.reject(context, id, reason);
                    return true;
                }
                ToLeader::Change(Change {
                    // Who the hub authenticated: the log says who did what.
                    author: Some(context.user.clone()),
                    client: context.client,
                    session,
                    id,
                    base,
                    patches,
                })
            }
            // Shown to the others, never ordered or kept.
            ClientMessage::Presence { state } => return self.set_presence(context, Ok(state)),
            ClientMessage::Resync { version } => ToLeader::Resync { session, version },
            ClientMessage::Snapshot => ToLeader::SnapshotRequest { session },
            // The connection's, not the document's (read by the connection's reader).
            ClientMessage::Auth { .. }
            | ClientMessage::Subscribe { .. }
            | ClientMessage::Unsubscribe { .. } => return true,
        };
        let asked = !matches!(to_leader, ToLeader::Change(_));
        let mut core = self.core();
        let to_leader = match to_leader {
            // Too far behind to catch up change by change within its queue: a snapshot,
            // decided before any change is copied.
            ToLeader::Resync { version, .. }
                if core.backend.version().saturating_sub(version)
                    > limits.max_outbound as u64 / 2 =>
            {
                ToLeader::SnapshotRequest { session }
            }
            other => other,
        };
        let outs = core.backend.receive(to_leader);
        let sent = Self::distribute(&mut core, outs, context.connection, limits);
        core.backend.compact(limits.keep_log);
        if asked {
            // What a client asks for costs its size.
            if let Err(reason) = lock(&context.budget).take(sent) {
                // Told why, and sent nothing more.
                if let Some(entry) = core.remove_connection(context.connection) {
                    entry.link.close_with(close_code::POLICY, reason);
                }
            }
        }
        true
    }

    /// Queues each message for its recipients; a connection whose queue is full is removed
    /// and told why. Returns the bytes queued for `connection`.
    pub(super) fn distribute(
        core: &mut Core<B>,
        outs: Vec<Outbound<T>>,
        connection: u64,
        limits: &Limits,
    ) -> usize {
        let mut sent = 0;
        for out in outs {
            if let (Recipient::All, ToFollower::Committed(committed)) = (&out.to, &out.message) {
                core.observers
                    .retain(|observer| observer.send(committed.clone()).is_ok());
            }
            // The answer to an edit of the server's own (see `Hub::edit`).
            if !core.waiting.is_empty() {
                Self::answer_server(core, &out);
            }
            // Its recipients; nothing is written for no one (a recipient removed for reading
            // too slowly).
            let targets: Vec<u64> = core
                .connections
                .iter()
                .filter(|(id, entry)| match out.to {
                    Recipient::All => true,
                    Recipient::Session(session) => entry.session == session,
                    Recipient::Sender => **id == connection,
                })
                .map(|(id, _)| *id)
                .collect();
            if targets.is_empty() {
                continue;
            }
            // Welcomes are the hub's own (with the identity); a state with no JSON form cannot
            // be sent, and the client resynchronizes later.
            let text = match out.message {
                // As `ServerMessage::Snapshot` writes it, the state written once per version.
                ToFollower::Snapshot(snapshot) => {
                    let Ok(state) = Self::state_json(core, &snapshot) else {
                        continue;
                    };
                    let Ok(answered) = serde_json::to_string(&snapshot.answered) else {
                        continue;
                    };
                    format!(
                        r#"{{"type":"snapshot","version":{},"state":{state},"answered":{answered}}}"#,
                        snapshot.version
                    )
                }
                message => {
                    let message = match message {
                        // Who wrote it stays with the server (see `ServerMessage::Committed`).
                        ToFollower::Committed(committed) => ToFollower::Committed(Committed {
                            client: 0,
                            ..committed
                        }),
                        other => other,
                    };
                    let Some(Ok(text)) = ServerMessage::from_leader_message(message)
                        .map(|m| serde_json::to_string(&m))
                    else {
                        continue;
                    };
                    text
                }
            };
            let plain = Utf8Bytes::from(text);
            // With the document's name, for the sockets that carry many: written once.
            let mut tagged = None;
            for id in targets {
                let Some(entry) = core.connections.get(&id) else {
                    continue;
                };
                let text = if entry.tagged {
                    tagged
                        .get_or_insert_with(|| {
                            with_tag(core.tag.as_deref(), plain.as_str().to_owned())
                        })
                        .clone()
                } else {
                    plain.clone()
                };
                if id == connection {
                    sent += text.len();
                }
                if !entry.link.push(Message::Text(text), limits) {
                    // Told why (the close frame follows what its socket holds), and sent
                    // nothing more.
                    core.remove_connection(id);
                }
            }
        }
        sent
    }

    /// Sends what a backend produces on its own (a shared log's committed changes and
    /// answers, a durable store's once on disk) to its recipients, as it comes, for as long
    /// as the hub lives.
    ///
    /// A backend that ends the channel while the hub lives has stopped answering (a store
    /// that could not write a change): the document is closed, each connection is told to
    /// connect again (its client sends its unanswered change again, to the document opened
    /// anew from storage), and each edit of the server's waiting ends unanswered.
    pub(crate) fn deliver_from(&self, mut messages: mpsc::UnboundedReceiver<Outbound<T>>) {
        let hub = Arc::downgrade(&self.inner);
        tokio::spawn(async move {
            while let Some(first) = messages.recv().await {
                let Some(inner) = hub.upgrade() else { return };
                let mut outs = vec![first];
                while let Ok(next) = messages.try_recv() {
                    outs.push(next);
                }
                let mut core = lock(&inner.core);
                Self::distribute(&mut core, outs, 0, &inner.limits);
            }
            let Some(inner) = hub.upgrade() else { return };
            let mut core = lock(&inner.core);
            core.closed = true;
            for entry in core.remove_all_connections() {
                core.end(
                    &entry,
                    close_code::TRY_AGAIN_LATER,
                    "the document's storage failed: connect again",
                    &inner.limits,
                );
            }
            // The other servers are told at once: no ticker will.
            core.flush_presence(&inner.limits);
            core.waiting.clear();
        });
    }

    /// Answers change `id` of the connection with a refusal the hub made itself.
    fn reject(&self, context: &Context<R>, id: u64, reason: RejectReason) {
        let rejected = ServerMessage::<T>::Rejected(Rejected {
            session: context.session,
            id,
            reason,
        });
        self.send_to(context.connection, &rejected);
    }

    pub(super) fn send_to(&self, connection: u64, message: &ServerMessage<T>) {
        let Ok(text) = serde_json::to_string(message) else {
            return;
        };
        let core = self.core();
        if let Some(entry) = core.connections.get(&connection) {
            let text = core.text_for(entry, text);
            entry.link.push(Message::Text(text), &self.inner.limits);
        }
    }

    /// Names the document for the sockets of a server of many: every message for it carries
    /// the name.
    pub(crate) fn set_name(&self, name: &str) {
        self.core().tag = Some(super::tag(name));
    }

    /// Since when no connection has had the document, no one watched its commits and no
    /// edit of the server's waited; `None` while one does.
    pub(crate) fn unused_since(&self) -> Option<Instant> {
        self.core().unused_since()
    }

    /// Closes the document if no connection has it, no one watches its commits and no edit
    /// of the server's waits, and has not for `idle` (`None`: however long); returns whether it did (or was closed).
    pub(crate) fn close_if_unused(&self, idle: Option<std::time::Duration>) -> bool {
        let mut core = self.core();
        let now = Instant::now();
        self.expire(&mut core, now);
        let unused = core.unused_since().is_some_and(|since| {
            idle.is_none_or(|idle| now.saturating_duration_since(since) >= idle)
        });
        if unused {
            core.closed = true;
        }
        core.closed
    }

    /// Closes the document at once (it was deleted): each connection is told `reason` for
    /// it, and each edit of the server's waiting ends unanswered.
    pub(crate) fn close_now(&self, reason: &str) {
        let mut core = self.core();
        core.closed = true;
        for entry in core.remove_all_connections() {
            core.end(&entry, close_code::GONE, reason, &self.inner.limits);
        }
        // The other servers are told at once: no ticker will.
        core.flush_presence(&self.inner.limits);
        core.waiting.clear();
    }

    /// Whether `connection` is still registered (not ended by the hub: deleted, taken over,
    /// too slow).
    pub(crate) fn is_registered(&self, connection: u64) -> bool {
        self.core().connections.contains_key(&connection)
    }

    /// Whether its server closed it.
    pub(crate) fn is_closed(&self) -> bool {
        self.core().closed
    }
}
