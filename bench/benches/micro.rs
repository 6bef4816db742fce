//! Micro-costs of the runtime, with divan: `cargo bench -p isolate-bench`.
//! The side-by-side comparison with the peers is the `compare` binary.

use std::hint::black_box;

fn main() {
    divan::main();
}

/// Start an isolate and join it: the whole round trip.
#[divan::bench]
fn run_join() -> u64 {
    isolate::run(|| black_box(1_u64) + 1).join().unwrap()
}

/// Start an isolate and await it.
#[divan::bench]
fn run_await() -> u64 {
    futures::executor::block_on(isolate::run(|| black_box(1_u64) + 1)).unwrap()
}

/// Start a dedicated isolate (a thread of its own) and join it.
#[divan::bench]
fn dedicated_join() -> u64 {
    isolate::Builder::new()
        .dedicated()
        .run(|| black_box(1_u64) + 1)
        .join()
        .unwrap()
}

/// Start an isolate and drop its handle at once (cancel).
#[divan::bench]
fn run_cancel() {
    drop(isolate::run(|| black_box(1_u64)));
}

/// Start an isolate and detach it.
#[divan::bench]
fn run_detach() {
    isolate::run(|| {
        black_box(1_u64);
    })
    .detach();
}

/// An async isolate's executor: create, poll once, complete.
#[divan::bench]
fn run_async_join() -> u64 {
    isolate::run_async(|| async { black_box(1_u64) + 1 })
        .join()
        .unwrap()
}
