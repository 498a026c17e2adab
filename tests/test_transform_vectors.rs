//! The path transformation's answers, written for the JavaScript client's port to check:
//! `clients/js/test/transform.test.js` reads `clients/js/test/vectors/transform.json` and
//! asserts that its `transform` gives the same answer for every case. One transformation, two
//! implementations: this test makes the cases from a fixed seed and checks them against the
//! committed file, which it rewrites only with `IMMER_UPDATE_VECTORS=1`.
//!
//! Each case names its rule: `concurrent` ([`transform`]: concurrent edits, theirs ordered
//! first) or `afterDropped` (a later pending edit moved back through the inverse of an edit
//! taken out of a follower's queue, where a whole write that may carry what the inverse puts
//! back conflicts).

#[path = "support/vectors.rs"]
mod vectors;
use vectors::{Rng, check_vectors, value};

use immer::__private::transform_after_dropped;
use immer::{Conflict, Patch, PatchOp, Path, PathSegment, transform};
use serde_json::{Value, json};

fn word(rng: &mut Rng, words: &[&'static str]) -> &'static str {
    words[rng.below(words.len() as u64) as usize]
}

fn key(k: &str) -> PathSegment {
    PathSegment::Key(k.to_owned())
}

/// A path into a board-like state: a title, a list of todos with fields and tag lists, a
/// map of settings, a set of labels; indices small so that paths often meet.
fn path(rng: &mut Rng) -> Path {
    let i = PathSegment::Index(rng.below(4) as usize);
    let segments = match rng.below(10) {
        0 => vec![key("title")],
        1 => vec![key("todos")],
        2 | 3 => vec![key("todos"), i],
        4 => vec![key("todos"), i, key(word(rng, &["done", "text"]))],
        5 => vec![key("todos"), i, key("tags")],
        6 => vec![
            key("todos"),
            i,
            key("tags"),
            PathSegment::Index(rng.below(3) as usize),
        ],
        // A key that reads as a number is still a key.
        7 => vec![key("settings"), key(word(rng, &["1", "theme", "0"]))],
        8 => vec![key("labels"), PathSegment::Index(rng.below(3) as usize)],
        _ => vec![key("settings")],
    };
    Path::from(segments)
}

fn patch(rng: &mut Rng) -> Patch {
    let at = path(rng);
    let list_element = matches!(at.last(), Some(PathSegment::Index(_)));
    match rng.below(12) {
        0..=3 => Patch::replace(at, value(rng)),
        4..=6 => Patch::add(at, value(rng)),
        // A set's removal names its element by value.
        9 if list_element => Patch {
            op: PatchOp::Remove,
            path: at,
            value: Some(json!(format!("l{}", rng.below(2)))),
            from: None,
        },
        10 => Patch {
            op: *rng.pick(&[PatchOp::Move, PatchOp::Copy]),
            path: at,
            value: None,
            from: Some(path(rng)),
        },
        11 => Patch {
            op: PatchOp::Test,
            path: at,
            value: Some(value(rng)),
            from: None,
        },
        // 7 and 8, and 9 when the path does not end in an index.
        _ => Patch::remove(at),
    }
}

fn patches(rng: &mut Rng) -> Vec<Patch> {
    (0..=rng.below(4)).map(|_| patch(rng)).collect()
}

type Transform = fn(&[Patch], &[Patch]) -> Result<(Vec<Patch>, Vec<Patch>), Conflict>;

const RULES: [(&str, Transform); 2] = [
    ("concurrent", transform),
    ("afterDropped", transform_after_dropped),
];

fn pointer(p: &str) -> Path {
    Path::from_pointer(p).unwrap()
}

/// The rules at their edges, each case under both rules: a list element replaced whole is
/// another element; a later write to the same place overwrites an earlier one moved past it;
/// a whole write depends on a dropped edit below it, or on the very value it wrote when it
/// writes a list or an object.
fn edge_cases() -> Vec<(Vec<Patch>, Vec<Patch>)> {
    let replace = |p: &str, v: Value| Patch::replace(pointer(p), v);
    let add = |p: &str, v: Value| Patch::add(pointer(p), v);
    let remove = |p: &str| Patch::remove(pointer(p));
    vec![
        // An element replaced whole, then removed or replaced "again", or edited below.
        (
            vec![remove("/todos/1")],
            vec![replace("/todos/1", json!({"id": 9}))],
        ),
        (
            vec![replace("/todos/1", json!({"id": 8}))],
            vec![replace("/todos/1", json!({"id": 9}))],
        ),
        (
            vec![replace("/todos/1/done", json!(true))],
            vec![replace("/todos/1", json!({"id": 9}))],
        ),
        // An insert at the index of an element replaced whole, and a neighbour's edit.
        (
            vec![add("/todos/1", json!({"id": 7}))],
            vec![replace("/todos/1", json!({"id": 9}))],
        ),
        (
            vec![remove("/todos/2")],
            vec![replace("/todos/1", json!({"id": 9}))],
        ),
        // Their element write moved past my removal or write of the same element.
        (
            vec![replace("/todos/1", json!({"id": 8}))],
            vec![remove("/todos/1")],
        ),
        (
            vec![remove("/todos/1")],
            vec![replace("/todos/1/done", json!(true))],
        ),
        // The same field or key written twice: theirs, moved past mine, is lost under it.
        (
            vec![replace("/title", json!("mine"))],
            vec![replace("/title", json!("theirs"))],
        ),
        (
            vec![add("/settings/theme", json!("dark"))],
            vec![add("/settings/theme", json!("light"))],
        ),
        (
            vec![remove("/settings/theme")],
            vec![replace("/settings/theme", json!("light"))],
        ),
        (
            vec![replace("/settings/theme", json!("dark"))],
            vec![remove("/settings/theme")],
        ),
        // A whole value written over what an inverse puts back below it.
        (
            vec![replace("/todos", json!([]))],
            vec![replace("/todos/1/done", json!(false))],
        ),
        (
            vec![replace("/todos/1", json!({"id": 1}))],
            vec![replace("/todos/1/done", json!(false))],
        ),
        (
            vec![remove("/todos/1")],
            vec![replace("/todos/1/done", json!(false))],
        ),
        (
            vec![add("/settings", json!({}))],
            vec![remove("/settings/theme")],
        ),
        // An insert into the list only shifts what the inverse puts back.
        (
            vec![add("/todos/1", json!({"id": 7}))],
            vec![replace("/todos/1/done", json!(false))],
        ),
        (
            vec![add("/todos/0", json!({"id": 7}))],
            vec![add("/todos/1", json!({"id": 1}))],
        ),
        // The very value written again: as a list or an object it may carry the dropped edit.
        (
            vec![replace("/todos/1/tags", json!(["a", "b"]))],
            vec![replace("/todos/1/tags", json!(["a"]))],
        ),
        (
            vec![add("/settings/theme", json!({"dark": true}))],
            vec![remove("/settings/theme")],
        ),
        (
            vec![replace("/title", json!("again"))],
            vec![replace("/title", json!("before"))],
        ),
        (
            vec![add("/labels/0", json!(["x"]))],
            vec![remove("/labels/0")],
        ),
    ]
}

#[test]
fn the_transformation_cases_are_written_for_the_javascript_client() {
    let mut rng = Rng(0x1BAD_5EED_2026_1202);
    let mut cases = Vec::new();
    let mut inputs: Vec<(&str, Vec<Patch>, Vec<Patch>)> = Vec::new();
    for (name, _) in RULES {
        for _ in 0..2_000 {
            let mine = patches(&mut rng);
            let theirs = patches(&mut rng);
            inputs.push((name, mine, theirs));
        }
    }
    for (mine, theirs) in edge_cases() {
        for (name, _) in RULES {
            inputs.push((name, mine.clone(), theirs.clone()));
        }
    }
    let mut counts = std::collections::BTreeMap::new();
    let mut differ = 0;
    for (name, mine, theirs) in inputs {
        let (_, rule) = RULES.iter().find(|(n, _)| *n == name).unwrap();
        let (conflicts, moved) = counts.entry(name).or_insert((0, 0));
        let answer = rule(&mine, &theirs);
        differ += usize::from(answer != transform(&mine, &theirs));
        let expected = match answer {
            Ok((mine_after, theirs_after)) => {
                *moved += usize::from(mine_after != mine);
                json!({"ok": true, "mine": mine_after, "theirs": theirs_after})
            }
            Err(conflict) => {
                *conflicts += 1;
                json!({"ok": false, "conflict": conflict})
            }
        };
        cases.push(json!({"rule": name, "mine": mine, "theirs": theirs, "expected": expected}));
    }
    // The cases exercise both answers under both rules, moves that change paths, and cases
    // where the rules part.
    for (name, (conflicts, moved)) in &counts {
        assert!(
            *conflicts > 200 && *moved > 200,
            "{name}: {conflicts} conflicts, {moved} moved"
        );
    }
    assert!(differ > 50, "{differ} cases where the rules part");
    check_vectors(
        "clients/js/test/vectors/transform.json",
        "Cases of immer::transform, each under its rule, written by tests/test_transform_vectors.rs",
        "cases",
        json!(cases),
        "cargo test --test test_transform_vectors",
    );
}
