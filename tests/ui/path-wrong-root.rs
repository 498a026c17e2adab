use immer::{Draftable, PatternOf};

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Board {
    todos: Vec<Todo>,
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    done: bool,
}

/// A rule of a document of type `T`, as `Policy<R, T>::allow` and the subscriptions take one.
fn allow<T>(_pattern: impl PatternOf<T>) {}

fn main() {
    // A path through `Todo` names nothing of a `Board`.
    allow::<Board>(immer::path::<Todo>().done());
    allow::<Board>(immer::path!(Todo: done));
    // A path through the right type, and a pattern parsed from text, are rules of a `Board`.
    allow::<Board>(immer::path::<Board>().todos().any().done());
    allow::<Board>("/todos/*/done".parse::<immer::PathPattern>().unwrap());
}
