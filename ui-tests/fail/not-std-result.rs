pub struct Result<T> {
    pub value: T,
}

#[isolate::isolated]
fn wrap(value: u32) -> Result<u32> {
    Result { value }
}

fn main() {}
