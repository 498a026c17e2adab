//! [`Json`] compared with `serde_json::Value` and with Rust values, as `serde_json::Value`
//! compares with them: `doc == json!(...)`, `doc["title"] == "board"`, `doc["n"] == 1`.

use serde_json::Value;

use super::{Json, JsonArray, JsonObject};

/// Whether `json` and `value` are the same document (numbers as `serde_json` compares them:
/// `1` is not `1.0`).
fn eq_value(json: &Json, value: &Value) -> bool {
    match (json, value) {
        (Json::Null, Value::Null) => true,
        (Json::Bool(a), Value::Bool(b)) => a == b,
        (Json::Number(a), Value::Number(b)) => a == b,
        (Json::Str(a), Value::String(b)) => **a == **b,
        (Json::Array(a), Value::Array(b)) => eq_array(a, b),
        (Json::Object(a), Value::Object(b)) => eq_object(a, b),
        _ => false,
    }
}

fn eq_array(array: &JsonArray, values: &[Value]) -> bool {
    array.len() == values.len() && array.iter().zip(values).all(|(x, y)| eq_value(x, y))
}

fn eq_object(object: &JsonObject, values: &serde_json::Map<String, Value>) -> bool {
    object.len() == values.len()
        && object
            .iter()
            .all(|(k, x)| values.get(k).is_some_and(|y| eq_value(x, y)))
}

/// An array equal to a `serde_json::Value` array.
///
/// # Examples
///
/// ```
/// let array: immer_core::JsonArray = [1, 2].into_iter().collect();
/// assert_eq!(array, serde_json::json!([1, 2]));
/// assert_ne!(array, serde_json::json!({"0": 1, "1": 2}));
/// ```
impl PartialEq<Value> for JsonArray {
    fn eq(&self, other: &Value) -> bool {
        other
            .as_array()
            .is_some_and(|values| eq_array(self, values))
    }
}

/// An array equal to a `serde_json::Value` array.
impl PartialEq<JsonArray> for Value {
    fn eq(&self, other: &JsonArray) -> bool {
        other == self
    }
}

/// An object equal to a `serde_json::Value` object.
///
/// # Examples
///
/// ```
/// let object: immer_core::JsonObject = [("a", 1)].into_iter().collect();
/// assert_eq!(object, serde_json::json!({"a": 1}));
/// ```
impl PartialEq<Value> for JsonObject {
    fn eq(&self, other: &Value) -> bool {
        other
            .as_object()
            .is_some_and(|values| eq_object(self, values))
    }
}

/// An object equal to a `serde_json::Value` object.
impl PartialEq<JsonObject> for Value {
    fn eq(&self, other: &JsonObject) -> bool {
        other == self
    }
}

/// The same document.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
/// use serde_json::json;
///
/// assert_eq!(Json::from(json!({"a": [1]})), json!({"a": [1]}));
/// assert_ne!(Json::from(json!({"a": [1]})), json!({"a": [1.0]}));
/// ```
impl PartialEq<Value> for Json {
    fn eq(&self, other: &Value) -> bool {
        eq_value(self, other)
    }
}

/// The same document.
///
/// # Examples
///
/// ```
/// use immer_core::Json;
/// use serde_json::json;
///
/// assert_eq!(json!([null]), Json::from(json!([null])));
/// ```
impl PartialEq<Json> for Value {
    fn eq(&self, other: &Json) -> bool {
        eq_value(other, self)
    }
}

fn eq_str(json: &Json, other: &str) -> bool {
    json.as_str() == Some(other)
}

impl PartialEq<str> for Json {
    fn eq(&self, other: &str) -> bool {
        eq_str(self, other)
    }
}

impl PartialEq<&str> for Json {
    fn eq(&self, other: &&str) -> bool {
        eq_str(self, other)
    }
}

impl PartialEq<String> for Json {
    fn eq(&self, other: &String) -> bool {
        eq_str(self, other)
    }
}

impl PartialEq<Json> for str {
    fn eq(&self, other: &Json) -> bool {
        eq_str(other, self)
    }
}

impl PartialEq<Json> for &str {
    fn eq(&self, other: &Json) -> bool {
        eq_str(other, self)
    }
}

impl PartialEq<Json> for String {
    fn eq(&self, other: &Json) -> bool {
        eq_str(other, self)
    }
}

impl PartialEq<bool> for Json {
    fn eq(&self, other: &bool) -> bool {
        self.as_bool() == Some(*other)
    }
}

impl PartialEq<Json> for bool {
    fn eq(&self, other: &Json) -> bool {
        other.as_bool() == Some(*self)
    }
}

fn eq_i64(json: &Json, other: i64) -> bool {
    json.as_i64() == Some(other)
}

fn eq_u64(json: &Json, other: u64) -> bool {
    json.as_u64() == Some(other)
}

#[allow(
    clippy::float_cmp,
    reason = "equal as serde_json compares: by exact value"
)]
fn eq_f64(json: &Json, other: f64) -> bool {
    json.as_f64() == Some(other)
}

#[allow(
    clippy::float_cmp,
    reason = "equal as serde_json compares: by exact value"
)]
fn eq_f32(json: &Json, other: f32) -> bool {
    json.as_f64().map(|f| f as f32) == Some(other)
}

macro_rules! partial_eq_numeric {
    ($($eq:ident [$($ty:ty)*])*) => {$($(
        impl PartialEq<$ty> for Json {
            #[allow(clippy::cast_lossless, reason = "widening to the type compared")]
            fn eq(&self, other: &$ty) -> bool {
                $eq(self, *other as _)
            }
        }

        impl PartialEq<Json> for $ty {
            #[allow(clippy::cast_lossless, reason = "widening to the type compared")]
            fn eq(&self, other: &Json) -> bool {
                $eq(other, *self as _)
            }
        }
    )*)*};
}

partial_eq_numeric! {
    eq_i64[i8 i16 i32 i64 isize]
    eq_u64[u8 u16 u32 u64 usize]
    eq_f32[f32]
    eq_f64[f64]
}
