use immer::TypeScript;

mod as_text {
    pub fn serialize<S: serde::Serializer>(value: &u32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }
}

#[derive(TypeScript, serde::Serialize)]
enum Reading {
    #[serde(serialize_with = "as_text::serialize")]
    Count(u32),
    Missing,
}

fn main() {}
