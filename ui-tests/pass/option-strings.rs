//! Options that take a string where other crates' attributes do: `crate`
//! as serde's and tokio's take it, and `stack_size` in the units of
//! `memory_limit`.

mod renamed {
    pub use isolate as iso;
}

#[isolate::isolated(crate = "renamed::iso")]
fn through_string_path(n: u8) -> u8 {
    n
}

#[isolate::isolated(stack_size = "16MiB")]
fn deep(n: u64) -> u64 {
    if n == 0 { 0 } else { 1 + deep(n - 1) }
}

fn main() {
    assert_eq!(through_string_path_isolated(3).join().unwrap(), 3);
    assert_eq!(deep_isolated(100_000).join().unwrap(), 100_000);
}
