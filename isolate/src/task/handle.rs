//! `IsolateHandle`: the caller's side of an isolate, waited on by blocking or
//! by `.await`, from one allocation.

use std::convert::Infallible;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use crate::pool::threads as pool;
use crate::pool::wait::{
    escalate, help_as_last_resort, may_need_help, note_awaited, park_slice, HELP_SLICE,
    HELP_SLICE_MAX,
};
use crate::sync::{current, park, park_timeout, spin_loop, yield_now, Arc};
use crate::task::error::IsolateError;
use crate::task::state::{drop_quietly, Completion, Waiter};

/// How many times a joiner checks for the outcome before it parks. A parked
/// thread costs tens of microseconds to wake on a virtual machine, far more
/// than most isolates take, so a short spin pays for itself. (Under loom a
/// spin is a yield to the model: one look keeps the models small.)
const SPIN_ROUNDS: u32 = if cfg!(loom) { 1 } else { 10 };

/// How many times the first poll of a handle checks for the outcome before
/// it registers the waker: a couple of microseconds at most, less than the
/// executor's own wake-up would cost for an isolate about to finish.
const FIRST_POLL_SPINS: u32 = if cfg!(loom) { 1 } else { 128 };

/// A handle to an isolate: wait for its result with [`join`](Self::join),
/// [`join_timeout`](Self::join_timeout) or `.await`.
///
/// The result is a `Result<T, IsolateError<E>>`: the value, or why there is
/// none (the function's own error `E`, a panic, a cancellation, a timeout or
/// a failure to start).
///
/// Dropping the handle cancels the isolate: one that has not started never
/// runs, and a running one sees [`is_cancelled`](crate::is_cancelled) turn
/// `true`. Call [`detach`](Self::detach) to let it run to the end instead.
///
/// The handle is `Send`, `Sync` and `Unpin`, and works as a future on any
/// executor: a poll never runs the isolate and never waits for it, beyond a
/// couple of microseconds on the first poll for an isolate about to finish
/// (cheaper than the executor's own wake-up).
///
/// Dropping the handle of an isolate that already finished drops its result
/// there and then; a panic from the result's `Drop` is contained (discarded),
/// whichever thread drops the result last, as tokio's `JoinHandle` does.
///
/// # Waiting from inside an isolate
///
/// An isolate that waits for another (nested isolates) holds its thread
/// while it waits; the pool counts that thread as blocked at once and starts
/// another for queued work, up to its cap ([`PoolBuilder::max_threads`](crate::PoolBuilder::max_threads)).
/// So the nested isolate runs on a thread of its own, with its own stack and
/// thread-locals, and a poll never runs it.
///
/// Only when the pool is *stalled* (at its cap, no thread idle or on its
/// way) and the nested isolate is still queued does the waiter see to it
/// itself, rather than deadlock:
///
/// - an untimed [`join`](Self::join) from an isolate runs it on the waiting
///   thread, on a fresh stack segment, with its own
///   [`is_cancelled`](crate::is_cancelled), [`current_name`](crate::current_name)
///   and panic location; it shares that OS thread's `thread_local!` values;
/// - a timed wait ([`join_timeout`](Self::join_timeout),
///   [`wait_timeout`](Self::wait_timeout)), an `.await` under any executor,
///   a [`ProgressHandle`](crate::ProgressHandle)'s reads, an
///   [`IsolateSet`](crate::IsolateSet)'s joins and a wait on a
///   [`channel`](crate::channel) give it a temporary thread beside the pool
///   (beyond the cap), so that the waiter can still give up or be
///   cancelled, or go on after an update or a first result to do what the
///   isolate waits for.
///
/// # Examples
///
/// ```
/// let handle = isolate::run(|| (1..=20_u64).product::<u64>());
/// assert_eq!(handle.join().unwrap(), 2_432_902_008_176_640_000);
///
/// // The same handle type is a future:
/// let total = futures::executor::block_on(isolate::run(|| 2 + 2)).unwrap();
/// assert_eq!(total, 4);
/// ```
#[must_use = "dropping an IsolateHandle cancels the isolate; call .detach() to let it run to the end"]
pub struct IsolateHandle<T, E = Infallible> {
    /// `None` once the handle is consumed (joined or detached), so that
    /// `Drop` does not cancel.
    task: Option<Arc<dyn Completion<T, E>>>,
    /// How far polling has gone: only the first poll spins, and a handle
    /// that returned its outcome must not be polled again.
    polling: Polling,
    /// While a poll from an isolate left it pending: the executor may park
    /// this thread where the pool cannot see it, so the pool keeps its queue
    /// moving for the wait.
    blind: pool::PendingWait,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Polling {
    NotYet,
    Pending,
    Ready,
}

impl<T, E> IsolateHandle<T, E> {
    pub(crate) fn new(task: Arc<dyn Completion<T, E>>) -> Self {
        IsolateHandle {
            task: Some(task),
            polling: Polling::NotYet,
            blind: pool::PendingWait::default(),
        }
    }

    fn task(&self) -> &Arc<dyn Completion<T, E>> {
        self.task
            .as_ref()
            .expect("IsolateHandle used after its outcome was taken")
    }

    fn into_task(mut self) -> Arc<dyn Completion<T, E>> {
        assert!(
            self.polling != Polling::Ready,
            "IsolateHandle joined after it was awaited to completion: its result was already returned"
        );
        self.task
            .take()
            .expect("IsolateHandle used after its outcome was taken")
    }

    /// Blocks the current thread until the isolate ends, and returns its
    /// result.
    ///
    /// Nested isolates never deadlock, however small the pool: see
    /// [waiting from inside an isolate](Self#waiting-from-inside-an-isolate).
    /// A thread that is not running an isolate never runs other work.
    ///
    /// # Errors
    ///
    /// Every way the isolate can fail to give a value, as an
    /// [`IsolateError`].
    ///
    /// # Panics
    ///
    /// If the handle was already awaited to completion (its result was
    /// returned then).
    ///
    /// # Examples
    ///
    /// ```
    /// let sum = isolate::run(|| (1..=100).sum::<u32>()).join();
    /// assert_eq!(sum.unwrap(), 5050);
    /// ```
    pub fn join(self) -> Result<T, IsolateError<E>> {
        let task = self.into_task();
        wait_complete(&task, None);
        task.take_or_register(None)
            .expect("an ended isolate's outcome waits for its handle, which takes it once")
    }

    /// Like [`join`](Self::join), but gives up after `timeout`: the isolate
    /// is then cancelled and the result is [`IsolateError::TimedOut`].
    ///
    /// A value the isolate produced before the wait ended is returned, never
    /// thrown away. In the one case where a waiting isolate runs the nested
    /// one itself ([at the pool's cap](Self#waiting-from-inside-an-isolate)),
    /// the wait lasts as long as that run, timeout or not.
    ///
    /// # Errors
    ///
    /// [`IsolateError::TimedOut`] when time runs out, and otherwise the same
    /// errors as [`join`](Self::join).
    ///
    /// # Panics
    ///
    /// If the handle was already awaited to completion.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let quick = isolate::run(|| 7);
    /// assert_eq!(quick.join_timeout(Duration::from_secs(10)).unwrap(), 7);
    ///
    /// let stuck = isolate::run(|| {
    ///     while !isolate::is_cancelled() {
    ///         std::thread::yield_now();
    ///     }
    /// });
    /// let err = stuck.join_timeout(Duration::from_millis(10)).unwrap_err();
    /// assert!(matches!(err, isolate::IsolateError::TimedOut { .. }));
    /// ```
    pub fn join_timeout(self, timeout: Duration) -> Result<T, IsolateError<E>> {
        let task = self.into_task();
        let deadline = Instant::now().checked_add(timeout);
        if wait_complete(&task, deadline) {
            return task
                .take_or_register(None)
                .expect("an ended isolate's outcome waits for its handle, which takes it once");
        }
        task.cancel();
        match task.take_or_register(None) {
            // Completed work is never thrown away, even if it lost the race.
            Some(Err(IsolateError::Cancelled { .. })) | None => {
                Err(IsolateError::timed_out().named(task.header().name()))
            }
            Some(outcome) => outcome,
        }
    }

    /// Returns `true` once the isolate has ended, so that
    /// [`join`](Self::join) would not block.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::run(|| 1);
    /// while !handle.is_finished() {
    ///     std::thread::yield_now();
    /// }
    /// assert_eq!(handle.join().unwrap(), 1);
    /// ```
    pub fn is_finished(&self) -> bool {
        match &self.task {
            Some(task) => task.header().is_complete(),
            None => true,
        }
    }

    /// Asks the isolate to stop, without waiting for it.
    ///
    /// An isolate that has not started never runs, and its arguments are
    /// dropped now. A running synchronous isolate sees
    /// [`is_cancelled`](crate::is_cancelled) turn `true` and may stop early;
    /// a running async isolate has its future dropped before its next poll.
    /// A value produced anyway is still what [`join`](Self::join) returns.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::run(|| {
    ///     while !isolate::is_cancelled() {
    ///         std::thread::yield_now();
    ///     }
    ///     "stopped early"
    /// });
    /// handle.cancel();
    /// match handle.join() {
    ///     Ok(message) => assert_eq!(message, "stopped early"),
    ///     Err(err) => assert!(matches!(err, isolate::IsolateError::Cancelled { .. })), // cancelled before it started
    /// }
    /// ```
    pub fn cancel(&self) {
        if let Some(task) = &self.task {
            task.cancel();
        }
    }

    /// Cancels the isolate when called, without this handle: for a caller
    /// that must not hold a lock over the cancel (it may run exit listeners,
    /// which may come back to that lock).
    pub(crate) fn canceller(&self) -> Option<impl FnOnce() + use<T, E>> {
        let task = self.task.clone()?;
        Some(move || task.cancel())
    }

    /// Lets the isolate run to the end without anyone waiting for it; its
    /// result is dropped.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::sync::mpsc;
    ///
    /// let (tx, rx) = mpsc::channel();
    /// isolate::run(move || tx.send("done").unwrap()).detach();
    /// assert_eq!(rx.recv().unwrap(), "done");
    /// ```
    pub fn detach(mut self) {
        if let Some(task) = self.task.take() {
            release(task);
        }
    }

    /// The isolate's name: its function's name under
    /// [`#[isolated]`](crate::isolated), the one given to
    /// [`Builder::name`](crate::Builder::name), or `"<unnamed>"`.
    ///
    /// # Examples
    ///
    /// ```
    /// let handle = isolate::Builder::new().name("thumbnailer").run(|| ());
    /// assert_eq!(handle.name(), "thumbnailer");
    /// # handle.join().unwrap();
    /// ```
    pub fn name(&self) -> &str {
        self.task().header().name()
    }

    /// Waits at most `timeout` for the isolate to end, without taking its
    /// outcome or cancelling it: `true` once it has ended (so that
    /// [`join`](Self::join) would not block), `false` if time ran out, and
    /// the handle can be waited on again. [`join_timeout`](Self::join_timeout)
    /// is the consuming form, which cancels on timeout.
    ///
    /// One thread (or task) waits on a handle at a time: a second waiter
    /// replaces the first, which then returns at its deadline.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::time::Duration;
    ///
    /// let (tx, rx) = std::sync::mpsc::channel::<()>();
    /// let handle = isolate::run(move || rx.recv().is_ok());
    /// assert!(!handle.wait_timeout(Duration::from_millis(10))); // still running
    /// tx.send(()).unwrap();
    /// assert!(handle.wait_timeout(Duration::from_secs(30))); // keep waiting
    /// assert!(handle.join().unwrap());
    /// ```
    pub fn wait_timeout(&self, timeout: Duration) -> bool {
        let Some(task) = &self.task else {
            return true;
        };
        match Instant::now().checked_add(timeout) {
            Some(deadline) => wait_complete(task, Some(deadline)),
            None => wait_complete(task, None),
        }
    }
}

impl<T, E> IsolateHandle<T, E> {
    /// The last resort of a timed wait or a poll: see [`wait::escalate`];
    /// `true` if it gave the isolate a thread beside the pool.
    pub(crate) fn escalate(&self) -> bool {
        self.task.as_ref().is_some_and(|task| {
            may_need_help(task.header()) && escalate(&Arc::clone(task).as_runnable())
        })
    }

    /// Tells the async isolate polling this one (if any) that it awaits it
    /// while it is queued: see [`wait::note_awaited`]. `true` if it was
    /// queued.
    pub(crate) fn note_awaited(&self) -> bool {
        match &self.task {
            Some(task) if task.header().is_queued() => {
                note_awaited(&Arc::clone(task).as_runnable());
                true
            }
            _ => false,
        }
    }

    /// Whether a wait for this isolate may need a last resort.
    pub(crate) fn may_need_help(&self) -> bool {
        self.task
            .as_ref()
            .is_some_and(|task| may_need_help(task.header()))
    }
}

/// How a wait from an isolate gets a still-queued isolate run when the pool
/// is stalled (see `wait.rs`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum LastResort {
    /// Run it on the waiting thread: for untimed waits, which could do
    /// nothing else meanwhile.
    RunHere,
    /// Give it a thread beside the pool: for timed waits, which must be able
    /// to give up (and cancel it) while it runs.
    ThreadBeside,
}

/// Applies `how` to the task if it still waits in a stalled pool; `true` if
/// it ran it here.
fn last_resort<T, E>(task: &Arc<dyn Completion<T, E>>, how: LastResort) -> bool {
    if !may_need_help(task.header()) {
        return false;
    }
    match how {
        LastResort::RunHere => help_as_last_resort(task.header(), || Arc::clone(task).run()),
        LastResort::ThreadBeside => {
            escalate(&Arc::clone(task).as_runnable());
            false
        }
    }
}

/// Waits until the isolate has ended, or `deadline` has passed (never with
/// `None`); returns whether it ended. The outcome stays in place.
fn wait_complete<T, E>(task: &Arc<dyn Completion<T, E>>, deadline: Option<Instant>) -> bool {
    let header = task.header();
    // An isolate waiting for one still queued holds a thread the queued one
    // may need: count it blocked before spinning, so that the pool brings
    // another thread at once (nested fib(22) in `bench/`: 5 ms -> 1.5 ms on
    // 2 cores). The guard below then finds it counted. The loom models
    // count it at the park only, the protocol's other entry.
    let _blocked_early = match !cfg!(loom) && may_need_help(header) {
        true => pool::enter_blocked(),
        false => None,
    };
    for round in 0..SPIN_ROUNDS {
        if header.is_complete() {
            return true;
        }
        // Spinning pays while the isolate runs; while it still waits for a
        // thread, an isolate's spin would only take a core from the pool
        // thread coming for it.
        if round >= 2 && may_need_help(header) {
            break;
        }
        for _ in 0..(1 << round) {
            spin_loop();
        }
        // Under loom (one round) every round yields.
        #[cfg_attr(loom, allow(clippy::absurd_extreme_comparisons))]
        if round >= SPIN_ROUNDS / 2 {
            yield_now();
        }
    }
    let how = match deadline {
        None => LastResort::RunHere,
        Some(_) => LastResort::ThreadBeside,
    };
    let mut slice = HELP_SLICE;
    loop {
        if task.is_complete_or_register(Waiter::Thread(current())) {
            return true;
        }
        if last_resort(task, how) {
            continue;
        }
        let left = deadline.map(|deadline| deadline.saturating_duration_since(Instant::now()));
        if left == Some(Duration::ZERO) {
            return header.is_complete();
        }
        let blocked = pool::enter_blocked();
        if blocked.is_none() {
            pool::off_pool_isolate_blocks();
        }
        // Taking locks above may have swallowed a wake-up (loom models it
        // so): the outcome is flagged before any wake.
        if header.is_complete() {
            return true;
        }
        // While the isolate is queued, look at the pool again now and then:
        // it may stall after this look.
        match (may_need_help(header), left) {
            (true, Some(left)) if left < slice => park_timeout(left),
            (true, _) => park_slice(slice),
            (false, Some(left)) => park_timeout(left),
            (false, None) => park(),
        }
        slice = (slice * 2).min(HELP_SLICE_MAX);
    }
}

impl<T, E> Future for IsolateHandle<T, E> {
    type Output = Result<T, IsolateError<E>>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        assert!(
            self.polling != Polling::Ready,
            "IsolateHandle polled again after it returned its result"
        );
        let first_poll = self.polling == Polling::NotYet;
        self.polling = Polling::Pending;
        let task = self.task();
        if first_poll {
            for _ in 0..FIRST_POLL_SPINS {
                if task.header().is_complete() {
                    break;
                }
                spin_loop();
            }
        }
        let outcome = task.take_or_register_waker(cx.waker());
        match outcome {
            Some(outcome) => {
                self.polling = Polling::Ready;
                self.blind.end();
                Poll::Ready(outcome)
            }
            None => {
                // Never run here: tell the async isolate's executor (or, at
                // a stalled pool, give the isolate a thread of its own).
                self.note_awaited();
                // The isolate awaited, queued or running, may wait for
                // others still queued: a pool that stalls only after this
                // poll must still find this wait.
                self.blind.pending();
                Poll::Pending
            }
        }
    }
}

impl<T, E> Drop for IsolateHandle<T, E> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            if self.polling != Polling::Ready {
                task.cancel();
            }
            release(task);
        }
    }
}

/// Lets go of a task whose result nobody will read: if this is the last
/// reference, the result is dropped here, and a panic from its `Drop` is
/// contained, as it is on the thread that produced it when that one lets go
/// last.
fn release<T, E>(task: Arc<dyn Completion<T, E>>) {
    drop_quietly(task);
}

impl<T, E> fmt::Debug for IsolateHandle<T, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IsolateHandle")
            .field("name", &self.name())
            .field("finished", &self.is_finished())
            .finish()
    }
}
