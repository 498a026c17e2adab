//! The server: one document, many WebSocket connections, one [`Leader`] ordering their changes.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
    Change, ClientId, Committed, Leader, Outbound, Recipient, RejectReason, Rejected, SessionId,
    Snapshot, ToFollower, ToLeader, Welcome,
};
use immer::{Draftable, Patch, PatchOp, Path, PathSegment};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

use crate::policy::Policy;
use crate::protocol::{ClientMessage, Incoming, ServerMessage};

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
    /// The most bytes waiting to be written to one client (at least one message always
    /// waits): a client that reads slower than the document changes, or asks for more than
    /// it reads, is disconnected (code 1008). 8 MiB by default.
    pub max_outbound_bytes: usize,
    /// The most bytes a client may make the server handle per second, on average over
    /// `burst_bytes`: what it sends, and what it asks for (a snapshot costs its size, a
    /// resynchronization the size of the changes sent). A client over it is disconnected
    /// (code 1008). 1 MiB by default.
    pub bytes_per_second: usize,
    /// How many bytes above the rate a client may use at once. 8 MiB by default.
    pub burst_bytes: usize,
    /// The most work to move one change through what was committed since its base: the
    /// patches committed since its base times (its patches + 50) (see
    /// [`Leader::with_move_limit`](immer::sync::Leader::with_move_limit)). A change over it
    /// is refused before it is moved, so that no change holds the document for long.
    /// 400,000 by default (a few milliseconds at worst: see BENCHMARKS.md): a change of one
    /// patch may be about 7,800 one-patch changes behind, one of 1,000 patches 380.
    pub max_move_work: usize,
    /// The most sessions kept, connected or not: opening one more forgets the one idle the
    /// longest; when every session is connected, the connection is refused (code 1013).
    /// 10,000 by default.
    pub max_sessions: usize,
    /// How long a session is kept after its connection closed, for the client to resume it
    /// (and have its change in flight answered once): after that it is forgotten, and a
    /// client that comes back gets a new session. 5 minutes by default.
    pub session_idle: Duration,
    /// The most connections open at once, through [`Hub::listen`]: one more is answered
    /// `503` with the reason and closed. 1,024 by default.
    pub max_connections: usize,
    /// The most connections open at once from one IP address, through [`Hub::listen`]: one
    /// more is answered `429` with the reason and closed. 64 by default.
    pub max_connections_per_address: usize,
    /// How long a connection has, through [`Hub::listen`], from the moment it is accepted
    /// to finish its first HTTP request (the WebSocket upgrade): one that has not is
    /// closed. Then [`auth_timeout`](Limits::auth_timeout) runs for its token. 10 seconds by
    /// default.
    pub handshake_timeout: Duration,
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
            max_outbound_bytes: 8 << 20,
            bytes_per_second: 1 << 20,
            burst_bytes: 8 << 20,
            max_move_work: 400_000,
            max_sessions: 10_000,
            session_idle: Duration::from_secs(5 * 60),
            max_connections: 1_024,
            max_connections_per_address: 64,
            handshake_timeout: Duration::from_secs(10),
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
    /// The server cannot take the connection now (every session is connected).
    pub const TRY_AGAIN_LATER: u16 = 1013;
    /// No token, a bad one, or none in time.
    pub const UNAUTHORIZED: u16 = 4401;
    /// Another connection of the same user resumed this connection's session.
    pub const SESSION_TAKEN: u16 = 4409;
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
    /// Forgets a session whose client is gone for good (see [`Limits::session_idle`]).
    fn close_session(&mut self, session: SessionId);
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

    fn close_session(&mut self, session: SessionId) {
        Leader::close_session(self, session);
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
    policy: Arc<Policy<R>>,
    limits: Limits,
    /// Connections open through [`Hub::listen`], in all and by address.
    gate: Arc<crate::gate::Counts>,
    /// The longest time one message held the document, in nanoseconds (see
    /// [`Hub::take_longest_hold`]).
    longest_hold: AtomicU64,
}

struct Core<B> {
    backend: B,
    /// Who watches every committed change (the devtools).
    observers: Vec<mpsc::UnboundedSender<Committed>>,
    connections: HashMap<u64, Connection>,
    /// Every session kept, with its user and its connection.
    sessions: HashMap<SessionId, Session>,
    /// Sessions whose connection closed, oldest first, with when (an entry whose session
    /// was resumed or forgotten since is skipped).
    detached: VecDeque<(Instant, SessionId)>,
    /// Each user with a session: its client id and how many sessions it has.
    users: HashMap<String, (ClientId, usize)>,
    next_client: ClientId,
    next_connection: u64,
    /// The state's JSON at a version, written once for every welcome and snapshot of it.
    state_json: Option<(u64, Utf8Bytes)>,
}

struct Session {
    client: ClientId,
    user: String,
    /// The connection that holds it, if one does.
    connection: Option<u64>,
    detached_at: Instant,
}

struct Connection {
    session: SessionId,
    outbound: mpsc::Sender<Message>,
    /// Bytes queued and not yet written.
    queued: Arc<AtomicUsize>,
    close: Option<oneshot::Sender<(u16, String)>>,
}

impl Connection {
    /// Queues `message`; a full queue closes the connection (the client reads too slowly).
    fn push(&mut self, message: Message, limits: &Limits) -> bool {
        let bytes = message_bytes(&message);
        // Counted before it is queued: the writer takes it off when written, perhaps at once.
        let queued = self.queued.fetch_add(bytes, Ordering::Relaxed);
        let fits = queued == 0 || queued.saturating_add(bytes) <= limits.max_outbound_bytes;
        if fits && self.outbound.try_send(message).is_ok() {
            return true;
        }
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
        let reason = if fits {
            format!(
                "too slow: more than {} messages waiting",
                limits.max_outbound
            )
        } else {
            format!(
                "too slow: more than {} bytes waiting",
                limits.max_outbound_bytes
            )
        };
        self.close_with(close_code::POLICY, reason);
        false
    }

    /// Tells the connection's writer to close with `code` and `reason` (once).
    fn close_with(&mut self, code: u16, reason: String) {
        if let Some(close) = self.close.take() {
            // The connection may be closing already.
            let _ = close.send((code, reason));
        }
    }
}

fn message_bytes(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Close(_) => 0,
    }
}

/// What the handler of one connection knows of it.
struct Context<R> {
    connection: u64,
    client: ClientId,
    session: SessionId,
    role: R,
    budget: Arc<Mutex<Budget>>,
}

/// The document held by one message: how long is recorded when it is let go.
struct Held<'a, B> {
    core: MutexGuard<'a, Core<B>>,
    since: Instant,
    longest: &'a AtomicU64,
}

impl<B> std::ops::Deref for Held<'_, B> {
    type Target = Core<B>;
    fn deref(&self) -> &Core<B> {
        &self.core
    }
}

impl<B> std::ops::DerefMut for Held<'_, B> {
    fn deref_mut(&mut self) -> &mut Core<B> {
        &mut self.core
    }
}

impl<B> Drop for Held<'_, B> {
    fn drop(&mut self) {
        let held = u64::try_from(self.since.elapsed().as_nanos()).unwrap_or(u64::MAX);
        self.longest.fetch_max(held, Ordering::Relaxed);
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
    policy: Arc<Policy<R>>,
    validator: Option<Arc<Validator<T>>>,
    limits: Limits,
}

type Authorizer = dyn Fn(ClientId, &[immer::Patch]) -> Result<(), immer::Path> + Send + Sync;

/// What a backend other than the in-process leader needs from the builder.
#[cfg_attr(not(feature = "jetstream"), allow(dead_code))]
pub(crate) struct Checks<T> {
    pub(crate) state: Arc<T>,
    pub(crate) authorizer: Arc<Authorizer>,
    pub(crate) validator: Option<Arc<Validator<T>>>,
    pub(crate) move_limit: usize,
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
    /// a change that writes elsewhere is rejected ([`RejectReason::Forbidden`]). A change
    /// that writes a path no move of its list positions could make allowed, or by a role
    /// that writes nothing, is refused before it is moved. Without a policy nobody writes.
    #[must_use]
    pub fn policy(mut self, policy: Policy<R>) -> Self {
        self.policy = Arc::new(policy);
        self
    }

    /// The policy as the leader's authorization hook, for the author's role.
    fn authorizer(&self) -> Arc<Authorizer> {
        let identities = Arc::clone(&self.identities);
        let policy = Arc::clone(&self.policy);
        Arc::new(move |client, patches: &[immer::Patch]| {
            let identities = identities.read().unwrap_or_else(PoisonError::into_inner);
            let refused = match identities.get(&client) {
                Some(identity) => policy.first_refused(&identity.role, patches),
                None => patches.first().map(|p| &p.path),
            };
            refused.map_or(Ok(()), |path| Err(path.clone()))
        })
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
        let authorizer = self.authorizer();
        let mut leader = Leader::new(Arc::clone(&self.state))
            .with_authorizer(move |client, patches| authorizer(client, patches))
            .with_move_limit(self.limits.max_move_work);
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
                    detached: VecDeque::new(),
                    users: HashMap::new(),
                    next_client: 1,
                    next_connection: 1,
                    state_json: None,
                }),
                _document: std::marker::PhantomData,
                identities: self.identities,
                authenticate: self.authenticate,
                policy: self.policy,
                limits: self.limits,
                gate: Arc::default(),
                longest_hold: AtomicU64::new(0),
            }),
        }
    }

    /// The initial state, the authorization hook and the validation hook, for a backend to run.
    #[cfg_attr(not(feature = "jetstream"), allow(dead_code))]
    pub(crate) fn checks(&self) -> Checks<T> {
        Checks {
            state: Arc::clone(&self.state),
            authorizer: self.authorizer(),
            validator: self.validator.clone(),
            move_limit: self.limits.max_move_work,
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
            policy: Arc::new(Policy::new()),
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
    /// A listener for `axum::serve` that admits connections within the hub's
    /// [`Limits`] (how many in all and from one address, and how long one has to send its
    /// upgrade): see [`Gate`](crate::Gate). Serve the whole app through it.
    #[must_use]
    pub fn listen(&self, listener: tokio::net::TcpListener) -> crate::Gate {
        crate::Gate::with_counts(
            listener,
            self.inner.limits.clone(),
            Arc::clone(&self.inner.gate),
        )
    }

    /// How many connections are open through [`listen`](Hub::listen)'s gates (HTTP and
    /// WebSocket, authenticated or not).
    #[must_use]
    pub fn open_connections(&self) -> usize {
        self.inner.gate.total()
    }

    /// The document, held (the time it is held is recorded).
    fn core(&self) -> Held<'_, B> {
        Held {
            core: lock(&self.inner.core),
            since: Instant::now(),
            longest: &self.inner.longest_hold,
        }
    }

    /// The longest time one message (a change, a connection's registration, a request for
    /// a snapshot) held the document since the hub started or since the last call; then
    /// starts again. Every other client's message waits while the document is held: this
    /// is what a costly message costs the others.
    pub fn take_longest_hold(&self) -> Duration {
        Duration::from_nanos(self.inner.longest_hold.swap(0, Ordering::Relaxed))
    }

    /// How many sessions the hub keeps (connected, or waiting to be resumed).
    #[must_use]
    pub fn sessions(&self) -> usize {
        self.core().sessions.len()
    }

    /// `router`, let through only for requests whose token the hub's authentication hook
    /// accepts, as an identity `allowed` approves: for the app's own HTTP endpoints (a state
    /// endpoint, the [devtools](crate::Devtools)), so that they answer only whom the
    /// WebSocket would. The token is an `Authorization: Bearer` header, or a `token` query
    /// parameter (for a page opened by its address). No token or a refused one is answered
    /// `401`, an identity not allowed `403`, each with the reason.
    ///
    /// # Examples
    ///
    /// ```no_run
    /// # fn app(hub: immer_web::Hub<Vec<u32>, String>) -> axum::Router {
    /// use axum::routing::get;
    ///
    /// let state = hub.clone();
    /// let private = axum::Router::new().route(
    ///     "/state",
    ///     get(move || async move { axum::Json((*state.state()).clone()) }),
    /// );
    /// axum::Router::new()
    ///     .merge(hub.router())
    ///     .merge(hub.protect(private, |identity| identity.role == "admin"))
    /// # }
    /// ```
    pub fn protect<F>(&self, router: Router, allowed: F) -> Router
    where
        F: Fn(&Identity<R>) -> bool + Clone + Send + Sync + 'static,
    {
        let hub = self.clone();
        router.layer(axum::middleware::from_fn(
            move |request: axum::extract::Request, next: axum::middleware::Next| {
                let (hub, allowed) = (hub.clone(), allowed.clone());
                async move {
                    let Some(token) = request_token(&request) else {
                        let reason =
                            "unauthorized: send a token (Authorization: Bearer, or ?token=)";
                        return (axum::http::StatusCode::UNAUTHORIZED, reason).into_response();
                    };
                    match hub.authenticate(token).await {
                        Ok(identity) if allowed(&identity) => next.run(request).await,
                        Ok(identity) => (
                            axum::http::StatusCode::FORBIDDEN,
                            format!("forbidden: {} may not use this", identity.user),
                        )
                            .into_response(),
                        Err(reason) => (
                            axum::http::StatusCode::UNAUTHORIZED,
                            format!("unauthorized: {reason}"),
                        )
                            .into_response(),
                    }
                }
            },
        ))
    }

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
        let budget = Arc::new(Mutex::new(Budget::new(&limits)));

        // 1. Authenticate: the first message, in time.
        let (identity, resume) = match self.identify(&mut stream, &budget).await {
            Ok(found) => found,
            Err((code, reason)) => {
                let _ = sink.send(closing(code, reason)).await;
                return;
            }
        };

        // 2. Open or resume a session, and register the connection.
        let (outbound, outbound_rx) = mpsc::channel::<Message>(limits.max_outbound);
        let queued = Arc::new(AtomicUsize::new(0));
        let (close, close_rx) = oneshot::channel::<(u16, String)>();
        let registered = self.register(&identity, resume, outbound, Arc::clone(&queued), close);
        let (connection, client, session) = match registered {
            Ok(registered) => registered,
            Err((code, reason)) => {
                let _ = sink.send(closing(code, reason)).await;
                return;
            }
        };

        // 3. The writer: what the hub queues for this connection; a close reason ends it and
        // the reader.
        let (reader_close, reader_closed) = oneshot::channel::<()>();
        let writer = tokio::spawn(write(
            sink,
            outbound_rx,
            queued,
            close_rx,
            reader_close,
            limits.write_timeout,
        ));

        // 4. The handler: this connection's messages, one at a time, in order, while the
        // connection is registered (a connection closed for breaking a rule has the rest of
        // what it sent ignored).
        let (inbound, mut inbound_rx) = mpsc::channel::<Incoming>(limits.max_pending);
        let hub = self.clone();
        let context = Context {
            connection,
            client,
            session,
            role: identity.role.clone(),
            budget: Arc::clone(&budget),
        };
        let handler = tokio::spawn(async move {
            while let Some(message) = inbound_rx.recv().await {
                if !hub.handle(&context, message) {
                    break;
                }
            }
        });

        // 5. The reader: parse, check the rate, and queue for the handler.
        let read_only = !self.inner.policy.writes_anything(&identity.role);
        let ended = read(
            &mut stream,
            &inbound,
            reader_closed,
            (&budget, read_only),
            &limits,
        )
        .await;

        // 6. Close: unregister, keep the session for a while to resume, say why, stop the
        // tasks.
        let close = {
            let mut core = self.core();
            let close = core.connections.remove(&connection).and_then(|c| c.close);
            let now = Instant::now();
            if let Some(entry) = core.sessions.get_mut(&session) {
                if entry.connection == Some(connection) {
                    entry.connection = None;
                    entry.detached_at = now;
                    core.detached.push_back((now, session));
                }
            }
            // Entries of sessions resumed since wait for their time to pass: when they come
            // to outnumber the sessions kept, only the live ones stay.
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
            close
        };
        if let (Some((code, reason)), Some(close)) = (ended, close) {
            let _ = close.send((code, reason));
        }
        drop(inbound);
        let _ = handler.await;
        // Read on, discarding, while the writer says why: dropped with frames unread, the
        // socket would be reset, and a client still sending would lose the close frame.
        let mut writer = writer;
        let drain = async {
            while let Some(Ok(_)) = stream.next().await {}
            std::future::pending::<()>().await;
        };
        tokio::select! {
            _ = &mut writer => {}
            () = drain => {}
            () = tokio::time::sleep(limits.write_timeout) => {}
        }
    }

    /// The connection's identity from its first message, or the close code and reason.
    async fn identify(
        &self,
        stream: &mut SplitStream<WebSocket>,
        budget: &Mutex<Budget>,
    ) -> Result<(Identity<R>, Option<SessionId>), (u16, String)> {
        let unauthorized = |reason: String| (close_code::UNAUTHORIZED, reason);
        let limits = &self.inner.limits;
        let deadline = tokio::time::Instant::now() + limits.auth_timeout;
        let text = loop {
            let next = tokio::time::timeout_at(deadline, stream.next())
                .await
                .map_err(|_| unauthorized("unauthorized: no auth message in time".to_owned()))?;
            match next {
                Some(Ok(Message::Text(text))) => break text,
                // Pings before the token count as messages too.
                Some(Ok(message @ (Message::Ping(_) | Message::Pong(_)))) => {
                    let bytes = message_bytes(&message);
                    if let Err(reason) = lock(budget).take(bytes) {
                        return Err((close_code::POLICY, reason));
                    }
                }
                Some(Err(error)) => return Err(unreadable(&error, limits)),
                _ => {
                    let reason = "unauthorized: the first message must be auth";
                    return Err(unauthorized(reason.to_owned()));
                }
            }
        };
        match serde_json::from_str(&text) {
            // The hook is the app's: bounded too.
            Ok(ClientMessage::Auth { token, resume }) => {
                let verified = (self.inner.authenticate)(token);
                match tokio::time::timeout_at(deadline, verified).await {
                    Ok(Ok(identity)) => Ok((identity, resume)),
                    Ok(Err(reason)) => Err(unauthorized(format!("unauthorized: {reason}"))),
                    Err(_) => Err(unauthorized(
                        "unauthorized: the token was not verified in time".to_owned(),
                    )),
                }
            }
            Ok(_) => Err(unauthorized(
                "unauthorized: the first message must be auth".to_owned(),
            )),
            Err(error) => Err(unauthorized(format!(
                "unauthorized: not an auth message: {error}"
            ))),
        }
    }

    /// Runs the app's authentication hook on `token` within
    /// [`Limits::auth_timeout`]: for the app's own HTTP endpoints, to let in only who the
    /// hub would let in (see the README's "Mounting the hub safely").
    ///
    /// # Errors
    ///
    /// The hook's reason, or that it did not answer in time.
    pub async fn authenticate(&self, token: String) -> Result<Identity<R>, String> {
        let verified = (self.inner.authenticate)(token);
        match tokio::time::timeout(self.inner.limits.auth_timeout, verified).await {
            Ok(result) => result,
            Err(_) => Err("the token was not verified in time".to_owned()),
        }
    }

    fn register(
        &self,
        identity: &Identity<R>,
        resume: Option<SessionId>,
        outbound: mpsc::Sender<Message>,
        queued: Arc<AtomicUsize>,
        close: oneshot::Sender<(u16, String)>,
    ) -> Result<(u64, ClientId, SessionId), (u16, String)> {
        let limits = &self.inner.limits;
        let role = serde_json::to_value(&identity.role).map_err(|e| {
            (
                close_code::POLICY,
                format!("the role cannot be encoded: {e}"),
            )
        })?;
        let mut core = self.core();
        let now = Instant::now();
        self.expire(&mut core, now);
        let connection = core.next_connection;
        core.next_connection += 1;
        let known = core.users.get(&identity.user).map(|(client, _)| *client);
        let resumed =
            resume.filter(|s| known.is_some() && core.sessions.get(s).map(|e| e.client) == known);
        let (client, session, version, state) = if let Some(session) = resumed {
            let client = known.unwrap_or_default();
            let entry = core
                .sessions
                .get_mut(&session)
                .expect("resumed sessions are kept");
            // One live connection per session: the newer one takes it over.
            let previous = entry.connection.replace(connection);
            if let Some(mut old) = previous.and_then(|old| core.connections.remove(&old)) {
                let reason = "the session was resumed by another connection".to_owned();
                old.close_with(close_code::SESSION_TAKEN, reason);
            }
            (client, session, core.backend.version(), None)
        } else {
            if core.sessions.len() >= limits.max_sessions && !self.forget_oldest(&mut core) {
                let reason = format!(
                    "every one of the {} sessions is connected: try again later",
                    limits.max_sessions
                );
                return Err((close_code::TRY_AGAIN_LATER, reason));
            }
            let client = match core.users.get(&identity.user) {
                Some((client, _)) => *client,
                None => core.next_client,
            };
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
            if let Some((_, sessions)) = core.users.get_mut(&identity.user) {
                *sessions += 1;
            } else {
                core.next_client += 1;
                core.users.insert(identity.user.clone(), (client, 1));
            }
            core.sessions.insert(
                welcome.session,
                Session {
                    client,
                    user: identity.user.clone(),
                    connection: Some(connection),
                    detached_at: now,
                },
            );
            (
                client,
                welcome.session,
                welcome.snapshot.version,
                Some(state),
            )
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
        let mut entry = Connection {
            session,
            outbound,
            queued,
            close: Some(close),
        };
        entry.push(Message::Text(text.into()), limits);
        core.connections.insert(connection, entry);
        Ok((connection, client, session))
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
        if let Some((client, sessions)) = core.users.get_mut(&entry.user) {
            *sessions -= 1;
            if *sessions == 0 {
                let client = *client;
                core.users.remove(&entry.user);
                self.inner
                    .identities
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .remove(&client);
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
    fn precheck(&self, role: &R, patches: &[Patch]) -> Option<RejectReason> {
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
    fn handle(&self, context: &Context<R>, message: Incoming) -> bool {
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
                    client: context.client,
                    session,
                    id,
                    base,
                    patches,
                })
            }
            ClientMessage::Resync { version } => ToLeader::Resync { session, version },
            ClientMessage::Snapshot => ToLeader::SnapshotRequest { session },
            ClientMessage::Auth { .. } => return true,
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
                if let Some(mut entry) = core.connections.remove(&context.connection) {
                    entry.close_with(close_code::POLICY, reason);
                }
            }
        }
        true
    }

    /// Queues each message for its recipients; a connection whose queue is full is removed
    /// and told why. Returns the bytes queued for `connection`.
    fn distribute(
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
                    let Some(Ok(text)) = ServerMessage::from_leader_message(message)
                        .map(|m| serde_json::to_string(&m))
                    else {
                        continue;
                    };
                    text
                }
            };
            let text = Utf8Bytes::from(text);
            for id in targets {
                if id == connection {
                    sent += text.len();
                }
                let Some(entry) = core.connections.get_mut(&id) else {
                    continue;
                };
                if !entry.push(Message::Text(text.clone()), limits) {
                    // Told why (the close frame follows what its socket holds), and sent
                    // nothing more.
                    core.connections.remove(&id);
                }
            }
        }
        sent
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

    /// Answers change `id` of the connection with a refusal the hub made itself.
    fn reject(&self, context: &Context<R>, id: u64, reason: RejectReason) {
        let rejected = ServerMessage::<T>::Rejected(Rejected {
            session: context.session,
            id,
            reason,
        });
        self.send_to(context.connection, &rejected);
    }

    fn send_to(&self, connection: u64, message: &ServerMessage<T>) {
        let Ok(text) = serde_json::to_string(message) else {
            return;
        };
        let mut core = self.core();
        if let Some(entry) = core.connections.get_mut(&connection) {
            entry.push(Message::Text(text.into()), &self.inner.limits);
        }
    }

    /// The document's version and state now, and every change committed from then on, in
    /// order (for as long as the receiver is kept).
    pub fn watch_commits(&self) -> (u64, Arc<T>, mpsc::UnboundedReceiver<Committed>) {
        let mut core = self.core();
        let (sender, receiver) = mpsc::unbounded_channel();
        core.observers.push(sender);
        (core.backend.version(), core.backend.state(), receiver)
    }

    /// The document's state now.
    #[must_use]
    pub fn state(&self) -> Arc<T> {
        self.core().backend.state()
    }

    /// The document's version now.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.core().backend.version()
    }

    /// The committed changes still held, oldest first.
    #[must_use]
    pub fn log(&self) -> Vec<Committed> {
        self.core().backend.log()
    }

    /// How many connections are open.
    #[must_use]
    pub fn connections(&self) -> usize {
        self.core().connections.len()
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

/// A request's token: its `Authorization: Bearer` header, or its `token` query parameter.
fn request_token(request: &axum::extract::Request) -> Option<String> {
    let header = request
        .headers()
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if let Some(token) = header {
        return Some(token.to_owned());
    }
    let axum::extract::Query(query) =
        axum::extract::Query::<HashMap<String, String>>::try_from_uri(request.uri()).ok()?;
    query.get("token").cloned()
}

/// Keys a JavaScript client cannot hold: Immer refuses to patch a path through `__proto__`
/// or `constructor`, and a value holding a `__proto__` member would set its object's
/// prototype when Immer copies it. The path of the first one, in a patch's path or value.
fn unsafe_key(patches: &[Patch]) -> Option<Path> {
    fn in_value(value: &serde_json::Value, path: &mut Path) -> bool {
        match value {
            serde_json::Value::Object(members) => members.iter().any(|(key, member)| {
                path.push(key.as_str());
                if key == "__proto__" || in_value(member, path) {
                    return true;
                }
                path.pop();
                false
            }),
            serde_json::Value::Array(items) => items.iter().enumerate().any(|(n, item)| {
                path.push(n);
                if in_value(item, path) {
                    return true;
                }
                path.pop();
                false
            }),
            _ => false,
        }
    }
    for patch in patches {
        for path in std::iter::once(&patch.path).chain(patch.from.as_ref()) {
            let bad = |s: &PathSegment| matches!(s, PathSegment::Key(k) if k == "__proto__" || k == "constructor");
            if path.segments().iter().any(bad) {
                return Some(path.clone());
            }
        }
        let mut path = patch.path.clone();
        if patch.value.as_ref().is_some_and(|v| in_value(v, &mut path)) {
            return Some(path);
        }
    }
    None
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
    queued: Arc<AtomicUsize>,
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
                let mut bytes = message_bytes(&message);
                let written = tokio::time::timeout(patience, async {
                    sink.feed(message).await?;
                    while let Ok(message) = queue.try_recv() {
                        bytes += message_bytes(&message);
                        sink.feed(message).await?;
                    }
                    sink.flush().await
                });
                let written = matches!(written.await, Ok(Ok(())));
                queued.fetch_sub(bytes, Ordering::Relaxed);
                if !written {
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
    inbound: &mpsc::Sender<Incoming>,
    mut writer_stopped: oneshot::Receiver<()>,
    (budget, read_only): (&Mutex<Budget>, bool),
    limits: &Limits,
) -> Option<(u16, String)> {
    loop {
        let message = tokio::select! {
            message = stream.next() => message,
            _ = &mut writer_stopped => return None,
        };
        let message = match message {
            None | Some(Ok(Message::Close(_))) => return None,
            Some(Ok(message)) => message,
            Some(Err(error)) => return Some(unreadable(&error, limits)),
        };
        // Every frame counts, pings too.
        if let Err(reason) = lock(budget).take(message_bytes(&message)) {
            return Some((close_code::POLICY, reason));
        }
        let text = match message {
            Message::Text(text) => text,
            Message::Binary(_) => {
                let reason = "binary messages are not understood: send JSON text";
                return Some((close_code::UNSUPPORTED, reason.to_owned()));
            }
            _ => continue,
        };
        // A change of a role that writes nothing is refused whatever it holds: read no
        // further than its number and first path.
        let message = match crate::protocol::read_incoming(&text, read_only) {
            Ok(Incoming::Message(ClientMessage::Auth { .. })) => {
                return Some((close_code::INVALID, "already authenticated".to_owned()));
            }
            Ok(message) => message,
            Err(error) => {
                return Some((close_code::INVALID, format!("invalid message: {error}")));
            }
        };
        // When the handler stopped (the connection is closing), read on, ignoring what comes,
        // until the writer has said why, so that the close frame is not lost to a reset.
        if let Err(mpsc::error::TrySendError::Full(_)) = inbound.try_send(message) {
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

/// The close code and reason for a frame that could not be read: over the size limit, or
/// not a WebSocket frame.
fn unreadable(error: &axum::Error, limits: &Limits) -> (u16, String) {
    let limit = limits.max_message_bytes;
    let reason = format!("unreadable message: {error} (the limit is {limit} bytes)");
    (close_code::TOO_BIG, reason)
}

/// What one client may make the server handle: messages and bytes per second.
struct Budget {
    messages: Bucket,
    bytes: Bucket,
    messages_per_second: u32,
    bytes_per_second: usize,
}

impl Budget {
    fn new(limits: &Limits) -> Self {
        #[allow(clippy::cast_precision_loss, reason = "a rate, not an exact count")]
        let bytes = Bucket::with(limits.bytes_per_second as f64, limits.burst_bytes as f64);
        Budget {
            messages: Bucket::new(limits.messages_per_second, limits.burst),
            bytes,
            messages_per_second: limits.messages_per_second,
            bytes_per_second: limits.bytes_per_second,
        }
    }

    /// Takes one message of `bytes` (a snapshot asked for: no message, its size), or says
    /// which rate it breaks.
    fn take(&mut self, bytes: usize) -> Result<(), String> {
        if !self.messages.take(1.0) {
            let rate = self.messages_per_second;
            return Err(format!("flood: more than {rate} messages per second"));
        }
        #[allow(clippy::cast_precision_loss, reason = "a rate, not an exact count")]
        if !self.bytes.take(bytes as f64) {
            let rate = self.bytes_per_second;
            return Err(format!("flood: more than {rate} bytes per second"));
        }
        Ok(())
    }
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
        Bucket::with(f64::from(rate), f64::from(burst.max(1)))
    }

    fn with(rate: f64, capacity: f64) -> Self {
        Bucket {
            rate,
            capacity,
            tokens: capacity,
            at: Instant::now(),
        }
    }

    /// Takes `cost` tokens. A cost over the whole burst is let through when the bucket is
    /// full (and empties it): one large message is never refused for its size alone.
    fn take(&mut self, cost: f64) -> bool {
        let now = Instant::now();
        let elapsed = now.duration_since(self.at).as_secs_f64();
        self.at = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.capacity);
        if self.tokens >= cost.min(self.capacity) {
            self.tokens -= cost;
            true
        } else {
            false
        }
    }
}
