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
//! A send looks at the close and then pushes: two steps, between which the
//! channel may close. So a send counts itself in flight in `sending` from
//! its look until after its push, and a receive reports the channel closed
//! only when it is closed, empty, and no send is in flight; until then it
//! waits, and a send that ends after the close wakes every receive waiter.
//! Without this, a message whose send returned `Ok` could arrive after a
//! receive had said "closed, nothing more will come" (a new user's test: up
//! to a quarter of the rounds). The look and the count are one
//! read-modify-write: each `sending` word holds [`CLOSED_BIT`] beside the
//! count, and `close` sets the bit in every word before it sets `closed`,
//! so a send either sees the bit or is counted before it is set, and a
//! receive that saw `closed` sees that count or the push it ended with
//! (no store-load race to order). The words are spread over
//! [`SEND_SHARDS`] cache lines, one per sender handle in turn, so that
//! senders on different threads do not write one line on every send.
//! [`Shared::close_and_discard`] (a killed worker) raises `discarding`
//! before the close: a send in flight then drops what it pushed, as after
//! the last receiver, and a receive that pops a message looks at the flag
//! after the pop and drops the message if it is up, so that a message
//! pushed after the discard is never delivered.
//!
//! States: `closed` moves once, from `false` to `true`, by `close()` or the
//! last sender or receiver going; `discarding` likewise, before `closed`.
//! `senders` and `receivers` count the live ends; each reaches zero once
//! and never leaves it. Each `sending` count goes up and back down within
//! one `try_send`.

use crossbeam_utils::CachePadded;

use crate::sync::{fence, AtomicBool, AtomicUsize, MessageQueue, Ordering};

use super::waiters::WaitList;
use super::{TryRecvError, TrySendError};

/// In a `sending` word: the channel is closed (the rest counts sends in
/// flight, in steps of [`ONE_SEND`]).
const CLOSED_BIT: usize = 1;
/// One send in flight, in a `sending` word.
const ONE_SEND: usize = 2;

/// How many cache lines the counts of sends in flight are spread over.
#[cfg(not(loom))]
const SEND_SHARDS: usize = 4;
/// Under loom two are enough to model a count on another line.
#[cfg(loom)]
const SEND_SHARDS: usize = 2;

pub(super) struct Shared<T> {
    queue: MessageQueue<T>,
    capacity: Option<usize>,
    /// `true` once the channel is closed; never goes back.
    closed: AtomicBool,
    /// `true` once what is queued is to be dropped unread, now and for a
    /// send that pushes after the close; set before `closed`.
    discarding: AtomicBool,
    pub(super) senders: AtomicUsize,
    pub(super) receivers: AtomicUsize,
    /// Sends between their look at the close and the end of their push, by
    /// shard, and [`CLOSED_BIT`] (see the module's comment).
    sending: [CachePadded<AtomicUsize>; SEND_SHARDS],
    /// The shard of the next sender handle.
    next_shard: AtomicUsize,
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
            discarding: AtomicBool::new(false),
            senders: AtomicUsize::new(1),
            receivers: AtomicUsize::new(1),
            sending: std::array::from_fn(|_| CachePadded::new(AtomicUsize::new(0))),
            next_shard: AtomicUsize::new(0),
            recv_waiters: CachePadded::new(WaitList::new()),
            send_waiters: CachePadded::new(WaitList::new()),
            close_waiters: WaitList::new(),
        }
    }

    pub(super) fn capacity(&self) -> Option<usize> {
        self.capacity
    }

    /// The shard for a new sender handle's sends.
    pub(super) fn sender_shard(&self) -> usize {
        self.next_shard.fetch_add(1, Ordering::Relaxed) % SEND_SHARDS
    }

    /// Sends `message` if there is room, counted in flight on `shard`.
    #[inline]
    pub(super) fn try_send(&self, shard: usize, message: T) -> Result<(), TrySendError<T>> {
        let sending = &self.sending[shard % SEND_SHARDS];
        // Once closed, refused without being counted: a count left by
        // refused sends would keep receives from reporting the close.
        if sending.load(Ordering::Acquire) & CLOSED_BIT != 0 {
            return Err(TrySendError::Closed(message));
        }
        if sending.fetch_add(ONE_SEND, Ordering::AcqRel) & CLOSED_BIT != 0 {
            self.end_send(sending);
            return Err(TrySendError::Closed(message));
        }
        let pushed = self.queue.push(message);
        // Ended before any waker runs: a waker is the executor's code, and
        // one that panics must not leave this send counted for ever.
        self.end_send(sending);
        match pushed {
            Ok(()) => {
                self.recv_waiters.notify_one();
                if self.receivers.load(Ordering::SeqCst) == 0
                    || self.discarding.load(Ordering::SeqCst)
                {
                    // The last receiver went, or the channel was killed,
                    // while this message was being pushed: nobody will
                    // take it.
                    self.discard();
                }
                Ok(())
            }
            Err(message) => Err(TrySendError::Full(message)),
        }
    }

    /// Ends a send's time in flight; after the close, wakes the receive
    /// waiters that may be waiting for it (see the module's comment).
    #[inline]
    fn end_send(&self, sending: &AtomicUsize) {
        if sending.fetch_sub(ONE_SEND, Ordering::AcqRel) & CLOSED_BIT != 0 {
            // Takes the list's lock: a receive that saw this send in flight
            // registered before it, or sees it ended.
            self.recv_waiters.notify_all();
        }
    }

    /// Whether a send that may have looked at `closed` before the close has
    /// yet to finish its push.
    fn sends_in_flight(&self) -> bool {
        self.sending
            .iter()
            .any(|sending| sending.load(Ordering::Acquire) >= ONE_SEND)
    }

    #[inline]
    pub(super) fn try_recv(&self) -> Result<T, TryRecvError> {
        if let Some(message) = self.pop() {
            // Looked at after the pop: a message pushed after a discarding
            // close is never delivered, whoever pops it first.
            if !self.discarding.load(Ordering::SeqCst) {
                return Ok(message);
            }
            drop(message);
            self.discard();
        }
        if !self.closed.load(Ordering::SeqCst) || self.sends_in_flight() {
            return Err(TryRecvError::Empty);
        }
        if self.discarding.load(Ordering::SeqCst) {
            self.discard();
            return Err(TryRecvError::Closed);
        }
        // Closed, and every send that saw it open has pushed: what was
        // pushed before the close is still delivered.
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
        // Every word first: a receive that sees `closed` then sees each.
        for sending in &self.sending {
            sending.fetch_or(CLOSED_BIT, Ordering::AcqRel);
        }
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

    /// Closes the channel and drops what is queued, unread, now and when a
    /// send in flight pushes after the close (a killed worker's inbox).
    pub(super) fn close_and_discard(&self) {
        self.discarding.store(true, Ordering::SeqCst);
        self.close();
        self.discard();
    }

    /// Drops every queued message (the last receiver is gone, or the
    /// channel was closed to discard them). A message whose `Drop` panics
    /// does not keep the others: they are dropped as the panic unwinds, as
    /// a `Vec`'s elements are.
    pub(super) fn discard(&self) {
        /// Pops and drops what is left, also while unwinding.
        struct DropRest<'a, T>(&'a MessageQueue<T>);
        impl<T> Drop for DropRest<'_, T> {
            fn drop(&mut self) {
                while self.0.pop().is_some() {}
            }
        }
        // Orders the caller's `receivers` decrement (or close) before the
        // pops, so a push that read `receivers` as still 1 is seen here.
        fence(Ordering::SeqCst);
        let rest = DropRest(&self.queue);
        while rest.0.pop().is_some() {}
    }

    pub(super) fn len(&self) -> usize {
        self.queue.len()
    }

    pub(super) fn is_full(&self) -> bool {
        self.capacity.is_some_and(|capacity| self.len() >= capacity)
    }
}
