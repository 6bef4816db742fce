//! `IsolateError` as an ordinary error: one readable line that carries the
//! cause, a `source()` chain that goes on from the cause without repeating
//! it, and `?` into `anyhow` and boxed errors from a handle whose own error
//! is a concrete type, `anyhow::Error` or `Box<dyn Error + Send + Sync>`.

use std::borrow::Cow;
use std::error::Error;
use std::fmt;
use std::io;

use anyhow::Context as _;
use isolate::IsolateError;

type BoxError = Box<dyn Error + Send + Sync>;

/// The options of every failing isolate here: named, so that each message
/// names it.
fn settings() -> isolate::Builder {
    isolate::Builder::new().name("settings")
}

fn failing_io() -> isolate::IsolateHandle<u8, io::Error> {
    settings().run(isolate::Fold(|| {
        Err(io::Error::new(io::ErrorKind::NotFound, "no config file"))
    }))
}

/// An anyhow error of two layers: a context over an I/O error.
fn failing_anyhow() -> isolate::IsolateHandle<u8, anyhow::Error> {
    settings().run(isolate::Fold(|| {
        Err(io::Error::new(io::ErrorKind::NotFound, "no config file")).context("loading settings")
    }))
}

/// A concrete error with a source, boxed: two layers.
#[derive(Debug)]
struct Settings(io::Error);

impl fmt::Display for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("loading settings")
    }
}

impl Error for Settings {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.0)
    }
}

fn failing_boxed() -> isolate::IsolateHandle<u8, BoxError> {
    settings().run(isolate::Fold(|| {
        let cause = io::Error::new(io::ErrorKind::NotFound, "no config file");
        Err(Box::new(Settings(cause)) as BoxError)
    }))
}

/// Every message of an error chain, outermost first.
fn chain(err: &(dyn Error + 'static)) -> Vec<String> {
    std::iter::successors(Some(err), |&e| e.source())
        .map(ToString::to_string)
        .collect()
}

#[test]
fn failed_shows_the_cause_in_one_line() {
    let err = failing_io().join().unwrap_err();
    assert_eq!(
        err.to_string(),
        "isolate 'settings' returned an error: no config file"
    );
    // The cause is in the message, so it is not the `source()` as well.
    assert!(err.source().is_none());
}

#[test]
fn every_variant_displays_one_readable_line_that_names_the_isolate() {
    let named = || Some("loader".into());
    let errors: [IsolateError<&str>; 5] = [
        IsolateError::Failed {
            isolate: named(),
            error: "no input",
        },
        IsolateError::Cancelled { isolate: named() },
        IsolateError::TimedOut { isolate: named() },
        IsolateError::Spawn {
            isolate: named(),
            error: io::Error::other("no threads"),
        },
        IsolateError::EndedWithoutResult { isolate: named() },
    ];
    let shown: Vec<String> = errors.iter().map(ToString::to_string).collect();
    assert_eq!(
        shown,
        [
            "isolate 'loader' returned an error: no input",
            "isolate 'loader' was cancelled before it produced a value",
            "isolate 'loader' timed out",
            "isolate 'loader' could not be started: no threads",
            "isolate 'loader' ended without producing a value",
        ]
    );
    let unnamed: IsolateError = IsolateError::TimedOut { isolate: None };
    assert_eq!(unnamed.to_string(), "an isolate timed out");
    assert_eq!(unnamed.isolate_name(), None);
}

#[test]
fn every_way_an_isolate_fails_names_it() {
    use std::time::Duration;

    isolate::print_panics(false);
    let loader = || isolate::Builder::new().name("loader");
    let timed_out = loader()
        .run(|| {
            while !isolate::is_cancelled() {
                std::thread::yield_now();
            }
        })
        .join_timeout(Duration::from_millis(1))
        .unwrap_err();
    let limited = loader()
        .timeout(Duration::from_millis(1))
        .run(|| {
            while !isolate::is_cancelled() {
                std::thread::yield_now();
            }
        })
        .join()
        .unwrap_err();
    let exited = loader()
        .run(|| -> u8 { isolate::exit() })
        .join()
        .unwrap_err();
    let panicked = loader().run(|| -> u8 { panic!("bad") }).join().unwrap_err();
    let failed = loader()
        .run(isolate::Fold(|| Err::<u8, _>("no")))
        .join()
        .unwrap_err();
    for err in [&timed_out, &limited, &exited, &panicked] {
        assert_eq!(err.isolate_name(), Some("loader"), "{err:?}");
        assert!(err.to_string().starts_with("isolate 'loader' "), "{err}");
    }
    assert_eq!(failed.isolate_name(), Some("loader"));
    assert_eq!(failed.to_string(), "isolate 'loader' returned an error: no");
    // A worker's error listener sees the name as well.
    let worker = loader()
        .start_paused()
        .spawn(isolate::Fold(|_: isolate::Port<(), ()>| {
            Err::<(), _>("no input")
        }));
    let (tx, rx) = std::sync::mpsc::channel();
    worker.on_error(move |error| tx.send(error.to_string()).unwrap());
    worker.start();
    assert_eq!(
        rx.recv().unwrap(),
        "isolate 'loader' returned an error: no input"
    );
    assert!(worker.into_handle().join().is_err());
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
fn question_mark_into_anyhow_from_a_concrete_error() {
    fn load() -> anyhow::Result<u8> {
        Ok(failing_io().join()?)
    }
    let err = load().unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "isolate 'settings' returned an error: no config file"
    );
    // The typed error is still there, for whoever downcasts.
    let isolate_err = err.downcast::<IsolateError<io::Error>>().unwrap();
    assert_eq!(
        isolate_err.into_failed().unwrap().kind(),
        io::ErrorKind::NotFound
    );
}

#[test]
fn question_mark_into_anyhow_from_an_anyhow_error_keeps_its_chain() {
    fn load() -> anyhow::Result<u8> {
        Ok(failing_anyhow().join()?)
    }
    let err = load().unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "isolate 'settings' returned an error: loading settings: no config file"
    );
    let debug = format!("{err:?}");
    assert!(
        debug.starts_with("isolate 'settings' returned an error: loading settings"),
        "{debug}"
    );
    assert!(
        debug.contains("Caused by:") && debug.contains("no config file"),
        "{debug}"
    );
    assert!(err.root_cause().is::<io::Error>());
}

#[test]
fn question_mark_into_anyhow_from_a_boxed_error_keeps_its_chain() {
    fn load() -> anyhow::Result<u8> {
        Ok(failing_boxed().join()?)
    }
    let err = load().unwrap_err();
    assert_eq!(
        format!("{err:#}"),
        "isolate 'settings' returned an error: loading settings: no config file"
    );
}

#[test]
fn question_mark_into_a_boxed_error_from_each_kind_of_error() {
    fn from_io() -> Result<u8, BoxError> {
        Ok(failing_io().join()?)
    }
    fn from_anyhow() -> Result<u8, BoxError> {
        Ok(failing_anyhow().join()?)
    }
    fn from_boxed() -> Result<u8, BoxError> {
        Ok(failing_boxed().join()?)
    }
    assert_eq!(
        chain(&*from_io().unwrap_err()),
        ["isolate 'settings' returned an error: no config file"]
    );
    let two_layers = [
        "isolate 'settings' returned an error: loading settings",
        "no config file",
    ];
    assert_eq!(chain(&*from_anyhow().unwrap_err()), two_layers);
    assert_eq!(chain(&*from_boxed().unwrap_err()), two_layers);
}

#[test]
fn question_mark_keeps_the_panic_and_where_it_happened() {
    fn load() -> anyhow::Result<u8> {
        let handle =
            isolate::Builder::new()
                .name("loader")
                .run(isolate::Fold(|| -> anyhow::Result<u8> {
                    panic!("bad header")
                }));
        Ok(handle.join()?)
    }
    let err = load().unwrap_err();
    let shown = format!("{err:#}");
    assert!(
        shown.starts_with("isolate 'loader' panicked at "),
        "{shown}"
    );
    assert!(shown.contains("errors.rs:"), "{shown}");
    assert!(shown.ends_with(": bad header"), "{shown}");
    let panic = err
        .downcast::<IsolateError<anyhow::Error>>()
        .unwrap()
        .into_panic()
        .unwrap();
    assert!(panic.location().unwrap().file().ends_with("errors.rs"));
    assert_eq!(panic.message(), Some("bad header"));
}

#[test]
fn a_string_error_is_an_error_too() {
    fn load() -> Result<u8, BoxError> {
        Ok(isolate::run(isolate::Fold(|| Err::<u8, _>(String::from("nope")))).join()?)
    }
    assert_eq!(
        load().unwrap_err().to_string(),
        "an isolate returned an error: nope"
    );
}

#[test]
fn debug_shows_the_variant_and_its_cause() {
    let err = failing_io().join().unwrap_err();
    let debug = format!("{err:?}");
    assert!(
        debug.starts_with("Failed { isolate: Some(\"settings\"), error: Custom {"),
        "{debug}"
    );
    assert!(debug.contains("no config file"), "{debug}");
}

#[test]
fn into_failed_unwraps_only_a_failure() {
    let err = failing_io().join().unwrap_err();
    assert!(matches!(err, IsolateError::Failed { .. }));
    assert_eq!(err.into_failed().unwrap().kind(), io::ErrorKind::NotFound);
    let err = isolate::run(|| -> u8 { panic!("x") }).join().unwrap_err();
    assert!(matches!(err, IsolateError::Panicked(_)));
    assert!(err.into_failed().is_none());
}

#[test]
fn the_current_name_borrowed_when_static_owned_when_built() {
    let built = isolate::Builder::new()
        .name(String::from("indexer"))
        .run(|| format!("[{}]", isolate::current_name().as_deref().unwrap_or("?")));
    assert_eq!(built.join().unwrap(), "[indexer]");
    assert_eq!(isolate::current_name().as_deref().unwrap_or("?"), "?");
    let owned = isolate::Builder::new()
        .name(String::from("indexer"))
        .run(isolate::current_name);
    assert!(matches!(owned.join().unwrap(), Some(Cow::Owned(name)) if name == "indexer"));
    let borrowed = isolate::Builder::new()
        .name("indexer")
        .run(isolate::current_name);
    assert!(matches!(
        borrowed.join().unwrap(),
        Some(Cow::Borrowed("indexer"))
    ));
}
