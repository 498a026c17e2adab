//! What a leader commits is the change as the typed state writes it: list positions as
//! numbers (moved as positions), values as the Rust type serializes them, nothing a JSON
//! client would hold differently. Checked by applying the committed patches as JSON with an
//! independent RFC 6902 implementation (`json-patch`) and comparing with serde's JSON of the
//! leader's state; and the cheap refusals (an empty change, one too far behind to move).

use std::collections::BTreeSet;
use std::sync::Arc;

use immer::sync::{Change, Committed, Leader, RejectReason, ToFollower, ToLeader};
use immer::{Draftable, Patch, PatchOp, Path, PathSegment, Vector, apply_canonical};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Board {
    title: String,
    todos: Vector<Todo>,
    tags: BTreeSet<String>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Todo {
    id: String,
    done: bool,
    weight: f64,
    #[serde(default)]
    note: Option<String>,
}

fn todo(id: &str) -> Todo {
    Todo {
        id: id.to_owned(),
        done: false,
        weight: 0.5,
        note: None,
    }
}

fn board(todos: usize) -> Arc<Board> {
    Arc::new(Board {
        title: "t".to_owned(),
        todos: (0..todos).map(|n| todo(&format!("a{n}"))).collect(),
        tags: ["b", "d"].iter().map(|t| (*t).to_owned()).collect(),
    })
}

fn path(segments: Value) -> Path {
    serde_json::from_value(segments).unwrap()
}

fn change(session: u64, id: u64, base: u64, patches: Vec<Patch>) -> ToLeader {
    ToLeader::Change(Change {
        author: None,
        client: 1,
        session,
        id,
        base,
        patches,
    })
}

/// The leader's answer to one change: committed, or why not.
fn send(leader: &mut Leader<Board>, message: ToLeader) -> Result<Committed, RejectReason> {
    let mut outs = leader.receive(message);
    assert_eq!(outs.len(), 1, "one answer");
    match outs.remove(0).message {
        ToFollower::Committed(committed) => Ok(committed),
        ToFollower::Rejected(rejected) => Err(rejected.reason),
        other => panic!("unexpected answer {other:?}"),
    }
}

/// `patches` applied as JSON by `json-patch`, as a JavaScript client applies them.
fn apply_json(mut doc: Value, patches: &[Patch]) -> Value {
    let patch: json_patch::Patch =
        serde_json::from_value(serde_json::to_value(immer::to_json_patch(patches)).unwrap())
            .unwrap();
    json_patch::patch(&mut doc, &patch).unwrap();
    doc
}

#[test]
fn members_the_type_lacks_are_not_committed_and_json_clients_hold_the_leaders_state() {
    let mut leader = Leader::new(board(2));
    let session = leader.join(1).session;
    let mut mirror = serde_json::to_value(&**leader.state()).unwrap();
    let sent = vec![
        Patch::add(
            path(json!(["todos", 2])),
            json!({"id": "x", "done": false, "weight": 1, "junk": "z".repeat(1000), "isAdmin": true}),
        ),
        Patch::replace(path(json!(["todos", "0", "weight"])), json!(2)),
        Patch::add(
            path(json!(["todos", "-"])),
            json!({"id": "y", "done": true, "weight": 0}),
        ),
        // A set keeps its order: the element lands where the set puts it.
        Patch::add(path(json!(["tags", 0])), json!("c")),
        // Already there: changes nothing, so nothing is committed for it.
        Patch::add(path(json!(["tags", 5])), json!("b")),
    ];
    let committed = send(&mut leader, change(session, 1, 0, sent)).unwrap();
    let text = serde_json::to_string(&committed.patches).unwrap();
    assert!(
        !text.contains("junk") && !text.contains("isAdmin"),
        "{text}"
    );
    assert_eq!(committed.patches.len(), 4, "{text}");
    assert_eq!(
        committed.patches[1].path.segments()[1],
        PathSegment::Index(0)
    );
    assert_eq!(committed.patches[1].value, Some(json!(2.0)));
    assert_eq!(committed.patches[2].path, path(json!(["todos", 3])));
    assert_eq!(committed.patches[3].path, path(json!(["tags", 1])));
    mirror = apply_json(mirror, &committed.patches);
    assert_eq!(mirror, serde_json::to_value(&**leader.state()).unwrap());
    assert_eq!(leader.state().tags.len(), 3);
}

#[test]
fn a_list_position_written_as_a_string_is_moved_as_a_position() {
    // Todos a0–a3. Another client removes ["todos", "0"]; a change made before it ticks
    // ["todos", 2, "done"] (a2, now at 1), and another ticks the removed todo.
    let mut leader = Leader::new(board(4));
    let other = leader.join(2).session;
    let checker = leader.join(3).session;
    let removed = send(
        &mut leader,
        change(
            other,
            1,
            0,
            vec![Patch::remove(path(json!(["todos", "0"])))],
        ),
    )
    .unwrap();
    assert_eq!(removed.patches[0].path, path(json!(["todos", 0])));
    let tick = |at: Value| vec![Patch::replace(path(at), json!(true))];
    let ticked = send(
        &mut leader,
        change(checker, 1, 0, tick(json!(["todos", 2, "done"]))),
    )
    .unwrap();
    assert_eq!(ticked.patches[0].path, path(json!(["todos", 1, "done"])));
    let done: Vec<&str> = leader
        .state()
        .todos
        .iter()
        .filter(|t| t.done)
        .map(|t| t.id.as_str())
        .collect();
    assert_eq!(done, ["a2"]);
    // The same as strings, and a tick of the removed todo: a conflict, never a1.
    let again = send(
        &mut leader,
        change(checker, 2, 0, tick(json!(["todos", "3", "done"]))),
    )
    .unwrap();
    assert_eq!(again.patches[0].path, path(json!(["todos", 2, "done"])));
    let gone = send(
        &mut leader,
        change(checker, 3, 0, tick(json!(["todos", "0", "done"]))),
    );
    assert!(
        matches!(gone, Err(RejectReason::Conflict { version: 1, .. })),
        "{gone:?}"
    );
    assert!(!leader.state().todos[0].done, "a1 untouched");
}

#[test]
fn empty_changes_and_changes_too_far_behind_are_refused_before_anything_moves() {
    let mut leader = Leader::new(board(3)).with_move_limit(1_100);
    let session = leader.join(1).session;
    assert_eq!(
        send(&mut leader, change(session, 1, 0, Vec::new())),
        Err(RejectReason::Empty {})
    );
    assert_eq!(leader.version(), 0);
    for id in 2..=21 {
        let title = vec![Patch::replace(
            path(json!(["title"])),
            json!(format!("t{id}")),
        )];
        let base = leader.version();
        send(&mut leader, change(session, id, base, title)).unwrap();
    }
    // 20 patches committed since version 0: 5 patches at base 0 are 20 × (5 + 50) = 1,100,
    // 6 are 1,120.
    let ticks = |n: usize| {
        (0..n)
            .map(|i| Patch::replace(path(json!(["todos", i % 3, "done"])), json!(true)))
            .collect::<Vec<_>>()
    };
    send(&mut leader, change(session, 22, 0, ticks(5))).unwrap();
    let refused = send(&mut leader, change(session, 23, 0, ticks(6)));
    assert!(
        matches!(
            refused,
            Err(RejectReason::Limit {
                max: 1_100,
                got: 1_101..,
                ..
            })
        ),
        "{refused:?}"
    );
    // From a recent base the same change goes through.
    let base = leader.version();
    send(&mut leader, change(session, 24, base, ticks(6))).unwrap();
}

#[test]
fn a_set_keeps_its_order_and_a_change_that_changes_nothing_is_refused() {
    let mut leader = Leader::new(board(1));
    let session = leader.join(1).session;
    let mut mirror = serde_json::to_value(&**leader.state()).unwrap();
    // Tags b, d. Remove "d" named at position 0, add "a" named at the end.
    let sent = vec![
        Patch {
            op: PatchOp::Remove,
            path: path(json!(["tags", 0])),
            value: Some(json!("d")),
            from: None,
        },
        Patch::add(path(json!(["tags", "-"])), json!("a")),
    ];
    let committed = send(&mut leader, change(session, 1, 0, sent)).unwrap();
    assert_eq!(committed.patches[0].path, path(json!(["tags", 1])));
    assert_eq!(committed.patches[1].path, path(json!(["tags", 0])));
    mirror = apply_json(mirror, &committed.patches);
    assert_eq!(mirror, serde_json::to_value(&**leader.state()).unwrap());
    // Adding what the set holds changes nothing: not a version.
    let again = vec![Patch::add(path(json!(["tags", 0])), json!("b"))];
    assert_eq!(
        send(&mut leader, change(session, 2, 1, again)),
        Err(RejectReason::Empty {})
    );
    assert_eq!(leader.version(), 1);
    // A move is committed as the removal and the insert it amounts to, the value typed.
    let moved = vec![Patch {
        op: PatchOp::Move,
        path: path(json!(["todos", 1])),
        value: None,
        from: Some(path(json!(["todos", 0]))),
    }];
    let two = send(
        &mut leader,
        change(
            session,
            3,
            1,
            vec![Patch::add(
                path(json!(["todos", 1])),
                json!({"id": "x", "done": false, "weight": 1}),
            )],
        ),
    )
    .unwrap();
    mirror = apply_json(mirror, &two.patches);
    let committed = send(&mut leader, change(session, 4, 2, moved)).unwrap();
    assert_eq!(committed.patches.len(), 2);
    assert_eq!(committed.patches[0].op, PatchOp::Remove);
    assert_eq!(committed.patches[1].op, PatchOp::Add);
    mirror = apply_json(mirror, &committed.patches);
    assert_eq!(mirror, serde_json::to_value(&**leader.state()).unwrap());
}

#[test]
fn a_stored_answer_is_small_whatever_the_change_held() {
    let mut leader =
        Leader::new(board(1)).with_authorizer(|_, patches| Err(patches[0].path.clone()));
    let session = leader.join(1).session;
    // 1,000 keys of 500 bytes: half a megabyte of path.
    let long: Path = (0..1000)
        .map(|n| PathSegment::Key(format!("{n}{}", "k".repeat(500))))
        .collect();
    let sent = vec![Patch::replace(long, json!(1))];
    let refused = send(&mut leader, change(session, 1, 0, sent.clone()));
    // No such field: refused as it does not apply, with the path and serde's message, each
    // cut short.
    let Err(RejectReason::DoesNotApply { path, message, .. }) = &refused else {
        panic!("{refused:?}");
    };
    assert_eq!(path.len(), 33, "32 segments and a mark");
    assert!(message.len() <= 256, "{} bytes", message.len());
    let size = serde_json::to_string(refused.as_ref().unwrap_err())
        .unwrap()
        .len();
    assert!(size < 4_000, "{size} bytes");
    // A retransmission is answered the same, from what was kept.
    assert_eq!(send(&mut leader, change(session, 1, 0, sent)), refused);
}

/// A patch of the board's shape, written any of the ways a JSON client may write it.
fn any_patch() -> impl Strategy<Value = Patch> {
    let index = (0_usize..5, any::<bool>()).prop_map(|(i, as_text)| {
        if as_text {
            json!(i.to_string())
        } else {
            json!(i)
        }
    });
    let todo_value = (any::<bool>(), 0_u8..4, any::<bool>(), any::<bool>()).prop_map(
        |(done, weight, junk, note)| {
            let mut value = json!({"id": "n", "done": done, "weight": weight});
            if junk {
                value["junk"] = json!({"deep": [1, 2, 3]});
            }
            if note {
                value["note"] = json!("hi");
            }
            value
        },
    );
    prop_oneof![
        (index.clone(), any::<bool>()).prop_map(|(i, done)| Patch::replace(
            serde_json::from_value(json!(["todos", i, "done"])).unwrap(),
            json!(done)
        )),
        (index.clone(), 0_u8..9).prop_map(|(i, w)| Patch::replace(
            serde_json::from_value(json!(["todos", i, "weight"])).unwrap(),
            json!(w)
        )),
        (index.clone(), todo_value.clone())
            .prop_map(|(i, v)| Patch::add(serde_json::from_value(json!(["todos", i])).unwrap(), v)),
        todo_value
            .clone()
            .prop_map(|v| Patch::add(path(json!(["todos", "-"])), v)),
        (index.clone(), todo_value).prop_map(|(i, v)| Patch::replace(
            serde_json::from_value(json!(["todos", i])).unwrap(),
            v
        )),
        index
            .clone()
            .prop_map(|i| Patch::remove(serde_json::from_value(json!(["todos", i])).unwrap())),
        (
            index.clone(),
            prop::sample::select(vec!["a", "b", "c", "e"])
        )
            .prop_map(|(i, t)| Patch::add(
                serde_json::from_value(json!(["tags", i])).unwrap(),
                json!(t)
            )),
        // A set's removal by value, at any position (the set finds the element by value).
        (
            index.clone(),
            prop::sample::select(vec!["a", "b", "c", "d", "e"])
        )
            .prop_map(|(i, t)| Patch {
                op: PatchOp::Remove,
                path: serde_json::from_value(json!(["tags", i])).unwrap(),
                value: Some(json!(t)),
                from: None,
            }),
        // A move within the list.
        (index.clone(), index.clone()).prop_map(|(from, to)| Patch {
            op: PatchOp::Move,
            path: serde_json::from_value(json!(["todos", to])).unwrap(),
            value: None,
            from: Some(serde_json::from_value(json!(["todos", from])).unwrap()),
        }),
        (index, any::<bool>()).prop_map(|(i, note)| Patch {
            op: if note { PatchOp::Add } else { PatchOp::Remove },
            path: serde_json::from_value(json!(["todos", i, "note"])).unwrap(),
            value: note.then(|| json!("n")),
            from: None,
        }),
    ]
}

proptest! {
    /// Whatever form the patches came in, the canonical ones applied as JSON to the base's
    /// JSON give exactly the new state's JSON; and they apply to the typed base alike.
    #[test]
    fn canonical_patches_applied_as_json_give_the_typed_state(
        patches in prop::collection::vec(any_patch(), 1..8),
    ) {
        let base = board(3);
        if let Ok((next, canonical)) = apply_canonical(&base, &patches) {
            let json = apply_json(serde_json::to_value(&*base).unwrap(), &canonical);
            prop_assert_eq!(json, serde_json::to_value(&*next).unwrap());
            prop_assert_eq!(immer::apply_patches(&base, &canonical).unwrap(), next.clone());
            // Canonical patches are their own canonical form.
            let (again, twice) = apply_canonical(&base, &canonical).unwrap();
            prop_assert_eq!(again, next);
            prop_assert_eq!(twice, canonical);
        } else {
            // Refused as a whole: the base is untouched (it is shared, never written).
            prop_assert_eq!(&*base, &*board(3));
        }
    }
}
