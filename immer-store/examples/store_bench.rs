//! Commit throughput and acknowledgement latency on the embedded store, durability on
//! (every acknowledged change fsynced), beside the in-memory leader in the same run.
//!
//! `cargo run --release -p immer-store --example store_bench [DIR]`
//!
//! 1. Throughput: 100 documents, a thread per document committing one-patch changes as fast
//!    as it is answered, for 3 seconds; the same with in-memory leaders.
//! 2. Latency: 1,000 changes per second in all over the 100 documents (each document 10 per
//!    second, evenly spaced), for 5 seconds: the time from a change's arrival to its
//!    acknowledgement (durable), p50 and p99.
//!
//! The database goes in DIR (a temporary directory by default): its disk decides the fsync.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use immer::sync::{Backend, Change, Leader, ToLeader};
use immer::{Patch, Path, PathSegment};
use immer_store::Store;
use serde_json::json;

const DOCUMENTS: usize = 100;

type Doc = Vec<u64>;

fn change(session: u64, id: u64, base: u64) -> ToLeader {
    ToLeader::Change(Change {
        client: 1,
        session,
        id,
        base,
        patches: vec![Patch::replace(
            Path::from(vec![PathSegment::Index(0)]),
            json!(id),
        )],
    })
}

/// Commits on `backend` until `stop`, counting in `count`; returns nothing.
fn hammer(mut backend: impl Backend<Doc>, stop: &AtomicBool, count: &AtomicU64) {
    let session = backend.join(1).session;
    let mut id = 0;
    while !stop.load(Ordering::Relaxed) {
        id += 1;
        let base = backend.version();
        let out = backend.receive(change(session, id, base));
        assert!(!out.is_empty(), "answered");
        count.fetch_add(1, Ordering::Relaxed);
        backend.compact(1000);
    }
}

fn throughput<B: Backend<Doc> + Send>(make: impl Fn(usize) -> B, seconds: u64) -> f64 {
    let stop = AtomicBool::new(false);
    let count = AtomicU64::new(0);
    let started = Instant::now();
    std::thread::scope(|scope| {
        for n in 0..DOCUMENTS {
            let backend = make(n);
            let (stop, count) = (&stop, &count);
            scope.spawn(move || hammer(backend, stop, count));
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
    let open = |n: usize| {
        store
            .document::<Doc>(&format!("doc-{n}"))
            .snapshot_every(10_000)
            .open()
            .expect("the document")
    };
    println!(
        "{DOCUMENTS} documents, one thread each, 3 s each (in {}):",
        dir.display()
    );
    let memory = throughput(|_| Leader::new(Arc::new(vec![0_u64])), 3);
    let durable = throughput(open, 3);
    println!("  in-memory leader:          {memory:>12.0} changes/s");
    println!(
        "  embedded store, durable:   {durable:>12.0} changes/s  ({:.3} of in-memory)",
        durable / memory
    );

    // Latency at 1,000 changes/s in all.
    let stop = AtomicBool::new(false);
    let latencies = std::sync::Mutex::new(Vec::new());
    std::thread::scope(|scope| {
        for n in 0..DOCUMENTS {
            let mut document = open(n);
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
                    let out = document.receive(change(session, id, base));
                    assert!(!out.is_empty(), "answered");
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
