//! The JetStream backend beside the in-process `Leader` over TCP, in one run, on loopback:
//!
//! 1. committed edits per second on one document with 1 and 3 writing nodes;
//! 2. edit-to-visible latency from one node to another at 1,000 edits per second, p50 and p99;
//! 3. start-up of a node from a snapshot of a 100,000-item board plus a 10,000-change tail;
//! 4. catch-up: a node whose link to the server stalls while it has 500 edits waiting and
//!    another node makes 10,000 changes to a 100,000-item board; the time from the heal
//!    until every one of its edits has its outcome (target: 2 s).
//!
//! ```sh
//! cargo run --release -p immer-nats --example nats_bench              # all four
//! cargo run --release -p immer-nats --example nats_bench -- catch-up  # one of throughput,
//!                                                                     # latency, start-up, catch-up
//! ```
//!
//! It starts its own `nats-server -js` (file storage) on a free port (`IMMER_NATS_SERVER`
//! names the binary, as for the tests).

#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss)] // figures for printing

#[path = "../tests/common/mod.rs"]
mod common;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{NatsServer, Proxy};
use immer::Draftable;
use immer::sync::{ClientId, Follower, FollowerEvent, Leader, Recipient, ToFollower, ToLeader};
use immer_nats::{Config, Store};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, mpsc};

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Draftable)]
struct Bench {
    /// Written by the latency run: the number of the last edit.
    counter: u64,
    items: immer::Vector<Item>,
}

#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, Draftable)]
struct Item {
    id: u64,
    title: String,
    done: bool,
}

fn board(items: u64) -> Bench {
    Bench {
        counter: 0,
        items: (0..items)
            .map(|id| Item {
                id,
                title: format!("item {id}"),
                done: false,
            })
            .collect(),
    }
}

/// Edit `n` of writer `w`: a field write on the writer's own items, or a push.
fn bench_edit(w: u64, n: u64, d: &mut immer::PatchDraft<'_, '_, Bench>) {
    if n % 4 == 0 {
        d.items().push(Item {
            id: w * 10_000_000 + n,
            title: "new".into(),
            done: false,
        });
    } else {
        let at = (w * 7 + n % 3) as usize;
        if let Some(mut item) = d.items().get_mut(at) {
            item.set_title(format!("{w}:{n}"));
        }
    }
}

// ---------------------------------------------------------------------------------------
// The in-process leader, over TCP: JSON lines, one session per connection.

async fn tcp_leader(state: Bench) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let leader = Arc::new(Mutex::new(Leader::new(Arc::new(state))));
    let peers: Arc<Mutex<Vec<mpsc::UnboundedSender<Arc<String>>>>> = Arc::default();
    tokio::spawn(async move {
        loop {
            let (socket, _) = listener.accept().await.unwrap();
            socket.set_nodelay(true).unwrap();
            let (read, mut write) = socket.into_split();
            let (tx, mut rx) = mpsc::unbounded_channel::<Arc<String>>();
            peers.lock().unwrap().push(tx.clone());
            tokio::spawn(async move {
                while let Some(line) = rx.recv().await {
                    if write.write_all(line.as_bytes()).await.is_err() {
                        return;
                    }
                }
            });
            let (leader, peers) = (Arc::clone(&leader), Arc::clone(&peers));
            tokio::spawn(async move {
                let mut lines = BufReader::new(read).lines();
                while let Ok(Some(line)) = lines.next_line().await {
                    let Ok(message) = serde_json::from_str::<ToLeader>(&line) else {
                        continue;
                    };
                    let out = leader.lock().unwrap().receive(message);
                    for out in out {
                        let line = Arc::new(serde_json::to_string(&out.message).unwrap() + "\n");
                        if out.to == Recipient::All {
                            peers
                                .lock()
                                .unwrap()
                                .retain(|p| p.send(Arc::clone(&line)).is_ok());
                        } else {
                            tx.send(line).ok();
                        }
                    }
                }
            });
        }
    });
    port
}

/// A follower of the TCP leader: edits at once, sends its change in flight once.
struct TcpNode {
    follower: Arc<Mutex<Follower<Bench>>>,
    out: mpsc::UnboundedSender<String>,
    changed: Arc<Notify>,
    sent: Arc<Mutex<Option<u64>>>,
}

impl TcpNode {
    async fn join(port: u16, client: ClientId) -> Self {
        let socket = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        socket.set_nodelay(true).unwrap();
        let (read, mut write) = socket.into_split();
        let join = serde_json::to_string(&ToLeader::Join {
            client,
            nonce: client,
        })
        .unwrap()
            + "\n";
        write.write_all(join.as_bytes()).await.unwrap();
        let mut lines = BufReader::new(read).lines();
        let welcome = loop {
            let line = lines.next_line().await.unwrap().unwrap();
            if let ToFollower::Welcome(w) =
                serde_json::from_str::<ToFollower<Bench>>(&line).unwrap()
            {
                if w.nonce == client {
                    break w;
                }
            }
        };
        let follower = Arc::new(Mutex::new(Follower::new(welcome).with_batch(256)));
        let (out, mut rx) = mpsc::unbounded_channel::<String>();
        tokio::spawn(async move {
            while let Some(line) = rx.recv().await {
                if write.write_all(line.as_bytes()).await.is_err() {
                    return;
                }
            }
        });
        let node = TcpNode {
            follower,
            out,
            changed: Arc::new(Notify::new()),
            sent: Arc::default(),
        };
        let (follower, changed, out, sent) = (
            Arc::clone(&node.follower),
            Arc::clone(&node.changed),
            node.out.clone(),
            Arc::clone(&node.sent),
        );
        tokio::spawn(async move {
            while let Ok(Some(line)) = lines.next_line().await {
                let message: ToFollower<Bench> = serde_json::from_str(&line).unwrap();
                follower.lock().unwrap().receive(message);
                send(&follower, &out, &sent);
                changed.notify_waiters();
            }
        });
        node
    }

    fn edit(&self, recipe: impl FnOnce(&mut immer::PatchDraft<'_, '_, Bench>)) {
        self.follower.lock().unwrap().edit(recipe);
        send(&self.follower, &self.out, &self.sent);
    }

    async fn settle(&self) {
        while !self.follower.lock().unwrap().is_settled() {
            tokio::time::timeout(Duration::from_millis(50), self.changed.notified())
                .await
                .ok();
        }
    }
}

/// Sends the change in flight when it is a new one.
fn send(
    follower: &Mutex<Follower<Bench>>,
    out: &mpsc::UnboundedSender<String>,
    sent: &Mutex<Option<u64>>,
) {
    let mut follower = follower.lock().unwrap();
    for message in follower.poll() {
        if let ToLeader::Change(change) = &message {
            let mut sent = sent.lock().unwrap();
            if *sent != Some(change.id) {
                *sent = Some(change.id);
                out.send(serde_json::to_string(&message).unwrap() + "\n")
                    .ok();
            }
        }
    }
}

// ---------------------------------------------------------------------------------------
// The runs.

const EDITS: u64 = 30_000;

/// How many edits a writer lets wait for the log before it waits itself.
const WINDOW: usize = 48;

/// `count` edits of writer 1, never more than [`WINDOW`] of them waiting for the log.
async fn write_windowed(writer: &immer_nats::Document<Bench>, count: u64) {
    for n in 0..count {
        writer.edit(|d| bench_edit(1, n, d));
        while writer.pending_count() > WINDOW {
            let mut changed = writer.watch();
            if writer.pending_count() > WINDOW {
                changed.changed().await.ok();
            }
        }
    }
}

async fn nats_throughput(store: &Store, name: &str, writers: u64) -> f64 {
    store.create(name, &board(100)).await.unwrap();
    let mut nodes = Vec::new();
    for w in 0..writers {
        let node = store
            .document::<Bench>(name)
            .client(w)
            .join()
            .await
            .unwrap();
        nodes.push(Arc::new(node));
    }
    let started = Instant::now();
    let tasks: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(w, node)| {
            let node = Arc::clone(node);
            tokio::spawn(async move {
                for n in 0..EDITS / writers {
                    node.edit(|d| bench_edit(w as u64, n, d));
                    // An app's flow control: at most WINDOW edits wait for the log.
                    while node.pending_count() > WINDOW {
                        let mut changed = node.watch();
                        if node.pending_count() > WINDOW {
                            changed.changed().await.ok();
                        }
                    }
                    if n % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                node.settle(Duration::from_secs(300)).await.unwrap();
                accepted(&node.take_events())
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

fn accepted(events: &[FollowerEvent]) -> u64 {
    events
        .iter()
        .filter(|e| matches!(e, FollowerEvent::Accepted { .. }))
        .count() as u64
}

async fn tcp_throughput(writers: u64) -> f64 {
    let port = tcp_leader(board(100)).await;
    let mut nodes = Vec::new();
    for w in 0..writers {
        nodes.push(Arc::new(TcpNode::join(port, w + 1).await));
    }
    let started = Instant::now();
    let tasks: Vec<_> = nodes
        .iter()
        .enumerate()
        .map(|(w, node)| {
            let node = Arc::clone(node);
            tokio::spawn(async move {
                for n in 0..EDITS / writers {
                    node.edit(|d| bench_edit(w as u64, n, d));
                    while node.follower.lock().unwrap().pending_count() > WINDOW {
                        let notified = node.changed.notified();
                        tokio::pin!(notified);
                        notified.as_mut().enable();
                        if node.follower.lock().unwrap().pending_count() > WINDOW {
                            notified.await;
                        }
                    }
                    if n % 64 == 0 {
                        tokio::task::yield_now().await;
                    }
                }
                node.settle().await;
                accepted(&node.follower.lock().unwrap().take_events())
            })
        })
        .collect();
    let mut total = 0;
    for task in tasks {
        total += task.await.unwrap();
    }
    total as f64 / started.elapsed().as_secs_f64()
}

/// Edit-to-visible latencies, edit `n` sets `counter` to `n`, one every millisecond.
async fn latency(
    write: impl Fn(u64),
    mut wait_and_read: impl FnMut() -> std::pin::Pin<Box<dyn std::future::Future<Output = u64> + Send>>,
) -> (Duration, Duration) {
    const COUNT: u64 = 3000;
    let sent: Arc<Mutex<HashMap<u64, Instant>>> = Arc::default();
    // The reader runs on this task; the writer on a timer in another.
    let mut interval = tokio::time::interval(Duration::from_millis(1));
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut latencies = Vec::new();
    let mut last = 0;
    let mut n = 0;
    let mut read = wait_and_read();
    while last < COUNT {
        tokio::select! {
            _ = interval.tick(), if n < COUNT => {
                n += 1;
                sent.lock().unwrap().insert(n, Instant::now());
                write(n);
            }
            counter = &mut read => {
                let now = Instant::now();
                let sent = sent.lock().unwrap();
                for k in last + 1..=counter {
                    if let Some(at) = sent.get(&k) {
                        latencies.push(now - *at);
                    }
                }
                last = last.max(counter);
                drop(sent);
                read = wait_and_read();
            }
        }
    }
    latencies.sort();
    let p = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize];
    (p(0.5), p(0.99))
}

async fn nats_latency(store: &Store) -> (Duration, Duration) {
    store.create("latency", &board(100)).await.unwrap();
    let a = store
        .document::<Bench>("latency")
        .client(1)
        .join()
        .await
        .unwrap();
    let b = Arc::new(
        store
            .document::<Bench>("latency")
            .client(2)
            .join()
            .await
            .unwrap(),
    );
    let watch = Arc::new(tokio::sync::Mutex::new(b.watch()));
    latency(
        |n| {
            a.edit(|d| d.set_counter(n));
        },
        || {
            let (b, watch) = (Arc::clone(&b), Arc::clone(&watch));
            Box::pin(async move {
                watch.lock().await.changed().await.ok();
                b.state().counter
            })
        },
    )
    .await
}

async fn tcp_latency() -> (Duration, Duration) {
    let port = tcp_leader(board(100)).await;
    let a = TcpNode::join(port, 1).await;
    let b = Arc::new(TcpNode::join(port, 2).await);
    latency(
        |n| a.edit(|d| d.set_counter(n)),
        || {
            let b = Arc::clone(&b);
            Box::pin(async move {
                let notified = b.changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let counter = b.follower.lock().unwrap().state().counter;
                notified.await;
                counter.max(b.follower.lock().unwrap().state().counter)
            })
        },
    )
    .await
}

async fn nats_startup(store: &Store) -> (Duration, u64) {
    store.create("startup", &board(100_000)).await.unwrap();
    // One change per edit: a tail of 10,000 messages.
    let writer = store
        .document::<Bench>("startup")
        .client(1)
        .batch(1)
        .join()
        .await
        .unwrap();
    write_windowed(&writer, 10_000).await;
    writer.settle(Duration::from_secs(300)).await.unwrap();
    let started = Instant::now();
    let fresh = store
        .document::<Bench>("startup")
        .client(2)
        .join()
        .await
        .unwrap();
    let took = started.elapsed();
    assert_eq!(fresh.state(), writer.state());
    (took, fresh.version())
}

async fn tcp_startup() -> Duration {
    let port = tcp_leader(board(100_000)).await;
    let writer = TcpNode::join(port, 1).await;
    for n in 0..10_000 {
        writer.edit(|d| bench_edit(1, n, d));
        if n % 64 == 0 {
            tokio::task::yield_now().await;
        }
    }
    writer.settle().await;
    let started = Instant::now();
    let fresh = TcpNode::join(port, 2).await;
    let took = started.elapsed();
    assert_eq!(
        fresh.follower.lock().unwrap().state(),
        writer.follower.lock().unwrap().state()
    );
    took
}

/// A node 10,000 changes behind with 500 edits waiting, on a 100,000-item board: the time
/// from the heal of its stalled link until all its edits have their outcomes, and the
/// version it then has.
async fn nats_catch_up(server: &NatsServer, config: &Config) -> (Duration, u64) {
    const CHANGES: u64 = 10_000;
    const WAITING: u64 = 500;
    let store = common::store(&server.url(), config.clone()).await;
    store.create("catchup", &board(100_000)).await.unwrap();
    let proxy = Proxy::start(server.port).await;
    let behind = common::store(&proxy.url(), config.clone())
        .await
        .document::<Bench>("catchup")
        .client(9)
        .join()
        .await
        .unwrap();
    let writer = store
        .document::<Bench>("catchup")
        .client(1)
        .batch(1)
        .join()
        .await
        .unwrap();
    proxy.stall();
    for n in 0..WAITING {
        behind.edit(|d| bench_edit(9, n, d));
    }
    write_windowed(&writer, CHANGES).await;
    writer.settle(Duration::from_secs(300)).await.unwrap();
    assert!(writer.version() >= CHANGES && behind.version() == 0);
    let healed = Instant::now();
    proxy.heal();
    behind.settle(Duration::from_secs(300)).await.unwrap();
    let took = healed.elapsed();
    let accepted = accepted(&behind.take_events());
    assert_eq!(accepted, WAITING, "every waiting edit accepted");
    writer
        .wait_for_version(behind.version(), Duration::from_secs(60))
        .await
        .unwrap();
    assert_eq!(behind.state(), writer.state());
    (took, behind.version())
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let only = std::env::args().nth(1);
    let run = |name: &str| only.as_deref().is_none_or(|only| only == name);
    let server = NatsServer::start();
    let mut config = Config::default();
    config.snapshot_every = 0;
    let store = common::store(&server.url(), config.clone()).await;
    println!("nats-server -js (file storage) on loopback; {EDITS} edits per throughput run\n");
    println!("| measure | JetStream nodes | in-process Leader over TCP | ratio |");
    println!("|---|---:|---:|---:|");
    if run("throughput") {
        for writers in [1, 3] {
            let nats = nats_throughput(&store, &format!("throughput{writers}"), writers).await;
            let tcp = tcp_throughput(writers).await;
            println!(
                "| committed edits/s, {writers} writer{} | {nats:.0} | {tcp:.0} | {:.2} |",
                if writers == 1 { "" } else { "s" },
                nats / tcp
            );
        }
    }
    if run("latency") {
        let (np50, np99) = nats_latency(&store).await;
        let (tp50, tp99) = tcp_latency().await;
        println!(
            "| edit-to-visible p50 at 1,000 edits/s | {np50:.2?} | {tp50:.2?} | {:.2} |",
            np50.as_secs_f64() / tp50.as_secs_f64()
        );
        println!(
            "| edit-to-visible p99 at 1,000 edits/s | {np99:.2?} | {tp99:.2?} | {:.2} |",
            np99.as_secs_f64() / tp99.as_secs_f64()
        );
    }
    if run("start-up") {
        let (ns, version) = nats_startup(&store).await;
        let ts = tcp_startup().await;
        println!(
            "| start-up, 100,000 items + {version}-change tail | {ns:.2?} | {ts:.2?} (snapshot) | {:.2} |",
            ns.as_secs_f64() / ts.as_secs_f64()
        );
    }
    if run("catch-up") {
        let (took, version) = Box::pin(nats_catch_up(&server, &config)).await;
        println!(
            "| catch-up of a node with 500 edits waiting, 10,000 changes behind on 100,000 \
             items: heal to settled (target 2 s; version {version}) | {took:.2?} | | |"
        );
    }
}
