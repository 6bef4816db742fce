//! Progress from one-shot isolates: updates in order, then the result,
//! blocking and awaited; through `#[isolated]` with a `Progress` parameter.

mod support;

use futures::StreamExt;
use isolate::{isolated, IsolateError, Progress};
use support::{DropCounter, Gate, Tracked, WATCHDOG};

#[isolated]
fn checksum_files(files: Vec<Vec<u8>>, progress: Progress<(usize, usize)>) -> u64 {
    let total = files.len();
    let mut sum = 0_u64;
    for (done, file) in files.iter().enumerate() {
        sum += file.iter().map(|&b| u64::from(b)).sum::<u64>();
        progress.send((done + 1, total));
    }
    sum
}

#[isolated(name = "parser")]
fn parse_numbers(progress: Progress<usize>, lines: Vec<String>) -> Result<Vec<i64>, String> {
    lines
        .iter()
        .enumerate()
        .map(|(i, line)| {
            progress.send(i);
            line.parse().map_err(|_| format!("line {i}: {line:?}"))
        })
        .collect()
}

#[test]
fn updates_arrive_in_order_then_the_result_blocking() {
    let files: Vec<Vec<u8>> = (0..1_000).map(|i| vec![(i % 256) as u8; 3]).collect();
    let handle = checksum_files_isolated(files);
    let updates: Vec<(usize, usize)> = handle.updates().iter().collect();
    assert_eq!(updates.len(), 1_000);
    assert!(updates
        .iter()
        .enumerate()
        .all(|(i, &u)| u == (i + 1, 1_000)));
    let expected: u64 = (0..1_000_u64).map(|i| (i % 256) * 3).sum();
    assert_eq!(handle.into_handle().join().unwrap(), expected);
}

#[test]
fn updates_arrive_in_order_then_the_result_awaited() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut handle = checksum_files_isolated(vec![vec![1], vec![2], vec![3]]);
        let mut seen = Vec::new();
        while let Some(update) = tokio::time::timeout(WATCHDOG, handle.next()).await.unwrap() {
            seen.push(update.0);
        }
        assert_eq!(seen, [1, 2, 3]);
        assert_eq!(handle.into_handle().await.unwrap(), 6);
    });
}

#[test]
fn a_folded_error_arrives_after_the_updates() {
    let handle = parse_numbers_isolated(vec!["1".into(), "2".into(), "three".into(), "4".into()]);
    assert_eq!(handle.handle().name(), "parser");
    assert_eq!(handle.updates().iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert_eq!(
        handle
            .into_handle()
            .join()
            .unwrap_err()
            .into_failed()
            .as_deref(),
        Some("line 2: \"three\"")
    );
}

#[test]
fn a_panic_mid_stream_ends_the_updates_and_reaches_the_result() {
    isolate::print_panics(false);
    let handle = isolate::run_with_progress(|progress: Progress<u32>| -> u32 {
        for step in 0..3 {
            progress.send(step);
        }
        panic!("out of memory at step 3");
    });
    assert_eq!(handle.updates().iter().collect::<Vec<_>>(), [0, 1, 2]);
    assert!(handle.recv().is_err());
    let panic = handle
        .into_handle()
        .join()
        .unwrap_err()
        .into_panic()
        .unwrap();
    assert_eq!(panic.message(), Some("out of memory at step 3"));
}

#[test]
fn joining_without_reading_never_blocks_the_computation_and_drops_the_updates() {
    let counter = DropCounter::new();
    let inner = counter.clone();
    let handle = isolate::run_with_progress(move |progress: Progress<Tracked>| {
        for _ in 0..10_000 {
            progress.send(inner.track());
        }
        "done"
    });
    assert_eq!(handle.into_handle().join().unwrap(), "done");
    counter.assert_balanced();
}

#[test]
fn after_the_caller_stops_listening_updates_are_dropped_and_is_listened_says_so() {
    let gate = Gate::new();
    let start = gate.clone();
    let handle = isolate::run_with_progress(move |progress: Progress<u8>| {
        start.wait();
        progress.send(1);
        progress.is_listened()
    });
    let result = handle.into_handle();
    gate.open();
    assert!(!result.join().unwrap());
}

#[test]
fn dropping_the_progress_handle_cancels_the_isolate() {
    let gate = Gate::new();
    let (tx, rx) = std::sync::mpsc::channel();
    let start = gate.clone();
    let handle = isolate::run_with_progress(move |progress: Progress<u8>| {
        start.wait();
        progress.send(0);
        tx.send(isolate::is_cancelled()).unwrap();
    });
    drop(handle);
    gate.open();
    // Cancelled before it started (nothing sent), or it saw the cancel.
    match rx.recv_timeout(WATCHDOG) {
        Ok(cancelled) => assert!(cancelled),
        Err(error) => assert_eq!(error, std::sync::mpsc::RecvTimeoutError::Disconnected),
    }
}

#[test]
fn a_cloned_progress_sender_reports_from_helpers() {
    let handle = isolate::run_with_progress(isolate::Fold(|progress: Progress<String>| {
        let helper = progress.clone();
        std::thread::spawn(move || helper.send("from a helper".to_owned()))
            .join()
            .map_err(|_| IsolateError::<()>::Cancelled { isolate: None })?;
        progress.send("from the isolate".to_owned());
        Ok::<_, IsolateError<()>>(2)
    }));
    assert_eq!(
        handle.updates().iter().collect::<Vec<_>>(),
        ["from a helper", "from the isolate"]
    );
    assert_eq!(handle.into_handle().join().unwrap(), 2);
}

#[test]
fn progress_works_from_every_kind_of_caller() {
    let handle = isolate::Builder::new()
        .dedicated()
        .name("renderer")
        .run_with_progress(|progress: Progress<u8>| {
            progress.send(50);
            progress.send(100);
            std::thread::current().name().map(str::to_owned)
        });
    let mut handle = handle;
    let updates: Vec<u8> = smol::block_on((&mut handle).collect());
    assert_eq!(updates, [50, 100]);
    assert_eq!(
        handle.into_handle().join().unwrap().as_deref(),
        Some("renderer")
    );
}

#[test]
fn a_panic_mid_stream_ends_an_awaited_stream_and_reaches_the_awaited_result() {
    isolate::print_panics(false);
    let mut handle = isolate::run_with_progress(|progress: Progress<u8>| -> u8 {
        progress.send(1);
        progress.send(2);
        panic!("disk vanished");
    });
    futures::executor::block_on(async {
        let updates: Vec<u8> = (&mut handle).collect().await;
        assert_eq!(updates, [1, 2]);
        let panic = handle
            .into_handle()
            .await
            .unwrap_err()
            .into_panic()
            .unwrap();
        assert_eq!(panic.message(), Some("disk vanished"));
    });
}
