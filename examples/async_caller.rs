//! Awaiting isolates from async code: a tokio service keeps its heartbeat
//! while CPU-heavy work runs on isolates instead of its worker threads.
//!
//! Run it with `cargo run --release --example async_caller`.

use std::time::{Duration, Instant};

use isolate::isolated;

/// CPU-heavy and synchronous: would stall an async runtime if run inline.
#[isolated]
fn count_primes(below: u64) -> usize {
    (2..below)
        .filter(|n| (2..).take_while(|d| d * d <= *n).all(|d| n % d != 0))
        .count()
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    // One thread runs the whole runtime: if the work ran inline, the
    // heartbeat below would stop for the whole computation.
    let heartbeat = tokio::spawn(async {
        let mut beats = 0;
        let mut worst = Duration::ZERO;
        let mut interval = tokio::time::interval(Duration::from_millis(10));
        loop {
            let before = Instant::now();
            interval.tick().await;
            worst = worst.max(before.elapsed().saturating_sub(Duration::from_millis(10)));
            beats += 1;
            if beats == 100 {
                return worst;
            }
        }
    });

    let start = Instant::now();
    let (a, b, c) = tokio::join!(
        count_primes_isolated(300_000),
        count_primes_isolated(310_000),
        count_primes_isolated(320_000),
    );
    println!(
        "primes: {}, {}, {} in {:?}",
        a.unwrap(),
        b.unwrap(),
        c.unwrap(),
        start.elapsed()
    );
    let worst_delay = heartbeat.await.unwrap();
    println!("heartbeat stayed on time: worst extra delay {worst_delay:?} over 100 beats");
}
