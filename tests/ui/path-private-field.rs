use immer::PathPattern;

mod account {
    #[derive(immer::Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Account {
        pub name: String,
        balance: u64,
    }
}

fn allow(_pattern: impl Into<PathPattern>) {}

fn main() {
    allow(immer::path::<account::Account>().name());
    allow(immer::path::<account::Account>().balance());
}
