//! The Dart SDK's own tests of `Isolate.run`, ported: each outcome through
//! `.join()` and through `.await`.
//!
//! Dart's cases: a value, an async value, an error, an async error, an
//! uncaught failure inside an async computation, a computation that hangs
//! (ends without a result), an isolate that kills itself, and a global
//! written inside the isolate staying unchanged in the caller.

use std::cell::Cell;
use std::fmt;

use isolate::IsolateError;

#[derive(Debug, PartialEq)]
struct RemoteError(&'static str);

impl fmt::Display for RemoteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.0)
    }
}

impl std::error::Error for RemoteError {}

/// Runs the same assertion on a handle's outcome joined and awaited.
macro_rules! both_ways {
    ($make:expr, |$outcome:ident| $check:expr) => {{
        let $outcome = $make.join();
        $check;
        let $outcome = futures::executor::block_on($make);
        $check;
    }};
}

#[test]
fn value() {
    both_ways!(isolate::run(|| 42), |outcome| assert_eq!(
        outcome.unwrap(),
        42
    ));
}

#[test]
fn async_value() {
    both_ways!(
        isolate::run(isolate::Async(|| async {
            std::future::ready(()).await;
            42
        })),
        |outcome| assert_eq!(outcome.unwrap(), 42)
    );
}

#[test]
fn error() {
    both_ways!(
        isolate::run(isolate::Fold(|| Err::<u8, _>(RemoteError("sync error")))),
        |outcome| assert!(matches!(
            outcome,
            Err(IsolateError::Failed {
                error: RemoteError("sync error"),
                ..
            })
        ))
    );
}

#[test]
fn async_error() {
    both_ways!(
        isolate::Builder::new().run(isolate::Fold(isolate::Async(|| async {
            Err::<u8, _>(RemoteError("async error"))
        }))),
        |outcome| assert!(matches!(
            outcome,
            Err(IsolateError::Failed {
                error: RemoteError("async error"),
                ..
            })
        ))
    );
}

#[test]
fn uncaught_failure_inside_an_async_computation() {
    both_ways!(
        isolate::run(isolate::Async(|| async {
            std::future::ready(()).await;
            let values: Vec<u8> = Vec::new();
            values[3] // out of bounds: a panic, not an Err
        })),
        |outcome| {
            let panic = outcome.unwrap_err().into_panic().expect("a panic");
            assert!(panic.message().unwrap().contains("index out of bounds"));
        }
    );
}

#[test]
fn hanging_computation_ends_without_result() {
    // Dart: `Isolate.run(() => Completer().future)`. Nothing can ever complete
    // the future (no waker is left), so the isolate ends instead of hanging.
    both_ways!(
        isolate::run(isolate::Async(std::future::pending::<u8>)),
        |outcome| assert!(matches!(
            outcome,
            Err(IsolateError::EndedWithoutResult { .. })
        ))
    );
}

#[test]
fn isolate_kills_itself() {
    both_ways!(
        isolate::run(|| -> u8 {
            isolate::exit();
        }),
        |outcome| assert!(matches!(
            outcome,
            Err(IsolateError::EndedWithoutResult { .. })
        ))
    );
}

#[test]
fn global_written_in_the_isolate_is_unchanged_in_the_caller() {
    thread_local! {
        static VARIABLE: Cell<u32> = const { Cell::new(0) };
    }
    both_ways!(
        isolate::run(|| {
            VARIABLE.with(|v| v.set(1));
            VARIABLE.with(Cell::get)
        }),
        |outcome| {
            assert_eq!(outcome.unwrap(), 1);
            assert_eq!(VARIABLE.with(Cell::get), 0);
        }
    );
}
