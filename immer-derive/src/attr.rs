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
    LEAF, NAME, REMOTE, RENAME, RENAME_ALL, RENAME_ALL_FIELDS, SERDE, SERIALIZE, SERIALIZE_WITH,
    SKIP, SKIP_DESERIALIZING, SKIP_SERIALIZING, SKIP_SERIALIZING_IF, Symbol, TAG, TRANSPARENT,
    TRY_FROM, UNTAGGED, WITH,
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

/// A `rename_all` (or `rename_all_fields`): the rule for each direction.
#[derive(Default, Clone, Copy)]
pub(crate) struct RenameRules {
    pub(crate) serialize: Option<RenameRule>,
    pub(crate) deserialize: Option<RenameRule>,
}

impl RenameRules {
    /// Each direction's rule, or `other`'s where this one has none (serde's
    /// `RenameAllRules::or`).
    pub(crate) fn or(self, other: RenameRules) -> RenameRules {
        RenameRules {
            serialize: self.serialize.or(other.serialize),
            deserialize: self.deserialize.or(other.deserialize),
        }
    }
}

/// The attributes of the struct or enum itself.
pub(crate) struct Container {
    pub(crate) crate_path: Spanned<syn::Path>,
    pub(crate) leaf: Spanned<()>,
    /// On a struct, renames its fields; on an enum, its variants.
    pub(crate) rename_all: RenameRules,
    /// On an enum, renames the fields of every variant that has no `rename_all` of its own.
    pub(crate) rename_all_fields: RenameRules,
    pub(crate) transparent: Spanned<()>,
    pub(crate) tag: Spanned<String>,
    pub(crate) content: Spanned<String>,
    pub(crate) untagged: Spanned<()>,
    /// `from`, `try_from`, `into` or `remote`: the JSON form is another type's.
    pub(crate) conversion: Spanned<Symbol>,
    /// `into = "Type"`: the type whose JSON form the type's values are written in.
    pub(crate) into: Option<syn::Type>,
    /// `rename = "..."` (or its `serialize` name): the name serde writes in a struct's
    /// `tag`.
    pub(crate) serialize_name: Option<String>,
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
    /// `skip_serializing_if = "..."`: the field may be missing from the JSON when the
    /// predicate holds.
    pub(crate) skip_serializing_if: Spanned<syn::ExprPath>,
}

/// The attributes of an enum variant.
pub(crate) struct Variant {
    pub(crate) names: Names,
    pub(crate) aliases: Vec<String>,
    /// Renames this variant's fields.
    pub(crate) rename_all: RenameRules,
    pub(crate) skip: Spanned<Symbol>,
    pub(crate) with: Spanned<Symbol>,
    /// `#[draft(name = "...")]`: the name of the variant's draft type.
    pub(crate) draft_name: Spanned<syn::Ident>,
    /// `#[serde(untagged)]` on a variant: written as its content alone.
    pub(crate) untagged: Spanned<()>,
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

fn rename_rule(meta: &ParseNestedMeta<'_>, key: Symbol, value: &str) -> syn::Result<RenameRule> {
    RenameRule::from_str(value).ok_or_else(|| {
        meta.error(format!(
            "unknown rename rule `{key} = {value:?}`; expected one of {}",
            RenameRule::names()
        ))
    })
}

/// `rename_all = "rule"` or `rename_all(serialize = "rule", deserialize = "rule")` (and the
/// same for `rename_all_fields`).
fn rename_rules(meta: &ParseNestedMeta<'_>, key: Symbol) -> syn::Result<RenameRules> {
    let parsed = names(meta, key)?;
    Ok(RenameRules {
        serialize: parsed
            .serialize
            .map(|rule| rename_rule(meta, key, &rule))
            .transpose()?,
        deserialize: parsed
            .deserialize
            .map(|rule| rename_rule(meta, key, &rule))
            .transpose()?,
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
        let mut conversions = [FROM, TRY_FROM, INTO, REMOTE].map(|key| Attr::none(cx, key));
        let mut rename_all = Attr::none(cx, RENAME_ALL);
        let mut rename_all_fields = Attr::none(cx, RENAME_ALL_FIELDS);
        let mut into = None;
        let mut serialize_name = None;
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
                    rename_all.set(&meta.path, rename_rules(meta, RENAME_ALL)?, SERDE);
                } else if meta.path == RENAME_ALL_FIELDS {
                    rename_all_fields.set(
                        &meta.path,
                        rename_rules(meta, RENAME_ALL_FIELDS)?,
                        SERDE,
                    );
                } else if meta.path == RENAME {
                    serialize_name = names(meta, RENAME)?.serialize;
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
                } else if let Some(attr) = conversions.iter_mut().find(|a| meta.path == a.name) {
                    if meta.path == INTO {
                        let text = string(meta, "#[serde(into = \"Type\")]")?;
                        into = syn::parse_str::<syn::Type>(&text).ok();
                    } else {
                        skip_value(meta)?;
                    }
                    let name = attr.name;
                    attr.set(&meta.path, name, SERDE);
                } else {
                    skip_value(meta)?;
                }
                Ok(())
            },
        );
        Container {
            crate_path: crate_path.get(),
            leaf: leaf.get(),
            rename_all: rename_all.get().map(|(_, rules)| rules).unwrap_or_default(),
            rename_all_fields: rename_all_fields
                .get()
                .map(|(_, rules)| rules)
                .unwrap_or_default(),
            transparent: transparent.get(),
            tag: tag.get(),
            content: content.get(),
            untagged: untagged.get(),
            conversion: first_of(conversions),
            into,
            serialize_name,
        }
    }
}

/// The first of several keys that were set, each checked for duplicates on its own.
fn first_of<const N: usize>(attrs: [Attr<'_, Symbol>; N]) -> Spanned<Symbol> {
    attrs.into_iter().find_map(Attr::get)
}

/// The `#[serde(...)]` keys fields and variants share, each set at most once.
struct SharedKeys<'c> {
    names: Names,
    aliases: Vec<String>,
    rename: Attr<'c, ()>,
    /// `skip`, `skip_serializing`, `skip_deserializing`.
    skip: [Attr<'c, Symbol>; 3],
    /// `with`, `serialize_with`, `deserialize_with`.
    with: [Attr<'c, Symbol>; 3],
}

impl<'c> SharedKeys<'c> {
    fn new(cx: &'c Ctxt) -> Self {
        SharedKeys {
            names: Names::default(),
            aliases: Vec::new(),
            rename: Attr::none(cx, RENAME),
            skip: [SKIP, SKIP_SERIALIZING, SKIP_DESERIALIZING].map(|key| Attr::none(cx, key)),
            with: [WITH, SERIALIZE_WITH, DESERIALIZE_WITH].map(|key| Attr::none(cx, key)),
        }
    }

    /// Reads `rename`, `alias`, the `skip` keys and the `with` keys. Returns false for any
    /// other key.
    fn parse(&mut self, meta: &ParseNestedMeta<'_>) -> syn::Result<bool> {
        if meta.path == RENAME {
            let parsed = names(meta, RENAME)?;
            self.rename.set(&meta.path, (), SERDE);
            self.names.serialize = parsed.serialize.or(self.names.serialize.take());
            self.names.deserialize = parsed.deserialize.or(self.names.deserialize.take());
        } else if meta.path == ALIAS {
            self.aliases
                .push(string(meta, "#[serde(alias = \"name\")]")?);
        } else if let Some(attr) = self.skip.iter_mut().find(|a| meta.path == a.name) {
            let name = attr.name;
            attr.set(&meta.path, name, SERDE);
        } else if let Some(attr) = self.with.iter_mut().find(|a| meta.path == a.name) {
            skip_value(meta)?;
            let name = attr.name;
            attr.set(&meta.path, name, SERDE);
        } else {
            return Ok(false);
        }
        Ok(true)
    }
}

impl Field {
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut leaf = Attr::none(cx, LEAF);
        let mut skip = Attr::none(cx, SKIP);
        let mut default = Attr::none(cx, DEFAULT);
        let mut flatten = Attr::none(cx, FLATTEN);
        let mut skip_serializing_if = Attr::none(cx, SKIP_SERIALIZING_IF);
        let mut shared = SharedKeys::new(cx);
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
                if shared.parse(meta)? {
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
                } else if meta.path == SKIP_SERIALIZING_IF {
                    let text = string(
                        meta,
                        "#[serde(skip_serializing_if = \"path::to::function\")]",
                    )?;
                    let path = syn::parse_str::<syn::ExprPath>(&text)
                        .map_err(|_| meta.error(format!("`{text}` is not a path to a function")))?;
                    skip_serializing_if.set(&meta.path, path, SERDE);
                } else {
                    skip_value(meta)?;
                }
                Ok(())
            },
        );
        Field {
            leaf: leaf.get(),
            skip: skip.get(),
            names: shared.names,
            aliases: shared.aliases,
            serde_skip: first_of(shared.skip),
            default: default.get(),
            flatten: flatten.get(),
            with: first_of(shared.with),
            skip_serializing_if: skip_serializing_if.get(),
        }
    }
}

impl Variant {
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut shared = SharedKeys::new(cx);
        let mut rename_all = Attr::none(cx, RENAME_ALL);
        let mut draft_name = Attr::none(cx, NAME);
        let mut untagged = Attr::none(cx, UNTAGGED);
        for_each_meta(
            cx,
            attrs,
            |meta| {
                if meta.path == NAME {
                    let text = string(meta, "#[draft(name = \"ClickPayloadDraft\")]")?;
                    let ident: syn::Ident = syn::parse_str(&text).map_err(|_| {
                        meta.error(format!(
                            "`{text}` is not a type name; expected one like \"ClickPayloadDraft\""
                        ))
                    })?;
                    draft_name.set(&meta.path, ident, DRAFT);
                    return Ok(());
                }
                let key = meta
                    .path
                    .get_ident()
                    .map_or_else(|| "?".to_owned(), ToString::to_string);
                Err(meta.error(format!(
                    "unknown draft attribute `{key}` on a variant; expected `name`; `leaf` and `skip` go on fields, `leaf` and `crate` on the type"
                )))
            },
            |meta| {
                if meta.path == RENAME_ALL {
                    rename_all.set(&meta.path, rename_rules(meta, RENAME_ALL)?, SERDE);
                } else if meta.path == UNTAGGED {
                    untagged.set(&meta.path, (), SERDE);
                } else if !shared.parse(meta)? {
                    skip_value(meta)?;
                }
                Ok(())
            },
        );
        Variant {
            names: shared.names,
            aliases: shared.aliases,
            rename_all: rename_all.get().map(|(_, rules)| rules).unwrap_or_default(),
            skip: first_of(shared.skip),
            with: first_of(shared.with),
            draft_name: draft_name.get(),
            untagged: untagged.get(),
        }
    }
}
