//! Several nodes, each its own OS process, edit one board through a local `nats-server`.
//!
//! ```sh
//! cargo run -p immer-nats --example nats_board                 # starts its own nats-server
//! cargo run -p immer-nats --example nats_board -- nats://127.0.0.1:4222 5 2000
//! ```
//!
//! Arguments (all optional): the server's URL (without one, the example starts
//! `nats-server -js` on a free loopback port with a temporary store), how many node
//! processes, and how many edits each makes. Each node joins the board, makes its edits as
//! fast as it can, waits for every edit's outcome and reports them; then every node shows
//! its state at the same version, and the example checks that they are all equal.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Instant;

use common::{Board, NatsServer, NodeProcess, Outcomes};
use immer_nats::Config;

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    if common::is_node() {
        Box::pin(common::run_node()).await;
        return Ok(());
    }
    let mut args = std::env::args().skip(1);
    let url = args.next();
    let nodes: u64 = args.next().map_or(Ok(3), |n| n.parse())?;
    let edits: u64 = args.next().map_or(Ok(500), |n| n.parse())?;
    let _server;
    let url = if let Some(url) = url {
        url
    } else {
        let server = NatsServer::start();
        let url = server.url();
        println!("started nats-server -js on {url}");
        _server = server;
        url
    };
    let mut config = Config::default();
    config.stream = format!("BOARD{}", std::process::id());
    let store = common::store(&url, config.clone()).await;
    store.create("board", &Board::default()).await?;
    let program = std::env::current_exe()?;
    let started = Instant::now();
    let mut processes: Vec<NodeProcess> = (1..=nodes)
        .map(|client| NodeProcess::spawn(&program, &url, &config, client, edits, 31 * client))
        .collect();
    let mut accepted = 0;
    for (client, process) in (1..).zip(&mut processes) {
        let report: Outcomes = serde_json::from_str(&process.expect("RESULT").await)?;
        let ok = report.outcomes.values().filter(|o| o.is_ok()).count();
        println!(
            "node {client} (pid {}): {} edits, {ok} accepted, {} dropped",
            process.pid(),
            report.made.len(),
            report.made.len() - ok
        );
        accepted += ok;
    }
    let elapsed = started.elapsed();
    let head = store.document::<Board>("board").client(0).join().await?;
    let version = head.version();
    let mut same = true;
    for process in &mut processes {
        process.say(&format!("final {version}")).await;
        let state: Board = serde_json::from_str(&process.expect("STATE").await)?;
        same &= state == *head.state();
    }
    println!(
        "{nodes} processes: {accepted} edits accepted as {version} changes in {elapsed:.2?}; \
         the board has {} items; every node {} at version {version}",
        head.state().items.len(),
        if same {
            "shows the same board"
        } else {
            "DOES NOT show the same board"
        }
    );
    store.delete("board").await?;
    if same {
        Ok(())
    } else {
        Err("the nodes diverged".into())
    }
}
