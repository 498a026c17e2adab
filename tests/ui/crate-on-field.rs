use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    #[draft(crate = "::immer")]
    text: String,
}

fn main() {}
