use std::borrow::Cow;

#[isolate::isolated]
fn shout<'a>(text: Cow<'a, str>) -> String {
    text.to_uppercase()
}

fn main() {}
