//! One socket of many documents: authenticated once, then subscribed to documents by name;
//! each message goes to its document's hub, which handles it as it handles a one-document
//! connection's.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::ws::{Message, WebSocket};
use futures_util::SinkExt;
use immer::Draftable;
use immer::sync::SessionId;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::mpsc;

use super::{DocumentError, Server, Storage};
use crate::hub::{
    Authenticated, Budget, CLOSED, Context, Identity, Link, Socket, WeakHub, already_authenticated,
    close_code, closing, cut, lock, presence_budget, read, tag, unsubscribed, with_tag,
};
use crate::protocol::{ClientMessage, Incoming, read_addressed};

/// A socket's subscription to one document.
struct Subscription<T, R, B> {
    hub: WeakHub<T, R, B>,
    context: Context<R>,
}

/// What a socket's handler holds: who it is, its link, and its subscriptions by name.
struct Subscriber<T, R, B> {
    identity: Identity<R>,
    link: Link,
    budget: Arc<Mutex<Budget>>,
    subscriptions: HashMap<String, Subscription<T, R, B>>,
}

impl<T, R, B> Subscriber<T, R, B> {
    /// Tells the client its subscription to `doc` ended (or never began), and why.
    fn unsubscribed(&self, doc: &str, reason: &str, limits: &crate::Limits) {
        // A storage's error can be long: said in a few hundred bytes.
        let reason = cut(reason.to_owned(), 300, "...");
        let text = with_tag(Some(&*tag(doc)), unsubscribed(&reason));
        self.link.push(Message::Text(text), limits);
    }
}

impl<T, R, S> Server<T, R, S>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
    S: Storage<T>,
{
    /// Serves one WebSocket connection of many documents until it closes.
    pub async fn serve(self, socket: WebSocket) {
        // 1. Authenticate, once for every document: the first message, in time.
        let limits = self.limits().clone();
        let authenticate = self.inner.config.authenticate_hook();
        let Some(Authenticated {
            sink,
            mut stream,
            budget,
            identity,
            ..
        }) = crate::hub::authenticate(socket, &**authenticate, &limits).await
        else {
            return;
        };

        // 2. The writer, and the handler: this socket's messages, one at a time, in order,
        // each to its document.
        let (socket, stopped) = Socket::start(sink, budget, &limits);
        let (inbound, mut inbound_rx) = mpsc::channel::<(String, Incoming)>(limits.max_pending);
        let server = self.clone();
        let mut subscriber = Subscriber {
            identity,
            link: socket.link.clone(),
            budget: Arc::clone(&socket.budget),
            subscriptions: HashMap::new(),
        };
        let handler = tokio::spawn(async move {
            while let Some((doc, message)) = inbound_rx.recv().await {
                if !subscriber.link.is_open() {
                    break;
                }
                server.handle(&mut subscriber, doc, message).await;
            }
            // Each session is kept for a while, to be resumed.
            for (_, subscription) in subscriber.subscriptions.drain() {
                if let Some(hub) = subscription.hub.upgrade() {
                    hub.detach(
                        subscription.context.connection,
                        subscription.context.session,
                    );
                }
            }
        });

        // 3. The reader: parse, check the rate, and queue for the handler. Every message but
        // the first names its document.
        let presence_max = limits.presence_max_bytes;
        let parse = |text: &str| match read_addressed(text, presence_max) {
            Ok((_, Incoming::Message(ClientMessage::Auth { .. }))) => Err(already_authenticated()),
            Ok((Some(doc), message)) => Ok((doc, message)),
            Ok((None, _)) => Err((
                close_code::INVALID,
                "invalid message: every message names its document (`doc`)".to_owned(),
            )),
            Err(error) => Err((close_code::INVALID, format!("invalid message: {error}"))),
        };
        let ended = read(
            &mut stream,
            &inbound,
            stopped,
            &socket.budget,
            &limits,
            parse,
        )
        .await;

        // 4. Close: every subscription ends, its session kept for a while; say why.
        drop(inbound);
        let _ = handler.await;
        socket.finish(ended, &mut stream, &limits).await;
    }

    /// Serves one WebSocket connection of document `name` alone, with the one-document
    /// protocol (the JavaScript client's `connect`), until it closes.
    pub async fn serve_one(self, name: String, socket: WebSocket) {
        let limits = self.limits().clone();
        let authenticate = self.inner.config.authenticate_hook();
        let Some(Authenticated {
            mut sink,
            stream,
            budget,
            identity,
            resume,
        }) = crate::hub::authenticate(socket, &**authenticate, &limits).await
        else {
            return;
        };
        let refused = |code: u16, reason: String| closing(code, reason);
        let Some(role) = self.role(&identity, &name) else {
            let reason = format!("forbidden: {} may not read this document", identity.user);
            let _ = sink.send(refused(close_code::FORBIDDEN, reason)).await;
            return;
        };
        let document = match self.use_document(&name).await {
            Ok(document) => document,
            Err(error) => {
                let code = match error {
                    DocumentError::NotFound(_) | DocumentError::InvalidName(_) => {
                        close_code::NOT_FOUND
                    }
                    _ => close_code::TRY_AGAIN_LATER,
                };
                let _ = sink.send(refused(code, error.to_string())).await;
                return;
            }
        };
        let identity = Identity {
            user: identity.user,
            role,
        };
        let hub = document.hub.clone();
        // The document stays in use while its connection is.
        hub.serve_as(Authenticated {
            sink,
            stream,
            budget,
            identity,
            resume,
        })
        .await;
        drop(document);
    }

    /// The role `identity` has on document `doc`, if it may read it (see
    /// [`HubBuilder::access`](crate::HubBuilder::access)).
    fn role(&self, identity: &Identity<R>, doc: &str) -> Option<R> {
        match self.inner.config.access_hook() {
            Some(access) => access(identity, doc),
            None => Some(identity.role.clone()),
        }
    }

    /// One message of a socket, for document `doc`.
    async fn handle(
        &self,
        subscriber: &mut Subscriber<T, R, S::Backend>,
        doc: String,
        message: Incoming,
    ) {
        let limits = self.limits();
        match message {
            Incoming::Message(ClientMessage::Subscribe { resume, .. }) => {
                self.subscribe(subscriber, doc, resume).await;
            }
            Incoming::Message(ClientMessage::Unsubscribe { .. }) => {
                if let Some(subscription) = subscriber.subscriptions.remove(&doc) {
                    if let Some(hub) = subscription.hub.upgrade() {
                        hub.detach(
                            subscription.context.connection,
                            subscription.context.session,
                        );
                    }
                }
                subscriber.unsubscribed(&doc, "unsubscribed", limits);
            }
            message => {
                let Some(subscription) = subscriber.subscriptions.get(&doc) else {
                    subscriber.unsubscribed(&doc, "not subscribed to this document", limits);
                    return;
                };
                let Some(hub) = subscription.hub.upgrade() else {
                    // Let go of by the server, unseen by the hub's connections.
                    subscriber.subscriptions.remove(&doc);
                    subscriber.unsubscribed(&doc, CLOSED, limits);
                    return;
                };
                // Deleted, or its session taken by another socket: the client was told (or
                // its socket is closing).
                if !hub.handle(&subscription.context, message) {
                    subscriber.subscriptions.remove(&doc);
                }
            }
        }
    }

    /// Subscribes the socket to `doc`, resuming `resume` if it is this user's session there.
    async fn subscribe(
        &self,
        subscriber: &mut Subscriber<T, R, S::Backend>,
        doc: String,
        resume: Option<SessionId>,
    ) {
        let limits = self.limits();
        // Again: the earlier subscription ends; its session is resumed now, or forgotten (this
        // socket replaced it).
        if let Some(earlier) = subscriber.subscriptions.remove(&doc) {
            if let Some(hub) = earlier.hub.upgrade() {
                hub.detach(earlier.context.connection, earlier.context.session);
                if resume != Some(earlier.context.session) {
                    hub.forget_session(earlier.context.session);
                }
            }
        }
        let max = limits.max_documents_per_connection;
        if subscriber.subscriptions.len() >= max {
            // Those the server ended (deleted, taken over) count no more.
            subscriber.subscriptions.retain(|_, s| {
                s.hub
                    .upgrade()
                    .is_some_and(|hub| hub.is_registered(s.context.connection))
            });
        }
        if subscriber.subscriptions.len() >= max {
            let reason = format!("too many documents on this connection: at most {max}");
            subscriber.unsubscribed(&doc, &reason, limits);
            return;
        }
        let identity = &subscriber.identity;
        let Some(role) = self.role(identity, &doc) else {
            let reason = format!("forbidden: {} may not read this document", identity.user);
            subscriber.unsubscribed(&doc, &reason, limits);
            return;
        };
        let document = match self.use_document(&doc).await {
            Ok(document) => document,
            Err(error) => {
                subscriber.unsubscribed(&doc, &error.to_string(), limits);
                return;
            }
        };
        let identity = Identity {
            user: identity.user.clone(),
            role,
        };
        match document.register(&identity, resume, subscriber.link.clone(), true) {
            Ok(registered) => {
                // A welcome carries the whole state: asking for one costs its size.
                if let Err(reason) = lock(&subscriber.budget).take(registered.bytes) {
                    subscriber.link.close_with(close_code::POLICY, reason);
                }
                let context = Context {
                    user: identity.user.clone(),
                    connection: registered.connection,
                    client: registered.client,
                    session: registered.session,
                    role: identity.role,
                    budget: Arc::clone(&subscriber.budget),
                    presence: presence_budget(limits),
                };
                let hub = document.downgrade();
                subscriber
                    .subscriptions
                    .insert(doc, Subscription { hub, context });
            }
            Err((_, reason)) => subscriber.unsubscribed(&doc, &reason, limits),
        }
    }
}
