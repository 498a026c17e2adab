//! A todo board: the first program to run. `cargo run --example todo`
//!
//! It derives `Draftable` for a small domain model, changes it through typed drafts, shows
//! what the new snapshot shares with the old one, and sends the change as patches to a
//! "remote" copy and back again.

use std::sync::Arc;

use immer::{Draftable, Vector, apply_patches, produce, produce_with_patches};
use serde::{Deserialize, Serialize};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Board {
    title: String,
    owner: Arc<User>,
    todos: Vector<Todo>,
    filter: Filter,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct User {
    name: String,
    email: String,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Todo {
    id: u64,
    text: String,
    done: bool,
}

#[derive(Draftable, Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
enum Filter {
    All,
    Open,
    Done,
}

fn main() {
    let s0 = Arc::new(Board {
        title: "Sprint 1".into(),
        owner: Arc::new(User {
            name: "Ann".into(),
            email: "ann@example.com".into(),
        }),
        todos: (1..=3)
            .map(|id| Todo {
                id,
                text: format!("task {id}"),
                done: false,
            })
            .collect(),
        filter: Filter::All,
    });

    // Write through a typed draft: every setter and accessor is checked by the compiler.
    let s1 = produce(&s0, |d| {
        d.set_title("Sprint 2".into());
        if let Some(mut todo) = d.todos().get_mut(1) {
            todo.set_done(true);
        }
        d.todos().push(Todo {
            id: 4,
            text: "write the release notes".into(),
            done: false,
        });
    });
    println!("s0: {} with {} todos", s0.title, s0.todos.len());
    println!(
        "s1: {} with {} todos, {} done",
        s1.title,
        s1.todos.len(),
        s1.todos.iter().filter(|t| t.done).count()
    );
    println!(
        "the owner is shared, not copied: {}",
        Arc::ptr_eq(&s0.owner, &s1.owner)
    );

    // A recipe that changes nothing returns the very same snapshot.
    let same = produce(&s1, |d| d.set_filter(Filter::All));
    println!(
        "an unchanged snapshot is the same Arc: {}",
        Arc::ptr_eq(&s1, &same)
    );

    // Record the change as patches, in Immer's JSON format.
    let (s2, patches, inverse) = produce_with_patches(&s1, |d| {
        d.todos().remove(0);
        d.set_filter(Filter::Open);
        d.owner().set_name("Ann Lee".into());
    });
    println!(
        "patches: {}",
        serde_json::to_string(&patches).unwrap_or_default()
    );

    // Another node replays them, and the inverse undoes them.
    let remote =
        apply_patches(&s1, &patches).expect("the patches apply to the state they came from");
    println!(
        "a replica that applied the patches agrees: {}",
        remote == s2
    );
    let undone = apply_patches(&s2, &inverse).expect("the inverse applies to the result");
    println!("the inverse patches undo the change: {}", undone == s1);

    // Bad patches are errors, never panics, and never half-applied.
    let bad: Vec<immer::Patch> =
        serde_json::from_str(r#"[{"op":"replace","path":["todos",9,"done"],"value":true}]"#)
            .expect("well-formed JSON");
    match apply_patches(&s2, &bad) {
        Ok(_) => println!("unexpected: the bad patch applied"),
        Err(error) => println!("a bad patch is refused: {error}"),
    }
}
