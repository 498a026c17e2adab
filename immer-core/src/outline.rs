//! [`Outline`]: what a value is at a path, without its parts, so that a reader of a large state
//! (the skip of a history entry) pays for what it visits, not for the state.

use serde::Serialize;
use serde::ser::{self, Impossible};
use serde_json::Value;

use crate::draftable::to_json;
use crate::error::PatchErrorKind;

/// What a value is as JSON, without its parts: an object, an array and its length, or a
/// scalar whole. [`Draftable::outline_at`](crate::Draftable::outline_at) gives it for the value
/// at a path, reading no more of the state than the way there.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq)]
pub enum Outline {
    /// A JSON object (a struct, a map, an enum's variant with data): its members are read one
    /// by one.
    Object,
    /// A JSON array (a list, a set, a tuple) of this many elements.
    Array(usize),
    /// Null, a boolean, a number or a string.
    Scalar(Value),
}

impl Outline {
    /// The outline of a JSON value.
    pub(crate) fn of(value: &Value) -> Outline {
        match value {
            Value::Object(_) => Outline::Object,
            Value::Array(items) => Outline::Array(items.len()),
            scalar => Outline::Scalar(scalar.clone()),
        }
    }
}

/// The outline of `value` as a whole. Time: O(1) for anything serde writes as an object or as an
/// array of known length (the writing stops at its first call); O(size) for an array serde
/// gives no length for, and for serde_json's own number and raw value types, which are
/// written out.
///
/// # Errors
///
/// When the value has no JSON form.
#[doc(hidden)]
pub fn outline_of<T: Serialize + ?Sized>(value: &T) -> Result<Outline, PatchErrorKind> {
    match value.serialize(Probe) {
        Ok(outline) | Err(Stop::Found(outline)) => Ok(outline),
        Err(Stop::Unknown) => to_json(value).map(|v| Outline::of(&v)),
    }
}

/// A serializer that answers with the outline at its first call.
struct Probe;

/// How a probe stops: with the outline, or not knowing it (then the value is written out).
#[derive(Debug)]
enum Stop {
    Found(Outline),
    Unknown,
}

impl std::fmt::Display for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("outline probe")
    }
}

impl std::error::Error for Stop {}

impl ser::Error for Stop {
    fn custom<M: std::fmt::Display>(_: M) -> Self {
        Stop::Unknown
    }
}

fn scalar(value: impl Into<Value>) -> Outline {
    Outline::Scalar(value.into())
}

fn found<T>(outline: Outline) -> Result<T, Stop> {
    Err(Stop::Found(outline))
}

impl ser::Serializer for Probe {
    type Ok = Outline;
    type Error = Stop;
    type SerializeSeq = Impossible<Outline, Stop>;
    type SerializeTuple = Impossible<Outline, Stop>;
    type SerializeTupleStruct = Impossible<Outline, Stop>;
    type SerializeTupleVariant = Impossible<Outline, Stop>;
    type SerializeMap = Impossible<Outline, Stop>;
    type SerializeStruct = Impossible<Outline, Stop>;
    type SerializeStructVariant = Impossible<Outline, Stop>;

    fn serialize_bool(self, v: bool) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_i16(self, v: i16) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_i32(self, v: i32) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_i64(self, v: i64) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_i128(self, _: i128) -> Result<Outline, Stop> {
        Err(Stop::Unknown)
    }
    fn serialize_u8(self, v: u8) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_u16(self, v: u16) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_u32(self, v: u32) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_u64(self, v: u64) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_u128(self, _: u128) -> Result<Outline, Stop> {
        Err(Stop::Unknown)
    }
    fn serialize_f32(self, _: f32) -> Result<Outline, Stop> {
        // serde_json writes an `f32` through its own widening: leave it to it.
        Err(Stop::Unknown)
    }
    fn serialize_f64(self, v: f64) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_char(self, v: char) -> Result<Outline, Stop> {
        Ok(scalar(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Outline, Stop> {
        Ok(scalar(v))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Outline, Stop> {
        Ok(Outline::Array(v.len()))
    }
    fn serialize_none(self) -> Result<Outline, Stop> {
        Ok(scalar(Value::Null))
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Outline, Stop> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Outline, Stop> {
        Ok(scalar(Value::Null))
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Outline, Stop> {
        Ok(scalar(Value::Null))
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Outline, Stop> {
        Ok(scalar(variant))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Outline, Stop> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<Outline, Stop> {
        Ok(Outline::Object)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<Self::SerializeSeq, Stop> {
        match len {
            Some(len) => found(Outline::Array(len)),
            None => Err(Stop::Unknown),
        }
    }
    fn serialize_tuple(self, len: usize) -> Result<Self::SerializeTuple, Stop> {
        found(Outline::Array(len))
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        len: usize,
    ) -> Result<Self::SerializeTupleStruct, Stop> {
        found(Outline::Array(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Stop> {
        found(Outline::Object)
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap, Stop> {
        found(Outline::Object)
    }
    fn serialize_struct(self, name: &'static str, _: usize) -> Result<Self::SerializeStruct, Stop> {
        // serde_json's arbitrary-precision numbers and raw values are written as structs of
        // these names; they are scalars, or anything, once written.
        if name.starts_with("$serde_json::private::") {
            return Err(Stop::Unknown);
        }
        found(Outline::Object)
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Stop> {
        found(Outline::Object)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, HashSet};

    use serde::Serialize;
    use serde_json::json;

    use super::{Outline, outline_of};

    fn same<T: Serialize>(value: &T) {
        let json = serde_json::to_value(value).unwrap();
        assert_eq!(outline_of(value).unwrap(), Outline::of(&json), "{json}");
    }

    #[derive(Serialize)]
    enum Shape {
        Unit,
        Circle(f64),
        Pair(u8, u8),
        Rect { w: u32 },
    }

    #[derive(Serialize)]
    struct Wrapper(Vec<u8>);

    #[derive(Serialize)]
    #[serde(tag = "kind")]
    enum Tagged {
        A { x: u8 },
    }

    #[test]
    fn the_probe_says_what_serde_json_writes() {
        same(&true);
        same(&-3_i8);
        same(&7_u64);
        same(&u128::from(u64::MAX));
        assert!(
            outline_of(&u128::MAX).is_err(),
            "no JSON form, as serde_json says"
        );
        same(&1.5_f32);
        same(&f64::NAN);
        same(&'c');
        same(&"text");
        same(&());
        same(&None::<u8>);
        same(&Some(vec![1, 2]));
        same(&(1, "a"));
        same(&[0_u8; 3]);
        same(&Wrapper(vec![1, 2, 3]));
        same(&Shape::Unit);
        same(&Shape::Circle(1.0));
        same(&Shape::Pair(1, 2));
        same(&Shape::Rect { w: 1 });
        same(&Tagged::A { x: 1 });
        same(&BTreeMap::from([("a", 1)]));
        same(&HashSet::from([1, 2, 3]));
        same(&json!({"a": [1, {"b": null}]}));
        same(&json!([1, 2]));
        same(&json!(1.25));
    }
}
