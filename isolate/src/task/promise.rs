//! A reply that a worker owes a caller: an isolate whose outcome is produced
//! by a long-running worker instead of a job of its own, so that the caller
//! waits on an ordinary `IsolateHandle` (join, timeout, `.await`, cancel on
//! drop) and the worker completes it.
//!
//! While the worker handles the request, the reply's task is the isolate
//! the handler runs in ([`Promise::enter`]): so the handler's
//! [`is_cancelled`](crate::is_cancelled) reads the cancel of *its* request
//! (its caller's `cancel`, drop or expired `join_timeout`), and a kill of
//! the whole service reaches it through [`Withdraw`].

use crate::name::Name;
use crate::sync::Arc;
use crate::task::context::{self, Entered};
use crate::task::error::IsolateError;
use crate::task::handle::IsolateHandle;
use crate::task::header::Runnable;
use crate::task::state::{Completion, Outcome, Remote, Task};

/// The job such a task never runs: the worker claims it instead.
type Placeholder<T, E> = fn() -> Outcome<T, E>;

fn placeholder<T, E>() -> Outcome<T, E> {
    Err(IsolateError::ended_without_result())
}

/// What a promise needs of its task, without naming its job's type.
trait Reply<T, E>: Send + Sync {
    fn claim(&self) -> bool;
    fn complete(&self, outcome: Outcome<T, E>);
    fn runnable(self: Arc<Self>) -> Arc<dyn Runnable>;
    fn withdrawer(self: Arc<Self>) -> Arc<dyn Withdraw>;
}

impl<T: Send + 'static, E: Send + 'static> Reply<T, E> for Task<Placeholder<T, E>, T, E> {
    fn claim(&self) -> bool {
        self.claim_remotely()
    }

    fn complete(&self, outcome: Outcome<T, E>) {
        self.complete_remotely(outcome);
    }

    fn runnable(self: Arc<Self>) -> Arc<dyn Runnable> {
        self
    }

    fn withdrawer(self: Arc<Self>) -> Arc<dyn Withdraw> {
        self
    }
}

/// A request in hand, seen from outside its worker: something to cancel,
/// whatever its types.
pub(crate) trait Withdraw: Send + Sync {
    /// Cancels the request: its handler's `is_cancelled()` turns `true`.
    fn withdraw(&self);
}

impl<T: Send + 'static, E: Send + 'static> Withdraw for Task<Placeholder<T, E>, T, E> {
    fn withdraw(&self) {
        Completion::cancel(self);
    }
}

/// The worker's side of a reply. Dropped without [`fulfil`](Self::fulfil),
/// it completes the caller's handle with
/// [`IsolateError::EndedWithoutResult`], so no caller waits forever.
///
/// The struct has no bounds of its own, so that the types built on it (a
/// service's envelopes, the service itself) need none either: a type that is
/// not `Send` is then reported once, where the service is created.
pub(crate) struct Promise<T, E> {
    task: Option<Arc<dyn Reply<T, E>>>,
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
        self.started = task.claim();
        if !self.started {
            self.task = None;
        }
        self.started
    }

    /// Makes the request's task the isolate this thread runs, until the
    /// guard is dropped: the handler then sees its own request's cancel.
    pub(crate) fn enter(&self) -> Option<Entered> {
        self.task
            .as_ref()
            .map(|task| context::enter(Arc::clone(task).runnable()))
    }

    /// A way to cancel the request from another thread (a kill).
    pub(crate) fn withdrawer(&self) -> Option<Arc<dyn Withdraw>> {
        self.task.as_ref().map(|task| Arc::clone(task).withdrawer())
    }

    /// Delivers the outcome to the caller.
    pub(crate) fn fulfil(mut self, outcome: Outcome<T, E>) {
        self.finish(outcome);
    }

    /// Tells the caller the work will never be done, because the worker was
    /// killed.
    pub(crate) fn cancel(mut self) {
        self.finish(Err(IsolateError::cancelled()));
    }

    fn finish(&mut self, outcome: Outcome<T, E>) {
        if let Some(task) = self.task.take() {
            if self.started || task.claim() {
                task.complete(outcome);
            }
        }
    }
}

impl<T, E> Drop for Promise<T, E> {
    fn drop(&mut self) {
        self.finish(Err(IsolateError::ended_without_result()));
    }
}
