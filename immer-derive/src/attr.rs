//! `#[draft(...)]` and the `#[serde(...)]` keys that change a value's JSON form.
//!
//! Unknown `draft` keys are errors that name the key. Unknown `serde` keys are skipped:
//! serde's own derive checks them.

use proc_macro2::TokenStream;
use syn::meta::ParseNestedMeta;
use syn::{Attribute, LitStr, Token};

use crate::case::RenameRule;
use crate::ctxt::Ctxt;
use crate::symbol::{
    ALIAS, CONTENT, CRATE, DEFAULT, DESERIALIZE, DESERIALIZE_WITH, DRAFT, FLATTEN, FROM, INTO,
    LEAF, REMOTE, RENAME, RENAME_ALL, SERDE, SERIALIZE, SERIALIZE_WITH, SKIP, SKIP_DESERIALIZING,
    SKIP_SERIALIZING, Symbol, TAG, TRANSPARENT, TRY_FROM, UNTAGGED, WITH,
};

/// A flag or value set once; a second setting is an error that names the key.
pub(crate) struct Attr<'c, T> {
    cx: &'c Ctxt,
    name: Symbol,
    value: Option<(syn::Path, T)>,
}

impl<'c, T> Attr<'c, T> {
    fn none(cx: &'c Ctxt, name: Symbol) -> Self {
        Attr {
            cx,
            name,
            value: None,
        }
    }

    fn set(&mut self, path: &syn::Path, value: T, family: Symbol) {
        if self.value.is_some() {
            self.cx.error_spanned_by(
                path,
                format!("duplicate {family} attribute `{}`", self.name),
            );
        } else {
            self.value = Some((path.clone(), value));
        }
    }

    fn get(self) -> Option<(syn::Path, T)> {
        self.value
    }
}

/// Where an attribute was written, for error spans.
pub(crate) type Spanned<T> = Option<(syn::Path, T)>;

/// Serialize and deserialize names of one item.
#[derive(Default, Clone)]
pub(crate) struct Names {
    pub(crate) serialize: Option<String>,
    pub(crate) deserialize: Option<String>,
}

/// The attributes of the struct or enum itself.
pub(crate) struct Container {
    pub(crate) crate_path: Spanned<syn::Path>,
    pub(crate) leaf: Spanned<()>,
    pub(crate) rename_all_serialize: Option<RenameRule>,
    pub(crate) rename_all_deserialize: Option<RenameRule>,
    pub(crate) transparent: Spanned<()>,
    pub(crate) tag: Spanned<String>,
    pub(crate) content: Spanned<String>,
    pub(crate) untagged: Spanned<()>,
    /// `from`, `try_from`, `into` or `remote`: the JSON form is another type's.
    pub(crate) conversion: Spanned<Symbol>,
}

/// The attributes of a field.
pub(crate) struct Field {
    pub(crate) leaf: Spanned<()>,
    pub(crate) skip: Spanned<()>,
    pub(crate) names: Names,
    pub(crate) aliases: Vec<String>,
    pub(crate) serde_skip: Spanned<Symbol>,
    pub(crate) default: Spanned<Option<syn::ExprPath>>,
    pub(crate) flatten: Spanned<()>,
    pub(crate) with: Spanned<Symbol>,
}

/// The attributes of an enum variant.
pub(crate) struct Variant {
    pub(crate) names: Names,
    pub(crate) aliases: Vec<String>,
    pub(crate) skip: Spanned<Symbol>,
    pub(crate) with: Spanned<Symbol>,
}

/// Consumes the value of a key this macro does not read: `= expr`, `(...)`, or nothing.
fn skip_value(meta: &ParseNestedMeta<'_>) -> syn::Result<()> {
    if meta.input.peek(Token![=]) {
        meta.value()?.parse::<syn::Expr>()?;
    } else if meta.input.peek(syn::token::Paren) {
        let content;
        syn::parenthesized!(content in meta.input);
        content.parse::<TokenStream>()?;
    }
    Ok(())
}

fn string(meta: &ParseNestedMeta<'_>, example: &str) -> syn::Result<String> {
    let value = meta.value()?;
    match value.parse::<LitStr>() {
        Ok(lit) => Ok(lit.value()),
        Err(_) => Err(meta.error(format!("expected a string literal, as in `{example}`"))),
    }
}

/// `key = "a"` or `key(serialize = "a", deserialize = "b")`.
fn names(meta: &ParseNestedMeta<'_>, key: Symbol) -> syn::Result<Names> {
    if meta.input.peek(Token![=]) {
        let name = string(meta, &format!("#[serde({key} = \"name\")]"))?;
        return Ok(Names {
            serialize: Some(name.clone()),
            deserialize: Some(name),
        });
    }
    let mut names = Names::default();
    meta.parse_nested_meta(|inner| {
        if inner.path == SERIALIZE {
            names.serialize = Some(string(
                &inner,
                &format!("#[serde({key}(serialize = \"name\"))]"),
            )?);
        } else if inner.path == DESERIALIZE {
            names.deserialize = Some(string(
                &inner,
                &format!("#[serde({key}(deserialize = \"name\"))]"),
            )?);
        } else {
            return Err(inner.error(format!(
                "expected `serialize` or `deserialize` in `{key}(...)`"
            )));
        }
        Ok(())
    })?;
    Ok(names)
}

fn rename_rule(meta: &ParseNestedMeta<'_>, value: &str) -> syn::Result<RenameRule> {
    RenameRule::from_str(value).ok_or_else(|| {
        meta.error(format!(
            "unknown rename rule `rename_all = {value:?}`; expected one of {}",
            RenameRule::names()
        ))
    })
}

fn for_each_meta(
    cx: &Ctxt,
    attrs: &[Attribute],
    mut draft: impl FnMut(&ParseNestedMeta<'_>) -> syn::Result<()>,
    mut serde: impl FnMut(&ParseNestedMeta<'_>) -> syn::Result<()>,
) {
    for attr in attrs {
        if attr.path() == DRAFT {
            if let Err(error) = attr.parse_nested_meta(|meta| draft(&meta)) {
                cx.syn_error(error);
            }
        } else if attr.path() == SERDE {
            if let Err(error) = attr.parse_nested_meta(|meta| serde(&meta)) {
                cx.serde_attribute_failed();
                cx.syn_error(error);
            }
        }
    }
}

impl Container {
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut crate_path = Attr::none(cx, CRATE);
        let mut leaf = Attr::none(cx, LEAF);
        let mut transparent = Attr::none(cx, TRANSPARENT);
        let mut tag = Attr::none(cx, TAG);
        let mut content = Attr::none(cx, CONTENT);
        let mut untagged = Attr::none(cx, UNTAGGED);
        let mut conversion = Attr::none(cx, FROM);
        let mut rename_all_serialize = None;
        let mut rename_all_deserialize = None;
        for_each_meta(
            cx,
            attrs,
            |meta| {
                if meta.path == CRATE {
                    let text = string(meta, "#[draft(crate = \"::my_crate::immer\")]")?;
                    let path: syn::Path = syn::parse_str(&text).map_err(|_| {
                        meta.error(format!(
                            "`{text}` is not a path; expected one like \"::my_crate::immer\""
                        ))
                    })?;
                    crate_path.set(&meta.path, path, DRAFT);
                } else if meta.path == LEAF {
                    leaf.set(&meta.path, (), DRAFT);
                } else {
                    let key = meta
                        .path
                        .get_ident()
                        .map_or_else(|| "?".to_owned(), ToString::to_string);
                    let hint = if meta.path == SKIP {
                        "; `skip` goes on a field, not on the type".to_owned()
                    } else {
                        "; expected `leaf` or `crate`".to_owned()
                    };
                    return Err(
                        meta.error(format!("unknown draft attribute `{key}` on a type{hint}"))
                    );
                }
                Ok(())
            },
            |meta| {
                if meta.path == RENAME_ALL {
                    let parsed = names(meta, RENAME_ALL)?;
                    if let Some(rule) = parsed.serialize {
                        rename_all_serialize = Some(rename_rule(meta, &rule)?);
                    }
                    if let Some(rule) = parsed.deserialize {
                        rename_all_deserialize = Some(rename_rule(meta, &rule)?);
                    }
                } else if meta.path == TRANSPARENT {
                    transparent.set(&meta.path, (), SERDE);
                } else if meta.path == TAG {
                    tag.set(&meta.path, string(meta, "#[serde(tag = \"type\")]")?, SERDE);
                } else if meta.path == CONTENT {
                    content.set(
                        &meta.path,
                        string(meta, "#[serde(content = \"data\")]")?,
                        SERDE,
                    );
                } else if meta.path == UNTAGGED {
                    untagged.set(&meta.path, (), SERDE);
                } else if let Some(symbol) = [FROM, TRY_FROM, INTO, REMOTE]
                    .into_iter()
                    .find(|s| meta.path == *s)
                {
                    skip_value(meta)?;
                    conversion.set(&meta.path, symbol, SERDE);
                } else {
                    skip_value(meta)?;
                }
                Ok(())
            },
        );
        Container {
            crate_path: crate_path.get(),
            leaf: leaf.get(),
            rename_all_serialize,
            rename_all_deserialize,
            transparent: transparent.get(),
            tag: tag.get(),
            content: content.get(),
            untagged: untagged.get(),
            conversion: conversion.get(),
        }
    }
}

/// The `#[serde(...)]` keys fields and variants share: `rename`, `alias`, `skip` and its two
/// halves, `with` and its two halves. Returns false for any other key.
fn shared_serde_key(
    meta: &ParseNestedMeta<'_>,
    item_names: &mut Names,
    aliases: &mut Vec<String>,
    skip: &mut Attr<'_, Symbol>,
    with: &mut Attr<'_, Symbol>,
) -> syn::Result<bool> {
    if meta.path == RENAME {
        let parsed = names(meta, RENAME)?;
        item_names.serialize = parsed.serialize.or(item_names.serialize.take());
        item_names.deserialize = parsed.deserialize.or(item_names.deserialize.take());
    } else if meta.path == ALIAS {
        aliases.push(string(meta, "#[serde(alias = \"name\")]")?);
    } else if let Some(symbol) = [SKIP, SKIP_SERIALIZING, SKIP_DESERIALIZING]
        .into_iter()
        .find(|s| meta.path == *s)
    {
        skip.set(&meta.path, symbol, SERDE);
    } else if let Some(symbol) = [WITH, SERIALIZE_WITH, DESERIALIZE_WITH]
        .into_iter()
        .find(|s| meta.path == *s)
    {
        skip_value(meta)?;
        with.set(&meta.path, symbol, SERDE);
    } else {
        return Ok(false);
    }
    Ok(true)
}

impl Field {
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut leaf = Attr::none(cx, LEAF);
        let mut skip = Attr::none(cx, SKIP);
        let mut serde_skip = Attr::none(cx, SKIP);
        let mut default = Attr::none(cx, DEFAULT);
        let mut flatten = Attr::none(cx, FLATTEN);
        let mut with = Attr::none(cx, WITH);
        let mut field_names = Names::default();
        let mut aliases = Vec::new();
        for_each_meta(
            cx,
            attrs,
            |meta| {
                if meta.path == LEAF {
                    leaf.set(&meta.path, (), DRAFT);
                } else if meta.path == SKIP {
                    skip.set(&meta.path, (), DRAFT);
                } else {
                    let key = meta
                        .path
                        .get_ident()
                        .map_or_else(|| "?".to_owned(), ToString::to_string);
                    let hint = if meta.path == CRATE {
                        "; `crate` goes on the type, not on a field"
                    } else {
                        "; expected `leaf` or `skip`"
                    };
                    return Err(meta.error(format!("unknown draft attribute `{key}`{hint}")));
                }
                Ok(())
            },
            |meta| {
                if shared_serde_key(
                    meta,
                    &mut field_names,
                    &mut aliases,
                    &mut serde_skip,
                    &mut with,
                )? {
                    return Ok(());
                }
                if meta.path == DEFAULT {
                    let path = if meta.input.peek(Token![=]) {
                        let text = string(meta, "#[serde(default = \"path::to::function\")]")?;
                        Some(syn::parse_str::<syn::ExprPath>(&text).map_err(|_| {
                            meta.error(format!("`{text}` is not a path to a function"))
                        })?)
                    } else {
                        None
                    };
                    default.set(&meta.path, path, SERDE);
                } else if meta.path == FLATTEN {
                    flatten.set(&meta.path, (), SERDE);
                } else {
                    skip_value(meta)?;
                }
                Ok(())
            },
        );
        Field {
            leaf: leaf.get(),
            skip: skip.get(),
            names: field_names,
            aliases,
            serde_skip: serde_skip.get(),
            default: default.get(),
            flatten: flatten.get(),
            with: with.get(),
        }
    }
}

impl Variant {
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut skip = Attr::none(cx, SKIP);
        let mut with = Attr::none(cx, WITH);
        let mut variant_names = Names::default();
        let mut aliases = Vec::new();
        for_each_meta(
            cx,
            attrs,
            |meta| {
                let key = meta
                    .path
                    .get_ident()
                    .map_or_else(|| "?".to_owned(), ToString::to_string);
                Err(meta.error(format!(
                    "unknown draft attribute `{key}` on a variant; `leaf` and `skip` go on fields, `leaf` and `crate` on the type"
                )))
            },
            |meta| {
                if !shared_serde_key(meta, &mut variant_names, &mut aliases, &mut skip, &mut with)?
                {
                    skip_value(meta)?;
                }
                Ok(())
            },
        );
        Variant {
            names: variant_names,
            aliases,
            skip: skip.get(),
            with: with.get(),
        }
    }
}
