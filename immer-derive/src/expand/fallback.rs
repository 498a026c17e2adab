//! On a user mistake: the error, plus a stub impl with `unreachable!()` bodies, so that one
//! mistake gives one message instead of "trait not implemented" at every use site
//! (thiserror's `fallback.rs`).

use proc_macro2::TokenStream;
use quote::quote;
use syn::DeriveInput;

use crate::ast::Input;
use crate::ctxt::Ctxt;

use super::context::crate_path;

/// `error` as a `compile_error!`, with the stub impl when `stub` is true.
///
/// `stub` is false when serde's own derive fails on the same input: its impls are missing,
/// and a stub of ours, which needs them, would only repeat that.
pub(super) fn expand(node: &DeriveInput, error: &syn::Error, stub: bool) -> TokenStream {
    let error = error.to_compile_error();
    if !stub
        || matches!(node.data, syn::Data::Union(_))
        || node.generics.lifetimes().next().is_some()
    {
        return error;
    }
    // Best effort at the crate path; its own mistakes were reported with the rest.
    let krate = crate_path(&Input::from_syn(&Ctxt::new(), node));
    let ident = &node.ident;
    let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
    quote! {
        #error

        #[automatically_derived]
        impl #impl_generics #krate::__private::Sealed for #ident #ty_generics #where_clause {}

        #[automatically_derived]
        impl #impl_generics #krate::Draftable for #ident #ty_generics #where_clause {
            type Draft<__P: #krate::Place<Target = Self>> = #krate::Leaf<__P>;
            type Path<__R> = #krate::LeafPath<__R>;
            fn draft<__P: #krate::Place<Target = Self>>(_: __P) -> <Self as #krate::Draftable>::Draft<__P> {
                ::core::unreachable!()
            }
            fn apply_edit(
                &mut self,
                _: &[#krate::PathSegment],
                _: &mut #krate::__private::Edit<'_>,
            ) -> ::core::result::Result<(), #krate::PatchErrorKind> {
                ::core::unreachable!()
            }
            fn value_at(
                &self,
                _: &[#krate::PathSegment],
            ) -> ::core::result::Result<#krate::__private::Value, #krate::PatchErrorKind> {
                ::core::unreachable!()
            }
        }
    }
}
