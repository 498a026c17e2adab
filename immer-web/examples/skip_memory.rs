//! What skipping one entry costs on a large state: the devtools' demo session (10,000 entries
//! by two authors on a board of 100,000 todos: ticks, renames, inserts, removals and titles,
//! from the same generator, `common::demo_session`), held as the devtools hold it: a `History<Json>` with a snapshot
//! every 512 versions. For the entry the devtools' browser test skips (the newest tick but
//! ten) and for the first entry, it prints the time and the peak heap of two ways to skip it:
//!
//! - `positional`: the entry's inverse moved through every later entry by `revert_through`,
//!   then applied to the newest state (what `History::skipped` did before it followed
//!   identities);
//! - `History::skipped`.
//!
//! Each is run five times: the median time, and the peak heap, the most bytes held during a call
//! beyond those held before it, counted by this example's allocator (the state itself is
//! shared, so it is what the skip builds).
//!
//! ```sh
//! cargo run --release -p immer-web --example skip_memory            # 10,000 entries, 100,000 todos
//! cargo run --release -p immer-web --example skip_memory -- 1000 10000
//! ```

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use immer::{History, Json, apply_patches, revert_through};

mod common;

// ---- Every allocation counted: the bytes held, and the most held since the last reset.

struct Counting;

static HELD: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grow(bytes: usize) {
    let held = HELD.fetch_add(bytes, Ordering::Relaxed) + bytes;
    PEAK.fetch_max(held, Ordering::Relaxed);
}

fn shrink(bytes: usize) {
    HELD.fetch_sub(bytes, Ordering::Relaxed);
}

#[allow(
    unsafe_code,
    reason = "a global allocator is an unsafe trait; this one only forwards to System"
)]
// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// contract; counting touches only two atomic integers and never allocates.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        grow(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        shrink(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        grow(new_size);
        shrink(layout.size());
        // SAFETY: forwarded as received.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static ALLOCATOR: Counting = Counting;

/// Runs `f` five times: what it returns, its median time, and the most heap it held beyond
/// what was held before.
fn measure<R>(mut f: impl FnMut() -> R) -> (R, Duration, usize) {
    let mut times = Vec::new();
    let mut peak = 0;
    let mut out = None;
    for _ in 0..5 {
        drop(out.take());
        let before = HELD.load(Ordering::Relaxed);
        PEAK.store(before, Ordering::Relaxed);
        let start = Instant::now();
        out = Some(f());
        times.push(start.elapsed());
        peak = peak.max(PEAK.load(Ordering::Relaxed) - before);
    }
    times.sort();
    (out.unwrap(), times[2], peak)
}

/// The demo session, as the devtools hold it.
fn session(entries: usize, items: usize) -> History<Json> {
    let (base, typed) = common::demo_session(entries, items, 1000).unwrap();
    let json = Json::from(serde_json::to_value(&*base).unwrap());
    let mut history = History::new(Arc::new(json)).with_checkpoints(512);
    for entry in typed.entries() {
        history.append(entry.clone()).unwrap();
    }
    history
}

fn megabytes(bytes: usize) -> f64 {
    #[allow(clippy::cast_precision_loss, reason = "a figure to print")]
    let bytes = bytes as f64;
    bytes / (1024.0 * 1024.0)
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let entries = args.first().copied().unwrap_or(10_000);
    let items = args.get(1).copied().unwrap_or(100_000);
    let history = session(entries, items);
    // The devtools' test skips the newest tick but ten.
    let tick = history
        .entries()
        .rev()
        .skip(10)
        .find(|e| e.label.as_deref().is_some_and(|l| l.starts_with("tick")))
        .map_or(0, |e| e.version);
    println!(
        "{entries} entries on {items} todos (History<Json>, a snapshot every 512 versions); \
         heap held by the session: {:.1} MiB",
        megabytes(HELD.load(Ordering::Relaxed))
    );
    println!(
        "{:<26} {:<18} {:>10} {:>14}",
        "entry skipped", "how", "time", "peak heap"
    );
    for (what, version) in [("the test's tick", tick), ("the first", 0)] {
        let entry = history.entry(version).unwrap();
        let later: Vec<&[immer::Patch]> = history
            .entries()
            .filter(|e| e.version > version)
            .map(|e| e.patches.as_slice())
            .collect();
        let (positional, time, peak) = measure(|| {
            revert_through(&entry.inverse, later.iter().copied())
                .ok()
                .and_then(|patches| apply_patches(history.current(), &patches).ok())
        });
        let name = format!("{what} ({version})");
        println!(
            "{name:<26} {:<18} {:>10.1?} {:>10.2} MiB",
            "positional",
            time,
            megabytes(peak)
        );
        let (skipped, time, peak) = measure(|| history.skipped(version).ok());
        println!(
            "{name:<26} {:<18} {:>10.1?} {:>10.2} MiB",
            "History::skipped",
            time,
            megabytes(peak)
        );
        let same = match (&positional, &skipped) {
            (Some(a), Some(b)) => {
                if a == b {
                    "the same state"
                } else {
                    "other states"
                }
            }
            (None, None) => "both refused",
            _ => "one refused",
        };
        println!("{:<26} {same}", "");
    }
}
