//! The user's own dead code is still reported beside an isolated method;
//! the generated sibling is not.
#![deny(dead_code)]

pub struct Parser;

impl Parser {
    #[isolate::isolated]
    fn parse(self, text: String) -> usize {
        text.len()
    }

    fn never_called(&self) {}
}

fn main() {
    let _ = Parser.parse_isolated(String::new()).join();
}
