pub struct Progress<T>(pub T);

#[isolate::isolated]
fn work(p: Progress<u64>) -> u64 {
    p.0
}

fn main() {}
