use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    #[draft(leaf, skip)]
    text: String,
}

fn main() {}
