use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    #[draft(lef)]
    text: String,
}

fn main() {}
