// The attribute imported under another name is still found in the file:
// an associated function whose sibling called a free function of the same
// name (silently, the wrong one), and a free function with a type named
// like a type parameter, taken for an associated one.
use isolate::isolated as offload;

#[derive(Debug, PartialEq)]
pub struct Parser(u8);

#[derive(Debug)]
pub struct E;

#[offload]
fn make() -> Parser {
    Parser(1)
}

impl Parser {
    #[offload]
    fn make() -> Parser {
        Parser(2)
    }
}

#[offload]
fn positive(v: u8) -> Result<u8, E> {
    if v > 0 {
        Ok(v)
    } else {
        Err(E)
    }
}

fn main() {
    assert_eq!(make_isolated().join().unwrap(), Parser(1));
    assert_eq!(Parser::make_isolated().join().unwrap(), Parser(2));
    assert_eq!(positive_isolated(3).join().unwrap(), 3);
}
