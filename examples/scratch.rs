use immer::{Draftable, produce, produce_with_patches, apply_patches};
use std::sync::Arc;

#[derive(Draftable, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo { id: u64, text: String, done: bool }

#[derive(Draftable, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct User { name: String }

#[derive(Draftable, Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
struct Board { title: String, todos: immer::Vector<Todo>, owner: Arc<User> }

fn main() {
    let s0 = Arc::new(Board { title: "a".into(), todos: (0..5).map(|i| Todo { id: i, text: format!("t{i}"), done: false }).collect(), owner: Arc::new(User { name: "ann".into() }) });
    let s1 = produce(&s0, |d| {
        d.set_title("Sprint 2".into());
        d.todos().get_mut(3).unwrap().set_done(true);
    });
    assert!(Arc::ptr_eq(&s0.owner, &s1.owner));
    let (s2, patches, inverse) = produce_with_patches(&s1, |d| { d.todos().remove(0); });
    println!("{}", serde_json::to_string(&patches).unwrap());
    assert_eq!(patches.len(), 1);
    assert_eq!(*apply_patches(&s1, &patches).unwrap(), *s2);
    assert_eq!(*apply_patches(&s2, &inverse).unwrap(), *s1);
    println!("ok");
}
