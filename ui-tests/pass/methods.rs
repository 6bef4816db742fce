use isolate::{isolated, IsolateError};
use std::sync::Arc;

#[derive(Clone, Debug)]
pub struct Parser {
    separator: char,
}

impl Parser {
    #[isolated]
    pub fn new(separator: char) -> Self {
        Parser { separator }
    }

    #[isolated]
    fn split(self, text: String) -> Vec<String> {
        text.split(self.separator).map(str::to_owned).collect()
    }

    #[isolated]
    fn boxed(self: Box<Self>, text: String) -> usize {
        text.matches(self.separator).count()
    }

    #[isolated]
    fn shared(self: Arc<Self>, text: String) -> bool {
        text.contains(self.separator)
    }

    #[isolated]
    fn mutable(mut self, separator: char) -> char {
        self.separator = separator;
        self.separator
    }

    #[isolated]
    fn load(path: std::path::PathBuf) -> std::io::Result<Self> {
        std::fs::read_to_string(path).map(|text| Parser { separator: text.chars().next().unwrap_or(',') })
    }
}

fn main() {
    let parser = Parser::new_isolated(',').join().unwrap();
    assert_eq!(parser.clone().split_isolated("a,b".to_owned()).join().unwrap(), ["a", "b"]);
    assert_eq!(Box::new(parser.clone()).boxed_isolated("a,b,c".to_owned()).join().unwrap(), 2);
    assert!(Arc::new(parser.clone()).shared_isolated("a,b".to_owned()).join().unwrap());
    assert_eq!(parser.mutable_isolated(';').join().unwrap(), ';');
    assert!(matches!(
        Parser::load_isolated("/no/such/file".into()).join().unwrap_err(),
        IsolateError::Failed { .. }
    ));
}
