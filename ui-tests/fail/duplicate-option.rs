#[isolate::isolated(name = "first", dedicated, name = "second", dedicated)]
fn work(n: u64) -> u64 {
    n * 2
}

fn main() {}
