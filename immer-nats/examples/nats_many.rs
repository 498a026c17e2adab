//! A JetStream node with 1,000 documents open, and what it costs:
//!
//! 1. opening: each join's latency (32 at a time) and the time to open them all;
//! 2. memory per open document (the process's resident memory before and after, on Linux),
//!    the process's threads, and the consumers the server holds;
//! 3. committed edits per second across the documents: a second node opens them too, and
//!    the first makes 20 edits on each, round-robin, as fast as it can, until all settle;
//! 4. commit latency across documents, one edit at a time on a document picked at random:
//!    edit to accepted on its node, and edit to visible on the other node, p50 and p99.
//!
//! ```sh
//! cargo run --release -p immer-nats --example nats_many            # 1,000 documents
//! cargo run --release -p immer-nats --example nats_many -- 5000    # or as many as you say
//! ```
//!
//! It starts its own `nats-server -js` (file storage) on a free port (`IMMER_NATS_SERVER`
//! names the binary, as for the tests).

#![allow(clippy::cast_precision_loss, clippy::cast_sign_loss)] // figures for printing

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::{Duration, Instant};

use common::{Board, Item, NatsServer, Rng};
use futures_util::StreamExt;
use immer_nats::{Config, Document, Store};

const WAIT: Duration = Duration::from_secs(120);

fn name(i: usize) -> String {
    format!("doc-{i}")
}

/// The process's resident memory, in bytes (0 where `/proc` is missing).
fn resident() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// The process's threads (0 where `/proc` is missing).
fn threads() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Threads:"))
                .and_then(|n| n.trim().parse().ok())
        })
        .unwrap_or(0)
}

async fn consumers(url: &str, config: &Config) -> usize {
    let client = async_nats::connect(url).await.expect("a connection");
    let js = async_nats::jetstream::new(client);
    let mut stream = js.get_stream(&config.stream).await.expect("the stream");
    stream.info().await.expect("its info").state.consumer_count
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

/// Joins every document, 32 at a time; returns them with each join's latency, sorted.
async fn open_all(
    store: &Store,
    count: usize,
    client: u64,
) -> (Vec<Document<Board>>, Vec<Duration>) {
    let opened: Vec<(Document<Board>, Duration)> = futures_util::stream::iter(0..count)
        .map(|i| {
            let store = store.clone();
            async move {
                let started = Instant::now();
                let document = store
                    .document::<Board>(&name(i))
                    .client(client)
                    .join()
                    .await
                    .expect("a join");
                (document, started.elapsed())
            }
        })
        .buffered(32)
        .collect()
        .await;
    let (documents, mut latencies): (Vec<_>, Vec<_>) = opened.into_iter().unzip();
    latencies.sort();
    (documents, latencies)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let count: usize = std::env::args()
        .nth(1)
        .map_or(1000, |n| n.parse().expect("a number of documents"));
    let server = NatsServer::start();
    let config = Config::default();
    let store_a = common::store(&server.url(), config.clone()).await;
    let started = Instant::now();
    futures_util::stream::iter(0..count)
        .for_each_concurrent(32, |i| {
            let store = store_a.clone();
            async move {
                store
                    .create(&name(i), &Board::default())
                    .await
                    .expect("a new document");
            }
        })
        .await;
    println!("{count} documents created in {:.2?}", started.elapsed());

    // 1 and 2: one node opens them all.
    let (memory, threads_before) = (resident(), threads());
    let started = Instant::now();
    let (a, latencies) = open_all(&store_a, count, 1).await;
    let opened = started.elapsed();
    let per_document = resident().saturating_sub(memory) / count as u64;
    println!(
        "node A opened {count} documents in {opened:.2?} (32 joins at a time): join p50 {:.2?}, p99 {:.2?}",
        percentile(&latencies, 0.5),
        percentile(&latencies, 0.99)
    );
    println!(
        "node A: resident memory +{:.1} MiB, {:.1} KiB per open document; threads {threads_before} -> {}; consumers on the server {}",
        resident().saturating_sub(memory) as f64 / 1_048_576.0,
        per_document as f64 / 1024.0,
        threads(),
        consumers(&server.url(), &config).await
    );

    // 3: a second node opens them too; the first edits every document 20 times.
    let store_b = common::store(&server.url(), config.clone()).await;
    let (b, _) = open_all(&store_b, count, 2).await;
    println!(
        "node B opened them too: threads {}, consumers on the server {}",
        threads(),
        consumers(&server.url(), &config).await
    );
    let rounds = 20_u64;
    let started = Instant::now();
    for round in 0..rounds {
        for document in &a {
            document.edit(|d| {
                d.items().push(Item {
                    id: round,
                    title: format!("round {round}"),
                    done: false,
                });
            });
        }
        // Let the appends go out between rounds, as a busy app would.
        tokio::task::yield_now().await;
    }
    for document in &a {
        document.settle(WAIT).await.expect("settled");
    }
    let settled = started.elapsed();
    for (x, y) in a.iter().zip(&b) {
        y.wait_for_version(x.version(), WAIT)
            .await
            .expect("visible");
    }
    let visible = started.elapsed();
    let edits = rounds * count as u64;
    let appends: u64 = a.iter().map(Document::version).sum();
    println!(
        "{edits} edits over {count} documents: committed in {settled:.2?} ({:.0} edits/s, in {appends} appends), all visible on node B after {visible:.2?}",
        edits as f64 / settled.as_secs_f64()
    );

    // 4: one edit at a time on a document picked at random.
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let (mut accepted, mut seen) = (Vec::new(), Vec::new());
    for n in 0..2000_u64 {
        let i = rng.below(count as u64) as usize;
        let started = Instant::now();
        a[i].edit(|d| d.set_title(format!("edit {n}")));
        a[i].settle(WAIT).await.expect("settled");
        accepted.push(started.elapsed());
        b[i].wait_for_version(a[i].version(), WAIT)
            .await
            .expect("visible");
        seen.push(started.elapsed());
    }
    accepted.sort();
    seen.sort();
    println!(
        "2000 edits, one at a time, on random documents: edit to accepted p50 {:.2?}, p99 {:.2?}; edit to visible on node B p50 {:.2?}, p99 {:.2?}",
        percentile(&accepted, 0.5),
        percentile(&accepted, 0.99),
        percentile(&seen, 0.5),
        percentile(&seen, 0.99)
    );
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(x.state(), y.state(), "{}", x.name());
    }
    println!("both nodes hold the same {count} documents");
}
