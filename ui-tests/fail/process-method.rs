struct Parser;

#[isolate::isolated]
impl Parser {
    #[isolated(process)]
    fn parse(self, text: String) -> usize {
        text.len()
    }
}

fn main() {}
