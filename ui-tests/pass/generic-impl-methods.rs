//! Methods of a generic impl with the method-level attribute alone: the
//! bounds on `T` are checked where each sibling is called.
use isolate::isolated;
use std::sync::Arc;

pub struct Wrapper<T>(T);

impl<T> Wrapper<T> {
    #[isolated]
    pub fn new(value: T) -> Self {
        Wrapper(value)
    }

    #[isolated]
    pub fn into_inner(self) -> T {
        self.0
    }

    #[isolated]
    fn boxed(self: Box<Self>) -> T {
        self.0
    }

    #[isolated]
    fn shared(self: Arc<Self>) -> usize {
        Arc::strong_count(&self)
    }

    #[isolated]
    fn replace(self, value: T) -> (T, T) {
        (self.0, value)
    }

    #[isolated]
    fn load(self) -> std::io::Result<T> {
        Ok(self.0)
    }
}

pub struct Scale;

impl Scale {
    /// An associated function: `Self` in its signature says so.
    #[isolated]
    fn unit(n: u64) -> Self {
        let _ = n;
        Scale
    }

    /// `Self` in its body says so too.
    #[isolated]
    fn make(n: u64) -> u64 {
        Self::factor() * n
    }

    fn factor() -> u64 {
        2
    }
}

pub struct ID(u8);

/// A free function stays free: `ID` is a type, not an undeclared parameter.
#[isolated]
fn ident(id: ID) -> u8 {
    id.0
}

fn main() {
    assert_eq!(ident_isolated(ID(7)).join().unwrap(), 7);
    let wrapper = Wrapper::new_isolated(String::from("a")).join().unwrap();
    assert_eq!(wrapper.into_inner_isolated().join().unwrap(), "a");
    assert_eq!(Box::new(Wrapper(3u8)).boxed_isolated().join().unwrap(), 3);
    assert_eq!(Arc::new(Wrapper(3u8)).shared_isolated().join().unwrap(), 1);
    assert_eq!(Wrapper(1).replace_isolated(2).join().unwrap(), (1, 2));
    assert_eq!(Wrapper(vec![1]).load_isolated().join().unwrap(), [1]);
    let Scale = Scale::unit_isolated(1).join().unwrap();
    assert_eq!(Scale::make_isolated(3).join().unwrap(), 6);
}
