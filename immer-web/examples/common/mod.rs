//! The todo board the web examples serve, load and look at.

#![allow(dead_code, reason = "each example uses what it needs")]

use std::sync::Arc;

use immer::{Draftable, Vector};
use immer_web::{Hub, HubBuilder, Identity, Limits, Policy};
use serde::{Deserialize, Serialize};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Board {
    pub(crate) title: String,
    pub(crate) todos: Vector<Todo>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
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
    let pattern = |p: &str| p.parse().expect("the demo's patterns are valid");
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
                .allow(Role::Editor, pattern("/**"))
                .allow(Role::Checker, pattern("/todos/*/done")),
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
