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

use std::sync::OnceLock;
use std::time::{Duration, Instant};

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

/// When yields may start again, in nanoseconds since [`epoch`].
static OFF_UNTIL: AtomicU64 = AtomicU64::new(0);
/// How long the next slow yield turns them off for, in nanoseconds.
static NEXT_OFF: AtomicU64 = AtomicU64::new(FIRST_OFF.as_nanos() as u64);

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
    cfg!(loom) || now() >= OFF_UNTIL.load(Ordering::Relaxed)
}

/// Yields the core; `false` when the yield turned out slow (yields are
/// then off for a while).
pub(super) fn yield_and_note() -> bool {
    if cfg!(loom) {
        yield_now();
        return true;
    }
    let started = Instant::now();
    yield_now();
    if started.elapsed() < SLOW {
        NEXT_OFF.store(FIRST_OFF.as_nanos() as u64, Ordering::Relaxed);
        return true;
    }
    let off = NEXT_OFF.load(Ordering::Relaxed);
    OFF_UNTIL.store(now().saturating_add(off), Ordering::Relaxed);
    NEXT_OFF.store(
        off.saturating_mul(2).min(MOST_OFF.as_nanos() as u64),
        Ordering::Relaxed,
    );
    false
}
