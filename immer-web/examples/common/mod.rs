//! The todo board the web examples serve, load and look at.

#![allow(dead_code, reason = "each example uses what it needs")]

use std::sync::Arc;

use immer::{Draftable, Vector};
use immer_web::{Hub, HubBuilder, Identity, Limits, Policy};
use serde::{Deserialize, Serialize};

#[derive(Draftable, immer::TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Board {
    pub(crate) title: String,
    pub(crate) todos: Vector<Todo>,
}

#[derive(Draftable, immer::TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Todo {
    pub(crate) id: String,
    pub(crate) text: String,
    pub(crate) done: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Role {
    Editor,
    Checker,
    Viewer,
}

const MAX_TODOS: usize = 500;
const MAX_TEXT: usize = 200;

/// The demo board's hub: tokens `ann` and `bob` edit everything, `carol` ticks todos,
/// `victor` views; at most 500 todos of 200 characters, and a title.
pub(crate) fn demo(limits: Limits) -> Hub<Board, Role> {
    demo_builder(limits).build()
}

/// The demo board's hub, configured, to build on the backend of the example's choosing.
pub(crate) fn demo_builder(limits: Limits) -> HubBuilder<Board, Role> {
    let todos = ["Write the server", "Write the client", "Try it in two tabs"]
        .iter()
        .enumerate()
        .map(|(n, text)| Todo {
            id: format!("t{n}"),
            text: (*text).to_owned(),
            done: n == 0,
        })
        .collect();
    let board = Board {
        title: "Todo board".to_owned(),
        todos,
    };
    Hub::builder(Arc::new(board))
        .authenticate(|token: String| async move {
            let role = match token.as_str() {
                "ann" | "bob" => Role::Editor,
                "carol" => Role::Checker,
                "victor" => Role::Viewer,
                _ => return Err("unknown token".to_owned()),
            };
            Ok(Identity { user: token, role })
        })
        .policy(
            Policy::new()
                .allow(Role::Editor, immer::path::<Board>().everything())
                .allow(Role::Checker, immer::path::<Board>().todos().any().done()),
        )
        .validator(|_, next: &Board, _| {
            if next.todos.len() > MAX_TODOS {
                return Err(format!("at most {MAX_TODOS} todos"));
            }
            if next.title.trim().is_empty() {
                return Err("the title may not be empty".to_owned());
            }
            match next
                .todos
                .iter()
                .find(|t| t.text.chars().count() > MAX_TEXT)
            {
                Some(todo) => Err(format!(
                    "todo {} is longer than {MAX_TEXT} characters",
                    todo.id
                )),
                None => Ok(()),
            }
        })
        .limits(limits)
}

// ---- The devtools' demo session: its generator, shared by `devtools` and `skip_memory`.

/// A small deterministic generator (xorshift).
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % n.max(1) as u64) as usize
    }
}

pub(crate) type Recipe = Box<dyn FnOnce(&mut immer::PatchDraft<'_, '_, Board>)>;

/// A random change: a tick, a rename, an insert, a removal or a title, with its label.
pub(crate) fn change(rng: &mut Rng, n: usize, len: usize, next_id: &mut u64) -> (String, Recipe) {
    let i = rng.below(len);
    match rng.below(10) {
        0..=3 => (
            format!("tick todo at {i}"),
            Box::new(move |d| {
                let mut todo = d.todos().into_mut(i).unwrap();
                let done = *todo.done();
                todo.set_done(!done);
            }),
        ),
        4..=5 => (
            format!("rename todo at {i}"),
            Box::new(move |d| {
                d.todos()
                    .into_mut(i)
                    .unwrap()
                    .set_text(format!("renamed {n}"));
            }),
        ),
        6..=7 => {
            *next_id += 1;
            let id = *next_id;
            (
                format!("insert todo {id} at {i}"),
                Box::new(move |d| {
                    let todo = Todo {
                        id: format!("t{id}"),
                        text: format!("new {id}"),
                        done: false,
                    };
                    d.todos().insert(i, todo).unwrap();
                }),
            )
        }
        8 => (
            format!("remove todo at {i}"),
            Box::new(move |d| {
                d.todos().remove(i);
            }),
        ),
        _ => (
            format!("title {n}"),
            Box::new(move |d| d.set_title(format!("Demo board, take {n}"))),
        ),
    }
}

/// The devtools' demo session: a board of `items` todos and `entries` changes by two authors
/// (ticks, renames, inserts, removals, titles; the same for the same sizes), recorded with a
/// `History` keeping a snapshot every `checkpoints` versions. The first state, and the
/// history.
pub(crate) fn demo_session(
    entries: usize,
    items: usize,
    checkpoints: u64,
) -> Result<(Arc<Board>, immer::History<Board>), immer::HistoryError> {
    let base = Arc::new(Board {
        title: "Demo board".to_owned(),
        todos: (0..items as u64)
            .map(|id| Todo {
                id: format!("t{id}"),
                text: format!("todo {id}"),
                done: false,
            })
            .collect(),
    });
    let mut history = immer::History::new(Arc::clone(&base)).with_checkpoints(checkpoints);
    let mut rng = Rng(0x5EED_2026);
    let mut next_id = items as u64;
    for n in 0..entries {
        let len = history.current().todos.len();
        let (label, recipe) = change(&mut rng, n, len, &mut next_id);
        let (_, patches, _) = immer::produce_with_patches(history.current(), recipe);
        let author = if n % 3 == 0 { "bob" } else { "ann" };
        let time = 1_764_633_600_000 + n as u64 * 1_000;
        history.record(Some(&label), Some(author), Some(time), patches)?;
    }
    Ok((base, history))
}
