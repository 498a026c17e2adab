use immer::{Draftable, PathPattern};

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Board {
    todos: Vec<Todo>,
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    done: bool,
}

/// A rule, as `Policy::allow` takes one.
fn allow(_pattern: impl Into<PathPattern>) {}

fn main() {
    allow(immer::path::<Board>().todos().any().don());
    allow(immer::path!(Board: todos[*].don));
}
