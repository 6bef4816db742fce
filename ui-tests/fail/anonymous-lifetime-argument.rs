pub struct Context<'a, S>(&'a S);

#[isolate::isolated]
fn visit<S>(context: Context<'_, S>) -> usize {
    let _ = context;
    1
}

fn main() {}
