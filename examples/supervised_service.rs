//! A supervised service, the way a Dart programmer would set one up.
//!
//! A rate-limited "quote" service keeps a connection-like state per worker.
//! It is spawned paused, so that its listeners are in place before anything
//! can fail; a request that panics restarts its worker with a fresh state
//! (supervision) while its queued requests wait; a ping is answered while
//! the service is paused and never blocks; a handler can shut the service
//! down cleanly; and a killed service is restarted behind the same handles.
//!
//! `cargo run --release --example supervised_service`

use std::sync::mpsc;
use std::time::Duration;

use isolate::{Exit, IsolateError, Restart};

/// A worker's state: built on its thread, rebuilt after a restart.
struct Connection {
    id: u32,
    served: u32,
}

/// What a caller asks for.
#[derive(Debug)]
enum Command {
    Quote(String),
    /// Makes the handler panic: a bug in the service.
    Crash,
    /// Asks the service to shut itself down.
    Shutdown,
}

fn connect() -> Connection {
    static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(1);
    let id = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    println!("  [worker] connection #{id} opened");
    Connection { id, served: 0 }
}

fn serve(connection: &mut Connection, command: Command) -> Result<String, String> {
    connection.served += 1;
    match command {
        Command::Quote(symbol) if symbol.is_empty() => Err("no symbol".to_owned()),
        Command::Quote(symbol) => Ok(format!(
            "{symbol}: {} (connection #{}, request {})",
            symbol.len() * 17,
            connection.id,
            connection.served
        )),
        Command::Crash => panic!("the quote feed sent garbage"),
        Command::Shutdown => {
            isolate::close_service();
            Ok("shutting down once the queue is answered".to_owned())
        }
    }
}

fn main() {
    isolate::print_panics(false);
    let (exits_tx, exits) = mpsc::channel();
    let quotes = isolate::Builder::new()
        .name("quotes")
        .on_exit(move |exit| exits_tx.send(exit).expect("main is listening"))
        .start_paused()
        .service()
        .restart(Restart::OnPanic { limit: 3 })
        .spawn(connect, isolate::Fold(serve));

    // Paused: nothing has run yet, so typed listeners cannot miss anything.
    quotes.on_error(|error: &IsolateError<String>| match error {
        IsolateError::Panicked(panic) => println!("  [error listener] panic: {panic}"),
        other => println!("  [error listener] {other}"),
    });
    let early = quotes.request(Command::Quote("ACME".to_owned()));
    // A ping is a control message: answered even before the service starts.
    quotes
        .ping()
        .join_timeout(Duration::from_secs(5))
        .expect("a paused service answers pings");
    println!("ping answered while paused; starting the service");
    quotes.start();
    println!("{}", early.join().expect("the queued request is answered"));

    // A panic ends the worker; the restart policy brings it back with a
    // fresh connection, and the request queued behind the panic waits for it.
    let crash = quotes.request(Command::Crash);
    let behind = quotes.request(Command::Quote("INIT".to_owned()));
    println!("crash: {}", crash.join().unwrap_err());
    println!("{}", behind.join().expect("served by the restarted worker"));
    println!(
        "failed: {}",
        quotes
            .request(Command::Quote(String::new()))
            .join()
            .unwrap_err()
    );

    // A killed service answers everything at once, then is restarted behind
    // the same handle (and every clone of it).
    let other_caller = quotes.clone();
    quotes.kill();
    println!(
        "exit after the kill: {:?}",
        exits.recv().expect("told of the kill")
    );
    let refused = other_caller
        .request(Command::Quote("LATE".to_owned()))
        .join();
    println!("request to the killed service: {}", refused.unwrap_err());
    quotes.restart();
    println!(
        "{}",
        other_caller
            .request(Command::Quote("BACK".to_owned()))
            .join()
            .expect("the restarted service answers")
    );

    // The handler shuts its own service down: a clean end, not an error.
    println!(
        "{}",
        quotes.request(Command::Shutdown).join().expect("answered")
    );
    let exit = exits.recv().expect("told of the shutdown");
    assert_eq!(exit, Exit::Completed);
    println!("exit after the shutdown: {exit:?}");
    quotes.join().expect("a clean end");
}
