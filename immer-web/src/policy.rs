//! Which paths a client may write: patterns of paths, allowed by role.

use std::fmt;
use std::str::FromStr;

use immer::{Path, PathSegment};

/// A pattern of paths, written as a JSON Pointer whose segments may be `*` (any one segment)
/// or, last, `**` (any number of segments, none included).
///
/// A literal segment matches a key with that text and a list index written in decimal. `~0`
/// and `~1` stand for `~` and `/` as in RFC 6901.
///
/// # Examples
///
/// ```
/// use immer::Path;
/// use immer_web::PathPattern;
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
            return Ok(PathPattern {
                segments: Vec::new(),
                text: String::new(),
            });
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
                literal => Segment::Literal(
                    unescape(literal)
                        .ok_or_else(|| error("'~' must be followed by '0' or '1' (RFC 6901)"))?,
                ),
            });
        }
        Ok(PathPattern {
            segments,
            text: text.to_owned(),
        })
    }
}

fn unescape(segment: &str) -> Option<String> {
    let mut out = String::with_capacity(segment.len());
    let mut chars = segment.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next()? {
                '0' => out.push('~'),
                '1' => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

impl fmt::Display for PathPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl PathPattern {
    /// Whether `path` matches.
    #[must_use]
    pub fn matches(&self, path: &Path) -> bool {
        self.matches_by(path, |literal, segment| match segment {
            PathSegment::Key(key) => key == literal,
            PathSegment::Index(index) => index.to_string() == *literal,
        })
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
}

/// Which paths each role may write: a list of rules, each a role and a [`PathPattern`]. A
/// change is let through when every path it writes (and every path it moves or copies from)
/// matches a pattern allowed to the author's role; a role with no rule writes nothing.
///
/// Rules are checked on the change as it would be committed, after its indices have moved
/// through what was committed since its author's version.
///
/// # Examples
///
/// ```
/// use immer::Path;
/// use immer_web::Policy;
///
/// #[derive(Clone, Debug, PartialEq)]
/// enum Role { Editor, Checker, Viewer }
///
/// let policy = Policy::new()
///     .allow(Role::Editor, "/**".parse().unwrap())
///     .allow(Role::Checker, "/todos/*/done".parse().unwrap());
/// let done = Path::from_pointer("/todos/0/done").unwrap();
/// let title = Path::from_pointer("/title").unwrap();
/// assert!(policy.allows(&Role::Editor, &title));
/// assert!(policy.allows(&Role::Checker, &done));
/// assert!(!policy.allows(&Role::Checker, &title));
/// assert!(!policy.allows(&Role::Viewer, &done));
/// ```
#[derive(Clone, Debug)]
pub struct Policy<R> {
    rules: Vec<(R, PathPattern)>,
}

impl<R> Default for Policy<R> {
    fn default() -> Self {
        Policy { rules: Vec::new() }
    }
}

impl<R: PartialEq> Policy<R> {
    /// A policy that allows nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows `role` to write the paths `pattern` matches.
    #[must_use]
    pub fn allow(mut self, role: R, pattern: PathPattern) -> Self {
        self.rules.push((role, pattern));
        self
    }

    /// Whether `role` may write `path`.
    #[must_use]
    pub fn allows(&self, role: &R, path: &Path) -> bool {
        self.rules
            .iter()
            .any(|(r, pattern)| r == role && pattern.matches(path))
    }

    /// Whether `role` may write anything at all.
    #[must_use]
    pub fn writes_anything(&self, role: &R) -> bool {
        self.rules.iter().any(|(r, _)| r == role)
    }

    /// The first path of `patches` that `role` may not write wherever its list positions
    /// are moved to (see [`PathPattern::matches_after_any_move`]): a change with one is
    /// refused before it is moved.
    #[must_use]
    pub fn first_refused_after_any_move<'p>(
        &self,
        role: &R,
        patches: &'p [immer::Patch],
    ) -> Option<&'p Path> {
        patches
            .iter()
            .flat_map(|p| std::iter::once(&p.path).chain(p.from.as_ref()))
            .find(|path| {
                !self
                    .rules
                    .iter()
                    .any(|(r, pattern)| r == role && pattern.matches_after_any_move(path))
            })
    }

    /// The first path of `patches` that `role` may not write (`from` included).
    #[must_use]
    pub fn first_refused<'p>(&self, role: &R, patches: &'p [immer::Patch]) -> Option<&'p Path> {
        patches
            .iter()
            .flat_map(|p| std::iter::once(&p.path).chain(p.from.as_ref()))
            .find(|path| !self.allows(role, path))
    }
}
