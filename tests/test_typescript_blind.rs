//! A second, independent check of `#[derive(TypeScript)]`, written from the public docs alone:
//! types chosen for serde's corners (every enum representation with every variant shape,
//! newtype variants of structs, maps, `Option`s and other enums inside an internally tagged
//! enum, every rename rule with acronyms and raw identifiers, `rename_all_fields` beside a
//! variant's own `rename_all`, split `rename(serialize, deserialize)`, the `skip_*` family,
//! nested `flatten`, flattened maps and `Option`s, `transparent`, tuple structs with skipped
//! elements, recursion, generics instantiated inside each other, maps keyed by integers,
//! chars and unit enums, property and variant names that need quotes). Values come from a
//! seeded generator and by hand, are written by `serde_json` and must compile against the
//! generated `.d.ts` with `tsc --strict`; JSON that serde never writes for a type, where any
//! correct type must reject it, must fail, each line on its own.
//!
//! The `bug_` tests keep the values this check found the generated types wrong on, fixed
//! since: internally tagged newtype variants of `()`, of a unit struct and of an externally
//! tagged unit variant; a flattened unit struct and a flattened externally tagged unit
//! variant; a type named `Record`; and a map keyed by a type parameter, which accepted any
//! key.

#![allow(
    clippy::option_option,
    reason = "`Option<Option<T>>` is one of serde's corners under test"
)]
#![allow(
    clippy::cast_possible_wrap,
    clippy::cast_precision_loss,
    reason = "the generator wraps random bits into numbers on purpose"
)]
#![allow(
    clippy::struct_field_names,
    clippy::enum_variant_names,
    reason = "names chosen for what serde makes of them"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use immer::typescript::Declarations;
use immer::{Draftable, TypeScript};
use serde::{Deserialize, Serialize};

// ---------------------------------------------------------------------------------------------
// A seeded generator of our own.

struct Rng {
    state: u64,
    depth: u32,
}

impl Rng {
    fn new(seed: u64) -> Self {
        Self {
            state: seed,
            depth: 0,
        }
    }

    fn next(&mut self) -> u64 {
        // SplitMix64.
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn deep(&self) -> bool {
        self.depth > 3
    }
}

trait Arb: Sized {
    /// How many variants `arb_variant` chooses among (1 for a struct).
    const VARIANTS: usize = 1;

    fn arb_variant(r: &mut Rng, variant: usize) -> Self;

    fn arb(r: &mut Rng) -> Self {
        let variant = r.below(Self::VARIANTS);
        Self::arb_variant(r, variant)
    }
}

fn g<T: Arb>(r: &mut Rng) -> T {
    T::arb(r)
}

macro_rules! arb_int {
    ($($t:ty),*) => {$(
        impl Arb for $t {
            fn arb_variant(r: &mut Rng, _: usize) -> Self {
                match r.below(4) {
                    0 => <$t>::MIN,
                    1 => <$t>::MAX,
                    _ => r.next() as $t,
                }
            }
        }
    )*};
}
arb_int!(u8, u16, u32, u64, i16, i32, i64);

impl Arb for f64 {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        (r.below(4001) as f64 - 2000.0) / 8.0
    }
}

impl Arb for bool {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        r.below(2) == 0
    }
}

const CHARS: &[char] = &[
    'a', 'Z', '0', ' ', '"', '\\', '\'', '`', '$', '{', '}', '\n', '\t', 'é', '字', '🦀',
    '\u{2028}', '\u{0}',
];

impl Arb for char {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        CHARS[r.below(CHARS.len())]
    }
}

impl Arb for String {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        let len = r.below(6);
        (0..len).map(|_| g::<char>(r)).collect()
    }
}

impl Arb for () {
    fn arb_variant(_: &mut Rng, _: usize) -> Self {}
}

impl<T: Arb> Arb for Option<T> {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        if r.deep() || r.below(3) == 0 {
            None
        } else {
            r.depth += 1;
            let value = g(r);
            r.depth -= 1;
            Some(value)
        }
    }
}

impl<T: Arb> Arb for Box<T> {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Box::new(g(r))
    }
}

fn length(r: &mut Rng) -> usize {
    if r.deep() { 0 } else { r.below(4) }
}

impl<T: Arb> Arb for Vec<T> {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        let len = length(r);
        r.depth += 1;
        let items = (0..len).map(|_| g(r)).collect();
        r.depth -= 1;
        items
    }
}

impl<T: Arb + Ord> Arb for BTreeSet<T> {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        let len = length(r);
        (0..len).map(|_| g(r)).collect()
    }
}

impl<K: Arb + Ord, V: Arb> Arb for BTreeMap<K, V> {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        let len = length(r);
        r.depth += 1;
        let map = (0..len).map(|_| (g(r), g(r))).collect();
        r.depth -= 1;
        map
    }
}

impl<T: Arb> Arb for [T; 3] {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        [g(r), g(r), g(r)]
    }
}

impl<A: Arb, B: Arb> Arb for (A, B) {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        (g(r), g(r))
    }
}

impl<A: Arb, B: Arb, C: Arb> Arb for (A, B, C) {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        (g(r), g(r), g(r))
    }
}

/// `count` values per variant of `T`, serialized by `serde_json`.
fn samples<T: Arb + Serialize>(r: &mut Rng, count: usize) -> Vec<String> {
    samples_of::<T>(r, count, 0..T::VARIANTS)
}

/// `count` values of each of `variants` of `T`, serialized by `serde_json`.
fn samples_of<T: Arb + Serialize>(
    r: &mut Rng,
    count: usize,
    variants: impl IntoIterator<Item = usize>,
) -> Vec<String> {
    let mut out = Vec::new();
    for variant in variants {
        for _ in 0..count {
            out.push(json(&T::arb_variant(r, variant)));
        }
    }
    out
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("serde_json writes the value")
}

// ---------------------------------------------------------------------------------------------
// Structs: unit, empty, tuple with skipped elements, newtype, transparent.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct UnitStruct;

impl Arb for UnitStruct {
    fn arb_variant(_: &mut Rng, _: usize) -> Self {
        UnitStruct
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct EmptyStruct {}

impl Arb for EmptyStruct {
    fn arb_variant(_: &mut Rng, _: usize) -> Self {
        EmptyStruct {}
    }
}

/// serde writes `[u8, bool]`: the skipped element closes up.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct TupleSkips(u8, #[serde(skip)] String, bool);

impl Arb for TupleSkips {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        TupleSkips(g(r), g(r), g(r))
    }
}

/// Two elements, one skipped: serde still writes a sequence, `["x"]`, not a newtype.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct TupleOneLeft(#[serde(skip)] u8, String);

impl Arb for TupleOneLeft {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        TupleOneLeft(g(r), g(r))
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Newtype(Vec<Option<i32>>);

impl Arb for Newtype {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Newtype(g(r))
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct Meters {
    value: f64,
}

impl Arb for Meters {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Meters { value: g(r) }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
struct Wrapper<T> {
    inner: T,
}

impl<T: Arb> Arb for Wrapper<T> {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Wrapper { inner: g(r) }
    }
}

#[derive(
    Draftable, TypeScript, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize,
)]
struct Id(u32);

impl Arb for Id {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Id(g(r))
    }
}

// ---------------------------------------------------------------------------------------------
// Std shapes.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Shapes {
    letter: char,
    nothing: (),
    triple: (u8, String, Option<bool>),
    array: [i16; 3],
    set: BTreeSet<u32>,
    big: u64,
    negative: i64,
    ratio: f64,
    maybe_maybe: Option<Option<u8>>,
    nested: Vec<Vec<Option<String>>>,
    r#type: u8,
    r#match: String,
    unit_struct: UnitStruct,
    empty: EmptyStruct,
    wrapped: Wrapper<Meters>,
}

impl Arb for Shapes {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Shapes {
            letter: g(r),
            nothing: (),
            triple: g(r),
            array: g(r),
            set: g(r),
            big: g(r),
            negative: g(r),
            ratio: g(r),
            maybe_maybe: g(r),
            nested: g(r),
            r#type: g(r),
            r#match: g(r),
            unit_struct: UnitStruct,
            empty: EmptyStruct {},
            wrapped: g(r),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Names: rename, rename_all, split rename, alias, names that are not identifiers.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
struct Names {
    with_dash: u8,
    #[serde(rename = "123")]
    number: u8,
    #[serde(rename = "class")]
    class_name: String,
    #[serde(rename(serialize = "ser_name", deserialize = "de_name"))]
    both: u8,
    #[serde(alias = "old_name", alias = "older")]
    aliased: bool,
    #[serde(rename = "quote\"d\\back'slash")]
    quoted: u8,
    #[serde(rename = "has space")]
    spaced: u8,
    #[serde(rename = "")]
    empty_name: u8,
    #[serde(rename = "constructor")]
    ctor: u8,
    #[serde(rename = "ünï$_")]
    unicode: u8,
    r#type: bool,
}

impl Arb for Names {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Names {
            with_dash: g(r),
            number: g(r),
            class_name: g(r),
            both: g(r),
            aliased: g(r),
            quoted: g(r),
            spaced: g(r),
            empty_name: g(r),
            ctor: g(r),
            unicode: g(r),
            r#type: g(r),
        }
    }
}

/// One struct per rename rule, with the names a rule can get wrong (a field `_leading` has
/// the setter `set__leading`, which the derive allows past `non_snake_case`).
mod rule_structs {
    use super::{Arb, Draftable, Rng, TypeScript, g};
    use serde::{Deserialize, Serialize};

    /// One struct per rename rule, with the names a rule can get wrong.
    macro_rules! rule_structs {
        ($($name:ident = $rule:literal;)*) => {$(
            #[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
            #[serde(rename_all = $rule)]
            #[allow(clippy::struct_field_names)]
            pub(crate) struct $name {
                pub(crate) field_name: u8,
                _leading: u8,
                trailing_: u8,
                a1_b2: u8,
                word: u8,
                r#type: u8,
            }

            impl Arb for $name {
                fn arb_variant(r: &mut Rng, _: usize) -> Self {
                    $name {
                        field_name: g(r),
                        _leading: g(r),
                        trailing_: g(r),
                        a1_b2: g(r),
                        word: g(r),
                        r#type: g(r),
                    }
                }
            }
        )*};
    }
    rule_structs! {
        RuleLower = "lowercase";
        RuleUpper = "UPPERCASE";
        RulePascal = "PascalCase";
        RuleCamel = "camelCase";
        RuleSnake = "snake_case";
        RuleScreaming = "SCREAMING_SNAKE_CASE";
        RuleKebab = "kebab-case";
        RuleScreamingKebab = "SCREAMING-KEBAB-CASE";
    }
}
use rule_structs::*;

/// One unit enum per rename rule, with acronyms and digits in the variants' names.
macro_rules! rule_enums {
    ($($name:ident = $rule:literal;)*) => {$(
        #[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = $rule)]
        #[allow(clippy::upper_case_acronyms)]
        enum $name {
            HTTPServer,
            IoError2,
            Simple,
            ABC,
            A1B2,
        }

        impl Arb for $name {
            const VARIANTS: usize = 5;
            fn arb_variant(_: &mut Rng, variant: usize) -> Self {
                [Self::HTTPServer, Self::IoError2, Self::Simple, Self::ABC, Self::A1B2][variant]
                    .clone()
            }
        }
    )*};
}
rule_enums! {
    VariantLower = "lowercase";
    VariantUpper = "UPPERCASE";
    VariantPascal = "PascalCase";
    VariantCamel = "camelCase";
    VariantSnake = "snake_case";
    VariantScreaming = "SCREAMING_SNAKE_CASE";
    VariantKebab = "kebab-case";
    VariantScreamingKebab = "SCREAMING-KEBAB-CASE";
}

// ---------------------------------------------------------------------------------------------
// Skips and defaults.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default)]
#[allow(clippy::option_option)]
struct Skips {
    #[serde(skip_serializing)]
    never_written: u8,
    #[serde(skip_deserializing)]
    written_not_read: u8,
    #[serde(skip)]
    hidden: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    maybe: Option<u8>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    list: Vec<String>,
    #[serde(default)]
    defaulted: u32,
    double: Option<Option<u8>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    double_skipped: Option<Option<String>>,
    #[serde(skip_serializing_if = "String::is_empty", rename = "renamed-skippable")]
    text: String,
}

impl Default for Skips {
    fn default() -> Self {
        Skips {
            never_written: 1,
            written_not_read: 2,
            hidden: String::new(),
            maybe: None,
            list: Vec::new(),
            defaulted: 0,
            double: None,
            double_skipped: None,
            text: String::new(),
        }
    }
}

impl Arb for Skips {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Skips {
            never_written: g(r),
            written_not_read: g(r),
            hidden: g(r),
            maybe: g(r),
            list: g(r),
            defaulted: g(r),
            double: if r.below(3) == 0 { Some(None) } else { g(r) },
            double_skipped: if r.below(3) == 0 { Some(None) } else { g(r) },
            text: g(r),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Flatten: nested, of a map, of an Option.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Deepest {
    deep: bool,
    #[serde(rename = "x-y")]
    x_y: u8,
}

impl Arb for Deepest {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Deepest {
            deep: g(r),
            x_y: g(r),
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Middle {
    created_at: String,
    #[serde(flatten)]
    deepest: Deepest,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
}

impl Arb for Middle {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Middle {
            created_at: g(r),
            deepest: g(r),
            note: g(r),
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Flattened {
    id: u32,
    #[serde(flatten)]
    middle: Middle,
    #[serde(flatten)]
    extra: Option<Extra>,
}

impl Arb for Flattened {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Flattened {
            id: g(r),
            middle: g(r),
            extra: g(r),
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Extra {
    colour: String,
    weight: Option<f64>,
}

impl Arb for Extra {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Extra {
            colour: g(r),
            weight: g(r),
        }
    }
}

/// A flattened map: its values must admit the other fields' types, so they are strings.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FlatMap {
    name: String,
    #[serde(flatten)]
    rest: BTreeMap<String, String>,
}

impl Arb for FlatMap {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        let rest: BTreeMap<String, String> = g(r);
        // A key equal to "name" would be written twice; serde_json keeps both, JS the last.
        let rest = rest
            .into_iter()
            .map(|(k, v)| (format!("k{k}"), v))
            .collect();
        FlatMap { name: g(r), rest }
    }
}

/// A generic envelope whose body is flattened in.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Envelope<T> {
    envelope_id: u32,
    #[serde(flatten)]
    body: T,
}

impl<T: Arb> Arb for Envelope<T> {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Envelope {
            envelope_id: g(r),
            body: g(r),
        }
    }
}

/// A struct with a tag of its own.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename = "tagged-thing")]
struct TaggedStruct {
    a: u8,
}

impl Arb for TaggedStruct {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        TaggedStruct { a: g(r) }
    }
}

// ---------------------------------------------------------------------------------------------
// Maps.

#[derive(
    Draftable, TypeScript, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
enum Colour {
    DarkRed,
    Green,
    #[serde(rename = "sky blue")]
    SkyBlue,
    #[serde(skip)]
    #[allow(
        dead_code,
        reason = "skipped by serde: never written, never constructed"
    )]
    Invisible,
}

impl Arb for Colour {
    const VARIANTS: usize = 3;
    fn arb_variant(_: &mut Rng, variant: usize) -> Self {
        [Colour::DarkRed, Colour::Green, Colour::SkyBlue][variant].clone()
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Maps {
    by_int: BTreeMap<u32, String>,
    by_negative: BTreeMap<i64, bool>,
    by_char: BTreeMap<char, u8>,
    by_colour: BTreeMap<Colour, Vec<u8>>,
    by_id: BTreeMap<Id, Option<f64>>,
    of_maps: BTreeMap<String, BTreeMap<u8, (u8, bool)>>,
    colours: BTreeSet<Colour>,
}

impl Arb for Maps {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Maps {
            by_int: g(r),
            by_negative: g(r),
            by_char: g(r),
            by_colour: g(r),
            by_id: g(r),
            of_maps: g(r),
            colours: g(r),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Externally tagged.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", rename_all_fields = "SCREAMING-KEBAB-CASE")]
enum External {
    UnitVariant,
    #[serde(rename = "with space \"quoted\"")]
    Spaced,
    NewStruct(Deepest),
    Pair(u8, String),
    NoElements(),
    StructVariant {
        field_a: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        field_b: Option<u8>,
    },
    #[serde(rename_all = "camelCase")]
    OwnRule {
        field_c: bool,
        #[serde(rename = "exact")]
        field_d: u8,
    },
    NoFields {},
    NewUnit(()),
    NewOption(Option<u8>),
    NewMap(BTreeMap<u16, String>),
    SkipInTuple(u8, #[serde(skip)] u8, bool),
    #[serde(skip)]
    #[allow(
        dead_code,
        reason = "skipped by serde: never written, never constructed"
    )]
    Hidden(u8),
    #[serde(skip_serializing)]
    NotWritten {
        secret: u8,
    },
}

impl Arb for External {
    const VARIANTS: usize = 12;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => External::UnitVariant,
            1 => External::Spaced,
            2 => External::NewStruct(g(r)),
            3 => External::Pair(g(r), g(r)),
            4 => External::NoElements(),
            5 => External::StructVariant {
                field_a: g(r),
                field_b: g(r),
            },
            6 => External::OwnRule {
                field_c: g(r),
                field_d: g(r),
            },
            7 => External::NoFields {},
            8 => External::NewUnit(()),
            9 => External::NewOption(g(r)),
            10 => External::NewMap(g(r)),
            _ => External::SkipInTuple(g(r), g(r), g(r)),
        }
    }
}

/// Recursion through `Box`, `Vec` and `Option`, externally tagged.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Expr {
    Num(f64),
    Neg(Box<Expr>),
    Sum(Vec<Expr>),
    Maybe { inner: Option<Box<Expr>> },
}

impl Arb for Expr {
    const VARIANTS: usize = 4;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        if r.deep() {
            return Expr::Num(g(r));
        }
        r.depth += 1;
        let value = match variant {
            0 => Expr::Num(g(r)),
            1 => Expr::Neg(g(r)),
            2 => Expr::Sum(g(r)),
            _ => Expr::Maybe { inner: g(r) },
        };
        r.depth -= 1;
        value
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Tree {
    label: String,
    children: Vec<Tree>,
    parent: Option<Box<Tree>>,
    expr: Expr,
}

impl Arb for Tree {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        r.depth += 1;
        let tree = Tree {
            label: g(r),
            children: g(r),
            parent: g(r),
            expr: g(r),
        };
        r.depth -= 1;
        tree
    }
}

// ---------------------------------------------------------------------------------------------
// Internally tagged.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum InnerTagged {
    Circle { radius: f64 },
    Dot,
}

impl Arb for InnerTagged {
    const VARIANTS: usize = 2;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => InnerTagged::Circle { radius: g(r) },
            _ => InnerTagged::Dot,
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "type",
    rename_all = "snake_case",
    rename_all_fields = "camelCase"
)]
enum Internal {
    UnitVariant,
    StructVariant {
        field_one: u8,
        #[serde(skip_serializing_if = "Vec::is_empty", default)]
        many_items: Vec<u8>,
    },
    #[serde(rename_all = "PascalCase")]
    OwnRule {
        field_two: u8,
    },
    #[serde(rename = "Renamed-Variant")]
    Renamed {
        x: Option<u8>,
    },
    NewStruct(Deepest),
    NewFlattened(Middle),
    NewMap(BTreeMap<String, String>),
    NewUnitStruct(UnitStruct),
    NewInternal(InnerTagged),
    WithFlatten {
        a: u8,
        #[serde(flatten)]
        deepest: Deepest,
    },
    #[serde(other)]
    Unknown,
}

impl Arb for Internal {
    const VARIANTS: usize = 11;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => Internal::UnitVariant,
            1 => Internal::StructVariant {
                field_one: g(r),
                many_items: g(r),
            },
            2 => Internal::OwnRule { field_two: g(r) },
            3 => Internal::Renamed { x: g(r) },
            4 => Internal::NewStruct(g(r)),
            5 => Internal::NewFlattened(g(r)),
            6 => {
                let map: BTreeMap<String, String> = g(r);
                Internal::NewMap(map.into_iter().map(|(k, v)| (format!("k{k}"), v)).collect())
            }
            7 => Internal::NewUnitStruct(UnitStruct),
            8 => Internal::NewInternal(g(r)),
            9 => Internal::WithFlatten {
                a: g(r),
                deepest: g(r),
            },
            _ => Internal::Unknown,
        }
    }
}

/// Internally tagged newtype variants whose content serde merges in less obviously: an
/// externally tagged enum (a unit variant becomes `{ "Name": null }` beside the tag), `()`
/// (the tag alone) and an adjacently tagged enum.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
enum InternalOfEnums {
    OfExternal(Small),
    OfUnit(()),
    OfAdjacent(Adjacent),
    OfOption(Option<Deepest>),
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Small {
    Plain,
    Wrapped(u8),
    Fields { f: bool },
}

impl Arb for Small {
    const VARIANTS: usize = 3;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => Small::Plain,
            1 => Small::Wrapped(g(r)),
            _ => Small::Fields { f: g(r) },
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Adjacently tagged and untagged.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c", rename_all = "kebab-case")]
enum Adjacent {
    UnitVariant,
    Newtype(String),
    Tuple(u8, bool),
    Struct {
        a: Option<u8>,
        #[serde(skip)]
        b: u8,
    },
    NoElements(),
    NewUnit(()),
    NewOption(Option<u8>),
    NewEnum(Small),
    #[serde(rename = "0")]
    Digit,
}

impl Arb for Adjacent {
    const VARIANTS: usize = 9;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => Adjacent::UnitVariant,
            1 => Adjacent::Newtype(g(r)),
            2 => Adjacent::Tuple(g(r), g(r)),
            3 => Adjacent::Struct { a: g(r), b: g(r) },
            4 => Adjacent::NoElements(),
            5 => Adjacent::NewUnit(()),
            6 => Adjacent::NewOption(g(r)),
            7 => Adjacent::NewEnum(g(r)),
            _ => Adjacent::Digit,
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum Untagged {
    UnitVariant,
    Newtype(String),
    Tuple(u8, u8),
    Struct {
        #[serde(rename = "X")]
        x: i32,
    },
    NewList(Vec<bool>),
    NewEnum(Small),
}

impl Arb for Untagged {
    const VARIANTS: usize = 6;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => Untagged::UnitVariant,
            1 => Untagged::Newtype(g(r)),
            2 => Untagged::Tuple(g(r), g(r)),
            3 => Untagged::Struct { x: g(r) },
            4 => Untagged::NewList(g(r)),
            _ => Untagged::NewEnum(g(r)),
        }
    }
}

/// One untagged variant in an externally tagged enum: `Draftable` refuses it (only units may be
/// untagged there), so only `TypeScript` is derived.
#[derive(TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum PartlyUntagged {
    Named(String),
    Nothing,
    #[serde(untagged)]
    Other(u32),
    #[serde(untagged)]
    Loose {
        loose: bool,
    },
}

impl Arb for PartlyUntagged {
    const VARIANTS: usize = 4;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => PartlyUntagged::Named(g(r)),
            1 => PartlyUntagged::Nothing,
            2 => PartlyUntagged::Other(g(r)),
            _ => PartlyUntagged::Loose { loose: g(r) },
        }
    }
}

/// An untagged unit variant in an internally tagged enum, which `Draftable` accepts.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind")]
enum TaggedWithUntaggedUnit {
    Circle {
        radius: f64,
    },
    #[serde(untagged)]
    Nothing,
}

impl Arb for TaggedWithUntaggedUnit {
    const VARIANTS: usize = 2;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => TaggedWithUntaggedUnit::Circle { radius: g(r) },
            _ => TaggedWithUntaggedUnit::Nothing,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Generics.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Pair<A, B> {
    first: A,
    second: B,
}

impl<A: Arb, B: Arb> Arb for Pair<A, B> {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Pair {
            first: g(r),
            second: g(r),
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "k")]
enum Choice<T, U> {
    One { value: T },
    Many { values: Vec<U> },
    Boxed(Pair<T, U>),
}

impl<T: Arb, U: Arb> Arb for Choice<T, U> {
    const VARIANTS: usize = 3;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => Choice::One { value: g(r) },
            1 => Choice::Many { values: g(r) },
            _ => Choice::Boxed(g(r)),
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Generics {
    pair: Pair<Vec<u8>, Option<String>>,
    nested: Pair<Pair<u8, bool>, Vec<Pair<String, char>>>,
    choice: Choice<Deepest, Option<u8>>,
    envelope: Envelope<Deepest>,
    wrapped: Wrapper<Vec<Id>>,
    node: Node<Pair<u8, u8>>,
}

impl Arb for Generics {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Generics {
            pair: g(r),
            nested: g(r),
            choice: g(r),
            envelope: g(r),
            wrapped: g(r),
            node: g(r),
        }
    }
}

/// A generic recursive list.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Node<T> {
    value: T,
    next: Option<Box<Node<T>>>,
}

impl<T: Arb> Arb for Node<T> {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        Node {
            value: g(r),
            next: g(r),
        }
    }
}

impl Arb for InternalOfEnums {
    // serde cannot write `OfOption` at all (an error: "cannot serialize tagged newtype variant
    // containing an optional", even for `Some`), so it has no values.
    const VARIANTS: usize = 3;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => InternalOfEnums::OfExternal(g(r)),
            1 => InternalOfEnums::OfUnit(()),
            _ => InternalOfEnums::OfAdjacent(g(r)),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The harness.

/// The declarations of every type above.
fn declarations() -> String {
    Declarations::new()
        .add::<UnitStruct>()
        .add::<EmptyStruct>()
        .add::<TupleSkips>()
        .add::<TupleOneLeft>()
        .add::<Newtype>()
        .add::<Meters>()
        .add::<Shapes>()
        .add::<Names>()
        .add::<RuleLower>()
        .add::<RuleUpper>()
        .add::<RulePascal>()
        .add::<RuleCamel>()
        .add::<RuleSnake>()
        .add::<RuleScreaming>()
        .add::<RuleKebab>()
        .add::<RuleScreamingKebab>()
        .add::<VariantLower>()
        .add::<VariantUpper>()
        .add::<VariantPascal>()
        .add::<VariantCamel>()
        .add::<VariantSnake>()
        .add::<VariantScreaming>()
        .add::<VariantKebab>()
        .add::<VariantScreamingKebab>()
        .add::<Skips>()
        .add::<Flattened>()
        .add::<FlatMap>()
        .add::<TaggedStruct>()
        .add::<Maps>()
        .add::<External>()
        .add::<Tree>()
        .add::<Internal>()
        .add::<InternalOfEnums>()
        .add::<Adjacent>()
        .add::<Untagged>()
        .add::<PartlyUntagged>()
        .add::<TaggedWithUntaggedUnit>()
        .add::<Generics>()
        .to_string()
}

/// The TypeScript compiler of the JavaScript client, or `None` (with a notice) outside CI.
fn tsc() -> Option<PathBuf> {
    let tsc = Path::new(env!("CARGO_MANIFEST_DIR")).join("clients/js/node_modules/.bin/tsc");
    if tsc.exists() {
        return Some(tsc);
    }
    assert!(
        std::env::var_os("CI").is_none_or(|ci| ci != "true"),
        "tsc is missing: run `npm ci` in clients/js"
    );
    eprintln!();
    eprintln!("==================================================================");
    eprintln!("  NOTICE: tsc not found; the TypeScript checks of this test did");
    eprintln!("  not run. Run `npm ci` in clients/js to run them.");
    eprintln!("==================================================================");
    None
}

/// Values a type's TypeScript must accept (`ok`) and JSON serde never writes for it that a
/// correct type must reject (`wrong`: type, JSON, why).
#[derive(Default)]
struct Cases {
    /// The `.d.ts` to check against; `declarations()` when `None`.
    declarations: Option<String>,
    ok: Vec<(String, String)>,
    wrong: Vec<(String, String, String)>,
}

impl Cases {
    fn ok(&mut self, ty: &str, values: impl IntoIterator<Item = String>) -> &mut Self {
        self.ok
            .extend(values.into_iter().map(|v| (ty.to_owned(), v)));
        self
    }

    fn value<T: Serialize>(&mut self, ty: &str, value: &T) -> &mut Self {
        self.ok.push((ty.to_owned(), json(value)));
        self
    }

    /// Wrong values made from `base` (JSON serde wrote) by replacing `from` with `to`.
    fn edits(&mut self, ty: &str, base: &str, table: &[(&str, &str, &str)]) -> &mut Self {
        for (from, to, why) in table {
            self.wrong(ty, &edit(base, from, to), why);
        }
        self
    }

    fn wrong_all(&mut self, table: &[(&str, &str, &str)]) -> &mut Self {
        for (ty, json, why) in table {
            self.wrong(ty, json, why);
        }
        self
    }

    fn wrong(&mut self, ty: &str, json: &str, why: &str) -> &mut Self {
        self.wrong
            .push((ty.to_owned(), json.to_owned(), why.to_owned()));
        self
    }

    /// Writes the declarations and the cases beside them and runs `tsc --strict`: the `ok`
    /// file must compile, and every line of the `wrong` file must have an error.
    fn check(&self, name: &str) {
        let Some(tsc) = tsc() else { return };
        let dir =
            std::env::temp_dir().join(format!("immer-ts-blind-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let declared = self.declarations.clone().unwrap_or_else(declarations);
        std::fs::write(dir.join("types.d.ts"), &declared).unwrap();
        let names = type_names(self, &declared);
        let import = format!("import type {{ {} }} from \"./types\";\n", names.join(", "));

        let mut ok = import.clone();
        for (i, (ty, value)) in self.ok.iter().enumerate() {
            writeln!(ok, "export const ok_{i}: {ty} = {value};").unwrap();
        }
        std::fs::write(dir.join("ok.ts"), &ok).unwrap();
        let out = run_tsc(&tsc, &dir, "ok.ts");
        assert!(
            out.trim().is_empty(),
            "{} values written by serde_json do not compile against their types \
             ({}):\n{out}",
            self.ok.len(),
            dir.display()
        );

        if !self.wrong.is_empty() {
            let mut wrong = import;
            for (i, (ty, value, _)) in self.wrong.iter().enumerate() {
                writeln!(wrong, "export const wrong_{i}: {ty} = {value};").unwrap();
            }
            std::fs::write(dir.join("wrong.ts"), &wrong).unwrap();
            let out = run_tsc(&tsc, &dir, "wrong.ts");
            let lines = error_lines(&out, "wrong.ts");
            assert!(!lines.contains(&1), "the import line has an error:\n{out}");
            let accepted: Vec<String> = self
                .wrong
                .iter()
                .enumerate()
                .filter(|(i, _)| !lines.contains(&(i + 2)))
                .map(|(_, (ty, value, why))| format!("  {ty} = {value}   ({why})"))
                .collect();
            assert!(
                accepted.is_empty(),
                "the types accept JSON serde never writes ({}):\n{}\n{out}",
                dir.display(),
                accepted.join("\n")
            );
        }
        std::fs::remove_dir_all(&dir).ok();
        eprintln!(
            "{name}: {} values accepted, {} wrong values rejected",
            self.ok.len(),
            self.wrong.len()
        );
    }
}

/// The declared names the cases' annotations use.
fn type_names(cases: &Cases, declared: &str) -> Vec<String> {
    let mut names: Vec<String> = declared
        .lines()
        .filter_map(|line| line.strip_prefix("export type "))
        .filter_map(|rest| rest.split(['<', ' ', '=']).next())
        .map(str::to_owned)
        .filter(|name| {
            cases
                .ok
                .iter()
                .map(|(ty, _)| ty)
                .chain(cases.wrong.iter().map(|(ty, _, _)| ty))
                .any(|ty| {
                    ty.split(|c: char| !c.is_alphanumeric() && c != '_')
                        .any(|word| word == name)
                })
        })
        .collect();
    names.sort();
    names.dedup();
    names
}

fn run_tsc(tsc: &Path, dir: &Path, file: &str) -> String {
    let output = Command::new(tsc)
        .current_dir(dir)
        .args([
            "--noEmit", "--strict", "--target", "es2022", "--pretty", "false", file,
        ])
        .output()
        .expect("tsc runs");
    let mut text = String::from_utf8_lossy(&output.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&output.stderr));
    text
}

/// The lines of `file` that tsc reports an error at (`file(line,col): error ...`).
fn error_lines(out: &str, file: &str) -> BTreeSet<usize> {
    out.lines()
        .filter_map(|line| line.strip_prefix(file)?.strip_prefix('('))
        .filter_map(|rest| rest.split(',').next()?.parse().ok())
        .collect()
}

/// `base` (a value serde wrote) with `from` replaced by `to`: JSON serde would not write.
fn edit(base: &str, from: &str, to: &str) -> String {
    assert!(base.contains(from), "{from} is not in {base}");
    base.replacen(from, to, 1)
}

const SAMPLES: usize = 6;

// ---------------------------------------------------------------------------------------------
// The tests.

/// JSON serde never writes, for `structs_and_std_shapes`: (type, JSON, why).
const WRONG_STRUCTS_AND_STD_SHAPES: &[(&str, &str, &str)] = &[
    ("UnitStruct", "{}", "a unit struct is null"),
    (
        "TupleSkips",
        r#"[1, "skipped", true]"#,
        "the skipped element is not written",
    ),
    ("TupleSkips", "[true, 1]", "the elements in the wrong order"),
    (
        "TupleOneLeft",
        r#""x""#,
        "a tuple struct of one written element is a sequence",
    ),
    (
        "TupleOneLeft",
        r#"[1, "x"]"#,
        "the skipped element is not written",
    ),
    (
        "Meters",
        r#"{"value": 1.5}"#,
        "transparent is the field alone",
    ),
    ("Newtype", r#"["a"]"#, "a string in a list of numbers"),
    (
        "TaggedStruct",
        r#"{"kind": "TaggedStruct", "a": 1}"#,
        "tag is the rename",
    ),
    ("TaggedStruct", r#"{"a": 1}"#, "tag missing"),
];

/// JSON serde never writes, for `rename_rules`: (type, JSON, why).
const WRONG_RENAME_RULES: &[(&str, &str, &str)] = &[
    (
        "VariantSnake",
        r#""http_server""#,
        "serde's snake_case splits each capital",
    ),
    ("VariantSnake", r#""HTTPServer""#, "Rust name"),
    ("VariantKebab", r#""io-error-2""#, "digits are not split"),
    (
        "VariantCamel",
        r#""HTTPServer""#,
        "camelCase lowers the first letter",
    ),
    (
        "VariantLower",
        r#""http-server""#,
        "lowercase keeps no separators",
    ),
];

/// JSON serde never writes, for `skips_and_flatten`: (type, JSON, why).
const WRONG_SKIPS_AND_FLATTEN: &[(&str, &str, &str)] = &[
    (
        "Flattened",
        r#"{"id":1,"middle":{"createdAt":"c","deep":true,"x-y":2}}"#,
        "flattened, not nested",
    ),
    (
        "FlatMap",
        r#"{"name":"n","k":1}"#,
        "the map's values are strings",
    ),
    ("FlatMap", r#"{"k":"v"}"#, "name missing"),
    ("FlatMap", r#"{"name":1}"#, "name is a string"),
];

/// JSON serde never writes, for `externally_tagged_and_recursive`: (type, JSON, why).
const WRONG_EXTERNALLY_TAGGED_AND_RECURSIVE: &[(&str, &str, &str)] = &[
    (
        "External",
        r#""UnitVariant""#,
        "Rust name of a unit variant",
    ),
    (
        "External",
        r#"{"unitVariant": null}"#,
        "a unit variant is its name alone",
    ),
    (
        "External",
        r#""Spaced""#,
        "renamed variant under its Rust name",
    ),
    ("External", r#"{"Hidden": 1}"#, "a skipped variant"),
    ("External", r#"{"hidden": 1}"#, "a skipped variant"),
    (
        "External",
        r#"{"notWritten": {"SECRET": 1}}"#,
        "a skip_serializing variant",
    ),
    (
        "External",
        r#"{"structVariant": {"field_a": 1}}"#,
        "Rust field name",
    ),
    (
        "External",
        r#"{"structVariant": {"fieldA": 1}}"#,
        "the container rule on fields",
    ),
    (
        "External",
        r#"{"ownRule": {"FIELD-C": true, "exact": 1}}"#,
        "rename_all_fields where the variant's own rule wins",
    ),
    (
        "External",
        r#"{"ownRule": {"fieldC": true, "fieldD": 1}}"#,
        "a renamed field",
    ),
    ("External", r#"{"pair": [1, "s", 2]}"#, "three elements"),
    ("External", r#"{"pair": [1]}"#, "one element"),
    (
        "External",
        r#"{"skipInTuple": [1, 2, true]}"#,
        "the skipped element written",
    ),
    (
        "External",
        r#"{"noElements": {}}"#,
        "an empty tuple variant is []",
    ),
    (
        "External",
        r#"{"newStruct": {"deep": true}}"#,
        "a field missing",
    ),
    ("External", r#"{"newOption": "x"}"#, "wrong type"),
    ("External", r#"{"newMap": {"1": 1}}"#, "map value type"),
    (
        "External",
        r#"{"type": "unitVariant"}"#,
        "not internally tagged",
    ),
    ("Expr", r#"{"Neg": {"Num": "1"}}"#, "wrong type deep inside"),
    (
        "Expr",
        r#"{"Sum": [{"Num": 1}, "Num"]}"#,
        "Num is a newtype",
    ),
    (
        "Expr",
        r#"{"Maybe": {"inner": {"Neg": null}}}"#,
        "Box<Expr> is not nullable",
    ),
    (
        "Tree",
        r#"{"label": "a", "children": [], "parent": null}"#,
        "expr missing",
    ),
    (
        "Tree",
        r#"{"label": "a", "children": [{"label": "b"}], "parent": null, "expr": {"Num": 1}}"#,
        "a child's fields missing",
    ),
];

/// JSON serde never writes, for `internally_tagged`: (type, JSON, why).
const WRONG_INTERNALLY_TAGGED: &[(&str, &str, &str)] = &[
    ("Internal", r#"{"type": "UnitVariant"}"#, "Rust name as tag"),
    ("Internal", "{}", "tag missing"),
    ("Internal", r#"{"fieldOne": 1}"#, "tag missing"),
    ("Internal", r#"{"type": "nope"}"#, "no such variant"),
    (
        "Internal",
        r#"{"kind": "unit_variant"}"#,
        "the wrong tag name",
    ),
    (
        "Internal",
        r#"{"type": "struct_variant", "field_one": 1}"#,
        "Rust field name",
    ),
    (
        "Internal",
        r#"{"type": "struct_variant", "fieldOne": 1, "FieldTwo": 2}"#,
        "another variant's field",
    ),
    (
        "Internal",
        r#"{"type": "unit_variant", "fieldOne": 1}"#,
        "another variant's field on a unit",
    ),
    (
        "Internal",
        r#"{"type": "struct_variant", "fieldOne": 1, "manyItems": null}"#,
        "a skippable list is never null",
    ),
    (
        "Internal",
        r#"{"type": "own_rule", "fieldTwo": 1}"#,
        "rename_all_fields where the variant's own rule wins",
    ),
    (
        "Internal",
        r#"{"type": "renamed_variant", "x": null}"#,
        "the rule applied over a rename",
    ),
    (
        "Internal",
        r#"{"type": "Renamed-Variant"}"#,
        "an Option field is always written",
    ),
    (
        "Internal",
        r#"{"type": "new_struct", "deep": true}"#,
        "the newtype's field missing",
    ),
    (
        "Internal",
        r#"{"type": "new_struct", "new_struct": {"deep": true, "x-y": 1}}"#,
        "the newtype is merged, not nested",
    ),
    (
        "Internal",
        r#"{"type": "new_flattened", "createdAt": "c", "deep": true}"#,
        "a flattened field missing",
    ),
    (
        "Internal",
        r#"{"type": "new_map", "k": 1}"#,
        "map value type",
    ),
    (
        "Internal",
        r#"{"type": "new_internal", "kind": "Square"}"#,
        "inner tag",
    ),
    (
        "Internal",
        r#"{"type": "new_internal", "kind": "Circle"}"#,
        "inner field missing",
    ),
    (
        "Internal",
        r#"{"type": "new_internal"}"#,
        "inner tag missing",
    ),
    (
        "Internal",
        r#"{"type": "with_flatten", "a": 1, "deepest": {"deep": true, "x-y": 1}}"#,
        "flattened, not nested",
    ),
    (
        "Internal",
        r#"{"type": "Unknown"}"#,
        "the other variant is renamed too",
    ),
    (
        "TaggedWithUntaggedUnit",
        r#"{"kind": "Nothing"}"#,
        "an untagged unit is null",
    ),
    (
        "TaggedWithUntaggedUnit",
        r#"{"kind": "Circle"}"#,
        "radius missing",
    ),
];

/// JSON serde never writes, for `adjacently_tagged_and_untagged`: (type, JSON, why).
const WRONG_ADJACENTLY_TAGGED_AND_UNTAGGED: &[(&str, &str, &str)] = &[
    ("Adjacent", r#"{"t": "newtype"}"#, "content missing"),
    ("Adjacent", r#"{"c": "s"}"#, "tag missing"),
    ("Adjacent", r#"{"t": "Newtype", "c": "s"}"#, "Rust name"),
    (
        "Adjacent",
        r#"{"t": "unit-variant", "c": null}"#,
        "a unit variant has no content",
    ),
    (
        "Adjacent",
        r#"{"t": "struct", "c": {"a": 1, "b": 2}}"#,
        "a skipped field",
    ),
    (
        "Adjacent",
        r#"{"t": "struct", "c": {}}"#,
        "an Option field is always written",
    ),
    (
        "Adjacent",
        r#"{"t": "tuple", "c": [1]}"#,
        "one element of two",
    ),
    (
        "Adjacent",
        r#"{"t": "no-elements", "c": null}"#,
        "an empty tuple is []",
    ),
    (
        "Adjacent",
        r#"{"t": "new-enum", "c": {"Plain": null}}"#,
        "a unit is its name",
    ),
    ("Adjacent", r#"{"t": 0}"#, "a renamed tag is a string"),
    (
        "Adjacent",
        r#"{"t": "newtype", "content": "s"}"#,
        "content key",
    ),
    ("Adjacent", r#"{"newtype": "s"}"#, "not externally tagged"),
    (
        "Untagged",
        r#"{"Struct": {"X": 1}}"#,
        "untagged writes no name",
    ),
    ("Untagged", r#"{"x": 1}"#, "Rust field name"),
    ("Untagged", "[1, 2, 3]", "no variant of three elements"),
    ("Untagged", "[1, true]", "no such tuple"),
    ("Untagged", "5", "no variant is a number"),
    (
        "Untagged",
        r#"{"Plain": null}"#,
        "a unit of an inner enum is its name",
    ),
    (
        "PartlyUntagged",
        r#"{"Other": 5}"#,
        "an untagged variant has no name",
    ),
    (
        "PartlyUntagged",
        r#"{"Loose": {"loose": true}}"#,
        "an untagged variant has no name",
    ),
    (
        "PartlyUntagged",
        r#"{"Nothing": null}"#,
        "a unit is its name",
    ),
    (
        "PartlyUntagged",
        r#""Other""#,
        "an untagged variant has no name",
    ),
];

/// JSON serde never writes, for `internally_tagged_newtypes_of_enums_and_units`: (type, JSON, why).
const WRONG_INTERNALLY_TAGGED_NEWTYPES_OF_ENUMS_AND_UNITS: &[(&str, &str, &str)] = &[
    (
        "InternalOfEnums",
        r#"{"type": "OfExternal"}"#,
        "the inner enum's variant missing",
    ),
    (
        "InternalOfEnums",
        r#"{"type": "OfAdjacent"}"#,
        "the inner tag missing",
    ),
    (
        "InternalOfEnums",
        r#"{"type": "OfOption"}"#,
        "serde cannot write None here",
    ),
    (
        "InternalOfEnums",
        r#"{"type": "OfExternal", "Wrapped": "1"}"#,
        "wrong inner type",
    ),
];

/// JSON serde never writes, for `generics`: (type, JSON, why).
const WRONG_GENERICS: &[(&str, &str, &str)] = &[
    (
        "Pair<number[], string | null>",
        r#"{"first": [1], "second": 5}"#,
        "second is a string",
    ),
    (
        "Pair<number[], string | null>",
        r#"{"first": 1, "second": null}"#,
        "first is a list",
    ),
    (
        "Choice<string, number>",
        r#"{"k": "One", "values": [1]}"#,
        "another variant's field",
    ),
    (
        "Choice<string, number>",
        r#"{"k": "Boxed", "value": "s"}"#,
        "the newtype's fields are first and second",
    ),
    (
        "Choice<string, number>",
        r#"{"k": "Boxed", "first": "s", "second": "t"}"#,
        "U is number",
    ),
    (
        "Envelope<Extra>",
        r#"{"envelope_id": 1, "body": {"colour": "c", "weight": null}}"#,
        "flattened, not nested",
    ),
    (
        "Node<string>",
        r#"{"value": "a", "next": {"value": 1, "next": null}}"#,
        "T again inside",
    ),
    ("Wrapper<number>", r#"{"inner": 1}"#, "transparent"),
];

#[test]
fn structs_and_std_shapes() {
    let mut r = Rng::new(0x5EED_0001);
    let mut cases = Cases::default();
    cases
        .ok("UnitStruct", samples::<UnitStruct>(&mut r, 2))
        .ok("EmptyStruct", samples::<EmptyStruct>(&mut r, 2))
        .ok("TupleSkips", samples::<TupleSkips>(&mut r, SAMPLES))
        .ok("TupleOneLeft", samples::<TupleOneLeft>(&mut r, SAMPLES))
        .ok("Newtype", samples::<Newtype>(&mut r, SAMPLES))
        .ok("Meters", samples::<Meters>(&mut r, SAMPLES))
        .ok("Shapes", samples::<Shapes>(&mut r, 3 * SAMPLES))
        .ok("Names", samples::<Names>(&mut r, SAMPLES))
        .ok("TaggedStruct", samples::<TaggedStruct>(&mut r, SAMPLES))
        .ok("Maps", samples::<Maps>(&mut r, 3 * SAMPLES));
    cases.value(
        "Newtype",
        &Newtype(vec![None, Some(i32::MIN), Some(i32::MAX)]),
    );
    cases.value("Meters", &Meters { value: -0.0 });
    let mut shapes = Shapes::arb(&mut r);
    shapes.maybe_maybe = Some(None);
    shapes.letter = '\u{2028}';
    shapes.big = u64::MAX;
    cases.value("Shapes", &shapes);
    shapes.letter = 'q';
    let shapes = json(&shapes);
    let names = json(&Names::arb(&mut r));
    let maps = json(&Maps {
        by_int: BTreeMap::from([(7, "seven".to_owned())]),
        by_negative: BTreeMap::from([(-1, true)]),
        by_char: BTreeMap::from([('"', 1)]),
        by_colour: BTreeMap::from([(Colour::DarkRed, vec![1]), (Colour::SkyBlue, vec![])]),
        by_id: BTreeMap::from([(Id(3), None)]),
        of_maps: BTreeMap::from([("m".to_owned(), BTreeMap::from([(1, (2, true))]))]),
        colours: BTreeSet::from([Colour::Green]),
    });
    cases.value("Maps", &serde_json::from_str::<Maps>(&maps).unwrap());
    cases.edits(
        "Shapes",
        &shapes,
        &[
            (r#""letter":"q""#, r#""letter":113"#, "a char is a string"),
            (r#""nothing":null"#, r#""nothing":{}"#, "() is null"),
            (r#""unit_struct":null"#, r#""unit_struct":{}"#, "unit"),
            (r#""array":["#, r#""array":[1,"#, "four, not three"),
            (r#""triple":["#, r#""triple":[1,"#, "a 4-tuple"),
            (r#""type":"#, r#""r#type":"#, "raw identifier"),
            (r#""set":["#, r#""set":["a","#, "a string in a set of u32"),
            (
                r#""maybe_maybe":null"#,
                r#""maybe_maybe":[null]"#,
                "Option<Option<u8>>",
            ),
        ],
    );
    cases.edits(
        "Names",
        &names,
        &[
            (r#""with-dash":"#, r#""with_dash":"#, "Rust name"),
            (r#""ser_name":"#, r#""de_name":"#, "deserialize name"),
            (r#""aliased":"#, r#""old_name":"#, "an alias"),
            (r#""class":"#, r#""class-name":"#, "renamed"),
            (r#""":"#, r#""empty-name":"#, "renamed to empty"),
            (r#""quote\"d\\back'slash":"#, r#""quoted":"#, "renamed"),
        ],
    );
    cases.edits(
        "Maps",
        &maps,
        &[
            (r#""7":"seven""#, r#""7":7"#, "value type"),
            (
                r#""DARK_RED":"#,
                r#""DarkRed":"#,
                "key not a variant's name",
            ),
            (
                r#""DARK_RED":"#,
                r#""INVISIBLE":"#,
                "key of a skipped variant",
            ),
            (
                r#""colours":["GREEN"]"#,
                r#""colours":["Green"]"#,
                "set item",
            ),
        ],
    );
    cases.wrong_all(WRONG_STRUCTS_AND_STD_SHAPES);
    cases.check("structs");
}

#[test]
fn rename_rules() {
    let mut r = Rng::new(0x5EED_0002);
    let mut cases = Cases::default();
    cases
        .ok("RuleLower", samples::<RuleLower>(&mut r, 2))
        .ok("RuleUpper", samples::<RuleUpper>(&mut r, 2))
        .ok("RulePascal", samples::<RulePascal>(&mut r, 2))
        .ok("RuleCamel", samples::<RuleCamel>(&mut r, 2))
        .ok("RuleSnake", samples::<RuleSnake>(&mut r, 2))
        .ok("RuleScreaming", samples::<RuleScreaming>(&mut r, 2))
        .ok("RuleKebab", samples::<RuleKebab>(&mut r, 2))
        .ok(
            "RuleScreamingKebab",
            samples::<RuleScreamingKebab>(&mut r, 2),
        )
        .ok("VariantLower", samples::<VariantLower>(&mut r, 1))
        .ok("VariantUpper", samples::<VariantUpper>(&mut r, 1))
        .ok("VariantPascal", samples::<VariantPascal>(&mut r, 1))
        .ok("VariantCamel", samples::<VariantCamel>(&mut r, 1))
        .ok("VariantSnake", samples::<VariantSnake>(&mut r, 1))
        .ok("VariantScreaming", samples::<VariantScreaming>(&mut r, 1))
        .ok("VariantKebab", samples::<VariantKebab>(&mut r, 1))
        .ok(
            "VariantScreamingKebab",
            samples::<VariantScreamingKebab>(&mut r, 1),
        );
    let camel = json(&RuleCamel::arb(&mut r));
    let kebab = json(&RuleScreamingKebab::arb(&mut r));
    cases.edits(
        "RuleCamel",
        &camel,
        &[
            (r#""fieldName":"#, r#""field_name":"#, "Rust name"),
            (r#""type":"#, r#""r#type":"#, "raw identifier"),
        ],
    );
    cases.edits(
        "RuleScreamingKebab",
        &kebab,
        &[(r#""FIELD-NAME":"#, r#""FIELD_NAME":"#, "rule")],
    );
    cases.wrong_all(WRONG_RENAME_RULES);
    cases.check("rules");
}

#[test]
fn skips_and_flatten() {
    let mut r = Rng::new(0x5EED_0003);
    let mut cases = Cases::default();
    cases
        .ok("Skips", samples::<Skips>(&mut r, 4 * SAMPLES))
        .ok("Flattened", samples::<Flattened>(&mut r, 3 * SAMPLES))
        .ok("FlatMap", samples::<FlatMap>(&mut r, 2 * SAMPLES))
        .ok("Middle", samples::<Middle>(&mut r, SAMPLES));
    let full = Skips {
        maybe: Some(1),
        list: vec!["a".to_owned()],
        double_skipped: Some(Some("s".to_owned())),
        text: "t".to_owned(),
        ..Skips::default()
    };
    cases
        .value("Skips", &full)
        .value("Skips", &Skips::default());
    let empty = json(&Skips::default());
    let full = json(&full);
    let flattened = json(&Flattened {
        id: 1,
        middle: Middle {
            created_at: "c".to_owned(),
            deepest: Deepest { deep: true, x_y: 2 },
            note: Some("n".to_owned()),
        },
        extra: Some(Extra {
            colour: "red".to_owned(),
            weight: None,
        }),
    });
    cases.value(
        "Flattened",
        &serde_json::from_str::<Flattened>(&flattened).unwrap(),
    );
    cases.edits(
        "Skips",
        &empty,
        &[
            ("{", r#"{"never_written":1,"#, "skip_serializing present"),
            ("{", r#"{"hidden":"h","#, "skip present"),
            (
                r#""written_not_read":2,"#,
                "",
                "skip_deserializing is written",
            ),
            (
                r#","double":null"#,
                "",
                "an Option without skip_serializing_if is always written",
            ),
        ],
    );
    cases.edits(
        "Skips",
        &full,
        &[
            (r#""list":["a"]"#, r#""list":null"#, "a list is never null"),
            (r#""renamed-skippable":"#, r#""text":"#, "Rust name"),
            (r#""defaulted":0"#, r#""defaulted":"0""#, "a number"),
        ],
    );
    cases.edits(
        "Flattened",
        &flattened,
        &[
            (r#""deep":true,"#, "", "a nested flattened field missing"),
            (
                r#""createdAt":"#,
                r#""created_at":"#,
                "Rust name in a flattened struct",
            ),
            (r#""x-y":"#, r#""x_y":"#, "Rust name two flattens down"),
            (
                r#""colour":"red""#,
                r#""colour":1"#,
                "a flattened Option's field type",
            ),
        ],
    );
    cases.wrong_all(WRONG_SKIPS_AND_FLATTEN);
    cases.check("skips");
}

#[test]
fn externally_tagged_and_recursive() {
    let mut r = Rng::new(0x5EED_0004);
    let mut cases = Cases::default();
    cases
        .ok("External", samples::<External>(&mut r, SAMPLES))
        .ok("Expr", samples::<Expr>(&mut r, SAMPLES))
        .ok("Tree", samples::<Tree>(&mut r, 4 * SAMPLES));
    let deep = (0..6).fold(Expr::Num(1.0), |e, i| {
        if i % 2 == 0 {
            Expr::Neg(Box::new(e))
        } else {
            Expr::Maybe {
                inner: Some(Box::new(e)),
            }
        }
    });
    cases.value("Expr", &Expr::Sum(vec![deep, Expr::Sum(vec![])]));
    cases.wrong_all(WRONG_EXTERNALLY_TAGGED_AND_RECURSIVE);
    cases.check("external");
}

#[test]
fn internally_tagged() {
    let mut r = Rng::new(0x5EED_0005);
    let mut cases = Cases::default();
    cases
        // `NewUnitStruct` (7) is in `bug_internally_tagged_newtype_of_unit_struct`.
        .ok(
            "Internal",
            samples_of::<Internal>(&mut r, SAMPLES, (0..11).filter(|v| *v != 7)),
        )
        .ok(
            "TaggedWithUntaggedUnit",
            samples::<TaggedWithUntaggedUnit>(&mut r, SAMPLES),
        );
    cases.wrong_all(WRONG_INTERNALLY_TAGGED);
    cases.check("internal");
}

#[test]
fn adjacently_tagged_and_untagged() {
    let mut r = Rng::new(0x5EED_0006);
    let mut cases = Cases::default();
    cases
        .ok("Adjacent", samples::<Adjacent>(&mut r, SAMPLES))
        .ok("Untagged", samples::<Untagged>(&mut r, SAMPLES))
        .ok("Small", samples::<Small>(&mut r, SAMPLES))
        .ok("PartlyUntagged", samples::<PartlyUntagged>(&mut r, SAMPLES));
    cases.wrong_all(WRONG_ADJACENTLY_TAGGED_AND_UNTAGGED);
    cases.check("adjacent");
}

#[test]
fn internally_tagged_newtypes_of_enums_and_units() {
    let mut r = Rng::new(0x5EED_0007);
    let mut cases = Cases::default();
    // `OfUnit` (1) and `OfExternal(Small::Plain)` are in the `bug_` tests below.
    let values = (0..4 * SAMPLES)
        .map(|i| {
            let value = InternalOfEnums::arb_variant(&mut r, if i % 2 == 0 { 0 } else { 2 });
            if let InternalOfEnums::OfExternal(Small::Plain) = value {
                InternalOfEnums::OfExternal(Small::Wrapped(u8::MAX))
            } else {
                value
            }
        })
        .map(|value| json(&value));
    cases.ok("InternalOfEnums", values);
    for adjacent in samples::<Adjacent>(&mut r, 1) {
        let value: Adjacent = serde_json::from_str(&adjacent).unwrap();
        cases.value("InternalOfEnums", &InternalOfEnums::OfAdjacent(value));
    }
    cases.wrong_all(WRONG_INTERNALLY_TAGGED_NEWTYPES_OF_ENUMS_AND_UNITS);
    cases.check("internal-enums");
}

#[test]
fn generics() {
    let mut r = Rng::new(0x5EED_0008);
    let mut cases = Cases::default();
    cases
        .ok("Generics", samples::<Generics>(&mut r, 4 * SAMPLES))
        .ok(
            "Pair<number[], string | null>",
            samples::<Pair<Vec<u8>, Option<String>>>(&mut r, SAMPLES),
        )
        .ok(
            "Choice<string, [number, boolean]>",
            samples::<Choice<String, (u8, bool)>>(&mut r, SAMPLES),
        )
        .ok(
            "Node<Choice<number, number>>",
            samples::<Node<Choice<u8, u8>>>(&mut r, SAMPLES),
        )
        .ok(
            "Envelope<Extra>",
            samples::<Envelope<Extra>>(&mut r, SAMPLES),
        )
        .ok(
            "Wrapper<Pair<number, Meters>>",
            samples::<Wrapper<Pair<u8, Meters>>>(&mut r, SAMPLES),
        );
    let generics = json(&Generics::arb(&mut r));
    cases.edits(
        "Generics",
        &generics,
        &[(r#""envelope_id":"#, r#""envelopeId":"#, "a field's name")],
    );
    cases.wrong_all(WRONG_GENERICS);
    cases.check("generics");
}

// ---------------------------------------------------------------------------------------------
// Bugs found: serde writes these values and the generated types reject them.

/// serde writes `Internal::NewUnitStruct(UnitStruct)` as `{"type":"new_unit_struct"}` (the
/// tag alone), but the type says `{ type: "new_unit_struct" } & UnitStruct`, that is
/// `{ ... } & null`, which is `never`.
#[test]
fn bug_internally_tagged_newtype_of_unit_struct() {
    let mut r = Rng::new(0x5EED_0009);
    let mut cases = Cases::default();
    cases.ok("Internal", samples_of::<Internal>(&mut r, 2, [7]));
    assert_eq!(cases.ok[0].1, r#"{"type":"new_unit_struct"}"#);
    cases.check("bug-unit-struct");
}

/// serde writes `InternalOfEnums::OfUnit(())` as `{"type":"OfUnit"}` (the tag alone), but the
/// type says `{ type: "OfUnit" } & null`, which is `never`.
#[test]
fn bug_internally_tagged_newtype_of_unit() {
    let mut cases = Cases::default();
    cases.value("InternalOfEnums", &InternalOfEnums::OfUnit(()));
    assert_eq!(cases.ok[0].1, r#"{"type":"OfUnit"}"#);
    cases.check("bug-unit");
}

/// serde writes a unit variant of an externally tagged enum inside an internally tagged
/// newtype variant as a key with `null` beside the tag: `InternalOfEnums::OfExternal(
/// Small::Plain)` is `{"type":"OfExternal","Plain":null}`. The type says
/// `{ type: "OfExternal" } & Small`, whose unit member is `{ type: "OfExternal" } & "Plain"`
/// (an object and a string at once), so the value is rejected, and nothing describes it.
#[test]
fn bug_internally_tagged_newtype_of_external_unit_variant() {
    let mut cases = Cases::default();
    cases.value(
        "InternalOfEnums",
        &InternalOfEnums::OfExternal(Small::Plain),
    );
    assert_eq!(cases.ok[0].1, r#"{"type":"OfExternal","Plain":null}"#);
    cases.check("bug-external-unit");
}

// ---------------------------------------------------------------------------------------------
// Second round: flattened enums, keys wrapping a unit enum, tags that need quotes, split
// rename rules, one element left in a tuple variant, mutual recursion, untagged units.

/// Flattened enums of each representation, and a flattened unit struct.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FlatEnums {
    id: u32,
    #[serde(flatten)]
    external: Small,
    #[serde(flatten)]
    internal: InnerTagged,
}

impl Arb for FlatEnums {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        FlatEnums {
            id: g(r),
            external: g(r),
            internal: g(r),
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FlatAdjacent {
    id: u32,
    #[serde(flatten)]
    adjacent: Adjacent,
}

impl Arb for FlatAdjacent {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        FlatAdjacent {
            id: g(r),
            adjacent: g(r),
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
enum UntaggedFields {
    A { a: u8 },
    B { b: bool },
}

impl Arb for UntaggedFields {
    const VARIANTS: usize = 2;
    fn arb_variant(r: &mut Rng, variant: usize) -> Self {
        match variant {
            0 => UntaggedFields::A { a: g(r) },
            _ => UntaggedFields::B { b: g(r) },
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FlatUntagged {
    id: u32,
    #[serde(flatten)]
    untagged: UntaggedFields,
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    extra: Option<Extra>,
}

impl Arb for FlatUntagged {
    fn arb_variant(r: &mut Rng, _: usize) -> Self {
        FlatUntagged {
            id: g(r),
            untagged: g(r),
            extra: g(r),
        }
    }
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct FlatUnit {
    id: u32,
    #[serde(flatten)]
    unit: UnitStruct,
}

#[derive(
    Draftable, TypeScript, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize,
)]
struct ColourKey(Colour);

#[derive(
    Draftable, TypeScript, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize,
)]
#[serde(transparent)]
struct ColourName {
    colour: Colour,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct WrappedKeys {
    by_key: BTreeMap<ColourKey, u8>,
    by_name: BTreeMap<ColourName, u8>,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "the-kind", rename_all = "lowercase")]
enum QuotedTag {
    First { a: u8 },
    Second,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "@type", content = "my content")]
enum QuotedAdjacent {
    First(u8),
    Second,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(serialize = "camelCase", deserialize = "snake_case"))]
struct SplitRule {
    field_name: u8,
    #[serde(rename(deserialize = "only_read"))]
    read_renamed: u8,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all(deserialize = "kebab-case"))]
struct DeserializeOnlyRule {
    field_name: u8,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(
    rename_all(serialize = "UPPERCASE"),
    rename_all_fields(serialize = "camelCase")
)]
enum SplitVariantRule {
    UnitOne,
    WithFields { field_name: u8 },
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum OneLeft {
    Tuple(#[serde(skip)] u8, String),
    #[serde(untagged)]
    Nothing,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "c")]
enum AdjacentOneLeft {
    Tuple(#[serde(skip)] u8, String),
    #[serde(untagged)]
    Nothing,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Folder {
    name: String,
    files: Vec<File>,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct File {
    name: String,
    parent: Option<Box<Folder>>,
}

/// A type named as a TypeScript global that the declarations may use for maps.
#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Record {
    entries: BTreeMap<String, u8>,
    colours: BTreeMap<Colour, u8>,
}

fn second_declarations() -> String {
    Declarations::new()
        .add::<FlatEnums>()
        .add::<FlatAdjacent>()
        .add::<FlatUntagged>()
        .add::<FlatUnit>()
        .add::<WrappedKeys>()
        .add::<QuotedTag>()
        .add::<QuotedAdjacent>()
        .add::<SplitRule>()
        .add::<DeserializeOnlyRule>()
        .add::<SplitVariantRule>()
        .add::<OneLeft>()
        .add::<AdjacentOneLeft>()
        .add::<Folder>()
        .to_string()
}

/// JSON serde never writes, for the second round's types: (type, JSON, why).
const WRONG_SECOND_ROUND: &[(&str, &str, &str)] = &[
    (
        "FlatEnums",
        r#"{"id": 1, "kind": "Dot"}"#,
        "the flattened external enum's key missing",
    ),
    (
        "FlatEnums",
        r#"{"id": 1, "Wrapped": 1}"#,
        "the flattened internal tag missing",
    ),
    (
        "FlatEnums",
        r#"{"id": 1, "external": {"Wrapped": 1}, "kind": "Dot"}"#,
        "flattened, not nested",
    ),
    (
        "FlatAdjacent",
        r#"{"id": 1, "adjacent": {"t": "unit-variant"}}"#,
        "flattened, not nested",
    ),
    (
        "FlatAdjacent",
        r#"{"id": 1, "t": "newtype"}"#,
        "content missing",
    ),
    ("FlatUntagged", r#"{"id": 1}"#, "no variant's fields"),
    (
        "FlatUntagged",
        r#"{"id": 1, "c": true}"#,
        "no variant has c",
    ),
    (
        "FlatUntagged",
        r#"{"id": 1, "a": 1, "extra": null}"#,
        "the Option is flattened",
    ),
    (
        "QuotedTag",
        r#"{"the-kind": "First", "a": 1}"#,
        "the rule applies to the tag's value",
    ),
    (
        "QuotedTag",
        r#"{"kind": "first", "a": 1}"#,
        "the tag's name",
    ),
    (
        "QuotedTag",
        r#"{"the-kind": "second", "a": 1}"#,
        "another variant's field",
    ),
    (
        "QuotedAdjacent",
        r#"{"@type": "First", "c": 1}"#,
        "the content's name",
    ),
    (
        "QuotedAdjacent",
        r#"{"type": "First", "my content": 1}"#,
        "the tag's name",
    ),
    ("QuotedAdjacent", r#"{"@type": "First"}"#, "content missing"),
    (
        "SplitRule",
        r#"{"field_name": 1, "readRenamed": 2}"#,
        "the deserialize rule",
    ),
    (
        "SplitRule",
        r#"{"fieldName": 1, "only_read": 2}"#,
        "the deserialize name",
    ),
    (
        "SplitRule",
        r#"{"fieldName": 1, "read_renamed": 2}"#,
        "the rule applies beside a deserialize-only rename",
    ),
    (
        "DeserializeOnlyRule",
        r#"{"field-name": 1}"#,
        "the deserialize rule",
    ),
    ("SplitVariantRule", r#""UnitOne""#, "the serialize rule"),
    (
        "SplitVariantRule",
        r#"{"WITHFIELDS": {"field_name": 1}}"#,
        "the serialize rule of fields",
    ),
    (
        "OneLeft",
        r#"{"Tuple": "s"}"#,
        "one element left is still a sequence",
    ),
    ("OneLeft", r#"{"Tuple": [1, "s"]}"#, "the skipped element"),
    ("OneLeft", r#""Nothing""#, "an untagged unit is null"),
    (
        "OneLeft",
        r#"{"Nothing": null}"#,
        "an untagged unit is null",
    ),
    (
        "AdjacentOneLeft",
        r#"{"t": "Tuple", "c": "s"}"#,
        "one element left is still a sequence",
    ),
    (
        "AdjacentOneLeft",
        r#"{"t": "Nothing"}"#,
        "an untagged unit is null",
    ),
    (
        "WrappedKeys",
        r#"{"by_key": {"DarkRed": 1}, "by_name": {}}"#,
        "a key wrapping a unit enum",
    ),
    (
        "WrappedKeys",
        r#"{"by_key": {}, "by_name": {"colour": 1}}"#,
        "a transparent key",
    ),
    (
        "Folder",
        r#"{"name": "f", "files": [{"name": "a", "parent": {"name": "up"}}]}"#,
        "mutual recursion",
    ),
];

#[test]
fn second_round() {
    let mut r = Rng::new(0x5EED_0010);
    let mut cases = Cases {
        declarations: Some(second_declarations()),
        ..Cases::default()
    };
    // A flattened `Small::Plain` is in `bug_flattened_external_unit_variant`.
    let flat_enums = (0..4 * SAMPLES).map(|_| {
        let mut value = FlatEnums::arb(&mut r);
        if value.external == Small::Plain {
            value.external = Small::Wrapped(7);
        }
        json(&value)
    });
    cases
        .ok("FlatEnums", flat_enums.collect::<Vec<_>>())
        .ok("FlatAdjacent", samples::<FlatAdjacent>(&mut r, 4 * SAMPLES))
        .ok("FlatUntagged", samples::<FlatUntagged>(&mut r, 4 * SAMPLES));
    for colour in [Colour::DarkRed, Colour::SkyBlue] {
        let by_key = BTreeMap::from([(ColourKey(colour.clone()), 1)]);
        let by_name = BTreeMap::from([(ColourName { colour }, 2)]);
        cases.value("WrappedKeys", &WrappedKeys { by_key, by_name });
    }
    cases
        .value("QuotedTag", &QuotedTag::First { a: 1 })
        .value("QuotedTag", &QuotedTag::Second)
        .value("QuotedAdjacent", &QuotedAdjacent::First(1))
        .value("QuotedAdjacent", &QuotedAdjacent::Second)
        .value(
            "SplitRule",
            &SplitRule {
                field_name: 1,
                read_renamed: 2,
            },
        )
        .value(
            "DeserializeOnlyRule",
            &DeserializeOnlyRule { field_name: 1 },
        )
        .value("SplitVariantRule", &SplitVariantRule::UnitOne)
        .value(
            "SplitVariantRule",
            &SplitVariantRule::WithFields { field_name: 1 },
        )
        .value("OneLeft", &OneLeft::Tuple(1, "s".to_owned()))
        .value("OneLeft", &OneLeft::Nothing)
        .value(
            "AdjacentOneLeft",
            &AdjacentOneLeft::Tuple(1, "s".to_owned()),
        )
        .value("AdjacentOneLeft", &AdjacentOneLeft::Nothing);
    let up = Folder {
        name: "up".to_owned(),
        files: vec![],
    };
    let file = File {
        name: "a".to_owned(),
        parent: Some(Box::new(up)),
    };
    cases.value(
        "Folder",
        &Folder {
            name: "f".to_owned(),
            files: vec![file],
        },
    );
    cases.wrong_all(WRONG_SECOND_ROUND);
    cases.check("second");
}

/// serde writes a flattened externally tagged unit variant as its name with `null`:
/// `FlatEnums { id: 1, external: Small::Plain, internal: InnerTagged::Dot }` is
/// `{"id":1,"Plain":null,"kind":"Dot"}`, but the type is `{ id: number } & Small & InnerTagged`,
/// whose unit member is `{ id: number } & "Plain" & ...` (an object and a string at once).
#[test]
fn bug_flattened_external_unit_variant() {
    let mut cases = Cases {
        declarations: Some(second_declarations()),
        ..Cases::default()
    };
    let value = FlatEnums {
        id: 1,
        external: Small::Plain,
        internal: InnerTagged::Dot,
    };
    cases.value("FlatEnums", &value);
    assert_eq!(cases.ok[0].1, r#"{"id":1,"Plain":null,"kind":"Dot"}"#);
    cases.check("bug-flat-external-unit");
}

/// serde writes nothing for a flattened unit struct: `FlatUnit { id: 1, unit: UnitStruct }` is
/// `{"id":1}`, but the type is `{ id: number } & UnitStruct`, that is `{ ... } & null`: `never`.
#[test]
fn bug_flattened_unit_struct() {
    let mut cases = Cases {
        declarations: Some(second_declarations()),
        ..Cases::default()
    };
    cases.value(
        "FlatUnit",
        &FlatUnit {
            id: 1,
            unit: UnitStruct,
        },
    );
    assert_eq!(cases.ok[0].1, r#"{"id":1}"#);
    cases.check("bug-flat-unit");
}

/// A derived type named `Record` is declared `export type Record = { entries: Record<string,
/// number>; ... }`: the maps' `Record<K, V>` now names the user's type, and the `.d.ts` does
/// not compile (`TS2315: Type 'Record' is not generic`).
#[test]
fn bug_type_named_record() {
    let mut cases = Cases {
        declarations: Some(Declarations::new().add::<Record>().to_string()),
        ..Cases::default()
    };
    let entries = BTreeMap::from([("a".to_owned(), 1)]);
    let colours = BTreeMap::from([(Colour::Green, 1)]);
    cases.value("Record", &Record { entries, colours });
    cases.check("bug-record");
}

// ---------------------------------------------------------------------------------------------
// Third round: a generic map key, a generic recursive enum, property names that look like
// numbers, names with control characters, an internally tagged newtype of an untagged enum.

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Keyed<K: Ord, V> {
    map: BTreeMap<K, V>,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum List<T> {
    Nil,
    Cons(T, Box<List<T>>),
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct NumberLike {
    #[serde(rename = "0x10")]
    hex: u8,
    #[serde(rename = "1e3")]
    exponent: u8,
    #[serde(rename = "1.50")]
    decimal: u8,
    #[serde(rename = "01")]
    leading_zero: u8,
    #[serde(rename = "-1")]
    negative: u8,
    #[serde(rename = "1st")]
    first: u8,
    #[serde(rename = "new\nline")]
    newline: u8,
    #[serde(rename = "tab\there")]
    tab: u8,
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Escaped {
    #[serde(rename = "new\nline")]
    Newline,
    #[serde(rename = "back\\slash")]
    Backslash { x: u8 },
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
enum InternalOfUntagged {
    Fields(UntaggedFields),
    Generic(Choice<u8, bool>),
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct ThirdRound {
    by_colour: Keyed<Colour, u8>,
    by_number: Keyed<u32, bool>,
    list: List<String>,
    names: NumberLike,
    escaped: Vec<Escaped>,
    internal: Vec<InternalOfUntagged>,
    envelope: Envelope<Choice<u8, u8>>,
}

fn third_round_value(r: &mut Rng) -> ThirdRound {
    let list = (0..r.below(4)).fold(List::Nil, |tail, _| List::Cons(g(r), Box::new(tail)));
    ThirdRound {
        by_colour: Keyed { map: g(r) },
        by_number: Keyed { map: g(r) },
        list,
        names: NumberLike {
            hex: 1,
            exponent: 2,
            decimal: 3,
            leading_zero: 4,
            negative: 5,
            first: 6,
            newline: 7,
            tab: 8,
        },
        escaped: vec![Escaped::Newline, Escaped::Backslash { x: g(r) }],
        internal: vec![
            InternalOfUntagged::Fields(g(r)),
            InternalOfUntagged::Fields(g(r)),
            InternalOfUntagged::Generic(g(r)),
            InternalOfUntagged::Generic(g(r)),
        ],
        envelope: g(r),
    }
}

fn third_declarations() -> String {
    Declarations::new().add::<ThirdRound>().to_string()
}

#[test]
fn third_round() {
    let mut r = Rng::new(0x5EED_0011);
    let mut cases = Cases {
        declarations: Some(third_declarations()),
        ..Cases::default()
    };
    for _ in 0..4 * SAMPLES {
        cases.value("ThirdRound", &third_round_value(&mut r));
    }
    let base = json(&third_round_value(&mut r));
    cases.edits(
        "ThirdRound",
        &base,
        &[
            (
                r#""0x10":1"#,
                r#""16":1"#,
                "0x10 is a name, not the number 16",
            ),
            (
                r#""1e3":2"#,
                r#""1000":2"#,
                "1e3 is a name, not the number 1000",
            ),
            (
                r#""1.50":3"#,
                r#""1.5":3"#,
                "1.50 is a name, not the number 1.5",
            ),
            (r#""01":4"#, r#""1":4"#, "01 is a name, not the number 1"),
            (
                r#""new\nline":7"#,
                r#""new line":7"#,
                "an escaped newline in a name",
            ),
            (
                r#"["new\nline","#,
                r#"["new\\nline","#,
                "an escaped newline in a variant",
            ),
            (
                r#""back\\slash""#,
                r#""back\\\\slash""#,
                "an escaped backslash in a variant",
            ),
            (r#""Nil""#, r#"{"Nil":null}"#, "a unit variant is its name"),
            (
                r#""type":"Fields","#,
                r#""type":"Fields","c":1,"#,
                "no untagged variant has c",
            ),
            (
                r#""type":"Generic","#,
                r#""type":"Generic","k":"Two","#,
                "the inner tag",
            ),
            (
                r#""envelope_id":"#,
                r#""envelope":"#,
                "the envelope's own field",
            ),
        ],
    );
    cases.check("third");
}

/// A map keyed by a type parameter is typed `Record<string, V>` in the generic declaration
/// (`export type Keyed<K, V> = { map: Record<string, V> };`), so `Keyed<Colour, u8>` accepts
/// any key, where a map keyed by `Colour` directly is `Partial<Record<Colour, number>>` and
/// rejects a key that is no variant's name. Looser than it could be rather than wrong: every
/// value serde writes is accepted.
#[test]
fn bug_generic_map_key_accepts_any_key() {
    let mut cases = Cases {
        declarations: Some(third_declarations()),
        ..Cases::default()
    };
    cases.wrong(
        "Keyed<Colour, number>",
        r#"{"map": {"DarkRed": 1}}"#,
        "a key no variant has",
    );
    cases.check("bug-generic-key");
}

// ---------------------------------------------------------------------------------------------
// Fourth round: std's odder types, one-tuples and arrays around the tuple limit, `Json`,
// `serialize_with` with its type said by hand, a `skip_deserializing` variant, `into`.

fn upper<S: serde::Serializer>(value: &str, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_uppercase())
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
enum Variants {
    Plain,
    #[serde(skip_deserializing)]
    WrittenOnly {
        x: u8,
    },
}

#[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
struct Odds {
    #[draft(leaf)]
    one: (u8,),
    none: [u8; 0],
    sixteen: [u8; 16],
    seventeen: [u8; 17],
    big: u128,
    small: i128,
    unit_option: Option<()>,
    unit_map: BTreeMap<String, Option<()>>,
    #[draft(leaf)]
    boxed: Box<[u8]>,
    shared: std::sync::Arc<str>,
    #[draft(leaf)]
    counted: std::rc::Rc<Vec<u8>>,
    cow: std::borrow::Cow<'static, str>,
    non_zero: std::num::NonZeroU8,
    ip: std::net::IpAddr,
    path: std::path::PathBuf,
    duration: std::time::Duration,
    json: serde_json::Value,
    #[serde(serialize_with = "upper")]
    #[ts(type = "Uppercase<string>")]
    #[draft(skip)]
    shouted: String,
    variants: Vec<Variants>,
    nested: Nested,
}

/// A nesting of std types (an alias, which the derive sees through).
type Nested = Option<Vec<Option<Box<(u8, Option<Variants>)>>>>;

fn odds() -> Odds {
    Odds {
        one: (1,),
        none: [],
        sixteen: [7; 16],
        seventeen: [9; 17],
        big: u128::MAX,
        small: i128::MIN,
        unit_option: Some(()),
        unit_map: BTreeMap::from([("a".to_owned(), None), ("b".to_owned(), Some(()))]),
        boxed: Box::new([1, 2]),
        shared: "s".into(),
        counted: std::rc::Rc::new(vec![3]),
        cow: "c".into(),
        non_zero: std::num::NonZeroU8::MIN,
        ip: std::net::IpAddr::from([127, 0, 0, 1]),
        path: "/a/b".into(),
        duration: std::time::Duration::new(3, 4),
        json: serde_json::json!({"a": [1, "x", null, true, {"b": {}}, [[]]]}),
        shouted: "quiet".to_owned(),
        variants: vec![Variants::Plain, Variants::WrittenOnly { x: 1 }],
        nested: Some(vec![None, Some(Box::new((1, Some(Variants::Plain))))]),
    }
}

/// `into = "Meters"`: the type is `Meters`'s.
#[derive(TypeScript, Clone, Debug, PartialEq, Serialize)]
#[serde(into = "Meters")]
struct Feet {
    feet: f64,
}

impl From<Feet> for Meters {
    fn from(feet: Feet) -> Meters {
        Meters {
            value: feet.feet * 0.3048,
        }
    }
}

#[test]
fn fourth_round() {
    let declarations = Declarations::new().add::<Odds>().add::<Feet>().to_string();
    let mut cases = Cases {
        declarations: Some(declarations),
        ..Cases::default()
    };
    let base = json(&odds());
    cases
        .value("Odds", &odds())
        .value("Feet", &Feet { feet: 2.0 });
    cases.edits(
        "Odds",
        &base,
        &[
            (r#""one":[1]"#, r#""one":1"#, "a one-tuple is a sequence"),
            (r#""none":[]"#, r#""none":[1]"#, "an empty array"),
            (r#""sixteen":[7,"#, r#""sixteen":["#, "fifteen of sixteen"),
            (r#""unit_option":null"#, r#""unit_option":{}"#, "() is null"),
            (
                r#""duration":{"secs":3,"nanos":4}"#,
                r#""duration":3"#,
                "a duration is secs and nanos",
            ),
            (
                r#""shouted":"QUIET""#,
                r#""shouted":1"#,
                "the type said by hand",
            ),
            (r#""non_zero":1"#, r#""non_zero":"1""#, "a number"),
            (
                r#"["Plain","#,
                r#"[{"Plain":null},"#,
                "a unit variant is its name",
            ),
        ],
    );
    cases.wrong("Feet", r#"{"feet": 2}"#, "into writes the other type");
    cases.check("fourth");
}
