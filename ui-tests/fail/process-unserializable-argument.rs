use std::rc::Rc;

struct Config {
    verbose: bool,
}

#[isolate::isolated(process)]
fn run(config: Config, data: Rc<Vec<u8>>) -> usize {
    usize::from(config.verbose) + data.len()
}

fn main() {}
