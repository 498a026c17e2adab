//! A review of serde's shapes in the patches: `#[serde(flatten)]` fields written whole
//! (`Merged`), `#[serde(skip_serializing_if)]` fields (`Skippable`), std `HashSet` growth,
//! map keys as `serde_json` writes them, and pattern keys `*`/`**`.
//!
//! The law checked by every case: the patches, applied by `json-patch` to serde's JSON of the
//! state before, give serde's JSON of the state after, and the inverse patches give it back;
//! and this crate's `apply_patches` agrees both ways (when serde reads the state back).

#![allow(
    clippy::too_many_lines,
    reason = "each test is a table of cases, read best whole"
)]
#![allow(
    dead_code,
    reason = "the derive generates accessors and path methods that only some cases use"
)]
#![allow(
    clippy::option_option,
    reason = "a double option (absent, null, or a value) is a shape under test"
)]
#![allow(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's skip_serializing_if passes the field by reference"
)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Debug;
use std::sync::Arc;

use immer::{Draftable, History, Patch, PatchDraft, PathPattern};
use proptest::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

// ---------------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------------

/// Failures of one test, all reported together at its end.
#[derive(Default)]
struct Failures {
    failed: Vec<String>,
    checked: usize,
}

impl Failures {
    fn fail(&mut self, what: String) {
        self.failed.push(what);
    }

    fn finish(self, test: &str) {
        eprintln!("{test}: {} cases checked", self.checked);
        assert!(
            self.failed.is_empty(),
            "{} failure(s) of {} cases:\n{}",
            self.failed.len(),
            self.checked,
            self.failed.join("\n")
        );
    }
}

/// `patches` applied by `json-patch` to `doc`.
fn json_apply(doc: &Value, patches: &[Patch]) -> Result<Value, String> {
    let ops: json_patch::Patch =
        serde_json::from_value(serde_json::to_value(immer::to_json_patch(patches)).unwrap())
            .map_err(|e| e.to_string())?;
    let mut doc = doc.clone();
    json_patch::patch(&mut doc, &ops).map_err(|e| e.to_string())?;
    Ok(doc)
}

/// Whether serde reads `value` back from its JSON as itself.
fn reads_back<T: Serialize + DeserializeOwned + PartialEq>(value: &T) -> bool {
    serde_json::from_value::<T>(serde_json::to_value(value).unwrap())
        .is_ok_and(|back| back == *value)
}

/// Runs `recipe` on `before` with patches and checks the law; returns the state after and
/// the patches.
fn check<T>(
    f: &mut Failures,
    name: &str,
    before: &T,
    recipe: impl FnOnce(&mut PatchDraft<'_, '_, T>),
) -> (Arc<T>, Vec<Patch>)
where
    T: Draftable + Debug + Clone + PartialEq + Serialize + DeserializeOwned,
{
    f.checked += 1;
    let base = Arc::new(before.clone());
    let (after, patches, inverse) = match immer::try_produce_with_patches(&base, recipe) {
        Ok(produced) => produced.into_parts(),
        Err(e) => {
            f.fail(format!(
                "{name}: no patches for a state serde writes as {}: {e}",
                serde_json::to_string(&*base).unwrap()
            ));
            return (base, Vec::new());
        }
    };
    law(f, name, &base, &after, &patches, &inverse);
    (after, patches)
}

/// The law for one change from `base` to `after`.
fn law<T>(
    f: &mut Failures,
    name: &str,
    base: &Arc<T>,
    after: &Arc<T>,
    patches: &[Patch],
    inverse: &[Patch],
) where
    T: Draftable + Debug + PartialEq + Serialize + DeserializeOwned,
{
    let shown = serde_json::to_string(&patches).unwrap();
    let shown_inverse = serde_json::to_string(&inverse).unwrap();
    let json_before = serde_json::to_value(&**base).unwrap();
    let json_after = serde_json::to_value(&**after).unwrap();
    match json_apply(&json_before, patches) {
        Ok(json) if json == json_after => {}
        Ok(json) => f.fail(format!(
            "{name}: json-patch of {shown} on {json_before} gives {json}, serde writes {json_after}"
        )),
        Err(e) => f.fail(format!(
            "{name}: json-patch cannot apply {shown} to {json_before}: {e} (serde writes {json_after})"
        )),
    }
    match json_apply(&json_after, inverse) {
        Ok(json) if json == json_before => {}
        Ok(json) => f.fail(format!(
            "{name}: json-patch of the inverse {shown_inverse} on {json_after} gives {json}, serde writes {json_before}"
        )),
        Err(e) => f.fail(format!(
            "{name}: json-patch cannot apply the inverse {shown_inverse} to {json_after}: {e}"
        )),
    }
    if !(reads_back(&**base) && reads_back(&**after)) {
        return;
    }
    match immer::apply_patches(base, patches) {
        Ok(applied) if *applied == **after => {}
        Ok(applied) => f.fail(format!(
            "{name}: apply_patches of {shown} gives {applied:?}, not {after:?}"
        )),
        Err(e) => f.fail(format!("{name}: apply_patches cannot apply {shown}: {e}")),
    }
    match immer::apply_patches(after, inverse) {
        Ok(applied) if *applied == **base => {}
        Ok(applied) => f.fail(format!(
            "{name}: apply_patches of the inverse {shown_inverse} gives {applied:?}, not {base:?}"
        )),
        Err(e) => f.fail(format!(
            "{name}: apply_patches cannot apply the inverse {shown_inverse}: {e}"
        )),
    }
}

// ---------------------------------------------------------------------------------------------
// flatten: inside flatten, beside other fields, behind Box and Arc
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Deep {
    z: u32,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Mid {
    y: u32,
    #[serde(flatten)]
    deep: Deep,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Top {
    x: u32,
    #[serde(flatten)]
    mid: Mid,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Holder {
    top: Top,
    n: u32,
    boxed: Box<Top>,
    shared: Arc<Top>,
    list: Vec<Top>,
}

fn mid(y: u32, z: u32) -> Mid {
    Mid {
        y,
        deep: Deep { z },
    }
}

fn top(x: u32) -> Top {
    Top { x, mid: mid(2, 3) }
}

fn holder() -> Holder {
    Holder {
        top: top(1),
        n: 0,
        boxed: Box::new(top(10)),
        shared: Arc::new(top(20)),
        list: vec![top(30), top(40)],
    }
}

#[test]
fn flatten_inside_flatten() {
    let mut f = Failures::default();
    let h = holder();
    check(&mut f, "set the flattened whole", &h, |d| {
        d.top().set_mid(mid(7, 8));
    });
    check(
        &mut f,
        "set the flattened inside the flattened whole",
        &h,
        |d| {
            d.top().mid().set_deep(Deep { z: 9 });
        },
    );
    check(&mut f, "a field of the innermost", &h, |d| {
        d.top().mid().deep().set_z(9);
    });
    check(&mut f, "whole, then a field inside", &h, |d| {
        d.top().set_mid(mid(7, 8));
        d.top().mid().set_y(70);
        d.top().mid().deep().set_z(80);
    });
    check(&mut f, "a field inside, then whole", &h, |d| {
        d.top().mid().set_y(70);
        d.top().mid().deep().set_z(80);
        d.top().set_mid(mid(7, 8));
    });
    check(&mut f, "whole three times", &h, |d| {
        d.top().set_mid(mid(7, 8));
        d.top().set_mid(mid(9, 10));
        d.top().mid().set_deep(Deep { z: 11 });
        d.top().set_mid(mid(12, 13));
    });
    check(&mut f, "whole, and back to where it was", &h, |d| {
        d.top().set_mid(mid(7, 8));
        d.top().set_mid(mid(2, 3));
    });
    check(&mut f, "a sibling, then the flattened whole", &h, |d| {
        d.top().set_x(99);
        d.top().set_mid(mid(7, 8));
    });
    check(&mut f, "the flattened whole, then a sibling", &h, |d| {
        d.top().set_mid(mid(7, 8));
        d.top().set_x(99);
    });
    check(
        &mut f,
        "a sibling, the flattened whole, the sibling again",
        &h,
        |d| {
            d.top().set_x(99);
            d.top().mid().set_deep(Deep { z: 5 });
            d.top().set_x(98);
            d.top().set_mid(mid(7, 8));
            d.top().set_x(1);
        },
    );
    check(
        &mut f,
        "the parent whole after its flattened whole",
        &h,
        |d| {
            d.top().set_mid(mid(7, 8));
            d.set_top(top(5));
            d.top().mid().set_deep(Deep { z: 6 });
        },
    );
    check(&mut f, "behind a Box", &h, |d| {
        d.boxed().set_mid(mid(7, 8));
        d.boxed().mid().set_deep(Deep { z: 6 });
        d.boxed().set_x(4);
    });
    check(&mut f, "behind an Arc", &h, |d| {
        d.shared().set_x(4);
        d.shared().mid().set_deep(Deep { z: 6 });
        d.shared().set_mid(mid(7, 8));
    });
    check(&mut f, "in a list's element", &h, |d| {
        let mut list = d.list();
        let mut first = list.get_mut(1).unwrap();
        first.set_x(5);
        first.set_mid(mid(7, 8));
        first.mid().deep().set_z(1);
    });
    check(&mut f, "in every element, then a push", &h, |d| {
        d.list()
            .for_each_mut(|_, mut t| t.mid().set_deep(Deep { z: 0 }));
        d.list().push(top(50));
        d.list().get_mut(2).unwrap().set_mid(mid(0, 0));
    });
    f.finish("flatten_inside_flatten");
}

// ---------------------------------------------------------------------------------------------
// flatten of enums of each representation
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Ext {
    A { a: u32 },
    B(u32),
    C,
    D(Deep),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
enum Int {
    P { p: u32 },
    Q,
    R(Mid),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
enum Adj {
    P { p: u32 },
    Q,
    N(u32),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Unt {
    A { ua: u32 },
    B { ub: String },
    M(Mid),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Enums {
    x: u32,
    inner: EnumsInner,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct EnumsInner {
    #[serde(flatten)]
    ext: Ext,
    #[serde(flatten)]
    int: IntBox,
    #[serde(flatten)]
    unt: Unt,
    w: u32,
}

/// The internally and adjacently tagged ones each in a struct of its own (their tags are
/// both `t`).
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct IntBox {
    k: u32,
    #[serde(flatten)]
    int: Int,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct AdjBox {
    k: u32,
    #[serde(flatten)]
    adj: Adj,
}

fn enums() -> Enums {
    Enums {
        x: 1,
        inner: EnumsInner {
            ext: Ext::A { a: 1 },
            int: IntBox {
                k: 2,
                int: Int::P { p: 3 },
            },
            unt: Unt::A { ua: 4 },
            w: 5,
        },
    }
}

#[test]
fn flatten_enums_of_each_representation() {
    let mut f = Failures::default();
    let e = enums();
    // Externally tagged.
    check(&mut f, "external: A to B", &e, |d| {
        d.inner().ext().set(Ext::B(7));
    });
    check(&mut f, "external: A to the unit C", &e, |d| {
        d.inner().ext().set(Ext::C);
    });
    let mut at_c = e.clone();
    at_c.inner.ext = Ext::C;
    check(&mut f, "external: the unit C to A", &at_c, |d| {
        d.inner().ext().set(Ext::A { a: 9 });
    });
    check(&mut f, "external: A to D, then D's field", &e, |d| {
        d.inner().ext().set(Ext::D(Deep { z: 1 }));
        if let ExtVariantDraft::D(mut deep) = d.inner().ext().variant() {
            deep._0().set_z(2);
        }
    });
    check(&mut f, "external: A's field, then to B", &e, |d| {
        if let ExtVariantDraft::A(mut a) = d.inner().ext().variant() {
            a.set_a(2);
        }
        d.inner().ext().set(Ext::B(7));
    });
    // Internally tagged, itself flattened.
    check(&mut f, "internal: P to Q", &e, |d| {
        d.inner().int().int().set(Int::Q);
    });
    check(&mut f, "internal: P to R, R's flattened inside", &e, |d| {
        d.inner().int().int().set(Int::R(mid(1, 2)));
        if let IntVariantDraft::R(mut r) = d.inner().int().int().variant() {
            r._0().set_deep(Deep { z: 5 });
        }
    });
    check(&mut f, "internal: the struct holding it whole", &e, |d| {
        d.inner().set_int(IntBox { k: 0, int: Int::Q });
    });
    check(&mut f, "internal: k, then the enum switched", &e, |d| {
        d.inner().int().set_k(8);
        d.inner().int().int().set(Int::Q);
    });
    // Untagged.
    check(&mut f, "untagged: A to B", &e, |d| {
        d.inner().unt().set(Unt::B { ub: "b".into() });
    });
    check(&mut f, "untagged: A to M, M's flattened whole", &e, |d| {
        d.inner().unt().set(Unt::M(mid(1, 2)));
        if let UntVariantDraft::M(mut m) = d.inner().unt().variant() {
            m._0().set_deep(Deep { z: 5 });
        }
    });
    check(&mut f, "every flattened enum switched, and w", &e, |d| {
        d.inner().ext().set(Ext::C);
        d.inner().int().int().set(Int::R(mid(0, 0)));
        d.inner().unt().set(Unt::B { ub: String::new() });
        d.inner().set_w(0);
    });
    // Adjacently tagged.
    let adj = AdjBox {
        k: 1,
        adj: Adj::P { p: 2 },
    };
    check(&mut f, "adjacent: P to Q", &adj, |d| d.adj().set(Adj::Q));
    check(&mut f, "adjacent: P to N", &adj, |d| d.adj().set(Adj::N(4)));
    check(&mut f, "adjacent: P's field then k then Q", &adj, |d| {
        if let AdjVariantDraft::P(mut p) = d.adj().variant() {
            p.set_p(9);
        }
        d.set_k(3);
        d.adj().set(Adj::Q);
    });
    let adj_q = AdjBox { k: 1, adj: Adj::Q };
    check(&mut f, "adjacent: Q to P", &adj_q, |d| {
        d.adj().set(Adj::P { p: 1 });
    });
    f.finish("flatten_enums_of_each_representation");
}

// ---------------------------------------------------------------------------------------------
// flatten inside enum variants of each representation
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum VExt {
    ItemOne {
        x: u32,
        #[serde(flatten)]
        mid: Mid,
    },
    Other,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
enum VInt {
    ItemOne {
        x: u32,
        #[serde(flatten)]
        mid: Mid,
    },
    Other,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", content = "body", rename_all = "camelCase")]
enum VAdj {
    ItemOne {
        x: u32,
        #[serde(flatten)]
        mid: Mid,
    },
    Other,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum VUnt {
    ItemOne {
        x: u32,
        #[serde(flatten)]
        mid: Mid,
    },
    Other {
        o: String,
    },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Variants {
    ext: VExt,
    int: VInt,
    adj: VAdj,
    unt: VUnt,
    list: Vec<VInt>,
}

fn variants() -> Variants {
    Variants {
        ext: VExt::ItemOne {
            x: 1,
            mid: mid(2, 3),
        },
        int: VInt::ItemOne {
            x: 1,
            mid: mid(2, 3),
        },
        adj: VAdj::ItemOne {
            x: 1,
            mid: mid(2, 3),
        },
        unt: VUnt::ItemOne {
            x: 1,
            mid: mid(2, 3),
        },
        list: vec![
            VInt::Other,
            VInt::ItemOne {
                x: 1,
                mid: mid(2, 3),
            },
        ],
    }
}

/// Each recipe on the variant's draft: whole, inner, sibling orders.
macro_rules! variant_cases {
    ($f:expr, $v:expr, $label:literal, $field:ident, $Draft:ident :: $Variant:ident) => {{
        check($f, concat!($label, ": the flattened whole"), $v, |d| {
            if let $Draft::$Variant(mut it) = d.$field().variant() {
                it.set_mid(mid(7, 8));
            }
        });
        check(
            $f,
            concat!($label, ": the flattened's flattened whole"),
            $v,
            |d| {
                if let $Draft::$Variant(mut it) = d.$field().variant() {
                    it.mid().set_deep(Deep { z: 9 });
                }
            },
        );
        check(
            $f,
            concat!($label, ": x, then the flattened whole"),
            $v,
            |d| {
                if let $Draft::$Variant(mut it) = d.$field().variant() {
                    it.set_x(5);
                    it.set_mid(mid(7, 8));
                }
            },
        );
        check(
            $f,
            concat!($label, ": the flattened whole, then inside, then x"),
            $v,
            |d| {
                if let $Draft::$Variant(mut it) = d.$field().variant() {
                    it.set_mid(mid(7, 8));
                    it.mid().deep().set_z(1);
                    it.set_x(5);
                }
            },
        );
        check(
            $f,
            concat!($label, ": x, whole twice, in two drafts"),
            $v,
            |d| {
                if let $Draft::$Variant(mut it) = d.$field().variant() {
                    it.set_x(5);
                    it.set_mid(mid(7, 8));
                }
                if let $Draft::$Variant(mut it) = d.$field().variant() {
                    it.mid().set_y(0);
                    it.set_mid(mid(9, 9));
                }
            },
        );
    }};
}

#[test]
fn flatten_inside_variants() {
    let mut f = Failures::default();
    let v = variants();
    variant_cases!(&mut f, &v, "external", ext, VExtVariantDraft::ItemOne);
    variant_cases!(&mut f, &v, "internal", int, VIntVariantDraft::ItemOne);
    variant_cases!(&mut f, &v, "adjacent", adj, VAdjVariantDraft::ItemOne);
    variant_cases!(&mut f, &v, "untagged", unt, VUntVariantDraft::ItemOne);
    check(&mut f, "internal in a list's element", &v, |d| {
        let mut list = d.list();
        let mut second = list.get_mut(1).unwrap();
        if let VIntVariantDraft::ItemOne(mut it) = second.variant() {
            it.set_x(0);
            it.set_mid(mid(7, 8));
        }
    });
    check(
        &mut f,
        "a variant switched into, then its flattened whole",
        &v,
        |d| {
            d.list().get_mut(0).unwrap().set(VInt::ItemOne {
                x: 0,
                mid: mid(0, 0),
            });
            let mut list = d.list();
            let mut first = list.get_mut(0).unwrap();
            if let VIntVariantDraft::ItemOne(mut it) = first.variant() {
                it.set_mid(mid(7, 8));
            }
        },
    );
    f.finish("flatten_inside_variants");
}

// ---------------------------------------------------------------------------------------------
// a flattened Option of a struct that has a flattened field
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OptHolder {
    x: u32,
    #[serde(flatten)]
    opt: Option<Mid>,
    tail: String,
}

#[test]
fn flatten_option_of_flattening_struct() {
    let mut f = Failures::default();
    let some = OptHolder {
        x: 1,
        opt: Some(mid(2, 3)),
        tail: "t".into(),
    };
    let none = OptHolder {
        opt: None,
        ..some.clone()
    };
    check(&mut f, "Some to None", &some, |d| d.opt().set(None));
    check(&mut f, "None to Some", &none, |d| {
        d.opt().set(Some(mid(4, 5)));
    });
    check(&mut f, "take", &some, |d| {
        d.opt().take();
    });
    check(&mut f, "replace", &some, |d| {
        d.opt().replace(mid(4, 5));
    });
    check(&mut f, "insert into None, then inside", &none, |d| {
        d.opt().insert(mid(4, 5)).deep().set_z(6);
    });
    check(
        &mut f,
        "get_or_insert_with on None, then its flattened whole",
        &none,
        |d| {
            d.opt()
                .get_or_insert_with(|| mid(4, 5))
                .set_deep(Deep { z: 7 });
        },
    );
    check(&mut f, "inside, then None", &some, |d| {
        d.opt().get_mut().unwrap().set_y(9);
        d.set_x(2);
        d.opt().set(None);
    });
    check(
        &mut f,
        "None, then Some, then None, then Some",
        &some,
        |d| {
            d.opt().set(None);
            d.opt().set(Some(mid(1, 1)));
            d.set_tail("u".into());
            d.opt().set(None);
            d.opt().set(Some(mid(2, 2)));
        },
    );
    check(&mut f, "x, then Some to None, then x back", &some, |d| {
        d.set_x(5);
        d.opt().set(None);
        d.set_x(1);
    });
    f.finish("flatten_option_of_flattening_struct");
}

// ---------------------------------------------------------------------------------------------
// skip_serializing_if
// ---------------------------------------------------------------------------------------------

fn is_zero(n: &u32) -> bool {
    *n == 0
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
struct Inner {
    v: u32,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    list: Vec<u32>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct Sk {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    maybe_note: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<u32>,
    #[serde(default, skip_serializing_if = "String::is_empty", rename = "lbl")]
    label: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    count_of: u32,
    #[serde(default)]
    plain: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    inner: Option<Inner>,
    #[serde(default, skip_serializing_if = "HashSet::is_empty")]
    set: HashSet<u32>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    map: BTreeMap<String, u32>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Flat {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    ftags: Vec<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    fopt: Option<u32>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
enum SkInt {
    V {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        vt: Vec<u32>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        vo: Option<u32>,
    },
    W,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum SkExt {
    V {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        vt: Vec<u32>,
    },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
enum SkAdj {
    V {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        vt: Vec<u32>,
        n: u32,
    },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum SkUnt {
    V {
        #[serde(default, skip_serializing_if = "Vec::is_empty")]
        vt: Vec<u32>,
        n: u32,
    },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct SkRoot {
    adj: SkAdj,
    unt: SkUnt,
    one: Sk,
    items: Vec<Sk>,
    #[serde(flatten)]
    flat: Flat,
    int: SkInt,
    ext: SkExt,
}

fn sk_root() -> SkRoot {
    SkRoot {
        adj: SkAdj::V {
            vt: Vec::new(),
            n: 0,
        },
        unt: SkUnt::V {
            vt: Vec::new(),
            n: 0,
        },
        one: Sk::default(),
        items: vec![
            Sk::default(),
            Sk {
                tags: vec![1],
                ..Sk::default()
            },
        ],
        flat: Flat {
            ftags: Vec::new(),
            fopt: None,
        },
        int: SkInt::V {
            vt: Vec::new(),
            vo: None,
        },
        ext: SkExt::V { vt: Vec::new() },
    }
}

#[test]
fn skip_serializing_if_fields() {
    let mut f = Failures::default();
    let r = sk_root();
    let full = {
        let mut r = r.clone();
        r.one = Sk {
            maybe_note: Some("n".into()),
            tags: vec![1, 2],
            label: "l".into(),
            count_of: 3,
            plain: 4,
            inner: Some(Inner {
                v: 1,
                list: vec![5],
            }),
            set: HashSet::from([1]),
            map: BTreeMap::from([("a".to_owned(), 1)]),
        };
        r
    };
    // Option::is_none.
    check(&mut f, "Option: None to Some", &r, |d| {
        d.one().set_maybe_note(Some("x".into()));
    });
    check(&mut f, "Option: Some to None", &full, |d| {
        d.one().set_maybe_note(None);
    });
    check(&mut f, "Option: take", &full, |d| {
        d.one().maybe_note().take();
    });
    check(&mut f, "Option: insert", &r, |d| {
        d.one().maybe_note().insert("y".into());
    });
    check(&mut f, "Option: replace on None", &r, |d| {
        d.one().maybe_note().replace("y".into());
    });
    check(&mut f, "Option: get_or_insert_with then modify", &r, |d| {
        d.one()
            .maybe_note()
            .get_or_insert_with(String::new)
            .modify(|s| s.push('z'));
    });
    check(&mut f, "Option: in, out, in, in one draft", &r, |d| {
        let mut one = d.one();
        let mut note = one.maybe_note();
        note.set(Some("a".into()));
        note.set(None);
        note.set(Some("b".into()));
    });
    check(&mut f, "Option: in, out in one draft", &r, |d| {
        let mut one = d.one();
        let mut note = one.maybe_note();
        note.set(Some("a".into()));
        note.set(None);
    });
    check(&mut f, "Option: out, in, out", &full, |d| {
        d.one().set_maybe_note(None);
        d.one().set_maybe_note(Some("q".into()));
        d.one().set_maybe_note(None);
    });
    // Vec::is_empty.
    check(&mut f, "Vec: push into empty", &r, |d| {
        d.one().tags().push(1);
    });
    check(&mut f, "Vec: pop the last", &full, |d| {
        let mut one = d.one();
        let mut tags = one.tags();
        tags.pop();
        tags.pop();
    });
    check(&mut f, "Vec: clear", &full, |d| d.one().tags().clear());
    check(&mut f, "Vec: truncate(0)", &full, |d| {
        d.one().tags().truncate(0);
    });
    check(&mut f, "Vec: retain none", &full, |d| {
        d.one().tags().retain(|_| false);
    });
    check(&mut f, "Vec: set empty then push", &full, |d| {
        d.one().set_tags(Vec::new());
        d.one().tags().push(9);
    });
    check(&mut f, "Vec: push then set empty", &r, |d| {
        d.one().tags().push(9);
        d.one().set_tags(Vec::new());
    });
    check(&mut f, "Vec: extend empty with nothing", &r, |d| {
        d.one().tags().extend(Vec::<u32>::new());
    });
    check(&mut f, "Vec: extend empty", &r, |d| {
        d.one().tags().extend([1, 2, 3]);
    });
    check(
        &mut f,
        "Vec: one draft kept alive: push, pop, push, push",
        &r,
        |d| {
            let mut one = d.one();
            let mut tags = one.tags();
            tags.push(1);
            tags.pop();
            tags.push(2);
            tags.push(3);
        },
    );
    check(
        &mut f,
        "Vec: one draft kept alive: in, out, in, out",
        &r,
        |d| {
            let mut one = d.one();
            let mut tags = one.tags();
            tags.push(1);
            tags.pop();
            tags.push(2);
            tags.clear();
        },
    );
    check(
        &mut f,
        "Vec: drafts taken and dropped many times",
        &r,
        |d| {
            for i in 0..6 {
                d.one().tags().push(i);
                if i % 2 == 0 {
                    d.one().tags().pop();
                }
            }
            for _ in 0..2 {
                d.one().tags().remove(0);
            }
        },
    );
    check(&mut f, "Vec: into_mut of an element after push", &r, |d| {
        d.one().tags().push(1);
        d.one().tags().into_mut(0).unwrap().set(5);
    });
    // String::is_empty and a custom predicate.
    check(&mut f, "String: modify from empty", &r, |d| {
        d.one().label().modify(|s| s.push_str("ab"));
    });
    check(&mut f, "String: set empty", &full, |d| {
        d.one().set_label(String::new());
    });
    check(
        &mut f,
        "String: clear then push in one modify",
        &full,
        |d| {
            d.one().label().modify(|s| {
                s.clear();
                s.push('c');
            });
        },
    );
    check(&mut f, "is_zero: 0 to 5 to 0 to 7", &r, |d| {
        d.one().set_count_of(5);
        d.one().set_count_of(0);
        d.one().count_of().set(7);
    });
    check(&mut f, "is_zero: modify down to 0", &full, |d| {
        d.one().count_of().modify(|n| *n = 0);
    });
    check(&mut f, "beside serde(default): both written", &r, |d| {
        d.one().set_plain(0);
        d.one().set_count_of(1);
        d.one().set_plain(2);
        d.one().set_count_of(0);
    });
    // A skippable Option of a struct with a skippable list inside.
    check(&mut f, "nested: insert then push into its list", &r, |d| {
        d.one()
            .inner()
            .get_or_insert_with(Inner::default)
            .list()
            .push(1);
    });
    check(&mut f, "nested: pop its list, then None", &full, |d| {
        d.one().inner().get_mut().unwrap().list().pop();
        d.one().inner().set(None);
    });
    check(
        &mut f,
        "nested: None, then Some with an empty list, push",
        &full,
        |d| {
            d.one().inner().set(None);
            d.one().inner().set(Some(Inner::default()));
            d.one().inner().get_mut().unwrap().list().push(3);
        },
    );
    // Sets and maps behind skip_serializing_if.
    check(&mut f, "HashSet: insert into empty", &r, |d| {
        d.one().set().insert(4);
    });
    check(&mut f, "HashSet: remove the last", &full, |d| {
        d.one().set().remove(&1);
    });
    check(&mut f, "BTreeMap: insert into empty", &r, |d| {
        d.one().map().insert("k".into(), 1);
    });
    check(
        &mut f,
        "BTreeMap: remove the last, insert again, remove",
        &full,
        |d| {
            let mut one = d.one();
            let mut map = one.map();
            map.remove("a");
            map.insert("b".into(), 2);
            map.remove("b");
        },
    );
    // In lists of structs.
    check(&mut f, "list: push into an element's empty tags", &r, |d| {
        d.items().get_mut(0).unwrap().tags().push(1);
    });
    check(&mut f, "list: pop an element's last tag", &r, |d| {
        d.items().get_mut(1).unwrap().tags().pop();
    });
    check(
        &mut f,
        "list: iter_mut, every element in and out",
        &r,
        |d| {
            let mut items = d.items();
            let mut it = items.iter_mut();
            while let Some(mut item) = it.next() {
                item.tags().push(7);
                item.set_count_of(1);
                item.maybe_note().set(Some("m".into()));
            }
        },
    );
    check(
        &mut f,
        "list: push a default, then write into it",
        &r,
        |d| {
            d.items().push(Sk::default());
            d.items().get_mut(2).unwrap().tags().push(1);
            d.items().get_mut(2).unwrap().tags().pop();
            d.items().get_mut(2).unwrap().set_count_of(3);
        },
    );
    check(&mut f, "list: into_mut kept across writes", &r, |d| {
        let mut item = d.items().into_mut(1).unwrap();
        item.tags().pop();
        item.tags().push(2);
        item.tags().pop();
        item.set_label("x".into());
    });
    check(
        &mut f,
        "list: remove the element after writing in it",
        &r,
        |d| {
            d.items().get_mut(0).unwrap().tags().push(1);
            d.items().remove(0);
        },
    );
    // In a flattened struct.
    check(&mut f, "flattened: push into its empty list", &r, |d| {
        d.flat().ftags().push(1);
    });
    check(&mut f, "flattened: Option in then out", &r, |d| {
        d.flat().set_fopt(Some(1));
        d.flat().ftags().push(2);
        d.flat().set_fopt(None);
    });
    check(&mut f, "flattened: inner writes then the whole", &r, |d| {
        d.flat().ftags().push(1);
        d.flat().set_fopt(Some(1));
        d.set_flat(Flat {
            ftags: Vec::new(),
            fopt: Some(2),
        });
    });
    check(&mut f, "flattened: whole then inner writes", &r, |d| {
        d.set_flat(Flat {
            ftags: vec![1],
            fopt: None,
        });
        d.flat().ftags().pop();
        d.flat().fopt().insert(3);
    });
    // In variants.
    check(
        &mut f,
        "internal variant: push into its empty list",
        &r,
        |d| {
            if let SkIntVariantDraft::V(mut v) = d.int().variant() {
                v.vt().push(1);
                v.set_vo(Some(2));
            }
        },
    );
    check(&mut f, "internal variant: in then out", &r, |d| {
        if let SkIntVariantDraft::V(mut v) = d.int().variant() {
            v.vt().push(1);
            v.vt().pop();
        }
    });
    check(&mut f, "internal variant: in, then switched", &r, |d| {
        if let SkIntVariantDraft::V(mut v) = d.int().variant() {
            v.vt().push(1);
        }
        d.int().set(SkInt::W);
    });
    check(
        &mut f,
        "external variant: push into its empty list",
        &r,
        |d| {
            let mut ext = d.ext();
            let SkExtVariantDraft::V(mut v) = ext.variant();
            v.vt().push(1);
        },
    );
    check(
        &mut f,
        "adjacent variant: push into its empty list, then out",
        &r,
        |d| {
            let mut adj = d.adj();
            let SkAdjVariantDraft::V(mut v) = adj.variant();
            v.vt().push(1);
            v.set_n(1);
            v.vt().push(2);
        },
    );
    check(&mut f, "adjacent variant: in then out", &r, |d| {
        let mut adj = d.adj();
        let SkAdjVariantDraft::V(mut v) = adj.variant();
        v.vt().push(1);
        v.vt().clear();
    });
    check(
        &mut f,
        "untagged variant: push into its empty list",
        &r,
        |d| {
            let mut unt = d.unt();
            let SkUntVariantDraft::V(mut v) = unt.variant();
            v.vt().push(1);
            v.set_n(1);
        },
    );
    f.finish("skip_serializing_if_fields");
}

/// `skip_serializing_if = "Option::is_none"` on an `Option<Option<T>>`: serde writes the key
/// (as `null`) for `Some(None)`, and leaves it out for `None`.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct DoubleOption {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    patch: Option<Option<u32>>,
    other: u32,
}

fn is_nan(x: &f64) -> bool {
    x.is_nan()
}

/// A predicate whose value does not read back from its JSON: a NaN is written `null`.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct NanSkip {
    #[serde(default, skip_serializing_if = "is_nan")]
    ratio: f64,
}

#[test]
fn skip_serializing_if_values_json_does_not_tell_apart() {
    let mut f = Failures::default();
    let none = DoubleOption {
        patch: None,
        other: 0,
    };
    let some_none = DoubleOption {
        patch: Some(None),
        other: 0,
    };
    let some_some = DoubleOption {
        patch: Some(Some(1)),
        other: 0,
    };
    check(&mut f, "Option<Option>: None to Some(None)", &none, |d| {
        d.set_patch(Some(None));
    });
    check(
        &mut f,
        "Option<Option>: Some(None) to None",
        &some_none,
        |d| {
            d.set_patch(None);
        },
    );
    check(
        &mut f,
        "Option<Option>: Some(Some) to Some(None)",
        &some_some,
        |d| {
            d.set_patch(Some(None));
        },
    );
    check(&mut f, "Option<Option>: None to Some(Some)", &none, |d| {
        d.set_patch(Some(Some(2)));
    });
    check(
        &mut f,
        "f64::is_nan: 1.0 to NaN",
        &NanSkip { ratio: 1.0 },
        |d| {
            d.set_ratio(f64::NAN);
        },
    );
    f.finish("skip_serializing_if_values_json_does_not_tell_apart");
}

// ---------------------------------------------------------------------------------------------
// std HashSet growth
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Sets {
    nums: HashSet<u32>,
    words: HashSet<String>,
    n: u32,
}

fn sets(count: u32) -> Sets {
    Sets {
        nums: (0..count).collect(),
        words: (0..count).map(|i| format!("w{i}")).collect(),
        n: 0,
    }
}

#[test]
fn hash_set_growth() {
    let mut f = Failures::default();
    for start in [0, 1, 3, 7, 14, 28] {
        let s = sets(start);
        check(
            &mut f,
            &format!("{start}: insert 60 in one recipe"),
            &s,
            |d| {
                for i in 100..160 {
                    d.nums().insert(i);
                    d.words().insert(format!("x{i}"));
                }
            },
        );
        check(
            &mut f,
            &format!("{start}: inserts and removals mixed"),
            &s,
            |d| {
                for i in 0..40 {
                    d.nums().insert(100 + i);
                    if i % 3 == 0 {
                        d.nums().remove(&(100 + i / 2));
                        d.words().remove(&format!("w{i}"));
                    }
                    d.words().insert(format!("y{i}"));
                }
            },
        );
        check(&mut f, &format!("{start}: one draft: extend"), &s, |d| {
            d.nums().extend(200..240);
            d.words().extend((0..20).map(|i| format!("e{i}")));
        });
        check(&mut f, &format!("{start}: retain then extend"), &s, |d| {
            d.nums().retain(|x| x % 2 == 0);
            d.nums().extend(300..330);
        });
        check(&mut f, &format!("{start}: clear then insert"), &s, |d| {
            d.nums().clear();
            for i in 0..20 {
                d.nums().insert(i * 7);
            }
        });
        check(
            &mut f,
            &format!("{start}: insert, remove it, insert again"),
            &s,
            |d| {
                for i in 0..30 {
                    d.nums().insert(500 + i);
                    d.nums().remove(&(500 + i));
                    d.nums().insert(600 + i);
                }
            },
        );
    }
    // One insert a recipe, across many recipes: each recipe's law.
    let mut state = Arc::new(sets(0));
    for i in 0..70 {
        let base = (*state).clone();
        let (after, _) = check(&mut f, &format!("one insert a recipe: {i}"), &base, |d| {
            d.nums().insert(i * 13);
            if i % 5 == 0 {
                d.nums().remove(&((i / 2) * 13));
            }
        });
        state = after;
    }
    // A set whose capacity is larger than its length.
    let mut roomy = sets(3);
    roomy.nums.reserve(50);
    check(&mut f, "reserved: inserts within capacity", &roomy, |d| {
        for i in 0..20 {
            d.nums().insert(1000 + i);
        }
    });
    f.finish("hash_set_growth");
}

// ---------------------------------------------------------------------------------------------
// map keys
// ---------------------------------------------------------------------------------------------

#[derive(
    Draftable, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
struct Id(u64);

#[derive(
    Draftable, Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
enum Color {
    Red,
    #[serde(rename = "verde")]
    Green,
    Blue,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Keys {
    big: BTreeMap<u128, u32>,
    signed: HashMap<i128, u32>,
    flags: BTreeMap<bool, u32>,
    chars: BTreeMap<char, u32>,
    ids: BTreeMap<Id, u32>,
    colors: HashMap<Color, u32>,
    small: BTreeMap<i64, u32>,
    names: BTreeMap<String, u32>,
}

fn keys() -> Keys {
    Keys {
        big: BTreeMap::from([(u128::MAX, 1), (1, 2)]),
        signed: HashMap::from([(i128::MIN, 1), (-1, 2)]),
        flags: BTreeMap::from([(true, 1)]),
        chars: BTreeMap::from([('a', 1), ('/', 2), ('~', 3)]),
        ids: BTreeMap::from([(Id(7), 1)]),
        colors: HashMap::from([(Color::Green, 1)]),
        small: BTreeMap::from([(i64::MIN, 1)]),
        names: BTreeMap::from([("*".to_owned(), 1), ("**".to_owned(), 2)]),
    }
}

#[test]
fn map_keys_as_serde_json_writes_them() {
    let mut f = Failures::default();
    let k = keys();
    check(&mut f, "u128: write at the max key", &k, |d| {
        d.big().get_mut(&u128::MAX).unwrap().set(9);
    });
    check(
        &mut f,
        "u128: insert past 64 bits, remove the max",
        &k,
        |d| {
            d.big().insert(u128::from(u64::MAX) + 1, 3);
            d.big().remove(&u128::MAX);
        },
    );
    check(&mut f, "i128: write, insert, remove", &k, |d| {
        d.signed().get_mut(&i128::MIN).unwrap().set(9);
        d.signed().insert(i128::from(i64::MIN) - 1, 4);
        d.signed().remove(&-1);
    });
    check(&mut f, "bool", &k, |d| {
        d.flags().insert(false, 0);
        d.flags().get_mut(&true).unwrap().set(5);
    });
    check(&mut f, "char, with '/' and '~'", &k, |d| {
        d.chars().get_mut(&'/').unwrap().set(9);
        d.chars().remove(&'~');
        d.chars().insert('*', 4);
    });
    check(&mut f, "newtype key", &k, |d| {
        d.ids().get_mut(&Id(7)).unwrap().set(2);
        d.ids().insert(Id(u64::MAX), 3);
    });
    check(&mut f, "unit enum key, renamed", &k, |d| {
        d.colors().get_mut(&Color::Green).unwrap().set(2);
        d.colors().insert(Color::Red, 3);
        d.colors().remove(&Color::Green);
    });
    check(&mut f, "i64::MIN", &k, |d| {
        d.small().get_mut(&i64::MIN).unwrap().set(2);
    });
    check(&mut f, "string keys * and **", &k, |d| {
        d.names().get_mut("*").unwrap().set(5);
        d.names().remove("**");
        d.names().insert("~2".into(), 1);
    });
    check(&mut f, "retain and extend and clear", &k, |d| {
        d.big().retain(|key, _| *key == 1);
        d.big().extend([(u128::MAX - 1, 1), (u128::MAX, 0)]);
        d.signed().clear();
        d.chars().retain(|c, _| *c != 'a');
    });
    // The typed path of a key names the key the patches write.
    let mut named = Vec::new();
    let (_, patches) = check(&mut f, "typed path: u128", &k, |d| {
        d.big().get_mut(&u128::MAX).unwrap().set(9);
    });
    named.push((
        immer::path::<Keys>().big().key(&u128::MAX).pattern(),
        patches,
    ));
    let (_, patches) = check(&mut f, "typed path: i128", &k, |d| {
        d.signed().get_mut(&i128::MIN).unwrap().set(9);
    });
    named.push((
        immer::path::<Keys>().signed().key(&i128::MIN).pattern(),
        patches,
    ));
    let (_, patches) = check(&mut f, "typed path: renamed unit enum", &k, |d| {
        d.colors().get_mut(&Color::Green).unwrap().set(9);
    });
    named.push((
        immer::path::<Keys>().colors().key(&Color::Green).pattern(),
        patches,
    ));
    let (_, patches) = check(&mut f, "typed path: *", &k, |d| {
        d.names().get_mut("*").unwrap().set(9);
    });
    named.push((immer::path::<Keys>().names().key("*").pattern(), patches));
    let (_, patches) = check(&mut f, "typed path: **", &k, |d| {
        d.names().get_mut("**").unwrap().set(9);
    });
    named.push((immer::path::<Keys>().names().key("**").pattern(), patches));
    for (pattern, patches) in &named {
        let text = pattern.to_string();
        let reparsed: PathPattern = match text.parse() {
            Ok(p) => p,
            Err(e) => {
                f.fail(format!("pattern {text:?} does not parse back: {e}"));
                continue;
            }
        };
        if reparsed != *pattern {
            f.fail(format!("pattern {text:?} parses back as another pattern"));
        }
        for patch in patches {
            if !pattern.matches(&patch.path) || !reparsed.matches(&patch.path) {
                f.fail(format!(
                    "pattern {text:?} does not match the patch at {:?}",
                    patch.path.to_pointer()
                ));
            }
            if !pattern.touches(patch) {
                f.fail(format!("pattern {text:?} is not touched by its patch"));
            }
        }
    }
    f.finish("map_keys_as_serde_json_writes_them");
}

#[test]
fn wildcard_keys_in_patterns() {
    let mut f = Failures::default();
    let k = keys();
    let star = immer::path::<Keys>().names().key("*").pattern();
    let stars = immer::path::<Keys>().names().key("**").pattern();
    let any = immer::path::<Keys>().names().any().pattern();
    for (pattern, text) in [(&star, "/names/~2"), (&stars, "/names/~2~2")] {
        if pattern.to_string() != text {
            f.fail(format!("pattern {pattern} is not written {text}"));
        }
    }
    let (_, patches) = check(&mut f, "write at the key **", &k, |d| {
        d.names().get_mut("**").unwrap().set(9);
    });
    for patch in &patches {
        // The patch's own pointer is RFC 6901's, not the pattern's escape.
        if patch.path.to_pointer() != "/names/**" {
            f.fail(format!(
                "the patch's pointer is {:?}",
                patch.path.to_pointer()
            ));
        }
        if star.matches(&patch.path) {
            f.fail("the key * matches a patch at the key **".to_owned());
        }
        if !stars.matches(&patch.path) || !any.matches(&patch.path) {
            f.fail("the key ** or any key does not match a patch at **".to_owned());
        }
    }
    // Texts read back as they were written, and the other escapes still mean what they did.
    for (text, ok) in [
        ("/~2", true),
        ("/~2~2", true),
        ("/a~2b", true),
        ("/~0~2~1", true),
        ("/~2/**", true),
        ("/~3", false),
        ("/~", false),
    ] {
        match text.parse::<PathPattern>() {
            Ok(p) if ok => {
                if p.to_string().parse::<PathPattern>().ok() != Some(p.clone()) {
                    f.fail(format!("{text:?} does not read back from {p}"));
                }
            }
            Ok(_) => f.fail(format!("{text:?} parses, an invalid escape")),
            Err(e) if ok => f.fail(format!("{text:?} does not parse: {e}")),
            Err(_) => {}
        }
    }
    f.finish("wildcard_keys_in_patterns");
}

// ---------------------------------------------------------------------------------------------
// History: undo after a flattened write, a skippable write, a set's growth
// ---------------------------------------------------------------------------------------------

#[test]
fn history_undo_redo_of_the_new_shapes() {
    let mut f = Failures::default();
    let mut history = History::new(Arc::new(holder()));
    let states = [
        history.current().clone(),
        {
            history.commit(Some("flatten whole"), |d| {
                d.top().set_x(5);
                d.top().set_mid(mid(7, 8));
            });
            history.current().clone()
        },
        {
            history.commit(Some("flatten inner whole"), |d| {
                d.list().get_mut(0).unwrap().mid().set_deep(Deep { z: 0 });
                d.boxed().set_mid(mid(1, 1));
            });
            history.current().clone()
        },
    ];
    for expected in states.iter().rev().skip(1) {
        if let Err(e) = history.undo() {
            f.fail(format!("undo failed: {e}"));
        }
        if **history.current() != **expected {
            f.fail(format!(
                "undo gives {:?}, not {expected:?}",
                history.current()
            ));
        }
    }
    for expected in states.iter().skip(1) {
        if let Err(e) = history.redo() {
            f.fail(format!("redo failed: {e}"));
        }
        if **history.current() != **expected {
            f.fail(format!(
                "redo gives {:?}, not {expected:?}",
                history.current()
            ));
        }
    }
    let mut sk = History::new(Arc::new(sk_root()));
    let first = sk.current().clone();
    sk.commit(Some("skippable"), |d| {
        d.one().tags().push(1);
        d.one().set_count_of(2);
        d.items().get_mut(1).unwrap().tags().pop();
        d.one().set().insert(3);
    });
    let second = sk.current().clone();
    if let Err(e) = sk.undo() {
        f.fail(format!("undo of skippable failed: {e}"));
    }
    if **sk.current() != *first {
        f.fail(format!("undo of skippable gives {:?}", sk.current()));
    }
    if let Err(e) = sk.redo() {
        f.fail(format!("redo of skippable failed: {e}"));
    }
    if **sk.current() != *second {
        f.fail(format!("redo of skippable gives {:?}", sk.current()));
    }
    f.checked += 2;
    f.finish("history_undo_redo_of_the_new_shapes");
}

// ---------------------------------------------------------------------------------------------
// Random recipes
// ---------------------------------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    TopX(u32),
    MidWhole(u32, u32),
    MidY(u32),
    DeepWhole(u32),
    DeepZ(u32),
    BoxedMid(u32),
    OptNone,
    OptSome(u32),
    OptY(u32),
    TagPush(u32),
    TagPop,
    TagsClear,
    CountSet(u32),
    NoteSet(Option<u32>),
    SetInsert(u32),
    SetRemove(u32),
    ItemPush(u32),
    ItemPop,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Random {
    holder: Holder,
    opt: OptHolder,
    sk: Sk,
    int: VInt,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0..4_u32).prop_map(Op::TopX),
        (0..4_u32, 0..4_u32).prop_map(|(a, b)| Op::MidWhole(a, b)),
        (0..4_u32).prop_map(Op::MidY),
        (0..4_u32).prop_map(Op::DeepWhole),
        (0..4_u32).prop_map(Op::DeepZ),
        (0..4_u32).prop_map(Op::BoxedMid),
        Just(Op::OptNone),
        (0..4_u32).prop_map(Op::OptSome),
        (0..4_u32).prop_map(Op::OptY),
        (0..4_u32).prop_map(Op::TagPush),
        Just(Op::TagPop),
        Just(Op::TagsClear),
        (0..3_u32).prop_map(Op::CountSet),
        proptest::option::of(0..3_u32).prop_map(Op::NoteSet),
        (0..40_u32).prop_map(Op::SetInsert),
        (0..40_u32).prop_map(Op::SetRemove),
        (0..3_u32).prop_map(Op::ItemPush),
        Just(Op::ItemPop),
    ]
}

fn run(d: &mut PatchDraft<'_, '_, Random>, op: &Op) {
    match *op {
        Op::TopX(x) => d.holder().top().set_x(x),
        Op::MidWhole(y, z) => d.holder().top().set_mid(mid(y, z)),
        Op::MidY(y) => d.holder().top().mid().set_y(y),
        Op::DeepWhole(z) => d.holder().top().mid().set_deep(Deep { z }),
        Op::DeepZ(z) => d.holder().top().mid().deep().set_z(z),
        Op::BoxedMid(y) => {
            if let VIntVariantDraft::ItemOne(mut it) = d.int().variant() {
                it.set_mid(mid(y, y));
            }
            d.holder().boxed().set_mid(mid(y, 0));
        }
        Op::OptNone => d.opt().opt().set(None),
        Op::OptSome(y) => d.opt().opt().set(Some(mid(y, 1))),
        Op::OptY(y) => {
            if let Some(mut m) = d.opt().opt().get_mut() {
                m.set_y(y);
            }
        }
        Op::TagPush(t) => d.sk().tags().push(t),
        Op::TagPop => {
            d.sk().tags().pop();
        }
        Op::TagsClear => d.sk().tags().clear(),
        Op::CountSet(n) => d.sk().set_count_of(n),
        Op::NoteSet(n) => d.sk().set_maybe_note(n.map(|n| n.to_string())),
        Op::SetInsert(n) => {
            d.sk().set().insert(n);
        }
        Op::SetRemove(n) => {
            d.sk().set().remove(&n);
        }
        Op::ItemPush(n) => {
            if let VIntVariantDraft::ItemOne(mut it) = d.int().variant() {
                it.set_x(n);
            }
            d.holder().list().push(top(n));
        }
        Op::ItemPop => {
            d.holder().list().pop();
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_recipes_keep_the_law(recipes in proptest::collection::vec(proptest::collection::vec(op(), 0..8), 1..5)) {
        let mut f = Failures::default();
        let mut state = Random {
            holder: holder(),
            opt: OptHolder { x: 1, opt: None, tail: String::new() },
            sk: Sk::default(),
            int: VInt::ItemOne { x: 0, mid: mid(0, 0) },
        };
        for (i, ops) in recipes.iter().enumerate() {
            let (after, _) = check(&mut f, &format!("recipe {i}: {ops:?}"), &state, |d| {
                for op in ops {
                    run(d, op);
                }
            });
            state = (*after).clone();
        }
        prop_assert!(f.failed.is_empty(), "{}", f.failed.join("\n"));
    }
}
