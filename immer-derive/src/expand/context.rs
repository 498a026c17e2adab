//! What every generator reads: the [`Context`] of one expansion, and the runtime's path it
//! holds.

use proc_macro2::TokenStream;
use syn::parse_quote;

use crate::ast::Input;
use crate::generics::self_type;

/// The path of the runtime: `::immer`, or the `#[draft(crate = "...")]` override.
pub(super) fn crate_path(input: &Input<'_>) -> syn::Path {
    input
        .attrs
        .crate_path
        .as_ref()
        .map_or_else(|| parse_quote!(::immer), |(_, path)| path.clone())
}

/// Shared pieces of one expansion.
pub(super) struct Context<'i> {
    /// The path of the runtime ([`crate_path`]).
    pub(super) krate: syn::Path,
    /// The type the derive is on, with its generic arguments: `Shape<T>`.
    pub(super) self_ty: TokenStream,
    /// The type's name, for messages and docs.
    pub(super) type_name: String,
    /// The input, as the IR holds it.
    pub(super) input: &'i Input<'i>,
}

impl<'i> Context<'i> {
    /// The context of the expansion of `input`.
    pub(super) fn new(input: &'i Input<'i>) -> Self {
        let krate = crate_path(input);
        let generics = &input.original.generics;
        Context {
            self_ty: self_type(input.ident(), generics),
            type_name: input.ident().to_string(),
            krate,
            input,
        }
    }
}
