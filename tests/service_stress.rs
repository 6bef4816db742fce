//! Randomised stress of services: several blocking and async callers share
//! a pool of workers, mixing answered, failed, panicking, withdrawn and
//! timed-out requests and pings, bounded in count and time, reproducible
//! from the printed seed. Every caller sees what its request asked for, and
//! every request and reply is dropped exactly once.
//!
//! `ISOLATE_SERVICE_STRESS_REQUESTS` sets how many requests in all (default
//! 20,000), `ISOLATE_STRESS_SEED` replays a seed.

mod support;

use std::time::Duration;

use isolate::{Dispatch, IsolateError, Service};
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
        (Plan::Fail, Err(IsolateError::Failed(back))) => assert_eq!(back, n),
        (Plan::Panic, Err(IsolateError::Panicked(panic))) => {
            assert_eq!(
                panic.message(),
                Some(format!("request {n} asked to panic").as_str())
            );
        }
        (_, Err(IsolateError::TimedOut | IsolateError::Cancelled)) => {}
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
    let service = Service::builder()
        .name("stressed")
        .workers(3)
        .capacity(8)
        .dispatch(Dispatch::LeastLoaded)
        .errors_are_fatal(false)
        .try_spawn(|| 0_u64, handle);

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
