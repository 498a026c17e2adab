//! Bounds for the generated impls: only field types that mention a type parameter get a
//! bound, so `struct Tree<T> { items: Vec<T>, name: String }` needs `Vec<T>: Draftable` and
//! nothing about `String` (thiserror's `generics.rs`, serde's `bound.rs`). A field type that
//! mentions the type itself (`Vec<Tree<T>>`) would make the bound its own premise, so such a
//! field bounds the parameters it mentions instead (`T: Draftable`), as serde does.

use std::collections::BTreeSet;

use proc_macro2::{TokenStream, TokenTree};
use quote::{ToTokens, quote};
use syn::{Generics, Ident, Type, WherePredicate, parse_quote};

pub(crate) struct InferredBounds {
    self_ident: String,
    type_params: BTreeSet<String>,
    predicates: Vec<WherePredicate>,
    seen: BTreeSet<String>,
}

impl InferredBounds {
    pub(crate) fn new(self_ident: &Ident, generics: &Generics) -> Self {
        InferredBounds {
            self_ident: self_ident.to_string(),
            type_params: generics
                .type_params()
                .map(|p| p.ident.to_string())
                .collect(),
            predicates: Vec::new(),
            seen: BTreeSet::new(),
        }
    }

    /// Adds `ty: bound` when `ty` mentions a type parameter (or, for a recursive field,
    /// `Param: bound` for each parameter it mentions).
    pub(crate) fn insert(&mut self, ty: &Type, bound: &TokenStream) {
        let tokens = ty.to_token_stream();
        if !mentions(tokens.clone(), &self.type_params) {
            return;
        }
        if mentions(tokens.clone(), &BTreeSet::from([self.self_ident.clone()])) {
            let params: Vec<String> = self
                .type_params
                .iter()
                .filter(|p| mentions(tokens.clone(), &BTreeSet::from([(*p).clone()])))
                .cloned()
                .collect();
            for param in params {
                let param = Ident::new(&param, proc_macro2::Span::call_site());
                self.push(parse_quote!(#param: #bound));
            }
            return;
        }
        self.push(parse_quote!(#ty: #bound));
    }

    fn push(&mut self, predicate: WherePredicate) {
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
