//! The server: one document, many WebSocket connections, one [`Leader`] ordering their changes.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use immer::sync::{
    Change, ClientId, Committed, Leader, Outbound, Recipient, RejectReason, SessionId, ToFollower,
    ToLeader, Welcome,
};
use immer::{Draftable, Patch, PatchOp};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

use crate::policy::Policy;
use crate::protocol::{ClientMessage, ServerMessage};

/// Who a connection is, as the authentication hook says: a user and a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity<R> {
    /// The user: the same user keeps the same client id across connections.
    pub user: String,
    /// What the user may do (see [`Policy`]).
    pub role: R,
}

/// The server's limits; a client that exceeds one gets a rejection or is disconnected with a
/// reason, and the others go on.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Limits {
    /// The largest message a client may send, in bytes: a larger one closes the connection
    /// (code 1009). 256 KiB by default.
    pub max_message_bytes: usize,
    /// The most patches in one change: more is a rejection. 1,000 by default.
    pub max_patches: usize,
    /// The most segments in one path: deeper is a rejection. 32 by default.
    pub max_path_depth: usize,
    /// The most messages of one client read and not yet handled: a client that sends faster
    /// than its changes are ordered is disconnected (code 1008). 64 by default.
    pub max_pending: usize,
    /// The most messages a client may send per second, on average over `burst`: a flood
    /// disconnects it (code 1008). 200 by default.
    pub messages_per_second: u32,
    /// How many messages above the rate a client may send at once. 400 by default.
    pub burst: u32,
    /// The most messages waiting to be written to one client: a client that reads slower
    /// than the document changes is disconnected (code 1008), never waited for. 4,096 by
    /// default.
    pub max_outbound: usize,
    /// How long a connection has to send its token, and the authentication hook to verify
    /// it. 5 seconds by default.
    pub auth_timeout: Duration,
    /// How long a write to one client may take: a client that does not read for that long
    /// is disconnected. 10 seconds by default.
    pub write_timeout: Duration,
    /// How many committed changes are kept for clients that resynchronize: one further
    /// behind gets a snapshot. 10,000 by default.
    pub keep_log: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_message_bytes: 256 * 1024,
            max_patches: 1_000,
            max_path_depth: 32,
            max_pending: 64,
            messages_per_second: 200,
            burst: 400,
            max_outbound: 4_096,
            auth_timeout: Duration::from_secs(5),
            write_timeout: Duration::from_secs(10),
            keep_log: 10_000,
        }
    }
}

/// Close codes the server uses.
pub mod close_code {
    /// The client broke a rule: a flood, too many pending changes, too slow a reader.
    pub const POLICY: u16 = 1008;
    /// A message that is not a valid protocol message.
    pub const INVALID: u16 = 1007;
    /// A binary message.
    pub const UNSUPPORTED: u16 = 1003;
    /// A message over [`Limits::max_message_bytes`](super::Limits::max_message_bytes).
    pub const TOO_BIG: u16 = 1009;
    /// No token, a bad one, or none in time.
    pub const UNAUTHORIZED: u16 = 4401;
}

/// Where a hub's document is ordered: the in-process [`Leader`] (the default), or a JetStream
/// log shared with other servers (`JetStream`, with the feature
/// `jetstream`).
pub trait Backend<T>: Send + 'static {
    /// Opens a session for `client`, with the state to start from.
    fn join(&mut self, client: ClientId) -> Welcome<T>;
    /// Handles a session's message and returns what to send now. A backend whose answers
    /// come later (a shared log's) hands them to the hub as they come.
    fn receive(&mut self, message: ToLeader) -> Vec<Outbound<T>>;
    /// The document's state now.
    fn state(&self) -> Arc<T>;
    /// The document's version now.
    fn version(&self) -> u64;
    /// The committed changes still held, oldest first.
    fn log(&self) -> Vec<Committed>;
    /// Keeps the log to about `keep` changes (called after every change).
    fn compact(&mut self, keep: u64);
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
}

type AuthFuture<R> = Pin<Box<dyn Future<Output = Result<Identity<R>, String>> + Send>>;
type Authenticate<R> = dyn Fn(String) -> AuthFuture<R> + Send + Sync;

/// Serves one document to WebSocket clients. Configure it with [`Hub::builder`]; it is cheap
/// to clone (all clones serve the same document); mount [`router`](Hub::router) or
/// [`handler`](Hub::handler) in an axum app.
///
/// Every connection authenticates with a token the app's hook verifies, and gets a session
/// of the document's [`Leader`]. Each change is checked against the [`Limits`], moved through
/// what was committed since its base, authorized by the [`Policy`] for the author's role,
/// validated on the state it leads to, and then committed and sent to every client (or
/// rejected, to its author only, with the reason).
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use immer::{Draftable, Vector};
/// use immer_web::{Hub, Identity, Policy};
///
/// #[derive(Draftable, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Board { todos: Vector<Todo> }
/// #[derive(Draftable, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
/// struct Todo { text: String, done: bool }
///
/// # async fn run() -> std::io::Result<()> {
/// let hub = Hub::builder(Arc::new(Board { todos: Vector::new() }))
///     .authenticate(|token: String| async move {
///         match token.as_str() {
///             "ann-secret" => Ok(Identity { user: "ann".into(), role: "editor".to_owned() }),
///             _ => Err("unknown token".to_owned()),
///         }
///     })
///     .policy(Policy::new().allow("editor".to_owned(), "/todos/**".parse().unwrap()))
///     .build();
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, hub.router()).await
/// # }
/// ```
pub struct Hub<T, R, B = Leader<T>> {
    inner: Arc<Inner<T, R, B>>,
}

impl<T, R, B> Clone for Hub<T, R, B> {
    fn clone(&self) -> Self {
        Hub {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Inner<T, R, B> {
    core: Mutex<Core<B>>,
    _document: std::marker::PhantomData<fn() -> T>,
    identities: Arc<RwLock<HashMap<ClientId, Identity<R>>>>,
    authenticate: Box<Authenticate<R>>,
    limits: Limits,
}

struct Core<B> {
    backend: B,
    /// Who watches every committed change (the devtools).
    observers: Vec<mpsc::UnboundedSender<Committed>>,
    connections: HashMap<u64, Connection>,
    /// Every session opened, with its user.
    sessions: HashMap<SessionId, ClientId>,
    users: HashMap<String, ClientId>,
    next_connection: u64,
}

struct Connection {
    session: SessionId,
    outbound: mpsc::Sender<Message>,
    close: Option<oneshot::Sender<(u16, String)>>,
}

impl Connection {
    /// Queues `message`; a full queue closes the connection (the client reads too slowly).
    fn push(&mut self, message: Message, limit: usize) -> bool {
        if self.outbound.try_send(message).is_ok() {
            return true;
        }
        if let Some(close) = self.close.take() {
            let reason = format!("too slow: more than {limit} messages waiting");
            // The connection may be closing already.
            let _ = close.send((close_code::POLICY, reason));
        }
        false
    }
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the core half-changed (every change is
    // applied by value), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Configures a [`Hub`]: see [`Hub::builder`].
pub struct HubBuilder<T, R> {
    state: Arc<T>,
    identities: Arc<RwLock<HashMap<ClientId, Identity<R>>>>,
    authenticate: Box<Authenticate<R>>,
    authorizer: Option<Arc<Authorizer>>,
    validator: Option<Arc<Validator<T>>>,
    limits: Limits,
}

type Authorizer = dyn Fn(ClientId, &[immer::Patch]) -> Result<(), immer::Path> + Send + Sync;

/// What a backend other than the in-process leader needs from the builder.
#[cfg_attr(not(feature = "jetstream"), allow(dead_code))]
pub(crate) struct Checks<T> {
    pub(crate) state: Arc<T>,
    pub(crate) authorizer: Option<Arc<Authorizer>>,
    pub(crate) validator: Option<Arc<Validator<T>>>,
}
type Validator<T> = dyn Fn(&T, &T, ClientId) -> Result<(), String> + Send + Sync;

impl<T, R> HubBuilder<T, R>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
{
    /// Verifies each connection's token: `Ok(identity)` lets it in, `Err(reason)` closes it
    /// with the reason (code 4401).
    #[must_use]
    pub fn authenticate<F, Fut>(mut self, hook: F) -> Self
    where
        F: Fn(String) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Identity<R>, String>> + Send + 'static,
    {
        self.authenticate = Box::new(move |token| Box::pin(hook(token)));
        self
    }

    /// Which paths each role may write, checked on every change as it would be committed:
    /// a change that writes elsewhere is rejected ([`RejectReason::Forbidden`]).
    #[must_use]
    pub fn policy(mut self, policy: Policy<R>) -> Self {
        let identities = Arc::clone(&self.identities);
        self.authorizer = Some(Arc::new(move |client, patches: &[immer::Patch]| {
            let identities = identities.read().unwrap_or_else(PoisonError::into_inner);
            let refused = match identities.get(&client) {
                Some(identity) => policy.first_refused(&identity.role, patches),
                None => patches.first().map(|p| &p.path),
            };
            refused.map_or(Ok(()), |path| Err(path.clone()))
        }));
        self
    }

    /// Runs `validator` on every change before it is committed, with the state it applies to,
    /// the state it leads to, and its author: `Err(reason)` rejects it
    /// ([`RejectReason::Invalid`]).
    #[must_use]
    pub fn validator<F>(mut self, validator: F) -> Self
    where
        F: Fn(&T, &T, &Identity<R>) -> Result<(), String> + Send + Sync + 'static,
    {
        let identities = Arc::clone(&self.identities);
        self.validator = Some(Arc::new(move |state: &T, next: &T, client| {
            let identities = identities.read().unwrap_or_else(PoisonError::into_inner);
            match identities.get(&client) {
                Some(identity) => validator(state, next, identity),
                None => Err("unknown client".to_owned()),
            }
        }));
        self
    }

    /// The limits (see [`Limits`]).
    #[must_use]
    pub fn limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The hub, ready to serve, with the document ordered by an in-process [`Leader`].
    #[must_use]
    pub fn build(self) -> Hub<T, R> {
        let mut leader = Leader::new(Arc::clone(&self.state));
        if let Some(authorizer) = self.authorizer.clone() {
            leader = leader.with_authorizer(move |client, patches| authorizer(client, patches));
        }
        if let Some(validator) = self.validator.clone() {
            leader =
                leader.with_validator(move |state, next, client| validator(state, next, client));
        }
        self.build_with(leader)
    }

    /// The hub over another [`Backend`], which runs the hub's checks itself (see
    /// [`checks`](HubBuilder::checks)).
    pub(crate) fn build_with<B: Backend<T>>(self, backend: B) -> Hub<T, R, B> {
        Hub {
            inner: Arc::new(Inner {
                core: Mutex::new(Core {
                    backend,
                    observers: Vec::new(),
                    connections: HashMap::new(),
                    sessions: HashMap::new(),
                    users: HashMap::new(),
                    next_connection: 1,
                }),
                _document: std::marker::PhantomData,
                identities: self.identities,
                authenticate: self.authenticate,
                limits: self.limits,
            }),
        }
    }

    /// The initial state, the authorization hook and the validation hook, for a backend to run.
    #[cfg_attr(not(feature = "jetstream"), allow(dead_code))]
    pub(crate) fn checks(&self) -> Checks<T> {
        Checks {
            state: Arc::clone(&self.state),
            authorizer: self.authorizer.clone(),
            validator: self.validator.clone(),
        }
    }
}

impl<T, R> Hub<T, R>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
{
    /// Configures a hub whose document starts as `state` at version 0. It lets nobody in
    /// until [`authenticate`](HubBuilder::authenticate) is set, and nobody write until a
    /// [`policy`](HubBuilder::policy) allows it.
    #[must_use]
    pub fn builder(state: Arc<T>) -> HubBuilder<T, R> {
        HubBuilder {
            state,
            authorizer: None,
            validator: None,
            identities: Arc::new(RwLock::new(HashMap::new())),
            authenticate: Box::new(|_| {
                Box::pin(async { Err("no authentication is configured".to_owned()) })
            }),
            limits: Limits::default(),
        }
    }
}

impl<T, R, B> Hub<T, R, B>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
    B: Backend<T>,
{
    /// An axum router with the WebSocket endpoint at `/ws`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/ws", get(Self::handler))
            .with_state(self.clone())
    }

    /// The WebSocket endpoint as an axum handler, to mount at a route of your own:
    /// `Router::new().route("/doc", get(Hub::handler)).with_state(hub)`.
    #[allow(clippy::unused_async, reason = "axum handlers are async functions")]
    pub async fn handler(State(hub): State<Self>, upgrade: WebSocketUpgrade) -> Response {
        let limit = hub.inner.limits.max_message_bytes;
        upgrade
            .max_message_size(limit)
            .max_frame_size(limit)
            .on_upgrade(move |socket| hub.serve(socket))
            .into_response()
    }

    /// Serves one WebSocket connection until it closes.
    pub async fn serve(self, socket: WebSocket) {
        let (mut sink, mut stream) = socket.split();
        let limits = self.inner.limits.clone();

        // 1. Authenticate: the first message, in time.
        let (identity, resume) = match self.identify(&mut stream).await {
            Ok(found) => found,
            Err(reason) => {
                let _ = sink.send(closing(close_code::UNAUTHORIZED, reason)).await;
                return;
            }
        };

        // 2. Open or resume a session, and register the connection.
        let (outbound, outbound_rx) = mpsc::channel::<Message>(limits.max_outbound);
        let (close, close_rx) = oneshot::channel::<(u16, String)>();
        let Ok((connection, client, session)) = self.register(&identity, resume, outbound, close)
        else {
            let reason = "the document cannot be encoded".to_owned();
            let _ = sink.send(closing(close_code::POLICY, reason)).await;
            return;
        };

        // 3. The writer: what the hub queues for this connection; a close reason ends it and
        // the reader.
        let (reader_close, reader_closed) = oneshot::channel::<()>();
        let writer = tokio::spawn(write(
            sink,
            outbound_rx,
            close_rx,
            reader_close,
            limits.write_timeout,
        ));

        // 4. The handler: this connection's messages, one at a time, in order.
        let (inbound, mut inbound_rx) = mpsc::channel::<ClientMessage>(limits.max_pending);
        let hub = self.clone();
        let handler = tokio::spawn(async move {
            while let Some(message) = inbound_rx.recv().await {
                hub.handle(connection, client, session, message);
            }
        });

        // 5. The reader: parse, check the rate, and queue for the handler.
        let ended = read(&mut stream, &inbound, reader_closed, &limits).await;

        // 6. Close: unregister (the session stays, to resume), say why, stop the tasks.
        let close = {
            let mut core = lock(&self.inner.core);
            core.connections.remove(&connection).and_then(|c| c.close)
        };
        if let (Some((code, reason)), Some(close)) = (ended, close) {
            let _ = close.send((code, reason));
        }
        drop(inbound);
        let _ = handler.await;
        let _ = tokio::time::timeout(limits.write_timeout, writer).await;
    }

    /// The connection's identity from its first message, or why it has none.
    async fn identify(
        &self,
        stream: &mut SplitStream<WebSocket>,
    ) -> Result<(Identity<R>, Option<SessionId>), String> {
        let first = tokio::time::timeout(self.inner.limits.auth_timeout, stream.next())
            .await
            .map_err(|_| "unauthorized: no auth message in time".to_owned())?;
        let Some(Ok(Message::Text(text))) = first else {
            return Err("unauthorized: the first message must be auth".to_owned());
        };
        match serde_json::from_str(&text) {
            // The hook is the app's: bounded too.
            Ok(ClientMessage::Auth { token, resume }) => {
                let verified = (self.inner.authenticate)(token);
                match tokio::time::timeout(self.inner.limits.auth_timeout, verified).await {
                    Ok(Ok(identity)) => Ok((identity, resume)),
                    Ok(Err(reason)) => Err(format!("unauthorized: {reason}")),
                    Err(_) => Err("unauthorized: the token was not verified in time".to_owned()),
                }
            }
            Ok(_) => Err("unauthorized: the first message must be auth".to_owned()),
            Err(error) => Err(format!("unauthorized: not an auth message: {error}")),
        }
    }

    fn register(
        &self,
        identity: &Identity<R>,
        resume: Option<SessionId>,
        outbound: mpsc::Sender<Message>,
        close: oneshot::Sender<(u16, String)>,
    ) -> Result<(u64, ClientId, SessionId), serde_json::Error> {
        let mut core = lock(&self.inner.core);
        let next_client = core.users.len() as u64 + 1;
        let client = *core
            .users
            .entry(identity.user.clone())
            .or_insert(next_client);
        self.inner
            .identities
            .write()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(client, identity.clone());
        let role = serde_json::to_value(&identity.role)?;
        let resumed = resume.filter(|s| core.sessions.get(s) == Some(&client));
        let (session, version, state) = if let Some(session) = resumed {
            (session, core.backend.version(), None)
        } else {
            let welcome = core.backend.join(client);
            core.sessions.insert(welcome.session, client);
            (
                welcome.session,
                welcome.snapshot.version,
                Some(welcome.snapshot.state),
            )
        };
        let welcome = ServerMessage::<T>::Welcome {
            session,
            user: identity.user.clone(),
            role,
            version,
            state,
            resumed: resumed.is_some(),
        };
        let text = serde_json::to_string(&welcome)?;
        let connection = core.next_connection;
        core.next_connection += 1;
        let mut entry = Connection {
            session,
            outbound,
            close: Some(close),
        };
        entry.push(Message::Text(text.into()), self.inner.limits.max_outbound);
        core.connections.insert(connection, entry);
        Ok((connection, client, session))
    }

    /// Handles one message of an authenticated connection.
    fn handle(
        &self,
        connection: u64,
        client: ClientId,
        session: SessionId,
        message: ClientMessage,
    ) {
        let limits = &self.inner.limits;
        let to_leader = match message {
            ClientMessage::Change { id, base, patches } => {
                if let Some(reason) = check_limits(&patches, limits) {
                    let rejected = ServerMessage::<T>::Rejected {
                        id,
                        message: reason.to_string(),
                        reason,
                    };
                    self.send_to(connection, &rejected);
                    return;
                }
                ToLeader::Change(Change {
                    client,
                    session,
                    id,
                    base_version: base,
                    patches,
                })
            }
            ClientMessage::Resync { version } => ToLeader::Resync { session, version },
            ClientMessage::Snapshot => ToLeader::SnapshotRequest { session },
            ClientMessage::Auth { .. } => return,
        };
        let mut core = lock(&self.inner.core);
        let resync = matches!(to_leader, ToLeader::Resync { .. });
        let mut outs = core.backend.receive(to_leader);
        if resync && outs.len() > limits.max_outbound / 2 {
            // Too far behind to catch up change by change within its queue: a snapshot.
            outs = core.backend.receive(ToLeader::SnapshotRequest { session });
        }
        Self::distribute(&mut core, outs, connection, limits);
        core.backend.compact(limits.keep_log);
    }

    /// Queues each message for its recipients; a connection whose queue is full is removed
    /// and told why.
    fn distribute(core: &mut Core<B>, outs: Vec<Outbound<T>>, connection: u64, limits: &Limits) {
        for out in outs {
            if let (Recipient::All, ToFollower::Committed(committed)) = (&out.to, &out.message) {
                core.observers
                    .retain(|observer| observer.send(committed.clone()).is_ok());
            }
            // Welcomes are the hub's own (with the identity); a state with no JSON form cannot
            // be sent, and the client resynchronizes later.
            let Some(Ok(text)) =
                ServerMessage::from_leader_message(out.message).map(|m| serde_json::to_string(&m))
            else {
                continue;
            };
            let text = Utf8Bytes::from(text);
            let mut too_slow = Vec::new();
            for (id, entry) in &mut core.connections {
                let to = match out.to {
                    Recipient::All => true,
                    Recipient::Session(session) => entry.session == session,
                    Recipient::Sender => *id == connection,
                };
                if to && !entry.push(Message::Text(text.clone()), limits.max_outbound) {
                    too_slow.push(*id);
                }
            }
            // Told why (the close frame follows what its socket holds), and sent nothing more.
            for id in too_slow {
                core.connections.remove(&id);
            }
        }
    }

    /// Sends what a backend produces on its own (a shared log's committed changes and
    /// answers) to its recipients, as it comes, for as long as the hub lives.
    #[cfg_attr(not(feature = "jetstream"), allow(dead_code))]
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
        });
    }

    fn send_to(&self, connection: u64, message: &ServerMessage<T>) {
        let Ok(text) = serde_json::to_string(message) else {
            return;
        };
        let mut core = lock(&self.inner.core);
        if let Some(entry) = core.connections.get_mut(&connection) {
            entry.push(Message::Text(text.into()), self.inner.limits.max_outbound);
        }
    }

    /// The document's version and state now, and every change committed from then on, in
    /// order (for as long as the receiver is kept).
    pub fn watch_commits(&self) -> (u64, Arc<T>, mpsc::UnboundedReceiver<Committed>) {
        let mut core = lock(&self.inner.core);
        let (sender, receiver) = mpsc::unbounded_channel();
        core.observers.push(sender);
        (core.backend.version(), core.backend.state(), receiver)
    }

    /// The document's state now.
    #[must_use]
    pub fn state(&self) -> Arc<T> {
        lock(&self.inner.core).backend.state()
    }

    /// The document's version now.
    #[must_use]
    pub fn version(&self) -> u64 {
        lock(&self.inner.core).backend.version()
    }

    /// The committed changes still held, oldest first.
    #[must_use]
    pub fn log(&self) -> Vec<Committed> {
        lock(&self.inner.core).backend.log()
    }

    /// How many connections are open.
    #[must_use]
    pub fn connections(&self) -> usize {
        lock(&self.inner.core).connections.len()
    }
}

impl<T, R, B: Backend<T>> fmt::Debug for Hub<T, R, B> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let core = lock(&self.inner.core);
        f.debug_struct("Hub")
            .field("version", &core.backend.version())
            .field("connections", &core.connections.len())
            .field("limits", &self.inner.limits)
            .finish_non_exhaustive()
    }
}

/// The limits a change breaks before it reaches the leader, and the operations Immer cannot
/// apply (clients apply every committed change with Immer's `applyPatches`).
fn check_limits(patches: &[Patch], limits: &Limits) -> Option<RejectReason> {
    if patches.len() > limits.max_patches {
        return Some(RejectReason::Limit {
            limit: "patches per change".to_owned(),
            max: limits.max_patches,
            got: patches.len(),
        });
    }
    let deepest = patches
        .iter()
        .flat_map(|p| std::iter::once(&p.path).chain(p.from.as_ref()))
        .map(immer::Path::len)
        .max()
        .unwrap_or(0);
    if deepest > limits.max_path_depth {
        return Some(RejectReason::Limit {
            limit: "segments per path".to_owned(),
            max: limits.max_path_depth,
            got: deepest,
        });
    }
    patches
        .iter()
        .position(|p| !matches!(p.op, PatchOp::Add | PatchOp::Remove | PatchOp::Replace))
        .map(|index| RejectReason::DoesNotApply {
            index,
            path: patches[index].path.clone(),
            message: "clients apply changes with Immer, which takes only add, remove and replace"
                .to_owned(),
        })
}

fn closing(code: u16, reason: String) -> Message {
    Message::Close(Some(CloseFrame {
        code,
        reason: Utf8Bytes::from(clip(reason)),
    }))
}

/// Writes what the hub queues for a connection, several messages per flush, until the queue
/// closes, a write takes longer than `patience`, or a close reason arrives (sent as the close
/// frame). Then tells the reader to stop.
async fn write(
    mut sink: SplitSink<WebSocket, Message>,
    mut queue: mpsc::Receiver<Message>,
    mut close: oneshot::Receiver<(u16, String)>,
    reader: oneshot::Sender<()>,
    patience: Duration,
) {
    loop {
        tokio::select! {
            biased;
            reason = &mut close => {
                if let Ok((code, reason)) = reason {
                    // The close frame goes after what the socket holds: a client that reads
                    // again in time gets it.
                    let _ = tokio::time::timeout(patience, sink.send(closing(code, reason))).await;
                }
                break;
            }
            message = queue.recv() => {
                let Some(message) = message else { break };
                let written = tokio::time::timeout(patience, async {
                    sink.feed(message).await?;
                    while let Ok(message) = queue.try_recv() {
                        sink.feed(message).await?;
                    }
                    sink.flush().await
                });
                if !matches!(written.await, Ok(Ok(()))) {
                    break;
                }
            }
        }
    }
    let _ = reader.send(());
}

/// Reads a connection's messages into `inbound` until it closes, the writer stops, or the
/// client breaks a rule: then the close code and reason.
async fn read(
    stream: &mut SplitStream<WebSocket>,
    inbound: &mpsc::Sender<ClientMessage>,
    mut writer_stopped: oneshot::Receiver<()>,
    limits: &Limits,
) -> Option<(u16, String)> {
    let mut bucket = Bucket::new(limits.messages_per_second, limits.burst);
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = &mut writer_stopped => return None,
        };
        let text = match message {
            None | Some(Ok(Message::Close(_))) => return None,
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Binary(_))) => {
                let reason = "binary messages are not understood: send JSON text";
                return Some((close_code::UNSUPPORTED, reason.to_owned()));
            }
            Some(Ok(_)) => continue,
            Some(Err(error)) => {
                let limit = limits.max_message_bytes;
                let reason = format!("unreadable message: {error} (the limit is {limit} bytes)");
                return Some((close_code::TOO_BIG, reason));
            }
        };
        if !bucket.take() {
            let rate = limits.messages_per_second;
            let reason = format!("flood: more than {rate} messages per second");
            return Some((close_code::POLICY, reason));
        }
        let message = match serde_json::from_str::<ClientMessage>(&text) {
            Ok(ClientMessage::Auth { .. }) => {
                return Some((close_code::INVALID, "already authenticated".to_owned()));
            }
            Ok(message) => message,
            Err(error) => {
                return Some((close_code::INVALID, format!("invalid message: {error}")));
            }
        };
        if inbound.try_send(message).is_err() {
            let reason = format!("more than {} messages pending", limits.max_pending);
            return Some((close_code::POLICY, reason));
        }
    }
}

/// A close reason fits in 123 bytes (RFC 6455).
fn clip(reason: String) -> String {
    cut(reason, 123, "...")
}

/// `text` in at most `max` bytes: when longer, cut at a character boundary and ended with
/// `mark`.
pub(crate) fn cut(mut text: String, max: usize, mark: &str) -> String {
    if text.len() > max {
        let mut end = max.saturating_sub(mark.len());
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(mark);
    }
    text
}

/// A token bucket: `rate` messages per second on average, `burst` more at once.
struct Bucket {
    rate: f64,
    capacity: f64,
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn new(rate: u32, burst: u32) -> Self {
        let capacity = f64::from(burst.max(1));
        Bucket {
            rate: f64::from(rate),
            capacity,
            tokens: capacity,
            at: Instant::now(),
        }
    }

    fn take(&mut self) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }
}
