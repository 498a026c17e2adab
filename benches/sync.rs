//! Leader throughput: changes received, moved, applied, logged, and their broadcast written as
//! JSON, on a state with an `imbl::Vector` of 100,000 items.

#![allow(
    missing_docs,
    reason = "criterion's macros generate the bench entry points"
)]

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use immer::sync::{Change, Leader, ToLeader};
use immer::{Draftable, Patch, Path, PathSegment, Vector};
use serde::{Deserialize, Serialize};
use serde_json::json;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    items: Vector<Item>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u64,
    text: Arc<str>,
    votes: u32,
}

const ITEMS: u64 = 100_000;

fn board() -> Arc<Board> {
    Arc::new(Board {
        items: (0..ITEMS)
            .map(|id| Item {
                id,
                text: format!("item {id}").into(),
                votes: 0,
            })
            .collect(),
    })
}

/// A change from `session` voting on item `index`, against `base`.
fn vote(session: u64, id: u64, base: u64, index: u64) -> ToLeader {
    let path = Path::from(vec![
        PathSegment::from("items"),
        PathSegment::Index(usize::try_from(index).unwrap_or(0)),
        PathSegment::from("votes"),
    ]);
    ToLeader::Change(Change {
        author: None,
        client: session,
        session,
        id,
        base,
        patches: vec![Patch::replace(path, json!(1))],
    })
}

fn leader_throughput(c: &mut Criterion) {
    let mut group = c.benchmark_group("leader");
    group.throughput(Throughput::Elements(1));
    for (name, lag) in [("fresh_change", 0_u64), ("change_10_versions_behind", 10)] {
        let mut leader = Leader::new(board());
        let (one, two) = (leader.join(1).session, leader.join(2).session);
        let mut id = 0_u64;
        // Versions for the lagging changes to move through.
        for i in 0..lag {
            leader.receive(vote(two, i + 1, leader.version(), i * 7));
        }
        group.bench_function(name, |b| {
            b.iter(|| {
                id += 1;
                let base = leader.version().saturating_sub(lag);
                let index = (id * 7_919) % ITEMS;
                let out = leader.receive(vote(one, id, base, index));
                // The broadcast, written once for every follower.
                black_box(serde_json::to_string(&out[0].message).unwrap_or_default())
            });
        });
    }
    group.finish();
}

criterion_group!(benches, leader_throughput);
criterion_main!(benches);
