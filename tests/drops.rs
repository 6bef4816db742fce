//! Nothing leaks and nothing is dropped twice: for every outcome, each
//! argument and each result is dropped exactly once, on some thread.

mod support;

use std::time::Duration;

use isolate::{Builder, IsolateError};
use support::{DropCounter, Gate, Tracked};

#[test]
fn value_returned_and_taken() {
    let counter = DropCounter::new();
    let arg = counter.track();
    let result_counter = counter.clone();
    let value = isolate::run(move || {
        drop(arg);
        result_counter.track()
    })
    .join()
    .unwrap();
    drop(value);
    counter.assert_balanced();
}

#[test]
fn error_returned() {
    let counter = DropCounter::new();
    let arg = counter.track();
    let inner = counter.clone();
    let err = isolate::run(isolate::Fold(move || -> Result<Tracked, Tracked> {
        let _keep = arg;
        Err(inner.track())
    }))
    .join()
    .err()
    .unwrap();
    assert!(matches!(err, IsolateError::Failed { .. }));
    drop(err);
    counter.assert_balanced();
}

#[test]
fn panic_drops_the_arguments_and_the_payload() {
    let counter = DropCounter::new();
    let arg = counter.track();
    let payload = counter.track();
    let err = isolate::run(move || {
        let _keep = arg;
        std::panic::panic_any(payload);
    })
    .join()
    .unwrap_err();
    assert!(matches!(err, IsolateError::Panicked(_)));
    drop(err);
    counter.assert_balanced();
}

#[test]
fn cancelled_before_start_drops_the_arguments_at_once() {
    let counter = DropCounter::new();
    let gate = Gate::new();
    let opened = gate.clone();
    let blocker = Builder::new().dedicated().run(move || opened.wait());
    let arg = counter.track();
    let handle = Builder::new().dedicated().run({
        let gate = gate.clone();
        move || {
            gate.wait();
            drop(arg);
        }
    });
    handle.cancel();
    gate.open();
    let _ = handle.join();
    blocker.join().unwrap();
    counter.assert_balanced();
}

#[test]
fn cancelled_while_running() {
    let counter = DropCounter::new();
    let started = Gate::new();
    let signal = started.clone();
    let arg = counter.track();
    let results = counter.clone();
    let handle = isolate::run(move || {
        signal.open();
        while !isolate::is_cancelled() {
            std::thread::yield_now();
        }
        let _keep = arg;
        results.track()
    });
    started.wait();
    handle.cancel();
    drop(handle.join());
    counter.assert_balanced();
}

#[test]
fn timed_out() {
    let counter = DropCounter::new();
    let arg = counter.track();
    let results = counter.clone();
    let handle = isolate::run(move || {
        while !isolate::is_cancelled() {
            std::thread::yield_now();
        }
        let _keep = arg;
        results.track()
    });
    // A value produced in answer to the cancel is still returned (work is
    // never thrown away); either way, everything is dropped once.
    match handle.join_timeout(Duration::from_millis(5)) {
        Err(err) => assert!(matches!(err, IsolateError::TimedOut { .. }), "{err:?}"),
        Ok(late) => drop(late),
    }
    counter.assert_balanced();
}

#[test]
fn detached() {
    let counter = DropCounter::new();
    let arg = counter.track();
    let results = counter.clone();
    isolate::run(move || {
        let _keep = arg;
        results.track()
    })
    .detach();
    counter.assert_balanced();
}

#[test]
fn handle_dropped_after_completion_drops_the_unclaimed_result() {
    let counter = DropCounter::new();
    let results = counter.clone();
    let handle = isolate::run(move || results.track());
    while !handle.is_finished() {
        std::thread::yield_now();
    }
    drop(handle);
    counter.assert_balanced();
}

#[test]
fn exit_unwinds_and_drops_what_the_isolate_held() {
    let counter = DropCounter::new();
    let arg = counter.track();
    let err = isolate::run(move || -> u8 {
        let _keep = arg;
        isolate::exit()
    })
    .join()
    .unwrap_err();
    assert!(matches!(err, IsolateError::EndedWithoutResult { .. }));
    counter.assert_balanced();
}

#[test]
fn nested_isolates() {
    let counter = DropCounter::new();
    let outer_counter = counter.clone();
    let value = isolate::run(move || {
        let inner_counter = outer_counter.clone();
        let arg = outer_counter.track();
        isolate::run(move || {
            let _keep = arg;
            inner_counter.track()
        })
        .join()
        .unwrap()
    })
    .join()
    .unwrap();
    drop(value);
    counter.assert_balanced();
}

#[test]
fn async_isolate_cancelled_drops_its_future() {
    let counter = DropCounter::new();
    let held = counter.track();
    let started = Gate::new();
    let signal = started.clone();
    // The sender stays alive: only the cancel can end the future.
    let (_sender, wake_up) = futures::channel::oneshot::channel::<()>();
    let handle = isolate::run(isolate::Async(move || async move {
        let _held_across_await = held;
        signal.open();
        let _ = wake_up.await;
    }));
    started.wait();
    drop(handle);
    counter.assert_balanced();
}

#[test]
fn async_isolate_abandoned_drops_its_future() {
    let counter = DropCounter::new();
    let held = counter.track();
    let err = isolate::run(isolate::Async(move || async move {
        let _held_across_await = held;
        std::future::pending::<()>().await;
    }))
    .join()
    .unwrap_err();
    assert!(matches!(err, IsolateError::EndedWithoutResult { .. }));
    counter.assert_balanced();
}

#[test]
fn failed_start_drops_the_arguments() {
    let counter = DropCounter::new();
    let arg = counter.track();
    let err = Builder::new()
        .stack_size(1 << 50)
        .run(move || drop(arg))
        .join()
        .unwrap_err();
    assert!(matches!(err, IsolateError::Spawn { .. }));
    counter.assert_balanced();
}

#[test]
fn a_thousand_mixed_outcomes_balance() {
    let counter = DropCounter::new();
    for i in 0..1_000_u32 {
        let arg = counter.track();
        let results = counter.clone();
        let handle = isolate::run(isolate::Fold(move || -> Result<Tracked, Tracked> {
            let _keep = arg;
            match i % 4 {
                0 => Ok(results.track()),
                1 => Err(results.track()),
                2 => panic!("planned"),
                _ => isolate::exit(),
            }
        }));
        match i % 3 {
            0 => drop(handle.join()),
            1 => drop(handle),
            _ => handle.detach(),
        }
    }
    counter.assert_balanced();
}
