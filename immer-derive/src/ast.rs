//! The derive's own small IR of a `syn::DeriveInput`. Every node keeps its `original`
//! syntax so errors point at the right span.

use proc_macro2::Span;
use quote::format_ident;
use syn::ext::IdentExt;
use syn::{DeriveInput, Ident, Member, Type};

use crate::attr;
use crate::case::RenameRule;
use crate::ctxt::Ctxt;
use crate::symbol::{SKIP, SKIP_DESERIALIZING, SKIP_SERIALIZING};

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
    /// The variant's name as serde serializes it.
    pub(crate) name: String,
    /// Every name serde accepts for it when deserializing, `name` first.
    pub(crate) accepted: Vec<String>,
}

pub(crate) struct Field<'a> {
    pub(crate) original: &'a syn::Field,
    pub(crate) member: Member,
    pub(crate) attrs: attr::Field,
    pub(crate) ty: &'a Type,
    /// The field's name in JSON as serde serializes it (its position for a tuple field).
    pub(crate) name: String,
    /// Every name serde accepts for it when deserializing, `name` first.
    pub(crate) accepted: Vec<String>,
}

impl<'a> Input<'a> {
    pub(crate) fn from_syn(cx: &Ctxt, input: &'a DeriveInput) -> Self {
        let attrs = attr::Container::from_ast(cx, &input.attrs);
        // Every serialized name is resolved here, once, by serde's rules: on a struct the
        // container's `rename_all` renames the fields; on an enum it renames the variants,
        // and a variant's fields follow the variant's own `rename_all`, else the container's
        // `rename_all_fields`.
        let data = match &input.data {
            syn::Data::Struct(data) => {
                let (style, fields) = fields_from_syn(cx, &data.fields, attrs.rename_all);
                Data::Struct(style, fields)
            }
            syn::Data::Enum(data) => Data::Enum(
                data.variants
                    .iter()
                    .map(|variant| {
                        let variant_attrs = attr::Variant::from_ast(cx, &variant.attrs);
                        let field_rules = variant_attrs.rename_all.or(attrs.rename_all_fields);
                        let (style, fields) = fields_from_syn(cx, &variant.fields, field_rules);
                        let ident = variant.ident.unraw().to_string();
                        let (name, accepted) = resolve_names(
                            &ident,
                            &variant_attrs.names,
                            &variant_attrs.aliases,
                            attrs.rename_all,
                            RenameRule::apply_to_variant,
                        );
                        Variant {
                            original: variant,
                            attrs: variant_attrs,
                            style,
                            fields,
                            name,
                            accepted,
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

/// Whether serde writes the field (or variant): `skip_deserializing` alone leaves it in.
pub(crate) fn serialized(skip: Option<&(syn::Path, crate::symbol::Symbol)>) -> bool {
    skip.is_none_or(|(_, symbol)| symbol.0 == SKIP_DESERIALIZING.0)
}

fn fields_from_syn<'a>(
    cx: &Ctxt,
    fields: &'a syn::Fields,
    rules: attr::RenameRules,
) -> (Style, Vec<Field<'a>>) {
    let style = match fields {
        syn::Fields::Named(_) => Style::Named,
        syn::Fields::Unnamed(f) if f.unnamed.len() == 1 => Style::Newtype,
        syn::Fields::Unnamed(_) => Style::Tuple,
        syn::Fields::Unit => Style::Unit,
    };
    // A tuple's element is at its position among the elements serde writes (or reads): the
    // skipped ones close up.
    let (mut written, mut read) = (0_usize, 0_usize);
    let fields = fields
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let attrs = attr::Field::from_ast(cx, &field.attrs);
            let (name, accepted) = if let Some(ident) = &field.ident {
                resolve_names(
                    &ident.unraw().to_string(),
                    &attrs.names,
                    &attrs.aliases,
                    rules,
                    RenameRule::apply_to_field,
                )
            } else {
                let skipped = attrs.serde_skip.as_ref().map(|(_, key)| key.0);
                let names = (written.to_string(), vec![read.to_string()]);
                if !matches!(skipped, Some(k) if k == SKIP.0 || k == SKIP_SERIALIZING.0) {
                    written += 1;
                }
                if !matches!(skipped, Some(k) if k == SKIP.0 || k == SKIP_DESERIALIZING.0) {
                    read += 1;
                }
                names
            };
            Field {
                original: field,
                member: field
                    .ident
                    .clone()
                    .map_or_else(|| Member::Unnamed(i.into()), Member::Named),
                attrs,
                ty: &field.ty,
                name,
                accepted,
            }
        })
        .collect();
    (style, fields)
}

/// The serialize name of a field or variant written `ident`, and every name serde accepts
/// for it when deserializing (the serialize name first): an explicit `rename` wins over the
/// rule, and aliases add to the deserialize name.
fn resolve_names(
    ident: &str,
    names: &attr::Names,
    aliases: &[String],
    rules: attr::RenameRules,
    apply: fn(RenameRule, &str) -> String,
) -> (String, Vec<String>) {
    let by_rule =
        |rule: Option<RenameRule>| rule.map_or_else(|| ident.to_owned(), |r| apply(r, ident));
    let serialize = names
        .serialize
        .clone()
        .unwrap_or_else(|| by_rule(rules.serialize));
    let deserialize = names
        .deserialize
        .clone()
        .unwrap_or_else(|| by_rule(rules.deserialize));
    let mut accepted = vec![serialize.clone()];
    for name in std::iter::once(deserialize).chain(aliases.iter().cloned()) {
        if !accepted.contains(&name) {
            accepted.push(name);
        }
    }
    (serialize, accepted)
}

impl Field<'_> {
    /// Whether the field has a draft accessor and a place in patches.
    pub(crate) fn is_drafted(&self) -> bool {
        self.attrs.skip.is_none() && self.attrs.serde_skip.is_none()
    }

    pub(crate) fn is_leaf(&self) -> bool {
        self.attrs.leaf.is_some()
    }

    /// A tuple field's index in patch paths: its position among the elements serde writes
    /// (those before it that serde skips close up). 0 for a named field.
    pub(crate) fn position(&self) -> usize {
        match &self.member {
            // Where serde writes it: its name is its position among the elements written.
            Member::Unnamed(_) => self.name.parse().unwrap_or_default(),
            Member::Named(_) => 0,
        }
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
    pub(crate) fn is_drafted(&self) -> bool {
        self.attrs.skip.is_none()
    }
}
