use std::rc::Rc;

#[isolate::isolated]
fn build(n: usize) -> Rc<Vec<u8>> {
    Rc::new(vec![0; n])
}

fn main() {}
