#[isolate::isolated(fold)]
fn count(n: u32) -> Option<u32> {
    Some(n)
}

fn main() {}
