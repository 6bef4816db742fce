#[isolate::isolated(dedicated = true, name = "worker")]
fn work(n: u32) -> u32 {
    n
}

fn main() {}
