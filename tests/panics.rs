//! How panics inside isolates meet the process's panic hook. The hook is
//! global, so each scenario runs in a child process (this same test binary,
//! asked for one test) and the parent reads its stderr.

mod support;

use isolate::IsolateError;
use support::{child_output, in_child, run_child};

/// A program's own hook, which prints every panic it is given.
fn install_user_hook() {
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .copied()
            .unwrap_or("?");
        eprintln!("user hook: {message}");
    }));
}

#[test]
fn isolate_panics_are_reported_once_through_the_result() {
    let stderr = run_child("scenario_default", &[]);
    assert!(!stderr.contains("inside the isolate"), "printed:\n{stderr}");
    assert!(
        stderr.contains("on a plain thread"),
        "other threads keep the hook:\n{stderr}"
    );
}

#[test]
fn scenario_default() {
    if !in_child() {
        return;
    }
    let err = isolate::run(|| panic!("inside the isolate"))
        .join()
        .unwrap_err();
    assert_eq!(
        err.into_panic().unwrap().message(),
        Some("inside the isolate")
    );
    let plain = std::thread::spawn(|| panic!("on a plain thread")).join();
    assert!(plain.is_err());
}

#[test]
fn print_panics_prints_them_too() {
    let stderr = run_child("scenario_print", &[]);
    assert!(
        stderr.contains("inside the isolate"),
        "not printed:\n{stderr}"
    );
}

#[test]
fn scenario_print() {
    if !in_child() {
        return;
    }
    isolate::print_panics(true);
    let err = isolate::run(|| panic!("inside the isolate"))
        .join()
        .unwrap_err();
    assert!(matches!(err, IsolateError::Panicked(_)));
}

#[test]
fn a_user_hook_installed_before_keeps_seeing_other_panics() {
    let stderr = run_child("scenario_hook_before", &[]);
    assert!(stderr.contains("user hook: on a plain thread"), "{stderr}");
    assert!(
        !stderr.contains("user hook: inside the isolate"),
        "{stderr}"
    );
}

#[test]
fn scenario_hook_before() {
    if !in_child() {
        return;
    }
    install_user_hook();
    let err = isolate::run(|| panic!("inside the isolate"))
        .join()
        .unwrap_err();
    assert!(err.into_panic().unwrap().location().is_some());
    assert!(std::thread::spawn(|| panic!("on a plain thread"))
        .join()
        .is_err());
}

#[test]
fn a_user_hook_installed_after_replaces_the_crates_hook() {
    let stderr = run_child("scenario_hook_after", &[]);
    assert!(stderr.contains("user hook: inside the isolate"), "{stderr}");
}

#[test]
fn scenario_hook_after() {
    if !in_child() {
        return;
    }
    isolate::run(|| ()).join().unwrap(); // the crate's hook is installed now
    install_user_hook();
    let err = isolate::run(|| panic!("inside the isolate"))
        .join()
        .unwrap_err();
    let panic = err.into_panic().unwrap();
    // Still caught and returned, but the crate's hook no longer records where.
    assert_eq!(panic.message(), Some("inside the isolate"));
    assert!(panic.location().is_none());
}

#[test]
fn a_backtrace_is_captured_when_rust_backtrace_asks() {
    run_child("scenario_backtrace", &[("RUST_BACKTRACE", "1")]);
    run_child("scenario_no_backtrace", &[]);
}

#[test]
fn scenario_backtrace() {
    if !in_child() {
        return;
    }
    let panic = isolate::run(|| panic!("deep"))
        .join()
        .unwrap_err()
        .into_panic()
        .unwrap();
    assert!(panic.backtrace_text().is_some());
}

#[test]
fn scenario_no_backtrace() {
    if !in_child() {
        return;
    }
    let panic = isolate::run(|| panic!("deep"))
        .join()
        .unwrap_err()
        .into_panic()
        .unwrap();
    assert!(panic.backtrace_text().is_none());
}

#[test]
fn a_payload_whose_drop_panics_does_not_take_down_the_pool() {
    let stderr = run_child("scenario_payload_drop_panics", &[]);
    let _ = stderr;
}

#[test]
fn scenario_payload_drop_panics() {
    if !in_child() {
        return;
    }
    struct Bomb;
    impl Drop for Bomb {
        fn drop(&mut self) {
            panic!("payload drop");
        }
    }
    // The result is dropped on the worker when nobody takes it.
    isolate::run(|| Bomb).detach();
    let err = isolate::run(|| std::panic::panic_any(Bomb))
        .join()
        .unwrap_err();
    // Dropping it here would panic in this thread: that is the caller's call.
    std::mem::forget(err);
    // The pool still serves isolates afterwards.
    for i in 0..100 {
        assert_eq!(isolate::run(move || i).join().unwrap(), i);
    }
}

#[test]
fn a_hook_that_panics_on_an_isolate_panic_aborts_as_std_does() {
    // A panic inside a panic hook is not something a library can contain:
    // std aborts the process, whatever thread it happens on. The isolate
    // changes nothing about that, and must not hang or hide it.
    let output = child_output("scenario_hook_panics", &[]);
    assert!(!output.status.success(), "the process should have aborted");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("hook failing"), "{stderr}");
}

#[test]
fn scenario_hook_panics() {
    if !in_child() {
        return;
    }
    std::panic::set_hook(Box::new(|_| panic!("hook failing")));
    isolate::print_panics(true); // so the crate's hook calls the failing one
    let _ = isolate::run(|| panic!("in the isolate")).join();
}
