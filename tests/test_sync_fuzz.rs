//! No message from the network makes a leader or a follower panic: 100,000 arbitrary messages
//! to each (random versions and ids, empty and root paths, `-`, huge indices, wrong types,
//! unknown variants, duplicated and stale changes), every message through JSON. Every bad
//! change is answered with a typed reason, and the leader's state is always a replay of its
//! log.

use std::collections::BTreeMap;
use std::sync::Arc;

use immer::sync::{
    Answered, Change, Committed, Follower, Leader, Outcome, Recipient, RejectReason, Rejected,
    Snapshot, ToFollower, ToLeader,
};
use immer::{Draftable, Patch, PatchOp, Path, PathSegment, apply_patches};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    todos: Vec<Todo>,
    tags: std::collections::BTreeSet<String>,
    members: BTreeMap<String, u32>,
    shape: Shape,
    note: Option<String>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: u64,
    done: bool,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Shape {
    Circle { radius: u32 },
    Square { side: u32 },
}

/// splitmix64: a seeded generator, so a failure names its seed.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

const KEYS: &[&str] = &[
    "title", "todos", "tags", "members", "shape", "note", "id", "done", "radius", "side", "kind",
    "Circle", "-", "", "ann", "bob", "nope", "0", "01", "~1",
];

fn segment(rng: &mut Rng) -> PathSegment {
    match rng.below(6) {
        0 => PathSegment::Index(rng.below(4) as usize),
        1 => PathSegment::Index(*rng.pick(&[usize::MAX, usize::MAX - 1, 1 << 40, 99])),
        _ => PathSegment::Key((*rng.pick(KEYS)).to_owned()),
    }
}

fn path(rng: &mut Rng) -> Path {
    let depth = match rng.below(10) {
        0 => 0,
        9 => 40,
        _ => 1 + rng.below(3) as usize,
    };
    (0..depth).map(|_| segment(rng)).collect()
}

fn value(rng: &mut Rng) -> Value {
    match rng.below(10) {
        0 => json!(null),
        1 => json!(true),
        2 => json!(rng.below(5)),
        3 => json!(-1),
        4 => json!("text"),
        5 => json!({"id": rng.below(5), "done": false}),
        6 => json!({"kind": "Circle", "radius": 2}),
        7 => json!([1, "two", {}]),
        8 => {
            json!({"title": "t", "todos": [], "tags": [], "members": {}, "shape": {"kind": "Square", "side": 1}, "note": null})
        }
        _ => json!(1e300),
    }
}

fn patch(rng: &mut Rng) -> Patch {
    let op = *rng.pick(&[
        PatchOp::Add,
        PatchOp::Remove,
        PatchOp::Replace,
        PatchOp::Test,
        PatchOp::Move,
        PatchOp::Copy,
    ]);
    let value = match rng.below(4) {
        0 => None,
        _ => Some(value(rng)),
    };
    let from = match op {
        PatchOp::Move | PatchOp::Copy if rng.below(5) > 0 => Some(path(rng)),
        _ => None,
    };
    Patch {
        op,
        path: path(rng),
        value,
        from,
    }
}

/// A patch that often applies to a `Board`, so that changes also commit and move through
/// each other.
fn plausible(rng: &mut Rng) -> Patch {
    let at = |p: &str| Path::from_pointer(p).unwrap();
    let i = rng.below(4);
    match rng.below(6) {
        0 => Patch::replace(at("/title"), json!(format!("t{i}"))),
        1 => Patch::add(at(&format!("/todos/{i}")), json!({"id": 9, "done": false})),
        2 => Patch::remove(at(&format!("/todos/{i}"))),
        3 => Patch::replace(at(&format!("/todos/{i}/done")), json!(true)),
        4 => Patch::add(at(&format!("/members/m{i}")), json!(i)),
        _ => Patch::remove(at(&format!("/members/m{i}"))),
    }
}

fn patches(rng: &mut Rng) -> Vec<Patch> {
    if rng.below(2) == 0 {
        return (0..=rng.below(2)).map(|_| plausible(rng)).collect();
    }
    let n = match rng.below(20) {
        0 => 0,
        1 => 30,
        _ => 1 + rng.below(3) as usize,
    };
    (0..n).map(|_| patch(rng)).collect()
}

fn version(rng: &mut Rng, current: u64) -> u64 {
    match rng.below(6) {
        0 => 0,
        1 => u64::MAX,
        2 => current.saturating_add(1 + rng.below(3)),
        _ => current.saturating_sub(rng.below(2)),
    }
}

/// Through JSON, as every message travels.
fn wire<T: Serialize + serde::de::DeserializeOwned>(message: &T) -> T {
    serde_json::from_str(&serde_json::to_string(message).unwrap()).unwrap()
}

fn board() -> Board {
    Board {
        title: "board".into(),
        todos: (0..3).map(|id| Todo { id, done: false }).collect(),
        tags: ["a".to_owned()].into(),
        members: [("ann".to_owned(), 1)].into(),
        shape: Shape::Circle { radius: 1 },
        note: None,
    }
}

/// Throws `count` arbitrary messages at a leader of `base`; checks the answers and the log.
fn fuzz_leader<T: Draftable + std::fmt::Debug>(seed: u64, count: usize, base: T) -> (u64, u64) {
    let mut rng = Rng(seed);
    let base = Arc::new(base);
    let mut leader = Leader::new(Arc::clone(&base));
    // Four sessions that joined; sessions past them were never opened.
    let sessions: Vec<u64> = (0..4).map(|c| leader.join(c).session).collect();
    let mut sent: Vec<Change> = Vec::new();
    let (mut committed, mut rejected) = (0, 0);
    for _ in 0..count {
        let message = match rng.below(12) {
            0 => ToLeader::Resync {
                session: rng.below(8),
                version: version(&mut rng, leader.version()),
            },
            1 => ToLeader::SnapshotRequest {
                session: rng.below(8),
            },
            2 => ToLeader::Join {
                client: rng.next(),
                nonce: rng.next(),
            },
            // A duplicate or a stale change.
            3 if !sent.is_empty() => ToLeader::Change(rng.pick(&sent).clone()),
            _ => {
                // Extreme ids and unknown sessions; extreme ids wedge their sessions, so
                // they get sessions of their own.
                let (session, id) = match rng.below(10) {
                    0 => (100 + rng.below(4), u64::MAX),
                    1 => (100 + rng.below(4), 0),
                    2 => (u64::MAX - rng.below(2), 1),
                    _ => (*rng.pick(&sessions), sent.len() as u64 + 1),
                };
                let change = Change {
                    author: None,
                    client: rng.below(4),
                    session,
                    id,
                    base: version(&mut rng, leader.version()),
                    patches: patches(&mut rng),
                };
                sent.push(change.clone());
                ToLeader::Change(change)
            }
        };
        let before = leader.version();
        let out = leader.receive(wire(&message));
        for outbound in &out {
            match &outbound.message {
                ToFollower::Committed(c) if outbound.to == Recipient::All => {
                    assert_eq!(c.version, before + 1);
                    committed += 1;
                }
                ToFollower::Rejected(Rejected { reason, .. }) => {
                    assert!(!reason.to_string().is_empty());
                    rejected += 1;
                }
                _ => {}
            }
        }
    }
    // The leader's state is a replay of its log.
    let mut replay = base;
    for c in leader.log() {
        replay = apply_patches(&replay, &c.patches).expect("the log replays");
    }
    assert_eq!(&replay, leader.state(), "seed {seed}");
    (committed, rejected)
}

#[test]
fn a_leader_never_panics_on_arbitrary_messages() {
    let (mut committed, mut rejected) = (0, 0);
    for seed in 0..40 {
        let (c, r) = fuzz_leader(seed, 2_000, board());
        committed += c;
        rejected += r;
    }
    // A root that is an `Option`, a list, and a JSON value: the root path is a real target.
    for seed in 0..10 {
        fuzz_leader(seed, 2_000, Some(board()));
        fuzz_leader(seed, 2_000, vec![1_u32, 2, 3]);
        fuzz_leader(seed, 1_000, json!({"a": [1, 2], "b": {}}));
    }
    // 100,000 messages in all; the counts show both outcomes were exercised.
    assert!(committed > 1_000, "committed {committed}");
    assert!(rejected > 1_000, "rejected {rejected}");
    println!("leader fuzz: 100,000 messages, {committed} committed, {rejected} rejected");
}

#[test]
fn removing_the_root_option_after_a_removal_with_a_value_does_not_panic() {
    // `[remove ""]` moved through a committed `[remove ""]` that carries a value once
    // panicked in `transform` on the empty path.
    let mut leader = Leader::new(Arc::new(Some(vec![1_u32])));
    let mut with_value = Patch::remove(Path::default());
    with_value.value = Some(json!([1]));
    let (ann, bob) = (leader.join(1).session, leader.join(2).session);
    let first = leader.receive(ToLeader::Change(Change {
        author: None,
        client: 1,
        session: ann,
        id: 1,
        base: 0,
        patches: vec![with_value],
    }));
    assert!(matches!(first[0].message, ToFollower::Committed(_)));
    let second = leader.receive(ToLeader::Change(Change {
        author: None,
        client: 2,
        session: bob,
        id: 1,
        base: 0,
        patches: vec![Patch::remove(Path::default())],
    }));
    assert_eq!(second.len(), 1);
    assert_eq!(
        leader.version(),
        first.len() as u64 + u64::from(matches!(second[0].message, ToFollower::Committed(_)))
    );
}

#[test]
fn a_follower_never_panics_on_arbitrary_messages() {
    let mut total = 0;
    for seed in 0..50 {
        let mut rng = Rng(seed);
        let mut leader = Leader::new(Arc::new(board()));
        let mut follower = Follower::new(leader.join(1));
        let me = follower.session();
        for step in 0..2_000 {
            if step % 7 == 0 {
                follower.edit(|d| d.set_title(format!("t{step}")));
            }
            let message: ToFollower<Board> = match rng.below(8) {
                0 => ToFollower::Rejected(Rejected {
                    session: me + rng.below(2),
                    id: rng.below(400),
                    reason: RejectReason::BaseAhead {
                        base_version: 1,
                        leader_version: 0,
                    },
                }),
                1 => ToFollower::Snapshot(Snapshot {
                    version: version(&mut rng, follower.version()),
                    state: board(),
                    answered: Some(Answered {
                        id: rng.below(400),
                        outcome: if rng.below(2) == 0 {
                            Outcome::Committed {
                                version: rng.below(400),
                            }
                        } else {
                            Outcome::Rejected(RejectReason::UnknownSession { session: 9 })
                        },
                    }),
                }),
                2 => ToFollower::Welcome(leader.join(rng.below(3))),
                _ => ToFollower::Committed(Committed {
                    author: None,
                    version: version(&mut rng, follower.version()),
                    client: rng.below(3),
                    session: me + rng.below(2),
                    id: rng.below(400),
                    patches: patches(&mut rng),
                }),
            };
            follower.receive(wire(&message));
            let _ = follower.poll();
            let _ = follower.take_events();
            total += 1;
        }
    }
    assert_eq!(total, 100_000);
}
