#[isolate::isolated]
fn count(chars: std::str::Chars) -> usize {
    chars.count()
}

fn main() {}
