#[isolate::isolated(process)]
fn size<T: serde::Serialize>(value: T) -> usize {
    std::mem::size_of_val(&value)
}

fn main() {}
