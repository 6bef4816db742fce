use isolate::{isolated, Progress};

#[isolated]
fn copy(files: Vec<String>, done: Progress<usize>, bytes: Progress<u64>) {
    done.send(files.len());
    bytes.send(0);
}

fn main() {}
