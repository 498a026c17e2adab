use immer::TypeScript;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(TypeScript, serde::Serialize)]
struct Pair(#[serde(skip_serializing_if = "is_zero")] u32, String);

// Allowed: the type said by hand.
#[derive(TypeScript, serde::Serialize)]
#[ts(type = "[number, string] | [string]")]
struct Said(#[serde(skip_serializing_if = "is_zero")] u32, String);

fn main() {}
