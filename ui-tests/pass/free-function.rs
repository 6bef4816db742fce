use isolate::isolated;

/// Sums bytes.
#[isolated]
pub fn checksum(data: Vec<u8>) -> u64 {
    data.iter().map(|&b| u64::from(b)).sum()
}

#[isolated]
fn nothing() {}

#[isolated]
fn unit_written_out(flag: bool) -> () {
    let _ = flag;
}

fn main() {
    assert_eq!(checksum(vec![1, 2]), 3);
    let sum: Result<u64, isolate::IsolateError> = checksum_isolated(vec![1, 2]).join();
    assert_eq!(sum.unwrap(), 3);
    nothing_isolated().join().unwrap();
    unit_written_out_isolated(true).join().unwrap();
}
