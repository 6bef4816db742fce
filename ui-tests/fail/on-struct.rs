#[isolate::isolated]
struct Worker {
    id: u32,
}

fn main() {}
