//! What every isolate's shared state has, whatever its types: the state
//! bits of the protocol described in `state.rs`, the isolate's name, and the
//! [`Runnable`] face that the pool and the thread-local context see. Kept
//! apart from `state.rs` so that `context` can name a running isolate
//! without importing the protocol that uses `context`.

use std::io;

use crate::name::Name;
use crate::sync::{lock, Arc, AtomicU8, Mutex, Ordering, Thread};

/// Set once, by the handle (`cancel`, a timeout, or drop): the caller no longer
/// wants the value.
pub(crate) const CANCELLED: u8 = 0b01;
/// Set once, by the party that claimed the job, under the `slot` lock and only
/// after the outcome is stored there.
pub(crate) const COMPLETE: u8 = 0b10;
/// Set once, by the party that took the job out of `job` (to run it, drop it
/// or report a failure): the isolate no longer waits in the pool.
pub(crate) const CLAIMED: u8 = 0b100;
/// Set once, by a waiter that gave a still-queued isolate a thread of its own
/// (the last resort of a foreign executor's poll): ask for one thread only.
pub(crate) const ESCALATED: u8 = 0b1000;

/// The part of an isolate's state that does not depend on its types.
pub(crate) struct Header {
    /// The bits below; `state.rs` moves them as its protocol says.
    pub(super) state: AtomicU8,
    pub(super) name: Name,
    /// Whether the job waits in the shared pool, where a joining isolate may
    /// run it itself; a dedicated isolate's job belongs to its own thread.
    pooled: bool,
    /// The thread driving an async isolate, so that `cancel` can wake it to
    /// drop the future at once instead of at its next wake-up.
    pub(super) async_runner: Mutex<Option<Thread>>,
}

impl Header {
    pub(super) fn new(name: Name, pooled: bool) -> Self {
        Header {
            state: AtomicU8::new(0),
            name,
            pooled,
            async_runner: Mutex::new(None),
        }
    }

    pub(crate) fn name(&self) -> &Name {
        &self.name
    }

    pub(crate) fn is_cancelled(&self) -> bool {
        self.state.load(Ordering::Acquire) & CANCELLED != 0
    }

    pub(crate) fn is_complete(&self) -> bool {
        self.state.load(Ordering::Acquire) & COMPLETE != 0
    }

    /// Whether the job still waits in the shared pool for a thread: pooled,
    /// and nobody has taken it yet.
    pub(crate) fn is_queued(&self) -> bool {
        self.pooled && self.state.load(Ordering::Acquire) & (CLAIMED | COMPLETE) == 0
    }

    /// Marks that a thread was asked for this job; `true` the first time.
    pub(crate) fn escalate(&self) -> bool {
        self.state.fetch_or(ESCALATED, Ordering::AcqRel) & ESCALATED == 0
    }

    /// Cancels the running isolate from outside its handle (its deadline
    /// passed: see `deadline.rs`): sets [`CANCELLED`] and wakes the thread
    /// driving an async isolate, as `cancel` does for a job already claimed.
    pub(crate) fn cancel_running(&self) {
        let previous = self.state.fetch_or(CANCELLED, Ordering::AcqRel);
        if previous & (CANCELLED | COMPLETE) == 0 {
            if let Some(runner) = lock(&self.async_runner).as_ref() {
                runner.unpark();
            }
        }
    }

    /// Records (or, with `None`, forgets) the thread driving this async isolate.
    pub(crate) fn set_async_runner(&self, thread: Option<Thread>) {
        *lock(&self.async_runner) = thread;
    }
}

/// What the pool and the thread-local context see of a task: something to run.
pub(crate) trait Runnable: Send + Sync {
    /// Claims and runs the job, then stores its outcome; does nothing if the
    /// job was already claimed. Never unwinds because of the job itself.
    fn run(self: Arc<Self>);

    fn header(&self) -> &Header;

    /// Claims the job to report that no thread could run it.
    fn fail_to_start(&self, error: io::Error);
}
