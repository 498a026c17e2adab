use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    #[draft(leaf)]
    #[draft(leaf)]
    text: String,
}

fn main() {}
