//! A type parameter that only a bound mentions (`K`) is required to be
//! `'static` by the sibling, as the function moved to the isolate names it.
use isolate::isolated;

#[isolated]
fn sorted_by_key<K: Ord, F: FnMut(&u32) -> K + Send + 'static>(mut values: Vec<u32>, key: F) -> Vec<u32> {
    values.sort_by_key(key);
    values
}

#[isolated]
fn first_len(items: impl IntoIterator<Item = impl AsRef<str>>) -> usize {
    items.into_iter().next().map_or(0, |item| item.as_ref().len())
}

#[isolated]
fn discard<K>(make: impl FnOnce() -> K) -> bool {
    let _ = make();
    true
}

fn main() {
    assert!(discard_isolated(|| String::from("only inside `impl Trait`")).join().unwrap());
    let sorted = sorted_by_key_isolated(vec![3, 1, 2], |&v| std::cmp::Reverse(v));
    assert_eq!(sorted.join().unwrap(), [3, 2, 1]);
    assert_eq!(first_len_isolated(vec!["abc"]).join().unwrap(), 3);
}
