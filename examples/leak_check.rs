//! Every outcome once, for a leak checker: `valgrind --leak-check=full
//! target/release/examples/leak_check` reports no definitely-lost bytes
//! (CI runs it). Also a plain demonstration that every path ends cleanly.

use std::time::Duration;

use isolate::{Builder, IsolateError};

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
            .map_err(|e| e.is_failed())
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
        cancelled.join().map_err(|e| e.is_cancelled())
    ));
    isolate::run(|| vec![1_u8; 1024]).detach();
    drop(isolate::run(|| vec![2_u8; 1024]));
    let awaited =
        futures::executor::block_on(isolate::run_async(|| async { String::from("async") }));
    outcomes.push(format!("{awaited:?}"));
    let abandoned = isolate::run_async(std::future::pending::<Vec<u8>>).join();
    outcomes.push(format!("{abandoned:?}"));
    let nested = isolate::run(|| isolate::run(|| 7).join().unwrap() + 1).join();
    outcomes.push(format!("{nested:?}"));
    let failed_start = Builder::new().stack_size(1 << 50).run(|| 1).join();
    outcomes.push(format!(
        "spawn error: {}",
        matches!(failed_start, Err(IsolateError::Spawn(_)))
    ));
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
