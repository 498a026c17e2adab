use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[draft(skip)]
struct Todo {
    text: String,
}

fn main() {}
