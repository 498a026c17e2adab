//! A server of many documents on the embedded store, at scale: prints figures.
//!
//! - `documents [N]` (10,000): N boards on one server: the memory each idle open document
//!   costs, and the time to open one from disk (p50, p99).
//! - `clients [N] [DOCS] [SECONDS]` (1,000 over 100, 10 s): N WebSocket clients on loopback,
//!   an equal share subscribed to each board over one socket each; one client per board
//!   edits it 10 times a second. For every change, the time from its send to the moment the
//!   last subscriber of its board received it ("change to every subscriber"): p50, p99, max.
//! - `recovery [DOCS] [CHANGES]` (1,000 boards, 100,000 changes in all): the time a restarted
//!   server takes to open the store and every board again.
//!
//! With no argument, all three. The store's file lives in a temporary directory, on the same
//! disk as the build (its fsyncs are real: see the embedded store's docs for what durable
//! means).
//!
//! `cargo run --release -p immer-web --example server_scale`

#![allow(
    clippy::cast_precision_loss,
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss
)] // figures for printing

mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{Board, Role, demo_builder};
use futures_util::{SinkExt, StreamExt};
use immer_store::Store;
use immer_web::{Identity, Limits, Server};
use tokio_tungstenite::tungstenite::Message;

type Boards = Server<Board, Role, Store>;

fn limits() -> Limits {
    let mut limits = Limits::default();
    // Every client of this program comes from one address.
    limits.max_connections = 100_000;
    limits.max_connections_per_address = 100_000;
    limits.max_open_documents = 100_000;
    limits
}

fn name(n: usize) -> String {
    format!("board-{n:05}")
}

/// The process's resident memory, in bytes (Linux).
fn resident() -> Option<u64> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: u64 = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// Creates `count` boards, many at a time (each creation is a durable transaction).
async fn create(server: &Boards, count: usize) {
    let mut tasks = Vec::new();
    for chunk in 0..16 {
        let server = server.clone();
        tasks.push(tokio::spawn(async move {
            for n in (chunk..count).step_by(16) {
                server.create(&name(n)).await.expect("created");
            }
        }));
    }
    for task in tasks {
        task.await.expect("created");
    }
}

async fn documents(count: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("boards.redb");
    let started = Instant::now();
    {
        let server = demo_builder(limits()).build_server(Store::open(&path).expect("opened"));
        create(&server, count).await;
    }
    println!(
        "documents: {count} boards created in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    // A server started anew on the file: each board opened from disk at its first use.
    let server = demo_builder(limits()).build_server(Store::open(&path).expect("opened"));
    let before = resident();
    let mut opens = Vec::with_capacity(count);
    let mut hubs = Vec::with_capacity(count);
    for n in 0..count {
        let started = Instant::now();
        hubs.push(server.document(&name(n)).await.expect("opened"));
        opens.push(started.elapsed());
    }
    let after = resident();
    opens.sort();
    // The hubs held here are the server's own (clones of one handle each).
    drop(hubs);
    assert_eq!(server.open_documents(), count);
    let per = match (before, after) {
        (Some(before), Some(after)) => format!(
            "{:.1} KiB",
            after.saturating_sub(before) as f64 / count as f64 / 1024.0
        ),
        _ => "not measured (no /proc/self/statm)".to_owned(),
    };
    println!("documents: {count} open at once, memory per idle open document {per}");
    println!(
        "documents: open from disk p50 {:.3} ms, p99 {:.3} ms, max {:.3} ms",
        ms(percentile(&opens, 0.5)),
        ms(percentile(&opens, 0.99)),
        ms(*opens.last().unwrap_or(&Duration::ZERO))
    );
}

/// When each change was sent and how many subscribers have received it, by (board, session,
/// id); then the time to the last of them.
#[derive(Default)]
struct Changes {
    sent: HashMap<(String, u64, u64), (Instant, usize)>,
    done: Vec<Duration>,
}

async fn clients(count: usize, boards: usize, seconds: u64) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let server = demo_builder(limits())
        .build_server(Store::open(dir.path().join("b.redb")).expect("opened"));
    create(&server, boards).await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bound");
    let url = format!("ws://{}/ws", listener.local_addr().expect("an address"));
    let router = server.router();
    let listening = server.listen(listener);
    tokio::spawn(async move { axum::serve(listening, router).await });

    let per_board = count / boards;
    let changes = Arc::new(Mutex::new(Changes::default()));
    let ready = Arc::new(tokio::sync::Barrier::new(count));
    let mut tasks = Vec::new();
    for client in 0..count {
        tasks.push(tokio::spawn(subscriber(Subscriber {
            url: url.clone(),
            board: name(client % boards),
            editor: client < boards,
            per_board,
            seconds,
            changes: Arc::clone(&changes),
            ready: Arc::clone(&ready),
        })));
    }
    for task in tasks {
        let _ = task.await;
    }
    let changes = changes.lock().expect("not poisoned");
    let mut done = changes.done.clone();
    done.sort();
    println!(
        "clients: {count} WebSocket clients over {boards} boards ({per_board} each), {} changes sent, {} reached every subscriber, {:.0} messages delivered/s",
        changes.sent.len(),
        done.len(),
        (done.len() * per_board) as f64 / seconds as f64
    );
    println!(
        "clients: change to every subscriber p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        ms(percentile(&done, 0.5)),
        ms(percentile(&done, 0.99)),
        ms(*done.last().unwrap_or(&Duration::ZERO))
    );
}

/// One client of the `clients` part.
struct Subscriber {
    url: String,
    board: String,
    /// Whether it edits its board (one per board does).
    editor: bool,
    per_board: usize,
    seconds: u64,
    changes: Arc<Mutex<Changes>>,
    /// Passed once every client is welcomed.
    ready: Arc<tokio::sync::Barrier>,
}

async fn subscriber(client: Subscriber) {
    let Subscriber {
        url,
        board,
        editor,
        per_board,
        seconds,
        changes,
        ready,
    } = client;
    let (socket, _) = tokio_tungstenite::connect_async(&url)
        .await
        .expect("connected");
    let (mut sink, mut stream) = socket.split();
    sink.send(Message::text(r#"{"type":"auth","token":"ann"}"#))
        .await
        .expect("sent");
    let subscribe = format!(r#"{{"type":"subscribe","doc":"{board}"}}"#);
    sink.send(Message::text(subscribe)).await.expect("sent");
    let (mut session, mut version, mut next) = (0, 0, 0_u64);
    // Every client welcomed before the first change.
    while let Some(Ok(message)) = stream.next().await {
        let Message::Text(text) = message else {
            continue;
        };
        let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
        if value["type"] == "welcome" {
            session = value["session"].as_u64().unwrap_or(0);
            version = value["version"].as_u64().unwrap_or(0);
            break;
        }
    }
    ready.wait().await;
    // The others stop a while after the editors.
    let deadline = Instant::now() + Duration::from_secs(seconds + 2);
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut editing_until = None;
    loop {
        tokio::select! {
            _ = tick.tick(), if editor && session != 0 => {
                let until = *editing_until.get_or_insert_with(|| Instant::now() + Duration::from_secs(seconds));
                if Instant::now() > until {
                    // Done: the others have had a second to receive the last.
                    if Instant::now() > until + Duration::from_secs(1) {
                        break;
                    }
                    continue;
                }
                next += 1;
                let change = format!(
                    r#"{{"type":"change","doc":"{board}","id":{next},"base":{version},"patches":[{{"op":"replace","path":["title"],"value":"edit {next}"}}]}}"#
                );
                changes.lock().expect("not poisoned").sent.insert((board.clone(), session, next), (Instant::now(), 0));
                if sink.send(Message::text(change)).await.is_err() {
                    break;
                }
            }
            message = stream.next() => {
                let Some(Ok(Message::Text(text))) = message else { break };
                let value: serde_json::Value = serde_json::from_str(&text).expect("JSON");
                if value["type"] != "committed" {
                    continue;
                }
                version = value["version"].as_u64().unwrap_or(version);
                let key = (
                    board.clone(),
                    value["session"].as_u64().unwrap_or(0),
                    value["id"].as_u64().unwrap_or(0),
                );
                let mut changes = changes.lock().expect("not poisoned");
                let done = changes.sent.get_mut(&key).map(|(at, seen)| {
                    *seen += 1;
                    (*seen == per_board).then(|| at.elapsed())
                });
                if let Some(Some(took)) = done {
                    changes.done.push(took);
                }
            }
            () = tokio::time::sleep_until(deadline.into()) => break,
        }
    }
}

async fn recovery(boards: usize, changes: usize) {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let path = dir.path().join("boards.redb");
    let per_board = changes / boards;
    {
        let server = demo_builder(limits()).build_server(Store::open(&path).expect("opened"));
        create(&server, boards).await;
        let started = Instant::now();
        let mut tasks = Vec::new();
        for chunk in 0..100 {
            let server = server.clone();
            tasks.push(tokio::spawn(async move {
                let ann = Identity {
                    user: "ann".to_owned(),
                    role: Role::Editor,
                };
                for n in (chunk..boards).step_by(100) {
                    for edit in 0..per_board {
                        server
                            .edit(&name(n), ann.clone(), |d| {
                                d.set_title(format!("edit {edit}"));
                            })
                            .await
                            .expect("committed");
                    }
                }
            }));
        }
        for task in tasks {
            task.await.expect("written");
        }
        println!(
            "recovery: {boards} boards, {} changes written durably in {:.1} s",
            boards * per_board,
            started.elapsed().as_secs_f64()
        );
    }
    // The restart: the store opened, and every board opened from its snapshot and the
    // changes after it.
    let started = Instant::now();
    let store = Store::open(&path).expect("opened");
    let opened = started.elapsed();
    let server = demo_builder(limits()).build_server(store);
    for n in 0..boards {
        server.document(&name(n)).await.expect("opened");
    }
    let all = started.elapsed();
    println!(
        "recovery: restart: store opened in {:.1} ms, all {boards} boards open in {:.0} ms ({:.3} ms each)",
        ms(opened),
        ms(all),
        ms(all) / boards as f64
    );
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let number =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    match args.first().map(String::as_str) {
        Some("documents") => documents(number(1, 10_000)).await,
        Some("clients") => clients(number(1, 1_000), number(2, 100), number(3, 10) as u64).await,
        Some("recovery") => recovery(number(1, 1_000), number(2, 100_000)).await,
        None => {
            documents(10_000).await;
            clients(1_000, 100, 10).await;
            recovery(1_000, 100_000).await;
        }
        Some(other) => eprintln!("unknown part {other:?}: documents, clients or recovery"),
    }
}
