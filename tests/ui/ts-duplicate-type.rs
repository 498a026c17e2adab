use immer::TypeScript;

#[derive(TypeScript, serde::Serialize)]
struct Counter {
    #[ts(type = "string")]
    #[ts(type = "number")]
    count: u32,
}

fn main() {}
