//! TypeScript types of a state, as serde writes it to JSON: the [`TypeScript`] trait, which
//! `#[derive(TypeScript)]` implements, and [`Declarations`], which writes a `.d.ts` text.
//!
//! A type's TypeScript *expression* is what a field of that type is written as (`number`,
//! `string | null`, `Task[]`, `Board`). A derived type is also a named *declaration*
//! (`export type Board = { ... };`), registered in the [`Declarations`] the expression was
//! asked from, once, whatever how many times and how deep it is reached. A type that contains
//! itself (a tree) refers to its own name, so recursive types work.
//!
//! The expressions follow the JSON serde writes with `serde_json`:
//!
//! | Rust | TypeScript |
//! | --- | --- |
//! | `bool` | `boolean` |
//! | integers, floats, `NonZero*` | `number` |
//! | `char`, `String`, `str`, `Cow<str>`, `Arc<str>`, `PathBuf`, IP and socket addresses | `string` |
//! | `()`, `PhantomData<T>` | `null` |
//! | `Option<T>` | `T \| null` |
//! | `Box<T>`, `Arc<T>`, `Rc<T>`, `&T`, `Cow<T>`, `Cell<T>`, `RefCell<T>`, `Wrapping<T>`, `Saturating<T>`, `Reverse<T>` | `T` |
//! | `Result<T, E>` | `{ Ok: T } \| { Err: E }` |
//! | `Bound<T>` | `"Unbounded" \| { Included: T } \| { Excluded: T }` |
//! | `Range<T>`, `RangeInclusive<T>` (`RangeFrom`, `RangeTo`) | `{ start: T; end: T }` (`{ start: T }`, `{ end: T }`) |
//! | `Vec`, `VecDeque`, `[T]`, `HashSet`, `BTreeSet`, imbl's `Vector`, `HashSet`, `OrdSet` | `T[]` |
//! | `[T; N]` with `N <= 16` | `[T, T, ...]` (a tuple of `N`: serde writes it as one) |
//! | `[T; N]` with `N > 16` | `T[]` |
//! | tuples up to 12 | `[A, B, ...]` |
//! | maps (`HashMap`, `BTreeMap`, imbl's `HashMap`, `OrdMap`) | `{ [key: string]: V }` |
//! | [`Json`](crate::Json), `serde_json::Value` | `JsonValue` (declared) |
//! | `std::time::Duration` | `{ secs: number; nanos: number }` |
//! | `std::time::SystemTime` | `{ secs_since_epoch: number; nanos_since_epoch: number }` |
//!
//! A map's key is written as a string by `serde_json` whatever its Rust type, so `K` is
//! `string` for strings, numbers and `bool`. An enum whose variants are all units is written
//! as its variant's name, so its map is `{ [key in Color]?: V }`: every key one of the
//! names, not every name present.
//!
//! The ecosystem's types of the crate's features: `chrono`'s dates and times, `uuid`, `url`,
//! `rust_decimal` (a string, serde's default for it), `smol_str` and `compact_str` are
//! `string`; `bytes::Bytes` is `number[]` (serde writes bytes as an array of numbers);
//! `indexmap`'s map and set, `smallvec` and `arrayvec` follow their std counterparts. `time`'s
//! types are tuples of numbers, because the `time` crate writes its compact form unless its
//! `serde-human-readable` feature is on (which this crate does not turn on): `Date` is
//! `[year, ordinal]`, `Time` `[hour, minute, second, nanosecond]`, `PrimitiveDateTime` the
//! six of both, `OffsetDateTime` those and the offset's hours, minutes and seconds, and
//! `Duration` `[seconds, nanoseconds]`. Cargo unifies features across a build: if another
//! crate of yours turns on `time`'s `serde-human-readable` or one of `rust_decimal`'s
//! `serde-with-*` features, serde writes those types otherwise and their types here are wrong
//! (say them by hand with `#[ts(type = "...")]`).
//!
//! # The derive
//!
//! `#[derive(TypeScript)]` (the `immer` crate re-exports it beside `Draftable`) reads the
//! type's `#[serde(...)]` attributes with the reading `#[derive(Draftable)]` uses for patch
//! paths, so a field's name in the types is the name in the patches:
//!
//! - `rename`, `rename_all` (every rule serde has), `rename_all_fields`, a variant's own
//!   `rename_all`;
//! - `skip` and `skip_serializing` leave a field or variant out (`skip_deserializing` alone
//!   does not); `skip_serializing_if` makes a field optional (`name?: T`); an `Option` field
//!   is `T | null` and always present; on a tuple's element `skip_serializing_if` is an error
//!   (the elements after it change places at run time): say such a type by hand;
//! - enums as serde writes each representation: externally tagged (`"Unit"`,
//!   `{ Newtype: T }`, `{ Tuple: [A, B] }`, `{ Struct: { ... } }`), internally tagged
//!   (`{ t: "Unit" }`, `{ t: "Struct"; ... }`, `{ t: "Newtype" } & T`), adjacently tagged
//!   (`{ t: "Unit" }`, `{ t: "Name"; c: ... }`) and untagged (the content alone, `null` for a
//!   unit);
//! - a named struct is an object, a tuple struct a tuple, a newtype its field, a unit struct
//!   `null`; `tag` on a struct adds `{ tag: "Name" }` (its `rename` if it has one); `flatten` is an intersection
//!   (`{ ... } & Extra`, `{ ... } & { [key: string]: V }` for a map); `transparent` is the one
//!   field; `into = "T"` is `T`'s type;
//! - `with` and `serialize_with` write JSON by hand, so the field (or variant) needs
//!   `#[ts(type = "...")]`, the TypeScript type said by hand; without it the derive fails
//!   with an error that says so. `#[ts(type = "...")]` on the type replaces its body, and
//!   `#[ts(crate = "...")]` names a crate that re-exports immer.
//!
//! Each derived type is declared by its Rust name. A generic type is declared generic
//! (`export type Page<T> = { items: T[] };`, used as `Page<Task>`): its body is computed with
//! each type parameter replaced by a placeholder type, so bounds on the type's own
//! declaration must be std's derivable traits (`Clone`, `Debug`, `Eq`, `Ord`, `Hash`,
//! `Default`), or the type said by hand. Property names that are not identifiers are quoted.
//!
//! What the types cannot say: a non-finite float is written `null` by `serde_json` but
//! typed `number`; a flattened map's value type must admit the other fields' types
//! (TypeScript's intersection asks each field to be both); an internally tagged newtype
//! variant of a map has the same limit.
//!
//! A generic type's parameter flattened (or the content of an internally tagged newtype
//! variant) is `MergedKeys<T>` in the generic declaration (declared beside it): `{}` where
//! serde adds no key (a `None`, a unit, an empty struct), `{ Name: null }` for an externally
//! tagged unit variant, `T` otherwise. A type cannot be named `JsonValue`, `MapKey` or
//! `MergedKeys` (the helpers' names), nor as one of TypeScript's own types (`string`,
//! `object`, ...): the derive says so.
//!
//! A map keyed by a generic type's parameter is keyed by `MapKey<K>` in the generic
//! declaration (declared beside it: `K extends string ? K : string`), so `Keyed<Color, V>`
//! takes only `Color`'s names as keys and `Keyed<u32, V>` any string.
//!
//! A flattened `Option<T>` adds `T`'s keys when it is `Some` and none when it is `None`
//! (serde writes nothing for it), so it is `T | {}` in the intersection
//! ([`TypeScript::flattened_expression`]); so is a flattened field with
//! `skip_serializing_if`, which may be left out.
//!
//! Why a derive of our own rather than [ts-rs](https://docs.rs/ts-rs): ts-rs reads serde's
//! attributes with a parser of its own, which supports a listed subset of them (its README
//! lists `rename`, `rename_all`, `rename_all_fields`, `tag`, `content`, `untagged`, `skip`,
//! `flatten` and `default`, and ignores others such as `skip_serializing` with a warning),
//! and its trait covers a fixed list of crates, which does not include `imbl`. This derive
//! shares one reading of serde's rules with the patch paths, so the two cannot disagree,
//! and knows the persistent collections and [`Json`](crate::Json).
//!
//! # Examples
//!
//! ```
//! use immer_core::typescript::{Declarations, TypeScript};
//! use std::collections::HashMap;
//!
//! let mut declarations = Declarations::new();
//! assert_eq!(
//!     <HashMap<String, Option<Vec<u32>>>>::type_expression(&mut declarations),
//!     "{ [key: string]: number[] | null }"
//! );
//! assert_eq!(<(bool, [u8; 2])>::type_expression(&mut declarations), "[boolean, [number, number]]");
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet, VecDeque};
use std::fmt::{self, Write as _};
use std::rc::Rc;
use std::sync::Arc;

/// A Rust type's TypeScript type, as serde writes the type's values to JSON.
///
/// `#[derive(TypeScript)]` (in the `immer` crate) implements it for structs and enums from
/// the same reading of their `#[serde(...)]` attributes as the patch paths of
/// `#[derive(Draftable)]`. Implement it by hand for a type whose JSON you write yourself.
///
/// # Examples
///
/// A hand-written implementation for a type serialized as a string, declared by name:
///
/// ```
/// use immer_core::typescript::{Declarations, TypeScript};
///
/// struct Color;
///
/// impl TypeScript for Color {
///     fn type_expression(declarations: &mut Declarations) -> String {
///         declarations.declare("my_crate::Color", "Color", &[], |_| "`#${string}`".to_owned());
///         "Color".to_owned()
///     }
/// }
///
/// let text = Declarations::new().add::<Vec<Color>>().to_string();
/// assert!(text.ends_with("export type Color = `#${string}`;\n"));
/// ```
pub trait TypeScript {
    /// The TypeScript expression of the type (`number`, `Task[]`, `Board`), declaring in
    /// `declarations` every named type it refers to.
    fn type_expression(declarations: &mut Declarations) -> String;

    /// The TypeScript type of the type's values as JSON object keys, when it is a map's key:
    /// `string` unless the type is written as one of a few strings (an enum of unit
    /// variants).
    fn key_expression(declarations: &mut Declarations) -> String {
        let _ = declarations;
        "string".to_owned()
    }

    /// The TypeScript type of what the type's values add to the object they are merged into
    /// (`#[serde(flatten)]`, or the content of an internally tagged enum's newtype variant,
    /// see [`tagged_content_expression`](TypeScript::tagged_content_expression)): the type's
    /// expression, except where serde writes otherwise there. An `Option`'s `None` adds
    /// nothing (serde writes no key for it), so `Option<T>` adds `T | {}`; a unit (`()`, a
    /// unit struct, an untagged unit variant) adds nothing, `{}`; an externally tagged unit
    /// variant adds its name as a key, `{ Name: null }`.
    ///
    /// ```
    /// use immer_core::typescript::{Declarations, TypeScript};
    ///
    /// let mut declarations = Declarations::new();
    /// assert_eq!(<Option<u32>>::flattened_expression(&mut declarations), "number | {}");
    /// assert_eq!(<Vec<u32>>::flattened_expression(&mut declarations), "number[]");
    /// ```
    fn flattened_expression(declarations: &mut Declarations) -> String {
        Self::type_expression(declarations)
    }

    /// The TypeScript type of what the type's values add as the content of an internally
    /// tagged enum's newtype variant (`#[serde(tag = "...")]`), which serde merges with the
    /// tag: what they add when flattened, except an `Option`, which serde cannot write there
    /// at all (`never`).
    ///
    /// ```
    /// use immer_core::typescript::{Declarations, TypeScript};
    ///
    /// let mut declarations = Declarations::new();
    /// assert_eq!(<()>::tagged_content_expression(&mut declarations), "{}");
    /// assert_eq!(<Option<()>>::tagged_content_expression(&mut declarations), "never");
    /// ```
    fn tagged_content_expression(declarations: &mut Declarations) -> String {
        Self::flattened_expression(declarations)
    }
}

/// The named types reached from some types, and the `.d.ts` text that declares them.
///
/// Each named type is declared once, in the order it was first reached (the order is the
/// same on every run). Two Rust types of the same name in different modules are both
/// declared, and the TypeScript compiler reports the duplicate name: rename one.
///
/// # Examples
///
/// ```
/// use immer_core::typescript::Declarations;
///
/// let text = Declarations::new().add::<Vec<immer_core::Json>>().to_string();
/// assert!(text.starts_with("// Generated from the Rust types"));
/// assert!(text.contains("export type JsonValue = null | boolean | number | string"));
/// ```
#[derive(Default, Debug, Clone)]
pub struct Declarations {
    declarations: Vec<Declaration>,
    keys: HashMap<&'static str, usize>,
}

#[derive(Debug, Clone)]
struct Declaration {
    name: String,
    parameters: Vec<String>,
    body: String,
}

impl Declarations {
    /// No declarations yet.
    pub fn new() -> Self {
        Declarations::default()
    }

    /// Declares every named type `T` reaches; returns `self`, to chain.
    #[must_use]
    pub fn add<T: TypeScript + ?Sized>(mut self) -> Self {
        T::type_expression(&mut self);
        self
    }

    /// `T`'s expression, declaring every named type it reaches.
    pub fn expression<T: TypeScript + ?Sized>(&mut self) -> String {
        T::type_expression(self)
    }

    /// Declares `export type name<parameters> = body;` unless a type of the same `key` is
    /// declared already (or being declared: a recursive type reaching itself). `key` tells
    /// Rust types apart (the derive passes `std::any::type_name` of the type, its generic
    /// parameters replaced by placeholders); `body` is
    /// called at most once, after the name is reserved, so it may reach the type again.
    pub fn declare(
        &mut self,
        key: &'static str,
        name: &str,
        parameters: &[&str],
        body: impl FnOnce(&mut Self) -> String,
    ) {
        if self.keys.contains_key(key) {
            return;
        }
        let index = self.declarations.len();
        self.keys.insert(key, index);
        self.declarations.push(Declaration {
            name: name.to_owned(),
            parameters: parameters.iter().map(|p| (*p).to_owned()).collect(),
            body: String::new(),
        });
        let body = body(self);
        self.declarations[index].body = body;
    }

    /// The names declared, in the order they are written.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.declarations.iter().map(|d| d.name.as_str())
    }
}

/// The `.d.ts` text: a header saying it is generated, then one `export type` per line (or
/// `export {};` when there is none, so that the file is a module all the same).
impl fmt::Display for Declarations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(
            "// Generated from the Rust types by #[derive(TypeScript)] (immer). Do not edit:\n\
             // change the Rust types and generate this file again.\n",
        )?;
        if self.declarations.is_empty() {
            // Still a module, so that importing from it is not an error.
            f.write_str("\nexport {};\n")?;
        }
        for declaration in &self.declarations {
            write!(f, "\nexport type {}", declaration.name)?;
            if !declaration.parameters.is_empty() {
                write!(f, "<{}>", declaration.parameters.join(", "))?;
            }
            writeln!(f, " = {};", declaration.body)?;
        }
        Ok(())
    }
}

/// Whether `expression` has a `|` or `&` outside brackets and string literals, so it needs
/// parentheses inside `T[]` or an intersection.
fn has_top_level_operator(expression: &str) -> bool {
    let mut depth = 0usize;
    let mut chars = expression.chars();
    while let Some(c) = chars.next() {
        match c {
            '"' | '`' => {
                while let Some(inner) = chars.next() {
                    if inner == '\\' {
                        chars.next();
                    } else if inner == c {
                        break;
                    }
                }
            }
            '(' | '[' | '{' | '<' => depth += 1,
            ')' | ']' | '}' | '>' => depth = depth.saturating_sub(1),
            '|' | '&' if depth == 0 => return true,
            _ => {}
        }
    }
    false
}

fn parenthesized(expression: &str) -> String {
    if has_top_level_operator(expression) {
        format!("({expression})")
    } else {
        expression.to_owned()
    }
}

/// `T[]`, parenthesized where needed: `(number | null)[]`.
///
/// ```
/// use immer_core::typescript::*;
///
/// assert_eq!(array("number"), "number[]");
/// assert_eq!(array("number | null"), "(number | null)[]");
/// ```
pub fn array(element: &str) -> String {
    format!("{}[]", parenthesized(element))
}

/// `[A, B]`.
///
/// ```
/// use immer_core::typescript::*;
///
/// assert_eq!(tuple(&["number", "string"]), "[number, string]");
/// ```
pub fn tuple<S: AsRef<str>>(elements: &[S]) -> String {
    let elements: Vec<&str> = elements.iter().map(AsRef::as_ref).collect();
    format!("[{}]", elements.join(", "))
}

/// `A | B`; `never` when there is none.
///
/// ```
/// use immer_core::typescript::*;
///
/// assert_eq!(union(&["\"a\"", "null"]), "\"a\" | null");
/// assert_eq!(union::<&str>(&[]), "never");
/// ```
pub fn union<S: AsRef<str>>(alternatives: &[S]) -> String {
    if alternatives.is_empty() {
        return "never".to_owned();
    }
    let alternatives: Vec<&str> = alternatives.iter().map(AsRef::as_ref).collect();
    alternatives.join(" | ")
}

/// `A & B`, each part parenthesized where needed; the one part alone.
///
/// ```
/// use immer_core::typescript::*;
///
/// assert_eq!(intersection(&["{ t: \"A\" }", "B | C"]), "{ t: \"A\" } & (B | C)");
/// ```
pub fn intersection<S: AsRef<str>>(parts: &[S]) -> String {
    if let [one] = parts {
        return one.as_ref().to_owned();
    }
    let parts: Vec<String> = parts.iter().map(|p| parenthesized(p.as_ref())).collect();
    parts.join(" & ")
}

/// A string literal type: `"name"`, with JSON's escapes.
///
/// ```
/// use immer_core::typescript::*;
///
/// assert_eq!(string_literal("say \"hi\""), r#""say \"hi\"""#);
/// ```
pub fn string_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if u32::from(c) < 0x20 || c == '\u{2028}' || c == '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// A property's name: as is when it is an identifier, else a string literal
/// (`"first-name"`).
///
/// ```
/// use immer_core::typescript::*;
///
/// assert_eq!(property_name("firstName"), "firstName");
/// assert_eq!(property_name("first-name"), "\"first-name\"");
/// ```
pub fn property_name(name: &str) -> String {
    let mut chars = name.chars();
    let identifier = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == '$')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '$');
    if identifier {
        name.to_owned()
    } else {
        string_literal(name)
    }
}

/// One property of an [`object`] type.
#[derive(Debug, Clone)]
pub struct Property {
    /// The name in JSON, unquoted.
    pub name: String,
    /// Whether it may be missing (`name?: T`).
    pub optional: bool,
    /// Its type's expression.
    pub expression: String,
}

/// `{ a: A; b?: B }`; `{ [key: string]: never }` (an empty object) when there is no property.
///
/// ```
/// use immer_core::typescript::*;
///
/// let property = |name: &str, optional, expression: &str| Property {
///     name: name.to_owned(),
///     optional,
///     expression: expression.to_owned(),
/// };
/// assert_eq!(
///     object(&[property("id", false, "number"), property("x-note", true, "string")]),
///     "{ id: number; \"x-note\"?: string }"
/// );
/// ```
pub fn object(properties: &[Property]) -> String {
    if properties.is_empty() {
        return "{ [key: string]: never }".to_owned();
    }
    let properties: Vec<String> = properties
        .iter()
        .map(|p| {
            let optional = if p.optional { "?" } else { "" };
            format!("{}{optional}: {}", property_name(&p.name), p.expression)
        })
        .collect();
    format!("{{ {} }}", properties.join("; "))
}

/// `{ [key: string]: V }`, or `{ [key in K]?: V }` when the keys are a few names (`K` is
/// not `string`): what TypeScript's `Record<string, V>` and `Partial<Record<K, V>>` stand
/// for, written out so that a Rust type named `Record` or `Partial` cannot hide them.
///
/// ```
/// use immer_core::typescript::*;
///
/// assert_eq!(record("string", "number"), "{ [key: string]: number }");
/// assert_eq!(record("Color", "number"), "{ [key in Color]?: number }");
/// ```
pub fn record(key: &str, value: &str) -> String {
    if key == "string" {
        format!("{{ [key: string]: {value} }}")
    } else {
        format!("{{ [key in {key}]?: {value} }}")
    }
}

macro_rules! fixed {
    ($expression:literal: $($ty:ty),+ $(,)?) => {$(
        impl TypeScript for $ty {
            fn type_expression(_: &mut Declarations) -> String {
                $expression.to_owned()
            }
        }
    )+};
}

fixed!("boolean": bool);
fixed!(
    "number": u8, u16, u32, u64, u128, usize, i8, i16, i32, i64, i128, isize, f32, f64,
    std::num::NonZeroU8, std::num::NonZeroU16, std::num::NonZeroU32, std::num::NonZeroU64,
    std::num::NonZeroU128, std::num::NonZeroUsize, std::num::NonZeroI8, std::num::NonZeroI16,
    std::num::NonZeroI32, std::num::NonZeroI64, std::num::NonZeroI128, std::num::NonZeroIsize,
);
fixed!(
    "string": char, String, str, std::path::PathBuf, std::path::Path, std::net::IpAddr,
    std::net::Ipv4Addr, std::net::Ipv6Addr, std::net::SocketAddr, std::net::SocketAddrV4,
    std::net::SocketAddrV6,
);
/// `null`; merged into an object (flattened, or an internally tagged newtype's content), it
/// adds nothing: `{}`.
impl TypeScript for () {
    fn type_expression(_: &mut Declarations) -> String {
        "null".to_owned()
    }
    fn flattened_expression(_: &mut Declarations) -> String {
        "{}".to_owned()
    }
}
fixed!("{ secs: number; nanos: number }": std::time::Duration);
fixed!("{ secs_since_epoch: number; nanos_since_epoch: number }": std::time::SystemTime);

/// Types written as what they hold, `T`: each of `T`'s expressions (their pointers and cells,
/// and the wrappers serde writes as the value they wrap).
macro_rules! through {
    ($(impl<T: [$($bound:tt)*]> for $ty:ty;)+) => {$(
        impl<T: TypeScript $($bound)*> TypeScript for $ty {
            fn type_expression(declarations: &mut Declarations) -> String {
                T::type_expression(declarations)
            }
            fn key_expression(declarations: &mut Declarations) -> String {
                T::key_expression(declarations)
            }
            fn flattened_expression(declarations: &mut Declarations) -> String {
                T::flattened_expression(declarations)
            }
            fn tagged_content_expression(declarations: &mut Declarations) -> String {
                T::tagged_content_expression(declarations)
            }
        }
    )+};
}

through! {
    impl<T: [+ ?Sized]> for Box<T>;
    impl<T: [+ ?Sized]> for Arc<T>;
    impl<T: [+ ?Sized]> for Rc<T>;
    impl<T: [+ ?Sized]> for &T;
    impl<T: [+ ?Sized]> for &mut T;
    impl<T: [+ ToOwned + ?Sized]> for Cow<'_, T>;
    impl<T: [+ ?Sized]> for std::cell::Cell<T>;
    impl<T: [+ ?Sized]> for std::cell::RefCell<T>;
    impl<T: []> for std::num::Wrapping<T>;
    impl<T: []> for std::num::Saturating<T>;
    impl<T: []> for std::cmp::Reverse<T>;
}

/// A property that is always there.
fn required(name: &str, expression: String) -> Property {
    Property {
        name: name.to_owned(),
        optional: false,
        expression,
    }
}

/// `PhantomData` is a unit struct to serde: `null`, and nothing when merged into an object.
impl<T: ?Sized> TypeScript for std::marker::PhantomData<T> {
    fn type_expression(_: &mut Declarations) -> String {
        "null".to_owned()
    }
    fn flattened_expression(_: &mut Declarations) -> String {
        "{}".to_owned()
    }
}

/// serde's externally tagged enum: `{ Ok: T } | { Err: E }`.
impl<T: TypeScript, E: TypeScript> TypeScript for Result<T, E> {
    fn type_expression(declarations: &mut Declarations) -> String {
        let ok = object(&[required("Ok", T::type_expression(declarations))]);
        let err = object(&[required("Err", E::type_expression(declarations))]);
        union(&[ok, err])
    }
}

/// serde's externally tagged enum: `"Unbounded" | { Included: T } | { Excluded: T }`.
impl<T: TypeScript> TypeScript for std::ops::Bound<T> {
    fn type_expression(declarations: &mut Declarations) -> String {
        let bound = T::type_expression(declarations);
        let included = object(&[required("Included", bound.clone())]);
        let excluded = object(&[required("Excluded", bound)]);
        union(&[string_literal("Unbounded"), included, excluded])
    }
}

/// Ranges, which serde writes as structs of their bounds.
macro_rules! range {
    ($ty:ident: $($field:ident),+) => {
        impl<T: TypeScript> TypeScript for std::ops::$ty<T> {
            fn type_expression(declarations: &mut Declarations) -> String {
                let bound = T::type_expression(declarations);
                object(&[$(required(stringify!($field), bound.clone())),+])
            }
        }
    };
}

range!(Range: start, end);
range!(RangeInclusive: start, end);
range!(RangeFrom: start);
range!(RangeTo: end);

impl<T: TypeScript> TypeScript for Option<T> {
    fn type_expression(declarations: &mut Declarations) -> String {
        let inner = T::type_expression(declarations);
        if inner == "null" || inner.ends_with(" | null") {
            inner
        } else {
            format!("{inner} | null")
        }
    }
    /// `None` writes no key into the object it is flattened into (serde's flattening
    /// serializer writes nothing for it), `Some` its value's.
    fn flattened_expression(declarations: &mut Declarations) -> String {
        let inner = T::flattened_expression(declarations);
        union(&[inner.as_str(), "{}"])
    }
    /// serde refuses to write an `Option` as an internally tagged variant's content, `Some`
    /// or `None`.
    fn tagged_content_expression(_: &mut Declarations) -> String {
        "never".to_owned()
    }
}

/// Sequences, written as JSON arrays.
macro_rules! sequence {
    ($($ty:ty),+ $(,)?) => {$(
        impl<T: TypeScript> TypeScript for $ty {
            fn type_expression(declarations: &mut Declarations) -> String {
                array(&T::type_expression(declarations))
            }
        }
    )+};
}

sequence!(
    Vec<T>,
    VecDeque<T>,
    [T],
    BTreeSet<T>,
    imbl::Vector<T>,
    imbl::OrdSet<T>
);

impl<T: TypeScript, S> TypeScript for HashSet<T, S> {
    fn type_expression(declarations: &mut Declarations) -> String {
        array(&T::type_expression(declarations))
    }
}

impl<T: TypeScript> TypeScript for imbl::HashSet<T> {
    fn type_expression(declarations: &mut Declarations) -> String {
        array(&T::type_expression(declarations))
    }
}

/// The length up to which an array `[T; N]` is written as a tuple type of `N` elements;
/// longer arrays are `T[]`, to keep the declarations readable.
pub const LONGEST_TUPLE_ARRAY: usize = 16;

impl<T: TypeScript, const N: usize> TypeScript for [T; N] {
    fn type_expression(declarations: &mut Declarations) -> String {
        let element = T::type_expression(declarations);
        if N > LONGEST_TUPLE_ARRAY {
            array(&element)
        } else {
            tuple(&vec![element; N])
        }
    }
}

macro_rules! tuples {
    ($(($($T:ident),+))+) => {$(
        impl<$($T: TypeScript),+> TypeScript for ($($T,)+) {
            fn type_expression(declarations: &mut Declarations) -> String {
                tuple(&[$($T::type_expression(declarations)),+])
            }
        }
    )+};
}

tuples! {
    (A)
    (A, B)
    (A, B, C)
    (A, B, C, D)
    (A, B, C, D, E)
    (A, B, C, D, E, F)
    (A, B, C, D, E, F, G)
    (A, B, C, D, E, F, G, H)
    (A, B, C, D, E, F, G, H, I)
    (A, B, C, D, E, F, G, H, I, J)
    (A, B, C, D, E, F, G, H, I, J, K)
    (A, B, C, D, E, F, G, H, I, J, K, L)
}

/// Maps, written as JSON objects.
macro_rules! map {
    ($([$($S:ident)?] $ty:ty),+ $(,)?) => {$(
        impl<K: TypeScript, V: TypeScript $(, $S)?> TypeScript for $ty {
            fn type_expression(declarations: &mut Declarations) -> String {
                let key = K::key_expression(declarations);
                record(&key, &V::type_expression(declarations))
            }
        }
    )+};
}

map!(
    [S] HashMap<K, V, S>,
    [] BTreeMap<K, V>,
    [] imbl::HashMap<K, V>,
    [] imbl::OrdMap<K, V>,
);

/// The keys of a map keyed by a generic type's parameter `parameter`, in the generic
/// declaration: `MapKey<K>` (declared once, `K extends string ? K : string`), so that the
/// instantiation `Keyed<Color, V>` keys it by `Color`'s names and `Keyed<u32, V>` by any
/// string, as serde writes each.
///
/// ```
/// use immer_core::typescript::*;
///
/// let mut declarations = Declarations::new();
/// assert_eq!(map_key(&mut declarations, "K"), "MapKey<K>");
/// assert!(declarations.to_string().contains("export type MapKey<K> = K extends string ? K : string;"));
/// ```
pub fn map_key(declarations: &mut Declarations, parameter: &str) -> String {
    declarations.declare("immer::MapKey", "MapKey", &["K"], |_| {
        "K extends string ? K : string".to_owned()
    });
    format!("MapKey<{parameter}>")
}

/// What a value of a generic type's parameter `parameter` adds to an object it is merged
/// into (flattened, or an internally tagged newtype variant's content), in the generic
/// declaration: `MergedKeys<T>` (declared once), which is `{}` where serde adds no key (`null`:
/// a `None`, a unit; an object with no property), `{ Name: null }` for an externally tagged
/// unit variant's name, and the type itself otherwise.
///
/// ```
/// use immer_core::typescript::*;
///
/// let mut declarations = Declarations::new();
/// assert_eq!(flattened(&mut declarations, "T"), "MergedKeys<T>");
/// assert!(declarations.to_string().contains("export type MergedKeys<T> = T extends null ? {} :"));
/// ```
pub fn flattened(declarations: &mut Declarations, parameter: &str) -> String {
    declarations.declare("immer::MergedKeys", "MergedKeys", &["T"], |_| {
        "T extends null ? {} : T extends string ? { [K in T]: null } : T extends { [key: string]: never } ? {} : T".to_owned()
    });
    format!("MergedKeys<{parameter}>")
}

/// The declaration of any JSON value, which [`Json`](crate::Json) and `serde_json::Value`
/// are written as.
fn json_value(declarations: &mut Declarations) -> String {
    declarations.declare("immer::JsonValue", "JsonValue", &[], |_| {
        "null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue }".to_owned()
    });
    "JsonValue".to_owned()
}

impl TypeScript for crate::Json {
    fn type_expression(declarations: &mut Declarations) -> String {
        json_value(declarations)
    }
}

impl TypeScript for serde_json::Value {
    fn type_expression(declarations: &mut Declarations) -> String {
        json_value(declarations)
    }
}

#[cfg(feature = "chrono")]
fixed!(
    "string": chrono::DateTime<chrono::Utc>, chrono::DateTime<chrono::FixedOffset>,
    chrono::NaiveDate, chrono::NaiveDateTime, chrono::NaiveTime,
);

#[cfg(feature = "time")]
fixed!("[number, number]": time::Date, time::Duration);
#[cfg(feature = "time")]
fixed!("[number, number, number, number]": time::Time);
#[cfg(feature = "time")]
fixed!("[number, number, number, number, number, number]": time::PrimitiveDateTime);
#[cfg(feature = "time")]
fixed!(
    "[number, number, number, number, number, number, number, number, number]":
        time::OffsetDateTime
);

#[cfg(feature = "uuid")]
fixed!("string": uuid::Uuid);

#[cfg(feature = "url")]
fixed!("string": url::Url);

#[cfg(feature = "rust_decimal")]
fixed!("string": rust_decimal::Decimal);

#[cfg(feature = "smol_str")]
fixed!("string": smol_str::SmolStr);

#[cfg(feature = "compact_str")]
fixed!("string": compact_str::CompactString);

#[cfg(feature = "bytes")]
fixed!("number[]": bytes::Bytes, bytes::BytesMut);

#[cfg(feature = "indexmap")]
impl<K: TypeScript, V: TypeScript, S> TypeScript for indexmap::IndexMap<K, V, S> {
    fn type_expression(declarations: &mut Declarations) -> String {
        let key = K::key_expression(declarations);
        record(&key, &V::type_expression(declarations))
    }
}

#[cfg(feature = "indexmap")]
impl<T: TypeScript, S> TypeScript for indexmap::IndexSet<T, S> {
    fn type_expression(declarations: &mut Declarations) -> String {
        array(&T::type_expression(declarations))
    }
}

#[cfg(feature = "smallvec")]
impl<A: smallvec::Array> TypeScript for smallvec::SmallVec<A>
where
    A::Item: TypeScript,
{
    fn type_expression(declarations: &mut Declarations) -> String {
        array(&<A::Item>::type_expression(declarations))
    }
}

#[cfg(feature = "arrayvec")]
impl<T: TypeScript, const N: usize> TypeScript for arrayvec::ArrayVec<T, N> {
    fn type_expression(declarations: &mut Declarations) -> String {
        array(&T::type_expression(declarations))
    }
}

#[cfg(feature = "arrayvec")]
impl<const N: usize> TypeScript for arrayvec::ArrayString<N> {
    fn type_expression(_: &mut Declarations) -> String {
        "string".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operators_are_parenthesized_only_at_the_top_level() {
        assert_eq!(array("number | null"), "(number | null)[]");
        assert_eq!(
            array("{ [key: string]: A | B }"),
            "{ [key: string]: A | B }[]"
        );
        assert_eq!(array("\"a | b\""), "\"a | b\"[]");
        assert_eq!(
            intersection(&["{ t: \"A\" }", "B | C"]),
            "{ t: \"A\" } & (B | C)"
        );
    }

    #[test]
    fn names_that_are_not_identifiers_are_quoted() {
        assert_eq!(property_name("firstName"), "firstName");
        assert_eq!(property_name("$id_2"), "$id_2");
        assert_eq!(property_name("first-name"), "\"first-name\"");
        assert_eq!(property_name("2d"), "\"2d\"");
        assert_eq!(property_name(""), "\"\"");
        assert_eq!(string_literal("a\"b\\\n\u{1}"), "\"a\\\"b\\\\\\n\\u0001\"");
    }
}
