//! The typed structural diff, by property: `apply(a, diff(a, b)) == b` and the inverse takes
//! `b` back to `a`, for random pairs, also at the JSON level with the `json-patch` crate; and
//! shared parts cost nothing.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::Arc;

use immer::{Draftable, OrdMap, Vector, apply_patches, diff, produce};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::Value;

mod common;

use common::{json, rfc6902};

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Doc {
    title: String,
    item_list: Vec<Item>,
    shared: Vector<Arc<Item>>,
    by_name: OrdMap<String, Item>,
    tags: BTreeSet<String>,
    maybe: Option<Item>,
    pair: Pair,
    shape: Shape,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Item {
    id: u8,
    done: bool,
    notes: VecDeque<String>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Pair(u8, String);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Shape {
    Dot,
    Circle { radius: u8 },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Extra {
    extra_note: String,
}

fn item() -> impl Strategy<Value = Item> {
    (0..6_u8, any::<bool>(), prop::collection::vec("[ab]", 0..3)).prop_map(|(id, done, notes)| {
        Item {
            id,
            done,
            notes: notes.into(),
        }
    })
}

fn doc() -> impl Strategy<Value = Doc> {
    (
        "[xy]{0,2}",
        prop::collection::vec(item(), 0..6),
        prop::collection::vec(item(), 0..6),
        prop::collection::btree_map("[a-c]", item(), 0..4),
        prop::collection::btree_set("[a-d]", 0..4),
        prop::option::of(item()),
        (0..3_u8, "[pq]"),
        prop::option::of(0..3_u8),
        "[mn]",
    )
        .prop_map(
            |(title, items, shared, by_name, tags, maybe, (n, s), radius, note)| Doc {
                title,
                item_list: items,
                shared: shared.into_iter().map(Arc::new).collect(),
                by_name: by_name.into_iter().collect(),
                tags,
                maybe,
                pair: Pair(n, s),
                shape: radius.map_or(Shape::Dot, |radius| Shape::Circle { radius }),
                extra: Extra { extra_note: note },
            },
        )
}

fn check<T: Draftable + std::fmt::Debug>(a: &T, b: &T) -> Result<(), TestCaseError> {
    let (patches, inverse) = diff(a, b).unwrap();
    let (a, b) = (Arc::new(a.clone()), Arc::new(b.clone()));
    prop_assert_eq!(&apply_patches(&a, &patches).unwrap(), &b, "{:?}", patches);
    prop_assert_eq!(&apply_patches(&b, &inverse).unwrap(), &a, "{:?}", inverse);
    if let Err(message) = common::json_law(&*a, &*b, &patches, &inverse) {
        return Err(TestCaseError::fail(message));
    }
    if a == b {
        prop_assert!(patches.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn a_diff_takes_one_document_to_another(a in doc(), b in doc()) {
        check(&a, &b)?;
        check(&a, &a)?;
    }

    #[test]
    fn a_diff_takes_one_list_to_another(a in prop::collection::vec(0..4_u8, 0..10), b in prop::collection::vec(0..4_u8, 0..10)) {
        check(&a, &b)?;
        check(&a.iter().copied().collect::<Vector<u8>>(), &b.iter().copied().collect::<Vector<u8>>())?;
        let (ja, jb): (Value, Value) = (serde_json::to_value(&a).unwrap(), serde_json::to_value(&b).unwrap());
        check(&ja, &jb)?;
    }

    #[test]
    fn a_diff_takes_one_map_and_set_to_another(
        a in prop::collection::btree_map(0..6_u8, 0..3_u8, 0..5),
        b in prop::collection::btree_map(0..6_u8, 0..3_u8, 0..5),
    ) {
        check(&a, &b)?;
        let (sa, sb): (BTreeSet<u8>, BTreeSet<u8>) = (a.keys().copied().collect(), b.keys().copied().collect());
        check(&sa, &sb)?;
        let (ia, ib): (immer::imbl::HashMap<u8, u8>, immer::imbl::HashMap<u8, u8>) =
            (a.clone().into_iter().collect(), b.clone().into_iter().collect());
        let (patches, _) = diff(&ia, &ib).unwrap();
        prop_assert_eq!(&*apply_patches(&Arc::new(ia), &patches).unwrap(), &ib);
    }
}

#[test]
fn a_run_of_inserts_or_removals_is_one_patch_each() {
    let a: Vec<u32> = (0..100).collect();
    let mut b = a.clone();
    b.insert(40, 1000);
    b.insert(41, 1001);
    let (patches, _) = diff(&a, &b).unwrap();
    assert_eq!(patches.len(), 2, "{patches:?}");
    let mut c = a.clone();
    c.drain(10..13);
    let (patches, _) = diff(&a, &c).unwrap();
    assert_eq!(patches.len(), 3, "{patches:?}");
}

/// Past the alignment's bound, elements are paired by position and the extra ones removed
/// at one index: the inverse must put them back in their order.
#[test]
fn a_large_diff_that_removes_several_elements_is_undone_in_order() {
    let a: Vec<u32> = (0..200).collect();
    // Every element changed (nothing to align), and 30 fewer: 200 × 170 pairs.
    let b: Vec<u32> = (0..170).map(|i| 10_000 + i).collect();
    let (patches, inverse) = diff(&a, &b).unwrap();
    let forward = apply_patches(&Arc::new(a.clone()), &patches).unwrap();
    assert_eq!(*forward, b);
    let back = apply_patches(&forward, &inverse).unwrap();
    assert_eq!(*back, a, "the removed elements come back in their order");
    // Checked by an independent JSON Patch implementation too.
    assert_eq!(
        rfc6902(&json(&b), &inverse).unwrap(),
        json(&a),
        "json-patch agrees"
    );
}

#[test]
fn two_versions_of_a_large_state_cost_what_changed() {
    let base: Arc<BTreeMap<String, Vector<Arc<Item>>>> = Arc::new(
        [(
            "all".to_string(),
            (0..100_000_u32)
                .map(|i| {
                    Arc::new(Item {
                        id: (i % 200) as u8,
                        done: false,
                        notes: VecDeque::new(),
                    })
                })
                .collect(),
        )]
        .into(),
    );
    let next = produce(&base, |d| {
        d.get_mut("all")
            .unwrap()
            .get_mut(70_000)
            .unwrap()
            .set_done(true);
    });
    let (patches, inverse) = diff(&*base, &*next).unwrap();
    assert_eq!(patches.len(), 1);
    assert_eq!(patches[0].path.to_pointer(), "/all/70000/done");
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
    // Two handles on one version: nothing, at once.
    assert!(diff(&*base, &*Arc::clone(&base)).unwrap().0.is_empty());
}
