use immer::Draftable;

mod as_text {
    pub fn serialize<S: serde::Serializer>(value: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
        let text: String = serde::Deserialize::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Counter {
    #[serde(with = "as_text")]
    count: u32,
}

fn main() {}
