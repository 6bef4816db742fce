struct Index(Vec<String>);

impl Index {
    #[isolate::isolated]
    fn clear(&mut self) {
        self.0.clear();
    }
}

fn main() {}
