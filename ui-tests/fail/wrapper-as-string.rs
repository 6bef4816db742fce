#[isolate::isolated(wrapper = "run_it")]
fn work(n: u32) -> u32 {
    n
}

fn main() {
    let _ = run_it(1);
}
