use std::rc::Rc;

#[isolate::isolated]
fn shown(n: u8) -> impl std::fmt::Display {
    Rc::new(n)
}

fn main() {}
