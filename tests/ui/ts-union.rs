use immer::TypeScript;

#[derive(TypeScript)]
union Bits {
    int: u32,
    float: f32,
}

fn main() {}
