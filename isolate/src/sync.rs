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
}

pub(crate) use imp::*;

/// std's own primitives, the same under loom, for what no loom model can hold:
/// process-wide statics (the shared pool, the deadline timer, the panic hook
/// and its switches, listener ids, the contention note), which outlive any one model, and a
/// caught panic's payload, which may be dropped after its model ends. Each
/// use is named here so that the seam stays the one place that says which
/// primitives a model sees and which it does not.
pub(crate) mod process {
    pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    pub(crate) use std::sync::{Condvar, Mutex, MutexGuard, Once, OnceLock, PoisonError};
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
