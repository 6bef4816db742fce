#[isolate::isolated]
fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

fn main() {}
