use immer::produce;
use std::sync::Arc;

mod account {
    #[derive(immer::Draftable, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    pub struct Account {
        pub name: String,
        balance: u64,
    }

    impl Account {
        pub fn new() -> Self {
            Account { name: String::new(), balance: 0 }
        }
    }
}

fn main() {
    let account = Arc::new(account::Account::new());
    produce(&account, |d| {
        d.set_name("ann".into());
        d.set_balance(1_000_000);
    });
}
