//! Progress from a long computation, shown as a progress bar.
//!
//! `#[isolated]` on a function that takes a `Progress<P>` parameter gives a
//! sibling that supplies the sender itself and returns a `ProgressHandle`:
//! the caller reads the updates (here, to drive an `indicatif` bar), then
//! gets the result, or the error, as for any isolate.
//!
//! `cargo run --release --example progress_bar`

use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};
use isolate::{isolated, Progress};

/// Counts the primes below `limit` in chunks, reporting each chunk done.
#[isolated]
fn count_primes(limit: u64, progress: Progress<u64>) -> u64 {
    const CHUNK: u64 = 10_000;
    let mut primes = 0;
    let mut start = 2;
    while start < limit {
        let end = (start + CHUNK).min(limit);
        primes += (start..end).filter(|&n| is_prime(n)).count() as u64;
        progress.send(end);
        if isolate::is_cancelled() {
            break;
        }
        start = end;
    }
    primes
}

fn is_prime(n: u64) -> bool {
    n >= 2
        && (2..)
            .take_while(|d| d * d <= n)
            .all(|d| !n.is_multiple_of(d))
}

fn main() {
    let limit = 3_000_000;
    let handle = count_primes_isolated(limit);

    let bar = ProgressBar::new(limit);
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:40}] {percent:>3}% {msg}")
            .expect("a valid progress bar template")
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(100));
    bar.set_message("counting primes on an isolate");
    // The updates end when the computation does.
    for done in handle.updates().iter() {
        bar.set_position(done);
    }
    bar.finish_with_message("done");

    let primes = handle.into_handle().join().expect("the computation failed");
    println!("{primes} primes below {limit}");
    assert_eq!(primes, 216_816);
}
