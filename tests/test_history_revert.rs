//! Selective undo: reverting (or skipping) one older entry while keeping every later one,
//! checked against a model that replays the recorded actions from scratch without it.

use std::sync::Arc;

use immer::{Draftable, History, HistoryError, OrdMap, Patch, Path, Vector};
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
fn the_conflict_names_who_made_the_later_entry() {
    let mut history = History::new(Arc::new(base()));
    history.commit(Some("rename 2"), |d| {
        d.todos().get_mut(2).unwrap().set_text("renamed".into());
    });
    // Another user's change, recorded as it landed, with its author.
    let removal = vec![Patch::remove(Path::from_pointer("/todos/2").unwrap())];
    history
        .record(Some("remove 2"), Some("bob"), None, removal)
        .unwrap();
    let error = history.skipped(0).unwrap_err();
    let HistoryError::Conflict { by, author, .. } = &error else {
        panic!("{error}");
    };
    assert_eq!((*by, author.as_deref()), (1, Some("bob")));
    assert!(
        error
            .to_string()
            .ends_with("in the entry from version 1 by bob"),
        "{error}"
    );
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

/// The model of skipping an entry over every list method, with entries of several actions.
///
/// A board is a list of todos (an id, a text, a done flag) and a list of tags, held as a
/// `Vec` or an `imbl::Vector`. Each action is recorded as its author meant it, by identity,
/// computed on the real history when it is made:
///
/// - a toggle or a rename names its todo by id;
/// - an insert (and a push of a tag) goes right before the first todo, of those that followed
///   it, that is there; at the end when none is;
/// - a move takes the todo out and inserts it again the same way;
/// - a reverse, a sort and a swap are a reorder: the todos it reordered that are there, in
///   its order, into the places they hold (todos it did not see stay where they are);
/// - `set` puts another todo in the place of one: the old todo removed, the new one inserted
///   before the todos that followed the old one;
/// - a removal names its todo or tag.
///
/// Skipping entry `k` is replaying every other entry's actions, in order, on the base; an
/// action whose todo is not there does nothing. A later action that removes (or replaces by
/// `set`) a todo that entry `k` inserted or edited, or a tag it pushed, leaves nothing to
/// revert: a conflict. Writing the same field again is no conflict: the later write stands.
///
/// The patches tell the actions apart only where an entry does not fold two of them into
/// one write of the same element or list (Immer's format cannot say which was meant), so an
/// entry holds at most one action that changes the shape of each list, and a todo that an
/// entry moves, swaps or reorders is not also edited in it; `tests` below pin the folded
/// cases one by one.
mod model {
    use std::sync::Arc;

    use immer::{Draftable, History, HistoryError, Vector};
    use serde::{Deserialize, Serialize};

    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub(crate) struct Todo {
        pub(crate) id: u32,
        pub(crate) text: String,
        pub(crate) done: bool,
    }

    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub(crate) struct VecBoard {
        pub(crate) todos: Vec<Todo>,
        pub(crate) tags: Vec<String>,
    }

    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub(crate) struct VectorBoard {
        pub(crate) todos: Vector<Todo>,
        pub(crate) tags: Vector<String>,
    }

    /// The plain state both boards are compared through.
    #[derive(Clone, Debug, PartialEq)]
    pub(crate) struct Plain {
        pub(crate) todos: Vec<Todo>,
        pub(crate) tags: Vec<String>,
    }

    pub(crate) fn todo(id: u32) -> Todo {
        Todo {
            id,
            text: format!("todo {id}"),
            done: false,
        }
    }

    /// An operation on a draft, by position (what the recipe calls).
    #[derive(Clone, Debug)]
    pub(crate) enum Op {
        SetDone(usize, bool),
        Rename(usize, String),
        Insert(usize, Todo),
        Remove(usize),
        /// From, then to (after the removal).
        Move(usize, usize),
        Reverse,
        SortByText,
        Swap(usize, usize),
        Set(usize, Todo),
        PushTag(String),
        RemoveTag(usize),
    }

    /// An action as its author meant it, by identity.
    #[derive(Clone, Debug)]
    pub(crate) enum Action {
        SetDone(u32, bool),
        Rename(u32, String),
        Insert {
            todo: Todo,
            followers: Vec<u32>,
        },
        Remove(u32),
        Move {
            id: u32,
            followers: Vec<u32>,
        },
        Reorder(Vec<u32>),
        Set {
            old: u32,
            todo: Todo,
            followers: Vec<u32>,
        },
        PushTag(String),
        RemoveTag(String),
    }

    pub(crate) trait Board: Draftable + Sized {
        fn new(plain: &Plain) -> Self;
        fn plain(&self) -> Plain;
        /// Commits the operations as one entry; whether an entry was made.
        fn commit(history: &mut History<Self>, ops: &[Op]) -> bool;
    }

    macro_rules! board {
        ($board:ident) => {
            impl Board for $board {
                fn new(plain: &Plain) -> Self {
                    $board {
                        todos: plain.todos.iter().cloned().collect(),
                        tags: plain.tags.iter().cloned().collect(),
                    }
                }
                fn plain(&self) -> Plain {
                    Plain {
                        todos: self.todos.iter().cloned().collect(),
                        tags: self.tags.iter().cloned().collect(),
                    }
                }
                fn commit(history: &mut History<Self>, ops: &[Op]) -> bool {
                    let made = history.commit(Some(&format!("{ops:?}")), |d| {
                        for op in ops {
                            match op {
                                Op::SetDone(i, done) => {
                                    d.todos().get_mut(*i).unwrap().set_done(*done);
                                }
                                Op::Rename(i, text) => {
                                    d.todos().get_mut(*i).unwrap().set_text(text.clone());
                                }
                                Op::Insert(i, todo) => d.todos().insert(*i, todo.clone()).unwrap(),
                                Op::Remove(i) => {
                                    d.todos().remove(*i).unwrap();
                                }
                                Op::Move(from, to) => {
                                    let todo = d.todos().remove(*from).unwrap();
                                    d.todos().insert(*to, todo).unwrap();
                                }
                                Op::Reverse => d.todos().reverse(),
                                Op::SortByText => d.todos().sort_by(|a, b| a.text.cmp(&b.text)),
                                Op::Swap(a, b) => assert!(d.todos().swap(*a, *b)),
                                Op::Set(i, todo) => d.todos().set(*i, todo.clone()).unwrap(),
                                Op::PushTag(tag) => d.tags().push(tag.clone()),
                                Op::RemoveTag(i) => {
                                    d.tags().remove(*i).unwrap();
                                }
                            }
                        }
                    });
                    made.is_some()
                }
            }
        };
    }
    board!(VecBoard);
    board!(VectorBoard);

    fn ids(todos: &[Todo]) -> Vec<u32> {
        todos.iter().map(|t| t.id).collect()
    }

    /// Makes `op` on the real state; returns the action it is, or `None` when it changes
    /// nothing (a reorder that leaves the order, a move to where the todo is).
    pub(crate) fn perform(state: &mut Plain, op: &Op) -> Option<Action> {
        let todos = &mut state.todos;
        Some(match op {
            Op::SetDone(i, done) => {
                todos[*i].done = *done;
                Action::SetDone(todos[*i].id, *done)
            }
            Op::Rename(i, text) => {
                todos[*i].text.clone_from(text);
                Action::Rename(todos[*i].id, text.clone())
            }
            Op::Insert(i, todo) => {
                todos.insert(*i, todo.clone());
                Action::Insert {
                    todo: todo.clone(),
                    followers: ids(&todos[i + 1..]),
                }
            }
            Op::Remove(i) => Action::Remove(todos.remove(*i).id),
            Op::Move(from, to) => {
                let todo = todos.remove(*from);
                let id = todo.id;
                todos.insert(*to, todo);
                Action::Move {
                    id,
                    followers: ids(&todos[to + 1..]),
                }
            }
            Op::Reverse | Op::SortByText | Op::Swap(..) => {
                let before = ids(todos);
                match op {
                    Op::Reverse => todos.reverse(),
                    Op::SortByText => todos.sort_by(|a, b| a.text.cmp(&b.text)),
                    Op::Swap(a, b) => todos.swap(*a, *b),
                    _ => unreachable!(),
                }
                if ids(todos) == before {
                    return None;
                }
                match op {
                    Op::Swap(a, b) => {
                        Action::Reorder(vec![todos[*a.min(b)].id, todos[*a.max(b)].id])
                    }
                    _ => Action::Reorder(ids(todos)),
                }
            }
            Op::Set(i, todo) => {
                let old = std::mem::replace(&mut todos[*i], todo.clone()).id;
                Action::Set {
                    old,
                    todo: todo.clone(),
                    followers: ids(&todos[i + 1..]),
                }
            }
            Op::PushTag(tag) => {
                state.tags.push(tag.clone());
                Action::PushTag(tag.clone())
            }
            Op::RemoveTag(i) => Action::RemoveTag(state.tags.remove(*i)),
        })
    }

    fn at(todos: &[Todo], id: u32) -> Option<usize> {
        todos.iter().position(|t| t.id == id)
    }

    /// Where a todo goes: before the first of `followers` there, or at the end.
    fn place(todos: &[Todo], followers: &[u32]) -> usize {
        followers
            .iter()
            .find_map(|f| at(todos, *f))
            .unwrap_or(todos.len())
    }

    /// The model: makes an action, by identity, on a state that may lack what it names.
    pub(crate) fn replay(state: &mut Plain, action: &Action) {
        let todos = &mut state.todos;
        match action {
            Action::SetDone(id, done) => {
                if let Some(i) = at(todos, *id) {
                    todos[i].done = *done;
                }
            }
            Action::Rename(id, text) => {
                if let Some(i) = at(todos, *id) {
                    todos[i].text.clone_from(text);
                }
            }
            Action::Insert { todo, followers } => {
                let i = place(todos, followers);
                todos.insert(i, todo.clone());
            }
            Action::Remove(id) => todos.retain(|t| t.id != *id),
            Action::Move { id, followers } => {
                if let Some(i) = at(todos, *id) {
                    let todo = todos.remove(i);
                    let to = place(todos, followers);
                    todos.insert(to, todo);
                }
            }
            Action::Reorder(order) => {
                let places: Vec<usize> = (0..todos.len())
                    .filter(|&i| order.contains(&todos[i].id))
                    .collect();
                let mut moved: Vec<Todo> = places.iter().map(|&i| todos[i].clone()).collect();
                moved.sort_by_key(|t| order.iter().position(|o| *o == t.id));
                for (i, todo) in places.into_iter().zip(moved) {
                    todos[i] = todo;
                }
            }
            Action::Set {
                old,
                todo,
                followers,
            } => {
                todos.retain(|t| t.id != *old);
                let i = place(todos, followers);
                todos.insert(i, todo.clone());
            }
            Action::PushTag(tag) => state.tags.push(tag.clone()),
            Action::RemoveTag(tag) => state.tags.retain(|t| t != tag),
        }
    }

    /// What an entry inserted or edited (todos by id, tags by name).
    fn made(entry: &[Action]) -> (Vec<u32>, Vec<String>) {
        let mut todos = Vec::new();
        let mut tags = Vec::new();
        for action in entry {
            match action {
                Action::SetDone(id, _) | Action::Rename(id, _) => todos.push(*id),
                Action::Insert { todo, .. } | Action::Set { todo, .. } => todos.push(todo.id),
                Action::PushTag(tag) => tags.push(tag.clone()),
                _ => {}
            }
        }
        (todos, tags)
    }

    /// Whether a later entry takes away what `entry` made: the model's conflict.
    pub(crate) fn taken_away(entry: &[Action], later: &[Vec<Action>]) -> Option<usize> {
        let (todos, tags) = made(entry);
        later.iter().position(|actions| {
            actions.iter().any(|a| match a {
                Action::Remove(id) | Action::Set { old: id, .. } => todos.contains(id),
                Action::RemoveTag(tag) => tags.contains(tag),
                _ => false,
            })
        })
    }

    /// The generator's choice of the next operation on `state`, from three numbers, or `None`
    /// when that choice does not apply. `fresh` numbers new todos and tags and texts.
    pub(crate) fn choose(
        state: &Plain,
        (kind, first, second): (u8, u8, u8),
        fresh: &mut u32,
    ) -> Option<Op> {
        let (a, b) = (first, second);
        let n = state.todos.len();
        let pick = |x: u8, len: usize| (len > 0).then(|| usize::from(x) % len);
        let mut next = || {
            *fresh += 1;
            *fresh
        };
        Some(match kind % 11 {
            0 => {
                let i = pick(a, n)?;
                Op::SetDone(i, !state.todos[i].done)
            }
            1 => Op::Rename(
                pick(a, n)?,
                format!("text {:03}", next() % 7 * 100 + u32::from(b)),
            ),
            2 => Op::Insert(usize::from(a) % (n + 1), todo(next())),
            3 => Op::Remove(pick(a, n)?),
            4 => {
                let from = pick(a, n)?;
                let to = pick(b, n)?;
                (from != to).then_some(Op::Move(from, to))?
            }
            5 => Op::Reverse,
            6 => Op::SortByText,
            7 => {
                let one = pick(a, n)?;
                let other = pick(b, n)?;
                (one != other).then_some(Op::Swap(one, other))?
            }
            8 => Op::Set(pick(a, n)?, todo(next())),
            9 => Op::PushTag(format!("g{}", next())),
            _ => Op::RemoveTag(pick(a, state.tags.len())?),
        })
    }

    /// Whether `op` may join an entry already holding `held` (see the module's docs).
    pub(crate) fn joins(state: &Plain, held: &[(Op, Action)], op: &Op) -> bool {
        let shapes_todos = |op: &Op| {
            matches!(
                op,
                Op::Insert(..)
                    | Op::Remove(_)
                    | Op::Move(..)
                    | Op::Reverse
                    | Op::SortByText
                    | Op::Swap(..)
                    | Op::Set(..)
            )
        };
        let shapes_tags = |op: &Op| matches!(op, Op::PushTag(_) | Op::RemoveTag(_));
        if shapes_todos(op) && held.iter().any(|(o, _)| shapes_todos(o)) {
            return false;
        }
        if shapes_tags(op) && held.iter().any(|(o, _)| shapes_tags(o)) {
            return false;
        }
        // Todos placed by a move, a swap or a reorder, and todos edited, held apart.
        let placed: Vec<u32> = held
            .iter()
            .flat_map(|(_, a)| match a {
                Action::Move { id, .. } => vec![*id],
                Action::Reorder(order) => order.clone(),
                _ => Vec::new(),
            })
            .collect();
        let edited: Vec<u32> = held
            .iter()
            .filter_map(|(_, a)| match a {
                Action::SetDone(id, _) | Action::Rename(id, _) => Some(*id),
                _ => None,
            })
            .collect();
        let id = |i: &usize| state.todos[*i].id;
        match op {
            Op::SetDone(i, _) | Op::Rename(i, _) => {
                let same_field = held.iter().any(|(_, a)| match (a, op) {
                    (Action::SetDone(j, _), Op::SetDone(..))
                    | (Action::Rename(j, _), Op::Rename(..)) => *j == id(i),
                    _ => false,
                });
                !placed.contains(&id(i)) && !same_field
            }
            Op::Move(from, _) => !edited.contains(&id(from)),
            Op::Swap(x, y) => !edited.contains(&id(x)) && !edited.contains(&id(y)),
            Op::Reverse | Op::SortByText => edited.is_empty(),
            _ => true,
        }
    }

    /// How many skips gave the model's state, and how many the model's conflict.
    #[derive(Default)]
    pub(crate) struct Count {
        pub(crate) states: usize,
        pub(crate) conflicts: usize,
    }

    /// Checks skipping (and reverting) every entry of a history of `entries`, each a list of
    /// generated operations, on a board of type `B`, adding to `count`.
    pub(crate) fn check<B: Board>(
        base: &Plain,
        entries: &[Vec<(u8, u8, u8)>],
        undone: usize,
        count: &mut Count,
    ) -> Result<(), String> {
        let mut history = History::new(Arc::new(B::new(base)));
        let mut real = base.clone();
        let mut fresh = 100;
        let mut actions: Vec<Vec<Action>> = Vec::new();
        for steps in entries {
            let mut held: Vec<(Op, Action)> = Vec::new();
            let mut state = real.clone();
            for step in steps {
                let Some(op) = choose(&state, *step, &mut fresh) else {
                    continue;
                };
                if !joins(&state, &held, &op) {
                    continue;
                }
                let mut next = state.clone();
                if let Some(action) = perform(&mut next, &op) {
                    held.push((op, action));
                    state = next;
                }
            }
            if held.is_empty() {
                continue;
            }
            let ops: Vec<Op> = held.iter().map(|(o, _)| o.clone()).collect();
            if B::commit(&mut history, &ops) {
                real = state;
                actions.push(held.into_iter().map(|(_, a)| a).collect());
            }
            assert_eq!(history.current().plain(), real, "the board follows {ops:?}");
        }
        for _ in 0..undone.min(actions.len().saturating_sub(1)) {
            history.undo().unwrap();
            actions.pop();
        }
        for k in 0..actions.len() {
            compare(&mut history, base, &actions, k, count)?;
        }
        Ok(())
    }

    /// Skips (and reverts) entry `k` of `history`, whose entries are `actions`, and compares
    /// with the model.
    fn compare<B: Board>(
        history: &mut History<B>,
        base: &Plain,
        actions: &[Vec<Action>],
        k: usize,
        count: &mut Count,
    ) -> Result<(), String> {
        let mut model = base.clone();
        for (n, entry) in actions.iter().enumerate() {
            if n != k {
                for action in entry {
                    replay(&mut model, action);
                }
            }
        }
        let conflict = taken_away(&actions[k], &actions[k + 1..]);
        let version = history.version();
        let before = Arc::clone(history.current());
        let context = || format!("skipping {:?} of {actions:?}", actions[k]);
        match (history.skipped(k as u64), conflict) {
            (Ok(skipped), None) => {
                if skipped.plain() != model {
                    return Err(format!(
                        "{}: got {:?}, the model gives {model:?}",
                        context(),
                        skipped.plain()
                    ));
                }
                let reverted = history.revert(k as u64, Some("revert")).unwrap();
                if history.current().plain() != model {
                    return Err(format!("{}: revert differs from skipped", context()));
                }
                if model == before.plain() {
                    if reverted != version || !Arc::ptr_eq(history.current(), &before) {
                        return Err(format!("{}: a revert of nothing recorded", context()));
                    }
                } else {
                    if reverted != version + 1 {
                        return Err(format!("{}: no new version", context()));
                    }
                    history.undo().unwrap();
                    if !Arc::ptr_eq(history.current(), &before) && *history.current() != before {
                        return Err(format!("{}: undo of the revert", context()));
                    }
                    // Undone, the revert's redo branch goes with the next revert.
                }
                count.states += 1;
            }
            (Err(HistoryError::Conflict { entry, by, .. }), Some(n)) => {
                if entry != k as u64 || by != (k + 1 + n) as u64 {
                    return Err(format!(
                        "{}: conflict with {by}, the model's with {}",
                        context(),
                        k + 1 + n
                    ));
                }
                if history.revert(k as u64, None).is_ok() || history.version() != version {
                    return Err(format!(
                        "{}: a refused revert changed the history",
                        context()
                    ));
                }
                count.conflicts += 1;
            }
            (got, expected) => {
                return Err(format!(
                    "{}: got {:?}, the model expects a conflict with {expected:?}",
                    context(),
                    got.map(|s| s.plain())
                ));
            }
        }
        Ok(())
    }

    pub(crate) fn base() -> Plain {
        Plain {
            todos: (1..=4).map(todo).collect(),
            tags: vec!["g1".into(), "g2".into()],
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    /// Random histories of one to three actions an entry, every entry skipped and reverted in
    /// turn, on both boards: the model's answer, and no other.
    #[test]
    fn skipping_every_entry_of_a_history_of_every_list_method_equals_the_model(
        entries in prop::collection::vec(
            prop::collection::vec((any::<u8>(), any::<u8>(), any::<u8>()), 1..4),
            1..10,
        ),
        undone in 0..3_usize,
    ) {
        let base = model::base();
        let mut count = model::Count::default();
        let vec = model::check::<model::VecBoard>(&base, &entries, undone, &mut count);
        prop_assert!(vec.is_ok(), "Vec: {}", vec.unwrap_err());
        let vector = model::check::<model::VectorBoard>(&base, &entries, undone, &mut count);
        prop_assert!(vector.is_ok(), "Vector: {}", vector.unwrap_err());
    }
}

/// Every history of three one-action entries on a board of three todos, from every kind of
/// action with a few choices each, every entry skipped in turn.
#[test]
fn skipping_every_entry_of_every_small_history_equals_the_model() {
    let base = model::Plain {
        todos: (1..=3).map(model::todo).collect(),
        tags: vec!["g1".into()],
    };
    let choices: Vec<(u8, u8, u8)> = (0..11_u8)
        .flat_map(|kind| {
            let spread: &[(u8, u8)] = match kind {
                4 | 7 => &[(0, 1), (0, 2), (2, 0), (1, 2)],
                5 | 6 | 9 => &[(0, 0)],
                2 => &[(0, 0), (1, 0), (3, 0)],
                _ => &[(0, 0), (1, 0), (2, 0)],
            };
            spread.iter().map(move |&(a, b)| (kind, a, b))
        })
        .collect();
    let mut count = model::Count::default();
    for x in &choices {
        for y in &choices {
            for z in &choices {
                let entries = [vec![*x], vec![*y], vec![*z]];
                if let Err(message) =
                    model::check::<model::VecBoard>(&base, &entries, 0, &mut count)
                {
                    panic!("{message}");
                }
            }
        }
    }
    eprintln!(
        "{} skips gave the model's state, {} its conflict",
        count.states, count.conflicts
    );
    assert!(count.states > 50_000 && count.conflicts > 1_000);
}

/// The cases the independent check found, each on both boards (`*` marks the entry skipped).
mod found {
    use std::sync::Arc;

    use immer::{History, HistoryError};

    use super::model::{Board, Op, Plain, Todo, VecBoard, VectorBoard, todo};

    fn board(ids: &[u32], tags: &[&str]) -> Plain {
        Plain {
            todos: ids.iter().copied().map(todo).collect(),
            tags: tags.iter().map(|t| (*t).to_owned()).collect(),
        }
    }

    fn done(mut todo: Todo) -> Todo {
        todo.done = true;
        todo
    }

    fn named(mut todo: Todo, text: &str) -> Todo {
        todo.text = text.into();
        todo
    }

    /// The history of `entries` on `base`, as `B`; what skipping the first entry gives.
    fn skip_first<B: Board>(base: &Plain, entries: &[&[Op]]) -> Result<Plain, HistoryError> {
        let mut history = History::new(Arc::new(B::new(base)));
        for ops in entries {
            assert!(B::commit(&mut history, ops), "{ops:?} made an entry");
        }
        let skipped = history.skipped(0).map(|s| s.plain());
        let version = history.version();
        match (&skipped, history.revert(0, Some("revert"))) {
            (Ok(state), Ok(reverted)) => {
                assert_eq!(&history.current().plain(), state, "revert = skipped");
                assert!(reverted == version + 1 || reverted == version);
            }
            (Err(_), Err(_)) => assert_eq!(history.version(), version),
            (skipped, reverted) => panic!("skipped {skipped:?}, reverted {reverted:?}"),
        }
        skipped
    }

    fn both(base: &Plain, entries: &[&[Op]]) -> Result<Plain, HistoryError> {
        let vec = skip_first::<VecBoard>(base, entries);
        let vector = skip_first::<VectorBoard>(base, entries);
        assert_eq!(
            format!("{vec:?}"),
            format!("{vector:?}"),
            "Vec and Vector agree"
        );
        vec
    }

    #[test]
    fn a_reverse_or_sort_skipped_keeps_a_later_toggle_inside_the_list() {
        // [1,2]: *reverse; toggle #1 (at 1 after the reverse).
        let state = both(
            &board(&[1, 2], &[]),
            &[&[Op::Reverse], &[Op::SetDone(1, true)]],
        );
        assert_eq!(state.unwrap().todos, [done(todo(1)), todo(2)]);
        // [2,1]: *sort; toggle #1 (at 0 after the sort).
        let state = both(
            &board(&[2, 1], &[]),
            &[&[Op::SortByText], &[Op::SetDone(0, true)]],
        );
        assert_eq!(state.unwrap().todos, [todo(2), done(todo(1))]);
    }

    #[test]
    fn a_move_skipped_keeps_a_later_toggle_of_the_moved_todo() {
        // [1,2]: *move #1 to the end; toggle #1.
        let state = both(
            &board(&[1, 2], &[]),
            &[&[Op::Move(0, 1)], &[Op::SetDone(1, true)]],
        );
        assert_eq!(state.unwrap().todos, [done(todo(1)), todo(2)]);
    }

    #[test]
    fn the_later_write_that_stands_is_found_by_identity_across_shifted_indices() {
        // *rename #2 "a"; [remove #1; rename #2 "b"]: "b" stands.
        let rename = Op::Rename(1, "a".into());
        let later = [Op::Remove(0), Op::Rename(0, "b".into())];
        let state = both(
            &board(&[1, 2], &[]),
            &[std::slice::from_ref(&rename), &later],
        );
        assert_eq!(state.unwrap().todos, [named(todo(2), "b")]);
        // *rename #2 "a"; [insert #3 before #1; rename #1 "b"]: #2's rename is reverted.
        let later = [Op::Insert(0, todo(3)), Op::Rename(1, "b".into())];
        let state = both(&board(&[1, 2], &[]), &[&[rename], &later]);
        assert_eq!(
            state.unwrap().todos,
            [todo(3), named(todo(1), "b"), todo(2)]
        );
    }

    #[test]
    fn a_later_replace_of_a_list_element_is_another_element() {
        // [1]: *insert #2; set #2 to #3: the todo the entry inserted was replaced.
        let error = both(
            &board(&[1], &[]),
            &[&[Op::Insert(1, todo(2))], &[Op::Set(1, todo(3))]],
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                HistoryError::Conflict {
                    entry: 0,
                    by: 1,
                    ..
                }
            ),
            "{error}"
        );
        // *push_tag g7; [push_tag g8; remove_tag g7]: one replace of the tag g7 by g8.
        let error = both(
            &board(&[1], &["g1"]),
            &[
                &[Op::PushTag("g7".into())],
                &[Op::PushTag("g8".into()), Op::RemoveTag(1)],
            ],
        )
        .unwrap_err();
        assert!(
            matches!(
                error,
                HistoryError::Conflict {
                    entry: 0,
                    by: 1,
                    ..
                }
            ),
            "{error}"
        );
        // [1,2,3]: *remove #2; [remove #1; insert #8 before #3] (one replace of #1 by #8):
        // #2, there first, goes back before #8.
        let state = both(
            &board(&[1, 2, 3], &[]),
            &[&[Op::Remove(1)], &[Op::Remove(0), Op::Insert(0, todo(8))]],
        );
        assert_eq!(state.unwrap().todos, [todo(2), todo(8), todo(3)]);
    }

    #[test]
    fn a_revert_with_nothing_left_to_revert_records_nothing() {
        let mut history = History::new(Arc::new(VecBoard::new(&board(&[1], &[]))));
        VecBoard::commit(&mut history, &[Op::Rename(0, "a".into())]);
        VecBoard::commit(&mut history, &[Op::Rename(0, "b".into())]);
        let current = Arc::clone(history.current());
        assert!(history.revert_patches(0).unwrap().is_empty());
        assert!(Arc::ptr_eq(&history.skipped(0).unwrap(), &current));
        assert_eq!(history.revert(0, Some("revert")).unwrap(), 2);
        assert_eq!(history.newest_version(), 2);
        assert!(Arc::ptr_eq(history.current(), &current));
    }
}

/// Skipping an entry of a state of every shape the skip reads by its own route (structs,
/// newtypes, flattened fields, tuple structs, maps with number keys, options, boxes, sets,
/// tuples, fixed arrays, JSON values), each entry editing its own part: the state the other
/// entries' recipes give, replayed from the base without it.
mod shapes {
    use std::collections::{BTreeSet, HashMap};
    use std::sync::Arc;

    use immer::{Draftable, History, Json, PatchDraft, produce_with_patches};
    use serde::{Deserialize, Serialize};
    use serde_json::json;

    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Shapes {
        counts: HashMap<u32, Vec<u8>>,
        tags: BTreeSet<String>,
        point: (i32, String),
        slots: [u8; 3],
        note: Option<Box<Note>>,
        id: Id,
        pair: Pair,
        #[serde(flatten)]
        extra: Extra,
        doc: serde_json::Value,
        json: Json,
    }

    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Note {
        text: String,
    }

    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Id(u64);

    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Pair(u8, u8);

    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Extra {
        flag: bool,
    }

    fn base() -> Shapes {
        Shapes {
            counts: HashMap::from([(7, vec![1, 2]), (9, vec![4])]),
            tags: ["a", "b"].into_iter().map(String::from).collect(),
            point: (1, "p".into()),
            slots: [1, 2, 3],
            note: Some(Box::new(Note { text: "n".into() })),
            id: Id(1),
            pair: Pair(1, 2),
            extra: Extra { flag: false },
            doc: json!({"k": 1, "list": [1, 2, 3]}),
            json: Json::from(json!({"items": [{"a": 1}, {"a": 2}]})),
        }
    }

    type Recipe = fn(&mut PatchDraft<'_, '_, Shapes>);

    /// One recipe per part, none shifting what another names.
    const RECIPES: &[Recipe] = &[
        |d| d.counts().get_mut(&7).unwrap().insert(0, 5).unwrap(),
        |d| {
            d.tags().insert("c".into());
        },
        |d| d.point()._1().set("moved".into()),
        |d| assert!(d.slots().swap(0, 2)),
        |d| d.note().get_mut().unwrap().set_text("n2".into()),
        |d| d.set_id(Id(9)),
        |d| d.pair().set_0(3),
        |d| d.extra().set_flag(true),
        |d| d.doc().set(json!({"k": 2, "list": [1, 2, 3]})),
        |d| {
            d.json()
                .get_mut("items")
                .unwrap()
                .insert_index(1, json!({"a": 9}))
                .unwrap();
        },
        |d| {
            d.tags().remove(&String::from("a"));
        },
        |d| {
            d.counts().insert(8, vec![1]);
        },
        |d| {
            d.counts().get_mut(&9).unwrap().remove(0);
        },
    ];

    #[test]
    fn skipping_an_entry_of_any_shape_gives_the_other_entries_replayed() {
        for k in 0..RECIPES.len() {
            let mut history = History::new(Arc::new(base()));
            for recipe in RECIPES {
                assert!(history.commit(None, recipe).is_some());
            }
            let mut model = Arc::new(base());
            for (n, recipe) in RECIPES.iter().enumerate() {
                if n != k {
                    model = produce_with_patches(&model, recipe).0;
                }
            }
            let skipped = history.skipped(k as u64).unwrap();
            assert_eq!(*skipped, *model, "skipping recipe {k}");
            history.revert(k as u64, Some("revert")).unwrap();
            assert_eq!(**history.current(), *model, "reverting recipe {k}");
        }
    }

    #[test]
    fn a_set_element_put_in_the_place_of_another_and_a_swapped_array_skip_too() {
        // A set takes no `replace` of an element, a fixed array no `remove`: skipping an entry
        // where the later ones did both gives the state all the same.
        let mut history = History::new(Arc::new(base()));
        history.commit(Some("tag c"), |d| {
            d.tags().insert("c".into());
        });
        history.commit(Some("a for aa"), |d| {
            d.tags().remove(&String::from("a"));
            d.tags().insert("aa".into());
        });
        history.commit(Some("swap"), |d| assert!(d.slots().swap(0, 2)));
        let skipped = history.skipped(0).unwrap();
        let tags: Vec<&str> = skipped.tags.iter().map(String::as_str).collect();
        assert_eq!(tags, ["aa", "b"]);
        assert_eq!(skipped.slots, [3, 2, 1]);
        // The set alone, and the array alone.
        let mut history = History::new(Arc::new(base()));
        history.commit(Some("tag c"), |d| {
            d.tags().insert("c".into());
        });
        history.commit(Some("a for aa"), |d| {
            d.tags().remove(&String::from("a"));
            d.tags().insert("aa".into());
        });
        let tags: Vec<String> = history.skipped(0).unwrap().tags.iter().cloned().collect();
        assert_eq!(tags, ["aa", "b"]);
        let mut history = History::new(Arc::new(base()));
        history.commit(Some("rename"), |d| d.point()._1().set("q".into()));
        history.commit(Some("swap"), |d| assert!(d.slots().swap(0, 2)));
        history.commit(Some("write"), |d| d.slots().set(1, 7).unwrap());
        let skipped = history.skipped(0).unwrap();
        assert_eq!(skipped.slots, [3, 7, 1]);
        assert_eq!(skipped.point.1, "p");
    }
}

#[path = "support/counting.rs"]
mod counting;

/// What skipping costs: it reads the state only where the entries go, so skipping one entry of
/// a board of 100,000 todos allocates what the entries touch, not a copy of the board. Every
/// allocation of the test's thread is counted.
mod cost {
    use std::sync::Arc;

    use immer::{Draftable, History, Json, Vector, apply_patches, revert_through};
    use serde::{Deserialize, Serialize};

    use super::counting::peak;

    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Board {
        title: String,
        todos: Vector<Todo>,
    }

    #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
    struct Todo {
        id: u64,
        text: String,
        done: bool,
    }

    /// A board of 100,000 todos and 300 entries: ticks, renames and inserts spread over it.
    fn history() -> History<Board> {
        let base = Board {
            title: "board".into(),
            todos: (0..100_000)
                .map(|id| Todo {
                    id,
                    text: format!("todo {id}"),
                    done: false,
                })
                .collect(),
        };
        let mut history = History::new(Arc::new(base));
        for n in 0..300_usize {
            let i = n * 331 % 100_000;
            history.commit(None, |d| match n % 3 {
                0 => d.todos().get_mut(i).unwrap().set_done(true),
                1 => d
                    .todos()
                    .get_mut(i)
                    .unwrap()
                    .set_text(format!("renamed {n}")),
                _ => d
                    .todos()
                    .insert(
                        i,
                        Todo {
                            id: 1_000_000 + n as u64,
                            text: "new".into(),
                            done: false,
                        },
                    )
                    .unwrap(),
            });
        }
        history
    }

    #[test]
    fn skipping_an_entry_costs_what_the_entries_touch_not_the_state() {
        let history = history();
        let board = peak(|| serde_json::to_value(&**history.current()).unwrap()).1;
        for version in [290, 0] {
            // The state at the entry's version, rebuilt from the newest by the entries'
            // inverses (the history keeps no snapshot): what `state_at` costs.
            let rebuilt = peak(|| history.state_at(version).unwrap()).1;
            let (skipped, bytes) = peak(|| history.skipped(version).unwrap());
            // The positional answer is right here: no entry reorders what another names.
            let entry = history.entry(version).unwrap();
            let later = history.entries().filter(|e| e.version > version);
            let patches =
                revert_through(&entry.inverse, later.map(|e| e.patches.as_slice())).unwrap();
            assert_eq!(skipped, apply_patches(history.current(), &patches).unwrap());
            assert!(
                bytes < rebuilt + board / 50,
                "skipping entry {version} held {bytes} bytes ({rebuilt} to rebuild the state \
                 it applied to); the board as JSON is {board}"
            );
        }
        // The same on the board as a persistent JSON value.
        let json: Json =
            serde_json::from_value(serde_json::to_value(&**history.current()).unwrap()).unwrap();
        let mut other = History::new(Arc::new(json));
        other.commit(None, |d| {
            d.get_mut("todos")
                .unwrap()
                .get_index_mut(5)
                .unwrap()
                .insert("done", true)
                .unwrap();
        });
        other.commit(None, |d| {
            d.get_mut("todos")
                .unwrap()
                .insert_index(0, serde_json::json!({"id": 0, "text": "x", "done": false}))
                .unwrap();
        });
        let (skipped, bytes) = peak(|| other.skipped(0).unwrap());
        assert_eq!(
            serde_json::Value::from(&*skipped)["todos"][6]["done"],
            serde_json::json!(false)
        );
        assert!(bytes < board / 50, "{bytes} bytes");
    }
}
