use std::rc::Rc;

#[isolate::isolated]
fn count(shared: Rc<Vec<u8>>) -> usize {
    shared.len()
}

fn main() {}
