#![deny(unused_must_use)]

#[isolate::isolated]
fn work(n: u64) -> u64 {
    n * 2
}

fn main() {
    work_isolated(21);
}
