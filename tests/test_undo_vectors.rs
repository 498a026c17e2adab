//! One undo manager, two languages, the same answers: runs of `immer::sync::UndoManager` for
//! the JavaScript client's port (`clients/js/undo.js`) to replay. Seeded random interleavings
//! of two users' edits, undos, redos and ends of steps over a board, with delayed delivery,
//! batching in half the runs, and a validator that refuses boards of too many todos (so that
//! undos are refused too); for each user, the welcome it started from and each step:
//!
//! - `edit`: the patches its recipe made, the time on the manager's clock, the metadata, and
//!   the id it got;
//! - `undo` / `redo`: what it answered (`{"ok": true, "edit", "metadata", "skipped"}` or
//!   `{"ok": false, "skipped"}`, each skipped step with its reason);
//! - `endStep`; `poll`: what the follower sent; `receive`: the server's messages handed over
//!   together (as the hub writes them);
//! - after each step: the sizes of the two stacks, the undo and redo edits refused, and the
//!   state when it changed.
//!
//! `clients/js/test/undo.test.js` replays every run and asserts the same answers, field for
//! field. This test writes the runs from fixed seeds and checks them against the committed file
//! (`clients/js/test/vectors/undo.json`), which it rewrites only with `IMMER_UPDATE_VECTORS=1`.

#[path = "support/vectors.rs"]
mod vectors;
use vectors::{Rng, check_vectors};

#[path = "support/undo_sim.rs"]
mod undo_sim;
use undo_sim::{Board, Scope, Sim};

use immer::sync::{ToFollower, ToLeader, UndoError, Undone};
use serde_json::{Value, json};

/// The window of the runs, in ms.
const WINDOW: u64 = 100;

fn outcome(result: Result<Undone, UndoError>) -> Value {
    match result {
        Ok(undone) => json!({
            "ok": true,
            "edit": undone.edit,
            "metadata": undone.metadata,
            "skipped": undone.skipped,
        }),
        Err(UndoError::Empty { skipped }) => json!({"ok": false, "skipped": skipped}),
        Err(other) => panic!("an error the port does not know: {other}"),
    }
}

/// A message to the server, as a client of the hub sends it.
fn client_message(message: &ToLeader) -> Option<Value> {
    match message {
        ToLeader::Change(change) => Some(json!({
            "type": "change",
            "id": change.id,
            "base": change.base,
            "patches": change.patches,
        })),
        ToLeader::Resync { version, .. } => Some(json!({"type": "resync", "version": version})),
        _ => None,
    }
}

/// A message from the server, as the hub writes it.
fn server_message(message: &ToFollower<Board>) -> Value {
    let (kind, mut body) = match message {
        ToFollower::Committed(committed) => ("committed", json!(committed)),
        ToFollower::Rejected(rejected) => ("rejected", json!(rejected)),
        other => panic!("a message the runs do not send: {other:?}"),
    };
    body["type"] = json!(kind);
    body
}

/// One seeded run: the trace of each user.
fn run(seed: u64) -> Vec<Value> {
    let mut rng = Rng(seed);
    let batch = if seed % 2 == 0 { 1 } else { 3 };
    let mut sim = Sim::new(batch, WINDOW, true);
    let mut traces: Vec<Value> = (0..2)
        .map(|u| {
            let follower = sim.users[u].follower();
            json!({
                "seed": seed,
                "user": u,
                "batch": batch,
                "window": WINDOW,
                "start": {
                    "session": follower.session(),
                    "version": follower.version(),
                    "state": follower.state(),
                },
                "steps": [],
            })
        })
        .collect();
    let mut shown: Vec<Value> = (0..2).map(|u| json!(sim.users[u].state())).collect();
    for _ in 0..90 {
        let u = rng.index(2);
        let mut step = match rng.below(20) {
            0..=4 => {
                let metadata = (rng.below(3) == 0).then(|| json!({"selection": rng.below(10)}));
                // In half the runs the users edit the first two todos, so that their edits meet.
                let spread = if seed % 4 < 2 { 2 } else { 8 };
                let (choice, at) = (rng.below(64), rng.index(spread));
                let Some(id) = sim.edit(u, choice, at, Scope::Anywhere, metadata.clone()) else {
                    continue;
                };
                let (_, patches) = sim.users[u].follower().pending_changes().last().unwrap();
                json!({"edit": patches, "at": sim.time(), "metadata": metadata, "id": id})
            }
            5..=8 => json!({"undo": outcome(sim.users[u].undo())}),
            9 | 10 => json!({"redo": outcome(sim.users[u].redo())}),
            11 => {
                sim.users[u].end_step();
                json!({"endStep": true})
            }
            12..=14 => {
                let sent: Vec<Value> = sim.send(u).iter().filter_map(client_message).collect();
                json!({ "poll": sent })
            }
            _ => {
                let count = 1 + rng.index(6);
                let received = sim.deliver(u, count);
                if received.is_empty() {
                    continue;
                }
                let received: Vec<Value> = received.iter().map(server_message).collect();
                json!({ "receive": received })
            }
        };
        sim.tick(rng.below(2 * WINDOW));
        let user = &mut sim.users[u];
        step["undo_len"] = json!(user.undo_len());
        step["redo_len"] = json!(user.redo_len());
        step["refused"] = json!(user.take_refused());
        let state = json!(user.state());
        if state != shown[u] {
            step["state"] = state.clone();
            shown[u] = state;
        }
        traces[u]["steps"].as_array_mut().unwrap().push(step);
    }
    traces
}

#[test]
fn the_undo_runs_are_written_for_the_javascript_client() {
    let traces: Vec<Value> = (1..=60).flat_map(|n| run(0x0DD0_2026_0000 + n)).collect();
    // The runs exercise each answer: undos and redos done, skipped for each reason, refused.
    let steps: Vec<&Value> = traces
        .iter()
        .flat_map(|t| t["steps"].as_array().unwrap())
        .collect();
    let count = |f: &dyn Fn(&Value) -> bool| steps.iter().filter(|s| f(s)).count();
    let done = count(&|s| s["undo"]["ok"] == true || s["redo"]["ok"] == true);
    let skipped = |kind: &'static str| {
        move |s: &Value| {
            ["undo", "redo"].iter().any(|k| {
                s[k]["skipped"]
                    .as_array()
                    .is_some_and(|all| all.iter().any(|x| x["reason"]["kind"] == kind))
            })
        }
    };
    let conflicts = count(&skipped("conflict"));
    let nothing_left = count(&skipped("nothingLeft"));
    let refused = count(&|s| s["refused"].as_array().is_some_and(|r| !r.is_empty()));
    eprintln!(
        "{} runs, {} steps: {done} undos and redos done, {conflicts} with a conflict, \
         {nothing_left} with nothing left, {refused} refusals",
        traces.len(),
        steps.len()
    );
    assert!(
        done > 500 && conflicts > 4 && nothing_left > 1 && refused > 10,
        "{done} done, {conflicts} conflicts, {nothing_left} nothing left, {refused} refused"
    );
    check_vectors(
        "clients/js/test/vectors/undo.json",
        "Runs of immer::sync::UndoManager, written by tests/test_undo_vectors.rs",
        "traces",
        json!(traces),
        "cargo test --test test_undo_vectors",
    );
}
