//! The process around isolates: it exits normally while isolates still run
//! (pooled, dedicated, detached or with dropped handles), without waiting for
//! them and without hanging.

mod support;

use std::time::{Duration, Instant};

use support::{in_child, run_child};

#[test]
fn the_process_exits_while_isolates_still_run() {
    let started = Instant::now();
    run_child("scenario_return_with_isolates_running", &[]);
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "exiting waited for the isolates"
    );
}

#[test]
fn scenario_return_with_isolates_running() {
    if !in_child() {
        return;
    }
    let long = || std::thread::sleep(Duration::from_secs(60));
    isolate::run(long).detach();
    isolate::Builder::new().dedicated().run(long).detach();
    let dropped = isolate::run(long);
    drop(dropped);
    let _kept = isolate::run(isolate::Async(std::future::pending::<()>));
    // Returning ends the test; the harness then exits the process.
}

#[test]
fn an_invalid_environment_variable_is_a_typed_error_not_a_panic() {
    run_child(
        "scenario_invalid_max_threads",
        &[(isolate::MAX_THREADS_VAR, "lots")],
    );
}

#[test]
fn scenario_invalid_max_threads() {
    if !in_child() {
        return;
    }
    // Configuring reports the variable...
    match isolate::PoolBuilder::new().build_global() {
        Err(isolate::PoolBuildError::InvalidVariable { name, value }) => {
            assert_eq!(name, "ISOLATE_MAX_THREADS");
            assert_eq!(value, "lots");
        }
        other => panic!("expected InvalidVariable, got {other:?}"),
    }
    // ...and without configuring, every pooled isolate says why it cannot run.
    match isolate::run(|| 1).join() {
        Err(isolate::IsolateError::Spawn { error: e, .. }) => {
            assert!(
                e.to_string().contains("ISOLATE_MAX_THREADS=\"lots\""),
                "{e}"
            );
        }
        other => panic!("expected Spawn, got {other:?}"),
    }
    // A dedicated isolate does not use the pool.
    assert_eq!(
        isolate::Builder::new()
            .dedicated()
            .run(|| 2)
            .join()
            .unwrap(),
        2
    );
}

#[test]
fn a_stray_process_child_variable_is_ignored() {
    // Empty, garbage, the right form naming a process that is not the parent.
    let not_the_parent = format!("{}1", isolate::process::CHILD_VALUE_PREFIX);
    for value in ["", "garbage", "1", not_the_parent.as_str()] {
        // run_child checks that the program ran its tests, as usual.
        run_child(
            "scenario_runs_as_a_program",
            &[(isolate::process::CHILD_VAR, value)],
        );
    }
}

#[test]
fn scenario_runs_as_a_program() {
    if !in_child() {
        return;
    }
    println!("ran main");
}
