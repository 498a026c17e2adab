//! A listener that admits connections within limits: how many are open in all and from one
//! address, and how long one has to finish its first request.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio::time::Sleep;

use crate::hub::Limits;

/// Connections open through a [`Gate`], in all and by address.
#[derive(Debug, Default)]
pub(crate) struct Counts {
    open: Mutex<Open>,
}

#[derive(Debug, Default)]
struct Open {
    total: usize,
    by_address: HashMap<IpAddr, usize>,
}

impl Counts {
    /// Lets a connection from `address` in, or says why not (an HTTP status and a reason).
    fn admit(self: &Arc<Self>, address: IpAddr, limits: &Limits) -> Result<Ticket, (u16, String)> {
        let mut open = self.open.lock().unwrap_or_else(PoisonError::into_inner);
        if open.total >= limits.max_connections {
            let reason = format!(
                "the server holds its limit of {} connections: try again later",
                limits.max_connections
            );
            return Err((503, reason));
        }
        let from = open.by_address.entry(address).or_default();
        if *from >= limits.max_connections_per_address {
            let reason = format!(
                "{address} holds its limit of {} connections",
                limits.max_connections_per_address
            );
            return Err((429, reason));
        }
        *from += 1;
        open.total += 1;
        Ok(Ticket {
            counts: Arc::clone(self),
            address,
        })
    }

    /// How many connections are open.
    pub(crate) fn total(&self) -> usize {
        self.open
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .total
    }
}

/// One admitted connection: counted until it is dropped.
#[derive(Debug)]
struct Ticket {
    counts: Arc<Counts>,
    address: IpAddr,
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let mut open = self
            .counts
            .open
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        open.total = open.total.saturating_sub(1);
        if let Some(from) = open.by_address.get_mut(&self.address) {
            *from -= 1;
            if *from == 0 {
                open.by_address.remove(&self.address);
            }
        }
    }
}

/// A TCP listener for `axum::serve` that admits connections within [`Limits`]:
///
/// - at most [`max_connections`](Limits::max_connections) open at once, and
///   [`max_connections_per_address`](Limits::max_connections_per_address) from one IP
///   address: one more is answered `503` or `429` with the reason, and closed;
/// - a connection must send its first request (for a WebSocket, the upgrade) within
///   [`handshake_timeout`](Limits::handshake_timeout) of being accepted, and each further
///   request on a kept-alive connection within as long after the server last wrote to it
///   (a response being streamed keeps it open for as long as writing goes on); a silent or
///   trickling one is closed. A WebSocket, once upgraded, is the hub's (which gives it
///   [`auth_timeout`](Limits::auth_timeout) to authenticate).
///
/// A connection is given to the server only once its first byte has come: one that stays
/// silent never costs more than its socket.
///
/// Make one with [`Hub::listen`](crate::Hub::listen) (the hub's limits, its count in
/// [`Hub::open_connections`](crate::Hub::open_connections)) or [`Gate::new`].
///
/// # Examples
///
/// ```no_run
/// # async fn run(hub: immer_web::Hub<Vec<u32>, String>) -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(hub.listen(listener), hub.router()).await
/// # }
/// ```
#[derive(Debug)]
pub struct Gate {
    listener: TcpListener,
    counts: Arc<Counts>,
    limits: Limits,
    /// Connections let in and waiting for their first byte: only then is the server given
    /// them (a silent connection never costs it a request's buffers or tasks).
    waiting: JoinSet<Option<(Admitted, SocketAddr)>>,
}

impl Gate {
    /// A gate on `listener` with `limits` (only the connection limits are used).
    #[must_use]
    pub fn new(listener: TcpListener, limits: Limits) -> Self {
        Gate::with_counts(listener, limits, Arc::default())
    }

    pub(crate) fn with_counts(listener: TcpListener, limits: Limits, counts: Arc<Counts>) -> Self {
        Gate {
            listener,
            counts,
            limits,
            waiting: JoinSet::new(),
        }
    }

    /// How many connections are open through this gate.
    #[must_use]
    pub fn open_connections(&self) -> usize {
        self.counts.total()
    }
}

impl axum::serve::Listener for Gate {
    type Io = Admitted;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Admitted, SocketAddr) {
        loop {
            tokio::select! {
                accepted = self.listener.accept() => match accepted {
                    Ok((tcp, address)) => self.admit(tcp, address),
                    Err(error) => {
                        // Out of descriptors, or a connection reset before it was taken: wait
                        // a little (what axum's own listener does) and go on.
                        let pause = if is_connection_error(&error) { 0 } else { 50 };
                        tokio::time::sleep(Duration::from_millis(pause)).await;
                    }
                },
                Some(ready) = self.waiting.join_next(), if !self.waiting.is_empty() => {
                    if let Ok(Some(ready)) = ready {
                        return ready;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.listener.local_addr()
    }
}

impl Gate {
    /// Lets `tcp` wait for its first byte, within the deadline, or refuses it with the
    /// reason.
    fn admit(&mut self, tcp: TcpStream, address: SocketAddr) {
        // Small messages go out at once (no Nagle delay).
        let _ = tcp.set_nodelay(true);
        match self.counts.admit(address.ip(), &self.limits) {
            Ok(ticket) => {
                let patience = self.limits.handshake_timeout;
                let deadline = tokio::time::Instant::now() + patience;
                self.waiting.spawn(async move {
                    // Silent until the deadline: closed (the ticket goes with it).
                    tokio::time::timeout_at(deadline, tcp.readable())
                        .await
                        .ok()?
                        .ok()?;
                    let admitted = Admitted {
                        tcp,
                        _ticket: ticket,
                        deadline: Some(Box::pin(tokio::time::sleep_until(deadline))),
                        patience,
                    };
                    Some((admitted, address))
                });
            }
            Err((status, reason)) => {
                tokio::spawn(refuse(tcp, status, reason));
            }
        }
    }
}

fn is_connection_error(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::ConnectionRefused
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}

/// Answers a connection over a limit with the status and the reason, and closes it.
async fn refuse(mut tcp: TcpStream, status: u16, reason: String) {
    let phrase = if status == 429 {
        "Too Many Requests"
    } else {
        "Service Unavailable"
    };
    let response = format!(
        "HTTP/1.1 {status} {phrase}\r\ncontent-type: text/plain; charset=utf-8\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{reason}",
        reason.len()
    );
    let _ = tokio::time::timeout(Duration::from_secs(1), async {
        tcp.write_all(response.as_bytes()).await?;
        tcp.shutdown().await
    })
    .await;
}

/// A connection a [`Gate`] let in: counted until it closes, and closed when it does not send
/// its next request in time (see [`Gate`]).
#[derive(Debug)]
pub struct Admitted {
    tcp: TcpStream,
    _ticket: Ticket,
    /// When the connection must have sent its next request; `None` once it is a WebSocket.
    deadline: Option<Pin<Box<Sleep>>>,
    patience: Duration,
}

impl AsyncRead for Admitted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        if let Some(deadline) = self.deadline.as_mut() {
            if deadline.as_mut().poll(cx).is_ready() {
                return Poll::Ready(Err(io::Error::new(
                    io::ErrorKind::TimedOut,
                    "the request was not sent in time",
                )));
            }
        }
        Pin::new(&mut self.tcp).poll_read(cx, buf)
    }
}

impl AsyncWrite for Admitted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        // A WebSocket's upgrade ends the deadlines. Anything else written (a response, as it
        // is streamed) gives the connection as long again: to take what is written, and then
        // to send its next request.
        if self.deadline.is_some() && buf.starts_with(b"HTTP/1.") && buf.get(9..12) == Some(b"101")
        {
            self.deadline = None;
        }
        let written = Pin::new(&mut self.tcp).poll_write(cx, buf);
        let patience = self.patience;
        if let (Poll::Ready(Ok(1..)), Some(deadline)) = (&written, self.deadline.as_mut()) {
            deadline
                .as_mut()
                .reset(tokio::time::Instant::now() + patience);
        }
        written
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        if self.deadline.is_some() {
            // While the deadlines hold, one buffer at a time, under the rule of `poll_write`.
            if let Some(first) = bufs.iter().find(|b| !b.is_empty()) {
                let first: &[u8] = first;
                return self.poll_write(cx, first);
            }
        }
        Pin::new(&mut self.tcp).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.tcp).poll_shutdown(cx)
    }
}
