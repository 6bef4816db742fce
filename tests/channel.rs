//! The typed channels on their own: every way to send and receive, and
//! closing from either end.

mod support;

use std::time::Duration;

use futures::{FutureExt, StreamExt};
use isolate::channel::{self, RecvTimeoutError, SendTimeoutError, TryRecvError, TrySendError};
use support::{DropCounter, WATCHDOG};

#[test]
fn a_full_channel_refuses_times_out_and_keeps_async_senders_pending() {
    let (tx, rx) = channel::bounded(2);
    tx.send(1).unwrap();
    tx.send(2).unwrap();
    assert_eq!(tx.try_send(3), Err(TrySendError::Full(3)));
    assert_eq!(
        tx.send_timeout(3, Duration::from_millis(2)),
        Err(SendTimeoutError::Timeout(3))
    );
    let mut pending = Box::pin(tx.send_async(3));
    assert!((&mut pending).now_or_never().is_none());
    assert_eq!(rx.recv().unwrap(), 1);
    futures::executor::block_on(pending).unwrap();
    assert_eq!(rx.iter().take(2).collect::<Vec<_>>(), [2, 3]);
}

#[test]
fn a_blocked_send_completes_once_there_is_room() {
    let (tx, rx) = channel::bounded(1);
    tx.send(0).unwrap();
    let sender = std::thread::spawn(move || {
        for i in 1..100 {
            tx.send(i).unwrap();
        }
    });
    let received: Vec<i32> = (0..100)
        .map(|_| rx.recv_timeout(WATCHDOG).unwrap())
        .collect();
    assert_eq!(received, (0..100).collect::<Vec<_>>());
    sender.join().unwrap();
    assert_eq!(rx.recv(), Err(channel::RecvError));
}

#[test]
fn closing_from_either_end_hands_messages_back_and_delivers_what_is_queued() {
    let (tx, rx) = channel::unbounded();
    tx.send("queued").unwrap();
    assert!(rx.close());
    assert!(!tx.close());
    assert_eq!(tx.send("late").unwrap_err().into_inner(), "late");
    assert_eq!(rx.try_recv(), Ok("queued"));
    assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    assert_eq!(
        rx.recv_timeout(Duration::from_secs(1)),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn a_send_timeout_gives_the_message_back_when_the_receiver_goes() {
    let (tx, rx) = channel::bounded(1);
    tx.send(1).unwrap();
    let receiver = std::thread::spawn(move || drop(rx));
    let outcome = tx.send_timeout(2, WATCHDOG);
    receiver.join().unwrap();
    assert_eq!(outcome.unwrap_err().into_inner(), 2);
}

#[test]
fn a_recv_timeout_returns_as_soon_as_a_message_comes() {
    let (tx, rx) = channel::unbounded();
    let sender = std::thread::spawn(move || tx.send(5).unwrap());
    assert_eq!(rx.recv_timeout(WATCHDOG), Ok(5));
    sender.join().unwrap();
    assert_eq!(
        rx.recv_timeout(Duration::from_millis(1)),
        Err(RecvTimeoutError::Closed)
    );
}

#[test]
fn several_consumers_share_the_messages_exactly_once() {
    let (tx, rx) = channel::bounded(16);
    let consumers: Vec<_> = (0..4)
        .map(|_| {
            let rx = rx.clone();
            std::thread::spawn(move || rx.iter().collect::<Vec<u32>>())
        })
        .collect();
    drop(rx);
    for i in 0..10_000 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let mut all: Vec<u32> = consumers
        .into_iter()
        .flat_map(|c| c.join().unwrap())
        .collect();
    all.sort_unstable();
    assert_eq!(all, (0..10_000).collect::<Vec<_>>());
}

#[test]
fn a_receiver_is_a_stream_on_any_executor() {
    let (tx, mut rx) = channel::unbounded();
    for i in 0..3 {
        tx.send(i).unwrap();
    }
    drop(tx);
    let collected: Vec<i32> = smol::block_on((&mut rx).collect());
    assert_eq!(collected, [0, 1, 2]);
}

#[test]
fn messages_left_in_a_dropped_channel_are_dropped_once() {
    let counter = DropCounter::new();
    let (tx, rx) = channel::unbounded();
    for _ in 0..100 {
        tx.send(counter.track()).unwrap();
    }
    drop(rx.recv().unwrap());
    drop((tx, rx));
    counter.assert_balanced();
}

/// A `next()` polled once and dropped (as a timeout or a `select` drops
/// it) leaves the receiver registered as a stream; a blocking receive after
/// it, on the same receiver or a clone, and a stream awaited on a clone, still
/// get the message sent later. The blocking one hung for good (a new user's
/// test, under tokio's `timeout`). The sender waits a little so that the
/// receives are usually parked by then; they pass either way.
#[test]
fn waits_after_an_abandoned_stream_poll_still_get_a_later_message() {
    let _watchdog = support::Watchdog::arm(WATCHDOG, "waits after an abandoned next()".into());
    let send_later = |tx: channel::Sender<u32>, value| {
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(20));
            tx.send(value).unwrap();
        })
    };
    // The same receiver, blocking.
    let (tx, mut rx) = channel::unbounded();
    assert!(rx.next().now_or_never().is_none());
    let sender = send_later(tx.clone(), 1);
    assert_eq!(rx.recv(), Ok(1));
    sender.join().unwrap();
    // A clone, blocking on another thread.
    let other = rx.clone();
    let receiver = std::thread::spawn(move || other.recv());
    let sender = send_later(tx.clone(), 2);
    assert_eq!(receiver.join().unwrap(), Ok(2));
    sender.join().unwrap();
    // A clone's stream, awaited on another thread.
    let mut other = rx.clone();
    let receiver = std::thread::spawn(move || futures::executor::block_on(other.next()));
    let sender = send_later(tx, 3);
    assert_eq!(receiver.join().unwrap(), Some(3));
    sender.join().unwrap();
    // The abandoned registration is still there: a fourth message reaches it
    // and nothing is lost.
    drop(rx);
}

/// A message whose send returned `Ok` is received before a receive reports
/// the channel closed, however the close races the send: a send that had
/// looked at the channel before the close used to push after the receiver
/// had drained it and ended (a new user's test: 10-125 of 500 rounds).
#[test]
fn every_message_whose_send_returned_ok_arrives_before_the_close_is_reported() {
    for capacity in [None, Some(4)] {
        for _ in 0..300 {
            let (tx, rx) = match capacity {
                Some(capacity) => channel::bounded(capacity),
                None => channel::unbounded(),
            };
            let closer = tx.clone();
            let sender = std::thread::spawn(move || {
                let mut accepted = 0_u64;
                while tx.send(accepted).is_ok() {
                    accepted += 1;
                }
                accepted
            });
            let mut received = 0_u64;
            while received < 50 {
                rx.recv_timeout(WATCHDOG).unwrap();
                received += 1;
            }
            closer.close();
            received += rx.iter().count() as u64;
            assert_eq!(received, sender.join().unwrap());
            assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
        }
    }
}

/// A message whose `Drop` panics does not keep the others queued when the
/// last receiver goes: they are dropped as the panic unwinds.
#[test]
fn a_panicking_message_drop_does_not_keep_the_others_queued() {
    struct Bomb(Option<support::Tracked>);
    impl Drop for Bomb {
        fn drop(&mut self) {
            if self.0.is_none() {
                panic!("this message panics when dropped");
            }
        }
    }
    let drops = DropCounter::new();
    let (tx, rx) = channel::unbounded();
    tx.send(Bomb(None)).unwrap();
    tx.send(Bomb(Some(drops.track()))).unwrap();
    tx.send(Bomb(Some(drops.track()))).unwrap();
    let dropped = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| drop(rx)));
    assert!(dropped.is_err(), "the message's panic reaches the caller");
    assert_eq!(tx.len(), 0);
    drops.assert_balanced();
}

/// A receive future kept pending and never polled again may hold the
/// wake-up of a message (the module's docs say so); dropping it passes the
/// wake-up on to the next waiter, here a blocked thread.
#[test]
fn dropping_a_kept_pending_future_passes_its_wake_up_on() {
    let (tx, rx) = channel::unbounded::<u32>();
    let other = rx.clone();
    let mut kept = Box::pin(rx.recv_async());
    assert!((&mut kept).now_or_never().is_none());
    let blocked = std::thread::spawn(move || other.recv_timeout(WATCHDOG));
    tx.send(7).unwrap();
    drop(kept);
    assert_eq!(blocked.join().unwrap(), Ok(7));
}

/// A waker that panics (an executor already gone) when a send wakes it
/// does not leave that send counted in flight: a receive still reports the
/// close (it hung for good, in a new user's test).
#[test]
fn a_panicking_waker_does_not_keep_the_close_from_being_reported() {
    struct PanickingWaker;
    impl std::task::Wake for PanickingWaker {
        fn wake(self: std::sync::Arc<Self>) {
            panic!("the executor is gone");
        }
    }
    let (tx, rx) = channel::bounded::<u32>(4);
    let other = rx.clone();
    let waker = std::task::Waker::from(std::sync::Arc::new(PanickingWaker));
    let mut pending = Box::pin(rx.recv_async());
    let mut cx = std::task::Context::from_waker(&waker);
    assert!(std::future::Future::poll(pending.as_mut(), &mut cx).is_pending());
    let sender = tx.clone();
    assert!(std::thread::spawn(move || sender.send(1)).join().is_err());
    drop(pending);
    assert_eq!(other.try_recv(), Ok(1));
    tx.close();
    assert_eq!(other.recv_timeout(WATCHDOG), Err(RecvTimeoutError::Closed));
}

/// Sends refused by a closed channel do not make a receive say "one may
/// come": `try_recv` on a closed, empty channel is `Closed` while other
/// threads' sends are being refused.
#[test]
fn refused_sends_do_not_make_a_closed_channel_look_open() {
    let (tx, rx) = channel::bounded::<u32>(1);
    tx.close();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let senders: Vec<_> = (0..2)
        .map(|_| {
            let (tx, stop) = (tx.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    assert!(tx.try_send(1).unwrap_err().is_closed());
                }
            })
        })
        .collect();
    for _ in 0..200_000 {
        assert_eq!(rx.try_recv(), Err(TryRecvError::Closed));
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for sender in senders {
        sender.join().unwrap();
    }
}
