#[isolate::isolated(memory_limit = "64MiB")]
fn work(n: u32) -> u32 {
    n
}

fn main() {}
