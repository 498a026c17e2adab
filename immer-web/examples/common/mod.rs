//! The todo board the web examples serve, load and look at.

use immer::{Draftable, Vector};
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
