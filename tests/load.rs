//! Load held: a large number of outstanding isolates at once, all blocked,
//! then drained, twice. Meanwhile the process keeps serving new isolates, the
//! thread count respects the cap, and the second round reuses the memory of
//! the first: nothing accumulates. `ISOLATE_LOAD_ISOLATES` sets the count (default 20,000 in CI;
//! the full run uses 100,000).

mod support;

use std::time::{Duration, Instant};

use support::{Watchdog, WATCHDOG};

fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm
        .split_whitespace()
        .nth(1)
        .and_then(|p| p.parse::<usize>().ok())
        .unwrap_or(0)
        * 4096
}

fn live_threads() -> usize {
    std::fs::read_dir("/proc/self/task").map_or(0, |dir| dir.count())
}

/// One round: `count` blocked isolates held at once, then drained; returns
/// the RSS while they were all held.
fn hold_and_drain(count: usize) -> usize {
    let handles: Vec<_> = (0..count)
        .map(|i| {
            isolate::run(move || {
                std::thread::sleep(Duration::from_millis(5));
                i
            })
        })
        .collect();
    let held = rss_bytes();
    // A dedicated isolate is served at once, whatever the pool's backlog.
    let served = isolate::Builder::new().dedicated().run(|| "served");
    assert_eq!(served.join_timeout(WATCHDOG).unwrap(), "served");
    // A pooled one waits its turn behind the backlog, and is served too.
    let pooled = isolate::run(|| "also served");
    let mut max_threads = 0;
    let mut sum = 0_u64;
    for handle in handles {
        max_threads = max_threads.max(isolate::pool_stats().threads);
        sum += handle.join().unwrap() as u64;
    }
    assert_eq!(pooled.join_timeout(WATCHDOG).unwrap(), "also served");
    assert_eq!(sum, (count as u64 * (count as u64 - 1)) / 2);
    assert!(
        max_threads <= 512,
        "the cap was exceeded: {max_threads} threads"
    );
    assert!(
        live_threads() <= 512 + 8,
        "{} threads alive",
        live_threads()
    );
    held
}

#[test]
fn outstanding_isolates_are_held_then_drained() {
    let count: usize = std::env::var("ISOLATE_LOAD_ISOLATES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let _watchdog = Watchdog::arm(WATCHDOG * 4, format!("holding {count} isolates"));
    isolate::run(|| ()).join().unwrap();
    let baseline = rss_bytes();
    let started = Instant::now();
    let held_first = hold_and_drain(count);
    let after_first = rss_bytes();
    let held_second = hold_and_drain(count);
    let after_second = rss_bytes();
    println!(
        "load: 2 x {count} isolates held and drained in {:?}; RSS {} MB baseline, {} / {} MB held, {} / {} MB after each round",
        started.elapsed(),
        baseline >> 20,
        held_first >> 20,
        held_second >> 20,
        after_first >> 20,
        after_second >> 20,
    );
    // The allocator keeps freed memory for reuse, and pool threads keep
    // their stacks until they retire; but a second round must reuse it.
    let growth = after_second.saturating_sub(after_first);
    assert!(
        growth < (after_first - baseline.min(after_first)) / 4 + (4 << 20),
        "the second round grew RSS by {} MB",
        growth >> 20
    );
}
