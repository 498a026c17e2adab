//! Conversions into [`Json`] and back to `serde_json::Value`, as `serde_json`'s own `From`
//! impls convert: build a document with `json!` and `Json::from`, or from Rust values.

use std::borrow::Cow;
use std::sync::Arc;

use serde_json::{Map, Number, Value};

use super::de::Keys;
use super::{Json, JsonArray, JsonObject};

impl Json {
    /// A `Value` read into a `Json`, sharing repeated keys' text through `keys`.
    fn from_value(value: &Value, keys: &mut Keys) -> Json {
        match value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Number(n) => Json::Number(n.clone()),
            Value::String(s) => Json::Str(Arc::from(s.as_str())),
            Value::Array(items) => Json::Array(JsonArray::from_vec(
                items.iter().map(|v| Json::from_value(v, keys)).collect(),
            )),
            Value::Object(members) => Json::Object(JsonObject::from_members(
                members
                    .iter()
                    .map(|(k, v)| (keys.key(k), Json::from_value(v, keys)))
                    .collect(),
            )),
        }
    }
}

/// The same document, persistent; repeated keys share their text. O(size).
///
/// # Examples
///
/// ```
/// use immer_core::Json;
/// use serde_json::json;
///
/// let doc = Json::from(&json!({"a": [1, {"b": null}]}));
/// assert_eq!(doc, json!({"a": [1, {"b": null}]}));
/// ```
impl From<&Value> for Json {
    fn from(value: &Value) -> Json {
        Json::from_value(value, &mut Keys::default())
    }
}

/// The same document, persistent: `Json::from(json!({...}))`. O(size).
///
/// # Examples
///
/// ```
/// use immer_core::Json;
/// use serde_json::json;
///
/// let doc = Json::from(json!({"title": "board", "todos": []}));
/// assert_eq!(doc["title"], "board");
/// ```
impl From<Value> for Json {
    fn from(value: Value) -> Json {
        Json::from(&value)
    }
}

/// The same document as a plain `serde_json::Value`. O(size).
///
/// # Examples
///
/// ```
/// use immer_core::Json;
/// use serde_json::{json, Value};
///
/// let doc = Json::from(json!({"a": [1, "x"]}));
/// assert_eq!(Value::from(&doc), json!({"a": [1, "x"]}));
/// ```
impl From<&Json> for Value {
    fn from(json: &Json) -> Value {
        match json {
            Json::Null => Value::Null,
            Json::Bool(b) => Value::Bool(*b),
            Json::Number(n) => Value::Number(n.clone()),
            Json::Str(s) => Value::String(s.to_string()),
            Json::Array(items) => Value::Array(items.iter().map(Value::from).collect()),
            Json::Object(members) => Value::Object(
                members
                    .iter()
                    .map(|(k, v)| (k.to_owned(), Value::from(v)))
                    .collect::<Map<String, Value>>(),
            ),
        }
    }
}

/// The same document as a plain `serde_json::Value`. O(size).
///
/// # Examples
///
/// ```
/// use immer_core::Json;
/// use serde_json::{json, Value};
///
/// let value: Value = Json::from(vec![1, 2]).into();
/// assert_eq!(value, json!([1, 2]));
/// ```
impl From<Json> for Value {
    fn from(json: Json) -> Value {
        Value::from(&json)
    }
}

macro_rules! from_number {
    ($($ty:ty)*) => {$(
        /// A JSON number.
        impl From<$ty> for Json {
            fn from(n: $ty) -> Json {
                Json::Number(Number::from(n))
            }
        }
    )*};
}

from_number!(i8 i16 i32 i64 isize u8 u16 u32 u64 usize);

/// A JSON number; `null` for a NaN or an infinity, which JSON cannot write (as
/// `serde_json::Value::from` does).
///
/// # Examples
///
/// ```
/// use immer_core::Json;
///
/// assert_eq!(Json::from(0.5), 0.5);
/// assert!(Json::from(f64::NAN).is_null());
/// ```
impl From<f64> for Json {
    fn from(f: f64) -> Json {
        Number::from_f64(f).map_or(Json::Null, Json::Number)
    }
}

/// A JSON number; `null` for a NaN or an infinity.
///
/// # Examples
///
/// ```
/// assert_eq!(immer_core::Json::from(0.5_f32), 0.5);
/// ```
impl From<f32> for Json {
    fn from(f: f32) -> Json {
        Json::from(f64::from(f))
    }
}

/// `true` or `false`.
///
/// # Examples
///
/// ```
/// assert_eq!(immer_core::Json::from(true), true);
/// ```
impl From<bool> for Json {
    fn from(b: bool) -> Json {
        Json::Bool(b)
    }
}

/// A number.
///
/// # Examples
///
/// ```
/// assert_eq!(immer_core::Json::from(serde_json::Number::from(3)), 3);
/// ```
impl From<Number> for Json {
    fn from(n: Number) -> Json {
        Json::Number(n)
    }
}

/// A string.
///
/// # Examples
///
/// ```
/// assert_eq!(immer_core::Json::from("x"), "x");
/// ```
impl From<&str> for Json {
    fn from(s: &str) -> Json {
        Json::Str(Arc::from(s))
    }
}

/// A string.
///
/// # Examples
///
/// ```
/// assert_eq!(immer_core::Json::from(String::from("x")), "x");
/// ```
impl From<String> for Json {
    fn from(s: String) -> Json {
        Json::Str(Arc::from(s))
    }
}

/// A string.
///
/// # Examples
///
/// ```
/// use std::borrow::Cow;
///
/// assert_eq!(immer_core::Json::from(Cow::Borrowed("x")), "x");
/// ```
impl From<Cow<'_, str>> for Json {
    fn from(s: Cow<'_, str>) -> Json {
        Json::Str(Arc::from(s.as_ref()))
    }
}

/// A string, sharing the text. O(1).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
///
/// let text: Arc<str> = Arc::from("x");
/// assert_eq!(immer_core::Json::from(Arc::clone(&text)).as_str(), Some("x"));
/// ```
impl From<Arc<str>> for Json {
    fn from(s: Arc<str>) -> Json {
        Json::Str(s)
    }
}

/// `null`.
///
/// # Examples
///
/// ```
/// assert!(immer_core::Json::from(()).is_null());
/// ```
impl From<()> for Json {
    fn from((): ()) -> Json {
        Json::Null
    }
}

/// The value, or `null` for `None`.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
///
/// assert_eq!(Json::from(Some(1)), 1);
/// assert!(Json::from(None::<i32>).is_null());
/// ```
impl<T: Into<Json>> From<Option<T>> for Json {
    fn from(value: Option<T>) -> Json {
        value.map_or(Json::Null, Into::into)
    }
}

/// An array.
///
/// # Examples
///
/// ```
/// assert_eq!(immer_core::Json::from(vec!["a", "b"]), serde_json::json!(["a", "b"]));
/// ```
impl<T: Into<Json>> From<Vec<T>> for Json {
    fn from(items: Vec<T>) -> Json {
        Json::Array(items.into_iter().collect())
    }
}

/// An array of copies of the elements.
///
/// # Examples
///
/// ```
/// assert_eq!(immer_core::Json::from(&[1, 2][..]), serde_json::json!([1, 2]));
/// ```
impl<T: Clone + Into<Json>> From<&[T]> for Json {
    fn from(items: &[T]) -> Json {
        Json::Array(items.iter().cloned().collect())
    }
}

/// The array as a value. O(1).
///
/// # Examples
///
/// ```
/// use immer_core::{Json, JsonArray};
///
/// assert!(Json::from(JsonArray::new()).is_array());
/// ```
impl From<JsonArray> for Json {
    fn from(array: JsonArray) -> Json {
        Json::Array(array)
    }
}

/// The object as a value. O(1).
///
/// # Examples
///
/// ```
/// use immer_core::{Json, JsonObject};
///
/// assert!(Json::from(JsonObject::new()).is_object());
/// ```
impl From<JsonObject> for Json {
    fn from(object: JsonObject) -> Json {
        Json::Object(object)
    }
}

/// An array of the items.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
///
/// let squares: Json = (1..=3).map(|i| i * i).collect();
/// assert_eq!(squares, serde_json::json!([1, 4, 9]));
/// ```
impl<T: Into<Json>> FromIterator<T> for Json {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Json {
        Json::Array(iter.into_iter().collect())
    }
}

/// An object of the members; of two with one key, the later stays.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
///
/// let doc: Json = [("id", Json::from(1)), ("done", Json::from(false))].into_iter().collect();
/// assert_eq!(doc, serde_json::json!({"id": 1, "done": false}));
/// ```
impl<K: Into<Arc<str>>, V: Into<Json>> FromIterator<(K, V)> for Json {
    fn from_iter<I: IntoIterator<Item = (K, V)>>(iter: I) -> Json {
        Json::Object(iter.into_iter().collect())
    }
}
