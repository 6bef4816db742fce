//! Regression tests for the runtime under composition: isolates stranded by
//! a retiring worker, settings that wedged the pool, waits that deadlocked or
//! ran another isolate on the waiter's stack, panics that lost their location
//! or escaped into the caller, and a pool that grew far past the cores.
//! Each scenario that needs its own pool settings runs in a child process,
//! every one under a watchdog so that a hang fails instead of hanging.

mod support;

use std::cell::{Cell, RefCell};
use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Context;
use std::time::{Duration, Instant};

use futures::task::noop_waker;
use isolate::{IsolateError, PoolBuildError, PoolBuilder, Progress};
use support::{in_child, run_child, Gate, Watchdog, WATCHDOG};

fn watchdog(what: &str) -> Watchdog {
    Watchdog::arm(Duration::from_secs(60), what.to_owned())
}

// 1. A queued isolate stranded by a retiring worker.

#[test]
fn an_isolate_submitted_as_the_only_worker_retires_is_never_stranded() {
    for keep_alive in ["0", "2"] {
        run_child(
            "scenario_submit_at_retirement",
            &[
                ("ISOLATE_MAX_THREADS", "1"),
                ("ISOLATE_KEEP_ALIVE_MS", keep_alive),
            ],
        );
    }
}

#[test]
fn scenario_submit_at_retirement() {
    if !in_child() {
        return;
    }
    let _watchdog = watchdog("submits timed at a worker's retirement");
    // With a keep-alive of 0 or 2 ms the worker that ran one isolate
    // retires about when its spin for more work ends: the pause before each
    // submit sweeps across that moment, 0 to 200 µs after the last join.
    for i in 0..20_000_u32 {
        let pause = Duration::from_nanos(u64::from(i % 400) * 500);
        let start = Instant::now();
        while start.elapsed() < pause {
            std::hint::spin_loop();
        }
        assert_eq!(isolate::run(move || i).join().unwrap(), i);
    }
}

// 2. A keep-alive too long to add to the clock.

#[test]
fn a_keep_alive_of_duration_max_means_never_retire() {
    run_child("scenario_keep_alive_max", &[]);
}

#[test]
fn scenario_keep_alive_max() {
    if !in_child() {
        return;
    }
    let _watchdog = watchdog("a pool with keep_alive(Duration::MAX)");
    PoolBuilder::new()
        .max_threads(2)
        .keep_alive(Duration::MAX)
        .build_global()
        .unwrap();
    for round in 0..3_u32 {
        let handles: Vec<_> = (0..8)
            .map(|i| isolate::run(move || round * 8 + i))
            .collect();
        for (i, handle) in (0..).zip(handles) {
            assert_eq!(handle.join().unwrap(), round * 8 + i);
        }
        // Every worker goes idle (where it used to panic) before the next round.
        let stats = wait_for_idle_pool();
        assert!(stats.threads > 0, "no worker retires: {stats:?}");
    }
}

fn wait_for_idle_pool() -> isolate::PoolStats {
    let deadline = Instant::now() + WATCHDOG;
    loop {
        let stats = isolate::pool_stats();
        if stats.idle == stats.threads && stats.queued == 0 {
            return stats;
        }
        assert!(
            Instant::now() < deadline,
            "the pool never went idle: {stats:?}"
        );
        std::thread::yield_now();
    }
}

// 3. A thread name that no thread can have.

#[test]
fn a_thread_name_with_a_nul_byte_is_refused_and_the_pool_stays_usable() {
    run_child("scenario_nul_thread_name", &[]);
}

#[test]
fn scenario_nul_thread_name() {
    if !in_child() {
        return;
    }
    let _watchdog = watchdog("a pool after a refused thread name");
    let err = PoolBuilder::new()
        .thread_name("bad\0name")
        .build_global()
        .unwrap_err();
    assert!(matches!(err, PoolBuildError::InvalidThreadName(ref name) if name == "bad\0name"));
    assert!(err.to_string().contains("NUL"), "{err}");
    for i in 0..100_u32 {
        assert_eq!(isolate::run(move || i).join().unwrap(), i);
    }
}

// 4. A poll that ran a whole isolate.

#[test]
fn polling_a_queued_handle_inside_an_isolate_never_runs_it() {
    let _watchdog = watchdog("one poll of a queued nested handle");
    let outer = isolate::run(|| {
        let gate = Gate::new();
        let opened_later = gate.clone();
        let mut child = isolate::run(move || {
            opened_later.wait();
            7
        });
        // The child waits for a gate that opens only after the poll
        // returns: a poll that ran it here would never return.
        let waker = noop_waker();
        let first = std::pin::Pin::new(&mut child).poll(&mut Context::from_waker(&waker));
        assert!(first.is_pending());
        gate.open();
        futures::executor::block_on(child).unwrap()
    });
    assert_eq!(outer.join().unwrap(), 7);
}

#[test]
fn a_joined_future_beside_a_nested_handle_is_polled() {
    let _watchdog = watchdog("futures::join! of a nested handle and the send it waits for");
    let answer = isolate::run(isolate::Async(|| async {
        let (tx, rx) = isolate::channel::bounded::<u32>(1);
        let child = isolate::run(move || rx.recv().unwrap() * 6);
        let (child, sent) = futures::future::join(child, async { tx.send_async(7).await }).await;
        sent.unwrap();
        child.unwrap()
    }));
    assert_eq!(answer.join().unwrap(), 42);
}

// 5. Waiting on a nested progress handle at a small cap.

#[test]
fn nested_progress_is_read_at_cap_1() {
    run_child("scenario_nested_progress", &[("ISOLATE_MAX_THREADS", "1")]);
}

#[test]
fn scenario_nested_progress() {
    if !in_child() {
        return;
    }
    let _watchdog = watchdog("nested progress at cap 1");
    let steps = |progress: Progress<u32>| {
        (1..=4).for_each(|step| progress.send(step));
        "done"
    };
    let read = isolate::run(move || {
        let by_recv = isolate::run_with_progress(steps);
        let first = by_recv.recv();
        let rest: u32 = by_recv.updates().iter().sum();
        assert_eq!(by_recv.into_handle().join().unwrap(), "done");

        let by_timeout = isolate::run_with_progress(steps);
        let timed = by_timeout.updates().recv_timeout(WATCHDOG).unwrap();
        assert_eq!(by_timeout.into_handle().join().unwrap(), "done");

        let by_stream = isolate::run_with_progress(steps);
        let streamed: Vec<u32> = futures::executor::block_on_stream(by_stream).collect();
        (first, rest, timed, streamed)
    });
    assert_eq!(read.join().unwrap(), (Ok(1), 9, 1, vec![1, 2, 3, 4]));
    let in_async = isolate::run(isolate::Async(move || async move {
        use futures::StreamExt;
        let mut by_stream = isolate::run_with_progress(steps);
        let mut seen = Vec::new();
        while let Some(step) = by_stream.next().await {
            seen.push(step);
        }
        (seen, by_stream.into_handle().await.unwrap())
    }));
    assert_eq!(in_async.join().unwrap(), (vec![1, 2, 3, 4], "done"));
}

// 6. An isolate that saw its joiner's stack and thread-locals.

thread_local! {
    static BORROWED: RefCell<Vec<u32>> = const { RefCell::new(Vec::new()) };
    static WRITTEN: Cell<u32> = const { Cell::new(0) };
}

#[test]
fn a_nested_isolate_never_sees_its_joiners_thread_locals() {
    let _watchdog = watchdog("nested isolates and thread-locals");
    for _ in 0..200 {
        let outer = isolate::run(|| {
            // Pool threads are reused: start from a clean value.
            WRITTEN.with(|written| written.set(0));
            BORROWED.with(|cell| {
                let held = cell.borrow_mut();
                let inner = isolate::run(|| {
                    BORROWED.with(|cell| cell.borrow_mut().push(1));
                    WRITTEN.with(|written| written.set(99));
                });
                inner.join().unwrap();
                drop(held);
            });
            WRITTEN.with(Cell::get)
        });
        assert_eq!(outer.join().unwrap(), 0, "the inner isolate's write leaked");
    }
}

#[test]
fn a_chain_of_ten_thousand_nested_isolates_does_not_overflow_at_cap_1() {
    run_child(
        "scenario_deep_chain",
        &[("ISOLATE_MAX_THREADS", "1"), ("CHAIN_DEPTH", "10000")],
    );
}

#[test]
fn a_chain_of_twenty_thousand_nested_isolates_does_not_overflow_at_cap_2() {
    run_child(
        "scenario_deep_chain",
        &[("ISOLATE_MAX_THREADS", "2"), ("CHAIN_DEPTH", "20000")],
    );
}

fn chain(depth: u32) -> u32 {
    if depth == 0 {
        0
    } else {
        isolate::run(move || chain(depth - 1)).join().unwrap() + 1
    }
}

#[test]
fn scenario_deep_chain() {
    if !in_child() {
        return;
    }
    let _watchdog = Watchdog::arm(Duration::from_secs(120), "a deep chain".to_owned());
    let depth = support::env_u64("CHAIN_DEPTH", 100) as u32;
    assert_eq!(chain(depth), depth);
}

// 7. An inline nested isolate that erased the outer panic's location.

#[test]
fn a_nested_join_during_unwinding_keeps_the_outer_panics_location() {
    for cap in ["1", "2"] {
        run_child(
            "scenario_join_while_unwinding",
            &[("ISOLATE_MAX_THREADS", cap)],
        );
    }
    run_child("scenario_join_while_unwinding", &[]);
}

#[test]
fn scenario_join_while_unwinding() {
    if !in_child() {
        return;
    }
    let _watchdog = watchdog("a join in a drop guard during a panic");
    struct JoinOnDrop(Option<isolate::IsolateHandle<u32>>);
    impl Drop for JoinOnDrop {
        fn drop(&mut self) {
            if let Some(handle) = self.0.take() {
                assert_eq!(handle.join().unwrap(), 5);
            }
        }
    }
    for _ in 0..50 {
        let err = isolate::run(|| {
            let _guard = JoinOnDrop(Some(isolate::run(|| 5)));
            let line = line!() + 1;
            panic!("outer at {line}");
        })
        .join()
        .unwrap_err();
        let panic = err.into_panic().unwrap();
        let location = panic.location().expect("the outer panic's location");
        let line = panic.message().unwrap().trim_start_matches("outer at ");
        assert_eq!(location.line().to_string(), line);
        assert!(location.file().ends_with("waiting.rs"));
    }
}

// 8. The location of a payload raised with resume_unwind.

#[test]
fn a_new_payload_raised_with_resume_unwind_has_no_location() {
    isolate::print_panics(false);
    let err = isolate::run(|| {
        let caught = catch_unwind(|| panic!("first"));
        assert!(caught.is_err());
        std::panic::resume_unwind(Box::new("second"));
    })
    .join()
    .unwrap_err();
    let panic = err.into_panic().unwrap();
    assert_eq!(panic.message(), Some("second"));
    assert_eq!(panic.location(), None);
}

#[test]
fn a_caught_payload_raised_again_keeps_where_it_first_panicked() {
    isolate::print_panics(false);
    let err = isolate::run(|| {
        let line = line!() + 1;
        let caught = catch_unwind(move || panic!("at {line}")).unwrap_err();
        std::panic::resume_unwind(caught);
    })
    .join()
    .unwrap_err();
    let panic = err.into_panic().unwrap();
    let line = panic
        .message()
        .unwrap()
        .trim_start_matches("at ")
        .to_owned();
    assert_eq!(panic.location().unwrap().line().to_string(), line);
}

// 9. Joining a handle that was awaited to completion.

#[test]
fn joining_after_awaiting_to_completion_panics_with_a_clear_message() {
    for timed in [false, true] {
        let mut handle = isolate::run(|| 1);
        let got = futures::executor::block_on(futures::future::poll_fn(|cx| {
            std::pin::Pin::new(&mut handle).poll(cx)
        }));
        assert_eq!(got.unwrap(), 1);
        let misuse = catch_unwind(AssertUnwindSafe(move || match timed {
            false => handle.join(),
            true => handle.join_timeout(Duration::from_secs(5)),
        }))
        .unwrap_err();
        let message = misuse
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| misuse.downcast_ref::<String>().cloned())
            .unwrap();
        assert!(message.contains("awaited to completion"), "{message}");
    }
}

// 10. A result whose Drop panics, dropped with its handle.

struct Bomb(Arc<AtomicUsize>);

impl Drop for Bomb {
    fn drop(&mut self) {
        self.0.fetch_add(1, Ordering::SeqCst);
        panic!("a result's drop panicked");
    }
}

#[test]
fn dropping_a_finished_handle_contains_its_results_drop_panic() {
    isolate::print_panics(false);
    let drops = Arc::new(AtomicUsize::new(0));
    // The caller drops the result: the isolate finished first.
    for _ in 0..20 {
        let bomb = Bomb(drops.clone());
        let handle = isolate::run(move || bomb);
        while !handle.is_finished() {
            std::thread::yield_now();
        }
        drop(handle);
    }
    // The pool thread drops it: the handle goes first, and the isolate
    // finishes after.
    let gate = Gate::new();
    for _ in 0..20 {
        let bomb = Bomb(drops.clone());
        let gate = gate.clone();
        let handle = isolate::run(move || {
            gate.wait();
            bomb
        });
        handle.detach();
    }
    gate.open();
    let deadline = Instant::now() + WATCHDOG;
    while drops.load(Ordering::SeqCst) < 40 {
        assert!(Instant::now() < deadline, "a result was never dropped");
        std::thread::yield_now();
    }
    assert_eq!(isolate::run(|| 3).join().unwrap(), 3);
}

// 11. A pool that grew to hundreds of threads on CPU-bound work.

#[test]
fn cpu_bound_work_beside_one_sleeper_keeps_the_pool_near_the_cores() {
    run_child("scenario_cpu_bound_beside_a_sleeper", &[]);
}

#[test]
fn scenario_cpu_bound_beside_a_sleeper() {
    if !in_child() {
        return;
    }
    let _watchdog = watchdog("CPU-bound isolates beside a sleeper");
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let done = Arc::new(AtomicBool::new(false));
    let peak = {
        let done = done.clone();
        std::thread::spawn(move || {
            let mut peak = 0;
            while !done.load(Ordering::SeqCst) {
                peak = peak.max(isolate::pool_stats().threads);
                std::thread::yield_now();
            }
            peak
        })
    };
    let gate = Gate::new();
    let sleeper = {
        let gate = gate.clone();
        isolate::run(move || gate.wait())
    };
    let spin = |micros: u64| {
        let start = Instant::now();
        let mut x = 0_u64;
        while start.elapsed() < Duration::from_micros(micros) {
            x = x.wrapping_mul(31).wrapping_add(1);
        }
        x
    };
    let handles: Vec<_> = (0..400)
        .map(|_| isolate::run(move || spin(2_000)))
        .collect();
    for handle in handles {
        handle.join().unwrap();
    }
    // The same batch from a coordinator isolate that joins each with a
    // timeout: it counts as one blocked thread, no more.
    let coordinator = isolate::run(move || {
        let handles: Vec<_> = (0..400)
            .map(|_| isolate::run(move || spin(2_000)))
            .collect();
        for handle in handles {
            handle.join_timeout(WATCHDOG).unwrap();
        }
    });
    coordinator.join().unwrap();
    gate.open();
    sleeper.join().unwrap();
    done.store(true, Ordering::SeqCst);
    let peak = peak.join().unwrap();
    // One running thread per core, one for the sleeper, one for the
    // coordinator, and a small margin for the monitor's sampling.
    assert!(
        peak <= cores + 2 + 2,
        "peak {peak} threads on {cores} cores"
    );
}

#[test]
fn nested_joins_in_a_pool_thread_get_threads_of_their_own() {
    let _watchdog = watchdog("nested joins");
    // The inner isolates see another thread than the outer one, at the
    // default cap: nothing runs on the waiter's stack.
    let outer = isolate::run(|| {
        let me = std::thread::current().id();
        let inner: Vec<_> = (0..8)
            .map(|_| isolate::run(|| std::thread::current().id()))
            .collect();
        inner
            .into_iter()
            .map(|handle| handle.join().unwrap())
            .all(|id| id != me)
    });
    assert!(outer.join().unwrap());
}

#[test]
fn a_failed_start_reaches_every_queued_isolate() {
    run_child("scenario_zero_threads", &[("ISOLATE_MAX_THREADS", "0")]);
}

#[test]
fn scenario_zero_threads() {
    if !in_child() {
        return;
    }
    let _watchdog = watchdog("a pool that can start no thread");
    let handles: Vec<_> = (0..10).map(|i| isolate::run(move || i)).collect();
    for handle in handles {
        assert!(matches!(handle.join(), Err(IsolateError::Spawn { .. })));
    }
}

// Found by trying the crate as a new user would, each at a small cap.

#[test]
fn small_caps_keep_every_wait_free_of_deadlock() {
    for cap in ["1", "2"] {
        run_child("scenario_small_cap_waits", &[("ISOLATE_MAX_THREADS", cap)]);
    }
}

#[test]
fn scenario_small_cap_waits() {
    if !in_child() {
        return;
    }
    let _watchdog = watchdog("waits at a small cap");
    // Below the cap, a nested isolate gets a thread of its own: the one
    // started for it is used, not the waiter's.
    if isolate::pool_stats().threads == 0
        && std::env::var("ISOLATE_MAX_THREADS").as_deref() == Ok("2")
    {
        let same = isolate::run(|| {
            let outer = std::thread::current().id();
            isolate::run(move || std::thread::current().id() == outer)
                .join()
                .unwrap()
        });
        assert!(
            !same.join().unwrap(),
            "the nested isolate ran on its waiter's thread below the cap"
        );
    }
    // A timed wait at the cap gives up: the nested isolate runs beside the
    // pool, so the timeout can cancel it.
    let timed = isolate::run(|| {
        let stuck = isolate::run(|| -> () {
            while !isolate::is_cancelled() {
                std::thread::yield_now();
            }
            // Ends without a value, as cancelled: only the timeout can end
            // the wait.
            isolate::exit();
        });
        stuck.join_timeout(Duration::from_millis(10))
    });
    assert!(matches!(
        timed.join().unwrap().unwrap_err(),
        IsolateError::TimedOut { .. }
    ));
    // A non-consuming timed wait makes progress too.
    let waited = isolate::run(|| {
        let handle = isolate::run(|| 1);
        while !handle.wait_timeout(Duration::from_millis(5)) {}
        handle.join().unwrap()
    });
    assert_eq!(waited.join().unwrap(), 1);
    // A foreign executor inside an async isolate.
    let foreign = isolate::run(isolate::Async(|| async {
        futures::executor::block_on(isolate::run(|| 1))
    }));
    assert_eq!(foreign.join().unwrap().unwrap(), 1);
    // Progress read with recv_async inside an async isolate.
    let progress = isolate::run(isolate::Async(|| async {
        let handle = isolate::run_with_progress(|p: Progress<u64>| {
            p.send(1);
            7
        });
        let mut sum = 0;
        while let Ok(update) = handle.recv_async().await {
            sum += update;
        }
        sum + handle.into_handle().await.unwrap()
    }));
    assert_eq!(progress.join().unwrap(), 8);
    // Channel waits on a queued producer, blocking and async.
    let channel = isolate::run(|| {
        let (tx, rx) = isolate::channel::bounded(1);
        let producer = isolate::run(move || (0..5).for_each(|i| tx.send(i).unwrap()));
        let sum: u32 = rx.iter().sum();
        producer.join().unwrap();
        sum
    });
    assert_eq!(channel.join().unwrap(), 10);
    let channel_async = isolate::run(isolate::Async(|| async {
        let (tx, rx) = isolate::channel::bounded(1);
        let producer = isolate::run(move || (0..5).for_each(|i| tx.send(i).unwrap()));
        let mut sum = 0_u32;
        while let Ok(i) = rx.recv_async().await {
            sum += i;
        }
        producer.await.unwrap();
        sum
    }));
    assert_eq!(channel_async.join().unwrap(), 10);
    // Cancelling an async isolate reaches the nested isolate it awaits.
    let outer = isolate::run(isolate::Async(|| async {
        isolate::run(|| {
            while !isolate::is_cancelled() {
                std::thread::yield_now();
            }
            1
        })
        .await
    }));
    while isolate::pool_stats().queued > 0 {
        std::thread::yield_now();
    }
    outer.cancel();
    assert!(matches!(
        outer.join_timeout(WATCHDOG).unwrap_err(),
        IsolateError::Cancelled { .. }
    ));
    assert_eq!(isolate::run(|| 7).join_timeout(WATCHDOG).unwrap(), 7);
}

#[test]
fn a_payload_raised_again_after_another_caught_panic_keeps_its_location() {
    isolate::print_panics(false);
    let err = isolate::run(|| {
        let line = line!() + 1;
        let first = catch_unwind(move || panic!("first at {line}")).unwrap_err();
        let _ = catch_unwind(|| panic!("second"));
        std::panic::resume_unwind(first);
    })
    .join()
    .unwrap_err();
    let panic = err.into_panic().unwrap();
    let line = panic
        .message()
        .unwrap()
        .trim_start_matches("first at ")
        .to_owned();
    assert_eq!(panic.location().unwrap().line().to_string(), line);

    struct CatchesOnDrop;
    impl Drop for CatchesOnDrop {
        fn drop(&mut self) {
            let _ = catch_unwind(|| panic!("caught in a drop"));
        }
    }
    let err = isolate::run(|| {
        let _guard = CatchesOnDrop;
        let line = line!() + 1;
        panic!("outer at {line}");
    })
    .join()
    .unwrap_err();
    let panic = err.into_panic().unwrap();
    let line = panic
        .message()
        .unwrap()
        .trim_start_matches("outer at ")
        .to_owned();
    assert_eq!(panic.location().unwrap().line().to_string(), line);
}

// Found by trying sets, deadlines and services together, as a new user would.

#[test]
fn sets_and_services_keep_their_promises_at_small_caps() {
    for cap in ["1", "2"] {
        run_child(
            "scenario_sets_and_services_at_small_caps",
            &[("ISOLATE_MAX_THREADS", cap)],
        );
    }
}

#[test]
fn scenario_sets_and_services_at_small_caps() {
    if !in_child() {
        return;
    }
    let _watchdog = watchdog("sets and services at a small cap");
    let cap: u32 = std::env::var("ISOLATE_MAX_THREADS")
        .unwrap()
        .parse()
        .unwrap();
    // A set awaited under a foreign executor from every pool thread at once.
    let outers: Vec<_> = (0..cap)
        .map(|i| {
            isolate::run(move || {
                let mut set = isolate::IsolateSet::new();
                set.spawn(i, move || i);
                futures::executor::block_on(set.join_next_async())
            })
        })
        .collect();
    for (i, outer) in (0..cap).zip(outers) {
        let (key, result) = outer.join().unwrap().unwrap();
        assert_eq!((key, result.unwrap()), (i, i));
    }
    // A timed wait on a set gives up at its timeout, even when the pool is
    // stalled and the set's isolates end only when cancelled.
    let timed = isolate::run(|| {
        let mut set = isolate::IsolateSet::new();
        for key in 0..3 {
            set.spawn(key, || -> () {
                while !isolate::is_cancelled() {
                    std::thread::yield_now();
                }
                isolate::exit()
            });
        }
        set.join_next_timeout(Duration::from_millis(20)).is_err()
    });
    assert!(timed.join().unwrap(), "join_next_timeout did not give up");
    // An isolate run on a service handler's thread as the last resort is
    // not the handler: close_service() there does nothing.
    let gate = Gate::new();
    let holders: Vec<_> = (0..cap)
        .map(|_| {
            let gate = gate.clone();
            isolate::run(move || gate.wait())
        })
        .collect();
    while isolate::pool_stats().idle > 0 || isolate::pool_stats().queued > 0 {
        std::thread::yield_now();
    }
    let service = isolate::Service::spawn(
        || (),
        |_: &mut (), (): ()| isolate::run(isolate::close_service).join().unwrap(),
    );
    assert!(!service.request(()).join().unwrap());
    assert!(
        !service.request(()).join().unwrap(),
        "the service was closed"
    );
    gate.open();
    for holder in holders {
        holder.join().unwrap();
    }
    // A kill answers the queued requests at once, while the request in hand
    // still runs.
    let in_hand = Gate::new();
    let release = in_hand.clone();
    let (started_tx, started) = std::sync::mpsc::channel();
    let started_tx = std::sync::Mutex::new(started_tx);
    let service = isolate::Service::spawn(
        || (),
        move |_: &mut (), wait: bool| {
            if wait {
                started_tx.lock().unwrap().send(()).unwrap();
                in_hand.wait();
            }
            wait
        },
    );
    let first = service.request(true);
    started.recv_timeout(WATCHDOG).unwrap();
    let queued = service.request(false);
    service.kill();
    assert!(matches!(
        queued.join().unwrap_err(),
        IsolateError::Cancelled { .. }
    ));
    release.open();
    let _ = first.join();
}
