//! Different serde keys of one family are not duplicates of each other: each key is checked
//! on its own.

use immer::Draftable;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

fn write_upper<S: Serializer>(text: &str, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&text.to_uppercase())
}

fn read_lower<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    String::deserialize(d).map(|text| text.to_lowercase())
}

#[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
struct Todo {
    title: String,
    // The fix the `with` error recommends: the field is left out of drafts.
    #[draft(skip)]
    #[serde(serialize_with = "write_upper", deserialize_with = "read_lower")]
    shout: String,
    #[serde(skip_serializing, skip_deserializing)]
    cache: u32,
}

#[derive(Clone, PartialEq, Serialize, Deserialize)]
struct Wire(String);

impl From<Wire> for Celsius {
    fn from(wire: Wire) -> Self {
        Celsius(wire.0.parse().unwrap_or_default())
    }
}

impl From<Celsius> for Wire {
    fn from(c: Celsius) -> Self {
        Wire(c.0.to_string())
    }
}

#[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
#[draft(leaf)]
#[serde(from = "Wire", into = "Wire")]
struct Celsius(i32);

fn main() {
    let _ = immer::produce(
        &std::sync::Arc::new(Todo {
            title: String::new(),
            shout: String::new(),
            cache: 0,
        }),
        |d| d.set_title("t".into()),
    );
    let _ = immer::produce(&std::sync::Arc::new(vec![Celsius(1)]), |d| {
        let _ = d.set(0, Celsius(2));
    });
}
