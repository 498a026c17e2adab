//! Drafts of types defined in another module are usable wherever the types are: an enum's
//! fields have the enum's visibility, and so do their drafts.

mod model {
    use immer::Draftable;
    use serde::{Deserialize, Serialize};

    #[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Board {
        pub title: String,
        pub shape: Shape,
        pub tagged: Tagged,
        pub adjacent: Adjacent,
        pub untagged: Untagged,
    }

    #[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
    pub enum Shape {
        Circle { radius: u32 },
        Rect(u32, u32),
        Label(String),
        Empty,
    }

    #[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "type")]
    pub enum Tagged {
        Circle { radius: u32 },
        Label(Inner),
    }

    #[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "t", content = "c")]
    pub enum Adjacent {
        Circle { radius: u32 },
        Rect(u32, u32),
        Label(String),
    }

    #[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
    #[serde(untagged)]
    pub enum Untagged {
        Circle { radius: u32 },
        Rect(u32, u32),
    }

    #[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
    pub struct Inner {
        pub text: String,
    }
}

use model::{
    AdjacentVariantDraft, Board, Inner, Shape, ShapeVariantDraft, Tagged, TaggedVariantDraft,
    Untagged, UntaggedVariantDraft,
};
use std::sync::Arc;

fn main() {
    let base = Arc::new(Board {
        title: String::new(),
        shape: Shape::Circle { radius: 1 },
        tagged: Tagged::Label(Inner { text: String::new() }),
        adjacent: model::Adjacent::Rect(1, 2),
        untagged: Untagged::Circle { radius: 1 },
    });
    let _ = immer::produce(&base, |d| {
        d.set_title("t".into());
        match d.shape().variant() {
            ShapeVariantDraft::Circle(mut c) => {
                c.set_radius(2);
                c.radius().set(3);
            }
            ShapeVariantDraft::Rect(mut r) => {
                r.set_0(1);
                r._1().set(2);
            }
            ShapeVariantDraft::Label(mut l) => l.set_0("x".into()),
            ShapeVariantDraft::Empty => {}
        }
        match d.tagged().variant() {
            TaggedVariantDraft::Circle(mut c) => c.set_radius(2),
            TaggedVariantDraft::Label(mut l) => l._0().set_text("y".into()),
        }
        match d.adjacent().variant() {
            AdjacentVariantDraft::Circle(mut c) => c.set_radius(2),
            AdjacentVariantDraft::Rect(mut r) => r.set_1(3),
            AdjacentVariantDraft::Label(mut l) => l.set_0("z".into()),
        }
        match d.untagged().variant() {
            UntaggedVariantDraft::Circle(mut c) => c.set_radius(2),
            UntaggedVariantDraft::Rect(mut r) => r.set_0(3),
        }
    });
}
