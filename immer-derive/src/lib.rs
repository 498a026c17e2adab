//! `#[derive(Draftable)]` for immer for Rust. Use it through the `immer` crate, which
//! documents it; this crate knows nothing at run time and names the runtime only through
//! `immer::__private`.

mod ast;
mod attr;
mod case;
mod ctxt;
mod enums;
mod expand;
mod fallback;
mod generics;
mod symbol;
mod valid;

use proc_macro::TokenStream;
use syn::{DeriveInput, parse_macro_input};

/// Derives `immer::Draftable` and a `<Type>Draft` with a setter and a draft accessor per
/// field. See the `immer` crate's documentation.
#[proc_macro_derive(Draftable, attributes(draft))]
pub fn derive_draftable(input: TokenStream) -> TokenStream {
    let input = parse_macro_input!(input as DeriveInput);
    expand::derive(&input).into()
}
