use isolate::{Port, Worker};
use std::rc::Rc;

fn main() {
    let worker = Worker::spawn(|port: Port<Rc<String>, usize>| {
        for text in &port {
            let _ = port.send(text.len());
        }
    });
    drop(worker);
}
