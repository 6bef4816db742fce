//! Randomised stress of services: several blocking and async callers share
//! a pool of workers, mixing answered, failed, panicking, withdrawn and
//! timed-out requests and pings, bounded in count and time, reproducible
//! from the printed seed. Every caller sees what its request asked for, and
//! every request and reply is dropped exactly once.
//!
//! `ISOLATE_SERVICE_STRESS_REQUESTS` sets how many requests in all (default
//! 20,000), `ISOLATE_STRESS_SEED` replays a seed.

mod support;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use isolate::{Dispatch, IsolateError};
use support::{env_u64, DropCounter, Rng, Tracked, Watchdog, WATCHDOG};

#[derive(Clone, Copy)]
enum Plan {
    Answer,
    Fail,
    Panic,
}

fn plan(rng: &mut Rng) -> Plan {
    match rng.below(10) {
        0 => Plan::Fail,
        1 => Plan::Panic,
        _ => Plan::Answer,
    }
}

type Request = (u64, Plan, Tracked);

fn handle(state: &mut u64, (n, plan, tracked): Request) -> Result<(u64, Tracked), u64> {
    *state += 1;
    match plan {
        Plan::Answer => Ok((n * 3, tracked)),
        Plan::Fail => Err(n),
        Plan::Panic => panic!("request {n} asked to panic"),
    }
}

/// Checks one reply against its plan.
fn check(n: u64, plan: Plan, reply: Result<(u64, Tracked), IsolateError<u64>>) {
    match (plan, reply) {
        (Plan::Answer, Ok((value, _))) => assert_eq!(value, n * 3),
        (Plan::Fail, Err(IsolateError::Failed { error: back, .. })) => assert_eq!(back, n),
        (Plan::Panic, Err(IsolateError::Panicked(panic))) => {
            assert_eq!(
                panic.message(),
                Some(format!("request {n} asked to panic").as_str())
            );
        }
        (_, Err(IsolateError::TimedOut { .. } | IsolateError::Cancelled { .. })) => {}
        (_, other) => panic!("request {n}: unexpected {:?}", other.map(|(v, _)| v)),
    }
}

#[test]
fn a_pool_of_workers_under_random_requests() {
    isolate::print_panics(false);
    let total = env_u64("ISOLATE_SERVICE_STRESS_REQUESTS", 20_000);
    let seed = env_u64(
        "ISOLATE_STRESS_SEED",
        0x5EED_CAFE ^ std::process::id() as u64,
    ) | 1;
    println!("service stress: {total} requests, seed {seed}");
    let _watchdog = Watchdog::arm(
        Duration::from_secs(120),
        format!("service stress, seed {seed}"),
    );
    let counter = DropCounter::new();
    let service = isolate::Builder::new()
        .name("stressed")
        .capacity(8)
        .service()
        .threads(3)
        .dispatch(Dispatch::LeastLoaded)
        .errors_are_fatal(false)
        .spawn(|| 0_u64, isolate::Fold(handle));

    let callers = 4;
    let per_caller = total / (callers + 1);
    let threads: Vec<_> = (0..callers)
        .map(|caller| {
            let (service, counter) = (service.clone(), counter.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(seed.wrapping_add(caller * 0x9E37_79B9) | 1);
                let mut pending = Vec::new();
                for i in 0..per_caller {
                    let n = caller * 1_000_000 + i;
                    let plan = plan(&mut rng);
                    let reply = service.request((n, plan, counter.track()));
                    match rng.below(20) {
                        0 => drop(reply), // withdrawn, or discarded if running
                        1 => check(
                            n,
                            plan,
                            reply.join_timeout(Duration::from_micros(rng.below(50))),
                        ),
                        2 => service.ping().join_timeout(WATCHDOG).unwrap(),
                        3..=9 => pending.push((n, plan, reply)),
                        _ => check(n, plan, reply.join()),
                    }
                    if pending.len() > 16 {
                        for (n, plan, reply) in pending.drain(..) {
                            check(n, plan, reply.join());
                        }
                    }
                }
                for (n, plan, reply) in pending {
                    check(n, plan, reply.join());
                }
            })
        })
        .collect();

    // The last share comes from an async caller.
    let runtime = support::tokio_runtime();
    let mut rng = Rng(seed.rotate_left(7) | 1);
    runtime.block_on(async {
        for i in 0..per_caller {
            let n = 9_000_000 + i;
            let plan = plan(&mut rng);
            let reply = service.request_async((n, plan, counter.track())).await;
            check(n, plan, reply);
        }
    });
    for thread in threads {
        thread.join().unwrap();
    }
    service.ping().join_timeout(WATCHDOG).unwrap();
    assert_eq!(service.in_flight(), 0);
    service.join().unwrap();
    counter.assert_balanced();
}

/// Checks a reply from a service that is being killed, restarted and
/// paused under its callers: it must arrive (no `TimedOut`), and say what
/// the request asked for or why it could not be served.
fn check_supervised(
    n: u64,
    plan: Plan,
    reply: Result<(u64, Tracked), IsolateError<u64>>,
    answered: &AtomicU64,
) {
    match (plan, reply) {
        (Plan::Answer, Ok((value, _))) => {
            assert_eq!(value, n * 3);
            answered.fetch_add(1, Ordering::Relaxed);
        }
        (Plan::Fail, Err(IsolateError::Failed { error: back, .. })) => assert_eq!(back, n),
        // Its own panic, or, queued behind a fatal one, that one.
        (_, Err(IsolateError::Panicked(_) | IsolateError::Cancelled { .. })) => {}
        (_, other) => panic!("request {n}: unexpected {:?}", other.map(|(v, _)| v)),
    }
}

#[test]
fn a_supervised_pool_killed_restarted_paused_and_pinged_under_its_callers() {
    use isolate::Restart;

    isolate::print_panics(false);
    let total = env_u64("ISOLATE_SERVICE_STRESS_REQUESTS", 20_000) / 4;
    let seed = env_u64(
        "ISOLATE_STRESS_SEED",
        0xB0A7_5EED ^ std::process::id() as u64,
    ) | 1;
    println!("supervised service stress: {total} requests, seed {seed}");
    let _watchdog = Watchdog::arm(
        Duration::from_secs(120),
        format!("supervised service stress, seed {seed}"),
    );
    let counter = DropCounter::new();
    let service = isolate::Builder::new()
        .name("supervised")
        .capacity(4)
        .service()
        .threads(3)
        .dispatch(Dispatch::RoundRobin)
        .restart(Restart::OnPanic { limit: usize::MAX })
        .spawn(|| 0_u64, isolate::Fold(handle));

    let callers = 3;
    let per_caller = total / callers;
    let done = Arc::new(AtomicBool::new(false));
    // Requests answered with a value: the supervisor acts once per 256, so
    // that most requests meet a running service.
    let progress = Arc::new(AtomicU64::new(0));
    let threads: Vec<_> = (0..callers)
        .map(|caller| {
            let (service, counter) = (service.clone(), counter.clone());
            let progress = Arc::clone(&progress);
            std::thread::spawn(move || {
                let mut rng = Rng(seed.wrapping_add(caller * 0x9E37_79B9) | 1);
                let mut pending = Vec::new();
                for i in 0..per_caller {
                    let n = caller * 1_000_000 + i;
                    let plan = plan(&mut rng);
                    let reply = service.request((n, plan, counter.track()));
                    match rng.below(10) {
                        0 => drop(reply),
                        1 => {
                            // Never blocks; answered unless every worker is
                            // gone (killed and not yet restarted).
                            let ping = if rng.below(2) == 0 {
                                service.ping()
                            } else {
                                service.ping_in_order()
                            };
                            match ping.join_timeout(WATCHDOG) {
                                Ok(()) | Err(IsolateError::EndedWithoutResult { .. }) => {}
                                Err(other) => panic!("ping: {other:?}"),
                            }
                            pending.push((n, plan, reply));
                        }
                        2..=5 => pending.push((n, plan, reply)),
                        _ => check_supervised(n, plan, reply.join_timeout(WATCHDOG), &progress),
                    }
                    if pending.len() > 8 {
                        for (n, plan, reply) in pending.drain(..) {
                            check_supervised(n, plan, reply.join_timeout(WATCHDOG), &progress);
                        }
                    }
                }
                for (n, plan, reply) in pending {
                    check_supervised(n, plan, reply.join_timeout(WATCHDOG), &progress);
                }
            })
        })
        .collect();

    // A supervisor that kills, restarts and pauses the service meanwhile.
    let supervisor = {
        let (service, done, progress) = (service.clone(), done.clone(), progress.clone());
        std::thread::spawn(move || {
            let mut rng = Rng(seed.rotate_left(13) | 1);
            let mut acted_at = 0;
            while !done.load(Ordering::SeqCst) {
                let now = progress.load(Ordering::Relaxed);
                if now < acted_at + 256 {
                    std::thread::yield_now();
                    continue;
                }
                acted_at = now;
                match rng.below(4) {
                    0 => {
                        // Callers meet the killed service for a moment.
                        service.kill();
                        (0..rng.below(64)).for_each(|_| std::thread::yield_now());
                        service.restart();
                    }
                    1 => service.restart(),
                    2 => {
                        let paused = service.pause();
                        service.ping().join_timeout(WATCHDOG).ok();
                        drop(paused);
                    }
                    _ => std::thread::yield_now(),
                }
            }
        })
    };
    for thread in threads {
        thread.join().unwrap();
    }
    done.store(true, Ordering::SeqCst);
    supervisor.join().unwrap();
    println!(
        "answered with a value: {}",
        progress.load(Ordering::Relaxed)
    );
    service.restart();
    service.ping().join_timeout(WATCHDOG).unwrap();
    service.join().unwrap();
    counter.assert_balanced();
}
