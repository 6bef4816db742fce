//! An inner attribute at the top of the body stays in the body; a
//! deprecated function's own sibling does not warn (its callers are warned
//! through the copied `#[deprecated]`).
#![deny(warnings)]
use isolate::isolated;

#[isolated]
fn quiet(n: u32) -> u32 {
    #![allow(clippy::let_and_return)]
    let doubled = n * 2;
    doubled
}

#[deprecated = "use `quiet`"]
#[isolated]
pub fn old(n: u32) -> u32 {
    n
}

fn main() {
    assert_eq!(quiet_isolated(2).join().unwrap(), 4);
    #[allow(deprecated)]
    let handle = old_isolated(1);
    assert_eq!(handle.join().unwrap(), 1);
}
