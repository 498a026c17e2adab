//! A follower kept across restarts of its process: saved while it edits offline, dropped as
//! a killed process drops it, restored from its file, and reconnected; every edit lands once
//! and the end is the one a follower that never went down reaches. A property test saves and
//! restores at random points and crashes back to the last save; files that do not read give
//! errors, never panics; the saved JSON is the JavaScript client's, both ways.

#[path = "support/vectors.rs"]
mod vectors;

use std::collections::{BTreeMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use immer::sync::{
    Committed, FileStore, Follower, FollowerEvent, FollowerStore, Leader, MemoryStore, Outbound,
    PersistError, Recipient, SavedFollower, SessionId, ToFollower,
};
use immer::{Draftable, PatchDraft};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    todos: Vec<Todo>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: String,
    text: String,
    done: bool,
}

fn board() -> Board {
    Board {
        title: "board".to_owned(),
        todos: (0..3)
            .map(|n| Todo {
                id: format!("t{n}"),
                text: format!("todo {n}"),
                done: false,
            })
            .collect(),
    }
}

fn todo(id: String) -> Todo {
    Todo {
        text: format!("text of {id}"),
        id,
        done: false,
    }
}

/// One edit of a kind (0: add, 1: remove, 2: toggle, 3: rename the board) at a position
/// (modulo the list's length), tagged `tag`.
fn recipe(kind: u8, at: usize, tag: &str) -> impl FnOnce(&mut PatchDraft<'_, '_, Board>) {
    move |d| {
        let len = d.todos().len();
        match kind % 4 {
            0 => {
                let at = if len == 0 { 0 } else { at % (len + 1) };
                d.todos()
                    .insert(at, todo(tag.to_owned()))
                    .expect("a Vec takes it");
            }
            1 if len > 0 => {
                d.todos().remove(at % len);
            }
            2 if len > 0 => {
                if let Some(mut todo) = d.todos().get_mut(at % len) {
                    let done = *todo.done();
                    todo.set_done(!done);
                }
            }
            _ => d.set_title(format!("title {tag}")),
        }
    }
}

/// Each edit's one outcome, by id: the version it became, or why it was dropped.
#[derive(Debug, Default, PartialEq)]
struct Outcomes(BTreeMap<u64, Result<u64, String>>);

impl Outcomes {
    fn collect(&mut self, events: Vec<FollowerEvent>) {
        for event in events {
            let (id, outcome) = match event {
                FollowerEvent::Accepted { id, version } => (id, Ok(version)),
                FollowerEvent::Dropped { id, reason } => (id, Err(reason.to_string())),
                _ => continue,
            };
            if let Some(earlier) = self.0.insert(id, outcome.clone()) {
                panic!("edit {id} has two outcomes: {earlier:?} and {outcome:?}");
            }
        }
    }

    /// Checks the outcomes of the edits `1..next_id` of `session` against the leader's log:
    /// each has exactly one; each change of the session is in the log once, at the version
    /// its edits were told, and every accepted edit is there.
    fn check(&self, session: SessionId, next_id: u64, log: &[Committed]) {
        let ids: Vec<u64> = self.0.keys().copied().collect();
        assert_eq!(
            ids,
            (1..next_id).collect::<Vec<_>>(),
            "one outcome per edit"
        );
        let mut once = HashSet::new();
        for committed in log.iter().filter(|c| c.session == session) {
            assert!(
                once.insert(committed.id),
                "{committed:?} is in the log twice"
            );
            assert_eq!(
                self.0.get(&committed.id),
                Some(&Ok(committed.version)),
                "a logged change was not told accepted"
            );
        }
        for (id, outcome) in &self.0 {
            if let Ok(version) = outcome {
                let committed = &log[*version as usize - 1];
                assert_eq!(committed.session, session, "edit {id}: version {version}");
                assert!(committed.id >= *id, "edit {id}: version {version}");
            }
        }
    }
}

/// The leader, Bob (always online, answered at once) and what the network holds for Ann.
struct World {
    leader: Leader<Board>,
    bob: Follower<Board>,
    /// Messages for Ann that the network holds.
    inbox: Vec<ToFollower<Board>>,
}

impl World {
    fn new() -> (Self, Follower<Board>) {
        let mut leader = Leader::new(Arc::new(board()));
        let ann = Follower::new(leader.join(1)).with_batch(3);
        let bob = Follower::new(leader.join(2));
        let world = World {
            leader,
            bob,
            inbox: Vec::new(),
        };
        (world, ann)
    }

    /// Sends `messages` to the leader and routes its answers: Bob's to Bob, Ann's to the
    /// network.
    fn send(&mut self, messages: Vec<immer::sync::ToLeader>) {
        let mut answers: Vec<Outbound<Board>> = Vec::new();
        for message in messages {
            answers.extend(self.leader.receive(message));
        }
        for out in answers {
            let bob = self.bob.session();
            match out.to {
                Recipient::All => {
                    self.bob.receive(out.message.clone());
                    self.inbox.push(out.message);
                }
                Recipient::Session(session) if session == bob => self.bob.receive(out.message),
                _ => self.inbox.push(out.message),
            }
        }
    }

    /// Bob edits, and his change is committed at once.
    fn bob_edits(&mut self, kind: u8, at: usize, tag: &str) {
        self.bob.edit(recipe(kind, at, tag));
        for _ in 0..4 {
            let out = self.bob.poll();
            self.send(out);
        }
        self.bob.take_events();
    }

    /// Ann's messages to the leader (once she has saved, when she keeps a store).
    fn ann_sends(
        &mut self,
        ann: &mut Follower<Board>,
        store: Option<&mut (dyn FollowerStore + 'static)>,
    ) {
        let out = ann.poll();
        if let Some(store) = store {
            ann.save_to(store).expect("saved");
        }
        self.send(out);
    }

    /// What the network holds for Ann, delivered.
    fn ann_receives(&mut self, ann: &mut Follower<Board>) {
        ann.receive_all(std::mem::take(&mut self.inbox));
    }

    /// Ann and Bob exchange with the leader until every edit is answered.
    fn settle(
        &mut self,
        ann: &mut Follower<Board>,
        mut store: Option<&mut (dyn FollowerStore + 'static)>,
    ) {
        for _ in 0..200 {
            let version = self.leader.version();
            let caught_up = ann.version() == version && self.bob.version() == version;
            if caught_up && ann.is_settled() && self.bob.is_settled() && self.inbox.is_empty() {
                return;
            }
            self.ann_sends(ann, store.as_deref_mut());
            self.ann_receives(ann);
            let out = self.bob.poll();
            self.send(out);
        }
        panic!("not settled: {ann:?}");
    }
}

/// A file of its own in the system's temporary directory, removed when dropped.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("immer-persist-{}-{name}.json", std::process::id()));
        let _ = std::fs::remove_file(&path);
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
        let _ = std::fs::remove_file(self.0.with_extension("json.tmp"));
    }
}

/// What one run of the offline scenario ends with.
#[derive(Debug, PartialEq)]
struct End {
    state: Board,
    log: Vec<Committed>,
    outcomes: Outcomes,
    next_id: u64,
}

/// Ann edits online, loses the answer to a change the leader committed, edits offline while
/// Bob removes and renames what she edits, then reconnects. With `restart`, her process is
/// killed while she is offline (after she saved) and she comes back from her file.
fn offline_scenario(restart: bool) -> End {
    let file = TempFile::new(if restart { "restart" } else { "online" });
    let mut store = FileStore::new(&file.0);
    let (mut world, mut ann) = World::new();
    let mut outcomes = Outcomes::default();
    // Online.
    for n in 0..5 {
        ann.edit(recipe(0, n, &format!("a{n}")));
        world.bob_edits(0, n + 1, &format!("b{n}"));
        world.settle(&mut ann, Some(&mut store));
    }
    outcomes.collect(ann.take_events());
    // A change goes out (saved first); the leader commits it, and the answer is lost.
    ann.edit(recipe(2, 0, "a5"));
    ann.edit(recipe(0, 2, "a6"));
    world.ann_sends(&mut ann, Some(&mut store));
    world.inbox.clear();
    // Offline: Ann edits, and Bob changes what she edits.
    for n in 7..25 {
        ann.edit(recipe(n as u8, n * 7, &format!("a{n}")));
        ann.save_to(&mut store).expect("saved");
        if n % 3 == 0 {
            world.bob_edits((n % 4) as u8, n * 5, &format!("b{n}"));
        }
    }
    world.inbox.clear();
    outcomes.collect(ann.take_events());
    if restart {
        ann.save_to(&mut store).expect("saved");
        let shown = Arc::clone(ann.state());
        let pending = ann.pending_count();
        drop(ann); // killed
        ann = Follower::load_from(&store).expect("reads").expect("saved");
        // Shown at once, offline, as it was.
        assert_eq!(ann.state(), &shown);
        assert_eq!(ann.pending_count(), pending);
    }
    world.settle(&mut ann, Some(&mut store));
    outcomes.collect(ann.take_events());
    assert_eq!(ann.state(), world.leader.state());
    assert_eq!(world.bob.state(), world.leader.state());
    let log: Vec<Committed> = world.leader.log().cloned().collect();
    let next_id = ann.save().next_id();
    outcomes.check(ann.session(), next_id, &log);
    // Saved settled and restored, it is the same.
    ann.save_to(&mut store).expect("saved");
    let again = Follower::<Board>::load_from(&store)
        .expect("reads")
        .expect("saved");
    assert_eq!(again.save(), ann.save());
    End {
        state: (**world.leader.state()).clone(),
        log,
        outcomes,
        next_id,
    }
}

#[test]
fn a_follower_killed_offline_comes_back_from_its_file_and_every_edit_lands_once() {
    let restarted = offline_scenario(true);
    let never_down = offline_scenario(false);
    assert_eq!(restarted, never_down);
    // The scenario means something: edits accepted and dropped, and the change whose answer
    // was lost accepted once.
    let accepted = restarted.outcomes.0.values().filter(|o| o.is_ok()).count();
    let dropped = restarted.outcomes.0.len() - accepted;
    assert!(accepted > 15 && dropped > 0, "{:?}", restarted.outcomes);
    assert!(matches!(restarted.outcomes.0.get(&6), Some(Ok(_))));
}

#[test]
fn a_restored_change_in_flight_is_answered_once_whether_or_not_the_leader_had_it() {
    for reached in [false, true] {
        let mut store = MemoryStore::new();
        let (mut world, mut ann) = World::new();
        ann.edit(recipe(0, 0, "x"));
        let out = ann.poll();
        ann.save_to(&mut store).expect("saved");
        if reached {
            world.send(out);
            world.inbox.clear();
        }
        drop(ann);
        let mut ann = Follower::<Board>::load_from(&store)
            .expect("reads")
            .expect("saved");
        world.settle(&mut ann, Some(&mut store));
        let mut outcomes = Outcomes::default();
        outcomes.collect(ann.take_events());
        assert_eq!(outcomes.0.get(&1), Some(&Ok(1)), "reached: {reached}");
        assert_eq!(world.leader.version(), 1, "committed once");
    }
}

/// What a property run does to Ann, the follower kept in a store.
#[derive(Clone, Debug)]
enum Op {
    /// An edit of a kind at a position.
    Edit(u8, usize),
    /// Ann polls, saves, and sends; `lost`: the messages never arrive.
    Send { lost: bool },
    /// The network delivers what it holds: all, the first `n`, or everything twice.
    Receive { first: Option<usize>, twice: bool },
    /// Bob edits, committed at once.
    Bob(u8, usize),
    /// Ann's app records the events it took and saves.
    Save,
    /// Ann's process is killed and comes back from the last save.
    Crash,
    /// Ann is saved to JSON and restored, and goes on as the restored one.
    RoundTrip,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..4_u8, 0..50_usize).prop_map(|(k, at)| Op::Edit(k, at)),
        3 => any::<bool>().prop_map(|lost| Op::Send { lost }),
        3 => (proptest::option::of(0..4_usize), any::<bool>())
            .prop_map(|(first, twice)| Op::Receive { first, twice }),
        2 => (0..4_u8, 0..50_usize).prop_map(|(k, at)| Op::Bob(k, at)),
        2 => Just(Op::Save),
        1 => Just(Op::Crash),
        2 => Just(Op::RoundTrip),
    ]
}

/// Everything a follower is, as its saved form holds it (states compared by value).
fn same(a: &Follower<Board>, b: &Follower<Board>) -> Result<(), TestCaseError> {
    prop_assert_eq!(a.state(), b.state());
    prop_assert_eq!(a.confirmed(), b.confirmed());
    prop_assert_eq!(a.version(), b.version());
    prop_assert_eq!((a.client(), a.session()), (b.client(), b.session()));
    prop_assert_eq!(a.pending_count(), b.pending_count());
    prop_assert_eq!(a.is_settled(), b.is_settled());
    let changes = |f: &Follower<Board>| -> Vec<_> {
        f.pending_changes()
            .map(|(ids, patches)| (ids, patches.to_vec()))
            .collect()
    };
    prop_assert_eq!(changes(a), changes(b));
    prop_assert_eq!(a.save(), b.save());
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    /// Saved and restored at any point, a follower is the one it was and goes on as it
    /// would have; killed and restored from its last save (saved before each send), every
    /// edit it kept ends once, in the leader's log once, and it converges.
    #[test]
    fn save_and_restore_at_any_point(ops in proptest::collection::vec(op(), 1..60)) {
        let mut store = MemoryStore::new();
        let (mut world, mut ann) = World::new();
        let mut outcomes = Outcomes::default();
        ann.save_to(&mut store).expect("saved");
        for (n, op) in ops.iter().enumerate() {
            match *op {
                Op::Edit(kind, at) => {
                    ann.edit(recipe(kind, at, &format!("a{n}")));
                }
                Op::Send { lost } => {
                    let out = ann.poll();
                    ann.save_to(&mut store).expect("saved");
                    if !lost {
                        world.send(out);
                    }
                }
                Op::Receive { first, twice } => {
                    let mut messages = std::mem::take(&mut world.inbox);
                    if let Some(first) = first {
                        messages.truncate(first);
                    }
                    if twice {
                        let again = messages.clone();
                        messages.extend(again);
                    }
                    ann.receive_all(messages);
                }
                Op::Bob(kind, at) => world.bob_edits(kind, at, &format!("b{n}")),
                Op::Save => {
                    outcomes.collect(ann.take_events());
                    ann.save_to(&mut store).expect("saved");
                }
                Op::Crash => {
                    ann = Follower::load_from(&store).expect("reads").expect("saved");
                }
                Op::RoundTrip => {
                    let bytes = ann.save().to_vec().expect("JSON");
                    let saved = SavedFollower::<Board>::from_slice(&bytes).expect("reads");
                    let restored = Follower::restore(saved).expect("restores");
                    same(&ann, &restored)?;
                    ann = restored;
                }
            }
        }
        world.settle(&mut ann, Some(&mut store));
        outcomes.collect(ann.take_events());
        prop_assert_eq!(ann.state(), world.leader.state());
        prop_assert_eq!(world.bob.state(), world.leader.state());
        let log: Vec<Committed> = world.leader.log().cloned().collect();
        outcomes.check(ann.session(), ann.save().next_id(), &log);
    }

    /// Any bytes: an error or a follower, never a panic.
    #[test]
    fn any_bytes_give_an_error_not_a_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut store = MemoryStore::new();
        store.save(&bytes).expect("saved");
        prop_assert!(Follower::<Board>::load_from(&store).is_err());
    }
}

/// A saved follower with edits in flight and pending, as JSON.
fn saved_bytes() -> Vec<u8> {
    let (mut world, mut ann) = World::new();
    ann.edit(recipe(0, 0, "x"));
    world.ann_sends(&mut ann, None);
    ann.edit(recipe(2, 1, "y"));
    ann.edit(recipe(3, 0, "z"));
    ann.save().to_vec().expect("JSON")
}

fn load(bytes: &[u8]) -> Result<Option<Follower<Board>>, PersistError> {
    let mut store = MemoryStore::new();
    store.save(bytes).expect("saved");
    Follower::load_from(&store)
}

#[test]
fn a_file_cut_short_anywhere_is_refused_as_cut_short() {
    let bytes = saved_bytes();
    assert!(load(&bytes).expect("whole").is_some());
    for end in 0..bytes.len() {
        match load(&bytes[..end]) {
            Err(PersistError::Truncated(_)) => {}
            other => panic!("cut at {end}: {other:?}"),
        }
    }
}

#[test]
fn garbage_another_format_another_document_and_parts_that_do_not_fit_are_refused() {
    let message = |result: Result<Option<Follower<Board>>, PersistError>| {
        result.expect_err("refused").to_string()
    };
    assert!(message(load(b"\xff\xfe garbage")).contains("not JSON"));
    assert!(message(load(br#"{"todos": []}"#)).contains("no `format`"));
    let json: serde_json::Value = serde_json::from_slice(&saved_bytes()).expect("JSON");
    let with = |edit: &dyn Fn(&mut serde_json::Value)| {
        let mut json = json.clone();
        edit(&mut json);
        load(&serde_json::to_vec(&json).expect("JSON"))
    };
    assert!(message(with(&|j| j["format"] = 2.into())).contains("its `format` is 2"));
    assert!(matches!(
        with(&|j| j["pending"] = "none".into()),
        Err(PersistError::Malformed(_))
    ));
    // Another document's file.
    let mut leader = Leader::new(Arc::new(vec![1_u32, 2]));
    let other = Follower::new(leader.join(1)).save().to_vec().expect("JSON");
    let error = message(load(&other));
    assert!(
        error.contains("state is not a `test_persist::Board`"),
        "{error}"
    );
    // Parts that do not fit together.
    let inconsistent = [
        with(&|j| j["nextId"] = 1.into()),
        // Past the largest id: counting on would wrap (and JavaScript refuses it too).
        with(&|j| j["nextId"] = u64::MAX.into()),
        with(&|j| j["nextId"] = (1_u64 << 53).into()),
        with(&|j| j["pending"][0]["id"] = 9.into()),
        with(&|j| j["inFlight"]["change"]["id"] = 3.into()),
        with(&|j| {
            j["pending"][1]["patches"] =
                serde_json::json!([{"op": "remove", "path": ["todos", 99]}]);
        }),
    ];
    for result in inconsistent {
        assert!(
            matches!(result, Err(PersistError::Inconsistent(_))),
            "{result:?}"
        );
    }
    // Starting fresh: the store forgets it.
    let mut store = MemoryStore::new();
    store.save(b"garbage").expect("saved");
    assert!(Follower::<Board>::load_from(&store).is_err());
    store.remove().expect("removed");
    assert!(
        Follower::<Board>::load_from(&store)
            .expect("reads")
            .is_none()
    );
}

#[test]
fn a_saved_follower_inside_a_record_of_ones_own_reads_with_serde() {
    #[derive(Serialize, Deserialize)]
    struct Record {
        user: String,
        follower: SavedFollower<Board>,
    }
    let saved: SavedFollower<Board> = serde_json::from_slice(&saved_bytes()).expect("reads");
    let record = Record {
        user: "ann".to_owned(),
        follower: saved.clone(),
    };
    let text = serde_json::to_string(&record).expect("JSON");
    let again: Record = serde_json::from_str(&text).expect("reads");
    assert_eq!(again.follower, saved);
    let other = text.replace(r#""format":1"#, r#""format":7"#);
    let error = serde_json::from_str::<Record>(&other)
        .err()
        .expect("refused");
    assert!(error.to_string().contains("its format is 7"), "{error}");
}

#[test]
fn a_file_store_replaces_its_file_whole_and_forgets_it() {
    let file = TempFile::new("file-store");
    let mut store = FileStore::new(&file.0);
    assert_eq!(store.load().expect("reads"), None);
    store.save(b"first").expect("saved");
    store.save(b"second").expect("saved");
    assert_eq!(
        store.load().expect("reads").as_deref(),
        Some(&b"second"[..])
    );
    assert!(!file.0.with_extension("json.tmp").exists(), "renamed over");
    // A crash between writing the temporary file and renaming it leaves the file as it was.
    std::fs::write(file.0.with_extension("json.tmp"), b"half").expect("written");
    assert_eq!(
        store.load().expect("reads").as_deref(),
        Some(&b"second"[..])
    );
    store.save(b"third").expect("saved over what was left");
    assert_eq!(store.load().expect("reads").as_deref(), Some(&b"third"[..]));
    store.remove().expect("removed");
    store.remove().expect("removed again: nothing to do");
    assert_eq!(store.load().expect("reads"), None);
    // A directory that does not exist: an error, not a panic.
    let mut nowhere = FileStore::new(file.0.join("no-such-directory").join("doc.json"));
    assert!(nowhere.save(b"x").is_err());
    assert!(FileStore::new("/").save(b"x").is_err());
}

/// The JavaScript client's `Follower.save`, written by `tests/data/persist/from_js.mjs`
/// (which also restores `from_rust.json` in the JavaScript client): read here, restored,
/// and going on as the JavaScript follower would.
#[test]
fn a_follower_saved_by_the_javascript_client_is_restored_here() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let bytes = std::fs::read(root.join("tests/data/persist/from_js.json")).expect("the fixture");
    let file: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
    let file = &file["follower"];
    let saved = SavedFollower::<Board>::from_value(file["saved"].clone()).expect("reads");
    let mut follower = Follower::restore(saved).expect("restores");
    // The state the JavaScript follower showed, and the messages it would send next.
    let state: Board = serde_json::from_value(file["state"].clone()).expect("a board");
    assert_eq!(**follower.state(), state);
    assert_eq!(follower.version(), file["version"]);
    assert_eq!(follower.pending_count(), file["pendingCount"]);
    let sent: Vec<serde_json::Value> = follower
        .poll()
        .into_iter()
        .filter_map(immer_web_message)
        .collect();
    assert_eq!(serde_json::Value::from(sent), file["poll"]);
}

/// A follower's message as the JavaScript client writes it (`{"type": "change", "id",
/// "base", "patches"}`, `{"type": "resync", "version"}`).
fn immer_web_message(message: immer::sync::ToLeader) -> Option<serde_json::Value> {
    match message {
        immer::sync::ToLeader::Change(change) => Some(serde_json::json!({
            "type": "change", "id": change.id, "base": change.base, "patches": change.patches,
        })),
        immer::sync::ToLeader::Resync { version, .. } => {
            Some(serde_json::json!({"type": "resync", "version": version}))
        }
        immer::sync::ToLeader::SnapshotRequest { .. } => {
            Some(serde_json::json!({"type": "snapshot"}))
        }
        immer::sync::ToLeader::Join { .. } => None,
    }
}

/// What this follower saves, for the JavaScript client to restore (`from_js.mjs` checks it):
/// a committed file, rewritten only with `IMMER_UPDATE_VECTORS=1`.
#[test]
fn what_a_follower_saves_here_is_the_fixture_the_javascript_client_restores() {
    let (mut world, mut ann) = World::new();
    ann.edit(recipe(0, 0, "sent"));
    world.ann_sends(&mut ann, None);
    ann.edit(recipe(2, 1, "waiting"));
    ann.edit(recipe(3, 0, "renamed"));
    world.bob_edits(0, 0, "bob");
    // Bob's change arrives before the answer to Ann's: it waits, early.
    let early = world.inbox.pop().expect("Bob's change");
    ann.receive(early);
    let saved = serde_json::to_value(ann.save()).expect("JSON");
    let state = serde_json::to_value(&**ann.state()).expect("JSON");
    let poll: Vec<serde_json::Value> = ann
        .poll()
        .into_iter()
        .filter_map(immer_web_message)
        .collect();
    let body = serde_json::json!({
        "saved": saved,
        "state": state,
        "version": ann.version(),
        "pendingCount": ann.pending_count(),
        "poll": poll,
    });
    vectors::check_vectors(
        "tests/data/persist/from_rust.json",
        "A Rust follower's save (Follower::save), with the state it shows, its version, its \
         pending count and what it sends next: tests/test_persist.rs writes it, \
         tests/data/persist/from_js.mjs restores it in the JavaScript client.",
        "follower",
        body,
        "cargo test --test test_persist",
    );
}
