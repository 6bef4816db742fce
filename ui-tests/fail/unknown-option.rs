#[isolate::isolated(threads = 4)]
fn work(n: u64) -> u64 {
    n * 2
}

fn main() {}
