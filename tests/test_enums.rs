//! Enums with data: variant drafts, paths in each serde representation, and the laws.

use std::sync::Arc;

use immer::{Draftable, Patch, PatchErrorKind, apply_patches, produce, produce_with_patches};
use proptest::prelude::*;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

mod common;

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum External {
    Circle { radius: u32 },
    Rect(u32, u32),
    Label(String),
    Boxed(Arc<Inner>),
    Empty,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Inner {
    n: u32,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum Internal {
    Circle { radius: u32 },
    Square { side: u32, label: String },
    Wrapped(Inner),
    Nothing,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
enum Adjacent {
    Circle { radius: u32 },
    Rect(u32, u32),
    Empty,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Untagged {
    Named { name: String },
    Numbered { number: u32 },
}

/// serde's renaming rules on an enum: the container's `rename_all` renames variants, a
/// variant's own `rename_all` (else the container's `rename_all_fields`) its fields.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "SCREAMING_SNAKE_CASE")]
enum Renamed {
    MyCircle {
        some_radius: u32,
    },
    #[serde(rename_all = "kebab-case")]
    WideRect {
        rect_width: u32,
        rect_height: u32,
    },
    #[serde(rename = "dot")]
    TinyDot {
        #[serde(rename = "size")]
        dot_size: u32,
    },
}

/// The same rules on an internally tagged enum, and a flattened struct beside renamed fields.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
enum Tagged {
    BigCircle { some_radius: u32 },
    SmallSquare { side_length: u32 },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    created_at: u64,
    #[serde(flatten)]
    extra: Extra,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Extra {
    extra_note: String,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Scene {
    external: Vec<External>,
    internal: Internal,
    adjacent: Adjacent,
    untagged: Untagged,
    renamed: Vec<Renamed>,
    tagged: Tagged,
    meta: Meta,
}

fn scene() -> Arc<Scene> {
    Arc::new(Scene {
        external: vec![
            External::Circle { radius: 1 },
            External::Rect(2, 3),
            External::Label("a".into()),
            External::Boxed(Arc::new(Inner { n: 1 })),
            External::Empty,
        ],
        internal: Internal::Square {
            side: 2,
            label: "s".into(),
        },
        adjacent: Adjacent::Rect(1, 1),
        untagged: Untagged::Numbered { number: 7 },
        renamed: vec![
            Renamed::MyCircle { some_radius: 1 },
            Renamed::WideRect {
                rect_width: 2,
                rect_height: 3,
            },
            Renamed::TinyDot { dot_size: 4 },
        ],
        tagged: Tagged::BigCircle { some_radius: 1 },
        meta: Meta {
            created_at: 1,
            extra: Extra {
                extra_note: "x".into(),
            },
        },
    })
}

#[test]
fn renamed_enums_record_the_paths_serde_writes() {
    let base = scene();
    let (next, patches, inverse) = produce_with_patches(&base, |d| {
        let mut renamed = d.renamed();
        for i in 0..3 {
            let Some(mut shape) = renamed.get_mut(i) else {
                continue;
            };
            match shape.variant() {
                RenamedVariantDraft::MyCircle(mut c) => c.set_some_radius(10),
                RenamedVariantDraft::WideRect(mut r) => r.set_rect_height(30),
                RenamedVariantDraft::TinyDot(mut dot) => dot.set_dot_size(40),
            }
        }
        match d.tagged().variant() {
            TaggedVariantDraft::BigCircle(mut c) => c.set_some_radius(5),
            TaggedVariantDraft::SmallSquare(mut s) => s.set_side_length(5),
        }
        d.meta().set_created_at(2);
        d.meta().extra().set_extra_note("y".into());
    });
    assert_eq!(
        paths(&patches),
        [
            "/renamed/0/myCircle/SOME_RADIUS",
            "/renamed/1/wideRect/rect-height",
            "/renamed/2/dot/size",
            "/tagged/someRadius",
            "/meta/createdAt",
            "/meta/extra_note",
        ]
    );
    common::json_law(&*base, &*next, &patches, &inverse).unwrap();
    // And serde's names are what our own apply reads back.
    assert_eq!(apply_patches(&base, &patches).unwrap(), next);
}

fn paths(patches: &[Patch]) -> Vec<String> {
    patches.iter().map(|p| p.path.to_pointer()).collect()
}

#[test]
fn variant_drafts_write_fields_with_serde_paths() {
    let base = scene();
    let (next, forward, inverse) = produce_with_patches(&base, |d| {
        let mut shapes = d.external();
        if let ExternalVariantDraft::Circle(mut c) = shapes.get_mut(0).unwrap().variant() {
            c.set_radius(5);
        }
        if let ExternalVariantDraft::Rect(mut r) = shapes.get_mut(1).unwrap().variant() {
            r.set_0(4);
            r._1().set(9);
        }
        if let ExternalVariantDraft::Label(mut l) = shapes.get_mut(2).unwrap().variant() {
            l._0().modify(|s| s.push('!'));
        }
        if let ExternalVariantDraft::Boxed(mut b) = shapes.get_mut(3).unwrap().variant() {
            b._0().set_n(2);
        }
        assert!(matches!(
            shapes.get_mut(4).unwrap().variant(),
            ExternalVariantDraft::Empty
        ));
        if let InternalVariantDraft::Square(mut s) = d.internal().variant() {
            s.set_side(3);
        }
        if let AdjacentVariantDraft::Rect(mut r) = d.adjacent().variant() {
            r.set_1(8);
        }
        if let UntaggedVariantDraft::Numbered(mut n) = d.untagged().variant() {
            n.set_number(8);
        }
    });
    assert_eq!(
        paths(&forward),
        [
            "/external/0/Circle/radius",
            "/external/1/Rect/0",
            "/external/1/Rect/1",
            "/external/2/Label",
            "/external/3/Boxed/n",
            "/internal/side",
            "/adjacent/c/1",
            "/untagged/number",
        ]
    );
    assert_eq!(next.external[1], External::Rect(4, 9));
    assert_eq!(apply_patches(&base, &forward).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
}

#[test]
fn switching_variants_is_one_replace_of_the_whole_value() {
    let base = scene();
    let (next, forward, inverse) = produce_with_patches(&base, |d| {
        d.external().get_mut(0).unwrap().set(External::Empty);
        d.internal().set(Internal::Circle { radius: 1 });
    });
    assert_eq!(
        serde_json::to_value(&forward).unwrap(),
        json!([
            {"op": "replace", "path": ["external", 0], "value": "Empty"},
            {"op": "replace", "path": ["internal"], "value": {"kind": "circle", "radius": 1}},
        ])
    );
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
    // Setting the variant already there, with equal fields, changes nothing.
    let same = produce(&base, |d| d.adjacent().set(Adjacent::Rect(1, 1)));
    assert!(Arc::ptr_eq(&base, &same));
}

fn apply_one(base: &Arc<Scene>, patch: Value) -> Result<Arc<Scene>, immer::PatchError> {
    apply_patches(base, &[serde_json::from_value(patch).unwrap()])
}

#[test]
fn a_patch_into_the_wrong_variant_is_refused() {
    let base = scene();
    let e = apply_one(
        &base,
        json!({"op": "replace", "path": ["external", 0, "Rect", 0], "value": 1}),
    )
    .unwrap_err();
    assert_eq!(
        e.kind,
        PatchErrorKind::WrongVariant {
            expected: "Rect".into(),
            found: "Circle"
        }
    );
    let e = apply_one(
        &base,
        json!({"op": "replace", "path": ["internal", "radius"], "value": 1}),
    )
    .unwrap_err();
    assert_eq!(
        e.kind,
        PatchErrorKind::WrongVariant {
            expected: "circle".into(),
            found: "square"
        }
    );
    let e = apply_one(
        &base,
        json!({"op": "replace", "path": ["untagged", "name"], "value": "x"}),
    )
    .unwrap_err();
    assert_eq!(
        e.kind,
        PatchErrorKind::WrongVariant {
            expected: "Named".into(),
            found: "Numbered"
        }
    );
    let e = apply_one(
        &base,
        json!({"op": "replace", "path": ["internal", "kind"], "value": "circle"}),
    )
    .unwrap_err();
    assert!(matches!(e.kind, PatchErrorKind::Malformed { .. }), "{e}");
    let e = apply_one(
        &base,
        json!({"op": "replace", "path": ["adjacent", "t"], "value": "Empty"}),
    )
    .unwrap_err();
    assert!(matches!(e.kind, PatchErrorKind::Malformed { .. }), "{e}");
    let e = apply_one(
        &base,
        json!({"op": "replace", "path": ["external", 0, "Square"], "value": {}}),
    )
    .unwrap_err();
    assert!(matches!(e.kind, PatchErrorKind::UnknownField { .. }), "{e}");
    let e = apply_one(
        &base,
        json!({"op": "replace", "path": ["external", 4, "Empty", "x"], "value": 1}),
    )
    .unwrap_err();
    assert!(matches!(e.kind, PatchErrorKind::ThroughLeaf { .. }), "{e}");
}

#[test]
fn a_variants_content_can_be_replaced_whole() {
    let base = scene();
    let next = apply_one(
        &base,
        json!({"op": "replace", "path": ["external", 1, "Rect"], "value": [7, 7]}),
    )
    .unwrap();
    assert_eq!(next.external[1], External::Rect(7, 7));
    let next = apply_one(
        &base,
        json!({"op": "replace", "path": ["adjacent", "c"], "value": [5, 6]}),
    )
    .unwrap();
    assert_eq!(next.adjacent, Adjacent::Rect(5, 6));
    assert!(
        apply_one(
            &base,
            json!({"op": "replace", "path": ["adjacent", "c"], "value": {"radius": 1}})
        )
        .is_err()
    );
}

/// A generic enum with a generic field inside collections.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Slot<T> {
    Many(Vec<Option<T>>),
    One { value: T },
}

#[test]
fn generic_enums_draft_their_parameter_fields() {
    let base: Arc<Slot<u32>> = Arc::new(Slot::Many(vec![Some(1), None]));
    let (next, forward, _) = produce_with_patches(&base, |d| {
        if let SlotVariantDraft::Many(mut many) = d.variant() {
            many._0().get_mut(1).unwrap().set(Some(5));
            many._0().get_mut(0).unwrap().get_mut().unwrap().set(2);
        }
    });
    assert_eq!(*next, Slot::Many(vec![Some(2), Some(5)]));
    assert_eq!(paths(&forward), ["/Many/1", "/Many/0"]);
}

#[derive(Clone, Debug)]
enum Op {
    Set(usize, u8),
    Grow(usize, u32),
    Internal(u8),
    InternalGrow(u32),
    Adjacent(u8),
    AdjacentGrow(u32),
    Untagged(bool),
    UntaggedEdit(u32),
    RenamedSet(usize, u8),
    RenamedGrow(usize, u32),
    TaggedSet(bool),
    TaggedGrow(u32),
    MetaEdit(u64),
}

fn external(kind: u8) -> External {
    match kind % 5 {
        0 => External::Circle { radius: 1 },
        1 => External::Rect(1, 2),
        2 => External::Label("l".into()),
        3 => External::Boxed(Arc::new(Inner { n: 0 })),
        _ => External::Empty,
    }
}

fn run<P: immer::Place<Target = Scene>>(d: &mut SceneDraft<P>, op: &Op) {
    match op {
        Op::Set(i, kind) => {
            if let Some(mut shape) = d.external().get_mut(*i) {
                shape.set(external(*kind));
            }
        }
        Op::Grow(i, by) => {
            let mut list = d.external();
            let Some(mut shape) = list.get_mut(*i) else {
                return;
            };
            match shape.variant() {
                ExternalVariantDraft::Circle(mut c) => c.radius().modify(|r| *r += by),
                ExternalVariantDraft::Rect(mut r) => r._1().modify(|h| *h += by),
                ExternalVariantDraft::Label(mut l) => l._0().modify(|s| s.push('+')),
                ExternalVariantDraft::Boxed(mut b) => b._0().n().modify(|n| *n += by),
                ExternalVariantDraft::Empty => {}
            }
        }
        Op::Internal(kind) => d.internal().set(match kind % 4 {
            0 => Internal::Circle { radius: 1 },
            1 => Internal::Square {
                side: 1,
                label: "q".into(),
            },
            2 => Internal::Wrapped(Inner { n: 1 }),
            _ => Internal::Nothing,
        }),
        Op::InternalGrow(by) => match d.internal().variant() {
            InternalVariantDraft::Circle(mut c) => c.radius().modify(|r| *r += by),
            InternalVariantDraft::Square(mut s) => {
                s.side().modify(|x| *x += by);
                s.label().modify(|l| l.push('s'));
            }
            InternalVariantDraft::Wrapped(mut w) => w._0().n().modify(|n| *n += by),
            InternalVariantDraft::Nothing => {}
        },
        Op::Adjacent(kind) => d.adjacent().set(match kind % 3 {
            0 => Adjacent::Circle { radius: 2 },
            1 => Adjacent::Rect(3, 4),
            _ => Adjacent::Empty,
        }),
        Op::AdjacentGrow(by) => match d.adjacent().variant() {
            AdjacentVariantDraft::Circle(mut c) => c.radius().modify(|r| *r += by),
            AdjacentVariantDraft::Rect(mut r) => r._0().modify(|w| *w += by),
            AdjacentVariantDraft::Empty => {}
        },
        Op::Untagged(named) => d.untagged().set(if *named {
            Untagged::Named { name: "n".into() }
        } else {
            Untagged::Numbered { number: 1 }
        }),
        Op::UntaggedEdit(by) => match d.untagged().variant() {
            UntaggedVariantDraft::Named(mut n) => n.name().modify(|s| s.push('x')),
            UntaggedVariantDraft::Numbered(mut n) => n.number().modify(|x| *x += by),
        },
        Op::RenamedSet(i, kind) => {
            if let Some(mut shape) = d.renamed().get_mut(*i) {
                shape.set(match kind % 3 {
                    0 => Renamed::MyCircle { some_radius: 7 },
                    1 => Renamed::WideRect {
                        rect_width: 7,
                        rect_height: 8,
                    },
                    _ => Renamed::TinyDot { dot_size: 9 },
                });
            }
        }
        Op::RenamedGrow(i, by) => {
            let mut list = d.renamed();
            let Some(mut shape) = list.get_mut(*i) else {
                return;
            };
            match shape.variant() {
                RenamedVariantDraft::MyCircle(mut c) => c.some_radius().modify(|r| *r += by),
                RenamedVariantDraft::WideRect(mut r) => r.rect_width().modify(|w| *w += by),
                RenamedVariantDraft::TinyDot(mut dot) => dot.dot_size().modify(|s| *s += by),
            }
        }
        Op::TaggedSet(big) => d.tagged().set(if *big {
            Tagged::BigCircle { some_radius: 3 }
        } else {
            Tagged::SmallSquare { side_length: 3 }
        }),
        Op::TaggedGrow(by) => match d.tagged().variant() {
            TaggedVariantDraft::BigCircle(mut c) => c.some_radius().modify(|r| *r += by),
            TaggedVariantDraft::SmallSquare(mut s) => s.side_length().modify(|x| *x += by),
        },
        Op::MetaEdit(at) => {
            d.meta().set_created_at(*at);
            d.meta().extra().extra_note().modify(|n| n.push('!'));
        }
    }
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..6_usize, any::<u8>()).prop_map(|(i, k)| Op::Set(i, k)),
        (0..6_usize, 1..5_u32).prop_map(|(i, b)| Op::Grow(i, b)),
        any::<u8>().prop_map(Op::Internal),
        (1..5_u32).prop_map(Op::InternalGrow),
        any::<u8>().prop_map(Op::Adjacent),
        (1..5_u32).prop_map(Op::AdjacentGrow),
        any::<bool>().prop_map(Op::Untagged),
        (1..5_u32).prop_map(Op::UntaggedEdit),
        (0..4_usize, any::<u8>()).prop_map(|(i, k)| Op::RenamedSet(i, k)),
        (0..4_usize, 1..5_u32).prop_map(|(i, b)| Op::RenamedGrow(i, b)),
        any::<bool>().prop_map(Op::TaggedSet),
        (1..5_u32).prop_map(Op::TaggedGrow),
        (0..5_u64).prop_map(Op::MetaEdit),
    ]
}

proptest! {
    #[test]
    fn patch_laws_hold_through_enums(ops in prop::collection::vec(op(), 0..12)) {
        let base = scene();
        let (next, patches, inverse) = produce_with_patches(&base, |d| {
            for op in &ops {
                run(d, op);
            }
        });
        prop_assert_eq!(&apply_patches(&base, &patches).unwrap(), &next);
        prop_assert_eq!(&apply_patches(&next, &inverse).unwrap(), &base);
        let wire: Vec<Patch> = serde_json::from_str(&serde_json::to_string(&patches).unwrap()).unwrap();
        prop_assert_eq!(&wire, &patches);
        // The paths are serde's: an independent RFC 6902 applier agrees on serde's JSON.
        if let Err(message) = common::json_law(&*base, &*next, &patches, &inverse) {
            return Err(TestCaseError::fail(message));
        }
    }
}

/// A recursive generic type: the recursive field bounds `T`, not itself.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Tree<T> {
    Leaf(T),
    Branch { children: Vec<Tree<T>> },
}

#[test]
fn recursive_generic_types_draft_and_patch() {
    let base: Arc<Tree<String>> = Arc::new(Tree::Branch {
        children: vec![Tree::Leaf("a".into()), Tree::Branch { children: vec![] }],
    });
    let (next, forward, inverse) = produce_with_patches(&base, |d| {
        if let TreeVariantDraft::Branch(mut branch) = d.variant() {
            let mut children = branch.children();
            if let Some(mut second) = children.get_mut(1) {
                if let TreeVariantDraft::Branch(mut inner) = second.variant() {
                    inner.children().push(Tree::Leaf("deep".into()));
                }
            }
            children.get_mut(0).unwrap().set(Tree::Leaf("b".into()));
        }
    });
    assert_eq!(
        paths(&forward),
        ["/Branch/children/1/Branch/children/0", "/Branch/children/0"]
    );
    assert_eq!(apply_patches(&base, &forward).unwrap(), next);
    assert_eq!(apply_patches(&next, &inverse).unwrap(), base);
}
