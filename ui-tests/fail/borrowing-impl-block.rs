pub struct View<'a>(&'a str);

#[isolate::isolated]
impl<'a> View<'a> {
    #[isolate::isolated]
    fn len(self) -> usize {
        self.0.len()
    }
}

fn main() {}
