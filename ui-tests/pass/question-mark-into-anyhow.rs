// `?` takes a handle's error into `anyhow::Result`, whether the isolated
// function's own error is `anyhow::Error` or a concrete type.

#[isolate::isolated]
fn count(text: String) -> anyhow::Result<usize> {
    anyhow::ensure!(!text.is_empty(), "nothing to count");
    Ok(text.split_whitespace().count())
}

#[isolate::isolated]
fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.trim().parse()
}

fn main() -> anyhow::Result<()> {
    let words = count_isolated("one two".to_owned()).join()?;
    let n = parse_isolated("40".to_owned()).join()?;
    assert_eq!(words as u32 + n, 42);
    Ok(())
}
