#[isolate::isolated(process, dedicated)]
fn work(n: u32) -> u32 {
    n
}

fn main() {}
