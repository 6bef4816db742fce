//! Randomised stress: many isolates from several submitting threads and
//! async tasks, mixing every outcome and every way of waiting, bounded in
//! count and time, reproducible from the printed seed. At the end nothing is
//! lost, nothing is counted twice, and the pool is back to idle.
//!
//! `ISOLATE_STRESS_ISOLATES` sets how many isolates in all (default 100,000
//! in CI; the full run uses 300,000), `ISOLATE_STRESS_SEED` replays a seed.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use isolate::{IsolateError, IsolateHandle};
use support::{env_u64, DropCounter, Rng, Tracked, Watchdog, WATCHDOG};

/// What an isolate was asked to do, and so what its caller must see.
#[derive(Clone, Copy)]
enum Plan {
    Value,
    Error,
    Panic,
    Exit,
    Nested,
}

/// Tallies of what callers saw, to check against what was asked.
#[derive(Default)]
struct Tally {
    values: AtomicU64,
    errors: AtomicU64,
    panics: AtomicU64,
    ended: AtomicU64,
    cancelled_or_timed_out: AtomicU64,
    unwaited: AtomicU64,
}

fn start(plan: Plan, counter: &DropCounter) -> IsolateHandle<Tracked, Tracked> {
    let argument = counter.track();
    let results = counter.clone();
    isolate::run(isolate::Fold(move || {
        let _argument = argument;
        match plan {
            Plan::Value => Ok(results.track()),
            Plan::Error => Err(results.track()),
            Plan::Panic => panic!("planned panic"),
            Plan::Exit => isolate::exit(),
            Plan::Nested => {
                let inner = results.clone();
                isolate::run(move || inner.track())
                    .join()
                    .map_err(|_| results.track())
            }
        }
    }))
}

fn record(outcome: Result<Tracked, IsolateError<Tracked>>, tally: &Tally) {
    let counter = match outcome {
        Ok(_) => &tally.values,
        Err(IsolateError::Failed { .. }) => &tally.errors,
        Err(IsolateError::Panicked(_)) => &tally.panics,
        Err(IsolateError::EndedWithoutResult { .. }) => &tally.ended,
        Err(IsolateError::Cancelled { .. }) | Err(IsolateError::TimedOut { .. }) => {
            &tally.cancelled_or_timed_out
        }
        // `Tracked` has no `Display`, so neither has its `IsolateError`.
        Err(IsolateError::Spawn { error: e, .. }) => panic!("unexpected outcome: {e}"),
        Err(_) => panic!("unexpected outcome"),
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

fn plan_of(rng: &mut Rng) -> Plan {
    match rng.below(5) {
        0 => Plan::Value,
        1 => Plan::Error,
        2 => Plan::Panic,
        3 => Plan::Exit,
        _ => Plan::Nested,
    }
}

/// One submitting thread: starts isolates and waits on each in a random way.
fn blocking_submitter(seed: u64, count: u64, counter: DropCounter, tally: Arc<Tally>) {
    let mut rng = Rng(seed | 1);
    for _ in 0..count {
        let handle = start(plan_of(&mut rng), &counter);
        match rng.below(5) {
            0 | 1 => record(handle.join(), &tally),
            2 => record(
                handle.join_timeout(Duration::from_micros(rng.below(200))),
                &tally,
            ),
            3 => {
                handle.cancel();
                record(handle.join(), &tally);
            }
            _ => {
                if rng.below(2) == 0 {
                    drop(handle);
                } else {
                    handle.detach();
                }
                tally.unwaited.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

#[test]
fn randomised_mix_of_outcomes_and_waits() {
    let total = env_u64("ISOLATE_STRESS_ISOLATES", 100_000);
    let seed = env_u64(
        "ISOLATE_STRESS_SEED",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(1, |d| d.as_nanos() as u64),
    );
    println!("stress: {total} isolates, seed {seed} (replay with ISOLATE_STRESS_SEED={seed})");
    let _watchdog = Watchdog::arm(WATCHDOG * 8, format!("the stress run with seed {seed}"));
    let started = Instant::now();
    let counter = DropCounter::new();
    let tally = Arc::new(Tally::default());
    let threads = 3_u64;
    let per_submitter = total / (threads + 1);

    let submitters: Vec<_> = (0..threads)
        .map(|t| {
            let (counter, tally) = (counter.clone(), tally.clone());
            let seed = seed.wrapping_add(t * 0x9E37_79B9);
            std::thread::spawn(move || blocking_submitter(seed, per_submitter, counter, tally))
        })
        .collect();

    // The last share is awaited from async tasks on a tokio runtime.
    let runtime = support::tokio_runtime();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..8_u64)
            .map(|task| {
                let (counter, tally) = (counter.clone(), tally.clone());
                let mut rng = Rng(seed.wrapping_add(1_000 + task) | 1);
                tokio::spawn(async move {
                    for _ in 0..per_submitter / 8 {
                        let handle = start(plan_of(&mut rng), &counter);
                        if rng.below(4) == 0 {
                            match tokio::time::timeout(
                                Duration::from_micros(rng.below(300)),
                                handle,
                            )
                            .await
                            {
                                Ok(outcome) => record(outcome, &tally),
                                Err(_) => {
                                    tally.cancelled_or_timed_out.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        } else {
                            record(handle.await, &tally);
                        }
                    }
                })
            })
            .collect();
        for task in tasks {
            tokio::time::timeout(WATCHDOG * 4, task)
                .await
                .expect("watchdog: an async submitter hung")
                .unwrap();
        }
    });
    for submitter in submitters {
        submitter.join().unwrap();
    }
    assert!(
        started.elapsed() < WATCHDOG * 8,
        "the stress run took too long"
    );

    // Every isolate was accounted for exactly once.
    let seen = [
        &tally.values,
        &tally.errors,
        &tally.panics,
        &tally.ended,
        &tally.cancelled_or_timed_out,
        &tally.unwaited,
    ]
    .iter()
    .map(|c| c.load(Ordering::Relaxed))
    .sum::<u64>();
    assert_eq!(seen, per_submitter * threads + (per_submitter / 8) * 8);
    // Every argument and result was dropped exactly once.
    counter.assert_balanced();
    // And the pool went back to idle: nothing queued, nobody busy.
    let deadline = Instant::now() + WATCHDOG;
    loop {
        let stats = isolate::pool_stats();
        if stats.queued == 0 && stats.idle == stats.threads {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the pool never went idle: {stats:?}"
        );
        std::thread::yield_now();
    }
}
