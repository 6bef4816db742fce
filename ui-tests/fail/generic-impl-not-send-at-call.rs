use std::rc::Rc;

pub struct Wrapper<T>(T);

impl<T> Wrapper<T> {
    #[isolate::isolated]
    fn into_inner(self) -> T {
        self.0
    }
}

fn main() {
    let _ = Wrapper(Rc::new(1)).into_inner_isolated().join();
}
