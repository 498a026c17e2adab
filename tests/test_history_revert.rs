//! Selective undo: reverting (or skipping) one older entry while keeping every later one,
//! checked against a model that replays the recorded actions from scratch without it.

use std::sync::Arc;

use immer::{Draftable, History, HistoryError, OrdMap, Vector};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    todos: Vector<Todo>,
    owners: OrdMap<String, u32>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: u32,
    text: String,
    done: bool,
}

/// An action as its author meant it: todos are named by id, not by position. A new todo goes
/// right before the todos that followed it when it was inserted (`after`: their ids, in
/// order): before the first of them that is there.
#[derive(Clone, Debug)]
enum Action {
    Insert { id: u32, after: Vec<u32> },
    Remove(u32),
    SetDone(u32, bool),
    SetText(u32, String),
    SetTitle(String),
    SetOwner(String, u32),
    DropOwner(String),
}

fn base() -> Board {
    Board {
        title: "board".into(),
        todos: (0..4)
            .map(|id| Todo {
                id,
                text: format!("todo {id}"),
                done: false,
            })
            .collect(),
        owners: OrdMap::new(),
    }
}

/// The model: apply an action to a plain state; an action on a todo that is not there does
/// nothing.
fn model_apply(state: &mut Board, action: &Action) {
    let at = |state: &Board, id: u32| state.todos.iter().position(|t| t.id == id);
    let todo = |id: u32| Todo {
        id,
        text: format!("new {id}"),
        done: false,
    };
    match action {
        Action::Insert { id, after } => {
            let at = after
                .iter()
                .find_map(|a| at(state, *a))
                .unwrap_or(state.todos.len());
            state.todos.insert(at, todo(*id));
        }
        Action::Remove(id) => {
            if let Some(i) = at(state, *id) {
                state.todos.remove(i);
            }
        }
        Action::SetDone(id, done) => {
            if let Some(i) = at(state, *id) {
                state.todos[i].done = *done;
            }
        }
        Action::SetText(id, text) => {
            if let Some(i) = at(state, *id) {
                state.todos[i].text.clone_from(text);
            }
        }
        Action::SetTitle(title) => state.title.clone_from(title),
        Action::SetOwner(key, n) => {
            state.owners.insert(key.clone(), *n);
        }
        Action::DropOwner(key) => {
            state.owners.remove(key);
        }
    }
}

/// Turns a generated step into an action on the current state (a todo chosen among those
/// there), and commits it to the history through a draft.
fn commit(history: &mut History<Board>, step: (u8, u8, u8), fresh: &mut u32) -> Option<Action> {
    let (kind, pick, value) = step;
    let state = history.current().clone();
    let ids: Vec<u32> = state.todos.iter().map(|t| t.id).collect();
    let chosen = (!ids.is_empty()).then(|| ids[pick as usize % ids.len()]);
    let action = match (kind % 8, chosen) {
        // At the end, or before a todo there.
        (0 | 1, _) => {
            *fresh += 1;
            let at = if kind % 8 == 0 {
                ids.len()
            } else {
                pick as usize % (ids.len() + 1)
            };
            Action::Insert {
                id: *fresh,
                after: ids[at..].to_vec(),
            }
        }
        (2, Some(id)) => Action::Remove(id),
        (3, Some(id)) => Action::SetDone(id, value % 2 == 0),
        (4, Some(id)) => Action::SetText(id, format!("text {value}")),
        (5, _) => Action::SetTitle(format!("title {value}")),
        (6, _) => Action::SetOwner(format!("k{}", value % 3), u32::from(pick)),
        (7, _) => Action::DropOwner(format!("k{}", value % 3)),
        _ => return None,
    };
    let position = |id: u32| state.todos.iter().position(|t| t.id == id);
    let label = format!("{action:?}");
    let made = history.commit(Some(&label), |d| match &action {
        Action::Insert { id, after } => {
            let todo = Todo {
                id: *id,
                text: format!("new {id}"),
                done: false,
            };
            let at = after.first().map_or(ids.len(), |b| position(*b).unwrap());
            d.todos().insert(at, todo).unwrap();
        }
        Action::Remove(id) => {
            d.todos().remove(position(*id).unwrap());
        }
        Action::SetDone(id, done) => {
            d.todos()
                .get_mut(position(*id).unwrap())
                .unwrap()
                .set_done(*done);
        }
        Action::SetText(id, text) => {
            d.todos()
                .get_mut(position(*id).unwrap())
                .unwrap()
                .set_text(text.clone());
        }
        Action::SetTitle(title) => d.set_title(title.clone()),
        Action::SetOwner(key, n) => {
            d.owners().insert(key.clone(), *n);
        }
        Action::DropOwner(key) => {
            d.owners().remove(key.as_str());
        }
    });
    made.map(|_| action)
}

/// Whether a later action took away what `action` changed: a todo it added or edited was
/// removed, or an owner it set was dropped.
fn taken_away(action: &Action, later: &[Action]) -> bool {
    match action {
        Action::Insert { id, .. } | Action::SetDone(id, _) | Action::SetText(id, _) => later
            .iter()
            .any(|l| matches!(l, Action::Remove(r) if r == id)),
        Action::SetOwner(key, _) => later
            .iter()
            .any(|l| matches!(l, Action::DropOwner(k) if k == key)),
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn skipping_or_reverting_an_entry_equals_replaying_without_it(
        steps in prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 1..30),
        pick in any::<prop::sample::Index>(),
        undone in 0..3_usize,
    ) {
        let base = Arc::new(base());
        let mut history = History::new(Arc::clone(&base));
        let mut fresh = 100;
        let mut actions = Vec::new();
        for step in steps {
            if let Some(action) = commit(&mut history, step, &mut fresh) {
                actions.push(action);
            }
        }
        // Some entries undone: only those up to the current version are kept.
        for _ in 0..undone.min(actions.len().saturating_sub(1)) {
            history.undo().unwrap();
            actions.pop();
        }
        prop_assume!(!actions.is_empty());
        let k = pick.index(actions.len());
        let before = Arc::clone(history.current());
        let version = history.version();

        let mut model = (*base).clone();
        for (n, action) in actions.iter().enumerate() {
            if n != k {
                model_apply(&mut model, action);
            }
        }
        match history.skipped(k as u64) {
            Ok(skipped) => {
                prop_assert_eq!(&*skipped, &model, "skipping {:?} of {:?}", actions[k], actions);
                prop_assert!(Arc::ptr_eq(history.current(), &before), "skipped changes nothing");
                prop_assert_eq!(history.version(), version);
                let reverted = history.revert(k as u64, Some("revert")).unwrap();
                prop_assert_eq!(&**history.current(), &model);
                if *skipped != *before {
                    prop_assert_eq!(reverted, version + 1);
                    // The revert is an entry like any other: undone, the state is back.
                    history.undo().unwrap();
                    prop_assert_eq!(&**history.current(), &*before);
                }
            }
            Err(HistoryError::Conflict { entry, by, .. }) => {
                prop_assert_eq!(entry, k as u64);
                prop_assert!(by > entry && by < version);
                prop_assert!(
                    taken_away(&actions[k], &actions[k + 1..]),
                    "{:?} conflicts with {:?}", actions[k], actions[by as usize]
                );
                let refused = history.revert(k as u64, None);
                prop_assert!(
                    matches!(refused, Err(HistoryError::Conflict { .. })),
                    "revert refused too"
                );
                prop_assert!(Arc::ptr_eq(history.current(), &before), "nothing changes");
                prop_assert_eq!(history.version(), version);
            }
            Err(other) => prop_assert!(false, "{other}"),
        }
    }
}

#[test]
fn an_entry_that_is_not_in_the_past_is_refused() {
    let mut history = History::new(Arc::new(base()));
    history.commit(None, |d| d.set_title("a".into()));
    history.undo().unwrap();
    assert!(matches!(
        history.revert(0, None),
        Err(HistoryError::NotRetained { .. })
    ));
    assert!(matches!(
        history.skipped(7),
        Err(HistoryError::NotRetained { .. })
    ));
}

#[test]
fn the_conflict_names_the_entry_and_the_later_one() {
    let mut history = History::new(Arc::new(base()));
    history.commit(Some("rename 2"), |d| {
        d.todos().get_mut(2).unwrap().set_text("renamed".into());
    });
    history.commit(Some("push"), |d| {
        d.todos().push(Todo {
            id: 9,
            text: "nine".into(),
            done: false,
        });
    });
    history.commit(Some("remove 2"), |d| {
        d.todos().remove(2);
    });
    let error = history.skipped(0).unwrap_err();
    assert!(matches!(
        error,
        HistoryError::Conflict {
            entry: 0,
            by: 2,
            ..
        }
    ));
    assert!(error.to_string().starts_with(
        "the entry from version 0 cannot be reverted: the target of /todos/2/text was removed"
    ));
}

#[test]
fn undo_only_my_edits_after_others_landed() {
    // A follower's history: its own edit, then another node's change recorded as it landed.
    let mut history = History::new(Arc::new(base()));
    history.commit(Some("mine: tick todo 3"), |d| {
        d.todos().get_mut(3).unwrap().set_done(true);
    });
    let theirs = immer::produce_with_patches(history.current(), |d| {
        d.todos().remove(0);
        d.todos()
            .insert(
                0,
                Todo {
                    id: 50,
                    text: "theirs".into(),
                    done: false,
                },
            )
            .unwrap();
        d.todos()
            .insert(
                0,
                Todo {
                    id: 51,
                    text: "theirs too".into(),
                    done: false,
                },
            )
            .unwrap();
    })
    .1;
    history
        .record(Some("theirs"), Some("bob"), Some(1), theirs)
        .unwrap();
    assert_eq!(
        history.entries().last().unwrap().author.as_deref(),
        Some("bob")
    );
    // Todo 3 now sits at index 4; reverting my entry finds it there.
    history.revert(0, Some("undo mine")).unwrap();
    let state = history.current();
    let three = state.todos.iter().find(|t| t.id == 3).unwrap();
    assert!(!three.done);
    assert_eq!(state.todos.len(), 5);
    assert_eq!(state.todos[0].id, 51);
    let patches = &history.entries().last().unwrap().patches;
    assert_eq!(patches[0].path.to_pointer(), "/todos/4/done");
    // Authors and times survive the log.
    let replayed = History::from_log(Arc::new(base()), history.to_log().as_bytes()).unwrap();
    assert_eq!(
        replayed.entries().nth(1).unwrap().author.as_deref(),
        Some("bob")
    );
    assert_eq!(replayed.entries().nth(1).unwrap().time, Some(1));
    assert_eq!(replayed.current(), history.current());
}
