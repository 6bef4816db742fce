//! The synchronisation primitives the runtime is built on, in one place so that
//! `--cfg loom` can swap in loom's model-checked versions (as `oneshot` and
//! tokio do). Nothing outside this module names `std::sync` or `std::thread`
//! parking directly.

#[cfg(not(loom))]
mod imp {
    pub(crate) use std::sync::atomic::{fence, AtomicBool, AtomicU8, AtomicUsize, Ordering};
    pub(crate) use std::sync::{Condvar, Mutex, MutexGuard};
    pub(crate) use std::thread::{current, park, park_timeout, Thread};

    /// `std::hint::spin_loop`, which loom replaces with a yield to the model.
    pub(crate) fn spin_loop() {
        std::hint::spin_loop();
    }

    /// `std::thread::yield_now`.
    pub(crate) fn yield_now() {
        std::thread::yield_now();
    }

    /// The pool's queue: crossbeam's lock-free injector.
    pub(crate) struct Queue<T>(crossbeam_deque::Injector<T>);

    impl<T> Queue<T> {
        pub(crate) fn new() -> Self {
            Queue(crossbeam_deque::Injector::new())
        }

        pub(crate) fn push(&self, item: T) {
            self.0.push(item);
        }

        pub(crate) fn pop(&self) -> Option<T> {
            loop {
                match self.0.steal() {
                    crossbeam_deque::Steal::Success(item) => return Some(item),
                    crossbeam_deque::Steal::Empty => return None,
                    crossbeam_deque::Steal::Retry => spin_loop(),
                }
            }
        }

        pub(crate) fn len(&self) -> usize {
            self.0.len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.0.is_empty()
        }
    }

    /// Starts a named thread.
    pub(crate) fn spawn_thread(
        name: String,
        stack_size: Option<usize>,
        body: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<()> {
        // std panics on a NUL byte in a name: a thread never fails to start
        // for its name alone.
        let name = if name.contains('\0') {
            name.replace('\0', " ")
        } else {
            name
        };
        let mut builder = std::thread::Builder::new().name(name);
        if let Some(bytes) = stack_size {
            builder = builder.stack_size(bytes);
        }
        builder.spawn(body).map(drop)
    }

    /// Whether a spin that started at `start` has lasted `limit`.
    pub(crate) fn spun_for(start: std::time::Instant, limit: std::time::Duration) -> bool {
        start.elapsed() >= limit
    }

    /// The largest memory, in bytes, that a bounded channel's queue takes
    /// up front: below it the queue is crossbeam's preallocated ring (the
    /// fastest), above it crossbeam's list of blocks, which grows with what
    /// is queued, so that a capacity is a limit and not a reservation.
    const RING_BYTES_MAX: usize = 64 * 1024;

    /// Up to this capacity the ring is used whatever a message's size:
    /// crossbeam's list allocates its blocks this many slots at a time, so
    /// a ring this small never reserves more than the list's first block
    /// would (a capacity-1 channel of 256 KiB messages took an 8 MiB block
    /// on its first send).
    const RING_SLOTS_ALWAYS: usize = 31;

    /// A channel's message queue: crossbeam-channel's lock-free ring or
    /// list, used through its non-blocking calls only (the channel waits in
    /// its own protocol, see `channel/mod.rs`). This side holds both of
    /// crossbeam's ends, so crossbeam never sees a disconnection.
    pub(crate) struct MessageQueue<T> {
        tx: crossbeam_channel::Sender<T>,
        rx: crossbeam_channel::Receiver<T>,
        /// For a large capacity on the list: how many messages are queued
        /// or being pushed (counted before the push, so it never passes the
        /// capacity), and the capacity.
        counted: Option<(AtomicUsize, usize)>,
    }

    impl<T> MessageQueue<T> {
        /// A queue of at most `capacity` messages (at least 1), or without
        /// a limit.
        pub(crate) fn new(capacity: Option<usize>) -> Self {
            let slot = std::mem::size_of::<T>().max(1) + std::mem::size_of::<usize>();
            let (tx, rx, counted) = match capacity {
                Some(capacity)
                    if capacity <= RING_SLOTS_ALWAYS
                        || capacity.saturating_mul(slot) <= RING_BYTES_MAX =>
                {
                    let (tx, rx) = crossbeam_channel::bounded(capacity.max(1));
                    (tx, rx, None)
                }
                Some(capacity) => {
                    let (tx, rx) = crossbeam_channel::unbounded();
                    (tx, rx, Some((AtomicUsize::new(0), capacity)))
                }
                None => {
                    let (tx, rx) = crossbeam_channel::unbounded();
                    (tx, rx, None)
                }
            };
            MessageQueue { tx, rx, counted }
        }

        /// Pushes `message`, or hands it back when the queue is full. A
        /// successful push is a sequentially consistent read-modify-write
        /// of crossbeam's tail (both flavours), which the channel's
        /// wake-up check relies on.
        #[inline]
        pub(crate) fn push(&self, message: T) -> Result<(), T> {
            if let Some((queued, capacity)) = &self.counted {
                if queued.fetch_add(1, Ordering::SeqCst) >= *capacity {
                    queued.fetch_sub(1, Ordering::SeqCst);
                    return Err(message);
                }
            }
            self.tx.try_send(message).map_err(|error| {
                if let Some((queued, _)) = &self.counted {
                    queued.fetch_sub(1, Ordering::SeqCst);
                }
                error.into_inner()
            })
        }

        /// Takes the oldest message, if any.
        #[inline]
        pub(crate) fn pop(&self) -> Option<T> {
            let message = self.rx.try_recv().ok()?;
            if let Some((queued, _)) = &self.counted {
                queued.fetch_sub(1, Ordering::SeqCst);
            }
            Some(message)
        }

        pub(crate) fn len(&self) -> usize {
            self.rx.len()
        }

        /// The preallocated ring's capacity; `None` for the list.
        #[cfg(test)]
        pub(crate) fn ring_capacity(&self) -> Option<usize> {
            self.tx.capacity()
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::imp::MessageQueue;

    /// crossbeam's ring knows its capacity; its list has none.
    fn is_ring<T>(queue: &MessageQueue<T>) -> bool {
        queue.ring_capacity().is_some()
    }

    #[test]
    fn a_small_capacity_is_a_ring_whatever_the_message_size() {
        assert!(is_ring(&MessageQueue::<[u8; 256 * 1024]>::new(Some(1))));
        assert!(is_ring(&MessageQueue::<[u8; 256 * 1024]>::new(Some(31))));
        assert!(!is_ring(&MessageQueue::<[u8; 256 * 1024]>::new(Some(32))));
        assert!(is_ring(&MessageQueue::<u64>::new(Some(4_000))));
        assert!(!is_ring(&MessageQueue::<u64>::new(Some(100_000))));
        assert!(!is_ring(&MessageQueue::<u64>::new(None)));
    }
}

#[cfg(loom)]
mod imp {
    pub(crate) use loom::sync::atomic::{fence, AtomicBool, AtomicU8, AtomicUsize, Ordering};
    pub(crate) use loom::sync::{Condvar, Mutex, MutexGuard};
    pub(crate) use loom::thread::{current, park, Thread};

    /// Under loom there is no clock: a timed park is a park that may also
    /// return spuriously, which every caller already tolerates.
    pub(crate) fn park_timeout(_: std::time::Duration) {
        loom::thread::yield_now();
    }

    pub(crate) fn spin_loop() {
        loom::thread::yield_now();
    }

    pub(crate) fn yield_now() {
        loom::thread::yield_now();
    }

    /// The pool's queue: a locked deque, whose every interleaving loom sees.
    pub(crate) struct Queue<T>(loom::sync::Mutex<std::collections::VecDeque<T>>);

    impl<T> Queue<T> {
        pub(crate) fn new() -> Self {
            Queue(loom::sync::Mutex::new(std::collections::VecDeque::new()))
        }

        pub(crate) fn push(&self, item: T) {
            super::lock(&self.0).push_back(item);
        }

        pub(crate) fn pop(&self) -> Option<T> {
            super::lock(&self.0).pop_front()
        }

        pub(crate) fn len(&self) -> usize {
            super::lock(&self.0).len()
        }

        pub(crate) fn is_empty(&self) -> bool {
            self.len() == 0
        }
    }

    /// Starts a loom thread (names and stack sizes mean nothing there).
    pub(crate) fn spawn_thread(
        _name: String,
        _stack_size: Option<usize>,
        body: impl FnOnce() + Send + 'static,
    ) -> std::io::Result<()> {
        drop(loom::thread::spawn(body));
        Ok(())
    }

    /// Under loom there is no clock: a spin is one look.
    pub(crate) fn spun_for(_: std::time::Instant, _: std::time::Duration) -> bool {
        true
    }

    /// A channel's message queue: a locked deque, whose every interleaving
    /// loom sees. A push ends with a sequentially consistent
    /// read-modify-write, as crossbeam's does (the channel's wake-up check
    /// relies on it).
    pub(crate) struct MessageQueue<T> {
        queue: loom::sync::Mutex<std::collections::VecDeque<T>>,
        pushes: AtomicUsize,
        capacity: Option<usize>,
    }

    impl<T> MessageQueue<T> {
        pub(crate) fn new(capacity: Option<usize>) -> Self {
            MessageQueue {
                queue: loom::sync::Mutex::new(std::collections::VecDeque::new()),
                pushes: AtomicUsize::new(0),
                capacity: capacity.map(|capacity| capacity.max(1)),
            }
        }

        pub(crate) fn push(&self, message: T) -> Result<(), T> {
            {
                let mut queue = super::lock(&self.queue);
                if self
                    .capacity
                    .is_some_and(|capacity| queue.len() >= capacity)
                {
                    return Err(message);
                }
                queue.push_back(message);
            }
            self.pushes.fetch_add(1, Ordering::SeqCst);
            Ok(())
        }

        pub(crate) fn pop(&self) -> Option<T> {
            super::lock(&self.queue).pop_front()
        }

        pub(crate) fn len(&self) -> usize {
            super::lock(&self.queue).len()
        }
    }
}

pub(crate) use imp::*;

/// std's own primitives, the same under loom, for what no loom model can hold:
/// process-wide statics (the shared pool, the deadline timer, the panic hook
/// and its switches, listener ids), which outlive any one model; a caught
/// panic's payload, which may be dropped after its model ends; and the
/// process isolates' pool of children, whose other side is an OS process
/// that no model can hold (it is not compiled under loom); and the channel's
/// process-wide hint of whether yielding pays (`channel/yield_hint.rs`) and
/// a service's estimate of each thread's work (`service/routes.rs`),
/// relaxed values that no protocol depends on. Each
/// use is named here so that the seam stays the one place that says which
/// primitives a model sees and which it does not.
pub(crate) mod process {
    #[cfg(feature = "process")]
    pub(crate) use std::sync::atomic::AtomicUsize;
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    pub(crate) use std::sync::{Condvar, Mutex, MutexGuard, Once, OnceLock, PoisonError};

    /// Locks `mutex`, ignoring poisoning, as [`lock`](super::lock) does.
    #[cfg(all(feature = "process", unix))]
    pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
        mutex.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Ignores a lock's poisoning, for `Condvar::wait` results (see [`lock`]).
pub(crate) use std::sync::PoisonError;

// A waker is a `std::task::Wake` impl, which needs std's `Arc` (and `Weak`
// for a token that must not keep its waiter alive).
pub(crate) use std::sync::Weak;

// Tasks are shared as `Arc<dyn Trait>`, an unsizing coercion that loom's `Arc`
// cannot do; reference counts are not what the models check.
pub(crate) use std::sync::Arc;

/// Locks `mutex`, ignoring poisoning: every critical section in this crate
/// leaves its data consistent before anything in it can panic, so a poisoned
/// lock carries no broken invariant.
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    match mutex.lock() {
        Ok(guard) => guard,
        Err(poisoned) => poisoned.into_inner(),
    }
}
