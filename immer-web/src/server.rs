//! A server of many documents: each opened from its [`Storage`] at its first use, ordered
//! by its own backend, closed when idle; one WebSocket carries any number of them.
//!
//! - this file: the [`Server`], its documents (opened, closed, created, deleted, listed), and
//!   edits from the server itself;
//! - [`storage`]: the [`Storage`] trait and the embedded store behind it;
//! - [`socket`]: one socket of many documents (subscribe, unsubscribe, each message routed
//!   to its document's hub).
//!
//! Each document is a [`Hub`] of its own (its sessions, checks, backend and connections);
//! what a server adds is which documents are open, and the sockets that carry several.

use std::collections::HashMap;
use std::fmt;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use immer::{Draftable, PatchDraft};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::OnceCell;

use crate::hub::{EditError, Hub, HubBuilder, Identity, Limits, lock};

mod socket;
mod storage;

pub use storage::{DocumentError, Storage};

/// Serves many documents of one type, by name, from a [`Storage`] (the embedded
/// [`immer_store::Store`] by default): a board per team, a page per customer. Build it with
/// [`HubBuilder::build_server`]; it is cheap to clone; mount [`router`](Server::router).
///
/// - **Opened on first use, closed when idle.** A document is opened from storage when a
///   socket first subscribes to it or the server edits it, and closed once no socket has had
///   it and no edit of the server's waited for [`Limits::document_idle`]; at most
///   [`Limits::max_open_documents`] are open (the one unused the longest makes room).
/// - **One socket, many documents.** A client authenticates once, then subscribes to any
///   number of documents by name (at most [`Limits::max_documents_per_connection`] at once);
///   every message for a document carries its name (`doc`). See the [`protocol`](crate::protocol).
/// - **Authorization per document.** [`HubBuilder::access`] gives each identity its role on
///   each document (or refuses it); the [`Policy`](crate::Policy) says what each role may
///   write; the limits, checks and validator are the hub's, per document.
/// - **Edits from the server itself** with [`edit`](Server::edit), by name.
///
/// # Examples
///
/// ```no_run
/// use std::sync::Arc;
/// use immer_web::{Hub, Identity, Policy};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let store = immer_store::Store::open("data/boards.redb")?;
/// let server = Hub::builder(Arc::new(Vec::<String>::new()))
///     .authenticate(|token: String| async move {
///         Ok(Identity { user: token, role: "editor".to_owned() })
///     })
///     // Guests read the public boards only; everyone else edits every board.
///     .access(|identity, board| {
///         (identity.user != "guest" || board.starts_with("public-")).then(|| identity.role.clone())
///     })
///     .policy(Policy::new().allow("editor".to_owned(), "/**".parse::<immer_web::PathPattern>()?))
///     .build_server(store);
/// server.create("team-a").await?;
/// let job = Identity { user: "nightly".to_owned(), role: "editor".to_owned() };
/// server.edit("team-a", job, |d| d.push("review the board".to_owned())).await?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(server.listen(listener), server.router()).await?;
/// # Ok(())
/// # }
/// ```
pub struct Server<T, R, S: Storage<T>> {
    inner: Arc<Shared<T, R, S>>,
}

impl<T, R, S: Storage<T>> Clone for Server<T, R, S> {
    fn clone(&self) -> Self {
        Server {
            inner: Arc::clone(&self.inner),
        }
    }
}

struct Shared<T, R, S: Storage<T>> {
    /// The hooks, policy and limits every document's hub is built with.
    config: HubBuilder<T, R>,
    storage: S,
    /// The documents open (or being opened), by name.
    open: Mutex<Slots<T, R, S::Backend>>,
    /// Connections open through [`Server::listen`].
    gate: Arc<crate::gate::Counts>,
    /// Whether the task that closes idle documents runs.
    sweeping: AtomicBool,
}

/// The documents open, or being opened, by name.
type Slots<T, R, B> = HashMap<String, Arc<Slot<T, R, B>>>;

/// A document open, or being opened.
struct Slot<T, R, B> {
    hub: OnceCell<Hub<T, R, B>>,
    /// How many are using it now (opening it, subscribing to it, editing it): it is not
    /// closed while any is.
    users: AtomicUsize,
}

/// A document counted as used (see [`Slot::users`]) until dropped, whatever happens to the
/// caller meanwhile (a future dropped while the document opens lets go of it too).
struct Held<T, R, B> {
    slot: Arc<Slot<T, R, B>>,
}

impl<T, R, B> Drop for Held<T, R, B> {
    fn drop(&mut self) {
        self.slot.users.fetch_sub(1, Ordering::AcqRel);
    }
}

/// A document in use: see [`Server::use_document`].
struct InUse<T, R, B> {
    hub: Hub<T, R, B>,
    /// Counted as used while this is.
    _held: Held<T, R, B>,
}

impl<T, R, B> std::ops::Deref for InUse<T, R, B> {
    type Target = Hub<T, R, B>;
    fn deref(&self) -> &Hub<T, R, B> {
        &self.hub
    }
}

/// Lets go of closed documents, off the async runtime's threads when there is one (the last
/// handle of a document may wait for its storage: a store's writes in flight), and returns
/// once they are gone, so that they can be opened again at once.
async fn let_go<X: Send + 'static>(closed: Vec<X>) {
    if closed.is_empty() {
        return;
    }
    if tokio::runtime::Handle::try_current().is_ok() {
        let _ = tokio::task::spawn_blocking(move || drop(closed)).await;
    } else {
        drop(closed);
    }
}

impl<T, R> HubBuilder<T, R>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
{
    /// A [`Server`] of the documents of `storage`, each served as this builder configures a
    /// hub (its authentication, policy, validator, [`access`](HubBuilder::access) and
    /// limits). The builder's state is what [`Server::create`] starts a document with.
    #[must_use]
    pub fn build_server<S: Storage<T>>(self, storage: S) -> Server<T, R, S> {
        Server {
            inner: Arc::new(Shared {
                config: self,
                storage,
                open: Mutex::default(),
                gate: Arc::default(),
                sweeping: AtomicBool::new(false),
            }),
        }
    }
}

impl<T, R, S> Server<T, R, S>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
    S: Storage<T>,
{
    /// The limits every document and socket is held to.
    #[must_use]
    pub fn limits(&self) -> &Limits {
        self.inner.config.limits_set()
    }

    /// The storage the documents live in.
    #[must_use]
    pub fn storage(&self) -> &S {
        &self.inner.storage
    }

    /// Creates the document `name`, starting as the builder's state.
    ///
    /// # Errors
    ///
    /// [`DocumentError::InvalidName`], [`DocumentError::Exists`], or the storage's failure.
    pub async fn create(&self, name: &str) -> Result<(), DocumentError> {
        let state = Arc::clone(self.inner.config.initial_state());
        self.create_with(name, state).await
    }

    /// Creates the document `name`, starting as `state`.
    ///
    /// # Errors
    ///
    /// As [`create`](Server::create).
    pub async fn create_with(&self, name: &str, state: Arc<T>) -> Result<(), DocumentError> {
        self.inner.storage.create(name, state).await
    }

    /// Deletes the document `name`: closed at once if open (every socket subscribed to it
    /// is told it was deleted, every edit of the server's waiting ends
    /// [`Unanswered`](EditError::Unanswered)), then removed from storage. `false` when there
    /// was none.
    ///
    /// # Errors
    ///
    /// The storage's failure.
    pub async fn delete(&self, name: &str) -> Result<bool, DocumentError> {
        let slot = lock(&self.inner.open).remove(name);
        if let Some(hub) = slot.as_ref().and_then(|slot| slot.hub.get()) {
            hub.close_now("the document was deleted");
        }
        let_go(slot.into_iter().collect::<Vec<_>>()).await;
        self.inner.storage.delete(name).await
    }

    /// The names of the documents in storage, in order.
    ///
    /// # Errors
    ///
    /// The storage's failure.
    pub async fn list(&self) -> Result<Vec<String>, DocumentError> {
        self.inner.storage.list().await
    }

    /// Whether document `name` is open now.
    #[must_use]
    pub fn is_open(&self, name: &str) -> bool {
        lock(&self.inner.open).contains_key(name)
    }

    /// How many documents are open now.
    #[must_use]
    pub fn open_documents(&self) -> usize {
        lock(&self.inner.open).len()
    }

    /// The hub of document `name`, opened if it is not: to read its state, version and log,
    /// or watch its commits. The document stays open while the hub is held (drop it when
    /// done, so that the document can be closed when idle); a document deleted meanwhile
    /// takes no more edits.
    ///
    /// # Errors
    ///
    /// [`DocumentError::NotFound`], [`DocumentError::InvalidName`],
    /// [`DocumentError::TooManyOpen`], or the storage's failure (a stored change that does
    /// not read back as `T`, naming the version).
    pub async fn document(&self, name: &str) -> Result<Hub<T, R, S::Backend>, DocumentError> {
        Ok(self.use_document(name).await?.hub.clone())
    }

    /// Edits document `name` with a typed recipe as `identity`, as [`Hub::edit`] does (the
    /// limits and cheap checks, ordering, the policy for its role, the validator, durable
    /// where the storage is), opening it if it is not open. Resolves with the version it
    /// became.
    ///
    /// # Errors
    ///
    /// [`EditError::Rejected`] with the reason, [`EditError::Unanswered`] when the backend
    /// could not order it, or [`EditError::Document`] when the document cannot be opened.
    pub async fn edit<F>(
        &self,
        name: &str,
        identity: Identity<R>,
        recipe: F,
    ) -> Result<u64, EditError>
    where
        F: FnOnce(&mut PatchDraft<'_, '_, T>),
    {
        let document = self.use_document(name).await.map_err(EditError::Document)?;
        document.edit(identity, recipe).await
    }

    /// Closes every open document unused for [`Limits::document_idle`] (as the server does
    /// on its own every few seconds); returns how many it closed.
    pub fn close_idle(&self) -> usize {
        // Let go of here: this may wait for a store's writes in flight.
        self.close_unused(Some(self.limits().document_idle), usize::MAX)
            .len()
    }

    /// Document `name` in use until the guard is dropped: opened if it is not (once, however
    /// many ask at the same time).
    async fn use_document(&self, name: &str) -> Result<InUse<T, R, S::Backend>, DocumentError> {
        // The cheap check first: a bad name never reaches the storage.
        if !immer::sync::is_document_name(name) {
            let shown: String = name.chars().take(64).collect();
            return Err(DocumentError::InvalidName(format!(
                "{shown:?} is not a document name: {}",
                immer::sync::DOCUMENT_NAME_RULE
            )));
        }
        self.start_sweeping();
        // A document closed, deleted or replaced between the lookup and its use is looked up
        // again (it was unused, or just deleted: at most a few times).
        for _ in 0..8 {
            let held = self.slot(name);
            let opened = held
                .slot
                .hub
                .get_or_try_init(|| self.open_hub(name))
                .await
                .cloned();
            let hub = match opened {
                Ok(hub) => hub,
                Err(error) => {
                    // Nothing is kept of a document that did not open.
                    let removed = self.forget(name, &held.slot, |slot| slot.hub.get().is_none());
                    drop(held);
                    let_go(removed.into_iter().collect::<Vec<_>>()).await;
                    return Err(error);
                }
            };
            let current = lock(&self.inner.open)
                .get(name)
                .is_some_and(|s| Arc::ptr_eq(s, &held.slot));
            if !current {
                // Deleted while it opened: nobody may use what opened.
                hub.close_now("the document was deleted");
                drop(held);
                let_go(vec![hub]).await;
                continue;
            }
            if hub.is_closed() {
                // Closed (idle, or its storage failed): let go of, and opened anew.
                let removed = self.forget(name, &held.slot, |_| true);
                drop(held);
                let_go(vec![hub]).await;
                let_go(removed.into_iter().collect::<Vec<_>>()).await;
                continue;
            }
            // Opened: room is made now, so that a name that does not exist never closes
            // another document.
            if lock(&self.inner.open).len() > self.limits().max_open_documents {
                self.make_room().await;
                let max = self.limits().max_open_documents;
                if lock(&self.inner.open).len() > max {
                    let removed = self.forget(name, &held.slot, |_| true);
                    if removed.is_some() {
                        hub.close_now("too many documents are open: try again later");
                    }
                    drop(held);
                    let_go(vec![hub]).await;
                    let_go(removed.into_iter().collect::<Vec<_>>()).await;
                    return Err(DocumentError::TooManyOpen(max));
                }
            }
            return Ok(InUse { hub, _held: held });
        }
        Err(DocumentError::Storage(format!(
            "{name:?} was closed each time it was opened: try again"
        )))
    }

    /// Removes `slot` from the open documents if it is still `name`'s and `also` holds.
    fn forget(
        &self,
        name: &str,
        slot: &Arc<Slot<T, R, S::Backend>>,
        also: impl FnOnce(&Slot<T, R, S::Backend>) -> bool,
    ) -> Option<Arc<Slot<T, R, S::Backend>>> {
        let mut open = lock(&self.inner.open);
        if open.get(name).is_some_and(|s| Arc::ptr_eq(s, slot)) && also(slot) {
            open.remove(name)
        } else {
            None
        }
    }

    /// The slot of `name`, counted as used (made if it is not open).
    fn slot(&self, name: &str) -> Held<T, R, S::Backend> {
        let mut open = lock(&self.inner.open);
        let slot = open.entry(name.to_owned()).or_insert_with(|| {
            Arc::new(Slot {
                hub: OnceCell::new(),
                users: AtomicUsize::new(0),
            })
        });
        slot.users.fetch_add(1, Ordering::AcqRel);
        Held {
            slot: Arc::clone(slot),
        }
    }

    /// Closes the documents unused the longest until at most [`Limits::max_open_documents`]
    /// are open (or none is unused).
    async fn make_room(&self) {
        let over = lock(&self.inner.open)
            .len()
            .saturating_sub(self.limits().max_open_documents);
        if over > 0 {
            let_go(self.close_unused(None, over)).await;
        }
    }

    /// Opens `name` from storage as a hub of its own.
    async fn open_hub(&self, name: &str) -> Result<Hub<T, R, S::Backend>, DocumentError> {
        let config = self.inner.config.for_document();
        let backend = self.inner.storage.open(name, config.checks()).await?;
        let later = S::later(&backend);
        let hub = config.build_with(backend);
        hub.set_name(name);
        if let Some(later) = later {
            hub.deliver_from(later);
        }
        if let Some(channel) = self.inner.storage.presence_channel(name).await {
            hub.relay_presence(channel);
        }
        Ok(hub)
    }

    /// Closes up to `most` open documents that no one uses and none has for `idle` (`None`:
    /// however long), the least recently used first; returns how many.
    fn close_unused(
        &self,
        idle: Option<Duration>,
        most: usize,
    ) -> Vec<Arc<Slot<T, R, S::Backend>>> {
        let mut open = lock(&self.inner.open);
        // An open given up half-way (its caller gone) leaves an empty slot.
        open.retain(|_, slot| slot.users.load(Ordering::Acquire) > 0 || slot.hub.get().is_some());
        let now = std::time::Instant::now();
        let mut unused: Vec<(std::time::Instant, String)> = open
            .iter()
            .filter(|(_, slot)| slot.users.load(Ordering::Acquire) == 0)
            // A hub someone holds (from `Server::document`) stays open while they do.
            .filter_map(|(name, slot)| {
                slot.hub
                    .get()
                    .filter(|hub| hub.handles() == 1)
                    .map(|hub| (hub, name))
            })
            .filter_map(|(hub, name)| Some((hub.unused_since()?, name.clone())))
            .filter(|(since, _)| {
                idle.is_none_or(|idle| now.saturating_duration_since(*since) >= idle)
            })
            .collect();
        unused.sort_unstable();
        let mut closed = Vec::new();
        for (_, name) in unused {
            if closed.len() >= most {
                break;
            }
            // Checked again as it is closed: nothing registers with a closed document.
            let shut = open
                .get(&name)
                .and_then(|slot| slot.hub.get())
                .is_some_and(|hub| hub.close_if_unused(idle));
            if shut {
                closed.extend(open.remove(&name));
            }
        }
        closed
    }

    /// Starts the task that closes idle documents, once (a server used outside a runtime
    /// closes them in [`close_idle`](Server::close_idle) only).
    fn start_sweeping(&self) {
        if self.inner.sweeping.swap(true, Ordering::AcqRel) {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            self.inner.sweeping.store(false, Ordering::Release);
            return;
        };
        let server: Weak<Shared<T, R, S>> = Arc::downgrade(&self.inner);
        let every = (self.limits().document_idle / 4)
            .clamp(Duration::from_millis(100), Duration::from_secs(10));
        runtime.spawn(async move {
            loop {
                tokio::time::sleep(every).await;
                let Some(inner) = server.upgrade() else {
                    return;
                };
                let server = Server { inner };
                let idle = server.limits().document_idle;
                let closed = server.close_unused(Some(idle), usize::MAX);
                drop(server);
                let_go(closed).await;
            }
        });
    }

    /// A listener for `axum::serve` that admits connections within the server's
    /// [`Limits`] (see [`Hub::listen`]).
    #[must_use]
    pub fn listen(&self, listener: tokio::net::TcpListener) -> crate::Gate {
        crate::Gate::with_counts(
            listener,
            self.limits().clone(),
            Arc::clone(&self.inner.gate),
        )
    }

    /// An axum router with the WebSocket endpoints: a socket of many documents at `/ws`,
    /// and a socket of one, with the one-document protocol of a [`Hub`], at `/ws/{name}`.
    pub fn router(&self) -> Router {
        Router::new()
            .route("/ws", get(Self::handler))
            .route("/ws/{name}", get(Self::handler_one))
            .with_state(self.clone())
    }

    /// The endpoint of one document, named by the last segment of the path, as an axum
    /// handler (see [`router`](Server::router)).
    #[allow(clippy::unused_async, reason = "axum handlers are async functions")]
    pub async fn handler_one(
        State(server): State<Self>,
        Path(name): Path<String>,
        upgrade: WebSocketUpgrade,
    ) -> Response {
        let limit = server.limits().max_message_bytes;
        upgrade
            .max_message_size(limit)
            .max_frame_size(limit)
            .on_upgrade(move |socket| server.serve_one(name, socket))
            .into_response()
    }

    /// The WebSocket endpoint as an axum handler, to mount at a route of your own.
    #[allow(clippy::unused_async, reason = "axum handlers are async functions")]
    pub async fn handler(State(server): State<Self>, upgrade: WebSocketUpgrade) -> Response {
        let limit = server.limits().max_message_bytes;
        upgrade
            .max_message_size(limit)
            .max_frame_size(limit)
            .on_upgrade(move |socket| server.serve(socket))
            .into_response()
    }

    /// `router`, let through only for requests whose token the server's authentication hook
    /// accepts, as an identity `allowed` approves: for the app's own HTTP endpoints (see
    /// [`Hub::protect`]).
    pub fn protect<F>(&self, router: Router, allowed: F) -> Router
    where
        F: Fn(&Identity<R>) -> bool + Clone + Send + Sync + 'static,
    {
        let server = self.clone();
        let authenticate = move |token| {
            let server = server.clone();
            async move { server.authenticate(token).await }
        };
        crate::hub::protect(router, authenticate, allowed)
    }

    /// Runs the app's authentication hook on `token` within [`Limits::auth_timeout`] (see
    /// [`Hub::authenticate`]).
    ///
    /// # Errors
    ///
    /// The hook's reason, or that it did not answer in time.
    pub async fn authenticate(&self, token: String) -> Result<Identity<R>, String> {
        let hook = self.inner.config.authenticate_hook();
        crate::hub::verify(&**hook, self.limits(), token).await
    }
}

impl<T, R, S: Storage<T>> fmt::Debug for Server<T, R, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Server")
            .field("open", &lock(&self.inner.open).len())
            .finish_non_exhaustive()
    }
}
