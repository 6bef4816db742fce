use std::rc::Rc;

#[isolate::isolated]
fn describe<T: std::fmt::Debug>(value: T) -> String {
    format!("{value:?}")
}

fn main() {
    let _ = describe_isolated(Rc::new(5)).join();
}
