use immer::Draftable;

fn is_zero(n: &u32) -> bool {
    *n == 0
}

// serde writes `[b]` for `Pair(0, b)`: `b` would move from place 1 to place 0.
#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Pair(#[serde(skip_serializing_if = "is_zero")] u32, String);

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Shape {
    Point(u32, #[serde(skip_serializing_if = "is_zero")] u32),
}

// Allowed: a newtype's one field is always written, and a leaf is replaced whole.
#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Count(#[serde(skip_serializing_if = "is_zero")] u32);

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[draft(leaf)]
struct Whole(#[serde(skip_serializing_if = "is_zero")] u32, String);

fn main() {}
