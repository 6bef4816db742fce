//! Per-isolate time limits (`Builder::timeout`, `#[isolated(timeout = ..)]`):
//! counted from the start of the run, cancelling cooperatively for sync
//! code and for real for async code, reported as `TimedOut`; under a
//! saturated pool, time spent queued does not count.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use isolate::{isolated, Builder, IsolateError, IsolateSet, PoolBuilder, Progress};
use support::{in_child, run_child, DropCounter, Gate, Tracked, Watchdog, WATCHDOG};

const LIMIT: Duration = Duration::from_millis(20);
/// The limit of isolates that must finish within it: long enough that a
/// loaded machine's scheduling never eats it.
const GENEROUS: Duration = Duration::from_millis(300);

/// Spins until cancelled; returns how long it ran.
fn spin_until_cancelled() -> Duration {
    let start = Instant::now();
    while !isolate::is_cancelled() {
        std::thread::yield_now();
    }
    start.elapsed()
}

#[test]
fn a_sync_isolate_past_its_limit_is_cancelled_and_times_out() {
    let _watchdog = Watchdog::arm(WATCHDOG, "a sync deadline".into());
    let started = Instant::now();
    let handle = Builder::new().timeout(LIMIT).run(spin_until_cancelled);
    assert!(matches!(handle.join(), Err(IsolateError::TimedOut { .. })));
    assert!(started.elapsed() >= LIMIT);
}

#[test]
fn an_isolate_within_its_limit_keeps_its_value_and_error() {
    let _watchdog = Watchdog::arm(WATCHDOG, "isolates within their limits".into());
    let ok = Builder::new().timeout(WATCHDOG).run(|| 7);
    assert_eq!(ok.join().unwrap(), 7);
    let failed = Builder::new()
        .timeout(WATCHDOG)
        .run(isolate::Fold(|| "x".parse::<u8>()));
    assert!(matches!(
        failed.join().unwrap_err(),
        IsolateError::Failed { .. }
    ));
    let panicked = Builder::new()
        .timeout(WATCHDOG)
        .run(|| -> u8 { panic!("inside the limit") });
    assert!(matches!(
        panicked.join().unwrap_err(),
        IsolateError::Panicked(_)
    ));
    // A limit too long for the clock is no limit.
    assert_eq!(
        Builder::new()
            .timeout(Duration::MAX)
            .run(|| 1)
            .join()
            .unwrap(),
        1
    );
}

#[test]
fn a_value_or_exit_after_the_limit_is_a_timeout_and_a_panic_stays_a_panic() {
    let _watchdog = Watchdog::arm(WATCHDOG, "outcomes after the limit".into());
    let late_value = Builder::new().timeout(LIMIT).run(|| {
        spin_until_cancelled();
        "too late"
    });
    assert!(matches!(
        late_value.join().unwrap_err(),
        IsolateError::TimedOut { .. }
    ));
    let late_exit = Builder::new().timeout(LIMIT).run(|| -> u8 {
        spin_until_cancelled();
        isolate::exit()
    });
    assert!(matches!(
        late_exit.join().unwrap_err(),
        IsolateError::TimedOut { .. }
    ));
    let late_panic = Builder::new().timeout(LIMIT).run(|| -> u8 {
        spin_until_cancelled();
        panic!("after the limit")
    });
    assert!(matches!(
        late_panic.join().unwrap_err(),
        IsolateError::Panicked(_)
    ));
}

/// A future that never completes and never wakes, holding a tracked value.
struct Forever(#[allow(dead_code)] Tracked);

impl Future for Forever {
    type Output = ();

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        // Keep a waker alive, so the isolate is pending, not abandoned.
        std::mem::forget(cx.waker().clone());
        Poll::Pending
    }
}

#[test]
fn an_async_isolate_past_its_limit_has_its_future_dropped() {
    let _watchdog = Watchdog::arm(WATCHDOG, "an async deadline".into());
    let counter = DropCounter::new();
    let tracked = counter.track();
    let handle = Builder::new()
        .timeout(LIMIT)
        .run(isolate::Async(move || Forever(tracked)));
    assert!(matches!(handle.join(), Err(IsolateError::TimedOut { .. })));
    counter.assert_balanced();
}

#[test]
fn a_set_with_a_limit_for_each_isolate() {
    let _watchdog = Watchdog::arm(WATCHDOG, "a set with deadlines".into());
    let mut set = IsolateSet::bounded(2).options(Builder::new().name("item").timeout(GENEROUS));
    for i in 0..6 {
        set.spawn(i, move || {
            if i % 2 == 0 {
                spin_until_cancelled();
            }
            i
        });
    }
    for (i, result) in set.join_all() {
        if i % 2 == 0 {
            assert!(matches!(result.unwrap_err(), IsolateError::TimedOut { .. }));
        } else {
            assert_eq!(result.unwrap(), i);
        }
    }
}

#[isolated(timeout = "20ms")]
fn spins_with_a_literal_limit() -> Duration {
    spin_until_cancelled()
}

#[isolated(timeout = Duration::from_secs(30), name = "quick")]
fn quick_with_an_expression_limit(n: u32) -> Result<u32, String> {
    Ok(n + 1)
}

#[isolated(timeout = "20ms")]
fn reports_until_cancelled(progress: Progress<u32>) -> u32 {
    let mut sent = 0;
    while !isolate::is_cancelled() {
        progress.send(sent);
        sent += 1;
        std::thread::yield_now();
    }
    sent
}

#[test]
fn the_attribute_sets_the_limit() {
    let _watchdog = Watchdog::arm(WATCHDOG, "#[isolated(timeout)]".into());
    assert!(matches!(
        spins_with_a_literal_limit_isolated().join().unwrap_err(),
        IsolateError::TimedOut { .. }
    ));
    let quick = quick_with_an_expression_limit_isolated(1);
    assert_eq!(quick.name(), "quick");
    assert_eq!(quick.join().unwrap(), 2);
    // With a `Progress` parameter too: the updates end, then the timeout.
    let reporting = reports_until_cancelled_isolated();
    assert!(
        reporting.updates().iter().count() >= 1,
        "it reports before its first check"
    );
    assert!(matches!(
        reporting.into_handle().join().unwrap_err(),
        IsolateError::TimedOut { .. }
    ));
}

// Under a saturated pool (two threads, both held), a queued isolate's clock
// has not started: it does not time out while it waits.

#[test]
fn a_queued_isolate_does_not_time_out_under_a_saturated_pool() {
    run_child("scenario_saturated_pool", &[]);
}

#[test]
fn scenario_saturated_pool() {
    if !in_child() {
        return;
    }
    let _watchdog = Watchdog::arm(WATCHDOG, "deadlines under a saturated pool".into());
    PoolBuilder::new().max_threads(2).build_global().unwrap();
    let gate = Gate::new();
    let holding = Arc::new(AtomicUsize::new(0));
    let holders: Vec<_> = (0..2)
        .map(|_| {
            let (gate, holding) = (gate.clone(), holding.clone());
            isolate::run(move || {
                holding.fetch_add(1, Ordering::SeqCst);
                gate.wait();
            })
        })
        .collect();
    // Both threads held before the timed isolates are queued.
    while holding.load(Ordering::SeqCst) < 2 {
        std::thread::yield_now();
    }
    let queued: Vec<_> = (0..4)
        .map(|i| Builder::new().timeout(GENEROUS).run(move || i))
        .collect();
    // Their limit passes twice while they wait in the queue (a shorter
    // wait here would only test less).
    let waited = Instant::now();
    while waited.elapsed() < GENEROUS * 2 {
        std::thread::yield_now();
    }
    assert!(queued.iter().all(|handle| !handle.is_finished()));
    assert!(isolate::pool_stats().queued >= 1);
    gate.open();
    for (i, handle) in (0..).zip(queued) {
        assert_eq!(handle.join().unwrap(), i);
    }
    for holder in holders {
        holder.join().unwrap();
    }
    // Saturated again by isolates that overrun: each still gets its own
    // limit from its start, and each times out.
    let overruns: Vec<_> = (0..6)
        .map(|_| Builder::new().timeout(LIMIT).run(spin_until_cancelled))
        .collect();
    for handle in overruns {
        assert!(matches!(
            handle.join().unwrap_err(),
            IsolateError::TimedOut { .. }
        ));
    }
}
