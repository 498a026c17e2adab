//! Abuse of the WebSocket server, measured from outside, against the targets of the abuse
//! issue: what refused changes on short connections leave in the server's memory, whether
//! connections that never finish the WebSocket upgrade are closed, and what a viewer's worst
//! single message costs the other clients once the document has 100,000 versions.
//!
//! `cargo run --release -p immer-web --example hub_abuse [-- --check]`
//!
//! The example starts itself again with `--serve`: that process serves the todo board of
//! `web_board` (the same tokens, policy and validator; the log kept long enough for the last
//! measure) on a free loopback port and prints its address. This process measures it as a
//! client would, and reads the server's memory as its resident set (`VmRSS` in
//! `/proc/<pid>/status`: Linux only). The measures run in order, on the same server:
//!
//! 1. 10,000 short connections, 16 at a time: connect, authenticate (the viewer `victor` or
//!    the checker `carol`), send one change the server refuses, wait for the answer, close.
//!    Target: the server's memory afterwards within 10 MiB of before.
//! 2. 1,000 TCP connections that send nothing, and 50 that send the upgrade request one byte
//!    a second, watched for 40 s. Target: the server closes them, and its memory at the end
//!    is within 10 MiB of the very first figure of measure 1. (Under a lower limit on open
//!    files than these need, fewer, with a message saying so and how to raise it.)
//! 3. The editor `ann` commits 100,000 small changes (over 32 connections, one change in
//!    flight on each, under the server's rate per connection); then the viewer `victor`
//!    sends its worst single message five times (1,000 `replace` patches at base 0, each with
//!    a path of the most segments allowed) while the editor `bob` keeps editing. Targets:
//!    each viewer message answered in under 10 ms (its round trip, an upper bound of the
//!    hub's time), and `bob`'s p99 round trip under 50 ms. After a viewer message slower
//!    than 10 s the rest are not sent (each would take as long again).
//!
//! Every figure is printed as a Markdown table row, for BENCHMARKS.md. With `--check` the
//! process exits with status 1 when a target is missed. It takes about a minute and a half
//! when the server holds up, a few minutes when it does not.

#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss)] // figures for printing

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitCode, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use immer_web::{Hub, Limits};
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::watch;
use tokio_tungstenite::tungstenite::{Message, Utf8Bytes};
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

mod common;

use common::{Board, Role};

// ---------------------------------------------------------------------------------------
// The server: the board of `web_board`, in a process of its own.

/// The changes measure 3 commits before the viewer's message.
const COMMITS: u64 = 100_000;

/// The hub of `web_board`, with the log kept long enough that a change at base 0 is still
/// moved through every change of measure 3 (and `bob`'s) rather than refused as too old.
fn hub() -> Hub<Board, Role> {
    let mut limits = Limits::default();
    limits.keep_log = COMMITS + 20_000;
    common::demo(limits)
}

/// Serves the board on a free loopback port, its address printed as the first line, until
/// the process ends.
async fn serve_board() -> std::io::Result<()> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    // Through the hub's gate, as the demo serves it: connection limits, and a deadline for
    // the upgrade.
    let hub = hub();
    // How long one message held the document since the last ask, in microseconds: the hub's
    // time, read by the measuring process (this example's own endpoint).
    let held = hub.clone();
    let app = hub.router().route(
        "/longest-hold",
        axum::routing::get(move || async move { held.take_longest_hold().as_micros().to_string() }),
    );
    axum::serve(hub.listen(listener), app).await
}

/// The `--serve` mode. The server also ends when its standard input closes: when the
/// measuring process is gone, however it ended.
fn serve() -> ExitCode {
    std::thread::spawn(|| {
        let _ = std::io::copy(&mut std::io::stdin(), &mut std::io::sink());
        std::process::exit(0);
    });
    let served = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .and_then(|runtime| runtime.block_on(serve_board()));
    match served {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("hub_abuse --serve: {error}");
            ExitCode::FAILURE
        }
    }
}

/// The server process, killed when dropped (at the end, or on any error).
struct Server {
    child: Child,
    address: SocketAddr,
}

impl Server {
    fn start() -> Result<Server, String> {
        let exe = std::env::current_exe().map_err(|e| format!("this program's path: {e}"))?;
        let mut command = Command::new(exe);
        command.arg("--serve");
        if !default_malloc() {
            // glibc raises its threshold for serving a request from mmap to the largest
            // block freed (up to 32 MiB), and keeps what it then serves from its heaps: a
            // fixed threshold returns the buffers of large messages when they are freed.
            command.env("MALLOC_MMAP_THRESHOLD_", "131072");
        }
        let child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start the server: {e}"))?;
        let mut server = Server {
            child,
            address: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let stdout = server.child.stdout.take().ok_or("no standard output")?;
        let (sender, receiver) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut stdout = BufReader::new(stdout);
            let mut line = String::new();
            let read = stdout.read_line(&mut line).map(|_| line);
            let _ = sender.send(read);
            // Whatever else it prints is read, never left to block it.
            let _ = std::io::copy(&mut stdout, &mut std::io::sink());
        });
        let line = receiver
            .recv_timeout(Duration::from_secs(30))
            .map_err(|_| "the server printed no address within 30 s")?
            .map_err(|e| format!("the server's output: {e}"))?;
        server.address = line
            .trim()
            .parse()
            .map_err(|e| format!("the server's first line {line:?}: {e}"))?;
        Ok(server)
    }

    /// The longest time one message held the document since the last ask.
    async fn longest_hold(&self) -> Result<Duration, String> {
        let mut tcp = tokio::time::timeout(WAIT, TcpStream::connect(self.address))
            .await
            .map_err(|_| "no connection for /longest-hold".to_owned())?
            .map_err(|e| format!("/longest-hold: {e}"))?;
        let request = "GET /longest-hold HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
        tcp.write_all(request.as_bytes())
            .await
            .map_err(|e| format!("/longest-hold: {e}"))?;
        let mut answer = String::new();
        tokio::time::timeout(WAIT, tcp.read_to_string(&mut answer))
            .await
            .map_err(|_| "/longest-hold: no answer in time".to_owned())?
            .map_err(|e| format!("/longest-hold: {e}"))?;
        let micros: u64 = answer
            .rsplit("\r\n\r\n")
            .next()
            .and_then(|body| body.trim().parse().ok())
            .ok_or_else(|| format!("/longest-hold: {answer:?}"))?;
        Ok(Duration::from_micros(micros))
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn url(&self) -> String {
        format!("ws://{}/ws", self.address)
    }

    /// The server's resident set, in KiB.
    fn rss(&self) -> Result<u64, String> {
        let path = format!("/proc/{}/status", self.pid());
        let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
        status
            .lines()
            .find_map(|line| line.strip_prefix("VmRSS:"))
            .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
            .ok_or_else(|| format!("no VmRSS in {path}"))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

// ---------------------------------------------------------------------------------------
// Clients.

type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// How long any one step of a client may take (a connection, an answer), unless said.
const WAIT: Duration = Duration::from_secs(10);
/// How long the many cycles of measure 1, or the many commits of measure 3, may take.
const PHASE: Duration = Duration::from_secs(600);

/// What the clients read of the server's messages.
#[derive(Deserialize)]
struct Reply {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    session: Option<u64>,
    #[serde(default)]
    id: Option<u64>,
    #[serde(default)]
    version: Option<u64>,
    #[serde(default)]
    reason: Option<serde_json::Value>,
}

/// How a change ended.
#[derive(Debug)]
enum Answer {
    Committed,
    /// The reason's name (`Forbidden`, `Limit`, ...).
    Rejected(String),
    /// The connection closed instead: the close code, if any.
    Closed(Option<u16>),
}

fn reason_name(reason: Option<&serde_json::Value>) -> String {
    match reason {
        Some(serde_json::Value::Object(object)) => object.keys().next().cloned(),
        Some(serde_json::Value::String(name)) => Some(name.clone()),
        _ => None,
    }
    .unwrap_or_else(|| "unknown".to_owned())
}

/// An authenticated WebSocket client.
struct Client {
    socket: Socket,
    session: u64,
    /// The newest version it has seen.
    version: u64,
}

impl Client {
    async fn join(url: &str, token: &str) -> Result<Client, String> {
        let connected = tokio_tungstenite::connect_async_with_config(url, None, true);
        let (mut socket, _) = tokio::time::timeout(WAIT, connected)
            .await
            .map_err(|_| "no WebSocket connection within 10 s".to_owned())?
            .map_err(|e| format!("connection: {e}"))?;
        let auth = serde_json::json!({ "type": "auth", "token": token }).to_string();
        socket
            .send(Message::text(auth))
            .await
            .map_err(|e| format!("auth: {e}"))?;
        let first = tokio::time::timeout(WAIT, socket.next())
            .await
            .map_err(|_| format!("{token}: no welcome within 10 s"))?;
        let Some(Ok(Message::Text(text))) = first else {
            return Err(format!("{token}: no welcome but {first:?}"));
        };
        let welcome: Reply =
            serde_json::from_str(&text).map_err(|e| format!("{token}: the welcome: {e}"))?;
        match (welcome.kind.as_str(), welcome.session, welcome.version) {
            ("welcome", Some(session), Some(version)) => Ok(Client {
                socket,
                session,
                version,
            }),
            _ => Err(format!("{token}: not a welcome: {text}")),
        }
    }

    async fn send(&mut self, text: Utf8Bytes) -> Result<(), String> {
        tokio::time::timeout(WAIT, self.socket.send(Message::Text(text)))
            .await
            .map_err(|_| "a send took more than 10 s".to_owned())?
            .map_err(|e| format!("send: {e}"))
    }

    /// Reads until change `id` is answered (every committed change read on the way moves
    /// [`version`](Client::version)), for at most `patience`.
    async fn answer(&mut self, id: u64, patience: Duration) -> Result<Answer, String> {
        let deadline = tokio::time::Instant::now() + patience;
        loop {
            let next = tokio::time::timeout_at(deadline, self.socket.next())
                .await
                .map_err(|_| format!("change {id}: no answer within {patience:?}"))?;
            let text = match next {
                Some(Ok(Message::Text(text))) => text,
                Some(Ok(Message::Close(frame))) => {
                    return Ok(Answer::Closed(frame.map(|f| u16::from(f.code))));
                }
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return Ok(Answer::Closed(None)),
            };
            let reply: Reply =
                serde_json::from_str(&text).map_err(|e| format!("a server message: {e}"))?;
            match reply.kind.as_str() {
                "committed" | "snapshot" => {
                    self.version = self.version.max(reply.version.unwrap_or(0));
                    if reply.kind == "committed"
                        && reply.session == Some(self.session)
                        && reply.id == Some(id)
                    {
                        return Ok(Answer::Committed);
                    }
                }
                "rejected" if reply.id == Some(id) => {
                    return Ok(Answer::Rejected(reason_name(reply.reason.as_ref())));
                }
                _ => {}
            }
        }
    }

    /// Closes the connection, waiting a little for the server's side.
    async fn close(mut self) {
        let _ = tokio::time::timeout(Duration::from_secs(2), async {
            let _ = self.socket.close(None).await;
            while let Some(Ok(_)) = self.socket.next().await {}
        })
        .await;
    }
}

/// A change of one `replace` patch at `path` (JSON), at version `base`.
fn change(id: u64, base: u64, path: &str, value: &str) -> Utf8Bytes {
    format!(
        r#"{{"type":"change","id":{id},"base":{base},"patches":[{{"op":"replace","path":{path},"value":{value}}}]}}"#
    )
    .into()
}

// ---------------------------------------------------------------------------------------
// Figures.

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn signed_mib(after: u64, before: u64) -> f64 {
    (after as f64 - before as f64) / 1024.0
}

/// A duration as it reads best: milliseconds under a second, seconds above.
fn human(duration: Duration) -> String {
    if duration < Duration::from_secs(1) {
        format!("{:.2} ms", ms(duration))
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}

fn ms(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1e3
}

/// `n` with thousands separated by commas.
fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(digit);
    }
    out
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[at.min(sorted.len() - 1)]
}

/// One target: what it asks, the figure, and whether it was met.
struct Target {
    name: &'static str,
    figure: String,
    met: bool,
}

impl Target {
    fn print(&self) {
        let verdict = if self.met { "PASS" } else { "FAIL" };
        println!("{verdict}: {}: {}", self.name, self.figure);
    }
}

// ---------------------------------------------------------------------------------------
// Measure 1: refused changes on short connections.

const CYCLES: usize = 10_000;
const AT_ONCE: usize = 16;
/// The server's message limit ([`Limits::max_message_bytes`]'s default).
const MESSAGE_LIMIT: usize = 256 * 1024;

/// The four refused changes, in turn.
const KINDS: [&str; 4] = [
    "a viewer's write",
    "a checker's write of the title",
    "a 30-segment path",
    "the longest path in one message",
];

/// The token and the message of cycle `n`.
fn refused(n: usize, huge: &Utf8Bytes) -> (&'static str, Utf8Bytes) {
    let either = if (n / KINDS.len()) % 2 == 0 {
        "victor"
    } else {
        "carol"
    };
    match n % KINDS.len() {
        0 => ("victor", change(1, 0, r#"["todos",0,"done"]"#, "true")),
        1 => ("carol", change(1, 0, r#"["title"]"#, r#""taken""#)),
        2 => {
            let mut path = r#"["todos",0,"text""#.to_owned();
            path.push_str(&r#","k""#.repeat(27));
            path.push(']');
            (either, change(1, 0, &path, r#""x""#))
        }
        _ => (either, huge.clone()),
    }
}

/// A change whose path has as many segments as fit in one message under the limit (each
/// segment takes at least two bytes, `0,`, so 256,000 do not fit in 256 KiB), and the count.
fn huge_change() -> (Utf8Bytes, usize) {
    let empty = change(1, 0, "[]", "true");
    let segments = (MESSAGE_LIMIT - empty.len() - 16) / 2 + 1;
    let mut path = String::with_capacity(segments * 2 + 1);
    path.push('[');
    for n in 0..segments {
        path.push_str(if n == 0 { "0" } else { ",0" });
    }
    path.push(']');
    let text = change(1, 0, &path, "true");
    assert!(text.len() <= MESSAGE_LIMIT, "the message fits the limit");
    (text, segments)
}

/// One cycle: connect, authenticate, one refused change, its answer, close.
async fn cycle(url: &str, token: &str, message: Utf8Bytes) -> Result<Answer, String> {
    let mut client = Client::join(url, token).await?;
    client.send(message).await?;
    let answer = client.answer(1, WAIT).await?;
    client.close().await;
    Ok(answer)
}

/// [`CYCLES`] refused changes on short connections, [`AT_ONCE`] at a time: how each kind
/// was answered.
async fn run_cycles(
    server: &Server,
    huge: &Utf8Bytes,
) -> Result<BTreeMap<(usize, String), u64>, String> {
    let next = Arc::new(AtomicUsize::new(0));
    let mut workers = Vec::new();
    for _ in 0..AT_ONCE {
        let (next, url, huge) = (Arc::clone(&next), server.url(), huge.clone());
        workers.push(tokio::spawn(async move {
            let mut seen = BTreeMap::<(usize, String), u64>::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= CYCLES {
                    return seen;
                }
                let (token, message) = refused(n, &huge);
                let outcome = match cycle(&url, token, message).await {
                    Ok(Answer::Rejected(reason)) => format!("rejected ({reason})"),
                    Ok(Answer::Committed) => "COMMITTED".to_owned(),
                    Ok(Answer::Closed(Some(code))) => format!("closed ({code})"),
                    Ok(Answer::Closed(None)) => "closed (no close frame)".to_owned(),
                    Err(error) => format!("failed: {error}"),
                };
                *seen.entry((n % KINDS.len(), outcome)).or_default() += 1;
            }
        }));
    }
    let mut seen = BTreeMap::<(usize, String), u64>::new();
    let deadline = tokio::time::Instant::now() + PHASE;
    for worker in workers {
        let worker = tokio::time::timeout_at(deadline, worker)
            .await
            .map_err(|_| format!("the cycles did not end within {} s", PHASE.as_secs()))?;
        for (key, count) in worker.map_err(|e| format!("a client task: {e}"))? {
            *seen.entry(key).or_default() += count;
        }
    }
    Ok(seen)
}

async fn refused_changes(server: &Server) -> Result<(Target, u64), String> {
    println!("## 1. Refused changes on short connections\n");
    let (huge, segments) = huge_change();
    println!(
        "{} cycles, {AT_ONCE} at a time: connect, authenticate (victor or carol), one refused \
         change, its answer (or the close), close. The changes in turn: {}, {}, {}, a path of \
         {} segments ({} bytes; 256,000 segments take at least 512,000 bytes, over the \
         {}-byte limit).\n",
        thousands(CYCLES as u64),
        KINDS[0],
        KINDS[1],
        KINDS[2],
        thousands(segments as u64),
        thousands(huge.len() as u64),
        thousands(MESSAGE_LIMIT as u64),
    );
    let before = server.rss()?;
    let started = Instant::now();
    let seen = run_cycles(server, &huge).await?;
    let took = started.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let after = server.rss()?;
    println!(
        "{} cycles in {:.1} s ({} per second). Answers:\n",
        thousands(CYCLES as u64),
        took.as_secs_f64(),
        thousands((CYCLES as f64 / took.as_secs_f64()).round() as u64)
    );
    println!("| change | answer | cycles |\n|---|---|---:|");
    for ((kind, outcome), count) in &seen {
        println!("| {} | {outcome} | {} |", KINDS[*kind], thousands(*count));
    }
    println!();
    println!(
        "| server RSS | before | after (2 s later) | difference | per cycle |\n\
         |---|---:|---:|---:|---:|"
    );
    println!(
        "| {} refused changes | {:.1} MiB | {:.1} MiB | {:+.1} MiB | {:+.0} bytes |\n",
        thousands(CYCLES as u64),
        mib(before),
        mib(after),
        signed_mib(after, before),
        (after as f64 - before as f64) * 1024.0 / CYCLES as f64
    );
    // Again: what grows with the cycles, rather than what the allocator keeps once.
    run_cycles(server, &huge).await?;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let again = server.rss()?;
    println!(
        "After {} more cycles: {:.1} MiB ({:+.1} MiB over the first after).\n",
        thousands(CYCLES as u64),
        mib(again),
        signed_mib(again, after)
    );
    let target = Target {
        name: "refused changes: RSS after within 10 MiB of before",
        figure: format!("{:+.1} MiB", signed_mib(after, before)),
        met: after <= before + 10 * 1024,
    };
    target.print();
    println!();
    Ok((target, before))
}

// ---------------------------------------------------------------------------------------
// Measure 2: connections that never finish the upgrade.

const SILENT: usize = 1_000;
const TRICKLING: usize = 50;
const WATCH: Duration = Duration::from_secs(40);
/// Descriptors this process needs besides measure 2's connections.
const SPARE_FDS: u64 = 64;

/// The soft limit on open files of this process (the server's is the same: inherited).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let soft = line
        .trim_start_matches("Max open files")
        .split_whitespace()
        .next()?;
    if soft == "unlimited" {
        Some(u64::MAX)
    } else {
        soft.parse().ok()
    }
}

/// The connections measure 2 can open under this process's limit on open files: silent,
/// trickling.
fn connection_counts() -> (usize, usize) {
    let wanted = (SILENT + TRICKLING) as u64 + SPARE_FDS;
    let Some(limit) = open_files_limit() else {
        return (SILENT, TRICKLING);
    };
    if limit >= wanted {
        return (SILENT, TRICKLING);
    }
    let room = usize::try_from(limit.saturating_sub(SPARE_FDS)).unwrap_or(0);
    let trickling = TRICKLING.min(room / 20);
    let silent = room - trickling;
    println!(
        "The limit on open files is {limit}: {silent} silent and {trickling} trickling \
         connections instead of {} and {TRICKLING}. For the full measure, raise it first: \
         `ulimit -n {}` in the shell that runs this.\n",
        thousands(SILENT as u64),
        wanted.next_power_of_two()
    );
    (silent, trickling)
}

/// A connection the measure holds open: when the server closed it (ms since the start of
/// the watch, plus one; 0 while open).
type Closed = Arc<AtomicU64>;

fn mark_closed(closed: &Closed, start: Instant) {
    let at = u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX - 1);
    closed.store(at + 1, Ordering::Relaxed);
}

/// Reads a connection that sends nothing until the server closes it or `release`.
async fn silent(
    mut stream: TcpStream,
    closed: Closed,
    start: Instant,
    mut release: watch::Receiver<bool>,
) {
    let mut buffer = [0_u8; 1024];
    loop {
        tokio::select! {
            read = stream.read(&mut buffer) => {
                if matches!(read, Ok(0) | Err(_)) {
                    mark_closed(&closed, start);
                    // Held until the release, as the server left it.
                    let _ = release.changed().await;
                    return;
                }
            }
            _ = release.changed() => return,
        }
    }
}

/// Sends `request` one byte a second until the server closes the connection or `release`.
async fn trickle(
    stream: TcpStream,
    request: Arc<[u8]>,
    closed: Closed,
    start: Instant,
    mut release: watch::Receiver<bool>,
) {
    let (mut reader, mut writer) = stream.into_split();
    let mut buffer = [0_u8; 1024];
    let mut sent = 0;
    let mut ticks = tokio::time::interval(Duration::from_secs(1));
    loop {
        let ended = tokio::select! {
            _ = ticks.tick() => {
                if sent < request.len() {
                    sent += 1;
                    writer.write_all(&request[sent - 1..sent]).await.is_err()
                } else {
                    false
                }
            }
            read = reader.read(&mut buffer) => matches!(read, Ok(0) | Err(_)),
            _ = release.changed() => return,
        };
        if ended {
            mark_closed(&closed, start);
            let _ = release.changed().await;
            return;
        }
    }
}

/// When the server closed connections: how many, the first, the median and the last.
fn closed_summary(closed: &[Closed]) -> String {
    let mut at: Vec<u64> = closed
        .iter()
        .map(|c| c.load(Ordering::Relaxed))
        .filter(|&t| t > 0)
        .map(|t| t - 1)
        .collect();
    at.sort_unstable();
    let total = thousands(closed.len() as u64);
    match (at.first(), at.last()) {
        (Some(first), Some(last)) => format!(
            "{} of {total}, the first after {:.1} s, the median after {:.1} s, the last after {:.1} s",
            thousands(at.len() as u64),
            *first as f64 / 1e3,
            at[at.len() / 2] as f64 / 1e3,
            *last as f64 / 1e3
        ),
        _ => format!("0 of {total}"),
    }
}

/// Connection `n`, from one of 50 loopback addresses (127.0.0.2, 127.0.0.3, ...), so that the
/// server's limit per address is not what closes them.
async fn connect_from(n: usize, to: SocketAddr) -> Result<TcpStream, String> {
    let from = SocketAddr::from(([127, 0, 0, 2 + (n / 21) as u8], 0));
    let socket = tokio::net::TcpSocket::new_v4().map_err(|e| format!("a socket: {e}"))?;
    socket
        .bind(from)
        .map_err(|e| format!("connection {n} from {from}: {e}"))?;
    tokio::time::timeout(WAIT, socket.connect(to))
        .await
        .map_err(|_| format!("connection {n}: not accepted within 10 s"))?
        .map_err(|e| format!("connection {n}: {e}"))
}

async fn unfinished_upgrades(server: &Server, first_before: u64) -> Result<Target, String> {
    println!("## 2. Connections that never finish the WebSocket upgrade\n");
    let (silent_count, trickling_count) = connection_counts();
    println!(
        "{} TCP connections that send nothing, and {trickling_count} that send the upgrade \
         request one byte a second, watched for up to {} s.\n",
        thousands(silent_count as u64),
        WATCH.as_secs()
    );
    let before = server.rss()?;
    let request: Arc<[u8]> = format!(
        "GET /ws HTTP/1.1\r\nHost: {}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
        server.address
    )
    .into_bytes()
    .into();
    let (release, released) = watch::channel(false);
    let start = Instant::now();
    let mut silent_closed = Vec::new();
    let mut trickling_closed = Vec::new();
    let mut tasks = Vec::new();
    for n in 0..silent_count + trickling_count {
        let stream = connect_from(n, server.address).await?;
        let closed = Closed::default();
        let released = released.clone();
        if n < silent_count {
            silent_closed.push(Arc::clone(&closed));
            tasks.push(tokio::spawn(silent(stream, closed, start, released)));
        } else {
            trickling_closed.push(Arc::clone(&closed));
            let request = Arc::clone(&request);
            tasks.push(tokio::spawn(trickle(
                stream, request, closed, start, released,
            )));
        }
    }
    let opened = start.elapsed();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let open = server.rss()?;
    let all = || silent_closed.iter().chain(&trickling_closed);
    let deadline = start + WATCH;
    while Instant::now() < deadline && !all().all(|c| c.load(Ordering::Relaxed) > 0) {
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let watched = start.elapsed();
    let after = server.rss()?;
    let closed_count = all().filter(|c| c.load(Ordering::Relaxed) > 0).count();
    // Then this side closes what is left.
    let _ = release.send(true);
    for task in tasks {
        let _ = tokio::time::timeout(WAIT, task).await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let released_rss = server.rss()?;

    println!(
        "Opened in {:.1} s; watched for {:.1} s. Closed by the server: silent {}; trickling \
         {}.\n",
        opened.as_secs_f64(),
        watched.as_secs_f64(),
        closed_summary(&silent_closed),
        closed_summary(&trickling_closed)
    );
    println!(
        "| server RSS | first before (measure 1) | before | open (2 s) | after the watch | \
         after this side closed them too (2 s) |\n|---|---:|---:|---:|---:|---:|"
    );
    println!(
        "| {} silent + {trickling_count} trickling | {:.1} MiB | {:.1} MiB | {:.1} MiB | \
         {:.1} MiB | {:.1} MiB |\n",
        thousands(silent_count as u64),
        mib(first_before),
        mib(before),
        mib(open),
        mib(after),
        mib(released_rss)
    );
    let total = silent_count + trickling_count;
    let target = Target {
        name: "unfinished upgrades: RSS after the watch within 10 MiB of the first before",
        figure: format!(
            "{:+.1} MiB ({:+.1} MiB over its own before), {} of {} connections closed by the \
             server within {} s",
            signed_mib(after, first_before),
            signed_mib(after, before),
            thousands(closed_count as u64),
            thousands(total as u64),
            WATCH.as_secs()
        ),
        met: after <= first_before + 10 * 1024,
    };
    target.print();
    println!();
    Ok(target)
}

// ---------------------------------------------------------------------------------------
// Measure 3: a viewer's worst message at 100,000 versions, beside an honest editor.

/// The connections `ann` commits over, one change in flight on each.
const EDITORS: usize = 32;
/// Each connection's pace: under the server's 200 messages per second per connection.
const EDITOR_PERIOD: Duration = Duration::from_micros(5_500);
/// `bob`'s pace: one edit every 10 ms at most.
const HONEST_PERIOD: Duration = Duration::from_millis(10);
const BASELINE: Duration = Duration::from_secs(3);
const VIEWER_MESSAGES: u64 = 5;
const VIEWER_PATCHES: usize = 1_000;
/// How long a viewer message may take before the measure gives up on it.
const VIEWER_PATIENCE: Duration = Duration::from_secs(300);
/// After a viewer message slower than this the rest are not sent: each would hold the hub
/// as long again (minutes each on a hub that moves the change through every version).
const VIEWER_ENOUGH: Duration = Duration::from_secs(10);
/// The pause after each viewer message.
const VIEWER_SPACING: Duration = Duration::from_millis(25);

fn tick(id: u64, base: u64, todo: usize) -> Utf8Bytes {
    let path = format!(r#"["todos",{todo},"done"]"#);
    change(id, base, &path, if id % 2 == 0 { "true" } else { "false" })
}

/// The viewer's worst message: 1,000 `replace` patches at base 0, each with a path of the
/// most segments the server takes (32), through a todo the editors write.
fn worst(id: u64) -> Utf8Bytes {
    let mut path = r#"["todos",0,"text""#.to_owned();
    path.push_str(&r#","k""#.repeat(Limits::default().max_path_depth - 3));
    path.push(']');
    let one = format!(r#"{{"op":"replace","path":{path},"value":"x"}}"#);
    let patches = vec![one; VIEWER_PATCHES].join(",");
    format!(r#"{{"type":"change","id":{id},"base":0,"patches":[{patches}]}}"#).into()
}

/// The costliest changes an editor may send: 1,000 patches, and one, each at a base as far
/// behind as the move limit allows (380 single-patch commits × (1,000 + 50) = 399,000 of
/// 400,000; 7,843 × 51), and the same a version further behind, refused by the limit before
/// it is moved. Target: none holds the document more than 10 ms (the viewer's bound).
async fn editor_worst(server: &Server) -> Result<Target, String> {
    println!("## 4. An editor's costliest change within the move limit\n");
    let mut ann = Client::join(&server.url(), "ann").await?;
    let patches = |count: usize| {
        (0..count)
            .map(|n| {
                format!(
                    r#"{{"op":"replace","path":["todos",{},"done"],"value":true}}"#,
                    n % 3
                )
            })
            .collect::<Vec<_>>()
            .join(",")
    };
    println!(
        "`replace` patches of the three todos' `done`, against the last commits (ticks of the \
         same todos, one patch each).\n"
    );
    println!(
        "| patches | base | work (commits × (patches + 50)) | time to its answer (round trip) \
         | hub time (longest hold meanwhile) | answer |\n|---:|---|---:|---:|---:|---|"
    );
    let mut longest = Duration::ZERO;
    // The work counted: the patches committed since its base, times its patches + 50.
    let limit = Limits::default().max_move_work as u64;
    let most = |count: u64| limit / (count + 50);
    // The small ones first: a change of 1,000 patches committed would count 1,000 patches
    // in the log behind the next.
    let rows = [
        (1, most(1)),
        (1, most(1) + 1),
        (1000, most(1000)),
        (1000, most(1000) + 1),
    ];
    for (id, (count, behind)) in (1_u64..).zip(rows) {
        let base = ann.version.saturating_sub(behind);
        let text = format!(
            r#"{{"type":"change","id":{id},"base":{base},"patches":[{}]}}"#,
            patches(count as usize)
        );
        server.longest_hold().await?;
        let sent = Instant::now();
        ann.send(text.into()).await?;
        let answer = ann.answer(id, Duration::from_secs(30)).await?;
        let took = sent.elapsed();
        let held = server.longest_hold().await?;
        longest = longest.max(held);
        let answer = match answer {
            Answer::Committed => "committed".to_owned(),
            Answer::Rejected(reason) => format!("rejected ({reason})"),
            Answer::Closed(code) => format!("closed ({code:?})"),
        };
        println!(
            "| {} | version − {} | {} | {} | {} | {answer} |",
            thousands(count),
            thousands(behind),
            thousands((count + 50) * behind),
            human(took),
            human(held)
        );
    }
    println!();
    ann.close().await;
    let target = Target {
        name: "an editor's costliest change: under 10 ms of hub time",
        figure: format!("longest hold {}", human(longest)),
        met: longest < Duration::from_millis(10),
    };
    target.print();
    println!();
    Ok(target)
}

/// `ann`'s editing over one connection, until `committed` reaches [`COMMITS`]. Returns how
/// many were rejected.
async fn editor(url: String, index: usize, committed: Arc<AtomicU64>) -> Result<u64, String> {
    let mut client = Client::join(&url, "ann").await?;
    let mut rejected = 0;
    let mut id = 0;
    let mut next_send = tokio::time::Instant::now();
    while committed.load(Ordering::Relaxed) < COMMITS {
        tokio::time::sleep_until(next_send).await;
        next_send += EDITOR_PERIOD;
        id += 1;
        client.send(tick(id, client.version, index % 3)).await?;
        match client.answer(id, Duration::from_secs(30)).await? {
            Answer::Committed => {
                committed.fetch_add(1, Ordering::Relaxed);
            }
            Answer::Rejected(_) => rejected += 1,
            Answer::Closed(code) => {
                return Err(format!("editor {index}: closed by the server ({code:?})"));
            }
        }
    }
    client.close().await;
    Ok(rejected)
}

/// `bob`'s editing until `stop`: when each edit was sent, and its round trip.
async fn honest(
    url: String,
    mut stop: watch::Receiver<bool>,
) -> Result<Vec<(Instant, Duration)>, String> {
    let mut client = Client::join(&url, "bob").await?;
    let mut edits = Vec::new();
    let mut id = 0;
    while !*stop.borrow_and_update() {
        id += 1;
        let sent = Instant::now();
        client.send(tick(id, client.version, 1)).await?;
        let answer = client.answer(id, VIEWER_PATIENCE * 2).await?;
        let took = sent.elapsed();
        if !matches!(answer, Answer::Committed) {
            return Err(format!("bob's edit {id}: {answer:?}"));
        }
        edits.push((sent, took));
        tokio::time::sleep(HONEST_PERIOD.saturating_sub(took)).await;
    }
    client.close().await;
    Ok(edits)
}

/// Commits [`COMMITS`] changes as `ann`; prints how long it took.
async fn commit_many(server: &Server) -> Result<(), String> {
    let started = Instant::now();
    let committed = Arc::new(AtomicU64::new(0));
    let mut editors = Vec::new();
    for index in 0..EDITORS {
        editors.push(tokio::spawn(editor(
            server.url(),
            index,
            Arc::clone(&committed),
        )));
    }
    let mut rejected = 0;
    let deadline = tokio::time::Instant::now() + PHASE;
    for task in editors {
        let task = tokio::time::timeout_at(deadline, task)
            .await
            .map_err(|_| format!("the commits did not end within {} s", PHASE.as_secs()))?;
        rejected += task.map_err(|e| format!("an editor task: {e}"))??;
    }
    let took = started.elapsed();
    let count = committed.load(Ordering::Relaxed);
    println!(
        "`ann` committed {} changes (ticks of the three todos) over {EDITORS} connections in \
         {:.1} s ({} per second; {rejected} rejected). Server RSS then: {:.1} MiB.\n",
        thousands(count),
        took.as_secs_f64(),
        thousands((count as f64 / took.as_secs_f64()).round() as u64),
        mib(server.rss()?)
    );
    Ok(())
}

/// The viewer's messages, one after the other: each one's time to its answer (`None`: not
/// answered in time). A connection the server closes is opened again for the next one.
/// After one slower than [`VIEWER_ENOUGH`] the rest are not sent.
async fn attack(
    server: &Server,
    mut viewer: Client,
) -> Result<Vec<(Duration, Duration, Option<Answer>)>, String> {
    let url = server.url();
    let mut times = Vec::new();
    for id in 1..=VIEWER_MESSAGES {
        let message = worst(id);
        server.longest_hold().await?;
        let sent = Instant::now();
        let answer = match viewer.send(message).await {
            Ok(()) => viewer.answer(id, VIEWER_PATIENCE).await.ok(),
            Err(_) => Some(Answer::Closed(None)),
        };
        let took = sent.elapsed();
        // The longest the document was held meanwhile: by this message, or by one of bob's.
        let held = server.longest_hold().await?;
        let closed = matches!(answer, Some(Answer::Closed(_)));
        let unanswered = answer.is_none();
        times.push((took, held, answer));
        if took > VIEWER_ENOUGH || unanswered {
            break;
        }
        // Spaced out, so that the honest editor's edits fall among them.
        tokio::time::sleep(VIEWER_SPACING).await;
        if closed {
            viewer = Client::join(&url, "victor").await?;
        }
    }
    viewer.close().await;
    Ok(times)
}

async fn viewer_worst(server: &Server) -> Result<Vec<Target>, String> {
    println!("## 3. A viewer's worst message at 100,000 versions\n");
    commit_many(server).await?;
    let viewer = Client::join(&server.url(), "victor").await?;
    let (stop, stopped) = watch::channel(false);
    let bob = tokio::spawn(honest(server.url(), stopped));
    tokio::time::sleep(BASELINE).await;
    let attack_start = Instant::now();
    let attacked = attack(server, viewer).await;
    let attack_end = Instant::now();
    tokio::time::sleep(Duration::from_secs(1)).await;
    let _ = stop.send(true);
    let edits = tokio::time::timeout(VIEWER_PATIENCE * 3, bob)
        .await
        .map_err(|_| "bob's editing did not end in time".to_owned())?
        .map_err(|e| format!("bob's task: {e}"))??;
    let times = attacked?;

    let message_bytes = worst(1).len();
    println!(
        "The viewer `victor` sends {VIEWER_MESSAGES} changes one after the other, each of \
         {} `replace` patches at base 0 with paths of {} segments ({} bytes), \
         while `bob` edits (one edit in flight, at most one every {} ms).\n",
        thousands(VIEWER_PATCHES as u64),
        Limits::default().max_path_depth,
        thousands(message_bytes as u64),
        HONEST_PERIOD.as_millis()
    );
    println!(
        "| viewer message | time to its answer (round trip) | hub time (longest hold of the \
         document meanwhile) | answer |\n|---:|---:|---:|---|"
    );
    for (n, (took, held, answer)) in times.iter().enumerate() {
        let answer = match answer {
            Some(Answer::Rejected(reason)) => format!("rejected ({reason})"),
            Some(Answer::Committed) => "COMMITTED".to_owned(),
            Some(Answer::Closed(code)) => format!("closed ({code:?})"),
            None => format!("none within {} s", VIEWER_PATIENCE.as_secs()),
        };
        println!(
            "| {} | {} | {} | {answer} |",
            n + 1,
            human(*took),
            human(*held)
        );
    }
    println!();
    if times.len() < VIEWER_MESSAGES as usize {
        println!(
            "Messages {} to {VIEWER_MESSAGES} not sent: message {} took over {} s, and each \
             would hold the hub as long again.\n",
            times.len() + 1,
            times.len(),
            VIEWER_ENOUGH.as_secs()
        );
    }
    Ok(honest_figures(&edits, &times, (attack_start, attack_end)))
}

/// `bob`'s round trips before and during the viewer's messages, and the targets.
fn honest_figures(
    edits: &[(Instant, Duration)],
    times: &[(Duration, Duration, Option<Answer>)],
    (attack_start, attack_end): (Instant, Instant),
) -> Vec<Target> {
    let mut before: Vec<Duration> = edits
        .iter()
        .filter(|(sent, took)| *sent + *took < attack_start)
        .map(|(_, took)| *took)
        .collect();
    let mut during: Vec<Duration> = edits
        .iter()
        .filter(|(sent, took)| *sent < attack_end && *sent + *took >= attack_start)
        .map(|(_, took)| *took)
        .collect();
    before.sort();
    during.sort();
    let base = percentile(&before, 0.5).as_secs_f64().max(1e-9);
    println!(
        "| `bob`'s edits | edits | p50 | p99 | max | p50 / p50 before | p99 / p50 before | \
         max / p50 before |\n|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for (name, figures) in [("before (3 s)", &before), ("during", &during)] {
        let [p50, p99, max] = [0.5, 0.99, 1.0].map(|p| percentile(figures, p));
        let ratio = |d: Duration| {
            let ratio = d.as_secs_f64() / base;
            if ratio < 100.0 {
                format!("{ratio:.1}")
            } else {
                thousands(ratio.round() as u64)
            }
        };
        println!(
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            figures.len(),
            human(p50),
            human(p99),
            human(max),
            ratio(p50),
            ratio(p99),
            ratio(max)
        );
    }
    println!();
    let slowest = times
        .iter()
        .map(|(took, _, _)| *took)
        .max()
        .unwrap_or_default();
    let held = times
        .iter()
        .map(|(_, held, _)| *held)
        .max()
        .unwrap_or_default();
    let answered = times
        .iter()
        .filter(|(_, _, answer)| answer.is_some())
        .count();
    let p99 = percentile(&during, 0.99);
    let targets = vec![
        Target {
            name: "viewer's worst message: under 10 ms of hub time",
            figure: format!(
                "longest hold {} (round trip at most {}), {answered} of {VIEWER_MESSAGES} sent \
                 and answered",
                human(held),
                human(slowest)
            ),
            met: answered == VIEWER_MESSAGES as usize && held < Duration::from_millis(10),
        },
        Target {
            name: "honest edits during it: p99 under 50 ms",
            figure: format!(
                "p99 {} over {} edit{}",
                human(p99),
                during.len(),
                if during.len() == 1 { "" } else { "s" }
            ),
            met: !during.is_empty() && p99 < Duration::from_millis(50),
        },
    ];
    for target in &targets {
        target.print();
    }
    println!();
    targets
}

// ---------------------------------------------------------------------------------------

async fn measure(server: &Server) -> Result<Vec<Target>, String> {
    let (refused, first_before) = refused_changes(server).await?;
    let unfinished = unfinished_upgrades(server, first_before).await?;
    let mut targets = vec![refused, unfinished];
    targets.extend(viewer_worst(server).await?);
    targets.push(editor_worst(server).await?);
    Ok(targets)
}

/// Whether the server runs with glibc's malloc as it comes (`--default-malloc`), rather than
/// with a fixed mmap threshold.
fn default_malloc() -> bool {
    std::env::args().any(|a| a == "--default-malloc")
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.iter().any(|a| a == "--serve") {
        return serve();
    }
    if let Some(unknown) = args
        .iter()
        .find(|a| *a != "--check" && *a != "--default-malloc")
    {
        eprintln!(
            "hub_abuse: unknown argument {unknown}\nusage: hub_abuse [--check] [--default-malloc]"
        );
        return ExitCode::from(2);
    }
    let check = args.iter().any(|a| a == "--check");
    let tail = if args.is_empty() {
        String::new()
    } else {
        format!(" -- {}", args.join(" "))
    };
    println!("$ cargo run --release -p immer-web --example hub_abuse{tail}\n");
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("hub_abuse: {error}");
            return ExitCode::FAILURE;
        }
    };
    let started = Instant::now();
    let measured = runtime.block_on(async {
        let server = Server::start()?;
        println!(
            "Server: pid {} at {}, {} cores, the server's memory as VmRSS (MiB); glibc's malloc \
             {}.\n",
            server.pid(),
            server.address,
            std::thread::available_parallelism().map_or(1, std::num::NonZero::get),
            if default_malloc() {
                "as it comes (--default-malloc)"
            } else {
                "with a fixed mmap threshold (MALLOC_MMAP_THRESHOLD_=131072)"
            }
        );
        let targets = measure(&server).await;
        drop(server);
        targets
    });
    let targets = match measured {
        Ok(targets) => targets,
        Err(error) => {
            eprintln!("hub_abuse: {error}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "## Targets ({:.0} s in all)\n",
        started.elapsed().as_secs_f64()
    );
    println!("| target | figure | result |\n|---|---|---|");
    for target in &targets {
        let verdict = if target.met { "PASS" } else { "FAIL" };
        println!("| {} | {} | {verdict} |", target.name, target.figure);
    }
    let missed = targets.iter().filter(|t| !t.met).count();
    if check && missed > 0 {
        eprintln!("hub_abuse: {missed} target(s) missed");
        return ExitCode::FAILURE;
    }
    ExitCode::SUCCESS
}
