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
}

pub(crate) use imp::*;

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
