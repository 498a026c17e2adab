//! `#[derive(TypeScript)]`: the TypeScript type of a struct or enum as serde writes it, from
//! the same IR (`ast.rs`, `attr.rs`) whose serialized names the patch paths use.
//!
//! The generated `type_expression` declares the type by name in the `Declarations` it is
//! given (once: the body is computed after the name is reserved, so a recursive type
//! refers to itself) and returns a reference to it. A generic type is declared generic:
//! its body is computed with each type parameter replaced by a local placeholder type whose
//! expression is the parameter's name, so `struct Page<T> { items: Vec<T> }` is declared
//! `export type Page<T> = { items: T[] };` and referred to as `Page<Task>`.

use std::cell::Cell;

use proc_macro2::{Group, TokenStream, TokenTree};
use quote::{ToTokens, format_ident, quote};
use syn::ext::IdentExt;
use syn::{DeriveInput, GenericParam, Ident, Type, parse_quote};

use crate::ast::{Data, Field, Input, Style, Variant, serialized};
use crate::ctxt::Ctxt;
use crate::symbol::DESERIALIZE_WITH;
use crate::ts_attr::{Position, TsAttrs};

/// The derive's output: the impl, or the errors and a stub impl, so that one mistake gives
/// one message.
/// The names a derived type cannot be declared by: the declarations' own helpers
/// (`immer::typescript`'s `JsonValue`, `MapKey` and `MergedKeys`), and those TypeScript keeps
/// for its own types.
const RESERVED_NAMES: &[&str] = &[
    "JsonValue",
    "MapKey",
    "MergedKeys",
    "any",
    "unknown",
    "never",
    "void",
    "undefined",
    "null",
    "boolean",
    "number",
    "bigint",
    "string",
    "symbol",
    "object",
];

pub(crate) fn derive(node: &DeriveInput) -> TokenStream {
    // Mistakes in `#[serde(...)]` and `#[draft(...)]` are reported by serde's derive and by
    // `Draftable`'s; this derive reports its own.
    let shared = Ctxt::new();
    let input = Input::from_syn(&shared, node);
    let generator = Generator::new(&input);
    let name = node.ident.unraw().to_string();
    if RESERVED_NAMES.contains(&name.as_str()) {
        generator.cx.error_spanned_by(
            &node.ident,
            format!("a TypeScript type cannot be named `{name}`: the name is TypeScript's own or one of the declarations' helpers (`JsonValue`, `MapKey`, `MergedKeys`); rename the Rust type"),
        );
    }
    let tokens = generator.impl_type_script();
    let Generator { cx, krate, .. } = generator;
    match cx.check() {
        Ok(()) => tokens,
        Err(error) => {
            let error = error.into_compile_error();
            let (impl_generics, ty_generics, where_clause) = node.generics.split_for_impl();
            let ident = &node.ident;
            quote! {
                #error
                #[automatically_derived]
                impl #impl_generics #krate::TypeScript for #ident #ty_generics #where_clause {
                    fn type_expression(
                        _: &mut #krate::typescript::Declarations,
                    ) -> ::std::string::String {
                        ::core::unreachable!()
                    }
                }
            }
        }
    }
}

fn default_crate() -> syn::Path {
    parse_quote!(::immer)
}

struct Generator<'i, 'a> {
    input: &'i Input<'a>,
    cx: Ctxt,
    /// The type's own `#[ts(...)]`, read once.
    container: TsAttrs,
    krate: syn::Path,
    /// `Self`'s type with every type parameter replaced by its placeholder.
    substituted_self: TokenStream,
    /// Each type parameter and its placeholder.
    parameters: Vec<(Ident, Ident)>,
    /// Whether the body being written is what the type adds to an object it is merged into
    /// (its `flattened_expression`, written inline with the real type parameters) rather
    /// than its declaration.
    merged: Cell<bool>,
}

/// A variant's shape as serde writes it: a newtype variant whose one field is skipped is
/// written as a unit variant.
fn style(variant: &Variant<'_>) -> Style {
    match (variant.style, variant.fields.as_slice()) {
        (Style::Newtype, [field]) if !serialized(field.attrs.serde_skip.as_ref()) => Style::Unit,
        (style, _) => style,
    }
}

impl<'i, 'a> Generator<'i, 'a> {
    fn new(input: &'i Input<'a>) -> Self {
        let generics = &input.original.generics;
        let parameters: Vec<(Ident, Ident)> = generics
            .type_params()
            .map(|p| {
                (
                    p.ident.clone(),
                    format_ident!("__TypeScriptParameter{}", p.ident.unraw()),
                )
            })
            .collect();
        let arguments = generics.params.iter().map(|param| match param {
            GenericParam::Lifetime(l) => l.lifetime.to_token_stream(),
            GenericParam::Type(t) => parameters
                .iter()
                .find(|(p, _)| *p == t.ident)
                .map_or_else(TokenStream::new, |(_, placeholder)| {
                    placeholder.to_token_stream()
                }),
            GenericParam::Const(c) => c.ident.to_token_stream(),
        });
        let ident = input.ident();
        let substituted_self = if generics.params.is_empty() {
            quote!(#ident)
        } else {
            quote!(#ident<#(#arguments),*>)
        };
        let cx = Ctxt::new();
        let container = TsAttrs::from_ast(&cx, &input.original.attrs, Position::Container);
        Generator {
            input,
            cx,
            krate: container
                .krate
                .clone()
                .or_else(|| {
                    input
                        .attrs
                        .crate_path
                        .as_ref()
                        .map(|(_, path)| path.clone())
                })
                .unwrap_or_else(default_crate),
            container,
            substituted_self,
            parameters,
            merged: Cell::new(false),
        }
    }

    /// `tokens` with each type parameter replaced by its placeholder, and `Self` by the
    /// type with placeholders.
    fn substitute(&self, tokens: TokenStream) -> TokenStream {
        if self.merged.get() {
            // Written inline in the type's own impl, where its parameters are in scope.
            return tokens;
        }
        tokens
            .into_iter()
            .map(|tree| match tree {
                TokenTree::Ident(ident) if ident == "Self" => {
                    let mut group =
                        Group::new(proc_macro2::Delimiter::None, self.substituted_self.clone());
                    group.set_span(ident.span());
                    TokenTree::Group(group)
                }
                TokenTree::Ident(ident) => self
                    .parameters
                    .iter()
                    .find(|(param, _)| *param == ident)
                    .map_or(TokenTree::Ident(ident), |(_, placeholder)| {
                        TokenTree::Ident(placeholder.clone())
                    }),
                TokenTree::Group(group) => {
                    let mut new = Group::new(group.delimiter(), self.substitute(group.stream()));
                    new.set_span(group.span());
                    TokenTree::Group(new)
                }
                other => other,
            })
            .collect()
    }

    /// The expression of a Rust type inside the declaration's body.
    fn type_expression(&self, ty: &Type) -> TokenStream {
        let krate = &self.krate;
        let ty = self.substitute(ty.to_token_stream());
        quote!(<#ty as #krate::TypeScript>::type_expression(__declarations))
    }

    /// A field's expression: its `#[ts(type)]`, else its type's (what it adds to the object,
    /// if it is flattened).
    fn field(&self, field: &Field<'_>) -> TokenStream {
        let ts = TsAttrs::from_ast(&self.cx, &field.original.attrs, Position::Member);
        if let Some(ty) = ts.ty {
            return quote!(::std::string::String::from(#ty));
        }
        if let Some((path, symbol)) = &field.attrs.with {
            if symbol.0 != DESERIALIZE_WITH.0 {
                self.error_spanned_by(
                    path,
                    format!("`#[serde({symbol})]` writes this field's JSON by hand, so its TypeScript type cannot be known from its Rust type; say it with `#[ts(type = \"...\")]` on the field"),
                );
            }
        }
        if field.attrs.flatten.is_some() {
            return self.merged_expression(field.ty);
        }
        self.type_expression(field.ty)
    }

    /// Reports a mistake, once: not again while the merged body is written.
    fn error_spanned_by<A: ToTokens>(&self, tokens: A, message: impl std::fmt::Display) {
        if !self.merged.get() {
            self.cx.error_spanned_by(tokens, message);
        }
    }

    /// What a field adds to the object its type is merged into: its type's
    /// `tagged_content_expression` for an internally tagged newtype variant's content (merged
    /// with the tag), its `flattened_expression` otherwise (a newtype's or a transparent type's
    /// one field); the field's own expression when said by hand.
    fn merged_field(&self, field: &Field<'_>, tagged: bool) -> TokenStream {
        let by_hand = TsAttrs::from_ast(&Ctxt::new(), &field.original.attrs, Position::Member)
            .ty
            .is_some();
        if by_hand || field.attrs.with.is_some() {
            return self.field(field);
        }
        if !tagged {
            return self.merged_expression(field.ty);
        }
        let krate = &self.krate;
        let ty = self.substitute(field.ty.to_token_stream());
        quote!(<#ty as #krate::TypeScript>::tagged_content_expression(__declarations))
    }

    /// What a value of `ty` adds to the object it is merged into (flattened, or an internally
    /// tagged newtype's content): `T | {}` for an `Option`, whose `None` adds nothing, and so
    /// on (`TypeScript::flattened_expression`).
    fn merged_expression(&self, ty: &Type) -> TokenStream {
        let krate = &self.krate;
        let ty = self.substitute(ty.to_token_stream());
        quote!(<#ty as #krate::TypeScript>::flattened_expression(__declarations))
    }

    fn string(value: &str) -> TokenStream {
        quote!(::std::string::String::from(#value))
    }

    fn property(&self, name: &str, optional: bool, expression: &TokenStream) -> TokenStream {
        let krate = &self.krate;
        quote! {
            #krate::typescript::Property {
                name: ::std::string::String::from(#name),
                optional: #optional,
                expression: #expression,
            }
        }
    }

    /// `{ tag: "Name" }` as a property.
    fn tag_property(&self, tag: &str, name: &str) -> TokenStream {
        let krate = &self.krate;
        self.property(
            tag,
            false,
            &quote!(#krate::typescript::string_literal(#name)),
        )
    }

    /// An object of named fields (after `first`, a tag), intersected with the flattened ones.
    fn named(&self, fields: &[Field<'_>], first: Option<TokenStream>) -> TokenStream {
        let krate = &self.krate;
        let mut properties: Vec<TokenStream> = first.into_iter().collect();
        let mut flattened = Vec::new();
        for field in fields
            .iter()
            .filter(|f| serialized(f.attrs.serde_skip.as_ref()))
        {
            let expression = self.field(field);
            if field.attrs.flatten.is_some() {
                // A field that `skip_serializing_if` leaves out adds nothing.
                flattened.push(if field.attrs.skip_serializing_if.is_some() {
                    quote!(#krate::typescript::union::<::std::string::String>(&[#expression, ::std::string::String::from("{}")]))
                } else {
                    expression
                });
            } else {
                let optional = field.attrs.skip_serializing_if.is_some();
                properties.push(self.property(&field.name, optional, &expression));
            }
        }
        if properties.is_empty() && !flattened.is_empty() {
            return quote!(#krate::typescript::intersection::<::std::string::String>(&[#(#flattened),*]));
        }
        if properties.is_empty() && self.merged.get() {
            // No key of its own: merged into an object, it adds nothing.
            return Self::string("{}");
        }
        quote! {
            #krate::typescript::intersection::<::std::string::String>(&[
                #krate::typescript::object(&[#(#properties),*]),
                #(#flattened),*
            ])
        }
    }

    fn tuple(&self, fields: &[Field<'_>]) -> TokenStream {
        let krate = &self.krate;
        let elements = fields
            .iter()
            .filter(|f| serialized(f.attrs.serde_skip.as_ref()))
            .map(|f| {
                if let Some((path, _)) = &f.attrs.skip_serializing_if {
                    self.error_spanned_by(path, "`#[serde(skip_serializing_if)]` on a tuple's element: serde leaves the element out at run time, so the tuple's length and the places of the elements after it change; say the whole type with `#[ts(type = \"...\")]` on the type (or on the variant)");
                }
                self.field(f)
            });
        quote!(#krate::typescript::tuple::<::std::string::String>(&[#(#elements),*]))
    }

    /// A newtype's one field (serde writes it, skipped or not: a newtype variant whose field
    /// is skipped is a unit variant, see `style`); merged into an object, what it adds there.
    fn newtype(&self, fields: &[Field<'_>]) -> TokenStream {
        match fields {
            [field] if self.merged.get() => self.merged_field(field, false),
            [field] => self.field(field),
            _ => self.tuple(fields),
        }
    }

    /// What a struct (or a variant's fields) is written as, without a tag.
    fn shape(&self, style: Style, fields: &[Field<'_>]) -> TokenStream {
        match style {
            Style::Named => self.named(fields, None),
            Style::Tuple => self.tuple(fields),
            Style::Newtype => self.newtype(fields),
            // Merged into an object, a unit adds nothing.
            Style::Unit if self.merged.get() => Self::string("{}"),
            Style::Unit => Self::string("null"),
        }
    }

    /// The declaration's body.
    fn body(&self) -> TokenStream {
        let input = self.input;
        if let Some(ty) = &self.container.ty {
            return Self::string(ty);
        }
        if let Some(into) = &input.attrs.into {
            return self.type_expression(into);
        }
        match &input.data {
            Data::Struct(style, fields) => {
                if input.attrs.transparent.is_some() {
                    if let Some(field) = fields
                        .iter()
                        .find(|f| serialized(f.attrs.serde_skip.as_ref()))
                    {
                        return if self.merged.get() {
                            self.merged_field(field, false)
                        } else {
                            self.field(field)
                        };
                    }
                }
                match (&input.attrs.tag, style) {
                    (Some((_, tag)), Style::Named) => {
                        let name = input
                            .attrs
                            .serialize_name
                            .clone()
                            .unwrap_or_else(|| input.ident().unraw().to_string());
                        self.named(fields, Some(self.tag_property(tag, &name)))
                    }
                    _ => self.shape(*style, fields),
                }
            }
            Data::Enum(variants) => {
                let krate = &self.krate;
                let alternatives = variants
                    .iter()
                    .filter(|v| serialized(v.attrs.skip.as_ref()))
                    .map(|v| self.variant(v));
                quote!(#krate::typescript::union::<::std::string::String>(&[#(#alternatives),*]))
            }
            Data::Union(data) => {
                self.error_spanned_by(
                    data.union_token,
                    "`TypeScript` cannot be derived for a union: serde does not serialize unions; use an enum",
                );
                Self::string("never")
            }
        }
    }

    /// A variant's content (`None` for a unit variant): its `#[ts(type)]`, else its fields'.
    fn content(&self, variant: &Variant<'_>, hand_written: Option<&str>) -> Option<TokenStream> {
        if let Some(ty) = hand_written {
            return Some(Self::string(ty));
        }
        match style(variant) {
            Style::Unit => None,
            style => Some(self.shape(style, &variant.fields)),
        }
    }

    /// One alternative of an enum's union, as serde's representation of the enum writes it.
    fn variant(&self, variant: &Variant<'_>) -> TokenStream {
        let krate = &self.krate;
        let attrs = &self.input.attrs;
        let name = &variant.name;
        let hand_written =
            TsAttrs::from_ast(&self.cx, &variant.original.attrs, Position::Member).ty;
        if let (Some((path, symbol)), None) = (&variant.attrs.with, &hand_written) {
            if symbol.0 != DESERIALIZE_WITH.0 {
                self.error_spanned_by(
                    path,
                    format!("`#[serde({symbol})]` writes this variant's JSON by hand, so its TypeScript type cannot be known from its fields; say it with `#[ts(type = \"...\")]` on the variant"),
                );
            }
        }
        let hand_written = hand_written.as_deref();
        let object =
            |properties: &[TokenStream]| quote!(#krate::typescript::object(&[#(#properties),*]));
        let untagged = attrs.untagged.as_ref().or(variant.attrs.untagged.as_ref());
        match (&attrs.tag, &attrs.content, untagged) {
            (_, _, Some(_)) => self.content(variant, hand_written).unwrap_or_else(|| {
                // Merged into an object, an untagged unit adds nothing.
                Self::string(if self.merged.get() { "{}" } else { "null" })
            }),
            (Some((_, tag)), None, None) => {
                let tag_property = self.tag_property(tag, name);
                match (style(variant), hand_written) {
                    (Style::Named, None) => self.named(&variant.fields, Some(tag_property)),
                    (Style::Unit, None) => object(&[tag_property]),
                    (Style::Tuple, None) => Self::string("never"),
                    // serde merges the tag into what the content writes: its object, or
                    // nothing for a unit, or `"Name": null` for an external unit variant.
                    (Style::Newtype, None) => match variant.fields.as_slice() {
                        [field] if serialized(field.attrs.serde_skip.as_ref()) => {
                            let tag_object = object(&[tag_property]);
                            let content = self.merged_field(field, true);
                            quote!(#krate::typescript::intersection::<::std::string::String>(&[#tag_object, #content]))
                        }
                        _ => object(&[tag_property]),
                    },
                    _ => {
                        let content = self
                            .content(variant, hand_written)
                            .unwrap_or_else(|| Self::string("null"));
                        let tag_object = object(&[tag_property]);
                        quote!(#krate::typescript::intersection::<::std::string::String>(&[#tag_object, #content]))
                    }
                }
            }
            (Some((_, tag)), Some((_, content_name)), None) => {
                let tag_property = self.tag_property(tag, name);
                match self.content(variant, hand_written) {
                    None => object(&[tag_property]),
                    Some(content) => {
                        object(&[tag_property, self.property(content_name, false, &content)])
                    }
                }
            }
            (None, _, None) => match self.content(variant, hand_written) {
                // Merged into an object, an external unit variant is its name as a key.
                None if self.merged.get() => {
                    object(&[self.property(name, false, &Self::string("null"))])
                }
                None => quote!(#krate::typescript::string_literal(#name)),
                Some(content) => object(&[self.property(name, false, &content)]),
            },
        }
    }

    /// An enum whose every written variant is a unit, externally tagged: a map key.
    fn is_name_enum(&self) -> bool {
        let attrs = &self.input.attrs;
        let Data::Enum(variants) = &self.input.data else {
            return false;
        };
        attrs.tag.is_none()
            && attrs.untagged.is_none()
            && attrs.into.is_none()
            && self.container.ty.is_none()
            && variants
                .iter()
                .filter(|v| serialized(v.attrs.skip.as_ref()))
                .all(|v| {
                    style(v) == Style::Unit
                        && v.attrs.untagged.is_none()
                        && TsAttrs::from_ast(&Ctxt::new(), &v.original.attrs, Position::Member)
                            .ty
                            .is_none()
                })
    }

    /// `key_expression`, when it is not the default `string`.
    fn key_expression(&self) -> TokenStream {
        let krate = &self.krate;
        if self.is_name_enum() {
            return quote! {
                fn key_expression(
                    __declarations: &mut #krate::typescript::Declarations,
                ) -> ::std::string::String {
                    <Self as #krate::TypeScript>::type_expression(__declarations)
                }
            };
        }
        let input = self.input;
        let Data::Struct(style, fields) = &input.data else {
            return TokenStream::new();
        };
        let inner = fields
            .iter()
            .filter(|f| serialized(f.attrs.serde_skip.as_ref()))
            .collect::<Vec<_>>();
        let through = input.attrs.transparent.is_some() || *style == Style::Newtype;
        match inner.as_slice() {
            [field]
                if through
                    && input.attrs.into.is_none()
                    && TsAttrs::from_ast(&Ctxt::new(), &field.original.attrs, Position::Member)
                        .ty
                        .is_none() =>
            {
                let ty = field.ty;
                quote! {
                    fn key_expression(
                        __declarations: &mut #krate::typescript::Declarations,
                    ) -> ::std::string::String {
                        <#ty as #krate::TypeScript>::key_expression(__declarations)
                    }
                }
            }
            _ => TokenStream::new(),
        }
    }

    /// `flattened_expression`, when what the type adds to an object it is merged into is not
    /// its own expression: a unit struct adds nothing, and an enum's unit variants, externally
    /// tagged or untagged, add their name as a key or nothing.
    fn flattened_expression(&self) -> TokenStream {
        let input = self.input;
        if self.container.ty.is_some() || input.attrs.into.is_some() {
            return TokenStream::new();
        }
        let differs = match &input.data {
            // A unit adds nothing, nor does a struct with no key of its own; a newtype or a
            // transparent struct adds what its field adds.
            Data::Struct(style, fields) => {
                input.attrs.tag.is_none()
                    && (*style == Style::Unit
                        || *style == Style::Newtype
                        || input.attrs.transparent.is_some()
                        || (*style == Style::Named
                            && !fields
                                .iter()
                                .any(|f| serialized(f.attrs.serde_skip.as_ref()))))
            }
            Data::Enum(variants) => variants.iter().any(|v| {
                let untagged = input.attrs.untagged.is_some() || v.attrs.untagged.is_some();
                serialized(v.attrs.skip.as_ref())
                    && style(v) == Style::Unit
                    && (untagged || input.attrs.tag.is_none())
            }),
            Data::Union(_) => false,
        };
        if !differs {
            return TokenStream::new();
        }
        self.merged.set(true);
        let body = self.body();
        self.merged.set(false);
        let krate = &self.krate;
        quote! {
            fn flattened_expression(
                __declarations: &mut #krate::typescript::Declarations,
            ) -> ::std::string::String {
                #body
            }
        }
    }

    fn impl_type_script(&self) -> TokenStream {
        let krate = &self.krate;
        let input = self.input.original;
        let ident = &input.ident;
        let name = ident.unraw().to_string();
        let mut generics = input.generics.clone();
        let where_clause = generics.make_where_clause();
        for (param, _) in &self.parameters {
            where_clause
                .predicates
                .push(parse_quote!(#param: #krate::TypeScript));
        }
        let (impl_generics, ty_generics, where_clause) = generics.split_for_impl();
        let body = self.body();
        let key_expression = self.key_expression();
        let flattened_expression = self.flattened_expression();
        let parameter_names: Vec<String> = self
            .parameters
            .iter()
            .map(|(p, _)| p.unraw().to_string())
            .collect();
        let placeholders = self.parameters.iter().map(|(param, placeholder)| {
            let param = param.unraw().to_string();
            quote! {
                #[derive(
                    ::core::clone::Clone, ::core::marker::Copy, ::core::fmt::Debug,
                    ::core::default::Default, ::core::cmp::PartialEq, ::core::cmp::Eq,
                    ::core::cmp::PartialOrd, ::core::cmp::Ord, ::core::hash::Hash,
                )]
                struct #placeholder;
                impl #krate::TypeScript for #placeholder {
                    fn type_expression(
                        _: &mut #krate::typescript::Declarations,
                    ) -> ::std::string::String {
                        ::std::string::String::from(#param)
                    }
                    // As a map's key, the parameter's names where it has a few.
                    fn key_expression(
                        __declarations: &mut #krate::typescript::Declarations,
                    ) -> ::std::string::String {
                        #krate::typescript::map_key(__declarations, #param)
                    }
                    // Merged into an object, what the parameter's type adds there.
                    fn flattened_expression(
                        __declarations: &mut #krate::typescript::Declarations,
                    ) -> ::std::string::String {
                        #krate::typescript::flattened(__declarations, #param)
                    }
                }
            }
        });
        let reference = if self.parameters.is_empty() {
            Self::string(&name)
        } else {
            let params = self.parameters.iter().map(|(p, _)| p);
            quote! {{
                let __arguments: ::std::vec::Vec<::std::string::String> = ::std::vec![
                    #(<#params as #krate::TypeScript>::type_expression(__declarations)),*
                ];
                ::std::format!("{}<{}>", #name, __arguments.join(", "))
            }}
        };
        let doc = format!("The TypeScript type `{name}`, declared by name.");
        // The declaration's key: the type with placeholders, the same for every instantiation
        // of a generic type and different for two types of one name in different places.
        let substituted_self = &self.substituted_self;
        quote! {
            #[automatically_derived]
            #[doc = #doc]
            impl #impl_generics #krate::TypeScript for #ident #ty_generics #where_clause {
                fn type_expression(
                    __declarations: &mut #krate::typescript::Declarations,
                ) -> ::std::string::String {
                    #(#placeholders)*
                    __declarations.declare(
                        ::core::any::type_name::<#substituted_self>(),
                        #name,
                        &[#(#parameter_names),*],
                        |__declarations| #body,
                    );
                    #reference
                }
                #key_expression
                #flattened_expression
            }
        }
    }
}
