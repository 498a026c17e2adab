use immer::{Draftable, produce};
use std::sync::Arc;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
enum Shape {
    Circle { radius: f64 },
    Rect { width: f64, height: f64 },
}

fn main() {
    let shape = Arc::new(Shape::Circle { radius: 1.0 });
    produce(&shape, |d| {
        if let ShapeVariantDraft::Circle(mut circle) = d.variant() {
            circle.set_width(2.0);
        }
    });
}
