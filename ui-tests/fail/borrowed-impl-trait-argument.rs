#[isolate::isolated]
fn test(predicate: &impl Fn(u8) -> bool) -> bool {
    predicate(1)
}

fn main() {}
