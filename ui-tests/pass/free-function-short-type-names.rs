//! Free functions whose types have names like type parameters (`E`, `V2`,
//! `U3`) or name the function's own const parameter (`Buf<N>`): the source
//! file says they are free, so the sibling calls `fill`, not `Self::fill`.

pub struct Buf<const N: usize>([u8; N]);

#[isolate::isolated]
pub fn fill<const N: usize>(b: Buf<N>) -> usize {
    b.0.len()
}

pub type V2 = (f32, f32);

#[isolate::isolated]
pub fn len(p: V2) -> f32 {
    p.0 + p.1
}

#[derive(Debug)]
pub struct E;

#[isolate::isolated]
pub fn check(x: u8) -> Result<u8, E> {
    Ok(x)
}

pub struct U3;

#[isolate::isolated]
pub fn norm(v: Vec<U3>) -> usize {
    v.len()
}

fn main() {
    assert_eq!(fill_isolated(Buf([0; 4])).join().unwrap(), 4);
    assert_eq!(len_isolated((1.0, 2.0)).join().unwrap(), 3.0);
    assert_eq!(check_isolated(7).join().unwrap(), 7);
    assert_eq!(norm_isolated(vec![U3, U3]).join().unwrap(), 2);
}
