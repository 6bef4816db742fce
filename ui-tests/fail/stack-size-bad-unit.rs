#[isolate::isolated(stack_size = "1 megabyte")]
fn work(n: u32) -> u32 {
    n
}

fn main() {}
