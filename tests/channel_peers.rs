//! Scenarios from the test suites of crossbeam-channel, async-channel and
//! flume, run on `isolate::channel`: the shapes their authors found bugs in
//! (capacity-1 round trips, huge messages on a small stack, huge
//! capacities, disconnection waking every waiter, drop accounting), plus
//! blocking and async parties meeting on one channel. Bounded loops only,
//! no timing thresholds; every wait that could hang has the watchdog.

mod support;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use futures::FutureExt;
use isolate::channel::{self, RecvError, RecvTimeoutError, TryRecvError};
use support::{DropCounter, WATCHDOG};

/// crossbeam-channel `tests/mpsc.rs` / `array.rs` `stress_iter`: 100,000
/// round trips through two capacity-1 channels (a send meets a full
/// channel, and each side waits for the other, every time).
#[test]
fn stress_iter_round_trips_through_capacity_one_channels() {
    const COUNT: usize = 100_000;
    let (request_tx, request_rx) = channel::bounded(1);
    let (response_tx, response_rx) = channel::bounded(1);
    let responder = thread::spawn(move || {
        let mut served = 0;
        for () in request_rx.iter() {
            response_tx.send(()).unwrap();
            served += 1;
        }
        served
    });
    for _ in 0..COUNT {
        request_tx.send(()).unwrap();
        response_rx.recv_timeout(WATCHDOG).unwrap();
    }
    drop(request_tx);
    assert_eq!(responder.join().unwrap(), COUNT);
}

/// The one-way form: 100,000 messages through a capacity-1 channel, in
/// order.
#[test]
fn a_capacity_one_channel_carries_a_stream_in_order() {
    const COUNT: u64 = 100_000;
    let (tx, rx) = channel::bounded(1);
    let producer = thread::spawn(move || (0..COUNT).for_each(|i| tx.send(i).unwrap()));
    for expected in 0..COUNT {
        assert_eq!(rx.recv_timeout(WATCHDOG), Ok(expected));
    }
    assert_eq!(rx.recv(), Err(RecvError));
    producer.join().unwrap();
}

/// crossbeam-channel `tests/list.rs` `stack_overflow`: a 32 KiB message
/// through an unbounded channel on a 2 MiB stack (in a debug build, a queue
/// block built on the stack overflows it).
#[test]
fn a_32_kib_message_fits_through_an_unbounded_channel_on_a_2_mib_stack() {
    const N: usize = 32 * 1024;
    struct Value(#[allow(dead_code)] [u8; N]);

    let moved = thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let (tx, rx) = channel::unbounded::<Value>();
            for _ in 0..100 {
                tx.send(Value([0; N])).unwrap();
            }
            rx.try_iter().count()
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(moved, 100);
}

/// The same through a bounded channel whose capacity is not preallocated.
#[test]
fn a_32_kib_message_fits_through_a_large_bounded_channel_on_a_2_mib_stack() {
    const N: usize = 32 * 1024;
    struct Value(#[allow(dead_code)] [u8; N]);

    let moved = thread::Builder::new()
        .stack_size(2 * 1024 * 1024)
        .spawn(|| {
            let (tx, rx) = channel::bounded::<Value>(1_000);
            for _ in 0..100 {
                tx.send(Value([0; N])).unwrap();
            }
            rx.try_iter().count()
        })
        .unwrap()
        .join()
        .unwrap();
    assert_eq!(moved, 100);
}

/// A capacity is a limit, not a reservation: any value a user passes
/// works, and is enforced.
#[test]
fn any_capacity_is_accepted_and_enforced() {
    for capacity in [1 << 40, usize::MAX, 8_000_000] {
        let (tx, rx) = channel::bounded::<u64>(capacity);
        assert_eq!(tx.capacity(), Some(capacity));
        assert_eq!(rx.capacity(), Some(capacity));
        tx.send(1).unwrap();
        assert!(!tx.is_full());
        assert_eq!(rx.recv(), Ok(1));
    }
    // A capacity above the preallocated ring's is counted exactly.
    let (tx, rx) = channel::bounded::<u64>(20_000);
    for i in 0..20_000 {
        tx.try_send(i).unwrap();
    }
    assert!(tx.is_full() && rx.is_full());
    assert!(tx.try_send(20_000).unwrap_err().is_full());
    assert_eq!(rx.recv(), Ok(0));
    tx.try_send(20_000).unwrap();
    assert_eq!(rx.len(), 20_000);
}

/// `bounded(8_000_000)` of u64 took 122 MB while empty: memory follows what
/// is queued.
#[cfg(target_os = "linux")]
#[test]
fn an_empty_channel_of_huge_capacity_takes_no_memory() {
    fn resident_bytes() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
        let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        pages * 4096
    }
    let before = resident_bytes();
    let channels: Vec<_> = (0..4).map(|_| channel::bounded::<u64>(8_000_000)).collect();
    let grown = resident_bytes().saturating_sub(before);
    // Preallocated, these four would take about 500 MB.
    assert!(grown < 64 << 20, "four empty channels took {grown} bytes");
    drop(channels);
}

/// crossbeam-channel drops queued messages when the last receiver goes, so
/// a reply handle inside one frees its waiter at once.
#[test]
fn the_last_receiver_going_drops_what_is_queued_and_frees_reply_waiters() {
    let (requests_tx, requests_rx) = channel::bounded::<channel::Sender<u32>>(4);
    let (reply_tx, reply_rx) = channel::bounded::<u32>(1);
    requests_tx.send(reply_tx).unwrap();
    let waiter = thread::spawn(move || reply_rx.recv_timeout(WATCHDOG));
    drop(requests_rx); // the sender is still alive
    assert_eq!(waiter.join().unwrap(), Err(RecvTimeoutError::Closed));
    assert!(requests_tx.is_closed());

    let counter = DropCounter::new();
    let (tx, rx) = channel::unbounded();
    for _ in 0..10 {
        tx.send(counter.track()).unwrap();
    }
    drop(rx);
    assert_eq!(counter.dropped(), 10);
    assert!(tx.send(counter.track()).is_err());
    counter.assert_balanced();
}

/// crossbeam-channel `disconnect_wakes_sender` / `disconnect_wakes_receiver`
/// and async-channel's close tests: closing wakes every blocked party,
/// blocking or async.
#[test]
fn closing_wakes_every_blocked_sender_and_receiver() {
    let (tx, rx) = channel::bounded::<u8>(1);
    tx.send(0).unwrap();
    let senders: Vec<_> = (1..=3)
        .map(|i| {
            let tx = tx.clone();
            thread::spawn(move || tx.send_timeout(i, WATCHDOG))
        })
        .collect();
    let mut pending_async = Box::pin(tx.send_async(9));
    assert!((&mut pending_async).now_or_never().is_none());
    rx.close();
    for sender in senders {
        assert!(sender.join().unwrap().is_err());
    }
    assert!(futures::executor::block_on(pending_async).is_err());
    assert_eq!(rx.recv(), Ok(0)); // what was queued is still delivered

    let (tx, rx) = channel::unbounded::<u8>();
    let receivers: Vec<_> = (0..3)
        .map(|_| {
            let rx = rx.clone();
            thread::spawn(move || rx.recv_timeout(WATCHDOG))
        })
        .collect();
    drop(tx);
    for receiver in receivers {
        assert_eq!(receiver.join().unwrap(), Err(RecvTimeoutError::Closed));
    }
}

/// crossbeam-channel `mpmc`: four producers, four consumers, every message
/// received exactly once; bounded and unbounded.
#[test]
fn mpmc_delivers_every_message_exactly_once() {
    const PER_PRODUCER: usize = 5_000;
    for capacity in [Some(3), Some(64), None] {
        let (tx, rx) = match capacity {
            Some(capacity) => channel::bounded(capacity),
            None => channel::unbounded(),
        };
        let (tx, rx): (channel::Sender<usize>, _) = (tx, rx);
        let seen: Arc<Vec<AtomicUsize>> =
            Arc::new((0..4 * PER_PRODUCER).map(|_| AtomicUsize::new(0)).collect());
        let consumers: Vec<_> = (0..4)
            .map(|_| {
                let rx = rx.clone();
                let seen = seen.clone();
                thread::spawn(move || {
                    while let Ok(n) = rx.recv_timeout(WATCHDOG) {
                        seen[n].fetch_add(1, Ordering::Relaxed);
                    }
                })
            })
            .collect();
        drop(rx);
        let producers: Vec<_> = (0..4)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || {
                    for i in 0..PER_PRODUCER {
                        tx.send(p * PER_PRODUCER + i).unwrap();
                    }
                })
            })
            .collect();
        drop(tx);
        producers.into_iter().for_each(|p| p.join().unwrap());
        consumers.into_iter().for_each(|c| c.join().unwrap());
        assert!(seen.iter().all(|count| count.load(Ordering::Relaxed) == 1));
    }
}

/// async-channel's mixed test: blocking senders and async receivers (and
/// the reverse) on one channel.
#[test]
fn blocking_and_async_parties_meet_on_one_channel() {
    const COUNT: u64 = 20_000;
    let (tx, rx) = channel::bounded(2);
    let producer = thread::spawn(move || (0..COUNT).for_each(|i| tx.send(i).unwrap()));
    let sum = futures::executor::block_on(async {
        let mut sum = 0;
        while let Ok(n) = rx.recv_async().await {
            sum += n;
        }
        sum
    });
    producer.join().unwrap();
    assert_eq!(sum, COUNT * (COUNT - 1) / 2);

    let (tx, rx) = channel::bounded(2);
    let consumer = thread::spawn(move || rx.iter().sum::<u64>());
    futures::executor::block_on(async {
        for i in 0..COUNT {
            tx.send_async(i).await.unwrap();
        }
    });
    drop(tx);
    assert_eq!(consumer.join().unwrap(), COUNT * (COUNT - 1) / 2);
}

/// flume's `recv_async` cancellation: a pending receive dropped after a
/// message came for it leaves the message for the next receiver.
#[test]
fn a_dropped_pending_receive_leaves_its_message_to_another_receiver() {
    for _ in 0..1_000 {
        let (tx, rx) = channel::unbounded::<u8>();
        let other = rx.clone();
        let mut pending = Box::pin(rx.recv_async());
        assert!((&mut pending).now_or_never().is_none());
        let blocked = thread::spawn(move || other.recv_timeout(WATCHDOG));
        tx.send(7).unwrap();
        drop(pending);
        // The message went to the blocked receiver, or is still queued.
        match blocked.join().unwrap() {
            Ok(7) => {}
            other => panic!("the blocked receiver got {other:?}"),
        }
    }
}

/// crossbeam-channel `len`: `len`, `is_empty` and `is_full` follow sends and
/// receives on every flavour.
#[test]
fn len_is_empty_and_is_full_follow_the_queue() {
    for capacity in [Some(1), Some(50), Some(100_000), None] {
        let (tx, rx) = match capacity {
            Some(capacity) => channel::bounded(capacity),
            None => channel::unbounded(),
        };
        assert!(tx.is_empty() && rx.is_empty() && !tx.is_full());
        let fill = capacity.unwrap_or(100).min(100);
        for i in 0..fill {
            tx.send(i).unwrap();
            assert_eq!(rx.len(), i + 1);
        }
        assert_eq!(tx.is_full(), capacity == Some(fill));
        for i in 0..fill {
            assert_eq!(rx.try_recv(), Ok(i));
            assert_eq!(tx.len(), fill - i - 1);
        }
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}

/// Counts, identity and the `closed()` futures.
#[test]
fn counts_identity_and_closed_futures_follow_the_ends() {
    let (tx, rx) = channel::bounded::<u8>(1);
    let tx2 = tx.clone();
    let rx2 = rx.clone();
    assert_eq!((tx.sender_count(), tx.receiver_count()), (2, 2));
    assert!(tx.same_channel(&tx2) && rx.same_channel(&rx2));
    let mut closed = Box::pin(tx.closed());
    assert!((&mut closed).now_or_never().is_none());
    drop(rx2);
    assert!((&mut closed).now_or_never().is_none());
    drop(rx);
    assert!(closed.now_or_never().is_some());
    assert_eq!(tx2.receiver_count(), 0);

    let (tx, rx) = channel::unbounded::<u8>();
    let closer = thread::spawn(move || drop(tx));
    futures::executor::block_on(rx.closed());
    closer.join().unwrap();
    assert_eq!(rx.sender_count(), 0);
}

/// crossbeam-channel's `select` tests, for receivers: the ready one wins,
/// a message is taken once, closed receivers are passed over, and all
/// closed ends the wait.
#[test]
fn select_takes_from_whichever_receiver_is_ready() {
    let (a_tx, a) = channel::bounded::<u32>(1);
    let (b_tx, b) = channel::unbounded::<u32>();
    let sender = thread::spawn(move || {
        for i in 0..1_000 {
            if i % 2 == 0 {
                a_tx.send(i).unwrap();
            } else {
                b_tx.send(i).unwrap();
            }
        }
    });
    let mut got = Vec::new();
    while let Ok((index, n)) = channel::select_timeout(&[&a, &b], WATCHDOG) {
        assert_eq!(index, (n % 2) as usize);
        got.push(n);
    }
    sender.join().unwrap();
    got.sort_unstable();
    assert_eq!(got, (0..1_000).collect::<Vec<_>>());
    assert_eq!(channel::select(&[&a, &b]), Err(RecvError));
    assert_eq!(channel::select::<u32>(&[]), Err(RecvError));

    let (_keep, c) = channel::unbounded::<u32>();
    let deadline = Instant::now() + Duration::from_millis(1);
    assert_eq!(
        channel::select_deadline(&[&a, &c], deadline),
        Err(RecvTimeoutError::Timeout)
    );
}

/// Deadlines in the past still take what is there, and give the message
/// back otherwise.
#[test]
fn deadlines_take_what_is_ready_and_hand_messages_back() {
    let (tx, rx) = channel::bounded(1);
    let past = Instant::now();
    tx.send_deadline(1, past).unwrap();
    assert_eq!(
        tx.send_deadline(2, past),
        Err(channel::SendTimeoutError::Timeout(2))
    );
    assert_eq!(rx.recv_deadline(past), Ok(1));
    assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Timeout));
    drop(tx);
    assert_eq!(rx.recv_deadline(past), Err(RecvTimeoutError::Closed));
}
