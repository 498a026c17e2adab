//! `#[ts(...)]`: `type = "..."`, a TypeScript type said by hand, on the type, a variant or a
//! field; and `crate = "..."` on the type, the path of a crate that re-exports immer (as
//! `#[draft(crate)]`, which is read too). Every serde attribute is read by `attr.rs`, shared with the
//! `Draftable` derive.

use syn::{Attribute, LitStr};

use crate::ctxt::Ctxt;
use crate::symbol::Symbol;

pub(crate) const TS: Symbol = Symbol("ts");
pub(crate) const TYPE: Symbol = Symbol("type");
pub(crate) const CRATE: Symbol = Symbol("crate");

/// A TypeScript type written by hand: `#[ts(type = "...")]`.
#[derive(Default)]
pub(crate) struct TsAttrs {
    pub(crate) ty: Option<String>,
    pub(crate) krate: Option<syn::Path>,
}

/// Where an attribute is written: `crate` goes on the type only.
#[derive(Copy, Clone, PartialEq)]
pub(crate) enum Position {
    Container,
    Member,
}

impl TsAttrs {
    /// Reads every `#[ts(...)]` of `attrs`; mistakes go to `cx`.
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute], position: Position) -> Self {
        let mut ty: Option<String> = None;
        let mut krate: Option<syn::Path> = None;
        for attr in attrs.iter().filter(|attr| attr.path() == TS) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path == CRATE && position == Position::Container {
                    let value = meta.value()?;
                    let path = value
                        .parse::<LitStr>()
                        .ok()
                        .and_then(|lit| lit.parse::<syn::Path>().ok())
                        .filter(|path| {
                            path.leading_colon.is_some()
                                || path.segments.first().is_some_and(|s| s.ident == "crate")
                        });
                    let Some(path) = path else {
                        return Err(meta.error(
                            "`#[ts(crate = \"...\")]` takes an absolute path in a string, such as \"::my_crate::immer\" or \"crate::immer\"",
                        ));
                    };
                    if krate.is_some() {
                        return Err(meta.error("duplicate ts attribute `crate`"));
                    }
                    krate = Some(path);
                    return Ok(());
                }
                if meta.path != TYPE {
                    let key = meta
                        .path
                        .get_ident()
                        .map_or_else(|| "?".to_owned(), ToString::to_string);
                    let expected = match position {
                        Position::Container => "`type` or `crate`",
                        Position::Member => "`type` (`crate` goes on the type)",
                    };
                    return Err(meta.error(format!(
                        "unknown ts attribute `{key}`; expected {expected}, as in `#[ts(type = \"string\")]`"
                    )));
                }
                let value = meta.value()?;
                let Ok(lit) = value.parse::<LitStr>() else {
                    return Err(meta.error(
                        "expected a string literal holding a TypeScript type, as in `#[ts(type = \"string\")]`",
                    ));
                };
                if lit.value().trim().is_empty() {
                    return Err(syn::Error::new(
                        lit.span(),
                        "the TypeScript type is empty; write one, as in `#[ts(type = \"string\")]`",
                    ));
                }
                if ty.is_some() {
                    return Err(meta.error("duplicate ts attribute `type`"));
                }
                ty = Some(lit.value());
                Ok(())
            });
            if let Err(error) = result {
                cx.syn_error(error);
            }
        }
        TsAttrs { ty, krate }
    }
}
