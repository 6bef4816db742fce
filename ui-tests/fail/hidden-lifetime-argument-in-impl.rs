//! A type alias that hides a borrow (`syn::parse::ParseStream` is one), on
//! an associated function with the method-level attribute alone: one region
//! error at the function, naming the parameter.
pub struct Buffer<'a>(&'a [u8]);
pub type Stream<'a> = &'a Buffer<'a>;

pub struct Parser;

impl Parser {
    #[isolate::isolated]
    pub fn parse(input: Stream) -> usize {
        input.0.len()
    }
}

fn main() {}
