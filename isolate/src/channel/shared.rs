//! The state every end of one channel shares, and its wait protocol.
//!
//! # Protocol
//!
//! Messages live in a lock-free queue (`sync::MessageQueue`: crossbeam's
//! ring for a small capacity, its list otherwise), used only through its
//! non-blocking push and pop. Waiting is this module's own, so that one
//! protocol serves blocking threads and async tasks alike:
//!
//! - A blocking party that cannot go on (a receive on an empty channel, a
//!   send on a full one) first retries for a short while, spinning (see
//!   `wait::block`): a partner that is running usually answers within that
//!   time, and the park and kernel wake-up are saved.
//! - Then it registers in the side's [`WaitList`] (`recv_waiters` or
//!   `send_waiters`), issues a `SeqCst` fence, and tries again before it
//!   sleeps (a thread yields twice, looking again after each, then parks; a
//!   future returns `Pending`).
//! - Every successful push notifies one receive waiter; every successful pop
//!   of a bounded channel notifies one send waiter. The notifier's check is
//!   one `SeqCst` load of the list's length after the queue's own `SeqCst`
//!   read-modify-write, so a waiter is either seen in the list or sees the
//!   change when it tries again: no wake-up is lost.
//! - A notified waiter (its entry taken out of the list) always tries again;
//!   a future dropped after being notified passes the notification on.
//! - A receiver polled as a `Stream` keeps its registration in the receiver,
//!   where a task that stopped polling (its `next()` dropped) leaves it: a
//!   notification wakes it and goes on to the next waiter, until one that is
//!   not a stream is woken (see `waiters::Waiter::Stream`).
//!
//! Closing sets `closed` and wakes every waiter of all three lists (under
//! their locks, so a waiter registering at the same time sees the flag).
//! When the last receiver goes, the queued messages are dropped at once (a
//! reply handle inside one then frees its waiter); a send racing that drop
//! finds `receivers == 0` after its push and drops what it pushed itself.
//!
//! States: `closed` moves once, from `false` to `true`, by `close()` or the
//! last sender or receiver going. `senders` and `receivers` count the live
//! ends; each reaches zero once and never leaves it.

use crossbeam_utils::CachePadded;

use crate::sync::{fence, AtomicBool, AtomicUsize, MessageQueue, Ordering};

use super::waiters::WaitList;
use super::{TryRecvError, TrySendError};

pub(super) struct Shared<T> {
    queue: MessageQueue<T>,
    capacity: Option<usize>,
    /// `true` once the channel is closed; never goes back.
    closed: AtomicBool,
    pub(super) senders: AtomicUsize,
    pub(super) receivers: AtomicUsize,
    /// Receivers waiting for a message or the close. Each list on a cache
    /// line of its own: registering writes it, and the other side reads it
    /// on every message.
    pub(super) recv_waiters: CachePadded<WaitList>,
    /// Senders waiting for room or the close.
    pub(super) send_waiters: CachePadded<WaitList>,
    /// Parties waiting for the close only.
    pub(super) close_waiters: WaitList,
}

impl<T> Shared<T> {
    pub(super) fn new(capacity: Option<usize>) -> Self {
        let capacity = capacity.map(|capacity| capacity.max(1));
        Shared {
            queue: MessageQueue::new(capacity),
            capacity,
            closed: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            recv_waiters: CachePadded::new(WaitList::new()),
            send_waiters: CachePadded::new(WaitList::new()),
            close_waiters: WaitList::new(),
        }
    }

    pub(super) fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    #[inline]
    pub(super) fn try_send(&self, message: T) -> Result<(), TrySendError<T>> {
        if self.closed.load(Ordering::Acquire) {
            return Err(TrySendError::Closed(message));
        }
        match self.queue.push(message) {
            Ok(()) => {
                self.recv_waiters.notify_one();
                if self.receivers.load(Ordering::SeqCst) == 0 {
                    // The last receiver went while this message was being
                    // pushed: nobody will take it.
                    self.discard();
                }
                Ok(())
            }
            Err(message) => Err(TrySendError::Full(message)),
        }
    }

    #[inline]
    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        if let Some(message) = self.pop() {
            return Ok(message);
        }
        if !self.closed.load(Ordering::SeqCst) {
            return Err(TryRecvError::Empty);
        }
        // Closed: what was pushed before the close is still delivered.
        self.pop().ok_or(TryRecvError::Closed)
    }

    #[inline]
    fn pop(&self) -> Option<T> {
        let message = self.queue.pop()?;
        if self.capacity.is_some() {
            self.send_waiters.notify_one();
        }
        Some(message)
    }

    /// Closes the channel; returns `false` if it was closed already.
    pub(super) fn close(&self) -> bool {
        if self.closed.swap(true, Ordering::SeqCst) {
            return false;
        }
        self.recv_waiters.notify_all();
        self.send_waiters.notify_all();
        self.close_waiters.notify_all();
        true
    }

    pub(super) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }

    /// Drops every queued message (the last receiver is gone, or the
    /// channel was closed to discard them).
    pub(super) fn discard(&self) {
        // Orders the caller's `receivers` decrement (or close) before the
        // pops, so a push that read `receivers` as still 1 is seen here.
        fence(Ordering::SeqCst);
        while self.queue.pop().is_some() {}
    }

    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(super) fn is_full(&self) -> bool {
        self.capacity.is_some_and(|capacity| self.len() >= capacity)
    }
}
