//! The workloads of the oracle's `bench.js`, in Rust: the draft (`"lib":"immer-rs"`) and the
//! same change hand-written with `Arc::make_mut` (`"lib":"handwritten"`), on `Vec<Arc<Todo>>`
//! and on `imbl::Vector<Todo>`. One JSON line per (lib, collection, workload, n), in bench.js's
//! format: the median of 7 runs, in nanoseconds per operation.
//!
//! `cargo run --release --example peer_bench -- 1000 10000 100000`

use std::hint::black_box;
use std::sync::Arc;
use std::time::Instant;

use immer::{
    Draftable, Patch, Path, PathSegment, Vector, apply_patches, produce, produce_with_patches,
};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: u64,
    text: String,
    done: bool,
    tags: Vec<String>,
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

fn todo(i: u64) -> Todo {
    Todo {
        id: i,
        text: format!("todo {i}"),
        done: false,
        tags: vec!["a".into(), "b".into()],
    }
}

fn new_todo(n: u64) -> Todo {
    Todo {
        id: n,
        text: "new".into(),
        done: false,
        tags: Vec::new(),
    }
}

/// bench.js's `measure`: warm up, then the median of 7 runs of `iters` calls.
fn measure<R>(n: usize, mut f: impl FnMut() -> R) -> u64 {
    let iters = (2_000_000 / n).max(5);
    let mut run = || {
        let start = Instant::now();
        for _ in 0..iters {
            black_box(f());
        }
        start.elapsed().as_nanos() as f64 / iters as f64
    };
    run();
    let mut runs: Vec<f64> = (0..7).map(|_| run()).collect();
    runs.sort_by(f64::total_cmp);
    runs[3].round() as u64
}

fn report(lib: &str, collection: &str, workload: &str, n: usize, ns: u64, patches: Option<usize>) {
    let line = json!({ "lib": lib, "collection": collection, "workload": workload, "n": n, "ns_per_op": ns, "patches": patches });
    println!("{line}");
}

fn done_path(mid: usize) -> Path {
    Path::from(vec![
        PathSegment::from("todos"),
        PathSegment::Index(mid),
        PathSegment::from("done"),
    ])
}

/// The hand-written apply of the one-patch `update_one` change: the path matched by hand.
fn apply_done_by_hand<F: FnOnce(&mut bool)>(patch: &Patch, mid: usize, set: F) -> bool {
    let value = patch.value.as_ref().and_then(serde_json::Value::as_bool);
    match (patch.path.segments(), value) {
        (
            [
                PathSegment::Key(todos),
                PathSegment::Index(i),
                PathSegment::Key(done),
            ],
            Some(mut v),
        ) if todos == "todos" && done == "done" && *i == mid => {
            set(&mut v);
            true
        }
        _ => false,
    }
}

fn list_workloads(n: usize) {
    let base = Arc::new(ListBoard {
        todos: (0..n as u64).map(|i| Arc::new(todo(i))).collect(),
        title: "board".into(),
    });
    let mid = n / 2;
    let c = "Vec<Arc<Todo>>";

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
            Arc::make_mut(&mut Arc::make_mut(&mut next).todos[mid]).done = true;
            next
        }),
        None,
    );

    report(
        "immer-rs",
        c,
        "push_one",
        n,
        measure(n, || {
            produce(&base, |d| d.todos().push(Arc::new(new_todo(n as u64))))
        }),
        None,
    );
    report(
        "handwritten",
        c,
        "push_one",
        n,
        measure(n, || {
            let mut next = Arc::clone(&base);
            Arc::make_mut(&mut next)
                .todos
                .push(Arc::new(new_todo(n as u64)));
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
                for t in &mut Arc::make_mut(&mut next).todos {
                    let t = Arc::make_mut(t);
                    t.done = !t.done;
                }
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
            Arc::make_mut(&mut Arc::make_mut(&mut next).todos[mid]).done = true;
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
            let path = Path::from(vec![PathSegment::from("todos"), PathSegment::Index(0)]);
            (
                next,
                vec![Patch::remove(path.clone())],
                vec![Patch::add(
                    path,
                    serde_json::to_value(&*removed).unwrap_or_default(),
                )],
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
            apply_done_by_hand(&patches[0], mid, |v| {
                Arc::make_mut(&mut Arc::make_mut(&mut next).todos[mid]).done = *v
            });
            next
        }),
        None,
    );
}

fn vector_workloads(n: usize) {
    let base = Arc::new(VectorBoard {
        todos: (0..n as u64).map(todo).collect(),
        title: "board".into(),
    });
    let mid = n / 2;
    let c = "imbl::Vector<Todo>";

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
            if let Some(t) = Arc::make_mut(&mut next).todos.get_mut(mid) {
                t.done = true;
            }
            next
        }),
        None,
    );

    report(
        "immer-rs",
        c,
        "push_one",
        n,
        measure(n, || produce(&base, |d| d.todos().push(new_todo(n as u64)))),
        None,
    );
    report(
        "handwritten",
        c,
        "push_one",
        n,
        measure(n, || {
            let mut next = Arc::clone(&base);
            Arc::make_mut(&mut next).todos.push_back(new_todo(n as u64));
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
                for t in Arc::make_mut(&mut next).todos.iter_mut() {
                    t.done = !t.done;
                }
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
            if let Some(t) = Arc::make_mut(&mut next).todos.get_mut(mid) {
                t.done = true;
            }
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
            let path = Path::from(vec![PathSegment::from("todos"), PathSegment::Index(0)]);
            (
                next,
                vec![Patch::remove(path.clone())],
                vec![Patch::add(
                    path,
                    serde_json::to_value(&removed).unwrap_or_default(),
                )],
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
            apply_done_by_hand(&patches[0], mid, |v| {
                if let Some(t) = Arc::make_mut(&mut next).todos.get_mut(mid) {
                    t.done = *v;
                }
            });
            next
        }),
        None,
    );
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
        list_workloads(n);
        vector_workloads(n);
    }
}
