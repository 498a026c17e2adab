use immer::{Draftable, produce};
use std::sync::Arc;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Page {
    title: String,
    #[draft(skip)]
    cache: u64,
}

fn main() {
    let page = Arc::new(Page { title: String::new(), cache: 0 });
    produce(&page, |d| d.set_cache(1));
}
