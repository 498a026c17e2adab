//! `#[derive(TypeScript)]`: exact declarations of a few types, the committed `.d.ts` fixtures
//! kept up to date, and the types checked against serde: several hundred random values of
//! every representation, serialized with `serde_json`, must compile against the generated
//! declarations with the TypeScript compiler (`tsc --noEmit --strict`), and deliberately
//! wrong values must not.
//!
//! The compiler is the JavaScript client's (`npm ci` in `clients/js`). Without it the check
//! fails under `CI=true` and is skipped with a notice otherwise.

use std::cell::{Cell, RefCell};
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::marker::PhantomData;
use std::num::{Saturating, Wrapping};
use std::ops::{Bound, Range, RangeFrom, RangeInclusive, RangeTo};
use std::path::{Path, PathBuf};
use std::process::Command;

use immer::typescript::Declarations;
use immer::{Json, OrdMap, OrdSet, TypeScript, Vector};
use serde::{Deserialize, Serialize, Serializer};

#[path = "support/vectors.rs"]
mod vectors;
use vectors::Rng;

// ---- The fixture types of `clients/js/test/ts/fixtures.d.ts`.

#[allow(
    clippy::struct_field_names,
    reason = "the fixture's field names are given"
)]
mod fixtures {
    use super::{Deserialize, HashMap, Serialize, TypeScript, Vector};
    use immer::Draftable;

    #[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(rename_all = "camelCase")]
    pub(crate) struct Project {
        pub(crate) project_name: String,
        pub(crate) tasks: Vector<Task>,
        pub(crate) owner: Option<String>,
        pub(crate) scores: HashMap<String, u32>,
        pub(crate) status: Status,
        pub(crate) shape: Shape,
    }

    #[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub(crate) struct Task {
        pub(crate) id: u64,
        pub(crate) title: String,
        pub(crate) done: bool,
    }

    #[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
    #[serde(tag = "kind", rename_all = "snake_case")]
    pub(crate) enum Status {
        Draft,
        Active { since: String },
        Closed { reason: String, at: u64 },
    }

    #[derive(Draftable, TypeScript, Clone, Debug, PartialEq, Serialize, Deserialize)]
    pub(crate) enum Shape {
        Circle { radius: f64 },
        Rect(f64, f64),
        Empty,
    }
}

use fixtures::{Project, Shape, Status, Task};

// ---- The test types: every representation, every rename rule, every field attribute.

#[derive(TypeScript, Serialize, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
enum Color {
    Red,
    Green,
    #[serde(rename = "dark-blue")]
    Blue,
}

#[derive(TypeScript, Serialize)]
enum External {
    Unit,
    #[serde(rename = "new-type")]
    Newtype(u32),
    Tuple(String, bool),
    Struct {
        #[serde(rename = "x-value")]
        x: i32,
        y: Option<String>,
    },
    #[serde(skip)]
    #[allow(dead_code, reason = "never written: serde skips it")]
    Hidden(u8),
}

#[derive(TypeScript, Serialize)]
#[serde(
    tag = "type",
    rename_all = "kebab-case",
    rename_all_fields = "camelCase"
)]
enum Internal {
    UnitCase,
    StructCase {
        inner_value: u8,
        #[serde(skip_serializing_if = "Option::is_none")]
        maybe_note: Option<String>,
    },
    NewtypeCase(Task),
    #[serde(rename_all = "SCREAMING-KEBAB-CASE")]
    OwnRule {
        some_field: bool,
    },
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "t", content = "c", rename_all = "SCREAMING_SNAKE_CASE")]
#[allow(clippy::enum_variant_names, reason = "each variant names its shape")]
enum Adjacent {
    UnitCase,
    NewtypeCase(u32),
    TupleCase(u8, String),
    StructCase { the_field: Vec<u8> },
}

#[derive(TypeScript, Serialize)]
#[serde(untagged)]
enum Untagged {
    Unit,
    Newtype(bool),
    Tuple(u8, String),
    Struct { label: String },
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "t")]
enum Mixed {
    Known {
        id: u8,
    },
    #[serde(untagged)]
    Other(String),
    #[serde(untagged)]
    Nothing,
}

/// A struct and an enum per rename rule.
macro_rules! rule_types {
    ($($structure:ident $enumeration:ident $rule:literal;)+) => {$(
        #[derive(TypeScript, Serialize)]
        #[serde(rename_all = $rule)]
        struct $structure {
            first_name: String,
            item_count: u32,
        }

        #[derive(TypeScript, Serialize)]
        #[serde(rename_all = $rule, rename_all_fields = $rule)]
        enum $enumeration {
            FirstVariant,
            SecondOne { inner_field: u8 },
        }

        impl Random for $structure {
            fn random(rng: &mut Rng, depth: u32) -> Self {
                $structure {
                    first_name: Random::random(rng, depth),
                    item_count: Random::random(rng, depth),
                }
            }
        }

        impl Random for $enumeration {
            fn random(rng: &mut Rng, depth: u32) -> Self {
                if rng.below(2) == 0 {
                    $enumeration::FirstVariant
                } else {
                    $enumeration::SecondOne { inner_field: Random::random(rng, depth) }
                }
            }
        }
    )+};
}

rule_types! {
    LowerStruct LowerEnum "lowercase";
    UpperStruct UpperEnum "UPPERCASE";
    PascalStruct PascalEnum "PascalCase";
    CamelStruct CamelEnum "camelCase";
    SnakeStruct SnakeEnum "snake_case";
    ScreamingStruct ScreamingEnum "SCREAMING_SNAKE_CASE";
    KebabStruct KebabEnum "kebab-case";
    ScreamingKebabStruct ScreamingKebabEnum "SCREAMING-KEBAB-CASE";
}

#[derive(TypeScript, Serialize)]
struct Page<T> {
    items: Vec<T>,
    total: u32,
}

#[derive(TypeScript, Serialize)]
struct Tree {
    label: String,
    children: Vec<Tree>,
}

#[derive(TypeScript, Serialize)]
struct Node<T> {
    value: T,
    next: Option<Box<Node<T>>>,
}

#[derive(TypeScript, Serialize)]
struct Meters(f64);

#[derive(TypeScript, Serialize)]
struct Point(
    i32,
    i32,
    #[serde(skip)]
    #[allow(dead_code, reason = "serde skips it")]
    u8,
);

#[derive(TypeScript, Serialize)]
struct Marker;

#[derive(TypeScript, Serialize)]
#[serde(transparent)]
struct Id {
    value: String,
}

#[derive(TypeScript, Serialize, Clone)]
#[serde(into = "String")]
struct Shout(u8);

impl From<Shout> for String {
    fn from(shout: Shout) -> String {
        format!("{}!", shout.0)
    }
}

#[derive(TypeScript, Serialize)]
#[serde(rename_all = "camelCase")]
struct Extra {
    extra_count: u8,
    extra_label: Option<String>,
}

#[derive(TypeScript, Serialize)]
struct Corner {
    column: u8,
    row: u8,
}

impl Corner {
    fn is_origin(&self) -> bool {
        self.column == 0 && self.row == 0
    }
}

/// Flattened fields that may add no key: serde writes nothing for a `None` and for a field
/// its `skip_serializing_if` leaves out.
#[derive(TypeScript, Serialize)]
struct Sparse {
    label: String,
    #[serde(flatten)]
    extra: Option<Extra>,
    #[serde(flatten, skip_serializing_if = "Corner::is_origin")]
    corner: Corner,
}

#[derive(TypeScript, Serialize)]
#[serde(tag = "kind", rename = "tagged-struct")]
struct Tagged {
    value: u8,
}

#[derive(TypeScript, Serialize)]
struct WithMap {
    label: String,
    #[serde(flatten)]
    rest: HashMap<String, String>,
}

#[expect(
    clippy::trivially_copy_pass_by_ref,
    reason = "serde's serialize_with signature"
)]
fn as_text<S: Serializer>(value: &u32, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&value.to_string())
}

#[derive(TypeScript, Serialize)]
#[allow(
    clippy::struct_field_names,
    clippy::option_option,
    reason = "the fields say what they test, and serde writes `Some(None)` as `null`"
)]
struct Everything {
    #[serde(rename = "first-name")]
    name: String,
    #[serde(skip)]
    #[allow(dead_code, reason = "serde skips it")]
    secret: u8,
    #[serde(skip_serializing_if = "Option::is_none")]
    note: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tags: Vec<String>,
    optional: Option<u32>,
    nested_option: Option<Option<bool>>,
    #[serde(default)]
    count: u64,
    by_id: HashMap<u32, String>,
    by_color: BTreeMap<Color, u8>,
    ord: OrdMap<String, Vec<u8>>,
    set: HashSet<u16>,
    sorted: BTreeSet<String>,
    persistent: OrdSet<i32>,
    list: Vector<f64>,
    pair: (u8, String),
    triple: (bool, i64, Option<char>),
    short: [u8; 3],
    long: [u8; 20],
    page: Page<Option<Vec<Task>>>,
    tree: Tree,
    chain: Node<String>,
    meters: Meters,
    point: Point,
    marker: Marker,
    id: Id,
    shout: Shout,
    json: Json,
    value: serde_json::Value,
    #[serde(serialize_with = "as_text")]
    #[ts(type = "string")]
    custom: u32,
    #[serde(flatten)]
    extra: Extra,
    r#type: Color,
}

/// The std types serde writes in a shape of their own (or as what they wrap).
#[derive(TypeScript, Serialize)]
struct StdTypes {
    result: Result<u32, String>,
    results: Vec<Result<Task, Color>>,
    phantom: PhantomData<Task>,
    wrapping: Wrapping<u8>,
    saturating: Saturating<i32>,
    reverse: Reverse<String>,
    by_reverse: BTreeMap<Reverse<Color>, u8>,
    cell: Cell<u32>,
    ref_cell: RefCell<Vec<bool>>,
    range: Range<u32>,
    inclusive: RangeInclusive<i64>,
    from: RangeFrom<u8>,
    to: RangeTo<u8>,
    bound: Bound<String>,
}

// ---- Random values, from a fixed seed.

trait Random: Sized {
    fn random(rng: &mut Rng, depth: u32) -> Self;
}

impl Random for bool {
    fn random(rng: &mut Rng, _: u32) -> Self {
        rng.below(2) == 0
    }
}

macro_rules! random_integers {
    ($($ty:ty),+) => {$(
        impl Random for $ty {
            fn random(rng: &mut Rng, _: u32) -> Self {
                <$ty>::try_from(rng.below(200)).unwrap_or_default()
            }
        }
    )+};
}

random_integers!(u8, u16, u32, u64, i32, i64);

impl Random for f64 {
    fn random(rng: &mut Rng, _: u32) -> Self {
        (f64::from(u32::try_from(rng.below(2000)).unwrap_or(0)) - 1000.0) / 8.0
    }
}

impl Random for String {
    fn random(rng: &mut Rng, _: u32) -> Self {
        (*rng.pick(&[
            "",
            "a",
            "with \"quotes\"",
            "ünïcödé",
            "line\nbreak",
            "back\\slash",
        ]))
        .to_owned()
    }
}

impl Random for char {
    fn random(rng: &mut Rng, _: u32) -> Self {
        *rng.pick(&['a', '"', 'é', '\n'])
    }
}

impl<T: Random> Random for Option<T> {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        (rng.below(3) != 0 && depth < 4).then(|| T::random(rng, depth + 1))
    }
}

impl<T: Random> Random for Box<T> {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        Box::new(T::random(rng, depth))
    }
}

/// Up to three elements, none below depth 4 (recursive types end).
fn elements<T: Random>(rng: &mut Rng, depth: u32) -> Vec<T> {
    let len = if depth >= 4 { 0 } else { rng.below(4) };
    (0..len).map(|_| T::random(rng, depth + 1)).collect()
}

macro_rules! random_collections {
    ($($ty:ident $(: $($bound:path),+)?;)+) => {$(
        impl<T: Random $($(+ $bound)+)?> Random for $ty<T> {
            fn random(rng: &mut Rng, depth: u32) -> Self {
                elements(rng, depth).into_iter().collect()
            }
        }
    )+};
}

random_collections! {
    Vec;
    Vector: Clone;
    HashSet: Eq, std::hash::Hash;
    BTreeSet: Ord;
    OrdSet: Ord, Clone;
}

impl<K: Random + Eq + std::hash::Hash, V: Random> Random for HashMap<K, V> {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        elements::<(K, V)>(rng, depth).into_iter().collect()
    }
}

impl<K: Random + Ord, V: Random> Random for BTreeMap<K, V> {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        elements::<(K, V)>(rng, depth).into_iter().collect()
    }
}

impl<K: Random + Ord + Clone, V: Random + Clone> Random for OrdMap<K, V> {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        elements::<(K, V)>(rng, depth).into_iter().collect()
    }
}

impl<A: Random, B: Random> Random for (A, B) {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        (A::random(rng, depth), B::random(rng, depth))
    }
}

impl<A: Random, B: Random, C: Random> Random for (A, B, C) {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        (
            A::random(rng, depth),
            B::random(rng, depth),
            C::random(rng, depth),
        )
    }
}

impl<T: Random, const N: usize> Random for [T; N] {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        std::array::from_fn(|_| T::random(rng, depth))
    }
}

impl Random for serde_json::Value {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        use serde_json::Value;
        match if depth >= 3 {
            rng.below(4)
        } else {
            rng.below(6)
        } {
            0 => Value::Null,
            1 => Value::Bool(Random::random(rng, depth)),
            2 => serde_json::json!(f64::random(rng, depth)),
            3 => Value::String(Random::random(rng, depth)),
            4 => Value::Array(elements(rng, depth)),
            _ => Value::Object(
                elements::<(String, Value)>(rng, depth)
                    .into_iter()
                    .collect(),
            ),
        }
    }
}

impl Random for Json {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        Json::from(serde_json::Value::random(rng, depth))
    }
}

/// `Random` for a struct: every field random.
macro_rules! random_struct {
    ($($ty:ident $(<$param:ident>)? { $($field:ident),* })+) => {$(
        impl$(<$param: Random>)? Random for $ty$(<$param>)? {
            fn random(rng: &mut Rng, depth: u32) -> Self {
                $ty { $($field: Random::random(rng, depth + 1)),* }
            }
        }
    )+};
}

random_struct! {
    Project { project_name, tasks, owner, scores, status, shape }
    Task { id, title, done }
    Page<T> { items, total }
    Tree { label, children }
    Node<T> { value, next }
    Id { value }
    Extra { extra_count, extra_label }
    Corner { column, row }
    Sparse { label, extra, corner }
    Tagged { value }
    WithMap { label, rest }
    Everything {
        name, secret, note, tags, optional, nested_option, count, by_id, by_color, ord, set,
        sorted, persistent, list, pair, triple, short, long, page, tree, chain, meters, point,
        marker, id, shout, json, value, custom, extra, r#type
    }
}

impl Random for Meters {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        Meters(Random::random(rng, depth))
    }
}

impl Random for Point {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        Point(Random::random(rng, depth), Random::random(rng, depth), 7)
    }
}

impl Random for Marker {
    fn random(_: &mut Rng, _: u32) -> Self {
        Marker
    }
}

impl Random for Shout {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        Shout(Random::random(rng, depth))
    }
}

impl Random for Color {
    fn random(rng: &mut Rng, _: u32) -> Self {
        *rng.pick(&[Color::Red, Color::Green, Color::Blue])
    }
}

impl<T: Random, E: Random> Random for Result<T, E> {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        if rng.below(2) == 0 {
            Ok(T::random(rng, depth))
        } else {
            Err(E::random(rng, depth))
        }
    }
}

impl Random for StdTypes {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        StdTypes {
            result: Random::random(rng, depth),
            results: Random::random(rng, depth),
            phantom: PhantomData,
            wrapping: Wrapping(Random::random(rng, depth)),
            saturating: Saturating(Random::random(rng, depth)),
            reverse: Reverse(Random::random(rng, depth)),
            by_reverse: BTreeMap::<Color, u8>::random(rng, depth)
                .into_iter()
                .map(|(k, v)| (Reverse(k), v))
                .collect(),
            cell: Cell::new(Random::random(rng, depth)),
            ref_cell: RefCell::new(Random::random(rng, depth)),
            range: Random::random(rng, depth)..Random::random(rng, depth),
            inclusive: RangeInclusive::new(Random::random(rng, depth), Random::random(rng, depth)),
            from: u8::random(rng, depth)..,
            to: ..u8::random(rng, depth),
            bound: match rng.below(3) {
                0 => Bound::Unbounded,
                1 => Bound::Included(Random::random(rng, depth)),
                _ => Bound::Excluded(Random::random(rng, depth)),
            },
        }
    }
}

impl Random for Status {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        match rng.below(3) {
            0 => Status::Draft,
            1 => Status::Active {
                since: Random::random(rng, depth),
            },
            _ => Status::Closed {
                reason: Random::random(rng, depth),
                at: Random::random(rng, depth),
            },
        }
    }
}

impl Random for Shape {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        match rng.below(3) {
            0 => Shape::Circle {
                radius: Random::random(rng, depth),
            },
            1 => Shape::Rect(Random::random(rng, depth), Random::random(rng, depth)),
            _ => Shape::Empty,
        }
    }
}

impl Random for External {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        match rng.below(4) {
            0 => External::Unit,
            1 => External::Newtype(Random::random(rng, depth)),
            2 => External::Tuple(Random::random(rng, depth), Random::random(rng, depth)),
            _ => External::Struct {
                x: Random::random(rng, depth),
                y: Random::random(rng, depth),
            },
        }
    }
}

impl Random for Internal {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        match rng.below(4) {
            0 => Internal::UnitCase,
            1 => Internal::StructCase {
                inner_value: Random::random(rng, depth),
                maybe_note: Random::random(rng, depth),
            },
            2 => Internal::NewtypeCase(Random::random(rng, depth)),
            _ => Internal::OwnRule {
                some_field: Random::random(rng, depth),
            },
        }
    }
}

impl Random for Mixed {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        match rng.below(3) {
            0 => Mixed::Known {
                id: Random::random(rng, depth),
            },
            1 => Mixed::Other(Random::random(rng, depth)),
            _ => Mixed::Nothing,
        }
    }
}

impl Random for Adjacent {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        match rng.below(4) {
            0 => Adjacent::UnitCase,
            1 => Adjacent::NewtypeCase(Random::random(rng, depth)),
            2 => Adjacent::TupleCase(Random::random(rng, depth), Random::random(rng, depth)),
            _ => Adjacent::StructCase {
                the_field: Random::random(rng, depth),
            },
        }
    }
}

impl Random for Untagged {
    fn random(rng: &mut Rng, depth: u32) -> Self {
        match rng.below(4) {
            0 => Untagged::Unit,
            1 => Untagged::Newtype(Random::random(rng, depth)),
            2 => Untagged::Tuple(Random::random(rng, depth), Random::random(rng, depth)),
            _ => Untagged::Struct {
                label: Random::random(rng, depth),
            },
        }
    }
}

// ---- Exact declarations.

fn declarations_of<T: TypeScript>() -> String {
    Declarations::new().add::<T>().to_string()
}

/// The `export type` line declaring `name`.
fn declaration(text: &str, name: &str) -> String {
    let prefix = format!("export type {name} ");
    let prefix_generic = format!("export type {name}<");
    text.lines()
        .find(|line| line.starts_with(&prefix) || line.starts_with(&prefix_generic))
        .unwrap_or_else(|| panic!("no declaration of {name} in:\n{text}"))
        .to_owned()
}

#[test]
fn fixtures_are_declared_as_serde_writes_them() {
    let text = declarations_of::<Project>();
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("export type"))
            .collect::<Vec<_>>(),
        [
            "export type Project = { projectName: string; tasks: Task[]; owner: string | null; scores: { [key: string]: number }; status: Status; shape: Shape };",
            "export type Task = { id: number; title: string; done: boolean };",
            "export type Status = { kind: \"draft\" } | { kind: \"active\"; since: string } | { kind: \"closed\"; reason: string; at: number };",
            "export type Shape = { Circle: { radius: number } } | { Rect: [number, number] } | \"Empty\";",
        ]
    );
    assert!(text.starts_with(
        "// Generated from the Rust types by #[derive(TypeScript)] (immer). Do not edit:\n"
    ));
}

#[test]
fn each_representation_is_declared_as_serde_writes_it() {
    let text = declarations_of::<(External, Internal, Adjacent, Untagged, Mixed)>();
    assert_eq!(
        declaration(&text, "Mixed"),
        "export type Mixed = { t: \"Known\"; id: number } | string | null;"
    );
    assert_eq!(
        declaration(&text, "External"),
        "export type External = \"Unit\" | { \"new-type\": number } | { Tuple: [string, boolean] } | { Struct: { \"x-value\": number; y: string | null } };"
    );
    assert_eq!(
        declaration(&text, "Internal"),
        "export type Internal = { type: \"unit-case\" } | { type: \"struct-case\"; innerValue: number; maybeNote?: string | null } | { type: \"newtype-case\" } & Task | { type: \"own-rule\"; SOME-FIELD: boolean };"
            .replace("SOME-FIELD", "\"SOME-FIELD\"")
    );
    assert_eq!(
        declaration(&text, "Adjacent"),
        "export type Adjacent = { t: \"UNIT_CASE\" } | { t: \"NEWTYPE_CASE\"; c: number } | { t: \"TUPLE_CASE\"; c: [number, string] } | { t: \"STRUCT_CASE\"; c: { the_field: number[] } };"
    );
    assert_eq!(
        declaration(&text, "Untagged"),
        "export type Untagged = null | boolean | [number, string] | { label: string };"
    );
}

#[test]
fn generic_recursive_and_wrapped_types_are_declared_once() {
    let text = declarations_of::<(Page<Option<Vec<Task>>>, Node<String>, Tree, Tree)>();
    assert_eq!(
        declaration(&text, "Page"),
        "export type Page<T> = { items: T[]; total: number };"
    );
    assert_eq!(
        declaration(&text, "Node"),
        "export type Node<T> = { value: T; next: Node<T> | null };"
    );
    assert_eq!(
        declaration(&text, "Tree"),
        "export type Tree = { label: string; children: Tree[] };"
    );
    assert_eq!(text.matches("export type").count(), 4, "{text}");
    let mut declarations = Declarations::new();
    assert_eq!(
        declarations.expression::<Page<Option<Vec<Task>>>>(),
        "Page<Task[] | null>"
    );
    assert_eq!(declarations.names().collect::<Vec<_>>(), ["Page", "Task"]);
}

#[test]
fn std_types_are_declared_as_serde_writes_them() {
    let text = declarations_of::<StdTypes>();
    assert_eq!(
        declaration(&text, "StdTypes"),
        concat!(
            "export type StdTypes = { result: { Ok: number } | { Err: string }; ",
            "results: ({ Ok: Task } | { Err: Color })[]; phantom: null; wrapping: number; ",
            "saturating: number; reverse: string; by_reverse: { [key in Color]?: number }; ",
            "cell: number; ref_cell: boolean[]; range: { start: number; end: number }; ",
            "inclusive: { start: number; end: number }; from: { start: number }; ",
            "to: { end: number }; bound: \"Unbounded\" | { Included: string } | { Excluded: string } };",
        )
    );
}

#[test]
#[allow(dead_code, reason = "the types are only declared")]
fn types_of_one_name_in_two_places_are_both_declared() {
    fn first(declarations: &mut Declarations) {
        #[derive(TypeScript)]
        struct Local {
            a: u8,
        }
        declarations.expression::<Local>();
    }
    fn second(declarations: &mut Declarations) {
        #[derive(TypeScript)]
        struct Local {
            b: bool,
        }
        declarations.expression::<Local>();
    }
    let mut declarations = Declarations::new();
    first(&mut declarations);
    second(&mut declarations);
    first(&mut declarations);
    let text = declarations.to_string();
    assert!(
        text.contains("export type Local = { a: number };"),
        "{text}"
    );
    assert!(
        text.contains("export type Local = { b: boolean };"),
        "{text}"
    );
    assert_eq!(text.matches("export type Local").count(), 2, "{text}");
}

#[test]
fn fields_follow_serde_attributes() {
    let text = declarations_of::<Everything>();
    let everything = declaration(&text, "Everything");
    for part in [
        "export type Everything = { \"first-name\": string; note?: string | null; tags?: string[]; ",
        "optional: number | null; nested_option: boolean | null; count: number; ",
        "by_id: { [key: string]: string }; by_color: { [key in Color]?: number }; ",
        "ord: { [key: string]: number[] }; set: number[]; sorted: string[]; persistent: number[]; ",
        "list: number[]; pair: [number, string]; triple: [boolean, number, string | null]; ",
        "short: [number, number, number]; long: number[]; page: Page<Task[] | null>; ",
        "tree: Tree; chain: Node<string>; meters: Meters; point: Point; marker: Marker; id: Id; ",
        "shout: Shout; json: JsonValue; value: JsonValue; custom: string; type: Color } & Extra;",
    ] {
        assert!(everything.contains(part), "{part:?} not in {everything}");
    }
    assert!(!everything.contains("secret"));
    assert_eq!(
        declaration(&text, "Color"),
        "export type Color = \"Red\" | \"Green\" | \"dark-blue\";"
    );
    assert_eq!(declaration(&text, "Meters"), "export type Meters = number;");
    assert_eq!(
        declaration(&text, "Point"),
        "export type Point = [number, number];"
    );
    assert_eq!(declaration(&text, "Marker"), "export type Marker = null;");
    assert_eq!(declaration(&text, "Id"), "export type Id = string;");
    assert_eq!(declaration(&text, "Shout"), "export type Shout = string;");
    assert_eq!(
        declaration(&text, "Extra"),
        "export type Extra = { extraCount: number; extraLabel: string | null };"
    );
    assert_eq!(
        declaration(&declarations_of::<Tagged>(), "Tagged"),
        "export type Tagged = { kind: \"tagged-struct\"; value: number };"
    );
    assert_eq!(
        declaration(&declarations_of::<WithMap>(), "WithMap"),
        "export type WithMap = { label: string } & { [key: string]: string };"
    );
}

/// A `Sparse` with no flattened key, and one with all of them.
fn sparse_values() -> [Sparse; 2] {
    [
        Sparse {
            label: "none".to_owned(),
            extra: None,
            corner: Corner { column: 0, row: 0 },
        },
        Sparse {
            label: "some".to_owned(),
            extra: Some(Extra {
                extra_count: 1,
                extra_label: None,
            }),
            corner: Corner { column: 2, row: 3 },
        },
    ]
}

#[test]
fn flattened_fields_that_may_add_nothing_are_or_empty() {
    assert_eq!(
        declaration(&declarations_of::<Sparse>(), "Sparse"),
        "export type Sparse = { label: string } & (Extra | {}) & (Corner | {});"
    );
    let [none, some] = sparse_values();
    assert_eq!(
        serde_json::to_value(&none).expect("serializes"),
        serde_json::json!({"label": "none"})
    );
    assert_eq!(
        serde_json::to_value(&some).expect("serializes"),
        serde_json::json!({
            "label": "some", "extraCount": 1, "extraLabel": null, "column": 2, "row": 3
        })
    );
}

#[test]
fn rename_rules_rename_fields_and_variants() {
    let text = declarations_of::<(KebabStruct, ScreamingKebabEnum, PascalEnum)>();
    assert_eq!(
        declaration(&text, "KebabStruct"),
        "export type KebabStruct = { \"first-name\": string; \"item-count\": number };"
    );
    assert_eq!(
        declaration(&text, "ScreamingKebabEnum"),
        "export type ScreamingKebabEnum = \"FIRST-VARIANT\" | { \"SECOND-ONE\": { \"INNER-FIELD\": number } };"
    );
    assert_eq!(
        declaration(&text, "PascalEnum"),
        "export type PascalEnum = \"FirstVariant\" | { SecondOne: { InnerField: number } };"
    );
}

// ---- The committed fixtures.

fn workspace_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn committed_fixtures_are_up_to_date() {
    vectors::check_committed(
        "clients/js/test/ts/fixtures.d.ts",
        &declarations_of::<Project>(),
        "the fixture types changed; rewrite it with IMMER_UPDATE_VECTORS=1 cargo test --test \
         test_typescript",
    );
}

// ---- The TypeScript compiler on serde's JSON.

/// The compiler of the JavaScript client, or `None` (with a notice) when it is not installed
/// and this is not CI.
fn tsc() -> Option<PathBuf> {
    let tsc = workspace_root().join("clients/js/node_modules/.bin/tsc");
    if tsc.is_file() {
        return Some(tsc);
    }
    let message = format!(
        "the TypeScript compiler is missing ({}): run `npm ci` in clients/js",
        tsc.display()
    );
    assert!(std::env::var("CI").as_deref() != Ok("true"), "{message}");
    // Written to the process's stderr, past the test harness's capture, so it shows.
    let _ = writeln!(
        std::io::stderr(),
        "\n!!!!!!!! SKIPPED: {message} !!!!!!!!\n"
    );
    None
}

/// A temporary directory holding `types.d.ts` and `values.ts`, removed when dropped.
struct TypeScriptProject {
    dir: PathBuf,
}

impl TypeScriptProject {
    fn new(name: &str, types: &str, values: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("immer-ts-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("a temporary directory");
        std::fs::write(dir.join("types.d.ts"), types).expect("types.d.ts is writable");
        std::fs::write(dir.join("values.ts"), values).expect("values.ts is writable");
        TypeScriptProject { dir }
    }

    /// Whether `tsc --noEmit --strict` passes, and its output.
    fn compile(&self, tsc: &Path) -> (bool, String) {
        let output = Command::new(tsc)
            .current_dir(&self.dir)
            .args([
                "--noEmit",
                "--strict",
                "--pretty",
                "false",
                "--target",
                "es2020",
                "values.ts",
            ])
            .output()
            .expect("tsc runs");
        let text = String::from_utf8_lossy(&output.stdout).into_owned()
            + &String::from_utf8_lossy(&output.stderr);
        (output.status.success(), text)
    }
}

impl Drop for TypeScriptProject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Values and the declarations their types need.
#[derive(Default)]
struct Values {
    declarations: Declarations,
    lines: Vec<String>,
}

impl Values {
    /// `const vN: <T's type> = <json>;`
    fn push_json<T: TypeScript>(&mut self, json: &str) {
        let expression = self.declarations.expression::<T>();
        let n = self.lines.len();
        self.lines
            .push(format!("const v{n}: {expression} = {json};"));
    }

    fn push<T: TypeScript + Serialize>(&mut self, value: &T) {
        self.push_json::<T>(&serde_json::to_string(value).expect("the value serializes"));
    }

    fn random<T: TypeScript + Serialize + Random>(&mut self, rng: &mut Rng, count: usize) {
        for _ in 0..count {
            self.push(&T::random(rng, 0));
        }
    }

    fn files(&self) -> (String, String) {
        let names: Vec<&str> = self.declarations.names().collect();
        let mut values = format!("import type {{ {} }} from \"./types\";\n", names.join(", "));
        for line in &self.lines {
            writeln!(values, "{line}").expect("a String takes writes");
        }
        writeln!(values, "export {{}};").expect("a String takes writes");
        (self.declarations.to_string(), values)
    }
}

macro_rules! random_values {
    ($values:expr, $rng:expr, $count:expr; $($ty:ty),+ $(,)?) => {$(
        $values.random::<$ty>($rng, $count);
    )+};
}

#[test]
fn random_values_compile_against_the_declarations() {
    let Some(tsc) = tsc() else { return };
    let mut rng = Rng(0x5EED_7375);
    let mut values = Values::default();
    random_values!(values, &mut rng, 12;
        Project, Task, Status, Shape, Color, External, Internal, Adjacent, Untagged, Mixed,
        LowerStruct, LowerEnum, UpperStruct, UpperEnum, PascalStruct, PascalEnum,
        CamelStruct, CamelEnum, SnakeStruct, SnakeEnum, ScreamingStruct, ScreamingEnum,
        KebabStruct, KebabEnum, ScreamingKebabStruct, ScreamingKebabEnum,
        Page<Option<Vec<Task>>>, Tree, Node<String>, Meters, Point, Marker, Id, Shout, Extra,
        WithMap, Tagged, Everything, Vec<External>, HashMap<Color, Adjacent>, (Internal, Untagged),
        Sparse, StdTypes,
    );
    for sparse in sparse_values() {
        values.push(&sparse);
    }
    assert!(values.lines.len() >= 400, "{} values", values.lines.len());
    let (types, file) = values.files();
    let project = TypeScriptProject::new("values", &types, &file);
    let (ok, output) = project.compile(&tsc);
    assert!(
        ok,
        "tsc rejected serde's JSON:\n{output}\n---- types.d.ts\n{types}"
    );
}

#[test]
fn wrong_values_fail_to_compile_each() {
    let Some(tsc) = tsc() else { return };
    let mut values = Values::default();
    // Each wrong in one way: a tag, a field of another variant, a misspelled field, a type.
    values.push_json::<Shape>(r#"{"Circle": {"radius": "1"}}"#);
    values.push_json::<Shape>(r#"{"Cirle": {"radius": 1}}"#);
    values.push_json::<Shape>(r#""Circle""#);
    values.push_json::<Shape>(r#"{"Rect": [1]}"#);
    values.push_json::<External>(r#"{"Newtype": 1}"#);
    values.push_json::<External>(r#"{"Struct": {"x": 1, "y": null}}"#);
    values.push_json::<Status>(r#"{"kind": "Draft"}"#);
    values.push_json::<Status>(r#"{"kind": "active", "reason": "r"}"#);
    values.push_json::<Status>(r#"{"kind": "closed", "reason": "r", "att": 1}"#);
    values.push_json::<Internal>(r#"{"type": "struct-case", "inner_value": 1}"#);
    values.push_json::<Internal>(r#"{"type": "newtype-case", "id": 1, "title": "t"}"#);
    values.push_json::<Adjacent>(r#"{"t": "NEWTYPE_CASE"}"#);
    values.push_json::<Adjacent>(r#"{"t": "TUPLE_CASE", "c": [1, 2]}"#);
    values.push_json::<Adjacent>(r#"{"t": "UNIT_CASE", "content": 1}"#);
    values.push_json::<Untagged>(r#"{"label": 1}"#);
    values.push_json::<Untagged>("[1, 2]");
    values.push_json::<Mixed>(r#"{"t": "Other"}"#);
    values.push_json::<Mixed>(r#"{"Known": {"id": 1}}"#);
    values.push_json::<Project>(
        r#"{"project_name": "p", "tasks": [], "owner": null, "scores": {}, "status": {"kind": "draft"}, "shape": "Empty"}"#,
    );
    values.push_json::<Task>(r#"{"id": 1, "title": "t"}"#);
    values.push_json::<Task>(r#"{"id": 1, "title": "t", "done": null}"#);
    values.push_json::<Everything>("{}");
    values.push_json::<HashMap<Color, u8>>(r#"{"Blue": 1}"#);
    values.push_json::<Point>("[1, 2, 3]");
    values.push_json::<Marker>("{}");
    values.push_json::<Result<u32, String>>(r#"{"Ok": "1"}"#);
    values.push_json::<Bound<u8>>(r#""Included""#);
    values.push_json::<Range<u32>>(r#"{"start": 1}"#);
    values.push_json::<RangeFrom<u32>>(r#"{"end": 1}"#);
    values.push_json::<PhantomData<u8>>("1");
    values.push_json::<BTreeMap<Reverse<Color>, u8>>(r#"{"Blue": 1}"#);
    let (types, file) = values.files();
    let project = TypeScriptProject::new("wrong", &types, &file);
    let (ok, output) = project.compile(&tsc);
    assert!(!ok, "tsc accepted wrong values");
    // Line 1 is the import; value n is on line n + 2.
    for (n, line) in values.lines.iter().enumerate() {
        let at = format!("values.ts({},", n + 2);
        assert!(output.contains(&at), "tsc accepted {line}\n{output}");
    }
}

/// The ecosystem's types of the features this test is built with (`.ci/run` builds it once
/// per feature): serde's JSON of each compiles against its declared type.
#[test]
#[allow(unused_mut, reason = "without a feature nothing is pushed")]
fn ecosystem_types_compile_against_their_declarations() {
    let mut values = Values::default();
    #[cfg(feature = "chrono")]
    {
        use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Utc};
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000, 5).expect("a valid time");
        values.push(&at);
        values.push(&at.with_timezone(&FixedOffset::east_opt(3600).expect("an offset")));
        values.push(&NaiveDate::from_ymd_opt(2024, 2, 29).expect("a date"));
        values.push(&at.naive_utc());
        values.push(&NaiveTime::from_hms_opt(1, 2, 3).expect("a time"));
        let _: Option<NaiveDateTime> = None;
    }
    #[cfg(feature = "time")]
    {
        use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};
        let date = Date::from_calendar_date(2024, Month::February, 29).expect("a date");
        let time = Time::from_hms_nano(1, 2, 3, 4).expect("a time");
        let local = PrimitiveDateTime::new(date, time);
        values.push(&date);
        values.push(&time);
        values.push(&local);
        values.push(&local.assume_offset(UtcOffset::from_hms(-5, -30, 0).expect("an offset")));
        values.push(&OffsetDateTime::UNIX_EPOCH);
        values.push(&Duration::new(5, 7));
    }
    #[cfg(feature = "uuid")]
    values.push(&uuid::Uuid::from_u128(0x1234_5678_9abc_def0));
    #[cfg(feature = "url")]
    values.push(&url::Url::parse("https://example.com/a?b=c").expect("a URL"));
    #[cfg(feature = "rust_decimal")]
    values.push(&rust_decimal::Decimal::new(12345, 2));
    #[cfg(feature = "smol_str")]
    values.push(&smol_str::SmolStr::new("small"));
    #[cfg(feature = "compact_str")]
    values.push(&compact_str::CompactString::new("compact"));
    #[cfg(feature = "bytes")]
    values.push(&bytes::Bytes::from_static(b"\x00\x01\xff"));
    #[cfg(feature = "indexmap")]
    {
        values.push(&indexmap::IndexMap::<String, Task>::from_iter([(
            "a".to_owned(),
            Task {
                id: 1,
                title: "t".to_owned(),
                done: false,
            },
        )]));
        values.push(&indexmap::IndexMap::<Color, u8>::from_iter([(
            Color::Blue,
            1,
        )]));
        values.push(&indexmap::IndexSet::<u8>::from_iter([1, 2]));
    }
    #[cfg(feature = "smallvec")]
    values.push(&smallvec::SmallVec::<[u8; 2]>::from_slice(&[1, 2, 3]));
    #[cfg(feature = "arrayvec")]
    {
        values.push(&arrayvec::ArrayVec::<u8, 4>::from_iter([1, 2]));
        values.push(&arrayvec::ArrayString::<8>::from("abc").expect("fits"));
    }
    if values.lines.is_empty() {
        return;
    }
    let Some(tsc) = tsc() else { return };
    let (types, file) = values.files();
    let project = TypeScriptProject::new("ecosystem", &types, &file);
    let (ok, output) = project.compile(&tsc);
    assert!(
        ok,
        "tsc rejected serde's JSON:\n{output}\n---- values.ts\n{file}"
    );
}
