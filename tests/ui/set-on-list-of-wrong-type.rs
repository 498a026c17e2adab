use immer::produce;
use std::sync::Arc;

fn main() {
    let list = Arc::new(vec![1_u32, 2]);
    produce(&list, |d| d.push("three"));
}
