//! Blocking waits on a channel: retry briefly, spinning then yielding, and
//! then park until notified or until a deadline (see the protocol in
//! `shared.rs`). A pool thread's wait counts as blocked, and while the pool
//! is stalled with isolates queued (one of which may be what this channel
//! waits for) it looks again in slices, giving the oldest a thread beside
//! the pool each time (see the crate's `wait.rs`).

use std::time::{Duration, Instant};

use crate::sync::{current, fence, park, park_timeout, spin_loop, yield_now, Ordering};
use crate::wait::{HELP_SLICE, HELP_SLICE_MAX};

use super::waiters::{WaitList, Waiter};

/// Spin rounds before a waiter yields its core: round `n` spins `2^n`
/// times (crossbeam's `Backoff` schedule).
#[cfg(not(loom))]
const SPIN_ROUNDS: u32 = 7;
/// Rounds in all before a waiter parks; the rounds after the spinning ones
/// yield the core, which lets the partner run on a busy machine.
#[cfg(not(loom))]
const RETRY_ROUNDS: u32 = 11;

// Under loom a retry is one more look: the protocol is the park.
#[cfg(loom)]
const SPIN_ROUNDS: u32 = 0;
#[cfg(loom)]
const RETRY_ROUNDS: u32 = 1;

/// Calls `attempt` until it gives a result, waiting on `waiters` between
/// tries; `None` once `deadline` has passed. `attempt` returns `None` to go
/// on waiting.
pub(super) fn block<R>(
    waiters: &WaitList,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    for round in 0..RETRY_ROUNDS {
        if let Some(result) = attempt() {
            return Some(result);
        }
        if round < SPIN_ROUNDS {
            for _ in 0..1_u32 << round {
                spin_loop();
            }
        } else {
            yield_now();
        }
    }
    let mut parker = Parker::new(deadline);
    loop {
        let key = waiters.register(Waiter::Thread(current()));
        fence(Ordering::SeqCst);
        if let Some(result) = attempt() {
            leave(waiters, key);
            return Some(result);
        }
        if !parker.park() {
            leave(waiters, key);
            return None;
        }
        // Woken or not, the next round registers afresh after one more try
        // (a failed try means nothing was there for anyone).
        let notified = !waiters.cancel(key);
        if let Some(result) = attempt() {
            if notified {
                waiters.notify_one();
            }
            return Some(result);
        }
    }
}

/// Parks a registered waiter until it is woken or its deadline passes; on a
/// pool thread the wait counts as blocked and keeps the pool going.
pub(super) struct Parker {
    deadline: Option<Instant>,
    blocked: Option<crate::pool::BlockedWorker>,
    slice: Duration,
}

impl Parker {
    pub(super) fn new(deadline: Option<Instant>) -> Self {
        Parker {
            deadline,
            blocked: crate::pool::enter_blocked(),
            slice: HELP_SLICE,
        }
    }

    /// Parks once (a spurious or early wake-up only costs another look);
    /// `false`, without parking, once the deadline has passed.
    pub(super) fn park(&mut self) -> bool {
        let left = match self.deadline {
            Some(deadline) => match deadline.checked_duration_since(Instant::now()) {
                Some(left) if !left.is_zero() => Some(left),
                _ => return false,
            },
            None => None,
        };
        let stalled = self
            .blocked
            .as_ref()
            .is_some_and(crate::pool::BlockedWorker::keep_pool_going);
        match (stalled, left) {
            (true, Some(left)) => park_timeout(left.min(self.slice)),
            (true, None) => park_timeout(self.slice),
            (false, Some(left)) => park_timeout(left),
            (false, None) => park(),
        }
        if stalled {
            self.slice = (self.slice * 2).min(HELP_SLICE_MAX);
        }
        true
    }
}

/// Takes a waiter that is done out of the list; if it had been notified,
/// the notification may have been meant for a change it did not act on, so
/// it is passed on to the next waiter (a spare wake-up costs one more look).
pub(super) fn leave(waiters: &WaitList, key: super::waiters::Key) {
    if !waiters.cancel(key) {
        waiters.notify_one();
    }
}
