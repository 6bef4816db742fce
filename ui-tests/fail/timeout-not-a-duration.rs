// A timeout string must be a whole number and a unit.
#[isolate::isolated(timeout = "1.5 seconds")]
fn slow() {}

fn main() {}
