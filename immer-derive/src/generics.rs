//! Bounds for the generated impls: only field types that mention a type parameter get a
//! bound, so `struct Tree<T> { items: Vec<T>, name: String }` needs `Vec<T>: Draftable` and
//! nothing about `String` (thiserror's `generics.rs`, serde's `bound.rs`).

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{Generics, Ident, Type, WherePredicate, parse_quote};

pub(crate) struct InferredBounds {
    type_params: BTreeSet<String>,
    predicates: Vec<WherePredicate>,
    seen: BTreeSet<String>,
}

impl InferredBounds {
    pub(crate) fn new(generics: &Generics) -> Self {
        InferredBounds {
            type_params: generics
                .type_params()
                .map(|p| p.ident.to_string())
                .collect(),
            predicates: Vec::new(),
            seen: BTreeSet::new(),
        }
    }

    /// Adds `ty: bound` when `ty` mentions a type parameter.
    pub(crate) fn insert(&mut self, ty: &Type, bound: &TokenStream) {
        if !mentions(ty.to_token_stream(), &self.type_params) {
            return;
        }
        let predicate: WherePredicate = parse_quote!(#ty: #bound);
        if self.seen.insert(predicate.to_token_stream().to_string()) {
            self.predicates.push(predicate);
        }
    }

    /// The user's generics with the inferred predicates added to the where-clause.
    pub(crate) fn augment(&self, generics: &Generics) -> Generics {
        let mut generics = generics.clone();
        let where_clause = generics.make_where_clause();
        where_clause
            .predicates
            .extend(self.predicates.iter().cloned());
        generics
    }
}

fn mentions(tokens: TokenStream, params: &BTreeSet<String>) -> bool {
    tokens.into_iter().any(|tree| match tree {
        TokenTree::Ident(ident) => params.contains(&ident.to_string()),
        TokenTree::Group(group) => mentions(group.stream(), params),
        _ => false,
    })
}

/// The user's generics plus the draft's place parameter `__P: Place<Target = Self>`.
pub(crate) fn with_place(
    generics: &Generics,
    krate: &syn::Path,
    self_ty: &TokenStream,
    place: &Ident,
) -> Generics {
    let mut generics = generics.clone();
    generics
        .params
        .push(parse_quote!(#place: #krate::Place<Target = #self_ty>));
    generics
}

/// `Self`'s type with its generic arguments: `Tree<T>`.
pub(crate) fn self_type(ident: &Ident, generics: &Generics) -> TokenStream {
    let (_, ty_generics, _) = generics.split_for_impl();
    quote!(#ident #ty_generics)
}
