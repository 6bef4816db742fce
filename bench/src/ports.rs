//! Message round trips through a long-running isolate against a raw
//! crossbeam channel pair doing the same work, in one run.
//!
//! `cargo run --release -p isolate-bench --bin ports`
//!
//! Each system serves the same tiny computation on a thread of its own; the
//! caller sends a message and waits for the answer (latency), or sends a
//! window of 64 and then reads them (throughput). Rounds of every system are
//! interleaved and the median round is kept; ratios are to the raw pair.

use std::hint::black_box;
use std::time::{Duration, Instant};

use isolate::{Port, Service, Worker};
use isolate_bench::measure::rss_bytes;

/// Round trips per round.
const TRIPS: u64 = 20_480; // a multiple of WINDOW
/// Messages in flight in the throughput rows.
const WINDOW: u64 = 64;
const ROUNDS: usize = 7;

/// The work each message asks for: small, so that the messaging shows.
fn work(n: u64) -> u64 {
    n.wrapping_mul(0x9E37_79B9_7F4A_7C15).rotate_left(17)
}

trait System {
    fn name(&self) -> &'static str;
    /// `TRIPS` sequential round trips.
    fn round_trips(&self) -> u64;
    /// `TRIPS` messages, `WINDOW` in flight at a time.
    fn windowed(&self) -> u64;
}

/// The baseline: a thread and two bounded crossbeam channels.
struct RawPair {
    requests: crossbeam_channel::Sender<u64>,
    replies: crossbeam_channel::Receiver<u64>,
}

impl RawPair {
    fn start() -> Self {
        let (requests, inbox) = crossbeam_channel::bounded::<u64>(WINDOW as usize);
        let (outbox, replies) = crossbeam_channel::bounded::<u64>(WINDOW as usize);
        std::thread::spawn(move || {
            for n in inbox {
                if outbox.send(work(n)).is_err() {
                    break;
                }
            }
        });
        RawPair { requests, replies }
    }
}

impl System for RawPair {
    fn name(&self) -> &'static str {
        "raw crossbeam channel pair"
    }

    fn round_trips(&self) -> u64 {
        let mut sum = 0_u64;
        for n in 0..TRIPS {
            self.requests.send(n).unwrap();
            sum = sum.wrapping_add(self.replies.recv().unwrap());
        }
        sum
    }

    fn windowed(&self) -> u64 {
        let mut sum = 0_u64;
        for start in (0..TRIPS).step_by(WINDOW as usize) {
            for n in start..start + WINDOW {
                self.requests.send(n).unwrap();
            }
            for _ in 0..WINDOW {
                sum = sum.wrapping_add(self.replies.recv().unwrap());
            }
        }
        sum
    }
}

/// `isolate::Worker`: the same loop over its `Port`.
struct PortWorker(Worker<u64, u64>);

impl PortWorker {
    fn start() -> Self {
        PortWorker(isolate::Builder::new().capacity(WINDOW as usize).spawn(
            |port: Port<u64, u64>| {
                for n in &port {
                    if port.send(work(n)).is_err() {
                        break;
                    }
                }
            },
        ))
    }
}

impl System for PortWorker {
    fn name(&self) -> &'static str {
        "isolate::Worker send + recv"
    }

    fn round_trips(&self) -> u64 {
        let mut sum = 0_u64;
        for n in 0..TRIPS {
            self.0.send(n).unwrap();
            sum = sum.wrapping_add(self.0.recv().unwrap());
        }
        sum
    }

    fn windowed(&self) -> u64 {
        let mut sum = 0_u64;
        for start in (0..TRIPS).step_by(WINDOW as usize) {
            for n in start..start + WINDOW {
                self.0.send(n).unwrap();
            }
            for _ in 0..WINDOW {
                sum = sum.wrapping_add(self.0.recv().unwrap());
            }
        }
        sum
    }
}

/// `isolate::Service`: a request with its own reply handle, joined.
struct ServiceRequests(Service<u64, u64>);

impl ServiceRequests {
    fn start() -> Self {
        ServiceRequests(
            isolate::Builder::new()
                .capacity(WINDOW as usize)
                .service()
                .spawn(|| (), |_: &mut (), n: u64| work(n)),
        )
    }
}

impl System for ServiceRequests {
    fn name(&self) -> &'static str {
        "isolate::Service request + join"
    }

    fn round_trips(&self) -> u64 {
        let mut sum = 0_u64;
        for n in 0..TRIPS {
            sum = sum.wrapping_add(self.0.request(n).join().unwrap());
        }
        sum
    }

    fn windowed(&self) -> u64 {
        let mut sum = 0_u64;
        let mut replies = Vec::with_capacity(WINDOW as usize);
        for start in (0..TRIPS).step_by(WINDOW as usize) {
            replies.extend((start..start + WINDOW).map(|n| self.0.request(n)));
            for reply in replies.drain(..) {
                sum = sum.wrapping_add(reply.join().unwrap());
            }
        }
        sum
    }
}

/// The same service awaited from an executor (`futures::executor`).
struct ServiceAwaited(Service<u64, u64>);

impl System for ServiceAwaited {
    fn name(&self) -> &'static str {
        "isolate::Service request_async, awaited"
    }

    fn round_trips(&self) -> u64 {
        futures::executor::block_on(async {
            let mut sum = 0_u64;
            for n in 0..TRIPS {
                sum = sum.wrapping_add(self.0.request_async(n).await.unwrap());
            }
            sum
        })
    }

    fn windowed(&self) -> u64 {
        futures::executor::block_on(async {
            let mut sum = 0_u64;
            for start in (0..TRIPS).step_by(WINDOW as usize) {
                let replies: Vec<_> = (start..start + WINDOW).map(|n| self.0.request(n)).collect();
                for reply in replies {
                    sum = sum.wrapping_add(reply.await.unwrap());
                }
            }
            sum
        })
    }
}

/// Memory per request queued at a paused service, its reply handle
/// included, against a `u64` queued in an unbounded crossbeam channel.
fn queued_bytes() -> (f64, f64) {
    const QUEUED: usize = 200_000;
    // The raw channel first: memory freed by the service would be reused.
    let (tx, rx) = crossbeam_channel::unbounded::<u64>();
    let before = rss_bytes();
    for n in 0..QUEUED as u64 {
        tx.send(n).unwrap();
    }
    let raw_bytes = (rss_bytes() - before) as f64 / QUEUED as f64;
    drop(rx);
    let service = isolate::Builder::new()
        .capacity(usize::MAX)
        .service()
        .spawn(|| (), |_: &mut (), n: u64| work(n));
    let paused = service.pause();
    let before = rss_bytes();
    let replies: Vec<_> = (0..QUEUED as u64).map(|n| service.request(n)).collect();
    let service_bytes = (rss_bytes() - before) as f64 / QUEUED as f64;
    drop(paused);
    for reply in replies {
        black_box(reply.join().unwrap());
    }

    (service_bytes, raw_bytes)
}

fn per_message(f: impl FnOnce() -> u64) -> Duration {
    let start = Instant::now();
    black_box(f());
    start.elapsed() / TRIPS as u32
}

fn main() {
    let systems: Vec<Box<dyn System>> = vec![
        Box::new(RawPair::start()),
        Box::new(PortWorker::start()),
        Box::new(ServiceRequests::start()),
        Box::new(ServiceAwaited(ServiceRequests::start().0)),
    ];
    let expected = systems[0].round_trips();
    for system in &systems {
        assert_eq!(
            system.round_trips(),
            expected,
            "{} computed something else",
            system.name()
        );
        assert_eq!(
            system.windowed(),
            expected,
            "{} computed something else",
            system.name()
        );
    }
    let mut trips = vec![Vec::new(); systems.len()];
    let mut windows = vec![Vec::new(); systems.len()];
    for _ in 0..ROUNDS {
        for (i, system) in systems.iter().enumerate() {
            trips[i].push(per_message(|| system.round_trips()));
            windows[i].push(per_message(|| system.windowed()));
        }
    }
    let median = |times: &mut Vec<Duration>| {
        times.sort();
        times[times.len() / 2]
    };
    let trips: Vec<Duration> = trips.iter_mut().map(median).collect();
    let windows: Vec<Duration> = windows.iter_mut().map(median).collect();

    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("message round trips through a worker thread, {cores} cores, {TRIPS} messages a round, median of {ROUNDS} interleaved rounds");
    println!();
    println!(
        "{:<42} {:>14} {:>8} {:>18} {:>8}",
        "system", "round trip", "ratio", "64 in flight/msg", "ratio"
    );
    for (i, system) in systems.iter().enumerate() {
        println!(
            "{:<42} {:>11.2} µs {:>8.2} {:>15.3} µs {:>8.2}",
            system.name(),
            trips[i].as_secs_f64() * 1e6,
            trips[i].as_secs_f64() / trips[0].as_secs_f64(),
            windows[i].as_secs_f64() * 1e6,
            windows[i].as_secs_f64() / windows[0].as_secs_f64(),
        );
    }
    println!();
    let (service_bytes, raw_bytes) = queued_bytes();
    println!(
        "memory per queued request: Service {service_bytes:.0} bytes (its reply handle included), raw channel {raw_bytes:.0} bytes per u64"
    );
    println!();
    let worst = (1..systems.len())
        .map(|i| trips[i].as_secs_f64() / trips[0].as_secs_f64())
        .fold(0.0_f64, f64::max);
    println!(
        "target: round trip at most 1.5x the raw pair: {} (worst {worst:.2}x)",
        if worst <= 1.5 { "met" } else { "NOT met" }
    );
}
