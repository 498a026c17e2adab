use immer::{Draftable, produce};
use std::sync::Arc;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    text: String,
    done: bool,
}

fn main() {
    let todo = Arc::new(Todo { text: String::new(), done: false });
    produce(&todo, |d| d.set_done("yes"));
}
