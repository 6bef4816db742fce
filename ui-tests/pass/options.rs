use isolate::isolated;

const STACK: usize = 16 << 20;

#[isolated(name = "indexer", dedicated)]
fn index(n: u32) -> Option<String> {
    assert_eq!(isolate::current_name().as_deref(), Some("indexer"));
    let _ = n;
    std::thread::current().name().map(str::to_owned)
}

#[isolated(stack_size = STACK, wrapper = deep_on_isolate)]
fn deep(n: u64) -> u64 {
    if n == 0 { 0 } else { 1 + deep(n - 1) }
}

mod renamed {
    pub use isolate as iso;
}

#[isolate::isolated(crate = renamed::iso)]
fn through_reexport(n: u8) -> u8 {
    n
}

fn main() {
    let handle = index_isolated(1);
    assert_eq!(handle.name(), "indexer");
    assert_eq!(handle.join().unwrap().as_deref(), Some("indexer"));
    assert_eq!(deep_on_isolate(100_000).join().unwrap(), 100_000);
    assert_eq!(through_reexport_isolated(3).join().unwrap(), 3);
}
