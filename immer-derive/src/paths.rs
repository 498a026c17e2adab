//! Typed paths: `<Type>Path<R>`, the node of a path at the type in a state of type `R`, with
//! one method per field (or per variant of an enum) that appends the segment serde writes.
//!
//! The segments come from the IR's resolved names, and where a field or a variant sits is the
//! rule the patches follow (`expand::fields::reach` and the enum's representation), so a typed
//! path names exactly what the type's patches name.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{GenericParam, Ident, Type, parse_quote};

use crate::ast::{Data, Field, Input, Style, Variant};
use crate::case::RenameRule;
use crate::generics::InferredBounds;

/// The path types of `input` (none for a leaf or a newtype, whose paths are another type's),
/// with the runtime at `krate`.
pub(crate) fn impl_paths(input: &Input<'_>, krate: &syn::Path) -> TokenStream {
    let paths = Paths::new(input, krate);
    match Shape::of(input) {
        Shape::Leaf | Shape::Through(_) => TokenStream::new(),
        Shape::Struct(style, drafted) => paths.struct_paths(style, &drafted),
        Shape::Enum(variants) => paths.enum_paths(variants),
    }
}

/// The `Draftable` impl's `Path<__R>`: the generated path type, a leaf's, or a newtype's
/// field's.
pub(crate) fn path_type(input: &Input<'_>, krate: &syn::Path) -> TokenStream {
    let paths = Paths::new(input, krate);
    match Shape::of(input) {
        Shape::Leaf => quote!(#krate::LeafPath<__R>),
        Shape::Through(field) => paths.field_node(field),
        Shape::Struct(..) | Shape::Enum(_) => {
            let ident = format_ident!("{}Path", input.ident());
            let (_, ty_generics, _) = paths.generics.split_for_impl();
            quote!(#ident #ty_generics)
        }
    }
}

/// What a type's paths are made of.
enum Shape<'a, 'i> {
    /// No steps below it.
    Leaf,
    /// Its one drafted field's paths, with no segment of its own (a newtype, `transparent`).
    Through(&'a Field<'i>),
    /// A struct's drafted fields.
    Struct(Style, Vec<&'a Field<'i>>),
    /// An enum's variants.
    Enum(&'a [Variant<'i>]),
}

impl<'a, 'i> Shape<'a, 'i> {
    fn of(input: &'a Input<'i>) -> Self {
        if input.is_leaf() || input.attrs.conversion.is_some() {
            return Shape::Leaf;
        }
        match &input.data {
            Data::Struct(style, fields) => {
                let drafted: Vec<&Field<'_>> = fields.iter().filter(|f| f.is_drafted()).collect();
                let through = *style == Style::Newtype || input.attrs.transparent.is_some();
                match drafted.as_slice() {
                    [field] if through => Shape::Through(field),
                    _ if through => Shape::Leaf,
                    _ => Shape::Struct(*style, drafted),
                }
            }
            Data::Enum(variants) => Shape::Enum(variants),
            Data::Union(_) => Shape::Leaf,
        }
    }
}

/// serde's four enum representations, as far as paths see them: the segment the fields of
/// a variant sit under, if any.
fn variant_segment(input: &Input<'_>, variant: &Variant<'_>) -> Option<String> {
    let attrs = &input.attrs;
    match (&attrs.tag, &attrs.content, &attrs.untagged) {
        (_, _, Some(_)) | (Some(_), None, None) => None,
        (Some(_), Some((_, content)), None) => Some(content.clone()),
        (None, _, None) => Some(variant.name.clone()),
    }
}

struct Paths<'i> {
    input: &'i Input<'i>,
    krate: &'i syn::Path,
    /// The user's generics, without their defaults, with the path's root parameter `__R`
    /// last (a parameter after a defaulted one needs a default too).
    generics: syn::Generics,
    /// The where-clause of the methods: the user's, and `Field: Draftable` for the drafted
    /// field types that mention a type parameter.
    bounds: syn::Generics,
}

impl<'i> Paths<'i> {
    fn new(input: &'i Input<'i>, krate: &'i syn::Path) -> Self {
        let original = &input.original.generics;
        let mut inferred = InferredBounds::new(input.ident(), original);
        let fields: Vec<&Field<'_>> = match &input.data {
            Data::Struct(_, fields) => fields.iter().collect(),
            Data::Enum(variants) => variants.iter().flat_map(|v| &v.fields).collect(),
            Data::Union(_) => Vec::new(),
        };
        for field in fields {
            if field.is_drafted() && !is_leaf(field) {
                inferred.insert(field.ty, &quote!(#krate::Draftable));
            }
        }
        let mut generics = without_defaults(original.clone());
        generics.params.push(parse_quote!(__R));
        let mut bounds = without_defaults(inferred.augment(original));
        bounds.params.push(parse_quote!(__R));
        Paths {
            input,
            krate,
            generics,
            bounds,
        }
    }

    /// The node type of `field`'s value.
    fn field_node(&self, field: &Field<'_>) -> TokenStream {
        let krate = self.krate;
        if is_leaf(field) {
            quote!(#krate::LeafPath<__R>)
        } else {
            // Spanned at the field's type, so that a type without `Draftable` is reported
            // there, once, as the draft reports it.
            let ty: &Type = field.ty;
            quote_spanned!(ty.span()=> <#ty as #krate::Draftable>::Path<__R>)
        }
    }

    /// The path type of a struct with fields.
    fn struct_paths(&self, style: Style, fields: &[&Field<'_>]) -> TokenStream {
        let ident = self.input.ident();
        let path_ident = format_ident!("{}Path", ident);
        let doc = format!(
            "A typed path at a [`{ident}`], generated by `#[derive(Draftable)]`: one method per \
             field, named as the field's draft accessor, appends the field's serde name. Start \
             one with `immer::path::<{ident}>()`; it converts into an `immer::PathPattern`."
        );
        let methods = fields
            .iter()
            .map(|field| self.field_method(style, field, &field.original.vis));
        let names = fields.iter().map(|f| f.accessor()).collect::<Vec<_>>();
        self.node(&path_ident, &doc, &names, &quote!(#(#methods)*))
    }

    /// The method of one field: its accessor's name, the field's visibility.
    fn field_method(&self, style: Style, field: &Field<'_>, vis: &syn::Visibility) -> TokenStream {
        let krate = self.krate;
        let method = field.accessor();
        let through = field.attrs.flatten.is_some() || style == Style::Newtype;
        let (step, shown) = if through {
            (
                quote!(#krate::__private::Step::Through),
                "no segment of its own".to_owned(),
            )
        } else {
            let name = &field.name;
            (
                quote!(#krate::__private::Step::Literal(::std::string::String::from(#name))),
                format!("`/{name}` appended"),
            )
        };
        let node = self.field_node(field);
        let doc = format!(
            "The path of `{}`: this path with {shown}.",
            method_shown(&method)
        );
        quote! {
            #[doc = #doc]
            #[must_use]
            #[allow(clippy::type_complexity)]
            #vis fn #method(self) -> #node {
                #krate::__private::step(self.__pattern, #step)
            }
        }
    }

    /// The path type of an enum with data, and a path type per variant with fields.
    fn enum_paths(&self, variants: &[Variant<'_>]) -> TokenStream {
        let krate = self.krate;
        let ident = self.input.ident();
        let vis = &self.input.original.vis;
        let path_ident = format_ident!("{}Path", ident);
        let mut methods = Vec::new();
        let mut names = Vec::new();
        let mut items = Vec::new();
        for variant in variants {
            if !variant.is_drafted() || variant.style == Style::Unit {
                continue;
            }
            let method = variant_method(&variant.original.ident);
            if let Some(first) = names.iter().find(|name| **name == method) {
                let message = format!(
                    "the typed path of variant `{}` would be the method `{}`, which the variant \
                     `{}` already has; rename one of them",
                    variant.original.ident,
                    method_shown(&method),
                    first_variant(variants, first),
                );
                items.push(
                    syn::Error::new_spanned(&variant.original.ident, message).to_compile_error(),
                );
                continue;
            }
            let (step, shown) = match variant_segment(self.input, variant) {
                Some(name) => (
                    quote!(#krate::__private::Step::Literal(::std::string::String::from(#name))),
                    format!("`/{name}` appended"),
                ),
                None => (
                    quote!(#krate::__private::Step::Through),
                    "no segment of its own (serde writes the variant's fields in place)".to_owned(),
                ),
            };
            let drafted: Vec<&Field<'_>> =
                variant.fields.iter().filter(|f| f.is_drafted()).collect();
            let node = match (variant.style, drafted.as_slice()) {
                _ if variant.attrs.with.is_some() => quote!(#krate::LeafPath<__R>),
                (Style::Newtype, [field]) => self.field_node(field),
                (Style::Newtype, _) => quote!(#krate::LeafPath<__R>),
                _ => {
                    let variant_ident = &variant.original.ident;
                    let payload = format_ident!("{}{}Path", ident, variant_ident);
                    let doc = format!(
                        "A typed path at the fields of [`{ident}::{variant_ident}`], from \
                         [`{path_ident}::{method}`]."
                    );
                    let field_methods = drafted
                        .iter()
                        .map(|field| self.field_method(variant.style, field, vis));
                    let field_names = drafted.iter().map(|f| f.accessor()).collect::<Vec<_>>();
                    items.push(self.node(
                        &payload,
                        &doc,
                        &field_names,
                        &quote!(#(#field_methods)*),
                    ));
                    let (_, ty_generics, _) = self.generics.split_for_impl();
                    quote!(#payload #ty_generics)
                }
            };
            let doc = format!(
                "The path of the variant `{}`: this path with {shown}.",
                variant.original.ident
            );
            methods.push(quote! {
                #[doc = #doc]
                #[must_use]
                #[allow(clippy::type_complexity)]
                #vis fn #method(self) -> #node {
                    #krate::__private::step(self.__pattern, #step)
                }
            });
            names.push(method);
        }
        let doc = format!(
            "A typed path at a [`{ident}`], generated by `#[derive(Draftable)]`: one method per \
             variant with fields (its name in snake case) leads to them where serde writes \
             them. Start one with `immer::path::<{ident}>()`; it converts into an \
             `immer::PathPattern`."
        );
        let node = self.node(&path_ident, &doc, &names, &quote!(#(#methods)*));
        quote! {
            #node
            #(#items)*
        }
    }

    /// A node type: its struct, `methods`, `pattern` and `everything` (unless a method has
    /// one of those names: the trait's stay), `Clone`, `Debug` (the type's name and the
    /// pattern), `Display` (the pattern), `TypedPath` and the conversion, as the runtime's
    /// node types have.
    fn node(
        &self,
        ident: &Ident,
        doc: &str,
        names: &[Ident],
        methods: &TokenStream,
    ) -> TokenStream {
        let krate = self.krate;
        let vis = &self.input.original.vis;
        let (impl_generics, ty_generics, where_clause) = self.generics.split_for_impl();
        let (bound_generics, _, bound_where) = self.bounds.split_for_impl();
        let params = self.generics.type_params().map(|p| &p.ident);
        let own = |name: &str| !names.iter().any(|n| n == name);
        let pattern = own("pattern").then(|| {
            quote! {
                /// The pattern this path names.
                #[must_use]
                #vis fn pattern(&self) -> #krate::PathPattern {
                    #krate::TypedPath::pattern(self)
                }
            }
        });
        let everything = own("everything").then(|| {
            quote! {
                /// The pattern of this path and everything inside it (`**` appended).
                #[must_use]
                #vis fn everything(self) -> #krate::PathPattern {
                    #krate::TypedPath::everything(self)
                }
            }
        });
        let name = ident.to_string();
        let generic_params = &self.generics.params;
        let where_user = &self.generics.where_clause;
        quote! {
            #[doc = #doc]
            #[must_use = "a typed path names nothing until it is used as a pattern"]
            #vis struct #ident<#generic_params> #where_user {
                __pattern: #krate::PathPattern,
                __marker: ::core::marker::PhantomData<fn() -> (#(#params,)*)>,
            }

            #[automatically_derived]
            impl #bound_generics #ident #ty_generics #bound_where {
                #methods
                #pattern
                #everything
            }

            #[automatically_derived]
            impl #impl_generics ::core::clone::Clone for #ident #ty_generics #where_clause {
                fn clone(&self) -> Self {
                    #ident {
                        __pattern: ::core::clone::Clone::clone(&self.__pattern),
                        __marker: ::core::marker::PhantomData,
                    }
                }
            }

            #[automatically_derived]
            impl #impl_generics ::core::fmt::Debug for #ident #ty_generics #where_clause {
                fn fmt(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    __formatter
                        .debug_tuple(#name)
                        .field(&self.__pattern.as_str())
                        .finish()
                }
            }

            #[automatically_derived]
            impl #impl_generics ::core::fmt::Display for #ident #ty_generics #where_clause {
                fn fmt(&self, __formatter: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                    ::core::fmt::Display::fmt(&self.__pattern, __formatter)
                }
            }

            #[automatically_derived]
            impl #impl_generics #krate::TypedPath for #ident #ty_generics #where_clause {
                type Root = __R;
                fn pattern(&self) -> #krate::PathPattern {
                    ::core::clone::Clone::clone(&self.__pattern)
                }
                fn everything(self) -> #krate::PathPattern {
                    #krate::__private::everything(self.__pattern)
                }
                fn __at(__pattern: #krate::PathPattern) -> Self {
                    #ident {
                        __pattern,
                        __marker: ::core::marker::PhantomData,
                    }
                }
            }

            #[automatically_derived]
            impl #impl_generics ::core::convert::From<#ident #ty_generics> for #krate::PathPattern #where_clause {
                fn from(__path: #ident #ty_generics) -> Self {
                    __path.__pattern
                }
            }
        }
    }
}

/// `generics` without the defaults of its parameters: the path types are named by the
/// derive, always with every argument.
fn without_defaults(mut generics: syn::Generics) -> syn::Generics {
    for param in &mut generics.params {
        match param {
            GenericParam::Type(param) => {
                param.eq_token = None;
                param.default = None;
            }
            GenericParam::Const(param) => {
                param.eq_token = None;
                param.default = None;
            }
            GenericParam::Lifetime(_) => {}
        }
    }
    generics
}

/// Whether a field's value is replaced whole, with no paths below it: `#[draft(leaf)]`, or
/// written by a function of the user's (`#[serde(with)]`).
fn is_leaf(field: &Field<'_>) -> bool {
    field.is_leaf() || field.attrs.with.is_some()
}

/// A variant's method: its name in snake case (`r#type` for a keyword).
fn variant_method(variant: &Ident) -> Ident {
    let name = RenameRule::Snake.apply_to_variant(&variant.to_string());
    syn::parse_str::<Ident>(&name).unwrap_or_else(|_| Ident::new_raw(&name, Span::call_site()))
}

/// The variant whose method is `method`.
fn first_variant(variants: &[Variant<'_>], method: &Ident) -> String {
    variants
        .iter()
        .find(|v| variant_method(&v.original.ident) == *method)
        .map(|v| v.original.ident.to_string())
        .unwrap_or_default()
}

/// A method's name as its user writes it, for docs.
fn method_shown(method: &Ident) -> String {
    method.to_string().trim_start_matches("r#").to_owned()
}
