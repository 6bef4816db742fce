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
    isolate::run(isolate::Async(|| async { black_box(1_u64) + 1 }))
        .join()
        .unwrap()
}

/// A service shared by the request benchmarks, started once.
fn echo_service() -> &'static isolate::Service<u64, u64> {
    static SERVICE: std::sync::OnceLock<isolate::Service<u64, u64>> = std::sync::OnceLock::new();
    SERVICE.get_or_init(|| isolate::Service::spawn(|| (), |_: &mut (), n: u64| n + 1))
}

/// A request to a long-running service, joined.
#[divan::bench]
fn service_request_join() -> u64 {
    echo_service().request(black_box(1)).join().unwrap()
}

/// A request to a long-running service, awaited.
#[divan::bench]
fn service_request_await() -> u64 {
    futures::executor::block_on(echo_service().request_async(black_box(1))).unwrap()
}

/// A request that is withdrawn before the worker takes it, or discarded.
#[divan::bench]
fn service_request_drop() {
    drop(echo_service().request(black_box(1)));
}

/// A message to a worker and its answer, through the worker's port.
#[divan::bench]
fn worker_send_recv(bencher: divan::Bencher) {
    let worker = isolate::Worker::spawn(|port: isolate::Port<u64, u64>| {
        let (inbox, outbox) = port.into_parts();
        inbox.iter().try_for_each(|n| outbox.send(n + 1)).ok();
    });
    bencher.bench_local(|| {
        worker.send(black_box(1)).unwrap();
        worker.recv().unwrap()
    });
}

/// A progress update sent and read.
#[divan::bench]
fn progress_update(bencher: divan::Bencher) {
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = isolate::run_with_progress(move |progress: isolate::Progress<u64>| {
        tx.send(progress).unwrap();
    });
    let progress = rx.recv().unwrap();
    bencher.bench_local(|| {
        progress.send(black_box(1));
        handle.recv().unwrap()
    });
}
