//! Long-running isolates keep Dart's promises (issue 13): every way an
//! isolate ends reaches its exit listeners, no caller waits on a dead
//! service, a kill has one outcome, pings never block, a pool outlives a
//! failed member, and a request's cancel reaches its handler.
//!
//! Each test covers a blocking and an async caller, and is bounded: a wait
//! that would hang fails after the watchdog instead.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use isolate::{Dispatch, Exit, IsolateError, Port, Service, Worker};
use support::{Gate, Watchdog, WATCHDOG};

/// How many times a race-prone scenario is repeated.
const TRIES: usize = 50;

/// A one-shot exit listener's channel, with a count of calls.
fn exit_probe() -> (
    impl FnOnce(Exit) + Send + 'static,
    mpsc::Receiver<Exit>,
    Arc<AtomicUsize>,
) {
    let (tx, rx) = mpsc::channel();
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&calls);
    let listener = move |exit| {
        counted.fetch_add(1, Ordering::SeqCst);
        let _ = tx.send(exit);
    };
    (listener, rx, calls)
}

// Defect 1: killed right after spawn, the exit listeners are still called,
// exactly once each.

#[test]
fn a_worker_killed_right_after_spawn_tells_every_exit_listener_once() {
    for _ in 0..TRIES {
        let worker = Worker::spawn(|port: Port<u8, ()>| port.into_parts().0.iter().count());
        let (first, first_rx, first_calls) = exit_probe();
        let (second, second_rx, second_calls) = exit_probe();
        worker.on_exit(first);
        worker.on_exit(second);
        worker.kill();
        assert!(matches!(
            worker.into_handle().join().unwrap_err(),
            IsolateError::Cancelled { .. }
        ));
        assert_eq!(first_rx.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
        assert_eq!(second_rx.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
        assert_eq!(first_calls.load(Ordering::SeqCst), 1);
        assert_eq!(second_calls.load(Ordering::SeqCst), 1);
    }
}

#[test]
fn an_awaited_worker_killed_right_after_spawn_tells_its_exit_listener() {
    let runtime = support::tokio_runtime();
    for _ in 0..TRIES {
        let worker = Worker::spawn(isolate::Async(|port: Port<u8, ()>| async move {
            while port.recv_async().await.is_ok() {}
        }));
        let (listener, exits, _) = exit_probe();
        worker.on_exit(listener);
        worker.kill();
        let outcome = runtime.block_on(async {
            tokio::time::timeout(WATCHDOG, worker.into_handle())
                .await
                .expect("the killed worker's handle was never completed")
        });
        assert!(matches!(
            outcome.unwrap_err(),
            IsolateError::Cancelled { .. }
        ));
        assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
    }
}

#[test]
fn a_service_killed_right_after_spawn_tells_its_exit_listener_once() {
    for _ in 0..TRIES {
        let service = isolate::Builder::new()
            .service()
            .threads(2)
            .spawn(|| (), |_: &mut (), n: u8| n);
        let (listener, exits, calls) = exit_probe();
        service.on_exit(listener);
        service.kill();
        assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
        assert!(matches!(
            service.join().unwrap_err(),
            IsolateError::Cancelled { .. }
        ));
        assert_eq!(calls.load(Ordering::SeqCst), 1);
    }
}

// Defect 2: a request queued before `kill()` is answered.

#[test]
fn a_request_queued_before_a_kill_is_answered_blocking() {
    for _ in 0..TRIES {
        let service = Service::spawn(|| (), |_: &mut (), n: u8| n);
        let reply = service.request(1);
        service.kill();
        match reply.join_timeout(WATCHDOG) {
            Ok(1) => {} // handled before the kill landed
            Err(error) => assert!(matches!(error, IsolateError::Cancelled { .. }), "{error:?}"),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[test]
fn a_request_queued_before_a_kill_is_answered_awaited() {
    let runtime = support::tokio_runtime();
    for _ in 0..TRIES {
        let service = isolate::Builder::new()
            .service()
            .threads(2)
            .spawn(|| (), |_: &mut (), n: u8| n);
        let replies = [service.request(1), service.request(2)];
        service.kill();
        runtime.block_on(async {
            for reply in replies {
                let outcome = tokio::time::timeout(WATCHDOG, reply)
                    .await
                    .expect("a request queued before the kill was never answered");
                assert!(
                    outcome.is_ok()
                        || matches!(outcome.unwrap_err(), IsolateError::Cancelled { .. })
                );
            }
        });
    }
}

// Defect 3: a killed worker ends `Cancelled`, even when its loop then
// returns normally.

#[test]
fn a_killed_worker_whose_loop_returns_ends_cancelled() {
    let worker = Worker::spawn(|port: Port<u8, &'static str>| {
        port.send("ready").unwrap();
        while port.recv().is_ok() {}
        "the loop ended"
    });
    let (listener, exits, _) = exit_probe();
    worker.on_exit(listener);
    assert_eq!(worker.receiver().recv_timeout(WATCHDOG).unwrap(), "ready");
    worker.kill();
    assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
    assert!(matches!(
        worker.into_handle().join().unwrap_err(),
        IsolateError::Cancelled { .. }
    ));
}

#[test]
fn a_killed_async_worker_whose_loop_returns_ends_cancelled() {
    let worker = Worker::spawn(isolate::Async(|port: Port<u8, &'static str>| async move {
        let (inbox, outbox) = port.into_parts();
        outbox.send_async("ready").await.unwrap();
        while inbox.recv_async().await.is_ok() {}
        "the loop ended"
    }));
    let (listener, exits, _) = exit_probe();
    worker.on_exit(listener);
    let runtime = support::tokio_runtime();
    runtime.block_on(async {
        assert_eq!(worker.recv_async().await.unwrap(), "ready");
        worker.kill();
        let outcome = tokio::time::timeout(WATCHDOG, worker.into_handle())
            .await
            .unwrap();
        assert!(matches!(
            outcome.unwrap_err(),
            IsolateError::Cancelled { .. }
        ));
    });
    assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
}

#[test]
fn a_killed_worker_that_fails_on_the_closed_inbox_ends_cancelled() {
    let worker = Worker::spawn(isolate::Fold(|port: Port<u8, ()>| {
        port.send(()).unwrap();
        port.recv().map_err(|_| "no input")
    }));
    worker.receiver().recv_timeout(WATCHDOG).unwrap();
    worker.kill();
    assert!(matches!(
        worker.into_handle().join().unwrap_err(),
        IsolateError::Cancelled { .. }
    ));
}

// Defect 4: a ping never blocks its caller, and is answered while paused.

/// A one-worker service with a one-request inbox, paused, holding one
/// request at its pause and one in its inbox: the inbox is full.
fn paused_and_full() -> (
    Service<u8, u8>,
    isolate::Paused,
    Vec<isolate::IsolateHandle<u8>>,
) {
    let service = isolate::Builder::new()
        .capacity(1)
        .service()
        .spawn(|| (), |_: &mut (), n: u8| n);
    let paused = service.pause();
    let mut replies = vec![service.request(1)];
    // The worker takes the first request into its pause; the inbox then
    // has room for one more, and is full after it.
    loop {
        match service.try_request(2) {
            Ok(reply) => replies.push(reply),
            Err(isolate::channel::TrySendError::Full(_)) => break,
            Err(closed) => panic!("{closed:?}"),
        }
    }
    (service, paused, replies)
}

#[test]
fn a_ping_to_a_full_paused_service_returns_at_once_and_is_answered_blocking() {
    let _watchdog = Watchdog::arm(WATCHDOG, "a ping to a full inbox".to_owned());
    let (service, paused, replies) = paused_and_full();
    let started = Instant::now();
    let ping = service.ping(); // must not wait for room
    ping.join_timeout(WATCHDOG).unwrap();
    assert!(started.elapsed() < WATCHDOG);
    assert!(replies.iter().all(|reply| !reply.is_finished()));
    drop(paused);
    for reply in replies {
        assert!(reply.join_timeout(WATCHDOG).is_ok());
    }
}

#[test]
fn a_ping_to_a_full_paused_service_is_answered_awaited() {
    let _watchdog = Watchdog::arm(WATCHDOG, "an awaited ping to a full inbox".to_owned());
    let (service, paused, replies) = paused_and_full();
    let runtime = support::tokio_runtime();
    runtime.block_on(async {
        tokio::time::timeout(WATCHDOG, service.ping())
            .await
            .expect("a paused service never answered the ping")
            .unwrap();
    });
    drop(paused);
    drop(replies);
}

// Defect 5: a fatal panic hands the requests queued behind it to the live
// workers.

/// Two workers taking requests in turn; request 0 waits for the gate, then
/// panics (fatally), and every other request is answered `n`.
fn pool_with_a_failing_member() -> (Service<u32, u32>, Gate, mpsc::Receiver<u32>) {
    isolate::print_panics(false);
    let gate = Gate::new();
    let in_handler = gate.clone();
    let (started_tx, started) = mpsc::channel();
    let service = isolate::Builder::new()
        .service()
        .threads(2)
        .dispatch(Dispatch::RoundRobin)
        .spawn(
            || (),
            move |_: &mut (), n: u32| {
                let _ = started_tx.send(n);
                if n == 0 {
                    in_handler.wait();
                    panic!("member lost");
                }
                n
            },
        );
    (service, gate, started)
}

#[test]
fn requests_queued_behind_a_fatal_panic_go_to_the_live_worker_blocking() {
    let (service, gate, started) = pool_with_a_failing_member();
    let failing = service.request(0); // worker 0
    while started.recv_timeout(WATCHDOG).unwrap() != 0 {}
    let replies: Vec<_> = (1..=6).map(|n| (n, service.request(n))).collect();
    gate.open();
    assert!(matches!(
        failing.join_timeout(WATCHDOG).unwrap_err(),
        IsolateError::Panicked(_)
    ));
    for (n, reply) in replies {
        assert_eq!(reply.join_timeout(WATCHDOG).unwrap(), n, "request {n}");
    }
}

#[test]
fn requests_queued_behind_a_fatal_panic_go_to_the_live_worker_awaited() {
    let (service, gate, started) = pool_with_a_failing_member();
    let runtime = support::tokio_runtime();
    runtime.block_on(async {
        let failing = service.request(0);
        while started.recv_timeout(WATCHDOG).unwrap() != 0 {}
        let replies: Vec<_> = (1..=6).map(|n| (n, service.request(n))).collect();
        gate.open();
        assert!(matches!(
            failing.await.unwrap_err(),
            IsolateError::Panicked(_)
        ));
        for (n, reply) in replies {
            let outcome = tokio::time::timeout(WATCHDOG, reply).await.unwrap();
            assert_eq!(outcome.unwrap(), n, "request {n}");
        }
    });
}

// Defect 6: an error listener added after the end is dropped at once.

#[test]
fn an_error_listener_added_after_the_end_is_dropped_at_once_blocking() {
    let worker = Worker::spawn(|_: Port<(), ()>| ());
    let (listener, exits, _) = exit_probe();
    worker.on_exit(listener);
    exits.recv_timeout(WATCHDOG).unwrap();
    let (tx, rx) = mpsc::channel::<String>();
    worker.on_error(move |error| tx.send(error.to_string()).unwrap());
    assert_eq!(
        rx.recv_timeout(WATCHDOG),
        Err(mpsc::RecvTimeoutError::Disconnected),
        "the late listener, and its sender, must be dropped at once"
    );
    drop(worker);
}

#[test]
fn an_error_listener_added_after_the_end_is_dropped_at_once_awaited() {
    let service = Service::spawn(|| (), |_: &mut (), n: u8| n);
    let (listener, exits, _) = exit_probe();
    service.on_exit(listener);
    service.kill();
    exits.recv_timeout(WATCHDOG).unwrap();
    let (tx, rx) = isolate::channel::unbounded::<String>();
    service.on_error(move |error| drop(tx.send(error.to_string())));
    let runtime = support::tokio_runtime();
    runtime.block_on(async {
        let closed = tokio::time::timeout(WATCHDOG, rx.recv_async())
            .await
            .expect("the late listener was kept, with its sender");
        assert!(closed.is_err());
    });
    drop(service);
}

// Defect 7: cancelling a running request reaches its handler, and the
// worker moves on.

/// A service whose handler spins until its request is cancelled (or the
/// watchdog passes), and says which.
fn cancellable() -> (Service<u8, bool>, mpsc::Receiver<bool>, mpsc::Receiver<()>) {
    let (seen_tx, seen) = mpsc::channel();
    let (started_tx, started) = mpsc::channel();
    let service = Service::spawn(
        || (),
        move |_: &mut (), _: u8| {
            let _ = started_tx.send(());
            let deadline = Instant::now() + WATCHDOG;
            while !isolate::is_cancelled() && Instant::now() < deadline {
                std::thread::yield_now();
            }
            let cancelled = isolate::is_cancelled();
            let _ = seen_tx.send(cancelled);
            cancelled
        },
    );
    (service, seen, started)
}

#[test]
fn cancel_drop_and_an_expired_timeout_reach_the_running_handler() {
    let (service, seen, started) = cancellable();
    // cancel()
    let reply = service.request(1);
    started.recv_timeout(WATCHDOG).unwrap();
    reply.cancel();
    assert!(
        seen.recv_timeout(WATCHDOG).unwrap(),
        "cancel() was not seen"
    );
    // The value produced anyway still arrives.
    assert!(reply.join_timeout(WATCHDOG).unwrap());
    // drop
    let reply = service.request(2);
    started.recv_timeout(WATCHDOG).unwrap();
    drop(reply);
    assert!(seen.recv_timeout(WATCHDOG).unwrap(), "a drop was not seen");
    // join_timeout
    let reply = service.request(3);
    started.recv_timeout(WATCHDOG).unwrap();
    // A value produced in answer to the cancel is still returned.
    match reply.join_timeout(Duration::from_millis(1)) {
        Err(err) => assert!(matches!(err, IsolateError::TimedOut { .. }), "{err:?}"),
        Ok(saw_the_cancel) => assert!(saw_the_cancel),
    }
    assert!(
        seen.recv_timeout(WATCHDOG).unwrap(),
        "a timeout was not seen"
    );
    // The worker moved on: a ping is answered.
    service.ping().join_timeout(WATCHDOG).unwrap();
}

#[test]
fn dropping_an_awaited_request_reaches_the_running_handler() {
    let (service, seen, started) = cancellable();
    let runtime = support::tokio_runtime();
    runtime.block_on(async {
        let caller = tokio::spawn({
            let service = service.clone();
            async move { service.request_async(1).await }
        });
        started.recv_timeout(WATCHDOG).unwrap();
        caller.abort();
        let _ = caller.await;
        assert!(
            seen.recv_timeout(WATCHDOG).unwrap(),
            "the drop was not seen"
        );
        tokio::time::timeout(WATCHDOG, service.ping())
            .await
            .unwrap()
            .unwrap();
    });
}

// Defect 8: after a fatal panic kills one of two workers, the live one is
// reported and answers pings.

#[test]
fn a_pool_reports_its_live_members_and_they_answer_pings() {
    let (service, gate, started) = pool_with_a_failing_member();
    assert_eq!(service.threads(), 2);
    let failing = service.request(0);
    while started.recv_timeout(WATCHDOG).unwrap() != 0 {}
    gate.open();
    assert!(matches!(
        failing.join_timeout(WATCHDOG).unwrap_err(),
        IsolateError::Panicked(_)
    ));
    assert_eq!(service.threads(), 1);
    service.ping().join_timeout(WATCHDOG).unwrap();
    let runtime = support::tokio_runtime();
    runtime.block_on(async {
        tokio::time::timeout(WATCHDOG, service.ping())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(service.request_async(5).await.unwrap(), 5);
    });
    // Once none is left, the ping says so.
    service.kill();
    assert!(matches!(
        service.ping().join_timeout(WATCHDOG),
        Err(IsolateError::EndedWithoutResult { .. })
    ));
}

// Parity: listeners at spawn time.

#[test]
fn builder_exit_listeners_hear_an_immediate_panic() {
    isolate::print_panics(false);
    for _ in 0..TRIES {
        let (tx, exits) = mpsc::channel();
        let worker = isolate::Builder::new()
            .on_exit(move |exit| tx.send(exit).unwrap())
            .spawn(|_: Port<(), ()>| panic!("at once"));
        assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Panicked);
        assert!(matches!(
            worker.into_handle().join().unwrap_err(),
            IsolateError::Panicked(_)
        ));
    }
    let (tx, exits) = mpsc::channel();
    let builder = isolate::Builder::new()
        .on_exit(move |exit| tx.send(exit).unwrap())
        .service()
        .threads(2);
    // A clone of the builder shares the listener: each service calls it.
    let first = builder
        .clone()
        .spawn(|| -> u8 { panic!("no state") }, |_: &mut u8, n: u8| n);
    let second = builder.spawn(|| (), |_: &mut (), n: u8| n);
    assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Panicked);
    second.kill();
    assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
    drop(first);
}

// Parity: start paused.

#[test]
fn an_error_listener_added_to_a_worker_started_paused_never_misses_a_panic() {
    isolate::print_panics(false);
    for _ in 0..TRIES {
        let worker = isolate::Builder::new()
            .start_paused()
            .spawn(|_: Port<(), ()>| panic!("at once"));
        let (tx, errors) = mpsc::channel();
        worker.on_error(move |error| tx.send(matches!(error, IsolateError::Panicked(_))).unwrap());
        assert!(worker.start());
        assert!(errors.recv_timeout(WATCHDOG).unwrap());
    }
}

#[test]
fn a_worker_started_paused_runs_nothing_until_started_killed_or_joined() {
    let (ran_tx, ran) = mpsc::channel();
    let worker = isolate::Builder::new()
        .start_paused()
        .spawn(move |port: Port<u8, ()>| {
            ran_tx.send(()).unwrap();
            port.into_parts().0.iter().count()
        });
    worker.send(1).unwrap();
    assert!(ran.recv_timeout(Duration::from_millis(20)).is_err());
    assert!(worker.start());
    ran.recv_timeout(WATCHDOG).unwrap();
    assert_eq!(worker.into_handle().join().unwrap(), 1);

    // Killed while held: its body never runs.
    let worker = isolate::Builder::new()
        .start_paused()
        .spawn(|_: Port<(), ()>| unreachable!("killed before it started"));
    let (listener, exits, _) = exit_probe();
    worker.on_exit(listener);
    worker.kill();
    assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
    assert!(matches!(
        worker.into_handle().join().unwrap_err(),
        IsolateError::Cancelled { .. }
    ));

    // Joined while held: it starts, so the join cannot hang.
    let worker = isolate::Builder::new()
        .start_paused()
        .spawn(|port: Port<u8, ()>| port.into_parts().0.iter().count());
    assert_eq!(worker.into_handle().join_timeout(WATCHDOG).unwrap(), 0);
}

#[test]
fn a_service_started_paused_builds_nothing_until_started_and_answers_pings() {
    let built = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&built);
    let service = isolate::Builder::new()
        .start_paused()
        .service()
        .threads(2)
        .spawn(
            move || count.fetch_add(1, Ordering::SeqCst),
            |_: &mut usize, n: u8| n,
        );
    let reply = service.request(7);
    service.ping().join_timeout(WATCHDOG).unwrap();
    assert_eq!(built.load(Ordering::SeqCst), 0);
    assert!(!reply.is_finished());
    assert!(service.start());
    assert!(!service.start());
    assert_eq!(reply.join_timeout(WATCHDOG).unwrap(), 7);
    service.join().unwrap();
    assert_eq!(built.load(Ordering::SeqCst), 2);

    // Joined or killed while held: it ends.
    let service = isolate::Builder::new()
        .start_paused()
        .service()
        .spawn(|| (), |_: &mut (), n: u8| n);
    let queued = service.request(1);
    service.clone().join().unwrap();
    assert_eq!(queued.join_timeout(WATCHDOG).unwrap(), 1);
    let service = isolate::Builder::new()
        .start_paused()
        .service()
        .spawn(|| (), |_: &mut (), n: u8| n);
    let queued = service.request(1);
    service.kill();
    assert!(matches!(
        queued.join_timeout(WATCHDOG).unwrap_err(),
        IsolateError::Cancelled { .. }
    ));
}

// Parity: removing a listener.

#[test]
fn a_removed_listener_is_never_called_and_is_dropped() {
    isolate::print_panics(false);
    let worker = Worker::spawn(|port: Port<(), ()>| {
        let _ = port.recv();
        panic!("after the word");
    });
    let (exit_tx, exits) = mpsc::channel::<Exit>();
    let (error_tx, errors) = mpsc::channel::<String>();
    let exit_id = worker.on_exit(move |exit| exit_tx.send(exit).unwrap());
    let error_id = worker.on_error(move |error| error_tx.send(error.to_string()).unwrap());
    let (kept, kept_exits, _) = exit_probe();
    worker.on_exit(kept);
    assert!(worker.remove_listener(exit_id));
    assert!(worker.remove_listener(error_id));
    assert!(!worker.remove_listener(exit_id));
    // Dropped at once: their channels are closed.
    assert!(exits.recv_timeout(WATCHDOG).is_err());
    assert!(errors.recv_timeout(WATCHDOG).is_err());
    worker.send(()).unwrap();
    assert_eq!(kept_exits.recv_timeout(WATCHDOG).unwrap(), Exit::Panicked);
    // Called already: nothing to remove.
    let late = worker.on_exit(|_| {});
    assert!(!worker.remove_listener(late));

    let service = Service::spawn(|| (), |_: &mut (), n: u8| n);
    let (tx, exits) = mpsc::channel::<Exit>();
    let id = service.on_exit(move |exit| tx.send(exit).unwrap());
    assert!(service.remove_listener(id));
    drop(service);
    assert!(exits.recv_timeout(WATCHDOG).is_err());
}

// Parity: a non-consuming timed wait on a handle.

#[test]
fn a_handle_can_be_waited_on_with_a_timeout_and_then_waited_on_again() {
    let gate = Gate::new();
    let held = gate.clone();
    let handle = isolate::run(move || {
        held.wait();
        7
    });
    assert!(!handle.wait_timeout(Duration::from_millis(20)));
    assert!(!handle.is_finished());
    gate.open();
    assert!(handle.wait_timeout(WATCHDOG));
    assert!(handle.wait_timeout(Duration::ZERO)); // the outcome stays
    assert_eq!(handle.join().unwrap(), 7);

    // A service's reply, too: the request is not cancelled by the wait.
    let (service, seen, started) = cancellable();
    let reply = service.request(1);
    started.recv_timeout(WATCHDOG).unwrap();
    assert!(!reply.wait_timeout(Duration::from_millis(5)));
    reply.cancel();
    assert!(seen.recv_timeout(WATCHDOG).unwrap());
    assert!(reply.wait_timeout(WATCHDOG));
}

// Parity: a handler ends its own service cleanly.

#[test]
fn a_handler_can_close_its_own_service_cleanly() {
    let (tx, exits) = mpsc::channel();
    let gate = Gate::new();
    let held = gate.clone();
    let service = isolate::Builder::new()
        .on_exit(move |exit| tx.send(exit).unwrap())
        .service()
        .spawn(
            || (),
            move |_: &mut (), command: &'static str| {
                if command == "shutdown" {
                    held.wait();
                    assert!(isolate::close_service());
                }
                command
            },
        );
    let shutdown = service.request("shutdown");
    let queued = service.request("queued before the close");
    gate.open();
    assert_eq!(shutdown.join_timeout(WATCHDOG).unwrap(), "shutdown");
    assert_eq!(
        queued.join_timeout(WATCHDOG).unwrap(),
        "queued before the close"
    );
    assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Completed);
    assert!(matches!(
        service.request("late").join_timeout(WATCHDOG),
        Err(IsolateError::EndedWithoutResult { .. })
    ));
    assert!(service.join().is_ok());
    assert!(!isolate::close_service(), "not inside a handler");
}

// Parity: channel ends have an identity.

#[test]
fn channel_ends_know_whether_they_share_a_channel() {
    let worker = Worker::spawn(|port: Port<u8, u8>| port.into_parts().0.iter().count());
    let (other_tx, other_rx) = isolate::channel::bounded::<u8>(1);
    assert!(worker.sender().same_channel(worker.sender()));
    assert!(!worker.sender().same_channel(&other_tx));
    assert!(worker.receiver().same_channel(worker.receiver()));
    assert!(!worker.receiver().same_channel(&other_rx));
    drop(worker);
}

// Parity: supervision.

#[test]
fn a_worker_ended_by_a_panic_is_restarted_with_a_fresh_state_and_keeps_its_queue() {
    use isolate::Restart;

    isolate::print_panics(false);
    let gate = Gate::new();
    let held = gate.clone();
    let (started_tx, started) = mpsc::channel();
    let service = isolate::Builder::new()
        .service()
        .restart(Restart::OnPanic { limit: 2 })
        .spawn(
            || 0_u32,
            move |served: &mut u32, n: u32| {
                *served += 1;
                if n == 0 {
                    let _ = started_tx.send(());
                    held.wait();
                    panic!("request zero");
                }
                *served
            },
        );
    let (errors_tx, errors) = mpsc::channel();
    service.on_error(move |error| {
        errors_tx
            .send(matches!(error, IsolateError::Panicked(_)))
            .unwrap()
    });
    assert_eq!(service.request(1).join().unwrap(), 1);
    let failing = service.request(0);
    started.recv_timeout(WATCHDOG).unwrap();
    let queued = service.request(1);
    gate.open();
    assert!(matches!(
        failing.join_timeout(WATCHDOG).unwrap_err(),
        IsolateError::Panicked(_)
    ));
    // The queued request waited for the restarted worker and its new state.
    assert_eq!(queued.join_timeout(WATCHDOG).unwrap(), 1);
    assert!(errors.recv_timeout(WATCHDOG).unwrap());
    assert_eq!(service.threads(), 1);
    // The second restart, then none left: the worker ends with its panic.
    assert!(matches!(
        service.request(0).join().unwrap_err(),
        IsolateError::Panicked(_)
    ));
    assert!(matches!(
        service.request(0).join().unwrap_err(),
        IsolateError::Panicked(_)
    ));
    assert_eq!(service.threads(), 0);
    let end = service.join().unwrap_err().into_panic().unwrap();
    assert_eq!(end.message(), Some("request zero"));
}

#[test]
fn a_killed_service_is_restarted_behind_the_same_handles() {
    let (builder_tx, builder_exits) = mpsc::channel();
    // Which life of the service a worker's state was built in.
    let life = Arc::new(AtomicUsize::new(1));
    let read = Arc::clone(&life);
    let service = isolate::Builder::new()
        .on_exit(move |exit| builder_tx.send(exit).unwrap())
        .service()
        .threads(2)
        .spawn(
            move || read.load(Ordering::SeqCst),
            |generation: &mut usize, n: u32| (*generation, n),
        );
    let caller = service.clone();
    let (listener, old_exits, _) = exit_probe();
    service.on_exit(listener);
    service.kill();
    assert_eq!(
        builder_exits.recv_timeout(WATCHDOG).unwrap(),
        Exit::Cancelled
    );
    assert_eq!(old_exits.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
    assert!(matches!(
        caller.request(1).join().unwrap_err(),
        IsolateError::Cancelled { .. }
    ));
    assert_eq!(caller.threads(), 0);

    life.store(2, Ordering::SeqCst);
    service.restart();
    assert_eq!(caller.threads(), 2);
    let reply = caller.request(7).join_timeout(WATCHDOG).unwrap();
    assert_eq!(reply, (2, 7), "a state built by the new workers");
    let runtime = support::tokio_runtime();
    runtime.block_on(async {
        let (_, n) = caller.request_async(8).await.unwrap();
        assert_eq!(n, 8);
    });
    // The builder's listener hears of the new workers' end too.
    drop(service);
    drop(caller);
    assert_eq!(
        builder_exits.recv_timeout(WATCHDOG).unwrap(),
        Exit::Completed
    );
    // The old listener was called once, when the old workers ended.
    assert!(old_exits.recv_timeout(Duration::from_millis(10)).is_err());
}

#[test]
fn restarting_a_running_service_cancels_what_it_was_doing() {
    let (service, seen, started) = cancellable();
    let running = service.request(1);
    started.recv_timeout(WATCHDOG).unwrap();
    let queued = service.request(2);
    service.restart();
    assert!(
        seen.recv_timeout(WATCHDOG).unwrap(),
        "the request in hand saw the restart"
    );
    assert!(running.join_timeout(WATCHDOG).unwrap());
    assert!(matches!(
        queued.join_timeout(WATCHDOG).unwrap_err(),
        IsolateError::Cancelled { .. }
    ));
    service.ping().join_timeout(WATCHDOG).unwrap();
}

// Error listeners are told of errors reported by several workers at once.

#[test]
fn every_error_of_a_pool_reaches_every_error_listener() {
    isolate::print_panics(false);
    let _watchdog = Watchdog::arm(WATCHDOG, "errors reported side by side".to_owned());
    let service = isolate::Builder::new()
        .service()
        .threads(4)
        .dispatch(Dispatch::RoundRobin)
        .errors_are_fatal(false)
        .spawn(
            || (),
            isolate::Fold(|_: &mut (), n: u32| if n & 1 == 0 { Err(n) } else { Ok(n) }),
        );
    let (first_tx, first) = mpsc::channel();
    let (second_tx, second) = mpsc::channel();
    // Slow listeners, so that reports from different workers overlap.
    service.on_error(move |_| {
        (0..200).for_each(|_| std::thread::yield_now());
        first_tx.send(()).unwrap();
    });
    service.on_error(move |_| second_tx.send(()).unwrap());
    let callers: Vec<_> = (0..4_u32)
        .map(|caller| {
            let service = service.clone();
            std::thread::spawn(move || {
                for i in 0..100 {
                    let _ = service.request(caller * 1_000 + i).join();
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().unwrap();
    }
    service.join().unwrap();
    // 4 callers x 50 even requests each, every one told to both listeners.
    assert_eq!(first.try_iter().count(), 200);
    assert_eq!(second.try_iter().count(), 200);
}

#[test]
fn a_service_whose_threads_cannot_start_tells_its_listeners_and_callers() {
    let (tx, exits) = mpsc::channel();
    let service = isolate::Builder::new()
        .stack_size(usize::MAX / 2)
        .on_exit(move |exit| tx.send(exit).unwrap())
        .service()
        .threads(2)
        .spawn(|| (), |_: &mut (), n: u8| n);
    assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Spawn);
    assert_eq!(service.threads(), 0);
    assert!(service.request(1).join_timeout(WATCHDOG).is_err());
    assert!(matches!(
        service.ping().join_timeout(WATCHDOG),
        Err(IsolateError::EndedWithoutResult { .. })
    ));
    assert!(matches!(service.join(), Err(IsolateError::Spawn { .. })));
}

#[test]
fn an_ordered_ping_to_a_full_inbox_returns_at_once_and_waits_its_turn() {
    let _watchdog = Watchdog::arm(WATCHDOG, "an ordered ping to a full inbox".to_owned());
    let (service, paused, replies) = paused_and_full();
    let ping = service.ping_in_order(); // parked beside the full inbox
    assert!(
        !ping.wait_timeout(Duration::from_millis(20)),
        "answered before earlier requests"
    );
    drop(paused);
    ping.join_timeout(WATCHDOG).unwrap();
    assert!(replies.iter().all(|reply| reply.is_finished()));
    let runtime = support::tokio_runtime();
    runtime.block_on(async {
        tokio::time::timeout(WATCHDOG, service.ping_in_order())
            .await
            .unwrap()
            .unwrap();
    });
}
