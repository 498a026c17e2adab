//! Which paths a client may write: patterns of paths, allowed by role.

pub use immer::{PathPattern, PatternError};

use std::fmt;
use std::marker::PhantomData;

use immer::{Path, PatternOf};

/// Which paths each role may write in a document of type `T`: a list of rules, each a role
/// and a [`PathPattern`]. A change is let through when every path it writes (and every path it moves or copies from)
/// matches a pattern allowed to the author's role; a role with no rule writes nothing.
///
/// Rules are checked on the change as it would be committed, after its indices have moved
/// through what was committed since its author's version.
///
/// # Examples
///
/// Rules name paths through the state's type, so a renamed field breaks the build where a
/// rule names it, and a path through another type does not compile; a pattern parsed from
/// text works too.
///
/// ```
/// use immer::{Draftable, Path, PathPattern};
/// use immer_web::Policy;
/// use serde::{Deserialize, Serialize};
///
/// #[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
/// struct Board { title: String, todos: Vec<Todo> }
///
/// #[derive(Draftable, Clone, PartialEq, Serialize, Deserialize)]
/// struct Todo { text: String, done: bool }
///
/// #[derive(Clone, Debug, PartialEq)]
/// enum Role { Editor, Checker, Viewer, Titler }
///
/// let policy = Policy::new()
///     .allow(Role::Editor, immer::path::<Board>().everything())
///     .allow(Role::Checker, immer::path::<Board>().todos().any().done())
///     .allow(Role::Titler, "/title".parse::<PathPattern>().unwrap());
/// let done = Path::from_pointer("/todos/0/done").unwrap();
/// let title = Path::from_pointer("/title").unwrap();
/// assert!(policy.allows(&Role::Editor, &title));
/// assert!(policy.allows(&Role::Checker, &done));
/// assert!(!policy.allows(&Role::Checker, &title));
/// assert!(policy.allows(&Role::Titler, &title));
/// assert!(!policy.allows(&Role::Viewer, &done));
/// ```
///
/// A path through another type than the document's does not compile:
///
/// ```compile_fail
/// # use immer::Draftable;
/// # use immer_web::Policy;
/// # #[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
/// # struct Board { todos: Vec<Todo> }
/// # #[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
/// # struct Todo { done: bool }
/// let policy: Policy<&str, Board> = Policy::new().allow("checker", immer::path::<Todo>().done());
/// ```
pub struct Policy<R, T> {
    rules: Vec<(R, PathPattern)>,
    _document: PhantomData<fn() -> T>,
}

impl<R, T> Default for Policy<R, T> {
    fn default() -> Self {
        Policy {
            rules: Vec::new(),
            _document: PhantomData,
        }
    }
}

impl<R: Clone, T> Clone for Policy<R, T> {
    fn clone(&self) -> Self {
        Policy {
            rules: self.rules.clone(),
            _document: PhantomData,
        }
    }
}

impl<R: fmt::Debug, T> fmt::Debug for Policy<R, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Policy")
            .field("rules", &self.rules)
            .finish()
    }
}

impl<R: PartialEq, T> Policy<R, T> {
    /// A policy that allows nothing.
    #[must_use]
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows `role` to write the paths `pattern` matches: a typed path through `T`
    /// (`immer::path::<Board>().todos().any().done()`), which the compiler checks against
    /// the document's type, or a [`PathPattern`] parsed from text.
    #[must_use]
    pub fn allow(mut self, role: R, pattern: impl PatternOf<T>) -> Self {
        self.rules.push((role, pattern.into_pattern()));
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
