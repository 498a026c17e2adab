//! Subscriptions by path on a follower: a subscription gets every change of the state the
//! follower shows that touches its pattern, and nothing else.
//!
//! The law checked, for patterns with no `*` (whose matches are one path, or one subtree for
//! a trailing `**`): when the value at that path differs between the state shown before a
//! step and after it, the step is reported to the subscription; every patch reported touches
//! the pattern ([`PathPattern::touches`]); and the state reported is the state shown after.
//! Steps are local edits and the leader's messages, delivered late, in runs, with conflicts
//! that drop edits and revert their effect. With faults, they also include what makes a
//! follower report a diff rather than the patches it applied: edits the leader refuses (by
//! validation, or based on a version compacted away), messages lost, snapshots for a follower
//! behind the compacted log, and committed changes that apply partway and fail (the follower
//! diverges, then a snapshot sets it right). For the root pattern, what is reported takes
//! the state shown before to the state shown after. Every run ends with everything delivered
//! and each follower holding the leader's state.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Arc;

use immer::sync::{
    DropReason, Follower, FollowerEvent, Leader, Recipient, SubscriptionId, ToFollower,
};
use immer::{Draftable, PathPattern};
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    todos: Vec<Todo>,
    settings: BTreeMap<String, u32>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    text: String,
    done: bool,
}

fn board() -> Board {
    let todo = |n: u32| Todo {
        text: format!("t{n}"),
        done: false,
    };
    Board {
        title: "board".to_owned(),
        todos: (0..4).map(todo).collect(),
        settings: BTreeMap::from([("a".to_owned(), 1)]),
    }
}

/// The patterns subscribed to: no `*`, so each names one path (or one subtree).
fn patterns() -> Vec<PathPattern> {
    let typed: Vec<PathPattern> = vec![
        immer::path::<Board>().title().into(),
        immer::path::<Board>().todos().into(),
        immer::path::<Board>().todos().at(0).into(),
        immer::path::<Board>().todos().at(1).done().into(),
        immer::path::<Board>().todos().at(2).text().into(),
        immer::path::<Board>().todos().at(3).everything(),
        immer::path::<Board>().settings().key("a").into(),
        immer::path::<Board>().settings().key("b").into(),
    ];
    let parsed = ["", "/**", "/todos/**", "/todos/5"]
        .iter()
        .map(|p| p.parse().unwrap());
    typed.into_iter().chain(parsed).collect()
}

/// The JSON at the path a pattern with no `*` names (its subtree for a trailing `**`).
fn at(state: &Value, pattern: &PathPattern) -> Option<Value> {
    let text = pattern.to_string();
    let pointer = text.strip_suffix("/**").unwrap_or(&text);
    state.pointer(pointer).cloned()
}

fn edit(follower: &mut Follower<Board>, kind: u8, arg: u8) {
    let i = usize::from(arg % 5);
    follower.edit(|d| match kind % 7 {
        0 => d.set_title(format!("title {arg}")),
        1 => {
            let len = d.todos.len();
            let _ = d.todos().insert(
                i.min(len),
                Todo {
                    text: format!("new {arg}"),
                    done: false,
                },
            );
        }
        2 => {
            d.todos().remove(i);
        }
        3 => {
            if let Some(mut todo) = d.todos().get_mut(i) {
                todo.set_done(arg % 2 == 0);
            }
        }
        4 => {
            if let Some(mut todo) = d.todos().get_mut(i) {
                todo.set_text(format!("text {arg}"));
            }
        }
        5 => {
            d.settings()
                .insert(["a", "b"][usize::from(arg % 2)].to_owned(), u32::from(arg));
        }
        _ => {
            d.settings().remove(["a", "b"][usize::from(arg % 2)]);
        }
    });
}

/// What a run of steps went through, to check that the faults were exercised.
#[derive(Default, Debug)]
struct Seen {
    snapshots: usize,
    rejected: usize,
    dropped: usize,
    diverged: usize,
}

struct Network {
    leader: Leader<Board>,
    followers: Vec<Follower<Board>>,
    inboxes: Vec<VecDeque<ToFollower<Board>>>,
    subscriptions: Vec<Vec<(SubscriptionId, PathPattern)>>,
    seen: Seen,
}

impl Network {
    /// `nodes` followers of a leader that refuses a setting above 200 (so that edits are
    /// refused and dropped).
    fn new(nodes: usize) -> Self {
        let mut leader = Leader::new(Arc::new(board())).with_validator(|_, after: &Board, _| {
            match after.settings.values().find(|v| **v > 200) {
                Some(v) => Err(format!("setting {v} is above 200")),
                None => Ok(()),
            }
        });
        let mut followers = Vec::new();
        let mut subscriptions = Vec::new();
        for n in 0..nodes {
            let mut follower = Follower::new(leader.join(n as u64 + 1));
            subscriptions.push(
                patterns()
                    .into_iter()
                    .map(|p| (follower.subscribe(p.clone()), p))
                    .collect(),
            );
            followers.push(follower);
        }
        Network {
            leader,
            inboxes: vec![VecDeque::new(); nodes],
            followers,
            subscriptions,
            seen: Seen::default(),
        }
    }

    /// Sends what follower `n` has to send, and queues the leader's answers.
    fn send(&mut self, n: usize) {
        for message in self.followers[n].poll() {
            for out in self.leader.receive(message) {
                for (m, follower) in self.followers.iter().enumerate() {
                    let to = match out.to {
                        Recipient::All => true,
                        Recipient::Session(s) => s == follower.session(),
                        Recipient::Sender => m == n,
                    };
                    if to {
                        self.inboxes[m].push_back(out.message.clone());
                    }
                }
            }
        }
    }

    /// A committed change, as if from another node, that follows follower `n`'s version but
    /// does not apply to its state: its first patch applies (in place), its second fails,
    /// so the follower diverges with its state changed partway.
    fn not_applying(&self, n: usize, arg: u8) -> ToFollower<Board> {
        let at = |p: &str| immer::Path::from_pointer(p).unwrap();
        let first = match arg % 3 {
            0 => immer::Patch::replace(at("/title"), format!("bogus {arg}").into()),
            1 => immer::Patch::replace(at("/todos/0/done"), true.into()),
            _ => immer::Patch::add(at("/settings/b"), u32::from(arg).into()),
        };
        ToFollower::Committed(immer::sync::Committed {
            version: self.followers[n].version() + 1,
            client: 99,
            session: 99,
            id: u64::from(arg),
            patches: vec![first, immer::Patch::remove(at("/todos/99"))],
            author: None,
        })
    }

    /// One step of follower `n` (or of the leader), checked against the law. `faults` adds
    /// compaction (followers behind catch up by snapshot, changes on an older base are
    /// refused), lost messages and committed changes that do not apply (divergence).
    fn step(&mut self, n: usize, kind: u8, arg: u8, faults: bool) {
        let before = serde_json::to_value(&**self.followers[n].state()).unwrap();
        match kind % if faults { 7 } else { 4 } {
            0 | 1 => edit(&mut self.followers[n], kind / 7, arg),
            2 => {
                let run = usize::from(arg % 4) + 1;
                let take = run.min(self.inboxes[n].len());
                let messages: Vec<_> = self.inboxes[n].drain(..take).collect();
                self.receive(n, messages);
            }
            3 => {
                self.send(n);
                return;
            }
            4 => {
                self.leader.compact(self.leader.version());
                return;
            }
            5 => {
                // Lost on the way: the follower resyncs (or sends its change again).
                let lost = usize::from(arg % 4) + 1;
                let lost = lost.min(self.inboxes[n].len());
                self.inboxes[n].drain(..lost);
                return;
            }
            _ => {
                // Delivered before what waits in the inbox, with the next few of it.
                let bogus = self.not_applying(n, arg);
                let take = usize::from(arg % 3).min(self.inboxes[n].len());
                let messages: Vec<_> = std::iter::once(bogus)
                    .chain(self.inboxes[n].drain(..take))
                    .collect();
                self.receive(n, messages);
            }
        }
        self.check(n, &before);
    }

    /// Follower `n` receives `messages` as one run.
    fn receive(&mut self, n: usize, messages: Vec<ToFollower<Board>>) {
        self.seen.snapshots += messages
            .iter()
            .filter(|m| matches!(m, ToFollower::Snapshot(_)))
            .count();
        self.followers[n].receive_all(messages);
    }

    /// The law, for the step of follower `n` that took its state from `before`.
    fn check(&mut self, n: usize, before: &Value) {
        let follower = &mut self.followers[n];
        for event in follower.take_events() {
            match event {
                FollowerEvent::Dropped {
                    reason: DropReason::Rejected(_),
                    ..
                } => self.seen.rejected += 1,
                FollowerEvent::Dropped { .. } => self.seen.dropped += 1,
                FollowerEvent::Diverged { .. } => self.seen.diverged += 1,
                _ => {}
            }
        }
        let after = serde_json::to_value(&**follower.state()).unwrap();
        let mut reported: HashMap<SubscriptionId, Vec<immer::Patch>> = HashMap::new();
        for change in follower.take_path_changes() {
            assert!(Arc::ptr_eq(&change.state, follower.state()));
            assert!(!change.patches.is_empty());
            reported
                .entry(change.subscription)
                .or_default()
                .extend(change.patches);
        }
        for (id, pattern) in &self.subscriptions[n] {
            let patches = reported.remove(id).unwrap_or_default();
            if pattern.to_string().is_empty() {
                // The root is touched by every patch: these (the exact patches of the step,
                // or the diff when it changed the state in a way no patches recorded) take
                // the state shown before to the state shown after.
                let applied = immer::apply_patches(&Arc::new(before.clone()), &patches)
                    .unwrap_or_else(|e| panic!("{e}: {patches:?} on {before}"));
                assert_eq!(*applied, after, "{patches:?}");
            }
            for patch in &patches {
                assert!(pattern.touches(patch), "{patch:?} reported to {pattern}");
            }
            if at(before, pattern) != at(&after, pattern) {
                assert!(
                    !patches.is_empty(),
                    "{pattern} changed from {:?} to {:?} unreported",
                    at(before, pattern),
                    at(&after, pattern)
                );
            }
        }
        assert!(
            reported.is_empty(),
            "reports to no subscription: {reported:?}"
        );
    }

    /// Sends and delivers everything until every follower is settled and has the leader's
    /// state, each step checked.
    fn settle(&mut self) {
        for _ in 0..500 {
            let done = self
                .followers
                .iter()
                .all(|f| f.is_settled() && f.version() == self.leader.version())
                && self.inboxes.iter().all(VecDeque::is_empty);
            if done {
                for follower in &self.followers {
                    assert_eq!(follower.state(), self.leader.state());
                }
                return;
            }
            for n in 0..self.followers.len() {
                self.send(n);
                while !self.inboxes[n].is_empty() {
                    self.step(n, 2, 255, false);
                }
            }
        }
        panic!("the followers did not settle: {:?}", self.followers);
    }
}

fn steps() -> impl Strategy<Value = Vec<(usize, u8, u8)>> {
    prop::collection::vec((0..3_usize, any::<u8>(), any::<u8>()), 1..60)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn subscriptions_get_every_change_that_touches_them(steps in steps()) {
        let mut network = Network::new(3);
        for (n, kind, arg) in steps {
            network.step(n, kind, arg, false);
        }
        network.settle();
    }

    /// With the faults that make a follower fall back to a diff: refusals and drops,
    /// snapshots after compaction, divergence (then a snapshot).
    #[test]
    fn subscriptions_get_every_change_through_faults(steps in steps()) {
        let mut network = Network::new(3);
        for (n, kind, arg) in steps {
            network.step(n, kind, arg, true);
        }
        network.settle();
    }
}

/// The faults are exercised by the runs the proptest makes: a fixed set of them sees each.
#[test]
fn the_runs_with_faults_see_every_fallback() {
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let mut seen = Seen::default();
    for _ in 0..100 {
        let steps = steps().new_tree(&mut runner).unwrap().current();
        let mut network = Network::new(3);
        for (n, kind, arg) in steps {
            network.step(n, kind, arg, true);
        }
        network.settle();
        seen.snapshots += network.seen.snapshots;
        seen.rejected += network.seen.rejected;
        seen.dropped += network.seen.dropped;
        seen.diverged += network.seen.diverged;
    }
    assert!(
        seen.snapshots > 50 && seen.rejected > 20 && seen.dropped > 20 && seen.diverged > 50,
        "{seen:?}"
    );
}

#[test]
fn a_local_edit_reports_its_own_patches_that_touch() {
    let mut leader = Leader::new(Arc::new(board()));
    let mut ann = Follower::new(leader.join(1));
    let done = ann.subscribe(immer::path::<Board>().todos().at(1).done());
    let title = ann.subscribe("/title".parse::<PathPattern>().unwrap());
    ann.edit(|d| {
        d.set_title("t".into());
        d.todos().get_mut(1).unwrap().set_done(true);
        d.todos().get_mut(2).unwrap().set_done(true);
    });
    let changes = ann.take_path_changes();
    assert_eq!(changes.len(), 2);
    assert_eq!(changes[0].subscription, done);
    let paths: Vec<String> = changes[0]
        .patches
        .iter()
        .map(|p| p.path.to_pointer())
        .collect();
    assert_eq!(paths, ["/todos/1/done"]);
    assert_eq!(changes[1].subscription, title);
    assert_eq!(changes[1].patches.len(), 1);
    // Removing the first todo shifts the second: it touches `/todos/1/done`.
    ann.edit(|d| {
        d.todos().remove(0);
    });
    let changes = ann.take_path_changes();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].subscription, done);
}

#[test]
fn unsubscribing_stops_the_reports_and_drops_those_waiting() {
    let mut leader = Leader::new(Arc::new(board()));
    let mut ann = Follower::new(leader.join(1));
    let everything = ann.subscribe(immer::path::<Board>().everything());
    let other = ann.subscribe(immer::path::<Board>().title());
    ann.edit(|d| d.set_title("a".into()));
    assert!(ann.unsubscribe(everything));
    assert!(!ann.unsubscribe(everything), "already ended");
    let waiting = ann.take_path_changes();
    assert_eq!(waiting.len(), 1, "only the other subscription's");
    assert_eq!(waiting[0].subscription, other);
    assert!(ann.unsubscribe(other));
    ann.edit(|d| d.set_title("b".into()));
    assert!(ann.take_path_changes().is_empty());
    // Subscribing again gives a new id: an old one never ends a new subscription.
    let again = ann.subscribe(immer::path::<Board>().title());
    assert_ne!(again, everything);
    assert_ne!(again, other);
}
