//! Blocking waits on a channel: retry briefly, spinning, then register,
//! yield twice, and park until notified or until a deadline (see the protocol in
//! `shared.rs`). A pool thread's wait counts as blocked, and while the pool
//! is stalled with isolates queued (one of which may be what this channel
//! waits for) it looks again in slices, giving the oldest a thread beside
//! the pool each time (see the crate's `wait.rs`).

use std::time::{Duration, Instant};

use crate::pool::wait::{HELP_SLICE, HELP_SLICE_MAX};
use crate::sync::{current, fence, park, park_timeout, spin_loop, spun_for, Ordering};

use super::waiters::{WaitList, Waiter};
use super::yield_hint;

/// Spin rounds before a waiter registers: round `n` spins `2^n` times, 127
/// spins in all, looking after each round; then it yields for up to
/// [`YIELD_PHASE`], looking after each yield (see [`try_briefly`]).
#[cfg(not(loom))]
pub(super) const SPIN_ROUNDS: u32 = 7;
/// Under loom the spin is not part of the protocol: the model starts at
/// the registration.
#[cfg(loom)]
pub(super) const SPIN_ROUNDS: u32 = 0;
/// How long an unregistered waiter goes on looking between yields after its
/// spin. A partner that runs answers within it; on an idle virtual machine a
/// park costs 10-20 µs to wake from, and a yield with nothing else to run
/// returns at once, so this is a spin that looks every microsecond or so;
/// when threads outnumber the cores, each yield hands the core to one of
/// them, often the partner itself.
#[cfg(not(loom))]
const YIELD_PHASE: Duration = Duration::from_micros(20);
/// Under loom, no time-bound phase: the model starts at the registration.
#[cfg(loom)]
const YIELD_PHASE: Duration = Duration::ZERO;
/// At most this many yields in that phase (a bound on the loop; the time
/// ends it first). Beside CPU-bound threads, one slow yield turns the phase
/// off for a while (see `yield_hint.rs`).
const YIELD_PHASE_MAX: u32 = 1000;
/// Times a registered waiter yields its core, looking again after each,
/// before it parks. The partner may be waiting for this very core; and a
/// notifier that comes meanwhile finds the waiter not yet parked, so its
/// unpark is a flag, not a kernel wake-up.
#[cfg(not(loom))]
const YIELD_ROUNDS: u32 = 2;
/// Under loom one registered look is enough to model.
#[cfg(loom)]
const YIELD_ROUNDS: u32 = 1;

/// Calls `attempt` until it gives a result, waiting on `waiters` between
/// tries; `None` once `deadline` has passed. `attempt` returns `None` to go
/// on waiting.
///
/// The schedule was chosen on `--bin channels`, `--bin ports` and `--bin
/// batch`, on the idle 2-core VM: parking at once loses 3-6x on the
/// streaming patterns (capacity 64). A spin of 1023 (no yields before the
/// registration) kept a worker's round trip at 1.1 µs but left the patterns
/// with more threads than cores (mpsc 4 -> 1 and mpmc 2 -> 2, capacity 64)
/// 2-2.7x behind crossbeam-channel, whose waits also yield early, and an
/// `IsolateSet`'s caller spinning on a core its isolates needed; 127 spins
/// then 20 µs of yields took those rows to 1.1-2x (noisy), the round trip
/// to 0.6 µs, an awaited service request from 7 µs to 1.1 µs and the set's
/// 1 KiB batch from 145 ms to 106 ms. Beside CPU-bound threads a yield may
/// lose a whole time slice: see `yield_hint.rs`.
pub(super) fn block<R>(
    waiters: &WaitList,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    if let Some(result) = try_briefly(&mut attempt) {
        return Some(result);
    }
    let result = wait_registered(waiters, deadline, attempt);
    if result.is_some() {
        yield_hint::note_wait_ended();
    }
    result
}

/// The registered part of [`block`]: register, look again, yield (while
/// yields pay), park; over again after every wake-up.
fn wait_registered<R>(
    waiters: &WaitList,
    deadline: Option<Instant>,
    mut attempt: impl FnMut() -> Option<R>,
) -> Option<R> {
    let mut parker = Parker::new(deadline);
    loop {
        let key = waiters.register(Waiter::Thread(current()));
        fence(Ordering::SeqCst);
        if let Some(result) = attempt() {
            leave(waiters, key);
            return Some(result);
        }
        let yields = if yield_hint::may_yield() {
            YIELD_ROUNDS
        } else {
            0
        };
        for _ in 0..yields {
            let quick = yield_hint::yield_and_note();
            if let Some(result) = attempt() {
                leave(waiters, key);
                return Some(result);
            }
            if !quick {
                break;
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

/// Looks for a result before registering: `attempt` after each of
/// [`SPIN_ROUNDS`] spin rounds, then after each yield, for up to
/// [`YIELD_PHASE`] and [`YIELD_PHASE_MAX`] yields, unless yields do not pay
/// now (see `yield_hint.rs`).
// Under loom the spin is empty (`SPIN_ROUNDS` is 0).
#[cfg_attr(loom, allow(clippy::reversed_empty_ranges))]
pub(super) fn try_briefly<R>(attempt: &mut impl FnMut() -> Option<R>) -> Option<R> {
    for round in 0..SPIN_ROUNDS {
        if let Some(result) = attempt() {
            return Some(result);
        }
        spin(round);
    }
    // The registered path looks again at once: no look is lost here.
    if YIELD_PHASE.is_zero() || !yield_hint::may_yield() {
        return None;
    }
    let result = yield_phase(attempt);
    if result.is_some() {
        yield_hint::note_wait_ended();
    }
    result
}

/// The yields of [`try_briefly`], looking after each.
fn yield_phase<R>(attempt: &mut impl FnMut() -> Option<R>) -> Option<R> {
    let started = Instant::now();
    for _ in 0..YIELD_PHASE_MAX {
        let quick = yield_hint::yield_and_note();
        if let Some(result) = attempt() {
            return Some(result);
        }
        if !quick || spun_for(started, YIELD_PHASE) {
            return None;
        }
    }
    None
}

/// Parks a registered waiter until it is woken or its deadline passes; on a
/// pool thread the wait counts as blocked and keeps the pool going.
pub(super) struct Parker {
    deadline: Option<Instant>,
    blocked: Option<crate::pool::threads::BlindWait>,
    slice: Duration,
}

impl Parker {
    pub(super) fn new(deadline: Option<Instant>) -> Self {
        Parker {
            deadline,
            blocked: crate::pool::threads::enter_blind_wait(),
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
            .is_some_and(crate::pool::threads::BlindWait::keep_pool_going);
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
