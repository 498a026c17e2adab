//! Commit throughput and acknowledgement latency on the embedded store, durability on
//! (every acknowledged change fsynced), beside the in-memory leader in the same run.
//!
//! `cargo run --release -p immer-store --example store_bench [DIR]`
//!
//! 1. Throughput: 100 documents, a thread per document, 3 seconds each:
//!    - in-memory leaders, committing one-patch changes as fast as each is answered;
//!    - the store, one change in flight per document (`try_receive`: each waits for its fsync);
//!    - the store pipelined: 8 sessions per document (8 clients editing it), each with one
//!      change in flight, sending its next as soon as its answer is released (durable).
//! 2. Latency: 1,000 changes per second in all over the 100 documents (each document 10 per
//!    second, evenly spaced), for 5 seconds: the time from a change's arrival to the release
//!    of its answer (durable), p50 and p99.
//!
//! The database goes in DIR (a temporary directory by default): its disk decides the fsync.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use immer::sync::{Backend, Change, Leader, Outbound, ToFollower, ToLeader};
use immer::{Patch, Path, PathSegment};
use immer_store::{Document, Store};
use serde_json::json;

const DOCUMENTS: usize = 100;
/// Sessions per document in the pipelined run, each with one change in flight.
const SESSIONS: usize = 8;

type Doc = Vec<u64>;

/// Change `id` of `session`, setting its own element (`index`) of the list.
fn change_at(session: u64, id: u64, base: u64, index: usize) -> ToLeader {
    ToLeader::Change(Change {
        author: None,
        client: 1,
        session,
        id,
        base,
        patches: vec![Patch::replace(
            Path::from(vec![PathSegment::Index(index)]),
            json!(id),
        )],
    })
}

fn change(session: u64, id: u64, base: u64) -> ToLeader {
    change_at(session, id, base, 0)
}

/// The messages `document` releases once durable, on a channel.
fn released(document: &Document<Doc>) -> mpsc::Receiver<Outbound<Doc>> {
    let (sink, released) = mpsc::channel();
    document.release_to(move |messages| {
        for message in messages {
            let _ = sink.send(message);
        }
    });
    released
}

/// Commits on `document` from `SESSIONS` sessions until `stop`, each sending its next change
/// when its last is answered (durable), counting in `count`.
fn pipeline(mut document: Document<Doc>, stop: &AtomicBool, count: &AtomicU64) {
    let answers = released(&document);
    let sessions: Vec<u64> = (0..SESSIONS).map(|_| document.join(1).session).collect();
    for (index, &session) in sessions.iter().enumerate() {
        let base = Backend::version(&document);
        let _ = document.receive(change_at(session, 1, base, index));
    }
    while !stop.load(Ordering::Relaxed) {
        let Ok(out) = answers.recv_timeout(Duration::from_secs(1)) else {
            continue;
        };
        let ToFollower::Committed(committed) = out.message else {
            panic!("not committed: {out:?}");
        };
        count.fetch_add(1, Ordering::Relaxed);
        let index = sessions
            .iter()
            .position(|&s| s == committed.session)
            .expect("a session of ours");
        let base = Backend::version(&document);
        let _ = document.receive(change_at(committed.session, committed.id + 1, base, index));
        document.compact(1000);
    }
}

/// Commits on `backend` until `stop`, counting in `count`; returns nothing.
fn hammer<B: Backend<Doc>>(
    mut backend: B,
    receive: impl Fn(&mut B, ToLeader) -> Vec<Outbound<Doc>>,
    stop: &AtomicBool,
    count: &AtomicU64,
) {
    let session = backend.join(1).session;
    let mut id = 0;
    while !stop.load(Ordering::Relaxed) {
        id += 1;
        let base = backend.version();
        let out = receive(&mut backend, change(session, id, base));
        assert!(!out.is_empty(), "answered");
        count.fetch_add(1, Ordering::Relaxed);
        backend.compact(1000);
    }
}

fn throughput<B: Send>(
    make: impl Fn(usize) -> B,
    run: impl Fn(B, &AtomicBool, &AtomicU64) + Sync,
    seconds: u64,
) -> f64 {
    let stop = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for n in 0..DOCUMENTS {
            let backend = make(n);
            let (stop, count, run) = (&stop, &count, &run);
            scope.spawn(move || run(backend, stop, count));
        }
        std::thread::sleep(Duration::from_secs(seconds));
        stop.store(true, Ordering::Relaxed);
    });
    #[allow(clippy::cast_precision_loss, reason = "a rate")]
    let rate = count.load(Ordering::Relaxed) as f64 / started.elapsed().as_secs_f64();
    rate
}

fn main() {
    let dir = std::env::args().nth(1).map_or_else(
        || tempfile::tempdir().expect("a temporary directory").keep(),
        std::path::PathBuf::from,
    );
    std::fs::create_dir_all(&dir).expect("the directory");
    let store = Store::open(dir.join("bench.redb")).expect("the store");
    for n in 0..DOCUMENTS {
        let _ = store.create(&format!("doc-{n}"), &vec![0_u64]);
    }
    for n in 0..DOCUMENTS {
        let _ = store.create(&format!("wide-{n}"), &vec![0_u64; SESSIONS]);
    }
    let open_named = |name: String| {
        store
            .document::<Doc>(&name)
            .snapshot_every(10_000)
            .open()
            .expect("the document")
    };
    let open = |n: usize| open_named(format!("doc-{n}"));
    println!(
        "{DOCUMENTS} documents, one thread each, 3 s each (in {}):",
        dir.display()
    );
    let memory = throughput(
        |_| Leader::new(Arc::new(vec![0_u64])),
        |leader, stop, count| hammer(leader, Leader::receive, stop, count),
        3,
    );
    let one = throughput(
        open,
        |document, stop, count| {
            let receive = |d: &mut Document<Doc>, m| d.try_receive(m).expect("durable");
            hammer(document, receive, stop, count);
        },
        3,
    );
    let pipelined = throughput(|n| open_named(format!("wide-{n}")), pipeline, 3);
    println!("  in-memory leader:                           {memory:>12.0} changes/s");
    println!(
        "  store, durable, 1 change in flight per doc: {one:>12.0} changes/s  ({:.3} of in-memory)",
        one / memory
    );
    println!(
        "  store, durable, pipelined ({SESSIONS} sessions/doc): {pipelined:>12.0} changes/s  ({:.3} of in-memory)",
        pipelined / memory
    );

    // Latency at 1,000 changes/s in all.
    let stop = AtomicBool::new(false);
    let latencies = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for n in 0..DOCUMENTS {
            let mut document = open(n);
            let answers = released(&document);
            let (stop, latencies) = (&stop, &latencies);
            scope.spawn(move || {
                let session = document.join(1).session;
                let period = Duration::from_millis(100);
                // Spread the documents over the period.
                let mut next = Instant::now() + period * u32::try_from(n).unwrap_or(0) / 100;
                let mut id = 0;
                let mut mine = Vec::new();
                while !stop.load(Ordering::Relaxed) {
                    std::thread::sleep(next.saturating_duration_since(Instant::now()));
                    id += 1;
                    let arrived = Instant::now();
                    let base = Backend::version(&document);
                    let _ = document.receive(change(session, id, base));
                    // Its answer, released once durable.
                    let out = answers.recv().expect("answered");
                    assert!(matches!(out.message, ToFollower::Committed(_)), "{out:?}");
                    mine.push(arrived.elapsed());
                    next += period;
                }
                latencies.lock().unwrap().extend(mine);
            });
        }
        std::thread::sleep(Duration::from_secs(5));
        stop.store(true, Ordering::Relaxed);
    });
    let mut latencies = latencies.into_inner().unwrap();
    latencies.sort_unstable();
    let at = |q: f64| {
        #[allow(
            clippy::cast_possible_truncation,
            clippy::cast_sign_loss,
            clippy::cast_precision_loss,
            reason = "an index into the sorted samples"
        )]
        let i = ((latencies.len() as f64 - 1.0) * q).round() as usize;
        latencies[i].as_secs_f64() * 1000.0
    };
    println!(
        "1,000 changes/s over {DOCUMENTS} documents, 5 s: {} acknowledged, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        at(0.5),
        at(0.99),
        at(1.0)
    );
}
