//! Enums with data: `<Type>Draft` to read and replace the whole value, and `variant()` for
//! the current variant's draft, whose fields have setters and accessors. Paths follow serde's
//! representation of the enum.

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote};
use syn::Ident;

use crate::ast::{Field, Style, Variant};

use super::context::Context;
use super::draftable::{draftable_impls, impl_generics};
use super::fields::{FieldAccess, Mode, Reached, dispatch, field_methods, field_names};

/// serde's four enum representations.
enum Repr {
    /// `{"Circle": {"radius": 1}}`: paths `["Circle", "radius"]`.
    External,
    /// `{"type": "Circle", "radius": 1}`: paths `["radius"]`.
    Internal(String),
    /// `{"t": "Circle", "c": {"radius": 1}}`: paths `["c", "radius"]`.
    Adjacent(String, String),
    /// `{"radius": 1}`: paths `["radius"]`.
    Untagged,
}

/// The representation the container's serde attributes choose.
fn repr(cx: &Context<'_>) -> Repr {
    let attrs = &cx.input.attrs;
    match (&attrs.tag, &attrs.content, &attrs.untagged) {
        (_, _, Some(_)) => Repr::Untagged,
        (Some((_, tag)), Some((_, content)), None) => Repr::Adjacent(tag.clone(), content.clone()),
        (Some((_, tag)), None, None) => Repr::Internal(tag.clone()),
        (None, _, None) => Repr::External,
    }
}

/// The draft, the variant drafts and the `Draftable` impl of an enum with data.
#[allow(
    clippy::too_many_lines,
    reason = "one quote! of the generated items reads best whole"
)]
pub(super) fn impl_enum(cx: &Context<'_>, variants: &[Variant<'_>]) -> TokenStream {
    let Context {
        krate,
        self_ty,
        type_name,
        input,
    } = cx;
    let enum_ident = input.ident();
    let place = Ident::new("__P", Span::call_site());
    let repr = repr(cx);

    let (generics, draft_generics) = impl_generics(
        cx,
        variants
            .iter()
            .flat_map(|v| &v.fields)
            .filter(|f| f.is_drafted()),
        &place,
    );
    let (draft_impl_generics, _, draft_where) = draft_generics.split_for_impl();
    let mut payload_generics = draft_generics.clone();
    payload_generics.params.insert(0, syn::parse_quote!('__b));
    let (payload_impl_generics, _, payload_where) = payload_generics.split_for_impl();

    let vis = &input.original.vis;
    let draft_ident = format_ident!("{}Draft", enum_ident);
    let variant_enum = format_ident!("{}VariantDraft", enum_ident);
    let payload_ident = |v: &Variant<'_>| match &v.attrs.draft_name {
        Some((_, name)) => name.clone(),
        None => format_ident!("{}{}Draft", enum_ident, v.original.ident),
    };

    // Where a variant's fields sit in JSON, relative to the enum's own path.
    let (segment_key, tagged) = match &repr {
        Repr::External => (None, true),
        Repr::Adjacent(_, content) => (Some(content.clone()), true),
        Repr::Internal(_) | Repr::Untagged => (None, false),
    };

    let mut variant_arms = Vec::new();
    let mut variant_draft_variants = Vec::new();
    let mut payload_items = Vec::new();
    for variant in variants {
        let ident = &variant.original.ident;
        let path = quote!(#enum_ident::#ident);
        if variant.style == Style::Unit {
            variant_draft_variants.push(quote!(#ident,));
            variant_arms.push(quote!(#path { .. } => #variant_enum::#ident,));
            continue;
        }
        let payload = payload_ident(variant);
        let name = segment_key.clone().unwrap_or_else(|| variant.name.clone());
        let doc = format!(
            "The draft of the fields of [`{type_name}::{ident}`], from [`{draft_ident}::variant`]."
        );
        variant_draft_variants.push(quote! {
            #[doc = #doc]
            #ident(#payload<'__b, #place>),
        });
        variant_arms.push(quote! {
            #path { .. } => #variant_enum::#ident(#payload {
                __place: #krate::__private::variant(
                    &mut self.__place,
                    #name,
                    |__v, _| match __v { #path { .. } => ::core::option::Option::Some(__v), _ => ::core::option::Option::None },
                    |__v, _| match __v { #path { .. } => ::core::option::Option::Some(__v), _ => ::core::option::Option::None },
                    #tagged,
                ),
            }),
        });
        let methods = variant
            .fields
            .iter()
            .filter(|f| f.is_drafted())
            .map(|field| {
                let parent = quote!(#krate::__private::Child<'__b, #place, &'static str, #self_ty>);
                field_methods(
                    cx,
                    variant.style,
                    false,
                    field,
                    &FieldAccess::Variant(path.clone(), parent, tagged.then(|| name.clone())),
                )
            });
        payload_items.push(quote! {
            #[doc = #doc]
            #vis struct #payload<'__b, #place: #krate::Place> {
                __place: #krate::__private::Child<'__b, #place, &'static str, #place::Target>,
            }

            #[automatically_derived]
            impl #payload_impl_generics #payload<'__b, #place> #payload_where {
                #(#methods)*
            }
        });
    }

    let apply = apply_body(cx, variants, &repr);
    let value_at = quote!(#krate::__private::json_value_at(self, __path, #type_name));
    let impls = draftable_impls(
        cx,
        &generics,
        &draft_generics,
        &draft_ident,
        &apply,
        &value_at,
        &TokenStream::new(),
    );
    let draft_doc = format!(
        "The draft of [`{type_name}`], generated by `#[derive(Draftable)]`.\n\n\
         Reads go through `Deref<Target = {type_name}>`. [`set`]({draft_ident}::set) replaces the \
         whole value (switching variants is one `replace` patch); [`variant`]({draft_ident}::variant) \
         gives the current variant's draft, whose fields have setters and accessors."
    );
    let variant_doc = format!(
        "The draft of the current variant of a [`{type_name}`], from [`{draft_ident}::variant`]."
    );

    quote! {
        #[doc = #draft_doc]
        #vis struct #draft_ident<#place> {
            __place: #place,
        }

        #[doc = #variant_doc]
        #vis enum #variant_enum<'__b, #place: #krate::Place> {
            #(#variant_draft_variants)*
        }

        #(#payload_items)*

        #impls

        #[automatically_derived]
        impl #draft_impl_generics #draft_ident<#place> #draft_where {
            /// Replaces the whole value, possibly with another variant: one `replace` patch.
            /// An equal value changes nothing.
            #[inline]
            pub fn set(&mut self, value: #self_ty) {
                #krate::__private::set_place(&mut self.__place, value);
            }

            /// The draft of the current variant, to match on and change its fields in place.
            pub fn variant(&mut self) -> #variant_enum<'_, #place> {
                match #krate::Place::get(&self.__place) {
                    #(#variant_arms)*
                }
            }
        }
    }
}

/// The serialized name of every drafted variant.
fn variant_names(variants: &[Variant<'_>]) -> Vec<String> {
    variants
        .iter()
        .filter(|v| v.is_drafted())
        .map(|v| v.name.clone())
        .collect()
}

/// A match expression naming the variant `self` holds.
fn current_name(cx: &Context<'_>, variants: &[Variant<'_>], value: &TokenStream) -> TokenStream {
    let enum_ident = cx.input.ident();
    let arms = variants.iter().map(|v| {
        let ident = &v.original.ident;
        let name = &v.name;
        quote!(#enum_ident::#ident { .. } => #name,)
    });
    quote!(match #value { #(#arms)* })
}

/// The pattern that binds a variant's drafted fields (`{ a: __f0, b: __f1, .. }`), and how
/// each is reached through its binding.
fn bindings<'f, 'a>(variant: &'f Variant<'a>) -> (TokenStream, Vec<Reached<'f, 'a>>) {
    let drafted: Vec<&Field<'_>> = variant.fields.iter().filter(|f| f.is_drafted()).collect();
    let names: Vec<Ident> = (0..drafted.len())
        .map(|i| format_ident!("__f{}", i))
        .collect();
    let members = drafted.iter().map(|f| &f.member);
    let pattern = quote!({ #(#members: #names,)* .. });
    let reached = drafted
        .iter()
        .zip(&names)
        .map(|(field, name)| Reached {
            field,
            expr: quote!(#name),
        })
        .collect();
    (pattern, reached)
}

/// The body of `apply_edit` for an enum: the path routed by the enum's representation.
fn apply_body(cx: &Context<'_>, variants: &[Variant<'_>], repr: &Repr) -> TokenStream {
    let krate = &cx.krate;
    let type_name = &cx.type_name;
    let head = quote! {
        let ::core::option::Option::Some((__segment, __rest)) = __path.split_first() else {
            return #krate::__private::apply_whole(self, __edit, #type_name);
        };
    };
    let routing = match repr {
        Repr::External => apply_tagged(cx, variants, None),
        Repr::Adjacent(tag, content) => apply_tagged(cx, variants, Some((tag, content))),
        Repr::Internal(tag) => apply_flat(cx, variants, Some(tag)),
        Repr::Untagged => apply_flat(cx, variants, None),
    };
    quote! {
        #head
        #routing
    }
}

/// Externally tagged (`adjacent` is `None`): the first segment names the variant. Adjacently
/// tagged: the first segment is the content key.
fn apply_tagged(
    cx: &Context<'_>,
    variants: &[Variant<'_>],
    adjacent: Option<(&String, &String)>,
) -> TokenStream {
    let Context {
        krate,
        type_name,
        input,
        ..
    } = cx;
    let enum_ident = input.ident();
    let all = variant_names(variants);
    let current = current_name(cx, variants, &quote!(&*self));
    let mut arms = Vec::new();
    for variant in variants.iter().filter(|v| v.is_drafted()) {
        let ident = &variant.original.ident;
        let variant_name = &variant.name;
        let label = format!("{type_name}::{ident}");
        let (pattern, reached) = bindings(variant);
        let (guard, wrap) = if let Some((tag, content)) = adjacent {
            (
                quote!(),
                quote!(|__v| #krate::__private::json!({ #tag: #variant_name, #content: __v })),
            )
        } else {
            let names = &variant.accepted;
            (
                quote!(if matches!(&*#krate::__private::field_key(__segment), #(#names)|*)),
                quote!(|__v| #krate::__private::json!({ #variant_name: __v })),
            )
        };
        let whole =
            quote!(return #krate::__private::replace_content(self, __edit, #type_name, #wrap););
        let body = if variant.style == Style::Unit {
            quote!(::core::result::Result::Err(#krate::PatchErrorKind::ThroughLeaf { type_name: #label }))
        } else {
            let names = field_names(&reached.iter().map(|r| r.field).collect::<Vec<_>>());
            let unknown = quote!(::core::result::Result::Err(#krate::__private::unknown_field(__segment, #label, &[#(#names),*])));
            let inner = dispatch(
                cx,
                Mode::Apply,
                variant.style,
                false,
                &reached,
                &whole,
                &unknown,
            );
            quote! {{
                let __path = __rest;
                #inner
            }}
        };
        arms.push(quote!(#enum_ident::#ident #pattern #guard => #body,));
    }
    let (fallback, check_content) = if let Some((tag, content)) = adjacent {
        let fallback = quote! {
            ::core::result::Result::Err(#krate::__private::adjacent_key(__segment, #type_name, #tag, #content))
        };
        let check = quote! {
            if &*#krate::__private::field_key(__segment) != #content {
                return #fallback;
            }
        };
        (fallback, check)
    } else {
        let fallback = quote! {
            ::core::result::Result::Err(#krate::__private::wrong_variant(__segment, #current, #type_name, &[#(#all),*]))
        };
        (fallback, quote!())
    };
    quote! {
        #check_content
        match self {
            #(#arms)*
            #[allow(unreachable_patterns)]
            _ => #fallback,
        }
    }
}

/// Internally tagged (`tag` is the tag's key) and untagged: the fields sit beside the tag, so
/// the path goes straight into the current variant's fields.
fn apply_flat(cx: &Context<'_>, variants: &[Variant<'_>], tag: Option<&String>) -> TokenStream {
    let Context {
        krate,
        type_name,
        input,
        ..
    } = cx;
    let enum_ident = input.ident();
    let all = variant_names(variants);
    let current = current_name(cx, variants, &quote!(&*self));
    let tag_check = tag.map(|tag| {
        quote! {
            if &*#krate::__private::field_key(__segment) == #tag {
                return ::core::result::Result::Err(#krate::__private::tag_path(#tag));
            }
        }
    });
    let others: Vec<TokenStream> = variants
        .iter()
        .filter(|v| v.is_drafted())
        .map(|v| {
            let name = &v.name;
            let fields = field_names(
                &v.fields
                    .iter()
                    .filter(|f| f.is_drafted())
                    .collect::<Vec<_>>(),
            );
            quote!((#name, &[#(#fields),*] as &[&str]))
        })
        .collect();
    let arms = variants.iter().filter(|v| v.is_drafted()).map(|variant| {
        let ident = &variant.original.ident;
        let variant_name = &variant.name;
        let (pattern, reached) = bindings(variant);
        let names = field_names(&reached.iter().map(|r| r.field).collect::<Vec<_>>());
        let unknown = quote! {
            ::core::result::Result::Err(#krate::__private::unknown_in_variant(
                __segment, #type_name, #variant_name, &[#(#names),*], &[#(#others),*],
            ))
        };
        let whole = quote!(return #krate::__private::apply_whole(self, __edit, #type_name););
        let body = if reached.is_empty() {
            unknown
        } else {
            dispatch(
                cx,
                Mode::Apply,
                variant.style,
                false,
                &reached,
                &whole,
                &unknown,
            )
        };
        quote!(#enum_ident::#ident #pattern => { #body })
    });
    quote! {
        let _ = __rest;
        #tag_check
        match self {
            #(#arms)*
            #[allow(unreachable_patterns)]
            _ => ::core::result::Result::Err(#krate::__private::wrong_variant(__segment, #current, #type_name, &[#(#all),*])),
        }
    }
}
