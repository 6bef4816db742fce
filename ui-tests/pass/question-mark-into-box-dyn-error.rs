// `?` takes a handle's error into `Box<dyn Error + Send + Sync>`, whether the
// isolated function's own error is boxed the same way or a concrete type.

use std::error::Error;

type BoxError = Box<dyn Error + Send + Sync>;

#[isolate::isolated]
fn count(text: String) -> Result<usize, BoxError> {
    if text.is_empty() {
        return Err("nothing to count".into());
    }
    Ok(text.split_whitespace().count())
}

#[isolate::isolated]
fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.trim().parse()
}

fn main() -> Result<(), BoxError> {
    let words = count_isolated("one two".to_owned()).join()?;
    let n = parse_isolated("40".to_owned()).join()?;
    assert_eq!(words as u32 + n, 42);
    Ok(())
}
