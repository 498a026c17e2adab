use immer::{Draftable, produce};
use std::sync::Arc;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    #[draft(lef)]
    text: String,
}

fn main() {
    // One message, at the attribute: the fallback impl keeps `Todo: Draftable` true here.
    let todo = Arc::new(Todo { text: String::new() });
    let _ = produce(&todo, |_| {});
}
