//! What a long history costs in memory: 10,000 commits, each changing one item of an
//! `imbl::Vector` of 100,000 todos, all versions retained. Prints the peak resident memory
//! beyond the base. `cargo run --release --example history_memory`

use std::sync::Arc;

use immer::{Draftable, History, Vector};
use serde::{Deserialize, Serialize};

#[path = "common/mod.rs"]
mod common;

use common::{Todo, todo};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    todos: Vector<Todo>,
}

/// A figure from /proc/self/status, in kB (0 where there is no /proc).
fn status_kb(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    const ITEMS: u64 = 100_000;
    const COMMITS: u64 = 10_000;
    let base = Arc::new(Board {
        todos: (0..ITEMS).map(todo).collect(),
    });
    let before = status_kb("VmHWM:");
    let mut history = History::new(Arc::clone(&base));
    let mut seed = 0x2545_F491_4F6C_DD1D_u64;
    for i in 0..COMMITS {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let index = usize::try_from(seed % ITEMS).unwrap_or_default();
        history.commit(None, |d| {
            if let Some(mut todo) = d.todos().get_mut(index) {
                todo.set_text(format!("edit {i}"));
            }
        });
    }
    let after = status_kb("VmHWM:");
    assert_eq!(history.version(), COMMITS);
    // Every version is still reachable.
    for v in [0, COMMITS / 2, COMMITS] {
        history.goto(v).expect("a retained version");
    }
    assert_eq!(history.current().todos.len(), 100_000);
    history.goto(0).expect("the base");
    assert_eq!(**history.current(), *base);
    let patch_bytes: usize = history
        .entries()
        .map(|e| serde_json::to_string(&e.patches).map_or(0, |s| s.len()))
        .sum();
    println!(
        "{{\"commits\":{COMMITS},\"items\":{ITEMS},\"peak_rss_base_kb\":{before},\"peak_rss_after_kb\":{after},\"beyond_base_kb\":{},\"patch_json_bytes\":{patch_bytes}}}",
        after.saturating_sub(before)
    );
}
