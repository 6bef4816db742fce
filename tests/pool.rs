//! The shared pool, configured once for this test binary: a cap of two
//! threads and a short keep-alive.

mod support;

use std::sync::Once;
use std::time::{Duration, Instant};

use isolate::{PoolBuildError, PoolBuilder};
use support::{Gate, WATCHDOG};

const MAX_THREADS: usize = 2;

fn configure() {
    static CONFIGURE: Once = Once::new();
    CONFIGURE.call_once(|| {
        PoolBuilder::new()
            .max_threads(MAX_THREADS)
            .keep_alive(Duration::from_millis(50))
            .thread_name("pool-test")
            .build_global()
            .expect("the first configuration wins");
    });
}

#[test]
fn configuring_twice_is_an_error() {
    configure();
    let again = PoolBuilder::new().max_threads(8).build_global();
    assert!(matches!(again, Err(PoolBuildError::AlreadyBuilt)));
}

#[test]
fn pool_threads_carry_the_name_prefix() {
    configure();
    let name = isolate::run(|| std::thread::current().name().map(str::to_owned));
    let name = name.join().unwrap().unwrap();
    assert!(name.starts_with("pool-test-"), "{name}");
}

#[test]
fn work_beyond_the_cap_queues_and_is_never_lost() {
    configure();
    let gate = Gate::new();
    let handles: Vec<_> = (0..20_u32)
        .map(|i| {
            let gate = gate.clone();
            isolate::run(move || {
                gate.wait();
                i
            })
        })
        .collect();
    assert!(isolate::pool_stats().threads <= MAX_THREADS);
    gate.open();
    let sum: u32 = handles.into_iter().map(|h| h.join().unwrap()).sum();
    assert_eq!(sum, (0..20).sum());
    assert!(isolate::pool_stats().threads <= MAX_THREADS);
}

#[test]
fn nested_joins_never_deadlock_at_the_cap() {
    configure();
    // fib(12) spawns hundreds of nested isolates that each join their
    // children, on a pool of two threads: workers run what they join.
    fn fib(n: u64) -> u64 {
        if n < 2 {
            return n;
        }
        let left = isolate::run(move || fib(n - 1));
        let right = isolate::run(move || fib(n - 2));
        left.join().unwrap() + right.join().unwrap()
    }
    let handle = isolate::run(|| fib(12));
    assert_eq!(handle.join_timeout(WATCHDOG).unwrap(), 144);
}

#[test]
fn nested_awaits_in_async_isolates_never_deadlock_at_the_cap() {
    configure();
    let handles: Vec<_> = (0..8_u64)
        .map(|i| {
            isolate::run(isolate::Async(move || async move {
                let inner = isolate::run(move || i * 2).await.unwrap();
                inner + 1
            }))
        })
        .collect();
    for (i, handle) in handles.into_iter().enumerate() {
        assert_eq!(handle.join_timeout(WATCHDOG).unwrap(), i as u64 * 2 + 1);
    }
}

#[test]
fn idle_threads_retire_after_the_keep_alive() {
    configure();
    for _ in 0..10 {
        isolate::run(|| ()).join().unwrap();
    }
    // Other tests in this binary may be running isolates too: wait until the
    // pool is idle and empty, which the short keep-alive guarantees soon.
    let start = Instant::now();
    loop {
        let stats = isolate::pool_stats();
        if stats.threads == 0 {
            break;
        }
        assert!(
            start.elapsed() < WATCHDOG,
            "threads never retired: {stats:?}"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    // And the pool starts threads again afterwards.
    assert_eq!(isolate::run(|| 3).join().unwrap(), 3);
}
