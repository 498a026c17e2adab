//! Seeded data for the benches: the same structures for the draft and the hand-written code.

#![allow(dead_code, reason = "each bench uses a part of the shared data")]

use std::sync::Arc;

use immer::Draftable;
use serde::{Deserialize, Serialize};

/// Three levels of `Arc`s down to a leaf, with siblings at every level that a write leaves
/// shared.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Root {
    pub(crate) name: String,
    pub(crate) a: Arc<Level1>,
    pub(crate) sibling: Arc<Level1>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Level1 {
    pub(crate) label: String,
    pub(crate) b: Arc<Level2>,
    pub(crate) sibling: Arc<Level2>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Level2 {
    pub(crate) value: u64,
    pub(crate) note: String,
    pub(crate) tags: Vec<String>,
}

fn level2(seed: u64) -> Arc<Level2> {
    Arc::new(Level2 {
        value: seed,
        note: format!("note {seed}"),
        tags: vec!["a".into(), "b".into()],
    })
}

fn level1(seed: u64) -> Arc<Level1> {
    Arc::new(Level1 {
        label: format!("level {seed}"),
        b: level2(seed),
        sibling: level2(seed + 1),
    })
}

/// The three-level tree, seeded.
pub(crate) fn tree(seed: u64) -> Arc<Root> {
    Arc::new(Root {
        name: "root".into(),
        a: level1(seed),
        sibling: level1(seed + 10),
    })
}
