//! Generates the `Draftable` impl and the `<Type>Draft` (`try_expand`: `from_syn` -> validate
//! -> impl).

use proc_macro2::{Span, TokenStream};
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{DeriveInput, Ident, parse_quote};

use crate::ast::{Data, Field, Input, Style};
use crate::ctxt::Ctxt;
use crate::generics::{InferredBounds, self_type, with_place};
use crate::{fallback, valid};

pub(crate) fn derive(input: &DeriveInput) -> TokenStream {
    match try_expand(input) {
        Ok(tokens) => tokens,
        Err((error, stub)) => fallback::expand(input, &error, stub),
    }
}

/// The expansion, or the error and whether a stub impl should stand in for the real one.
fn try_expand(node: &DeriveInput) -> Result<TokenStream, (syn::Error, bool)> {
    let cx = Ctxt::new();
    let input = Input::from_syn(&cx, node);
    valid::check(&cx, &input);
    let stub = !cx.has_serde_failure();
    cx.check().map_err(|error| (error, stub))?;
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
pub(crate) struct Context<'i> {
    pub(crate) krate: syn::Path,
    pub(crate) self_ty: TokenStream,
    pub(crate) type_name: String,
    pub(crate) input: &'i Input<'i>,
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
        Data::Enum(variants) => crate::enums::impl_enum(&cx, variants),
        Data::Union(_) => TokenStream::new(),
    }
}

/// The generics of the `Draftable` impl (the user's, with the inferred bounds of the drafted
/// `fields`) and of the draft's impls (those plus the place parameter).
pub(crate) fn impl_generics<'f, 'a: 'f>(
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
pub(crate) fn self_bound(cx: &Context<'_>) -> Option<syn::WherePredicate> {
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
        impl #impl_generics #krate::__private::Sealed for #self_ty #where_clause {}

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

/// Where a field's draft finds it: in a struct, or in one variant of an enum (`Shape::Circle`).
pub(crate) enum FieldAccess {
    Struct,
    /// The variant's path (`Shape::Circle`) and the type of the variant's place.
    Variant(TokenStream, TokenStream),
}

/// How a field is reached from its parent.
#[derive(Copy, Clone, PartialEq)]
pub(crate) enum Reach {
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
        type_name, input, ..
    } = cx;
    let transparent = input.attrs.transparent.is_some();
    let drafted: Vec<&Field<'_>> = fields.iter().filter(|f| f.is_drafted()).collect();
    let place = Ident::new("__P", Span::call_site());

    let (generics, draft_generics) = impl_generics(cx, drafted.iter().copied(), &place);
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
        .map(|field| field_methods(cx, style, transparent, field, &FieldAccess::Struct));
    let apply = struct_body(cx, Mode::Apply, style, transparent, &drafted);
    let value_at = struct_body(cx, Mode::Value, style, transparent, &drafted);
    let diff = diff_method(cx, style, transparent, &drafted);
    let impls = draftable_impls(
        cx,
        &generics,
        &draft_generics,
        &draft_ident,
        &apply,
        &value_at,
        &diff,
    );

    quote! {
        #[doc = #struct_doc]
        #vis struct #draft_ident<#place> {
            __place: #place,
        }

        #impls

        #[automatically_derived]
        impl #draft_impl_generics #draft_ident<#place> #draft_where {
            #(#methods)*
        }
    }
}

/// `diff_into` of a struct: field by field, each under its own path segment.
fn diff_method(
    cx: &Context<'_>,
    style: Style,
    transparent: bool,
    drafted: &[&Field<'_>],
) -> TokenStream {
    let krate = &cx.krate;
    let fields = drafted.iter().map(|field| {
        let member = &field.member;
        let segment = match reach(style, transparent, field) {
            Reach::Name => {
                let name = &field.name;
                quote!(::core::option::Option::Some(#krate::PathSegment::Key(::std::string::String::from(#name))))
            }
            Reach::Position => {
                let index = field.position();
                quote!(::core::option::Option::Some(#krate::PathSegment::Index(#index)))
            }
            Reach::Through => quote!(::core::option::Option::None),
        };
        let call = if field.is_leaf() {
            quote!(__d.leaf(&self.#member, &__other.#member))
        } else {
            let ty = field.ty;
            quote!(<#ty as #krate::Draftable>::diff_into(&self.#member, &__other.#member, __d))
        };
        quote!(__differ.child(#segment, |__d| #call);)
    });
    quote! {
        fn diff_into(&self, __other: &Self, __differ: &mut #krate::__private::Differ) {
            #(#fields)*
        }
    }
}

pub(crate) fn field_bound(krate: &syn::Path, field: &Field<'_>) -> TokenStream {
    if field.is_leaf() {
        quote!(::core::clone::Clone + ::core::cmp::PartialEq + #krate::__private::Serialize + #krate::__private::DeserializeOwned)
    } else {
        quote!(#krate::Draftable)
    }
}

pub(crate) fn field_methods(
    cx: &Context<'_>,
    style: Style,
    transparent: bool,
    field: &Field<'_>,
    access: &FieldAccess,
) -> TokenStream {
    let krate = &cx.krate;
    let ty = field.ty;
    let member = &field.member;
    // A struct field's draft methods have the field's visibility; an enum's fields have the
    // enum's, and so do their drafts.
    let vis = match access {
        FieldAccess::Struct => &field.original.vis,
        FieldAccess::Variant(..) => &cx.input.original.vis,
    };
    let accessor = field.accessor();
    let setter = field.setter();
    let (read, write) = match access {
        FieldAccess::Struct => (
            quote!(|__v, _| ::core::option::Option::Some(&__v.#member)),
            quote!(|__v, _| ::core::option::Option::Some(&mut __v.#member)),
        ),
        FieldAccess::Variant(variant, _) => (
            quote!(|__v, _| match __v { #variant { #member: __f, .. } => ::core::option::Option::Some(__f), _ => ::core::option::Option::None }),
            quote!(|__v, _| match __v { #variant { #member: __f, .. } => ::core::option::Option::Some(__f), _ => ::core::option::Option::None }),
        ),
    };
    let parent = match access {
        FieldAccess::Struct => quote!(__P),
        FieldAccess::Variant(_, parent) => parent.clone(),
    };
    let (place, place_ty) = match reach(style, transparent, field) {
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
        Reach::Through => (
            quote!(#krate::__private::transparent(&mut self.__place, #read, #write)),
            quote!(#krate::__private::Child<'_, #parent, (), #ty>),
        ),
    };
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

/// How generated code reaches one field: an expression for `&mut field` (apply) or `&field`
/// (`value_at`).
pub(crate) struct Reached<'f, 'a> {
    pub(crate) field: &'f Field<'a>,
    pub(crate) expr: TokenStream,
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
pub(crate) fn type_name(ty: &syn::Type) -> String {
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

#[derive(Copy, Clone, PartialEq)]
pub(crate) enum Mode {
    Apply,
    Value,
}

/// The code that routes `__path` to the fields of one struct (or variant): by name, by
/// position, or straight through for a newtype. `whole` runs for an empty path; `unknown` for
/// a name no field has (with `__segment` in scope).
pub(crate) fn dispatch(
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
                Mode::Value => quote! {
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

pub(crate) fn field_names(fields: &[&Field<'_>]) -> Vec<String> {
    fields
        .iter()
        .filter(|f| f.attrs.flatten.is_none())
        .map(|f| f.name.clone())
        .collect()
}

/// The body of `apply_edit` or `value_at` for a struct: the path routed to its fields.
fn struct_body(
    cx: &Context<'_>,
    mode: Mode,
    style: Style,
    transparent: bool,
    drafted: &[&Field<'_>],
) -> TokenStream {
    let Context {
        krate, type_name, ..
    } = cx;
    let reached: Vec<Reached<'_, '_>> = drafted
        .iter()
        .map(|f| {
            let member = &f.member;
            let expr = match mode {
                Mode::Apply => quote!(&mut self.#member),
                Mode::Value => quote!(&self.#member),
            };
            Reached { field: f, expr }
        })
        .collect();
    let expected = field_names(drafted);
    let whole = match mode {
        Mode::Apply => quote!(return #krate::__private::apply_whole(self, __edit, #type_name);),
        Mode::Value => quote!(return #krate::__private::to_json(self);),
    };
    let unknown = quote!(::core::result::Result::Err(#krate::__private::unknown_field(__segment, #type_name, &[#(#expected),*])));
    dispatch(cx, mode, style, transparent, &reached, &whole, &unknown)
}

/// The `Draftable` impl and the draft's `Deref`, for a struct or an enum.
pub(crate) fn draftable_impls(
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
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::__private::Sealed for #self_ty #where_clause {}

        #[automatically_derived]
        impl #impl_generics #krate::Draftable for #self_ty #where_clause {
            type Draft<__P: #krate::Place<Target = Self>> = #draft_ident<__P>;
            #[inline]
            fn draft<__P: #krate::Place<Target = Self>>(place: __P) -> Self::Draft<__P> {
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
