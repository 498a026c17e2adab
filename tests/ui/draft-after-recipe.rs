use immer::{Draftable, produce};
use std::sync::Arc;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    text: String,
}

fn main() {
    let todo = Arc::new(Todo { text: String::new() });
    let mut kept = None;
    produce(&todo, |d| kept = Some(d.text()));
    kept.unwrap().set("late".into());
}
