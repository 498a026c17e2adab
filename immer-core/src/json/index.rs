//! [`JsonIndex`]: what [`Json::get`] and `json[...]` take, as `serde_json::value::Index`.

use super::Json;

mod sealed {
    pub trait Sealed {}
    impl Sealed for usize {}
    impl Sealed for str {}
    impl Sealed for String {}
    impl<T: Sealed + ?Sized> Sealed for &T {}
}

/// A key or a position in a [`Json`]: `&str` and `String` index objects, `usize` arrays.
/// Sealed: implemented by these alone.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
/// use serde_json::json;
///
/// let doc = Json::from(json!({"list": [10, 20]}));
/// let key = String::from("list");
/// assert_eq!(doc.get(&key).and_then(|list| list.get(1)), Some(&Json::from(20)));
/// assert_eq!(doc["list"][0], 10);
/// ```
pub trait JsonIndex: sealed::Sealed {
    /// The value this names in `value`, if any.
    #[doc(hidden)]
    fn index_into<'v>(&self, value: &'v Json) -> Option<&'v Json>;
    /// The value this names in `value`, mutably (copying on write), if any.
    #[doc(hidden)]
    fn index_into_mut<'v>(&self, value: &'v mut Json) -> Option<&'v mut Json>;
}

impl JsonIndex for usize {
    fn index_into<'v>(&self, value: &'v Json) -> Option<&'v Json> {
        value.as_array()?.get(*self)
    }
    fn index_into_mut<'v>(&self, value: &'v mut Json) -> Option<&'v mut Json> {
        value.as_array_mut()?.get_mut(*self)
    }
}

impl JsonIndex for str {
    fn index_into<'v>(&self, value: &'v Json) -> Option<&'v Json> {
        value.as_object()?.get(self)
    }
    fn index_into_mut<'v>(&self, value: &'v mut Json) -> Option<&'v mut Json> {
        value.as_object_mut()?.get_mut(self)
    }
}

impl JsonIndex for String {
    fn index_into<'v>(&self, value: &'v Json) -> Option<&'v Json> {
        self.as_str().index_into(value)
    }
    fn index_into_mut<'v>(&self, value: &'v mut Json) -> Option<&'v mut Json> {
        self.as_str().index_into_mut(value)
    }
}

impl<T: JsonIndex + ?Sized> JsonIndex for &T {
    fn index_into<'v>(&self, value: &'v Json) -> Option<&'v Json> {
        (**self).index_into(value)
    }
    fn index_into_mut<'v>(&self, value: &'v mut Json) -> Option<&'v mut Json> {
        (**self).index_into_mut(value)
    }
}
