//! Two users of one board, each with an undo manager, and an in-process leader between them:
//! what `tests/test_undo.rs` checks laws on and `tests/test_undo_vectors.rs` records.

#![allow(dead_code, reason = "each undo test uses what it needs")]

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use immer::sync::{Follower, Leader, Recipient, ToFollower, ToLeader, UndoManager};
use immer::{Draftable, PatchDraft, Vector};
use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Board {
    pub(crate) title: String,
    pub(crate) todos: Vector<Todo>,
    pub(crate) labels: BTreeMap<String, u64>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Todo {
    pub(crate) id: u64,
    pub(crate) text: String,
    pub(crate) done: bool,
    pub(crate) tags: Vec<String>,
}

pub(crate) fn board() -> Board {
    Board {
        title: "board".into(),
        todos: (0..4)
            .map(|id| Todo {
                id,
                text: format!("t{id}"),
                done: false,
                tags: vec!["x".into()],
            })
            .collect(),
        labels: [("k0".to_owned(), 0)].into(),
    }
}

/// The most todos a board may have: the validator refuses more (so that an undo of a removal
/// can be refused).
pub(crate) const MAX_TODOS: usize = 6;

/// The users' names, as the hub would have authenticated them: each change's author.
pub(crate) const USERS: [&str; 2] = ["ann", "bob"];

/// Where a user's edits go: anywhere, or only the todos (ann) / only the title and labels
/// (bob), for the model test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Scope {
    Anywhere,
    Own,
}

pub(crate) struct Sim {
    pub(crate) leader: Leader<Board>,
    pub(crate) users: Vec<UndoManager<Board>>,
    pub(crate) inbox: Vec<VecDeque<ToFollower<Board>>>,
    pub(crate) now: Arc<AtomicU64>,
    fresh: u64,
}

impl Sim {
    pub(crate) fn new(batch: usize, window_ms: u64, validate: bool) -> Sim {
        let mut leader = Leader::new(Arc::new(board()));
        if validate {
            leader = leader.with_validator(|_, next: &Board, _| {
                if next.todos.len() > MAX_TODOS {
                    Err(format!("at most {MAX_TODOS} todos"))
                } else {
                    Ok(())
                }
            });
        }
        let now = Arc::new(AtomicU64::new(0));
        let users = (1..=2)
            .map(|client| {
                let clock = Arc::clone(&now);
                UndoManager::new(Follower::new(leader.join(client)).with_batch(batch))
                    .with_window(Duration::from_millis(window_ms))
                    .with_clock(move || Duration::from_millis(clock.load(Ordering::SeqCst)))
            })
            .collect();
        Sim {
            leader,
            users,
            inbox: vec![VecDeque::new(), VecDeque::new()],
            now,
            fresh: 0,
        }
    }

    pub(crate) fn tick(&mut self, ms: u64) {
        self.now.fetch_add(ms, Ordering::SeqCst);
    }

    pub(crate) fn time(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    /// User `u` polls; the leader's answers are queued for their recipients. Returns what
    /// was sent.
    pub(crate) fn send(&mut self, u: usize) -> Vec<ToLeader> {
        let sent = self.users[u].poll();
        for mut message in sent.clone() {
            // The author, as a hub would set it from the user it authenticated.
            if let ToLeader::Change(change) = &mut message {
                change.author = Some(USERS[u].to_owned());
            }
            for out in self.leader.receive(message) {
                match out.to {
                    Recipient::All => {
                        for inbox in &mut self.inbox {
                            inbox.push_back(out.message.clone());
                        }
                    }
                    Recipient::Session(session) => {
                        for (n, user) in self.users.iter().enumerate() {
                            if user.follower().session() == session {
                                self.inbox[n].push_back(out.message.clone());
                            }
                        }
                    }
                    Recipient::Sender => self.inbox[u].push_back(out.message),
                }
            }
        }
        sent
    }

    /// Hands user `u` up to `n` of the messages queued for it, at once. Returns them.
    pub(crate) fn deliver(&mut self, u: usize, n: usize) -> Vec<ToFollower<Board>> {
        let take = n.min(self.inbox[u].len());
        let messages: Vec<_> = self.inbox[u].drain(..take).collect();
        self.users[u].receive_all(messages.clone());
        messages
    }

    /// Sends and delivers until every edit is answered and every inbox empty.
    pub(crate) fn settle(&mut self) {
        for _ in 0..64 {
            for u in 0..self.users.len() {
                self.send(u);
            }
            for u in 0..self.users.len() {
                self.deliver(u, usize::MAX);
            }
            if self.users.iter().all(|u| u.follower().is_settled())
                && self.inbox.iter().all(VecDeque::is_empty)
            {
                return;
            }
        }
        panic!("the simulation does not settle");
    }

    /// A random edit by user `u` (`choice` and `at` pick it), with fresh values marked as its
    /// own ("a…", ids from 1000 for the first user; "b…", ids from 2000 for the second).
    pub(crate) fn edit(
        &mut self,
        u: usize,
        choice: u64,
        at: usize,
        scope: Scope,
        metadata: Option<Value>,
    ) -> Option<u64> {
        self.fresh += 1;
        let fresh = self.fresh;
        let mark = if u == 0 { "a" } else { "b" };
        let text = format!("{mark}{fresh}");
        let value = 1000 * (u as u64 + 1) + fresh;
        let before = Arc::clone(self.users[u].state());
        let recipe = |d: &mut PatchDraft<'_, '_, Board>| {
            random_edit(d, &before, u, scope, choice, at, &text, value);
        };
        match metadata {
            Some(metadata) => self.users[u].edit_with(metadata, recipe),
            None => self.users[u].edit(recipe),
        }
    }
}

#[allow(clippy::too_many_arguments, reason = "the parts of one random choice")]
fn random_edit(
    d: &mut PatchDraft<'_, '_, Board>,
    before: &Board,
    u: usize,
    scope: Scope,
    choice: u64,
    at: usize,
    text: &str,
    value: u64,
) {
    let len = before.todos.len();
    let i = at % len.max(1);
    let todo = |id| Todo {
        id,
        text: text.to_owned(),
        done: false,
        tags: Vec::new(),
    };
    let choice = match (scope, u) {
        (Scope::Own, 0) => choice % 8,
        (Scope::Own, _) => 8 + choice % 3,
        _ => choice % 11,
    };
    match choice {
        0 => {
            if let Some(mut t) = d.todos().get_mut(i) {
                t.set_text(text.to_owned());
            }
        }
        1 => {
            if let Some(mut t) = d.todos().get_mut(i) {
                let done = !before.todos[i].done;
                t.set_done(done);
            }
        }
        2 => {
            d.todos().insert(at % (len + 1), todo(value)).ok();
        }
        3 => {
            d.todos().remove(i);
        }
        4 => {
            if let Some(mut t) = d.todos().get_mut(i) {
                t.tags().insert(0, text.to_owned()).ok();
            }
        }
        5 => {
            d.todos().set(i, todo(value)).ok();
        }
        6 => {
            if let Some(mut t) = d.todos().get_mut(i) {
                t.set_tags(vec![text.to_owned()]);
            }
        }
        7 => {
            if let Some(mut t) = d.todos().get_mut(i) {
                t.set_text(text.to_owned());
                t.set_done(true);
            }
        }
        8 => d.set_title(text.to_owned()),
        9 => {
            d.labels().insert(format!("k{}", at % 3), value);
        }
        _ => {
            d.labels().remove(&format!("k{}", at % 3));
        }
    }
}

/// Calls `f` on `v` and on every value inside it, with the keys leading to it.
fn each(v: &Value, at: &str, f: &mut dyn FnMut(&Value, String)) {
    f(v, at.to_owned());
    match v {
        Value::Array(items) => items.iter().for_each(|i| each(i, at, f)),
        Value::Object(map) => map
            .iter()
            .for_each(|(k, i)| each(i, &format!("{at}/{k}"), f)),
        _ => {}
    }
}

/// The values user `u` wrote that are in `state` (strings it marked, numbers from its range).
pub(crate) fn written_by(state: &Board, u: usize) -> BTreeSet<String> {
    let mark = if u == 0 { 'a' } else { 'b' };
    let range = 1000 * (u as u64 + 1)..1000 * (u as u64 + 2);
    let mut found = BTreeSet::new();
    let mut walk = |v: &Value, at: String| match v {
        Value::String(s) if s.starts_with(mark) => {
            found.insert(format!("{at}={s}"));
        }
        Value::Number(n) if n.as_u64().is_some_and(|n| range.contains(&n)) => {
            found.insert(format!("{at}={n}"));
        }
        _ => {}
    };
    let json = serde_json::to_value(state).expect("a board is JSON");
    each(&json, "", &mut walk);
    found
}
