use immer::Draftable;

#[derive(Draftable)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
