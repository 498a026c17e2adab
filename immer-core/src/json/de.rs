//! Deserializing [`Json`] exactly as `serde_json::Value` deserializes, sharing the text of
//! repeated object keys.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Number;

use super::{Json, JsonArray, JsonObject};

/// The keys read so far in one document, so that the objects of a document share each
/// key's text (a list of 100,000 records holds its field names once, not 100,000 times).
#[derive(Default)]
pub(crate) struct Keys(HashSet<Arc<str>>);

impl Keys {
    /// Keys longer than this are rarely repeated field names: not kept.
    const LONGEST: usize = 64;
    /// At most this many distinct keys are kept, bounding the table a document with many
    /// distinct keys (a map by id) builds.
    const MOST: usize = 1 << 16;

    /// The shared text of `key`.
    pub(crate) fn key(&mut self, key: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(key) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(key);
        if key.len() <= Self::LONGEST && self.0.len() < Self::MOST {
            self.0.insert(Arc::clone(&shared));
        }
        shared
    }
}

impl<'de> Deserialize<'de> for Json {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json, D::Error> {
        Seed(&mut Keys::default()).deserialize(deserializer)
    }
}

impl<'de> Deserialize<'de> for JsonArray {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JsonArray, D::Error> {
        match Json::deserialize(deserializer)? {
            Json::Array(array) => Ok(array),
            other => Err(de::Error::invalid_type(unexpected(&other), &"a JSON array")),
        }
    }
}

impl<'de> Deserialize<'de> for JsonObject {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<JsonObject, D::Error> {
        match Json::deserialize(deserializer)? {
            Json::Object(object) => Ok(object),
            other => Err(de::Error::invalid_type(
                unexpected(&other),
                &"a JSON object",
            )),
        }
    }
}

fn unexpected(value: &Json) -> de::Unexpected<'_> {
    match value {
        Json::Null => de::Unexpected::Unit,
        Json::Bool(b) => de::Unexpected::Bool(*b),
        Json::Number(_) => de::Unexpected::Other("number"),
        Json::Str(s) => de::Unexpected::Str(s),
        Json::Array(_) => de::Unexpected::Seq,
        Json::Object(_) => de::Unexpected::Map,
    }
}

/// A value of a document whose keys are `Keys`.
struct Seed<'k>(&'k mut Keys);

impl<'de> DeserializeSeed<'de> for Seed<'_> {
    type Value = Json;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Seed<'_> {
    type Value = Json;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any valid JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_i128<E: de::Error>(self, value: i128) -> Result<Json, E> {
        Number::deserialize(de::value::I128Deserializer::new(value)).map(Json::Number)
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u128<E: de::Error>(self, value: u128) -> Result<Json, E> {
        Number::deserialize(de::value::U128Deserializer::new(value)).map(Json::Number)
    }

    fn visit_f64<E>(self, value: f64) -> Result<Json, E> {
        Ok(Number::from_f64(value).map_or(Json::Null, Json::Number))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json, E> {
        Ok(Json::Str(value.into()))
    }

    fn visit_none<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json, D::Error> {
        self.deserialize(deserializer)
    }

    fn visit_unit<E>(self) -> Result<Json, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json, A::Error> {
        // A hint is the sender's word: bounded, so a lying one cannot reserve much.
        let mut elements = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(element) = seq.next_element_seed(Seed(self.0))? {
            elements.push(element);
        }
        Ok(Json::Array(JsonArray::from_vec(elements)))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json, A::Error> {
        let mut members = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
        while let Some(key) = map.next_key_seed(KeySeed(self.0))? {
            let value = map.next_value_seed(Seed(self.0))?;
            members.push((key, value));
        }
        Ok(Json::Object(JsonObject::from_members(members)))
    }
}

/// An object's key, shared through `Keys`.
struct KeySeed<'k>(&'k mut Keys);

impl<'de> DeserializeSeed<'de> for KeySeed<'_> {
    type Value = Arc<str>;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Arc<str>, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl Visitor<'_> for KeySeed<'_> {
    type Value = Arc<str>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<Arc<str>, E> {
        Ok(self.0.key(key))
    }
}
