//! Synchronization: the path transformation, the leader and the followers, and a seeded
//! simulation over a network that drops, duplicates, reorders and delays messages.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use immer::sync::{
    Follower, FollowerEvent, Leader, Recipient, RejectReason, Rejected, ToFollower, ToLeader,
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
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u64,
    note: String,
    tags: Vec<String>,
}

fn board(n: u64) -> Arc<Board> {
    Arc::new(Board {
        title: "b".into(),
        items: (0..n)
            .map(|id| Item {
                id,
                note: String::new(),
                tags: Vec::new(),
            })
            .collect(),
    })
}

/// Delivers every message at once, in order, with no faults.
fn pump(leader: &mut Leader<Board>, followers: &mut [Follower<Board>]) {
    for _ in 0..4 {
        let outgoing: Vec<ToLeader> = followers.iter_mut().flat_map(Follower::poll).collect();
        for message in outgoing {
            for out in leader.receive(message) {
                for follower in followers.iter_mut() {
                    if out.to == Recipient::All || out.to == Recipient::Client(follower.client()) {
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
    let mut nodes = vec![
        Follower::new(1, leader.snapshot()),
        Follower::new(2, leader.snapshot()),
    ];
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
            id: 5,
            note: "mine".into(),
            tags: vec![]
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
    let mut nodes = vec![
        Follower::new(1, leader.snapshot()),
        Follower::new(2, leader.snapshot()),
    ];
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
            client: 1,
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
    let mut nodes = vec![
        Follower::new(1, leader.snapshot()),
        Follower::new(2, leader.snapshot()),
    ];
    // Node 1 queues two edits; only the first goes out.
    nodes[0].edit(|d| d.items().get_mut(4).unwrap().tags().push("a".into()));
    nodes[0].edit(|d| d.items().get_mut(5).unwrap().set_note("b".into()));
    let first = nodes[0].poll();
    // Meanwhile node 2 inserts at the front and commits.
    nodes[1].edit(|d| {
        d.items()
            .insert(
                0,
                Item {
                    id: 100,
                    note: String::new(),
                    tags: vec![],
                },
            )
            .unwrap();
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
}

enum Wire {
    ToLeader(String),
    ToFollower(u64, String),
}

/// The messages in flight, each due at a tick; faults while `faulty`.
struct Network {
    queue: Vec<(u64, u64, Wire)>,
    sequence: u64,
    faulty: bool,
}

impl Network {
    fn send(&mut self, rng: &mut Rng, now: u64, wire: Wire) {
        if self.faulty && rng.chance(20) {
            return; // dropped
        }
        let delay = if self.faulty { 1 + rng.below(8) } else { 1 };
        if self.faulty && rng.chance(10) {
            let copy = match &wire {
                Wire::ToLeader(s) => Wire::ToLeader(s.clone()),
                Wire::ToFollower(to, s) => Wire::ToFollower(*to, s.clone()),
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
        due.into_iter().map(|(_, _, w)| w).collect()
    }
}

/// What an edit meant: the note it wrote and the id of the item it wrote it to.
type Intents = HashMap<(u64, u64), (String, u64)>;

fn random_edit(rng: &mut Rng, node: &mut Follower<Board>, seq: u64, intents: &mut Intents) {
    let client = node.client();
    let len = node.state().items.len() as u64;
    let index = usize::try_from(rng.below(len.max(1))).unwrap_or(0);
    match rng.below(10) {
        0 | 1 => {
            let id = client * 1_000_000 + seq;
            node.edit(|d| {
                let mut items = d.items();
                let at = index.min(items.len());
                let _ = items.insert(
                    at,
                    Item {
                        id,
                        note: String::new(),
                        tags: vec![],
                    },
                );
            });
        }
        2 | 3 => {
            node.edit(|d| {
                d.items().remove(index);
            });
        }
        4..=6 => {
            let Some(target) = node.state().items.get(index).map(|i| i.id) else {
                return;
            };
            let token = format!("c{client}-{seq}");
            let written = token.clone();
            if let Some(change) = node.edit(|d| {
                if let Some(mut item) = d.items().get_mut(index) {
                    item.set_note(written);
                }
            }) {
                intents.insert((client, change), (token, target));
            }
        }
        7 | 8 => {
            node.edit(|d| {
                if let Some(mut item) = d.items().get_mut(index) {
                    item.tags().insert(0, format!("t{seq}")).ok();
                }
            });
        }
        _ => {
            if rng.chance(30) {
                node.edit(|d| d.items().reverse());
            } else {
                node.edit(|d| d.set_title(format!("title {client}-{seq}")));
            }
        }
    }
}

/// What a run went through.
#[derive(Default)]
struct Tally {
    accepted: usize,
    dropped: usize,
    snapshots: usize,
}

/// One simulated cluster: a leader, followers, and the network between them.
struct Cluster {
    seed: u64,
    rng: Rng,
    base: Arc<Board>,
    leader: Leader<Board>,
    nodes: Vec<Follower<Board>>,
    net: Network,
    intents: Intents,
    /// What the followers were told was accepted: (client, change) -> version.
    accepted: BTreeMap<(u64, u64), u64>,
    tally: Tally,
}

impl Cluster {
    fn new(seed: u64, followers: u64) -> Self {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let base = board(1 + rng.below(6));
        let leader = Leader::new(Arc::clone(&base));
        let nodes = (1..=followers)
            .map(|c| Follower::new(c, leader.snapshot()))
            .collect();
        let net = Network {
            queue: Vec::new(),
            sequence: 0,
            faulty: true,
        };
        Cluster {
            seed,
            rng,
            base,
            leader,
            nodes,
            net,
            intents: Intents::new(),
            accepted: BTreeMap::new(),
            tally: Tally::default(),
        }
    }

    /// Followers send on a timer (every tick once the network is healed): the change in
    /// flight and a resync request.
    fn poll(&mut self, now: u64) {
        for node in &mut self.nodes {
            if self.rng.chance(30) || !self.net.faulty {
                for message in node.poll() {
                    let wire = Wire::ToLeader(serde_json::to_string(&message).unwrap());
                    self.net.send(&mut self.rng, now, wire);
                }
            }
        }
    }

    /// Delivers what is due, through JSON, and sends the answers.
    fn deliver(&mut self, now: u64) {
        for wire in self.net.due(now) {
            match wire {
                Wire::ToLeader(text) => {
                    let message: ToLeader = serde_json::from_str(&text).unwrap();
                    for out in self.leader.receive(message) {
                        let text = serde_json::to_string(&out.message).unwrap();
                        for node in &self.nodes {
                            if out.to == Recipient::All
                                || out.to == Recipient::Client(node.client())
                            {
                                self.net.send(
                                    &mut self.rng,
                                    now,
                                    Wire::ToFollower(node.client(), text.clone()),
                                );
                            }
                        }
                    }
                }
                Wire::ToFollower(to, text) => {
                    let message: ToFollower<Board> = serde_json::from_str(&text).unwrap();
                    self.tally.snapshots += usize::from(matches!(message, ToFollower::Snapshot(_)));
                    let Some(node) = self.nodes.iter_mut().find(|n| n.client() == to) else {
                        continue;
                    };
                    node.receive(message);
                    for event in node.take_events() {
                        match event {
                            FollowerEvent::Accepted { change_id, version } => {
                                let first =
                                    self.accepted.insert((to, change_id), version).is_none();
                                assert!(first, "seed {}: accepted twice", self.seed);
                            }
                            FollowerEvent::Dropped { .. } => self.tally.dropped += 1,
                            FollowerEvent::Applied(_) => {}
                            FollowerEvent::Diverged { version, error } => panic!(
                                "seed {}: follower {to} diverged at {version}: {error}",
                                self.seed
                            ),
                        }
                    }
                }
            }
        }
    }

    fn settled(&self) -> bool {
        !self.net.faulty
            && self
                .nodes
                .iter()
                .all(|n| n.is_settled() && n.version() == self.leader.version())
    }

    /// Every replica equals the leader; the log holds exactly the accepted changes; each
    /// accepted note landed on the item its author edited.
    fn check(&self, complete_log: bool) {
        let seed = self.seed;
        for node in &self.nodes {
            assert!(
                node.is_settled(),
                "seed {seed}: node {} still has pending edits",
                node.client()
            );
            assert_eq!(node.version(), self.leader.version(), "seed {seed}");
            assert_eq!(
                node.state(),
                self.leader.state(),
                "seed {seed}: node {} diverged",
                node.client()
            );
        }
        for committed in self.leader.log() {
            let author_saw = self.accepted.get(&(committed.client, committed.change_id));
            assert!(
                author_saw.is_none() || author_saw == Some(&committed.version),
                "seed {seed}"
            );
        }
        if !complete_log {
            return;
        }
        let logged: BTreeMap<(u64, u64), u64> = self
            .leader
            .log()
            .map(|c| ((c.client, c.change_id), c.version))
            .collect();
        assert_eq!(
            logged, self.accepted,
            "seed {seed}: the log and the accepted changes differ"
        );
        // Replaying the log from the base gives the leader's state, and after each accepted
        // note edit the note sits on the item its author edited.
        let mut state = Arc::clone(&self.base);
        for committed in self.leader.log() {
            state = immer::apply_patches(&state, &committed.patches).unwrap();
            if let Some((token, target)) =
                self.intents.get(&(committed.client, committed.change_id))
            {
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
        assert_eq!(&state, self.leader.state(), "seed {seed}");
    }
}

/// One seeded run: random edits over a faulty network, then the network heals.
fn simulate(seed: u64, followers: u64, edits: u64) -> Tally {
    let mut cluster = Cluster::new(seed, followers);
    let compacts = cluster.rng.chance(25);
    let mut made = 0;
    let mut settled = false;
    for now in 0..5_000_u64 {
        if made < edits && cluster.rng.chance(40) {
            let who = usize::try_from(cluster.rng.below(followers)).unwrap_or(0);
            made += 1;
            random_edit(
                &mut cluster.rng,
                &mut cluster.nodes[who],
                made,
                &mut cluster.intents,
            );
        }
        if made == edits {
            cluster.net.faulty = false; // the network heals
        }
        cluster.poll(now);
        if compacts && cluster.rng.chance(5) {
            cluster
                .leader
                .compact(cluster.leader.version().saturating_sub(3));
        }
        cluster.deliver(now);
        if cluster.settled() {
            settled = true;
            break;
        }
    }
    assert!(settled, "seed {seed}: did not settle");
    cluster.check(!compacts);
    cluster.tally.accepted = cluster.accepted.len();
    cluster.tally
}

#[test]
fn a_thousand_seeded_runs_over_a_faulty_network_converge() {
    let mut total = Tally::default();
    for seed in 1..=1_000 {
        let tally = simulate(seed, 1 + seed % 4, 12 + seed % 20);
        total.accepted += tally.accepted;
        total.dropped += tally.dropped;
        total.snapshots += tally.snapshots;
    }
    eprintln!(
        "accepted {}, dropped {}, snapshots {}",
        total.accepted, total.dropped, total.snapshots
    );
    // Most edits get through; conflicts and snapshots drop some, and both happen.
    assert!(
        total.accepted > 10_000,
        "only {} changes accepted in 1,000 runs",
        total.accepted
    );
    assert!(
        total.dropped > 100 && total.snapshots > 10,
        "the faults were not exercised"
    );
}

#[test]
fn a_committed_change_that_does_not_apply_surfaces_and_resyncs() {
    // A follower whose state is not the leader's (a committed change does not apply) once
    // ignored the change silently and was stuck; now it says so and asks for a snapshot.
    let mut leader = Leader::new(Arc::new(vec![1_u32, 2, 3]));
    let mut follower = Follower::new(7, leader.snapshot());
    let bogus = immer::sync::Committed {
        version: 1,
        client: 9,
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
    assert!(
        requests
            .iter()
            .any(|m| matches!(m, ToLeader::SnapshotRequest { client: 7 }))
    );
    // Meanwhile the leader moved on; its snapshot sets the follower right.
    let mut bob = Follower::new(8, leader.snapshot());
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
