//! `#[derive(Draftable)]` for immer for Rust. Use it through the `immer` crate, which
//! documents it; this crate knows nothing at run time and names the runtime only through
//! `immer::__private`.

mod ast;
mod attr;
mod case;
mod ctxt;
mod expand;
mod generics;
mod paths;
mod symbol;
mod ts;
mod ts_attr;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `immer::Draftable`, and the draft types a recipe writes through.
///
/// # A struct
///
/// ```ignore
/// #[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
/// pub struct Todo {
///     pub text: String,
///     done: bool,
/// }
/// ```
///
/// generates, in outline (every path in the real expansion is absolute, and the runtime is
/// reached through `immer::__private`):
///
/// ```ignore
/// /// The draft of [`Todo`] ...
/// pub struct TodoDraft<P> { __place: P }
///
/// impl Draftable for Todo {
///     type Draft<P: Place<Target = Self>> = TodoDraft<P>;
///     // and the typed patch application: "text" -> self.text, "done" -> self.done
/// }
///
/// impl<P: Place<Target = Todo>> Deref for TodoDraft<P> { type Target = Todo; /* reads */ }
///
/// impl<P: Place<Target = Todo>> TodoDraft<P> {
///     /// The draft of `text`, to change it in place.
///     pub fn text(&mut self) -> <String as Draftable>::Draft<Child<'_, P, &'static str, String>>;
///     /// Sets `text`, recording one `replace` patch.
///     pub fn set_text(&mut self, value: String);
///     // `done` is private, so are its accessor and setter:
///     fn done(&mut self) -> Leaf<Child<'_, P, &'static str, bool>>;
///     fn set_done(&mut self, value: bool);
/// }
/// ```
///
/// A tuple struct's accessors are `_0()`, `_1()` and its setters `set_0`, `set_1`; a newtype
/// (`struct Meters(f64)`) drafts through to its field with no path segment of its own, as
/// serde writes it.
///
/// # An enum
///
/// ```ignore
/// #[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
/// pub enum Shape {
///     Circle { radius: f64 },
///     Rect(f64, f64),
///     Empty,
/// }
/// ```
///
/// generates `ShapeDraft<P>` (with `Deref<Target = Shape>`, `set(Shape)` to replace the whole
/// value, and `variant()`), and the draft of the current variant:
///
/// ```ignore
/// pub enum ShapeVariantDraft<'b, P: Place> {
///     Circle(ShapeCircleDraft<'b, P>), // radius(), set_radius()
///     Rect(ShapeRectDraft<'b, P>),     // _0(), set_0(), _1(), set_1()
///     Empty,
/// }
/// ```
///
/// An enum whose variants are all units is a leaf: its draft is `Leaf` (`set`, `modify`).
///
/// # Typed paths
///
/// Every derived type also gets its node of a typed path (`Draftable::Path`): `TodoPath<R>`
/// for `Todo`, with one method per drafted field named as its draft accessor, with the field's
/// visibility, appending the field's serde name (`immer::path::<Todo>().text()` is `/text`);
/// an enum's `ShapePath<R>` has one method per variant with fields, in snake case
/// (`circle()`), leading where serde's representation puts the fields. A newtype's path is its
/// field's, and a leaf's has no steps.
///
/// # Attributes
///
/// `#[draft(leaf)]` and `#[draft(skip)]` on fields, `#[draft(leaf)]` and
/// `#[draft(crate = "...")]` on the type, and serde's `rename`, `rename_all`, `alias`, `skip`,
/// `default`, `flatten`, `tag`, `content` and `untagged`. See the `immer` crate's
/// documentation for each.
#[proc_macro_derive(Draftable, attributes(draft))]
pub fn derive_draftable(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}

/// Derives `immer::TypeScript`: the type's TypeScript type, as serde writes it to JSON, read
/// from the same `#[serde(...)]` attributes as `Draftable`'s patch paths.
///
/// `#[ts(type = "...")]` on the type, a variant or a field says a TypeScript type by hand
/// (needed with `#[serde(with)]` or `#[serde(serialize_with)]`). See the `immer` crate's
/// documentation of `immer::typescript`.
#[proc_macro_derive(TypeScript, attributes(ts))]
pub fn derive_type_script(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    ts::derive(&input).into()
}
