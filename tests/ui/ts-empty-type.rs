use immer::TypeScript;

#[derive(TypeScript, serde::Serialize)]
struct Counter {
    #[ts(type = " ")]
    count: u32,
}

fn main() {}
