//! A provided method under #[isolated] keeps its trait dyn-compatible: the
//! sibling is bound by `Self: Sized`, so it is left out of the vtable and
//! called on concrete types.

pub trait Plugin: Send {
    fn name(&self) -> String;

    #[isolate::isolated]
    fn run(self: Box<Self>) -> String {
        self.name()
    }
}

struct X;

impl Plugin for X {
    fn name(&self) -> String {
        "x".to_owned()
    }
}

fn main() {
    let p: Box<dyn Plugin> = Box::new(X);
    assert_eq!(p.name(), "x");
    assert_eq!(p.run(), "x");
    assert_eq!(Box::new(X).run_isolated().join().unwrap(), "x");
}
