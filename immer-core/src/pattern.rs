//! Patterns of paths (`/todos/*/done`): which paths a rule names, and which patches touch
//! what it names.

use std::fmt;
use std::str::FromStr;

use crate::patch::{Patch, PatchOp};
use crate::path::{Path, PathSegment, escape_segment_into, parse_index};

/// A pattern of paths, written as a JSON Pointer whose segments may be `*` (any one segment)
/// or, last, `**` (any number of segments, none included).
///
/// A literal segment matches a key with that text and a list index written in decimal. `~0`
/// and `~1` stand for `~` and `/` as in RFC 6901, and `~2` for `*`, so that a key `*` or `**`
/// can be named (`/~2`, `/~2~2`); a pattern's text writes them so, and parses back to the
/// same pattern. The empty pattern `""` names the whole state, as the empty JSON Pointer does.
///
/// Patterns are parsed from text, or built through the types with a typed path
/// (`immer::path::<Board>().todos().any().done()`), which converts into a pattern.
///
/// # Examples
///
/// ```
/// use immer_core::{Path, PathPattern};
///
/// let done: PathPattern = "/todos/*/done".parse().unwrap();
/// assert!(done.matches(&Path::from_pointer("/todos/3/done").unwrap()));
/// assert!(!done.matches(&Path::from_pointer("/todos/3/text").unwrap()));
/// assert!(!done.matches(&Path::from_pointer("/todos/3").unwrap()));
///
/// let everything: PathPattern = "/**".parse().unwrap();
/// assert!(everything.matches(&Path::from_pointer("/title").unwrap()));
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct PathPattern {
    segments: Vec<Segment>,
    text: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Segment {
    Literal(String),
    Any,
    Rest,
}

/// Why a path pattern could not be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PatternError {
    pattern: String,
    message: &'static str,
}

impl fmt::Display for PatternError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "bad path pattern {:?}: {}", self.pattern, self.message)
    }
}

impl std::error::Error for PatternError {}

impl FromStr for PathPattern {
    type Err = PatternError;

    fn from_str(text: &str) -> Result<Self, PatternError> {
        let error = |message| PatternError {
            pattern: text.to_owned(),
            message,
        };
        if text.is_empty() {
            // The whole state, as a JSON Pointer names it.
            return Ok(PathPattern::root());
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(error("it must start with '/'"));
        };
        let parts: Vec<&str> = rest.split('/').collect();
        let mut segments = Vec::with_capacity(parts.len());
        for (n, part) in parts.iter().enumerate() {
            segments.push(match *part {
                "*" => Segment::Any,
                "**" if n + 1 == parts.len() => Segment::Rest,
                "**" => return Err(error("'**' may only be the last segment")),
                literal => Segment::Literal(unescape_literal(literal).ok_or_else(|| {
                    error("'~' must be followed by '0' or '1' (RFC 6901), or '2' (a '*')")
                })?),
            });
        }
        Ok(PathPattern {
            segments,
            text: text.to_owned(),
        })
    }
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// A literal segment's key: RFC 6901's `~0` and `~1`, and `~2` for `*`.
fn unescape_literal(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        out.push(match c {
            '~' => match chars.next()? {
                '0' => '~',
                '1' => '/',
                '2' => '*',
                _ => return None,
            },
            c => c,
        });
    }
    Some(out)
}

/// Whether a literal segment of a pattern matches a segment of a path: the same key, or a
/// list index written in decimal.
fn literal_matches(literal: &str, segment: &PathSegment) -> bool {
    match segment {
        PathSegment::Key(key) => key == literal,
        PathSegment::Index(index) => index.to_string() == *literal,
    }
}

impl PathPattern {
    /// The pattern of the whole state: `""`, which every path is at or inside of.
    ///
    /// Time: O(1).
    #[must_use]
    pub const fn root() -> Self {
        PathPattern {
            segments: Vec::new(),
            text: String::new(),
        }
    }

    /// The pattern as text, as it parses back (`"/todos/*/done"`).
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Appends a literal segment, escaped as RFC 6901 writes it (a typed path's field, key or
    /// index).
    pub(crate) fn push_literal(&mut self, literal: String) {
        self.text.push('/');
        if literal == "*" || literal == "**" {
            // Written plain, they would read back as wildcards.
            self.text.push_str(&"~2".repeat(literal.len()));
        } else {
            escape_segment_into(&mut self.text, &literal);
        }
        self.segments.push(Segment::Literal(literal));
    }

    /// Appends `*`.
    pub(crate) fn push_any(&mut self) {
        self.text.push_str("/*");
        self.segments.push(Segment::Any);
    }

    /// Appends `**`, unless the pattern already ends with it.
    pub(crate) fn push_rest(&mut self) {
        if self.segments.last() != Some(&Segment::Rest) {
            self.text.push_str("/**");
            self.segments.push(Segment::Rest);
        }
    }

    /// Whether `path` matches.
    ///
    /// Time: O(length of the pattern).
    #[must_use]
    pub fn matches(&self, path: &Path) -> bool {
        self.matches_by(path, literal_matches)
    }

    /// Whether `path` matches once its list positions are moved, wherever they are moved
    /// to: every position (and every key written as digits, which may be one) matches any
    /// `*` or any literal that is a position. What no move can make match is refused before
    /// anything is moved.
    #[must_use]
    pub fn matches_after_any_move(&self, path: &Path) -> bool {
        self.matches_by(path, |literal, segment| {
            if segment.as_index().is_some() {
                // A position may be moved to any position a literal names.
                PathSegment::Key(literal.to_owned()).as_index().is_some()
            } else {
                matches!(segment, PathSegment::Key(key) if key == literal)
            }
        })
    }

    /// Whether `path` matches, a literal segment of the pattern matching a segment of the
    /// path when `literal` says so.
    fn matches_by(&self, path: &Path, literal: impl Fn(&str, &PathSegment) -> bool) -> bool {
        let path = path.segments();
        for (n, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Rest => return true,
                Segment::Any => {
                    if n >= path.len() {
                        return false;
                    }
                }
                Segment::Literal(text) => match path.get(n) {
                    Some(segment) if literal(text, segment) => {}
                    _ => return false,
                },
            }
        }
        path.len() == self.segments.len()
    }

    /// Whether `patch` touches what the pattern names: whether a reader of the paths it
    /// matches may see something else after the patch. The rules, shared word for word with
    /// the JavaScript client (`tests/data/touches.json` holds cases of both):
    ///
    /// A patch (its op, its path A, and for `move` and `copy` its `from` F) touches the
    /// pattern P when:
    ///
    /// 1. A and P agree on their common length, segment by segment (a literal matches the
    ///    same key, or a list index written in decimal; `*` matches any one segment; `**`
    ///    matches everything from there on): the write is at, inside, or above something P
    ///    names; or
    /// 2. the op is `add` or `remove` and A's last segment is a list index i (a
    ///    [`PathSegment::Index`], or `-` for an append, counted as the end): the elements
    ///    after it shift, so P touches too when its segment at that depth is a literal index
    ///    j >= i (for `-`: any literal index) and the segments before agree as in 1: what P
    ///    names at those positions is now another element; or
    /// 3. for `move`, F taken as a `remove` and A as an `add`, each by 1 and 2; for `copy`,
    ///    A as an `add`.
    ///
    /// `replace` never shifts. A `test` writes nothing, but is read by rule 1 like any other
    /// op. A key made of digits in an object (`PathSegment::Key("2")`) is not a list index:
    /// adding or removing it shifts nothing.
    ///
    /// Time: O(length of the pattern), twice for a `move`.
    ///
    /// # Examples
    ///
    /// ```
    /// use immer_core::{Patch, Path, PathPattern};
    /// use serde_json::json;
    ///
    /// let at = |pointer| Path::from_pointer(pointer).unwrap();
    /// let done: PathPattern = "/todos/*/done".parse().unwrap();
    ///
    /// // Rule 1: at, inside, or above what the pattern names.
    /// assert!(done.touches(&Patch::replace(at("/todos/3/done"), json!(true))));
    /// assert!(done.touches(&Patch::replace(at("/todos"), json!([]))));
    /// assert!(done.touches(&Patch::replace(at(""), json!({}))));
    /// assert!(!done.touches(&Patch::replace(at("/todos/3/text"), json!("milk"))));
    /// assert!(!done.touches(&Patch::replace(at("/title"), json!("Groceries"))));
    ///
    /// // Rule 2: an insertion or a removal shifts the elements after it.
    /// let third: PathPattern = "/todos/3/done".parse().unwrap();
    /// let mut todos = Path::from_pointer("/todos").unwrap();
    /// todos.push(1);
    /// assert!(third.touches(&Patch::remove(todos.clone())));
    /// assert!(!third.touches(&Patch::replace(todos, json!({}))));
    /// let mut later = Path::from_pointer("/todos").unwrap();
    /// later.push(5);
    /// assert!(!third.touches(&Patch::remove(later)));
    /// assert!(third.touches(&Patch::add(at("/todos/-"), json!({}))));
    /// ```
    #[must_use]
    pub fn touches(&self, patch: &Patch) -> bool {
        match patch.op {
            PatchOp::Add | PatchOp::Remove | PatchOp::Copy => self.touches_at(&patch.path, true),
            PatchOp::Replace | PatchOp::Test => self.touches_at(&patch.path, false),
            PatchOp::Move => {
                patch
                    .from
                    .as_ref()
                    .is_some_and(|from| self.touches_at(from, true))
                    || self.touches_at(&patch.path, true)
            }
        }
    }

    /// Rule 1 for a write at `path`, and rule 2 when the write `shifts` a list.
    fn touches_at(&self, path: &Path, shifts: bool) -> bool {
        self.agrees(path.segments()) || (shifts && self.shifted(path.segments()))
    }

    /// Whether `path` and the pattern agree on their common length (rule 1).
    fn agrees(&self, path: &[PathSegment]) -> bool {
        for (pattern, segment) in self.segments.iter().zip(path) {
            match pattern {
                Segment::Rest => return true,
                Segment::Any => {}
                Segment::Literal(literal) => {
                    if !literal_matches(literal, segment) {
                        return false;
                    }
                }
            }
        }
        true
    }

    /// Whether an insertion or a removal at `path` shifts an element the pattern names by a
    /// literal index (rule 2).
    fn shifted(&self, path: &[PathSegment]) -> bool {
        let Some((last, before)) = path.split_last() else {
            return false;
        };
        // The first position shifted: `None` for an append, which shifts no element but
        // makes any literal index name something else.
        let first = match last {
            PathSegment::Index(i) => Some(*i),
            PathSegment::Key(key) if key == "-" => None,
            PathSegment::Key(_) => return false,
        };
        let Some(Segment::Literal(literal)) = self.segments.get(before.len()) else {
            return false;
        };
        let Some(j) = parse_index(literal) else {
            return false;
        };
        first.is_none_or(|i| j >= i) && self.agrees(before)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn built_patterns_print_as_they_parse() {
        let mut pattern = PathPattern::root();
        pattern.push_literal("a/b".to_owned());
        pattern.push_literal("~x".to_owned());
        pattern.push_any();
        pattern.push_rest();
        pattern.push_rest();
        assert_eq!(pattern.as_str(), "/a~1b/~0x/*/**");
        assert_eq!(pattern, pattern.as_str().parse().unwrap());
    }

    #[test]
    fn keys_named_like_wildcards_print_as_they_parse() {
        let mut pattern = PathPattern::root();
        for key in ["*", "**", "a*", "~2"] {
            pattern.push_literal(key.to_owned());
        }
        assert_eq!(pattern.as_str(), "/~2/~2~2/a*/~02");
        assert_eq!(pattern, pattern.as_str().parse().unwrap());
        let path = Path::from(vec![
            PathSegment::Key("*".into()),
            PathSegment::Key("**".into()),
            PathSegment::Key("a*".into()),
            PathSegment::Key("~2".into()),
        ]);
        assert!(pattern.matches(&path));
        let other = Path::from(vec![
            PathSegment::Key("x".into()),
            PathSegment::Key("**".into()),
            PathSegment::Key("a*".into()),
            PathSegment::Key("~2".into()),
        ]);
        assert!(!pattern.matches(&other), "a literal `*` is not a wildcard");
        assert!("/a~3".parse::<PathPattern>().is_err());
    }

    #[test]
    fn bad_patterns_are_refused_with_a_reason() {
        let error = "todos".parse::<PathPattern>().unwrap_err();
        assert_eq!(
            error.to_string(),
            "bad path pattern \"todos\": it must start with '/'"
        );
        assert!("/**/done".parse::<PathPattern>().is_err());
        assert!("/a~3".parse::<PathPattern>().is_err());
    }
}
