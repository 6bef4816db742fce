//! Per-isolate time limits ([`Builder::timeout`](crate::Builder::timeout)):
//! one timer thread serves every deadline of the process.
//!
//! # Protocol
//!
//! - A job with a time limit is wrapped ([`limit`]). The wrapper runs on
//!   the isolate's thread, so the clock starts when the isolate *starts
//!   running*: time spent queued in the pool does not count.
//! - The wrapper registers its isolate under `(deadline, id)` in one ordered
//!   map, and wakes the timer thread if the new deadline is the earliest.
//!   The timer thread is started by the first registration and then lives
//!   with the process, asleep when no deadline is pending.
//! - The timer thread sleeps until the earliest deadline. At that time it
//!   *removes* the entry, then cancels the isolate through its header
//!   ([`Header::cancel_running`](crate::task::header::Header::cancel_running)): a
//!   synchronous isolate sees [`is_cancelled`](crate::is_cancelled) turn
//!   `true`; an async isolate's executor wakes and drops its future.
//! - When the job ends, the wrapper removes its entry. Finding it already
//!   gone means the deadline fired first: the outcome (a value, the
//!   function's error, a cancellation, an `exit()`) becomes
//!   [`IsolateError::TimedOut`]; a panic is kept, being more informative.
//!   So exactly one of the two parties takes the entry out, under the lock.
//!
//! The map and its condition variable are `std` primitives in a static: the
//! timer thread works on the wall clock, which the loom models do not have.

use std::collections::BTreeMap;
use std::io;
use std::panic::{catch_unwind, resume_unwind, AssertUnwindSafe};
use std::time::{Duration, Instant};

use crate::sync::process::{Condvar, Mutex, MutexGuard, OnceLock, PoisonError};
use crate::sync::Arc;
use crate::task::context::{self, ExitSignal};
use crate::task::error::IsolateError;
use crate::task::header::Runnable;
use crate::task::state::{drop_quietly, Outcome};

/// The isolates running under a deadline, earliest first.
#[derive(Default)]
struct Timers {
    entries: BTreeMap<(Instant, u64), Arc<dyn Runnable>>,
    next_id: u64,
    /// Whether the timer thread was started.
    started: bool,
}

/// The pending deadlines and the condition variable the timer thread
/// sleeps on.
struct Wheel {
    timers: Mutex<Timers>,
    changed: Condvar,
}

fn wheel() -> &'static Wheel {
    static WHEEL: OnceLock<Wheel> = OnceLock::new();
    WHEEL.get_or_init(|| Wheel {
        timers: Mutex::new(Timers::default()),
        changed: Condvar::new(),
    })
}

/// Locks the timers; nothing panics while holding the lock, so a poisoned
/// lock still holds consistent data.
fn lock(wheel: &Wheel) -> MutexGuard<'_, Timers> {
    wheel.timers.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Wraps `job` so that it is cancelled and reports
/// [`IsolateError::TimedOut`] when it runs longer than `limit` from its
/// start.
pub(crate) fn limit<J, T, E>(limit: Duration, job: J) -> impl FnOnce() -> Outcome<T, E>
where
    J: FnOnce() -> Outcome<T, E>,
{
    move || run_with_deadline(limit, job)
}

fn run_with_deadline<J, T, E>(limit: Duration, job: J) -> Outcome<T, E>
where
    J: FnOnce() -> Outcome<T, E>,
{
    // A limit too far away to be an `Instant` is no limit.
    let (Some(task), Some(deadline)) = (context::current_task(), Instant::now().checked_add(limit))
    else {
        return job();
    };
    let registration = match Registration::new(deadline, task) {
        Ok(registration) => registration,
        Err(error) => {
            drop_quietly(job);
            return Err(IsolateError::spawn(error));
        }
    };
    let result = catch_unwind(AssertUnwindSafe(job));
    let fired = registration.finish();
    match result {
        Ok(outcome) if fired => {
            drop_quietly(outcome);
            Err(IsolateError::timed_out())
        }
        Ok(outcome) => outcome,
        Err(payload) if fired && payload.is::<ExitSignal>() => {
            drop_quietly(payload);
            Err(IsolateError::timed_out())
        }
        // The runner turns it into `Panicked` (or `exit()`'s error); the
        // panic's location was recorded when it was raised.
        Err(payload) => resume_unwind(payload),
    }
}

/// One isolate's entry in the timers, removed when dropped.
struct Registration {
    key: Option<(Instant, u64)>,
}

impl Registration {
    fn new(deadline: Instant, task: Arc<dyn Runnable>) -> io::Result<Registration> {
        let wheel = wheel();
        let mut timers = lock(wheel);
        if !timers.started {
            std::thread::Builder::new()
                .name("isolate-deadlines".to_owned())
                .spawn(move || tick(wheel))?;
            timers.started = true;
        }
        let key = (deadline, timers.next_id);
        timers.next_id += 1;
        let earliest = timers
            .entries
            .first_key_value()
            .is_none_or(|(first, _)| key < *first);
        timers.entries.insert(key, task);
        drop(timers);
        if earliest {
            wheel.changed.notify_one();
        }
        Ok(Registration { key: Some(key) })
    }

    /// Removes the entry; `true` if the timer had removed it first (the
    /// deadline fired).
    fn finish(mut self) -> bool {
        self.remove()
    }

    fn remove(&mut self) -> bool {
        let Some(key) = self.key.take() else {
            return false;
        };
        let task = lock(wheel()).entries.remove(&key);
        let fired = task.is_none();
        drop_quietly(task);
        fired
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.remove();
    }
}

/// The timer thread: cancels each isolate whose deadline passed.
fn tick(wheel: &'static Wheel) {
    let mut expired: Vec<Arc<dyn Runnable>> = Vec::new();
    let mut timers = lock(wheel);
    loop {
        let now = Instant::now();
        while let Some(entry) = timers.entries.first_entry() {
            if entry.key().0 > now {
                break;
            }
            expired.push(entry.remove());
        }
        if !expired.is_empty() {
            drop(timers);
            for task in expired.drain(..) {
                task.header().cancel_running();
                // Possibly the last reference, holding the isolate's result.
                drop_quietly(task);
            }
            timers = lock(wheel);
            continue;
        }
        timers = match timers.entries.first_key_value() {
            Some(((deadline, _), _)) => {
                let left = deadline.saturating_duration_since(now);
                wheel
                    .changed
                    .wait_timeout(timers, left)
                    .unwrap_or_else(PoisonError::into_inner)
                    .0
            }
            None => wheel
                .changed
                .wait(timers)
                .unwrap_or_else(PoisonError::into_inner),
        };
    }
}
