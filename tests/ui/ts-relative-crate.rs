use immer::TypeScript;

#[derive(TypeScript, serde::Serialize)]
#[ts(crate = "immer")]
struct Counter {
    count: u32,
}

fn main() {}
