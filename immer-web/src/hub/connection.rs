//! One WebSocket connection's I/O: authentication, the reader (parse, rate, queue), the
//! writer (the outbound queue, bounded), and closing with a reason. What a message does to
//! the document is [`document`](super::document)'s.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use axum::http::StatusCode;
use axum::response::IntoResponse;
use futures_util::stream::{SplitSink, SplitStream};
use futures_util::{SinkExt, StreamExt};
use immer::Draftable;
use immer::sync::SessionId;
use serde::Serialize;
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, oneshot};

use super::limits::{Budget, Limits, close_code};
use super::presence::{Outbox, Outgoing};
use super::{Authenticate, Backend, Context, Hub, Identity, Link, lock};
use crate::protocol::{ClientMessage, Incoming};

impl Link {
    /// A socket's link, and what its writer reads: the queue and the close reason.
    pub(crate) fn new(limits: &Limits) -> (Link, mpsc::Receiver<Outgoing>, WriterClose) {
        let (outbound, queue) = mpsc::channel::<Outgoing>(limits.max_outbound);
        let (close, close_rx) = oneshot::channel::<(u16, String)>();
        let link = Link {
            outbound,
            queued: Arc::new(AtomicUsize::new(0)),
            close: Arc::new(Mutex::new(Some(close))),
            presence: Arc::default(),
        };
        (link, queue, close_rx)
    }

    /// Queues `message`; a full queue closes the socket (the client reads too slowly).
    pub(crate) fn push(&self, message: Message, limits: &Limits) -> bool {
        let bytes = message_bytes(&message);
        // Counted before it is queued: the writer takes it off when written, perhaps at once.
        let queued = self.queued.fetch_add(bytes, Ordering::Relaxed);
        let fits = queued == 0 || queued.saturating_add(bytes) <= limits.max_outbound_bytes;
        if fits && self.outbound.try_send(Outgoing::Message(message)).is_ok() {
            return true;
        }
        self.queued.fetch_sub(bytes, Ordering::Relaxed);
        self.close_too_slow(limits, fits);
        false
    }

    /// Closes the socket: its client reads too slowly (its queue is full of messages, or
    /// else of bytes).
    pub(crate) fn close_too_slow(&self, limits: &Limits, messages: bool) {
        let reason = if messages {
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
    }

    /// Tells the socket's writer to close with `code` and `reason` (once: the first reason
    /// stands).
    pub(crate) fn close_with(&self, code: u16, reason: String) {
        if let Some(close) = lock(&self.close).take() {
            // The connection may be closing already.
            let _ = close.send((code, reason));
        }
    }

    /// Whether the socket is still open for writing.
    pub(crate) fn is_open(&self) -> bool {
        !self.outbound.is_closed() && lock(&self.close).is_some()
    }
}

/// What a socket's writer waits on to close: a code and reason.
pub(crate) type WriterClose = oneshot::Receiver<(u16, String)>;

fn message_bytes(message: &Message) -> usize {
    match message {
        Message::Text(text) => text.len(),
        Message::Binary(bytes) | Message::Ping(bytes) | Message::Pong(bytes) => bytes.len(),
        Message::Close(_) => 0,
    }
}

pub(crate) fn closing(code: u16, reason: String) -> Message {
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
    mut queue: mpsc::Receiver<Outgoing>,
    queued: Arc<AtomicUsize>,
    presence: Arc<Mutex<Outbox>>,
    mut close: WriterClose,
    reader: oneshot::Sender<()>,
    patience: Duration,
) {
    // A presence marker is its document's updates waiting, written as one message.
    let open = |item: Outgoing| match item {
        Outgoing::Message(message) => Some((message_bytes(&message), message)),
        Outgoing::Presence { key, generation } => {
            Outbox::message(&presence, key.as_deref(), generation)
                .map(|text| (0, Message::Text(text)))
        }
    };
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
            item = queue.recv() => {
                let Some(item) = item else { break };
                // Counted bytes (a presence message was not counted: its updates are bounded
                // by the document's presences).
                let mut bytes = 0;
                let written = tokio::time::timeout(patience, async {
                    if let Some((counted, message)) = open(item) {
                        bytes += counted;
                        sink.feed(message).await?;
                    }
                    while let Ok(item) = queue.try_recv() {
                        if let Some((counted, message)) = open(item) {
                            bytes += counted;
                            sink.feed(message).await?;
                        }
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

/// Reads a connection's messages, each parsed by `parse`, into `inbound` until it closes,
/// the writer stops, or the client breaks a rule: then the close code and reason.
pub(crate) async fn read<M>(
    stream: &mut SplitStream<WebSocket>,
    inbound: &mpsc::Sender<M>,
    mut writer_stopped: oneshot::Receiver<()>,
    budget: &Mutex<Budget>,
    limits: &Limits,
    parse: impl Fn(&str) -> Result<M, (u16, String)>,
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
        let message = match parse(&text) {
            Ok(message) => message,
            Err(closed) => return Some(closed),
        };
        // When the handler stopped (the connection is closing), read on, ignoring what comes,
        // until the writer has said why, so that the close frame is not lost to a reset.
        if let Err(mpsc::error::TrySendError::Full(_)) = inbound.try_send(message) {
            let reason = format!("more than {} messages pending", limits.max_pending);
            return Some((close_code::POLICY, reason));
        }
    }
}

/// How long a closed socket is read on, at most, for its client to take the close frame.
const CLOSE_GRACE: Duration = Duration::from_secs(1);

/// A socket's writer, running: see [`Socket::start`].
pub(crate) struct Socket {
    pub(crate) link: Link,
    pub(crate) budget: Arc<Mutex<Budget>>,
    writer: tokio::task::JoinHandle<()>,
}

impl Socket {
    /// Starts the writer of `sink`: what the hub queues for this socket; a close reason ends
    /// it, and the reader with the receiver returned (said when the writer stops).
    pub(crate) fn start(
        sink: SplitSink<WebSocket, Message>,
        budget: Arc<Mutex<Budget>>,
        limits: &Limits,
    ) -> (Socket, oneshot::Receiver<()>) {
        let (link, queue, close) = Link::new(limits);
        let (reader_close, writer_stopped) = oneshot::channel::<()>();
        let writer = tokio::spawn(write(
            sink,
            queue,
            Arc::clone(&link.queued),
            Arc::clone(&link.presence),
            close,
            reader_close,
            limits.write_timeout,
        ));
        let socket = Socket {
            link,
            budget,
            writer,
        };
        (socket, writer_stopped)
    }

    /// Says why the socket closes (when the reader ended it), and waits while the writer
    /// sends what it holds and the close frame, reading on and discarding meanwhile: dropped
    /// with frames unread, the socket would be reset, and a client still sending would lose
    /// the close frame.
    pub(crate) async fn finish(
        self,
        ended: Option<(u16, String)>,
        stream: &mut SplitStream<WebSocket>,
        limits: &Limits,
    ) {
        match ended {
            Some((code, reason)) => self.link.close_with(code, reason),
            // Closed by the client: the writer stops with nothing to say.
            None => drop(lock(&self.link.close).take()),
        }
        let mut writer = self.writer;
        let drain = async { while let Some(Ok(_)) = stream.next().await {} };
        tokio::pin!(drain);
        let wrote = tokio::select! {
            _ = &mut writer => true,
            () = &mut drain => {
                // The client closed its side: what the writer holds goes out, in time.
                let _ = tokio::time::timeout(limits.write_timeout, &mut writer).await;
                false
            }
            () = tokio::time::sleep(limits.write_timeout) => false,
        };
        if wrote {
            // The close frame sent, the client has a moment to read it and close its side:
            // a socket dropped with the client's frames unread is reset, and a reset can
            // take the close frame with it (a client flooding as it is closed).
            let grace = limits.write_timeout.min(CLOSE_GRACE);
            let _ = tokio::time::timeout(grace, drain).await;
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

/// A request's token, as the hub's HTTP endpoints read it: its `Authorization: Bearer`
/// header, or its `token` query parameter (for a page opened by its address). For an app's
/// own extractors of who calls (see [`Hub::protect`] and [`Server::protect`](crate::Server::protect)
/// for whole routers).
///
/// # Examples
///
/// ```
/// let request = axum::http::Request::builder()
///     .uri("/api/boards?token=ann")
///     .body(())
///     .unwrap();
/// let (parts, ()) = request.into_parts();
/// assert_eq!(immer_web::request_token(&parts.headers, &parts.uri).as_deref(), Some("ann"));
/// ```
#[must_use]
pub fn request_token(headers: &axum::http::HeaderMap, uri: &axum::http::Uri) -> Option<String> {
    let header = headers
        .get(axum::http::header::AUTHORIZATION)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.strip_prefix("Bearer "));
    if let Some(token) = header {
        return Some(token.to_owned());
    }
    let axum::extract::Query(query) =
        axum::extract::Query::<HashMap<String, String>>::try_from_uri(uri).ok()?;
    query.get("token").cloned()
}

/// `router`, let through only for requests whose token `authenticate` accepts as an
/// identity `allowed` approves (see [`Hub::protect`]).
pub(crate) fn protect<R, A, Fut, F>(router: Router, authenticate: A, allowed: F) -> Router
where
    R: Send + 'static,
    A: Fn(String) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Result<Identity<R>, String>> + Send,
    F: Fn(&Identity<R>) -> bool + Clone + Send + Sync + 'static,
{
    router.layer(axum::middleware::from_fn(
        move |request: axum::extract::Request, next: axum::middleware::Next| {
            let (authenticate, allowed) = (authenticate.clone(), allowed.clone());
            async move {
                let Some(token) = request_token(request.headers(), request.uri()) else {
                    let reason = "unauthorized: send a token (Authorization: Bearer, or ?token=)";
                    return (StatusCode::UNAUTHORIZED, reason).into_response();
                };
                match authenticate(token).await {
                    Ok(identity) if allowed(&identity) => next.run(request).await,
                    Ok(identity) => (
                        StatusCode::FORBIDDEN,
                        format!("forbidden: {} may not use this", identity.user),
                    )
                        .into_response(),
                    Err(reason) => (StatusCode::UNAUTHORIZED, format!("unauthorized: {reason}"))
                        .into_response(),
                }
            }
        },
    ))
}

impl<T, R, B> Hub<T, R, B>
where
    T: Draftable + Serialize + DeserializeOwned + Send + Sync + 'static,
    R: Clone + PartialEq + Serialize + Send + Sync + 'static,
    B: Backend<T>,
{
    /// Serves one WebSocket connection until it closes.
    pub async fn serve(self, socket: WebSocket) {
        // 1. Authenticate: the first message, in time.
        let limits = &self.inner.limits;
        if let Some(authenticated) = authenticate(socket, &*self.inner.authenticate, limits).await {
            self.serve_as(authenticated).await;
        }
    }

    /// Serves an authenticated connection of one document until it closes.
    pub(crate) async fn serve_as(self, authenticated: Authenticated<R>) {
        let Authenticated {
            sink,
            mut stream,
            budget,
            identity,
            resume,
        } = authenticated;
        let limits = self.inner.limits.clone();

        // 2. Open or resume a session, and register the connection; the writer sends what
        // the hub queues for it.
        let (socket, stopped) = Socket::start(sink, budget, &limits);
        let (connection, client, session) =
            match self.register(&identity, resume, socket.link.clone(), false) {
                Ok(registered) => (registered.connection, registered.client, registered.session),
                Err(closed) => {
                    socket.finish(Some(closed), &mut stream, &limits).await;
                    return;
                }
            };

        // 3. The handler: this connection's messages, one at a time, in order, while the
        // connection is registered (a connection closed for breaking a rule has the rest of
        // what it sent ignored).
        let (inbound, mut inbound_rx) = mpsc::channel::<Incoming>(limits.max_pending);
        let hub = self.clone();
        let context = Context {
            user: identity.user.clone(),
            connection,
            client,
            session,
            role: identity.role.clone(),
            budget: Arc::clone(&socket.budget),
            presence: super::presence_budget(&limits),
        };
        let handler = tokio::spawn(async move {
            while let Some(message) = inbound_rx.recv().await {
                if !hub.handle(&context, message) {
                    break;
                }
            }
        });

        // 4. The reader: parse, check the rate, and queue for the handler. A change of a role
        // that writes nothing is refused whatever it holds: read no further than its number
        // and first path.
        let read_only = !self.inner.policy.writes_anything(&identity.role);
        let presence_max = limits.presence_max_bytes;
        let parse = |text: &str| match crate::protocol::read_incoming(text, read_only, presence_max)
        {
            Ok(Incoming::Message(ClientMessage::Auth { .. })) => Err(already_authenticated()),
            Ok(Incoming::Message(
                ClientMessage::Subscribe { .. } | ClientMessage::Unsubscribe { .. },
            )) => Err((
                close_code::INVALID,
                "this connection carries one document: subscribe on a server of many".to_owned(),
            )),
            Ok(message) => Ok(message),
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

        // 5. Close: unregister, keep the session for a while to resume, say why, stop the
        // tasks.
        self.detach(connection, session);
        drop(inbound);
        let _ = handler.await;
        socket.finish(ended, &mut stream, &limits).await;
    }
}

/// A connection whose first message was verified: its socket, its budget, who it is, and
/// the session it asks to resume.
pub(crate) struct Authenticated<R> {
    pub(crate) sink: SplitSink<WebSocket, Message>,
    pub(crate) stream: SplitStream<WebSocket>,
    pub(crate) budget: Arc<Mutex<Budget>>,
    pub(crate) identity: Identity<R>,
    pub(crate) resume: Option<SessionId>,
}

/// A socket authenticated by its first message; or, closed with the reason, `None`.
pub(crate) async fn authenticate<R>(
    socket: WebSocket,
    authenticate: &Authenticate<R>,
    limits: &Limits,
) -> Option<Authenticated<R>> {
    let (mut sink, mut stream) = socket.split();
    let budget = Arc::new(Mutex::new(Budget::new(limits)));
    match identify(&mut stream, &budget, authenticate, limits).await {
        Ok((identity, resume)) => Some(Authenticated {
            sink,
            stream,
            budget,
            identity,
            resume,
        }),
        Err((code, reason)) => {
            let _ = sink.send(closing(code, reason)).await;
            None
        }
    }
}

/// The close code and reason of a second `auth` on an authenticated connection.
pub(crate) fn already_authenticated() -> (u16, String) {
    (close_code::INVALID, "already authenticated".to_owned())
}

/// The connection's identity from its first message, or the close code and reason.
pub(crate) async fn identify<R>(
    stream: &mut SplitStream<WebSocket>,
    budget: &Mutex<Budget>,
    authenticate: &Authenticate<R>,
    limits: &Limits,
) -> Result<(Identity<R>, Option<SessionId>), (u16, String)> {
    let unauthorized = |reason: String| (close_code::UNAUTHORIZED, reason);
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
            let verified = authenticate(token);
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
