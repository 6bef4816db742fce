//! Typed channels between isolates: the ports of long-running workers and
//! progress reports, usable on their own too.
//!
//! Multi-producer, multi-consumer, bounded (back-pressure: a send waits while
//! the channel is full) or unbounded. Every operation comes blocking, with a
//! timeout, non-blocking, and async (any executor); a [`Receiver`] is also an
//! [`Iterator`] source and a `futures_core::Stream`. The channel closes when
//! every sender or every receiver is gone, or on `close()`; a closed channel
//! still delivers what it holds; when the last receiver goes, the queued
//! messages are dropped at once. A capacity is a limit, not a reservation:
//! memory grows with what is queued.
//!
//! Messages travel through crossbeam-channel's lock-free queues; the
//! waiting (a short spin, then a park or a pending future) is this module's
//! own, one protocol for threads and tasks (see `shared.rs`), so a blocking
//! send and an async receive meet on the same channel.
//!
//! A message is moved by value through a few calls on its way in and out;
//! in a debug build each may hold a copy on the stack, so a message of a few
//! hundred KiB can overflow a thread's default 2 MiB stack (256 KiB did, in a
//! user's test; crossbeam-channel's own limit there is 512 KiB). Box large
//! messages: `Box<[u8; N]>` moves a pointer.
//!
//! To wait on several receivers at once, use [`select`] (blocking), or, in
//! async code, race their [`Receiver::recv_async`] futures (for example with
//! `futures::select!` or `futures::future::select_all`): a receive future
//! that loses the race is dropped and takes no message.
//!
//! A send or receive future that is pending holds a place in the channel's
//! wait list until it completes or is dropped, as in async-channel and
//! flume. One kept pending but never polled again (a race's loser kept
//! instead of dropped) may be the waiter a message's wake-up goes to: that
//! wake-up then waits there, and so may another receiver, a blocked thread
//! included, until the kept future is polled or dropped (dropping it passes
//! the wake-up on). Drop futures you stop polling. A receiver polled as a
//! `Stream` is the exception: its wake-ups go on to the next waiter.
//!
//! # Examples
//!
//! ```
//! let (tx, rx) = isolate::channel::bounded(16);
//! let producer = isolate::run(move || {
//!     for i in 0..100 {
//!         tx.send(i).unwrap(); // waits while 16 are queued
//!     }
//! });
//! assert_eq!(rx.iter().sum::<i32>(), 4950); // ends when the sender is gone
//! producer.join().unwrap();
//! ```

mod error;
mod futures;
mod select;
mod shared;
mod wait;
mod waiters;
mod yield_hint;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

use crate::sync::{Arc, Ordering};

pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};
pub use select::{select, select_deadline, select_timeout};

use self::futures::{poll_op, withdraw, ClosedFuture, RecvFuture, Registration, SendFuture};
use self::shared::Shared;

/// Creates a channel that holds at most `capacity` messages; a send waits
/// while it is full. A `capacity` of 0 is taken as 1. The capacity is a
/// limit: any value is accepted, and memory grows with what is queued.
///
/// # Examples
///
/// ```
/// let (tx, rx) = isolate::channel::bounded(2);
/// tx.send('a').unwrap();
/// tx.send('b').unwrap();
/// assert!(tx.try_send('c').unwrap_err().is_full());
/// assert_eq!(rx.recv().unwrap(), 'a');
///
/// let (huge, _rx) = isolate::channel::bounded::<u64>(usize::MAX); // takes no memory yet
/// assert_eq!(huge.capacity(), Some(usize::MAX));
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    ends(Shared::new(Some(capacity)))
}

/// Creates a channel without a capacity limit: a send never waits.
///
/// # Examples
///
/// ```
/// let (tx, rx) = isolate::channel::unbounded();
/// for i in 0..1000 {
///     tx.send(i).unwrap();
/// }
/// assert_eq!(rx.len(), 1000);
/// ```
pub fn unbounded<T>() -> (Sender<T>, Receiver<T>) {
    ends(Shared::new(None))
}

fn ends<T>(shared: Shared<T>) -> (Sender<T>, Receiver<T>) {
    let shared = Arc::new(shared);
    (
        Sender {
            shard: shared.sender_shard(),
            shared: shared.clone(),
        },
        Receiver {
            shared,
            stream: Registration::for_stream(),
        },
    )
}

/// The sending end of a channel; clone it for more producers.
///
/// # Examples
///
/// ```
/// let (tx, rx) = isolate::channel::unbounded();
/// let tx2 = tx.clone();
/// tx.send(1).unwrap();
/// tx2.send(2).unwrap();
/// drop((tx, tx2));
/// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2]);
/// ```
pub struct Sender<T> {
    shared: Arc<Shared<T>>,
    /// Where this handle's sends count themselves in flight.
    shard: usize,
}

impl<T> Sender<T> {
    /// Sends `message`, waiting while the channel is full.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::bounded(1);
    /// tx.send("hello").unwrap();
    /// assert_eq!(rx.recv().unwrap(), "hello");
    /// ```
    pub fn send(&self, message: T) -> Result<(), SendError<T>> {
        match self.send_until(message, None) {
            Ok(()) => Ok(()),
            Err(SendTimeoutError::Closed(message) | SendTimeoutError::Timeout(message)) => {
                Err(SendError(message))
            }
        }
    }

    /// Sends `message` if there is room now, without waiting.
    ///
    /// # Errors
    ///
    /// [`TrySendError::Full`] or [`TrySendError::Closed`], with the message.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::bounded(1);
    /// assert!(tx.try_send(1).is_ok());
    /// assert!(tx.try_send(2).unwrap_err().is_full());
    /// drop(rx);
    /// assert!(tx.try_send(3).unwrap_err().is_closed());
    /// ```
    pub fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        self.shared.try_send(self.shard, message)
    }

    /// Sends `message`, waiting at most `timeout` for room.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], with
    /// the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (tx, rx) = isolate::channel::bounded(1);
    /// tx.send_timeout(1, Duration::from_secs(1)).unwrap();
    /// assert!(tx.send_timeout(2, Duration::from_millis(1)).is_err());
    /// # drop(rx);
    /// ```
    pub fn send_timeout(&self, message: T, timeout: Duration) -> Result<(), SendTimeoutError<T>> {
        self.send_until(message, Instant::now().checked_add(timeout))
    }

    /// Sends `message`, waiting for room until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// [`SendTimeoutError::Timeout`] or [`SendTimeoutError::Closed`], with
    /// the message.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use isolate::channel::SendTimeoutError;
    ///
    /// let (tx, _rx) = isolate::channel::bounded(1);
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// tx.send_deadline('a', deadline).unwrap();
    /// assert_eq!(tx.send_deadline('b', deadline), Err(SendTimeoutError::Timeout('b')));
    /// ```
    pub fn send_deadline(&self, message: T, deadline: Instant) -> Result<(), SendTimeoutError<T>> {
        self.send_until(message, Some(deadline))
    }

    fn send_until(&self, message: T, deadline: Option<Instant>) -> Result<(), SendTimeoutError<T>> {
        let message = match self.shared.try_send(self.shard, message) {
            Ok(()) => return Ok(()),
            Err(TrySendError::Closed(message)) => return Err(SendTimeoutError::Closed(message)),
            Err(TrySendError::Full(message)) => message,
        };
        let mut slot = Some(message);
        let shared = &*self.shared;
        let sent = wait::block(&shared.send_waiters, deadline, || {
            let message = slot.take()?;
            match shared.try_send(self.shard, message) {
                Ok(()) => Some(Ok(())),
                Err(TrySendError::Closed(message)) => Some(Err(SendTimeoutError::Closed(message))),
                Err(TrySendError::Full(message)) => {
                    slot = Some(message);
                    None
                }
            }
        });
        match (sent, slot) {
            (Some(result), _) => result,
            (None, Some(message)) => Err(SendTimeoutError::Timeout(message)),
            (None, None) => unreachable!("a timed-out send holds its message"),
        }
    }

    /// Sends `message`, awaiting room while the channel is full; works on any
    /// executor.
    ///
    /// # Errors
    ///
    /// [`SendError`] with the message when the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::bounded(1);
    /// futures::executor::block_on(tx.send_async(7)).unwrap();
    /// assert_eq!(rx.recv().unwrap(), 7);
    /// ```
    pub async fn send_async(&self, message: T) -> Result<(), SendError<T>> {
        SendFuture {
            shared: &self.shared,
            shard: self.shard,
            message: Some(message),
            registration: Registration::default(),
        }
        .await
    }

    /// Closes the channel: further sends fail, receivers still get what is
    /// queued. Returns `false` if it was closed already.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded();
    /// tx.send(1).unwrap();
    /// assert!(tx.close());
    /// assert!(tx.send(2).is_err());
    /// assert_eq!(rx.recv().unwrap(), 1);
    /// assert!(rx.recv().is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close()
    }

    /// Closes the channel and drops what is queued, unread (a killed
    /// worker's inbox: its next receive ends), and what a send racing the
    /// close pushes after it.
    pub(crate) fn close_and_discard(&self) {
        self.shared.close_and_discard();
    }

    /// Returns `true` if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded::<()>();
    /// drop(rx);
    /// assert!(tx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Waits until the channel is closed (every receiver gone, or `close()`
    /// called); works on any executor. A producer can race it against its
    /// work to stop when nobody listens any more.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded::<u8>();
    /// isolate::run(move || drop(rx)).detach();
    /// futures::executor::block_on(tx.closed());
    /// assert!(tx.is_closed());
    /// ```
    pub async fn closed(&self) {
        ClosedFuture {
            shared: &self.shared,
            registration: Registration::default(),
        }
        .await;
    }

    /// Returns `true` if both senders send into the same channel: a
    /// sender's identity (as crossbeam's and async-channel's have), for
    /// telling apart the workers whose senders a registry holds.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = isolate::channel::unbounded::<u8>();
    /// let (other, _other_rx) = isolate::channel::unbounded::<u8>();
    /// assert!(tx.same_channel(&tx.clone()));
    /// assert!(!tx.same_channel(&other));
    /// ```
    pub fn same_channel(&self, other: &Sender<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// How many messages are queued.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = isolate::channel::unbounded();
    /// tx.send(()).unwrap();
    /// assert_eq!(tx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Returns `true` if no message is queued.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = isolate::channel::unbounded::<()>();
    /// assert!(tx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns `true` if the channel holds as many messages as its capacity
    /// (never for an unbounded channel).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = isolate::channel::bounded(1);
    /// assert!(!tx.is_full());
    /// tx.send(()).unwrap();
    /// assert!(tx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.shared.is_full()
    }

    /// The channel's capacity, `None` if unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = isolate::channel::bounded::<()>(8);
    /// assert_eq!(tx.capacity(), Some(8));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.shared.capacity()
    }

    /// How many senders of this channel exist, this one included.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, _rx) = isolate::channel::unbounded::<()>();
    /// let tx2 = tx.clone();
    /// assert_eq!(tx.sender_count(), 2);
    /// drop(tx2);
    /// assert_eq!(tx.sender_count(), 1);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.shared.senders.load(Ordering::SeqCst)
    }

    /// How many receivers of this channel exist.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded::<()>();
    /// assert_eq!(tx.receiver_count(), 1);
    /// drop(rx);
    /// assert_eq!(tx.receiver_count(), 0);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(Ordering::SeqCst)
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        self.shared.senders.fetch_add(1, Ordering::Relaxed);
        Sender {
            shared: self.shared.clone(),
            shard: self.shared.sender_shard(),
        }
    }
}

impl<T> Drop for Sender<T> {
    fn drop(&mut self) {
        if self.shared.senders.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.shared.close();
        }
    }
}

impl<T> fmt::Debug for Sender<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Sender")
            .field("len", &self.len())
            .field("capacity", &self.capacity())
            .field("closed", &self.is_closed())
            .finish()
    }
}

/// The receiving end of a channel: blocking, with a timeout, async, as an
/// iterator and as a `Stream`. Clone it for more consumers (each message goes
/// to one of them).
///
/// # Examples
///
/// ```
/// use futures::StreamExt;
///
/// let (tx, mut rx) = isolate::channel::unbounded();
/// isolate::run(move || (0..3).for_each(|i| tx.send(i).unwrap())).detach();
/// let all: Vec<i32> = futures::executor::block_on(rx.by_ref().collect());
/// assert_eq!(all, [0, 1, 2]);
/// ```
pub struct Receiver<T> {
    shared: Arc<Shared<T>>,
    /// The `Stream`'s registration while it is pending.
    stream: Registration,
}

impl<T> Receiver<T> {
    /// Waits for the next message.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is empty and closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded();
    /// isolate::run(move || tx.send(42).unwrap()).detach();
    /// assert_eq!(rx.recv().unwrap(), 42);
    /// ```
    pub fn recv(&self) -> Result<T, RecvError> {
        self.recv_until(None).map_err(|_| RecvError)
    }

    fn recv_until(&self, deadline: Option<Instant>) -> Result<T, RecvTimeoutError> {
        let shared = &*self.shared;
        let attempt = || match shared.try_recv() {
            Ok(message) => Some(Ok(message)),
            Err(TryRecvError::Closed) => Some(Err(RecvTimeoutError::Closed)),
            Err(TryRecvError::Empty) => None,
        };
        wait::block(&shared.recv_waiters, deadline, attempt)
            .unwrap_or(Err(RecvTimeoutError::Timeout))
    }

    /// Takes a message if one is queued, without waiting.
    ///
    /// # Errors
    ///
    /// [`TryRecvError::Empty`] or [`TryRecvError::Closed`].
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded();
    /// assert!(rx.try_recv().is_err());
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.try_recv().unwrap(), 1);
    /// ```
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        self.shared.try_recv()
    }

    /// Waits at most `timeout` for the next message.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] when none came in time,
    /// [`RecvTimeoutError::Closed`] once the channel is empty and closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (tx, rx) = isolate::channel::unbounded();
    /// assert!(rx.recv_timeout(Duration::from_millis(1)).is_err());
    /// tx.send(()).unwrap();
    /// assert!(rx.recv_timeout(Duration::from_secs(1)).is_ok());
    /// ```
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        self.recv_until(Instant::now().checked_add(timeout))
    }

    /// Waits for the next message until `deadline` at the latest.
    ///
    /// # Errors
    ///
    /// [`RecvTimeoutError::Timeout`] when none came in time,
    /// [`RecvTimeoutError::Closed`] once the channel is empty and closed.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::{Duration, Instant};
    /// use isolate::channel::RecvTimeoutError;
    ///
    /// let (tx, rx) = isolate::channel::unbounded();
    /// let deadline = Instant::now() + Duration::from_millis(5);
    /// assert_eq!(rx.recv_deadline(deadline), Err(RecvTimeoutError::Timeout));
    /// tx.send(1).unwrap();
    /// assert_eq!(rx.recv_deadline(deadline), Ok(1)); // a queued message is taken even late
    /// ```
    pub fn recv_deadline(&self, deadline: Instant) -> Result<T, RecvTimeoutError> {
        self.recv_until(Some(deadline))
    }

    /// Awaits the next message; works on any executor.
    ///
    /// # Errors
    ///
    /// [`RecvError`] once the channel is empty and closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded();
    /// tx.send("hi").unwrap();
    /// assert_eq!(futures::executor::block_on(rx.recv_async()).unwrap(), "hi");
    /// ```
    pub async fn recv_async(&self) -> Result<T, RecvError> {
        RecvFuture {
            shared: &self.shared,
            registration: Registration::default(),
        }
        .await
    }

    /// A blocking iterator over the messages; it ends once the channel is
    /// empty and closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// drop(tx);
    /// assert_eq!(rx.iter().collect::<Vec<_>>(), [1, 2]);
    /// ```
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { receiver: self }
    }

    /// An iterator over the messages queued now; it never waits.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded();
    /// tx.send(1).unwrap();
    /// tx.send(2).unwrap();
    /// assert_eq!(rx.try_iter().collect::<Vec<_>>(), [1, 2]);
    /// assert_eq!(rx.try_iter().next(), None); // tx is still alive: no wait
    /// ```
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { receiver: self }
    }

    /// Closes the channel: further sends fail, what is queued can still be
    /// received. Returns `false` if it was closed already.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded::<u8>();
    /// rx.close();
    /// assert!(tx.send(1).is_err());
    /// ```
    pub fn close(&self) -> bool {
        self.shared.close()
    }

    /// Returns `true` if the channel is closed.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded::<()>();
    /// drop(tx);
    /// assert!(rx.is_closed());
    /// ```
    pub fn is_closed(&self) -> bool {
        self.shared.is_closed()
    }

    /// Waits until the channel is closed (every sender gone, or `close()`
    /// called); works on any executor. Messages may still be queued then.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded();
    /// isolate::run(move || tx.send(1).unwrap()).detach(); // tx dropped after
    /// futures::executor::block_on(rx.closed());
    /// assert_eq!(rx.try_recv(), Ok(1));
    /// ```
    pub async fn closed(&self) {
        ClosedFuture {
            shared: &self.shared,
            registration: Registration::default(),
        }
        .await;
    }

    /// Returns `true` if both receivers receive from the same channel.
    ///
    /// # Examples
    ///
    /// ```
    /// let worker = isolate::Worker::spawn(|port: isolate::Port<(), u8>| port.recv().ok());
    /// let (_tx, unrelated) = isolate::channel::unbounded::<u8>();
    /// assert!(worker.receiver().same_channel(&worker.receiver()));
    /// assert!(!worker.receiver().same_channel(&unrelated));
    /// # worker.send(()).unwrap();
    /// ```
    pub fn same_channel(&self, other: &Receiver<T>) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }

    /// How many messages are queued.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded();
    /// tx.send(()).unwrap();
    /// assert_eq!(rx.len(), 1);
    /// ```
    pub fn len(&self) -> usize {
        self.shared.len()
    }

    /// Returns `true` if no message is queued.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = isolate::channel::unbounded::<()>();
    /// assert!(rx.is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Returns `true` if the channel holds as many messages as its capacity
    /// (never for an unbounded channel).
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::bounded(1);
    /// tx.send(()).unwrap();
    /// assert!(rx.is_full());
    /// ```
    pub fn is_full(&self) -> bool {
        self.shared.is_full()
    }

    /// The channel's capacity, `None` if unbounded.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = isolate::channel::bounded::<()>(8);
    /// assert_eq!(rx.capacity(), Some(8));
    /// ```
    pub fn capacity(&self) -> Option<usize> {
        self.shared.capacity()
    }

    /// How many senders of this channel exist.
    ///
    /// # Examples
    ///
    /// ```
    /// let (tx, rx) = isolate::channel::unbounded::<()>();
    /// assert_eq!(rx.sender_count(), 1);
    /// drop(tx);
    /// assert_eq!(rx.sender_count(), 0);
    /// ```
    pub fn sender_count(&self) -> usize {
        self.shared.senders.load(Ordering::SeqCst)
    }

    /// How many receivers of this channel exist, this one included.
    ///
    /// # Examples
    ///
    /// ```
    /// let (_tx, rx) = isolate::channel::unbounded::<()>();
    /// let rx2 = rx.clone();
    /// assert_eq!(rx.receiver_count(), 2);
    /// # drop(rx2);
    /// ```
    pub fn receiver_count(&self) -> usize {
        self.shared.receivers.load(Ordering::SeqCst)
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        self.shared.receivers.fetch_add(1, Ordering::Relaxed);
        Receiver {
            shared: self.shared.clone(),
            stream: Registration::for_stream(),
        }
    }
}

impl<T> Drop for Receiver<T> {
    fn drop(&mut self) {
        withdraw(&self.shared.recv_waiters, &mut self.stream);
        if self.shared.receivers.fetch_sub(1, Ordering::SeqCst) == 1 {
            self.shared.close();
            // Nobody will take them: drop them now, as crossbeam does, so
            // that what they own (a reply handle, a buffer) goes too.
            self.shared.discard();
        }
    }
}

impl<T> fmt::Debug for Receiver<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Receiver")
            .field("len", &self.len())
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl<T> Stream for Receiver<T> {
    type Item = T;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<T>> {
        let this = &mut *self;
        let shared = &*this.shared;
        poll_op(
            &shared.recv_waiters,
            &mut this.stream,
            cx,
            || match shared.try_recv() {
                Ok(message) => Some(Some(message)),
                Err(TryRecvError::Closed) => Some(None),
                Err(TryRecvError::Empty) => None,
            },
        )
    }
}

/// A non-blocking iterator over the messages queued now, from
/// [`Receiver::try_iter`].
///
/// # Examples
///
/// ```
/// let (tx, rx) = isolate::channel::unbounded();
/// tx.send(3).unwrap();
/// let mut queued = rx.try_iter();
/// assert_eq!(queued.next(), Some(3));
/// assert_eq!(queued.next(), None);
/// ```
#[derive(Debug)]
pub struct TryIter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.try_recv().ok()
    }
}

/// A blocking iterator over a [`Receiver`]'s messages, from
/// [`Receiver::iter`].
///
/// # Examples
///
/// ```
/// let (tx, rx) = isolate::channel::unbounded();
/// tx.send(5).unwrap();
/// drop(tx);
/// for message in &rx {
///     assert_eq!(message, 5);
/// }
/// ```
#[derive(Debug)]
pub struct Iter<'a, T> {
    receiver: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;

    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}

/// An owning blocking iterator over a [`Receiver`]'s messages.
///
/// # Examples
///
/// ```
/// let (tx, rx) = isolate::channel::unbounded();
/// tx.send('x').unwrap();
/// drop(tx);
/// assert_eq!(rx.into_iter().collect::<String>(), "x");
/// ```
#[derive(Debug)]
pub struct IntoIter<T> {
    receiver: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;

    fn next(&mut self) -> Option<T> {
        self.receiver.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;

    fn into_iter(self) -> IntoIter<T> {
        IntoIter { receiver: self }
    }
}
