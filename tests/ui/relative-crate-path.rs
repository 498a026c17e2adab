use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[draft(crate = "immer")]
struct Todo {
    text: String,
}

fn main() {}
