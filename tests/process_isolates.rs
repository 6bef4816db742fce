//! Process isolates: `#[isolated(process)]` runs the function in a child
//! process; every way the child can fail is one typed error, and the pool
//! serves the next call.

use isolate::process::CrashReason;
use isolate::{isolated, IsolateError};

#[isolated(process)]
fn add(a: u32, b: u32) -> u32 {
    a + b
}

#[isolated(process)]
fn parse(text: String) -> Result<u32, String> {
    text.trim().parse().map_err(|e| format!("{e}"))
}

#[isolated(process)]
fn quit(code: i32) {
    std::process::exit(code)
}

#[test]
fn a_value_an_error_and_an_exit_code() {
    assert_eq!(add_isolated(2, 3).join().unwrap(), 5);
    assert!(matches!(
        parse_isolated("x".into()).join(),
        Err(IsolateError::Failed(_))
    ));
    match quit_isolated(3).join() {
        Err(IsolateError::Crashed(crash)) => assert_eq!(crash.reason(), &CrashReason::Exit(3)),
        other => panic!("{other:?}"),
    }
    assert_eq!(add_isolated(4, 3).join().unwrap(), 7);
}
