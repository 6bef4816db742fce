//! What every long-running isolate shares (a worker, each thread of a
//! service): its options (name, stack size, inbox capacity) and how its
//! thread's body is run and its end decided.

pub(crate) mod control;
pub(crate) mod lifecycle;
pub(crate) mod service;
pub(crate) mod worker;

use std::borrow::Cow;
use std::fmt;
use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::builder::Builder;
use crate::channel::{self, Receiver, Sender};
use crate::long_running::lifecycle::{Exit, Listeners};
use crate::name::Name;
use crate::sync::Arc;
use crate::task::context;
use crate::task::error::IsolateError;
use crate::task::state::{drop_quietly, outcome_of_unwind, Outcome};

/// How many messages an inbox holds before a send waits, unless set.
pub(crate) const DEFAULT_CAPACITY: usize = 64;

/// An exit listener given to a builder: shared by every isolate the
/// builder (and its clones) spawns.
pub(crate) type SharedExitListener = Arc<dyn Fn(Exit) + Send + Sync>;

#[derive(Clone)]
pub(crate) struct Options {
    pub(crate) name: Option<Name>,
    pub(crate) stack_size: Option<usize>,
    /// `None` for an unbounded inbox.
    pub(crate) capacity: Option<usize>,
    /// Exit listeners registered before the isolate exists.
    pub(crate) on_exit: Vec<SharedExitListener>,
    /// Whether the isolate waits for `start()` before running anything.
    pub(crate) paused: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            name: None,
            stack_size: None,
            capacity: Some(DEFAULT_CAPACITY),
            on_exit: Vec::new(),
            paused: false,
        }
    }
}

impl fmt::Debug for Options {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Options")
            .field("name", &self.name)
            .field("stack_size", &self.stack_size)
            .field("capacity", &self.capacity)
            .field("on_exit", &self.on_exit.len())
            .field("paused", &self.paused)
            .finish()
    }
}

impl Options {
    pub(crate) fn set_name(&mut self, name: Cow<'static, str>) {
        self.name = Some(Name::from(name));
    }

    pub(crate) fn name(&self) -> Name {
        self.name.clone().unwrap_or_default()
    }

    /// Listeners for an isolate of `threads` threads, with the builder's
    /// exit listeners already in place: nothing the isolate does can come
    /// before them.
    pub(crate) fn listeners<E>(&self, threads: usize) -> Arc<Listeners<E>> {
        let listeners = Arc::new(Listeners::new(threads));
        for listener in &self.on_exit {
            let listener = Arc::clone(listener);
            listeners.add_exit(Box::new(move |exit| listener(exit)));
        }
        listeners
    }

    /// A channel with the configured capacity.
    pub(crate) fn channel<M>(&self) -> (Sender<M>, Receiver<M>) {
        match self.capacity {
            Some(capacity) => channel::bounded(capacity),
            None => channel::unbounded(),
        }
    }

    /// A builder for one of its threads: long-running isolates always get a
    /// thread of their own, so that they never hold a pool thread.
    pub(crate) fn thread(&self) -> Builder {
        let mut builder = Builder::new().dedicated();
        if let Some(name) = &self.name {
            builder = builder.named(name.clone());
        }
        if let Some(bytes) = self.stack_size {
            builder = builder.stack_size(bytes);
        }
        builder
    }
}

/// Runs the body of a long-running thread, inside its isolate, and decides
/// its outcome: a panic and `exit()` are caught here rather than by the
/// runner, so that the listeners hear of them too.
///
/// One rule for every way a long-running isolate is killed: **a killed
/// isolate ends `Cancelled`, unless it panicked.** Its loop usually ends
/// *because* the kill closed its channels, so what it returns then (a value,
/// or an `Err` such as "no input") is an artefact of the kill, not a result:
/// it is dropped here, on the isolate's thread. A panic is a bug and is
/// still reported as one.
pub(crate) fn catch_outcome<T, E>(body: impl FnOnce() -> Outcome<T, E>) -> Outcome<T, E> {
    let outcome = match catch_unwind(AssertUnwindSafe(body)) {
        Ok(outcome) => outcome,
        Err(payload) => context::with_current(|header| outcome_of_unwind(payload, header))
            .unwrap_or(Err(IsolateError::EndedWithoutResult)),
    };
    match outcome {
        Ok(_) | Err(IsolateError::Failed(_)) if context::is_cancelled() => {
            drop_quietly(outcome);
            Err(IsolateError::Cancelled)
        }
        outcome => outcome,
    }
}
