#[isolate::isolated]
fn shown(text: &str) -> impl std::fmt::Display {
    text.len()
}

fn main() {}
