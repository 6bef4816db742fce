//! Exit and error listeners of long-running isolates (Dart's
//! `addOnExitListener` / `addErrorListener`), shared by a worker's threads
//! and its caller-side handles.

use std::mem;

use crate::error::IsolateError;
use crate::sync::{lock, Mutex};
use crate::task::{drop_quietly, Outcome};

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
///     for n in port.iter() {
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
    /// No thread could be started for it.
    FailedToStart,
}

impl Exit {
    pub(crate) fn of<T, E>(outcome: &Outcome<T, E>) -> Self {
        match outcome {
            Ok(_) => Exit::Completed,
            Err(IsolateError::Failed(_)) => Exit::Failed,
            Err(IsolateError::Panicked(_)) => Exit::Panicked,
            Err(IsolateError::Cancelled | IsolateError::TimedOut) => Exit::Cancelled,
            Err(IsolateError::EndedWithoutResult) => Exit::EndedWithoutResult,
            Err(IsolateError::Spawn(_)) => Exit::FailedToStart,
        }
    }
}

type ExitListener = Box<dyn FnOnce(Exit) + Send>;
type ErrorListener<E> = Box<dyn FnMut(&IsolateError<E>) + Send>;

/// The listeners of one long-running isolate (or of every worker of a
/// service: exit is reported once, when the last of them ends).
pub(crate) struct Listeners<E> {
    state: Mutex<State<E>>,
}

struct State<E> {
    /// Threads still running; the isolate has exited when it reaches zero.
    running: usize,
    /// The first way a thread ended other than `Completed`, if any.
    exit: Exit,
    on_exit: Vec<ExitListener>,
    on_error: Vec<ErrorListener<E>>,
}

impl<E> Listeners<E> {
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

    /// Adds an exit listener; one added after the exit is called at once.
    pub(crate) fn add_exit(&self, listener: ExitListener) {
        let mut state = lock(&self.state);
        if state.running == 0 {
            let exit = state.exit;
            drop(state);
            call_quietly(move || listener(exit));
        } else {
            state.on_exit.push(listener);
        }
    }

    pub(crate) fn add_error(&self, listener: ErrorListener<E>) {
        lock(&self.state).on_error.push(listener);
    }

    /// Tells every error listener, on the calling (worker) thread.
    pub(crate) fn report_error(&self, error: &IsolateError<E>) {
        // Called without the lock held, so a listener may add listeners.
        let mut listeners = mem::take(&mut lock(&self.state).on_error);
        for listener in &mut listeners {
            call_quietly(|| listener(error));
        }
        let mut state = lock(&self.state);
        listeners.append(&mut state.on_error);
        state.on_error = listeners;
    }

    /// Records that one thread ended; the last one calls the exit listeners.
    pub(crate) fn thread_ended(&self, exit: Exit) {
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
        for listener in listeners {
            call_quietly(move || listener(exit));
        }
    }
}

/// Runs a listener, containing its panic: a listener cannot take down the
/// worker that reports to it.
fn call_quietly(f: impl FnOnce()) {
    if let Err(payload) = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        drop_quietly(payload);
    }
}
