//! The workloads of the oracle's `bench.js`, in Rust: the draft (`"lib":"immer-rs"`) and the
//! same change hand-written with `Arc::make_mut` (`"lib":"handwritten"`) on the same
//! structure. One JSON line per (lib, collection, workload, n), in bench.js's format (the
//! median of 7 runs, in nanoseconds per operation), plus a `"collection"` field.
//!
//! `cargo run --release --example peer_bench -- 1000 10000 100000`
//!
//! Three collections of the same data (`{id, text: "todo <i>", done: false, tags: ["a","b"]}`):
//! - `Vec<Arc<Todo>>`: a std list of shared todos;
//! - `imbl::Vector<Todo>`: a persistent list of todos with `String` and `Vec<String>` fields,
//!   so a path copy clones the 64 todos of a leaf chunk, four allocations each;
//! - `imbl::Vector<SharedTodo>`: the same list with fields that share on copy as JavaScript's
//!   do: an immutable shared string (`Arc<str>`) and a shared list (`Arc<Vec<_>>`), so a
//!   todo's copy is two reference counts, as a JavaScript object's shallow copy is two
//!   pointer copies.

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use immer::{
    Draftable, Patch, Path, PathSegment, Vector, apply_patches, produce, produce_with_patches,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[path = "common/mod.rs"]
mod common;

use common::{Todo, todo};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SharedTodo {
    id: u64,
    text: Arc<str>,
    done: bool,
    tags: Arc<Vec<Arc<str>>>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ListBoard {
    todos: Vec<Arc<Todo>>,
    title: String,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct VectorBoard {
    todos: Vector<Todo>,
    title: String,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SharedBoard {
    todos: Vector<SharedTodo>,
    title: String,
}

fn shared_todo(i: u64) -> SharedTodo {
    SharedTodo {
        id: i,
        text: format!("todo {i}").into(),
        done: false,
        tags: Arc::new(vec!["a".into(), "b".into()]),
    }
}

/// bench.js's `measure`: warm up, then the median of 7 runs of `iters` calls.
fn measure<R>(n: usize, mut f: impl FnMut() -> R) -> u64 {
    let iters = u32::try_from((2_000_000 / n).max(5)).unwrap_or(u32::MAX);
    let mut run = || {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        start.elapsed() / iters
    };
    run();
    let mut runs: Vec<_> = (0..7).map(|_| run()).collect();
    runs.sort();
    u64::try_from(runs[3].as_nanos()).unwrap_or(u64::MAX)
}

fn report(lib: &str, collection: &str, workload: &str, n: usize, ns: u64, patches: Option<usize>) {
    let line = json!({ "lib": lib, "collection": collection, "workload": workload, "n": n, "ns_per_op": ns, "patches": patches });
    println!("{line}");
}

fn todos_path(index: usize) -> Path {
    Path::from(vec![PathSegment::from("todos"), PathSegment::Index(index)])
}

fn done_path(mid: usize) -> Path {
    todos_path(mid).child("done")
}

/// The hand-written apply of the one-patch `update_one` change: the path matched by hand.
fn done_value(patch: &Patch, mid: usize) -> Option<bool> {
    match patch.path.segments() {
        [
            PathSegment::Key(todos),
            PathSegment::Index(i),
            PathSegment::Key(done),
        ] if todos == "todos" && done == "done" && *i == mid => {
            patch.value.as_ref().and_then(serde_json::Value::as_bool)
        }
        _ => None,
    }
}

/// Runs every workload on one board type. The draft code is the same for each; the
/// hand-written twins are given, as they differ by collection.
macro_rules! workloads {
    (
        $n:expr, $collection:expr, $board:ty, $base:expr, $new:expr,
        set_done: |$sd_board:ident, $sd_index:ident, $sd_value:ident| $set_done:expr,
        push: |$p_board:ident, $p_item:ident| $push:expr,
        toggle: |$t_board:ident| $toggle:expr $(,)?
    ) => {{
        let n: usize = $n;
        let c: &str = $collection;
        let base: Arc<$board> = Arc::new($base);
        let mid = n / 2;
        let set_done = |$sd_board: &mut Arc<$board>, $sd_index: usize, $sd_value: bool| $set_done;

        report(
            "immer-rs",
            c,
            "update_one",
            n,
            measure(n, || {
                produce(&base, |d| {
                    if let Some(mut t) = d.todos().get_mut(mid) {
                        t.set_done(true);
                    }
                })
            }),
            None,
        );
        report(
            "handwritten",
            c,
            "update_one",
            n,
            measure(n, || {
                let mut next = Arc::clone(&base);
                set_done(&mut next, mid, true);
                next
            }),
            None,
        );

        report(
            "immer-rs",
            c,
            "push_one",
            n,
            measure(n, || produce(&base, |d| d.todos().push($new))),
            None,
        );
        report(
            "handwritten",
            c,
            "push_one",
            n,
            measure(n, || {
                let mut next = Arc::clone(&base);
                let $p_board = Arc::make_mut(&mut next);
                let $p_item = $new;
                $push;
                next
            }),
            None,
        );

        report(
            "immer-rs",
            c,
            "remove_first",
            n,
            measure(n, || {
                produce(&base, |d| {
                    d.todos().remove(0);
                })
            }),
            None,
        );
        report(
            "handwritten",
            c,
            "remove_first",
            n,
            measure(n, || {
                let mut next = Arc::clone(&base);
                Arc::make_mut(&mut next).todos.remove(0);
                next
            }),
            None,
        );

        if n <= 10_000 {
            report(
                "immer-rs",
                c,
                "toggle_all",
                n,
                measure(n, || {
                    produce(&base, |d| {
                        d.todos().for_each_mut(|_, mut t| {
                            let flipped = !t.done;
                            t.set_done(flipped);
                        });
                    })
                }),
                None,
            );
            report(
                "handwritten",
                c,
                "toggle_all",
                n,
                measure(n, || {
                    let mut next = Arc::clone(&base);
                    let $t_board = Arc::make_mut(&mut next);
                    $toggle;
                    next
                }),
                None,
            );
        }

        let (_, patches, _) = produce_with_patches(&base, |d| {
            if let Some(mut t) = d.todos().get_mut(mid) {
                t.set_done(true);
            }
        });
        report(
            "immer-rs",
            c,
            "update_one_patches",
            n,
            measure(n, || {
                produce_with_patches(&base, |d| {
                    if let Some(mut t) = d.todos().get_mut(mid) {
                        t.set_done(true);
                    }
                })
            }),
            Some(patches.len()),
        );
        report(
            "handwritten",
            c,
            "update_one_patches",
            n,
            measure(n, || {
                let mut next = Arc::clone(&base);
                set_done(&mut next, mid, true);
                (
                    next,
                    vec![Patch::replace(done_path(mid), json!(true))],
                    vec![Patch::replace(done_path(mid), json!(false))],
                )
            }),
            Some(1),
        );

        let (_, removal, _) = produce_with_patches(&base, |d| {
            d.todos().remove(0);
        });
        report(
            "immer-rs",
            c,
            "remove_first_patches",
            n,
            measure(n, || {
                produce_with_patches(&base, |d| {
                    d.todos().remove(0);
                })
            }),
            Some(removal.len()),
        );
        report(
            "handwritten",
            c,
            "remove_first_patches",
            n,
            measure(n, || {
                let mut next = Arc::clone(&base);
                let removed = Arc::make_mut(&mut next).todos.remove(0);
                let inverse = serde_json::to_value(&removed).unwrap_or_default();
                (
                    next,
                    vec![Patch::remove(todos_path(0))],
                    vec![Patch::add(todos_path(0), inverse)],
                )
            }),
            Some(1),
        );

        report(
            "immer-rs",
            c,
            "apply_update_one",
            n,
            measure(n, || apply_patches(&base, &patches)),
            None,
        );
        report(
            "handwritten",
            c,
            "apply_update_one",
            n,
            measure(n, || {
                let mut next = Arc::clone(&base);
                if let Some(value) = done_value(&patches[0], mid) {
                    set_done(&mut next, mid, value);
                }
                next
            }),
            None,
        );
    }};
}

fn main() {
    let sizes: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes = if sizes.is_empty() {
        vec![1_000, 10_000, 100_000]
    } else {
        sizes
    };
    for n in sizes.into_iter().filter(|n| *n > 0) {
        let count = n as u64;
        workloads!(
            n, "Vec<Arc<Todo>>", ListBoard,
            ListBoard { todos: (0..count).map(|i| Arc::new(todo(i))).collect(), title: "board".into() },
            Arc::new(Todo { id: count, text: "new".into(), done: false, tags: Vec::new() }),
            set_done: |board, index, value| Arc::make_mut(&mut Arc::make_mut(board).todos[index]).done = value,
            push: |board, item| board.todos.push(item),
            toggle: |board| for t in &mut board.todos {
                let t = Arc::make_mut(t);
                t.done = !t.done;
            },
        );
        workloads!(
            n, "imbl::Vector<Todo>", VectorBoard,
            VectorBoard { todos: (0..count).map(todo).collect(), title: "board".into() },
            Todo { id: count, text: "new".into(), done: false, tags: Vec::new() },
            set_done: |board, index, value| if let Some(t) = Arc::make_mut(board).todos.get_mut(index) {
                t.done = value;
            },
            push: |board, item| board.todos.push_back(item),
            toggle: |board| for t in &mut board.todos {
                t.done = !t.done;
            },
        );
        workloads!(
            n, "imbl::Vector<SharedTodo>", SharedBoard,
            SharedBoard { todos: (0..count).map(shared_todo).collect(), title: "board".into() },
            SharedTodo { id: count, text: "new".into(), done: false, tags: Arc::default() },
            set_done: |board, index, value| if let Some(t) = Arc::make_mut(board).todos.get_mut(index) {
                t.done = value;
            },
            push: |board, item| board.todos.push_back(item),
            toggle: |board| for t in &mut board.todos {
                t.done = !t.done;
            },
        );
    }
}
