//! An associated function that names neither `self` nor `Self`, with the
//! method-level attribute alone: the attribute reads the source file to learn
//! that the function stands in an `impl` block, and the sibling calls
//! `Self::make`. Functions of the same name elsewhere in the file (free, or
//! in another `impl` block) are told apart by their signature and body.
use isolate::isolated;

pub struct Scale;

impl Scale {
    #[isolated]
    pub fn make(n: u64) -> u64 {
        n * 3
    }

    #[isolated]
    fn parse(text: String) -> Result<u64, std::num::ParseIntError> {
        text.trim().parse()
    }
}

pub struct Wrapper<T>(T);

impl<T> Wrapper<T> {
    /// In a generic impl too, where the function names none of its parameters.
    #[isolated]
    pub fn label() -> &'static str {
        "wrapper"
    }

    /// The same name as `Scale::parse`, another body.
    #[isolated]
    fn parse(text: String) -> Result<u64, std::num::ParseIntError> {
        text.parse::<u64>().map(|n| n + 1)
    }
}

mod nested {
    pub struct Inner;

    impl Inner {
        #[isolate::isolated]
        pub fn answer() -> u32 {
            42
        }
    }
}

#[isolated]
fn double(n: u64) -> u64 {
    n * 2
}

/// A free function named as `Scale::make`.
#[isolated]
fn make(n: u64) -> u64 {
    n * 5
}

fn main() {
    assert_eq!(Scale::make_isolated(2).join().unwrap(), 6);
    assert_eq!(Scale::parse_isolated(" 7 ".to_owned()).join().unwrap(), 7);
    assert!(Scale::parse_isolated("x".to_owned()).join().is_err());
    assert_eq!(Wrapper::<u8>::label_isolated().join().unwrap(), "wrapper");
    assert_eq!(nested::Inner::answer_isolated().join().unwrap(), 42);
    assert_eq!(double_isolated(4).join().unwrap(), 8);
    assert_eq!(make_isolated(2).join().unwrap(), 10);
    assert_eq!(Wrapper::<u8>::parse_isolated("1".to_owned()).join().unwrap(), 2);
}
