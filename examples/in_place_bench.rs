//! Recording in place, side by side with morphix (`#[derive(Observe)]`, `observe!`), the
//! peer that mutates in place and logs: the same `Vec` of 100,000 todos, the same changes,
//! one run. Also the snapshot form (`produce_with_patches` on an `Arc`) for reference.
//!
//! ```sh
//! cargo run --release --example in_place_bench
//! ```
//!
//! Prints, per workload, the median time per change, the patches (or mutations) and the
//! size of their JSON.

#![allow(
    unsafe_code,
    clippy::cast_lossless,
    reason = "morphix's derive expands to unsafe blocks and casts"
)]

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use immer::{Draftable, produce_with_patches, record_in_place};
use morphix::adapter::Json;
use morphix::{Mutation, MutationKind, Observe, observe};
use serde::{Deserialize, Serialize};

#[path = "common/mod.rs"]
mod common;

use common::{Todo, todo};

const N: usize = 100_000;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    todos: Vec<Todo>,
}

/// The same board for morphix, whose derive is its own.
#[derive(Clone, Debug, PartialEq, Serialize, Observe)]
struct MxTodo {
    id: u64,
    text: String,
    done: bool,
    tags: Vec<String>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Observe)]
struct MxBoard {
    todos: Vec<MxTodo>,
}

fn board() -> Board {
    Board {
        todos: (0..N as u64).map(todo).collect(),
    }
}

fn mx_board() -> MxBoard {
    MxBoard {
        todos: (0..N as u64)
            .map(|id| MxTodo {
                id,
                text: format!("todo {id}"),
                done: false,
                tags: vec!["a".into(), "b".into()],
            })
            .collect(),
    }
}

/// The median of `runs` timings of `f`, each given a fresh input from `setup` (untimed).
fn median<S, R>(runs: usize, mut setup: impl FnMut() -> S, mut f: impl FnMut(S) -> R) -> Duration {
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let input = setup();
            let start = Instant::now();
            let out = black_box(f(input));
            let elapsed = start.elapsed();
            drop(out); // untimed, like the setup
            elapsed
        })
        .collect();
    times.sort();
    times[runs / 2]
}

/// The mutations morphix logged: how many, and the bytes of the JSON values they carry.
fn mutation_size(mutation: Option<&Mutation<serde_json::Value>>) -> (usize, usize) {
    let Some(mutation) = mutation else {
        return (0, 0);
    };
    match &mutation.kind {
        MutationKind::Replace(value) | MutationKind::Append(value) => (1, value.to_string().len()),
        MutationKind::Batch(all) => all.iter().fold((0, 0), |(n, b), m| {
            let (n2, b2) = mutation_size(Some(m));
            (n + n2, b + b2)
        }),
        _ => (1, 0),
    }
}

fn show(name: &str, time: Duration, changes: usize, json_bytes: usize) {
    println!("{name:<44} {time:>12.2?}  {changes} patch(es), {json_bytes} bytes of JSON");
}

fn main() {
    let middle = N / 2;

    // update_one: flip one todo's `done`.
    println!("update_one (todos[{middle}].done), n = {N}");
    let mut state = board();
    let mut flip = false;
    let mut last: Vec<immer::Patch> = Vec::new();
    let mut last_mx: Option<Mutation<serde_json::Value>> = None;
    let t = median(
        101,
        || (),
        |()| {
            flip = !flip;
            let (patches, _inverse) = record_in_place(&mut state, |d| {
                d.todos().get_mut(middle).unwrap().set_done(flip);
            });
            last.clone_from(&patches);
            patches
        },
    );
    show(
        "immer-rs record_in_place",
        t,
        last.len(),
        serde_json::to_string(&last).unwrap().len(),
    );

    let mut mx = mx_board();
    let t = median(
        101,
        || (),
        |()| {
            flip = !flip;
            let Json(mutation) = observe!(mx => { mx.todos[middle].done = flip; }).unwrap();
            last_mx.clone_from(&mutation);
            mutation
        },
    );
    let (count, bytes) = mutation_size(last_mx.as_ref());
    show("morphix observe!", t, count, bytes);

    let snapshot = Arc::new(board());
    let t = median(
        101,
        || (),
        |()| {
            flip = !flip;
            let (next, patches, _) = produce_with_patches(&snapshot, |d| {
                d.todos().get_mut(middle).unwrap().set_done(flip);
            });
            last.clone_from(&patches);
            (next, patches)
        },
    );
    show(
        "immer-rs produce_with_patches (Arc, Vec copy)",
        t,
        last.len(),
        serde_json::to_string(&last).unwrap().len(),
    );

    // remove_first: remove todos[0] (the list is rebuilt, untimed, before each run).
    println!("remove_first (todos.remove(0)), n = {N}");
    let t = median(11, board, |mut state| {
        let (patches, _inverse) = record_in_place(&mut state, |d| {
            d.todos().remove(0);
        });
        last.clone_from(&patches);
        (state, patches)
    });
    show(
        "immer-rs record_in_place",
        t,
        last.len(),
        serde_json::to_string(&last).unwrap().len(),
    );

    let t = median(11, mx_board, |mut mx| {
        let Json(mutation) = observe!(mx => { mx.todos.remove(0); }).unwrap();
        last_mx.clone_from(&mutation);
        (mx, mutation)
    });
    let (count, bytes) = mutation_size(last_mx.as_ref());
    show("morphix observe!", t, count, bytes);
}
