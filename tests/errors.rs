//! `IsolateError` as an ordinary error: one readable line, the function's
//! error as its `source()`, and `?` into `anyhow` and boxed errors.

use std::error::Error as _;
use std::io;

use isolate::IsolateError;

fn failing_io() -> isolate::IsolateHandle<u8, io::Error> {
    isolate::try_run(|| Err(io::Error::new(io::ErrorKind::NotFound, "no config file")))
}

#[test]
fn failed_shows_one_line_and_keeps_the_error_as_source() {
    let err = failing_io().join().unwrap_err();
    assert_eq!(err.to_string(), "the isolated function returned an error");
    let source = err.source().expect("the function's error is the source");
    assert_eq!(source.to_string(), "no config file");
}

#[test]
fn every_variant_displays_one_readable_line() {
    let cancelled: IsolateError = IsolateError::Cancelled;
    let timed_out: IsolateError = IsolateError::TimedOut;
    let ended: IsolateError = IsolateError::EndedWithoutResult;
    let spawn: IsolateError = IsolateError::Spawn(io::Error::other("no threads"));
    for err in [cancelled, timed_out, ended, spawn] {
        let shown = err.to_string();
        assert!(!shown.contains('\n') && !shown.is_empty(), "{shown:?}");
    }
    let spawn: IsolateError = IsolateError::Spawn(io::Error::other("no threads"));
    assert_eq!(spawn.source().unwrap().to_string(), "no threads");
}

#[test]
fn a_panic_displays_the_isolate_the_message_and_where() {
    let err = isolate::Builder::new()
        .name("loader")
        .run(|| -> u8 { panic!("bad header") })
        .join()
        .unwrap_err();
    let shown = err.to_string();
    assert!(
        shown.starts_with("isolate 'loader' panicked at "),
        "{shown}"
    );
    assert!(shown.contains("errors.rs:"), "{shown}");
    assert!(shown.ends_with(": bad header"), "{shown}");
}

#[test]
fn question_mark_into_anyhow() {
    fn load() -> anyhow::Result<u8> {
        Ok(failing_io().join()?)
    }
    let err = load().unwrap_err();
    let chain: Vec<String> = err.chain().map(ToString::to_string).collect();
    assert_eq!(
        chain,
        ["the isolated function returned an error", "no config file"]
    );
}

#[test]
fn question_mark_into_a_boxed_error() {
    fn load() -> Result<u8, Box<dyn std::error::Error + Send + Sync>> {
        Ok(failing_io().join()?)
    }
    assert!(load().is_err());
}

#[test]
fn helpers_classify_and_unwrap() {
    let err = failing_io().join().unwrap_err();
    assert!(err.is_failed() && !err.is_panic() && !err.is_cancelled() && !err.is_timeout());
    assert_eq!(err.into_failed().unwrap().kind(), io::ErrorKind::NotFound);
    let err = isolate::run(|| -> u8 { panic!("x") }).join().unwrap_err();
    assert!(err.is_panic());
    assert!(err.into_failed().is_none());
}

#[test]
fn errors_are_send_sync_and_static() {
    fn assert_traits<T: Send + Sync + 'static>() {}
    assert_traits::<IsolateError>();
    assert_traits::<IsolateError<io::Error>>();
    assert_traits::<isolate::PoolBuildError>();
}
