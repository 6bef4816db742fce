use std::borrow::Cow;

#[isolate::isolated]
fn greeting<'a>(formal: bool) -> Cow<'a, str> {
    if formal { Cow::Borrowed("Good day") } else { Cow::Owned("hi".to_owned()) }
}

fn main() {}
