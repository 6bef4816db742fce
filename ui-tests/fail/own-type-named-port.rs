pub struct Port<A, B>(pub A, pub B);

#[isolate::isolated]
fn work(p: Port<u8, u16>) -> u8 {
    p.0
}

fn main() {}
