use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Todo {
    #[serde(rename = 5)]
    text: String,
}

fn main() {}
