//! The server: one document, many WebSocket connections, one [`Backend`] ordering their
//! changes (the in-process [`Leader`] by default).
//!
//! - this file: the [`Hub`], its builder and what it holds;
//! - [`connection`]: one connection's I/O (authentication, the reader, the writer, closing);
//! - [`document`]: what a message does to the document (sessions, checks, the backend, who
//!   receives what), with no I/O;
//! - [`limits`]: the [`Limits`], the rate budget, and the cheap checks of a change;
//! - [`presence`]: what each connection shows the others (a cursor, a selection), never
//!   ordered or kept.
//!
//! The protocol's rules (sessions and answers, moving a change, the hooks) are not here:
//! they are [`immer::sync`]'s, behind the [`Backend`] trait.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, RwLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message, Utf8Bytes, WebSocketUpgrade};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use immer::Draftable;
pub use immer::sync::Backend;
use immer::sync::{
    Authorizer, Checks, ClientId, Committed, Leader, RejectReason, SessionId, Validator,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

use crate::policy::Policy;

mod connection;
mod document;
mod edits;
mod limits;
mod presence;
mod subscribe;

pub use connection::request_token;
pub(crate) use connection::{
    Authenticated, Socket, already_authenticated, authenticate, closing, cut, protect, read,
};
pub use edits::EditError;
pub(crate) use limits::Budget;
pub use limits::{Limits, close_code};
#[cfg(feature = "jetstream")]
pub(crate) use presence::MOST_HEARD;
pub use presence::PresenceChannel;
pub(crate) use presence::presence_budget;
pub use subscribe::PathChanges;

/// Who a connection is, as the authentication hook says: a user and a role.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Identity<R> {
    /// The user: the same user keeps the same client id across connections.
    pub user: String,
    /// What the user may do (see [`Policy`]).
    pub role: R,
}

type AuthFuture<R> = Pin<Box<dyn Future<Output = Result<Identity<R>, String>> + Send>>;
pub(crate) type Authenticate<R> = dyn Fn(String) -> AuthFuture<R> + Send + Sync;
/// The app's validation hook, as given.
type ValidateHook<T, R> = dyn Fn(&T, &T, &Identity<R>) -> Result<(), String> + Send + Sync;
/// The app's hook for a server of many documents: an identity's role on a document, or
/// `None` when it may not read it.
pub(crate) type AccessHook<R> = dyn Fn(&Identity<R>, &str) -> Option<R> + Send + Sync;

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
///     .policy(Policy::new().allow("editor".to_owned(), "/todos/**".parse::<immer_web::PathPattern>().unwrap()))
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
    authenticate: Arc<Authenticate<R>>,
    policy: Arc<Policy<R, T>>,
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
    users: HashMap<String, usize>,
    next_connection: u64,
    /// The state's JSON at a version, written once for every welcome and snapshot of it.
    state_json: Option<(u64, Utf8Bytes)>,
    /// The server's own sessions, one per identity it edits as (see [`Hub::edit`]): a
    /// handful, looked up in order.
    servers: Vec<edits::ServerSession>,
    /// The server's edits waiting for their answer, by session and change.
    waiting: HashMap<(SessionId, u64), oneshot::Sender<Result<u64, RejectReason>>>,
    /// For a document of a [`Server`](crate::Server), whose sockets carry many: what every
    /// message for it starts with (`{"doc":"<name>",`).
    tag: Option<Arc<str>>,
    /// What each connection shows the others.
    presences: presence::Presences,
    /// Closed by its server (idle, or deleted): nothing registers any more.
    closed: bool,
    /// When a connection last left it or the server last edited it (for its server's
    /// [`Limits::document_idle`]).
    used: Instant,
}

impl<B> Core<B> {
    /// `text` (a JSON object) as this document's connections receive it: with the document's
    /// name when its sockets carry many.
    /// Since when no connection has had the document, no one watched its commits (the
    /// devtools) and no edit of the server's waited; `None` while one does.
    fn unused_since(&mut self) -> Option<Instant> {
        self.observers.retain(|observer| !observer.is_closed());
        let unused =
            self.connections.is_empty() && self.observers.is_empty() && self.waiting.is_empty();
        unused.then_some(self.used)
    }

    /// Removes `id` from the connections: its presence is taken away from the others, and
    /// what it had yet to be sent of presence is dropped. Every way a connection leaves the
    /// document goes through here.
    fn remove_connection(&mut self, id: u64) -> Option<Connection> {
        let entry = self.connections.remove(&id)?;
        self.presences.remove(id);
        entry
            .link
            .end_presence(self.presence_key(&entry).as_deref(), id);
        Some(entry)
    }

    /// Removes every connection (see [`remove_connection`](Core::remove_connection)).
    fn remove_all_connections(&mut self) -> Vec<Connection> {
        let ids: Vec<u64> = self.connections.keys().copied().collect();
        ids.into_iter()
            .filter_map(|id| self.remove_connection(id))
            .collect()
    }

    fn text_for(&self, connection: &Connection, text: String) -> Utf8Bytes {
        with_tag(self.tag.as_deref().filter(|_| connection.tagged), text)
    }

    /// Ends `connection`'s hold on the document, saying why: a socket of many documents is
    /// told this one ended (the others go on); any other closes with `code`.
    fn end(&self, connection: &Connection, code: u16, reason: &str, limits: &Limits) {
        if connection.tagged {
            let text = self.text_for(connection, unsubscribed(reason));
            connection.link.push(Message::Text(text), limits);
        } else {
            connection.link.close_with(code, reason.to_owned());
        }
    }
}

/// What every message for document `name` starts with on a socket of many.
pub(crate) fn tag(name: &str) -> Arc<str> {
    Arc::from(format!(
        r#"{{"doc":{},"#,
        serde_json::Value::String(name.to_owned())
    ))
}

/// `text` (a JSON object) with `tag` (see [`tag`]) in front, when there is one.
pub(crate) fn with_tag(tag: Option<&str>, text: String) -> Utf8Bytes {
    match tag {
        Some(tag) if text.starts_with('{') => {
            let mut tagged = String::with_capacity(tag.len() + text.len());
            tagged.push_str(tag);
            let rest = &text[1..];
            // An empty object takes no comma.
            if rest.starts_with('}') {
                tagged.pop();
            }
            tagged.push_str(rest);
            Utf8Bytes::from(tagged)
        }
        _ => Utf8Bytes::from(text),
    }
}

/// Runs the app's authentication hook on `token` within [`Limits::auth_timeout`].
pub(crate) async fn verify<R>(
    authenticate: &Authenticate<R>,
    limits: &Limits,
    token: String,
) -> Result<Identity<R>, String> {
    match tokio::time::timeout(limits.auth_timeout, authenticate(token)).await {
        Ok(result) => result,
        Err(_) => Err("the token was not verified in time".to_owned()),
    }
}

/// The client a user's sessions are, the same in every life of every server: a stable hash
/// of `kind` and `parts` (FNV-1a, 53 bits, never 0), so that a session kept across a restart
/// is known as its user's, and the server's own identities never share a client with a user.
fn stable_client(kind: &str, parts: &[&str]) -> ClientId {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for part in std::iter::once(kind).chain(parts.iter().copied()) {
        for byte in part.bytes().chain(std::iter::once(0)) {
            hash ^= u64::from(byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
    }
    // Within JavaScript's safe integers.
    (hash & ((1 << 53) - 1)).max(1)
}

/// The client of `user`'s sessions (see [`stable_client`]).
fn user_client(user: &str) -> ClientId {
    stable_client("user", &[user])
}

/// Why a document no longer takes a connection: its server closed it.
pub(crate) const CLOSED: &str = "the document was closed: open it again";

/// The message that ends a document's subscription on a socket of many, with `reason`.
pub(crate) fn unsubscribed(reason: &str) -> String {
    let reason = serde_json::Value::String(reason.to_owned());
    format!(r#"{{"type":"unsubscribed","reason":{reason}}}"#)
}

struct Session {
    client: ClientId,
    /// Its user; empty for a session kept across a restart until its user resumes it.
    user: String,
    /// The connection that holds it, if one does.
    connection: Option<u64>,
    detached_at: Instant,
}

struct Connection {
    session: SessionId,
    link: Link,
    /// Its socket carries many documents (see [`Server`](crate::Server)): every message
    /// names this one.
    tagged: bool,
}

/// The way to one socket: its outbound queue and how to close it. A socket that carries
/// many documents (see [`Server`](crate::Server)) has one, shared by each document it
/// subscribes to.
#[derive(Clone)]
pub(crate) struct Link {
    outbound: mpsc::Sender<presence::Outgoing>,
    /// Bytes queued and not yet written.
    queued: Arc<AtomicUsize>,
    /// Tells the writer to close with a code and reason (once).
    close: Arc<Mutex<Option<CloseSender>>>,
    /// The presence updates waiting to be written, by document.
    presence: Arc<Mutex<presence::Outbox>>,
}

/// Tells a socket's writer the code and reason to close with.
type CloseSender = oneshot::Sender<(u16, String)>;

/// What the handler of one connection knows of it (on a socket of many documents, of its
/// subscription to one).
pub(crate) struct Context<R> {
    /// The user, as authenticated.
    pub(crate) user: String,
    pub(crate) connection: u64,
    pub(crate) client: ClientId,
    pub(crate) session: SessionId,
    pub(crate) role: R,
    pub(crate) budget: Arc<Mutex<Budget>>,
    /// Its presence messages' own budget (see [`Limits::presence_per_second`]).
    pub(crate) presence: Mutex<limits::Bucket>,
}

/// A hub not kept alive: see [`Hub::downgrade`].
pub(crate) struct WeakHub<T, R, B> {
    inner: std::sync::Weak<Inner<T, R, B>>,
}

impl<T, R, B> WeakHub<T, R, B> {
    /// The hub, while something else keeps it.
    pub(crate) fn upgrade(&self) -> Option<Hub<T, R, B>> {
        self.inner.upgrade().map(|inner| Hub { inner })
    }
}

impl<T, R, B> Hub<T, R, B> {
    /// How many handles of the hub there are (this one included).
    pub(crate) fn handles(&self) -> usize {
        Arc::strong_count(&self.inner)
    }

    /// The hub, not kept alive by this: a socket of many documents holds its documents so,
    /// and a document its server closed or deleted is let go at once.
    pub(crate) fn downgrade(&self) -> WeakHub<T, R, B> {
        WeakHub {
            inner: Arc::downgrade(&self.inner),
        }
    }
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

pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock cannot leave the core half-changed (every change is
    // applied by value), so a poisoned lock is still usable.
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Configures a [`Hub`]: see [`Hub::builder`].
pub struct HubBuilder<T, R> {
    state: Arc<T>,
    identities: Arc<RwLock<HashMap<ClientId, Identity<R>>>>,
    authenticate: Arc<Authenticate<R>>,
    policy: Arc<Policy<R, T>>,
    validator: Option<Arc<ValidateHook<T, R>>>,
    access: Option<Arc<AccessHook<R>>>,
    limits: Limits,
}

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
        self.authenticate = Arc::new(move |token| Box::pin(hook(token)));
        self
    }

    /// Which paths each role may write, checked on every change as it would be committed:
    /// a change that writes elsewhere is rejected ([`RejectReason::Forbidden`](immer::sync::RejectReason::Forbidden)). A change
    /// that writes a path no move of its list positions could make allowed, or by a role
    /// that writes nothing, is refused before it is moved. Without a policy nobody writes.
    #[must_use]
    pub fn policy(mut self, policy: Policy<R, T>) -> Self {
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
    /// ([`RejectReason::Invalid`](immer::sync::RejectReason::Invalid)).
    #[must_use]
    pub fn validator<F>(mut self, validator: F) -> Self
    where
        F: Fn(&T, &T, &Identity<R>) -> Result<(), String> + Send + Sync + 'static,
    {
        self.validator = Some(Arc::new(validator));
        self
    }

    /// For a [`Server`](crate::Server) of many documents: the role `hook` gives an identity
    /// on the document it names, or `None` when it may not read it (it is refused the
    /// subscription). Without it, every identity reads every document, with its own role.
    /// The [`Policy`] then says what the role may write, as on one document.
    #[must_use]
    pub fn access<F>(mut self, hook: F) -> Self
    where
        F: Fn(&Identity<R>, &str) -> Option<R> + Send + Sync + 'static,
    {
        self.access = Some(Arc::new(hook));
        self
    }

    /// The validator as the leader's hook: the app's, with the author's identity.
    fn validator_hook(&self) -> Option<Arc<Validator<T>>> {
        let validator = Arc::clone(self.validator.as_ref()?);
        let identities = Arc::clone(&self.identities);
        Some(Arc::new(move |state: &T, next: &T, client| {
            let identities = identities.read().unwrap_or_else(PoisonError::into_inner);
            match identities.get(&client) {
                Some(identity) => validator(state, next, identity),
                None => Err("unknown client".to_owned()),
            }
        }))
    }

    /// The same configuration for another document: its own identities (who its sessions
    /// are), the rest shared.
    pub(crate) fn for_document(&self) -> Self {
        HubBuilder {
            state: Arc::clone(&self.state),
            identities: Arc::default(),
            authenticate: Arc::clone(&self.authenticate),
            policy: Arc::clone(&self.policy),
            validator: self.validator.clone(),
            access: self.access.clone(),
            limits: self.limits.clone(),
        }
    }

    /// The app's hooks and limits, as a server of many documents holds them.
    pub(crate) fn authenticate_hook(&self) -> &Arc<Authenticate<R>> {
        &self.authenticate
    }

    /// See [`access`](HubBuilder::access).
    pub(crate) fn access_hook(&self) -> Option<&Arc<AccessHook<R>>> {
        self.access.as_ref()
    }

    /// The limits set.
    pub(crate) fn limits_set(&self) -> &Limits {
        &self.limits
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
        let leader = Leader::new(Arc::clone(&self.state)).with_checks(self.checks());
        self.build_with(leader)
    }

    /// The hub over another [`Backend`], which runs the hub's checks itself (see
    /// [`checks`](HubBuilder::checks)).
    pub(crate) fn build_with<B: Backend<T>>(self, backend: B) -> Hub<T, R, B> {
        // The sessions a durable backend kept across a restart: waiting to be resumed by
        // their users (who they are is learned then), forgotten in time otherwise.
        let now = Instant::now();
        let kept = backend.sessions();
        let detached = kept.iter().map(|(session, _)| (now, *session)).collect();
        let sessions = kept
            .into_iter()
            .map(|(session, client)| {
                let entry = Session {
                    client,
                    user: String::new(),
                    connection: None,
                    detached_at: now,
                };
                (session, entry)
            })
            .collect();
        Hub {
            inner: Arc::new(Inner {
                core: Mutex::new(Core {
                    backend,
                    observers: Vec::new(),
                    connections: HashMap::new(),
                    sessions,
                    detached,
                    users: HashMap::new(),
                    next_connection: 1,
                    state_json: None,
                    servers: Vec::new(),
                    waiting: HashMap::new(),
                    tag: None,
                    presences: presence::Presences::default(),
                    closed: false,
                    used: Instant::now(),
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

    /// The checks every change passes, whatever orders it: the policy as the authorization
    /// hook (for the author's role), the validator, and the move limit.
    pub(crate) fn checks(&self) -> Checks<T> {
        let checks = Checks::new()
            .shared_authorizer(self.authorizer())
            .move_limit(self.limits.max_move_work);
        match self.validator_hook() {
            Some(validator) => checks.shared_validator(validator),
            None => checks,
        }
    }

    /// The document's initial state.
    pub(crate) fn initial_state(&self) -> &Arc<T> {
        &self.state
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
            authenticate: Arc::new(|_| {
                Box::pin(async { Err("no authentication is configured".to_owned()) })
            }),
            access: None,
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
        let authenticate = move |token| {
            let hub = hub.clone();
            async move { hub.authenticate(token).await }
        };
        connection::protect(router, authenticate, allowed)
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

    /// Runs the app's authentication hook on `token` within
    /// [`Limits::auth_timeout`]: for the app's own HTTP endpoints, to let in only who the
    /// hub would let in (see the README's "Mounting the hub safely").
    ///
    /// # Errors
    ///
    /// The hook's reason, or that it did not answer in time.
    pub async fn authenticate(&self, token: String) -> Result<Identity<R>, String> {
        verify(&*self.inner.authenticate, &self.inner.limits, token).await
    }

    /// The document's version and state now, and every change committed from then on, in
    /// order (for as long as the receiver is kept).
    pub fn watch_commits(&self) -> (u64, Arc<T>, mpsc::UnboundedReceiver<Committed>) {
        let mut core = self.core();
        let (sender, receiver) = mpsc::unbounded_channel();
        core.observers.push(sender);
        (core.backend.version(), core.backend.state(), receiver)
    }

    /// The committed changes that touch `pattern` from now on: a typed path of `T`
    /// (`immer::path::<Board>().todos().any().done()`) or a parsed
    /// [`PathPattern`](crate::PathPattern). Each comes with the patches of the change that
    /// touch the pattern (see [`PathPattern::touches`](crate::PathPattern::touches)) and the
    /// state after it. Dropping the [`PathChanges`] ends the subscription.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::Arc;
    /// use immer_web::{Hub, Identity, Policy};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let hub: Hub<Vec<u32>, &str> = Hub::builder(Arc::new(vec![1, 2]))
    ///     .policy(Policy::new().allow("job", immer::path::<Vec<u32>>().everything()))
    ///     .build();
    /// let mut first = hub.subscribe(immer::path::<Vec<u32>>().at(0));
    /// let job = || Identity { user: "nightly".to_owned(), role: "job" };
    /// hub.edit(job(), |d| d.push(3)).await.unwrap();
    /// hub.edit(job(), |d| d.get_mut(0).unwrap().set(10)).await.unwrap();
    /// // The push does not touch `/0`; the second edit does.
    /// let change = first.recv().await.unwrap();
    /// assert_eq!(change.patches[0].path.to_pointer(), "/0");
    /// assert_eq!(*change.state, [10, 2, 3]);
    /// # });
    /// ```
    pub fn subscribe(&self, pattern: impl immer::PatternOf<T>) -> PathChanges<T> {
        let (_, state, commits) = self.watch_commits();
        PathChanges::new(pattern, state, commits)
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
