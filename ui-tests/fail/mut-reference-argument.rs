#[isolate::isolated]
fn sort(values: &mut Vec<u64>) {
    values.sort();
}

fn main() {}
