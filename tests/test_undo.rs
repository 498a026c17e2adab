//! The undo manager (`immer::sync::UndoManager`): scenarios, and property tests against a model
//! over random interleavings of two users' edits, undos and redos with delayed delivery.

#[path = "support/undo_sim.rs"]
mod undo_sim;
use undo_sim::{MAX_TODOS, Scope, Sim, Todo, USERS, board, written_by};

use std::sync::Arc;
use std::time::Duration;

use immer::sync::{
    DropReason, Follower, Leader, RejectReason, SkipReason, UndoAction, UndoError, UndoManager,
};
use immer::{Patch, Path};
use proptest::prelude::*;
use serde_json::json;

fn at(pointer: &str) -> Path {
    Path::from_pointer(pointer).unwrap()
}

#[test]
fn an_undo_is_moved_through_what_others_committed_since() {
    let mut sim = Sim::new(1, 0, false);
    // Ann ticks todo 3; Bob, not knowing, removes todo 0 and inserts two at the front.
    sim.users[0].edit(|d| d.todos().get_mut(3).unwrap().set_done(true));
    sim.users[1].edit(|d| {
        d.todos().remove(0);
    });
    sim.settle();
    sim.users[1].edit(|d| {
        d.todos().insert(0, todo(90)).unwrap();
        d.todos().insert(0, todo(91)).unwrap();
    });
    sim.settle();
    assert_eq!(sim.users[0].state().todos[4].id, 3);
    assert!(sim.users[0].state().todos[4].done);
    let undone = sim.users[0].undo().unwrap();
    assert!(undone.skipped.is_empty());
    assert!(!sim.users[0].state().todos[4].done);
    sim.settle();
    assert_eq!(sim.users[1].state(), sim.users[0].state());
    assert_eq!(sim.users[1].state().todos.len(), 5);
}

fn todo(id: u64) -> Todo {
    Todo {
        id,
        text: String::new(),
        done: false,
        tags: Vec::new(),
    }
}

#[test]
fn a_step_whose_target_another_user_removed_is_skipped_with_the_reason() {
    let mut sim = Sim::new(1, 0, false);
    sim.users[0].edit_with(json!("first"), |d| d.set_title("ann".into()));
    sim.users[0].edit_with(json!("second"), |d| {
        d.todos().get_mut(2).unwrap().set_text("ann's".into());
    });
    sim.settle();
    sim.users[1].edit(|d| {
        d.todos().remove(2);
    });
    sim.settle();
    // The newest step's todo is gone: skipped, and the next step is undone instead.
    let undone = sim.users[0].undo().unwrap();
    assert_eq!(undone.metadata, Some(json!("first")));
    assert_eq!(undone.skipped.len(), 1);
    assert_eq!(undone.skipped[0].metadata, Some(json!("second")));
    let SkipReason::Conflict {
        conflict, author, ..
    } = &undone.skipped[0].reason
    else {
        panic!("{:?}", undone.skipped[0].reason);
    };
    assert_eq!(conflict.by, at("/todos/2"));
    // The reason names who removed it, as the server authenticated them.
    assert_eq!(author.as_deref(), Some(USERS[1]));
    assert!(
        undone.skipped[0]
            .reason
            .to_string()
            .ends_with(&format!("({}, version 3)", USERS[1])),
        "{}",
        undone.skipped[0].reason
    );
    assert_eq!(sim.users[0].state().title, "board");
    assert_eq!(sim.users[0].undo_len(), 0);
    let error = sim.users[0].undo().unwrap_err();
    assert_eq!(error, UndoError::Empty { skipped: vec![] });
    assert_eq!(error.to_string(), "nothing to revert");
}

#[test]
fn an_undo_never_removes_what_another_user_wrote_inside_it() {
    let mut sim = Sim::new(1, 0, false);
    sim.users[0].edit(|d| d.todos().insert(1, todo(50)).unwrap());
    sim.settle();
    sim.users[1].edit(|d| d.todos().get_mut(1).unwrap().set_text("bob's".into()));
    sim.settle();
    let Err(UndoError::Empty { skipped }) = sim.users[0].undo() else {
        panic!("nothing to revert");
    };
    assert!(
        matches!(&skipped[0].reason, SkipReason::Conflict { conflict, author, .. } if conflict.by == at("/todos/1/text") && author.as_deref() == Some(USERS[1]))
    );
    assert_eq!(sim.users[0].state().todos[1].text, "bob's");
    // A later write of the same value stands: nothing left to undo.
    sim.users[0].edit(|d| d.set_title("ann".into()));
    sim.settle();
    sim.users[1].edit(|d| d.set_title("bob".into()));
    sim.settle();
    let Err(UndoError::Empty { skipped }) = sim.users[0].undo() else {
        panic!("nothing to revert");
    };
    assert_eq!(skipped[0].reason, SkipReason::NothingLeft);
    assert_eq!(sim.users[0].state().title, "bob");
}

#[test]
fn edits_within_the_window_are_one_step_until_the_step_is_ended() {
    let mut sim = Sim::new(1, 100, false);
    sim.users[0].edit_with(json!({"selection": 1}), |d| d.set_title("a".into()));
    sim.tick(50);
    sim.users[0].edit_with(json!({"selection": 2}), |d| d.set_title("ab".into()));
    sim.tick(50);
    sim.users[0].edit(|d| d.set_title("abc".into()));
    sim.tick(99);
    sim.users[0].end_step();
    sim.users[0].edit(|d| d.set_title("abcd".into()));
    assert_eq!(sim.users[0].undo_len(), 2);
    sim.users[0].undo().unwrap();
    assert_eq!(sim.users[0].state().title, "abc");
    let undone = sim.users[0].undo().unwrap();
    assert_eq!(undone.metadata, Some(json!({"selection": 1})));
    assert_eq!(sim.users[0].state().title, "board");
    // Redo in order, then a new edit clears what is left to redo.
    sim.users[0].redo().unwrap();
    assert_eq!(sim.users[0].state().title, "abc");
    assert_eq!(sim.users[0].redo_len(), 1);
    sim.users[0].edit(|d| d.set_title("new".into()));
    assert_eq!(sim.users[0].redo_len(), 0);
    sim.settle();
    assert_eq!(sim.users[1].state().title, "new");
}

#[test]
fn undoing_twice_gives_back_what_was_there_before_both_steps() {
    let mut sim = Sim::new(1, 0, false);
    sim.users[0].edit(|d| d.todos().get_mut(1).unwrap().set_done(true));
    sim.users[0].edit(|d| {
        d.todos().remove(1);
    });
    sim.settle();
    // Bob inserts where the todo was, before Ann's undo of its removal: what the undo puts
    // back was there first, and goes before it.
    sim.users[1].edit(|d| d.todos().insert(1, todo(77)).unwrap());
    sim.settle();
    sim.users[0].undo().unwrap();
    sim.users[0].undo().unwrap();
    sim.settle();
    let todos: Vec<(u64, bool)> = sim.users[0]
        .state()
        .todos
        .iter()
        .map(|t| (t.id, t.done))
        .collect();
    assert_eq!(
        todos,
        [(0, false), (1, false), (77, false), (2, false), (3, false)]
    );
    assert_eq!(sim.users[1].state(), sim.users[0].state());
}

#[test]
fn a_refused_undo_is_reported_and_its_step_goes_back() {
    let mut sim = Sim::new(1, 0, true);
    sim.users[0].edit_with(json!("removal"), |d| {
        d.todos().remove(0);
    });
    sim.settle();
    // Bob fills the board up: putting Ann's todo back would make one too many.
    sim.users[1].edit(|d| {
        d.todos().push(todo(80));
        d.todos().push(todo(81));
        d.todos().push(todo(82));
    });
    sim.settle();
    assert_eq!(sim.users[0].state().todos.len(), MAX_TODOS);
    sim.users[0].undo().unwrap();
    assert_eq!(sim.users[0].state().todos.len(), MAX_TODOS + 1);
    assert_eq!(sim.users[0].redo_len(), 1);
    sim.settle();
    assert_eq!(sim.users[0].state().todos.len(), MAX_TODOS);
    let refused = sim.users[0].take_refused();
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].action, UndoAction::Undo);
    assert_eq!(refused[0].metadata, Some(json!("removal")));
    assert!(matches!(
        &refused[0].reason,
        DropReason::Rejected(RejectReason::Invalid { .. })
    ));
    assert_eq!((sim.users[0].undo_len(), sim.users[0].redo_len()), (1, 0));
    // Once there is room, the same step is undone.
    sim.users[1].edit(|d| {
        d.todos().pop();
    });
    sim.settle();
    sim.users[0].undo().unwrap();
    sim.settle();
    assert!(sim.users[0].take_refused().is_empty());
    assert_eq!(sim.users[0].state().todos[0].id, 0);
}

#[test]
fn dropped_edits_leave_their_steps() {
    let mut sim = Sim::new(1, 0, false);
    sim.users[1].edit(|d| {
        d.todos().remove(2);
    });
    sim.users[0].edit(|d| d.todos().get_mut(2).unwrap().set_text("lost".into()));
    assert_eq!(sim.users[0].undo_len(), 1);
    sim.send(1);
    sim.deliver(0, usize::MAX);
    // The edit of the removed todo was dropped: nothing is left to undo.
    assert_eq!(sim.users[0].undo_len(), 0);
    assert!(matches!(sim.users[0].undo(), Err(UndoError::Empty { .. })));
}

#[test]
fn an_undo_of_edits_not_yet_sent_and_of_a_batch() {
    let mut leader = Leader::new(Arc::new(board()));
    let follower = Follower::new(leader.join(1)).with_batch(10);
    let mut ann = UndoManager::new(follower).with_window(Duration::ZERO);
    ann.edit(|d| d.set_title("one".into()));
    ann.edit(|d| d.todos().get_mut(0).unwrap().set_text("two".into()));
    ann.edit(|d| d.set_title("three".into()));
    // The three go out as one change, and are committed as one.
    for message in ann.poll() {
        for out in leader.receive(message) {
            ann.receive(out.message);
        }
    }
    assert_eq!(leader.version(), 1);
    ann.undo().unwrap();
    assert_eq!(ann.state().title, "one");
    ann.undo().unwrap();
    assert_eq!(ann.state().todos[0].text, "t0");
    assert_eq!(ann.state().title, "one");
    ann.undo().unwrap();
    assert_eq!(**ann.state(), board());
    // Sent with patches made elsewhere, undone alike.
    let id = ann
        .edit_patches(&[Patch::replace(at("/title"), json!("patched"))], None)
        .unwrap();
    assert!(id.is_some());
    assert!(
        ann.edit_patches(&[Patch::remove(at("/todos/9"))], None)
            .is_err()
    );
    ann.undo().unwrap();
    assert_eq!(**ann.state(), board());
}

/// One step of a random run.
#[derive(Clone, Debug)]
enum Op {
    Edit { user: usize, choice: u64, at: usize },
    Undo(usize),
    Redo(usize),
    EndStep(usize),
    Send(usize),
    Deliver { user: usize, count: usize },
    Tick(u64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (0..2usize, 0..64u64, 0..8usize).prop_map(|(user, choice, at)| Op::Edit { user, choice, at }),
        3 => (0..2usize).prop_map(Op::Undo),
        2 => (0..2usize).prop_map(Op::Redo),
        1 => (0..2usize).prop_map(Op::EndStep),
        3 => (0..2usize).prop_map(Op::Send),
        3 => (0..2usize, 1..4usize).prop_map(|(user, count)| Op::Deliver { user, count }),
        2 => (0..120u64).prop_map(Op::Tick),
    ]
}

/// The model of one user's part of the board when only that user writes it: the states after
/// each step, and how many of them are undone.
struct Model<S> {
    states: Vec<S>,
    undone: usize,
}

impl<S: Clone + PartialEq + std::fmt::Debug> Model<S> {
    fn current(&self) -> &S {
        &self.states[self.states.len() - 1 - self.undone]
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// Each user edits only its own part (Ann the todos, Bob the title and labels): whatever
    /// the interleaving and the delays, each one's part follows the stack model (an undo
    /// goes back one step, a redo forward one, an edit drops what was left to redo), and
    /// every undo and redo reverts something.
    #[test]
    fn each_users_part_follows_the_stack_model(ops in prop::collection::vec(op(), 1..80), batch in 1..4usize) {
        let mut sim = Sim::new(batch, 0, false);
        let part = |sim: &Sim, u: usize| {
            let state = sim.users[u].state();
            if u == 0 {
                json!(state.todos)
            } else {
                json!([state.title, state.labels])
            }
        };
        let mut models: Vec<Model<serde_json::Value>> = (0..2)
            .map(|u| Model { states: vec![part(&sim, u)], undone: 0 })
            .collect();
        for op in ops {
            match op {
                Op::Edit { user, choice, at } => {
                    if sim.edit(user, choice, at, Scope::Own, None).is_some() {
                        let model = &mut models[user];
                        let keep = model.states.len() - model.undone;
                        model.states.truncate(keep);
                        model.undone = 0;
                        model.states.push(part(&sim, user));
                    }
                }
                Op::Undo(user) => {
                    let model = &mut models[user];
                    let result = sim.users[user].undo();
                    prop_assert_eq!(result.is_ok(), model.undone + 1 < model.states.len(), "{:?}", result);
                    if result.is_ok() {
                        prop_assert!(result.unwrap().skipped.is_empty());
                        model.undone += 1;
                    }
                }
                Op::Redo(user) => {
                    let model = &mut models[user];
                    let result = sim.users[user].redo();
                    prop_assert_eq!(result.is_ok(), model.undone > 0, "{:?}", result);
                    if result.is_ok() {
                        model.undone -= 1;
                    }
                }
                Op::EndStep(user) => sim.users[user].end_step(),
                Op::Send(user) => { sim.send(user); }
                Op::Deliver { user, count } => { sim.deliver(user, count); }
                Op::Tick(ms) => sim.tick(ms),
            }
            for (u, model) in models.iter().enumerate() {
                prop_assert_eq!(&part(&sim, u), model.current(), "user {}", u);
            }
        }
        sim.settle();
        for u in 0..2 {
            prop_assert_eq!(&part(&sim, 0), models[0].current(), "user {} sees Ann's part", u);
            prop_assert_eq!(sim.users[u].state(), sim.leader.state());
        }
    }

    /// Both users edit anywhere (a validator refuses boards of too many todos): an undo or
    /// redo never takes away a value the other user wrote, an undo followed at once by a
    /// redo gives back the state it started from, and everyone converges.
    #[test]
    fn undos_never_touch_the_other_users_edits(ops in prop::collection::vec(op(), 1..100), batch in 1..4usize) {
        let mut sim = Sim::new(batch, 50, true);
        for op in ops {
            match op {
                Op::Edit { user, choice, at } => {
                    sim.edit(user, choice, at, Scope::Anywhere, None);
                }
                Op::Undo(user) | Op::Redo(user) => {
                    let other = 1 - user;
                    let before = Arc::clone(sim.users[user].state());
                    let theirs = written_by(&before, other);
                    let result = if matches!(op, Op::Undo(_)) {
                        sim.users[user].undo()
                    } else {
                        sim.users[user].redo()
                    };
                    let after = written_by(sim.users[user].state(), other);
                    prop_assert!(theirs.is_subset(&after), "{:?} took {:?}", op, theirs.difference(&after).collect::<Vec<_>>());
                    if matches!(op, Op::Undo(_)) && result.is_ok() {
                        // Nothing else happened: a redo gives the state back.
                        let redone = sim.users[user].redo();
                        prop_assert!(redone.is_ok(), "{:?}", redone);
                        prop_assert_eq!(sim.users[user].state(), &before);
                    }
                }
                Op::EndStep(user) => sim.users[user].end_step(),
                Op::Send(user) => { sim.send(user); }
                Op::Deliver { user, count } => { sim.deliver(user, count); }
                Op::Tick(ms) => sim.tick(ms),
            }
        }
        sim.settle();
        for u in 0..2 {
            prop_assert_eq!(sim.users[u].state(), sim.leader.state());
        }
    }
}

/// The kinds of history an independent check found `History::skipped` wrong on, as two users'
/// steps: Ann's step, then Bob's change of several actions. Ann's undo either reverts her step
/// where its elements now are, or skips it; it never takes Bob's edits away, nor lands on
/// another element.
mod later_changes_of_several_actions {
    use super::*;
    use immer::PatchDraft;
    use undo_sim::Board;

    /// Ann's step, settled; Bob's change, settled; Ann's undo, settled. Both users' states
    /// after, and what the undo answered.
    fn run(
        step: impl FnOnce(&mut PatchDraft<'_, '_, Board>),
        later: impl FnOnce(&mut PatchDraft<'_, '_, Board>),
    ) -> (Board, Result<immer::sync::Undone, UndoError>) {
        let mut sim = Sim::new(1, 0, false);
        sim.users[0].edit(step);
        sim.settle();
        sim.users[1].edit(later);
        sim.settle();
        let undone = sim.users[0].undo();
        sim.settle();
        assert_eq!(sim.users[0].state(), sim.users[1].state());
        ((**sim.users[0].state()).clone(), undone)
    }

    fn ids(board: &Board) -> Vec<u64> {
        board.todos.iter().map(|t| t.id).collect()
    }

    #[test]
    fn a_rename_written_again_after_a_removal_before_it_keeps_the_later_write() {
        let (board, undone) = run(
            |d| d.todos().get_mut(2).unwrap().set_text("a".into()),
            |d| {
                d.todos().remove(1);
                d.todos().get_mut(1).unwrap().set_text("b".into());
            },
        );
        assert_eq!(ids(&board), [0, 2, 3]);
        assert_eq!(board.todos[1].text, "b", "Bob's later write stands");
        assert!(undone.is_err(), "{undone:?}");
    }

    #[test]
    fn a_step_that_renames_then_inserts_before_keeps_a_later_rename_of_the_todo() {
        // The step's revert removes its insert first, then puts the text back: the text's
        // path in the revert is the todo's index before the insert, Bob's after it.
        let (board, undone) = run(
            |d| {
                d.todos().get_mut(2).unwrap().set_text("a".into());
                d.todos().insert(0, todo(9)).unwrap();
            },
            |d| d.todos().get_mut(3).unwrap().set_text("b".into()),
        );
        assert!(undone.is_ok(), "{undone:?}");
        assert_eq!(ids(&board), [0, 1, 2, 3], "the insert undone");
        assert_eq!(board.todos[2].text, "b", "Bob's later write stands");
    }

    #[test]
    fn a_rename_is_reverted_where_the_todo_is_after_an_insert_before_it() {
        let (board, undone) = run(
            |d| d.todos().get_mut(2).unwrap().set_text("a".into()),
            |d| {
                d.todos().insert(0, todo(9)).unwrap();
                d.todos().get_mut(1).unwrap().set_text("b".into());
            },
        );
        assert!(undone.is_ok(), "{undone:?}");
        assert_eq!(ids(&board), [9, 0, 1, 2, 3]);
        assert_eq!(
            board.todos[3].text, "t2",
            "Ann's rename reverted on her todo"
        );
        assert_eq!(board.todos[1].text, "b", "Bob's rename stays");
    }

    #[test]
    fn an_insert_whose_todo_was_replaced_is_not_undone_on_the_replacement() {
        let (board, undone) = run(
            |d| d.todos().insert(1, todo(7)).unwrap(),
            |d| {
                d.todos().set(1, todo(8)).unwrap();
            },
        );
        assert_eq!(ids(&board), [0, 8, 1, 2, 3], "Bob's todo stays");
        let Err(UndoError::Empty { skipped }) = undone else {
            panic!("{undone:?}")
        };
        assert!(matches!(skipped[0].reason, SkipReason::Conflict { .. }));
    }

    #[test]
    fn a_tag_pushed_then_removed_with_another_pushed_keeps_the_other() {
        let (board, undone) = run(
            |d| d.todos().get_mut(0).unwrap().tags().push("g7".into()),
            |d| {
                let mut todos = d.todos();
                let mut todo = todos.get_mut(0).unwrap();
                todo.tags().push("g8".into());
                todo.tags().remove(1);
            },
        );
        assert_eq!(board.todos[0].tags, ["x", "g8"], "{undone:?}");
    }

    #[test]
    fn a_tick_is_undone_on_its_todo_after_a_reversal() {
        let (board, undone) = run(
            |d| d.todos().get_mut(1).unwrap().set_done(true),
            |d| d.todos().reverse(),
        );
        assert_eq!(ids(&board), [3, 2, 1, 0], "Bob's reversal stays");
        // Reverted on todo 1, or skipped: never on another todo.
        assert!(
            board.todos.iter().all(|t| t.id == 1 || !t.done),
            "{board:?}"
        );
        if undone.is_ok() {
            assert!(!board.todos[2].done);
        }
    }

    #[test]
    fn a_reversal_undone_after_a_tick_inside_it_keeps_the_tick() {
        let (board, undone) = run(
            |d| d.todos().reverse(),
            |d| d.todos().get_mut(3).unwrap().set_done(true),
        );
        // Todo 0 (at the end after the reversal) was ticked by Bob: his tick stays.
        assert!(
            board.todos.iter().any(|t| t.id == 0 && t.done),
            "{board:?} {undone:?}"
        );
    }

    #[test]
    fn a_move_undone_after_a_tick_of_the_moved_todo_keeps_the_tick() {
        let (board, undone) = run(
            |d| {
                let mut todos = d.todos();
                let moved = todos.remove(0).unwrap();
                todos.push(moved);
            },
            |d| d.todos().get_mut(3).unwrap().set_done(true),
        );
        assert!(
            board.todos.iter().any(|t| t.id == 0 && t.done),
            "{board:?} {undone:?}"
        );
        assert_eq!(board.todos.len(), 4);
    }

    #[test]
    fn a_tick_is_undone_on_its_todo_after_a_sort() {
        let (board, undone) = run(
            |d| d.todos().get_mut(0).unwrap().set_done(true),
            |d| d.todos().sort_by_key(|t| std::cmp::Reverse(t.id)),
        );
        assert_eq!(ids(&board), [3, 2, 1, 0], "Bob's sort stays");
        assert!(
            board.todos.iter().all(|t| t.id == 0 || !t.done),
            "{board:?}"
        );
        if undone.is_ok() {
            assert!(!board.todos[3].done);
        }
    }
}
