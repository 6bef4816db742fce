//! Whether a waiting thread's yields pay on this machine now: a
//! process-wide hint, kept apart from the wait protocol, which is correct
//! whatever it says.
//!
//! A yield hands the core to another runnable thread. When that is the
//! waiter's partner (more threads of the program than cores), it is what
//! lets the partner answer; when it is a CPU-bound thread of anyone's, the
//! yield returns after that thread's whole time slice (4 ms on the 2-core
//! VM, in 1-10 % of yields beside two busy threads), where a park would
//! have been woken in microseconds. A yield that took that long turns
//! yields off, process-wide, for [`FIRST_OFF`]; each slow yield after that
//! doubles the time, up to [`MOST_OFF`], and a quick one starts over. The
//! time off is a time, not a count of waits, so that a single slow yield
//! on an idle machine (a virtual CPU descheduled) costs little.
//!
//! A slow yield is not held against yields when other waits of this
//! program ended while it lasted (two or more): the core went to the
//! program's own threads, which had work for it (more of them than cores,
//! as four senders and a receiver on two cores). Two parties that wait on
//! each other cannot pass that test: while one is away, the other can end
//! one wait at most. Without it, yields went off in such programs and their
//! waits parked: crossbeam's mpsc 4 -> 1 bounded(64) pattern made 20-50
//! thousand futex calls a run instead of 2-6 thousand (wall times within
//! the 2-core VM's noise). The count is the program's, not the core's: on
//! many cores, a busy program's waits end elsewhere during almost any
//! yield, and there the hint seldom turns yields off (measured on two
//! cores only).

use std::sync::OnceLock;
use std::time::{Duration, Instant};

use crossbeam_utils::CachePadded;

use crate::sync::process::{AtomicU64, Ordering};
use crate::sync::yield_now;

/// A yield that kept the core away this long went to a thread that used a
/// whole time slice.
const SLOW: Duration = Duration::from_millis(1);
/// How long yields are off after the first slow one.
const FIRST_OFF: Duration = Duration::from_millis(5);
/// The longest they are off after a run of slow ones: a probe then costs at
/// most one time slice in that long, under 1 %.
const MOST_OFF: Duration = Duration::from_millis(640);

/// A slow yield during which at least this many other waits ended went to
/// the program's own threads (see the module's comment).
const OWN_PROGRESS: u64 = 2;

/// The hint's state; the process has one ([`HINT`]).
struct YieldHint {
    /// When yields may start again, in nanoseconds since [`epoch`].
    off_until: AtomicU64,
    /// How long the next slow yield turns them off for, in nanoseconds.
    next_off: AtomicU64,
    /// Waits that ended after yielding or registering: on a line of its
    /// own, as every such wait writes it and every wait reads `off_until`.
    waits_ended: CachePadded<AtomicU64>,
}

static HINT: YieldHint = YieldHint::new();

impl YieldHint {
    const fn new() -> Self {
        YieldHint {
            off_until: AtomicU64::new(0),
            next_off: AtomicU64::new(FIRST_OFF.as_nanos() as u64),
            waits_ended: CachePadded::new(AtomicU64::new(0)),
        }
    }

    fn may_yield(&self, now: u64) -> bool {
        now >= self.off_until.load(Ordering::Relaxed)
    }

    /// Notes a yield that took `took`, ending at `now`, while `others`
    /// waits ended; `false` if it was slow and went to another program's
    /// thread. Relaxed: racing notes lose an update, never correctness.
    fn note(&self, took: Duration, now: u64, others: u64) -> bool {
        if took < SLOW || others >= OWN_PROGRESS {
            self.next_off
                .store(FIRST_OFF.as_nanos() as u64, Ordering::Relaxed);
            return true;
        }
        let off = self.next_off.load(Ordering::Relaxed);
        self.off_until
            .store(now.saturating_add(off), Ordering::Relaxed);
        self.next_off.store(
            off.saturating_mul(2).min(MOST_OFF.as_nanos() as u64),
            Ordering::Relaxed,
        );
        false
    }
}

fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

fn now() -> u64 {
    u64::try_from(epoch().elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// Whether this wait may yield. Under loom, always: the models do not
/// depend on timing.
pub(super) fn may_yield() -> bool {
    cfg!(loom) || HINT.may_yield(now())
}

/// Yields the core; `false` when the yield turned out slow (yields are
/// then off for a while).
pub(super) fn yield_and_note() -> bool {
    if cfg!(loom) {
        yield_now();
        return true;
    }
    let started = Instant::now();
    let ended_before = HINT.waits_ended.load(Ordering::Relaxed);
    yield_now();
    let others = HINT.waits_ended.load(Ordering::Relaxed) - ended_before;
    HINT.note(started.elapsed(), now(), others)
}

/// Counts a wait that ended after it yielded or registered.
pub(super) fn note_wait_ended() {
    if !cfg!(loom) {
        HINT.waits_ended.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const MS: u64 = 1_000_000;

    #[test]
    fn a_slow_yield_turns_yields_off_for_a_time_that_doubles_while_they_stay_slow() {
        let hint = YieldHint::new();
        assert!(hint.may_yield(0));
        assert!(!hint.note(Duration::from_millis(4), 10 * MS, 0));
        assert!(!hint.may_yield(14 * MS));
        assert!(hint.may_yield(15 * MS)); // 5 ms off
        assert!(!hint.note(Duration::from_millis(4), 15 * MS, 1));
        assert!(!hint.may_yield(24 * MS));
        assert!(hint.may_yield(25 * MS)); // then 10 ms
        for _ in 0..20 {
            hint.note(SLOW, 100 * MS, 0);
        }
        assert!(!hint.may_yield(739 * MS));
        assert!(hint.may_yield(740 * MS)); // at most 640 ms
    }

    #[test]
    fn a_quick_yield_starts_over() {
        let hint = YieldHint::new();
        hint.note(SLOW, 0, 0);
        hint.note(SLOW, 5 * MS, 0);
        assert!(hint.note(Duration::from_micros(1), 15 * MS, 0));
        assert!(hint.may_yield(15 * MS));
        hint.note(SLOW, 20 * MS, 0);
        assert!(hint.may_yield(25 * MS)); // 5 ms again, not 20
    }

    #[test]
    fn a_slow_yield_while_other_waits_of_the_program_ended_is_not_held_against_yields() {
        let hint = YieldHint::new();
        assert!(hint.note(Duration::from_millis(4), 10 * MS, OWN_PROGRESS));
        assert!(hint.may_yield(10 * MS));
        // One other wait is what a partner waiting on this thread can end.
        assert!(!hint.note(Duration::from_millis(4), 10 * MS, OWN_PROGRESS - 1));
        assert!(!hint.may_yield(11 * MS));
    }
}
