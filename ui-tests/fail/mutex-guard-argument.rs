use std::sync::MutexGuard;

#[isolate::isolated]
fn push(mut list: MutexGuard<'static, Vec<u8>>) {
    list.push(1);
}

fn main() {}
