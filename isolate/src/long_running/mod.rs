//! Long-running isolates: a [`Worker`](worker::Worker) (one thread, a port
//! of two channel ends) and a [`Service`](service::Service) (threads that
//! answer requests). What they share sits here and below: how a thread's
//! body is run and its end decided ([`catch_outcome`]), exit and error
//! listeners (`lifecycle`), pausing and pings (`control`). Their options are
//! the crate's one [`Builder`](crate::Builder).

pub(crate) mod control;
pub(crate) mod lifecycle;
pub(crate) mod service;
pub(crate) mod worker;

use std::panic::{catch_unwind, AssertUnwindSafe};

use crate::task::context;
use crate::task::error::IsolateError;
use crate::task::state::{drop_quietly, outcome_of_unwind, Outcome};

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
            .unwrap_or(Err(IsolateError::ended_without_result())),
    };
    let outcome = match outcome {
        Ok(_) | Err(IsolateError::Failed { .. }) if context::is_cancelled() => {
            drop_quietly(outcome);
            Err(IsolateError::cancelled())
        }
        outcome => outcome,
    };
    // Named here, so that the listeners see the name too.
    match context::with_current(|header| header.name().clone()) {
        Some(name) => outcome.map_err(|error| error.named(&name)),
        None => outcome,
    }
}
