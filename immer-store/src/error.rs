//! What can go wrong with a store, each naming what it is about.

use std::fmt;

/// The rule a document name follows (see [`Error::InvalidName`]): the same for every store
/// and transport of these documents ([`immer::sync::DOCUMENT_NAME_RULE`]).
pub const NAME_RULE: &str = immer::sync::DOCUMENT_NAME_RULE;

/// An error of a [`Store`](crate::Store) or a [`Document`](crate::Document).
#[derive(Clone, Debug)]
#[non_exhaustive]
pub enum Error {
    /// The database could not be opened, read or written (a truncated or damaged file, a
    /// full disk, a file another process holds).
    Database {
        /// What was being done.
        doing: String,
        /// The database's error.
        message: String,
    },
    /// A document name that breaks the rule ([`NAME_RULE`]).
    InvalidName {
        /// The name, cut to 64 characters.
        name: String,
        /// The rule.
        rule: &'static str,
    },
    /// A document of this name exists already.
    Exists(String),
    /// No document of this name.
    NotFound(String),
    /// The document is open already (a [`Document`](crate::Document) of this store holds it):
    /// one writer per document, or two would number their changes alike.
    InUse(String),
    /// A stored snapshot or change does not read back as the document's type, or a stored
    /// change does not apply: the document cannot be opened. Other documents are not
    /// affected.
    Corrupt {
        /// The document.
        document: String,
        /// The version of the snapshot or change.
        version: u64,
        /// What is wrong.
        message: String,
    },
    /// A state that has no JSON form.
    Encode(String),
}

impl Error {
    pub(crate) fn database(doing: impl Into<String>, error: impl fmt::Display) -> Self {
        Error::Database {
            doing: doing.into(),
            message: error.to_string(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Database { doing, message } => write!(f, "{doing}: {message}"),
            Error::InvalidName { name, rule } => {
                write!(f, "the document name {name:?} is refused: a name is {rule}")
            }
            Error::Exists(name) => write!(f, "the document {name:?} exists already"),
            Error::NotFound(name) => write!(f, "no document {name:?}"),
            Error::InUse(name) => write!(f, "the document {name:?} is open already"),
            Error::Corrupt {
                document,
                version,
                message,
            } => write!(
                f,
                "the document {document:?} cannot be read at version {version}: {message}"
            ),
            Error::Encode(message) => write!(f, "the state has no JSON form: {message}"),
        }
    }
}

impl std::error::Error for Error {}

/// Checks `name` against [`NAME_RULE`].
///
/// # Errors
///
/// [`Error::InvalidName`] with the rule.
pub fn check_name(name: &str) -> Result<(), Error> {
    if immer::sync::is_document_name(name) {
        Ok(())
    } else {
        Err(Error::InvalidName {
            name: name.chars().take(64).collect(),
            rule: NAME_RULE,
        })
    }
}
