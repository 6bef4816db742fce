//! Type parameters that no argument mentions: a turbofish on the sibling
//! reaches the function.
use isolate::isolated;

#[isolated]
fn size_of<T>() -> usize {
    std::mem::size_of::<T>()
}

#[isolated]
fn parse_or_default<T: std::str::FromStr + Default>(text: String) -> T {
    text.parse().unwrap_or_default()
}

pub struct Sizes;

impl Sizes {
    #[isolated]
    fn of<T>() -> Self {
        let _ = std::mem::size_of::<T>();
        Sizes
    }
}

fn main() {
    assert_eq!(size_of_isolated::<u64>().join().unwrap(), 8);
    assert_eq!(parse_or_default_isolated::<u8>("7".into()).join().unwrap(), 7);
    let Sizes = Sizes::of_isolated::<u16>().join().unwrap();
}
