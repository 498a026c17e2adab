//! Every supported shape derives and drafts.
use immer::{Draftable, produce};
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Named {
    pub title: String,
    pub(crate) count: u32,
    r#type: String,
    list: Vec<Option<u8>>,
    map: HashMap<String, Vec<u8>>,
    tree: BTreeMap<u32, Arc<Tuple>>,
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tuple(pub u8, pub String);

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Newtype(Box<Named>);

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Unit;

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Generic<T, U: Clone, const N: usize>
where
    T: Default,
{
    items: Vec<T>,
    other: Option<U>,
}

#[derive(Draftable, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Units {
    A,
    B,
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "kind")]
pub enum Internal {
    One { a: u8 },
    Two,
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(tag = "t", content = "c")]
pub enum Adjacent {
    One(u8, u8),
    Two { b: String },
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(untagged)]
pub enum Untagged<T> {
    One(T),
    Two { b: Vec<T> },
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[draft(leaf)]
pub struct Opaque {
    secret: u64,
}

#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Foreign(u8);

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Attributes {
    #[draft(leaf)]
    foreign: Foreign,
    #[draft(skip)]
    skipped: std::time::Duration,
    #[serde(skip)]
    also_skipped: u8,
    #[serde(default, rename = "n")]
    number: u8,
    #[serde(flatten)]
    flat: Tuple2,
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Tuple2 {
    x: u8,
}

fn main() {
    let named = Arc::new(Named {
        title: String::new(),
        count: 0,
        r#type: String::new(),
        list: vec![None],
        map: HashMap::new(),
        tree: BTreeMap::new(),
    });
    let _ = produce(&named, |d| {
        d.set_type("t".into());
        d.r#type().set("u".into());
        d.list().get_mut(0).unwrap().insert(1).set(2);
        d.map().get_or_insert_with("k".into(), Vec::new).push(1);
        d.tree().insert(1, Arc::new(Tuple(1, String::new())));
        d.tree().get_mut(&1).unwrap().set_0(2);
    });
    let generic: Arc<Generic<u8, String, 3>> = Arc::new(Generic { items: vec![], other: None });
    let _ = produce(&generic, |d| d.other().insert("x".into()).modify(|s| s.push('y')));
    let attrs = Arc::new(Attributes {
        foreign: Foreign(1),
        skipped: std::time::Duration::ZERO,
        also_skipped: 0,
        number: 0,
        flat: Tuple2 { x: 0 },
    });
    let _ = produce(&attrs, |d| {
        d.foreign().set(Foreign(2));
        d.set_number(1);
        d.flat().set_x(2);
    });
    let opaque = Arc::new(vec![Opaque { secret: 1 }]);
    let _ = produce(&opaque, |d| d.get_mut(0).unwrap().set(Opaque { secret: 2 }));
    let untagged: Arc<Untagged<u8>> = Arc::new(Untagged::Two { b: vec![] });
    let _ = produce(&untagged, |d| {
        if let UntaggedVariantDraft::Two(mut two) = d.variant() {
            two.b().push(1);
        }
    });
    let _ = (Units::A, Units::B, Internal::One { a: 1 }, Internal::Two, Adjacent::One(1, 2), Adjacent::Two { b: String::new() });
    let _ = (Newtype(Box::new((*named).clone())), Unit);
}
