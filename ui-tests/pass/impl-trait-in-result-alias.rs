//! `impl Trait` inside a `Result` alias: the handle carries the anonymous
//! type as its value, and the alias's error.
use isolate::isolated;

#[isolated]
fn numbers(n: u32) -> std::io::Result<impl Iterator<Item = u32> + Send> {
    Ok(0..n)
}

#[isolated]
fn shown(n: u32) -> Result<impl std::fmt::Display, String> {
    Ok(n)
}

fn main() {
    assert_eq!(numbers_isolated(4).join().unwrap().sum::<u32>(), 6);
    assert_eq!(shown_isolated(5).join().unwrap().to_string(), "5");
}
