//! Structural sharing: what a produce copies and what it shares with the base.

use std::sync::Arc;

use immer::{Draftable, ProduceExt, produce};
use serde::{Deserialize, Serialize};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Root {
    name: String,
    left: Arc<Middle>,
    right: Arc<Middle>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Middle {
    label: String,
    leaf: Arc<Leaf>,
    other: Arc<Leaf>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Leaf {
    value: u32,
    tags: Vec<String>,
}

fn leaf(value: u32) -> Arc<Leaf> {
    Arc::new(Leaf {
        value,
        tags: vec!["t".into()],
    })
}

fn middle(label: &str) -> Arc<Middle> {
    Arc::new(Middle {
        label: label.into(),
        leaf: leaf(1),
        other: leaf(2),
    })
}

fn root() -> Arc<Root> {
    Arc::new(Root {
        name: "root".into(),
        left: middle("l"),
        right: middle("r"),
    })
}

#[test]
fn a_deep_write_copies_exactly_the_path_to_it() {
    let base = root();
    let before = (*base).clone();
    let next = produce(&base, |d| d.left().leaf().set_value(10));

    assert_eq!(next.left.leaf.value, 10);
    // Every node on the written path is new.
    assert!(!Arc::ptr_eq(&base, &next));
    assert!(!Arc::ptr_eq(&base.left, &next.left));
    assert!(!Arc::ptr_eq(&base.left.leaf, &next.left.leaf));
    // Everything else is shared.
    assert!(Arc::ptr_eq(&base.right, &next.right));
    assert!(Arc::ptr_eq(&base.left.other, &next.left.other));
    // The base is unchanged.
    assert_eq!(*base, before);
}

#[test]
fn several_writes_below_one_node_copy_it_once() {
    let base = root();
    let next = produce(&base, |d| {
        let mut left = d.left();
        left.leaf().set_value(5);
        let first = Arc::as_ptr(&left.leaf);
        left.leaf().tags().push("u".into());
        left.set_label("L".into());
        // The leaf made unique by the first write is written in place afterwards.
        assert_eq!(first, Arc::as_ptr(&left.leaf));
    });
    assert_eq!(next.left.leaf.tags, ["t", "u"]);
    assert_eq!(next.left.label, "L");
    assert!(Arc::ptr_eq(&base.left.other, &next.left.other));
}

#[test]
fn a_recipe_that_writes_nothing_returns_the_same_arc() {
    let base = root();
    assert!(Arc::ptr_eq(&base, &produce(&base, |_| {})));
    // Reading through drafts, even deep ones, copies nothing.
    let next = produce(&base, |d| {
        let mut left = d.left();
        let mut leaf = left.leaf();
        assert_eq!(leaf.value, 1);
        assert_eq!(leaf.tags().len(), 1);
        assert_eq!(*leaf.value(), 1);
    });
    assert!(Arc::ptr_eq(&base, &next));
}

#[test]
fn writing_equal_values_returns_the_same_arc() {
    let base = root();
    let next = base.produce(|d| {
        d.set_name("root".into());
        d.left().leaf().set_value(1);
        d.right().set_label("r".into());
        d.left().set_other(leaf(2));
        d.left().leaf().tags().retain(|_| true);
        d.left().leaf().tags().truncate(5);
        d.left().leaf().tags().sort_by_key(Clone::clone);
        d.left().leaf().value().modify(|v| *v += 0);
    });
    assert!(Arc::ptr_eq(&base, &next));
}

#[test]
fn produce_never_mutates_the_base_even_when_unshared_elsewhere() {
    let base = root();
    let weak = Arc::downgrade(&base.left);
    let next = produce(&base, |d| d.left().set_label("changed".into()));
    assert_eq!(base.left.label, "l");
    assert_eq!(next.left.label, "changed");
    assert!(weak.upgrade().is_some());
}

/// A generic struct: bounds are inferred from the field types.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Pair<T> {
    first: T,
    rest: Vec<T>,
    count: u32,
}

#[test]
fn generic_structs_draft_their_parameter_fields() {
    let base = Arc::new(Pair {
        first: Arc::new(Leaf {
            value: 1,
            tags: vec![],
        }),
        rest: vec![leaf(2), leaf(3)],
        count: 2,
    });
    let next = produce(&base, |d| {
        d.first().set_value(7);
        d.rest().get_mut(1).unwrap().set_value(8);
        d.set_count(3);
    });
    assert_eq!(
        (next.first.value, next.rest[1].value, next.count),
        (7, 8, 3)
    );
    assert!(Arc::ptr_eq(&base.rest[0], &next.rest[0]));
}

/// Const generics and a where-clause are kept.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Buffer<T, const N: usize>
where
    T: Default,
{
    items: Vec<T>,
}

#[test]
fn const_generics_and_where_clauses_are_kept() {
    let base: Arc<Buffer<u8, 4>> = Arc::new(Buffer { items: vec![1, 2] });
    let next = produce(&base, |d| d.items().push(3));
    assert_eq!(next.items, [1, 2, 3]);
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Point(i32, i32);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Meters(f64);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Marker;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Shapes {
    origin: Point,
    length: Meters,
    marker: Marker,
}

#[test]
fn tuple_newtype_and_unit_structs() {
    let base = Arc::new(Shapes {
        origin: Point(1, 2),
        length: Meters(1.5),
        marker: Marker,
    });
    let next = produce(&base, |d| {
        d.origin().set_1(5);
        d.origin()._0().set(4);
        d.length().set_0(2.5);
        d.marker().set(Marker);
    });
    assert_eq!(next.origin, Point(4, 5));
    assert_eq!(next.length, Meters(2.5));
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Holder {
    maybe: Option<Arc<Leaf>>,
    boxed: Box<Leaf>,
    untouched: Option<Arc<Leaf>>,
}

#[test]
fn option_of_arc_and_box() {
    let base = Arc::new(Holder {
        maybe: Some(leaf(1)),
        boxed: Box::new(Leaf {
            value: 2,
            tags: vec![],
        }),
        untouched: Some(leaf(3)),
    });
    let next = produce(&base, |d| {
        d.maybe().get_mut().unwrap().set_value(10);
        d.boxed().tags().push("b".into());
    });
    assert_eq!(next.maybe.as_ref().unwrap().value, 10);
    assert_eq!(next.boxed.tags, ["b"]);
    assert!(!Arc::ptr_eq(
        base.maybe.as_ref().unwrap(),
        next.maybe.as_ref().unwrap()
    ));
    assert!(Arc::ptr_eq(
        base.untouched.as_ref().unwrap(),
        next.untouched.as_ref().unwrap()
    ));

    let cleared = produce(&next, |d| {
        assert_eq!(d.maybe().take().map(|l| l.value), Some(10));
        assert!(d.maybe().get_mut().is_none());
        d.maybe().get_or_insert_with(|| leaf(0)).set_value(11);
    });
    assert_eq!(cleared.maybe.as_ref().unwrap().value, 11);
    assert!(Arc::ptr_eq(
        &next.untouched.as_ref().unwrap().clone(),
        cleared.untouched.as_ref().unwrap()
    ));
}

#[test]
fn snapshots_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>(_: &T) {}
    let base = root();
    assert_send_sync(&base);
    let handle = std::thread::spawn({
        let base = Arc::clone(&base);
        move || produce(&base, |d| d.set_name("thread".into()))
    });
    let next = handle.join().unwrap();
    assert_eq!(next.name, "thread");
    assert_eq!(base.name, "root");
}

/// A helper written against any place: drafts compose into functions.
fn finish_leaf<P: immer::Place<Target = Leaf>>(leaf: &mut LeafDraft<P>) {
    leaf.set_value(leaf.value + 100);
}

#[test]
fn functions_can_take_drafts_at_any_place() {
    let base = root();
    let next = produce(&base, |d| {
        finish_leaf(&mut d.left().leaf());
        finish_leaf(&mut d.right().other());
    });
    assert_eq!((next.left.leaf.value, next.right.other.value), (101, 102));
}
