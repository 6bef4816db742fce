use std::cell::RefCell;
use std::sync::Arc;

#[isolate::isolated]
fn bump(counter: Arc<RefCell<u64>>) {
    *counter.borrow_mut() += 1;
}

fn main() {}
