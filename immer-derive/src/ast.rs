//! The derive's own small IR of a `syn::DeriveInput`. Every node keeps its `original`
//! syntax so errors point at the right span.

use proc_macro2::Span;
use quote::format_ident;
use syn::ext::IdentExt;
use syn::{DeriveInput, Ident, Member, Type};

use crate::attr;
use crate::case::RenameRule;
use crate::ctxt::Ctxt;

pub(crate) struct Input<'a> {
    pub(crate) original: &'a DeriveInput,
    pub(crate) attrs: attr::Container,
    pub(crate) data: Data<'a>,
}

pub(crate) enum Data<'a> {
    Struct(Style, Vec<Field<'a>>),
    Enum(Vec<Variant<'a>>),
    Union(&'a syn::DataUnion),
}

#[derive(Copy, Clone, PartialEq)]
pub(crate) enum Style {
    /// `struct S { a: A }`: a JSON object, fields by name.
    Named,
    /// `struct S(A, B)`: a JSON array, fields by position.
    Tuple,
    /// `struct S(A)`: the inside's JSON, no segment of its own.
    Newtype,
    /// `struct S;`: JSON null.
    Unit,
}

pub(crate) struct Variant<'a> {
    pub(crate) original: &'a syn::Variant,
    pub(crate) attrs: attr::Variant,
    pub(crate) style: Style,
    pub(crate) fields: Vec<Field<'a>>,
}

pub(crate) struct Field<'a> {
    pub(crate) original: &'a syn::Field,
    pub(crate) member: Member,
    pub(crate) attrs: attr::Field,
    pub(crate) ty: &'a Type,
}

impl<'a> Input<'a> {
    pub(crate) fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Self {
        let attrs = attr::Container::from_ast(cx, &input.attrs);
        let data = match &input.data {
            syn::Data::Struct(data) => {
                let (style, fields) = fields_from_syn(cx, &data.fields);
                Data::Struct(style, fields)
            }
            syn::Data::Enum(data) => Data::Enum(
                data.variants
                    .iter()
                    .map(|variant| {
                        let (style, fields) = fields_from_syn(cx, &variant.fields);
                        Variant {
                            original: variant,
                            attrs: attr::Variant::from_ast(cx, &variant.attrs),
                            style,
                            fields,
                        }
                    })
                    .collect(),
            ),
            syn::Data::Union(data) => Data::Union(data),
        };
        Input {
            original: input,
            attrs,
            data,
        }
    }

    pub(crate) fn ident(&self) -> &'a Ident {
        &self.original.ident
    }

    /// Whether the type is replaced whole: `#[draft(leaf)]`, a unit struct, or an enum whose
    /// variants are all units.
    pub(crate) fn is_leaf(&self) -> bool {
        self.attrs.leaf.is_some()
            || match &self.data {
                Data::Struct(style, _) => *style == Style::Unit,
                Data::Enum(variants) => variants.iter().all(|v| v.style == Style::Unit),
                Data::Union(_) => false,
            }
    }
}

fn fields_from_syn<'a>(cx: &Ctxt, fields: &'a syn::Fields) -> (Style, Vec<Field<'a>>) {
    let style = match fields {
        syn::Fields::Named(_) => Style::Named,
        syn::Fields::Unnamed(f) if f.unnamed.len() == 1 => Style::Newtype,
        syn::Fields::Unnamed(_) => Style::Tuple,
        syn::Fields::Unit => Style::Unit,
    };
    let fields = fields
        .iter()
        .enumerate()
        .map(|(i, field)| Field {
            original: field,
            member: field
                .ident
                .clone()
                .map_or_else(|| Member::Unnamed(i.into()), Member::Named),
            attrs: attr::Field::from_ast(cx, &field.attrs),
            ty: &field.ty,
        })
        .collect();
    (style, fields)
}

impl Field<'_> {
    /// Whether the field has a draft accessor and a place in patches.
    pub(crate) fn is_drafted(&self) -> bool {
        self.attrs.skip.is_none() && self.attrs.serde_skip.is_none()
    }

    pub(crate) fn is_leaf(&self) -> bool {
        self.attrs.leaf.is_some()
    }

    pub(crate) fn position(&self) -> usize {
        match &self.member {
            Member::Unnamed(index) => index.index as usize,
            Member::Named(_) => 0,
        }
    }

    /// The name of the field in JSON, as serde serializes it.
    pub(crate) fn serialize_name(&self, rule: Option<RenameRule>) -> String {
        if let Some(name) = &self.attrs.names.serialize {
            return name.clone();
        }
        match &self.member {
            Member::Named(ident) => {
                let name = ident.unraw().to_string();
                rule.map_or_else(|| name.clone(), |rule| rule.apply_to_field(&name))
            }
            Member::Unnamed(index) => index.index.to_string(),
        }
    }

    /// Every name serde accepts for the field when deserializing, the serialize name first.
    pub(crate) fn accepted_names(
        &self,
        serialize: Option<RenameRule>,
        deserialize: Option<RenameRule>,
    ) -> Vec<String> {
        let mut names = vec![self.serialize_name(serialize)];
        let de = match (&self.attrs.names.deserialize, &self.member) {
            (Some(name), _) => name.clone(),
            (None, Member::Named(ident)) => {
                let name = ident.unraw().to_string();
                deserialize.map_or_else(|| name.clone(), |rule| rule.apply_to_field(&name))
            }
            (None, Member::Unnamed(index)) => index.index.to_string(),
        };
        names.push(de);
        names.extend(self.attrs.aliases.iter().cloned());
        let mut seen = Vec::new();
        names.retain(|n| {
            let fresh = !seen.contains(n);
            seen.push(n.clone());
            fresh
        });
        names
    }

    /// The accessor of the field's draft: the field's name (`_0` for a tuple field).
    pub(crate) fn accessor(&self) -> Ident {
        match &self.member {
            Member::Named(ident) => ident.clone(),
            Member::Unnamed(index) => format_ident!("_{}", index.index),
        }
    }

    /// The setter: `set_<field>` (`set_0` for a tuple field).
    pub(crate) fn setter(&self) -> Ident {
        match &self.member {
            Member::Named(ident) => format_ident!("set_{}", ident.unraw()),
            Member::Unnamed(index) => {
                Ident::new(&format!("set_{}", index.index), Span::call_site())
            }
        }
    }
}

impl Variant<'_> {
    pub(crate) fn serialize_name(&self, rule: Option<RenameRule>) -> String {
        if let Some(name) = &self.attrs.names.serialize {
            return name.clone();
        }
        let name = self.original.ident.unraw().to_string();
        rule.map_or_else(|| name.clone(), |rule| rule.apply_to_variant(&name))
    }

    pub(crate) fn accepted_names(
        &self,
        serialize: Option<RenameRule>,
        deserialize: Option<RenameRule>,
    ) -> Vec<String> {
        let mut names = vec![self.serialize_name(serialize)];
        let de = self.attrs.names.deserialize.clone().unwrap_or_else(|| {
            let name = self.original.ident.unraw().to_string();
            deserialize.map_or_else(|| name.clone(), |rule| rule.apply_to_variant(&name))
        });
        if !names.contains(&de) {
            names.push(de);
        }
        for alias in &self.attrs.aliases {
            if !names.contains(alias) {
                names.push(alias.clone());
            }
        }
        names
    }

    pub(crate) fn is_drafted(&self) -> bool {
        self.attrs.skip.is_none()
    }
}
