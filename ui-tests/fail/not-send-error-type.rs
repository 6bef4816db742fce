use std::rc::Rc;

#[isolate::isolated]
fn parse(text: String) -> Result<u32, Rc<String>> {
    text.parse().map_err(|_| Rc::new(text))
}

fn main() {}
