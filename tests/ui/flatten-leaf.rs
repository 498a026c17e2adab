use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Extra {
    color: String,
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Item {
    #[serde(flatten)]
    #[draft(leaf)]
    extra: Extra,
}

fn main() {}
