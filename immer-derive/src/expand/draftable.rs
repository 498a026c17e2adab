//! The `Draftable` impl as structs and enums both write it: its generics (the user's, the
//! inferred bounds of the drafted fields, and the bound on the type itself) and its items,
//! with the draft's `Deref`.

use proc_macro2::TokenStream;
use quote::quote;
use syn::{Ident, parse_quote};

use crate::ast::Field;
use crate::generics::{InferredBounds, with_place};

use super::context::Context;

/// The generics of the `Draftable` impl (the user's, with the inferred bounds of the drafted
/// `fields`) and of the draft's impls (those plus the place parameter).
pub(super) fn impl_generics<'f, 'a: 'f>(
    cx: &Context<'_>,
    fields: impl Iterator<Item = &'f Field<'a>>,
    place: &Ident,
) -> (syn::Generics, syn::Generics) {
    let input = cx.input;
    let mut bounds = InferredBounds::new(input.ident(), &input.original.generics);
    for field in fields {
        bounds.insert(field.ty, &field_bound(&cx.krate, field));
    }
    let mut generics = bounds.augment(&input.original.generics);
    if let Some(bound) = self_bound(cx) {
        generics.make_where_clause().predicates.push(bound);
    }
    let draft_generics = with_place(&generics, &cx.krate, &cx.self_ty, place);
    (generics, draft_generics)
}

/// The bound every generic impl carries, so the supertraits hold whatever the user's own
/// derives require of the parameters.
pub(super) fn self_bound(cx: &Context<'_>) -> Option<syn::WherePredicate> {
    let Context { krate, self_ty, .. } = cx;
    (cx.input.original.generics.type_params().next().is_some()).then(|| {
        parse_quote!(#self_ty: ::core::clone::Clone + ::core::cmp::PartialEq + #krate::__private::Serialize + #krate::__private::DeserializeOwned)
    })
}

/// What a drafted field's type must implement: `Draftable`, or, for a leaf, what `Leaf`
/// needs of it.
fn field_bound(krate: &syn::Path, field: &Field<'_>) -> TokenStream {
    if field.is_leaf() {
        quote!(::core::clone::Clone + ::core::cmp::PartialEq + #krate::__private::Serialize + #krate::__private::DeserializeOwned)
    } else {
        quote!(#krate::Draftable)
    }
}

/// The `Draftable` impl and the draft's `Deref`, for a struct or an enum.
pub(super) fn draftable_impls(
    cx: &Context<'_>,
    generics: &syn::Generics,
    draft_generics: &syn::Generics,
    draft_ident: &Ident,
    apply: &TokenStream,
    value_at: &TokenStream,
    extra_methods: &TokenStream,
) -> TokenStream {
    let Context { krate, self_ty, .. } = cx;
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let (draft_impl_generics, _, draft_where) = draft_generics.split_for_impl();
    let path = crate::paths::path_type(cx.input, krate);
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::Sealed for #self_ty #where_clause {}

        #[automatically_derived]
        impl #impl_generics #krate::Draftable for #self_ty #where_clause {
            type Draft<__P: #krate::Place<Target = Self>> = #draft_ident<__P>;
            type Path<__R> = #path;
            #[inline]
            fn draft<__P: #krate::Place<Target = Self>>(place: __P) -> <Self as #krate::Draftable>::Draft<__P> {
                #draft_ident { __place: place }
            }
            fn apply_edit(
                &mut self,
                __path: &[#krate::PathSegment],
                __edit: &mut #krate::__private::Edit<'_>,
            ) -> ::core::result::Result<(), #krate::PatchErrorKind> {
                #apply
            }
            fn value_at(
                &self,
                __path: &[#krate::PathSegment],
            ) -> ::core::result::Result<#krate::__private::Value, #krate::PatchErrorKind> {
                #value_at
            }
            #extra_methods
        }

        #[automatically_derived]
        impl #draft_impl_generics ::core::ops::Deref for #draft_ident<__P> #draft_where {
            type Target = #self_ty;
            #[inline]
            fn deref(&self) -> &#self_ty {
                #krate::Place::get(&self.__place)
            }
        }
    }
}
