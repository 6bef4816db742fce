//! `isolate::run` with a closure, `Fold` and `Async` bodies, and `Builder`, waited on with
//! `join` and `join_timeout`: every outcome and every semantic of the handle.

mod support;

use std::cell::Cell;
use std::sync::mpsc;
use std::time::Duration;

use isolate::{Builder, IsolateError, IsolateHandle};
use support::{Gate, WATCHDOG};

#[test]
fn run_returns_the_value() {
    let handle = isolate::run(|| 6 * 7);
    assert_eq!(handle.join().unwrap(), 42);
}

#[test]
fn a_folded_body_passes_ok_and_folds_err() {
    assert_eq!(
        isolate::run(isolate::Fold(|| "5".parse::<u8>()))
            .join()
            .unwrap(),
        5
    );
    let err = isolate::run(isolate::Fold(|| "x".parse::<u8>()))
        .join()
        .unwrap_err();
    match err {
        IsolateError::Failed { error: e, .. } => assert_eq!(e, "x".parse::<u8>().unwrap_err()),
        other => panic!("expected Failed, got {other:?}"),
    }
}

#[test]
fn an_async_body_drives_a_non_send_future_on_the_isolate() {
    let handle = isolate::run(isolate::Async(|| async {
        let local = std::rc::Rc::new(Cell::new(1));
        let nested = isolate::run(|| 2).await.unwrap();
        local.set(local.get() + nested);
        local.get()
    }));
    assert_eq!(handle.join().unwrap(), 3);
}

#[test]
fn a_panic_is_returned_with_its_message_name_and_location() {
    let err = Builder::new()
        .name("exploder")
        .run(|| -> u8 { panic!("boom {}", 1) })
        .join()
        .unwrap_err();
    let panic = err.into_panic().expect("a panic");
    assert_eq!(panic.message(), Some("boom 1"));
    assert_eq!(panic.isolate_name(), "exploder");
    let location = panic
        .location()
        .expect("the hook records where it happened");
    assert!(location.file().ends_with("run.rs"), "{location}");
    let shown = panic.to_string();
    assert!(
        shown.starts_with("isolate 'exploder' panicked at "),
        "{shown}"
    );
    assert!(shown.ends_with(": boom 1"), "{shown}");
}

#[test]
fn a_panic_payload_can_be_taken_back_and_reraised() {
    let err = isolate::run(|| std::panic::panic_any(7_i32))
        .join()
        .unwrap_err();
    let panic = err.into_panic().unwrap();
    assert_eq!(panic.message(), None);
    let payload = panic.into_payload();
    assert_eq!(payload.downcast_ref::<i32>(), Some(&7));
    let reraised = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        std::panic::resume_unwind(payload)
    }));
    assert_eq!(reraised.unwrap_err().downcast_ref::<i32>(), Some(&7));
}

#[test]
fn exit_ends_the_isolate_without_a_result() {
    let handle = isolate::run(|| -> u32 { isolate::exit() });
    assert!(matches!(
        handle.join(),
        Err(IsolateError::EndedWithoutResult { .. })
    ));
}

#[test]
fn exit_outside_an_isolate_panics_with_a_clear_message() {
    let caught = std::panic::catch_unwind(|| isolate::exit());
    let payload = caught.unwrap_err();
    let message = payload.downcast_ref::<&str>().copied().unwrap_or_default();
    assert!(message.contains("outside an isolate"), "{message}");
}

#[test]
fn is_cancelled_and_current_name_outside_an_isolate() {
    assert!(!isolate::is_cancelled());
    assert_eq!(isolate::current_name(), None);
}

#[test]
fn the_name_is_readable_inside_from_the_handle_and_on_a_dedicated_thread() {
    let handle = Builder::new().name("thumbnails").dedicated().run(|| {
        (
            isolate::current_name(),
            std::thread::current().name().map(str::to_owned),
        )
    });
    assert_eq!(handle.name(), "thumbnails");
    let (inside, thread) = handle.join().unwrap();
    assert_eq!(inside.as_deref(), Some("thumbnails"));
    assert_eq!(thread.as_deref(), Some("thumbnails"));
    assert_eq!(isolate::run(|| ()).name(), "<unnamed>");
}

#[test]
fn a_name_with_a_nul_byte_does_not_panic_on_a_dedicated_thread() {
    let handle = Builder::new()
        .name("a\0b")
        .dedicated()
        .run(isolate::current_name);
    assert_eq!(handle.join().unwrap().as_deref(), Some("a\0b"));
}

#[test]
fn a_stack_size_runs_on_a_dedicated_thread_with_that_stack() {
    fn depth(n: u64) -> u64 {
        if n == 0 {
            0
        } else {
            1 + std::hint::black_box(depth(n - 1))
        }
    }
    let handle = Builder::new()
        .stack_size(256 << 20)
        .run(|| depth(1_000_000));
    assert_eq!(handle.join().unwrap(), 1_000_000);
}

#[test]
fn a_thread_that_cannot_start_is_a_spawn_error_through_the_handle() {
    // No machine can reserve a petabyte of stack: the start fails, and the
    // failure arrives through the handle instead of panicking at the call.
    let handle = Builder::new().stack_size(1 << 50).run(|| 1);
    match handle.join() {
        Err(IsolateError::Spawn { error: e, .. }) => assert!(!e.to_string().is_empty()),
        other => panic!("expected Spawn, got {other:?}"),
    }
}

#[test]
fn a_cancelled_isolate_that_never_started_never_runs() {
    let gate = Gate::new();
    let opened = gate.clone();
    // A dedicated blocker keeps the check independent of the pool's size.
    let (ran_tx, ran_rx) = mpsc::channel::<()>();
    let blocker = Builder::new().dedicated().run(move || opened.wait());
    let handle = Builder::new().dedicated().run({
        let gate = gate.clone();
        move || {
            gate.wait();
            ran_tx.send(()).unwrap();
        }
    });
    // The second isolate has surely not finished: the gate is closed.
    handle.cancel();
    gate.open();
    match handle.join() {
        // Cancelled before its thread took it: it never ran.
        Err(IsolateError::Cancelled { .. }) => assert!(ran_rx.try_recv().is_err()),
        // Its thread took it first: it ran to the end, and its value counts.
        Ok(()) => assert!(ran_rx.recv_timeout(WATCHDOG).is_ok()),
        other => panic!("unexpected {other:?}"),
    }
    blocker.join().unwrap();
}

#[test]
fn a_running_isolate_sees_the_cancel_and_its_value_is_kept() {
    let started = Gate::new();
    let signal = started.clone();
    let handle = isolate::run(move || {
        signal.open();
        let mut spins = 0_u64;
        while !isolate::is_cancelled() {
            spins += 1;
            std::hint::spin_loop();
        }
        spins
    });
    started.wait();
    handle.cancel();
    // Completed work is never thrown away, even after a cancel.
    assert!(handle.join().is_ok());
}

#[test]
fn join_timeout_times_out_and_cancels() {
    let handle = isolate::run(|| -> &str {
        while !isolate::is_cancelled() {
            std::thread::yield_now();
        }
        // A value produced after the cancel would still be returned (work
        // is never thrown away): end without one, so only the timeout ends
        // the wait.
        isolate::exit()
    });
    let err = handle.join_timeout(Duration::from_millis(20)).unwrap_err();
    assert!(matches!(err, IsolateError::TimedOut { .. }), "{err:?}");
}

#[test]
fn join_timeout_returns_a_finished_value() {
    let handle = isolate::run(|| 5);
    assert_eq!(handle.join_timeout(WATCHDOG).unwrap(), 5);
}

#[test]
fn join_timeout_of_zero_on_a_finished_isolate_still_returns_its_value() {
    let handle = isolate::run(|| 5);
    while !handle.is_finished() {
        std::thread::yield_now();
    }
    assert_eq!(handle.join_timeout(Duration::ZERO).unwrap(), 5);
}

#[test]
fn dropping_the_handle_cancels() {
    let started = Gate::new();
    let signal = started.clone();
    let (tx, rx) = mpsc::channel();
    let handle = isolate::run(move || {
        signal.open();
        while !isolate::is_cancelled() {
            std::thread::yield_now();
        }
        tx.send("cancelled").unwrap();
    });
    started.wait();
    drop(handle);
    assert_eq!(rx.recv_timeout(WATCHDOG).unwrap(), "cancelled");
}

#[test]
fn detach_lets_the_isolate_run_to_the_end() {
    let gate = Gate::new();
    let opened = gate.clone();
    let (tx, rx) = mpsc::channel();
    isolate::run(move || {
        opened.wait();
        tx.send(isolate::is_cancelled()).unwrap();
    })
    .detach();
    gate.open();
    assert!(
        !rx.recv_timeout(WATCHDOG).unwrap(),
        "a detached isolate is not cancelled"
    );
}

#[test]
fn is_finished_turns_true_when_the_isolate_ends() {
    let gate = Gate::new();
    let opened = gate.clone();
    let handle = isolate::run(move || opened.wait());
    assert!(!handle.is_finished());
    gate.open();
    while !handle.is_finished() {
        std::thread::yield_now();
    }
    handle.join().unwrap();
}

#[test]
fn debug_shows_the_name_and_state() {
    let handle = Builder::new().name("dbg").run(|| ());
    let shown = format!("{handle:?}");
    assert!(
        shown.starts_with("IsolateHandle { name: \"dbg\""),
        "{shown}"
    );
    handle.join().unwrap();
}

#[test]
fn nested_isolates_join_each_other() {
    fn fib(n: u64) -> u64 {
        if n < 2 {
            return n;
        }
        let left = isolate::run(move || fib(n - 1));
        let right = fib(n - 2);
        left.join().unwrap() + right
    }
    assert_eq!(isolate::run(|| fib(15)).join().unwrap(), 610);
}

#[test]
fn a_thread_local_written_in_the_isolate_is_unchanged_in_the_caller() {
    thread_local! {
        static COUNTER: Cell<u32> = const { Cell::new(0) };
    }
    COUNTER.with(|c| c.set(1));
    let inside = isolate::run(|| {
        COUNTER.with(|c| c.set(99));
        COUNTER.with(Cell::get)
    });
    assert_eq!(inside.join().unwrap(), 99);
    assert_eq!(COUNTER.with(Cell::get), 1);
}

#[test]
fn handles_are_send_sync_and_unpin() {
    fn assert_traits<T: Send + Sync + Unpin>() {}
    assert_traits::<IsolateHandle<u32>>();
    assert_traits::<IsolateHandle<Vec<u8>, std::io::Error>>();
    assert_traits::<IsolateError<std::io::Error>>();
    assert_traits::<isolate::Panic>();
}

#[test]
fn many_round_trips_from_several_threads() {
    let threads: Vec<_> = (0..4_u64)
        .map(|t| {
            std::thread::spawn(move || {
                for i in 0..2_000 {
                    assert_eq!(isolate::run(move || t * i).join().unwrap(), t * i);
                }
            })
        })
        .collect();
    for thread in threads {
        thread.join().unwrap();
    }
}
