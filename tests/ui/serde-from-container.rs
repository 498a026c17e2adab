use immer::Draftable;

#[derive(Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Raw(String);

impl From<Raw> for Email {
    fn from(raw: Raw) -> Self {
        Email { address: raw.0 }
    }
}

#[derive(Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(from = "Raw")]
struct Email {
    address: String,
}

fn main() {}
