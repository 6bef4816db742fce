#[isolate::isolated(process)]
fn work(n: u32) -> u32 {
    n
}

fn main() {
    let _ = work_isolated(1);
}
