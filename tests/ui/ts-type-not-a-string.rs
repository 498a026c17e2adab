use immer::TypeScript;

#[derive(TypeScript, serde::Serialize)]
#[ts(type = number)]
struct Counter {
    count: u32,
}

fn main() {}
