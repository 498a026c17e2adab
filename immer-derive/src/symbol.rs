//! The attribute names this macro reads, in one place (serde's `symbol.rs`).

use std::fmt;

use syn::{Ident, Path};

#[derive(Copy, Clone)]
pub(crate) struct Symbol(pub(crate) &'static str);

pub(crate) const DRAFT: Symbol = Symbol("draft");
pub(crate) const SERDE: Symbol = Symbol("serde");

// #[draft(...)]
pub(crate) const LEAF: Symbol = Symbol("leaf");
pub(crate) const SKIP: Symbol = Symbol("skip");
pub(crate) const CRATE: Symbol = Symbol("crate");

// #[serde(...)] keys that change a value's JSON form.
pub(crate) const RENAME: Symbol = Symbol("rename");
pub(crate) const RENAME_ALL: Symbol = Symbol("rename_all");
pub(crate) const RENAME_ALL_FIELDS: Symbol = Symbol("rename_all_fields");
pub(crate) const NAME: Symbol = Symbol("name");
pub(crate) const ALIAS: Symbol = Symbol("alias");
pub(crate) const SKIP_SERIALIZING: Symbol = Symbol("skip_serializing");
pub(crate) const SKIP_DESERIALIZING: Symbol = Symbol("skip_deserializing");
pub(crate) const SKIP_SERIALIZING_IF: Symbol = Symbol("skip_serializing_if");
pub(crate) const SERIALIZE: Symbol = Symbol("serialize");
pub(crate) const DESERIALIZE: Symbol = Symbol("deserialize");
pub(crate) const DEFAULT: Symbol = Symbol("default");
pub(crate) const FLATTEN: Symbol = Symbol("flatten");
pub(crate) const WITH: Symbol = Symbol("with");
pub(crate) const SERIALIZE_WITH: Symbol = Symbol("serialize_with");
pub(crate) const DESERIALIZE_WITH: Symbol = Symbol("deserialize_with");
pub(crate) const TRANSPARENT: Symbol = Symbol("transparent");
pub(crate) const TAG: Symbol = Symbol("tag");
pub(crate) const CONTENT: Symbol = Symbol("content");
pub(crate) const UNTAGGED: Symbol = Symbol("untagged");
pub(crate) const FROM: Symbol = Symbol("from");
pub(crate) const TRY_FROM: Symbol = Symbol("try_from");
pub(crate) const INTO: Symbol = Symbol("into");
pub(crate) const REMOTE: Symbol = Symbol("remote");

impl PartialEq<Symbol> for Ident {
    fn eq(&self, word: &Symbol) -> bool {
        self == word.0
    }
}

impl PartialEq<Symbol> for &Ident {
    fn eq(&self, word: &Symbol) -> bool {
        *self == word.0
    }
}

impl PartialEq<Symbol> for Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl PartialEq<Symbol> for &Path {
    fn eq(&self, word: &Symbol) -> bool {
        self.is_ident(word.0)
    }
}

impl fmt::Display for Symbol {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str(self.0)
    }
}
