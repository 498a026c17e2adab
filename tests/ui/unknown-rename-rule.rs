use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camel")]
struct Settings {
    font_size: u32,
}

fn main() {}
