use isolate::isolated;
use std::fmt::Display;
use std::sync::Arc;

#[isolated]
fn describe<T: Display>(value: T) -> String {
    value.to_string()
}

#[isolated]
fn total<I>(items: I) -> u64
where
    I: IntoIterator<Item = u64>,
{
    items.into_iter().sum()
}

#[isolated]
fn shared_len<T: Sync + Send + 'static>(shared: Arc<Vec<T>>) -> usize {
    shared.len()
}

#[isolated]
fn made<T: Default>() -> T {
    T::default()
}

#[isolated]
fn fallible<T: std::str::FromStr>(text: String) -> Result<T, T::Err> {
    text.parse()
}

#[isolated]
fn render(value: impl Display) -> impl Display {
    format!("<{value}>")
}

#[isolated]
fn apply(f: impl FnOnce(u32) -> u32, x: u32) -> u32 {
    f(x)
}

#[isolated]
fn sum_array<const N: usize>(values: [u32; N]) -> u32 {
    values.iter().sum()
}

fn main() {
    assert_eq!(describe_isolated(5).join().unwrap(), "5");
    assert_eq!(total_isolated(vec![1, 2, 3]).join().unwrap(), 6);
    assert_eq!(shared_len_isolated(Arc::new(vec![1, 2])).join().unwrap(), 2);
    assert_eq!(made_isolated::<u8>().join().unwrap(), 0);
    assert_eq!(fallible_isolated::<u16>("9".into()).join().unwrap(), 9);
    assert_eq!(render_isolated(1).join().unwrap().to_string(), "<1>");
    assert_eq!(apply_isolated(|x| x + 1, 1).join().unwrap(), 2);
    assert_eq!(sum_array_isolated([1, 2, 3]).join().unwrap(), 6);
}
