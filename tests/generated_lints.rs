//! The siblings `#[isolated]` generates draw no lint that the user's own
//! code does not: their tokens carry the user's spans, so rustc and clippy
//! read them as the user's. CI's `cargo clippy --workspace --all-targets --
//! -D warnings` compiles this file under clippy, with the lints below
//! denied; `cargo test` runs the functions.
#![deny(
    clippy::multiple_bound_locations,
    clippy::type_repetition_in_bounds,
    clippy::trait_duplication_in_bounds,
    non_snake_case,
    unused_lifetimes
)]

use isolate::isolated;

// Inline bounds: the sibling's `'static` and `IsolateArg` join them.
#[isolated]
pub fn generic<T: Clone + Send + 'static>(x: T) -> Vec<T> {
    vec![x.clone(), x]
}

// A `where` clause: the sibling's bounds join its predicate for the type.
#[isolated]
pub fn in_where<T>(x: T) -> Option<T>
where
    T: Clone + Send,
{
    Some(x)
}

// Bounds on a type that is not a parameter, and on the result.
#[isolated]
pub fn in_vec<T: Send + Clone>(items: Vec<T>) -> Result<Vec<T>, String>
where
    Vec<T>: Clone,
{
    Ok(items.clone())
}

pub struct Doc {
    text: String,
}

impl Doc {
    // Bounds on `Self`, checked where the sibling is called.
    #[isolated]
    pub fn new(text: String) -> Self {
        Doc { text }
    }

    #[isolated]
    pub fn size(self) -> usize {
        self.text.len()
    }
}

pub struct Wrap<T>(T);

impl<T: Clone + Send + 'static> Wrap<T> {
    // A method alone: its bounds on `Self` and `Vec<T>` are checked where
    // the sibling is called.
    #[isolated]
    pub fn twice(self) -> Vec<T> {
        vec![self.0.clone(), self.0]
    }
}

// A default method whose by-value body needs `Self: Sized`: the sibling
// does not repeat it.
pub trait Measure: Send + 'static {
    #[isolated]
    fn measure(self, n: u32) -> u32
    where
        Self: Sized,
    {
        n
    }
}

impl Measure for Doc {}

// A name ending in `_`: the sibling is `type_isolated`, not `type__isolated`.
#[isolated]
pub fn type_(n: u8) -> u8 {
    n
}

#[test]
fn the_siblings_run() {
    assert_eq!(type_isolated(5).join().unwrap(), 5);
    let doc = Doc::new_isolated("x".to_owned()).join().unwrap();
    assert_eq!(doc.measure_isolated(6).join().unwrap(), 6);
    assert_eq!(generic_isolated(1_u8).join().unwrap(), [1, 1]);
    assert_eq!(in_where_isolated(2_u8).join().unwrap(), Some(2));
    assert_eq!(in_vec_isolated(vec![3_u8]).join().unwrap(), [3]);
    let doc = Doc::new_isolated("abc".to_owned()).join().unwrap();
    assert_eq!(doc.size_isolated().join().unwrap(), 3);
    assert_eq!(Wrap(4_u8).twice_isolated().join().unwrap(), [4, 4]);
}
