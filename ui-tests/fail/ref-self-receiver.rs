struct Index(Vec<String>);

impl Index {
    #[isolate::isolated]
    fn len(&self) -> usize {
        self.0.len()
    }
}

fn main() {}
