use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Deserialize)]
struct Todo {
    text: String,
}

fn main() {}
