use isolate::isolated;

static TABLE: [u32; 3] = [1, 2, 3];

#[isolated]
fn lookup(table: &'static [u32], index: usize) -> Option<u32> {
    table.get(index).copied()
}

#[isolated]
fn label(prefix: &'static str, callback: fn(&str) -> usize) -> usize {
    callback(prefix)
}

fn main() {
    assert_eq!(lookup_isolated(&TABLE, 1).join().unwrap(), Some(2));
    assert_eq!(label_isolated("abc", str::len).join().unwrap(), 3);
}
