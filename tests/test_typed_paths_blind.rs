//! Typed paths checked blind, from the README and the rustdoc only: for many shapes, a recipe
//! changes one thing, and the typed path naming that thing (built with the builder and with
//! `path!`) must print the recorded patch's JSON Pointer, match it and touch it; a typed path
//! naming a sibling must neither match nor touch it; and the patches, applied by the
//! independent `json-patch` crate to serde's JSON of the state before, must give serde's JSON
//! of the state after (so the path is where serde writes the value). Then `touches` against a
//! model of its documented rules, on random patterns and patches.
//!
//! What these tests found, now mended: a whole flattened value written is a `replace` of the
//! parent's object (it had dropped the parent's other keys); a `skip_serializing_if` field
//! written whole adds or removes its key; a std `HashSet` that grows is replaced whole (its
//! elements move); a map keyed by `u128`/`i128` past 64 bits is recorded (it had failed); and a
//! key `*` or `**` is written `~2`, `~2~2` in a pattern's text, which parses back.

#![allow(
    clippy::too_many_lines,
    reason = "each test is a table of cases, read best whole"
)]
#![allow(
    clippy::unreadable_literal,
    reason = "seeds and rng constants are opaque numbers"
)]
#![allow(
    dead_code,
    reason = "the derive generates accessors and path methods that only some cases use"
)]
#![allow(
    clippy::many_single_char_names,
    reason = "`f` collects failures and one letter names the root of the typed paths of a case"
)]

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::sync::Arc;

use immer::{Draftable, Patch, PatchDraft, Path, PathPattern, PathSegment};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

// ---------------------------------------------------------------------------------------------
// The harness
// ---------------------------------------------------------------------------------------------

/// Failures of one test, all reported together at its end.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn fail(&mut self, what: String) {
        self.0.push(what);
    }

    fn finish(self) {
        assert!(
            self.0.is_empty(),
            "{} failure(s):\n{}",
            self.0.len(),
            self.0.join("\n")
        );
    }
}

/// A path as a pattern's text names it: its JSON Pointer, with a segment `*` or `**` written
/// `~2` or `~2~2` (the README's typed paths).
fn pattern_text(path: &Path) -> String {
    let mut text = String::new();
    for segment in path.segments() {
        let segment = segment.to_string();
        text.push('/');
        if segment == "*" || segment == "**" {
            text.push_str(&"~2".repeat(segment.len()));
        } else {
            text.push_str(&segment.replace('~', "~0").replace('/', "~1"));
        }
    }
    text
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

fn pats<const N: usize>(patterns: [PathPattern; N]) -> Vec<PathPattern> {
    patterns.into()
}

/// What one case expects of the patches its recipe records.
struct Expect {
    /// The typed paths naming the changed things by concrete indices and keys: each patch's
    /// pointer is the text of one of them, which matches and touches it.
    exact: Vec<PathPattern>,
    /// Other typed paths (wildcards, `path!`) naming it: each matches and touches every patch.
    covering: Vec<PathPattern>,
    /// Typed paths naming what holds it: each touches every patch and matches none.
    above: Vec<PathPattern>,
    /// Typed paths naming siblings: none matches or touches any patch.
    siblings: Vec<PathPattern>,
    /// The number of patches, when the recipe should record exactly so many.
    count: Option<usize>,
}

fn expect(exact: impl Into<PathPattern>) -> Expect {
    Expect {
        exact: vec![exact.into()],
        covering: Vec::new(),
        above: Vec::new(),
        siblings: Vec::new(),
        count: Some(1),
    }
}

/// A flattened field written whole: its keys sit in the parent's object, beside the parent's
/// others, so the write is one `replace` of the parent's object (the README's attribute
/// table); `json-patch` and the crate's applier check its value is serde's.
fn whole_parent(parent: impl Into<PathPattern>) -> Expect {
    expect(parent)
}

/// A recipe that records several patches, each at one of `exact`.
fn expect_each_at(exact: Vec<PathPattern>) -> Expect {
    Expect {
        exact,
        covering: Vec::new(),
        above: Vec::new(),
        siblings: Vec::new(),
        count: None,
    }
}

impl Expect {
    fn covering(mut self, patterns: Vec<PathPattern>) -> Expect {
        self.covering = patterns;
        self
    }

    fn above(mut self, patterns: Vec<PathPattern>) -> Expect {
        self.above = patterns;
        self
    }

    fn siblings(mut self, patterns: Vec<PathPattern>) -> Expect {
        self.siblings = patterns;
        self
    }

    fn count(mut self, count: Option<usize>) -> Expect {
        self.count = count;
        self
    }
}

/// Runs `recipe` on `before`, checks the patches against serde's JSON with `json-patch` and
/// against the typed paths of `expect`; returns the patches.
fn case<T: Draftable + std::fmt::Debug>(
    f: &mut Failures,
    name: &str,
    before: T,
    recipe: impl FnOnce(&mut PatchDraft<'_, '_, T>),
    expect: &Expect,
) -> Vec<Patch> {
    let base = Arc::new(before);
    let (after, patches, inverse) = match immer::try_produce_with_patches(&base, recipe) {
        Ok(produced) => produced.into_parts(),
        Err(e) => {
            f.fail(format!(
                "{name}: no patches for a state serde writes as {}: {e}",
                serde_json::to_string(&*base).unwrap()
            ));
            return Vec::new();
        }
    };
    let shown = serde_json::to_string(&patches).unwrap();
    let json_before = serde_json::to_value(&*base).unwrap();
    let json_after = serde_json::to_value(&*after).unwrap();
    if patches.is_empty() {
        f.fail(format!("{name}: the recipe recorded no patch"));
    }
    if let Some(count) = expect.count {
        if patches.len() != count {
            f.fail(format!(
                "{name}: {} patches, expected {count}: {shown}",
                patches.len()
            ));
        }
    }
    // (c) the paths are where serde writes the values.
    match json_apply(&json_before, &patches) {
        Ok(json) if json == json_after => {}
        Ok(json) => f.fail(format!(
            "{name}: json-patch of {shown} on {json_before} gives {json}, serde writes {json_after}"
        )),
        Err(e) => f.fail(format!(
            "{name}: json-patch cannot apply {shown} to {json_before}: {e}"
        )),
    }
    match json_apply(&json_after, &inverse) {
        Ok(json) if json == json_before => {}
        Ok(json) => f.fail(format!(
            "{name}: json-patch of the inverse on {json_after} gives {json}, serde writes {json_before}"
        )),
        Err(e) => f.fail(format!(
            "{name}: json-patch cannot apply the inverse {} to {json_after}: {e}",
            serde_json::to_string(&inverse).unwrap()
        )),
    }
    // And this crate's own applier agrees, both ways, for a type serde reads back (a write of
    // a whole value is applied through serde, and serde cannot read back some shapes it
    // writes, such as a flattened map beside a flattened struct that holds a flatten).
    let reads_back = |value: &T| {
        serde_json::from_value::<T>(serde_json::to_value(value).unwrap())
            .is_ok_and(|back| back == *value)
    };
    if !(reads_back(&base) && reads_back(&after)) {
        return patches;
    }
    match immer::apply_patches(&base, &patches) {
        Ok(applied) if *applied == *after => {}
        Ok(applied) => f.fail(format!(
            "{name}: apply_patches of {shown} gives {applied:?}, not {after:?}"
        )),
        Err(e) => f.fail(format!("{name}: apply_patches cannot apply {shown}: {e}")),
    }
    match immer::apply_patches(&after, &inverse) {
        Ok(applied) if *applied == *base => {}
        Ok(applied) => f.fail(format!(
            "{name}: apply_patches of the inverse gives {applied:?}, not {base:?}"
        )),
        Err(e) => f.fail(format!(
            "{name}: apply_patches cannot apply the inverse: {e}"
        )),
    }
    for patch in &patches {
        let pointer = patch.path.to_pointer();
        // (d) an exact typed path prints the patch's pointer, as a pattern writes it (a key
        // `*` or `**` as `~2` or `~2~2`, so that it does not read back as a wildcard).
        let as_pattern = pattern_text(&patch.path);
        let exact = expect.exact.iter().find(|e| e.to_string() == as_pattern);
        if exact.is_none() {
            let texts: Vec<String> = expect.exact.iter().map(ToString::to_string).collect();
            f.fail(format!(
                "{name}: the patch's path {pointer:?} is none of the typed paths {texts:?} ({shown})"
            ));
        }
        // (a) it, and the others naming the same thing, match and touch.
        for pattern in exact.into_iter().chain(&expect.covering) {
            if !pattern.matches(&patch.path) {
                f.fail(format!(
                    "{name}: typed path {:?} does not match the patch's path {pointer:?}",
                    pattern.to_string()
                ));
            }
            if !pattern.touches(patch) {
                f.fail(format!(
                    "{name}: typed path {:?} is not touched by {}",
                    pattern.to_string(),
                    serde_json::to_string(patch).unwrap()
                ));
            }
        }
        for pattern in &expect.above {
            if pattern.matches(&patch.path) {
                f.fail(format!(
                    "{name}: typed path {:?} above the change matches the patch's path {pointer:?}",
                    pattern.to_string()
                ));
            }
            if !pattern.touches(patch) {
                f.fail(format!(
                    "{name}: typed path {:?} above the change is not touched by {}",
                    pattern.to_string(),
                    serde_json::to_string(patch).unwrap()
                ));
            }
        }
        // (b) siblings do neither.
        for pattern in &expect.siblings {
            if pattern.matches(&patch.path) {
                f.fail(format!(
                    "{name}: sibling typed path {:?} matches the patch's path {pointer:?}",
                    pattern.to_string()
                ));
            }
            if pattern.touches(patch) {
                f.fail(format!(
                    "{name}: sibling typed path {:?} is touched by {}",
                    pattern.to_string(),
                    serde_json::to_string(patch).unwrap()
                ));
            }
        }
    }
    patches
}

fn text(pattern: impl Into<PathPattern>) -> String {
    pattern.into().to_string()
}

/// Checks that a typed path prints `expected`, and that the text parses back to itself.
fn prints(f: &mut Failures, pattern: impl Into<PathPattern>, expected: &str) {
    let pattern = pattern.into();
    let shown = pattern.to_string();
    if shown != expected {
        f.fail(format!(
            "typed path prints {shown:?}, expected {expected:?}"
        ));
    }
    match shown.parse::<PathPattern>() {
        Ok(back) if back == pattern => {}
        Ok(back) => f.fail(format!(
            "typed path {shown:?} parses back as another pattern ({:?})",
            back.to_string()
        )),
        Err(e) => f.fail(format!("typed path {shown:?} does not parse back: {e}")),
    }
}

fn at(pointer: &str) -> Path {
    Path::from_pointer(pointer).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Names that need escapes, and names that look like pattern syntax
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Odd {
    #[serde(rename = "a/b")]
    slash: u8,
    #[serde(rename = "a~b")]
    tilde: u8,
    #[serde(rename = "~1")]
    tilde_one: u8,
    #[serde(rename = "")]
    empty: u8,
    #[serde(rename = "*")]
    star: u8,
    #[serde(rename = "**")]
    star_star: Inner,
    #[serde(rename = "-")]
    dash: Vec<u8>,
    #[serde(rename = "7")]
    seven: u8,
    plain: u8,
    #[serde(rename = "with space")]
    spaced: u8,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
struct Inner {
    x: u8,
    y: u8,
}

fn odd() -> Odd {
    Odd {
        slash: 1,
        tilde: 1,
        tilde_one: 1,
        empty: 1,
        star: 1,
        star_star: Inner { x: 1, y: 1 },
        dash: vec![1, 2],
        seven: 1,
        plain: 1,
        spaced: 1,
    }
}

#[test]
fn field_names_that_need_escapes_or_look_like_wildcards() {
    let mut f = Failures::default();
    let p = immer::path::<Odd>;
    prints(&mut f, p().slash(), "/a~1b");
    prints(&mut f, p().tilde(), "/a~0b");
    prints(&mut f, p().tilde_one(), "/~01");
    prints(&mut f, p().empty(), "/");
    prints(&mut f, p().spaced(), "/with space");
    prints(&mut f, p().seven(), "/7");
    prints(&mut f, p().dash().at(1), "/-/1");
    // A literal `*` or `**` (a field serde writes so) has no escape in RFC 6901: a pattern
    // writes it `~2` or `~2~2`, so that its text parses back to the same pattern.
    prints(&mut f, p().star(), "/~2");
    prints(&mut f, p().star_star().x(), "/~2~2/x");
    let plain = || pats([p().plain().into(), p().seven().into(), p().empty().into()]);
    case(
        &mut f,
        "rename a/b",
        odd(),
        |d| d.set_slash(2),
        &expect(p().slash())
            .covering(pats([immer::path!(Odd: slash).into()]))
            .siblings(plain()),
    );
    case(
        &mut f,
        "rename a~b",
        odd(),
        |d| d.set_tilde(2),
        &expect(p().tilde()).siblings(pats([
            p().slash().into(),
            p().tilde_one().into(),
            p().plain().into(),
        ])),
    );
    case(
        &mut f,
        "rename ~1",
        odd(),
        |d| d.set_tilde_one(2),
        &expect(p().tilde_one()).siblings(pats([p().slash().into(), p().tilde().into()])),
    );
    case(
        &mut f,
        "rename to the empty name",
        odd(),
        |d| d.set_empty(2),
        &expect(p().empty()).siblings(pats([p().plain().into(), p().seven().into()])),
    );
    case(
        &mut f,
        "rename -, a push into it",
        odd(),
        |d| d.dash().push(3),
        &expect(p().dash().at(2))
            .covering(pats([
                p().dash().any().into(),
                immer::path!(Odd: dash[2]).into(),
            ]))
            .siblings(pats([p().dash().at(1).into(), p().plain().into()])),
    );
    // A field serde writes as `*`: its typed path names that field, not every field.
    case(
        &mut f,
        "a sibling of the field renamed *",
        odd(),
        |d| d.set_plain(2),
        &expect(p().plain()).siblings(pats([p().star().into()])),
    );
    case(
        &mut f,
        "the field renamed *",
        odd(),
        |d| d.set_star(2),
        &expect(p().star()).siblings(pats([p().plain().into(), p().seven().into()])),
    );
    // A field serde writes as `**`, with a field below it.
    case(
        &mut f,
        "a sibling of the field renamed **",
        odd(),
        |d| d.set_plain(2),
        &expect(p().plain()).siblings(pats([p().star_star().x().into(), p().star_star().into()])),
    );
    case(
        &mut f,
        "inside the field renamed **",
        odd(),
        |d| d.star_star().set_x(2),
        &expect(p().star_star().x()).siblings(pats([p().star_star().y().into()])),
    );
    f.finish();
}

#[test]
fn map_keys_that_need_escapes_or_look_like_wildcards() {
    type Keys = BTreeMap<String, Inner>;
    let mut f = Failures::default();
    let p = immer::path::<Keys>;
    let keys = || -> Keys {
        ["a/b", "~", "*", "**", "", "-", "0", "plain", "~1"]
            .into_iter()
            .map(|k| (k.to_owned(), Inner::default()))
            .collect()
    };
    prints(&mut f, p().key("a/b").x(), "/a~1b/x");
    prints(&mut f, p().key("~").x(), "/~0/x");
    prints(&mut f, p().key("~1").x(), "/~01/x");
    prints(&mut f, p().key("").x(), "//x");
    prints(&mut f, p().key("*").x(), "/~2/x");
    prints(&mut f, p().key("**").x(), "/~2~2/x");
    for key in ["a/b", "~", "", "-", "0", "plain", "~1", "*", "**"] {
        case(
            &mut f,
            &format!("map key {key:?}"),
            keys(),
            |d| d.get_mut(key).unwrap().set_x(5),
            &expect(p().key(key).x())
                .covering(pats([p().any().x().into(), p().key(key).everything()]))
                .above(pats([p().key(key).into(), p().any().into()]))
                .siblings(pats([p().key(key).y().into()])),
        );
        // A write at the key "plain" is not inside what the key names.
        if key != "plain" {
            case(
                &mut f,
                &format!("a sibling of map key {key:?}"),
                keys(),
                |d| d.get_mut("plain").unwrap().set_x(5),
                &expect(p().key("plain").x()).siblings(pats([p().key(key).x().into()])),
            );
        }
    }
    // Adding and removing keys.
    case(
        &mut f,
        "insert the key *",
        Keys::new(),
        |d| {
            d.insert("*".into(), Inner::default());
        },
        &expect(p().key("*")).covering(pats([p().any().into()])),
    );
    case(
        &mut f,
        "insert a key beside *",
        BTreeMap::from([("*".to_owned(), Inner::default())]),
        |d| {
            d.insert("b".into(), Inner::default());
        },
        &expect(p().key("b")).siblings(pats([p().key("*").into(), p().key("*").x().into()])),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// rename_all (every rule), rename_all_fields, a variant's own rename_all
// ---------------------------------------------------------------------------------------------

macro_rules! rename_rule {
    ($module:ident, $rule:literal) => {
        #[allow(
            clippy::double_must_use,
            reason = "the derive's path methods of a `pub(crate)` enum in a module trip it"
        )]
        mod $module {
            use super::*;

            #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize, Default)]
            #[serde(rename_all = $rule)]
            pub(crate) struct Fields {
                pub(crate) due_date: u8,
                pub(crate) http_url: u8,
                pub(crate) r#type: u8,
                pub(crate) field2d: u8,
                pub(crate) a: u8,
                pub(crate) x_y_z: Vec<u8>,
            }

            #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
            #[serde(rename_all = $rule)]
            pub(crate) enum Variants {
                BigCircle { radius_cm: u8 },
                #[allow(clippy::upper_case_acronyms, reason = "the name is the case under test")]
                HTTPServer(u8, u8),
                V2(Fields),
                A,
            }

            #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
            #[serde(tag = "kind", rename_all = $rule, rename_all_fields = $rule)]
            pub(crate) enum Tagged {
                BigCircle {
                    radius_cm: u8,
                    http_url: u8,
                },
                #[serde(rename_all = "SCREAMING-KEBAB-CASE")]
                OwnRule {
                    radius_cm: u8,
                    http_url: u8,
                },
            }

            #[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
            pub(crate) struct Holder {
                pub(crate) fields: Fields,
                pub(crate) variants: Vec<Variants>,
                pub(crate) tagged: BTreeMap<String, Tagged>,
            }

            fn holder() -> Holder {
                Holder {
                    fields: Fields::default(),
                    variants: vec![
                        Variants::BigCircle { radius_cm: 1 },
                        Variants::HTTPServer(1, 2),
                        Variants::V2(Fields::default()),
                        Variants::A,
                    ],
                    tagged: BTreeMap::from([
                        (
                            "c".to_owned(),
                            Tagged::BigCircle {
                                radius_cm: 1,
                                http_url: 1,
                            },
                        ),
                        (
                            "o".to_owned(),
                            Tagged::OwnRule {
                                radius_cm: 1,
                                http_url: 1,
                            },
                        ),
                    ]),
                }
            }

            pub(crate) fn check(f: &mut Failures) -> usize {
                let p = immer::path::<Holder>;
                let fields = || {
                    pats([
                        p().fields().due_date().into(),
                        p().fields().http_url().into(),
                        p().fields().r#type().into(),
                        p().fields().field2d().into(),
                        p().fields().a().into(),
                        p().fields().x_y_z().into(),
                    ])
                };
                let others = |i: usize| {
                    let mut all = fields();
                    all.remove(i);
                    all
                };
                let name = |what: &str| format!("{} {what}", $rule);
                case(
                    f,
                    &name("due_date"),
                    holder(),
                    |d| d.fields().set_due_date(9),
                    &expect(p().fields().due_date())
                        .covering(pats([immer::path!(Holder: fields.due_date).into()]))
                        .siblings(others(0)),
                );
                case(
                    f,
                    &name("http_url"),
                    holder(),
                    |d| d.fields().set_http_url(9),
                    &expect(p().fields().http_url()).siblings(others(1)),
                );
                case(
                    f,
                    &name("r#type"),
                    holder(),
                    |d| d.fields().set_type(9),
                    &expect(p().fields().r#type())
                        .covering(pats([immer::path!(Holder: fields.r#type).into()]))
                        .siblings(others(2)),
                );
                case(
                    f,
                    &name("field2d"),
                    holder(),
                    |d| d.fields().set_field2d(9),
                    &expect(p().fields().field2d()).siblings(others(3)),
                );
                case(
                    f,
                    &name("a"),
                    holder(),
                    |d| d.fields().set_a(9),
                    &expect(p().fields().a()).siblings(others(4)),
                );
                case(
                    f,
                    &name("x_y_z push"),
                    holder(),
                    |d| d.fields().x_y_z().push(9),
                    &expect(p().fields().x_y_z().at(0))
                        .covering(pats([
                            p().fields().x_y_z().any().into(),
                            immer::path!(Holder: fields.x_y_z[0]).into(),
                            immer::path!(Holder: fields.x_y_z[*]).into(),
                        ]))
                        .above(pats([p().fields().x_y_z().into()]))
                        .siblings(others(5)),
                );
                let v = || p().variants();
                case(
                    f,
                    &name("variant BigCircle"),
                    holder(),
                    |d| {
                        if let VariantsVariantDraft::BigCircle(mut c) =
                            d.variants().get_mut(0).unwrap().variant()
                        {
                            c.set_radius_cm(5);
                        }
                    },
                    &expect(v().at(0).big_circle().radius_cm())
                        .covering(pats([
                            v().any().big_circle().radius_cm().into(),
                            immer::path!(Holder: variants[0].big_circle.radius_cm).into(),
                        ]))
                        .above(pats([v().at(0).big_circle().into()]))
                        .siblings(pats([
                            v().any().h_t_t_p_server().into(),
                            v().any().v2().into(),
                            v().at(1).into(),
                        ])),
                );
                case(
                    f,
                    &name("variant HTTPServer"),
                    holder(),
                    |d| {
                        if let VariantsVariantDraft::HTTPServer(mut s) =
                            d.variants().get_mut(1).unwrap().variant()
                        {
                            s.set_1(5);
                        }
                    },
                    &expect(v().at(1).h_t_t_p_server()._1())
                        .covering(pats([immer::path!(Holder: variants[1].h_t_t_p_server._1).into()]))
                        .siblings(pats([
                            v().any().h_t_t_p_server()._0().into(),
                            v().any().big_circle().into(),
                        ])),
                );
                case(
                    f,
                    &name("variant V2 (newtype)"),
                    holder(),
                    |d| {
                        if let VariantsVariantDraft::V2(mut s) =
                            d.variants().get_mut(2).unwrap().variant()
                        {
                            s._0().set_http_url(5);
                        }
                    },
                    &expect(v().at(2).v2().http_url())
                        .covering(pats([immer::path!(Holder: variants[2].v2.http_url).into()]))
                        .siblings(pats([
                            v().any().v2().due_date().into(),
                            v().any().big_circle().into(),
                        ])),
                );
                case(
                    f,
                    &name("variant switch to A"),
                    holder(),
                    |d| d.variants().get_mut(2).unwrap().set(Variants::A),
                    &expect(v().at(2))
                        .above(pats([v().at(2).v2().into()]))
                        .siblings(pats([v().at(3).into()])),
                );
                let t = || p().tagged();
                case(
                    f,
                    &name("rename_all_fields"),
                    holder(),
                    |d| {
                        if let TaggedVariantDraft::BigCircle(mut c) =
                            d.tagged().get_mut("c").unwrap().variant()
                        {
                            c.set_http_url(5);
                        }
                    },
                    &expect(t().key("c").big_circle().http_url())
                        .covering(pats([t().any().big_circle().http_url().into()]))
                        .siblings(pats([t().any().big_circle().radius_cm().into()])),
                );
                case(
                    f,
                    &name("a variant's own rename_all"),
                    holder(),
                    |d| {
                        if let TaggedVariantDraft::OwnRule(mut c) =
                            d.tagged().get_mut("o").unwrap().variant()
                        {
                            c.set_radius_cm(5);
                        }
                    },
                    &expect(t().key("o").own_rule().radius_cm())
                        .covering(pats([t().any().own_rule().radius_cm().into()]))
                        .siblings(
                            pats([
                                t().any().own_rule().http_url().into(),
                                t().any().big_circle().radius_cm().into(),
                            ])
                            .into_iter()
                            // Under the same rule both variants write `radius_cm` alike.
                            .filter(|s| s.to_string() != text(t().any().own_rule().radius_cm()))
                            .collect(),
                        ),
                );
                12
            }
        }
    };
}

rename_rule!(rule_lower, "lowercase");
rename_rule!(rule_upper, "UPPERCASE");
rename_rule!(rule_pascal, "PascalCase");
rename_rule!(rule_camel, "camelCase");
rename_rule!(rule_snake, "snake_case");
rename_rule!(rule_screaming_snake, "SCREAMING_SNAKE_CASE");
rename_rule!(rule_kebab, "kebab-case");
rename_rule!(rule_screaming_kebab, "SCREAMING-KEBAB-CASE");

#[test]
fn every_rename_rule_on_fields_variants_and_fields_of_variants() {
    let mut f = Failures::default();
    let mut cases = 0;
    cases += rule_lower::check(&mut f);
    cases += rule_upper::check(&mut f);
    cases += rule_pascal::check(&mut f);
    cases += rule_camel::check(&mut f);
    cases += rule_snake::check(&mut f);
    cases += rule_screaming_snake::check(&mut f);
    cases += rule_kebab::check(&mut f);
    cases += rule_screaming_kebab::check(&mut f);
    assert_eq!(cases, 96);
    f.finish();
}

/// `rename` and `rename_all` with different names for serializing and deserializing: the
/// patches are in serde's written JSON, so the paths take the serialize names.
#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase", deserialize = "snake_case"))]
struct TwoWay {
    due_date: u8,
    #[serde(rename(serialize = "out", deserialize = "in"))]
    both_ways: u8,
    #[serde(rename(deserialize = "only_in"))]
    read_name: u8,
    #[serde(alias = "other")]
    aliased: u8,
    choice: TwoWayEnum,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "kebab-case"))]
enum TwoWayEnum {
    #[serde(rename(serialize = "first-out"))]
    First {
        big_value: u8,
    },
    SecondOne {
        big_value: u8,
    },
}

#[test]
fn serialize_names_differ_from_deserialize_names() {
    let mut f = Failures::default();
    let p = immer::path::<TwoWay>;
    let two_way = || TwoWay {
        due_date: 1,
        both_ways: 1,
        read_name: 1,
        aliased: 1,
        choice: TwoWayEnum::First { big_value: 1 },
    };
    let all = || {
        pats([
            p().due_date().into(),
            p().both_ways().into(),
            p().read_name().into(),
            p().aliased().into(),
            p().choice().into(),
        ])
    };
    let without = |i: usize| {
        let mut v = all();
        v.remove(i);
        v
    };
    case(
        &mut f,
        "rename_all(serialize)",
        two_way(),
        |d| d.set_due_date(2),
        &expect(p().due_date()).siblings(without(0)),
    );
    case(
        &mut f,
        "rename(serialize, deserialize)",
        two_way(),
        |d| d.set_both_ways(2),
        &expect(p().both_ways()).siblings(without(1)),
    );
    case(
        &mut f,
        "rename(deserialize) only",
        two_way(),
        |d| d.set_read_name(2),
        &expect(p().read_name()).siblings(without(2)),
    );
    case(
        &mut f,
        "alias",
        two_way(),
        |d| d.set_aliased(2),
        &expect(p().aliased()).siblings(without(3)),
    );
    case(
        &mut f,
        "variant rename(serialize)",
        two_way(),
        |d| {
            if let TwoWayEnumVariantDraft::First(mut v) = d.choice().variant() {
                v.set_big_value(2);
            }
        },
        &expect(p().choice().first().big_value())
            .covering(pats([immer::path!(TwoWay: choice.first.big_value).into()]))
            .siblings(pats([p().choice().second_one().into()])),
    );
    case(
        &mut f,
        "variant rename_all(serialize)",
        TwoWay {
            choice: TwoWayEnum::SecondOne { big_value: 1 },
            ..two_way()
        },
        |d| {
            if let TwoWayEnumVariantDraft::SecondOne(mut v) = d.choice().variant() {
                v.set_big_value(2);
            }
        },
        &expect(p().choice().second_one().big_value())
            .siblings(pats([p().choice().first().into()])),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// The four enum representations, each with unit, tuple, newtype and struct variants, nested in
// lists, maps and options
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Ext {
    Unit,
    Tuple(u8, String),
    Newtype(Inner),
    NewList(Vec<u8>),
    NewMap(BTreeMap<String, u8>),
    NewOpt(Option<Inner>),
    Struct { a: u8, inner: Inner },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t")]
enum Int {
    Unit,
    Newtype(Inner),
    NewMap(BTreeMap<String, u8>),
    Nested(IntInner),
    Struct { a: u8, inner: Inner },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "u")]
enum IntInner {
    Deep { z: u8 },
    Other { z: u8 },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
enum Adj {
    Unit,
    Tuple(u8, String),
    Newtype(Inner),
    NewList(Vec<u8>),
    Struct { a: u8, inner: Inner },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Unt {
    Struct { a: u8, inner: Inner },
    Tuple(u8, String),
    List(Vec<u8>),
    Unit,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Enums {
    ext: Vec<Ext>,
    int: BTreeMap<String, Int>,
    adj: Option<Adj>,
    unt: Vec<Unt>,
    opt_ext: Option<Ext>,
}

fn inner() -> Inner {
    Inner { x: 1, y: 2 }
}

fn enums() -> Enums {
    Enums {
        ext: vec![
            Ext::Unit,
            Ext::Tuple(1, "a".into()),
            Ext::Newtype(inner()),
            Ext::NewList(vec![1, 2]),
            Ext::NewMap(BTreeMap::from([("k".to_owned(), 1)])),
            Ext::NewOpt(None),
            Ext::Struct {
                a: 1,
                inner: inner(),
            },
        ],
        int: BTreeMap::from([
            ("unit".to_owned(), Int::Unit),
            ("newtype".to_owned(), Int::Newtype(inner())),
            (
                "map".to_owned(),
                Int::NewMap(BTreeMap::from([("k".to_owned(), 1)])),
            ),
            ("nested".to_owned(), Int::Nested(IntInner::Deep { z: 1 })),
            (
                "struct".to_owned(),
                Int::Struct {
                    a: 1,
                    inner: inner(),
                },
            ),
        ]),
        adj: Some(Adj::Newtype(inner())),
        unt: vec![
            Unt::Struct {
                a: 1,
                inner: inner(),
            },
            Unt::Tuple(1, "a".into()),
            Unt::List(vec![1]),
            Unit_(),
        ],
        opt_ext: Some(Ext::Tuple(1, "a".into())),
    }
}

#[allow(non_snake_case, reason = "reads as the variant it builds")]
fn Unit_() -> Unt {
    Unt::Unit
}

#[test]
fn externally_tagged_variants_in_a_list_and_an_option() {
    let mut f = Failures::default();
    let e = || immer::path::<Enums>().ext();
    case(
        &mut f,
        "ext tuple element",
        enums(),
        |d| {
            if let ExtVariantDraft::Tuple(mut t) = d.ext().get_mut(1).unwrap().variant() {
                t.set_1("b".into());
            }
        },
        &expect(e().at(1).tuple()._1())
            .covering(pats([
                e().any().tuple()._1().into(),
                immer::path!(Enums: ext[1].tuple._1).into(),
                immer::path!(Enums: ext[*].tuple._1).into(),
            ]))
            .above(pats([e().at(1).tuple().into(), e().at(1).into()]))
            .siblings(pats([
                e().any().tuple()._0().into(),
                e().any().newtype().into(),
                e().at(0).into(),
            ])),
    );
    case(
        &mut f,
        "ext newtype's field",
        enums(),
        |d| {
            if let ExtVariantDraft::Newtype(mut t) = d.ext().get_mut(2).unwrap().variant() {
                t._0().set_y(7);
            }
        },
        &expect(e().at(2).newtype().y())
            .covering(pats([immer::path!(Enums: ext[*].newtype.y).into()]))
            .above(pats([e().at(2).newtype().into()]))
            .siblings(pats([
                e().any().newtype().x().into(),
                e().any().tuple().into(),
            ])),
    );
    case(
        &mut f,
        "ext newtype of a list: push",
        enums(),
        |d| {
            if let ExtVariantDraft::NewList(mut t) = d.ext().get_mut(3).unwrap().variant() {
                t._0().push(3);
            }
        },
        &expect(e().at(3).new_list().at(2))
            .covering(pats([e().any().new_list().any().into()]))
            .above(pats([e().at(3).new_list().into()]))
            .siblings(pats([
                e().any().new_map().into(),
                e().at(3).new_list().at(1).into(),
            ])),
    );
    case(
        &mut f,
        "ext newtype of a list: remove",
        enums(),
        |d| {
            if let ExtVariantDraft::NewList(mut t) = d.ext().get_mut(3).unwrap().variant() {
                t._0().remove(0);
            }
        },
        &expect(e().at(3).new_list().at(0))
            // The element after it moves: what `at(1)` named is now elsewhere.
            .above(pats([e().at(3).new_list().at(1).into()]))
            .siblings(pats([e().at(2).into(), e().any().new_map().any().into()])),
    );
    case(
        &mut f,
        "ext newtype of a map: insert",
        enums(),
        |d| {
            if let ExtVariantDraft::NewMap(mut t) = d.ext().get_mut(4).unwrap().variant() {
                t._0().insert("n".into(), 2);
            }
        },
        &expect(e().at(4).new_map().key("n"))
            .covering(pats([e().any().new_map().any().into()]))
            .siblings(pats([e().any().new_map().key("k").into()])),
    );
    case(
        &mut f,
        "ext newtype of an option: Some",
        enums(),
        |d| {
            if let ExtVariantDraft::NewOpt(mut t) = d.ext().get_mut(5).unwrap().variant() {
                t._0().set(Some(inner()));
            }
        },
        &expect(e().at(5).new_opt())
            .above(pats([e().at(5).new_opt().x().into()]))
            .siblings(pats([e().at(4).into(), e().any().newtype().into()])),
    );
    case(
        &mut f,
        "ext struct variant's nested field",
        enums(),
        |d| {
            if let ExtVariantDraft::Struct(mut t) = d.ext().get_mut(6).unwrap().variant() {
                t.inner().set_x(9);
            }
        },
        &expect(e().at(6).r#struct().inner().x())
            .covering(pats([immer::path!(Enums: ext[6].r#struct.inner.x).into()]))
            .siblings(pats([
                e().any().r#struct().a().into(),
                e().any().r#struct().inner().y().into(),
            ])),
    );
    case(
        &mut f,
        "ext switch a variant",
        enums(),
        |d| d.ext().get_mut(0).unwrap().set(Ext::Newtype(inner())),
        &expect(e().at(0))
            .covering(pats([e().any().into()]))
            .above(pats([e().at(0).newtype().x().into()]))
            .siblings(pats([e().at(1).into()])),
    );
    case(
        &mut f,
        "ext insert a variant",
        enums(),
        |d| {
            d.ext().insert(1, Ext::Unit).unwrap();
        },
        &expect(e().at(1))
            .above(pats([e().at(6).r#struct().a().into()]))
            .siblings(pats([e().at(0).into()])),
    );
    let o = || immer::path::<Enums>().opt_ext();
    case(
        &mut f,
        "ext in an option: a tuple element",
        enums(),
        |d| {
            if let Some(mut x) = d.opt_ext().get_mut() {
                if let ExtVariantDraft::Tuple(mut t) = x.variant() {
                    t.set_0(4);
                }
            }
        },
        &expect(o().tuple()._0()).siblings(pats([
            o().tuple()._1().into(),
            immer::path::<Enums>().ext().into(),
        ])),
    );
    case(
        &mut f,
        "ext in an option: None",
        enums(),
        |d| d.opt_ext().set(None),
        &expect(o()).above(pats([o().tuple()._0().into()])),
    );
    f.finish();
}

#[test]
fn internally_tagged_variants_in_a_map() {
    let mut f = Failures::default();
    let m = || immer::path::<Enums>().int();
    case(
        &mut f,
        "int newtype's field",
        enums(),
        |d| {
            if let IntVariantDraft::Newtype(mut t) = d.int().get_mut("newtype").unwrap().variant() {
                t._0().set_x(9);
            }
        },
        &expect(m().key("newtype").newtype().x())
            .covering(pats([
                m().any().newtype().x().into(),
                immer::path!(Enums: int).key("newtype").newtype().x().into(),
            ]))
            .above(pats([m().key("newtype").newtype().into()]))
            .siblings(pats([
                m().any().newtype().y().into(),
                m().key("unit").into(),
            ])),
    );
    case(
        &mut f,
        "int newtype of a map: insert",
        enums(),
        |d| {
            if let IntVariantDraft::NewMap(mut t) = d.int().get_mut("map").unwrap().variant() {
                t._0().insert("n".into(), 2);
            }
        },
        &expect(m().key("map").new_map().key("n"))
            .covering(pats([m().any().new_map().any().into()]))
            .siblings(pats([m().key("map").new_map().key("k").into()])),
    );
    case(
        &mut f,
        "int newtype of a map: modify",
        enums(),
        |d| {
            if let IntVariantDraft::NewMap(mut t) = d.int().get_mut("map").unwrap().variant() {
                t._0().get_mut("k").unwrap().set(5);
            }
        },
        &expect(m().key("map").new_map().key("k")).siblings(pats([m()
            .key("map")
            .new_map()
            .key("n")
            .into()])),
    );
    case(
        &mut f,
        "int newtype of an internally tagged enum",
        enums(),
        |d| {
            if let IntVariantDraft::Nested(mut t) = d.int().get_mut("nested").unwrap().variant() {
                if let IntInnerVariantDraft::Deep(mut deep) = t._0().variant() {
                    deep.set_z(3);
                }
            }
        },
        &expect(m().key("nested").nested().deep().z())
            .covering(pats([m().any().nested().deep().z().into()]))
            .siblings(pats([
                m().key("struct").into(),
                m().any().r#struct().a().into(),
            ])),
    );
    case(
        &mut f,
        "int struct's field",
        enums(),
        |d| {
            if let IntVariantDraft::Struct(mut t) = d.int().get_mut("struct").unwrap().variant() {
                t.inner().set_y(3);
            }
        },
        &expect(m().key("struct").r#struct().inner().y())
            .covering(pats([immer::path!(Enums: int)
                .any()
                .r#struct()
                .inner()
                .y()
                .into()]))
            .siblings(pats([
                m().any().r#struct().a().into(),
                m().any().r#struct().inner().x().into(),
            ])),
    );
    case(
        &mut f,
        "int switch unit to struct",
        enums(),
        |d| {
            d.int().get_mut("unit").unwrap().set(Int::Struct {
                a: 1,
                inner: inner(),
            });
        },
        &expect(m().key("unit"))
            .above(pats([m().key("unit").r#struct().a().into()]))
            .siblings(pats([m().key("struct").into()])),
    );
    case(
        &mut f,
        "int remove an entry",
        enums(),
        |d| {
            d.int().remove("newtype");
        },
        &expect(m().key("newtype"))
            .above(pats([m().key("newtype").newtype().x().into()]))
            .siblings(pats([
                m().key("nested").into(),
                m().key("struct").r#struct().a().into(),
            ])),
    );
    f.finish();
}

#[test]
fn adjacently_tagged_variants_in_an_option() {
    let mut f = Failures::default();
    let a = || immer::path::<Enums>().adj();
    case(
        &mut f,
        "adj newtype's field",
        enums(),
        |d| {
            if let Some(mut x) = d.adj().get_mut() {
                if let AdjVariantDraft::Newtype(mut t) = x.variant() {
                    t._0().set_x(9);
                }
            }
        },
        &expect(a().newtype().x())
            .covering(pats([immer::path!(Enums: adj.newtype.x).into()]))
            .above(pats([a().newtype().into(), a().into()]))
            .siblings(pats([a().newtype().y().into(), a().tuple()._0().into()])),
    );
    let with = |adj: Adj| Enums {
        adj: Some(adj),
        ..enums()
    };
    case(
        &mut f,
        "adj tuple's element",
        with(Adj::Tuple(1, "a".into())),
        |d| {
            if let Some(mut x) = d.adj().get_mut() {
                if let AdjVariantDraft::Tuple(mut t) = x.variant() {
                    t.set_1("b".into());
                }
            }
        },
        &expect(a().tuple()._1())
            .covering(pats([immer::path!(Enums: adj.tuple._1).into()]))
            .siblings(pats([a().tuple()._0().into()])),
    );
    case(
        &mut f,
        "adj newtype of a list: insert at the front",
        with(Adj::NewList(vec![1, 2])),
        |d| {
            if let Some(mut x) = d.adj().get_mut() {
                if let AdjVariantDraft::NewList(mut t) = x.variant() {
                    t._0().insert(0, 0).unwrap();
                }
            }
        },
        &expect(a().new_list().at(0))
            .covering(pats([a().new_list().any().into()]))
            .above(pats([a().new_list().at(1).into()])),
    );
    case(
        &mut f,
        "adj struct's field",
        with(Adj::Struct {
            a: 1,
            inner: inner(),
        }),
        |d| {
            if let Some(mut x) = d.adj().get_mut() {
                if let AdjVariantDraft::Struct(mut t) = x.variant() {
                    t.set_a(2);
                }
            }
        },
        &expect(a().r#struct().a()).siblings(pats([a().r#struct().inner().into()])),
    );
    case(
        &mut f,
        "adj switch to unit",
        enums(),
        |d| {
            if let Some(mut x) = d.adj().get_mut() {
                x.set(Adj::Unit);
            }
        },
        &expect(a())
            .above(pats([a().newtype().x().into()]))
            .siblings(pats([immer::path::<Enums>().unt().into()])),
    );
    f.finish();
}

#[test]
fn untagged_variants_in_a_list() {
    let mut f = Failures::default();
    let u = || immer::path::<Enums>().unt();
    case(
        &mut f,
        "untagged struct's field",
        enums(),
        |d| {
            if let UntVariantDraft::Struct(mut t) = d.unt().get_mut(0).unwrap().variant() {
                t.inner().set_x(3);
            }
        },
        &expect(u().at(0).r#struct().inner().x())
            .covering(pats([u().any().r#struct().inner().x().into()]))
            .siblings(pats([u().any().r#struct().a().into(), u().at(1).into()])),
    );
    case(
        &mut f,
        "untagged tuple's element",
        enums(),
        |d| {
            if let UntVariantDraft::Tuple(mut t) = d.unt().get_mut(1).unwrap().variant() {
                t.set_1("z".into());
            }
        },
        &expect(u().at(1).tuple()._1())
            .covering(pats([immer::path!(Enums: unt[1].tuple._1).into()]))
            .siblings(pats([
                u().at(1).tuple()._0().into(),
                u().any().r#struct().a().into(),
            ])),
    );
    case(
        &mut f,
        "untagged newtype of a list: push",
        enums(),
        |d| {
            if let UntVariantDraft::List(mut t) = d.unt().get_mut(2).unwrap().variant() {
                t._0().push(2);
            }
        },
        &expect(u().at(2).list().at(1))
            .covering(pats([u().any().list().any().into()]))
            .siblings(pats([u().at(2).list().at(0).into()])),
    );
    case(
        &mut f,
        "untagged switch unit to tuple",
        enums(),
        |d| {
            d.unt()
                .get_mut(3)
                .unwrap()
                .set(Unt::Tuple(0, String::new()));
        },
        &expect(u().at(3))
            .above(pats([u().at(3).tuple()._0().into()]))
            .siblings(pats([u().at(2).into()])),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// flatten: a struct, a map, an option, enums, inside variants, twice
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Flat {
    title: String,
    #[serde(flatten)]
    meta: FlatMeta,
    #[serde(flatten)]
    shape: FlatShape,
    #[serde(flatten)]
    kind: FlatKind,
    #[serde(flatten)]
    extra: BTreeMap<String, u8>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct FlatMeta {
    author_name: String,
    tags: Vec<String>,
    #[serde(flatten)]
    deeper: FlatDeeper,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FlatDeeper {
    depth: u8,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum FlatShape {
    Circle { r: u8 },
    Square(u8),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum FlatKind {
    Note { body: String },
    Task { done: bool },
}

fn flat() -> Flat {
    Flat {
        title: "t".into(),
        meta: FlatMeta {
            author_name: "a".into(),
            tags: vec!["x".into()],
            deeper: FlatDeeper { depth: 1 },
        },
        shape: FlatShape::Circle { r: 1 },
        kind: FlatKind::Note { body: "b".into() },
        extra: BTreeMap::from([("e1".to_owned(), 1)]),
    }
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum FlatVariant {
    Ext {
        id: u8,
        #[serde(flatten)]
        meta: FlatDeeper,
    },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k", content = "c")]
enum FlatAdjacent {
    Adj {
        id: u8,
        #[serde(flatten)]
        more: BTreeMap<String, u8>,
    },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FlatOpt {
    id: u8,
    #[serde(flatten)]
    opt: Option<FlatDeeper>,
}

#[test]
fn flattened_fields_sit_in_their_parent() {
    let mut f = Failures::default();
    let p = immer::path::<Flat>;
    prints(&mut f, p().meta().author_name(), "/authorName");
    prints(&mut f, p().meta().deeper().depth(), "/depth");
    prints(&mut f, p().shape().circle().r(), "/Circle/r");
    prints(&mut f, p().kind().task().done(), "/done");
    prints(&mut f, p().extra().key("e1"), "/e1");
    case(
        &mut f,
        "flatten a struct: its field",
        flat(),
        |d| d.meta().set_author_name("b".into()),
        &expect(p().meta().author_name())
            .covering(pats([immer::path!(Flat: meta.author_name).into()]))
            .siblings(pats([
                p().title().into(),
                p().meta().tags().into(),
                p().extra().key("e1").into(),
            ])),
    );
    case(
        &mut f,
        "flatten a struct: push to its list",
        flat(),
        |d| d.meta().tags().push("y".into()),
        &expect(p().meta().tags().at(1))
            .covering(pats([immer::path!(Flat: meta.tags[*]).into()]))
            .above(pats([p().meta().tags().into()]))
            .siblings(pats([p().title().into(), p().meta().tags().at(0).into()])),
    );
    case(
        &mut f,
        "flatten twice",
        flat(),
        |d| d.meta().deeper().set_depth(2),
        &expect(p().meta().deeper().depth())
            .covering(pats([immer::path!(Flat: meta.deeper.depth).into()]))
            .siblings(pats([p().title().into(), p().meta().author_name().into()])),
    );
    case(
        &mut f,
        "flatten an externally tagged enum: its field",
        flat(),
        |d| {
            if let FlatShapeVariantDraft::Circle(mut c) = d.shape().variant() {
                c.set_r(2);
            }
        },
        &expect(p().shape().circle().r())
            .covering(pats([immer::path!(Flat: shape.circle.r).into()]))
            .siblings(pats([p().title().into(), p().shape().square().into()])),
    );
    case(
        &mut f,
        "flatten an internally tagged enum: its field",
        flat(),
        |d| {
            if let FlatKindVariantDraft::Note(mut c) = d.kind().variant() {
                c.set_body("c".into());
            }
        },
        &expect(p().kind().note().body())
            .siblings(pats([p().title().into(), p().kind().task().done().into()])),
    );
    case(
        &mut f,
        "flatten a map: insert",
        flat(),
        |d| {
            d.extra().insert("e2".into(), 2);
        },
        &expect(p().extra().key("e2"))
            .siblings(pats([p().title().into(), p().extra().key("e1").into()])),
    );
    case(
        &mut f,
        "flatten a map: remove",
        flat(),
        |d| {
            d.extra().remove("e1");
        },
        &expect(p().extra().key("e1"))
            .siblings(pats([p().title().into(), p().meta().tags().into()])),
    );
    // A whole flattened value written: its keys sit beside the parent's others, so the write
    // is one `replace` of the parent's object (`whole_parent`), which keeps the others.
    case(
        &mut f,
        "flatten a map: clear",
        flat(),
        |d| d.extra().clear(),
        &expect(p().extra().key("e1")).siblings(pats([p().title().into()])),
    );
    case(
        &mut f,
        "flatten a map: set whole",
        flat(),
        |d| d.set_extra(BTreeMap::from([("e2".to_owned(), 2)])),
        &whole_parent(p()),
    );
    case(
        &mut f,
        "flatten a struct: set whole",
        flat(),
        |d| {
            d.set_meta(FlatMeta {
                author_name: "z".into(),
                tags: vec![],
                deeper: FlatDeeper { depth: 1 },
            });
        },
        &whole_parent(p()),
    );
    case(
        &mut f,
        "flatten an externally tagged enum: switch",
        flat(),
        |d| d.shape().set(FlatShape::Square(3)),
        &whole_parent(p()),
    );
    case(
        &mut f,
        "flatten an internally tagged enum: switch",
        flat(),
        |d| d.kind().set(FlatKind::Task { done: true }),
        &whole_parent(p()),
    );
    let v = immer::path::<FlatVariant>;
    case(
        &mut f,
        "flatten in a struct variant",
        FlatVariant::Ext {
            id: 1,
            meta: FlatDeeper { depth: 1 },
        },
        |d| {
            let FlatVariantVariantDraft::Ext(mut e) = d.variant();
            e.meta().set_depth(2);
        },
        &expect(v().ext().meta().depth())
            .covering(pats([immer::path!(FlatVariant: ext.meta.depth).into()]))
            .siblings(pats([v().ext().id().into()])),
    );
    case(
        &mut f,
        "flatten in a struct variant: set whole",
        FlatVariant::Ext {
            id: 1,
            meta: FlatDeeper { depth: 1 },
        },
        |d| {
            let FlatVariantVariantDraft::Ext(mut e) = d.variant();
            e.set_meta(FlatDeeper { depth: 2 });
        },
        &whole_parent(v().ext()),
    );
    let a = immer::path::<FlatAdjacent>;
    case(
        &mut f,
        "flatten a map in an adjacently tagged variant",
        FlatAdjacent::Adj {
            id: 1,
            more: BTreeMap::new(),
        },
        |d| {
            let FlatAdjacentVariantDraft::Adj(mut e) = d.variant();
            e.more().insert("m".into(), 2);
        },
        &expect(a().adj().more().key("m")).siblings(pats([a().adj().id().into()])),
    );
    let o = immer::path::<FlatOpt>;
    case(
        &mut f,
        "flatten an option: its field",
        FlatOpt {
            id: 1,
            opt: Some(FlatDeeper { depth: 1 }),
        },
        |d| d.opt().get_mut().unwrap().set_depth(2),
        &expect(o().opt().depth()).siblings(pats([o().id().into()])),
    );
    case(
        &mut f,
        "flatten an option: to None",
        FlatOpt {
            id: 1,
            opt: Some(FlatDeeper { depth: 1 }),
        },
        |d| d.opt().set(None),
        &whole_parent(o()),
    );
    case(
        &mut f,
        "flatten an option: to Some",
        FlatOpt { id: 1, opt: None },
        |d| d.opt().set(Some(FlatDeeper { depth: 1 })),
        &whole_parent(o()),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// Tuple structs and tuple variants with skipped elements; newtypes
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FirstSkipped(#[serde(skip)] u8, String);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct LastSkipped(Vec<u8>, #[serde(skip)] u8);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct TwoSkipped(#[serde(skip)] u8, Inner, #[serde(skip)] u8, bool);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum SkipVariants {
    Three(u8, #[serde(skip)] u8, String),
    OneLeft(#[serde(skip)] u8, Inner),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
enum SkipAdjacent {
    Three(u8, #[serde(skip)] u8, String),
    OneLeft(#[serde(skip)] u8, Inner),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum SkipUntagged {
    Three(u8, #[serde(skip)] u8, String),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Tuples {
    first: FirstSkipped,
    last: LastSkipped,
    two: TwoSkipped,
    variants: Vec<SkipVariants>,
    adjacent: Vec<SkipAdjacent>,
    untagged: SkipUntagged,
}

fn tuples() -> Tuples {
    Tuples {
        first: FirstSkipped(0, "a".into()),
        last: LastSkipped(vec![1], 0),
        two: TwoSkipped(0, inner(), 0, false),
        variants: vec![
            SkipVariants::Three(1, 0, "a".into()),
            SkipVariants::OneLeft(0, inner()),
        ],
        adjacent: vec![
            SkipAdjacent::Three(1, 0, "a".into()),
            SkipAdjacent::OneLeft(0, inner()),
        ],
        untagged: SkipUntagged::Three(1, 0, "a".into()),
    }
}

#[test]
fn tuple_elements_close_up_around_skipped_ones() {
    let mut f = Failures::default();
    let p = immer::path::<Tuples>;
    case(
        &mut f,
        "tuple struct of two, the first skipped",
        tuples(),
        |d| d.first().set_1("b".into()),
        &expect(p().first()._1())
            .covering(pats([immer::path!(Tuples: first._1).into()]))
            .siblings(pats([p().last().into(), p().two().into()])),
    );
    case(
        &mut f,
        "tuple struct of two, the last skipped: push",
        tuples(),
        |d| d.last()._0().push(2),
        &expect(p().last()._0().at(1))
            .covering(pats([immer::path!(Tuples: last._0[1]).into()]))
            .siblings(pats([p().first().into(), p().last()._0().at(0).into()])),
    );
    case(
        &mut f,
        "tuple struct of four, two skipped: the second",
        tuples(),
        |d| d.two()._1().set_y(5),
        &expect(p().two()._1().y())
            .covering(pats([immer::path!(Tuples: two._1.y).into()]))
            .siblings(pats([p().two()._3().into(), p().two()._1().x().into()])),
    );
    case(
        &mut f,
        "tuple struct of four, two skipped: the fourth",
        tuples(),
        |d| d.two().set_3(true),
        &expect(p().two()._3())
            .covering(pats([immer::path!(Tuples: two._3).into()]))
            .siblings(pats([p().two()._1().into()])),
    );
    let v = || p().variants();
    case(
        &mut f,
        "tuple variant of three, the middle skipped",
        tuples(),
        |d| {
            if let SkipVariantsVariantDraft::Three(mut t) =
                d.variants().get_mut(0).unwrap().variant()
            {
                t.set_2("b".into());
            }
        },
        &expect(v().at(0).three()._2())
            .covering(pats([immer::path!(Tuples: variants[0].three._2).into()]))
            .siblings(pats([v().at(0).three()._0().into()])),
    );
    case(
        &mut f,
        "tuple variant of two, the first skipped",
        tuples(),
        |d| {
            if let SkipVariantsVariantDraft::OneLeft(mut t) =
                d.variants().get_mut(1).unwrap().variant()
            {
                t._1().set_x(5);
            }
        },
        &expect(v().at(1).one_left()._1().x())
            .covering(pats([
                immer::path!(Tuples: variants[*].one_left._1.x).into()
            ]))
            .siblings(pats([v().at(1).one_left()._1().y().into()])),
    );
    let a = || p().adjacent();
    case(
        &mut f,
        "adjacent tuple variant of three, the middle skipped",
        tuples(),
        |d| {
            if let SkipAdjacentVariantDraft::Three(mut t) =
                d.adjacent().get_mut(0).unwrap().variant()
            {
                t.set_2("b".into());
            }
        },
        &expect(a().at(0).three()._2()).siblings(pats([a().at(0).three()._0().into()])),
    );
    case(
        &mut f,
        "adjacent tuple variant of two, the first skipped",
        tuples(),
        |d| {
            if let SkipAdjacentVariantDraft::OneLeft(mut t) =
                d.adjacent().get_mut(1).unwrap().variant()
            {
                t._1().set_x(5);
            }
        },
        &expect(a().at(1).one_left()._1().x()).siblings(pats([a()
            .at(1)
            .one_left()
            ._1()
            .y()
            .into()])),
    );
    case(
        &mut f,
        "untagged tuple variant of three, the middle skipped",
        tuples(),
        |d| {
            let mut untagged = d.untagged();
            let SkipUntaggedVariantDraft::Three(mut t) = untagged.variant();
            t.set_2("b".into());
        },
        &expect(p().untagged().three()._2()).siblings(pats([p().untagged().three()._0().into()])),
    );
    f.finish();
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Ids(Vec<u32>);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Wrapped(Inner);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Outer(Mid);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Mid(BTreeMap<String, Inner>);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct Clear {
    inner: Inner,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Newtypes {
    ids: Ids,
    wrapped: Wrapped,
    outer: Outer,
    list: Vec<Wrapped>,
    clear: Clear,
    boxed: Option<Box<Wrapped>>,
    shared: Arc<Inner>,
    shared_list: Arc<Vec<Inner>>,
    deque: VecDeque<Ids>,
}

fn newtypes() -> Newtypes {
    Newtypes {
        ids: Ids(vec![1, 2]),
        wrapped: Wrapped(inner()),
        outer: Outer(Mid(BTreeMap::from([("k".to_owned(), inner())]))),
        list: vec![Wrapped(inner()), Wrapped(inner())],
        clear: Clear { inner: inner() },
        boxed: Some(Box::new(Wrapped(inner()))),
        shared: Arc::new(inner()),
        shared_list: Arc::new(vec![inner()]),
        deque: VecDeque::from([Ids(vec![1])]),
    }
}

#[test]
fn newtypes_boxes_and_arcs_have_no_segment_of_their_own() {
    let mut f = Failures::default();
    let p = immer::path::<Newtypes>;
    case(
        &mut f,
        "newtype of a list: remove",
        newtypes(),
        |d| {
            d.ids()._0().remove(0);
        },
        &expect(p().ids().at(0))
            .covering(pats([
                immer::path!(Newtypes: ids[0]).into(),
                p().ids().any().into(),
            ]))
            .above(pats([p().ids().at(1).into(), p().ids().into()]))
            .siblings(pats([p().wrapped().into()])),
    );
    case(
        &mut f,
        "newtype of a struct",
        newtypes(),
        |d| d.wrapped()._0().set_x(3),
        &expect(p().wrapped().x())
            .covering(pats([immer::path!(Newtypes: wrapped.x).into()]))
            .siblings(pats([p().wrapped().y().into(), p().ids().into()])),
    );
    case(
        &mut f,
        "newtype of a newtype of a map",
        newtypes(),
        |d| d.outer()._0()._0().get_mut("k").unwrap().set_y(3),
        &expect(p().outer().key("k").y())
            .covering(pats([p().outer().any().y().into()]))
            .siblings(pats([p().outer().key("k").x().into()])),
    );
    case(
        &mut f,
        "a list of newtypes",
        newtypes(),
        |d| d.list().get_mut(1).unwrap()._0().set_x(3),
        &expect(p().list().at(1).x())
            .covering(pats([immer::path!(Newtypes: list[1].x).into()]))
            .siblings(pats([p().list().at(0).into(), p().list().any().y().into()])),
    );
    case(
        &mut f,
        "transparent struct",
        newtypes(),
        |d| d.clear().inner().set_x(3),
        &expect(p().clear().x()).siblings(pats([p().clear().y().into()])),
    );
    case(
        &mut f,
        "Option<Box<newtype>>",
        newtypes(),
        |d| d.boxed().get_mut().unwrap()._0().set_x(3),
        &expect(p().boxed().x())
            .covering(pats([immer::path!(Newtypes: boxed.x).into()]))
            .siblings(pats([p().boxed().y().into(), p().shared().x().into()])),
    );
    case(
        &mut f,
        "Option<Box<newtype>>: None",
        newtypes(),
        |d| d.boxed().set(None),
        &expect(p().boxed()).above(pats([p().boxed().x().into()])),
    );
    case(
        &mut f,
        "Arc<struct>",
        newtypes(),
        |d| d.shared().set_y(3),
        &expect(p().shared().y()).siblings(pats([p().shared().x().into()])),
    );
    case(
        &mut f,
        "Arc<Vec<struct>>: push",
        newtypes(),
        |d| d.shared_list().push(inner()),
        &expect(p().shared_list().at(1))
            .covering(pats([immer::path!(Newtypes: shared_list[*]).into()]))
            .siblings(pats([p().shared_list().at(0).into()])),
    );
    case(
        &mut f,
        "VecDeque of newtypes of lists",
        newtypes(),
        |d| d.deque().get_mut(0).unwrap()._0().push(5),
        &expect(p().deque().at(0).at(1))
            .covering(pats([immer::path!(Newtypes: deque[0][1]).into()]))
            .siblings(pats([p().deque().at(0).at(0).into()])),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// Generics with several parameters; recursive types
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[allow(
    clippy::struct_field_names,
    reason = "the prefix is the camelCase rename under test"
)]
struct Page<T, M, K: Ord> {
    page_items: Vec<T>,
    page_meta: M,
    by_key: BTreeMap<K, T>,
    pair: (T, M),
    maybe: Option<Box<T>>,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize, PartialOrd, Ord, Eq)]
#[serde(rename_all = "kebab-case")]
enum Colour {
    DarkRed,
    #[serde(rename = "a/b")]
    Slashed,
    Green,
}

type Paged = Page<Inner, Option<Inner>, Colour>;

fn paged() -> Paged {
    Page {
        page_items: vec![inner(), inner()],
        page_meta: None,
        by_key: BTreeMap::from([(Colour::DarkRed, inner()), (Colour::Slashed, inner())]),
        pair: (inner(), Some(inner())),
        maybe: None,
    }
}

#[test]
fn generic_types_with_several_parameters() {
    let mut f = Failures::default();
    let p = immer::path::<Paged>;
    case(
        &mut f,
        "generic list element",
        paged(),
        |d| d.page_items().get_mut(1).unwrap().set_x(9),
        &expect(p().page_items().at(1).x())
            .covering(pats([
                immer::path!(Paged: page_items[1].x).into(),
                immer::path!(Page<Inner, Option<Inner>, Colour>: page_items[*].x).into(),
            ]))
            .siblings(pats([
                p().page_items().at(0).into(),
                p().page_meta().into(),
            ])),
    );
    case(
        &mut f,
        "generic option set",
        paged(),
        |d| d.page_meta().set(Some(inner())),
        &expect(p().page_meta())
            .above(pats([p().page_meta().x().into()]))
            .siblings(pats([p().page_items().into()])),
    );
    case(
        &mut f,
        "generic map with enum keys (kebab-case)",
        paged(),
        |d| d.by_key().get_mut(&Colour::DarkRed).unwrap().set_y(4),
        &expect(p().by_key().key(&Colour::DarkRed).y())
            .covering(pats([p().by_key().any().y().into()]))
            .siblings(pats([p().by_key().key(&Colour::Slashed).into()])),
    );
    case(
        &mut f,
        "generic map with an enum key renamed a/b",
        paged(),
        |d| d.by_key().get_mut(&Colour::Slashed).unwrap().set_y(4),
        &expect(p().by_key().key(&Colour::Slashed).y())
            .siblings(pats([p().by_key().key(&Colour::DarkRed).into()])),
    );
    case(
        &mut f,
        "generic map: insert an enum key",
        paged(),
        |d| {
            d.by_key().insert(Colour::Green, inner());
        },
        &expect(p().by_key().key(&Colour::Green))
            .siblings(pats([p().by_key().key(&Colour::DarkRed).into()])),
    );
    case(
        &mut f,
        "generic tuple of parameters",
        paged(),
        |d| {
            d.pair()._1().get_mut().unwrap().set_x(3);
        },
        &expect(p().pair()._1().x())
            .covering(pats([immer::path!(Paged: pair._1.x).into()]))
            .siblings(pats([p().pair()._0().into()])),
    );
    case(
        &mut f,
        "generic Option<Box<T>>",
        paged(),
        |d| d.maybe().set(Some(Box::new(inner()))),
        &expect(p().maybe()).siblings(pats([p().pair().into()])),
    );
    f.finish();
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Node {
    Leaf {
        value: u8,
    },
    Branch {
        kids: Vec<Node>,
        label: Option<Box<Node>>,
    },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Chain {
    value: u8,
    next: Option<Box<Chain>>,
    index: BTreeMap<String, Chain>,
}

fn tree() -> Node {
    Node::Branch {
        kids: vec![
            Node::Leaf { value: 1 },
            Node::Branch {
                kids: vec![Node::Leaf { value: 2 }, Node::Leaf { value: 3 }],
                label: None,
            },
        ],
        label: Some(Box::new(Node::Leaf { value: 0 })),
    }
}

#[test]
fn recursive_types() {
    let mut f = Failures::default();
    let p = immer::path::<Node>;
    case(
        &mut f,
        "a leaf two levels down",
        tree(),
        |d| {
            if let NodeVariantDraft::Branch(mut b) = d.variant() {
                let mut kids = b.kids();
                if let Some(mut kid) = kids.get_mut(1) {
                    if let NodeVariantDraft::Branch(mut b2) = kid.variant() {
                        if let Some(mut leaf) = b2.kids().get_mut(1) {
                            if let NodeVariantDraft::Leaf(mut l) = leaf.variant() {
                                l.set_value(9);
                            }
                        }
                    }
                }
            }
        },
        &expect(
            p().branch()
                .kids()
                .at(1)
                .branch()
                .kids()
                .at(1)
                .leaf()
                .value(),
        )
        .covering(pats([
            immer::path!(Node: branch.kids[1].branch.kids[1].leaf.value).into(),
            p().branch()
                .kids()
                .any()
                .branch()
                .kids()
                .any()
                .leaf()
                .value()
                .into(),
        ]))
        .above(pats([p().branch().kids().at(1).into()]))
        .siblings(pats([
            p().branch().kids().at(1).branch().kids().at(0).into(),
            p().branch().label().into(),
        ])),
    );
    case(
        &mut f,
        "a boxed label's value",
        tree(),
        |d| {
            if let NodeVariantDraft::Branch(mut b) = d.variant() {
                if let Some(mut label) = b.label().get_mut() {
                    if let NodeVariantDraft::Leaf(mut l) = label.variant() {
                        l.set_value(9);
                    }
                }
            }
        },
        &expect(p().branch().label().leaf().value())
            .covering(pats([immer::path!(Node: branch.label.leaf.value).into()]))
            .siblings(pats([p().branch().kids().into()])),
    );
    let c = immer::path::<Chain>;
    let chain = || Chain {
        value: 0,
        next: Some(Box::new(Chain {
            value: 1,
            next: Some(Box::new(Chain {
                value: 2,
                next: None,
                index: BTreeMap::new(),
            })),
            index: BTreeMap::new(),
        })),
        index: BTreeMap::new(),
    };
    case(
        &mut f,
        "a chain two links down",
        chain(),
        |d| {
            d.next()
                .get_mut()
                .unwrap()
                .next()
                .get_mut()
                .unwrap()
                .set_value(7);
        },
        &expect(c().next().next().value())
            .covering(pats([immer::path!(Chain: next.next.value).into()]))
            .siblings(pats([c().next().value().into(), c().value().into()])),
    );
    case(
        &mut f,
        "a chain's map, one link down",
        chain(),
        |d| {
            d.next().get_mut().unwrap().index().insert(
                "k".into(),
                Chain {
                    value: 5,
                    next: None,
                    index: BTreeMap::new(),
                },
            );
        },
        &expect(c().next().index().key("k"))
            .covering(pats([c().next().index().any().into()]))
            .siblings(pats([c().index().key("k").into()])),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// Map keys of other types; imbl's collections; sets
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize, PartialOrd, Ord, Eq, Hash)]
struct UserId(u32);

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Keyed {
    by_u8: BTreeMap<u8, u8>,
    by_i64: BTreeMap<i64, u8>,
    by_bool: BTreeMap<bool, u8>,
    by_char: BTreeMap<char, u8>,
    by_id: HashMap<UserId, Inner>,
    by_str: HashMap<String, u8>,
    ord_map: immer::OrdMap<String, Inner>,
    ord_map_ids: immer::OrdMap<UserId, u8>,
    hash_map: immer::imbl::HashMap<String, u8>,
    vector: immer::Vector<Inner>,
    ord_set: immer::OrdSet<u8>,
    hash_set: immer::imbl::HashSet<u8>,
    std_set: BTreeSet<String>,
    std_hash_set: HashSet<u16>,
    list_of_maps: Vec<BTreeMap<u8, Vec<u8>>>,
}

fn keyed() -> Keyed {
    Keyed {
        by_u8: BTreeMap::from([(1, 1), (3, 3)]),
        by_i64: BTreeMap::from([(-1, 1), (10, 1)]),
        by_bool: BTreeMap::from([(true, 1)]),
        by_char: BTreeMap::from([('~', 1), ('/', 1)]),
        by_id: HashMap::from([(UserId(7), inner())]),
        by_str: HashMap::from([("3".to_owned(), 1)]),
        ord_map: immer::OrdMap::from_iter([("a".to_owned(), inner())]),
        ord_map_ids: immer::OrdMap::from_iter([(UserId(1), 1)]),
        hash_map: immer::imbl::HashMap::from_iter([("a".to_owned(), 1)]),
        vector: (0..3).map(|_| inner()).collect(),
        ord_set: immer::OrdSet::from_iter([1, 3, 5]),
        hash_set: immer::imbl::HashSet::from_iter([1, 3, 5]),
        std_set: BTreeSet::from(["b".to_owned(), "d".to_owned()]),
        std_hash_set: (0..14).collect(),
        list_of_maps: vec![BTreeMap::from([(2, vec![1])])],
    }
}

#[test]
fn map_keys_of_other_types() {
    let mut f = Failures::default();
    let p = immer::path::<Keyed>;
    prints(&mut f, p().by_i64().key(&-1), "/by_i64/-1");
    prints(&mut f, p().by_bool().key(&true), "/by_bool/true");
    prints(&mut f, p().by_char().key(&'/'), "/by_char/~1");
    prints(&mut f, p().by_id().key(&UserId(7)).x(), "/by_id/7/x");
    case(
        &mut f,
        "u8 keys: insert",
        keyed(),
        |d| {
            d.by_u8().insert(2, 2);
        },
        &expect(p().by_u8().key(&2))
            .covering(pats([p().by_u8().any().into()]))
            // An object's key made of digits is no list index: nothing shifts.
            .siblings(pats([
                p().by_u8().key(&3).into(),
                p().by_u8().key(&1).into(),
            ])),
    );
    case(
        &mut f,
        "u8 keys: remove",
        keyed(),
        |d| {
            d.by_u8().remove(&1);
        },
        &expect(p().by_u8().key(&1)).siblings(pats([p().by_u8().key(&3).into()])),
    );
    case(
        &mut f,
        "i64 keys: a negative one",
        keyed(),
        |d| d.by_i64().get_mut(&-1).unwrap().set(5),
        &expect(p().by_i64().key(&-1)).siblings(pats([p().by_i64().key(&10).into()])),
    );
    case(
        &mut f,
        "bool keys: insert false",
        keyed(),
        |d| {
            d.by_bool().insert(false, 0);
        },
        &expect(p().by_bool().key(&false)).siblings(pats([p().by_bool().key(&true).into()])),
    );
    case(
        &mut f,
        "char keys: /",
        keyed(),
        |d| d.by_char().get_mut(&'/').unwrap().set(5),
        &expect(p().by_char().key(&'/')).siblings(pats([p().by_char().key(&'~').into()])),
    );
    case(
        &mut f,
        "newtype keys",
        keyed(),
        |d| d.by_id().get_mut(&UserId(7)).unwrap().set_x(5),
        &expect(p().by_id().key(&UserId(7)).x())
            .covering(pats([p().by_id().any().x().into()]))
            .siblings(pats([
                p().by_id().key(&UserId(8)).into(),
                p().by_id().key(&UserId(7)).y().into(),
            ])),
    );
    case(
        &mut f,
        "a string key of digits beside list indices",
        keyed(),
        |d| {
            d.by_str().insert("1".into(), 1);
        },
        &expect(p().by_str().key("1")).siblings(pats([p().by_str().key("3").into()])),
    );
    case(
        &mut f,
        "a list of maps with integer keys of lists",
        keyed(),
        |d| {
            d.list_of_maps()
                .get_mut(0)
                .unwrap()
                .get_mut(&2)
                .unwrap()
                .insert(0, 0)
                .unwrap();
        },
        &expect(p().list_of_maps().at(0).key(&2).at(0))
            .covering(pats([
                immer::path!(Keyed: list_of_maps[0]).key(&2).any().into(),
                p().list_of_maps().any().any().any().into(),
            ]))
            .above(pats([p().list_of_maps().at(0).key(&2).into()]))
            .siblings(pats([p().list_of_maps().at(0).key(&1).into()])),
    );
    f.finish();
}

#[test]
fn imbl_collections_and_sets() {
    let mut f = Failures::default();
    let p = immer::path::<Keyed>;
    case(
        &mut f,
        "imbl OrdMap: a field of a value",
        keyed(),
        |d| d.ord_map().get_mut("a").unwrap().set_x(5),
        &expect(p().ord_map().key("a").x())
            .covering(pats([p().ord_map().any().x().into()]))
            .siblings(pats([
                p().ord_map().key("a").y().into(),
                p().ord_map().key("b").into(),
            ])),
    );
    case(
        &mut f,
        "imbl OrdMap with newtype keys: insert",
        keyed(),
        |d| {
            d.ord_map_ids().insert(UserId(2), 2);
        },
        &expect(p().ord_map_ids().key(&UserId(2)))
            .siblings(pats([p().ord_map_ids().key(&UserId(1)).into()])),
    );
    case(
        &mut f,
        "imbl HashMap: remove",
        keyed(),
        |d| {
            d.hash_map().remove("a");
        },
        &expect(p().hash_map().key("a")).siblings(pats([p().hash_map().key("b").into()])),
    );
    case(
        &mut f,
        "imbl Vector: remove in the middle",
        keyed(),
        |d| {
            d.vector().remove(1);
        },
        &expect(p().vector().at(1))
            .covering(pats([immer::path!(Keyed: vector[*]).into()]))
            .above(pats([p().vector().at(2).x().into()]))
            .siblings(pats([p().vector().at(0).into()])),
    );
    case(
        &mut f,
        "imbl Vector: a field",
        keyed(),
        |d| d.vector().get_mut(2).unwrap().set_y(1),
        &expect(p().vector().at(2).y())
            .covering(pats([immer::path!(Keyed: vector[2].y).into()]))
            .siblings(pats([
                p().vector().at(1).into(),
                p().vector().at(2).x().into(),
            ])),
    );
    case(
        &mut f,
        "imbl OrdSet: insert in the middle",
        keyed(),
        |d| {
            d.ord_set().insert(4);
        },
        &expect(p().ord_set().at(2))
            .covering(pats([p().ord_set().any().into()]))
            .above(pats([p().ord_set().at(3).into()]))
            .siblings(pats([p().ord_set().at(1).into()])),
    );
    case(
        &mut f,
        "imbl OrdSet: remove the first",
        keyed(),
        |d| {
            d.ord_set().remove(&1);
        },
        &expect(p().ord_set().at(0))
            .above(pats([p().ord_set().at(2).into()]))
            .siblings(pats([p().vector().into()])),
    );
    case(
        &mut f,
        "BTreeSet: insert",
        keyed(),
        |d| {
            d.std_set().insert("c".into());
        },
        &expect(p().std_set().at(1))
            .above(pats([p().std_set().into()]))
            .siblings(pats([p().std_set().at(0).into()])),
    );
    // A hash set's order is its iteration order: a patch at a position is checked against
    // serde's JSON, which is written in that order.
    case(
        &mut f,
        "imbl HashSet: insert",
        keyed(),
        |d| {
            d.hash_set().insert(4);
        },
        &expect_each_at((0..4).map(|i| p().hash_set().at(i).into()).collect()),
    );
    case(
        &mut f,
        "std HashSet: insert past its capacity",
        keyed(),
        |d| {
            d.std_hash_set().insert(100);
        },
        // The set grows and reorders its elements: one `replace` of the whole set.
        &expect(p().std_hash_set()),
    );
    let mut roomy = keyed();
    roomy.std_hash_set.reserve(64);
    case(
        &mut f,
        "std HashSet: insert with room to spare",
        roomy,
        |d| {
            d.std_hash_set().insert(100);
        },
        &expect_each_at((0..15).map(|i| p().std_hash_set().at(i).into()).collect()),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// JSON of any shape: immer::Json and serde_json::Value fields
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Doc {
    #[serde(rename = "data/json")]
    data: immer::Json,
    value: Value,
    list: Vec<immer::Json>,
}

fn doc() -> Doc {
    Doc {
        data: immer::Json::from(json!({"a": [1, 2, 3], "7": {"b": true}, "*": 1, "~": 2})),
        value: json!({"x": [{"y": 1}]}),
        list: vec![immer::Json::from(json!({"k": 1}))],
    }
}

#[test]
fn paths_through_json() {
    let mut f = Failures::default();
    let p = immer::path::<Doc>;
    prints(&mut f, p().data().key("a").at(1), "/data~1json/a/1");
    prints(&mut f, p().data().key("~").any(), "/data~1json/~0/*");
    case(
        &mut f,
        "Json: an array element",
        doc(),
        |d| {
            d.data()
                .get_mut("a")
                .unwrap()
                .get_index_mut(1)
                .unwrap()
                .set(5);
        },
        &expect(p().data().key("a").at(1))
            .covering(pats([
                p().data().any().any().into(),
                immer::path!(Doc: data).key("a").at(1).into(),
            ]))
            .siblings(pats([
                p().data().key("a").at(0).into(),
                p().data().key("7").into(),
            ])),
    );
    case(
        &mut f,
        "Json: insert into an array",
        doc(),
        |d| {
            d.data().get_mut("a").unwrap().insert_index(0, 0).unwrap();
        },
        &expect(p().data().key("a").at(0))
            .above(pats([p().data().key("a").at(2).into()]))
            .siblings(pats([p().data().key("7").into()])),
    );
    case(
        &mut f,
        "Json: a member of digits",
        doc(),
        |d| {
            d.data().get_mut("7").unwrap().insert("b", false).unwrap();
        },
        &expect(p().data().key("7").key("b"))
            .covering(pats([p().data().at(7).key("b").into()]))
            .siblings(pats([p().data().key("a").at(7).into()])),
    );
    case(
        &mut f,
        "Json: a member named *",
        doc(),
        |d| {
            d.data().insert("*", 9).unwrap();
        },
        &expect(p().data().key("*")).siblings(pats([
            p().data().key("~").into(),
            p().data().key("a").into(),
        ])),
    );
    case(
        &mut f,
        "Json: remove a member named ~",
        doc(),
        |d| {
            d.data().remove("~");
        },
        &expect(p().data().key("~")).siblings(pats([p().data().key("a").into()])),
    );
    case(
        &mut f,
        "serde_json::Value: a nested member",
        doc(),
        |d| {
            d.value()
                .get_mut("x")
                .unwrap()
                .get_index_mut(0)
                .unwrap()
                .insert("z", json!(2))
                .unwrap();
        },
        &expect(p().value().key("x").at(0).key("z"))
            .covering(pats([p().value().any().any().any().into()]))
            .siblings(pats([p().value().key("x").at(0).key("y").into()])),
    );
    case(
        &mut f,
        "a list of Json: push into one",
        doc(),
        |d| {
            d.list().get_mut(0).unwrap().insert("n", 1).unwrap();
        },
        &expect(p().list().at(0).key("n"))
            .covering(pats([immer::path!(Doc: list[0]).key("n").into()]))
            .siblings(pats([p().list().at(0).key("k").into()])),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// Fields serde leaves out: skip_serializing_if, skip_serializing, skip_deserializing
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Sparse {
    id: u8,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    note: Option<Inner>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    tags: Vec<u8>,
    #[serde(skip_deserializing)]
    shown: u8,
}

#[test]
fn fields_serde_leaves_out_when_empty() {
    let mut f = Failures::default();
    let p = immer::path::<Sparse>;
    let sparse = || Sparse {
        id: 1,
        note: None,
        tags: vec![],
        shown: 0,
    };
    case(
        &mut f,
        "skip_serializing_if: None to Some",
        sparse(),
        |d| d.note().set(Some(inner())),
        &expect(p().note()).siblings(pats([p().id().into(), p().tags().into()])),
    );
    case(
        &mut f,
        "skip_serializing_if: Some to None",
        Sparse {
            note: Some(inner()),
            ..sparse()
        },
        |d| d.note().set(None),
        &expect(p().note()).siblings(pats([p().id().into()])),
    );
    case(
        &mut f,
        "skip_serializing_if: push into an empty list",
        sparse(),
        |d| d.tags().push(1),
        &expect_each_at(pats([p().tags().into(), p().tags().at(0).into()]))
            .siblings(pats([p().id().into(), p().note().into()])),
    );
    case(
        &mut f,
        "skip_serializing_if: pop the last element",
        Sparse {
            tags: vec![7],
            ..sparse()
        },
        |d| {
            d.tags().pop();
        },
        &expect_each_at(pats([p().tags().into(), p().tags().at(0).into()]))
            .siblings(pats([p().id().into(), p().note().into()])),
    );
    case(
        &mut f,
        "skip_serializing_if: in, out and in again in one recipe, through three drafts",
        sparse(),
        |d| {
            d.tags().push(1);
            d.tags().push(2);
            let mut tags = d.tags();
            tags.pop();
            tags.pop();
            drop(tags);
            d.tags().push(3);
        },
        &expect_each_at(pats([
            p().tags().into(),
            p().tags().at(0).into(),
            p().tags().at(1).into(),
        ]))
        .siblings(pats([p().id().into(), p().note().into()])),
    );
    case(
        &mut f,
        "skip_serializing_if: emptied through two drafts",
        Sparse {
            tags: vec![7],
            ..sparse()
        },
        |d| {
            d.tags().push(8);
            let mut tags = d.tags();
            tags.pop();
            tags.pop();
        },
        &expect_each_at(pats([
            p().tags().into(),
            p().tags().at(0).into(),
            p().tags().at(1).into(),
        ]))
        .siblings(pats([p().id().into(), p().note().into()])),
    );
    case(
        &mut f,
        "skip_serializing_if: inside a field serde writes",
        Sparse {
            note: Some(inner()),
            tags: vec![1],
            ..sparse()
        },
        |d| {
            d.tags().push(2);
            d.note().set(Some(Inner { x: 5, ..inner() }));
        },
        &expect_each_at(pats([p().tags().at(1).into(), p().note().into()]))
            .siblings(pats([p().id().into()])),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// `touches` against a model of its documented rules
// ---------------------------------------------------------------------------------------------

/// A segment of a pattern, read from its text as the rustdoc of `PathPattern` says.
#[derive(Clone, Debug, PartialEq)]
enum Seg {
    Any,
    Rest,
    Literal(String),
}

fn model_pattern(text: &str) -> Vec<Seg> {
    if text.is_empty() {
        return Vec::new();
    }
    text[1..]
        .split('/')
        .map(|raw| match raw {
            "*" => Seg::Any,
            "**" => Seg::Rest,
            _ => Seg::Literal(raw.replace("~1", "/").replace("~0", "~")),
        })
        .collect()
}

/// "A literal matches the same key, or a list index written in decimal."
fn literal_matches(literal: &str, segment: &PathSegment) -> bool {
    match segment {
        PathSegment::Key(key) => key == literal,
        PathSegment::Index(i) => i.to_string() == literal,
    }
}

/// A literal that is a list index: written in decimal (canonical, as RFC 6901 reads indices).
fn literal_index(literal: &str) -> Option<usize> {
    let canonical = literal == "0" || (!literal.starts_with('0') && !literal.is_empty());
    if canonical && literal.bytes().all(|b| b.is_ascii_digit()) {
        literal.parse().ok()
    } else {
        None
    }
}

/// Rule 1: the pattern and the path agree on their common length.
fn model_rule1(pattern: &[Seg], path: &[PathSegment]) -> bool {
    for (k, seg) in pattern.iter().enumerate() {
        let Some(at) = path.get(k) else {
            return true;
        };
        match seg {
            Seg::Rest => return true,
            Seg::Any => {}
            Seg::Literal(literal) => {
                if !literal_matches(literal, at) {
                    return false;
                }
            }
        }
    }
    true
}

/// Where an insertion or a removal shifts a list.
enum Shift {
    At(usize),
    End,
}

/// Where an insertion or a removal at `path` shifts: its last segment, an index or `-`.
fn shift_at(path: &[PathSegment]) -> Option<Shift> {
    match path.last()? {
        PathSegment::Index(i) => Some(Shift::At(*i)),
        PathSegment::Key(key) if key == "-" => Some(Shift::End),
        PathSegment::Key(_) => None,
    }
}

/// Rule 2: an insertion or a removal at `path` shifts what a literal index names.
fn model_rule2(pattern: &[Seg], path: &[PathSegment]) -> bool {
    let Some(i) = shift_at(path) else {
        return false;
    };
    let depth = path.len() - 1;
    let Some(Seg::Literal(literal)) = pattern.get(depth) else {
        return false;
    };
    let Some(j) = literal_index(literal) else {
        return false;
    };
    let before_agree = pattern[..depth]
        .iter()
        .zip(&path[..depth])
        .all(|(seg, at)| match seg {
            Seg::Any | Seg::Rest => true,
            Seg::Literal(literal) => literal_matches(literal, at),
        });
    before_agree
        && match i {
            Shift::At(i) => j >= i,
            Shift::End => true,
        }
}

fn model_touches(pattern: &str, patch: &Patch) -> bool {
    let pattern = model_pattern(pattern);
    let at = patch.path.segments();
    let shifting =
        |path: &[PathSegment]| model_rule1(&pattern, path) || model_rule2(&pattern, path);
    match patch.op {
        immer::PatchOp::Replace | immer::PatchOp::Test => model_rule1(&pattern, at),
        immer::PatchOp::Add | immer::PatchOp::Remove | immer::PatchOp::Copy => shifting(at),
        immer::PatchOp::Move => shifting(patch.from.as_ref().unwrap().segments()) || shifting(at),
    }
}

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Pattern segments as text: wildcards, keys, indices, `-`, escapes, numbers that are not
/// canonical or do not fit a `usize`.
const PATTERN_SEGMENTS: &[&str] = &[
    "*",
    "*",
    "a",
    "b",
    "0",
    "1",
    "2",
    "3",
    "-",
    "01",
    "a~1b",
    "~0",
    "~01",
    "",
    "18446744073709551615",
    "99999999999999999999",
];

fn random_pattern(rng: &mut Rng) -> String {
    let mut text = String::new();
    for _ in 0..rng.below(5) {
        text.push('/');
        if rng.below(8) == 0 {
            text.push_str("**");
            break;
        }
        let segment: &&str = rng.pick(PATTERN_SEGMENTS);
        text.push_str(segment);
    }
    text
}

fn random_path(rng: &mut Rng) -> Path {
    let mut path = Path::root();
    for _ in 0..rng.below(5) {
        let segment: PathSegment = match rng.below(12) {
            0..=3 => rng.below(4).into(),
            4 => "a".into(),
            5 => "b".into(),
            6 => "-".into(),
            7 => (*rng.pick(&["0", "1", "2", "01"])).into(),
            8 => "a/b".into(),
            9 => (*rng.pick(&["~", "~1", ""])).into(),
            10 => (*rng.pick(&["*", "**"])).into(),
            _ => usize::MAX.into(),
        };
        path.push(segment);
    }
    path
}

fn random_patch(rng: &mut Rng) -> Patch {
    let path = random_path(rng);
    match rng.below(6) {
        0 => Patch::add(path, json!(1)),
        1 => Patch::remove(path),
        2 => Patch::replace(path, json!(1)),
        3 => Patch::test(path, json!(1)),
        op => Patch {
            op: if op == 4 {
                immer::PatchOp::Move
            } else {
                immer::PatchOp::Copy
            },
            path,
            value: None,
            from: Some(random_path(rng)),
        },
    }
}

/// A pattern near a patch's path (so that most segments meet): the path's segments escaped,
/// some turned into `*` or another index, cut short, maybe ended with `**`.
fn pattern_near(rng: &mut Rng, patch: &Patch) -> String {
    let source = match (&patch.from, rng.below(2)) {
        (Some(from), 0) => from,
        _ => &patch.path,
    };
    let mut text = String::new();
    let keep = rng.below(source.len() + 2);
    for segment in source.segments().iter().take(keep) {
        text.push('/');
        match (rng.below(6), segment) {
            // No text names a literal `*` or `**`: those keys are met by a wildcard.
            (0, _) => text.push('*'),
            (_, PathSegment::Key(key)) if key == "*" || key == "**" => text.push('*'),
            (1, PathSegment::Index(i)) => {
                text.push_str(&i.saturating_add(rng.below(3)).saturating_sub(1).to_string());
            }
            _ => text.push_str(&segment.to_key().replace('~', "~0").replace('/', "~1")),
        }
    }
    if keep > source.len() || rng.below(6) == 0 {
        text.push_str(if rng.below(2) == 0 { "/**" } else { "/2" });
    }
    text
}

#[test]
fn touches_agrees_with_its_documented_rules_on_random_cases() {
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let mut disagreements: BTreeMap<String, (String, String, bool)> = BTreeMap::new();
    let (mut yes, mut no) = (0, 0);
    for round in 0..400_000 {
        let patch = random_patch(&mut rng);
        let pattern = if round % 2 == 0 {
            random_pattern(&mut rng)
        } else {
            pattern_near(&mut rng, &patch)
        };
        let parsed: PathPattern = pattern.parse().unwrap();
        let expected = model_touches(&pattern, &patch);
        if expected {
            yes += 1;
        } else {
            no += 1;
        }
        if parsed.touches(&patch) != expected {
            let shown = serde_json::to_string(&patch).unwrap();
            // One case per op and pattern shape, the shortest kept.
            let key = format!("{} {}", patch.op, expected);
            let better = disagreements
                .get(&key)
                .is_none_or(|(p, s, _)| p.len() + s.len() > pattern.len() + shown.len());
            if better {
                disagreements.insert(key, (pattern, shown, expected));
            }
        }
    }
    assert!(yes > 50_000 && no > 50_000, "{yes} touch, {no} do not");
    let report: Vec<String> = disagreements
        .values()
        .map(|(pattern, patch, expected)| {
            format!("pattern {pattern:?}, patch {patch}: the rules say {expected}")
        })
        .collect();
    assert!(report.is_empty(), "{}", report.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// More corners: 128-bit keys, arrays, lists of tuples, a newtype variant of a tuple, enums in
// newtype variants, a deque's front, an optional list, `everything`
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum Wraps {
    Flattened(FlatInVariant),
    Other { o: u8 },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FlatInVariant {
    id: u8,
    #[serde(flatten)]
    meta: Inner,
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Holds {
    Pair((u8, String)),
    Loose(Unt),
    Arr([Inner; 2]),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Corners {
    big: BTreeMap<u128, u8>,
    signed: BTreeMap<i128, u8>,
    grid: [[u8; 2]; 2],
    pairs: Vec<(String, Inner)>,
    holds: Vec<Holds>,
    wraps: Wraps,
    deque: VecDeque<Inner>,
    maybe_list: Option<Vec<Inner>>,
}

fn corners() -> Corners {
    Corners {
        big: BTreeMap::from([(u128::MAX, 1), (1, 1)]),
        signed: BTreeMap::from([(i128::MIN, 1)]),
        grid: [[0, 0], [0, 0]],
        pairs: vec![("a".into(), inner()), ("b".into(), inner())],
        holds: vec![
            Holds::Pair((1, "a".into())),
            Holds::Loose(Unt::Tuple(1, "a".into())),
            Holds::Arr([inner(), inner()]),
        ],
        wraps: Wraps::Flattened(FlatInVariant {
            id: 1,
            meta: inner(),
        }),
        deque: VecDeque::from([inner()]),
        maybe_list: Some(vec![inner()]),
    }
}

#[test]
fn more_corners() {
    let mut f = Failures::default();
    let p = immer::path::<Corners>;
    // serde_json writes a 128-bit key past u64 as its decimal text, in objects; the README:
    // "keys that are not strings are written as their JSON text, as serde_json writes them in
    // objects".
    let json = serde_json::to_value(corners()).unwrap();
    assert!(json["big"].get(u128::MAX.to_string()).is_some(), "{json}");
    prints(
        &mut f,
        p().big().key(&u128::MAX),
        &format!("/big/{}", u128::MAX),
    );
    prints(
        &mut f,
        p().signed().key(&i128::MIN),
        &format!("/signed/{}", i128::MIN),
    );
    case(
        &mut f,
        "u128 key past u64",
        corners(),
        |d| d.big().get_mut(&u128::MAX).unwrap().set(2),
        &expect(p().big().key(&u128::MAX))
            .covering(pats([p().big().any().into()]))
            .siblings(pats([p().big().key(&1).into(), p().big().key(&0).into()])),
    );
    case(
        &mut f,
        "u128 key past u64: insert beside it",
        corners(),
        |d| {
            d.big().insert(2, 2);
        },
        &expect(p().big().key(&2)).siblings(pats([p().big().key(&u128::MAX).into()])),
    );
    case(
        &mut f,
        "i128 key past i64",
        corners(),
        |d| d.signed().get_mut(&i128::MIN).unwrap().set(2),
        &expect(p().signed().key(&i128::MIN)).siblings(pats([p().signed().key(&0).into()])),
    );
    case(
        &mut f,
        "array of arrays",
        corners(),
        |d| {
            d.grid().get_mut(1).unwrap().get_mut(0).unwrap().set(5);
        },
        &expect(p().grid().at(1).at(0))
            .covering(pats([
                immer::path!(Corners: grid[1][0]).into(),
                immer::path!(Corners: grid[*].**),
            ]))
            .siblings(pats([
                p().grid().at(0).at(0).into(),
                p().grid().at(1).at(1).into(),
            ])),
    );
    case(
        &mut f,
        "a list of tuples",
        corners(),
        |d| d.pairs().get_mut(1).unwrap()._1().set_x(5),
        &expect(p().pairs().at(1)._1().x())
            .covering(pats([
                immer::path!(Corners: pairs[*]._1.x).into(),
                p().pairs().at(1).everything(),
            ]))
            .siblings(pats([
                p().pairs().at(1)._0().into(),
                p().pairs().at(0).everything(),
            ])),
    );
    let h = || p().holds();
    case(
        &mut f,
        "a newtype variant of a tuple",
        corners(),
        |d| {
            if let HoldsVariantDraft::Pair(mut pair) = d.holds().get_mut(0).unwrap().variant() {
                pair._0().set_1("b".into());
            }
        },
        &expect(h().at(0).pair()._1())
            .covering(pats([immer::path!(Corners: holds[0].pair._1).into()]))
            .siblings(pats([h().at(0).pair()._0().into(), h().at(1).into()])),
    );
    case(
        &mut f,
        "a newtype variant of an untagged enum",
        corners(),
        |d| {
            if let HoldsVariantDraft::Loose(mut loose) = d.holds().get_mut(1).unwrap().variant() {
                if let UntVariantDraft::Tuple(mut t) = loose._0().variant() {
                    t.set_0(7);
                }
            }
        },
        &expect(h().at(1).loose().tuple()._0())
            .covering(pats(
                [immer::path!(Corners: holds[1].loose.tuple._0).into()],
            ))
            .siblings(pats([h().at(1).loose().tuple()._1().into()])),
    );
    case(
        &mut f,
        "a newtype variant of an array",
        corners(),
        |d| {
            if let HoldsVariantDraft::Arr(mut arr) = d.holds().get_mut(2).unwrap().variant() {
                arr._0().get_mut(1).unwrap().set_y(7);
            }
        },
        &expect(h().at(2).arr().at(1).y())
            .covering(pats([immer::path!(Corners: holds[2].arr[1].y).into()]))
            .siblings(pats([h().at(2).arr().at(0).into()])),
    );
    let w = || p().wraps();
    case(
        &mut f,
        "an internally tagged newtype of a struct with a flattened field",
        corners(),
        |d| {
            if let WrapsVariantDraft::Flattened(mut fl) = d.wraps().variant() {
                fl._0().meta().set_x(8);
            }
        },
        &expect(w().flattened().meta().x())
            .covering(pats([immer::path!(Corners: wraps.flattened.meta.x).into()]))
            .siblings(pats([
                w().flattened().id().into(),
                w().flattened().meta().y().into(),
            ])),
    );
    case(
        &mut f,
        "a deque: insert at the front",
        corners(),
        |d| {
            d.deque().insert(0, inner()).unwrap();
        },
        &expect(p().deque().at(0))
            .above(pats([p().deque().at(0).x().into(), p().deque().into()]))
            .siblings(pats([p().pairs().into()])),
    );
    case(
        &mut f,
        "an optional list: push",
        corners(),
        |d| d.maybe_list().get_mut().unwrap().push(inner()),
        &expect(p().maybe_list().at(1))
            .covering(pats([
                immer::path!(Corners: maybe_list[1]).into(),
                p().maybe_list().everything(),
            ]))
            .siblings(pats([p().maybe_list().at(0).into()])),
    );
    f.finish();
}

// ---------------------------------------------------------------------------------------------
// Tag and content names that need escapes; untagged inside untagged; skipped variant fields
// ---------------------------------------------------------------------------------------------

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t/ag", content = "c/~")]
enum OddAdjacent {
    #[serde(rename = "v/1")]
    One {
        #[serde(rename = "x~y")]
        x: u8,
        #[serde(skip)]
        hidden: u8,
        y: u8,
    },
    Two(u8, #[serde(skip)] u8, u8),
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum OddExternal {
    #[serde(rename = "a/b")]
    Slashed {
        x: u8,
        y: u8,
    },
    #[serde(rename = "*")]
    Star {
        x: u8,
    },
    Plain {
        x: u8,
    },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Outer2 {
    Wrapped(Unt),
    Other { other: u8 },
}

#[derive(Draftable, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct OddTags {
    adjacent: Vec<OddAdjacent>,
    external: Vec<OddExternal>,
    nested: Outer2,
}

fn odd_tags() -> OddTags {
    OddTags {
        adjacent: vec![
            OddAdjacent::One {
                x: 1,
                hidden: 0,
                y: 1,
            },
            OddAdjacent::Two(1, 0, 1),
        ],
        external: vec![
            OddExternal::Slashed { x: 1, y: 1 },
            OddExternal::Star { x: 1 },
            OddExternal::Plain { x: 1 },
        ],
        nested: Outer2::Wrapped(Unt::Struct {
            a: 1,
            inner: inner(),
        }),
    }
}

#[test]
fn tag_and_content_names_that_need_escapes() {
    let mut f = Failures::default();
    let p = immer::path::<OddTags>;
    let a = || p().adjacent();
    prints(&mut f, a().at(0).one().x(), "/adjacent/0/c~1~0/x~0y");
    case(
        &mut f,
        "adjacent, content c/~, field x~y",
        odd_tags(),
        |d| {
            if let OddAdjacentVariantDraft::One(mut one) =
                d.adjacent().get_mut(0).unwrap().variant()
            {
                one.set_x(5);
            }
        },
        &expect(a().at(0).one().x())
            .covering(pats([immer::path!(OddTags: adjacent[*].one.x).into()]))
            .siblings(pats([a().at(0).one().y().into(), a().at(1).into()])),
    );
    case(
        &mut f,
        "adjacent, a field after a skipped one",
        odd_tags(),
        |d| {
            if let OddAdjacentVariantDraft::One(mut one) =
                d.adjacent().get_mut(0).unwrap().variant()
            {
                one.set_y(5);
            }
        },
        &expect(a().at(0).one().y()).siblings(pats([a().at(0).one().x().into()])),
    );
    case(
        &mut f,
        "adjacent, a tuple element after a skipped one",
        odd_tags(),
        |d| {
            if let OddAdjacentVariantDraft::Two(mut two) =
                d.adjacent().get_mut(1).unwrap().variant()
            {
                two.set_2(5);
            }
        },
        &expect(a().at(1).two()._2()).siblings(pats([a().at(1).two()._0().into()])),
    );
    let e = || p().external();
    case(
        &mut f,
        "external, a variant renamed a/b",
        odd_tags(),
        |d| {
            if let OddExternalVariantDraft::Slashed(mut v) =
                d.external().get_mut(0).unwrap().variant()
            {
                v.set_x(5);
            }
        },
        &expect(e().at(0).slashed().x())
            .covering(pats([e().any().slashed().x().into()]))
            .siblings(pats([
                e().any().slashed().y().into(),
                e().any().star().x().into(),
            ])),
    );
    // A variant serde writes as `*`: its typed path names that variant's fields only.
    case(
        &mut f,
        "external, a sibling of the variant renamed *",
        odd_tags(),
        |d| {
            if let OddExternalVariantDraft::Plain(mut v) =
                d.external().get_mut(2).unwrap().variant()
            {
                v.set_x(5);
            }
        },
        &expect(e().at(2).plain().x()).siblings(pats([
            e().any().star().x().into(),
            e().at(2).star().x().into(),
        ])),
    );
    let n = || p().nested();
    case(
        &mut f,
        "untagged inside untagged",
        odd_tags(),
        |d| {
            if let Outer2VariantDraft::Wrapped(mut w) = d.nested().variant() {
                if let UntVariantDraft::Struct(mut s) = w._0().variant() {
                    s.inner().set_y(9);
                }
            }
        },
        &expect(n().wrapped().r#struct().inner().y())
            .covering(pats([
                immer::path!(OddTags: nested.wrapped.r#struct.inner.y).into(),
            ]))
            .siblings(pats([
                n().wrapped().r#struct().a().into(),
                n().other().other().into(),
            ])),
    );
    f.finish();
}
