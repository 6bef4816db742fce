//! Awaiting handles on every kind of executor, with no runtime feature
//! flags: tokio (current-thread and multi-thread), smol, and
//! `futures::executor`. The handle never blocks the thread that polls it,
//! and wakes whichever task polled it last.

mod support;

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::task::{Context, Poll, Wake, Waker};

use isolate::{isolated, IsolateError};
use support::{Gate, WATCHDOG};

#[isolated]
fn square(x: u64) -> u64 {
    x * x
}

#[isolated]
fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

#[isolated]
async fn add_later(a: u32, b: u32) -> u32 {
    let b = isolate::run(move || b).await.unwrap();
    a + b
}

async fn every_outcome() {
    assert_eq!(square_isolated(12).await.unwrap(), 144);
    assert_eq!(parse_isolated("8".into()).await.unwrap(), 8);
    assert!(matches!(
        parse_isolated("x".into()).await,
        Err(IsolateError::Failed { .. })
    ));
    assert_eq!(add_later_isolated(1, 2).await.unwrap(), 3);
    let panicked = isolate::run(|| -> u8 { panic!("in an awaited isolate") }).await;
    assert_eq!(
        panicked.unwrap_err().into_panic().unwrap().message(),
        Some("in an awaited isolate")
    );
    let exited = isolate::run(|| -> u8 { isolate::exit() }).await;
    assert!(matches!(
        exited,
        Err(IsolateError::EndedWithoutResult { .. })
    ));
    let abandoned = isolate::run(isolate::Async(std::future::pending::<u8>)).await;
    assert!(matches!(
        abandoned,
        Err(IsolateError::EndedWithoutResult { .. })
    ));
}

#[test]
fn tokio_current_thread() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    runtime.block_on(every_outcome());
}

#[test]
fn tokio_multi_thread() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..50_u64)
            .map(|i| tokio::spawn(async move { square_isolated(i).await.unwrap() }))
            .collect();
        for (i, task) in tasks.into_iter().enumerate() {
            assert_eq!(task.await.unwrap(), (i * i) as u64);
        }
        every_outcome().await;
    });
}

#[test]
fn smol() {
    smol::block_on(every_outcome());
    let executor = smol::Executor::new();
    let task = executor.spawn(async { square_isolated(3).await.unwrap() });
    assert_eq!(smol::block_on(executor.run(task)), 9);
}

#[test]
fn futures_executor() {
    futures::executor::block_on(every_outcome());
}

#[test]
fn awaiting_never_blocks_a_current_thread_runtime() {
    // The isolate waits for a message that only another task on the same
    // single thread sends: if awaiting blocked the thread, this would hang.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (tx, rx) = mpsc::channel::<u32>();
        let waiting = tokio::spawn(async move {
            isolate::run(move || rx.recv_timeout(WATCHDOG).unwrap() + 1)
                .await
                .unwrap()
        });
        tokio::task::yield_now().await;
        tx.send(41).unwrap();
        let value = tokio::time::timeout(WATCHDOG, waiting)
            .await
            .unwrap()
            .unwrap();
        assert_eq!(value, 42);
    });
}

#[test]
fn join_timeout_and_select_style_cancellation_under_tokio() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let (tx, rx) = mpsc::channel();
        let slow = isolate::run(move || {
            while !isolate::is_cancelled() {
                std::thread::yield_now();
            }
            tx.send("cancelled").unwrap();
        });
        // tokio's timeout drops the handle when it fires, which cancels.
        let result = tokio::time::timeout(std::time::Duration::from_millis(10), slow).await;
        assert!(result.is_err());
        assert_eq!(rx.recv_timeout(WATCHDOG).unwrap(), "cancelled");
    });
}

/// A waker that counts its wakes.
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

#[test]
fn the_latest_waker_is_woken_when_polled_from_different_tasks() {
    let gate = Gate::new();
    let opened = gate.clone();
    let mut handle = isolate::run(move || {
        opened.wait();
        7
    });
    let first = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let second = Arc::new(CountingWaker(AtomicUsize::new(0)));
    let first_waker = Waker::from(first.clone());
    let second_waker = Waker::from(second.clone());
    assert!(Pin::new(&mut handle)
        .poll(&mut Context::from_waker(&first_waker))
        .is_pending());
    assert!(Pin::new(&mut handle)
        .poll(&mut Context::from_waker(&second_waker))
        .is_pending());
    gate.open();
    let start = std::time::Instant::now();
    while second.0.load(Ordering::SeqCst) == 0 {
        assert!(
            start.elapsed() < WATCHDOG,
            "the latest waker was never woken"
        );
        std::thread::yield_now();
    }
    assert_eq!(
        first.0.load(Ordering::SeqCst),
        0,
        "the replaced waker is not woken"
    );
    match Pin::new(&mut handle).poll(&mut Context::from_waker(&second_waker)) {
        Poll::Ready(value) => assert_eq!(value.unwrap(), 7),
        Poll::Pending => panic!("woken but not ready"),
    }
}

#[test]
fn a_handle_is_unpin_and_can_be_polled_by_reference() {
    futures::executor::block_on(async {
        let mut handle = square_isolated(5);
        let value = (&mut handle).await.unwrap();
        assert_eq!(value, 25);
    });
}

#[test]
fn a_handle_keeps_its_name_after_returning_its_result() {
    futures::executor::block_on(async {
        let mut handle = isolate::Builder::new().name("kept").run(|| 1);
        assert_eq!((&mut handle).await.unwrap(), 1);
        assert_eq!(handle.name(), "kept");
        assert!(handle.is_finished());
    });
}

#[test]
#[should_panic(expected = "polled again after it returned its result")]
fn polling_a_handle_again_after_its_result_panics() {
    futures::executor::block_on(async {
        let mut handle = isolate::run(|| 1);
        assert_eq!((&mut handle).await.unwrap(), 1);
        let _ = (&mut handle).await;
    });
}

#[test]
fn tokio_timers_in_an_async_isolate_need_the_runtime_entered() {
    use std::time::Duration;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_time()
        .build()
        .unwrap();
    // Without the runtime's context the isolate's executor has no tokio
    // timer: the isolate panics, and the caller gets that panic.
    let error = isolate::run(isolate::Async(|| async {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }))
    .join()
    .unwrap_err();
    assert!(error.to_string().contains("Tokio 1.x runtime"), "{error}");
    // With the handle entered on the isolate's thread, the runtime's own
    // threads drive the timer and wake the isolate's executor.
    let handle = runtime.handle().clone();
    let slept = isolate::run(isolate::Async(move || async move {
        let _entered = handle.enter();
        let started = std::time::Instant::now();
        tokio::time::sleep(Duration::from_millis(5)).await;
        started.elapsed()
    }))
    .join()
    .unwrap();
    assert!(slept >= Duration::from_millis(5));
    // A current-thread runtime drives the timer while its `block_on` runs:
    // here, while it awaits the isolate.
    let current = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    let handle = current.handle().clone();
    let isolate = isolate::run(isolate::Async(move || async move {
        let _entered = handle.enter();
        tokio::time::sleep(Duration::from_millis(5)).await;
        7
    }));
    assert_eq!(current.block_on(isolate).unwrap(), 7);
}
