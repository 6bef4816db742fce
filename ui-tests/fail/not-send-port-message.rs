use isolate::{isolated, Port};
use std::rc::Rc;

#[isolated]
fn counter(port: Port<u32, Rc<u32>>) {
    for n in &port {
        let _ = port.send(Rc::new(n));
    }
}

fn main() {}
