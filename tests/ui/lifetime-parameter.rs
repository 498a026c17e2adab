use immer::Draftable;

#[derive(Draftable, Clone, PartialEq, serde::Serialize)]
struct Todo<'a> {
    text: &'a str,
}

fn main() {}
