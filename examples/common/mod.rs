//! What several examples share: the todo of the peer workloads, in the shape `bench.js` gives
//! Immer (`{id, text: "todo <i>", done: false, tags: ["a", "b"]}`).

#![allow(dead_code, reason = "each example uses what it needs")]

use immer::Draftable;
use serde::{Deserialize, Serialize};

/// A todo with owned fields: a copy clones its text and tags.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Todo {
    pub(crate) id: u64,
    pub(crate) text: String,
    pub(crate) done: bool,
    pub(crate) tags: Vec<String>,
}

/// The todo numbered `id`, as `bench.js` builds it.
pub(crate) fn todo(id: u64) -> Todo {
    Todo {
        id,
        text: format!("todo {id}"),
        done: false,
        tags: vec!["a".into(), "b".into()],
    }
}
