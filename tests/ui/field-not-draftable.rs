use immer::Draftable;
use std::ops::Range;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Selection {
    span: Range<u32>,
}

fn main() {}
