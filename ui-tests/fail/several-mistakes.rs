use std::rc::Rc;

#[isolate::isolated]
fn merge(left: &str, right: Rc<String>, count: &mut usize) -> String {
    *count += 1;
    format!("{left}{right}")
}

fn main() {}
