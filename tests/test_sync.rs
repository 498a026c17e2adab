//! Synchronization: the path transformation, the leader and the followers, and a seeded
//! simulation over a network that drops, duplicates, reorders and delays messages.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use immer::sync::{
    ClientId, DropReason, Follower, FollowerEvent, Leader, Recipient, RejectReason, Rejected,
    SessionId, ToFollower, ToLeader,
};
use immer::{Draftable, Patch, Path, Vector, transform};
use serde::{Deserialize, Serialize};
use serde_json::json;

fn p(pointer: &str) -> Path {
    Path::from_pointer(pointer).unwrap()
}

fn moved(mine: &Patch, theirs: &Patch) -> Option<String> {
    transform(std::slice::from_ref(mine), std::slice::from_ref(theirs))
        .ok()
        .map(|(m, _)| m[0].path.to_pointer())
}

#[test]
fn inserts_and_removals_shift_indices_before_at_and_after() {
    let edit5 = Patch::replace(p("/todos/5/done"), json!(true));
    // Committed inserts.
    assert_eq!(
        moved(&edit5, &Patch::add(p("/todos/2"), json!({}))).as_deref(),
        Some("/todos/6/done")
    );
    assert_eq!(
        moved(&edit5, &Patch::add(p("/todos/5"), json!({}))).as_deref(),
        Some("/todos/6/done")
    );
    assert_eq!(
        moved(&edit5, &Patch::add(p("/todos/6"), json!({}))).as_deref(),
        Some("/todos/5/done")
    );
    // Committed removals.
    assert_eq!(
        moved(&edit5, &Patch::remove(p("/todos/0"))).as_deref(),
        Some("/todos/4/done")
    );
    assert_eq!(
        moved(&edit5, &Patch::remove(p("/todos/5"))),
        None,
        "an edit of a removed element is rejected"
    );
    assert_eq!(
        moved(&edit5, &Patch::remove(p("/todos/9"))).as_deref(),
        Some("/todos/5/done")
    );
    // My own insert at a removed or inserted index.
    let insert3 = Patch::add(p("/todos/3"), json!({}));
    assert_eq!(
        moved(&insert3, &Patch::remove(p("/todos/3"))).as_deref(),
        Some("/todos/3")
    );
    assert_eq!(
        moved(&insert3, &Patch::add(p("/todos/3"), json!({}))).as_deref(),
        Some("/todos/4"),
        "the committed insert goes first"
    );
    // My removal of an element removed meanwhile.
    assert_eq!(
        moved(&Patch::remove(p("/todos/3")), &Patch::remove(p("/todos/3"))),
        None
    );
}

#[test]
fn nested_lists_keys_and_whole_replaces() {
    let nested = Patch::add(p("/todos/4/tags/2"), json!("x"));
    // A removal in the outer list shifts the outer index only.
    assert_eq!(
        moved(&nested, &Patch::remove(p("/todos/1"))).as_deref(),
        Some("/todos/3/tags/2")
    );
    // An insert in the inner list of the same todo shifts the inner index.
    assert_eq!(
        moved(&nested, &Patch::add(p("/todos/4/tags/0"), json!("y"))).as_deref(),
        Some("/todos/4/tags/3")
    );
    // An insert in another todo's tags changes nothing.
    assert_eq!(
        moved(&nested, &Patch::add(p("/todos/3/tags/0"), json!("y"))).as_deref(),
        Some("/todos/4/tags/2")
    );
    // A map key removed or replaced takes everything below it.
    let member = Patch::replace(p("/members/ann/active"), json!(true));
    assert_eq!(moved(&member, &Patch::remove(p("/members/ann"))), None);
    assert_eq!(
        moved(&member, &Patch::replace(p("/members/ann"), json!({}))),
        None
    );
    assert_eq!(
        moved(&member, &Patch::remove(p("/members/bob"))).as_deref(),
        Some("/members/ann/active")
    );
    // A whole list replaced (a clear, a sort): indices into it mean other elements now.
    assert_eq!(
        moved(&nested, &Patch::replace(p("/todos"), json!([]))),
        None
    );
    assert_eq!(
        moved(&nested, &Patch::replace(p("/todos/4"), json!({}))),
        None
    );
    // The same field written twice: the later write stays.
    let title = Patch::replace(p("/title"), json!("mine"));
    assert_eq!(
        moved(&title, &Patch::replace(p("/title"), json!("theirs"))).as_deref(),
        Some("/title")
    );
}

#[test]
fn set_removals_go_by_value() {
    let theirs = Patch {
        value: Some(json!("b")),
        ..Patch::remove(p("/tags/1"))
    };
    // Another element's removal, at any position, is unaffected.
    let other = Patch {
        value: Some(json!("c")),
        ..Patch::remove(p("/tags/1"))
    };
    assert_eq!(moved(&other, &theirs).as_deref(), Some("/tags/1"));
    let same = Patch {
        value: Some(json!("b")),
        ..Patch::remove(p("/tags/0"))
    };
    assert_eq!(moved(&same, &theirs), None, "the element is gone already");
    assert_eq!(
        moved(&Patch::add(p("/tags/3"), json!("d")), &theirs).as_deref(),
        Some("/tags/3")
    );
}

#[test]
fn sequences_move_through_each_other() {
    // Mine: insert at 0, then edit what is now index 3 (the element that was at 2).
    let mine = [
        Patch::add(p("/l/0"), json!(9)),
        Patch::replace(p("/l/3"), json!(1)),
    ];
    // Theirs: remove index 1.
    let theirs = [Patch::remove(p("/l/1"))];
    let (mine_after, theirs_after) = transform(&mine, &theirs).unwrap();
    assert_eq!(
        mine_after
            .iter()
            .map(|p| p.path.to_pointer())
            .collect::<Vec<_>>(),
        ["/l/0", "/l/2"]
    );
    // Their removal, after my insert, removes index 2.
    assert_eq!(theirs_after[0].path.to_pointer(), "/l/2");
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    items: Vector<Item>,
    meta: Meta,
    labels: BTreeMap<String, u64>,
    stars: BTreeSet<String>,
}

/// A list element: `id` is its identity, never written once it is made.
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
        counter: 0,
        note: String::new(),
        tags: Vec::new(),
    }
}

fn board(n: u64) -> Arc<Board> {
    Arc::new(Board {
        title: "b".into(),
        items: (0..n).map(item).collect(),
        meta: Meta {
            title: "t".into(),
            counter: 0,
        },
        labels: [("k0".to_owned(), 0), ("k1".to_owned(), 0)].into(),
        stars: ["s0".to_owned(), "s1".to_owned()].into(),
    })
}

/// Delivers every message at once, in order, with no faults.
fn pump(leader: &mut Leader<Board>, followers: &mut [Follower<Board>]) {
    for _ in 0..4 {
        let outgoing: Vec<ToLeader> = followers.iter_mut().flat_map(Follower::poll).collect();
        for message in outgoing {
            for out in leader.receive(message) {
                for follower in followers.iter_mut() {
                    if out.to == Recipient::All || out.to == Recipient::Session(follower.session())
                    {
                        follower.receive(out.message.clone());
                    }
                }
            }
        }
    }
}

#[test]
fn the_leader_moves_a_stale_change_and_the_author_sees_it_land() {
    let mut leader = Leader::new(board(8));
    let mut nodes = vec![Follower::new(leader.join(1)), Follower::new(leader.join(2))];
    // Node 1 edits item 5 while node 2 removes item 0; node 2's change commits first.
    nodes[1].edit(|d| {
        d.items().remove(0);
    });
    nodes[0].edit(|d| d.items().get_mut(5).unwrap().set_note("mine".into()));
    let from_2 = nodes[1].poll();
    for out in leader.receive(from_2[0].clone()) {
        nodes[0].receive(out.message.clone());
        nodes[1].receive(out.message);
    }
    // Before its own change commits, node 1 already sees its edit moved to index 4.
    assert_eq!(nodes[0].state().items[4].note, "mine");
    assert_eq!(nodes[0].state().items[4].id, 5);
    pump(&mut leader, &mut nodes);
    assert_eq!(
        leader.state().items[4],
        Item {
            note: "mine".into(),
            ..item(5)
        }
    );
    assert!(
        nodes
            .iter()
            .all(|n| n.state() == leader.state() && n.is_settled())
    );
    assert_eq!(
        nodes[0]
            .take_events()
            .iter()
            .filter(|e| matches!(e, FollowerEvent::Accepted { .. }))
            .count(),
        1
    );
}

#[test]
fn an_edit_of_a_removed_element_is_dropped_and_reported_on_both_sides() {
    let mut leader = Leader::new(board(3));
    let mut nodes = vec![Follower::new(leader.join(1)), Follower::new(leader.join(2))];
    nodes[0].edit(|d| d.items().get_mut(1).unwrap().set_note("lost".into()));
    nodes[1].edit(|d| {
        d.items().remove(1);
    });
    // Node 2's removal reaches the leader first; node 1's change is already in flight.
    let from_1 = nodes[0].poll();
    let from_2 = nodes[1].poll();
    let committed = leader.receive(from_2[0].clone());
    let rejected = leader.receive(from_1[0].clone());
    assert!(matches!(
        &rejected[0].message,
        ToFollower::Rejected(Rejected {
            reason: RejectReason::Conflict { .. },
            ..
        })
    ));
    for out in committed.into_iter().chain(rejected) {
        for node in &mut nodes {
            node.receive(out.message.clone());
        }
    }
    let events = nodes[0].take_events();
    assert!(
        events
            .iter()
            .any(|e| matches!(e, FollowerEvent::Dropped { change_id: 1, .. })),
        "{events:?}"
    );
    pump(&mut leader, &mut nodes);
    assert!(leader.state().items.iter().all(|i| i.note.is_empty()));
    assert!(
        nodes
            .iter()
            .all(|n| n.state() == leader.state() && n.is_settled())
    );
}

#[test]
fn a_pending_edit_is_rebased_on_the_follower_through_other_nodes_changes() {
    let mut leader = Leader::new(board(6));
    let mut nodes = vec![Follower::new(leader.join(1)), Follower::new(leader.join(2))];
    // Node 1 queues two edits; only the first goes out.
    nodes[0].edit(|d| d.items().get_mut(4).unwrap().tags().push("a".into()));
    nodes[0].edit(|d| d.items().get_mut(5).unwrap().set_note("b".into()));
    let first = nodes[0].poll();
    // Meanwhile node 2 inserts at the front and commits.
    nodes[1].edit(|d| {
        d.items().insert(0, item(100)).unwrap();
    });
    for out in nodes[1].poll().into_iter().flat_map(|m| leader.receive(m)) {
        for node in &mut nodes {
            node.receive(out.message.clone());
        }
    }
    // Node 1's pending edits moved with the insert.
    assert_eq!(nodes[0].state().items[5].tags, ["a"]);
    assert_eq!(nodes[0].state().items[6].note, "b");
    for out in leader.receive(first[0].clone()) {
        for node in &mut nodes {
            node.receive(out.message.clone());
        }
    }
    pump(&mut leader, &mut nodes);
    let by_id: HashMap<u64, &Item> = leader.state().items.iter().map(|i| (i.id, i)).collect();
    assert_eq!(by_id[&4].tags, ["a"]);
    assert_eq!(by_id[&5].note, "b");
    assert!(nodes.iter().all(|n| n.state() == leader.state()));
}

/// A small deterministic generator.
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

/// A message on the wire, as JSON: to the leader from a node, or to a node.
enum Wire {
    ToLeader(usize, String),
    ToNode(usize, String),
}

/// The messages in flight, each due at a tick; loss, duplication, reordering and delay while
/// `faulty`, and no traffic at all to or from a node cut off by a partition.
struct Network {
    queue: Vec<(u64, u64, Wire)>,
    sequence: u64,
    faulty: bool,
    /// Per node, the tick its partition ends.
    cut_until: Vec<u64>,
}

impl Network {
    fn cut(&self, node: usize, now: u64) -> bool {
        self.cut_until.get(node).is_some_and(|until| now < *until)
    }

    fn send(&mut self, rng: &mut Rng, now: u64, wire: Wire) {
        let node = match &wire {
            Wire::ToLeader(n, _) | Wire::ToNode(n, _) => *n,
        };
        if self.cut(node, now) || (self.faulty && rng.chance(20)) {
            return; // dropped
        }
        let delay = if self.faulty { 1 + rng.below(8) } else { 1 };
        if self.faulty && rng.chance(10) {
            let copy = match &wire {
                Wire::ToLeader(n, s) => Wire::ToLeader(*n, s.clone()),
                Wire::ToNode(n, s) => Wire::ToNode(*n, s.clone()),
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
        // A partition also cuts what was already on the way.
        due.into_iter()
            .map(|(_, _, w)| w)
            .filter(|w| match w {
                Wire::ToLeader(n, _) | Wire::ToNode(n, _) => !self.cut(*n, now),
            })
            .collect()
    }
}

/// Edits are named by their session and id.
type EditKey = (SessionId, u64);

/// What an edit meant (the note it wrote and the id of the item it wrote it to), and how it
/// ended as its author was told.
#[derive(Default)]
struct EditRecord {
    intent: Option<(String, u64)>,
    outcome: Option<Result<u64, DropReason>>,
}

fn random_edit(
    rng: &mut Rng,
    node: &mut Follower<Board>,
    seq: u64,
    edits: &mut HashMap<EditKey, EditRecord>,
) {
    let client = node.client();
    let len = node.state().items.len();
    let index = rng.index(len.max(1));
    let mut intent = None;
    let made = match rng.below(10) {
        0 | 1 => {
            let id = client * 1_000_000 + seq;
            node.edit(|d| {
                let mut items = d.items();
                let at = index.min(items.len());
                let _ = items.insert(at, item(id));
            })
        }
        2 | 3 => node.edit(|d| {
            d.items().remove(index);
        }),
        4..=6 => {
            let Some(target) = node.state().items.get(index).map(|i| i.id) else {
                return;
            };
            let token = format!("c{client}-{seq}");
            let written = token.clone();
            intent = Some((token, target));
            node.edit(|d| {
                if let Some(mut item) = d.items().get_mut(index) {
                    item.set_note(written);
                }
            })
        }
        7 | 8 => node.edit(|d| {
            if let Some(mut item) = d.items().get_mut(index) {
                item.tags().insert(0, format!("t{seq}")).ok();
            }
        }),
        _ => {
            if rng.chance(30) {
                node.edit(|d| d.items().reverse())
            } else {
                node.edit(|d| d.set_title(format!("title {client}-{seq}")))
            }
        }
    };
    if let Some(id) = made {
        let fresh = edits
            .insert(
                (node.session(), id),
                EditRecord {
                    intent,
                    outcome: None,
                },
            )
            .is_none();
        assert!(fresh, "an edit id was reused");
    }
}

/// What a run went through.
#[derive(Default)]
struct Tally {
    accepted: usize,
    dropped: usize,
    snapshots: usize,
    crashes: usize,
    partitions: usize,
    /// Changes of a crashed incarnation that were committed after it crashed.
    orphans_committed: usize,
}

/// One node: its client id, and its follower, or none while it (re)joins with `nonce`.
struct Node {
    client: ClientId,
    follower: Option<Follower<Board>>,
    nonce: u64,
}

/// One simulated cluster: a leader, nodes that crash and rejoin, and the network.
struct Cluster {
    seed: u64,
    rng: Rng,
    base: Arc<Board>,
    leader: Leader<Board>,
    nodes: Vec<Node>,
    /// How many waiting edits a follower sends as one change.
    batch: usize,
    net: Network,
    edits: HashMap<EditKey, EditRecord>,
    /// Sessions whose process crashed: their edits may have no outcome.
    dead: std::collections::HashSet<SessionId>,
    /// Every change the leader broadcast, by version.
    broadcast: BTreeMap<u64, immer::sync::Committed>,
    tally: Tally,
}

impl Cluster {
    fn new(seed: u64, nodes: u64) -> Self {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let base = board(1 + rng.below(6));
        let mut leader = Leader::new(Arc::clone(&base));
        // Half the runs send one edit per change, half merge up to 2 to 5.
        let batch = if rng.chance(50) { 1 } else { 2 + rng.index(4) };
        let nodes: Vec<Node> = (1..=nodes)
            .map(|client| Node {
                client,
                follower: Some(Follower::new(leader.join(client)).with_batch(batch)),
                nonce: 0,
            })
            .collect();
        let net = Network {
            queue: Vec::new(),
            sequence: 0,
            faulty: true,
            cut_until: vec![0; nodes.len()],
        };
        Cluster {
            seed,
            rng,
            base,
            leader,
            nodes,
            batch,
            net,
            edits: HashMap::new(),
            dead: std::collections::HashSet::new(),
            broadcast: BTreeMap::new(),
            tally: Tally::default(),
        }
    }

    /// Nodes send on a timer (every tick once the network is healed): the change in flight
    /// and a resync request, or, while (re)joining, a join.
    fn poll(&mut self, now: u64) {
        for (at, node) in self.nodes.iter_mut().enumerate() {
            if self.net.faulty && !self.rng.chance(30) {
                continue;
            }
            let messages = match &mut node.follower {
                Some(follower) => follower.poll(),
                None => vec![ToLeader::Join {
                    client: node.client,
                    nonce: node.nonce,
                }],
            };
            for message in messages {
                let wire = Wire::ToLeader(at, serde_json::to_string(&message).unwrap());
                self.net.send(&mut self.rng, now, wire);
            }
        }
    }

    /// A node's process dies with whatever it had not sent; it then joins again under its
    /// client id.
    fn crash(&mut self, at: usize) {
        if let Some(follower) = self.nodes[at].follower.take() {
            self.dead.insert(follower.session());
            self.tally.crashes += 1;
            self.nodes[at].nonce = self.rng.next();
        }
    }

    fn record_event(&mut self, session: SessionId, event: FollowerEvent) {
        let seed = self.seed;
        let (id, outcome) = match event {
            FollowerEvent::Accepted { change_id, version } => (change_id, Ok(version)),
            FollowerEvent::Dropped { change_id, reason } => (change_id, Err(reason)),
            FollowerEvent::Diverged { version, error } => {
                panic!("seed {seed}: session {session} diverged at {version}: {error}")
            }
            _ => return,
        };
        let record = self
            .edits
            .get_mut(&(session, id))
            .unwrap_or_else(|| panic!("seed {seed}: an outcome for edit {id} never made"));
        assert!(
            record.outcome.is_none(),
            "seed {seed}: edit ({session}, {id}) has two outcomes: {:?} and {outcome:?}",
            record.outcome
        );
        match &outcome {
            Ok(_) => self.tally.accepted += 1,
            Err(_) => self.tally.dropped += 1,
        }
        record.outcome = Some(outcome);
    }

    /// Delivers what is due, through JSON, and sends the answers.
    fn deliver(&mut self, now: u64) {
        for wire in self.net.due(now) {
            match wire {
                Wire::ToLeader(from, text) => {
                    let message: ToLeader = serde_json::from_str(&text).unwrap();
                    for out in self.leader.receive(message) {
                        if let ToFollower::Committed(c) = &out.message {
                            if out.to == Recipient::All {
                                let before = self.broadcast.insert(c.version, c.clone());
                                assert!(before.is_none(), "seed {}: version twice", self.seed);
                            }
                        }
                        let text = serde_json::to_string(&out.message).unwrap();
                        let targets: Vec<usize> = match out.to {
                            Recipient::All => (0..self.nodes.len()).collect(),
                            Recipient::Sender => vec![from],
                            Recipient::Session(s) => self
                                .nodes
                                .iter()
                                .position(|n| n.follower.as_ref().is_some_and(|f| f.session() == s))
                                .into_iter()
                                .collect(),
                        };
                        for to in targets {
                            self.net
                                .send(&mut self.rng, now, Wire::ToNode(to, text.clone()));
                        }
                    }
                }
                Wire::ToNode(to, text) => {
                    let message: ToFollower<Board> = serde_json::from_str(&text).unwrap();
                    self.tally.snapshots += usize::from(matches!(message, ToFollower::Snapshot(_)));
                    let node = &mut self.nodes[to];
                    let Some(follower) = &mut node.follower else {
                        match message {
                            // Only the answer to this life's own join.
                            ToFollower::Welcome(welcome) if welcome.nonce == node.nonce => {
                                node.follower = Some(Follower::new(welcome).with_batch(self.batch));
                            }
                            _ => {}
                        }
                        continue;
                    };
                    follower.receive(message);
                    // Local first: the state is the confirmed one with the pending edits.
                    let mut local = Arc::clone(follower.confirmed());
                    for (id, patches) in follower.pending_edits() {
                        local = immer::apply_patches(&local, patches).unwrap_or_else(|e| {
                            panic!("seed {}: pending edit {id} does not apply: {e}", self.seed)
                        });
                    }
                    assert_eq!(&local, follower.state(), "seed {}", self.seed);
                    let session = follower.session();
                    for event in follower.take_events() {
                        self.record_event(session, event);
                    }
                }
            }
        }
    }

    fn settled(&self) -> bool {
        !self.net.faulty
            && self.nodes.iter().all(|n| {
                n.follower
                    .as_ref()
                    .is_some_and(|f| f.is_settled() && f.version() == self.leader.version())
            })
    }

    /// The guarantees of the module docs, checked on the settled cluster.
    fn check(&mut self) {
        let seed = self.seed;
        // Convergence: every replica equals the leader, which equals a replay of what it
        // broadcast; each change was committed once.
        for node in &self.nodes {
            let follower = node.follower.as_ref().expect("joined");
            assert_eq!(follower.version(), self.leader.version(), "seed {seed}");
            assert_eq!(
                follower.state(),
                self.leader.state(),
                "seed {seed}: node {} diverged",
                node.client
            );
        }
        let versions: Vec<u64> = self.broadcast.keys().copied().collect();
        assert_eq!(
            versions,
            (1..=self.leader.version()).collect::<Vec<_>>(),
            "seed {seed}: a version was never broadcast"
        );
        let mut once = std::collections::HashSet::new();
        let mut state = Arc::clone(&self.base);
        for (version, committed) in &self.broadcast {
            let key = (committed.session, committed.change_id);
            assert!(once.insert(key), "seed {seed}: {key:?} committed twice");
            state = immer::apply_patches(&state, &committed.patches).unwrap();
            let Some(record) = self.edits.get(&key) else {
                panic!("seed {seed}: {key:?} committed but never made");
            };
            // Exactly one outcome, and the one the author was told.
            match &record.outcome {
                Some(Ok(told)) => assert_eq!(told, version, "seed {seed}: {key:?}"),
                Some(Err(reason)) => {
                    panic!("seed {seed}: {key:?} was reported dropped ({reason}) and committed")
                }
                None => {
                    assert!(
                        self.dead.contains(&key.0),
                        "seed {seed}: {key:?} committed, its author never told"
                    );
                    self.tally.orphans_committed += 1;
                }
            }
            // Where its author meant: the note sits on the item it was written to.
            if let Some((token, target)) = &record.intent {
                let holders: Vec<u64> = state
                    .items
                    .iter()
                    .filter(|i| &i.note == token)
                    .map(|i| i.id)
                    .collect();
                assert_eq!(
                    holders,
                    [*target],
                    "seed {seed}: edit {token} landed on the wrong item"
                );
            }
        }
        assert_eq!(&state, self.leader.state(), "seed {seed}: replay differs");
        // Never neither: every edit of a live incarnation has its outcome.
        for (key, record) in &self.edits {
            if !self.dead.contains(&key.0) {
                assert!(
                    record.outcome.is_some(),
                    "seed {seed}: edit {key:?} has no outcome"
                );
                if let Some(Ok(version)) = record.outcome {
                    // Its own change, or one it was merged into with the edits after it.
                    let committed = &self.broadcast[&version];
                    assert_eq!(committed.session, key.0, "seed {seed}: {key:?}");
                    assert!(
                        (key.1..key.1 + self.batch as u64).contains(&committed.change_id),
                        "seed {seed}: {key:?} reported as version {version}, which is change {}",
                        committed.change_id
                    );
                }
            }
        }
    }
}

/// One seeded run: random edits and bursts over a faulty network with partitions, crashes
/// and rejoins, and compaction at random moments; then the network heals and the cluster
/// settles.
fn simulate(seed: u64, nodes: u64, edits: u64) -> Tally {
    let mut cluster = Cluster::new(seed, nodes);
    let compacts = cluster.rng.chance(40);
    let mut made = 0;
    let mut settled = false;
    for now in 0..20_000_u64 {
        if made < edits {
            let who = cluster.rng.index(cluster.nodes.len());
            let burst = if cluster.rng.chance(2) { 20 } else { 1 };
            if cluster.rng.chance(40) {
                for _ in 0..burst {
                    made += 1;
                    if let Some(follower) = &mut cluster.nodes[who].follower {
                        random_edit(&mut cluster.rng, follower, made, &mut cluster.edits);
                    }
                }
            }
            if cluster.rng.chance(1) {
                let at = cluster.rng.index(cluster.nodes.len());
                cluster.net.cut_until[at] = now + 20 + cluster.rng.below(80);
                cluster.tally.partitions += 1;
            }
            if cluster.rng.chance(1) {
                let at = cluster.rng.index(cluster.nodes.len());
                cluster.crash(at);
            }
        } else {
            // The network heals.
            cluster.net.faulty = false;
            cluster.net.cut_until.fill(0);
        }
        cluster.poll(now);
        if compacts && cluster.rng.chance(5) {
            let keep = cluster.rng.below(4);
            cluster
                .leader
                .compact(cluster.leader.version().saturating_sub(keep));
        }
        cluster.deliver(now);
        if cluster.settled() {
            settled = true;
            break;
        }
    }
    assert!(settled, "seed {seed}: did not settle");
    cluster.check();
    cluster.tally
}

/// The seeds to run: `SYNC_SEEDS` of them (2,000 unless set).
fn seeds() -> u64 {
    std::env::var("SYNC_SEEDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(2_000)
}

#[test]
fn seeded_runs_with_faults_partitions_crashes_and_compaction_keep_every_guarantee() {
    let mut total = Tally::default();
    let runs = seeds();
    for seed in 1..=runs {
        let tally = simulate(seed, 1 + seed % 4, 12 + seed % 30);
        total.accepted += tally.accepted;
        total.dropped += tally.dropped;
        total.snapshots += tally.snapshots;
        total.crashes += tally.crashes;
        total.partitions += tally.partitions;
        total.orphans_committed += tally.orphans_committed;
    }
    eprintln!(
        "{runs} seeds: accepted {}, dropped {}, snapshots {}, crashes {}, partitions {}, changes of crashed sessions committed {}",
        total.accepted,
        total.dropped,
        total.snapshots,
        total.crashes,
        total.partitions,
        total.orphans_committed
    );
    // Every fault was exercised.
    let runs = usize::try_from(runs).unwrap_or(usize::MAX);
    assert!(
        total.accepted > runs * 5,
        "only {} accepted",
        total.accepted
    );
    assert!(
        total.dropped > runs / 10
            && total.snapshots > runs / 20
            && total.crashes > runs / 10
            && total.partitions > runs / 10,
        "the faults were not exercised"
    );
}

#[test]
fn a_committed_change_that_does_not_apply_surfaces_and_resyncs() {
    // A follower whose state is not the leader's (a committed change does not apply) once
    // ignored the change silently and was stuck; now it says so and asks for a snapshot.
    let mut leader = Leader::new(Arc::new(vec![1_u32, 2, 3]));
    let mut follower = Follower::new(leader.join(7));
    let bogus = immer::sync::Committed {
        version: 1,
        client: 9,
        session: 99,
        change_id: 1,
        patches: vec![Patch::remove(p("/9"))],
    };
    follower.receive(ToFollower::Committed(bogus));
    let events = follower.take_events();
    assert!(
        matches!(events[..], [FollowerEvent::Diverged { version: 1, .. }]),
        "{events:?}"
    );
    let requests = follower.poll();
    assert!(requests.iter().any(
        |m| matches!(m, ToLeader::SnapshotRequest { session } if *session == follower.session())
    ));
    // Meanwhile the leader moved on; its snapshot sets the follower right.
    let mut bob = Follower::new(leader.join(8));
    bob.edit(|d| d.push(4));
    for message in bob.poll() {
        leader.receive(message);
    }
    for message in requests {
        for out in leader.receive(message) {
            follower.receive(out.message);
        }
    }
    assert_eq!(follower.state(), leader.state());
    assert_eq!(follower.version(), leader.version());
    assert!(matches!(
        follower.poll().last(),
        Some(ToLeader::Resync { .. })
    ));
}
