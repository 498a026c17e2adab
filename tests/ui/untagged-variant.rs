use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind")]
enum Shape {
    Circle { radius: f64 },
    #[serde(untagged)]
    Other { sides: u32 },
    // A unit variant has no paths inside, so it may be untagged.
    #[serde(untagged)]
    Nothing,
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum External {
    Named(String),
    #[serde(untagged)]
    Other(u32),
}

fn main() {}
