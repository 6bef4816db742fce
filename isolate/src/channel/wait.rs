//! Blocking waits on a channel: retry briefly, spinning, then register,
//! yield twice, and park until notified or until a deadline (see the protocol in
//! `shared.rs`). A pool thread's wait counts as blocked, and while the pool
//! is stalled with isolates queued (one of which may be what this channel
//! waits for) it looks again in slices, giving the oldest a thread beside
//! the pool each time (see the crate's `wait.rs`).

use std::time::{Duration, Instant};

use crate::pool::wait::{HELP_SLICE, HELP_SLICE_MAX};
use crate::sync::{current, fence, park, park_timeout, spin_loop, spun_for, yield_now, Ordering};

use super::waiters::{WaitList, Waiter};

/// Spin rounds before a waiter registers: round `n` spins `2^n` times,
/// 1023 spins in all (a few microseconds), the schedule the crate's
/// receives had before this protocol: a partner that is running answers
/// within that time, and on an idle virtual machine a park costs 10-20 µs
/// to wake from. Measured on the idle 2-core VM (`--bin ports`, `--bin
/// channels`): with 15 spins (chosen under a load of 3-6) a worker's round
/// trip took 4.8-15 µs and an awaited service request 28-44 µs, and the
/// channel was 2-3x behind crossbeam-channel in the streaming rows; with
/// 127 spins the worker still took 5-15 µs; with 1023 it takes 0.6-1.1 µs
/// and the awaited request 6 µs, as before the rework.
#[cfg(not(loom))]
pub(super) const SPIN_ROUNDS: u32 = 10;
/// Under loom the spin is not part of the protocol: the model starts at
/// the registration.
#[cfg(loom)]
pub(super) const SPIN_ROUNDS: u32 = 0;
/// Times a registered waiter yields its core, looking again after each,
/// before it parks. The partner may be waiting for this very core; and a
/// notifier that comes meanwhile finds the waiter not yet parked, so its
/// unpark is a flag, not a kernel wake-up.
#[cfg(not(loom))]
const YIELD_ROUNDS: u32 = 2;
/// Under loom one registered look is enough to model.
#[cfg(loom)]
const YIELD_ROUNDS: u32 = 1;

/// A yield that gives the core away this long means other threads (of this
/// process or not) are waiting for the cores: a scheduler time slice went to
/// one of them, where a park would have let the partner's wake-up preempt
/// it. The waits on that list then skip their yields for a while.
const SLOW_YIELD: Duration = Duration::from_micros(100);

/// Calls `attempt` until it gives a result, waiting on `waiters` between
/// tries; `None` once `deadline` has passed. `attempt` returns `None` to go
/// on waiting.
///
/// The schedule was chosen on `--bin channels` (see the bench's README
/// section): parking at once loses 3-6x on the streaming patterns (capacity
/// 64); a spin, then registering, then two yields, then the park, stays
/// close to the best peer. Under a load of 3-6 on 2 cores a long spin lost
/// up to 2x in the lock-step patterns (ping-pong, capacity 1), and on the
/// idle machine a short one lost 5-20x in a worker's round trip (see
/// [`SPIN_ROUNDS`]); the idle machine's figures decided. At a load of 5-6, the yields gave the core to
/// a busy neighbour for a whole time slice, so a yield that takes long turns
/// them off for the next waits on that list.
pub(super) fn block<R>(
    waiters: &WaitList,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    for round in 0..SPIN_ROUNDS {
        if let Some(result) = attempt() {
            return Some(result);
        }
        spin(round);
    }
    let mut parker = Parker::new(deadline);
    loop {
        let key = waiters.register(Waiter::Thread(current()));
        fence(Ordering::SeqCst);
        if let Some(result) = attempt() {
            leave(waiters, key);
            return Some(result);
        }
        for _ in 0..waiters.yield_rounds(YIELD_ROUNDS) {
            let started = Instant::now();
            yield_now();
            if spun_for(started, SLOW_YIELD) {
                waiters.yield_was_slow();
            }
            if let Some(result) = attempt() {
                leave(waiters, key);
                return Some(result);
            }
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
    blocked: Option<crate::pool::threads::BlockedThread>,
    slice: Duration,
}

impl Parker {
    pub(super) fn new(deadline: Option<Instant>) -> Self {
        Parker {
            deadline,
            blocked: crate::pool::threads::enter_blocked(),
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
            .is_some_and(crate::pool::threads::BlockedThread::keep_pool_going);
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

/// Spin round `round` of a waiter: `2^round` spin hints.
pub(super) fn spin(round: u32) {
    for _ in 0..1_u32 << round {
        spin_loop();
    }
}
