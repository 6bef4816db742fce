//! Cancellation and timeouts: cooperative for synchronous isolates, real
//! for async ones, and completed work is never thrown away.
//!
//! Run it with `cargo run --release --example cancel_and_timeout`.

use std::time::{Duration, Instant};

use isolate::{isolated, IsolateError};

/// A long search that checks `is_cancelled()` and returns what it found so far.
#[isolated]
fn search(limit: u64) -> (u64, bool) {
    let mut checked = 0;
    while checked < limit {
        if checked % 1_000 == 0 && isolate::is_cancelled() {
            return (checked, true);
        }
        checked += 1;
        std::hint::black_box(checked);
    }
    (checked, false)
}

/// Async isolates are dropped at their next poll when cancelled.
#[isolated]
async fn wait_for_ever() {
    std::future::pending::<()>().await;
}

fn main() {
    // A timeout cancels the isolate and reports `TimedOut`.
    let start = Instant::now();
    match search_isolated(u64::MAX).join_timeout(Duration::from_millis(50)) {
        Err(IsolateError::TimedOut { .. }) => println!("timed out after {:?}", start.elapsed()),
        other => println!("unexpected: {other:?}"),
    }

    // `cancel()` asks; the isolate stops early and its partial value comes back.
    let handle = search_isolated(u64::MAX);
    std::thread::sleep(Duration::from_millis(20));
    handle.cancel();
    match handle.join() {
        Ok((checked, true)) => {
            println!("cancelled after checking {checked} candidates; the partial result was kept")
        }
        other => println!("unexpected: {other:?}"),
    }

    // An isolate cancelled before it starts never runs.
    let handle = isolate::Builder::new()
        .dedicated()
        .run(|| println!("this never prints"));
    handle.cancel();
    let outcome = handle.join();
    println!(
        "cancelled before starting: {}",
        if matches!(outcome, Err(IsolateError::Cancelled { .. })) {
            "never ran"
        } else {
            "ran anyway (it started first)"
        }
    );

    // A pending async isolate whose wakers are all gone ends instead of hanging.
    match wait_for_ever_isolated().join() {
        Err(IsolateError::EndedWithoutResult { .. }) => {
            println!("an async isolate nothing could wake ended without a result")
        }
        other => println!("unexpected: {other:?}"),
    }
}
