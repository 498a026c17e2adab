//! The typed structural diff beside the `json-patch` crate's `diff` of the two states as
//! `serde_json::Value`s (serialization included): a board of 100,000 todos, two versions that
//! differ in one todo, one run.
//!
//! ```sh
//! cargo run --release --example diff_bench
//! ```

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use immer::{Draftable, Vector, diff, produce};
use serde::{Deserialize, Serialize};

#[path = "common/mod.rs"]
mod common;

use common::{Todo, todo};

const N: u64 = 100_000;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    todos: Vector<Todo>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct PlainBoard {
    title: String,
    todos: Vec<Todo>,
}

fn median(runs: usize, mut f: impl FnMut() -> usize) -> (Duration, usize) {
    let mut out = 0;
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            out = black_box(f());
            start.elapsed()
        })
        .collect();
    times.sort();
    (times[runs / 2], out)
}

fn report<T: Draftable>(name: &str, a: &T, b: &T) {
    let (ours, count) = median(21, || diff(a, b).unwrap().0.len());
    println!("{name}: immer-rs diff             {ours:>12.2?}  {count} patch(es)");
    let (theirs, count) = median(5, || {
        let (ja, jb) = (
            serde_json::to_value(a).unwrap(),
            serde_json::to_value(b).unwrap(),
        );
        json_patch::diff(&ja, &jb).0.len()
    });
    println!("{name}: json-patch diff (+ to_value) {theirs:>12.2?}  {count} patch(es)");
    println!(
        "{name}: ratio {:.0}x",
        theirs.as_secs_f64() / ours.as_secs_f64()
    );
}

fn main() {
    let a = Arc::new(Board {
        title: "board".into(),
        todos: (0..N).map(todo).collect(),
    });
    let b = produce(&a, |d| d.todos().get_mut(70_000).unwrap().set_done(true));
    report("imbl::Vector<Todo>", &*a, &*b);

    let a = Arc::new(PlainBoard {
        title: "board".into(),
        todos: (0..N).map(todo).collect(),
    });
    let b = produce(&a, |d| d.todos().get_mut(70_000).unwrap().set_done(true));
    report("Vec<Todo>", &*a, &*b);
}
