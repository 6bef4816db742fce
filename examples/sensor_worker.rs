//! A long-running worker with messages both ways: Dart's `Isolate.spawn`.
//!
//! The worker owns its loop and its state (a window of recent readings).
//! The caller streams sensor readings into it and reads back rolling
//! averages and alarms as they come, as a `Stream` on an async runtime.
//! Dropping the caller's side closes the worker's inbox; the exit listener
//! reports how it ended, and `join` returns what its function returned.
//!
//! `cargo run --release --example sensor_worker`

use std::collections::VecDeque;

use futures::StreamExt;
use isolate::{isolated, Exit, Port};

/// What the caller sends.
#[derive(Debug)]
enum Command {
    Reading(f64),
    SetLimit(f64),
}

/// What the worker sends back.
#[derive(Debug)]
enum Event {
    Average { readings: usize, mean: f64 },
    Alarm { reading: f64, limit: f64 },
}

/// The worker's body: an ordinary function over its port. `#[isolated]`
/// adds `monitor_isolated(window)`, which starts it on a thread of its own
/// and returns the caller's side: a `Worker<Command, Event, usize>`.
#[isolated(name = "monitor")]
fn monitor(window: usize, port: Port<Command, Event>) -> usize {
    assert!(window > 0, "a rolling window needs room for one reading");
    let mut recent = VecDeque::with_capacity(window);
    let mut limit = f64::INFINITY;
    let mut readings = 0;
    for command in &port {
        let event = match command {
            Command::SetLimit(new_limit) => {
                limit = new_limit;
                continue;
            }
            Command::Reading(reading) if reading > limit => Event::Alarm { reading, limit },
            Command::Reading(reading) => {
                readings += 1;
                if recent.len() == window {
                    recent.pop_front();
                }
                recent.push_back(reading);
                Event::Average {
                    readings,
                    mean: recent.iter().sum::<f64>() / recent.len() as f64,
                }
            }
        };
        if port.send(event).is_err() {
            break; // the caller stopped listening
        }
    }
    readings
}

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a tokio runtime");
    runtime.block_on(async {
        let mut worker = monitor_isolated(4);
        worker.on_exit(|exit| println!("[exit listener] the monitor ended: {exit:?}"));

        // A producer on another thread, with its own sender into the inbox:
        // sends wait while 64 commands are queued (back-pressure).
        let sender = worker.sender().clone();
        let producer = std::thread::spawn(move || {
            sender
                .send(Command::SetLimit(30.0))
                .expect("the monitor is running");
            for i in 0..12 {
                let reading = 20.0 + (i as f64 * 1.7).sin() * 5.0 + if i == 7 { 20.0 } else { 0.0 };
                sender
                    .send(Command::Reading(reading))
                    .expect("the monitor is running");
            }
        });

        // The worker is a Stream of its events.
        let mut events = 0;
        while let Some(event) = worker.next().await {
            match event {
                Event::Average { readings, mean } => {
                    println!("reading {readings:>2}: rolling mean {mean:.2}")
                }
                Event::Alarm { reading, limit } => {
                    println!("ALARM: {reading:.1} is above {limit:.1}")
                }
            }
            events += 1;
            if events == 12 {
                break;
            }
        }
        producer.join().expect("the producer panicked");

        // Closing the inbox ends the loop; the outcome is the function's result.
        let readings = worker.into_handle().await.expect("the monitor failed");
        println!("the monitor handled {readings} readings");
        assert_eq!(readings, 11);
    });

    // A worker that panics: its caller and its listeners hear of it.
    isolate::print_panics(false);
    let broken = monitor_isolated(0); // a window of 0 cannot hold a reading
    let (exit_tx, exit_rx) = std::sync::mpsc::channel();
    // An exit listener added after the end is called at once; an error
    // listener hears only of errors after it was added, so it may miss this
    // one, which the exit listener and `join` still report.
    broken.on_exit(move |exit| exit_tx.send(exit).expect("main is waiting"));
    broken.on_error(|error| println!("[error listener] {error}"));
    let exit = exit_rx
        .recv_timeout(std::time::Duration::from_secs(10))
        .expect("the exit listener runs");
    assert_eq!(exit, Exit::Panicked);
    match broken.into_handle().join() {
        Err(error) => println!("join: {error}"),
        Ok(readings) => println!("join: {readings} readings"),
    }
}
