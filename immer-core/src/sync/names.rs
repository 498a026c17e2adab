//! The one rule for a document's name, whatever stores it: a name is a key in a database
//! table, a token of a NATS subject, a segment of a URL, and a file name, all at once.

/// The rule a document's name follows, in words (for error messages).
pub const DOCUMENT_NAME_RULE: &str =
    "1 to 200 ASCII letters, digits, '-' and '_' (no '/', '.', NUL or other characters)";

/// Whether `name` follows [`DOCUMENT_NAME_RULE`]: 1 to 200 ASCII letters, digits, `-` and
/// `_`. Every transport and store of this crate's documents checks it, so a name that one
/// accepts, all accept.
///
/// # Examples
///
/// ```
/// use immer_core::sync::is_document_name;
///
/// assert!(is_document_name("team-a_2"));
/// for bad in ["", "a/b", "..", "a.b", "a\0b", "ä", &"x".repeat(201)] {
///     assert!(!is_document_name(bad));
/// }
/// ```
#[must_use]
pub fn is_document_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 200
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}
