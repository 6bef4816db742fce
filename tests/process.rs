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
    let _kept = isolate::run_async(std::future::pending::<()>);
    // Returning ends the test; the harness then exits the process.
}
