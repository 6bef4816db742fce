//! `fold` folds a return type whatever its name: a `Result` alias whose last
//! path segment is not `Result` (`MyResult<T>`), which is otherwise returned
//! whole.
use isolate::{isolated, IsolateError, IsolateHandle};

#[derive(Debug, PartialEq)]
pub struct MyError;

pub type MyResult<T> = Result<T, MyError>;

#[isolated(fold)]
fn parse(n: u32) -> MyResult<u32> {
    if n > 0 { Ok(n) } else { Err(MyError) }
}

#[isolated(fold)]
fn shown(n: u32) -> MyResult<impl std::fmt::Display + Send + 'static> {
    Ok(n)
}

// Without `fold`, the alias is a plain value.
#[isolated]
fn whole(n: u32) -> MyResult<u32> {
    Ok(n)
}

fn main() {
    let handle: IsolateHandle<u32, MyError> = parse_isolated(3);
    assert_eq!(handle.join().unwrap(), 3);
    assert!(matches!(parse_isolated(0).join(), Err(IsolateError::Failed { error: MyError, .. })));
    assert_eq!(shown_isolated(4).join().unwrap().to_string(), "4");
    let handle: IsolateHandle<MyResult<u32>> = whole_isolated(5);
    assert_eq!(handle.join().unwrap(), Ok(5));
}
