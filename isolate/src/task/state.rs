//! One isolate's shared state: the function to run, its outcome, and who is
//! waiting for it, in a single allocation shared by the handle and the thread
//! that runs it.
//!
//! # Protocol
//!
//! - The function sits in `job` until exactly one party takes it, and taking
//!   it is the claim: the runner (a pool worker, a dedicated thread, or, as a
//!   last resort at the pool's cap, a waiting isolate) takes it to run it; `cancel` takes it to drop
//!   it unrun; a failed start takes it to report the failure.
//! - The party that claimed the job stores the outcome exactly once. It does
//!   so under the `slot` lock, sets [`COMPLETE`] before releasing the lock,
//!   takes the waiter out, and wakes it after releasing the lock.
//! - The handle looks for the outcome and, when there is none yet, registers
//!   its waiter (its thread, or a task's waker) under the same lock. So either
//!   the completion finds the waiter or the handle finds the outcome: no
//!   wake-up can be lost.
//! - [`CLAIMED`] is set by the party that took the job, right after taking
//!   it, so that a waiter can tell lock-free whether the isolate still waits
//!   in the pool (and may need a last-resort helper: see `wait.rs`).
//! - [`CANCELLED`] is set by the handle and never cleared. The runner reads it
//!   before it starts the job and when the job ends without a value;
//!   [`is_cancelled`](crate::is_cancelled) reads it inside the isolate.
//!
//! All of it is safe code: the locks are uncontended in the common case, and
//! the `state` atomic lets the hot paths (spinning joiners, `is_finished`,
//! `is_cancelled`) avoid them.

use std::io;
use std::mem;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::task::Waker;

use crate::name::Name;
use crate::sync::{lock, Arc, Mutex, Ordering, Thread};
use crate::task::context;
use crate::task::error::IsolateError;
use crate::task::header::{Header, Runnable, CANCELLED, CLAIMED, COMPLETE};
use crate::task::panic::{clear_recorded, Panic};

/// What the runner produces: the value, or why there is none.
pub(crate) type Outcome<T, E> = Result<T, IsolateError<E>>;

/// Who waits for the outcome.
pub(crate) enum Waiter {
    None,
    /// A thread blocked in `join`.
    Thread(Thread),
    /// A task awaiting the handle.
    Task(Waker),
}

impl Waiter {
    fn wake(self) {
        match self {
            Waiter::None => {}
            Waiter::Thread(thread) => thread.unpark(),
            Waiter::Task(waker) => waker.wake(),
        }
    }
}

struct Slot<T, E> {
    outcome: Option<Outcome<T, E>>,
    waiter: Waiter,
}

/// An isolate: its job `F`, which produces an [`Outcome`], and where that
/// outcome goes.
pub(crate) struct Task<F, T, E> {
    header: Header,
    job: Mutex<Option<F>>,
    slot: Mutex<Slot<T, E>>,
}

/// What a handle sees of a task: the runnable part, plus its typed outcome.
pub(crate) trait Completion<T, E>: Runnable {
    /// Takes the outcome if it is there; otherwise, if `waiter` is given,
    /// registers it to be woken when the outcome arrives.
    fn take_or_register(&self, waiter: Option<Waiter>) -> Option<Outcome<T, E>>;

    /// Like `take_or_register` for a task's waker, keeping the registered one
    /// when it would wake the same task.
    fn take_or_register_waker(&self, waker: &Waker) -> Option<Outcome<T, E>>;

    /// Asks the isolate to stop; if it never started, drops its job here and
    /// completes it as cancelled.
    fn cancel(&self);

    /// Returns `true` if the outcome is there (leaving it in place);
    /// otherwise registers `waiter` to be woken when it arrives.
    fn is_complete_or_register(&self, waiter: Waiter) -> bool;

    /// The same task, seen as something to run.
    fn as_runnable(self: Arc<Self>) -> Arc<dyn Runnable>;
}

impl<F, T, E> Task<F, T, E>
where
    F: FnOnce() -> Outcome<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    pub(crate) fn new(job: F, name: Name, pooled: bool) -> Arc<Self> {
        Arc::new(Task {
            header: Header::new(name, pooled),
            job: Mutex::new(Some(job)),
            slot: Mutex::new(Slot {
                outcome: None,
                waiter: Waiter::None,
            }),
        })
    }

    fn claim(&self) -> Option<F> {
        let job = lock(&self.job).take();
        if job.is_some() {
            self.header.state.fetch_or(CLAIMED, Ordering::AcqRel);
        }
        job
    }

    fn complete(&self, outcome: Outcome<T, E>) {
        // Every error names its isolate (see `IsolateError::named`).
        let outcome = outcome.map_err(|error| error.named(&self.header.name));
        let waiter = {
            let mut slot = lock(&self.slot);
            debug_assert!(slot.outcome.is_none(), "an isolate completed twice");
            slot.outcome = Some(outcome);
            self.header.state.fetch_or(COMPLETE, Ordering::AcqRel);
            mem::replace(&mut slot.waiter, Waiter::None)
        };
        waiter.wake();
    }

    /// The outcome of a job that unwound instead of returning.
    fn unwound(&self, payload: Box<dyn std::any::Any + Send>) -> Outcome<T, E> {
        outcome_of_unwind(payload, &self.header)
    }
}

/// A task whose outcome is produced elsewhere (a worker's reply to a
/// request): the producer claims the job without running it, then stores
/// the outcome.
pub(crate) trait Remote<T, E>: Send + Sync {
    /// Claims the job; `false` if it was cancelled (or claimed) first.
    fn claim_remotely(&self) -> bool;

    /// Stores the outcome of a job claimed with `claim_remotely`.
    fn complete_remotely(&self, outcome: Outcome<T, E>);
}

impl<F, T, E> Remote<T, E> for Task<F, T, E>
where
    F: FnOnce() -> Outcome<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    fn claim_remotely(&self) -> bool {
        match self.claim() {
            Some(job) => {
                drop_quietly(job);
                true
            }
            None => false,
        }
    }

    fn complete_remotely(&self, outcome: Outcome<T, E>) {
        self.complete(outcome);
    }
}

/// What the caller sees of code that unwound on an isolate: `exit()` ends it
/// without a value (cancelled, if it was), anything else is a panic.
pub(crate) fn outcome_of_unwind<T, E>(
    payload: Box<dyn std::any::Any + Send>,
    header: &Header,
) -> Outcome<T, E> {
    if payload.is::<context::ExitSignal>() {
        drop_quietly(payload);
        Err(if header.is_cancelled() {
            IsolateError::cancelled()
        } else {
            IsolateError::ended_without_result()
        })
    } else {
        Err(IsolateError::Panicked(Panic::new(
            payload,
            header.name.clone(),
        )))
    }
}

impl<F, T, E> Runnable for Task<F, T, E>
where
    F: FnOnce() -> Outcome<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    fn run(self: Arc<Self>) {
        let Some(job) = self.claim() else {
            return;
        };
        if self.header.is_cancelled() {
            drop_quietly(job);
            self.complete(Err(IsolateError::cancelled()));
            return;
        }
        let outcome = {
            let _entered = context::enter(self.clone());
            clear_recorded();
            match catch_unwind(AssertUnwindSafe(job)) {
                Ok(outcome) => outcome,
                Err(payload) => self.unwound(payload),
            }
        };
        self.complete(outcome);
    }

    fn header(&self) -> &Header {
        &self.header
    }

    fn fail_to_start(&self, error: io::Error) {
        if let Some(job) = self.claim() {
            drop_quietly(job);
            self.complete(Err(IsolateError::spawn(error)));
        }
    }
}

impl<F, T, E> Completion<T, E> for Task<F, T, E>
where
    F: FnOnce() -> Outcome<T, E> + Send + 'static,
    T: Send + 'static,
    E: Send + 'static,
{
    fn take_or_register(&self, waiter: Option<Waiter>) -> Option<Outcome<T, E>> {
        let mut slot = lock(&self.slot);
        let outcome = slot.outcome.take();
        if let (None, Some(waiter)) = (&outcome, waiter) {
            slot.waiter = waiter;
        }
        outcome
    }

    fn take_or_register_waker(&self, waker: &Waker) -> Option<Outcome<T, E>> {
        let mut slot = lock(&self.slot);
        if let Some(outcome) = slot.outcome.take() {
            return Some(outcome);
        }
        match &slot.waiter {
            Waiter::Task(registered) if registered.will_wake(waker) => {}
            _ => slot.waiter = Waiter::Task(waker.clone()),
        }
        None
    }

    fn is_complete_or_register(&self, waiter: Waiter) -> bool {
        let mut slot = lock(&self.slot);
        if self.header.is_complete() {
            return true;
        }
        slot.waiter = waiter;
        false
    }

    fn as_runnable(self: Arc<Self>) -> Arc<dyn Runnable> {
        self
    }

    fn cancel(&self) {
        let previous = self.header.state.fetch_or(CANCELLED, Ordering::AcqRel);
        if previous & (CANCELLED | COMPLETE) != 0 {
            return;
        }
        if let Some(job) = self.claim() {
            drop_quietly(job);
            self.complete(Err(IsolateError::cancelled()));
        } else if let Some(runner) = lock(&self.header.async_runner).as_ref() {
            runner.unpark();
        }
    }
}

/// Drops `value`, containing a panic from its `Drop` so that user code can
/// never unwind through the runtime. A payload whose own drop panics too is
/// leaked: there is no sound way left to dispose of it.
pub(crate) fn drop_quietly<V>(value: V) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || drop(value))) {
        if let Err(inner) = catch_unwind(AssertUnwindSafe(move || drop(payload))) {
            mem::forget(inner);
        }
    }
}

/// Runs a job on a runtime thread. The job's own panics are caught inside
/// `run`; this also contains a panic from dropping its values (the outcome
/// goes with the last reference), so nothing unwinds into the worker loop.
pub(crate) fn run_quietly(job: Arc<dyn Runnable>) {
    if let Err(payload) = catch_unwind(AssertUnwindSafe(move || job.run())) {
        drop_quietly(payload);
    }
}
