//! A reply that a worker owes a caller: an isolate whose outcome is produced
//! by a long-running worker instead of a job of its own, so that the caller
//! waits on an ordinary `IsolateHandle` (join, timeout, `.await`, cancel on
//! drop) and the worker completes it.

use crate::error::IsolateError;
use crate::handle::IsolateHandle;
use crate::name::Name;
use crate::sync::Arc;
use crate::task::{Outcome, Remote, Task};

/// The job such a task never runs: the worker claims it instead.
type Placeholder<T, E> = fn() -> Outcome<T, E>;

fn placeholder<T, E>() -> Outcome<T, E> {
    Err(IsolateError::EndedWithoutResult)
}

/// The worker's side of a reply. Dropped without [`fulfil`](Self::fulfil),
/// it completes the caller's handle with
/// [`IsolateError::EndedWithoutResult`], so no caller waits forever.
///
/// The struct has no bounds of its own, so that the types built on it (a
/// service's envelopes, the service itself) need none either: a type that is
/// not `Send` is then reported once, where the service is created.
pub(crate) struct Promise<T, E> {
    task: Option<Arc<dyn Remote<T, E>>>,
    started: bool,
}

impl<T: Send + 'static, E: Send + 'static> Promise<T, E> {
    /// A promise and the handle its caller waits on.
    pub(crate) fn new(name: Name) -> (Self, IsolateHandle<T, E>) {
        // Not pooled: a joiner must never try to "help" by running the
        // placeholder.
        let task = Task::new(placeholder::<T, E> as Placeholder<T, E>, name, false);
        let handle = IsolateHandle::new(task.clone());
        let promise = Promise {
            task: Some(task),
            started: false,
        };
        (promise, handle)
    }
}

impl<T, E> Promise<T, E> {
    /// Marks the work as begun; `false` if the caller cancelled (dropped its
    /// handle) first, in which case the work should be skipped.
    pub(crate) fn start(&mut self) -> bool {
        let Some(task) = &self.task else {
            return false;
        };
        self.started = task.claim_remotely();
        if !self.started {
            self.task = None;
        }
        self.started
    }

    /// Delivers the outcome to the caller.
    pub(crate) fn fulfil(mut self, outcome: Outcome<T, E>) {
        self.finish(outcome);
    }

    /// Tells the caller the work will never be done, because the worker was
    /// killed.
    pub(crate) fn cancel(mut self) {
        self.finish(Err(IsolateError::Cancelled));
    }

    fn finish(&mut self, outcome: Outcome<T, E>) {
        if let Some(task) = self.task.take() {
            if self.started || task.claim_remotely() {
                task.complete_remotely(outcome);
            }
        }
    }
}

impl<T, E> Drop for Promise<T, E> {
    fn drop(&mut self) {
        self.finish(Err(IsolateError::EndedWithoutResult));
    }
}
