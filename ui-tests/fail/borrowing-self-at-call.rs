pub struct View<'a>(&'a str);

impl<'a> View<'a> {
    #[isolate::isolated]
    fn len(self) -> usize {
        self.0.len()
    }
}

fn main() {
    let text = String::from("abc");
    let _ = View(&text).len_isolated().join();
}
