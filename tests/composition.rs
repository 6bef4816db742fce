//! Every way of waiting the crate offers, from every place it can be called,
//! at pool caps of 1, 2 and the default: nothing deadlocks and no result is
//! lost. Each cap runs in a child process of its own (the pool is global),
//! under a watchdog, first one combination at a time, then all at once.

mod support;

use std::sync::OnceLock;
use std::time::Duration;

use futures::StreamExt;
use isolate::{Port, Progress, Service, Worker};
use std::future::Future;
use support::{in_child, run_child, Watchdog};

/// How the nested work is waited for.
#[derive(Clone, Copy, Debug)]
enum Way {
    Join,
    JoinTimeout,
    WaitTimeout,
    AwaitTokio,
    AwaitFutures,
    ProgressRecv,
    ProgressIter,
    ProgressStream,
    ProgressRecvAsync,
    ServiceJoin,
    ServiceAwait,
    WorkerRecv,
    ChannelRecv,
    /// A channel whose sender is queued only once the receive waits (see
    /// [`late_sender`]).
    ChannelRecvLate,
    ChannelRecvAsyncLate,
}

const WAYS: [Way; 15] = [
    Way::Join,
    Way::JoinTimeout,
    Way::WaitTimeout,
    Way::AwaitTokio,
    Way::AwaitFutures,
    Way::ProgressRecv,
    Way::ProgressIter,
    Way::ProgressStream,
    Way::ProgressRecvAsync,
    Way::ServiceJoin,
    Way::ServiceAwait,
    Way::WorkerRecv,
    Way::ChannelRecv,
    Way::ChannelRecvLate,
    Way::ChannelRecvAsyncLate,
];

/// Where the wait is made from.
#[derive(Clone, Copy, Debug)]
enum Place {
    Main,
    PoolIsolate,
    DedicatedIsolate,
    AsyncIsolate,
    ServiceHandler,
    WorkerBody,
    /// A service handler asked from a pool isolate, which holds a pool
    /// thread while it waits for the reply.
    ServiceHandlerForAnIsolate,
    /// A worker body whose caller is a pool isolate.
    WorkerBodyForAnIsolate,
}

const PLACES: [Place; 8] = [
    Place::Main,
    Place::PoolIsolate,
    Place::DedicatedIsolate,
    Place::AsyncIsolate,
    Place::ServiceHandler,
    Place::WorkerBody,
    Place::ServiceHandlerForAnIsolate,
    Place::WorkerBodyForAnIsolate,
];

/// What every nested computation returns.
const ANSWER: u64 = 42;

/// The service that `ServiceJoin` and `ServiceAwait` wait on.
fn doubling_service() -> &'static Service<u64, u64> {
    static SERVICE: OnceLock<Service<u64, u64>> = OnceLock::new();
    SERVICE.get_or_init(|| Service::spawn(|| (), |_: &mut (), n: u64| n * 2))
}

/// The service whose handler is the `ServiceHandler` place: it waits in
/// the way it is asked to.
fn waiting_service() -> &'static Service<Way, u64> {
    static SERVICE: OnceLock<Service<Way, u64>> = OnceLock::new();
    SERVICE.get_or_init(|| {
        isolate::Builder::new()
            .service()
            .threads(2)
            .spawn(|| (), |_: &mut (), way: Way| wait_blocking(way))
    })
}

fn nested() -> isolate::IsolateHandle<u64> {
    isolate::run(|| ANSWER)
}

fn nested_with_progress() -> isolate::ProgressHandle<u64, u64> {
    isolate::run_with_progress(|progress: Progress<u64>| {
        progress.send(ANSWER / 2);
        progress.send(ANSWER / 2);
        ANSWER
    })
}

/// Queues an isolate that queues the one that sends `ANSWER` into `tx`. At
/// a cap of 1 the first one runs only once the receive that waits for it
/// parks (its look at the stalled pool gives it a thread beside), so the
/// sender is queued after that look: only the pool can then see that the
/// parked receive may need it.
fn late_sender(tx: isolate::channel::Sender<u64>) -> isolate::IsolateHandle<()> {
    isolate::run(move || isolate::run(move || tx.send(ANSWER).unwrap()).detach())
}

/// Waits for nested work in `way` from a blocking context.
fn wait_blocking(way: Way) -> u64 {
    match way {
        Way::Join => nested().join().unwrap(),
        Way::JoinTimeout => nested().join_timeout(support::WATCHDOG).unwrap(),
        Way::WaitTimeout => {
            let handle = nested();
            while !handle.wait_timeout(Duration::from_millis(1)) {}
            handle.join().unwrap()
        }
        Way::AwaitTokio => tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(nested())
            .unwrap(),
        Way::AwaitFutures => futures::executor::block_on(nested()).unwrap(),
        Way::ProgressRecv => {
            let handle = nested_with_progress();
            let mut sum = 0;
            while let Ok(update) = handle.recv() {
                sum += update;
            }
            assert_eq!(handle.into_handle().join().unwrap(), ANSWER);
            sum
        }
        Way::ProgressIter => {
            let handle = nested_with_progress();
            let sum = handle.updates().iter().sum();
            assert_eq!(handle.into_handle().join().unwrap(), ANSWER);
            sum
        }
        Way::ProgressStream | Way::ProgressRecvAsync => {
            futures::executor::block_on(wait_async(way))
        }
        Way::ServiceJoin => doubling_service().request(ANSWER / 2).join().unwrap(),
        Way::ServiceAwait => futures::executor::block_on(wait_async(way)),
        Way::WorkerRecv => {
            let worker = Worker::spawn(|port: Port<u64, u64>| {
                for n in &port {
                    port.send(n + 1).unwrap();
                }
            });
            worker.send(ANSWER - 1).unwrap();
            let answer = worker.recv().unwrap();
            worker.into_handle().join().unwrap();
            answer
        }
        Way::ChannelRecv => {
            // Nothing tells the channel which isolate will send.
            let (tx, rx) = isolate::channel::bounded(1);
            let sender = isolate::run(move || tx.send(ANSWER).unwrap());
            let answer = rx.recv().unwrap();
            sender.join().unwrap();
            answer
        }
        Way::ChannelRecvLate => {
            let (tx, rx) = isolate::channel::bounded(1);
            let helper = late_sender(tx);
            let answer = rx.recv().unwrap();
            helper.join().unwrap();
            answer
        }
        // Some executor's `block_on` around a channel future: it parks the
        // thread where the pool cannot see it.
        Way::ChannelRecvAsyncLate => futures::executor::block_on(wait_async(way)),
    }
}

/// Waits for nested work in `way` from async code: the `.await` forms are
/// awaited in place, the blocking forms (and tokio's executor, run inside
/// this one) block the executor's thread.
async fn wait_async(way: Way) -> u64 {
    match way {
        Way::AwaitFutures => nested().await.unwrap(),
        Way::ProgressRecvAsync => {
            let handle = nested_with_progress();
            let mut sum = 0;
            while let Ok(update) = handle.recv_async().await {
                sum += update;
            }
            assert_eq!(handle.into_handle().await.unwrap(), ANSWER);
            sum
        }
        Way::ChannelRecv => {
            let (tx, rx) = isolate::channel::bounded(1);
            let sender = isolate::run(move || tx.send(ANSWER).unwrap());
            let answer = rx.recv_async().await.unwrap();
            sender.await.unwrap();
            answer
        }
        Way::ProgressStream => {
            let mut handle = nested_with_progress();
            let mut sum = 0;
            while let Some(update) = handle.next().await {
                sum += update;
            }
            assert_eq!(handle.into_handle().await.unwrap(), ANSWER);
            sum
        }
        Way::ServiceAwait => doubling_service().request(ANSWER / 2).await.unwrap(),
        Way::ChannelRecvAsyncLate => {
            let (tx, rx) = isolate::channel::bounded(1);
            let helper = late_sender(tx);
            let answer = rx.recv_async().await.unwrap();
            helper.await.unwrap();
            answer
        }
        Way::WorkerRecv => {
            let worker = Worker::spawn(|port: Port<u64, u64>| {
                for n in &port {
                    port.send(n + 1).unwrap();
                }
            });
            worker.sender().send_async(ANSWER - 1).await.unwrap();
            let answer = worker.recv_async().await.unwrap();
            worker.into_handle().join().unwrap();
            answer
        }
        blocking => wait_blocking(blocking),
    }
}

/// Makes the wait `way` from `place` and returns what it got.
fn wait_from(place: Place, way: Way) -> u64 {
    match place {
        Place::Main => wait_blocking(way),
        Place::PoolIsolate => isolate::run(move || wait_blocking(way)).join().unwrap(),
        Place::DedicatedIsolate => isolate::Builder::new()
            .dedicated()
            .run(move || wait_blocking(way))
            .join()
            .unwrap(),
        Place::AsyncIsolate => isolate::run(isolate::Async(move || wait_async(way)))
            .join()
            .unwrap(),
        Place::ServiceHandler => waiting_service().request(way).join().unwrap(),
        Place::WorkerBody => {
            let worker = Worker::spawn(move |port: Port<(), u64>| {
                port.send(wait_blocking(way)).unwrap();
            });
            let answer = worker.recv().unwrap();
            worker.into_handle().join().unwrap();
            answer
        }
        Place::ServiceHandlerForAnIsolate => {
            isolate::run(move || wait_from(Place::ServiceHandler, way))
                .join()
                .unwrap()
        }
        Place::WorkerBodyForAnIsolate => isolate::run(move || wait_from(Place::WorkerBody, way))
            .join()
            .unwrap(),
    }
}

/// The whole matrix in this process: each combination alone, then all of
/// them at once from as many threads.
fn matrix(cap: &str) {
    let _watchdog = Watchdog::arm(
        Duration::from_secs(120),
        format!("the composition matrix at cap {cap}"),
    );
    for place in PLACES {
        for way in WAYS {
            assert_eq!(wait_from(place, way), ANSWER, "{way:?} from {place:?}");
        }
    }
    let all: Vec<_> = PLACES
        .into_iter()
        .flat_map(|place| WAYS.map(move |way| (place, way)))
        .map(|(place, way)| std::thread::spawn(move || (place, way, wait_from(place, way))))
        .collect();
    for thread in all {
        let (place, way, got) = thread.join().unwrap();
        assert_eq!(got, ANSWER, "{way:?} from {place:?}, all at once");
    }
}

#[test]
fn every_wait_from_every_place_at_cap_1() {
    run_child("scenario_matrix", &[("ISOLATE_MAX_THREADS", "1")]);
}

#[test]
fn every_wait_from_every_place_at_cap_2() {
    run_child("scenario_matrix", &[("ISOLATE_MAX_THREADS", "2")]);
}

#[test]
fn every_wait_from_every_place_at_the_default_cap() {
    run_child("scenario_matrix", &[]);
}

/// In a scenario's own process, a watchdog that fails it if it hangs for
/// `what`; run as a test of its own, a scenario does nothing (`None`).
fn scenario_under_watchdog(what: &str) -> Option<Watchdog> {
    in_child().then(|| Watchdog::arm(Duration::from_secs(120), what.to_owned()))
}

#[test]
fn scenario_matrix() {
    if !in_child() {
        return;
    }
    let cap = std::env::var("ISOLATE_MAX_THREADS").unwrap_or_else(|_| "default".to_owned());
    matrix(&cap);
}

/// Callers beyond the cap, isolates waiting for a service whose handlers
/// await a nested isolate with another executor's `block_on` or read a
/// nested isolate's progress: the callers fill the pool (those given a
/// thread beside it at the stall block too), and only the pool can see that
/// the handlers' isolates must run. It hung in 7 runs of 10 before the pool
/// looked again whenever an isolate off its threads blocked, and in 9 of 20
/// (a larger mix) before a pending poll of a handle did.
#[test]
fn callers_beyond_the_cap_of_a_handler_that_awaits_an_isolate() {
    run_child(
        "scenario_handler_awaits_for_callers_beyond_the_cap",
        &[("ISOLATE_MAX_THREADS", "2")],
    );
}

#[test]
fn scenario_handler_awaits_for_callers_beyond_the_cap() {
    let Some(_watchdog) =
        scenario_under_watchdog("callers beyond the cap of a handler that awaits an isolate")
    else {
        return;
    };
    // Two threads: one awaits a nested isolate, the other reads a nested
    // isolate's progress.
    let service = isolate::Builder::new().service().threads(2).spawn(
        || (),
        |_: &mut (), n: u64| {
            if n.is_multiple_of(2) {
                futures::executor::block_on(isolate::run(move || n + 1)).unwrap()
            } else {
                let handle =
                    isolate::run_with_progress(move |progress: Progress<u64>| progress.send(n + 1));
                let sum = handle.updates().iter().sum();
                handle.into_handle().join().unwrap();
                sum
            }
        },
    );
    for _ in 0..30 {
        // Callers that join, that block on the reply with another
        // executor, and async ones.
        let callers: Vec<_> = (0..6)
            .map(|n: u64| {
                let service = service.clone();
                match n % 3 {
                    0 => isolate::run(move || service.request(n).join().unwrap()),
                    1 => isolate::run(move || {
                        futures::executor::block_on(service.request(n)).unwrap()
                    }),
                    _ => isolate::run(isolate::Async(move || async move {
                        service.request(n).await.unwrap()
                    })),
                }
            })
            .collect();
        for (n, caller) in (0..).zip(callers) {
            assert_eq!(caller.join().unwrap(), n + 1);
        }
    }
}

/// An isolate that awaits a running isolate under another executor's
/// `block_on` parks where the pool cannot see it; the awaited one then
/// waits for an isolate it queues only once the await is pending. At a cap
/// of 1 the pool's one thread must count as blocked for that isolate to
/// run: it did only while the awaited isolate was still queued.
#[test]
fn an_await_of_a_running_isolate_under_another_executor_at_cap_1() {
    run_child(
        "scenario_await_of_a_running_isolate",
        &[("ISOLATE_MAX_THREADS", "1")],
    );
}

#[test]
fn scenario_await_of_a_running_isolate() {
    let Some(_watchdog) =
        scenario_under_watchdog("an await of a running isolate under another executor")
    else {
        return;
    };
    let outer = isolate::run(|| {
        let (running_tx, running) = isolate::channel::bounded(1);
        let (pending_tx, pending) = isolate::channel::bounded(1);
        let mut inner = isolate::run(move || {
            running_tx.send(()).unwrap();
            pending.recv().unwrap();
            let (tx, rx) = isolate::channel::bounded(1);
            isolate::run(move || tx.send(ANSWER).unwrap()).detach();
            rx.recv().unwrap()
        });
        running.recv().unwrap();
        let mut told = false;
        futures::executor::block_on(futures::future::poll_fn(|cx| {
            let polled = std::pin::Pin::new(&mut inner).poll(cx);
            if polled.is_pending() && !told {
                told = true;
                pending_tx.send(()).unwrap();
            }
            polled
        }))
        .unwrap()
    });
    assert_eq!(outer.join().unwrap(), ANSWER);
}

/// Handshakes with a nested isolate at a cap of 1: the caller reads an
/// update (or a set's first result), then does what the nested isolate waits
/// for. A stalled pool's last resort ran the nested isolate on the reader's
/// own thread, where it waited for the reader forever; and an isolate that
/// awaited a service's reply with another executor, for a handler that
/// waited on its own nested isolate, left the pool's one thread uncounted.
#[test]
fn handshakes_and_awaited_replies_at_cap_1() {
    run_child(
        "scenario_handshakes_and_awaited_replies",
        &[("ISOLATE_MAX_THREADS", "1")],
    );
}

#[test]
fn scenario_handshakes_and_awaited_replies() {
    let Some(_watchdog) = scenario_under_watchdog("handshakes and awaited replies at cap 1") else {
        return;
    };
    let progress = isolate::run(|| {
        let (go_tx, go) = isolate::channel::bounded::<u64>(1);
        let job = isolate::run_with_progress(move |progress: Progress<&'static str>| {
            progress.send("ready");
            go.recv().unwrap() + 1
        });
        assert_eq!(job.recv().unwrap(), "ready");
        go_tx.send(ANSWER - 1).unwrap();
        job.into_handle().join().unwrap()
    });
    assert_eq!(progress.join().unwrap(), ANSWER);

    let set = isolate::run(|| {
        let (go_tx, go) = isolate::channel::bounded::<u64>(1);
        let mut set = isolate::IsolateSet::new();
        set.spawn("waits for go", move || go.recv().unwrap());
        set.spawn("quick", || ANSWER);
        let (first, quick) = set.join_next().unwrap();
        go_tx.send(ANSWER).unwrap();
        let (second, waited) = set.join_next().unwrap();
        assert_eq!((first, second), ("quick", "waits for go"));
        quick.unwrap() + waited.unwrap()
    });
    assert_eq!(set.join().unwrap(), 2 * ANSWER);

    let service = Service::spawn(
        || (),
        |_: &mut (), n: u64| {
            let (tx, rx) = isolate::channel::bounded(1);
            isolate::run(move || tx.send(n + 1).unwrap()).detach();
            rx.recv().unwrap()
        },
    );
    let awaited =
        isolate::run(move || futures::executor::block_on(service.request(ANSWER - 1)).unwrap());
    assert_eq!(awaited.join().unwrap(), ANSWER);
}

/// Blind waits dropped right after they start, at a cap of 1: isolates
/// that wait on channels (blocking, awaited in an async isolate, under
/// another executor) are cancelled as they begin, their senders then go,
/// and the pool serves nested work afterwards as before.
#[test]
fn blind_waits_cancelled_as_they_start_at_cap_1() {
    run_child(
        "scenario_blind_waits_cancelled",
        &[("ISOLATE_MAX_THREADS", "1")],
    );
}

#[test]
fn scenario_blind_waits_cancelled() {
    let Some(_watchdog) = scenario_under_watchdog("blind waits cancelled as they start") else {
        return;
    };
    for round in 0..50 {
        let (tx, rx) = isolate::channel::bounded::<u64>(1);
        let (rx2, rx3) = (rx.clone(), rx.clone());
        let waits = [
            isolate::run(move || rx.recv().unwrap_or(0)),
            isolate::run(isolate::Async(move || async move {
                rx2.recv_async().await.unwrap_or(0)
            })),
            isolate::run(move || futures::executor::block_on(rx3.recv_async()).unwrap_or(0)),
        ];
        drop(waits);
        drop(tx);
        // Nested work from an isolate still runs: the pool is not stuck.
        let nested = isolate::run(|| wait_blocking(Way::ChannelRecvLate));
        assert_eq!(nested.join().unwrap(), ANSWER, "round {round}");
    }
}

/// Futures left pending by a poll in an isolate and then kept (a `next()`
/// dropped by a timeout leaves the receiver's stream registered; a handle
/// polled once by `&mut`; a handle put in a set, which polls it), while the
/// thread goes on: at a cap of 1 an isolate's untimed receive, parked
/// after such a future was dropped and before its sender was queued, hung
/// for good, as the drop uncounted the receive's own wait (a new user's
/// test). The sleeps order the steps as the user's did; the scenario
/// passes in any order.
#[test]
fn a_wait_after_a_kept_pending_future_is_dropped_at_cap_1() {
    run_child(
        "scenario_wait_after_a_kept_pending_future",
        &[("ISOLATE_MAX_THREADS", "1")],
    );
}

#[test]
fn scenario_wait_after_a_kept_pending_future() {
    use futures::FutureExt;
    use std::any::Any;
    let Some(_watchdog) = scenario_under_watchdog("a wait after a kept pending future") else {
        return;
    };
    type Kept = Box<dyn Any + Send>;
    let kinds: [fn() -> Kept; 3] = [
        || {
            let (tx, mut rx) = isolate::channel::unbounded::<u32>();
            assert!(rx.next().now_or_never().is_none());
            Box::new((tx, rx))
        },
        || {
            let (tx, rx) = isolate::channel::unbounded::<u32>();
            let mut handle = isolate::run(move || rx.recv().is_ok());
            assert!((&mut handle).now_or_never().is_none());
            Box::new((tx, handle))
        },
        || {
            let (tx, rx) = isolate::channel::unbounded::<u32>();
            let mut set = isolate::IsolateSet::new();
            set.insert(1, isolate::run(move || rx.recv().is_ok()));
            Box::new((tx, set))
        },
    ];
    for (kind, keep) in kinds.into_iter().enumerate() {
        let kept = isolate::run(keep).join().unwrap();
        let (tx, rx) = isolate::channel::unbounded::<u32>();
        let waiter = isolate::run(move || rx.recv().unwrap());
        std::thread::sleep(Duration::from_millis(20));
        drop(kept);
        std::thread::sleep(Duration::from_millis(20));
        isolate::run(move || tx.send(7).unwrap()).detach();
        assert_eq!(waiter.join().unwrap(), 7, "kind {kind}");
    }
}

/// An isolate that keeps a future it polled once and then computes does
/// not let queued isolates run beside a pool at its cap: they waited for
/// the pool's one thread, where 8 of 8 ran at once before (a new user's
/// test). Pending futures are counted blocked only while the kernel shows
/// their thread parked.
#[test]
fn a_kept_pending_future_does_not_lift_the_cap() {
    run_child(
        "scenario_kept_pending_future_and_the_cap",
        &[("ISOLATE_MAX_THREADS", "1")],
    );
}

#[test]
fn scenario_kept_pending_future_and_the_cap() {
    use futures::FutureExt;
    use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
    use std::time::Instant;
    static RUNNING: AtomicUsize = AtomicUsize::new(0);
    static MOST: AtomicUsize = AtomicUsize::new(0);
    fn compute(for_how_long: Duration) {
        MOST.fetch_max(RUNNING.fetch_add(1, SeqCst) + 1, SeqCst);
        let started = Instant::now();
        while started.elapsed() < for_how_long {
            std::hint::spin_loop();
        }
        RUNNING.fetch_sub(1, SeqCst);
    }
    let Some(_watchdog) = scenario_under_watchdog("a kept pending future and the cap") else {
        return;
    };
    let (started_tx, started_rx) = std::sync::mpsc::channel();
    let keeper = isolate::run(move || {
        let (_tx, mut rx) = isolate::channel::unbounded::<u32>();
        assert!(rx.next().now_or_never().is_none());
        started_tx.send(()).unwrap();
        compute(Duration::from_millis(200));
    });
    started_rx.recv().unwrap();
    let queued: Vec<_> = (0..8)
        .map(|_| isolate::run(|| compute(Duration::from_millis(5))))
        .collect();
    keeper.join().unwrap();
    for handle in queued {
        handle.join().unwrap();
    }
    // Each keeps a future it polled while the others are queued: a look at
    // the pool at each such poll counted the poller as parking, and let the
    // next queued one run beside it (three at once, in a new user's test).
    let keepers: Vec<_> = (0..6)
        .map(|index| {
            isolate::run(move || {
                let kept: Box<dyn std::any::Any> = if index % 2 == 0 {
                    let (tx, mut rx) = isolate::channel::unbounded::<u32>();
                    assert!(rx.next().now_or_never().is_none());
                    Box::new((tx, rx))
                } else {
                    let (tx, rx) = isolate::channel::bounded::<u32>(1);
                    let mut handle = isolate::run(move || rx.recv().is_ok());
                    assert!((&mut handle).now_or_never().is_none());
                    Box::new((tx, handle))
                };
                compute(Duration::from_millis(20));
                drop(kept);
            })
        })
        .collect();
    for handle in keepers {
        handle.join().unwrap();
    }
    assert_eq!(
        MOST.load(SeqCst),
        1,
        "isolates computing at once at a cap of 1"
    );
}
