//! One follower, two languages, the same answers: traces of `immer::sync::Follower` for the
//! JavaScript client's port (`clients/js/follower.js`) to replay. A seeded simulation (the
//! network of `tests/test_sync.rs`: messages lost, duplicated, reordered and delayed,
//! partitions, crashes and rejoins, compaction while edits wait, so that followers take
//! snapshots; half the runs batched; a validator and an authorizer that refuse some changes)
//! records, for every life of every follower, what it was told and what it answered:
//!
//! - `start`: the welcome it started from, as the hub writes it (`ServerMessage::Welcome`);
//! - each step: an edit (the patches its recipe recorded, and the id it got), a `poll` (what
//!   it sent, as a client of the hub sends it: `ClientMessage`), or a `receive` of messages
//!   that arrived together (as the hub sends them: `ServerMessage`, handed to the follower by
//!   `ServerMessage::into_follower_message`, in one `receive_all`);
//! - after each step: the events it produced, its version, how many edits wait, whether it
//!   is settled, and its state when that changed.
//!
//! `clients/js/test/traces.test.js` replays every trace with `follower.js` and asserts the same
//! events, field for field, the same messages sent, and the same states; it also checks every
//! message, event and reason of the traces against the types of `clients/js/index.d.ts`. This
//! test writes the traces from fixed seeds and checks them against the committed file
//! (`clients/js/test/vectors/follower.json`), which it rewrites only with
//! `IMMER_UPDATE_VECTORS=1`: a stale file fails instead of being rewritten silently.

#[path = "../../tests/support/vectors.rs"]
mod vectors;
use vectors::check_vectors;

use std::collections::BTreeMap;
use std::sync::Arc;

use immer::sync::{
    Answered, ClientId, Committed, DropReason, Follower, FollowerEvent, Leader, Outcome, Recipient,
    RejectReason, Rejected, SessionId, Snapshot, ToFollower, ToLeader,
};
use immer::{Conflict, Draftable, Patch, PatchDraft, Path, Vector};
use immer_web::protocol::{ClientMessage, ServerMessage};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    items: Vector<Item>,
    meta: Meta,
    labels: BTreeMap<String, u64>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u64,
    counter: u64,
    note: String,
    tags: Vec<String>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    title: String,
    counter: u64,
}

fn item(id: u64) -> Item {
    Item {
        id,
        counter: id % 3,
        note: String::new(),
        tags: Vec::new(),
    }
}

fn board(n: u64) -> Board {
    Board {
        title: "b".into(),
        items: (0..n).map(item).collect(),
        meta: Meta {
            title: "t".into(),
            counter: 0,
        },
        labels: [("k0".to_owned(), 0), ("k1".to_owned(), 0)].into(),
    }
}

/// The most items a state may have: the validator refuses more.
const MAX_ITEMS: usize = 8;
/// The client that may not write `meta`: the authorizer refuses it.
const NO_META: ClientId = 3;

/// A small deterministic generator (xorshift64).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        if n == 0 { 0 } else { self.next() % n }
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
    fn index(&mut self, len: usize) -> usize {
        usize::try_from(self.below(len as u64)).unwrap_or(0)
    }
}

/// A random edit of one to three steps through the draft, on a state that was `before` when
/// it began (a step whose index is gone by then does nothing). Every value it writes is
/// fresh (`fresh` counts them), so that edits can be told apart.
fn random_edit(rng: &mut Rng, fresh: &mut u64, before: &Board, d: &mut PatchDraft<'_, '_, Board>) {
    let steps = match rng.below(10) {
        0 => 3,
        1 | 2 => 2,
        _ => 1,
    };
    let len = before.items.len();
    for _ in 0..steps {
        *fresh += 1;
        let value = *fresh;
        let text = format!("m{value}");
        let i = rng.index(len.max(1));
        match rng.below(24) {
            0..=2 => {
                if let Some(mut item) = d.items().get_mut(i) {
                    item.set_counter(value);
                }
            }
            3 | 4 => {
                if let Some(mut item) = d.items().get_mut(i) {
                    item.set_note(text);
                }
            }
            5 => {
                let at = rng.index(3);
                if let Some(mut item) = d.items().get_mut(i) {
                    item.tags().insert(at, text).ok();
                }
            }
            6 => {
                let at = rng.index(2);
                if let Some(mut item) = d.items().get_mut(i) {
                    item.tags().remove(at);
                }
            }
            7 => {
                if let Some(mut item) = d.items().get_mut(i) {
                    item.set_tags(vec![text, format!("n{value}")]);
                }
            }
            8..=10 => {
                d.items().insert(rng.index(len + 1), item(value)).ok();
            }
            11 | 12 => {
                d.items().remove(i);
            }
            13 => {
                d.items().swap(i, rng.index(len.max(1)));
            }
            14 => {
                let to = rng.index(len.max(1));
                let mut items = d.items();
                if let Some(moving) = items.remove(i) {
                    items.insert(to, moving).ok();
                }
            }
            15 => {
                d.items().set(i, item(value)).ok();
            }
            16 => match rng.below(5) {
                0 => d.items().reverse(),
                1 => d.items().sort_by_key(|item| item.counter),
                2 => d.items().truncate(len / 2),
                3 => {
                    let mut items: Vec<Item> = before.items.iter().rev().cloned().collect();
                    items.truncate(3);
                    items.push(item(value));
                    d.set_items(items.into_iter().collect());
                }
                _ => d.items().clear(),
            },
            17 | 18 => {
                d.labels().insert(format!("k{}", rng.below(4)), value);
            }
            19 => {
                d.labels().remove(&format!("k{}", rng.below(4)));
            }
            20 => d.set_title(text),
            21 => d.meta().set_title(text),
            22 => d.meta().set_counter(value),
            _ => d.set_meta(Meta {
                title: text,
                counter: value,
            }),
        }
    }
}

/// A message on the wire, as JSON: to the leader from a node, or to a node's session (`None`:
/// to the node while it joins).
enum Wire {
    ToLeader(usize, String),
    ToNode(usize, Option<SessionId>, String),
}

impl Wire {
    fn node(&self) -> usize {
        match self {
            Wire::ToLeader(node, _) | Wire::ToNode(node, _, _) => *node,
        }
    }
}

/// The messages in flight, each due at a tick: loss, duplication, reordering and delay while
/// `faulty`, and no traffic to or from a node cut off by a partition (as in
/// `tests/test_sync.rs`).
struct Network {
    queue: Vec<(u64, u64, Wire)>,
    sequence: u64,
    faulty: bool,
    cut_until: Vec<u64>,
}

impl Network {
    fn cut(&self, node: usize, now: u64) -> bool {
        self.cut_until.get(node).is_some_and(|until| now < *until)
    }

    fn send(&mut self, rng: &mut Rng, now: u64, wire: Wire) {
        if self.cut(wire.node(), now) || (self.faulty && rng.chance(20)) {
            return;
        }
        let delay = if self.faulty { 1 + rng.below(8) } else { 1 };
        if self.faulty && rng.chance(10) {
            let copy = match &wire {
                Wire::ToLeader(n, s) => Wire::ToLeader(*n, s.clone()),
                Wire::ToNode(n, session, s) => Wire::ToNode(*n, *session, s.clone()),
            };
            self.sequence += 1;
            self.queue
                .push((now + 1 + rng.below(8), self.sequence, copy));
        }
        self.sequence += 1;
        self.queue.push((now + delay, self.sequence, wire));
    }

    fn due(&mut self, now: u64) -> Vec<Wire> {
        let (mut due, rest): (Vec<_>, Vec<_>) =
            self.queue.drain(..).partition(|(at, _, _)| *at <= now);
        self.queue = rest;
        due.sort_by_key(|(at, seq, _)| (*at, *seq));
        due.into_iter()
            .map(|(_, _, wire)| wire)
            .filter(|wire| !self.cut(wire.node(), now))
            .collect()
    }
}

/// One life of one node: the follower and what it went through.
struct Life {
    follower: Follower<Board>,
    trace: Value,
    steps: Vec<Value>,
    /// The state last written to the trace.
    shown: Value,
}

impl Life {
    fn new(seed: u64, node: usize, batch: usize, welcome: immer::sync::Welcome<Board>) -> Self {
        let start = ServerMessage::Welcome {
            session: welcome.session,
            user: format!("client {}", welcome.client),
            role: Value::Null,
            version: welcome.snapshot.version,
            state: Some(welcome.snapshot.state.clone()),
            resumed: false,
        };
        let shown = serde_json::to_value(&welcome.snapshot.state).unwrap();
        Life {
            follower: Follower::new(welcome).with_batch(batch),
            trace: json!({"seed": seed, "node": node, "batch": batch, "start": start}),
            steps: Vec::new(),
            shown,
        }
    }

    /// Writes a step: `step` with the events produced, the version, the edits waiting,
    /// whether it is settled, and the state when it changed.
    fn record(&mut self, mut step: Value) {
        let events = self.follower.take_events();
        let state = serde_json::to_value(&**self.follower.state()).unwrap();
        step["events"] = serde_json::to_value(&events).unwrap();
        step["version"] = json!(self.follower.version());
        step["pending"] = json!(self.follower.pending_count());
        step["settled"] = json!(self.follower.is_settled());
        if state != self.shown {
            step["state"] = state.clone();
            self.shown = state;
        }
        self.steps.push(step);
    }

    fn finish(mut self) -> Value {
        self.trace["steps"] = Value::Array(self.steps);
        self.trace
    }
}

/// One node: its client, its current life, or none while it (re)joins with `nonce`.
struct Node {
    client: ClientId,
    life: Option<Life>,
    nonce: u64,
}

/// One seeded run; returns the traces of every life of every node.
#[allow(
    clippy::too_many_lines,
    reason = "one run, tick by tick, as tests/test_sync.rs writes its own"
)]
fn simulate(seed: u64) -> Vec<Value> {
    let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let nodes = 2 + rng.index(3);
    let edits = 20 + rng.below(25);
    let compacts = rng.chance(60);
    let batch = if rng.chance(50) { 1 } else { 2 + rng.index(4) };
    let mut leader = Leader::new(Arc::new(board(2 + rng.below(5))))
        .with_validator(|_, next: &Board, _| {
            if next.items.len() > MAX_ITEMS {
                Err(format!("{} items", next.items.len()))
            } else {
                Ok(())
            }
        })
        .with_authorizer(|client, patches| {
            match patches
                .iter()
                .find(|p| client == NO_META && p.path.to_pointer().starts_with("/meta"))
            {
                Some(patch) => Err(patch.path.clone()),
                None => Ok(()),
            }
        });
    let mut nodes: Vec<Node> = (1..=nodes as u64)
        .map(|client| Node {
            client,
            life: None,
            nonce: 0,
        })
        .collect();
    for (at, node) in nodes.iter_mut().enumerate() {
        node.life = Some(Life::new(seed, at, batch, leader.join(node.client)));
    }
    let mut net = Network {
        queue: Vec::new(),
        sequence: 0,
        faulty: true,
        cut_until: vec![0; nodes.len()],
    };
    let mut traces = Vec::new();
    let mut fresh = 1_000;
    let mut made = 0;
    let mut settled = false;
    for now in 0..5_000_u64 {
        if made < edits {
            let who = rng.index(nodes.len());
            let burst = if rng.chance(3) { 8 } else { 1 };
            if rng.chance(40) {
                for _ in 0..burst {
                    made += 1;
                    let Some(life) = nodes[who].life.as_mut() else {
                        break;
                    };
                    let before = Board::clone(life.follower.state());
                    let Some(id) = life
                        .follower
                        .edit(|d| random_edit(&mut rng, &mut fresh, &before, d))
                    else {
                        continue;
                    };
                    let (last, patches) = life.follower.pending_edits().last().unwrap();
                    assert_eq!(last, id);
                    let step = json!({"edit": patches, "id": id});
                    life.record(step);
                }
            }
            if rng.chance(1) {
                let at = rng.index(nodes.len());
                net.cut_until[at] = now + 20 + rng.below(60);
            }
            if rng.chance(1) {
                // A crash: the life ends with whatever it had not sent; the node joins again.
                let at = rng.index(nodes.len());
                if let Some(life) = nodes[at].life.take() {
                    traces.push(life.finish());
                    nodes[at].nonce = rng.next();
                }
            }
        } else {
            net.faulty = false;
            net.cut_until.fill(0);
        }
        // Nodes send on a timer: what the follower polls, or a join.
        for (at, node) in nodes.iter_mut().enumerate() {
            if net.faulty && !rng.chance(30) {
                continue;
            }
            let messages = match node.life.as_mut() {
                Some(life) => {
                    let messages = life.follower.poll();
                    let sent: Vec<ClientMessage> = messages
                        .iter()
                        .cloned()
                        .filter_map(ClientMessage::from_leader_message)
                        .collect();
                    life.record(json!({"poll": sent}));
                    messages
                }
                None => vec![ToLeader::Join {
                    client: node.client,
                    nonce: node.nonce,
                }],
            };
            for message in messages {
                let text = serde_json::to_string(&message).unwrap();
                net.send(&mut rng, now, Wire::ToLeader(at, text));
            }
        }
        if compacts && rng.chance(5) {
            let keep = rng.below(4);
            leader.compact(leader.version().saturating_sub(keep));
        }
        // Delivery: messages due to one node one after another arrive together.
        let mut due = net.due(now).into_iter().peekable();
        while let Some(wire) = due.next() {
            match wire {
                Wire::ToLeader(from, text) => {
                    let message: ToLeader = serde_json::from_str(&text).unwrap();
                    for out in leader.receive(message) {
                        let message = match out.message {
                            ToFollower::Welcome(welcome) => {
                                let text = serde_json::to_string(&welcome).unwrap();
                                net.send(&mut rng, now, Wire::ToNode(from, None, text));
                                continue;
                            }
                            message => ServerMessage::from_leader_message(message).unwrap(),
                        };
                        let text = serde_json::to_string(&message).unwrap();
                        // To the sessions it is for, as the hub sends it to their connections.
                        let targets: Vec<(usize, SessionId)> = nodes
                            .iter()
                            .enumerate()
                            .filter_map(|(at, node)| {
                                let session = node.life.as_ref()?.follower.session();
                                let to = match out.to {
                                    Recipient::All => true,
                                    Recipient::Session(s) => s == session,
                                    Recipient::Sender => at == from,
                                };
                                to.then_some((at, session))
                            })
                            .collect();
                        for (at, session) in targets {
                            net.send(&mut rng, now, Wire::ToNode(at, Some(session), text.clone()));
                        }
                    }
                }
                Wire::ToNode(to, None, text) => {
                    let node = &mut nodes[to];
                    let welcome: immer::sync::Welcome<Board> = serde_json::from_str(&text).unwrap();
                    if node.life.is_none() && welcome.nonce == node.nonce {
                        node.life = Some(Life::new(seed, to, batch, welcome));
                    }
                }
                Wire::ToNode(to, Some(session), text) => {
                    let mut texts = vec![text];
                    while let Some(Wire::ToNode(next, Some(s), _)) = due.peek() {
                        if *next != to || *s != session {
                            break;
                        }
                        let Some(Wire::ToNode(_, _, text)) = due.next() else {
                            unreachable!()
                        };
                        texts.push(text);
                    }
                    // Now and then a committed change arrives corrupt (it removes an element
                    // that is not there): the follower says it diverged, asks for a snapshot,
                    // and drops the edits nothing can move through what it skips.
                    for text in &mut texts {
                        if rng.chance(1) && text.starts_with(r#"{"type":"committed""#) {
                            let mut corrupt: Value = serde_json::from_str(text).unwrap();
                            corrupt["patches"] = json!([{"op": "remove", "path": ["items", 99]}]);
                            *text = corrupt.to_string();
                        }
                    }
                    // A connection that closed takes nothing more.
                    let Some(life) = nodes[to]
                        .life
                        .as_mut()
                        .filter(|life| life.follower.session() == session)
                    else {
                        continue;
                    };
                    let messages: Vec<ServerMessage<Board>> = texts
                        .iter()
                        .map(|text| serde_json::from_str(text).unwrap())
                        .collect();
                    let shown: Vec<Value> = texts
                        .iter()
                        .map(|text| serde_json::from_str(text).unwrap())
                        .collect();
                    life.follower.receive_all(
                        messages
                            .into_iter()
                            .filter_map(ServerMessage::into_follower_message),
                    );
                    life.record(json!({"receive": shown}));
                }
            }
        }
        let quiet = !net.faulty
            && nodes.iter().all(|node| {
                node.life.as_ref().is_some_and(|life| {
                    life.follower.is_settled() && life.follower.version() == leader.version()
                })
            });
        if quiet {
            settled = true;
            break;
        }
    }
    assert!(settled, "seed {seed} did not settle");
    for node in nodes {
        let life = node.life.expect("joined");
        assert_eq!(life.follower.state(), leader.state(), "seed {seed}");
        traces.push(life.finish());
    }
    traces
}

/// The seeds recorded: the first ones, and three whose runs drop an edit that no longer
/// applies to its author's state (`doesNotApply`, a few in 2,000 runs).
fn seeds() -> impl Iterator<Item = u64> {
    (1..=26).chain([221, 431, 577])
}

#[test]
fn the_follower_traces_are_written_for_the_javascript_client() {
    let mut traces = Vec::new();
    for seed in seeds() {
        traces.extend(simulate(seed));
    }
    // What the traces hold: every kind of event and reason, and messages of every type.
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut count = |what: String| *seen.entry(what).or_default() += 1;
    let mut steps = 0;
    for trace in &traces {
        for step in trace["steps"].as_array().unwrap() {
            steps += 1;
            for event in step["events"].as_array().unwrap() {
                let kind = event["type"].as_str().unwrap();
                match event["reason"]["kind"].as_str() {
                    Some("rejected") => {
                        let reason = event["reason"]["reason"].as_object().unwrap();
                        count(format!(
                            "dropped rejected {}",
                            reason.keys().next().unwrap()
                        ));
                    }
                    Some(reason) => count(format!("dropped {reason}")),
                    None => count(kind.to_owned()),
                }
            }
            for message in step["receive"].as_array().into_iter().flatten() {
                count(format!("receive {}", message["type"].as_str().unwrap()));
            }
            let batched = step["edit"].as_array().is_some_and(|p| p.len() > 1);
            if batched {
                count("edit of several patches".to_owned());
            }
        }
    }
    eprintln!("{} traces, {steps} steps: {seen:?}", traces.len());
    for what in [
        "applied",
        "accepted",
        "dropped conflict",
        "dropped afterDropped",
        "dropped snapshot",
        "dropped doesNotApply",
        "diverged",
        "dropped rejected Invalid",
        "dropped rejected Forbidden",
        "receive committed",
        "receive rejected",
        "receive snapshot",
        "edit of several patches",
    ] {
        assert!(seen.contains_key(what), "no {what} in the traces: {seen:?}");
    }
    check_vectors(
        "clients/js/test/vectors/follower.json",
        "Traces of immer::sync::Follower, written by immer-web/tests/test_follower_traces.rs",
        "traces",
        json!(traces),
        "cargo test -p immer-web --test test_follower_traces",
    );
}

/// `value` written as `expected`, and read back as itself.
fn written_as<T>(value: &T, expected: &Value)
where
    T: Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
{
    assert_eq!(&serde_json::to_value(value).unwrap(), expected);
    assert_eq!(
        &serde_json::from_value::<T>(expected.clone()).unwrap(),
        value
    );
}

#[test]
fn events_reasons_and_messages_are_written_as_the_javascript_client_writes_them() {
    let path = |p: &str| Path::from_pointer(p).unwrap();
    let invalid = RejectReason::Invalid {
        message: "9 items".into(),
    };
    written_as(
        &FollowerEvent::Applied(7),
        &json!({"type": "applied", "version": 7}),
    );
    written_as(
        &FollowerEvent::Accepted { id: 2, version: 8 },
        &json!({"type": "accepted", "id": 2, "version": 8}),
    );
    written_as(
        &FollowerEvent::Diverged {
            version: 9,
            error: "no".into(),
        },
        &json!({"type": "diverged", "version": 9, "error": "no"}),
    );
    let dropped = |reason: DropReason| FollowerEvent::Dropped { id: 3, reason };
    written_as(
        &dropped(DropReason::Rejected(invalid.clone())),
        &json!({"type": "dropped", "id": 3, "reason": {
            "kind": "rejected",
            "reason": {"Invalid": {"message": "9 items"}},
            "message": "refused by validation: 9 items",
        }}),
    );
    let conflict = Conflict {
        index: 0,
        path: path("/items/1/note"),
        by: path("/items/1"),
    };
    written_as(
        &dropped(DropReason::Conflict(conflict.clone())),
        &json!({"type": "dropped", "id": 3, "reason": {"kind": "conflict", "conflict": {
            "index": 0, "path": ["items", 1, "note"], "by": ["items", 1],
        }}}),
    );
    written_as(
        &dropped(DropReason::AfterDropped { id: 2 }),
        &json!({"type": "dropped", "id": 3, "reason": {"kind": "afterDropped", "id": 2}}),
    );
    written_as(
        &dropped(DropReason::Snapshot),
        &json!({"type": "dropped", "id": 3, "reason": {"kind": "snapshot"}}),
    );
    written_as(
        &dropped(DropReason::DoesNotApply {
            index: 1,
            path: path("/items/4"),
            message: "index 4 is out of range for a list of length 2".into(),
        }),
        &json!({"type": "dropped", "id": 3, "reason": {
            "kind": "doesNotApply",
            "index": 1,
            "path": ["items", 4],
            "message": "index 4 is out of range for a list of length 2",
        }}),
    );
}

#[test]
fn the_servers_messages_are_the_sync_types_tagged() {
    let path = |p: &str| Path::from_pointer(p).unwrap();
    let invalid = RejectReason::Invalid {
        message: "9 items".into(),
    };
    let patches = vec![Patch::remove(path("/items/0"))];
    written_as(
        &ServerMessage::<Board>::Committed(Committed {
            author: None,
            version: 5,
            client: 2,
            session: 4,
            id: 1,
            patches,
        }),
        &json!({"type": "committed", "version": 5, "client": 2, "session": 4, "id": 1,
            "patches": [{"op": "remove", "path": ["items", 0]}]}),
    );
    written_as(
        &ServerMessage::<Board>::Rejected(Rejected {
            session: 4,
            id: 2,
            reason: invalid.clone(),
        }),
        &json!({"type": "rejected", "session": 4, "id": 2,
            "reason": {"Invalid": {"message": "9 items"}},
            "message": "refused by validation: 9 items"}),
    );
    let snapshot = |answered| {
        ServerMessage::Snapshot(Snapshot {
            version: 6,
            state: board(0),
            answered,
        })
    };
    let state = serde_json::to_value(board(0)).unwrap();
    written_as(
        &snapshot(None),
        &json!({"type": "snapshot", "version": 6, "state": state, "answered": null}),
    );
    written_as(
        &snapshot(Some(Answered {
            id: 2,
            outcome: Outcome::Committed { version: 5 },
        })),
        &json!({"type": "snapshot", "version": 6, "state": state,
            "answered": {"id": 2, "committed": 5}}),
    );
    written_as(
        &snapshot(Some(Answered {
            id: 2,
            outcome: Outcome::Rejected(invalid),
        })),
        &json!({"type": "snapshot", "version": 6, "state": state, "answered": {
            "id": 2,
            "rejected": {"Invalid": {"message": "9 items"}},
            "message": "refused by validation: 9 items",
        }}),
    );
    // An answer is one or the other.
    assert!(serde_json::from_value::<Answered>(json!({"id": 2})).is_err());
    assert!(
        serde_json::from_value::<Answered>(
            json!({"id": 2, "committed": 5, "rejected": {"Empty": {}}})
        )
        .is_err()
    );
}
