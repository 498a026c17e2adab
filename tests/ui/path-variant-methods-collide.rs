#![allow(non_camel_case_types)]

#[derive(immer::Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Shape {
    CircleArc { radius: f64 },
    Circle_arc { radius: f64 },
}

fn main() {}
