use immer::Draftable;
use std::time::Duration;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Timer {
    elapsed: Duration,
}

fn main() {}
