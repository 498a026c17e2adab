use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Flags {
    ready: bool,
    set_ready: bool,
}

fn main() {}
