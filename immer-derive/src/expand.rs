//! Generates the `Draftable` impl and the `<Type>Draft` (`try_expand`: `from_syn` -> validate
//! -> impl).
//!
//! The modules under this one are layers, and each imports only from the layers below it,
//! never back up, so no two of them import each other:
//!
//! - this module, the entry: the input checked, then the generator of its shape, or on a
//!   mistake `fallback`;
//! - `leaf`, `structs` and `enums`, one generator per shape, and `fallback`, the stub impl;
//! - `fields`: a field's accessor and setter, and the routing of a path to fields, which
//!   structs and enum variants share;
//! - `draftable`: the `Draftable` impl's generics and items, which every shape writes;
//! - `context`: the [`Context`] of one expansion, which all of them read.

mod context;
mod draftable;
mod enums;
mod fallback;
mod fields;
mod leaf;
mod structs;

use proc_macro2::TokenStream;
use syn::DeriveInput;

use crate::ast::{Data, Input};
use crate::ctxt::Ctxt;
use crate::valid;

use self::context::Context;

/// The derive's output: the draft and the impls, or the errors (with a stub impl, see
/// `fallback`).
pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    match try_expand(input) {
        Ok(tokens) => tokens,
        Err((error, stub)) => fallback::expand(input, &error, stub),
    }
}

/// The expansion, or the error and whether a stub impl should stand in for the real one.
fn try_expand(node: &DeriveInput) -> Result<TokenStream, (syn::Error, bool)> {
    let cx = Ctxt::new();
    let input = Input::from_syn(&cx, node);
    valid::check(&cx, &input);
    let stub = !cx.has_serde_failure();
    cx.check().map_err(|error| (error, stub))?;
    Ok(impl_input(&input))
}

/// The generator of the input's shape: a leaf, a struct with fields, or an enum with data.
/// The typed paths (`crate::paths`) follow.
fn impl_input(input: &Input<'_>) -> TokenStream {
    let cx = Context::new(input);
    let paths = crate::paths::impl_paths(input, &cx.krate);
    let draft = if input.is_leaf() {
        leaf::impl_leaf(&cx)
    } else {
        match &input.data {
            Data::Struct(style, fields) => structs::impl_struct(&cx, *style, fields),
            Data::Enum(variants) => enums::impl_enum(&cx, variants),
            Data::Union(_) => TokenStream::new(),
        }
    };
    quote::quote!(#draft #paths)
}
