// `crate` takes a path (or a string holding one), `wrapper` a name.
#[isolate::isolated(crate = "not a path")]
fn one() {}

#[isolate::isolated(wrapper = "not a name")]
fn two() {}

#[isolate::isolated(wrapper = some::path)]
fn three() {}

fn main() {}
