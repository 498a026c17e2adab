//! A crate that re-exports immer names it with `#[draft(crate = "...")]`.
mod reexport {
    pub use immer as runtime;
}

use reexport::runtime::{Draftable, produce};
use std::sync::Arc;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[draft(crate = "crate::reexport::runtime")]
struct Todo {
    text: String,
}

fn main() {
    let todo = Arc::new(Todo { text: String::new() });
    let next = produce(&todo, |d| d.set_text("x".into()));
    assert_eq!(next.text, "x");
}
