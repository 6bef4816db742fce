#[isolate::isolated(process, memory_limit = "lots")]
fn work(n: u32) -> u32 {
    n
}

fn main() {}
