//! Request/response services: every caller gets its own reply, blocking or
//! awaited; failures per request; pools and dispatch; pause, ping, kill and
//! the listeners.

mod support;

use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{mpsc, Arc, Barrier, Mutex};
use std::time::Duration;

use futures::FutureExt;
use isolate::channel::TrySendError;
use isolate::{Dispatch, Exit, IsolateError, Service};
use support::{DropCounter, Gate, Tracked, Watchdog, WATCHDOG};

#[test]
fn many_blocking_callers_share_one_worker_and_each_gets_its_own_reply() {
    let service = Service::spawn(
        || 0_u64,
        |calls: &mut u64, n: u64| {
            *calls += 1;
            (n, n * n)
        },
    );
    let callers: Vec<_> = (0..8_u64)
        .map(|caller| {
            let service = service.clone();
            std::thread::spawn(move || {
                for i in 0..500 {
                    let n = caller * 1_000 + i;
                    let reply = service.request(n).join_timeout(WATCHDOG).unwrap();
                    assert_eq!(reply, (n, n * n));
                }
            })
        })
        .collect();
    for caller in callers {
        caller.join().unwrap();
    }
    service.join().unwrap();
}

#[test]
fn many_async_callers_share_one_worker_and_each_gets_its_own_reply() {
    let runtime = support::tokio_runtime();
    let service = Service::spawn(|| (), |_: &mut (), n: u32| format!("#{n}"));
    runtime.block_on(async {
        let requests = (0..1_000_u32).map(|n| {
            let service = service.clone();
            tokio::spawn(async move { (n, service.request_async(n).await.unwrap()) })
        });
        for request in requests {
            let (n, reply) = tokio::time::timeout(WATCHDOG, request)
                .await
                .unwrap()
                .unwrap();
            assert_eq!(reply, format!("#{n}"));
        }
    });
    // The reply handle is a future too.
    let reply = smol::block_on(service.request(7)).unwrap();
    assert_eq!(reply, "#7");
}

#[test]
fn with_errors_not_fatal_a_panic_goes_to_its_caller_and_listener_and_the_worker_goes_on() {
    isolate::print_panics(false);
    let service = isolate::Builder::new()
        .name("divider")
        .service()
        .errors_are_fatal(false)
        .spawn(
            || 0_u32,
            |served: &mut u32, n: u32| {
                *served += 1;
                (100 / n, *served)
            },
        );
    let (errors_tx, errors) = mpsc::channel();
    service.on_error(move |error| {
        let panic = match error {
            IsolateError::Panicked(panic) => panic.message().map(str::to_owned),
            _ => None,
        };
        errors_tx.send(panic).unwrap();
    });
    assert_eq!(service.request(50).join().unwrap(), (2, 1));
    let panic = service.request(0).join().unwrap_err().into_panic().unwrap();
    assert_eq!(panic.message(), Some("attempt to divide by zero"));
    assert_eq!(panic.isolate_name(), "divider");
    assert_eq!(
        errors.recv_timeout(WATCHDOG).unwrap().as_deref(),
        Some("attempt to divide by zero")
    );
    // The same worker, with its state, answers the next request.
    assert_eq!(service.request(10).join().unwrap(), (10, 3));
}

#[test]
fn with_errors_fatal_a_panic_ends_the_worker_and_queued_callers_hear_of_it() {
    isolate::print_panics(false);
    let gate = Gate::new();
    let (started_tx, started) = mpsc::channel();
    let in_handler = gate.clone();
    let service = Service::spawn(
        || (),
        move |_: &mut (), n: u32| {
            started_tx.send(n).unwrap();
            in_handler.wait();
            if n == 0 {
                panic!("bad input {n}");
            }
            n
        },
    );
    let (exits_tx, exits) = mpsc::channel();
    service.on_exit(move |exit| exits_tx.send(exit).unwrap());
    let failing = service.request(0);
    assert_eq!(started.recv_timeout(WATCHDOG).unwrap(), 0);
    let queued = service.request(1);
    gate.open();
    assert!(matches!(
        failing.join().unwrap_err(),
        IsolateError::Panicked(_)
    ));
    // No worker is left to take the queued request: it hears why.
    let why = queued.join().unwrap_err().into_panic().unwrap();
    assert_eq!(why.message(), Some("bad input 0"));
    assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Panicked);
    // Later requests are refused with the same reason, and `try_request`
    // hands them back.
    assert!(matches!(
        service.request(2).join().unwrap_err(),
        IsolateError::Panicked(_)
    ));
    assert_eq!(service.try_request(3).unwrap_err(), TrySendError::Closed(3));
    let worker_end = service.join().unwrap_err().into_panic().unwrap();
    assert_eq!(worker_end.message(), Some("bad input 0"));
}

/// A service that records the requests it handles, says when each starts,
/// and holds request 1 in its handler until the gate opens; it answers
/// `n * 10`.
struct HeldService {
    service: Service<u32, u32>,
    gate: Gate,
    started: mpsc::Receiver<u32>,
    handled: Arc<Mutex<Vec<u32>>>,
}

impl HeldService {
    fn new() -> Self {
        let gate = Gate::new();
        let in_handler = gate.clone();
        let (started_tx, started) = mpsc::channel();
        let handled = Arc::new(Mutex::new(Vec::new()));
        let seen = Arc::clone(&handled);
        let service = Service::spawn(
            || (),
            move |_: &mut (), n: u32| {
                seen.lock().unwrap().push(n);
                started_tx.send(n).unwrap();
                if n == 1 {
                    in_handler.wait();
                }
                n * 10
            },
        );
        HeldService {
            service,
            gate,
            started,
            handled,
        }
    }
}

#[test]
fn a_caller_that_drops_mid_request_does_not_disturb_the_others() {
    let HeldService {
        service,
        gate,
        started,
        handled,
    } = HeldService::new();
    let running = service.request(1);
    assert_eq!(started.recv_timeout(WATCHDOG).unwrap(), 1);
    let queued = service.request(2);
    drop(running); // in the handler: its reply is discarded
    drop(queued); // still queued: withdrawn, never handled
    let after = service.request(3);
    gate.open();
    assert_eq!(after.join().unwrap(), 30);
    assert_eq!(*handled.lock().unwrap(), [1, 3]);
}

#[test]
fn back_pressure_blocks_and_awaits_until_the_worker_takes_requests() {
    let gate = Gate::new();
    let in_handler = gate.clone();
    let (started_tx, started) = mpsc::channel();
    let service = isolate::Builder::new().capacity(1).service().spawn(
        || (),
        move |_: &mut (), n: u32| {
            started_tx.send(n).unwrap();
            in_handler.wait();
            n
        },
    );
    let first = service.request(1);
    assert_eq!(started.recv_timeout(WATCHDOG).unwrap(), 1);
    let second = service.request(2); // fills the inbox
    assert_eq!(service.try_request(3).unwrap_err(), TrySendError::Full(3));
    let mut awaiting = Box::pin(service.request_async(3));
    assert!((&mut awaiting).now_or_never().is_none());
    let blocked_service = service.clone();
    let blocked = std::thread::spawn(move || blocked_service.request(4).join());
    gate.open();
    assert_eq!(futures::executor::block_on(awaiting).unwrap(), 3);
    assert_eq!(first.join().unwrap(), 1);
    assert_eq!(second.join().unwrap(), 2);
    assert_eq!(blocked.join().unwrap().unwrap(), 4);
}

#[test]
fn least_loaded_dispatch_runs_requests_side_by_side_on_a_pool() {
    let _watchdog = Watchdog::arm(WATCHDOG, "four requests never met at the barrier".into());
    let barrier = Arc::new(Barrier::new(4));
    let builds = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&builds);
    let service = isolate::Builder::new().service().threads(4).spawn(
        move || {
            counted.fetch_add(1, Ordering::SeqCst);
            Arc::clone(&barrier)
        },
        |barrier: &mut Arc<Barrier>, _: ()| {
            // Returns only once four requests are in four handlers at once.
            barrier.wait();
            std::thread::current().id()
        },
    );
    let replies: Vec<_> = (0..4).map(|_| service.request(())).collect();
    let threads: HashSet<_> = replies.into_iter().map(|r| r.join().unwrap()).collect();
    assert_eq!(threads.len(), 4);
    assert_eq!(service.threads(), 4);
    service.join().unwrap();
    assert_eq!(
        builds.load(Ordering::SeqCst),
        4,
        "each worker builds its own state"
    );
}

/// A burst of quick requests goes around a slow one in hand: with a count
/// of requests alone, the busy thread and the one holding a quick request
/// tied, and every other quick request queued behind the slow one. The
/// quick ones are held until the whole burst is sent, so that no answered
/// request has set the mean time per request: the thread to avoid is the
/// one whose request has run longer.
#[test]
fn least_loaded_dispatch_sends_a_burst_of_quick_requests_around_a_slow_one() {
    #[derive(Clone, Copy)]
    enum Job {
        Slow,
        Quick,
    }
    let (slow_gate, quick_gate) = (Gate::new(), Gate::new());
    let (in_hand_tx, in_hand) = mpsc::channel();
    let in_hand_tx = Mutex::new(in_hand_tx);
    let gates = (slow_gate.clone(), quick_gate.clone());
    let service = isolate::Builder::new().service().threads(2).spawn(
        || (),
        move |_: &mut (), job: Job| {
            match job {
                Job::Slow => {
                    in_hand_tx.lock().unwrap().send(()).unwrap();
                    gates.0.wait();
                }
                Job::Quick => gates.1.wait(),
            }
            std::thread::current().id()
        },
    );
    let slow = service.request(Job::Slow);
    in_hand.recv_timeout(WATCHDOG).unwrap();
    let quick: Vec<_> = (0..4).map(|_| service.request(Job::Quick)).collect();
    quick_gate.open();
    // Answered while the slow one is still held: none waits behind it.
    let threads: HashSet<_> = quick
        .into_iter()
        .map(|reply| reply.join_timeout(WATCHDOG).unwrap())
        .collect();
    assert_eq!(threads.len(), 1, "the quick requests ran on one thread");
    slow_gate.open();
    assert!(!threads.contains(&slow.join().unwrap()));
}

#[test]
fn round_robin_dispatch_takes_each_worker_in_turn() {
    let service = isolate::Builder::new()
        .service()
        .threads(3)
        .dispatch(Dispatch::RoundRobin)
        .spawn(|| (), |_: &mut (), _: ()| std::thread::current().id());
    let threads: Vec<_> = (0..6)
        .map(|_| service.request(()).join().unwrap())
        .collect();
    assert_eq!(threads[0..3], threads[3..6]);
    assert_eq!(threads.iter().collect::<HashSet<_>>().len(), 3);
}

#[test]
fn a_paused_service_takes_no_request_and_answers_no_ordered_ping_until_resumed() {
    let handled = Arc::new(AtomicUsize::new(0));
    let count = Arc::clone(&handled);
    let service = isolate::Builder::new().service().threads(2).spawn(
        || (),
        move |_: &mut (), n: u8| {
            count.fetch_add(1, Ordering::SeqCst);
            n
        },
    );
    let paused = service.pause();
    let nested = service.pause();
    let reply = service.request(1);
    let ping = service.ping_in_order();
    assert!(matches!(
        service
            .ping_in_order()
            .join_timeout(Duration::from_millis(50))
            .unwrap_err(),
        IsolateError::TimedOut { .. }
    ));
    drop(nested);
    assert!(matches!(
        service
            .ping_in_order()
            .join_timeout(Duration::from_millis(20))
            .unwrap_err(),
        IsolateError::TimedOut { .. }
    ));
    // A plain ping is a control message: answered while paused.
    service.ping().join_timeout(WATCHDOG).unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), 0);
    paused.resume();
    assert_eq!(reply.join().unwrap(), 1);
    ping.join_timeout(WATCHDOG).unwrap();
    assert_eq!(handled.load(Ordering::SeqCst), 1);
}

#[test]
fn kill_cancels_queued_requests_and_the_one_in_hand_sees_it() {
    let (started_tx, started) = mpsc::channel();
    let service = Service::spawn(
        || (),
        move |_: &mut (), n: u32| {
            started_tx.send(n).unwrap();
            while !isolate::is_cancelled() {
                std::thread::yield_now();
            }
            n
        },
    );
    let (exits_tx, exits) = mpsc::channel();
    service.on_exit(move |exit| exits_tx.send(exit).unwrap());
    let running = service.request(1);
    assert_eq!(started.recv_timeout(WATCHDOG).unwrap(), 1);
    let queued = service.request(2);
    service.kill();
    assert_eq!(
        running.join().unwrap(),
        1,
        "a reply produced anyway still arrives"
    );
    assert!(matches!(
        queued.join().unwrap_err(),
        IsolateError::Cancelled { .. }
    ));
    assert!(matches!(
        service.request(3).join().unwrap_err(),
        IsolateError::Cancelled { .. }
    ));
    assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
    assert!(matches!(
        service.join().unwrap_err(),
        IsolateError::Cancelled { .. }
    ));
}

#[test]
fn dropping_the_last_handle_answers_what_is_queued_then_ends() {
    let counter = DropCounter::new();
    let service = Service::spawn(|| (), |_: &mut (), item: Tracked| item);
    let (exits_tx, exits) = mpsc::channel();
    service.on_exit(move |exit| exits_tx.send(exit).unwrap());
    let replies: Vec<_> = (0..20).map(|_| service.request(counter.track())).collect();
    let clone = service.clone();
    drop(service);
    drop(clone);
    for reply in replies {
        drop(reply.join().unwrap());
    }
    assert_eq!(exits.recv_timeout(WATCHDOG).unwrap(), Exit::Completed);
    counter.assert_balanced();
}

#[test]
fn a_handlers_err_goes_to_its_caller_and_the_error_listener() {
    let service = Service::spawn(
        || (),
        isolate::Fold(|_: &mut (), text: String| text.parse::<u16>()),
    );
    let (errors_tx, errors) = mpsc::channel();
    service.on_error(move |error| {
        errors_tx
            .send(matches!(error, IsolateError::Failed { .. }))
            .unwrap()
    });
    assert_eq!(service.request("80".to_owned()).join().unwrap(), 80);
    let error = service.request("eighty".to_owned()).join().unwrap_err();
    assert_eq!(
        error.into_failed().unwrap().to_string(),
        "invalid digit found in string"
    );
    assert!(errors.recv_timeout(WATCHDOG).unwrap());
    assert_eq!(service.request("8".to_owned()).join().unwrap(), 8);
}

#[test]
fn a_panic_while_building_the_state_fails_the_requests_and_the_join() {
    isolate::print_panics(false);
    let service = Service::spawn(
        || -> u8 { panic!("model file missing") },
        |_: &mut u8, n: u8| n,
    );
    // No worker is left: the request hears why.
    let why = service.request(1).join().unwrap_err().into_panic().unwrap();
    assert_eq!(why.message(), Some("model file missing"));
    let panic = service.join().unwrap_err().into_panic().unwrap();
    assert_eq!(panic.message(), Some("model file missing"));
}

#[test]
fn an_ordered_ping_answers_once_earlier_requests_are_handled_on_every_worker() {
    let service = isolate::Builder::new()
        .service()
        .threads(3)
        .spawn(|| (), |_: &mut (), n: u8| n);
    let replies: Vec<_> = (0..30).map(|n| service.request(n)).collect();
    service.ping_in_order().join_timeout(WATCHDOG).unwrap();
    assert!(replies.iter().all(|reply| reply.is_finished()));
    assert_eq!(service.in_flight(), 0);
    service.kill();
    let ended = service.ping().join_timeout(WATCHDOG);
    assert!(matches!(
        ended,
        Err(IsolateError::EndedWithoutResult { .. })
    ));
}

#[test]
fn a_reply_can_time_out_and_the_service_goes_on() {
    let gate = Gate::new();
    let in_handler = gate.clone();
    let service = Service::spawn(
        || (),
        move |_: &mut (), wait: bool| {
            if wait {
                in_handler.wait();
            }
            wait
        },
    );
    let slow = service.request(true);
    assert!(matches!(
        slow.join_timeout(Duration::from_millis(10)).unwrap_err(),
        IsolateError::TimedOut { .. }
    ));
    gate.open();
    assert!(!service.request(false).join().unwrap());
}

#[test]
fn every_request_and_reply_is_dropped_exactly_once_whatever_happens_to_it() {
    isolate::print_panics(false);
    let counter = DropCounter::new();
    let gate = Gate::new();
    let (started_tx, started) = mpsc::channel();
    let in_handler = gate.clone();
    let replies = counter.clone();
    let service = isolate::Builder::new().capacity(4).service().spawn(
        || (),
        move |_: &mut (), (request, fail): (Tracked, bool)| {
            started_tx.send(()).unwrap();
            in_handler.wait();
            drop(request);
            assert!(!fail, "asked to fail");
            replies.track()
        },
    );
    let answered = service.request((counter.track(), false));
    started.recv_timeout(WATCHDOG).unwrap();
    let withdrawn = service.request((counter.track(), false));
    let failing = service.request((counter.track(), true));
    let behind_the_panic = service.request((counter.track(), false));
    drop(withdrawn);
    gate.open();
    drop(answered.join().unwrap());
    assert!(matches!(failing.join(), Err(IsolateError::Panicked(_))));
    // No worker is left to take it: it hears of the panic that ended the
    // service.
    assert!(matches!(
        behind_the_panic.join(),
        Err(IsolateError::Panicked(_))
    ));
    // Refused outright: the worker is gone.
    assert!(service.request((counter.track(), false)).join().is_err());
    drop(
        service
            .try_request((counter.track(), false))
            .unwrap_err()
            .into_inner(),
    );
    drop(service);
    counter.assert_balanced();
}

#[test]
fn an_async_caller_that_drops_its_request_mid_flight_does_not_disturb_the_others() {
    let HeldService {
        service,
        gate,
        started,
        handled,
    } = HeldService::new();
    let runtime = support::tokio_runtime();
    runtime.block_on(async {
        // Awaited, then abandoned while its handler runs.
        let running = tokio::spawn({
            let service = service.clone();
            async move { service.request_async(1).await }
        });
        assert_eq!(started.recv_timeout(WATCHDOG).unwrap(), 1);
        // Queued behind it, then abandoned before it starts: withdrawn.
        let mut queued = Box::pin(service.request_async(2));
        assert!((&mut queued).now_or_never().is_none());
        drop(queued);
        running.abort();
        let _ = running.await;
        gate.open();
        assert_eq!(service.request_async(3).await.unwrap(), 30);
    });
    assert_eq!(*handled.lock().unwrap(), [1, 3]);
}

#[test]
fn an_awaited_request_hears_of_a_panic_and_of_a_fatal_end() {
    isolate::print_panics(false);
    let service = Service::spawn(
        || (),
        |_: &mut (), n: u32| if n == 0 { panic!("zero") } else { n },
    );
    futures::executor::block_on(async {
        assert_eq!(service.request_async(1).await.unwrap(), 1);
        assert!(matches!(
            service.request_async(0).await.unwrap_err(),
            IsolateError::Panicked(_)
        ));
        // The only worker is gone: later requests hear why.
        let why = service.request_async(2).await.unwrap_err().into_panic();
        assert_eq!(why.unwrap().message(), Some("zero"));
    });
}

/// An exit listener that kills or restarts its own service: the kill that
/// ran it (inline, for a thread that never started) must not hold a lock
/// the listener needs.
#[test]
fn an_exit_listener_may_restart_or_kill_its_own_service() {
    let _watchdog = Watchdog::arm(WATCHDOG, "a kill re-entered from its exit listener".into());
    for restart in [true, false] {
        let service: Service<u8, u8> = isolate::Builder::new()
            .start_paused() // its thread never starts: the kill runs the listener inline
            .service()
            .spawn(|| (), |_: &mut (), n: u8| n + 1);
        let again = service.clone();
        let (exits, exited) = mpsc::channel();
        service.on_exit(move |exit| {
            if restart {
                again.restart();
            } else {
                again.kill();
            }
            let _ = exits.send(exit);
        });
        service.kill();
        assert_eq!(exited.recv_timeout(WATCHDOG).unwrap(), Exit::Cancelled);
        if restart {
            assert_eq!(service.request(1).join_timeout(WATCHDOG).unwrap(), 2);
        }
    }
}

/// Every request racing `kill` is answered: a request whose dispatch saw
/// the inbox open and pushed after the kill had emptied it used to wait
/// unanswered while the service was held (a new user's test: 1-8 of 200
/// rounds).
#[test]
fn every_request_racing_a_kill_is_answered() {
    for _ in 0..100 {
        let service = Service::spawn(|| (), |_: &mut (), n: u64| n);
        let sent = Arc::new(AtomicUsize::new(0));
        let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let callers: Vec<_> = (0..2)
            .map(|_| {
                let (service, sent, killed) = (service.clone(), sent.clone(), killed.clone());
                std::thread::spawn(move || {
                    let mut handles = Vec::new();
                    // Until the kill has been seen, and a little after.
                    let mut after_kill = 0;
                    while after_kill < 20 {
                        let handle = service.request(handles.len() as u64);
                        sent.fetch_add(1, Ordering::SeqCst);
                        if killed.load(Ordering::SeqCst) {
                            after_kill += 1;
                        }
                        handles.push(handle);
                    }
                    handles
                })
            })
            .collect();
        while sent.load(Ordering::SeqCst) < 40 {
            std::thread::yield_now();
        }
        service.kill();
        killed.store(true, Ordering::SeqCst);
        for caller in callers {
            for handle in caller.join().unwrap() {
                match handle.join_timeout(WATCHDOG) {
                    Ok(_) => {}
                    Err(IsolateError::Cancelled { .. }) => {}
                    Err(error) => panic!("a request racing the kill ended {error:?}"),
                }
            }
        }
    }
}
