//! Load on the WebSocket server, from Rust WebSocket clients on loopback: `--clients` clients
//! (100 by default) each make `--rate` changes per second (10) for `--seconds` (10), each to
//! its own todo of one board. For every change, the time from its send to the moment the last
//! client applied it ("change to every client"), and to its author's answer.
//!
//! Side by side in one run: the hub (ordering, transformation, policy, validation, one
//! follower per client) and a hand-written relay that numbers each change and forwards it to
//! every client, with nothing checked.
//!
//! `cargo run --release -p immer-web --example web_load`

#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss)] // figures for printing

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::extract::ws::{Message as AxumMessage, WebSocket, WebSocketUpgrade};
use axum::response::Response;
use axum::routing::get;
use axum::serve::ListenerExt;
use futures_util::{SinkExt, StreamExt};
use immer::sync::{Committed, Follower, SessionId, ToFollower};
use immer::{Draftable, Vector};
use immer_web::protocol::{ClientMessage, ServerMessage};
use immer_web::{Hub, Identity, Policy};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;

/// The board of the web examples, with fields that share on copy (`Arc<str>`): a write
/// path-copies a chunk of 64 todos, and with `String` fields each copy would allocate 128
/// strings, for each of the 100 clients at every change (the allocator then dominates the
/// run; see BENCHMARKS.md, the peer workloads).
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    todos: Vector<Todo>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: Arc<str>,
    text: Arc<str>,
    done: bool,
}

struct Options {
    clients: usize,
    rate: u64,
    seconds: u64,
}

fn options() -> Options {
    let mut options = Options {
        clients: 100,
        rate: 10,
        seconds: 10,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    for pair in args.chunks(2) {
        let value = pair.get(1).and_then(|v| v.parse::<u64>().ok());
        match (pair[0].as_str(), value) {
            ("--clients", Some(v)) => options.clients = v as usize,
            ("--rate", Some(v)) => options.rate = v.max(1),
            ("--seconds", Some(v)) => options.seconds = v.max(1),
            _ => {
                eprintln!("usage: web_load [--clients N] [--rate PER_SECOND] [--seconds N]");
                std::process::exit(2);
            }
        }
    }
    options
}

fn board(todos: usize) -> Board {
    Board {
        title: "Load".to_owned(),
        todos: (0..todos)
            .map(|n| Todo {
                id: format!("t{n}").into(),
                text: "".into(),
                done: false,
            })
            .collect(),
    }
}

fn hub(todos: usize) -> Hub<Board, String> {
    Hub::builder(Arc::new(board(todos)))
        .authenticate(|token: String| async move {
            Ok(Identity {
                user: token,
                role: "editor".to_owned(),
            })
        })
        .policy(Policy::new().allow(
            "editor".to_owned(),
            "/todos/*/text".parse::<immer_web::PathPattern>().unwrap(),
        ))
        .validator(|_, next: &Board, _| {
            if next.todos.iter().all(|t| t.text.len() <= 64) {
                Ok(())
            } else {
                Err("text too long".to_owned())
            }
        })
        .build()
}

/// The hand-written relay: numbers each change and forwards it to everyone, nothing checked.
#[derive(Clone, Default)]
struct Relay {
    inner: Arc<Mutex<Relayed>>,
    todos: usize,
}

#[derive(Default)]
struct Relayed {
    version: u64,
    last_session: u64,
    clients: HashMap<u64, mpsc::UnboundedSender<AxumMessage>>,
}

async fn relay_handler(State(relay): State<Relay>, upgrade: WebSocketUpgrade) -> Response {
    upgrade.on_upgrade(move |socket| relay_serve(relay, socket))
}

async fn relay_serve(relay: Relay, socket: WebSocket) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel();
    let session = {
        let mut inner = relay.inner.lock().unwrap();
        inner.last_session += 1;
        let session = inner.last_session;
        inner.clients.insert(session, tx.clone());
        session
    };
    let welcome = ServerMessage::Welcome {
        session,
        user: String::new(),
        role: serde_json::Value::Null,
        version: 0,
        state: Some(board(relay.todos)),
        resumed: false,
    };
    let _ = tx.send(AxumMessage::Text(
        serde_json::to_string(&welcome).unwrap().into(),
    ));
    let writer = tokio::spawn(async move {
        while let Some(message) = rx.recv().await {
            if sink.feed(message).await.is_err() {
                return;
            }
            while let Ok(message) = rx.try_recv() {
                if sink.feed(message).await.is_err() {
                    return;
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
    });
    while let Some(Ok(AxumMessage::Text(text))) = stream.next().await {
        let Ok(ClientMessage::Change { id, patches, .. }) = serde_json::from_str(&text) else {
            continue;
        };
        let mut inner = relay.inner.lock().unwrap();
        inner.version += 1;
        let committed = ServerMessage::<Board>::Committed(Committed {
            author: None,
            version: inner.version,
            client: session,
            session,
            id,
            patches,
        });
        let text: axum::extract::ws::Utf8Bytes = serde_json::to_string(&committed).unwrap().into();
        for client in inner.clients.values() {
            let _ = client.send(AxumMessage::Text(text.clone()));
        }
    }
    relay.inner.lock().unwrap().clients.remove(&session);
    writer.abort();
}

/// What one client saw: when it sent each of its changes, when it applied every change.
#[derive(Default)]
struct Seen {
    sent: Vec<(SessionId, u64, Instant)>,
    answered: Vec<(SessionId, u64, Instant)>,
    applied: Vec<(SessionId, u64, Instant)>,
}

async fn client(
    url: String,
    index: usize,
    rate: u64,
    all_joined: Arc<tokio::sync::Barrier>,
    times: (Instant, Instant),
    (clients, run_seconds): (usize, u64),
) -> Seen {
    let (until, drain) = times;
    let (mut socket, _) = tokio_tungstenite::connect_async_with_config(&url, None, true)
        .await
        .unwrap();
    let auth = ClientMessage::Auth {
        token: format!("client-{index}"),
        resume: None,
    };
    socket
        .send(Message::text(serde_json::to_string(&auth).unwrap()))
        .await
        .unwrap();
    let Some(Ok(Message::Text(text))) = socket.next().await else {
        panic!("client {index}: no welcome");
    };
    let welcome: ServerMessage<Board> = serde_json::from_str(&text).unwrap();
    let Some(ToFollower::Welcome(welcome)) = welcome.into_follower_message() else {
        panic!("client {index}: not a welcome");
    };
    let mut follower = Follower::new(welcome).with_batch(16);
    // Nobody edits before every client has its welcome (the relay's welcome is version 0).
    all_joined.wait().await;
    let session = follower.session();
    // Room for every change of the run, reserved up front: growing a vector of megabytes
    // mid-run (copying it) would stall this client's thread and show up as latency.
    let expected = (clients * rate as usize * (run_seconds as usize + 3)).next_power_of_two();
    let mut seen = Seen {
        sent: Vec::with_capacity(expected / clients),
        answered: Vec::with_capacity(expected / clients),
        applied: Vec::with_capacity(expected),
    };
    let mut in_flight: Option<u64> = None;
    let mut counter = 0_u64;
    // Spread the clients' ticks over the period.
    let period = Duration::from_micros(1_000_000 / rate);
    let offset = period * u32::try_from(index % 100).unwrap() / 100;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
    loop {
        tokio::select! {
            _ = ticks.tick(), if Instant::now() < until => {
                counter += 1;
                let text = counter.to_string();
                follower.edit(|d| d.todos().get_mut(index).unwrap().text().set(text.into()));
            }
            message = socket.next() => {
                let Some(Ok(Message::Text(text))) = message else { break };
                let now = Instant::now();
                let message: ServerMessage<Board> = serde_json::from_str(&text).unwrap();
                if let ServerMessage::Committed(Committed { session: author, id, .. }) = &message {
                    seen.applied.push((*author, *id, now));
                    if *author == session {
                        seen.answered.push((*author, *id, now));
                    }
                }
                if let Some(message) = message.into_follower_message() {
                    follower.receive(message);
                }
                follower.take_events();
                if follower.is_settled() {
                    in_flight = None;
                }
            }
            () = tokio::time::sleep_until(drain.into()) => break,
        }
        // One change in flight: send the next when the last is answered.
        if in_flight.is_none() || follower.pending_count() > 0 {
            for message in follower.poll() {
                if let Some(ClientMessage::Change { id, base, patches }) =
                    ClientMessage::from_leader_message(message)
                {
                    if in_flight == Some(id) {
                        continue;
                    }
                    in_flight = Some(id);
                    let change = ClientMessage::Change { id, base, patches };
                    let text = serde_json::to_string(&change).unwrap();
                    seen.sent.push((session, id, Instant::now()));
                    if socket.send(Message::text(text)).await.is_err() {
                        return seen;
                    }
                }
            }
        }
    }
    let _ = socket.close(None).await;
    seen
}

struct Figures {
    changes: usize,
    incomplete: usize,
    every: Vec<Duration>,
    author: Vec<Duration>,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let at = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[at]
}

async fn run(url: &str, options: &Options) -> Figures {
    let start = Instant::now() + Duration::from_millis(500);
    let until = start + Duration::from_secs(options.seconds);
    let drain = until + Duration::from_secs(2);
    let all_joined = Arc::new(tokio::sync::Barrier::new(options.clients));
    let mut tasks = Vec::new();
    for index in 0..options.clients {
        tasks.push(tokio::spawn(client(
            url.to_owned(),
            index,
            options.rate,
            Arc::clone(&all_joined),
            (until, drain),
            (options.clients, options.seconds),
        )));
    }
    let mut sent = HashMap::new();
    let mut answered = HashMap::new();
    let mut last_applied: HashMap<(SessionId, u64), (usize, Instant)> = HashMap::new();
    for task in tasks {
        let seen = task.await.unwrap();
        for (session, id, at) in seen.sent {
            sent.insert((session, id), at);
        }
        for (session, id, at) in seen.answered {
            answered.insert((session, id), at);
        }
        for (session, id, at) in seen.applied {
            let entry = last_applied.entry((session, id)).or_insert((0, at));
            entry.0 += 1;
            entry.1 = entry.1.max(at);
        }
    }
    let mut every = Vec::new();
    let mut author = Vec::new();
    let mut incomplete = 0;
    for (key, at) in &sent {
        match last_applied.get(key) {
            Some((count, last)) if *count == options.clients => every.push(*last - *at),
            _ => incomplete += 1,
        }
        if let Some(answer) = answered.get(key) {
            author.push(*answer - *at);
        }
    }
    every.sort();
    author.sort();
    Figures {
        changes: sent.len(),
        incomplete,
        every,
        author,
    }
}

/// The CPU time this process has used (user and system), on Linux; 0 elsewhere.
fn cpu_seconds() -> f64 {
    let Ok(stat) = std::fs::read_to_string("/proc/self/stat") else {
        return 0.0;
    };
    // Fields after the command's closing parenthesis: utime and stime are the 12th and 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or(Vec::new(), |(_, rest)| rest.split_whitespace().collect());
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // Clock ticks are 1/100 s on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

fn print(name: &str, figures: &Figures, seconds: u64) {
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{name:<28} {:>7} changes ({:>6.0}/s), {} not seen by every client",
        figures.changes,
        figures.changes as f64 / seconds as f64,
        figures.incomplete
    );
    println!(
        "{:<28} change to every client: p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        "",
        ms(percentile(&figures.every, 0.5)),
        ms(percentile(&figures.every, 0.9)),
        ms(percentile(&figures.every, 0.99)),
        ms(percentile(&figures.every, 1.0)),
    );
    println!(
        "{:<28} change to its author's answer: p50 {:.2} ms, p99 {:.2} ms",
        "",
        ms(percentile(&figures.author, 0.5)),
        ms(percentile(&figures.author, 0.99)),
    );
}

/// Small messages go out at once (no Nagle delay, which would wait for an acknowledgement).
fn no_delay(
    listener: tokio::net::TcpListener,
) -> impl axum::serve::Listener<
    Io = impl Send + Unpin + tokio::io::AsyncRead + tokio::io::AsyncWrite,
    Addr = std::net::SocketAddr,
> {
    listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    })
}

#[tokio::main]
async fn main() {
    let options = options();
    println!(
        "{} clients x {} changes/s for {} s, on loopback, {} worker threads",
        options.clients,
        options.rate,
        options.seconds,
        std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
    );

    // The relay first, the hub second: each starts on a machine the other has just left.
    let relay = Relay {
        todos: options.clients,
        ..Relay::default()
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let app = Router::new()
        .route("/ws", get(relay_handler))
        .with_state(relay);
    let server = tokio::spawn(axum::serve(no_delay(listener), app).into_future());
    let cpu = cpu_seconds();
    let relayed = run(&url, &options).await;
    let relay_cpu = cpu_seconds() - cpu;
    server.abort();
    print("hand-written relay", &relayed, options.seconds);

    let hub = hub(options.clients);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("ws://{}/ws", listener.local_addr().unwrap());
    let server = tokio::spawn(axum::serve(no_delay(listener), hub.router()).into_future());
    let cpu = cpu_seconds();
    let ours = run(&url, &options).await;
    let hub_cpu = cpu_seconds() - cpu;
    server.abort();
    let ok = hub
        .state()
        .todos
        .iter()
        .all(|t| t.text.parse::<u64>().is_ok_and(|n| n > 0));
    print("immer-web hub", &ours, options.seconds);
    println!("{:<28} every client's todo written: {ok}", "");

    println!(
        "CPU time of the process (server and clients): relay {relay_cpu:.1} s, hub {hub_cpu:.1} s, over {} s each",
        options.seconds + 3
    );
    let p99 = |f: &Figures| percentile(&f.every, 0.99).as_secs_f64() * 1e3;
    println!(
        "p99 change to every client: hub {:.2} ms, relay {:.2} ms, ratio {:.2}; target 20 ms: {}",
        p99(&ours),
        p99(&relayed),
        p99(&ours) / p99(&relayed).max(1e-9),
        if p99(&ours) <= 20.0 { "met" } else { "NOT met" }
    );
}
