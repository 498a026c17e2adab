//! A field as generated code reaches it, in a struct or in an enum's variant: the draft's
//! accessor and setter of the field, and the routing of a patch's path to the field.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::parse_quote;
use syn::spanned::Spanned;

use crate::ast::{Field, Style};

use super::context::Context;

/// Where a field's draft finds it: in a struct, or in one variant of an enum (`Shape::Circle`).
pub(super) enum FieldAccess {
    /// A field of the struct the draft is of.
    Struct,
    /// The variant's path (`Shape::Circle`), the type of the variant's place, and the key
    /// below the enum's JSON of the object the variant's fields sit in (a tagged variant's key
    /// or its content's; none for an internally tagged or untagged one).
    Variant(TokenStream, TokenStream, Option<String>),
}

/// How a field is reached from its parent.
#[derive(Copy, Clone, PartialEq)]
pub(super) enum Reach {
    /// By its serde name.
    Name,
    /// By its position (tuple structs).
    Position,
    /// With no segment of its own (newtypes, `transparent`, `flatten`).
    Through,
}

/// How `field`, in a struct or variant of `style`, is reached; `transparent` when the
/// container is `#[serde(transparent)]`.
pub(super) fn reach(style: Style, transparent: bool, field: &Field<'_>) -> Reach {
    if field.attrs.flatten.is_some() || transparent || style == Style::Newtype {
        Reach::Through
    } else if style == Style::Tuple {
        Reach::Position
    } else {
        Reach::Name
    }
}

/// The place of a drafted field's draft, and its type: by its name (or, with
/// `skip_serializing_if`, a place that adds and removes its key), by its position, or with no
/// segment of its own (merged into its parent's object, when flattened).
fn field_place(
    cx: &Context<'_>,
    style: Style,
    transparent: bool,
    field: &Field<'_>,
    access: &FieldAccess,
) -> (TokenStream, TokenStream) {
    let krate = &cx.krate;
    let ty = field.ty;
    let member = &field.member;
    let (read, write) = match access {
        FieldAccess::Struct => (
            quote!(|__v, _| ::core::option::Option::Some(&__v.#member)),
            quote!(|__v, _| ::core::option::Option::Some(&mut __v.#member)),
        ),
        FieldAccess::Variant(variant, ..) => (
            quote!(|__v, _| match __v { #variant { #member: __f, .. } => ::core::option::Option::Some(__f), _ => ::core::option::Option::None }),
            quote!(|__v, _| match __v { #variant { #member: __f, .. } => ::core::option::Option::Some(__f), _ => ::core::option::Option::None }),
        ),
    };
    let parent = match access {
        FieldAccess::Struct => quote!(__P),
        FieldAccess::Variant(_, parent, _) => parent.clone(),
    };
    match reach(style, transparent, field) {
        // serde leaves the key out while the predicate holds: writing the field whole adds or
        // removes the key (see `Skippable`).
        Reach::Name if field.attrs.skip_serializing_if.is_some() => {
            let name = &field.name;
            let predicate = field
                .attrs
                .skip_serializing_if
                .as_ref()
                .map(|(_, path)| path);
            (
                quote!(#krate::__private::skippable_field(&mut self.__place, #name, |__v| #predicate(__v), #read, #write)),
                quote!(#krate::__private::SkippableChild<'_, #parent, #ty>),
            )
        }
        Reach::Name => {
            let name = &field.name;
            (
                quote!(#krate::__private::field(&mut self.__place, #name, #read, #write)),
                quote!(#krate::__private::Child<'_, #parent, &'static str, #ty>),
            )
        }
        Reach::Position => {
            let index = field.position();
            (
                quote!(#krate::__private::position(&mut self.__place, #index, #read, #write)),
                quote!(#krate::__private::Child<'_, #parent, usize, #ty>),
            )
        }
        // A flattened field's keys sit in its parent's object: writing it whole replaces the
        // parent's object (see `Merged`).
        Reach::Through if field.attrs.flatten.is_some() => {
            let within = if let FieldAccess::Variant(_, _, Some(key)) = access {
                quote!(::core::option::Option::Some(#key))
            } else {
                quote!(::core::option::Option::None)
            };
            (
                quote!(#krate::__private::flattened(&mut self.__place, #within, #read, #write)),
                quote!(#krate::__private::MergedChild<'_, #parent, #ty>),
            )
        }
        Reach::Through => (
            quote!(#krate::__private::transparent(&mut self.__place, #read, #write)),
            quote!(#krate::__private::Child<'_, #parent, (), #ty>),
        ),
    }
}

/// The draft's accessor (the field's name) and setter (`set_<field>`) of one drafted field.
pub(super) fn field_methods(
    cx: &Context<'_>,
    style: Style,
    transparent: bool,
    field: &Field<'_>,
    access: &FieldAccess,
) -> TokenStream {
    let krate = &cx.krate;
    let ty = field.ty;
    // A struct field's draft methods have the field's visibility; an enum's fields have the
    // enum's, and so do their drafts.
    let vis = match access {
        FieldAccess::Struct => &field.original.vis,
        FieldAccess::Variant(..) => &cx.input.original.vis,
    };
    let accessor = field.accessor();
    let setter = field.setter();
    let (place, place_ty) = field_place(cx, style, transparent, field, access);
    // Spanned at the field's type, so that a type without `Draftable` is reported there.
    let draftable = draftable_at(krate, ty);
    let (draft_ty, make_draft) = if field.is_leaf() {
        (quote!(#krate::Leaf<#place_ty>), quote!(#krate::Leaf::new))
    } else {
        (
            quote_spanned!(ty.span()=> <#ty as #draftable>::Draft<#place_ty>),
            quote_spanned!(ty.span()=> <#ty as #draftable>::draft),
        )
    };
    let shown = member_name(field);
    let accessor_doc =
        format!("The draft of `{shown}`, to change it in place. Copies nothing until it writes.");
    let setter_doc = format!(
        "Sets `{shown}`, recording one `replace` patch. An equal value changes nothing (one \
         `PartialEq` comparison with the old value)."
    );
    // The whole accessor carries the field type's span: the checks of its signature report a
    // missing `Draftable` at the field too.
    // Its `fn` keyword stays the macro's, so lints treat it as generated code.
    let fn_token = quote!(fn);
    let signature = quote_spanned! {ty.span()=>
        #accessor(&mut self) -> #draft_ty {
            #make_draft(#place)
        }
    };
    let accessor_fn = quote! {
        #[doc = #accessor_doc]
        #[inline]
        #[allow(clippy::type_complexity)]
        #vis #fn_token #signature
    };
    quote! {
        #accessor_fn

        #[doc = #setter_doc]
        #[inline]
        // `set_` and a field named `_leading` make `set__leading`, which is not snake case.
        #[allow(non_snake_case)]
        #vis fn #setter(&mut self, value: #ty) {
            #krate::__private::set_place(&mut #place, value);
        }
    }
}

/// The field as its user names it, for docs: its identifier, or its position.
fn member_name(field: &Field<'_>) -> String {
    match &field.member {
        syn::Member::Named(ident) => ident.to_string(),
        syn::Member::Unnamed(index) => index.index.to_string(),
    }
}

/// How generated code reaches one field: an expression for `&mut field` (apply) or `&field`
/// (`value_at`, `outline_at`).
pub(super) struct Reached<'f, 'a> {
    /// The field.
    pub(super) field: &'f Field<'a>,
    /// The expression that reaches it.
    pub(super) expr: TokenStream,
}

/// `Draftable::apply_edit(field, path, edit)`, or the leaf form.
fn apply_call(cx: &Context<'_>, reached: &Reached<'_, '_>, path: &TokenStream) -> TokenStream {
    let krate = &cx.krate;
    let expr = &reached.expr;
    let ty = reached.field.ty;
    if reached.field.is_leaf() {
        let name = type_name(ty);
        quote!(#krate::__private::apply_leaf(#expr, #path, __edit, #name))
    } else {
        let draftable = draftable_at(krate, ty);
        quote_spanned!(ty.span()=> <#ty as #draftable>::apply_edit(#expr, #path, __edit))
    }
}

/// `Draftable::value_at(field, path)`, or the leaf form.
fn value_call(cx: &Context<'_>, reached: &Reached<'_, '_>, path: &TokenStream) -> TokenStream {
    let krate = &cx.krate;
    let expr = &reached.expr;
    let ty = reached.field.ty;
    if reached.field.is_leaf() {
        let name = type_name(ty);
        quote!(#krate::__private::leaf_value_at(#expr, #path, #name))
    } else {
        let draftable = draftable_at(krate, ty);
        quote_spanned!(ty.span()=> <#ty as #draftable>::value_at(#expr, #path))
    }
}

/// `Draftable::outline_at(field, path)`, or the leaf form.
fn outline_call(cx: &Context<'_>, reached: &Reached<'_, '_>, path: &TokenStream) -> TokenStream {
    let krate = &cx.krate;
    let expr = &reached.expr;
    let ty = reached.field.ty;
    if reached.field.is_leaf() {
        let name = type_name(ty);
        quote!(#krate::__private::leaf_outline_at(#expr, #path, #name))
    } else {
        let draftable = draftable_at(krate, ty);
        quote_spanned!(ty.span()=> <#ty as #draftable>::outline_at(#expr, #path))
    }
}

/// The path of the `Draftable` trait with the span of a field's type, so that an error for a
/// type without it points at the field, as serde's and thiserror's do.
fn draftable_at(krate: &syn::Path, ty: &syn::Type) -> syn::Path {
    let mut path = krate.clone();
    path.segments.push(parse_quote!(Draftable));
    let span = ty.span();
    if let Some(colon) = &mut path.leading_colon {
        colon.spans = [span, span];
    }
    for segment in &mut path.segments {
        segment.ident.set_span(span);
    }
    path
}

/// A type as its user wrote it, for messages: `Vec<u8>`, not the token stream's `Vec < u8 >`.
fn type_name(ty: &syn::Type) -> String {
    let mut text = quote!(#ty).to_string();
    for (spaced, tight) in [
        (" < ", "<"),
        ("< ", "<"),
        (" <", "<"),
        (" >", ">"),
        (" :: ", "::"),
        (":: ", "::"),
        (" ,", ","),
        ("& ", "&"),
        ("( ", "("),
        (" )", ")"),
        ("[ ", "["),
        (" ]", "]"),
        (" ;", ";"),
    ] {
        text = text.replace(spaced, tight);
    }
    text
}

/// Which of the two methods that route a path is generated.
#[derive(Copy, Clone, PartialEq)]
pub(super) enum Mode {
    /// `apply_edit`: the field reached by `&mut`, the edit applied to it.
    Apply,
    /// `value_at`: the field reached by `&`, its JSON read.
    Value,
    /// `outline_at`: the field reached by `&`, its outline read.
    Outline,
}

/// The code that routes `__path` to the fields of one struct (or variant): by name, by
/// position, or straight through for a newtype. `whole` runs for an empty path; `unknown` for
/// a name no field has (with `__segment` in scope).
pub(super) fn dispatch(
    cx: &Context<'_>,
    mode: Mode,
    style: Style,
    through: bool,
    fields: &[Reached<'_, '_>],
    whole: &TokenStream,
    unknown: &TokenStream,
) -> TokenStream {
    let krate = &cx.krate;
    let call = |reached: &Reached<'_, '_>, path: TokenStream| match mode {
        Mode::Apply => apply_call(cx, reached, &path),
        Mode::Value => value_call(cx, reached, &path),
        Mode::Outline => outline_call(cx, reached, &path),
    };
    if let (true, [only]) = (through || style == Style::Newtype, fields) {
        return call(only, quote!(__path));
    }
    let split = quote! {
        let ::core::option::Option::Some((__segment, __rest)) = __path.split_first() else {
            #whole
        };
    };
    if style == Style::Tuple {
        let arms = fields.iter().map(|reached| {
            let index = reached.field.position();
            let call = call(reached, quote!(__rest));
            quote!(::core::option::Option::Some(#index) => #call,)
        });
        let count = fields.len();
        return quote! {
            #split
            match #krate::PathSegment::as_index(__segment) {
                #(#arms)*
                _ => ::core::result::Result::Err(#krate::__private::not_a_position(__segment, #count)),
            }
        };
    }
    let mut arms = Vec::new();
    let mut flattened = Vec::new();
    for reached in fields {
        let field = reached.field;
        if field.attrs.flatten.is_some() {
            let call = call(reached, quote!(__path));
            flattened.push(match mode {
                Mode::Apply => quote! {
                    match #call {
                        ::core::result::Result::Err(
                            #krate::PatchErrorKind::UnknownField { .. } | #krate::PatchErrorKind::MissingKey { .. },
                        ) => {}
                        __other => return __other,
                    }
                },
                Mode::Value | Mode::Outline => quote! {
                    if let ::core::result::Result::Ok(__value) = #call {
                        return ::core::result::Result::Ok(__value);
                    }
                },
            });
            continue;
        }
        let names = &field.accepted;
        if let (Mode::Apply, Some((_, default))) = (mode, &field.attrs.default) {
            let expr = &reached.expr;
            let make = default.as_ref().map_or_else(
                || quote!(::core::default::Default::default()),
                |path| quote!(#path()),
            );
            arms.push(quote! {
                #(#names)|* if __rest.is_empty() && __edit.op == #krate::PatchOp::Remove => {
                    #krate::__private::reset(#expr, __edit, #make)
                }
            });
        }
        let call = call(reached, quote!(__rest));
        arms.push(quote!(#(#names)|* => #call,));
    }
    quote! {
        #split
        match &*#krate::__private::field_key(__segment) {
            #(#arms)*
            _ => {
                #(#flattened)*
                #unknown
            }
        }
    }
}

/// The serialized names of `fields` that a path can name: all but the flattened ones.
pub(super) fn field_names(fields: &[&Field<'_>]) -> Vec<String> {
    fields
        .iter()
        .filter(|f| f.attrs.flatten.is_none())
        .map(|f| f.name.clone())
        .collect()
}
