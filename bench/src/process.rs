//! `process`: process isolates against a fresh `std::process::Command` per
//! call and thread isolates, round trip and throughput, in one run.
//!
//! ```text
//! cargo run --release -p isolate-bench --bin process
//! ```
//!
//! - **round trip**: one call at a time, its arguments two `u64`s and its
//!   result their sum (the median of 5 runs of N calls, per call);
//! - **throughput**: N calls in flight at once from one caller, then all
//!   joined (calls per second);
//! - **payload**: one call whose argument and result are 1 MiB.
//!
//! A fresh process per call is this same executable started with one
//! environment variable, answering on stdout and exiting: the cost of
//! `fork`/`exec`, the dynamic loader and the runtime's start, which a warm
//! pool pays once. procspawn is not compared: it is not in this machine's
//! offline cargo registry.

use std::hint::black_box;
use std::io::Write;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use isolate::isolated;
use isolate_bench::measure;

/// Set in a child started per call: it adds its two arguments and exits.
const ONE_SHOT: &str = "ISOLATE_BENCH_ONE_SHOT";

#[isolated(process)]
fn add(a: u64, b: u64) -> u64 {
    a.wrapping_add(b)
}

#[isolated(process)]
fn reverse(data: Vec<u8>) -> Vec<u8> {
    data.into_iter().rev().collect()
}

fn one_shot(a: u64, b: u64) -> u64 {
    let output = Command::new(std::env::current_exe().expect("the bench's own path"))
        .env(ONE_SHOT, format!("{a} {b}"))
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("a fresh process");
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .expect("the fresh process's answer")
}

fn per_call(total: Duration, calls: usize) -> f64 {
    total.as_secs_f64() * 1e6 / calls as f64
}

fn main() {
    if let Ok(args) = std::env::var(ONE_SHOT) {
        let mut parts = args.split(' ').filter_map(|n| n.parse::<u64>().ok());
        let (a, b) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
        let _ = writeln!(std::io::stdout(), "{}", a.wrapping_add(b));
        return;
    }
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    println!("process isolates: {cores} cores, pool of {cores} children (the default)");
    // Warm the pools: the first process call starts a child.
    for i in 0..cores as u64 * 4 {
        black_box(add_isolated(i, 1).join().expect("warm-up"));
        black_box(isolate::run(move || i + 1).join().expect("warm-up"));
    }

    const ROUND_TRIPS: usize = 2_000;
    const FRESH: usize = 100;
    let process_rt = measure::median(5, || {
        measure::time(|| {
            for i in 0..ROUND_TRIPS as u64 {
                black_box(add_isolated(i, 1).join().expect("a process call"));
            }
        })
    });
    let thread_rt = measure::median(5, || {
        measure::time(|| {
            for i in 0..ROUND_TRIPS as u64 {
                black_box(
                    isolate::run(move || i.wrapping_add(1))
                        .join()
                        .expect("a call"),
                );
            }
        })
    });
    let fresh_rt = measure::median(3, || {
        measure::time(|| {
            for i in 0..FRESH as u64 {
                black_box(one_shot(i, 1));
            }
        })
    });
    let process_us = per_call(process_rt, ROUND_TRIPS);
    let thread_us = per_call(thread_rt, ROUND_TRIPS);
    let fresh_us = per_call(fresh_rt, FRESH);
    println!();
    println!("round trip (one call at a time, median of runs)");
    println!("  thread isolate            {thread_us:>10.1} us");
    println!("  process isolate (warm)    {process_us:>10.1} us");
    println!(
        "  fresh Command per call    {fresh_us:>10.1} us   ({:.1}x the warm pool)",
        fresh_us / process_us
    );

    const IN_FLIGHT: usize = 10_000;
    let process_tp = measure::median(3, || {
        measure::time(|| {
            let handles: Vec<_> = (0..IN_FLIGHT as u64).map(|i| add_isolated(i, 1)).collect();
            for handle in handles {
                black_box(handle.join().expect("a process call"));
            }
        })
    });
    let thread_tp = measure::median(3, || {
        measure::time(|| {
            let handles: Vec<_> = (0..IN_FLIGHT as u64)
                .map(|i| isolate::run(move || i.wrapping_add(1)))
                .collect();
            for handle in handles {
                black_box(handle.join().expect("a call"));
            }
        })
    });
    let fresh_tp = measure::median(3, || {
        measure::time(|| {
            let workers: Vec<_> = (0..cores)
                .map(|w| {
                    std::thread::spawn(move || {
                        for i in 0..FRESH / cores {
                            black_box(one_shot((w * FRESH + i) as u64, 1));
                        }
                    })
                })
                .collect();
            for worker in workers {
                worker.join().expect("a caller");
            }
        })
    });
    let rate = |total: Duration, calls: usize| calls as f64 / total.as_secs_f64();
    println!();
    println!(
        "throughput ({IN_FLIGHT} calls in flight; fresh processes: {} from {cores} callers)",
        FRESH / cores * cores
    );
    println!(
        "  thread isolate            {:>10.0} calls/s",
        rate(thread_tp, IN_FLIGHT)
    );
    println!(
        "  process isolate (warm)    {:>10.0} calls/s",
        rate(process_tp, IN_FLIGHT)
    );
    println!(
        "  fresh Command per call    {:>10.0} calls/s",
        rate(fresh_tp, FRESH / cores * cores)
    );

    let payload: Vec<u8> = (0..1 << 20).map(|i: u32| i as u8).collect();
    let payload_rt = measure::median(5, || {
        let data = payload.clone();
        measure::time(|| {
            black_box(reverse_isolated(data).join().expect("a 1 MiB call"));
        })
    });
    println!();
    println!(
        "payload: 1 MiB argument and 1 MiB result, one process call: {:.0} us",
        payload_rt.as_secs_f64() * 1e6
    );
    let started = Instant::now();
    let stats = isolate::process::pool_stats();
    println!(
        "pool: {} children started, {} crashed ({:?} to read)",
        stats.started,
        stats.crashed,
        started.elapsed()
    );
}
