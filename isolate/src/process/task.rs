//! A process isolate's task: an isolate task whose job never runs on a
//! thread; the pool completes it from what the child answered (see the task
//! wing's `Remote`).

use std::io;

use super::crash::{Crash, CrashReason};
use crate::task::error::IsolateError;
use crate::task::header::Runnable;
use crate::task::state::{Outcome, Remote, Task};

/// The never-run job of a process isolate's task: its outcome is produced
/// by the pool (see `Remote`).
pub(crate) type NeverRun<T, E> = fn() -> Outcome<T, E>;

/// A process isolate's task.
pub(crate) type ProcessTask<T, E> = Task<NeverRun<T, E>, T, E>;

pub(super) fn never_run<T, E>() -> Outcome<T, E> {
    Err(IsolateError::ended_without_result())
}

/// Decodes the function's error, sent after
/// [`Served::Error`](super::registry::Served::Error).
pub(crate) type DecodeError<E> = fn(&[u8]) -> Result<E, String>;

/// Ends a call that never reached a child with `Spawn(error)`.
pub(crate) fn fail<T, E>(task: &ProcessTask<T, E>, error: io::Error)
where
    T: Send + 'static,
    E: Send + 'static,
{
    if task.claim_remotely() {
        task.complete_remotely(Err(IsolateError::spawn(error)));
    }
}

/// Ends a call whose arguments the parent could not send faithfully with a
/// [`Crash`] whose reason is [`CrashReason::Refused`] and whose pid is 0:
/// no child saw it.
pub(crate) fn refuse<T, E>(task: &ProcessTask<T, E>, why: String)
where
    T: Send + 'static,
    E: Send + 'static,
{
    if task.claim_remotely() {
        let crash = Crash {
            reason: CrashReason::Refused(why),
            stderr_tail: String::new(),
            pid: 0,
            isolate: task.header().name().to_string(),
        };
        task.complete_remotely(Err(IsolateError::Crashed(crash)));
    }
}
