use immer::{Draftable, PathPattern};

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Board {
    todos: Vec<Todo>,
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    done: bool,
}

fn allow(_pattern: impl Into<PathPattern>) {}

fn main() {
    // A struct has fields, not elements.
    allow(immer::path::<Board>().todos().any().any());
    // A list has elements, not fields.
    allow(immer::path::<Board>().todos().done());
}
