//! The devtools page for a recorded session: the timeline, the state at any version, each
//! change's patches, skip and revert, search, export and import.
//!
//! `cargo run --release -p immer-web --example devtools -- session.jsonl`
//!
//! Without a session it writes the demo's (below) to the temporary directory and shows it.
//!
//! `--demo OUT [ENTRIES ITEMS]` writes a session to look at instead: a board of ITEMS todos
//! (100,000 by default) and ENTRIES changes (10,000) by two authors (ticks, renames, inserts,
//! removals, titles), recorded with a `History`; beside it, `OUT.expected.json` holds values
//! of the history's own states (for the browser test). `--port N` picks the port (0: any
//! free one; 3001 by default); the first line printed is the address. A malformed or
//! truncated session is refused with its line number. Once a session is loaded, the
//! process's resident memory is printed (on Linux), on standard error.
//!
//! The live source is the web board: `cargo run -p immer-web --example web_board` serves
//! these devtools at `/b/<board>/devtools/`, following the board as it is edited.

use std::io::BufReader;

use axum::serve::ListenerExt;
use immer::History;
use immer_web::Devtools;
use serde_json::{Value, json};

mod common;

use common::Board;

/// Writes a demo session and what the history says about it.
fn demo(out: &str, entries: usize, items: usize) -> std::io::Result<()> {
    let (base, history) =
        common::demo_session(entries, items, 1000).map_err(std::io::Error::other)?;
    let mut text = serde_json::to_string(&json!({ "base": &*base, "first": 0 }))?;
    text.push('\n');
    text.push_str(&history.to_log());
    std::fs::write(out, text)?;
    write_expected(out, &history)?;
    println!("wrote {out}: {items} todos, {entries} entries");
    Ok(())
}

/// The history's own states at the first, middle and last versions, and an entry skipped,
/// to check the page against.
fn write_expected(out: &str, history: &History<Board>) -> std::io::Result<()> {
    let newest = history.version();
    let mut expected = serde_json::Map::new();
    for version in [0, newest / 2, newest] {
        let state = history.state_at(version).map_err(std::io::Error::other)?;
        let len = state.todos.len();
        let mut values = serde_json::Map::new();
        for i in [0, 1, len / 2, len - 1] {
            values.insert(format!("/todos/{i}/text"), json!(state.todos[i].text));
            values.insert(format!("/todos/{i}/done"), json!(state.todos[i].done));
        }
        values.insert("/title".to_owned(), json!(state.title));
        expected.insert(version.to_string(), Value::Object(values));
    }
    // An entry that ticked a todo, skipped: the todo's `done` in the newest state.
    let tick = history
        .entries()
        .rev()
        .skip(10)
        .find(|e| e.label.as_deref().is_some_and(|l| l.starts_with("tick")))
        .map(|e| e.version)
        .unwrap_or_default();
    let skipped = history.skipped(tick).map_err(std::io::Error::other)?;
    // The ticked todo, found by id in the newest state.
    let before = history.state_at(tick).map_err(std::io::Error::other)?;
    let ticked = history
        .entries()
        .find(|e| e.version == tick)
        .and_then(|e| {
            e.patches[0]
                .path
                .segments()
                .get(1)
                .and_then(immer::PathSegment::as_index)
        })
        .map(|i| before.todos[i].id.clone());
    let now = history.current();
    let skip = match ticked.and_then(|id| now.todos.iter().position(|t| t.id == id)) {
        Some(index) => json!({
            "entry": tick,
            "path": format!("/todos/{index}/done"),
            "value": skipped.todos[index].done,
            "current": now.todos[index].done,
        }),
        None => Value::Null,
    };
    let expected = json!({ "newest": newest, "versions": expected, "skip": skip });
    std::fs::write(
        format!("{out}.expected.json"),
        serde_json::to_string_pretty(&expected)?,
    )
}

/// The process's resident memory (`VmRSS` in `/proc/self/status`), where the system says.
fn resident_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kilobytes: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(format!("{} MB", kilobytes / 1024))
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--demo") {
        let Some(out) = args.get(1) else {
            eprintln!("usage: devtools --demo OUT [ENTRIES ITEMS]");
            std::process::exit(2);
        };
        let entries = args.get(2).and_then(|a| a.parse().ok()).unwrap_or(10_000);
        let items = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(100_000);
        return demo(out, entries, items);
    }
    let mut file = None;
    let mut port = 3001_u16;
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        match arg.as_str() {
            "--port" => {
                let Some(p) = rest.next().and_then(|p| p.parse().ok()) else {
                    eprintln!("--port needs a number");
                    std::process::exit(2);
                };
                port = p;
            }
            name => file = Some(name.to_owned()),
        }
    }
    // Without a session, the demo's, written to the temporary directory.
    let file = if let Some(file) = file {
        file
    } else {
        let demo_file = std::env::temp_dir().join("immer-devtools-demo.jsonl");
        let demo_file = demo_file.display().to_string();
        demo(&demo_file, 10_000, 100_000)?;
        demo_file
    };
    let reader = BufReader::new(std::fs::File::open(&file)?);
    let devtools = match Devtools::from_session(&file, reader) {
        Ok(devtools) => devtools,
        Err(error) => {
            eprintln!("{file}: refused: {error}");
            std::process::exit(1);
        }
    };
    // What the loaded session holds (Linux): the figure BENCHMARKS.md records.
    if let Some(resident) = resident_memory() {
        eprintln!("{file}: loaded; resident memory {resident}");
    }
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("listening on http://{}", listener.local_addr()?);
    let listener = listener.tap_io(|tcp| {
        let _ = tcp.set_nodelay(true);
    });
    axum::serve(listener, devtools.router())
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
