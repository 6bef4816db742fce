//! A trait method with a default body: the sibling is a provided method of
//! the trait too, which every implementor inherits. `Self` must be able to
//! move to another thread where the sibling is called.
use isolate::isolated;

trait Job: Sized {
    fn size(&self) -> u32;

    #[isolated]
    fn run(self) -> u32 {
        self.size() * 2
    }
}

struct Small;

impl Job for Small {
    fn size(&self) -> u32 {
        21
    }
}

fn main() {
    assert_eq!(Small.run_isolated().join().unwrap(), 42);
}
