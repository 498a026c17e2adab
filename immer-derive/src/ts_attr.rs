//! `#[ts(...)]`: the one key `type = "..."`, a TypeScript type said by hand, on the type, a
//! variant or a field. Every serde attribute is read by `attr.rs`, shared with the
//! `Draftable` derive.

use syn::{Attribute, LitStr};

use crate::ctxt::Ctxt;
use crate::symbol::Symbol;

pub(crate) const TS: Symbol = Symbol("ts");
pub(crate) const TYPE: Symbol = Symbol("type");

/// A TypeScript type written by hand: `#[ts(type = "...")]`.
#[derive(Default)]
pub(crate) struct TsAttrs {
    pub(crate) ty: Option<String>,
}

impl TsAttrs {
    /// Reads every `#[ts(...)]` of `attrs`; mistakes go to `cx`.
    pub(crate) fn from_ast(cx: &Ctxt, attrs: &[Attribute]) -> Self {
        let mut ty: Option<String> = None;
        for attr in attrs.iter().filter(|attr| attr.path() == TS) {
            let result = attr.parse_nested_meta(|meta| {
                if meta.path != TYPE {
                    let key = meta
                        .path
                        .get_ident()
                        .map_or_else(|| "?".to_owned(), ToString::to_string);
                    return Err(meta.error(format!(
                        "unknown ts attribute `{key}`; expected `type`, as in `#[ts(type = \"string\")]`"
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
        TsAttrs { ty }
    }
}
