//! The selective undo's answers, written for the JavaScript client's port to check:
//! `clients/js/test/transform.test.js` reads `clients/js/test/vectors/revert.json` and asserts
//! that its `revertThrough` gives the same answer as [`revert_through`] for every case: the
//! revert moved through every later change, or the index of the later change it conflicts
//! with and the conflict. One rule, two implementations: this test makes the cases from a
//! fixed seed and checks them against the committed file, which it rewrites only with
//! `IMMER_UPDATE_VECTORS=1`.
//!
//! Most cases are random patches over a board-like shape, where paths often meet; the others
//! come from a real history: an edit of a JSON board, its exact inverse, and the edits made
//! after it, as [`History::revert`](immer::History::revert) moves them.

#[path = "support/vectors.rs"]
mod vectors;
use vectors::{Rng, check_vectors, value};

use std::sync::Arc;

use immer::{Patch, PatchOp, Path, PathSegment, apply_with_inverse, revert_through};
use serde_json::{Value, json};

fn key(k: &str) -> PathSegment {
    PathSegment::Key(k.to_owned())
}

/// A path into a board: a title, a list of todos with fields and tag lists, a map of
/// settings; indices small so that paths often meet.
fn path(rng: &mut Rng) -> Path {
    let i = PathSegment::Index(rng.index(4));
    let segments = match rng.below(9) {
        0 => vec![key("title")],
        1 => vec![key("todos")],
        2 | 3 => vec![key("todos"), i],
        4 => vec![key("todos"), i, key(["done", "text"][rng.index(2)])],
        5 => vec![key("todos"), i, key("tags")],
        6 => vec![
            key("todos"),
            i,
            key("tags"),
            PathSegment::Index(rng.index(3)),
        ],
        7 => vec![key("settings"), key(["theme", "1"][rng.index(2)])],
        _ => vec![key("settings")],
    };
    Path::from(segments)
}

fn patch(rng: &mut Rng) -> Patch {
    let at = path(rng);
    match rng.below(10) {
        0..=3 => Patch::replace(at, value(rng)),
        4..=6 => Patch::add(at, value(rng)),
        7 => Patch {
            op: PatchOp::Move,
            path: at,
            value: None,
            from: Some(path(rng)),
        },
        _ => Patch::remove(at),
    }
}

fn patches(rng: &mut Rng) -> Vec<Patch> {
    (0..=rng.below(3)).map(|_| patch(rng)).collect()
}

/// A board as JSON, to make a history on.
fn board() -> Value {
    let todo = |id: u64| json!({"id": id, "done": false, "text": "", "tags": ["a", "b"]});
    json!({"title": "t", "todos": (0..4).map(todo).collect::<Vec<_>>(), "settings": {"theme": "dark"}})
}

/// An edit of `state` that applies to it: random patches until one list of them does.
fn applying(rng: &mut Rng, state: &Arc<Value>) -> (Arc<Value>, Vec<Patch>, Vec<Patch>) {
    loop {
        let edit = patches(rng);
        if let Ok((next, inverse)) = apply_with_inverse(state, &edit) {
            return (next, edit, inverse);
        }
    }
}

/// The rule at its edges: what it puts back goes before a later insert at its place, a later
/// write of the same value stands, a later removal of what it changed conflicts.
fn edge_cases() -> Vec<(Vec<Patch>, Vec<Vec<Patch>>)> {
    let at = |p: &str| Path::from_pointer(p).unwrap();
    vec![
        // "remove todo 3" undone after an insert at the front: it goes back at index 4.
        (
            vec![Patch::add(at("/todos/3"), json!({"id": 3}))],
            vec![vec![Patch::add(at("/todos/0"), json!({"id": 9}))]],
        ),
        // Put back before what was inserted later at its place.
        (
            vec![Patch::add(at("/todos/1"), json!({"id": 1}))],
            vec![vec![Patch::add(at("/todos/1"), json!({"id": 9}))]],
        ),
        // A later write of the same field, or an add of the same key, stands.
        (
            vec![Patch::replace(at("/title"), json!("old"))],
            vec![vec![Patch::replace(at("/title"), json!("newer"))]],
        ),
        (
            vec![Patch::remove(at("/settings/theme"))],
            vec![vec![Patch::add(at("/settings/theme"), json!("light"))]],
        ),
        // A later removal of what it changed: a conflict, named by the later change's index.
        (
            vec![Patch::replace(at("/todos/1/done"), json!(false))],
            vec![
                vec![Patch::replace(at("/title"), json!("x"))],
                vec![Patch::remove(at("/todos/1"))],
            ],
        ),
        // A later write compared where the two meet: after a removal earlier in the same
        // change (the rename of todo 2, now at 1, stands)...
        (
            vec![Patch::replace(at("/todos/2/text"), json!("t2"))],
            vec![vec![
                Patch::remove(at("/todos/0")),
                Patch::replace(at("/todos/1/text"), json!("b")),
            ]],
        ),
        // ... after the revert's own removal before it (todo 2 is at 3 for the later change)...
        (
            vec![
                Patch::remove(at("/todos/0")),
                Patch::replace(at("/todos/2/text"), json!("t2")),
            ],
            vec![vec![Patch::replace(at("/todos/3/text"), json!("b"))]],
        ),
        // ... and a revert's patch dropped as written again leaves what it passed as it was:
        // the later change wrote both the todo and its field.
        (
            vec![
                Patch::replace(at("/todos/1"), json!({"id": 1, "done": false})),
                Patch::replace(at("/todos/1/done"), json!(false)),
            ],
            vec![vec![
                Patch::replace(at("/todos/1/done"), json!(true)),
                Patch::replace(at("/todos/1"), json!({"id": 1, "done": true})),
            ]],
        ),
    ]
}

#[test]
fn the_revert_cases_are_written_for_the_javascript_client() {
    let mut rng = Rng(0x5E1E_C71E_2026_1206);
    let mut inputs: Vec<(Vec<Patch>, Vec<Vec<Patch>>)> = Vec::new();
    for _ in 0..1_500 {
        let inverse = patches(&mut rng);
        let later = (0..=rng.below(3)).map(|_| patches(&mut rng)).collect();
        inputs.push((inverse, later));
    }
    for _ in 0..500 {
        let (mut state, _, inverse) = applying(&mut rng, &Arc::new(board()));
        let mut later = Vec::new();
        for _ in 0..=rng.below(3) {
            let (next, edit, _) = applying(&mut rng, &state);
            state = next;
            later.push(edit);
        }
        inputs.push((inverse, later));
    }
    inputs.extend(edge_cases());
    let (mut moved, mut conflicts, mut overwritten) = (0, 0, 0);
    let mut cases = Vec::new();
    for (inverse, later) in inputs {
        let expected = match revert_through(&inverse, later.iter().map(Vec::as_slice)) {
            Ok(revert) => {
                moved += usize::from(revert.iter().zip(&inverse).any(|(r, i)| r.path != i.path));
                overwritten += usize::from(revert.len() < inverse.len());
                json!({"ok": true, "revert": revert})
            }
            Err((index, conflict)) => {
                conflicts += 1;
                json!({"ok": false, "index": index, "conflict": conflict})
            }
        };
        cases.push(json!({"inverse": inverse, "later": later, "expected": expected}));
    }
    eprintln!(
        "{} cases: {moved} moved, {conflicts} conflicts, {overwritten} with a later write that stands",
        cases.len()
    );
    // The cases exercise each answer: paths moved, later writes that stand, conflicts.
    assert!(
        moved > 200 && conflicts > 200 && overwritten > 100,
        "{moved} moved, {conflicts} conflicts, {overwritten} with a later write"
    );
    check_vectors(
        "clients/js/test/vectors/revert.json",
        "Cases of immer::revert_through, written by tests/test_revert_vectors.rs",
        "cases",
        json!(cases),
        "cargo test --test test_revert_vectors",
    );
}
