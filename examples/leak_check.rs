//! Every outcome once, for a leak checker: `valgrind --leak-check=full
//! target/release/examples/leak_check` reports no definitely-lost bytes
//! (CI runs it). Also a plain demonstration that every path ends cleanly.

use std::time::Duration;

use isolate::{Builder, IsolateError, Port, Progress, Worker};

#[isolate::isolated]
fn parse(text: String) -> Result<u32, std::num::ParseIntError> {
    text.parse()
}

fn main() {
    isolate::print_panics(false);
    let mut outcomes = Vec::new();
    outcomes.push(format!("{:?}", parse_isolated("42".to_owned()).join()));
    outcomes.push(format!(
        "{:?}",
        parse_isolated("x".to_owned())
            .join()
            .map_err(|e| matches!(e, IsolateError::Failed { .. }))
    ));
    let panic = isolate::run(|| -> Vec<u8> { panic!("planned {}", 1) }).join();
    outcomes.push(format!(
        "panicked: {}",
        matches!(panic, Err(IsolateError::Panicked(_)))
    ));
    let exited = isolate::run(|| -> u8 { isolate::exit() }).join();
    outcomes.push(format!("{exited:?}"));
    let slow = isolate::run(|| {
        while !isolate::is_cancelled() {
            std::thread::yield_now();
        }
        vec![0_u8; 64]
    });
    outcomes.push(format!(
        "{:?}",
        slow.join_timeout(Duration::from_millis(5)).map(|v| v.len())
    ));
    let cancelled = Builder::new().dedicated().run(|| String::from("unused"));
    cancelled.cancel();
    // Cancelled before its thread took it, or finished first: either is fine.
    outcomes.push(format!(
        "{:?}",
        cancelled
            .join()
            .map_err(|e| matches!(e, IsolateError::Cancelled { .. }))
    ));
    isolate::run(|| vec![1_u8; 1024]).detach();
    drop(isolate::run(|| vec![2_u8; 1024]));
    let awaited = futures::executor::block_on(isolate::run(isolate::Async(|| async {
        String::from("async")
    })));
    outcomes.push(format!("{awaited:?}"));
    let abandoned = isolate::run(isolate::Async(std::future::pending::<Vec<u8>>)).join();
    outcomes.push(format!("{abandoned:?}"));
    let nested = isolate::run(|| isolate::run(|| 7).join().unwrap() + 1).join();
    outcomes.push(format!("{nested:?}"));
    let failed_start = Builder::new().stack_size(1 << 50).run(|| 1).join();
    outcomes.push(format!(
        "spawn error: {}",
        matches!(failed_start, Err(IsolateError::Spawn { .. }))
    ));
    long_running(&mut outcomes);
    // Let detached work finish before the process exits.
    while isolate::pool_stats().idle < isolate::pool_stats().threads
        || isolate::pool_stats().queued > 0
    {
        std::thread::yield_now();
    }
    for outcome in outcomes {
        println!("{outcome}");
    }
}

/// Every way a long-running isolate can end, and every way a request can.
fn long_running(outcomes: &mut Vec<String>) {
    let echo = Worker::spawn(|port: Port<String, String>| {
        let (inbox, outbox) = port.into_parts();
        inbox.iter().try_for_each(|m| outbox.send(m)).ok();
    });
    echo.send("message".to_owned()).unwrap();
    echo.send("left unread".to_owned()).unwrap();
    outcomes.push(format!("{:?}", echo.recv()));
    outcomes.push(format!("{:?}", echo.into_handle().join()));

    let killed = Worker::spawn(|port: Port<Vec<u8>, ()>| port.into_parts().0.iter().count());
    killed.send(vec![0; 64]).unwrap();
    killed.kill();
    outcomes.push(format!(
        "{:?}",
        killed
            .into_handle()
            .join()
            .map_err(|e| matches!(e, IsolateError::Cancelled { .. }))
    ));

    let panicking = Worker::spawn(|_: Port<(), ()>| -> u8 { panic!("planned") });
    outcomes.push(format!(
        "worker panicked: {}",
        panicking.into_handle().join().is_err()
    ));

    let service = isolate::Builder::new().service().threads(2).spawn(
        || vec![0_u8; 256],
        |state: &mut Vec<u8>, n: usize| {
            assert!(n != 13, "planned");
            state.len() + n
        },
    );
    service.on_exit(|exit| println!("service ended: {exit:?}"));
    outcomes.push(format!("{:?}", service.request(1).join()));
    drop(service.request(2)); // withdrawn or discarded
    outcomes.push(format!(
        "{:?}",
        service
            .request(13)
            .join()
            .map_err(|e| matches!(e, IsolateError::Panicked(_)))
    ));
    outcomes.push(format!("{:?}", service.ping().join()));
    let paused = service.pause();
    let queued = service.request(3);
    service.kill();
    drop(paused);
    outcomes.push(format!(
        "{:?}",
        queued
            .join()
            .map_err(|e| matches!(e, IsolateError::Cancelled { .. }))
    ));
    outcomes.push(format!("{:?}", service.join().map_err(|e| e.to_string())));

    let progress = isolate::run_with_progress(|progress: Progress<String>| {
        for step in 0..10 {
            progress.send(format!("step {step}"));
        }
        "done"
    });
    outcomes.push(format!("{:?}", progress.recv()));
    outcomes.push(format!("{:?}", progress.into_handle().join()));
}
