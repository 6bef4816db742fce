//! Lint levels reach the sibling: a parameter's `#[allow(..)]` and
//! `#[expect(..)]` its parameter of the same name, and the function's
//! `#[expect(..)]`, as `#[allow(..)]` (the sibling may not trigger the lint,
//! and an unfulfilled expectation would warn).
#![deny(non_snake_case)]

#[isolate::isolated]
pub fn solve(#[allow(non_snake_case)] A: Vec<f64>, b: Vec<f64>) -> f64 {
    A[0] * b[0]
}

#[isolate::isolated]
pub fn scale(#[expect(non_snake_case)] K: f64, x: f64) -> f64 {
    K * x
}

#[isolate::isolated]
#[expect(non_snake_case)]
pub fn shift(D: f64, x: f64) -> f64 {
    D + x
}

#[isolate::isolated]
#[expect(non_snake_case, reason = "the math's names")]
pub fn dot(X: Vec<f64>, Y: Vec<f64>) -> f64 {
    X.iter().zip(&Y).map(|(x, y)| x * y).sum()
}

fn main() {
    assert_eq!(solve_isolated(vec![2.0], vec![3.0]).join().unwrap(), 6.0);
    assert_eq!(scale_isolated(2.0, 3.0).join().unwrap(), 6.0);
    assert_eq!(shift_isolated(2.0, 3.0).join().unwrap(), 5.0);
    assert_eq!(dot_isolated(vec![1.0, 2.0], vec![3.0, 4.0]).join().unwrap(), 11.0);
}
