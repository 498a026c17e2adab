use immer::TypeScript;

#[derive(TypeScript, serde::Serialize)]
struct Counter {
    #[ts(typ = "string")]
    count: u32,
}

fn main() {}
