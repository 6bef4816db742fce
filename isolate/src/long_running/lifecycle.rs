//! Exit and error listeners of long-running isolates (Dart's
//! `addOnExitListener` / `addErrorListener`), shared by a worker's threads
//! and its caller-side handles.
//!
//! # Protocol
//!
//! Every thread of a long-running isolate owns one [`ThreadEnd`], made when
//! the thread's job is made and moved into it. The thread's end is reported
//! through it exactly once, whichever of these comes first:
//!
//! - the job runs and ends (returns, fails, panics, calls `exit()`): the
//!   runner consumes the `ThreadEnd` with [`ThreadEnd::ended`], which tells
//!   the error listeners (for a failure or a panic), then the exit;
//! - the job is dropped unrun, because the isolate was killed before its
//!   thread took the job, or because no thread could be started: the
//!   `ThreadEnd` is dropped with it, and its `Drop` reports
//!   [`Exit::Cancelled`] or [`Exit::Spawn`]. The two are told apart
//!   by the `starting` flag, raised by the spawner only while it starts the
//!   thread: a job dropped unrun then was dropped by the failed start, since
//!   no handle that could kill the isolate exists yet.
//!
//! [`Listeners`] counts the threads still running under its lock. The
//! thread that brings the count to zero takes the exit listeners out and
//! calls them, and from then on the isolate is *ended*: an exit listener
//! added later is called at once, and an error listener added later (it can
//! never be called) is dropped at once, so that a channel it holds closes.
//! So every exit listener is called exactly once, however the isolate ended.

use std::mem;

use crate::sync::{lock, Arc, AtomicBool, Mutex, Ordering};
use crate::task::error::IsolateError;
use crate::task::state::{drop_quietly, Outcome};

/// How a long-running isolate ended, as its exit listeners learn it: the
/// kind of its outcome, without the value or error itself (those go to
/// whoever joins it).
///
/// # Examples
///
/// ```
/// use isolate::{Exit, Worker};
/// use std::sync::mpsc;
///
/// let worker = Worker::spawn(|port: isolate::Port<u32, u32>| {
///     for n in &port {
///         let _ = port.send(n * 2);
///     }
/// });
/// let (tx, rx) = mpsc::channel();
/// worker.on_exit(move |exit| tx.send(exit).unwrap());
/// drop(worker); // closes the inbox: the loop ends
/// assert_eq!(rx.recv().unwrap(), Exit::Completed);
/// ```
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Exit {
    /// Its function returned normally (for a service: every worker's loop
    /// ended because the service was closed or dropped).
    Completed,
    /// Its function returned `Err`.
    Failed,
    /// It panicked (for a service: a handler panicked and errors are fatal,
    /// or building the state panicked).
    Panicked,
    /// It was killed.
    Cancelled,
    /// It called [`exit`](crate::exit).
    EndedWithoutResult,
    /// No thread could be started for it: [`IsolateError::Spawn`], by the
    /// same name.
    Spawn,
}

impl Exit {
    pub(crate) fn of<T, E>(outcome: &Outcome<T, E>) -> Self {
        match outcome {
            Ok(_) => Exit::Completed,
            Err(IsolateError::Failed { .. }) => Exit::Failed,
            Err(IsolateError::Panicked(_)) => Exit::Panicked,
            // A long-running isolate takes no time limit (`Builder::timeout`
            // is ignored for workers and services), so only a cancel ends
            // one this way; a `TimedOut` from a wait is the waiter's, not
            // the isolate's end.
            Err(IsolateError::Cancelled { .. } | IsolateError::TimedOut { .. }) => Exit::Cancelled,
            Err(IsolateError::EndedWithoutResult { .. }) => Exit::EndedWithoutResult,
            Err(IsolateError::Spawn { .. }) => Exit::Spawn,
            // Workers and services run on threads; a crash is a panic's kin.
            #[cfg(feature = "process")]
            Err(IsolateError::Crashed(_)) => Exit::Panicked,
        }
    }
}

/// The identity of a listener added with `on_exit` or `on_error`, to remove
/// it again (Dart's `removeOnExitListener` / `removeErrorListener`) with
/// [`Worker::remove_listener`](crate::Worker::remove_listener) or
/// [`Service::remove_listener`](crate::Service::remove_listener).
///
/// # Examples
///
/// ```
/// use isolate::{Port, Worker};
///
/// let worker = Worker::spawn(|port: Port<(), ()>| port.recv().ok());
/// let id = worker.on_exit(|_| unreachable!("removed before the worker ends"));
/// assert!(worker.remove_listener(id));
/// assert!(!worker.remove_listener(id)); // gone already
/// worker.send(()).unwrap();
/// worker.into_handle().join().unwrap();
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct ListenerId(
    /// `None` for a listener that was called or dropped as it was added,
    /// the isolate having ended already.
    pub(crate) Option<u64>,
);

type ExitListener = Box<dyn FnOnce(Exit) + Send>;
/// An exit listener given to a [`Builder`](crate::Builder): every isolate it
/// starts calls it.
pub(crate) type SharedExitListener = Arc<dyn Fn(Exit) + Send + Sync>;
type ErrorListener<E> = Box<dyn FnMut(&IsolateError<E>) + Send>;

/// The listeners of one long-running isolate (or of every worker of a
/// service: exit is reported once, when the last of them ends).
pub(crate) struct Listeners<E> {
    state: Mutex<State<E>>,
}

struct State<E> {
    /// Threads not yet ended; the isolate has ended when it reaches zero.
    running: usize,
    /// The first way a thread ended other than `Completed`, if any.
    exit: Exit,
    on_exit: Vec<(u64, ExitListener)>,
    /// Each behind its own lock, so that threads reporting errors at the
    /// same time (a service's workers) each reach every listener, one call
    /// at a time, without holding `state` while a listener runs.
    on_error: Vec<(u64, Arc<Mutex<ErrorListener<E>>>)>,
}

impl<E> Listeners<E> {
    /// Listeners for an isolate of `threads` threads, each of which must be
    /// given a [`ThreadEnd`].
    pub(crate) fn new(threads: usize) -> Self {
        Listeners {
            state: Mutex::new(State {
                running: threads,
                exit: Exit::Completed,
                on_exit: Vec::new(),
                on_error: Vec::new(),
            }),
        }
    }

    /// Adds an exit listener; one added after the exit is called at once
    /// (and `None` is returned: there is nothing left to remove).
    pub(crate) fn add_exit(&self, listener: ExitListener) -> Option<u64> {
        let mut state = lock(&self.state);
        if state.running == 0 {
            let exit = state.exit;
            drop(state);
            call_quietly(move || listener(exit));
            None
        } else {
            let id = next_listener_id();
            state.on_exit.push((id, listener));
            Some(id)
        }
    }

    /// Adds an error listener; one added after the end can never be called
    /// and is dropped at once (`None`).
    pub(crate) fn add_error(&self, listener: ErrorListener<E>) -> Option<u64> {
        let mut state = lock(&self.state);
        if state.running == 0 {
            drop(state);
            drop_quietly(listener);
            None
        } else {
            let id = next_listener_id();
            state.on_error.push((id, Arc::new(Mutex::new(listener))));
            Some(id)
        }
    }

    /// Removes (and drops) the listener `id`; `false` if it is gone already:
    /// called, dropped at the end, or removed before.
    pub(crate) fn remove(&self, id: u64) -> bool {
        let mut state = lock(&self.state);
        if let Some(at) = state.on_exit.iter().position(|(each, _)| *each == id) {
            let (_, listener) = state.on_exit.remove(at);
            drop(state);
            drop_quietly(listener);
            return true;
        }
        if let Some(at) = state.on_error.iter().position(|(each, _)| *each == id) {
            let (_, listener) = state.on_error.remove(at);
            drop(state);
            drop_quietly(listener);
            return true;
        }
        false
    }

    /// Tells every error listener, on the calling (worker) thread. A
    /// listener removed while an error is being reported may still hear
    /// that one.
    pub(crate) fn report_error(&self, error: &IsolateError<E>) {
        // Called without the state's lock held, so a listener may add or
        // remove listeners.
        let listeners: Vec<_> = lock(&self.state)
            .on_error
            .iter()
            .map(|(_, listener)| Arc::clone(listener))
            .collect();
        for listener in listeners {
            {
                let mut call = lock(&listener);
                call_quietly(|| (*call)(error));
            }
            // The last reference to a listener removed meanwhile: its drop
            // must not unwind into the worker either.
            drop_quietly(listener);
        }
    }

    /// Records that one thread ended; the last one calls the exit listeners.
    fn thread_ended(&self, exit: Exit) {
        let mut state = lock(&self.state);
        if state.exit == Exit::Completed {
            state.exit = exit;
        }
        state.running = state.running.saturating_sub(1);
        if state.running > 0 {
            return;
        }
        let exit = state.exit;
        let listeners = mem::take(&mut state.on_exit);
        // Error listeners may hold channels their owner waits on to close.
        let error_listeners = mem::take(&mut state.on_error);
        drop(state);
        drop_quietly(error_listeners);
        for (_, listener) in listeners {
            call_quietly(move || listener(exit));
        }
    }
}

/// One thread's duty to report its end to the [`Listeners`] exactly once;
/// see the protocol at the top of this module.
pub(crate) struct ThreadEnd<E> {
    /// `None` once reported.
    listeners: Option<Arc<Listeners<E>>>,
    /// Raised by the spawner while it starts the thread.
    starting: Arc<AtomicBool>,
}

impl<E> ThreadEnd<E> {
    /// The duty of one of the threads `listeners` counts, and the flag its
    /// spawner raises while starting the thread (see [`Starting`]).
    pub(crate) fn new(listeners: &Arc<Listeners<E>>) -> (Self, Starting) {
        let starting = Arc::new(AtomicBool::new(false));
        let end = ThreadEnd {
            listeners: Some(Arc::clone(listeners)),
            starting: Arc::clone(&starting),
        };
        (end, Starting(starting))
    }

    /// Reports how the thread's job ended: its failure or panic to the error
    /// listeners, then its exit. Returns the outcome, for its joiner.
    pub(crate) fn ended<T>(mut self, outcome: Outcome<T, E>) -> Outcome<T, E> {
        if let Some(listeners) = self.listeners.take() {
            if let Err(error @ (IsolateError::Failed { .. } | IsolateError::Panicked(_))) = &outcome
            {
                listeners.report_error(error);
            }
            listeners.thread_ended(Exit::of(&outcome));
        }
        outcome
    }
}

impl<E> Drop for ThreadEnd<E> {
    fn drop(&mut self) {
        // The job was dropped unrun.
        if let Some(listeners) = self.listeners.take() {
            let exit = if self.starting.load(Ordering::Acquire) {
                Exit::Spawn
            } else {
                Exit::Cancelled
            };
            listeners.thread_ended(exit);
        }
    }
}

/// The spawner's side of a [`ThreadEnd`]'s `starting` flag: hold the guard
/// from [`Starting::begin`] while starting the thread.
pub(crate) struct Starting(Arc<AtomicBool>);

impl Starting {
    /// Raises the flag until the guard is dropped.
    pub(crate) fn begin(&self) -> StartingGuard<'_> {
        self.0.store(true, Ordering::Release);
        StartingGuard(&self.0)
    }
}

/// Lowers the `starting` flag when dropped.
pub(crate) struct StartingGuard<'a>(&'a AtomicBool);

impl Drop for StartingGuard<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

/// A listener's identity, unique in the process: an id kept from one
/// isolate (or one generation of a restarted service) never removes
/// another's listener. A plain counter, not part of any protocol, so it
/// stays outside the loom seam.
fn next_listener_id() -> u64 {
    use crate::sync::process::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs a listener, containing its panic: a listener cannot take down the
/// worker that reports to it.
fn call_quietly(f: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        drop_quietly(payload);
    }
}
