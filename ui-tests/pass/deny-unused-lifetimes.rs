//! `#![deny(unused_lifetimes)]` holds for the siblings of a plain `impl`
//! block's functions, whose bounds are checked where they are called.
#![deny(unused_lifetimes)]

#[derive(Debug)]
pub struct Doc {
    text: String,
}

impl Doc {
    #[isolate::isolated]
    pub fn new(text: String) -> Self {
        Doc { text }
    }

    #[isolate::isolated]
    pub fn len(self) -> usize {
        self.text.len()
    }
}

fn main() {
    let doc = Doc::new_isolated("abc".to_owned()).join().unwrap();
    assert_eq!(doc.len_isolated().join().unwrap(), 3);
}
