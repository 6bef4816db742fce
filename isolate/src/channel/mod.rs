//! Typed channels between isolates: the ports of long-running workers and
//! progress reports, usable on their own too.
//!
//! Multi-producer, multi-consumer, bounded (back-pressure: a send waits while
//! the channel is full) or unbounded. Every operation comes blocking, with a
//! timeout, non-blocking, and async (any executor); a [`Receiver`] is also an
//! [`Iterator`] source and a `futures_core::Stream`. The channel closes when
//! every sender or every receiver is gone, or on `close()`; a closed channel
//! still delivers what it holds. Built on `async-channel`, with a short spin
//! before a blocking receive parks, which keeps a busy worker's round trip
//! near a microsecond.
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
mod wait;

use std::fmt;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures_core::Stream;

pub use error::{
    RecvError, RecvTimeoutError, SendError, SendTimeoutError, TryRecvError, TrySendError,
};

/// How many times a blocking receive looks for a message before it parks,
/// spinning, then yielding its core: a round trip with a busy worker then
/// costs no park and wake-up (tens of microseconds on a virtual machine).
/// The same schedule as joining an isolate.
const SPIN_ROUNDS: u32 = 10;

/// Creates a channel that holds at most `capacity` messages; a send waits
/// while it is full. A `capacity` of 0 is taken as 1.
///
/// # Examples
///
/// ```
/// let (tx, rx) = isolate::channel::bounded(2);
/// tx.send('a').unwrap();
/// tx.send('b').unwrap();
/// assert!(tx.try_send('c').unwrap_err().is_full());
/// assert_eq!(rx.recv().unwrap(), 'a');
/// ```
pub fn bounded<T>(capacity: usize) -> (Sender<T>, Receiver<T>) {
    wrap(async_channel::bounded(capacity.max(1)))
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
    wrap(async_channel::unbounded())
}

fn wrap<T>(
    (tx, rx): (async_channel::Sender<T>, async_channel::Receiver<T>),
) -> (Sender<T>, Receiver<T>) {
    (
        Sender { inner: tx },
        Receiver {
            inner: Box::pin(rx),
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
    inner: async_channel::Sender<T>,
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
        match self.try_send(message) {
            Ok(()) => Ok(()),
            Err(TrySendError::Closed(message)) => Err(SendError(message)),
            // A pool thread waiting for room must keep the pool going.
            Err(TrySendError::Full(message)) if crate::pool::on_pool_worker() => {
                wait::wait(self.inner.send(message)).map_err(|error| SendError(error.into_inner()))
            }
            Err(TrySendError::Full(message)) => self
                .inner
                .send_blocking(message)
                .map_err(|error| SendError(error.into_inner())),
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
        self.inner.try_send(message).map_err(|error| match error {
            async_channel::TrySendError::Full(message) => TrySendError::Full(message),
            async_channel::TrySendError::Closed(message) => TrySendError::Closed(message),
        })
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
        let deadline = Instant::now().checked_add(timeout);
        let mut message = message;
        let mut pause = Duration::from_micros(10);
        // A pool thread counts as blocked, and keeps the pool going at each
        // longest pause (see `wait.rs`).
        let blocked = crate::pool::enter_blocked();
        // async-channel's send future owns the message and drops it with the
        // future, so a timed send retries `try_send` to be able to hand the
        // message back; the pauses grow to a millisecond.
        loop {
            message = match self.try_send(message) {
                Ok(()) => return Ok(()),
                Err(TrySendError::Closed(message)) => {
                    return Err(SendTimeoutError::Closed(message))
                }
                Err(TrySendError::Full(message)) => message,
            };
            let now = Instant::now();
            let left = match deadline {
                Some(deadline) if now >= deadline => {
                    return Err(SendTimeoutError::Timeout(message))
                }
                Some(deadline) => deadline - now,
                None => pause,
            };
            std::thread::park_timeout(pause.min(left));
            if pause == Duration::from_millis(1) {
                if let Some(blocked) = &blocked {
                    blocked.keep_pool_going();
                }
            }
            pause = (pause * 2).min(Duration::from_millis(1));
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
        self.inner
            .send(message)
            .await
            .map_err(|error| SendError(error.into_inner()))
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
        self.inner.close()
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
        self.inner.is_closed()
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
        self.inner.same_channel(&other.inner)
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
        self.inner.len()
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
        self.inner.is_empty()
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
        self.inner.capacity()
    }
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
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
    // Boxed and pinned so that this type is `Unpin` and a `Stream` without
    // any unsafe projection: async-channel's receiver is `!Unpin`.
    inner: Pin<Box<async_channel::Receiver<T>>>,
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
        for round in 0..SPIN_ROUNDS {
            match self.inner.try_recv() {
                Ok(message) => return Ok(message),
                Err(async_channel::TryRecvError::Closed) => return Err(RecvError),
                Err(async_channel::TryRecvError::Empty) => {}
            }
            for _ in 0..(1 << round) {
                std::hint::spin_loop();
            }
            if round >= SPIN_ROUNDS / 2 {
                std::thread::yield_now();
            }
        }
        // A pool thread waiting for a message must keep the pool going.
        if crate::pool::on_pool_worker() {
            return wait::wait(self.inner.recv()).map_err(|_| RecvError);
        }
        self.inner.recv_blocking().map_err(|_| RecvError)
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
        self.inner.try_recv().map_err(|error| match error {
            async_channel::TryRecvError::Empty => TryRecvError::Empty,
            async_channel::TryRecvError::Closed => TryRecvError::Closed,
        })
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
        match self.try_recv() {
            Ok(message) => return Ok(message),
            Err(TryRecvError::Closed) => return Err(RecvTimeoutError::Closed),
            Err(TryRecvError::Empty) => {}
        }
        let Some(deadline) = Instant::now().checked_add(timeout) else {
            return self.recv().map_err(|_| RecvTimeoutError::Closed);
        };
        match wait::wait_until(self.inner.recv(), deadline) {
            Some(Ok(message)) => Ok(message),
            Some(Err(_)) => Err(RecvTimeoutError::Closed),
            None => Err(RecvTimeoutError::Timeout),
        }
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
        self.inner.recv().await.map_err(|_| RecvError)
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
        self.inner.close()
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
        self.inner.is_closed()
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
        self.inner.same_channel(&other.inner)
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
        self.inner.len()
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
        self.inner.is_empty()
    }
}

impl<T> Clone for Receiver<T> {
    fn clone(&self) -> Self {
        Receiver {
            inner: Box::pin((*self.inner).clone()),
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
        self.inner.as_mut().poll_next(cx)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        self.inner.size_hint()
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
