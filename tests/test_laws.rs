//! The laws, by property: for random recipes over a nested state, the patches take the base
//! to the result, the inverse takes it back, JSON changes nothing, and every untouched part
//! stays pointer-shared. And random, broken patches never panic or half-apply.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use immer::{
    Draftable, OrdMap, Patch, Vector, apply_patches, apply_patches_mut, produce_with_patches,
};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

mod common;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct State {
    title: String,
    count: i64,
    items: Vector<Arc<Item>>,
    plain: Vec<Item>,
    index: OrdMap<String, Arc<Item>>,
    maybe: Option<Item>,
    shape: Shape,
    meta: Arc<Meta>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u32,
    name: String,
    done: bool,
    notes: Vec<String>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Circle { radius: u32 },
    Rect(u32, u32),
    Dot,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Meta {
    created: u64,
    labels: BTreeSet<String>,
}

fn item(id: u32) -> Item {
    Item {
        id,
        name: format!("item {id}"),
        done: id % 2 == 0,
        notes: vec![format!("n{id}")],
    }
}

fn state(n: u32) -> Arc<State> {
    Arc::new(State {
        title: "state".into(),
        count: 0,
        items: (0..n).map(|i| Arc::new(item(i))).collect(),
        plain: (100..100 + n / 2).map(item).collect(),
        index: (200..200 + n / 2)
            .map(|i| (format!("k{i}"), Arc::new(item(i))))
            .collect(),
        maybe: None,
        shape: Shape::Dot,
        meta: Arc::new(Meta {
            created: 1,
            labels: BTreeSet::from(["a".into()]),
        }),
    })
}

#[derive(Clone, Debug)]
enum Op {
    SetTitle(String),
    AddCount(i64),
    ItemDone(usize, bool),
    ItemNote(usize, String),
    ItemRename(usize, String),
    PushItem(u32),
    InsertItem(usize, u32),
    RemoveItem(usize),
    TruncateItems(usize),
    ReverseItems,
    PlainDone(usize, bool),
    PlainPush(u32),
    PlainRemove(usize),
    IndexInsert(u32),
    IndexRemove(u32),
    IndexDone(u32, bool),
    SetMaybe(Option<u32>),
    MaybeNote(String),
    SetShape(u8),
    ShapeGrow(u32),
}

fn op() -> impl Strategy<Value = Op> {
    let i = 0..10_usize;
    let word = "[a-c]{1,2}";
    prop_oneof![
        word.prop_map(Op::SetTitle),
        (-3..3_i64).prop_map(Op::AddCount),
        (i.clone(), any::<bool>()).prop_map(|(i, b)| Op::ItemDone(i, b)),
        (i.clone(), word).prop_map(|(i, w)| Op::ItemNote(i, w)),
        (i.clone(), word).prop_map(|(i, w)| Op::ItemRename(i, w)),
        (300..320_u32).prop_map(Op::PushItem),
        (i.clone(), 300..320_u32).prop_map(|(i, id)| Op::InsertItem(i, id)),
        i.clone().prop_map(Op::RemoveItem),
        i.clone().prop_map(Op::TruncateItems),
        Just(Op::ReverseItems),
        (i.clone(), any::<bool>()).prop_map(|(i, b)| Op::PlainDone(i, b)),
        (400..410_u32).prop_map(Op::PlainPush),
        i.clone().prop_map(Op::PlainRemove),
        (200..210_u32).prop_map(Op::IndexInsert),
        (200..210_u32).prop_map(Op::IndexRemove),
        (200..210_u32, any::<bool>()).prop_map(|(k, b)| Op::IndexDone(k, b)),
        prop::option::of(0..5_u32).prop_map(Op::SetMaybe),
        word.prop_map(Op::MaybeNote),
        (0..3_u8).prop_map(Op::SetShape),
        (1..4_u32).prop_map(Op::ShapeGrow),
    ]
}

/// Runs one op on the draft; returns the ids of the `items` elements it wrote into.
fn run<P: immer::Place<Target = State>>(
    d: &mut StateDraft<P>,
    op: &Op,
    touched: &mut BTreeSet<u32>,
) {
    match op {
        Op::SetTitle(t) => d.set_title(t.clone()),
        Op::AddCount(n) => d.count().modify(|c| *c += n),
        Op::ItemDone(i, b) => {
            if let Some(mut it) = d.items().get_mut(*i) {
                touched.insert(it.id);
                it.set_done(*b);
            }
        }
        Op::ItemNote(i, w) => {
            if let Some(mut it) = d.items().get_mut(*i) {
                touched.insert(it.id);
                it.notes().push(w.clone());
            }
        }
        Op::ItemRename(i, w) => {
            if let Some(mut it) = d.items().get_mut(*i) {
                touched.insert(it.id);
                it.set_name(w.clone());
            }
        }
        Op::PushItem(id) => d.items().push(Arc::new(item(*id))),
        Op::InsertItem(i, id) => {
            let _ = d.items().insert(*i, Arc::new(item(*id)));
        }
        Op::RemoveItem(i) => {
            d.items().remove(*i);
        }
        Op::TruncateItems(n) => d.items().truncate(*n),
        Op::ReverseItems => d.items().reverse(),
        Op::PlainDone(i, b) => {
            if let Some(mut it) = d.plain().get_mut(*i) {
                it.set_done(*b);
            }
        }
        Op::PlainPush(id) => d.plain().push(item(*id)),
        Op::PlainRemove(i) => {
            d.plain().remove(*i);
        }
        Op::IndexInsert(k) => {
            d.index().insert(format!("k{k}"), Arc::new(item(*k)));
        }
        Op::IndexRemove(k) => {
            d.index().remove(&format!("k{k}"));
        }
        Op::IndexDone(k, b) => {
            if let Some(mut it) = d.index().get_mut(&format!("k{k}")) {
                it.set_done(*b);
            }
        }
        Op::SetMaybe(id) => d.maybe().set(id.map(item)),
        Op::MaybeNote(w) => {
            if let Some(mut it) = d.maybe().get_mut() {
                it.notes().push(w.clone());
            }
        }
        Op::SetShape(kind) => d.shape().set(match kind {
            0 => Shape::Circle { radius: 1 },
            1 => Shape::Rect(1, 2),
            _ => Shape::Dot,
        }),
        Op::ShapeGrow(by) => match d.shape().variant() {
            ShapeVariantDraft::Circle(mut c) => c.radius().modify(|r| *r += by),
            ShapeVariantDraft::Rect(mut r) => {
                r._0().modify(|w| *w += by);
                r.set_1(by * 10);
            }
            ShapeVariantDraft::Dot => {}
        },
    }
}

/// Every element of `next.items` with an id no op wrote into, and found in the base, is the
/// base's very `Arc`.
fn untouched_items_are_shared(
    base: &State,
    next: &State,
    touched: &BTreeSet<u32>,
) -> Result<(), TestCaseError> {
    let by_id: BTreeMap<u32, &Arc<Item>> = base.items.iter().map(|i| (i.id, i)).collect();
    for it in &next.items {
        if let (false, Some(old)) = (touched.contains(&it.id), by_id.get(&it.id)) {
            if it.id < 300 {
                prop_assert!(Arc::ptr_eq(old, it), "item {} was copied", it.id);
            }
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn patches_and_inverse_hold_for_random_recipes(n in 0..12_u32, ops in prop::collection::vec(op(), 0..16)) {
        let base = state(n);
        let mut touched = BTreeSet::new();
        // A reverse is one `replace` of the whole list, whose elements applying deserializes
        // anew: after one, only the produce itself still shares the moved elements.
        let replaced_whole = ops.iter().any(|op| matches!(op, Op::ReverseItems));
        let (next, patches, inverse) = produce_with_patches(&base, |d| {
            for op in &ops {
                run(d, op, &mut touched);
            }
        });
        // Forward and back.
        let applied = apply_patches(&base, &patches).unwrap();
        prop_assert_eq!(&applied, &next);
        prop_assert_eq!(&apply_patches(&next, &inverse).unwrap(), &base);
        // In place, too.
        let mut owned = (*base).clone();
        apply_patches_mut(&mut owned, &patches).unwrap();
        prop_assert_eq!(&owned, &*next);
        // Recording in place gives the same patches, and the same state, without an `Arc`.
        let mut in_place = (*base).clone();
        let mut ignored = BTreeSet::new();
        let (patches_in_place, inverse_in_place) = immer::record_in_place(&mut in_place, |d| {
            for op in &ops {
                run(d, op, &mut ignored);
            }
        });
        prop_assert_eq!(&in_place, &*next);
        prop_assert_eq!(&patches_in_place, &patches);
        prop_assert_eq!(&inverse_in_place, &inverse);
        // The paths are serde's: an independent RFC 6902 applier agrees on serde's JSON.
        if let Err(message) = common::json_law(&*base, &*next, &patches, &inverse) {
            return Err(TestCaseError::fail(message));
        }
        // The JSON round trip of the patches changes nothing.
        let wire = serde_json::to_string(&patches).unwrap();
        let back: Vec<Patch> = serde_json::from_str(&wire).unwrap();
        prop_assert_eq!(&back, &patches);
        prop_assert_eq!(&apply_patches(&base, &back).unwrap(), &next);
        // Untouched parts stay shared, in the produce and in the applied patches.
        prop_assert!(Arc::ptr_eq(&base.meta, &next.meta));
        prop_assert!(Arc::ptr_eq(&base.meta, &applied.meta));
        untouched_items_are_shared(&base, &next, &touched)?;
        if !replaced_whole {
            untouched_items_are_shared(&base, &applied, &touched)?;
        }
        if patches.is_empty() {
            prop_assert_eq!(&next, &base);
        }
    }
}

/// A small deterministic generator (xorshift), so the fuzz test is the same every run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }
}

fn random_segment(rng: &mut Rng) -> Value {
    rng.pick(&[
        json!("title"),
        json!("count"),
        json!("items"),
        json!("plain"),
        json!("index"),
        json!("maybe"),
        json!("shape"),
        json!("meta"),
        json!("labels"),
        json!("created"),
        json!("id"),
        json!("name"),
        json!("done"),
        json!("notes"),
        json!("Circle"),
        json!("Rect"),
        json!("Dot"),
        json!("radius"),
        json!("k200"),
        json!("k205"),
        json!("nope"),
        json!("-"),
        json!(""),
        json!("0"),
        json!("01"),
        json!(0),
        json!(1),
        json!(3),
        json!(9),
        json!(usize::MAX),
        json!(u64::MAX),
        json!(-1),
        json!(1.5),
        json!(null),
        json!(true),
        json!([]),
        json!({}),
    ])
}

fn random_value(rng: &mut Rng) -> Value {
    rng.pick(&[
        json!(null),
        json!(true),
        json!(0),
        json!(-7),
        json!(u64::MAX),
        json!(1e300),
        json!("x"),
        json!(""),
        json!([]),
        json!(["a"]),
        json!({}),
        json!({"id": 1, "name": "n", "done": true, "notes": []}),
        json!({"Circle": {"radius": 3}}),
        json!({"Rect": [1, 2]}),
        json!("Dot"),
        json!({"created": 2, "labels": ["z"]}),
        json!({"radius": "big"}),
        json!([1, 2, 3]),
    ])
}

fn random_patch(rng: &mut Rng, valid: &[Value]) -> Value {
    if !valid.is_empty() && rng.below(2) == 0 {
        // Mutate a patch that was valid.
        let mut patch = rng.pick(valid);
        match rng.below(5) {
            0 => patch["value"] = random_value(rng),
            1 => {
                if let Some(path) = patch["path"].as_array_mut() {
                    if !path.is_empty() {
                        let at = rng.below(path.len());
                        path[at] = random_segment(rng);
                    }
                }
            }
            2 => {
                patch["op"] =
                    json!(rng.pick(&["add", "remove", "replace", "test", "move", "copy", "nope"]));
            }
            3 => {
                if let Some(path) = patch["path"].as_array_mut() {
                    path.push(random_segment(rng));
                }
            }
            _ => patch["from"] = json!([random_segment(rng)]),
        }
        return patch;
    }
    let length = rng.below(5);
    let path: Vec<Value> = (0..length).map(|_| random_segment(rng)).collect();
    let mut fresh = json!({ "op": rng.pick(&["add", "remove", "replace", "test", "move", "copy"]), "path": path });
    if rng.below(4) != 0 {
        fresh["value"] = random_value(rng);
    }
    if rng.below(3) == 0 {
        fresh["from"] = json!([random_segment(rng), random_segment(rng)]);
    }
    fresh
}

#[test]
fn ten_thousand_random_and_mutated_patches_never_panic_or_half_apply() {
    let base = state(6);
    let before = (*base).clone();
    let (_, recorded, _) = produce_with_patches(&base, |d| {
        d.items().get_mut(1).unwrap().set_done(false);
        d.items().remove(0);
        d.index().insert("k999".into(), Arc::new(item(999)));
        d.shape().set(Shape::Rect(1, 1));
        d.maybe().set(Some(item(5)));
    });
    let valid: Vec<Value> = recorded
        .iter()
        .map(|p| serde_json::to_value(p).unwrap())
        .collect();
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let (mut ok, mut err, mut malformed) = (0, 0, 0);
    for _ in 0..10_000 {
        let count = 1 + rng.below(3);
        let list: Vec<Value> = (0..count).map(|_| random_patch(&mut rng, &valid)).collect();
        let Ok(patches) = serde_json::from_value::<Vec<Patch>>(Value::Array(list)) else {
            malformed += 1;
            continue;
        };
        let shared = apply_patches(&base, &patches);
        let mut owned = before.clone();
        let in_place = apply_patches_mut(&mut owned, &patches);
        match (&shared, &in_place) {
            (Ok(next), Ok(())) => {
                ok += 1;
                assert_eq!(**next, owned);
            }
            (Err(a), Err(b)) => {
                err += 1;
                assert_eq!(a, b);
                assert_eq!(owned, before, "an error left a change behind: {a}");
            }
            _ => panic!("the two forms disagree on {patches:?}: {shared:?} / {in_place:?}"),
        }
        assert_eq!(*base, before);
    }
    eprintln!("fuzz: {ok} ok, {err} errors, {malformed} malformed");
    assert!(
        ok > 300 && err > 3_000,
        "the generator exercises both outcomes: {ok} ok, {err} errors, {malformed} malformed"
    );
}
