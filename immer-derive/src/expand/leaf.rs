//! Types replaced whole (`#[draft(leaf)]`, unit structs, enums of units): their draft is the
//! runtime's `Leaf`, and a patch below them is an error.

use proc_macro2::TokenStream;
use quote::quote;

use super::context::Context;
use super::draftable::self_bound;

/// The `Draftable` impl of a leaf type.
pub(super) fn impl_leaf(cx: &Context<'_>) -> TokenStream {
    let Context {
        krate,
        self_ty,
        type_name,
        ..
    } = cx;
    let mut generics = cx.input.original.generics.clone();
    if let Some(bound) = self_bound(cx) {
        generics.make_where_clause().predicates.push(bound);
    }
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::Sealed for #self_ty #where_clause {}

        #[automatically_derived]
        impl #impl_generics #krate::Draftable for #self_ty #where_clause {
            type Draft<__P: #krate::Place<Target = Self>> = #krate::Leaf<__P>;
            type Path<__R> = #krate::LeafPath<__R>;
            #[inline]
            fn draft<__P: #krate::Place<Target = Self>>(place: __P) -> <Self as #krate::Draftable>::Draft<__P> {
                #krate::Leaf::new(place)
            }
            fn apply_edit(
                &mut self,
                __path: &[#krate::PathSegment],
                __edit: &mut #krate::__private::Edit<'_>,
            ) -> ::core::result::Result<(), #krate::PatchErrorKind> {
                #krate::__private::apply_leaf(self, __path, __edit, #type_name)
            }
            fn value_at(
                &self,
                __path: &[#krate::PathSegment],
            ) -> ::core::result::Result<#krate::__private::Value, #krate::PatchErrorKind> {
                #krate::__private::leaf_value_at(self, __path, #type_name)
            }
        }
    }
}
