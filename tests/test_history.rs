//! Time travel: commits, undo, redo, jumps, transactions, capacity, and the replayable log.

use std::sync::Arc;

use immer::{Draftable, History, HistoryError, OrdMap, Vector, apply_patches};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Doc {
    title: String,
    items: Vector<Item>,
    tags: Vec<String>,
    index: OrdMap<String, u32>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u32,
    text: String,
    done: bool,
}

fn doc() -> Arc<Doc> {
    Arc::new(Doc {
        title: "doc".into(),
        items: (0..5)
            .map(|id| Item {
                id,
                text: format!("item {id}"),
                done: false,
            })
            .collect(),
        tags: vec!["a".into()],
        index: OrdMap::new(),
    })
}

#[test]
fn commit_undo_redo_and_goto() {
    let v0 = doc();
    let mut history = History::new(Arc::clone(&v0));
    assert!(!history.can_undo() && !history.can_redo());
    assert_eq!(
        history.commit(Some("rename"), |d| d.set_title("one".into())),
        Some(1)
    );
    let v1 = Arc::clone(history.current());
    assert_eq!(
        history.commit(Some("remove"), |d| {
            d.items().remove(0);
        }),
        Some(2)
    );
    assert_eq!(
        history.commit(None, |d| d.items().get_mut(0).unwrap().set_done(true)),
        Some(3)
    );
    let v3 = Arc::clone(history.current());
    assert_eq!(history.version(), 3);

    assert_eq!(history.undo().unwrap(), Some(2));
    assert_eq!(history.undo().unwrap(), Some(1));
    assert_eq!(*history.current(), v1);
    assert!(history.can_undo() && history.can_redo());
    assert_eq!(history.redo().unwrap(), Some(2));
    assert_eq!(history.goto(0), Ok(0));
    assert_eq!(*history.current(), v0);
    assert_eq!(history.undo().unwrap(), None);
    assert_eq!(history.goto(3), Ok(3));
    assert_eq!(*history.current(), v3);
    assert_eq!(history.redo().unwrap(), None);
    assert_eq!(
        history.goto(4),
        Err(HistoryError::NotRetained {
            version: 4,
            oldest: 0,
            newest: 3
        })
    );

    let labels: Vec<_> = history.labels().collect();
    assert_eq!(labels, [Some("rename"), Some("remove"), None]);
    let versions: Vec<u64> = history.entries().map(|e| e.version).collect();
    assert_eq!(versions, [0, 1, 2]);
}

#[test]
fn a_commit_after_undo_drops_the_redo_branch_and_a_no_op_leaves_no_entry() {
    let mut history = History::new(doc());
    history.commit(None, |d| d.set_title("a".into()));
    history.commit(None, |d| d.set_title("b".into()));
    history.undo().unwrap();
    assert_eq!(history.commit(None, |d| d.set_title("doc".into())), Some(2));
    assert_eq!(history.newest_version(), 2);
    assert_eq!(history.current().title, "doc");
    assert!(!history.can_redo());
    assert_eq!(
        history.commit(Some("nothing"), |d| d.set_title("doc".into())),
        None
    );
    assert_eq!(history.entries().len(), 2);
}

#[test]
fn a_transaction_is_one_undo_step() {
    let base = doc();
    let mut history = History::new(Arc::clone(&base));
    let mut tx = history.transaction(Some("bulk"));
    tx.draft().set_title("bulk".into());
    tx.draft().items().truncate(2);
    tx.draft().tags().push("b".into());
    assert_eq!(tx.current().items.len(), 2);
    assert_eq!(tx.commit(), Some(1));
    assert_eq!(history.current().items.len(), 2);
    history.undo().unwrap();
    assert_eq!(*history.current(), base);

    // Dropped without commit: nothing happened.
    let mut tx = history.transaction(None);
    tx.draft().set_title("discarded".into());
    drop(tx);
    assert_eq!(*history.current(), base);
    assert_eq!(history.newest_version(), 1);
}

#[test]
fn capacity_drops_the_oldest_entries() {
    let mut history = History::new(doc()).with_max_entries(3);
    for i in 0..10_u32 {
        history.commit(None, |d| {
            d.index().insert(format!("k{i}"), i);
        });
    }
    assert_eq!((history.oldest_version(), history.version()), (7, 10));
    assert_eq!(history.entries().len(), 3);
    assert_eq!(
        history.goto(7).map(|_| history.current().index.len()),
        Ok(7)
    );
    assert!(matches!(
        history.goto(6),
        Err(HistoryError::NotRetained { .. })
    ));
    history.reset(doc());
    assert_eq!(
        (
            history.version(),
            history.entries().len(),
            history.can_undo()
        ),
        (0, 0, false)
    );
}

#[test]
fn patches_between_versions_go_both_ways() {
    let mut history = History::new(doc()).with_checkpoints(2);
    let mut states = vec![Arc::clone(history.current())];
    for i in 0..6_u32 {
        history.commit(None, |d| {
            d.items().remove(0);
            d.items().push(Item {
                id: 10 + i,
                text: "new".into(),
                done: false,
            });
        });
        states.push(Arc::clone(history.current()));
    }
    for (a, b) in [(0_u64, 6_u64), (6, 0), (2, 5), (5, 1), (3, 3)] {
        let patches = history.patches_between(a, b).unwrap();
        let reached = apply_patches(&states[a as usize], &patches).unwrap();
        assert_eq!(reached, states[b as usize], "{a} -> {b}");
    }
    // At a checkpoint, goto returns the very snapshot that was current then.
    history.goto(4).unwrap();
    assert!(Arc::ptr_eq(history.current(), &states[4]));
}

#[test]
fn the_log_replays_on_another_machine() {
    let base = doc();
    let mut history = History::new(Arc::clone(&base));
    history.commit(Some("one"), |d| {
        d.items().get_mut(2).unwrap().set_text("x".into());
    });
    history.commit(Some("two"), |d| d.items().retain(|i| i.id % 2 == 0));
    history.commit(None, |d| {
        d.index().insert("k".into(), 1);
    });
    let log = history.to_log();
    assert_eq!(log.lines().count(), 3);

    let mut replayed = History::from_log(Arc::clone(&base), log.as_bytes()).unwrap();
    assert_eq!(replayed.current(), history.current());
    for v in 0..=3 {
        history.goto(v).unwrap();
        replayed.goto(v).unwrap();
        assert_eq!(replayed.current(), history.current());
    }
    assert_eq!(
        replayed.labels().collect::<Vec<_>>(),
        [Some("one"), Some("two"), None]
    );

    // Malformed, out of order, or mismatched: an error naming the line, never a panic.
    let lines: Vec<&str> = log.lines().collect();
    let broken = format!("{}\nnot json\n", lines[0]);
    assert_eq!(
        History::from_log(Arc::clone(&base), broken.as_bytes())
            .err()
            .map(|e| e.line),
        Some(2)
    );
    let skipped = format!("{}\n{}\n", lines[0], lines[2]);
    let error = History::from_log(Arc::clone(&base), skipped.as_bytes())
        .err()
        .unwrap();
    assert_eq!(error.line, 2);
    assert!(error.reason.contains("version 2"), "{error}");
    let other_base = Arc::new(Doc {
        items: Vector::new(),
        ..(*base).clone()
    });
    let error = History::from_log(other_base, log.as_bytes()).err().unwrap();
    assert_eq!(error.line, 1);
    assert!(error.to_string().contains("do not apply"), "{error}");
    assert_eq!(
        History::from_log(Arc::clone(&base), "".as_bytes()).map(|h| h.version()),
        Ok(0)
    );
}

#[derive(Clone, Debug)]
enum Step {
    Commit(u8, u8),
    Undo,
    Redo,
    Goto(u8),
    Transaction(Vec<(u8, u8)>),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (any::<u8>(), any::<u8>()).prop_map(|(k, v)| Step::Commit(k, v)),
        2 => Just(Step::Undo),
        1 => Just(Step::Redo),
        1 => any::<u8>().prop_map(Step::Goto),
        1 => prop::collection::vec((any::<u8>(), any::<u8>()), 0..4).prop_map(Step::Transaction),
    ]
}

/// One edit, chosen by `kind`: list shrinks and grows, nested field writes, map writes.
fn edit<P: immer::Place<Target = Doc>>(d: &mut DocDraft<P>, kind: u8, value: u8) {
    let value_u32 = u32::from(value);
    match kind % 7 {
        0 => d.set_title(format!("t{value}")),
        1 => {
            d.items().remove(usize::from(value) % 4);
        }
        2 => d.items().push(Item {
            id: value_u32,
            text: format!("n{value}"),
            done: false,
        }),
        3 => {
            if let Some(mut item) = d.items().get_mut(usize::from(value) % 4) {
                item.set_done(value % 2 == 0);
                item.text().modify(|t| t.push('!'));
            }
        }
        4 => d.items().truncate(usize::from(value) % 3),
        5 => {
            d.index().insert(format!("k{}", value % 5), value_u32);
        }
        _ => {
            d.tags().insert(0, format!("g{value}")).ok();
            d.index().remove(&format!("k{}", value % 5));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn history_agrees_with_a_model_of_full_copies(steps in prop::collection::vec(step(), 0..40), interval in 1..5_u64) {
        let base = doc();
        let mut history = History::new(Arc::clone(&base)).with_checkpoints(interval);
        // The model: every version's full state, and where we are.
        let mut versions: Vec<Doc> = vec![(*base).clone()];
        let mut at = 0_usize;
        for step in &steps {
            match step {
                Step::Commit(kind, value) => {
                    let committed = history.commit(None, |d| edit(d, *kind, *value));
                    let next = immer::produce(&Arc::new(versions[at].clone()), |d| edit(d, *kind, *value));
                    if *next == versions[at] {
                        prop_assert_eq!(committed, None);
                    } else {
                        versions.truncate(at + 1);
                        versions.push((*next).clone());
                        at += 1;
                        prop_assert_eq!(committed, Some(at as u64));
                    }
                }
                Step::Transaction(edits) => {
                    let mut tx = history.transaction(Some("tx"));
                    for (kind, value) in edits {
                        edit(&mut tx.draft(), *kind, *value);
                    }
                    let committed = tx.commit();
                    let mut state = Arc::new(versions[at].clone());
                    for (kind, value) in edits {
                        state = immer::produce(&state, |d| edit(d, *kind, *value));
                    }
                    if *state == versions[at] {
                        prop_assert_eq!(committed, None);
                    } else {
                        versions.truncate(at + 1);
                        versions.push((*state).clone());
                        at += 1;
                        prop_assert_eq!(committed, Some(at as u64));
                    }
                }
                Step::Undo => {
                    let moved = history.undo().unwrap();
                    if at > 0 { at -= 1; prop_assert_eq!(moved, Some(at as u64)); } else { prop_assert_eq!(moved, None); }
                }
                Step::Redo => {
                    let moved = history.redo().unwrap();
                    if at + 1 < versions.len() { at += 1; prop_assert_eq!(moved, Some(at as u64)); } else { prop_assert_eq!(moved, None); }
                }
                Step::Goto(target) => {
                    let target = usize::from(*target) % (versions.len() + 1);
                    let moved = history.goto(target as u64);
                    if target < versions.len() { at = target; prop_assert!(moved.is_ok()); } else { prop_assert!(moved.is_err()); }
                }
            }
            prop_assert_eq!(history.version(), at as u64);
            prop_assert_eq!(&**history.current(), &versions[at]);
        }
        // Every version, directly, and after a log round trip.
        let mut replayed = History::from_log(Arc::clone(&base), history.to_log().as_bytes()).unwrap();
        prop_assert_eq!(replayed.newest_version(), (versions.len() - 1) as u64);
        for (v, expected) in versions.iter().enumerate() {
            history.goto(v as u64).unwrap();
            replayed.goto(v as u64).unwrap();
            prop_assert_eq!(&**history.current(), expected);
            prop_assert_eq!(&**replayed.current(), expected);
        }
    }
}

#[test]
fn an_undo_that_does_not_apply_is_an_error_not_nothing_to_undo() {
    // JSON writes NaN as `null`, which does not read back as an `f64`: the inverse of
    // overwriting a NaN cannot apply. That failure must surface, and the history stay put.
    let mut history = History::new(Arc::new(vec![f64::NAN]));
    history.commit(None, |d| {
        let _ = d.set(0, 1.0);
    });
    assert!(history.can_undo());
    let error = history.undo().unwrap_err();
    assert!(matches!(error, HistoryError::Patch(_)), "{error}");
    assert_eq!(history.version(), 1);
    assert_eq!(**history.current(), [1.0]);
}
