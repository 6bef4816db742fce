// `fold` folds a `Result` return type: on `impl Trait` (which it cannot
// name) or on nothing returned it is refused at the option.
#[isolate::isolated(fold)]
fn opaque(n: u8) -> impl Send + 'static {
    n
}

#[isolate::isolated(fold)]
fn nothing(n: u8) {
    let _ = n;
}

fn main() {}
