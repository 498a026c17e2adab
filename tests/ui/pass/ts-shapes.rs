//! Shapes `#[derive(TypeScript)]` accepts: lifetimes and bounds, a where-clause, a const
//! parameter, `Self` in a field, a hand-written type with `serialize_with`, a variant said by
//! hand, and a re-exported crate path.

use std::borrow::Cow;

use immer::TypeScript;

mod reexport {
    pub use immer;
}

fn as_text<S: serde::Serializer>(value: &u32, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&value.to_string())
}

#[derive(TypeScript, serde::Serialize)]
struct Borrowed<'a, T: Clone>
where
    T: std::fmt::Debug,
{
    name: Cow<'a, str>,
    items: Vec<T>,
    #[serde(serialize_with = "as_text")]
    #[ts(type = "string")]
    count: u32,
    next: Option<Box<Self>>,
}

// serde writes arrays up to 32 long, not of a const length; the types need no `Serialize`.
#[derive(TypeScript)]
struct Fixed<const N: usize> {
    values: [u8; N],
}

#[derive(TypeScript, serde::Serialize)]
#[ts(crate = "crate::reexport::immer")]
enum Reading {
    #[serde(serialize_with = "as_text")]
    #[ts(type = "string")]
    Count(u32),
    Missing,
}

fn main() {
    let text = immer::typescript::Declarations::new()
        .add::<(Borrowed<'static, u8>, Fixed<2>, Reading)>()
        .to_string();
    assert!(text.contains("export type Borrowed<T> = { name: string; items: T[]; count: string; next: Borrowed<T> | null };"), "{text}");
    assert!(text.contains("export type Fixed = { values: [number, number] };"), "{text}");
    assert!(text.contains("export type Reading = { Count: string } | \"Missing\";"), "{text}");
}
