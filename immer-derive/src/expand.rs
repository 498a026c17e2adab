//! Generates the `Draftable` impl and the `<Type>Draft` (`try_expand`: from_syn -> validate
//! -> impl).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::{DeriveInput, Ident, parse_quote};

use crate::ast::{Data, Field, Input, Style};
use crate::ctxt::Ctxt;
use crate::generics::{InferredBounds, self_type, with_place};
use crate::{fallback, valid};

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    match try_expand(input) {
        Ok(tokens) => tokens,
        Err(error) => fallback::expand(input, &error),
    }
}

fn try_expand(node: &DeriveInput) -> syn::Result<TokenStream> {
    let cx = Ctxt::new();
    let input = Input::from_syn(&cx, node);
    valid::check(&cx, &input);
    cx.check()?;
    Ok(impl_input(&input))
}

/// The path of the runtime: `::immer`, or the `#[draft(crate = "...")]` override.
pub(crate) fn crate_path(input: &Input<'_>) -> syn::Path {
    input
        .attrs
        .crate_path
        .as_ref()
        .map_or_else(|| parse_quote!(::immer), |(_, path)| path.clone())
}

/// Shared pieces of one expansion.
struct Context<'i> {
    krate: syn::Path,
    self_ty: TokenStream,
    type_name: String,
    input: &'i Input<'i>,
}

fn impl_input(input: &Input<'_>) -> TokenStream {
    let krate = crate_path(input);
    let generics = &input.original.generics;
    let cx = Context {
        self_ty: self_type(input.ident(), generics),
        type_name: input.ident().to_string(),
        krate,
        input,
    };
    if input.is_leaf() {
        return impl_leaf(&cx);
    }
    match &input.data {
        Data::Struct(style, fields) => impl_struct(&cx, *style, fields),
        Data::Enum(_) | Data::Union(_) => TokenStream::new(),
    }
}

/// The bound every generic impl carries, so the supertraits hold whatever the user's own
/// derives require of the parameters.
fn self_bound(cx: &Context<'_>) -> Option<syn::WherePredicate> {
    let Context { krate, self_ty, .. } = cx;
    (cx.input.original.generics.type_params().next().is_some()).then(|| {
        parse_quote!(#self_ty: ::core::clone::Clone + ::core::cmp::PartialEq + #krate::__private::Serialize + #krate::__private::DeserializeOwned)
    })
}

fn impl_leaf(cx: &Context<'_>) -> TokenStream {
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
        impl #impl_generics #krate::Draftable for #self_ty #where_clause {
            type Draft<__P: #krate::Place<Target = Self>> = #krate::Leaf<__P>;
            #[inline]
            fn draft<__P: #krate::Place<Target = Self>>(place: __P) -> Self::Draft<__P> {
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

/// How a field is reached from its parent.
#[derive(Copy, Clone, PartialEq)]
enum Reach {
    /// By its serde name.
    Name,
    /// By its position (tuple structs).
    Position,
    /// With no segment of its own (newtypes, `transparent`, `flatten`).
    Through,
}

fn reach(style: Style, transparent: bool, field: &Field<'_>) -> Reach {
    if field.attrs.flatten.is_some() || transparent || style == Style::Newtype {
        Reach::Through
    } else if style == Style::Tuple {
        Reach::Position
    } else {
        Reach::Name
    }
}

fn impl_struct(cx: &Context<'_>, style: Style, fields: &[Field<'_>]) -> TokenStream {
    let Context {
        krate,
        self_ty,
        type_name,
        input,
    } = cx;
    let transparent = input.attrs.transparent.is_some();
    let drafted: Vec<&Field<'_>> = fields.iter().filter(|f| f.is_drafted()).collect();
    let place = Ident::new("__P", Span::call_site());

    let mut bounds = InferredBounds::new(&input.original.generics);
    for field in &drafted {
        bounds.insert(field.ty, &field_bound(krate, field));
    }
    let mut generics = bounds.augment(&input.original.generics);
    if let Some(bound) = self_bound(cx) {
        generics.make_where_clause().predicates.push(bound);
    }
    let (impl_generics, _, where_clause) = generics.split_for_impl();
    let draft_generics = with_place(&generics, krate, self_ty, &place);
    let (draft_impl_generics, _, draft_where) = draft_generics.split_for_impl();

    let vis = &input.original.vis;
    let draft_ident = format_ident!("{}Draft", input.ident());
    let struct_doc = format!(
        "The draft of [`{type_name}`], generated by `#[derive(Draftable)]`.\n\n\
         Reads go through `Deref<Target = {type_name}>` and never copy. Each field has a setter \
         (`set_<field>`) that replaces it and records one `replace` patch, and an accessor (the \
         field's name) that returns the field's own draft, to change it in place."
    );

    let methods = drafted
        .iter()
        .map(|field| field_methods(cx, style, transparent, field));
    let apply = apply_body(cx, style, transparent, &drafted);
    let value_at = value_at_body(cx, style, transparent, &drafted);

    quote! {
        #[doc = #struct_doc]
        #vis struct #draft_ident<#place> {
            __place: #place,
        }

        #[automatically_derived]
        impl #impl_generics #krate::Draftable for #self_ty #where_clause {
            type Draft<#place: #krate::Place<Target = Self>> = #draft_ident<#place>;
            #[inline]
            fn draft<#place: #krate::Place<Target = Self>>(place: #place) -> Self::Draft<#place> {
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
        }

        #[automatically_derived]
        impl #draft_impl_generics ::core::ops::Deref for #draft_ident<#place> #draft_where {
            type Target = #self_ty;
            #[inline]
            fn deref(&self) -> &#self_ty {
                #krate::Place::get(&self.__place)
            }
        }

        #[automatically_derived]
        impl #draft_impl_generics #draft_ident<#place> #draft_where {
            #(#methods)*
        }
    }
}

fn field_bound(krate: &syn::Path, field: &Field<'_>) -> TokenStream {
    if field.is_leaf() {
        quote!(::core::clone::Clone + ::core::cmp::PartialEq + #krate::__private::Serialize + #krate::__private::DeserializeOwned)
    } else {
        quote!(#krate::Draftable)
    }
}

fn field_methods(
    cx: &Context<'_>,
    style: Style,
    transparent: bool,
    field: &Field<'_>,
) -> TokenStream {
    let krate = &cx.krate;
    let ty = field.ty;
    let member = &field.member;
    let vis = &field.original.vis;
    let accessor = field.accessor();
    let setter = field.setter();
    let read = quote!(|__v, _| ::core::option::Option::Some(&__v.#member));
    let write = quote!(|__v, _| ::core::option::Option::Some(&mut __v.#member));
    let (place, place_ty) = match reach(style, transparent, field) {
        Reach::Name => {
            let name = field.serialize_name(cx.input.attrs.rename_all_serialize);
            (
                quote!(#krate::__private::field(&mut self.__place, #name, #read, #write)),
                quote!(#krate::__private::Child<'_, __P, &'static str, #ty>),
            )
        }
        Reach::Position => {
            let index = field.position();
            (
                quote!(#krate::__private::position(&mut self.__place, #index, #read, #write)),
                quote!(#krate::__private::Child<'_, __P, usize, #ty>),
            )
        }
        Reach::Through => (
            quote!(#krate::__private::transparent(&mut self.__place, #read, #write)),
            quote!(#krate::__private::Child<'_, __P, (), #ty>),
        ),
    };
    let (draft_ty, make_draft) = if field.is_leaf() {
        (quote!(#krate::Leaf<#place_ty>), quote!(#krate::Leaf::new))
    } else {
        (
            quote!(<#ty as #krate::Draftable>::Draft<#place_ty>),
            quote!(<#ty as #krate::Draftable>::draft),
        )
    };
    let shown = member_name(field);
    let accessor_doc =
        format!("The draft of `{shown}`, to change it in place. Copies nothing until it writes.");
    let setter_doc =
        format!("Sets `{shown}`, recording one `replace` patch. An equal value changes nothing.");
    quote! {
        #[doc = #accessor_doc]
        #[inline]
        #vis fn #accessor(&mut self) -> #draft_ty {
            #make_draft(#place)
        }

        #[doc = #setter_doc]
        #[inline]
        #vis fn #setter(&mut self, value: #ty) {
            #krate::__private::set_place(&mut #place, value);
        }
    }
}

fn member_name(field: &Field<'_>) -> String {
    match &field.member {
        syn::Member::Named(ident) => ident.to_string(),
        syn::Member::Unnamed(index) => index.index.to_string(),
    }
}

/// `Draftable::apply_edit(&mut self.field, path, edit)`, or the leaf form.
fn apply_field(cx: &Context<'_>, field: &Field<'_>, path: &TokenStream) -> TokenStream {
    let krate = &cx.krate;
    let member = &field.member;
    if field.is_leaf() {
        let ty = field.ty;
        let name = quote!(#ty).to_string();
        quote!(#krate::__private::apply_leaf(&mut self.#member, #path, __edit, #name))
    } else {
        quote!(#krate::Draftable::apply_edit(&mut self.#member, #path, __edit))
    }
}

fn value_field(cx: &Context<'_>, field: &Field<'_>, path: &TokenStream) -> TokenStream {
    let krate = &cx.krate;
    let member = &field.member;
    if field.is_leaf() {
        let ty = field.ty;
        let name = quote!(#ty).to_string();
        quote!(#krate::__private::leaf_value_at(&self.#member, #path, #name))
    } else {
        quote!(#krate::Draftable::value_at(&self.#member, #path))
    }
}

fn expected_names(cx: &Context<'_>, drafted: &[&Field<'_>]) -> Vec<String> {
    drafted
        .iter()
        .filter(|f| f.attrs.flatten.is_none())
        .map(|f| f.serialize_name(cx.input.attrs.rename_all_serialize))
        .collect()
}

fn apply_body(
    cx: &Context<'_>,
    style: Style,
    transparent: bool,
    drafted: &[&Field<'_>],
) -> TokenStream {
    let Context {
        krate,
        type_name,
        input,
        ..
    } = cx;
    if let (true, [only]) = (transparent || style == Style::Newtype, drafted) {
        return apply_field(cx, only, &quote!(__path));
    }
    let whole = quote! {
        let ::core::option::Option::Some((__segment, __rest)) = __path.split_first() else {
            return #krate::__private::apply_whole(self, __edit, #type_name);
        };
    };
    if style == Style::Tuple {
        let arms = drafted.iter().map(|field| {
            let index = field.position();
            let apply = apply_field(cx, field, &quote!(__rest));
            quote!(::core::option::Option::Some(#index) => #apply,)
        });
        let count = drafted.len();
        return quote! {
            #whole
            match #krate::PathSegment::as_index(__segment) {
                #(#arms)*
                _ => ::core::result::Result::Err(#krate::__private::not_a_position(__segment, #count)),
            }
        };
    }
    let (ser, de) = (
        input.attrs.rename_all_serialize,
        input.attrs.rename_all_deserialize,
    );
    let mut arms = Vec::new();
    let mut flattened = Vec::new();
    for field in drafted {
        if field.attrs.flatten.is_some() {
            let apply = apply_field(cx, field, &quote!(__path));
            flattened.push(quote! {
                match #apply {
                    ::core::result::Result::Err(
                        #krate::PatchErrorKind::UnknownField { .. } | #krate::PatchErrorKind::MissingKey { .. },
                    ) => {}
                    __other => return __other,
                }
            });
            continue;
        }
        let names = field.accepted_names(ser, de);
        if let Some((_, default)) = &field.attrs.default {
            let member = &field.member;
            let make = default.as_ref().map_or_else(
                || quote!(::core::default::Default::default()),
                |path| quote!(#path()),
            );
            arms.push(quote! {
                #(#names)|* if __rest.is_empty() && __edit.op == #krate::PatchOp::Remove => {
                    #krate::__private::reset(&mut self.#member, __edit, #make)
                }
            });
        }
        let apply = apply_field(cx, field, &quote!(__rest));
        arms.push(quote!(#(#names)|* => #apply,));
    }
    let expected = expected_names(cx, drafted);
    quote! {
        #whole
        match &*#krate::__private::field_key(__segment) {
            #(#arms)*
            _ => {
                #(#flattened)*
                ::core::result::Result::Err(#krate::__private::unknown_field(__segment, #type_name, &[#(#expected),*]))
            }
        }
    }
}

fn value_at_body(
    cx: &Context<'_>,
    style: Style,
    transparent: bool,
    drafted: &[&Field<'_>],
) -> TokenStream {
    let Context {
        krate,
        type_name,
        input,
        ..
    } = cx;
    if let (true, [only]) = (transparent || style == Style::Newtype, drafted) {
        return value_field(cx, only, &quote!(__path));
    }
    let whole = quote! {
        let ::core::option::Option::Some((__segment, __rest)) = __path.split_first() else {
            return #krate::__private::to_json(self);
        };
    };
    if style == Style::Tuple {
        let arms = drafted.iter().map(|field| {
            let index = field.position();
            let value = value_field(cx, field, &quote!(__rest));
            quote!(::core::option::Option::Some(#index) => #value,)
        });
        let count = drafted.len();
        return quote! {
            #whole
            match #krate::PathSegment::as_index(__segment) {
                #(#arms)*
                _ => ::core::result::Result::Err(#krate::__private::not_a_position(__segment, #count)),
            }
        };
    }
    let (ser, de) = (
        input.attrs.rename_all_serialize,
        input.attrs.rename_all_deserialize,
    );
    let mut arms = Vec::new();
    let mut flattened = Vec::new();
    for field in drafted {
        if field.attrs.flatten.is_some() {
            let value = value_field(cx, field, &quote!(__path));
            flattened.push(quote! {
                if let ::core::result::Result::Ok(__value) = #value {
                    return ::core::result::Result::Ok(__value);
                }
            });
            continue;
        }
        let names = field.accepted_names(ser, de);
        let value = value_field(cx, field, &quote!(__rest));
        arms.push(quote!(#(#names)|* => #value,));
    }
    let expected = expected_names(cx, drafted);
    quote! {
        #whole
        match &*#krate::__private::field_key(__segment) {
            #(#arms)*
            _ => {
                #(#flattened)*
                ::core::result::Result::Err(#krate::__private::unknown_field(__segment, #type_name, &[#(#expected),*]))
            }
        }
    }
}
