//! The skip against the skip that reads the whole state ([`dense`]), on random histories of
//! JSON documents: objects and lists nested in each other, edited by every kind of patch a
//! history holds (writes, keys added and removed, inserts, removals, moves, swaps, element
//! writes, whole-list rewrites that keep some values, RFC 6902 `move` and `copy`). For every
//! entry of every history, on the state held as `Json` and as `serde_json::Value`: the same
//! conflict, or the same state, read whole and made from the base state by each form of
//! [`patches`]; and the same patches from `History::revert_patches` as from a diff to the
//! state the whole-state skip gives.

use std::sync::Arc;

use proptest::prelude::*;
use serde_json::{Value, json};

use super::super::State;
use super::{Refusal, dense, patches, skip, value};
use crate::{Draftable, History, HistoryError, Json, Patch, PatchOp, Path, PathSegment};
use crate::{apply_patches, diff};

/// The base documents the histories start from.
fn document(shape: u8) -> Value {
    match shape % 3 {
        0 => json!({
            "title": "board",
            "todos": [
                {"id": 1, "text": "a", "done": false, "tags": ["x"]},
                {"id": 2, "text": "b", "done": true, "tags": []},
                {"id": 3, "text": "a", "done": false, "tags": ["x", "y"]},
                {"id": 4, "text": "c", "done": false, "tags": ["y"]}
            ],
            "meta": {"a": 1, "b": [1, 2, 1]}
        }),
        1 => json!({
            "grid": [[1, 2, 3], [3, 1], [], [2]],
            "list": [1, 2, 1, 3, 2, 4],
            "n": 0
        }),
        _ => json!({
            "by": {"k1": [1, 2], "k2": {"x": [true, false]}, "k3": "s"},
            "items": [{"a": [1]}, {"a": [1]}, {"b": 2}, 5, "t"]
        }),
    }
}

/// A small value; equal values come often, so that moves and kept elements happen.
fn small(n: u8) -> Value {
    match n % 9 {
        0 => json!(0),
        1 => json!(1),
        2 => json!("a"),
        3 => json!({"id": n % 4}),
        4 => json!([n % 3]),
        5 => json!(null),
        6 => json!(true),
        7 => json!({"a": [1]}),
        _ => json!([1, 2]),
    }
}

/// Every path in `doc`, with what is there, root first.
fn paths(doc: &Value) -> Vec<(Vec<PathSegment>, &Value)> {
    fn walk<'v>(
        value: &'v Value,
        at: &mut Vec<PathSegment>,
        out: &mut Vec<(Vec<PathSegment>, &'v Value)>,
    ) {
        out.push((at.clone(), value));
        match value {
            Value::Object(fields) => {
                for (key, child) in fields {
                    at.push(PathSegment::Key(key.clone()));
                    walk(child, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    at.push(PathSegment::Index(i));
                    walk(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(doc, &mut Vec::new(), &mut out);
    out
}

fn path(at: &[PathSegment], last: impl Into<PathSegment>) -> Path {
    let mut segments = at.to_vec();
    segments.push(last.into());
    Path::from(segments)
}

fn pick<T>(items: &[T], n: u8) -> Option<&T> {
    (!items.is_empty()).then(|| &items[usize::from(n) % items.len()])
}

/// One generated operation on `doc`, as the patches a recipe would record for it.
#[allow(
    clippy::many_single_char_names,
    clippy::too_many_lines,
    reason = "one arm per kind of operation, each reading the generated numbers `a`, `b`, `c`"
)]
fn operation(doc: &Value, (kind, a, b, c): (u8, u8, u8, u8)) -> Option<Vec<Patch>> {
    let all = paths(doc);
    let arrays: Vec<(&[PathSegment], &Vec<Value>)> = all
        .iter()
        .filter_map(|(p, v)| v.as_array().map(|a| (p.as_slice(), a)))
        .collect();
    let objects: Vec<(&[PathSegment], &serde_json::Map<String, Value>)> = all
        .iter()
        .filter_map(|(p, v)| v.as_object().map(|o| (p.as_slice(), o)))
        .collect();
    let nonempty: Vec<(&[PathSegment], &Vec<Value>)> = arrays
        .iter()
        .copied()
        .filter(|(_, a)| !a.is_empty())
        .collect();
    let index = |n: u8, len: usize| usize::from(n) % len.max(1);
    Some(match kind % 14 {
        // A write of anything but the root.
        0 => {
            let (at, _) = pick(&all[1..], a)?;
            vec![Patch::replace(Path::from(at.clone()), small(b))]
        }
        // A key added (or written again).
        1 => {
            let (at, _) = pick(&objects, a)?;
            let key = ["a", "b", "c", "x", "k1"][index(b, 5)];
            vec![Patch::add(path(at, key), small(c))]
        }
        // A key removed.
        2 => {
            let (at, fields) = pick(&objects, a)?;
            let key = fields.keys().nth(index(b, fields.len()))?;
            vec![Patch::remove(path(at, key.as_str()))]
        }
        // An insert: a copy of an element there, or another value.
        3 => {
            let (at, items) = pick(&arrays, a)?;
            let value = match pick(items, c) {
                Some(item) if c % 2 == 0 => item.clone(),
                _ => small(c),
            };
            vec![Patch::add(path(at, index(b, items.len() + 1)), value)]
        }
        4 => {
            let (at, items) = pick(&nonempty, a)?;
            vec![Patch::remove(path(at, index(b, items.len())))]
        }
        // A move: removed and inserted again in one entry.
        5 => {
            let (at, items) = pick(&nonempty, a)?;
            let from = index(b, items.len());
            let to = index(c, items.len());
            vec![
                Patch::remove(path(at, from)),
                Patch::add(path(at, to), items[from].clone()),
            ]
        }
        // A swap: two element writes that exchange values.
        6 => {
            let (at, items) = pick(&nonempty, a)?;
            let (i, j) = (index(b, items.len()), index(c, items.len()));
            (i != j).then_some(())?;
            vec![
                Patch::replace(path(at, i), items[j].clone()),
                Patch::replace(path(at, j), items[i].clone()),
            ]
        }
        // An element written with another value (`set`).
        7 => {
            let (at, items) = pick(&nonempty, a)?;
            vec![Patch::replace(path(at, index(b, items.len())), small(c))]
        }
        // A whole-list write: turned, reversed, one dropped, one added.
        8 => {
            let (at, items) = pick(&arrays, a)?;
            (!at.is_empty()).then_some(())?;
            let mut new = (*items).clone();
            let turn = index(b, new.len());
            new.rotate_left(turn);
            if c % 2 == 1 {
                new.reverse();
            }
            if c % 3 == 0 && !new.is_empty() {
                let dropped = index(b, new.len());
                new.remove(dropped);
            }
            if c % 5 == 0 {
                let at = index(c, new.len() + 1);
                new.insert(at, small(b));
            }
            vec![Patch::replace(Path::from(at.to_vec()), Value::Array(new))]
        }
        // RFC 6902's `move`, in a list.
        9 => {
            let (at, items) = pick(&nonempty, a)?;
            vec![Patch {
                op: PatchOp::Move,
                path: path(at, index(c, items.len())),
                value: None,
                from: Some(path(at, index(b, items.len()))),
            }]
        }
        // RFC 6902's `copy`, of anything into a list.
        10 => {
            let (from, _) = pick(&all[1..], a)?;
            let (at, items) = pick(&arrays, b)?;
            vec![Patch {
                op: PatchOp::Copy,
                path: path(at, index(c, items.len() + 1)),
                value: None,
                from: Some(Path::from(from.clone())),
            }]
        }
        // An append.
        11 => {
            let (at, _) = pick(&arrays, a)?;
            vec![Patch::add(path(at, "-"), small(b))]
        }
        // RFC 6902's `move` of a member to another object.
        12 => {
            let (from, fields) = pick(&objects, a)?;
            let key = fields.keys().nth(index(b, fields.len()))?;
            let (to, _) = pick(&objects, c)?;
            let from = path(from, key.as_str());
            let to = path(to, ["a", "moved"][index(c, 2)]);
            (!to.segments().starts_with(from.segments())).then_some(())?;
            vec![Patch {
                op: PatchOp::Move,
                path: to,
                value: None,
                from: Some(from),
            }]
        }
        // An edit inside an element, after an insert before it in the same entry.
        _ => {
            let (at, items) = pick(&nonempty, a)?;
            let i = index(b, items.len());
            let inner = paths(&items[i]).into_iter().nth(1)?.0;
            let mut edited = at.to_vec();
            edited.push(PathSegment::Index(i + 1));
            edited.extend(inner);
            vec![
                Patch::add(path(at, 0), small(c)),
                Patch::replace(Path::from(edited), small(b)),
            ]
        }
    })
}

/// Builds a history of `T` from `base` and generated entries.
fn history<T: Draftable>(
    base: &Value,
    entries: &[Vec<(u8, u8, u8, u8)>],
) -> (History<T>, Vec<Vec<Patch>>) {
    let typed: T = serde_json::from_value(base.clone()).unwrap();
    let mut history = History::new(Arc::new(typed));
    let mut recorded = Vec::new();
    let mut doc = Arc::new(base.clone());
    for steps in entries {
        let mut patches = Vec::new();
        let mut next = Arc::clone(&doc);
        for step in steps {
            let Some(ops) = operation(&next, *step) else {
                continue;
            };
            if let Ok(applied) = apply_patches(&next, &ops) {
                next = applied;
                patches.extend(ops);
            }
        }
        if patches.is_empty() {
            continue;
        }
        if history.record(None, None, None, patches.clone()).is_ok() {
            doc = next;
            recorded.push(patches);
        }
    }
    (history, recorded)
}

fn refusal(refusal: &Refusal) -> String {
    match refusal {
        Refusal::Conflict(n, conflict) => format!("conflict with {n}: {conflict:?}"),
        Refusal::Unreadable(n, (i, path)) => format!("entry {n} unreadable at {i} {path:?}"),
    }
}

fn dense_refusal(refusal: &dense::Refusal) -> String {
    match refusal {
        dense::Refusal::Conflict(n, conflict) => format!("conflict with {n}: {conflict:?}"),
        dense::Refusal::Unreadable(n, (i, path)) => format!("entry {n} unreadable at {i} {path:?}"),
    }
}

/// Skips every entry of the history both ways and compares.
fn compare<T: Draftable>(
    base: &Value,
    entries: &[Vec<(u8, u8, u8, u8)>],
) -> Result<usize, TestCaseError> {
    let (history, recorded) = history::<T>(base, entries);
    let mut conflicts = 0;
    for k in 0..recorded.len() {
        let version = k as u64;
        let state = history.state_at(version).unwrap();
        let json = serde_json::to_value(&*state).unwrap();
        let later = || recorded[k..].iter().map(Vec::as_slice);
        let expected = dense::skip(&json, later()).map_err(|r| dense_refusal(&r));
        let source = State(&*state);
        let got = skip(&source, later()).map_err(|r| refusal(&r));
        let context = || format!("skipping {:?} of {recorded:?} from {base}", recorded[k]);
        match (&expected, got) {
            (Err(a), Err(b)) => {
                prop_assert_eq!(a, &b, "{}", context());
                conflicts += 1;
            }
            (Ok(want), Ok(skipped)) => {
                let whole = value(&skipped, &source);
                prop_assert_eq!(whole.as_ref(), Some(want), "{}", context());
                for replace in [true, false] {
                    let Some(made) = patches(&skipped, &source, replace) else {
                        prop_assert!(false, "no patches: {}", context());
                        unreachable!();
                    };
                    // A JSON state takes both forms.
                    let applied = apply_patches(history.current(), &made);
                    prop_assert!(applied.is_ok(), "{made:?}: {}", context());
                    let applied = serde_json::to_value(&*applied.unwrap()).unwrap();
                    prop_assert_eq!(&applied, want, "{:?} ({}): {}", made, replace, context());
                }
            }
            (want, got) => {
                prop_assert!(
                    false,
                    "{}: expected {:?}, got {:?}",
                    context(),
                    want,
                    got.map(|s| value(&s, &source))
                );
            }
        }
        // What a revert commits: the diff to the whole-state skip's answer.
        let reverted = history.revert_patches(version);
        match (&expected, reverted) {
            (Ok(want), Ok(got)) => {
                let want: T = serde_json::from_value(want.clone()).unwrap();
                let (want, _) = diff(&**history.current(), &want).unwrap();
                prop_assert_eq!(want, got, "{}", context());
            }
            (Err(_), Err(HistoryError::Conflict { .. } | HistoryError::Patch(_))) => {}
            (want, got) => prop_assert!(false, "{}: {want:?} but {got:?}", context()),
        }
    }
    Ok(conflicts)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// The skip that reads what the entries touch gives what the skip that reads the whole
    /// state gives.
    #[test]
    fn the_skip_equals_the_skip_that_reads_the_whole_state(
        shape in any::<u8>(),
        entries in prop::collection::vec(
            prop::collection::vec(any::<(u8, u8, u8, u8)>(), 1..4),
            1..9,
        ),
    ) {
        let base = document(shape);
        compare::<Json>(&base, &entries)?;
        compare::<Value>(&base, &entries)?;
    }
}

/// Seeded histories, many more than the property test runs: the generator makes both
/// answers, states and conflicts, in numbers, and the two skips agree on each.
#[test]
fn seeded_histories_skip_as_the_whole_state_skip_does() {
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut skips, mut conflicts) = (0, 0);
    for _ in 0..2_000 {
        let shape = next().to_le_bytes()[0];
        let entries: Vec<Vec<(u8, u8, u8, u8)>> = (0..=next() % 8)
            .map(|_| {
                (0..=next() % 3)
                    .map(|_| {
                        let [a, b, c, d, ..] = next().to_le_bytes();
                        (a, b, c, d)
                    })
                    .collect()
            })
            .collect();
        let base = document(shape);
        let (_, recorded) = history::<Json>(&base, &entries);
        skips += recorded.len();
        conflicts += compare::<Json>(&base, &entries).unwrap();
    }
    assert!(
        skips > 7_000 && conflicts > 1_000,
        "{skips} skips, {conflicts} conflicts"
    );
}
