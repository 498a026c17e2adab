//! Typed paths: patterns of paths named through the types, which the compiler checks.
//!
//! [`path`] starts at a state's type; each step is a method of the type it is at: a struct's
//! fields by their accessor names, an enum's variants, `any()` and `at(i)` of a list, `any()`
//! and `key(k)` of a map. The segments are the names serde writes, so the pattern a typed
//! path converts into ([`PathPattern`]) names exactly what the patches of that type name
//! (the `immer` crate's README shows one on a derived board).
//!
//! A misspelled field, a step of the wrong type (`any()` on a struct) or a private field out
//! of its module is a compile error, so renaming a field breaks the build wherever a rule
//! names it.

use std::borrow::Borrow;
use std::fmt;
use std::marker::PhantomData;

use serde::Serialize;

use crate::collections::map::key_segment;
use crate::draftable::Draftable;
use crate::pattern::PathPattern;

/// A node of a typed path: the pattern so far, and the steps its type allows.
///
/// Every node converts into a [`PathPattern`] (`From`), and has [`pattern`](Self::pattern)
/// (what it names) and [`everything`](Self::everything) (it and everything inside it).
pub trait TypedPath: Sized + Clone + Into<PathPattern> {
    /// The type of the state the path starts at.
    type Root;

    /// The pattern this node names.
    ///
    /// Time: O(length of the path); copies the pattern.
    #[must_use]
    fn pattern(&self) -> PathPattern;

    /// The pattern of this node and everything inside it (`**` appended).
    #[must_use]
    fn everything(self) -> PathPattern;

    /// The node at `pattern`, as generated code builds it.
    #[doc(hidden)]
    fn __at(pattern: PathPattern) -> Self;
}

/// The typed path of the whole state of type `T`, the first step of every typed path.
///
/// `T` comes first so a path reads from its root: `immer_core::path::<Board>().todos().any()`.
///
/// # Examples
///
/// ```
/// let root = immer_core::path::<Vec<String>>();
/// assert_eq!(immer_core::TypedPath::pattern(&root).to_string(), "");
/// assert_eq!(root.at(3).pattern().to_string(), "/3");
/// ```
#[must_use]
pub fn path<T: Draftable>() -> T::Path<T> {
    TypedPath::__at(PathPattern::root())
}

/// A typed path written as a path: `path!(Board: todos[*].done)` is
/// `path::<Board>().todos().any().done()`.
///
/// After the root type and a `:`, each step is `.field` (a field or a variant, by its method;
/// the first without its `.`),
/// `[*]` (any element), `[index]` (the element at an index) or, last, `.**` (everything
/// inside). Map keys are named with the builder's `key(k)`. Every step is the method call it
/// stands for, so a misspelled field is the same compile error.
///
/// # Examples
///
/// ```
/// use immer_core::path;
///
/// type Grid = Vec<Vec<u32>>;
/// assert_eq!(path!(Grid: [*][2]).pattern().to_string(), "/*/2");
/// assert_eq!(path!(Grid: [1].**).to_string(), "/1/**");
/// assert_eq!(path!(Grid: [*]).pattern(), path::<Grid>().any().pattern());
/// ```
#[macro_export]
macro_rules! path {
    ($root:ty) => {
        $crate::path::<$root>()
    };
    ($root:ty : $first:ident $($steps:tt)*) => {
        $crate::__path_steps!($crate::path::<$root>(); . $first $($steps)*)
    };
    ($root:ty : $($steps:tt)+) => {
        $crate::__path_steps!($crate::path::<$root>(); $($steps)+)
    };
}

/// The steps of [`path!`], one at a time.
#[doc(hidden)]
#[macro_export]
macro_rules! __path_steps {
    ($path:expr;) => {
        $path
    };
    ($path:expr; . * *) => {
        $path.everything()
    };
    ($path:expr; . $step:ident $($rest:tt)*) => {
        $crate::__path_steps!($path.$step(); $($rest)*)
    };
    ($path:expr; [*] $($rest:tt)*) => {
        $crate::__path_steps!($path.any(); $($rest)*)
    };
    ($path:expr; [$index:expr] $($rest:tt)*) => {
        $crate::__path_steps!($path.at($index); $($rest)*)
    };
}

/// A pattern of paths into a state of type `R`: a typed path whose root is `R`, or a
/// [`PathPattern`] parsed from text, which nothing checks against `R`.
pub trait PatternOf<R> {
    /// The pattern.
    fn into_pattern(self) -> PathPattern;
}

impl<R> PatternOf<R> for PathPattern {
    fn into_pattern(self) -> PathPattern {
        self
    }
}

impl<P: TypedPath> PatternOf<P::Root> for P {
    fn into_pattern(self) -> PathPattern {
        self.into()
    }
}

/// The items every node type of the runtime has: its struct, `pattern`, `everything`,
/// `Clone`, `Debug`, `Display`, the [`TypedPath`] impl and the conversion into a pattern.
macro_rules! node {
    ($(#[$doc:meta])* $name:ident [$($param:ident),*]) => {
        $(#[$doc])*
        #[must_use = "a typed path names nothing until it is used as a pattern"]
        pub struct $name<$($param,)* R> {
            pattern: PathPattern,
            marker: PhantomData<fn() -> ($($param,)* R,)>,
        }

        impl<$($param,)* R> $name<$($param,)* R> {
            /// The pattern this node names.
            ///
            /// Time: O(length of the path); copies the pattern.
            #[must_use]
            pub fn pattern(&self) -> PathPattern {
                self.pattern.clone()
            }

            /// The pattern of this node and everything inside it (`**` appended).
            #[must_use]
            pub fn everything(mut self) -> PathPattern {
                self.pattern.push_rest();
                self.pattern
            }

            #[allow(dead_code, reason = "not every node has children")]
            fn step<N: TypedPath>(mut self, segment: Step) -> N {
                segment.push(&mut self.pattern);
                N::__at(self.pattern)
            }
        }

        impl<$($param,)* R> TypedPath for $name<$($param,)* R> {
            type Root = R;
            fn pattern(&self) -> PathPattern {
                self.pattern.clone()
            }
            fn everything(self) -> PathPattern {
                $name::everything(self)
            }
            fn __at(pattern: PathPattern) -> Self {
                $name {
                    pattern,
                    marker: PhantomData,
                }
            }
        }

        impl<$($param,)* R> Clone for $name<$($param,)* R> {
            fn clone(&self) -> Self {
                $name {
                    pattern: self.pattern.clone(),
                    marker: PhantomData,
                }
            }
        }

        impl<$($param,)* R> fmt::Debug for $name<$($param,)* R> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.debug_tuple(stringify!($name)).field(&self.pattern.as_str()).finish()
            }
        }

        impl<$($param,)* R> fmt::Display for $name<$($param,)* R> {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.pattern, f)
            }
        }

        impl<$($param,)* R> From<$name<$($param,)* R>> for PathPattern {
            fn from(node: $name<$($param,)* R>) -> PathPattern {
                node.pattern
            }
        }
    };
}

/// One step down a typed path.
#[doc(hidden)]
pub enum Step {
    /// A field, a map key or a variant by name; a position written in decimal.
    Literal(String),
    /// `*`.
    Any,
    /// No segment of its own (a newtype, `flatten`, an untagged variant).
    Through,
}

impl Step {
    fn push(self, pattern: &mut PathPattern) {
        match self {
            Step::Literal(literal) => pattern.push_literal(literal),
            Step::Any => pattern.push_any(),
            Step::Through => {}
        }
    }
}

/// The node after `step` from `pattern`, for generated code.
#[doc(hidden)]
pub fn step<N: TypedPath>(mut pattern: PathPattern, step: Step) -> N {
    step.push(&mut pattern);
    N::__at(pattern)
}

/// `pattern` and everything inside it, for generated code.
#[doc(hidden)]
pub fn everything(mut pattern: PathPattern) -> PathPattern {
    pattern.push_rest();
    pattern
}

node! {
    /// A typed path at a value with no paths below it (a number, a string, a leaf).
    LeafPath []
}

node! {
    /// A typed path at a list of `T` (`Vec`, `VecDeque`, `imbl::Vector`, an array, a
    /// `SmallVec` or an `ArrayVec`): [`any`](Self::any) element or the one [`at`](Self::at)
    /// an index.
    ListPath [T]
}

impl<T: Draftable, R> ListPath<T, R> {
    /// Any element: `*`.
    ///
    /// # Examples
    ///
    /// ```
    /// let names = immer_core::path::<Vec<String>>().any();
    /// assert_eq!(names.pattern().to_string(), "/*");
    /// ```
    pub fn any(self) -> T::Path<R> {
        self.step(Step::Any)
    }

    /// The element at `index`, which an insertion or a removal before it shifts (see
    /// [`PathPattern::touches`]).
    pub fn at(self, index: usize) -> T::Path<R> {
        self.step(Step::Literal(index.to_string()))
    }
}

node! {
    /// A typed path at a set (`HashSet`, `BTreeSet`, `imbl`'s sets, `IndexSet`): its
    /// elements are named by their position in the set's order, as its patches name them,
    /// and are replaced whole.
    SetPath []
}

impl<R> SetPath<R> {
    /// Any element: `*`.
    pub fn any(self) -> LeafPath<R> {
        self.step(Step::Any)
    }

    /// The element at `position` in the set's order.
    pub fn at(self, position: usize) -> LeafPath<R> {
        self.step(Step::Literal(position.to_string()))
    }
}

node! {
    /// A typed path at a map from `K` to `V`: [`any`](Self::any) value or the one at a
    /// [`key`](Self::key).
    MapPath [K, V]
}

impl<K, V: Draftable, R> MapPath<K, V, R> {
    /// Any value: `*`.
    pub fn any(self) -> V::Path<R> {
        self.step(Step::Any)
    }

    /// The value at `key`: a string key as it is, any other key as its JSON text (`1`,
    /// `true`), as the map's patches name it. A key with no JSON form (one whose `Serialize`
    /// fails) is written as the empty key, which names the entry of an empty string key if
    /// the map has one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::collections::BTreeMap;
    ///
    /// let scores = immer_core::path::<BTreeMap<String, u32>>();
    /// assert_eq!(scores.key("ada").pattern().to_string(), "/ada");
    /// assert_eq!(immer_core::path::<BTreeMap<u8, u32>>().key(&7).pattern().to_string(), "/7");
    /// ```
    pub fn key<Q>(self, key: &Q) -> V::Path<R>
    where
        K: Borrow<Q>,
        Q: Serialize + ?Sized,
    {
        let segment = key_segment(&key);
        self.step(Step::Literal(segment.to_key().into_owned()))
    }
}

node! {
    /// A typed path at JSON of any shape ([`Json`](crate::Json), `serde_json::Value`): any key, index or
    /// `*`, unchecked.
    JsonPath []
}

impl<R> JsonPath<R> {
    /// Any member or element: `*`.
    pub fn any(self) -> JsonPath<R> {
        self.step(Step::Any)
    }

    /// The member `key` of an object.
    pub fn key(self, key: &str) -> JsonPath<R> {
        self.step(Step::Literal(key.to_owned()))
    }

    /// The element at `index` of an array.
    pub fn at(self, index: usize) -> JsonPath<R> {
        self.step(Step::Literal(index.to_string()))
    }
}

macro_rules! tuple_path {
    ($name:ident; $($T:ident $i:tt $get:ident),+) => {
        node! {
            /// A typed path at a tuple: each element by its position (`_0()`, `_1()`...), as
            /// serde writes a tuple as a JSON array.
            $name [$($T),+]
        }

        impl<$($T: Draftable,)+ R> $name<$($T,)+ R> {
            $(
                /// The element at this position.
                pub fn $get(self) -> $T::Path<R> {
                    self.step(Step::Literal(stringify!($i).to_owned()))
                }
            )+
        }
    };
}

tuple_path!(Tuple2Path; A 0 _0, B 1 _1);
tuple_path!(Tuple3Path; A 0 _0, B 1 _1, C 2 _2);
tuple_path!(Tuple4Path; A 0 _0, B 1 _1, C 2 _2, D 3 _3);
tuple_path!(Tuple5Path; A 0 _0, B 1 _1, C 2 _2, D 3 _3, E 4 _4);
tuple_path!(Tuple6Path; A 0 _0, B 1 _1, C 2 _2, D 3 _3, E 4 _4, F 5 _5);
