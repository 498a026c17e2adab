//! Writes the demo board's TypeScript types (`Board` and `Todo` of `common`, through
//! `#[derive(TypeScript)]`) to a `.d.ts` file, or to stdout without an argument. The React
//! demo board imports them from `clients/js/demo/board.d.ts`, which
//! `immer-web/tests/test_board_types.rs` checks is what this command writes now.
//!
//! ```sh
//! cargo run -p immer-web --example board_types -- clients/js/demo/board.d.ts
//! cargo run -p immer-web --example board_types                # to stdout
//! ```

use std::process::ExitCode;

use immer::typescript::Declarations;

mod common;

fn main() -> ExitCode {
    let text = Declarations::new().add::<common::Board>().to_string();
    match std::env::args_os().nth(1) {
        None => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Some(path) => match std::fs::write(&path, text) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!(
                    "cannot write {}: {error}",
                    std::path::Path::new(&path).display()
                );
                ExitCode::FAILURE
            }
        },
    }
}
