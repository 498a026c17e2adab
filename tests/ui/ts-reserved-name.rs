use immer::TypeScript;

// The declarations' own helpers.
#[derive(TypeScript, serde::Serialize)]
struct JsonValue {
    value: u8,
}

#[derive(TypeScript, serde::Serialize)]
struct MapKey {
    key: String,
}

// TypeScript's own types.
#[allow(non_camel_case_types)]
#[derive(TypeScript, serde::Serialize)]
struct string {
    x: u8,
}

fn main() {}
