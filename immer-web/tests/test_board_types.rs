//! The demo board's committed TypeScript types (`clients/js/demo/board.d.ts`) are what
//! `cargo run -p immer-web --example board_types` writes now: renaming a field of the Rust
//! board fails here until the types are generated again. `IMMER_UPDATE_VECTORS=1` rewrites
//! the file instead of failing.

use std::path::Path;

use immer::typescript::Declarations;

#[path = "../examples/common/mod.rs"]
mod common;

#[test]
fn committed_board_types_are_up_to_date() {
    let text = Declarations::new().add::<common::Board>().to_string();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("a member crate lies in the workspace")
        .join("clients/js/demo/board.d.ts");
    if std::env::var_os("IMMER_UPDATE_VECTORS").is_some() {
        std::fs::write(&path, &text).expect("the types file is writable");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == text,
        "{} is stale: the Rust board's types changed; write it again with \
         `cargo run -p immer-web --example board_types -- clients/js/demo/board.d.ts` \
         (or IMMER_UPDATE_VECTORS=1 cargo test -p immer-web --test test_board_types)",
        path.display()
    );
    assert!(text.contains("export type Board = { title: string; todos: Todo[] };"));
    assert!(text.contains("export type Todo = { id: string; text: string; done: boolean };"));
}
